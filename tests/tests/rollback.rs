//! Forks prevented at the source, with real `focal-node` processes: a
//! backup file copied in as the database is refused by `run` (and restored
//! by the command it names); a data directory rolled back to an older copy
//! and started cut off from its peers signs nothing, then, once a peer
//! answers, fences itself, pulls its own later entries back and continues
//! after the network's highest sequence number, without any equivocation;
//! a member restarted with its peers up writes at once (the first write
//! waits for the start check, within its bound).

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use focal_tests::{NodeDir, TestNetwork, assert_fails_with, focal_node, single_node, wait_until};
use rusqlite::{Connection, OpenFlags};

use focal_tests::try_add_practice as practice;

#[track_caller]
fn write(conn: &str, title: &str) {
    let out = practice(conn, title);
    assert!(
        out.status.success(),
        "writing {title:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_only(db: &Path) -> Connection {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
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

/// Entries of `origin` (every audience) a node holds.
fn entries_of(dir: &NodeDir, origin: &[u8; 32]) -> i64 {
    read_only(&dir.path.join("focal.db"))
        .query_row(
            "SELECT count(*) FROM log_entries WHERE origin = ?1",
            [&origin[..]],
            |r| r.get(0),
        )
        .unwrap()
}

/// (equivocations recorded, keys quarantined).
fn equivocations_seen_by(dir: &NodeDir) -> (i64, i64) {
    let conn = read_only(&dir.path.join("focal.db"));
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    (
        count("SELECT count(*) FROM equivocations"),
        count("SELECT count(*) FROM quarantine"),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::metadata(from).unwrap().permissions()).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_backup_file_copied_in_as_the_database_is_refused_by_run() {
    let mut single = single_node("ESP");
    write(&single.conn, "Before the backup");
    let data = single.dir.path.clone();
    let backup = data.with_extension("focal-backup");
    let out = focal_node(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(single.node.terminate().success());

    // The operator's shortcut: the backup file as the database.
    let db = data.join("focal.db");
    for sidecar in ["focal.db-wal", "focal.db-shm"] {
        let _ = fs::remove_file(data.join(sidecar));
    }
    fs::copy(&backup, &db).unwrap();
    let before = fs::read(&db).unwrap();
    let out = focal_node(&["run", "--data", data.to_str().unwrap()]);
    let command = format!(
        "focal-node restore --from {} --data {} --replace",
        db.display(),
        data.display()
    );
    assert_fails_with(&out, "is a backup file made by `focal-node backup`");
    assert_fails_with(&out, &command);
    assert_eq!(fs::read(&db).unwrap(), before, "the file is unchanged");
    assert!(!data.join("focal.db-wal").exists());

    // The command it names installs it (the file kept aside); then it runs.
    let out = focal_node(&[
        "restore",
        "--from",
        db.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--replace",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let aside = fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("focal.db.before-restore-")
        })
        .expect("the backup file is kept aside");
    assert_eq!(fs::read(aside.path()).unwrap(), before);
    let mut node = single.dir.start();
    assert!(node.terminate().success());
}

#[test]
fn a_rolled_back_directory_started_cut_off_signs_nothing_then_recovers() {
    let mut net = TestNetwork::start(&["ESP"], |_, dir| {
        // A short bound keeps the test quick.
        dir.set_config("# start_check_ms = 10000", "start_check_ms = 2000");
    });
    let esp_key = net.member("ESP").dir.node_key;
    let esp_conn = net.member("ESP").conn();
    for title in ["First", "Second"] {
        write(&esp_conn, title);
    }
    let esp_dir = net.member("ESP").dir.path.clone();
    let copy = esp_dir.with_extension("snapshot");

    // A snapshot of the stopped node; then it goes on and signs more,
    // which reaches the secretariat.
    net.member("ESP").stop();
    copy_dir(&esp_dir, &copy);
    let snapshot_head = head_of(&net.member("ESP").dir, &esp_key);
    let snapshot_entries = entries_of(&net.member("ESP").dir, &esp_key);
    net.member("ESP").start();
    let esp_conn = net.member("ESP").conn();
    for title in ["Third", "Fourth", "Fifth"] {
        write(&esp_conn, title);
    }
    let head = head_of(&net.member("ESP").dir, &esp_key);
    assert!(head > snapshot_head);
    wait_until("the secretariat to hold ESP's later entries", || {
        head_of(&net.secretariat.dir, &esp_key) == head
    });

    // The snapshot put back, started while its only peer is down.
    net.member("ESP").stop();
    net.secretariat.stop();
    fs::remove_dir_all(&esp_dir).unwrap();
    fs::rename(&copy, &esp_dir).unwrap();
    net.member("ESP").start();
    let esp_conn = net.member("ESP").conn();
    let began = Instant::now();
    let refused = practice(&esp_conn, "Signed twice?");
    let waited = began.elapsed();
    assert_fails_with(&refused, "resume-writes --data");
    assert_fails_with(&refused, "no newer entries of this node's own logs");
    assert!(
        waited >= Duration::from_millis(1000),
        "the write waited for a peer ({waited:?})"
    );
    let data = esp_dir.to_str().unwrap().to_owned();
    wait_until("the status to say that writes wait", || {
        let out = focal_node(&["status", "--data", &data]);
        String::from_utf8_lossy(&out.stdout).contains("WRITES WAITING")
    });
    assert_eq!(
        entries_of(&net.member("ESP").dir, &esp_key),
        snapshot_entries,
        "nothing was signed"
    );

    // The secretariat back: ESP learns it was rolled back, pulls its own
    // later entries back and writes after the network's highest number.
    net.secretariat.start();
    wait_until(
        "ESP to recover the entries it signed after the snapshot",
        || head_of(&net.member("ESP").dir, &esp_key) == head,
    );
    wait_until("ESP to write again", || {
        practice(&esp_conn, "After the recovery").status.success()
    });
    let log = net.member("ESP").running().log_text();
    assert!(log.contains("rolled back"), "{log}");
    assert_eq!(head_of(&net.member("ESP").dir, &esp_key), head + 1);
    wait_until("the secretariat to hold ESP's new entry", || {
        head_of(&net.secretariat.dir, &esp_key) == head + 1
    });
    for node in net.all() {
        assert_eq!(
            equivocations_seen_by(&node.dir),
            (0, 0),
            "{} saw no equivocation",
            node.dir.member
        );
    }
}

#[test]
fn a_member_restarted_with_its_peers_up_writes_within_the_bound() {
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    write(&net.member("ESP").conn(), "Before the restarts");
    let mut waits = Vec::new();
    for round in 0..5 {
        let esp = net.member("ESP");
        esp.stop();
        esp.start();
        let conn = esp.conn();
        let began = Instant::now();
        write(&conn, &format!("Right after restart {round}"));
        waits.push(began.elapsed());
        let log = esp.running().log_text();
        assert!(log.contains("a peer confirmed"), "{log}");
        // What the node measured: from the writer's start to the peer's
        // confirmation, and how long the write itself was held.
        let field = |name: &str| {
            log.lines()
                .find_map(|l| l.split(name).nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or("-")
                .to_owned()
        };
        eprintln!(
            "restart {round}: confirmed after_ms={} held waited_ms={}",
            field("after_ms="),
            field("waited_ms=")
        );
    }
    // An already running node, for comparison.
    let conn = net.member("ESP").conn();
    let began = Instant::now();
    write(&conn, "While running");
    let running = began.elapsed();
    waits.sort();
    eprintln!(
        "first write after a restart: {waits:?} (median {:?}); a write on a running node: \
         {running:?}",
        waits[waits.len() / 2]
    );
    assert!(waits.iter().all(|w| *w < Duration::from_secs(10)));
}

/// The operator vouches beside the running node: a write that waits for
/// the start check (every peer down) proceeds as soon as `resume-writes
/// --confirm` has run, well before the bound, because the waiting write
/// asks the node's writer to take the confirmation (`Job::Confirm`); the
/// confirmation is spent, and the status no longer says writes wait.
#[test]
fn the_operator_ends_the_start_check_of_a_running_node() {
    let mut net = TestNetwork::start(&["ESP"], |_, dir| {
        // A bound far beyond what the test waits.
        dir.set_config("# start_check_ms = 10000", "start_check_ms = 120000");
    });
    write(&net.member("ESP").conn(), "Before the restart");
    net.member("ESP").stop();
    net.secretariat.stop();
    net.member("ESP").start();
    let esp_conn = net.member("ESP").conn();
    let data = net.member("ESP").dir.path.to_str().unwrap().to_owned();
    wait_until("the status to say that writes wait", || {
        let out = focal_node(&["status", "--data", &data]);
        String::from_utf8_lossy(&out.stdout).contains("WRITES WAITING")
    });

    let waiting = std::thread::spawn(move || {
        let began = Instant::now();
        (practice(&esp_conn, "Vouched for"), began.elapsed())
    });
    // The write is held (it would wait up to 120 s).
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !waiting.is_finished(),
        "the write waits for the start check"
    );
    let out = focal_node(&["resume-writes", "--data", &data, "--confirm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (written, waited) = waiting.join().unwrap();
    assert!(
        written.status.success(),
        "the waiting write proceeds once the operator confirmed: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert!(waited < Duration::from_secs(60), "waited {waited:?}");
    wait_until("the status to stop saying that writes wait", || {
        let out = focal_node(&["status", "--data", &data]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("member:") && !text.contains("WRITES WAITING")
    });
    // Spent: the writer took `meta.start_confirmed` in its own job.
    let left: i64 = read_only(&net.member("ESP").dir.path.join("focal.db"))
        .query_row(
            "SELECT count(*) FROM meta WHERE key = 'start_confirmed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the operator's confirmation is spent");
    write(&net.member("ESP").conn(), "And after");
}
