//! Backup and restore of a node holding many records.
//!
//! `cargo bench -p focal-tests --bench operations` starts a real release
//! `focal-node` on loopback, fills it with `RECORDS` records through the real
//! client (16 concurrent clients), then measures, each against a baseline
//! from the same run on the same machine:
//! - `focal-node backup` while one client keeps writing, against a plain
//!   file copy of the same database (what the disk alone costs), and the
//!   write rate during the backup against the rate just before it;
//! - the same backup against SQLite's `VACUUM INTO` plus `focal-node verify`
//!   of the same database (what it does: snapshot, then check the copy);
//! - `focal-node restore` into a new directory (check, stage, migrate,
//!   verify, swap), against `focal-node verify` of the same database (restore
//!   is dominated by the verification of the staged copy).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use focal_proto::v1 as pb;
use focal_tests::{NodeDir, bin, client_for, connection_for};

const RECORDS: usize = 20_000;
const CLIENTS: usize = 16;

fn practice(title: &str) -> pb::CreateRequest {
    pb::CreateRequest {
        r#type: "practice".into(),
        fields_json: serde_json::json!({
            "kind": "best-practice",
            "title": title,
            "themes": ["peacekeeping"],
        })
        .to_string(),
        visibility: String::new(),
        language: String::new(),
        request_id: String::new(),
    }
}

fn timed(args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(bin("focal-node")).args(args).output().unwrap();
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "focal-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let dir = NodeDir::init("NAM");
    let token = dir.token("bench");
    let mut node = dir.start();
    let connection = connection_for(&node, &token);
    let data = dir.path.to_str().unwrap().to_owned();
    let work = dir.path.parent().unwrap().to_owned();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let connection = connection.clone();
        tasks.push(tokio::spawn(async move {
            let client = client_for(&connection).await;
            for i in 0..RECORDS / CLIENTS {
                client
                    .records()
                    .create(practice(&format!("Practice {c}-{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    eprintln!("filled {RECORDS} records in {:.1?}", start.elapsed());

    // One client keeps writing; the rate before and during the backup.
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop, connection) = (written.clone(), stop.clone(), connection.clone());
        tokio::spawn(async move {
            let client = client_for(&connection).await;
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                client
                    .records()
                    .create(practice(&format!("During {i}")))
                    .await
                    .unwrap();
                written.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
        })
    };
    let window = Duration::from_secs(3);
    let before_start = written.load(Ordering::SeqCst);
    tokio::time::sleep(window).await;
    let rate_before = (written.load(Ordering::SeqCst) - before_start) as f64 / window.as_secs_f64();
    let backup = work.join("nam.focal-backup");
    let during_start = written.load(Ordering::SeqCst);
    let backup_arg = backup.to_str().unwrap().to_owned();
    let data_arg = data.clone();
    let backup_time = tokio::task::spawn_blocking(move || {
        timed(&["backup", "--data", &data_arg, "--to", &backup_arg])
    })
    .await
    .unwrap();
    let rate_during =
        (written.load(Ordering::SeqCst) - during_start) as f64 / backup_time.as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(node.terminate().success());

    let db = dir.path.join("focal.db");
    let db_bytes = std::fs::metadata(&db).unwrap().len();
    let backup_bytes = std::fs::metadata(&backup).unwrap().len();
    let copy_start = Instant::now();
    std::fs::copy(&db, work.join("plain-copy.db")).unwrap();
    std::fs::File::open(work.join("plain-copy.db"))
        .unwrap()
        .sync_all()
        .unwrap();
    let copy_time = copy_start.elapsed();
    let verify_time = timed(&["verify", "--data", &data]);
    // The snapshot alone: SQLite's VACUUM INTO of the same database.
    let vacuum_start = Instant::now();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("VACUUM INTO ?1", [work.join("vacuum.db").to_str().unwrap()])
        .unwrap();
    let vacuum_time = vacuum_start.elapsed();
    let restored = work.join("restored");
    let restore_time = timed(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
        "--key",
        dir.path.join("node.key").to_str().unwrap(),
    ]);
    let restored_dir = NodeDir::existing(restored, "NAM", dir.node_key);
    let verify_restored = restored_dir.verify();
    assert!(verify_restored.status.success());

    let mb = |b: u64| b as f64 / 1e6;
    println!("| measurement | result | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| online backup of a node with {RECORDS} records ({:.1} MB database) while a client writes | {:.2} s ({:.1} MB file) | plain copy + fsync of the stopped node's database: {:.3} s | {:.0} |",
        mb(db_bytes),
        backup_time.as_secs_f64(),
        mb(backup_bytes),
        copy_time.as_secs_f64(),
        backup_time.as_secs_f64() / copy_time.as_secs_f64()
    );
    println!(
        "| the same backup | {:.2} s | SQLite `VACUUM INTO` of the same database ({:.2} s) + `focal-node verify` of it ({:.2} s): {:.2} s | {:.2} |",
        backup_time.as_secs_f64(),
        vacuum_time.as_secs_f64(),
        verify_time.as_secs_f64(),
        (vacuum_time + verify_time).as_secs_f64(),
        backup_time.as_secs_f64() / (vacuum_time + verify_time).as_secs_f64()
    );
    println!(
        "| writes/s of one client during that backup | {rate_during:.0} writes/s | the same client in the {}s before: {rate_before:.0} writes/s | {:.2} |",
        window.as_secs(),
        rate_during / rate_before
    );
    println!(
        "| restore of that backup into a new directory | {:.2} s | `focal-node verify` of the same database: {:.2} s | {:.2} |",
        restore_time.as_secs_f64(),
        verify_time.as_secs_f64(),
        restore_time.as_secs_f64() / verify_time.as_secs_f64()
    );
}
