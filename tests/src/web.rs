//! The web app from outside: a small HTTP/1.1 client over a plain TCP
//! stream (no redirects followed, cookies kept by hand, so that a test sees
//! exactly what the server answers), and the operator's steps (people with
//! passwords, the app's address).

use std::{
    collections::BTreeMap,
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

/// Where the running node in `data` serves its web app.
pub fn web_addr(data: &Path) -> SocketAddr {
    std::fs::read_to_string(data.join("focal-node.web-addr"))
        .expect("the node writes focal-node.web-addr once its web app listens")
        .trim()
        .parse()
        .unwrap()
}

/// Starts the node in `dir` with every web deadline shortened to `ms`
/// milliseconds (`FOCAL_WEB_TEST_DEADLINE_MS`), so that a test of a slow
/// client runs in seconds.
pub fn start_with_web_deadlines(dir: &crate::NodeDir, ms: u64) -> crate::RunningNode {
    let var = format!("{}={ms}", focal_node::web::doors::TEST_DEADLINE_VAR);
    crate::RunningNode::start_via(&["env", &var], dir.path.clone(), dir.node_key, &[])
}

/// Parses a raw HTTP/1.1 answer (as read from a socket).
pub fn parse_answer(raw: &[u8]) -> Answer {
    parse(raw)
}

/// `focal-node user add NAME --role ROLE --password-stdin` on `data`.
pub fn add_user(data: &Path, name: &str, role: &str, password: &str) {
    let mut child = Command::new(crate::bin("focal-node"))
        .args([
            "user",
            "add",
            "--data",
            data.to_str().unwrap(),
            name,
            "--role",
            role,
        ])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers, names lower-cased (repeated ones joined by `\n`).
    pub headers: BTreeMap<String, String>,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// The header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }

    /// The `value` attribute of the first input named `name`.
    pub fn input(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\""))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value = tag.split("value=\"").nth(1)?;
        Some(unescape(&value[..value.find('"')?]))
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser-like client of one web app: it keeps the cookies it is given.
pub struct WebClient {
    /// The app's address.
    pub addr: SocketAddr,
    /// Cookies by name.
    pub cookies: BTreeMap<String, String>,
}

impl WebClient {
    /// A client without cookies.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: BTreeMap::new(),
        }
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> Answer {
        self.request("GET", path, None, &[])
    }

    /// `POST path` of a form (`application/x-www-form-urlencoded`).
    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.request("POST", path, Some(body), &[])
    }

    /// A request with extra headers.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        // The app's address as `Host`, unless the test names another.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        head.push_str("Connection: close\r\nAccept-Language: en\r\n");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        if method == "POST" {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let answer = parse(&raw);
        if let Some(set) = answer.headers.get("set-cookie") {
            for line in set.lines() {
                let pair = line.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || line.contains("Max-Age=0") {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies
                            .insert(name.trim().to_owned(), value.to_owned());
                    }
                }
            }
        }
        answer
    }

    /// Signs in as `name`; returns the answer to the sign-in POST.
    pub fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        self.sign_in_with(name, password, &[])
    }

    /// [`WebClient::sign_in`] with extra headers on both requests (e.g. a
    /// proxy's `X-Real-IP`).
    pub fn sign_in_with(&mut self, name: &str, password: &str, headers: &[(&str, &str)]) -> Answer {
        let form = self.request("GET", "/login", None, headers);
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form
            .input("csrf")
            .expect("the sign-in form carries a CSRF token");
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("name", name),
                ("password", password),
                ("next", "/"),
                ("csrf", &csrf),
            ])
            .finish();
        self.request("POST", "/login", Some(body), headers)
    }
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer has a header");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers
                .entry(name.trim().to_ascii_lowercase())
                .and_modify(|v| {
                    v.push('\n');
                    v.push_str(value.trim());
                })
                .or_insert_with(|| value.trim().to_owned());
        }
    }
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}
