//! The browser harness's own test (`focal_tests::browser`): headless
//! Chromium through chromedriver against a small HTTP server started here,
//! on 127.0.0.1: navigation, a form's round trip, waits, cookies, the
//! language, screenshots, the console, and axe-core, which must pass the
//! accessible page and fail the inaccessible one; and how it starts
//! chromedriver again when the port it picked was taken. The tests run at
//! the same time, each with its own browser.

use std::{
    collections::HashMap,
    fmt::Write as _,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::unix::fs::PermissionsExt as _,
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
};

use focal_tests::browser::{Browser, Cookie, Impact, processes_using, screenshot_dir};
use serde_json::json;

const GOOD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Good page</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<header><p>Harness</p></header>
<main>
<h1>Tell us your name</h1>
<form method="post" action="/echo">
  <p><label for="name">Your name</label> <input id="name" name="name" autocomplete="name"></p>
  <p><label for="colour">Colour</label>
     <select id="colour" name="colour"><option value="r">Red</option><option value="b">Blue</option></select></p>
  <p><label for="start">Start date</label> <input type="date" id="start" name="start"></p>
  <p><input type="checkbox" id="news" name="news" value="yes"> <label for="news">Subscribe to news</label></p>
  <p><button type="submit">Send</button></p>
</form>
</main>
</body></html>
"#;

/// Two known problems: an input without a label (axe `label`, critical)
/// and light grey text on white (`color-contrast`, serious).
const BAD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad page</title></head>
<body>
<main>
<h1>Search</h1>
<p id="faint" style="color: #c8c8c8; background: #ffffff">This text is far too faint to read.</p>
<form><input id="unlabelled" type="text" name="q"></form>
</main>
</body></html>
"#;

/// Adds an element a while after loading, and logs to the console.
const LATE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Late</title></head>
<body><main><h1>Waiting</h1></main>
<script>
console.error('harness console check');
setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'Arrived at last';
  document.querySelector('main').append(p);
}, 400);
</script>
</body></html>
"#;

const STYLE: &str = "body { font-family: sans-serif; color: #111; background: #fff; }\n";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// application/x-www-form-urlencoded, decoded.
fn form(body: &str) -> HashMap<String, String> {
    let decode = |text: &str| {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        write!(head, "{name}: {value}\r\n").unwrap();
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn serve(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let html = [("Content-Type", "text/html; charset=utf-8")];
    let mut stream = stream;
    match (method, path) {
        ("GET", "/good") => respond(
            &mut stream,
            "200 OK",
            &[
                html[0],
                // axe runs under a strict policy: nothing inline, no eval.
                (
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'",
                ),
            ],
            GOOD,
        ),
        ("GET", "/style.css") => respond(
            &mut stream,
            "200 OK",
            &[("Content-Type", "text/css")],
            STYLE,
        ),
        ("GET", "/bad") => respond(&mut stream, "200 OK", &html, BAD),
        ("GET", "/late") => respond(&mut stream, "200 OK", &html, LATE),
        ("POST", "/echo") => {
            let fields = form(&body);
            let page = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Echo</title>\
                 </head><body><main><h1>Echo</h1><p id=\"echo\">You said: {}</p>\
                 <p id=\"colour\">{}</p><p id=\"start\">{}</p><p id=\"news\">{}</p>\
                 </main></body></html>",
                escape(fields.get("name").map_or("", String::as_str)),
                escape(fields.get("colour").map_or("", String::as_str)),
                escape(fields.get("start").map_or("", String::as_str)),
                escape(fields.get("news").map_or("no", String::as_str)),
            );
            respond(
                &mut stream,
                "200 OK",
                &[
                    html[0],
                    (
                        "Set-Cookie",
                        "session=s3cret; Path=/; HttpOnly; SameSite=Lax",
                    ),
                ],
                &page,
            );
        }
        ("GET", "/whoami") => {
            let page = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Who</title>\
                 </head><body><main><h1>Who am I</h1><p id=\"cookie\">{}</p><p id=\"lang\">{}</p>\
                 </main></body></html>",
                escape(headers.get("cookie").map_or("(none)", String::as_str)),
                escape(
                    headers
                        .get("accept-language")
                        .map_or("(none)", String::as_str)
                ),
            );
            respond(&mut stream, "200 OK", &html, &page);
        }
        ("GET", "/favicon.ico") => respond(&mut stream, "204 No Content", &[], ""),
        _ => respond(&mut stream, "404 Not Found", &html, "not found"),
    }
}

