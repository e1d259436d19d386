//! A focal point's contact details reach only its own member's nodes and
//! the secretariat's, on a real network (SEC, ESP, NAM): they travel in the
//! owner's `secretariat` log (a `focal-point-contact` companion record), so
//! another member's database holds them nowhere, not in a table, not in an
//! entry's bytes, not in the file. Documents written before the split are
//! migrated by their owner's node at start-up, and a network entry putting
//! contact details back into a migrated document is refused.
//!
//! All people and addresses here are invented.

use std::path::Path;

use automerge::{Author, Automerge, transaction::CommitOptions, transaction::Transactable};
use focal_node::{
    doc,
    engine::writer::project,
    identity::NodeKey,
    log::{Audience, EntryBody, LogEntry},
    store::documents::load_document,
};
use focal_tests::{NodeDir, TestNetwork, focal_ok, json, record_on, wait_until};
use rusqlite::{Connection, OpenFlags, params};
use serde_json::{Map, Value, json};

const EMAIL: &str = "lucia.contact@example.org";
const PHONE: &str = "+34 600 111 222";
const NEW_EMAIL: &str = "lucia.new-address@example.org";

/// `focal --json show ID` as JSON.
fn show(conn: &str, id: &str) -> Value {
    json(&focal_ok(conn, &["--json", "show", id]))
}

/// The directory entry of focal point `id` on a node (`focal --json view
/// directory`).
fn directory_entry(conn: &str, id: &str) -> Option<Value> {
    json(&focal_ok(conn, &["--json", "view", "directory"]))["entries"]
        .as_array()?
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
}

fn read_only(dir: &NodeDir) -> Connection {
    Connection::open_with_flags(
        dir.path.join("focal.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap()
}

/// Every value of every table of a node's database (through SQLite, so the
/// WAL of a running node included), as bytes.
fn every_value(dir: &NodeDir) -> Vec<(String, Vec<u8>)> {
    let conn = read_only(dir);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "log_entries"), "{tables:?}");
    let mut values = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let bytes = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        t.to_vec()
                    }
                    _ => continue,
                };
                values.push((table.clone(), bytes));
            }
        }
    }
    values
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The tables of a node's database holding `needle` somewhere.
fn tables_holding(dir: &NodeDir, needle: &str) -> Vec<String> {
    let mut tables: Vec<String> = every_value(dir)
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, needle))
        .map(|(table, _)| table)
        .collect();
    tables.dedup();
    tables
}

/// The JSON of a record as a node's projection stores it.
fn stored_json(dir: &NodeDir, id: &str) -> Option<Value> {
    read_only(dir)
        .query_row("SELECT json FROM records WHERE id = ?1", [id], |r| {
            r.get::<_, String>(0)
        })
        .ok()
        .map(|text| json(&text))
}

/// Signs a change of document `doc_id` (made by `edit`) into the next entry
/// of the network log of the (stopped) node in `dir`, with that node's key,
/// and stores entry, document and projection as the node would: what a node
/// that predates the split (or a misbehaving one) writes.
fn sign_into_network_log(
    dir: &Path,
    doc_id: &str,
    message: &str,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
) {
    let key = NodeKey::load_file(&dir.join("node.key")).unwrap();
    let conn = Connection::open(dir.join("focal.db")).unwrap();
    let mut document = load_document(&conn, doc_id)
        .unwrap()
        .map_or_else(Automerge::new, |(document, _)| document);
    document.set_author(Some(Author::from(key.id().0.to_vec())));
    let mut tx = document.transaction();
    edit(&mut tx);
    tx.commit_with(CommitOptions::default().with_message(message));
    let change = document
        .get_last_local_change()
        .unwrap()
        .raw_bytes()
        .to_vec();
    let (seq, prev): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = ?2
             ORDER BY seq DESC LIMIT 1",
            params![&key.id().0[..], Audience::Network.code()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let entry = EntryBody {
        origin: key.id(),
        audience: Audience::Network,
        seq: seq as u64 + 1,
        prev: focal_node::log::EntryHash(prev.try_into().unwrap()),
        doc_id: doc_id.to_owned(),
        changes: vec![change],
    }
    .sign(key.signing_key());
    let bytes = entry.encode();
    conn.execute(
        "INSERT INTO log_entries (origin, audience, seq, hash, doc_id, entry, stored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![
            &key.id().0[..],
            Audience::Network.code(),
            seq + 1,
            &LogEntry::hash_of(&bytes).0[..],
            doc_id,
            &bytes
        ],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO documents (doc_id, snapshot, pending) VALUES (?1, ?2, 0)
         ON CONFLICT (doc_id) DO UPDATE SET snapshot = excluded.snapshot, pending = 0",
        params![doc_id, document.save()],
    )
    .unwrap();
    conn.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [doc_id])
        .unwrap();
    project(
        &conn,
        doc_id,
        &doc::to_json(&document),
        &document.get_heads(),
    )
    .unwrap();
}

