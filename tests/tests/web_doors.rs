//! The web app's listener and doors against real nodes on loopback: who
//! the client is behind a trusted proxy, the deadlines of slow clients,
//! what is refused before a body is read, and which host names are served.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use focal_tests::{
    NodeDir,
    web::{Answer, WebClient, add_user, parse_answer, start_with_web_deadlines, web_addr},
};
use rusqlite::Connection;

const PASSWORD: &str = "editor password 1";
/// Failures one address may cause in 15 minutes (`web::auth`).
const ADDRESS_FAILURES: usize = 30;

/// Lets `[web]` of `dir` trust a proxy on loopback.
fn trust_loopback_proxy(dir: &NodeDir) {
    dir.set_config("\n[web]\n", "\n[web]\ntrusted_proxies = [\"127.0.0.1\"]\n");
}

/// `ADDRESS_FAILURES` failed sign-ins (each a different unknown name, so
/// that no account's own throttle is reached) from `real_ip`.
fn fail_from(addr: SocketAddr, real_ip: &str) {
    for i in 0..ADDRESS_FAILURES {
        let answer = WebClient::new(addr).sign_in_with(
            &format!("nobody{i}"),
            "not a password",
            &[("X-Real-IP", real_ip)],
        );
        assert_eq!(answer.status, 401, "failure {i}: {}", answer.body);
    }
}

/// Reads until the server closes the connection, or `limit` passes.
/// Returns what was read and whether it closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => {
                return (got, true);
            }
            Err(_) => {}
        }
    }
    (got, false)
}