/// The pages above, on a free 127.0.0.1 port, until the test process ends.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_pages_forms_cookies_and_waits() {
    let addr = start_server();
    let browser = Browser::builder()
        .lang("fr,en")
        .base_url(&format!("http://{addr}"))
        .start()
        .await;
    let dir = browser.dir().to_owned();

    // Navigation.
    browser.goto("/good").await;
    assert_eq!(browser.title().await, "Good page");
    assert_eq!(browser.text_of("h1").await, "Tell us your name");
    assert!(browser.page_source().await.contains("Subscribe to news"));
    assert!(browser.try_find("#nothing-here").await.is_none());
    assert_eq!(browser.find_all("form p").await.len(), 5);
    // The viewport is 1280×900; the language is the one asked for.
    let inner = browser
        .execute(
            "return [window.innerWidth, window.innerHeight, navigator.language]",
            vec![],
        )
        .await;
    assert_eq!(inner, json!([1280, 900, "fr"]), "viewport and language");

    // A form's round trip: typed, picked and ticked by label, sent by the
    // button's text, echoed back by the server.
    let said = "Ada <Lovelace> & co, 100% sûre";
    browser.fill("Your name", said).await;
    browser.fill("colour", "Blue").await;
    browser.fill("Start date", "2031-05-01").await;
    browser.check("Subscribe to news", true).await;
    browser.check("Subscribe to news", false).await;
    browser.check("Subscribe to news", true).await;
    assert_eq!(browser.value_of("#name").await, said);
    browser.click_text("Send").await;
    browser.wait_for_text(&format!("You said: {said}")).await;
    assert!(browser.wait_for_url("/echo").await.ends_with("/echo"));
    assert_eq!(browser.text_of("#colour").await, "b");
    assert_eq!(browser.text_of("#start").await, "2031-05-01");
    assert_eq!(browser.text_of("#news").await, "yes");

    // A screenshot, as a PNG under target/web-screenshots.
    let shot = browser.screenshot("harness-echo").await;
    assert_eq!(shot, screenshot_dir().join("harness-echo.png"));
    assert!(shot.starts_with(env!("CARGO_MANIFEST_DIR").trim_end_matches("/tests")));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is a PNG",
        shot.display()
    );
    assert!(png.len() > 1000, "the screenshot has content");
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(
        (size(16), size(20)),
        (1280, 900),
        "the PNG's width and height"
    );

    // Cookies: the server's HttpOnly session cookie, changed, deleted,
    // and one of ours; what the server then receives.
    let session = browser.cookie("session").await.expect("the session cookie");
    assert_eq!(session.value(), "s3cret");
    assert_eq!(session.http_only(), Some(true));
    browser.goto("/whoami").await;
    assert_eq!(browser.text_of("#cookie").await, "session=s3cret");
    assert!(
        browser.text_of("#lang").await.starts_with("fr"),
        "Accept-Language: {}",
        browser.text_of("#lang").await
    );
    browser.set_cookie_value("session", "stale").await;
    browser.refresh().await;
    assert_eq!(browser.text_of("#cookie").await, "session=stale");
    assert_eq!(
        browser.cookies().await.len(),
        1,
        "{:?}",
        browser.cookies().await
    );
    browser.delete_cookie("session").await;
    browser.set_cookie(Cookie::new("theme", "dark")).await;
    browser.refresh().await;
    assert_eq!(browser.text_of("#cookie").await, "theme=dark");
    browser.delete_all_cookies().await;
    browser.refresh().await;
    assert_eq!(browser.text_of("#cookie").await, "(none)");

    // Waits: for an element and a text that come later; the console.
    browser.goto("/late").await;
    browser.wait_for("#late").await;
    browser.wait_for_text("Arrived at last").await;
    browser
        .wait_until("the heading", "document.querySelector('h1') !== null")
        .await;
    browser.wait_for_gone("#never-there").await;
    let console = browser.console().await;
    assert!(
        console
            .iter()
            .any(|m| m.level == "SEVERE" && m.message.contains("harness console check")),
        "{console:?}"
    );
    assert_eq!(browser.execute("return 1 + 2", vec![]).await, json!(3));
    let async_answer = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done('later'), 50);",
            vec![],
        )
        .await;
    assert_eq!(async_answer, json!("later"));

    // Dropped, the browser leaves no process behind.
    drop(browser);
    assert_eq!(processes_using(&dir), Vec::<i32>::new(), "processes left");
    assert!(!dir.exists(), "the temporary directory is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_passes_the_good_page_and_fails_the_bad_one() {
    let addr = start_server();
    let browser = Browser::start().await;

    browser.goto(&format!("http://{addr}/good")).await;
    let good = browser.assert_no_serious_violations("the good page").await;
    assert!(good.axe_version.starts_with('4'), "{}", good.axe_version);
    assert!(good.url.ends_with("/good"));
    // Again on the same page (axe is there already: not injected twice).
    assert_eq!(browser.axe().await.serious().len(), 0);
    // Neither the page nor axe broke its Content-Security-Policy.
    assert_eq!(browser.console_errors().await.len(), 0, "console errors");

    browser.goto(&format!("http://{addr}/bad")).await;
    let bad = browser.axe().await;
    let label = bad
        .violation("label")
        .unwrap_or_else(|| panic!("no `label` violation:\n{bad}"));
    assert_eq!(label.impact, Some(Impact::Critical));
    assert_eq!(label.nodes.len(), 1, "{bad}");
    assert_eq!(label.nodes[0].target, ["#unlabelled"]);
    let contrast = bad
        .violation("color-contrast")
        .unwrap_or_else(|| panic!("no `color-contrast` violation:\n{bad}"));
    assert_eq!(contrast.impact, Some(Impact::Serious));
    assert_eq!(contrast.nodes[0].target, ["#faint"]);
    assert_eq!(bad.serious().len(), 2, "{bad}");

    // The assertion fails on it, naming both.
    let failure = std::panic::catch_unwind(AssertUnwindSafe(|| {
        bad.assert_no_serious_violations("the bad page");
    }))
    .expect_err("the bad page fails the check");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("the bad page"), "{message}");
    assert!(message.contains("[critical] label"), "{message}");
    assert!(message.contains("[serious] color-contrast"), "{message}");
    assert!(message.contains("#unlabelled"), "{message}");
}

