//! The web app's doors, against real nodes over real HTTP: who gets in,
//! what a session may do, and what the listener refuses to serve. (The
//! pages themselves, in a real browser: `web_browser.rs`.)

use focal_tests::{
    NodeDir, assert_fails_with, focal_node,
    web::{WebClient, add_user, web_addr},
};
use rusqlite::Connection;

const EDITOR_PASSWORD: &str = "editor password 1";
const READER_PASSWORD: &str = "reader password 1";

/// A node of ESP with an editor (`ana`) and a reader (`ben`).
fn node() -> (NodeDir, focal_tests::RunningNode) {
    let dir = NodeDir::init("ESP");
    add_user(&dir.path, "ana", "editor", EDITOR_PASSWORD);
    add_user(&dir.path, "ben", "reader", READER_PASSWORD);
    let node = dir.start();
    (dir, node)
}

/// Makes a practice titled `title` through the form; its page's path.
fn new_practice(client: &mut WebClient, title: &str) -> String {
    let csrf = client
        .get("/records/new?type=practice")
        .input("csrf")
        .unwrap();
    let made = client.post(
        "/records/new",
        &[
            ("csrf", &csrf),
            ("type", "practice"),
            ("title~en", title),
            ("title~original", "en"),
            ("kind", "best-practice"),
            ("themes", "peacekeeping"),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.body);
    made.location().to_owned()
}

#[test]
fn pages_need_a_session_and_sign_in_is_throttled_after_five_failures() {
    let (dir, _node) = node();
    let addr = web_addr(&dir.path);
    let mut anon = WebClient::new(addr);
    let home = anon.get("/");
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), "/login?next=%2F");
    for page in [
        "/records",
        "/views/naps",
        "/records/new?type=nap",
        "/admin/members",
    ] {
        assert_eq!(anon.get(page).status, 303, "{page}");
    }
    let login = anon.get("/login");
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(login.header("x-frame-options"), Some("DENY"));

    // Five wrong passwords are each refused; the sixth attempt waits,
    // even with the right password.
    let mut client = WebClient::new(addr);
    for attempt in 1..=5 {
        let answer = client.sign_in("ana", "not the password");
        assert_eq!(answer.status, 401, "attempt {attempt}: {}", answer.body);
        assert!(
            answer
                .body
                .contains("The user name or password is not right")
        );
    }
    let sixth = client.sign_in("ana", EDITOR_PASSWORD);
    assert_eq!(sixth.status, 429, "{}", sixth.body);
    assert!(sixth.header("retry-after").is_some());
    assert!(
        sixth.body.contains("Too many failed attempts"),
        "{}",
        sixth.body
    );
    assert!(!client.cookies.keys().any(|k| k.contains("session")));
    // Another account is not held up by ana's failures.
    let mut reader = WebClient::new(addr);
    assert_eq!(reader.sign_in("ben", READER_PASSWORD).status, 303);
    // An unknown name is refused like a wrong password.
    assert_eq!(
        WebClient::new(addr)
            .sign_in("nobody", "whatever it is")
            .status,
        401
    );
}