#[test]
fn contact_details_reach_only_the_owner_and_the_secretariat() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec = net.secretariat.conn();
    let esp = net.members[0].conn();
    let nam = net.members[1].conn();

    let created = json(&focal_ok(
        &esp,
        &[
            "--json",
            "focal-point",
            "add",
            "--name",
            "Lucía Ejemplo",
            "--posting",
            "capital",
            "--email",
            EMAIL,
            "--phone",
            PHONE,
        ],
    ));
    let id = created["id"].as_str().unwrap().to_owned();
    // The client sees what it wrote, as before the split.
    assert_eq!(created["contact"]["email"], EMAIL, "{created}");
    assert_eq!(created["contact"]["phone"], PHONE, "{created}");
    assert_eq!(created["contact_audience"], "secretariat", "{created}");
    assert_eq!(show(&esp, &id)["contact"]["email"], EMAIL);
    // The network document itself holds no contact details.
    let on_esp = stored_json(&net.members[0].dir, &id).unwrap();
    assert!(on_esp.get("contact").is_none(), "{on_esp}");

    wait_until("the contact details on the secretariat's node", || {
        record_on(&sec, &id).is_some_and(|r| r["contact"]["phone"] == PHONE)
    });
    assert_eq!(show(&sec, &id)["contact"]["email"], EMAIL);
    let entry = directory_entry(&sec, &id).unwrap();
    assert_eq!(entry["email"], EMAIL, "{entry}");
    assert_eq!(entry["phone"], PHONE, "{entry}");
    assert_eq!(entry["contact_withheld"], false, "{entry}");
    let entry = directory_entry(&esp, &id).unwrap();
    assert_eq!(entry["email"], EMAIL, "{entry}");

    // The companion is not a record of its own for clients.
    let listed = focal_ok(&esp, &["--json", "list", "--limit", "1000"]);
    assert!(!listed.contains("focal-point-contact"), "{listed}");
    let companion = id.replace(":focal-point:", ":focal-point-contact:");
    let refused = focal_tests::focal_at(&esp, &["edit", &companion, "--patch", "{}"]);
    assert!(!refused.status.success(), "{refused:?}");

    // An edit of the contact details (and of the title, so that NAM has
    // evidently caught up with the entry that carries it).
    focal_ok(
        &esp,
        &["edit", &id, "--email", NEW_EMAIL, "--title", "Director"],
    );
    assert_eq!(show(&esp, &id)["contact"]["email"], NEW_EMAIL);
    let history = json(&focal_ok(&esp, &["--json", "history", &id]));
    let fields: Vec<String> = history
        .as_array()
        .or_else(|| history["entries"].as_array())
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"contact.email".to_owned()) && fields.contains(&"title".to_owned()),
        "the owner's history shows the contact's changes too: {history}"
    );
    assert_eq!(
        show(&esp, &id)["contact"]["phone"],
        PHONE,
        "a partial edit keeps the rest of the contact details"
    );
    wait_until("the new e-mail on the secretariat's node", || {
        record_on(&sec, &id).is_some_and(|r| r["contact"]["email"] == NEW_EMAIL)
    });
    wait_until("the new title on NAM's node", || {
        record_on(&nam, &id).is_some_and(|r| r["title"] == "Director")
    });
    // A contact-only edit reaches the secretariat too; clients see the
    // focal point updated.
    let before = show(&esp, &id)["updated"].clone();
    focal_ok(&esp, &["edit", &id, "--phone", "+34 600 333 444"]);
    assert_ne!(show(&esp, &id)["updated"], before);
    wait_until("the new phone on the secretariat's node", || {
        record_on(&sec, &id).is_some_and(|r| r["contact"]["phone"] == "+34 600 333 444")
    });

    // NAM shows the focal point without contact details …
    let read = show(&nam, &id);
    assert!(read.get("contact").is_none(), "{read}");
    assert!(!focal_ok(&nam, &["show", &id]).contains("example.org"));
    let entry = directory_entry(&nam, &id).unwrap();
    assert_eq!(entry["email"], "", "{entry}");
    assert_eq!(entry["phone"], "", "{entry}");
    assert_eq!(entry["contact_withheld"], true, "{entry}");
    let table = focal_ok(&nam, &["view", "directory", "--member", "ESP"]);
    assert!(table.contains("(withheld)"), "{table}");
    // … because it holds them nowhere: no table, no entry's bytes.
    let nam_dir = &net.members[1].dir;
    for needle in [
        EMAIL,
        NEW_EMAIL,
        PHONE,
        "+34 600 333 444",
        "lucia.",
        "600 111",
    ] {
        assert_eq!(
            tables_holding(nam_dir, needle),
            Vec::<String>::new(),
            "NAM's database holds {needle:?}"
        );
    }
    let companions: i64 = read_only(nam_dir)
        .query_row(
            "SELECT count(*) FROM records WHERE type = 'focal-point-contact'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(companions, 0);
    // The secretariat and ESP do hold them.
    assert!(!tables_holding(&net.secretariat.dir, NEW_EMAIL).is_empty());
    assert!(!tables_holding(&net.members[0].dir, NEW_EMAIL).is_empty());

    // Deleting the focal point tombstones its contact details too.
    focal_ok(&esp, &["delete", &id]);
    wait_until(
        "the companion's tombstone on the secretariat's node",
        || stored_json(&net.secretariat.dir, &companion).is_some_and(|j| j["deleted"] == true),
    );

    // Stopped cleanly, NAM's database file (WAL checkpointed into it) has
    // them nowhere either, not even in free pages.
    net.member("NAM").stop();
    let file = std::fs::read(net.members[1].dir.path.join("focal.db")).unwrap();
    for needle in [EMAIL, NEW_EMAIL, PHONE] {
        assert!(!contains(&file, needle), "focal.db of NAM holds {needle:?}");
    }
}

