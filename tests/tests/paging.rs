//! Paging through a real node that holds many records and large ones: the
//! record list and every view follow their cursors to the end, each row once
//! and in order, while records are written; `focal export` streams every
//! record; records of about 2 MB cut pages by bytes instead of breaking the
//! 4 MiB message cap; a garbage or misplaced cursor is INVALID_ARGUMENT.
//!
//! The clients here keep tonic's default limit of 4 MiB per message received,
//! the node's default `server.max_message_bytes`: an answer over it fails the
//! call, as `focal list` failed before pages were cut by bytes.

use std::{
    collections::BTreeSet,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use focal_proto::v1::{self as pb, view_service_client::ViewServiceClient};
use focal_tests::{
    NodeDir, assert_fails_with, client_for, connection_for, focal_at, focal_ok, json,
};
use serde_json::{Value, json};

/// The day the views are judged on.
const AS_OF: &str = "2026-06-30";

/// Records of each kind seeded; with the meeting, 20,000.
const PRACTICES: usize = 8_000;
const FUNDING: usize = 4_000;
const FOCAL_POINTS: usize = 2_000;
const DECISIONS: usize = 2_000;
const REGISTRATIONS: usize = 2_000;
const STATEMENTS: usize = 1_999;

/// Creates in flight at once.
const WRITERS: usize = 16;

/// Members added to the roster besides the secretariat (the NAP tracker's
/// rows).
const MEMBERS: [&str; 5] = ["DEU", "ESP", "FRA", "KEN", "NAM"];

/// A record to create: its type and fields.
type Seed = (&'static str, Value);

/// The fields of the `n`th record of each kind (titles repeat, so that the
/// views' orders need their tie-breaking ids).
fn seeds(meeting: &str) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for n in 0..PRACTICES {
        seeds.push((
            "practice",
            json!({"title": format!("Practice {:03}", n % 700), "kind": "best-practice",
                   "themes": ["peacekeeping"]}),
        ));
    }
    for n in 0..FUNDING {
        seeds.push((
            "funding",
            json!({"title": format!("Commitment {n}"),
                   "donor": {"kind": "other", "name": format!("Donor {:02}", n % 40)},
                   "recipient": {"kind": "other", "name": format!("Recipient {:02}", n % 13)},
                   "channel": "bilateral", "kind": "technical", "amount": n, "currency": "EUR"}),
        ));
    }
    for n in 0..FOCAL_POINTS {
        let designation = ["primary", "alternate"][n % 2];
        seeds.push((
            "focal-point",
            json!({"person_name": format!("Person {:03}", n % 300), "posting": "capital",
                   "designation": designation}),
        ));
    }
    for n in 0..DECISIONS {
        // Every segment of the follow-up order: overdue, dated, undated.
        let status = ["open", "done", "in-progress", "dropped"][n % 4];
        let mut decision = json!({"meeting": meeting, "text": format!("Decision {n}"),
            "kind": "commitment", "responsible": "all-members", "status": status});
        if n % 5 != 0 {
            decision["due"] = json!(format!("20{:02}-0{}-15", 20 + n % 12, 1 + n % 9));
        }
        seeds.push(("decision", decision));
    }
    for n in 0..REGISTRATIONS {
        seeds.push((
            "registration",
            json!({"meeting": meeting, "delegates": [{"name": format!("Delegate {n}")}]}),
        ));
    }
    for n in 0..STATEMENTS {
        seeds.push((
            "statement",
            json!({"meeting": meeting, "speaker": format!("Speaker {n}"),
                   "text": format!("Statement {n}")}),
        ));
    }
    seeds
}

/// Creates `seeds` on the node at `conn`, `WRITERS` at a time; returns the
/// ids.
async fn create_all(conn: &str, seeds: Vec<Seed>) -> Vec<String> {
    let client = client_for(conn).await;
    let seeds = Arc::new(seeds);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (client, seeds, next) = (client.clone(), seeds.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some((kind, fields)) = seeds.get(n) else {
                    return ids;
                };
                let record = client
                    .records()
                    .create(pb::CreateRequest {
                        r#type: (*kind).to_owned(),
                        fields_json: fields.to_string(),
                        ..Default::default()
                    })
                    .await
                    .unwrap_or_else(|e| panic!("create {kind} {fields}: {e}"))
                    .into_inner();
                ids.push(record.id);
            }
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids
}

/// `focal --json view ARGS… --as-of AS_OF`.
fn view(conn: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json", "view"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--as-of", AS_OF]);
    json(&focal_ok(conn, &all))
}

