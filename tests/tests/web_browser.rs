//! The web app in a real browser (Debian's headless Chromium through
//! chromedriver, `focal_tests::browser`), on a real network: a
//! secretariat and two members (ESP, NAM), each node serving its own web
//! app on 127.0.0.1.
//!
//! - `a_plan_goes_from_a_form_to_the_network`: an editor on ESP creates a
//!   NAP through the form, gets the node's inline error for an end date
//!   before the start, corrects it, adds a Spanish title, and reads both
//!   changes in the history with old and new values; the secretariat's NAP
//!   tracker, open in another browser, shows the plan without a reload.
//!   A reader sees no edit control and the server refuses the reader's
//!   POST; a POST without the CSRF token is refused; a sixth wrong password
//!   is throttled; an expired session is sent to the sign-in page. On the
//!   secretariat's node an admin suspends NAM through the membership page
//!   and the directory marks it; an editor cannot reach that page. A
//!   record titled with markup shows as text on every page that shows it.
//! - `every_page_is_accessible_in_english_and_arabic`: every page,
//!   screenshotted into `target/web-screenshots/`, and axe-core finds no
//!   serious or critical violation, in English and in Arabic.

use std::time::Duration;

use focal_tests::{
    TestNetwork,
    browser::Browser,
    focal_node, focal_ok,
    web::{add_user, web_addr},
};
use rusqlite::Connection;
use serde_json::json;

const PASSWORD: &str = "a long test password";
const HOSTILE: &str = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>";

/// A network of SEC, ESP and NAM; people on ESP (`esp-editor`,
/// `esp-reader`) and SEC (`sec-admin`, `sec-editor`); a focal point of NAM
/// (so that the directory lists NAM).
fn network() -> TestNetwork {
    let net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    add_user(&net.members[0].dir.path, "esp-editor", "editor", PASSWORD);
    add_user(&net.members[0].dir.path, "esp-reader", "reader", PASSWORD);
    add_user(&net.secretariat.dir.path, "sec-admin", "admin", PASSWORD);
    add_user(&net.secretariat.dir.path, "sec-editor", "editor", PASSWORD);
    focal_ok(
        &net.members[1].conn(),
        &[
            "focal-point",
            "add",
            "--name",
            "Nangula Example",
            "--posting",
            "capital",
            "--designation",
            "primary",
        ],
    );
    net
}

fn base(dir: &std::path::Path) -> String {
    format!("http://{}", web_addr(dir))
}

async fn browser(name: &str, lang: &str, base_url: &str) -> Browser {
    Browser::builder()
        .name(name)
        .lang(lang)
        .base_url(base_url)
        .timeout(Duration::from_secs(40))
        .start()
        .await
}

async fn sign_in(b: &Browser, name: &str, password: &str) {
    b.goto("/login").await;
    b.fill("name", name).await;
    b.fill("password", password).await;
    b.click("form.narrow button[type=submit]").await;
}

