//! Records through the real CLI and client against a real node: writes,
//! validation, concurrency, authentication, history, watch, export/import,
//! and `focal-node verify`.

use std::time::Duration;

use focal_proto::v1 as pb;
use focal_tests::{
    SingleNode, add_practice, assert_fails_with, client_for, entry_count, focal_at, focal_ok, json,
    single_node,
};

fn fixture(member: &str) -> SingleNode {
    single_node(member)
}

fn create_practice(conn: &str, title: &str) -> String {
    add_practice(conn, "best-practice", title, "climate-change")
}

#[test]
fn requests_without_a_valid_token_are_refused() {
    let f = fixture("ESP");
    let (base, _) = f.conn.split_once("&token=").unwrap();
    // One write with the valid token: what refused requests must not add to.
    focal_tests::add_practice(&f.conn, "best-practice", "Accepted", "peacekeeping");
    let stored = entry_count(&f.dir);
    assert_eq!(stored, 1);
    let write = [
        "practice",
        "add",
        "--kind",
        "best-practice",
        "--title",
        "Refused",
    ];
    let out = focal_at(base, &["list"]);
    assert_fails_with(&out, "no token");
    assert_fails_with(&focal_at(base, &write), "no token");
    let forged = format!("{base}&token=focal_{}", "0".repeat(64));
    assert_fails_with(&focal_at(&forged, &["list"]), "the token is not valid");
    assert_fails_with(&focal_at(&forged, &write), "the token is not valid");

    // Revocation takes effect on the next request, while the node runs.
    focal_ok(&f.conn, &["list"]);
    let out = focal_tests::focal_node(&[
        "token",
        "revoke",
        "--data",
        f.dir.path.to_str().unwrap(),
        "--name",
        "tests",
    ]);
    assert!(out.status.success());
    assert_fails_with(&focal_at(&f.conn, &["list"]), "the token is not valid");
    assert_fails_with(&focal_at(&f.conn, &write), "the token is not valid");
    // A refused request stored nothing.
    assert_eq!(entry_count(&f.dir), stored);
}

#[test]
fn create_show_edit_history_delete() {
    let f = fixture("NAM");
    let id = create_practice(&f.conn, "Gender-responsive budgeting in the NAP");
    assert!(id.starts_with("NAM:practice:"), "{id}");

    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert_eq!(shown["owner"], "NAM");
    assert_eq!(shown["themes"], serde_json::json!(["climate-change"]));
    assert_eq!(
        shown["title"]["en"]["text"],
        "Gender-responsive budgeting in the NAP"
    );
    assert_eq!(shown["title"]["en"]["original"], true);

    let table = focal_ok(&f.conn, &["show", &id]);
    assert!(
        table.contains("[en] (original) Gender-responsive budgeting in the NAP"),
        "{table}"
    );

    focal_ok(
        &f.conn,
        &["edit", &id, "--summary", "Budget lines tagged per pillar."],
    );
    focal_ok(
        &f.conn,
        &[
            "edit",
            &id,
            "--theme",
            "climate-change",
            "--theme",
            "capacity-building",
        ],
    );
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert_eq!(
        shown["summary"]["en"]["text"],
        "Budget lines tagged per pillar."
    );
    assert_eq!(
        shown["themes"],
        serde_json::json!(["climate-change", "capacity-building"])
    );

    let history = json(&focal_ok(&f.conn, &["--json", "history", &id]));
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["action"], "create");
    assert_eq!(history[1]["action"], "update");
    assert_eq!(history[1]["fields"], serde_json::json!(["summary"]));
    assert_eq!(history[2]["fields"], serde_json::json!(["themes"]));
    let info = json(&focal_ok(&f.conn, &["--json", "info"]));
    for change in history {
        assert_eq!(change["signer"], info["node_key"]);
        assert_eq!(change["member"], "NAM");
    }
    let seqs: Vec<u64> = history.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    let text = focal_ok(&f.conn, &["history", &id]);
    assert!(
        text.contains("update") && text.contains("summary"),
        "{text}"
    );

    focal_ok(&f.conn, &["delete", &id]);
    let listed = json(&focal_ok(&f.conn, &["--json", "practice", "list"]));
    assert_eq!(listed, serde_json::json!([]));
    let listed = json(&focal_ok(&f.conn, &["--json", "list", "--include-deleted"]));
    assert_eq!(listed[0]["deleted"], true);
    assert_fails_with(
        &focal_at(&f.conn, &["edit", &id, "--summary", "again"]),
        "was deleted",
    );
    let history = json(&focal_ok(&f.conn, &["--json", "history", &id]));
    assert_eq!(
        history.as_array().unwrap().len(),
        4,
        "the tombstone is in the history"
    );

    let out = f.dir.verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn list_filters_by_type_theme_status_and_text() {
    let f = fixture("JPN");
    create_practice(&f.conn, "Women mediators network");
    let second = create_practice(&f.conn, "Early warning with women's groups");
    focal_ok(
        &f.conn,
        &[
            "edit",
            &second,
            "--theme",
            "early-warning-preventive-diplomacy",
        ],
    );

    let by_theme = json(&focal_ok(
        &f.conn,
        &["--json", "list", "--theme", "climate-change"],
    ));
    assert_eq!(by_theme.as_array().unwrap().len(), 1);
    let by_text = json(&focal_ok(
        &f.conn,
        &["--json", "list", "--search", "MEDIATORS"],
    ));
    assert_eq!(by_text.as_array().unwrap().len(), 1);
    assert_eq!(by_text[0]["title"]["en"]["text"], "Women mediators network");
    let by_type = json(&focal_ok(&f.conn, &["--json", "nap", "list"]));
    assert_eq!(by_type, serde_json::json!([]));
    let table = focal_ok(&f.conn, &["practice", "list"]);
    assert!(
        table.contains("Women mediators network") && table.starts_with("ID"),
        "{table}"
    );
}

