//! Token roles and the anchor chain's network, against real nodes.
//!
//! Issue 11, item 4: a token made for a dashboard administered the
//! network. Tokens now have a role (`reader`, `editor`, `admin`); only an
//! admin token may use `AdminService`, only an editor or admin token may
//! write records, and a refusal says which role is needed and which the
//! token has. Existing tokens become editors when the database migrates.
//!
//! Item 7: a roster change carrying a hand-over of the anchor key signed
//! for another network made ESP follow a new anchor and cut itself off
//! from the real secretariat. Such a hand-over is now ignored.

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use automerge::{Author, ROOT, ReadDoc as _, transaction::Transactable as _};
use focal_node::{
    handover::Handover,
    identity::{NodeId, NodeKey},
    log::{Audience, EntryBody, EntryHash},
    roster::ROSTER_ID,
    store::documents::load_document,
};
use focal_tests::{
    NodeDir, RunningNode, TestNetwork, assert_fails_with, connection_for, entry_count, focal_at,
    focal_node, focal_ok, json, record_on, single_node, wait_until,
};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest as _, Sha256};

fn read_only(db: &Path) -> Connection {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

/// The roster as the secretariat's admin sees it (`focal --json admin
/// roster`), and the secretariat's stored entries.
fn roster_and_entries(net: &TestNetwork) -> (serde_json::Value, i64) {
    let roster = json(&focal_ok(
        &net.secretariat.conn(),
        &["--json", "admin", "roster"],
    ));
    (roster, entry_count(&net.secretariat.dir))
}

#[test]
fn only_an_admin_token_administers_the_network() {
    let net = TestNetwork::start(&["ESP"], |_, _| {});
    let sec = &net.secretariat;
    let running = sec.running();
    let reader = connection_for(
        running,
        &sec.dir.token_with_role("dashboard", Some("reader")),
    );
    // No --role: the default, an editor.
    let editor = connection_for(running, &sec.dir.token_with_role("editor-laptop", None));
    let esp_key = hex::encode(net.members[0].dir.node_key);
    let newcomer = NodeKey::generate().unwrap().id().to_string();
    let (roster_before, entries_before) = roster_and_entries(&net);
    assert_eq!(roster_before["ESP"]["status"], "active");

    // Every command of item 4 (and the rest of `focal admin`), with each
    // role below admin.
    let commands: Vec<Vec<&str>> = vec![
        vec!["admin", "member", "suspend", "ESP"],
        vec!["admin", "key", "revoke", &esp_key],
        vec!["admin", "member", "remove", "ESP"],
        vec![
            "admin",
            "member",
            "add",
            "--member",
            "NAM",
            "--key",
            &newcomer,
            "--endpoint",
            "127.0.0.1:9",
        ],
        vec!["admin", "member", "readmit", "ESP"],
        vec!["admin", "member", "endpoints", "ESP", "127.0.0.1:9"],
        vec!["admin", "roster"],
        vec!["network", "peers"],
    ];
    for (conn, name, role) in [
        (&reader, "dashboard", "a reader"),
        (&editor, "editor-laptop", "an editor"),
    ] {
        for command in &commands {
            let out = focal_at(conn, command);
            assert_fails_with(&out, &format!("this token ({name}) is {role};"));
            assert_fails_with(&out, "needs an admin token");
            assert_fails_with(&out, "focal-node token create --name NAME --role admin");
        }
    }
    // Nothing changed: the roster, and not one entry signed.
    let (roster_after, entries_after) = roster_and_entries(&net);
    assert_eq!(roster_after, roster_before);
    assert_eq!(entries_after, entries_before);

    // The admin token (the harness's) does it.
    let admin = sec.conn();
    let out = focal_ok(&admin, &["admin", "member", "suspend", "ESP"]);
    assert!(out.contains("ESP"), "{out}");
    let roster = json(&focal_ok(&admin, &["--json", "admin", "roster"]));
    assert_eq!(roster["ESP"]["status"], "suspended");
    focal_ok(
        &admin,
        &[
            "admin",
            "member",
            "add",
            "--member",
            "NAM",
            "--key",
            &newcomer,
            "--endpoint",
            "127.0.0.1:9",
        ],
    );
    let roster = json(&focal_ok(&admin, &["--json", "admin", "roster"]));
    assert_eq!(roster["NAM"]["status"], "active");
    assert!(entry_count(&sec.dir) > entries_before);
}

#[test]
fn readers_read_editors_write_and_token_list_shows_roles() {
    // The harness's token here is an admin; make the two others.
    let f = single_node("NAM");
    let reader = connection_for(&f.node, &f.dir.token_with_role("dashboard", Some("reader")));
    let editor = connection_for(&f.node, &f.dir.token_with_role("desk", Some("editor")));
    let stored = entry_count(&f.dir);

    let add = [
        "--json",
        "practice",
        "add",
        "--kind",
        "best-practice",
        "--title",
        "Budget tagging",
        "--theme",
        "peacekeeping",
    ];
    let refused = focal_at(&reader, &add);
    assert_fails_with(
        &refused,
        "this token (dashboard) is a reader; creating (or importing) records needs an editor \
         or admin token: the node's operator creates one with `focal-node token create --name \
         NAME --role editor`",
    );
    assert_eq!(
        entry_count(&f.dir),
        stored,
        "a refused create stored nothing"
    );

    // An editor writes …
    let id = json(&focal_ok(&editor, &add))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    focal_ok(
        &editor,
        &["edit", &id, "--title", "Budget tagging, national"],
    );
    let written = entry_count(&f.dir);
    // … a reader reads, and may not edit or delete.
    assert_eq!(
        record_on(&reader, &id).unwrap()["title"]["en"]["text"],
        "Budget tagging, national"
    );
    focal_ok(&reader, &["show", &id]);
    focal_ok(&reader, &["history", &id]);
    focal_ok(&reader, &["view", "directory"]);
    let out_dir = tempfile::tempdir().unwrap();
    focal_ok(
        &reader,
        &["export", "--out", out_dir.path().to_str().unwrap()],
    );
    assert_fails_with(
        &focal_at(&reader, &["edit", &id, "--title", "Defaced"]),
        "this token (dashboard) is a reader; editing records needs an editor or admin token",
    );
    assert_fails_with(
        &focal_at(&reader, &["delete", &id]),
        "this token (dashboard) is a reader; deleting records needs an editor or admin token",
    );
    assert_eq!(entry_count(&f.dir), written);
    assert_eq!(
        record_on(&editor, &id).unwrap()["title"]["en"]["text"],
        "Budget tagging, national"
    );
    focal_ok(&editor, &["delete", &id]);
    assert_eq!(record_on(&reader, &id).unwrap()["deleted"], true);

    // `token list` shows each token's role.
    let out = focal_node(&["token", "list", "--data", f.dir.path.to_str().unwrap()]);
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    for (name, role) in [
        ("tests", "admin"),
        ("dashboard", "reader"),
        ("desk", "editor"),
    ] {
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listed}"));
        assert_eq!(line.split_whitespace().nth(1), Some(role), "{line}");
    }
    // An unknown role is refused by the command line, naming the roles.
    let out = focal_node(&[
        "token",
        "create",
        "--data",
        f.dir.path.to_str().unwrap(),
        "--name",
        "root",
        "--role",
        "root",
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("reader, editor, admin"), "{said}");
}

/// Copies a fixture data directory to a temporary one, with the modes a
/// node requires (git does not keep them).
fn copy_fixture(fixture: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o700)).unwrap();
    for (name, mode) in [
        ("node.key", 0o600),
        ("focal.db", 0o600),
        ("focal.toml", 0o644),
    ] {
        fs::copy(fixture.join(name), to.join(name)).unwrap();
        fs::set_permissions(to.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[test]
fn tokens_of_a_schema_v4_database_become_editors() {
    let fixture: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema-v4");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("v4");
    copy_fixture(&fixture, &data);
    // A token the schema-4 node had handed out: its tokens table, as that
    // version wrote it (name, hash, created; no role).
    let secret = format!("focal_{}", "42".repeat(32));
    let (node_key, version) = {
        let conn = Connection::open(data.join("focal.db")).unwrap();
        conn.execute(
            "INSERT INTO tokens (name, hash, created) VALUES ('old-dashboard', ?1, \
             '2026-01-01T00:00:00Z')",
            [&Sha256::digest(secret.as_bytes())[..]],
        )
        .unwrap();
        let key: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'node_key'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        (key, version)
    };
    assert_eq!(version, 4);
    let mut key = [0u8; 32];
    hex::decode_to_slice(&node_key, &mut key).unwrap();
    let mut node = RunningNode::start(data.clone(), key, &[]);
    let conn = format!("focal://{}?key={node_key}&token={secret}", node.addr);

    // It still works, as an editor: it reads and writes records …
    let before = focal_tests::records_on(&conn).len();
    assert!(before > 0, "the fixture holds records");
    let out = focal_ok(
        &conn,
        &[
            "--json",
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            "Written after the upgrade",
            "--theme",
            "peacekeeping",
        ],
    );
    assert!(json(&out)["id"].is_string());
    // … and is refused the administration.
    assert_fails_with(
        &focal_at(&conn, &["admin", "roster"]),
        "this token (old-dashboard) is an editor; reading the roster (`focal admin roster`) \
         needs an admin token",
    );
    assert!(node.terminate().success());
    let migrated: u32 = read_only(&data.join("focal.db"))
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(migrated, focal_node::store::SCHEMA_VERSION);
    // Every token the fixture held is an editor now.
    let out = focal_node(&["token", "list", "--data", data.to_str().unwrap()]);
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    let roles: Vec<(String, String)> = listed
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect();
    assert!(roles.len() >= 2, "{listed}");
    assert!(roles.iter().all(|(_, role)| role == "editor"), "{listed}");
    assert!(roles.iter().any(|(name, _)| name == "old-dashboard"));
}

/// The head of `origin`'s network log in a node's database.
fn network_head(conn: &Connection, origin: &NodeId) -> (u64, EntryHash) {
    conn.query_row(
        "SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = 0
         ORDER BY seq DESC LIMIT 1",
        [&origin.0[..]],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?)),
    )
    .map(|(seq, hash)| (seq, EntryHash(hash.try_into().unwrap())))
    .unwrap()
}