#[test]
fn older_documents_are_migrated_and_contact_is_refused_in_the_network_log() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let sec = net.secretariat.conn();
    let nam = net.members[1].conn();
    // A record, so that ESP's network log has entries to chain to.
    let esp = net.members[0].conn();
    focal_ok(
        &esp,
        &[
            "member",
            "add",
            "--name",
            "Spain",
            "--region",
            "western-europe-others",
        ],
    );

    // A focal point written the old way: its contact details inside the
    // network document, signed by ESP's key while the node is stopped.
    let id = "ESP:focal-point:oldformataaa";
    net.member("ESP").stop();
    let old: Map<String, Value> = json!({
        "id": id, "type": "focal-point", "owner": "ESP", "visibility": "network",
        "created": "2026-01-05T10:00:00.000Z", "updated": "2026-01-05T10:00:00.000Z",
        "deleted": false, "member": "ESP", "person_name": "Ana Antigua", "posting": "capital",
        "contact": {"email": EMAIL, "phone": PHONE},
    })
    .as_object()
    .cloned()
    .unwrap();
    sign_into_network_log(
        &net.members[0].dir.path,
        id,
        "create: member, person_name, posting, contact",
        |tx| {
            for (key, value) in &old {
                doc::put(tx, &automerge::ROOT, key, value).unwrap();
            }
        },
    );
    net.member("ESP").start();
    let esp = net.members[0].conn();

    // ESP moved them out at start-up, once a peer confirmed its heads (the
    // move is signed: it waits for the start check): its document has none
    // and is marked; its clients still read them.
    wait_until("ESP to move the contact details out", || {
        stored_json(&net.members[0].dir, id).is_some_and(|j| j.get("contact").is_none())
    });
    let stored = stored_json(&net.members[0].dir, id).unwrap();
    assert!(stored.get("contact").is_none(), "{stored}");
    assert_eq!(stored["contact_audience"], "secretariat", "{stored}");
    assert_eq!(show(&esp, id)["contact"]["email"], EMAIL);
    assert!(
        net.members[0]
            .running()
            .log_text()
            .contains("contact details moved out of network documents"),
        "{}",
        net.members[0].running().log_text()
    );
    let history = focal_ok(&esp, &["--json", "history", id]);
    assert!(history.contains("migrate"), "{history}");

    // The secretariat reads them from the companion; NAM's current document
    // has none (it received the old entry, then the migration).
    wait_until(
        "the migrated contact details on the secretariat's node",
        || record_on(&sec, id).is_some_and(|r| r["contact"]["phone"] == PHONE),
    );
    wait_until("the migration on NAM's node", || {
        stored_json(&net.members[1].dir, id).is_some_and(|j| j["contact_audience"] == "secretariat")
    });
    let on_nam = stored_json(&net.members[1].dir, id).unwrap();
    assert!(on_nam.get("contact").is_none(), "{on_nam}");
    assert!(show(&nam, id).get("contact").is_none());
    // What ARCHITECTURE.md says: the old entry keeps them, and so does the
    // document's history (its pending changes, or its snapshot, which saves
    // every change); the projection clients and views read does not.
    let holding = tables_holding(&net.members[1].dir, EMAIL);
    assert!(holding.contains(&"log_entries".to_owned()), "{holding:?}");
    assert!(
        holding
            .iter()
            .all(|t| ["log_entries", "doc_changes", "documents"].contains(&t.as_str())),
        "{holding:?}"
    );

    // A restart migrates nothing twice.
    net.member("ESP").stop();
    net.member("ESP").start();
    assert!(
        !net.members[0]
            .running()
            .log_text()
            .contains("contact details moved out of network documents")
    );

    // A network entry putting contact details back into the migrated
    // document is refused by every receiver.
    const LEAK: &str = "leaked.again@example.org";
    net.member("ESP").stop();
    sign_into_network_log(&net.members[0].dir.path, id, "update: contact", |tx| {
        let contact = tx
            .put_object(&automerge::ROOT, "contact", automerge::ObjType::Map)
            .unwrap();
        tx.put(&contact, "email", LEAK).unwrap();
    });
    net.member("ESP").start();
    let refused = |dir: &NodeDir| -> bool {
        read_only(dir)
            .query_row(
                "SELECT count(*) FROM rejections WHERE reason LIKE '%never in the network log%'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    };
    wait_until("the secretariat's refusal", || {
        refused(&net.secretariat.dir)
    });
    wait_until("NAM's refusal", || refused(&net.members[1].dir));
    for dir in [&net.secretariat.dir, &net.members[1].dir] {
        assert_eq!(tables_holding(dir, LEAK), Vec::<String>::new());
        assert!(stored_json(dir, id).unwrap().get("contact").is_none());
    }
}

/// On the owner's node, clients see no difference: a watch reports the
/// focal point with its contact details (also when only they changed), and
/// an export carries them in `records.json` (the focal point's Automerge
/// file, its network document, does not) and imports back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_export_and_import_carry_the_contact_details() {
    use tokio_stream::StreamExt;
    let f = focal_tests::single_node("ESP");
    let client = focal_tests::client_for(&f.conn).await;
    let mut stream = client
        .records()
        .watch(focal_proto::v1::WatchRequest {
            r#type: "focal-point".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let id = json(&focal_ok(
        &f.conn,
        &[
            "--json",
            "focal-point",
            "add",
            "--name",
            "Ana Vigilada",
            "--posting",
            "capital",
            "--email",
            EMAIL,
        ],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    focal_ok(&f.conn, &["edit", &id, "--phone", PHONE]);
    let mut next = async || {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let record = event.record.unwrap();
        assert_eq!(record.id, id);
        (event.action, json(&record.json))
    };
    let (action, record) = next().await;
    assert_eq!(action, "created");
    assert_eq!(record["contact"], json!({"email": EMAIL}), "{record}");
    let (action, record) = next().await;
    assert_eq!(action, "updated");
    assert_eq!(
        record["contact"],
        json!({"email": EMAIL, "phone": PHONE}),
        "{record}"
    );

    let out = tempfile::tempdir().unwrap();
    let said = focal_ok(&f.conn, &["export", "--out", out.path().to_str().unwrap()]);
    assert!(said.contains("Exported 1 records"), "{said}");
    let records = json(&std::fs::read_to_string(out.path().join("records.json")).unwrap());
    assert_eq!(records[0]["contact"]["phone"], PHONE, "{records}");
    let file = out
        .path()
        .join("automerge")
        .join(format!("{}.automerge", id.replace(':', "_")));
    let document = Automerge::load(&std::fs::read(file).unwrap()).unwrap();
    assert!(!doc::to_json(&document).contains_key("contact"));

    let g = focal_tests::single_node("ESP");
    focal_ok(
        &g.conn,
        &["import", out.path().join("records.json").to_str().unwrap()],
    );
    let imported = focal_tests::records_on(&g.conn);
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(
        imported[0]["contact"],
        json!({"email": EMAIL, "phone": PHONE})
    );
}