#[test]
fn invalid_input_is_refused_and_nothing_is_stored() {
    let f = fixture("ESP");
    let id = create_practice(&f.conn, "Baseline");
    let before = entry_count(&f.dir);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "practice",
                "add",
                "--kind",
                "best-practice",
                "--title",
                "x",
                "--theme",
                "climate",
            ],
            "themes[0]",
        ),
        (
            &[
                "practice",
                "add",
                "--kind",
                "best-practice",
                "--theme",
                "climate-change",
            ],
            "title",
        ),
        (
            &[
                "nap",
                "add",
                "--from-json",
                r#"{"kind":"nap","title":"x","status":"in-force","period":{"start":"2024-01-01","end":"2020-01-01"}}"#,
            ],
            "period.end",
        ),
        (
            &[
                "practice",
                "add",
                "--from-json",
                r#"{"kind":"best-practice","title":{"english":{"text":"x","original":true}},"themes":["peacekeeping"]}"#,
            ],
            "title",
        ),
        (
            &[
                "practice",
                "add",
                "--from-json",
                r#"{"kind":"best-practice","title":"x","themes":["peacekeeping"],"colour":"red"}"#,
            ],
            "colour",
        ),
        (
            &[
                "practice",
                "add",
                "--from-json",
                r#"{"kind":"best-practice","title":"x","themes":["peacekeeping"],"owner":"FRA"}"#,
            ],
            "owner",
        ),
        (
            &["meeting", "add", "--from-json", r#"{"kind":"virtual"}"#],
            "only the secretariat",
        ),
        (
            &["edit", &id, "--patch", r#"{"themes":["not-a-theme"]}"#],
            "themes[0]",
        ),
        (
            &["edit", "ESP:practice:aaaaaaaaaaaa", "--summary", "x"],
            "no record",
        ),
        (&["show", "ESP:practice:aaaaaaaaaaaa"], "no record"),
    ];
    for (args, needle) in cases {
        let out = focal_at(&f.conn, args);
        assert_fails_with(&out, needle);
    }
    assert_eq!(
        entry_count(&f.dir),
        before,
        "a refused write stored an entry"
    );
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert_eq!(shown["themes"], serde_json::json!(["climate-change"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_partial_updates_of_one_record_both_survive() {
    let f = fixture("NAM");
    let id = create_practice(&f.conn, "Shared record");
    // Two CLI processes at once, each changing a different field.
    let a = {
        let conn = f.conn.clone();
        let id = id.clone();
        std::thread::spawn(move || focal_at(&conn, &["edit", &id, "--summary", "From client A"]))
    };
    let b = {
        let conn = f.conn.clone();
        let id = id.clone();
        std::thread::spawn(move || focal_at(&conn, &["edit", &id, "--pillar", "prevention"]))
    };
    assert!(a.join().unwrap().status.success());
    assert!(b.join().unwrap().status.success());
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert_eq!(shown["summary"]["en"]["text"], "From client A");
    assert_eq!(shown["pillars"], serde_json::json!(["prevention"]));

    // And 32 clients at once through the library, each on its own field path
    // of a multilingual summary: every one survives.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let conn = f.conn.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let client = client_for(&conn).await;
            let lang = ["fr", "es", "ar", "ru", "zh", "pt", "de", "it"][i % 8];
            client
                .records()
                .update(pb::UpdateRequest {
                    id,
                    patch_json: serde_json::json!({ "summary": { lang: { "text": format!("{lang} text"), "original": false } } }).to_string(),
                    language: String::new(),
                })
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    for lang in ["fr", "es", "ar", "ru", "zh", "pt", "de", "it"] {
        assert_eq!(
            shown["summary"][lang]["text"],
            format!("{lang} text"),
            "{shown}"
        );
    }
    assert_eq!(shown["summary"]["en"]["text"], "From client A");
    assert_eq!(shown["pillars"], serde_json::json!(["prevention"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_committed_changes() {
    use tokio_stream::StreamExt;
    let f = fixture("ESP");
    let client = client_for(&f.conn).await;
    let mut stream = client
        .records()
        .watch(pb::WatchRequest {
            r#type: "practice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let id = create_practice(&f.conn, "Watched");
    focal_ok(&f.conn, &["delete", &id]);
    let first = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.action, "created");
    assert_eq!(first.record.unwrap().id, id);
    let second = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.action, "deleted");
}

#[test]
fn export_writes_json_and_standard_automerge_and_import_reads_it_back() {
    let f = fixture("ESP");
    let id = create_practice(&f.conn, "Exported practice");
    focal_ok(&f.conn, &["edit", &id, "--summary", "With a summary"]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = focal_ok(
        &f.conn,
        &["export", "--out", out_dir.path().to_str().unwrap()],
    );
    assert!(out.contains("Exported 1 records"), "{out}");

    let records = json(&std::fs::read_to_string(out_dir.path().join("records.json")).unwrap());
    assert_eq!(records[0]["id"], id.as_str());
    let file = out_dir
        .path()
        .join("automerge")
        .join(format!("{}.automerge", id.replace(':', "_")));
    let doc = automerge::Automerge::load(&std::fs::read(file).unwrap()).unwrap();
    let from_doc = serde_json::to_value(automerge::AutoSerde::from(&doc)).unwrap();
    assert_eq!(
        from_doc, records[0],
        "the Automerge file holds the same record"
    );

    // The member moves to a new node: it imports its records there.
    let g = fixture("ESP");
    let imported = focal_ok(
        &g.conn,
        &[
            "import",
            out_dir.path().join("records.json").to_str().unwrap(),
        ],
    );
    assert!(imported.contains("Imported 1 records"), "{imported}");
    let listed = json(&focal_ok(&g.conn, &["--json", "list"]));
    assert_eq!(listed[0]["owner"], "ESP");
    assert_ne!(
        listed[0]["id"],
        id.as_str(),
        "imported records are new records"
    );
    assert_eq!(listed[0]["summary"]["en"]["text"], "With a summary");

    // Bad files and bad items: each named, the good items imported, nothing
    // else stored.
    let bad = out_dir.path().join("bad.json");
    let import = |content: &str| {
        std::fs::write(&bad, content).unwrap();
        focal_at(&g.conn, &["import", bad.to_str().unwrap()])
    };
    let before = entry_count(&g.dir);
    assert_fails_with(&import("not json"), "records.json is not valid JSON");
    assert_fails_with(&import(r#"{"type": "practice"}"#), "JSON array of records");
    assert_fails_with(&import("[1]"), "item 0 is not a record object");
    assert_eq!(entry_count(&g.dir), before);
    let mixed = serde_json::json!([
        {"type": "practice", "kind": "best-practice", "title": "Imported among bad ones", "themes": ["peacekeeping"]},
        {"type": "nonsense", "title": "x"},
        {"type": "practice", "visibility": "public", "kind": "best-practice", "title": "y"},
    ]);
    let out = import(&mixed.to_string());
    assert_fails_with(&out, "2 records were not imported");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("item 1") && stderr.contains("is not a record type"),
        "{stderr}"
    );
    assert!(
        stderr.contains("item 2") && stderr.contains("is not one of network"),
        "{stderr}"
    );
    assert_eq!(entry_count(&g.dir), before + 1);
}

#[test]
fn verify_reports_tampering_precisely() {
    let f = fixture("ESP");
    let id = create_practice(&f.conn, "To be tampered with");
    focal_ok(&f.conn, &["edit", &id, "--summary", "second"]);
    let mut f = f;
    assert!(f.node.terminate().success());
    let out = f.dir.verify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 entries"));

    // Flip one byte inside the second entry's signed content.
    let db = rusqlite::Connection::open(f.dir.path.join("focal.db")).unwrap();
    let mut entry: Vec<u8> = db
        .query_row("SELECT entry FROM log_entries WHERE seq = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let at = entry.len() - 100;
    entry[at] ^= 1;
    db.execute("UPDATE log_entries SET entry = ?1 WHERE seq = 2", [&entry])
        .unwrap();
    drop(db);
    let out = f.dir.verify();
    assert_fails_with(&out, "log entry 2 of key");
    assert_fails_with(&out, "signature does not verify");

    // A projection edited behind the node's back is found too.
    let db = rusqlite::Connection::open(f.dir.path.join("focal.db")).unwrap();
    db.execute(
        "UPDATE log_entries SET entry = ?1 WHERE seq = 2",
        [&{
            entry[at] ^= 1;
            entry
        }],
    )
    .unwrap();
    db.execute("UPDATE records SET title = 'forged'", [])
        .unwrap();
    drop(db);
    assert_fails_with(&f.dir.verify(), "the projection row differs");
}

#[test]
fn edit_keeps_other_languages_clears_by_flag_name_and_takes_options_anywhere() {
    let f = fixture("ESP");
    let id = create_practice(&f.conn, "Mentoring for women officers");
    focal_ok(
        &f.conn,
        &[
            "edit",
            &id,
            "--evidence-link",
            "https://example.org/a",
            "--summary",
            "English summary",
        ],
    );
    // A French translation, with the option after the field flag.
    focal_ok(
        &f.conn,
        &[
            "edit",
            &id,
            "--title",
            "Mentorat des officières",
            "--lang",
            "fr",
        ],
    );
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert_eq!(shown["title"]["en"]["text"], "Mentoring for women officers");
    assert_eq!(shown["title"]["en"]["original"], true);
    assert_eq!(shown["title"]["fr"]["text"], "Mentorat des officières");
    assert_eq!(shown["title"]["fr"]["original"], false);

    // --clear takes the flag name (or the field name) and refuses others.
    focal_ok(
        &f.conn,
        &["edit", &id, "--summary", "Kept", "--clear", "evidence-link"],
    );
    let shown = json(&focal_ok(&f.conn, &["--json", "show", &id]));
    assert!(shown.get("evidence_links").is_none(), "{shown}");
    assert_eq!(shown["summary"]["en"]["text"], "Kept");
    assert_fails_with(
        &focal_at(&f.conn, &["edit", &id, "--clear", "colour"]),
        "a practice has no such field",
    );
    // An edit that changes nothing says so, and signs nothing.
    let before = entry_count(&f.dir);
    let out = focal_ok(&f.conn, &["edit", &id, "--summary", "Kept"]);
    assert!(out.starts_with("Unchanged"), "{out}");
    assert_eq!(entry_count(&f.dir), before);
}

#[test]
fn numbers_reach_the_node_and_a_member_has_one_profile() {
    let f = fixture("ESP");
    let out = focal_at(
        &f.conn,
        &[
            "funding",
            "add",
            "--donor",
            "ESP",
            "--recipient",
            "NAM",
            "--channel",
            "bilateral",
            "--kind",
            "financial",
            "--amount",
            "-100",
            "--currency",
            "EUR",
        ],
    );
    assert_fails_with(&out, "amount");
    assert_fails_with(&out, "negative");
    let out = focal_at(
        &f.conn,
        &[
            "funding",
            "add",
            "--donor",
            "ESP",
            "--recipient",
            "NAM",
            "--channel",
            "bilateral",
            "--kind",
            "financial",
            "--amount",
            "1.000,5",
            "--currency",
            "EUR",
        ],
    );
    assert_fails_with(&out, "without thousands separators");

    let first = json(&focal_ok(
        &f.conn,
        &["--json", "member", "add", "--name", "Kingdom of Example"],
    ));
    let out = focal_at(&f.conn, &["member", "add", "--name", "Second profile"]);
    assert_fails_with(&out, "already has a profile");
    assert_fails_with(&out, first["id"].as_str().unwrap());
}