/// Entries of `origin` a node holds.
fn entries_of(dir: &NodeDir, origin: &NodeId) -> i64 {
    read_only(&dir.path.join("focal.db"))
        .query_row(
            "SELECT count(*) FROM log_entries WHERE origin = ?1",
            [&origin.0[..]],
            |r| r.get(0),
        )
        .unwrap()
}

/// Refusals a node recorded of entries signed by `origin`.
fn refusals_of(dir: &NodeDir, origin: &NodeId) -> i64 {
    read_only(&dir.path.join("focal.db"))
        .query_row(
            "SELECT count(*) FROM rejections WHERE origin = ?1",
            [origin.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}

/// `focal meeting add` (the secretariat's) of a one-day virtual meeting.
fn add_meeting(conn: &str, title: &str) -> String {
    let out = focal_ok(
        conn,
        &[
            "--json",
            "meeting",
            "add",
            "--kind",
            "virtual",
            "--title",
            title,
            "--start",
            "2026-05-04",
        ],
    );
    json(&out)["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_hand_over_signed_for_another_network_is_not_followed() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec_conn = net.secretariat.conn();
    let esp_conn = net.member("ESP").conn();
    // Everyone holds the roster with both members before NAM turns.
    let first = add_meeting(&sec_conn, "Before the forged hand-over");
    for code in ["ESP", "NAM"] {
        let conn = net.member(code).conn();
        wait_until(&format!("{code} to hold the first meeting"), || {
            record_on(&conn, &first).is_some()
        });
    }

    // NAM's operator turns hostile. It holds a hand-over that the real
    // anchor key signed, but for another network (the same key is the
    // anchor of a test network, say) to a key NAM controls, and relays a
    // roster change by that key carrying it, as if it were an honest relay.
    net.member("NAM").stop();
    let sec_key = NodeKey::load_file(&net.secretariat.dir.path.join("node.key")).unwrap();
    let sec_id = sec_key.id();
    let usurper = NodeKey::generate().unwrap();
    let nam_db = net.member("NAM").dir.path.join("focal.db");
    {
        let conn = Connection::open(&nam_db).unwrap();
        let this_network = net.secretariat.dir.network_id();
        let other_network = "0123456789abcdef0123456789abcdef".to_owned();
        assert_ne!(this_network, other_network);
        let handover = Handover::sign(
            sec_key.signing_key(),
            &other_network,
            "SEC",
            usurper.id(),
            network_head(&conn, &sec_id),
            (0, EntryHash::default()),
        );
        let (roster, _) = load_document(&conn, ROSTER_ID).unwrap().unwrap();
        // The secretariat's writer stores the roster in its current shape.
        assert_eq!(
            focal_node::doc::to_json(&roster)["schema"],
            focal_node::schema::ROSTER.current()
        );
        let mut forged = roster.fork();
        forged.set_author(Some(Author::from(usurper.id().0.to_vec())));
        let mut tx = forged.transaction();
        let handovers = tx
            .put_object(ROOT, "handovers", automerge::ObjType::Map)
            .unwrap();
        tx.put(&handovers, sec_id.to_string(), handover.to_hex())
            .unwrap();
        let hash = tx.commit().0.expect("the forged change");
        let change = forged
            .get_change_by_hash(&hash)
            .unwrap()
            .raw_bytes()
            .to_vec();
        let entry = EntryBody {
            origin: usurper.id(),
            audience: Audience::Network,
            seq: 1,
            prev: EntryHash::default(),
            doc_id: ROSTER_ID.to_owned(),
            changes: vec![change],
        }
        .sign(usurper.signing_key());
        let bytes = entry.encode();
        conn.execute(
            "INSERT INTO log_entries (origin, audience, seq, hash, doc_id, entry, stored_at)
             VALUES (?1, 0, 1, ?2, ?3, ?4, 0)",
            rusqlite::params![&usurper.id().0[..], &entry.hash().0[..], ROSTER_ID, &bytes],
        )
        .unwrap();
    }
    net.member("NAM").start();

    // ESP (which pulls from every member) and the secretariat receive the
    // roster change and refuse it: its key is not in the anchor chain of
    // this network.
    let esp_dir = &net.members[0].dir;
    wait_until("ESP to receive the forged roster change", || {
        refusals_of(esp_dir, &usurper.id()) > 0 || entries_of(esp_dir, &usurper.id()) > 0
    });
    assert_eq!(
        entries_of(esp_dir, &usurper.id()),
        0,
        "ESP stored the usurper's roster change: it follows a hand-over of another network"
    );
    assert!(refusals_of(esp_dir, &usurper.id()) > 0);
    assert_eq!(entries_of(&net.secretariat.dir, &usurper.id()), 0);
    let esp_roster = load_document(&read_only(&esp_dir.path.join("focal.db")), ROSTER_ID)
        .unwrap()
        .unwrap()
        .0;
    assert!(
        focal_node::doc::to_json(&esp_roster)
            .get("handovers")
            .is_none(),
        "ESP's roster holds no hand-over"
    );

    // ESP keeps replicating with the real secretariat, both ways.
    let second = add_meeting(&sec_conn, "After the forged hand-over");
    wait_until("ESP to hold the secretariat's next meeting", || {
        record_on(&esp_conn, &second).is_some()
    });
    let practice = focal_tests::add_practice(
        &esp_conn,
        "best-practice",
        "Written after the forged hand-over",
        "peacekeeping",
    );
    wait_until("the secretariat to hold ESP's practice", || {
        record_on(&sec_conn, &practice).is_some()
    });
    // And the secretariat's node still administers the network.
    focal_ok(&sec_conn, &["admin", "member", "suspend", "NAM"]);
    wait_until("ESP to learn NAM's suspension", || {
        json(&focal_ok(&esp_conn, &["--json", "admin", "roster"]))["NAM"]["status"] == "suspended"
    });
}