#[test]
fn behind_a_trusted_proxy_each_client_is_throttled_by_its_own_address() {
    let dir = NodeDir::init("ESP");
    trust_loopback_proxy(&dir);
    add_user(&dir.path, "ana", "editor", PASSWORD);
    let _node = dir.start();
    let addr = web_addr(&dir.path);

    // Client A fails until its address waits; client B, through the same
    // proxy, signs in, and its session records B's address.
    fail_from(addr, "198.51.100.7");
    let a = WebClient::new(addr).sign_in_with("ana", PASSWORD, &[("X-Real-IP", "198.51.100.7")]);
    assert_eq!(a.status, 429, "{}", a.body);
    let b = WebClient::new(addr).sign_in_with("ana", PASSWORD, &[("X-Real-IP", "203.0.113.9")]);
    assert_eq!(b.status, 303, "{}", b.body);
    // The same client over IPv6: another address of A's /64 waits with it.
    fail_from(addr, "2001:db8:7:7::1");
    let v6 =
        WebClient::new(addr).sign_in_with("ana", PASSWORD, &[("X-Real-IP", "2001:db8:7:7::2")]);
    assert_eq!(v6.status, 429, "{}", v6.body);
    let db = Connection::open(dir.path.join("focal.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let recorded: Vec<String> = db
        .prepare("SELECT address FROM web_sessions")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(recorded, ["203.0.113.9"]);

    // The proxy is not held to the per-address cap of 64 connections.
    let held: Vec<TcpStream> = (0..70).map(|_| TcpStream::connect(addr).unwrap()).collect();
    assert_eq!(WebClient::new(addr).get("/login").status, 200);
    drop(held);
}

#[test]
fn without_trusted_proxies_x_real_ip_is_ignored() {
    let dir = NodeDir::init("ESP");
    add_user(&dir.path, "ana", "editor", PASSWORD);
    let _node = dir.start();
    let addr = web_addr(&dir.path);
    fail_from(addr, "198.51.100.7");
    // Every request came from 127.0.0.1, whatever the header said.
    let b = WebClient::new(addr).sign_in_with("ana", PASSWORD, &[("X-Real-IP", "203.0.113.9")]);
    assert_eq!(b.status, 429, "{}", b.body);

    // And 127.0.0.1 is held to 64 connections at once.
    let held: Vec<TcpStream> = (0..64).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut over = TcpStream::connect(addr).unwrap();
    let _ = over.write_all(
        format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let (answer, closed) = read_until_closed(&mut over, Duration::from_secs(5));
    assert!(
        closed && answer.is_empty(),
        "the 65th connection is not served"
    );
    drop(held);
}

#[test]
fn slow_clients_are_cut_off_at_their_deadlines() {
    let dir = NodeDir::init("ESP");
    let _node = start_with_web_deadlines(&dir, 1500);
    let addr = web_addr(&dir.path);
    // (The production deadlines are 10 s for headers, 30 s for a body: each
    // case here would pass them were they not shortened.)
    let limit = Duration::from_secs(8);

    // A partial request line, then nothing.
    let mut partial = TcpStream::connect(addr).unwrap();
    partial.write_all(b"GET /login HT").unwrap();
    let start = Instant::now();
    let (_, closed) = read_until_closed(&mut partial, limit);
    assert!(closed, "still open after {:?}", start.elapsed());

    // A connection that has had its answer and then stays silent.
    let mut kept = TcpStream::connect(addr).unwrap();
    kept.write_all(format!("GET /login HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let (answer, closed) = read_until_closed(&mut kept, limit);
    assert!(closed, "an idle keep-alive connection stays open");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A body trickled a byte at a time: answered 408 and closed.
    let mut trickle = TcpStream::connect(addr).unwrap();
    trickle
        .write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: {addr}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    trickle
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = false;
    while start.elapsed() < limit && !closed {
        let _ = trickle.write_all(b"a");
        match trickle.read(&mut buf) {
            Ok(0) => closed = true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed = true,
            Err(_) => {}
        }
    }
    assert!(
        closed,
        "the trickled body was still read after {:?}",
        start.elapsed()
    );
    let answer: Answer = parse_answer(&got);
    assert_eq!(answer.status, 408, "{}", answer.body);
    assert!(answer.body.contains("did not arrive"), "{}", answer.body);

    // The app still answers others.
    assert_eq!(WebClient::new(addr).get("/login").status, 200);
}

#[test]
fn a_form_that_needs_a_session_is_refused_before_its_body() {
    let dir = NodeDir::init("ESP");
    let _node = dir.start();
    let addr = web_addr(&dir.path);
    // A stranger announces a megabyte and sends none of it: the answer
    // (to the sign-in page) comes at once, not after the body's deadline.
    let mut stranger = TcpStream::connect(addr).unwrap();
    stranger
        .write_all(
            format!(
                "POST /records/new HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let start = Instant::now();
    let (raw, _) = read_until_closed(&mut stranger, Duration::from_secs(20));
    assert!(!raw.is_empty(), "no answer within {:?}", start.elapsed());
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(
        answer.location().starts_with("/login"),
        "{}",
        answer.location()
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );

    // The sign-in form's body is small.
    let mut client = WebClient::new(addr);
    let big = "x".repeat(9 * 1024);
    let answer = client.post("/login", &[("name", "ana"), ("password", &big)]);
    assert_eq!(answer.status, 413, "{}", answer.body);
}

#[test]
fn only_this_apps_host_names_and_origins_are_served() {
    let dir = NodeDir::init("ESP");
    dir.set_config(
        "# public_url = \"https://focal.ministry.example\"",
        "public_url = \"https://focal.example\"",
    );
    let _node = dir.start();
    let addr = web_addr(&dir.path);
    let mut client = WebClient::new(addr);
    let port = addr.port();
    // DNS rebinding: another site's name pointed at this machine.
    let rebound = client.request(
        "GET",
        "/login",
        None,
        &[("Host", &format!("evil.example:{port}"))],
    );
    assert_eq!(rebound.status, 421, "{}", rebound.body);
    assert!(rebound.body.contains("evil.example"), "{}", rebound.body);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "focal.example".to_owned(),
    ] {
        let answer = WebClient::new(addr).request("GET", "/login", None, &[("Host", &host)]);
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
        assert_eq!(
            answer.header("strict-transport-security"),
            Some("max-age=31536000"),
            "an https public URL"
        );
    }

    // A form from this host but another scheme or port is another site.
    let mut browser = WebClient::new(addr);
    let csrf = browser.get("/login").input("csrf").unwrap();
    let body = format!("name=ana&password=x&next=%2F&csrf={csrf}");
    for origin in [
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{}", port + 1),
    ] {
        let answer = browser.request("POST", "/login", Some(body.clone()), &[("Origin", &origin)]);
        assert_eq!(answer.status, 403, "{origin}: {}", answer.body);
    }
    let public = browser.request(
        "POST",
        "/login",
        Some(body),
        &[("Origin", "https://focal.example")],
    );
    assert_eq!(
        public.status, 401,
        "the public URL's origin: {}",
        public.body
    );

    // Without an https public URL (plain HTTP on loopback): no HSTS.
    let plain = NodeDir::init("ESP");
    let _plain_node = plain.start();
    let answer = WebClient::new(web_addr(&plain.path)).get("/login");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("strict-transport-security"), None);
}

#[test]
fn over_tls_a_connection_silent_after_its_handshake_is_closed() {
    focal_tests::init_crypto();
    let dir = NodeDir::init("ESP");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path.join("web.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path.join("web.key"), key.serialize_pem()).unwrap();
    dir.set_config("# tls_cert = \"web.crt\"", "tls_cert = \"web.crt\"");
    dir.set_config("# tls_key = \"web.key\"", "tls_key = \"web.key\"");
    let _node = start_with_web_deadlines(&dir, 1500);
    let addr = web_addr(&dir.path);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = std::sync::Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let connect = || {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let conn =
            rustls::ClientConnection::new(client.clone(), "localhost".try_into().unwrap()).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    };
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };

    // The handshake, then nothing: closed at the header deadline (before,
    // hyper waited for the first bytes forever).
    let mut silent = connect();
    let start = Instant::now();
    while silent.conn.is_handshaking() {
        assert!(start.elapsed() < Duration::from_secs(10), "no handshake");
        if let Err(e) = silent.conn.complete_io(&mut silent.sock) {
            assert!(timed_out(&e), "the handshake failed: {e}");
        }
    }
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = loop {
        if start.elapsed() > Duration::from_secs(8) {
            break false;
        }
        match silent.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => panic!("the node answered a request never sent"),
            Err(e) if timed_out(&e) => {}
            Err(_) => break true,
        }
    };
    assert!(closed, "still open after {:?}", start.elapsed());

    // A request over TLS is answered, with HSTS.
    let mut tls = connect();
    tls.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let start = Instant::now();
    let mut raw = Vec::new();
    while start.elapsed() < Duration::from_secs(20) {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if timed_out(&e) => {}
            Err(_) => break,
        }
    }
    let answer = parse_answer(&raw);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}

/// One HTTP/2 frame: its type, flags, stream and payload.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend([kind, flags]);
    frame.extend(stream.to_be_bytes());
    frame.extend(payload);
    frame
}

/// The frames of `raw` as (type, stream, payload), as far as they are whole.
fn h2_frames(mut raw: &[u8]) -> Vec<(u8, u32, Vec<u8>)> {
    let mut frames = Vec::new();
    while raw.len() >= 9 {
        let len = u32::from_be_bytes([0, raw[0], raw[1], raw[2]]) as usize;
        if raw.len() < 9 + len {
            break;
        }
        let stream = u32::from_be_bytes([raw[5], raw[6], raw[7], raw[8]]) & 0x7fff_ffff;
        frames.push((raw[3], stream, raw[9..9 + len].to_vec()));
        raw = &raw[9 + len..];
    }
    frames
}

#[test]
fn a_client_that_takes_nothing_of_its_answer_is_cut_off() {
    let dir = NodeDir::init("ESP");
    let _node = start_with_web_deadlines(&dir, 1500);
    let addr = web_addr(&dir.path);
    // HTTP/2 without TLS (prior knowledge), the client's window for each
    // stream zero: the node may send the answer's headers and not one byte
    // of its page. Before, the request stayed in flight and the connection
    // held its slot for as long as the client wished.
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS: SETTINGS_INITIAL_WINDOW_SIZE (4) = 0.
    hello.extend(h2_frame(4, 0, 0, &[0, 4, 0, 0, 0, 0]));
    // HEADERS, END_STREAM | END_HEADERS: GET http://127.0.0.1/login (HPACK:
    // static `:method GET`, `:scheme http`; literal `:path` and
    // `:authority` with indexed names, not indexed).
    let mut block = vec![0x82, 0x86];
    for (index, value) in [(4u8, "/login"), (1, "127.0.0.1")] {
        block.extend([index, value.len() as u8]);
        block.extend(value.as_bytes());
    }
    hello.extend(h2_frame(1, 0x5, 1, &block));
    stream.write_all(&hello).unwrap();
    let start = Instant::now();
    let (raw, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    let frames = h2_frames(&raw);
    assert!(
        closed,
        "still open after {:?}; frames {:?}",
        start.elapsed(),
        frames.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>()
    );
    assert!(
        start.elapsed() >= Duration::from_millis(1200),
        "closed before the deadline: {frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|(kind, stream, _)| *kind == 1 && *stream == 1),
        "the answer's headers were sent: {frames:?}"
    );
    assert!(
        !frames
            .iter()
            .any(|(kind, stream, data)| *kind == 0 && *stream == 1 && !data.is_empty()),
        "no byte of the page fits a zero window"
    );
    assert!(
        !frames
            .iter()
            .any(|(kind, _, data)| *kind == 7 && data.get(4..8) != Some(&[0, 0, 0, 0][..])),
        "no protocol error: {frames:?}"
    );
}

#[test]
fn a_live_stream_that_is_read_is_not_cut_off() {
    let dir = NodeDir::init("ESP");
    add_user(&dir.path, "ana", "editor", PASSWORD);
    let _node = start_with_web_deadlines(&dir, 1500);
    let addr = web_addr(&dir.path);
    let mut client = WebClient::new(addr);
    assert_eq!(client.sign_in("ana", PASSWORD).status, 303);
    let jar: Vec<String> = client
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    // Server-sent events with no change to tell: the stream's comments keep
    // it moving past three send deadlines.
    let mut events = TcpStream::connect(addr).unwrap();
    events
        .write_all(
            format!(
                "GET /events HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\r\n",
                jar.join("; ")
            )
            .as_bytes(),
        )
        .unwrap();
    let (raw, closed) = read_until_closed(&mut events, Duration::from_millis(4500));
    let text = String::from_utf8_lossy(&raw);
    assert!(!closed, "a live stream was cut: {text}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.matches("\n:").count() >= 2,
        "comments keep it moving: {text}"
    );
}