#[test]
fn a_session_is_strict_and_csrf_protected_and_a_reader_writes_nothing() {
    let (dir, _node) = node();
    let addr = web_addr(&dir.path);
    let mut editor = WebClient::new(addr);
    let signed = editor.sign_in("ana", EDITOR_PASSWORD);
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location(), "/");
    let cookie = signed.header("set-cookie").unwrap();
    assert!(cookie.contains("focal_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    assert_eq!(editor.get("/").status, 200);

    // The editor creates a plan through the form.
    let form = editor.get("/records/new?type=nap");
    assert_eq!(form.status, 200);
    let csrf = form.input("csrf").unwrap();
    let request_id = form.input("request_id").unwrap();
    let fields = [
        ("type", "nap"),
        ("request_id", request_id.as_str()),
        ("visibility", "network"),
        ("title~en", "Plan of the web test"),
        ("title~original", "en"),
        ("kind", "nap"),
        ("status", "in-force"),
    ];
    // Without the token, or from another site: refused, nothing written.
    let no_token = editor.post("/records/new", &fields);
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let mut with_token: Vec<(&str, &str)> = fields.to_vec();
    with_token.push(("csrf", &csrf));
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&with_token)
        .finish();
    let cross = editor.request(
        "POST",
        "/records/new",
        Some(body),
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let made = editor.post("/records/new", &with_token);
    assert_eq!(made.status, 303, "{}", made.body);
    let page = made.location().to_owned();
    assert!(page.starts_with("/records/ESP%3Anap%3A"), "{page}");
    let shown = editor.get(&page);
    assert!(shown.body.contains("Plan of the web test"));
    // The list's filters: type, status, search.
    let listed = editor.get("/records?type=nap&status=in-force&q=web+test");
    assert!(
        listed.body.contains("Plan of the web test"),
        "{}",
        listed.body
    );
    assert!(listed.body.contains("<option value=\"in-force\" selected>"));
    // The views' downloads read every page (here: the tracker's one row).
    let csv = editor.get("/views/naps?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.body.starts_with("Member,Region,Plan,"), "{}", csv.body);
    assert!(csv.body.contains("Plan of the web test"), "{}", csv.body);
    assert!(
        editor
            .get("/views/directory?format=csv")
            .body
            .starts_with("Member,Name,")
    );
    for view in ["practices", "funding", "follow-up"] {
        let csv = editor.get(&format!("/views/{view}?format=csv"));
        assert_eq!(csv.status, 200, "{view}");
        let kind = csv.header("content-type").unwrap();
        assert!(kind.starts_with("text/csv"), "{view}: {kind}");
        assert!(csv.body.ends_with("\r\n"), "{view}: {}", csv.body);
    }
    // A filter the view refuses is an error page, before any file.
    let refused = editor.get("/views/practices?format=csv&member=ZZZ");
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let other = editor.get("/records?type=nap&status=draft");
    assert!(!other.body.contains("Plan of the web test"));
    assert!(shown.body.contains("id=\"edit-link\""));

    // The reader sees no edit control, and the server refuses the reader's
    // edit even with the reader's own valid token.
    let mut reader = WebClient::new(addr);
    assert_eq!(reader.sign_in("ben", READER_PASSWORD).status, 303);
    let seen = reader.get(&page);
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("Plan of the web test"));
    for control in ["edit-link", "delete-link", "new-link"] {
        assert!(!seen.body.contains(control), "{control}");
    }
    assert_eq!(reader.get(&format!("{page}/edit")).status, 403);
    assert_eq!(reader.get("/records/new?type=nap").status, 403);
    let reader_csrf = reader.get("/records").input("csrf").unwrap();
    let edit = reader.post(
        &format!("{page}/edit"),
        &[
            ("csrf", &reader_csrf),
            ("title~en", "Changed by a reader"),
            ("title~original", "en"),
            ("kind", "nap"),
            ("status", "in-force"),
        ],
    );
    assert_eq!(edit.status, 403, "{}", edit.body);
    let delete = reader.post(&format!("{page}/delete"), &[("csrf", &reader_csrf)]);
    assert_eq!(delete.status, 403);
    assert!(editor.get(&page).body.contains("Plan of the web test"));
    assert!(!editor.get(&page).body.contains("Changed by a reader"));
    // Nor may a reader or an editor administer membership.
    assert_eq!(reader.get("/admin/members").status, 403);
    assert_eq!(editor.get("/admin/members").status, 403);

    // An expired session is sent to the sign-in page, which says so.
    let db = Connection::open(dir.path.join("focal.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db.execute(
        "UPDATE web_sessions SET last_seen = last_seen - 7200 WHERE user_id = \
         (SELECT id FROM users WHERE name = 'ben')",
        [],
    )
    .unwrap();
    let expired = reader.get("/records");
    assert_eq!(expired.status, 303);
    assert!(
        expired.location().starts_with("/login?next=%2Frecords"),
        "{}",
        expired.location()
    );
    assert!(expired.location().contains("ended=1"));
    let login = reader.get(expired.location());
    assert!(
        login.body.contains("Your session has ended"),
        "{}",
        login.body
    );

    // Disabling a person ends their session at once.
    let out = focal_node(&[
        "user",
        "disable",
        "--data",
        dir.path.to_str().unwrap(),
        "ana",
    ]);
    assert!(out.status.success());
    assert_eq!(editor.get("/").status, 303);
    assert_eq!(editor.sign_in("ana", EDITOR_PASSWORD).status, 401);

    // Signing out ends the session on the server, not only the cookie.
    let mut again = WebClient::new(addr);
    let focal_tests::web::Answer { status, .. } = {
        let out = focal_node(&[
            "user",
            "enable",
            "--data",
            dir.path.to_str().unwrap(),
            "ana",
        ]);
        assert!(out.status.success());
        again.sign_in("ana", EDITOR_PASSWORD)
    };
    assert_eq!(status, 303);
    let kept = again.cookies.clone();
    let csrf = again.get("/").input("csrf").unwrap();
    assert_eq!(again.post("/logout", &[("csrf", &csrf)]).status, 303);
    let mut replay = WebClient::new(addr);
    replay.cookies = kept;
    assert_eq!(
        replay.get("/").status,
        303,
        "the old cookie no longer works"
    );
}

#[test]
fn a_set_up_link_works_once() {
    let dir = NodeDir::init("ESP");
    let _node = dir.start();
    let out = focal_node(&[
        "user",
        "add",
        "--data",
        dir.path.to_str().unwrap(),
        "carla",
        "--role",
        "editor",
    ]);
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let link = printed
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a set-up link")
        .to_owned();
    let addr = web_addr(&dir.path);
    assert!(
        link.starts_with(&format!("http://{addr}/setup?token=focal_setup_")),
        "{link}"
    );
    let path = &link[link.find("/setup").unwrap()..];
    let mut client = WebClient::new(addr);
    let form = client.get(path);
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.header("referrer-policy"), Some("same-origin"));
    let token = form.input("token").unwrap();
    let csrf = form.input("csrf").unwrap();
    let short = client.post(
        "/setup",
        &[
            ("token", &token),
            ("csrf", &csrf),
            ("password", "short"),
            ("confirm", "short"),
        ],
    );
    assert_eq!(short.status, 422);
    assert!(
        short.body.contains("at least 12 characters"),
        "{}",
        short.body
    );
    let chosen = "a long enough password";
    let done = client.post(
        "/setup",
        &[
            ("token", &token),
            ("csrf", &csrf),
            ("password", chosen),
            ("confirm", chosen),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(client.get("/").status, 200, "signed in after the set-up");
    // The link is spent.
    assert_eq!(WebClient::new(addr).get(path).status, 404);
    assert_eq!(WebClient::new(addr).sign_in("carla", chosen).status, 303);
    let listed = focal_node(&["user", "list", "--data", dir.path.to_str().unwrap()]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("carla") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains("focal_setup_"), "{listed}");
}

#[test]
fn record_text_is_shown_as_text_never_as_markup() {
    let (dir, _node) = node();
    let addr = web_addr(&dir.path);
    let mut editor = WebClient::new(addr);
    editor.sign_in("ana", EDITOR_PASSWORD);
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let page = new_practice(&mut editor, hostile);
    for path in [
        page.clone(),
        format!("{page}/history"),
        "/records".into(),
        "/".into(),
    ] {
        // (The templates escape with numeric entities.)
        let body = editor
            .get(&path)
            .body
            .replace("&#60;", "&lt;")
            .replace("&#62;", "&gt;");
        assert!(
            body.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
            ),
            "{path}: the title is not shown escaped"
        );
        assert!(!body.contains("<script>alert"), "{path}");
        assert!(!body.contains("<img src=x"), "{path}");
    }
}

/// Two forms opened on one record: a field changed on one and left as it
/// was on the other keeps its change (no lost update); a field changed on
/// both is a conflict, shown on the second form, which saves once sent
/// again; a form whose base is not the record's changes nothing.
#[test]
fn concurrent_edits_keep_each_others_changes_or_are_shown_as_conflicts() {
    let (dir, _node) = node();
    let addr = web_addr(&dir.path);
    let mut one = WebClient::new(addr);
    one.sign_in("ana", EDITOR_PASSWORD);
    let mut two = WebClient::new(addr);
    two.sign_in("ana", EDITOR_PASSWORD);
    let page = new_practice(&mut one, "Shared plan");
    let edit = format!("{page}/edit");
    let open = |client: &mut WebClient| {
        let form = client.get(&edit);
        (form.input("csrf").unwrap(), form.input("base").unwrap())
    };
    let send =
        |client: &mut WebClient, (csrf, base): &(String, String), title: &str, kind: &str| {
            client.post(
                &edit,
                &[
                    ("csrf", csrf),
                    ("base", base),
                    ("title~en", title),
                    ("title~original", "en"),
                    ("kind", kind),
                    ("themes", "peacekeeping"),
                ],
            )
        };
    let stored = |client: &mut WebClient| {
        let form = client.get(&edit);
        let kind = if form.body.contains("value=\"lesson-learned\" selected") {
            "lesson-learned"
        } else {
            "best-practice"
        };
        (form.input("title~en").unwrap(), kind.to_owned())
    };

    // Different fields: both changes kept.
    let (a, b) = (open(&mut one), open(&mut two));
    assert!(!a.1.is_empty());
    assert_eq!(
        send(&mut one, &a, "Title by one", "best-practice").status,
        303
    );
    let merged = send(&mut two, &b, "Shared plan", "lesson-learned");
    assert_eq!(merged.status, 303, "{}", merged.body);
    assert_eq!(
        stored(&mut one),
        ("Title by one".to_owned(), "lesson-learned".to_owned()),
        "the second form undid the first one's title"
    );

    // The same field: a conflict, shown, nothing written; sent again, saved.
    // The first form also changed the kind, which the second left alone:
    // the second is shown again with the kind as it is now, so that
    // sending it again keeps it.
    let (a, b) = (open(&mut one), open(&mut two));
    assert_eq!(send(&mut one, &a, "Title A", "best-practice").status, 303);
    let conflict = send(&mut two, &b, "Title B", "lesson-learned");
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert!(
        conflict.body.contains("Someone else changed this record"),
        "{}",
        conflict.body
    );
    assert!(
        conflict.body.contains("it is now: en: Title A"),
        "{}",
        conflict.body
    );
    assert_eq!(
        conflict.input("title~en").unwrap(),
        "Title B",
        "the person's text is kept"
    );
    assert!(
        conflict.body.contains("value=\"best-practice\" selected"),
        "the kind changed meanwhile is shown as it is now"
    );
    assert_eq!(
        stored(&mut one),
        ("Title A".to_owned(), "best-practice".to_owned())
    );
    let again = (
        conflict.input("csrf").unwrap(),
        conflict.input("base").unwrap(),
    );
    assert_ne!(
        again.1, b.1,
        "the form again carries the record's heads now"
    );
    assert_eq!(
        send(&mut two, &again, "Title B", "best-practice").status,
        303
    );
    assert_eq!(
        stored(&mut one),
        ("Title B".to_owned(), "best-practice".to_owned())
    );

    // A base that is not the record's (forged, or another record's), or
    // no version of it (more heads than a document has).
    let (csrf, real) = open(&mut one);
    let heads = real.split('|').next().unwrap().to_owned();
    let many = format!("{}|", vec![heads.as_str(); 65].join(","));
    for base in [
        "not-a-hash".to_owned(),
        format!("{}|", "ab".repeat(32)),
        many,
    ] {
        let forged = send(
            &mut one,
            &(csrf.clone(), base.to_owned()),
            "Forged",
            "lesson-learned",
        );
        assert_eq!(forged.status, 409, "{base}: {}", forged.body);
    }
    assert_eq!(stored(&mut one).0, "Title B");
}

/// A record's history is read 50 changes a page, newest first, each change
/// with its values before and after.
#[test]
fn a_long_history_is_read_page_by_page() {
    let (dir, _node) = node();
    let addr = web_addr(&dir.path);
    let mut editor = WebClient::new(addr);
    editor.sign_in("ana", EDITOR_PASSWORD);
    let page = new_practice(&mut editor, "Revision 0");
    let csrf = editor.get(&format!("{page}/edit")).input("csrf").unwrap();
    for n in 1..=120 {
        let title = format!("Revision {n}");
        let edited = editor.post(
            &format!("{page}/edit"),
            &[
                ("csrf", &csrf),
                ("title~en", &title),
                ("title~original", "en"),
                ("kind", "best-practice"),
                ("themes", "peacekeeping"),
            ],
        );
        assert_eq!(edited.status, 303, "edit {n}: {}", edited.body);
    }
    let changes = |body: &str| body.matches("<li class=\"change\">").count();
    let first = editor.get(&format!("{page}/history"));
    assert_eq!(first.status, 200);
    assert!(first.body.contains("Changes 1–50 of 121"), "{}", first.body);
    assert_eq!(changes(&first.body), 50);
    assert!(
        first.body.contains("start=\"121\""),
        "numbered from the newest"
    );
    // The newest change first, with its values before and after.
    let at = |text: &str| first.body.find(text).unwrap();
    assert!(at("<td class=\"new\" dir=\"auto\">en: Revision 120<") < at("Revision 100<"));
    assert!(
        first
            .body
            .contains("<td class=\"old\" dir=\"auto\">en: Revision 119<")
    );
    assert!(
        !first.body.contains("Revision 60<"),
        "an older change on the first page"
    );
    assert!(first.body.contains("?page=2\" rel=\"next\""));
    assert!(!first.body.contains("rel=\"prev\""));

    let second = editor.get(&format!("{page}/history?page=2"));
    assert!(
        second.body.contains("Changes 51–100 of 121"),
        "{}",
        second.body
    );
    assert_eq!(changes(&second.body), 50);
    assert!(second.body.contains("start=\"71\""));
    assert!(second.body.contains("Revision 70<") && second.body.contains("Revision 21<"));
    assert!(second.body.contains("?page=1\" rel=\"prev\""));

    let last = editor.get(&format!("{page}/history?page=3"));
    assert_eq!(changes(&last.body), 21);
    assert!(
        last.body.contains("Changes 101–121 of 121"),
        "{}",
        last.body
    );
    assert!(last.body.contains("Revision 0<") && last.body.contains("Revision 1<"));
    assert!(!last.body.contains("rel=\"next\""));

    assert_eq!(editor.get(&format!("{page}/history?page=4")).status, 404);
    let odd = editor.get(&format!("{page}/history?page=x"));
    assert!(
        odd.body.contains("Changes 1–50 of 121"),
        "a page that is not one reads as the first"
    );
}

#[test]
fn the_web_app_is_plain_http_only_on_loopback() {
    let dir = NodeDir::init("ESP");
    let data = dir.path.to_str().unwrap().to_owned();
    let web_listen = "listen = \"127.0.0.1:0\"\n# The certificate";
    dir.set_config(web_listen, "listen = \"0.0.0.0:0\"\n# The certificate");
    let out = focal_node(&["run", "--data", &data]);
    assert_fails_with(&out, "is not a loopback address");
    assert_fails_with(&out, "web.tls_cert and web.tls_key");
    // Certificate files that are not there: refused at start, named.
    dir.set_config("# tls_cert = \"web.crt\"", "tls_cert = \"web.crt\"");
    dir.set_config("# tls_key = \"web.key\"", "tls_key = \"web.key\"");
    let out = focal_node(&["run", "--data", &data]);
    assert_fails_with(&out, "web.crt");
    assert!(!dir.path.join("focal-node.web-addr").exists());
    // The same refusal through the command line.
    let fresh = NodeDir::init("ESP");
    let out = focal_node(&[
        "run",
        "--data",
        fresh.path.to_str().unwrap(),
        "--web-listen",
        "0.0.0.0:0",
    ]);
    assert_fails_with(&out, "--web-listen 0.0.0.0:0");
    assert_fails_with(&out, "is not a loopback address");
}

#[test]
fn a_connection_that_sends_nothing_is_closed() {
    use std::io::Read as _;
    let dir = NodeDir::init("ESP");
    let _node = dir.start();
    let mut idle = std::net::TcpStream::connect(web_addr(&dir.path)).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let read = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(read, 0, "the node closes the connection, answering nothing");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "closed after {:?}",
        start.elapsed()
    );
    // The app still answers others.
    let mut client = WebClient::new(web_addr(&dir.path));
    assert_eq!(client.get("/login").status, 200);
}
