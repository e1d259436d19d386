//! Operations, with real `focal-node` processes: an online backup taken
//! during a stream of writes restores to a node that verifies, converges and
//! never equivocates; restore refuses every bad input and changes nothing;
//! a restored secretariat recovers from its members the same way; a data
//! directory of every older schema version migrates and verifies;
//! the Prometheus endpoint serves well-formed text whose counters move.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::{Read as _, Write as _},
    net::TcpStream,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
};

use focal_tests::{
    NodeDir, RunningNode, TestNetwork, add_practice, assert_fails_with, connection_for, focal_node,
    focal_ok, records_on, single_node, wait_until,
};
use rusqlite::{Connection, OpenFlags};

use focal_tests::try_add_practice as practice;

fn read_only(db: &Path) -> Connection {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

/// The highest sequence number a node holds of `origin`'s network log.
fn head_of(dir: &NodeDir, origin: &[u8; 32]) -> i64 {
    read_only(&dir.path.join("focal.db"))
        .query_row(
            "SELECT coalesce(max(seq), 0) FROM log_entries WHERE origin = ?1 AND audience = 0",
            [&origin[..]],
            |r| r.get(0),
        )
        .unwrap()
}

/// (equivocations recorded, keys quarantined, refusals of `origin`'s entries).
fn misbehaviour_seen_by(dir: &NodeDir, origin: &[u8; 32]) -> (i64, i64, i64) {
    let conn = read_only(&dir.path.join("focal.db"));
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let refused: i64 = conn
        .query_row(
            "SELECT count(*) FROM rejections WHERE origin = ?1",
            [hex::encode(origin)],
            |r| r.get(0),
        )
        .unwrap();
    (
        count("SELECT count(*) FROM equivocations"),
        count("SELECT count(*) FROM quarantine"),
        refused,
    )
}

#[track_caller]
fn assert_verifies(dir: &NodeDir) -> String {
    let out = dir.verify();
    assert!(
        out.status.success(),
        "verify {} failed: {}",
        dir.path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// id → `updated` of every record a node holds.
fn records_by_id(conn: &str) -> BTreeMap<String, String> {
    records_on(conn)
        .into_iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["updated"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_backup_taken_during_writes_restores_and_the_node_never_equivocates() {
    let mut net = TestNetwork::start(&["ESP", "NAM"], |_, _| {});
    let esp_key = net.member("ESP").dir.node_key;
    let esp_conn = net.member("ESP").conn();
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("esp.focal-backup");

    // A stream of writes; the backup is taken in the middle of it, and the
    // stream goes on for a while after the backup is done.
    let written = Arc::new(AtomicUsize::new(0));
    let backed_up = Arc::new(AtomicBool::new(false));
    let stream = {
        let (conn, written, backed_up) = (esp_conn.clone(), written.clone(), backed_up.clone());
        thread::spawn(move || {
            let mut after = 0;
            for i in 0.. {
                add_practice(
                    &conn,
                    "best-practice",
                    &format!("Community early warning network {i}"),
                    "early-warning-preventive-diplomacy",
                );
                written.fetch_add(1, Ordering::SeqCst);
                if backed_up.load(Ordering::SeqCst) {
                    after += 1;
                    if after == 10 {
                        break;
                    }
                }
            }
        })
    };
    wait_until("some writes before the backup", || {
        written.load(Ordering::SeqCst) >= 8
    });
    let esp_data = net.member("ESP").dir.path.to_str().unwrap().to_owned();
    let out = focal_node(&[
        "backup",
        "--data",
        &esp_data,
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    backed_up.store(true, Ordering::SeqCst);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not the node key"));
    let mode = fs::metadata(&backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the backup file is private");
    stream.join().unwrap();

    // Everything ESP signed reached both peers.
    let head = head_of(&net.member("ESP").dir, &esp_key);
    wait_until(
        "the secretariat and NAM to hold all of ESP's entries",
        || {
            head_of(&net.secretariat.dir, &esp_key) == head
                && head_of(&net.member("NAM").dir, &esp_key) == head
        },
    );

    // Not while the node runs, and never over data without --replace.
    let restore = |replace: bool| {
        let mut args = vec![
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data",
            &esp_data,
        ];
        if replace {
            args.push("--replace");
        }
        focal_node(&args)
    };
    assert_fails_with(&restore(true), "in use by another focal-node");
    net.member("ESP").stop();
    assert_fails_with(&restore(false), "--replace");
    assert_eq!(head_of(&net.member("ESP").dir, &esp_key), head);

    let out = restore(true);
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("refuses local writes"), "{said}");
    assert!(said.contains("before-restore"), "{said}");
    let restored = head_of(&net.member("ESP").dir, &esp_key);
    assert!(
        restored >= 8 && restored < head,
        "the backup holds entries 1..{restored} of 1..{head}"
    );
    assert_verifies(&net.member("ESP").dir);

    // With no peer reachable, the restored node cannot know what it signed
    // after the backup: it must refuse to sign.
    net.secretariat.stop();
    net.member("NAM").stop();
    net.member("ESP").start();
    let refused = practice(&esp_conn, "Signed twice?");
    assert_fails_with(&refused, "restored from a backup");
    let esp_data_dir = net.member("ESP").dir.path.clone();
    wait_until("the status to say that writes are refused", || {
        let out = focal_node(&["status", "--data", esp_data_dir.to_str().unwrap()]);
        String::from_utf8_lossy(&out.stdout).contains("WRITES REFUSED")
    });
    assert_eq!(head_of(&net.member("ESP").dir, &esp_key), restored);

    // Peers back: it recovers its own later entries from them, then writes
    // again, after the highest sequence number the network has.
    net.secretariat.start();
    net.member("NAM").start();
    wait_until(
        "ESP to recover the entries it signed after the backup",
        || head_of(&net.member("ESP").dir, &esp_key) == head,
    );
    let mut last = None;
    let accepted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until("ESP to accept writes again", || {
            let out = practice(&esp_conn, "Written after recovery");
            let ok = out.status.success();
            last = Some(out);
            ok
        })
    }));
    if accepted.is_err() {
        panic!(
            "ESP still refuses writes: {}\n{}",
            String::from_utf8_lossy(&last.unwrap().stderr),
            net.member("ESP").running().log_text()
        );
    }
    assert_eq!(head_of(&net.member("ESP").dir, &esp_key), head + 1);

    // The network converges, and nobody ever saw two entries for one
    // sequence number (or a broken chain) from ESP.
    wait_until("the peers to receive ESP's new entry", || {
        head_of(&net.secretariat.dir, &esp_key) == head + 1
            && head_of(&net.member("NAM").dir, &esp_key) == head + 1
    });
    let conns: Vec<String> = net.all().map(|m| m.conn()).collect();
    wait_until("the three nodes to hold identical records", || {
        let all: Vec<_> = conns.iter().map(|c| records_by_id(c)).collect();
        all.windows(2).all(|w| w[0] == w[1])
    });
    for member in net.all() {
        assert_eq!(
            misbehaviour_seen_by(&member.dir, &esp_key),
            (0, 0, 0),
            "{} saw equivocation or refused ESP's entries:\n{}",
            member.dir.member,
            member.running().log_text()
        );
        assert_verifies(&member.dir);
    }
}

#[test]
fn restore_refuses_bad_input_and_changes_nothing() {
    let mut node = single_node("NAM");
    let data = node.dir.path.to_str().unwrap().to_owned();
    for i in 0..3 {
        add_practice(
            &node.conn,
            "lesson-learned",
            &format!("Women's situation rooms {i}"),
            "participation-peace-processes",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("nam.focal-backup");
    let backup_arg = backup.to_str().unwrap();
    let out = focal_node(&["backup", "--data", &data, "--to", backup_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_fails_with(
        &focal_node(&["backup", "--data", &data, "--to", backup_arg]),
        "exists already",
    );
    assert_fails_with(
        &focal_node(&[
            "restore",
            "--from",
            backup_arg,
            "--data",
            &data,
            "--replace",
        ]),
        "in use by another focal-node",
    );
    assert!(node.node.terminate().success());
    let before = focal_tests::entry_count(&node.dir);
    let files_before = fs::read_dir(&node.dir.path).unwrap().count();

    let refuse = |from: &Path, needle: &str| {
        assert_fails_with(
            &focal_node(&[
                "restore",
                "--from",
                from.to_str().unwrap(),
                "--data",
                &data,
                "--replace",
            ]),
            needle,
        );
    };
    let text = tmp.path().join("minutes.txt");
    fs::write(
        &text,
        "Minutes of the focal points meeting, not a backup at all.\n",
    )
    .unwrap();
    refuse(&text, "is not a focal-node backup");
    refuse(&tmp.path().join("missing.focal-backup"), "cannot read");
    refuse(&node.dir.path.join("focal.db"), "no `focal_backup` table");
    let truncated = tmp.path().join("truncated.focal-backup");
    let bytes = fs::read(&backup).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refuse(&truncated, "nothing was changed");
    let damaged = tmp.path().join("damaged.focal-backup");
    let mut bytes = bytes.clone();
    let page = 4096;
    for b in &mut bytes[2 * page..3 * page] {
        *b = !*b;
    }
    fs::write(&damaged, &bytes).unwrap();
    refuse(&damaged, "nothing was changed");
    // A well-formed SQLite file whose content was changed: only the check of
    // the signed logs and the records catches it.
    for (name, sql) in [
        (
            "forged-entry",
            // The last byte changed (to 0x00, or 0x01 if it was 0x00: a
            // signature ends in 0x00 once in 256 keys).
            "UPDATE log_entries SET entry = CAST(substr(entry, 1, length(entry) - 1) ||
                 CASE WHEN substr(entry, -1) = x'00' THEN x'01' ELSE x'00' END AS BLOB)
             WHERE id = (SELECT min(id) FROM log_entries)",
        ),
        (
            "forged-record",
            "UPDATE records SET json = json_set(json, '$.title', 'Forged')
             WHERE id = (SELECT min(id) FROM records)",
        ),
    ] {
        let forged = tmp.path().join(format!("{name}.focal-backup"));
        fs::copy(&backup, &forged).unwrap();
        Connection::open(&forged)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        refuse(&forged, "does not verify");
    }
    let other = NodeDir::init("ESP");
    let other_backup = tmp.path().join("esp.focal-backup");
    let out = focal_node(&[
        "backup",
        "--data",
        other.path.to_str().unwrap(),
        "--to",
        other_backup.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    refuse(&other_backup, "restores only with the key of the node");

    // Nothing changed: same files, same entries, still verifies.
    assert_eq!(focal_tests::entry_count(&node.dir), before);
    assert_eq!(fs::read_dir(&node.dir.path).unwrap().count(), files_before);
    assert_verifies(&node.dir);

    // Into a new directory: the key must be given, and it must match.
    let fresh = tmp.path().join("new-home");
    let fresh_arg = fresh.to_str().unwrap();
    assert_fails_with(
        &focal_node(&["restore", "--from", backup_arg, "--data", fresh_arg]),
        "pass --key",
    );
    assert_fails_with(
        &focal_node(&[
            "restore",
            "--from",
            backup_arg,
            "--data",
            fresh_arg,
            "--key",
            other.path.join("node.key").to_str().unwrap(),
        ]),
        "restores only with the key of the node",
    );
    let key = node.dir.path.join("node.key");
    let out = focal_node(&[
        "restore",
        "--from",
        backup_arg,
        "--data",
        fresh_arg,
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = NodeDir::existing(fresh.clone(), "NAM", node.dir.node_key);
    assert_verifies(&moved);
    // The backup holds entries of the node's own logs that travel: it may
    // have given later ones away (joined a network since), so it is fenced
    // even without a network in its configuration, until the operator
    // confirms.
    let token = moved.token("after-move");
    let running = RunningNode::start(fresh.clone(), node.dir.node_key, &[]);
    let conn = connection_for(&running, &token);
    assert_eq!(records_on(&conn).len(), 3);
    let refused = practice(&conn, "Written before confirming");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("restored from a backup"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = focal_node(&["resume-writes", "--data", fresh_arg, "--confirm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(practice(&conn, "Written in the new home").status.success());
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

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn a_data_directory_of_every_older_schema_migrates_and_verifies() {
    let current = focal_node::store::SCHEMA_VERSION;
    for version in 1..current {
        assert!(
            fixtures_dir()
                .join(format!("schema-v{version}/focal.db"))
                .exists(),
            "no fixture of schema version {version}: make it with \
             `tests/fixtures/make-fixture.sh REV` from a revision whose schema is {version} \
             (see tests/fixtures/README.md)"
        );
    }
    let mut tested = BTreeSet::new();
    for entry in fs::read_dir(fixtures_dir()).unwrap() {
        let fixture = entry.unwrap().path();
        let Some(version) = fixture
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("schema-v"))
            .and_then(|v| v.parse::<u32>().ok())
        else {
            continue;
        };
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join(format!("v{version}"));
        copy_fixture(&fixture, &data);
        let (found, node_key, records): (u32, String, Option<i64>) = {
            let conn = read_only(&data.join("focal.db"));
            (
                conn.query_row("PRAGMA user_version", [], |r| r.get(0))
                    .unwrap(),
                conn.query_row("SELECT value FROM meta WHERE key = 'node_key'", [], |r| {
                    r.get(0)
                })
                .unwrap(),
                conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                    .ok(),
            )
        };
        assert_eq!(
            found,
            version,
            "{} is of another version",
            fixture.display()
        );
        let mut key = [0u8; 32];
        hex::decode_to_slice(&node_key, &mut key).unwrap();
        let dir = NodeDir::existing(data.clone(), "ESP", key);

        // The node starts on it, migrates it, serves what it held, and
        // writes on top of it.
        let mut node = RunningNode::start(data.clone(), key, &[]);
        let conn = connection_for(&node, &dir.token("after-upgrade"));
        assert_eq!(records_on(&conn).len() as i64, records.unwrap_or(0));
        assert!(
            practice(&conn, "Written after the upgrade")
                .status
                .success(),
            "{}",
            node.log_text()
        );
        assert!(
            version == current || node.log_text().contains("database migrated"),
            "{}",
            node.log_text()
        );
        // The practices view counts from the summaries of migration 10:
        // those of the records held before, and of the one written after.
        let practices = records_on(&conn)
            .iter()
            .filter(|r| r["type"] == "practice" && r["deleted"] != true)
            .count() as u64;
        let view: serde_json::Value = serde_json::from_str(
            focal_ok(
                &conn,
                &["--json", "view", "practices", "--as-of", "2026-06-30"],
            )
            .trim(),
        )
        .unwrap();
        assert_eq!(view["total"].as_u64(), Some(practices), "{view}");
        assert!(practices >= 1);
        assert!(node.terminate().success());
        let migrated: u32 = read_only(&data.join("focal.db"))
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(migrated, current);
        let said = assert_verifies(&dir);
        assert!(said.starts_with("OK"), "{said}");
        tested.insert(version);
    }
    assert!(
        (1..current).all(|v| tested.contains(&v)),
        "tested {tested:?}"
    );
}

/// One scrape: the status line, the content type and the body.
fn scrape(addr: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

/// Parses the Prometheus text format strictly enough to catch a malformed
/// line: every sample's family has HELP and TYPE before it, names and
/// labels are well-formed, values are numbers. Returns sample → value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    let mut help = BTreeSet::new();
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').unwrap();
            assert!(is_name(name) && !doc.is_empty(), "bad HELP line: {line}");
            help.insert(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                is_name(name)
                    && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad TYPE line: {line}"
            );
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in: {line}")),
        };
        let name = match series.split_once('{') {
            None => series,
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels end with }");
                // label="value" pairs, values with \\ \" \n escapes only.
                let mut rest = labels;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
                    assert!(is_name(key), "bad label name in: {line}");
                    let mut chars = after.char_indices();
                    let mut end = None;
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                let (_, e) = chars.next().expect("escape");
                                assert!(matches!(e, '\\' | '"' | 'n'), "bad escape: {line}");
                            }
                            '"' => {
                                end = Some(i);
                                break;
                            }
                            _ => {}
                        }
                    }
                    let end = end.expect("label value ends");
                    rest = &after[end + 1..];
                    rest = rest.strip_prefix(',').unwrap_or(rest);
                }
                name
            }
        };
        assert!(is_name(name), "bad metric name: {line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            help.contains(family) && types.contains_key(family),
            "sample without HELP and TYPE before it: {line}"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate sample: {line}"
        );
    }
    samples
}

fn metrics_of(node: &RunningNode) -> BTreeMap<String, f64> {
    let addr = fs::read_to_string(node.data.join("focal-node.metrics-addr")).unwrap();
    let (status, content_type, body) = scrape(addr.trim(), "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_prometheus(&body)
}

fn sample(metrics: &BTreeMap<String, f64>, series: &str) -> f64 {
    metrics.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_are_served_and_count_accepted_and_refused_entries() {
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    // Metrics are off by default.
    assert!(
        !net.secretariat
            .dir
            .path
            .join("focal-node.metrics-addr")
            .exists()
    );
    net.secretariat.stop();
    net.secretariat
        .dir
        .set_config("# listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"");
    net.secretariat.start();
    let sec = || net.secretariat.running();
    let addr = fs::read_to_string(sec().data.join("focal-node.metrics-addr")).unwrap();
    let (status, _, _) = scrape(addr.trim(), "/nothing-here");
    assert!(status.contains("404"), "{status}");

    let received = "focal_entries_stored_total{source=\"received\"}";
    let before = sample(&metrics_of(sec()), received);
    let esp_conn = net.members[0].conn();
    let esp_data = net.members[0].dir.path.to_str().unwrap().to_owned();
    add_practice(
        &esp_conn,
        "best-practice",
        "Gender-responsive DDR",
        "peacekeeping",
    );
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("esp.focal-backup");
    let out = focal_node(&[
        "backup",
        "--data",
        &esp_data,
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for title in ["Second practice", "Third practice"] {
        add_practice(&esp_conn, "best-practice", title, "peacekeeping");
    }
    wait_until(
        "the secretariat's metrics to count ESP's three entries",
        || sample(&metrics_of(sec()), received) >= before + 3.0,
    );
    // ESP pulls from the secretariat too (after its restart, once its
    // back-off allows): its requests are counted by method, with latencies.
    wait_until("the secretariat to count ESP's gRPC requests", || {
        let metrics = metrics_of(sec());
        metrics
            .keys()
            .any(|k| k.starts_with("focal_grpc_requests_total{method=\"/focal.v1.PeerService/"))
            && metrics
                .keys()
                .any(|k| k.starts_with("focal_grpc_request_duration_seconds_bucket{"))
            && metrics
                .keys()
                .any(|k| k.starts_with("focal_peer_lag_seconds{"))
    });
    let metrics = metrics_of(sec());
    let peer_lines = |prefix: &str| metrics.keys().filter(|k| k.starts_with(prefix)).count();
    assert!(sample(&metrics, "focal_peers_connected") >= 1.0);
    assert!(peer_lines("focal_peer_lag_entries{") >= 1);
    assert!(peer_lines("focal_peer_lag_seconds{") >= 1);
    assert!(sample(&metrics, "focal_database_bytes{file=\"db\"}") > 0.0);
    assert_eq!(
        sample(
            &metrics,
            "focal_entries_rejected_total{reason=\"broken_chain\"}"
        ),
        0.0
    );

    // An operator forces writes on a restored node before it recovered:
    // `resume-writes` says loudly what that risks, and the secretariat
    // refuses what the node then signs, and counts it.
    let esp = &mut net.members[0];
    esp.stop();
    let out = focal_node(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        &esp_data,
        "--replace",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    net.secretariat.stop();
    let esp = &mut net.members[0];
    esp.start();
    assert_fails_with(&practice(&esp_conn, "Too early"), "restored from a backup");
    let out = focal_node(&["resume-writes", "--data", &esp_data]);
    assert_fails_with(&out, "--confirm");
    assert!(String::from_utf8_lossy(&out.stderr).contains("equivocation"));
    let out = focal_node(&["resume-writes", "--data", &esp_data, "--confirm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for title in ["Forked second", "Forked third", "Forked fourth"] {
        assert!(practice(&esp_conn, title).status.success());
    }
    net.secretariat.start();
    let sec = || net.secretariat.running();
    wait_until("the secretariat to refuse ESP's forked entries", || {
        let metrics = metrics_of(sec());
        sample(
            &metrics,
            "focal_entries_rejected_total{reason=\"broken_chain\"}",
        ) >= 1.0
            && metrics
                .iter()
                .any(|(k, v)| k.starts_with("focal_peer_entries_rejected_total{") && *v >= 1.0)
    });
}

/// The secretariat restored from a backup: its own log carries the roster,
/// which every member holds. It recovers its later entries from a member
/// before it signs again (and does not touch its roster entry meanwhile).
#[test]
fn a_restored_secretariat_recovers_from_its_members_before_writing() {
    let mut net = TestNetwork::start(&["NAM"], |_, _| {});
    let sec_key = net.secretariat.dir.node_key;
    let sec_conn = net.secretariat.conn();
    let sec_data = net.secretariat.dir.path.to_str().unwrap().to_owned();
    add_practice(
        &sec_conn,
        "best-practice",
        "Network-wide WPS training",
        "capacity-building",
    );
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("sec.focal-backup");
    let out = focal_node(&[
        "backup",
        "--data",
        &sec_data,
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 0..3 {
        add_practice(
            &sec_conn,
            "best-practice",
            &format!("Regional WPS exchange {i}"),
            "capacity-building",
        );
    }
    let head = head_of(&net.secretariat.dir, &sec_key);
    wait_until("NAM to hold every secretariat entry", || {
        head_of(&net.member("NAM").dir, &sec_key) == head
    });

    net.secretariat.stop();
    let out = focal_node(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        &sec_data,
        "--replace",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(head_of(&net.secretariat.dir, &sec_key) < head);
    net.member("NAM").stop();
    net.secretariat.start();
    assert_fails_with(&practice(&sec_conn, "Too early"), "restored from a backup");
    net.member("NAM").start();
    wait_until(
        "the secretariat to recover its own entries from NAM",
        || head_of(&net.secretariat.dir, &sec_key) == head,
    );
    wait_until("the secretariat to accept writes again", || {
        practice(&sec_conn, "After recovery").status.success()
    });
    assert_eq!(head_of(&net.secretariat.dir, &sec_key), head + 1);
    wait_until("NAM to receive it", || {
        head_of(&net.member("NAM").dir, &sec_key) == head + 1
    });
    for member in net.all() {
        assert_eq!(misbehaviour_seen_by(&member.dir, &sec_key), (0, 0, 0));
        assert_verifies(&member.dir);
    }
}