/// A chromedriver wrapper that counts its runs in `dir/runs`, prints
/// `words` and exits 1 on its first `failures` runs, then runs the real
/// chromedriver.
fn flaky_chromedriver(dir: &Path, failures: usize, words: &str) -> PathBuf {
    let real = focal_tests::browser::chromedriver()
        .expect("chromedriver ($FOCAL_CHROMEDRIVER or on PATH): bash tests/run.sh installs it");
    let runs = dir.join("runs");
    let script = dir.join("chromedriver");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             n=$(cat '{runs}' 2>/dev/null || echo 0)\n\
             n=$((n + 1))\n\
             echo $n > '{runs}'\n\
             if [ $n -le {failures} ]; then\n\
             echo 'Starting ChromeDriver (a wrapper) on port 0'\n\
             echo '{words}'\n\
             exit 1\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            runs = runs.display(),
            real = real.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Starts a browser on its own task; the panic's message if it panics.
async fn start_failure(chromedriver: &Path) -> String {
    let builder = Browser::builder().chromedriver(chromedriver);
    let failure = tokio::spawn(builder.start())
        .await
        .expect_err("the browser does not start");
    let failure = failure.into_panic();
    failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}

/// Asked for any port, chromedriver binds [::1] on a port the kernel picks,
/// then 127.0.0.1 on the same number, and exits with "IPv4 port not
/// available" when that one is in use: a loopback connection of another
/// test may hold it. It is started again, at most five attempts in all; any other
/// early exit fails at once, saying what chromedriver said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromedriver_is_started_again_only_when_its_port_was_taken() {
    let addr = start_server();
    let taken = "IPv4 port not available. Exiting...";

    let twice = tempfile::tempdir().unwrap();
    let browser = Browser::builder()
        .chromedriver(&flaky_chromedriver(twice.path(), 2, taken))
        .start()
        .await;
    browser.goto(&format!("http://{addr}/good")).await;
    assert_eq!(browser.title().await, "Good page");
    assert_eq!(runs(twice.path()), 3, "two refusals, then the real one");
    drop(browser);

    let always = tempfile::tempdir().unwrap();
    let message = start_failure(&flaky_chromedriver(always.path(), 99, taken)).await;
    assert!(message.contains("attempt 5 of at most 5"), "{message}");
    assert!(message.contains(taken), "{message}");
    assert_eq!(runs(always.path()), 5);

    let other = tempfile::tempdir().unwrap();
    let words = "Unable to initialize logging. Exiting...";
    let message = start_failure(&flaky_chromedriver(other.path(), 99, words)).await;
    assert!(message.contains("attempt 1 of at most 5"), "{message}");
    assert!(message.contains(words), "{message}");
    assert!(message.contains("exit status: 1"), "{message}");
    assert_eq!(runs(other.path()), 1, "not started again");
}