/// The `key` of each row of `rows` (a JSON array).
fn column(rows: &Value, key: &str) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .map(|row| row[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts `ids` holds no id twice.
#[track_caller]
fn assert_unique(ids: &[String], what: &str) {
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: some rows came twice");
}

/// A practice written while pages are read.
fn meanwhile(n: usize) -> Vec<Seed> {
    vec![(
        "practice",
        json!({"title": format!("Written meanwhile {n}"), "kind": "lesson-learned",
               "themes": ["peacekeeping"]}),
    )]
}

/// Every page of the record list, `limit` a page, from the first, through
/// the client library; after each page, one more practice is written
/// (returned too), besides whatever else writes meanwhile.
async fn list_pages(
    client: &focal_client::Client,
    conn: &str,
    limit: u32,
) -> (Vec<pb::Record>, Vec<String>) {
    let mut request = pb::ListRequest {
        limit,
        ..Default::default()
    };
    let mut records = Vec::new();
    let mut written = Vec::new();
    loop {
        let page = client
            .records()
            .list(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(page.records.len() <= limit as usize);
        if request.after.is_empty() {
            assert!(page.total > 0, "the first page counts");
        } else {
            assert_eq!(page.total, 0, "only the first page counts");
        }
        records.extend(page.records);
        written.extend(create_all(conn, meanwhile(1_000_000 + written.len())).await);
        if page.next.is_empty() {
            return (records, written);
        }
        request.after = page.next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_thousand_records_page_through_the_list_every_view_and_the_export() {
    let dir = NodeDir::init_secretariat("paging");
    let conn = dir.token("tests");
    let admin = dir.token_with_role("admin", Some("admin"));
    let node = dir.start();
    let conn = connection_for(&node, &conn);
    let admin = connection_for(&node, &admin);
    // A few members, for the NAP tracker's rows (their nodes never run:
    // the secretariat's dials fail quietly).
    for (n, member) in MEMBERS.iter().enumerate() {
        let key = hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[n as u8 + 1; 32])
                .verifying_key()
                .to_bytes(),
        );
        focal_ok(
            &admin,
            &[
                "admin",
                "member",
                "add",
                "--member",
                member,
                "--key",
                &key,
                "--endpoint",
                "127.0.0.1:9",
            ],
        );
    }
    let meeting = json(&focal_ok(
        &conn,
        &[
            "--json",
            "meeting",
            "add",
            "--kind",
            "capital-annual",
            "--title",
            "Paging",
            "--start",
            "2026-04-20",
        ],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = create_all(&conn, seeds(&meeting)).await;
    assert_eq!(created.len() + 1, 20_000);

    // --- The record list, by the CLI: every page to the end, in order.
    let listed = json(&focal_ok(&conn, &["--json", "list"]));
    let ids = column(&listed, "id");
    assert_unique(&ids, "focal list");
    let ours: BTreeSet<&String> = created.iter().chain([&meeting]).collect();
    let listed_ids: BTreeSet<&String> = ids.iter().collect();
    assert!(ours.is_subset(&listed_ids), "focal list missed records");
    let keys: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["updated"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "newest change first, then by id"
    );
    // --limit stops it and says where to continue; --after continues.
    let out = focal_at(&conn, &["--json", "list", "--limit", "1500"]);
    assert!(out.status.success());
    let first = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(column(&first, "id"), ids[..1500]);
    let next = json(&String::from_utf8_lossy(&out.stderr))["next"]
        .as_str()
        .expect("the cursor of the rest")
        .to_owned();
    let rest = json(&focal_ok(&conn, &["--json", "list", "--after", &next]));
    assert_eq!(column(&rest, "id"), ids[1500..]);
    let table = focal_ok(&conn, &["practice", "list", "--limit", "10"]);
    assert!(
        table.contains(&format!("(10 of {PRACTICES} shown; continue with --after ")),
        "{table}"
    );

    // --- The same while records are written: nothing twice, and every
    // record that existed before is listed once.
    let client = client_for(&conn).await;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (conn, writing) = (conn.clone(), writing.clone());
        tokio::spawn(async move {
            let mut written = Vec::new();
            while writing.load(Ordering::Relaxed) || written.is_empty() {
                written.extend(create_all(&conn, meanwhile(written.len())).await);
            }
            written
        })
    };
    let (during, mut written) = list_pages(&client, &conn, 1_000).await;
    let practices_during = tokio::task::spawn_blocking({
        let conn = conn.clone();
        move || view(&conn, &["practices"])
    })
    .await
    .unwrap();
    writing.store(false, Ordering::Relaxed);
    written.extend(writer.await.unwrap());
    let during_ids: Vec<String> = during.iter().map(|r| r.id.clone()).collect();
    assert_unique(&during_ids, "list while writing");
    let during_set: BTreeSet<&String> = during_ids.iter().collect();
    assert!(
        listed_ids.is_subset(&during_set),
        "list while writing skipped records"
    );
    let practice_ids = column(&practices_during["practices"], "id");
    assert_unique(&practice_ids, "practices view while writing");
    let practice_set: BTreeSet<&String> = practice_ids.iter().collect();
    for id in created.iter().filter(|id| id.contains(":practice:")) {
        assert!(practice_set.contains(id), "the practices view skipped {id}");
    }

    // --- Every view, by the CLI in pages of 1,000, against one answer of
    // up to 10,000 rows: the same rows in the same order.
    let mut views = ViewServiceClient::with_interceptor(client.channel(), client.token());
    let whole = pb::ViewRequest {
        as_of: AS_OF.into(),
        limit: 10_000,
        ..Default::default()
    };
    let one = views.practices(whole.clone()).await.unwrap().into_inner();
    assert!(one.next.is_empty());
    let practices = view(&conn, &["practices"]);
    let paged = column(&practices["practices"], "id");
    assert_eq!(paged.len(), PRACTICES + written.len());
    assert_eq!(
        paged,
        one.practices
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(practices["total"], (PRACTICES + written.len()) as u64);
    assert_eq!(practices["next"], "", "followed to the end");
    let titles: Vec<(String, String)> = practices["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["title"].as_str().unwrap().into(),
                p["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(titles.windows(2).all(|w| w[0] < w[1]), "by title, then id");

    let one = views.funding(whole.clone()).await.unwrap().into_inner();
    let funding = view(&conn, &["funding"]);
    let paged = column(&funding["commitments"], "id");
    assert_eq!(paged.len(), FUNDING);
    assert_unique(&paged, "funding");
    assert_eq!(
        paged,
        one.commitments
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(funding["totals"][0]["commitments"], FUNDING as u64);

    let one = views.directory(whole.clone()).await.unwrap().into_inner();
    let directory = view(&conn, &["directory"]);
    let paged = column(&directory["entries"], "id");
    assert_eq!(paged.len(), FOCAL_POINTS);
    assert_unique(&paged, "directory");
    assert_eq!(
        paged,
        one.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );

    let one = views.follow_up(whole.clone()).await.unwrap().into_inner();
    let follow_up = view(&conn, &["follow-up"]);
    let paged = column(&follow_up["decisions"], "id");
    assert_eq!(paged.len(), DECISIONS);
    assert_unique(&paged, "follow-up");
    assert_eq!(
        paged,
        one.decisions
            .iter()
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    );
    let overdue: Vec<bool> = follow_up["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["overdue"].as_bool().unwrap())
        .collect();
    assert!(overdue.contains(&true) && overdue.contains(&false));
    assert!(overdue.windows(2).all(|w| w[0] >= w[1]), "overdue first");

    let meeting_view = view(&conn, &["meeting", &meeting]);
    let registrations = column(&meeting_view["registrations"], "id");
    let statements = column(&meeting_view["statements"], "id");
    assert_eq!(registrations.len(), REGISTRATIONS);
    assert_eq!(statements.len(), STATEMENTS);
    assert_unique(&registrations, "registrations");
    assert_unique(&statements, "statements");
    assert_eq!(
        meeting_view["summary"]["registrations"],
        REGISTRATIONS as u64
    );
    assert_eq!(meeting_view["summary"]["statements"], STATEMENTS as u64);

    // The NAP tracker pages by member.
    let naps = view(&conn, &["naps", "--limit", "2"]);
    assert_eq!(column(&naps["members"], "member"), MEMBERS[..2]);
    let mut members = column(&naps["members"], "member");
    let mut next = naps["next"].as_str().unwrap().to_owned();
    while !next.is_empty() {
        let page = view(&conn, &["naps", "--limit", "2", "--after", &next]);
        members.extend(column(&page["members"], "member"));
        next = page["next"].as_str().unwrap().to_owned();
    }
    assert_eq!(members, MEMBERS);
    assert_eq!(
        column(&view(&conn, &["naps"])["members"], "member"),
        MEMBERS
    );

    // The CSV of a view pages too: one header, every row.
    let csv = focal_ok(&conn, &["view", "practices", "--csv", "--as-of", AS_OF]);
    assert_eq!(csv.matches("member,standing,region").count(), 1);
    assert_eq!(
        csv.split("\r\n").filter(|l| !l.is_empty()).count(),
        1 + PRACTICES + written.len()
    );

    // --- A garbage cursor, and a cursor of another listing: refused.
    let err = client
        .records()
        .list(pb::ListRequest {
            after: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("not one this node gave"), "{err}");
    assert_fails_with(
        &focal_at(&conn, &["list", "--after", "!!not-a-cursor!!"]),
        "the cursor (`after`) is not one this node gave",
    );
    assert_fails_with(
        &focal_at(&conn, &["view", "practices", "--after", &next_of(&conn)]),
        "continues the record list, not the practices view",
    );
    assert_fails_with(
        &focal_at(&conn, &["practice", "list", "--after", &next_of(&conn)]),
        "was given for other filters",
    );
    let err = views
        .funding(pb::ViewRequest {
            after: "A".repeat(70_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("longer than any this node gives"),
        "{err}"
    );

    // --- The export streams every record of the member.
    let out = tempfile::tempdir().unwrap();
    let said = focal_ok(&conn, &["export", "--out", out.path().to_str().unwrap()]);
    let exported = json(&std::fs::read_to_string(out.path().join("records.json")).unwrap());
    let exported_ids = column(&exported, "id");
    assert_unique(&exported_ids, "export");
    let exported_set: BTreeSet<&String> = exported_ids.iter().collect();
    assert!(
        listed_ids.is_subset(&exported_set),
        "the export missed records"
    );
    assert!(
        said.contains(&format!("Exported {} records", exported_ids.len())),
        "{said}"
    );
    let documents = std::fs::read_dir(out.path().join("automerge"))
        .unwrap()
        .count();
    assert_eq!(documents, exported_ids.len());
    assert!(!out.path().join("records.json.partial").exists());
}

/// The cursor of a first page of one record of the record list.
fn next_of(conn: &str) -> String {
    let out = focal_at(conn, &["--json", "list", "--limit", "1"]);
    assert!(out.status.success());
    json(&String::from_utf8_lossy(&out.stderr))["next"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// 2.4 MB of text that compresses little (printable ASCII that JSON does
/// not escape): with its Automerge document (deflated, about 2 MB), more
/// than one 4 MiB message.
fn big_text(seed: u64) -> String {
    let alphabet: Vec<u8> = (b' '..=b'~').filter(|c| !b"\"\\".contains(c)).collect();
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..2_400_000)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(alphabet[(state >> 33) as usize % alphabet.len()])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_two_megabytes_cut_pages_by_bytes_and_export_in_parts() {
    let dir = NodeDir::init("ESP");
    // Records of 2.2 MB: the writer's limits raised (the message cap is not).
    dir.set_config(
        "# max_record_json_bytes = 1048576",
        "max_record_json_bytes = 3000000",
    );
    dir.set_config("# max_text_bytes = 20000", "max_text_bytes = 2500000");
    let conn = dir.token("tests");
    let node = dir.start();
    let conn = connection_for(&node, &conn);
    let mut seeds: Vec<Seed> = Vec::new();
    for n in 0..3 {
        seeds.push((
            "practice",
            json!({"title": format!("Large {n}"), "kind": "best-practice",
                   "themes": ["peacekeeping"], "summary": big_text(n)}),
        ));
    }
    for n in 0..5 {
        seeds.push((
            "practice",
            json!({"title": format!("Small {n}"), "kind": "best-practice",
                   "themes": ["peacekeeping"]}),
        ));
    }
    let created = create_all(&conn, seeds).await;

    // Each page holds what fits in 4 MiB (the client's default limit
    // would refuse more), at least one record; the pages cover them all.
    let client = client_for(&conn).await;
    let mut request = pb::ListRequest {
        limit: 100,
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = client
            .records()
            .list(request.clone())
            .await
            .unwrap_or_else(|e| panic!("page {}: {e}", pages.len()))
            .into_inner();
        assert!(!page.records.is_empty());
        pages.push(
            page.records
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>(),
        );
        if page.next.is_empty() {
            break;
        }
        request.after = page.next;
    }
    assert!(
        pages.len() >= 3,
        "three large records take three pages: {pages:?}"
    );
    let all: Vec<String> = pages.concat();
    assert_unique(&all, "pages");
    assert_eq!(
        all.iter().collect::<BTreeSet<_>>(),
        created.iter().collect::<BTreeSet<_>>()
    );
    // The CLI follows them.
    let listed = json(&focal_ok(&conn, &["--json", "list"]));
    assert_eq!(column(&listed, "id"), all);

    // The export sends each large document with its record in parts.
    let out = tempfile::tempdir().unwrap();
    focal_ok(&conn, &["export", "--out", out.path().to_str().unwrap()]);
    let exported = json(&std::fs::read_to_string(out.path().join("records.json")).unwrap());
    assert_eq!(exported.as_array().unwrap().len(), created.len());
    // Records whose JSON and document do not fit in one message together.
    let mut in_parts = 0;
    for record in exported.as_array().unwrap() {
        let id = record["id"].as_str().unwrap();
        let file = out
            .path()
            .join("automerge")
            .join(format!("{}.automerge", id.replace(':', "_")));
        if std::fs::metadata(&file).unwrap().len() as usize + record.to_string().len() > 4 << 20 {
            in_parts += 1;
        }
        let doc = automerge::Automerge::load(&std::fs::read(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        check_document(&doc, record, Path::new(&file));
    }
    assert_eq!(in_parts, 3, "the large records came in parts");

    // A view of them pages too (its rows are small: no text).
    let practices = view(&conn, &["practices"]);
    assert_eq!(column(&practices["practices"], "id").len(), created.len());
}

/// The exported document holds the record's summary, whole.
fn check_document(doc: &automerge::Automerge, record: &Value, file: &Path) {
    use automerge::ReadDoc as _;
    let summary = record["summary"]["en"]["text"].as_str();
    let Some(expected) = summary else {
        return;
    };
    let (_, summary) = doc
        .get(automerge::ROOT, "summary")
        .unwrap()
        .unwrap_or_else(|| panic!("{}: no summary", file.display()));
    let (_, en) = doc.get(&summary, "en").unwrap().unwrap();
    let (text, _) = doc.get(&en, "text").unwrap().unwrap();
    assert_eq!(
        text.as_str().map(str::len),
        Some(expected.len()),
        "{}: the summary's text",
        file.display()
    );
}

#[test]
fn a_schema_7_data_directory_migrates_to_the_indexes_and_pages() {
    use std::os::unix::fs::PermissionsExt as _;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schema-v7");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("v7");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    for (name, mode) in [
        ("node.key", 0o600),
        ("focal.db", 0o600),
        ("focal.toml", 0o644),
    ] {
        std::fs::copy(fixture.join(name), data.join(name)).unwrap();
        std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let db = data.join("focal.db");
    let (records, key): (i64, String) = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 7);
        (
            conn.query_row(
                "SELECT count(*) FROM records WHERE type <> 'focal-point-contact'",
                [],
                |r| r.get(0),
            )
            .unwrap(),
            conn.query_row("SELECT value FROM meta WHERE key = 'node_key'", [], |r| {
                r.get(0)
            })
            .unwrap(),
        )
    };
    assert!(records >= 2, "the fixture holds records");
    let mut node_key = [0u8; 32];
    hex::decode_to_slice(&key, &mut node_key).unwrap();
    let dir = NodeDir::existing(data.clone(), "ESP", node_key);
    let token = dir.token("paging");
    let mut node = dir.start();
    let conn = connection_for(&node, &token);
    // One record a page, to the end.
    let mut ids = Vec::new();
    let mut after = None::<String>;
    loop {
        let mut args = vec!["--json", "list", "--limit", "1"];
        if let Some(after) = &after {
            args.extend(["--after", after.as_str()]);
        }
        let out = focal_at(&conn, &args);
        assert!(out.status.success(), "{out:?}");
        ids.extend(column(&json(&String::from_utf8_lossy(&out.stdout)), "id"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        match stderr.trim() {
            "" => break,
            next => after = json(next)["next"].as_str().map(str::to_owned),
        }
    }
    assert_eq!(ids.len() as i64, records);
    assert_unique(&ids, "the migrated list");
    assert!(node.terminate().success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, focal_node::store::SCHEMA_VERSION);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for index in [
        "records_updated",
        "records_type_updated",
        "records_owner_updated",
        "records_owner_created",
        "records_directory",
        "records_practices",
        "records_funding",
        "records_decisions",
        "records_follow_ups",
        "records_registrations",
        "records_statements",
    ] {
        assert!(indexes.iter().any(|i| i == index), "{index} in {indexes:?}");
    }
    assert!(!indexes.iter().any(|i| i == "records_type"), "replaced");
}