/// No script of a record ran on this page.
async fn assert_no_script_ran(b: &Browser, page: &str) {
    let ran = b
        .execute("return window.__xss === undefined;", vec![])
        .await;
    assert_eq!(ran, json!(true), "{page}: a record's markup ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_goes_from_a_form_to_the_network() {
    let net = network();
    let esp = base(&net.members[0].dir.path);
    let sec = base(&net.secretariat.dir.path);

    // The secretariat's NAP tracker, open before the plan exists.
    let tracker = browser("tracker", "en", &sec).await;
    sign_in(&tracker, "sec-admin", PASSWORD).await;
    tracker.wait_for("h1").await;
    tracker.goto("/views/naps").await;
    tracker.wait_for("main[data-live-connected]").await;
    tracker
        .execute("window.__no_reload = 'still the same page';", vec![])
        .await;
    assert!(!tracker.text().await.contains("Plan of the browser test"));

    // The editor creates the plan through the form.
    let b = browser("esp-editor", "en", &esp).await;
    sign_in(&b, "esp-editor", PASSWORD).await;
    b.wait_for_text("ESP").await;
    b.goto("/records?type=nap").await;
    b.click("#new-link").await;
    b.wait_for("form.record-form").await;
    b.fill("title~en", "Plan of the browser test").await;
    b.fill("kind", "National action plan").await;
    b.fill("status", "In force").await;
    b.fill("period.start", "2025-01-01").await;
    b.fill("period.end", "2024-12-31").await;
    b.screenshot("nap-form-filled").await;
    b.click_text("Save").await;
    // The node's own message, at the field it names.
    let error = b.wait_for("#f-period-end-error").await;
    let error = error.text().await.unwrap();
    assert!(error.contains("before"), "{error}");
    assert_eq!(
        b.attr_of("#f-period-end", "aria-invalid").await.as_deref(),
        Some("true")
    );
    b.screenshot("nap-form-error").await;
    b.fill("period.end", "2029-12-31").await;
    b.click_text("Save").await;
    b.wait_for_url("/records/ESP%3Anap%3A").await;
    b.wait_for_text("Plan of the browser test").await;
    let record_url = b.current_url().await;

    // The secretariat's tracker shows it, without a reload.
    tracker
        .poll("the plan on the secretariat's NAP tracker", || async {
            tracker
                .text()
                .await
                .contains("Plan of the browser test")
                .then_some(())
        })
        .await;
    assert_eq!(
        tracker.execute("return window.__no_reload;", vec![]).await,
        json!("still the same page"),
        "the page was reloaded"
    );
    tracker.screenshot("sec-nap-tracker-live").await;

    // A Spanish title, in the form's Spanish tab.
    b.click("#edit-link").await;
    b.wait_for("form.record-form").await;
    // (The sixth tab: the languages in the UN's order, Spanish last.)
    b.click("#f-title .tabs button:nth-child(6)").await;
    b.fill("title~es", "Plan de la prueba del navegador").await;
    b.screenshot("nap-form-spanish").await;
    b.click_text("Save").await;
    b.wait_for_url("/records/ESP%3Anap%3A").await;
    b.click_text("History").await;
    b.wait_for("ol.history").await;
    b.screenshot("nap-history").await;
    let old = b.text_of("ol.history li:first-child td.old").await;
    let new = b.text_of("ol.history li:first-child td.new").await;
    assert!(
        new.contains("es: Plan de la prueba del navegador")
            && new.contains("en: Plan of the browser test"),
        "{new}"
    );
    assert!(!old.contains("Plan de la prueba"), "{old}");
    assert!(old.contains("en: Plan of the browser test"), "{old}");
    let history = b.text().await;
    assert!(
        history.contains("created") && history.contains("edited"),
        "{history}"
    );

    // A record titled with markup: text on every page that shows it.
    b.goto("/records/new?type=practice").await;
    b.fill("title~en", HOSTILE).await;
    b.fill("kind", "Best practice").await;
    b.check("Peacekeeping", true).await;
    b.click_text("Save").await;
    b.wait_for_url("/records/ESP%3Apractice%3A").await;
    let practice = b.current_url().await;
    for page in [
        practice.clone(),
        format!("{practice}/history"),
        format!("{esp}/records?type=practice"),
        format!("{esp}/views/practices"),
        format!("{esp}/"),
    ] {
        b.goto(&page).await;
        b.wait_for("h1").await;
        assert!(
            b.text().await.contains(HOSTILE),
            "{page}: the title is not shown as text"
        );
        assert_no_script_ran(&b, &page).await;
    }
    b.screenshot("markup-as-text").await;
    // … and on the secretariat's node, once it has arrived there.
    for page in [
        format!("{sec}/records?type=practice"),
        format!("{sec}/views/practices"),
        format!("{sec}/"),
    ] {
        tracker.goto(&page).await;
        tracker
            .poll(format!("the practice shown as text on {page}"), || async {
                tracker.text().await.contains(HOSTILE).then_some(())
            })
            .await;
        assert_no_script_ran(&tracker, &page).await;
    }

    // A reader: no edit controls; the server refuses the reader's POST and
    // a POST without the token.
    let r = browser("esp-reader", "en", &esp).await;
    sign_in(&r, "esp-reader", PASSWORD).await;
    r.wait_for_text("ESP").await;
    r.goto(&record_url).await;
    r.wait_for_text("Plan of the browser test").await;
    let source = r.page_source().await;
    assert!(!source.contains("edit-link") && !source.contains("delete-link"));
    let post = |body: &str| {
        format!(
            "const done = arguments[arguments.length - 1];
             fetch('{record_url}/edit', {{method: 'POST', body: new URLSearchParams({body}),
                    credentials: 'same-origin', redirect: 'manual'}})
               .then(r => done(r.status), e => done(String(e)));"
        )
    };
    let csrf = r
        .attr_of("form.signout input[name=csrf]", "value")
        .await
        .unwrap();
    let refused = r
        .execute_async(
            &post(&format!(
                "{{csrf: '{csrf}', 'title~en': 'Changed by a reader', 'title~original': 'en', \
                 kind: 'nap', status: 'in-force'}}"
            )),
            vec![],
        )
        .await;
    assert_eq!(refused, json!(403), "the reader's edit");
    let refused = b
        .execute_async(
            &post("{'title~en': 'Without a token', 'title~original': 'en'}"),
            vec![],
        )
        .await;
    assert_eq!(refused, json!(403), "an edit without the CSRF token");
    r.goto(&record_url).await;
    let shown = r.text().await;
    assert!(!shown.contains("Changed by a reader") && !shown.contains("Without a token"));

    // An expired session is sent to the sign-in page.
    let db = Connection::open(net.members[0].dir.path.join("focal.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute(
        "UPDATE web_sessions SET last_seen = last_seen - 7200 \
         WHERE user_id = (SELECT id FROM users WHERE name = 'esp-reader')",
        [],
    )
    .unwrap();
    r.goto("/records").await;
    r.wait_for_url("/login").await;
    r.wait_for_text("Your session has ended").await;
    r.screenshot("session-ended").await;

    // The sixth wrong password in a row is throttled.
    for _ in 0..5 {
        sign_in(&r, "esp-editor", "not the password").await;
        r.wait_for_text("The user name or password is not right")
            .await;
    }
    sign_in(&r, "esp-editor", PASSWORD).await;
    r.wait_for_text("Too many failed attempts").await;
    r.screenshot("sign-in-throttled").await;

    // On the secretariat's node: an admin suspends NAM through the page.
    tracker.goto("/admin/members").await;
    tracker.click("#suspend-NAM").await;
    let planned = tracker.wait_for("#planned").await.text().await.unwrap();
    assert!(planned.contains("NAM"), "{planned}");
    tracker.screenshot("admin-confirm-suspend").await;
    tracker.click("#confirm").await;
    tracker.wait_for("#readmit-NAM").await;
    tracker.goto("/views/directory").await;
    tracker
        .poll("NAM marked suspended in the directory", || async {
            let text = tracker.text().await;
            text.lines()
                .any(|l| l.contains("NAM") && l.contains("suspended"))
                .then_some(())
        })
        .await;
    tracker.screenshot("directory-suspended").await;

    // An editor of the secretariat cannot reach that page.
    let e = browser("sec-editor", "en", &sec).await;
    sign_in(&e, "sec-editor", PASSWORD).await;
    e.wait_for("h1").await;
    assert!(!e.page_source().await.contains("/admin/members"));
    e.goto("/admin/members").await;
    e.wait_for_text("Not allowed").await;
    assert!(!e.text().await.contains("Suspend"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_accessible_in_english_and_arabic() {
    let net = network();
    let esp = base(&net.members[0].dir.path);
    let sec = base(&net.secretariat.dir.path);
    // Records to show: a plan with a translation, and NAM's focal point.
    let plan = focal_ok(
        &net.members[0].conn(),
        &[
            "--json",
            "nap",
            "add",
            "--title",
            "Plan for the pages",
            "--kind",
            "nap",
            "--status",
            "in-force",
        ],
    );
    let plan: serde_json::Value = serde_json::from_str(plan.trim()).unwrap();
    let plan = plan["id"].as_str().unwrap().replace(':', "%3A");

    for lang in ["en", "ar"] {
        // A set-up link, in a real browser: the page, then the password.
        let out = focal_node(&[
            "user",
            "add",
            "--data",
            net.members[0].dir.path.to_str().unwrap(),
            &format!("carla-{lang}"),
            "--role",
            "reader",
        ]);
        assert!(out.status.success());
        let link = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a set-up link")
            .to_owned();
        let setup = browser(&format!("setup-{lang}"), lang, &esp).await;
        setup.goto(&format!("/lang/{lang}")).await;
        setup.goto(&link).await;
        setup.wait_for("input[name=confirm]").await;
        check(&setup, &format!("{lang}-setup")).await;
        setup.fill("password", "carla's long password").await;
        setup.fill("confirm", "carla's long password").await;
        setup.click("form.narrow button[type=submit]").await;
        setup.wait_for("section").await;
        assert!(setup.text().await.contains(&format!("carla-{lang}")));

        let b = browser(&format!("pages-{lang}"), lang, &esp).await;
        b.goto(&format!("/lang/{lang}")).await;
        b.goto("/login").await;
        b.wait_for("form.narrow").await;
        let dir = b.attr_of("html", "dir").await.unwrap_or_default();
        assert_eq!(dir, if lang == "ar" { "rtl" } else { "ltr" });
        check(&b, &format!("{lang}-login")).await;
        sign_in(&b, "esp-editor", PASSWORD).await;
        b.wait_for("section").await;
        for (name, path) in [
            ("home", "/".to_owned()),
            ("records", "/records".to_owned()),
            ("records-nap", "/records?type=nap".to_owned()),
            ("record", format!("/records/{plan}")),
            ("history", format!("/records/{plan}/history")),
            ("new-nap", "/records/new?type=nap".to_owned()),
            ("edit-nap", format!("/records/{plan}/edit")),
            ("delete-nap", format!("/records/{plan}/delete")),
            ("directory", "/views/directory".to_owned()),
            ("naps", "/views/naps".to_owned()),
            ("practices", "/views/practices".to_owned()),
            ("funding", "/views/funding".to_owned()),
            ("follow-up", "/views/follow-up".to_owned()),
            ("meetings", "/views/meetings".to_owned()),
            ("not-found", "/no/such/page".to_owned()),
        ] {
            b.goto(&format!("{esp}{path}")).await;
            b.wait_for("main h1").await;
            check(&b, &format!("{lang}-{name}")).await;
        }
        // A form with errors.
        b.goto(&format!("{esp}/records/new?type=nap")).await;
        b.click_text(if lang == "ar" { "حفظ" } else { "Save" })
            .await;
        b.wait_for("#error-summary").await;
        check(&b, &format!("{lang}-form-errors")).await;

        // The secretariat's membership pages.
        let s = browser(&format!("sec-{lang}"), lang, &sec).await;
        s.goto(&format!("/lang/{lang}")).await;
        sign_in(&s, "sec-admin", PASSWORD).await;
        s.wait_for("section").await;
        for (name, path) in [
            ("sec-home", "/"),
            ("admin-members", "/admin/members"),
            (
                "admin-confirm",
                "/admin/members/change?op=suspend&member=ESP",
            ),
        ] {
            s.goto(&format!("{sec}{path}")).await;
            s.wait_for("main h1").await;
            check(&s, &format!("{lang}-{name}")).await;
        }
    }
}

/// A screenshot, and no serious or critical axe violation.
async fn check(b: &Browser, name: &str) {
    b.screenshot(name).await;
    b.assert_no_serious_violations(name).await;
}
