//! Local write throughput and the cost of writing to a long-lived record.
//!
//! `cargo bench -p focal-tests --bench writes` starts a real release
//! `focal-node` on loopback and drives it through the real client library
//! over TLS. Each figure is printed beside a baseline measured in the same
//! run on the same machine, so ratios survive a noisy shared host:
//! - durable writes/s (1 and 16 clients) against SQLite's own rate of durable
//!   single-row commits (WAL, synchronous=FULL) on the same disk;
//! - a write to a record with 10,000 changes against a write to a fresh
//!   record, and against what Automerge alone costs for one incremental
//!   apply on a document of that size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use automerge::{Automerge, ReadDoc, transaction::Transactable};
use focal_proto::v1 as pb;
use focal_tests::{NodeDir, client_for, connection_for};

const SINGLE: usize = 2_000;
const CONCURRENT_CLIENTS: usize = 16;
const PER_CLIENT: usize = 500;
const LONG_HISTORY: usize = 10_000;
const PROBE: usize = 500;

fn practice(title: &str) -> pb::CreateRequest {
    pb::CreateRequest {
        r#type: "practice".into(),
        fields_json: serde_json::json!({
            "kind": "best-practice",
            "title": title,
            "themes": ["nap-design-monitoring-financing"],
        })
        .to_string(),
        visibility: String::new(),
        language: String::new(),
        request_id: String::new(),
    }
}

fn update(id: &str, i: usize) -> pb::UpdateRequest {
    pb::UpdateRequest {
        id: id.to_owned(),
        patch_json: serde_json::json!({ "summary": format!("Revision {i}") }).to_string(),
        language: String::new(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sqlite_durable_commits_per_second(dir: &std::path::Path) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("baseline.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);",
    )
    .unwrap();
    let payload = vec![7u8; 600];
    let start = Instant::now();
    for _ in 0..SINGLE {
        conn.execute("INSERT INTO t (payload) VALUES (?1)", [&payload])
            .unwrap();
    }
    SINGLE as f64 / start.elapsed().as_secs_f64()
}

/// Automerge alone: one more change applied to a document that already has
/// `LONG_HISTORY` changes, one `apply_changes` call (what a node would pay
/// per write if it reloaded or re-applied rather than keeping the document
/// hot), against a local commit on the same document.
fn automerge_baseline() -> (Duration, Duration, Duration) {
    let mut doc = Automerge::new();
    for i in 0..LONG_HISTORY {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "summary", format!("Revision {i}"))
            .unwrap();
        tx.commit();
    }
    let saved = doc.save();
    let mut remote = doc.fork();
    let mut changes = Vec::new();
    for i in 0..50 {
        let mut tx = remote.transaction();
        tx.put(automerge::ROOT, "summary", format!("Remote {i}"))
            .unwrap();
        tx.commit();
        changes.push(remote.get_last_local_change().unwrap());
    }
    let start = Instant::now();
    for change in &changes {
        doc.apply_changes([change.clone()]).unwrap();
    }
    let apply_one = start.elapsed() / changes.len() as u32;

    let start = Instant::now();
    for i in 0..50 {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "summary", format!("Local {i}"))
            .unwrap();
        tx.commit();
    }
    let commit_one = start.elapsed() / 50;

    let start = Instant::now();
    for _ in 0..5 {
        let loaded = Automerge::load(&saved).unwrap();
        assert!(loaded.get(automerge::ROOT, "summary").unwrap().is_some());
    }
    let load = start.elapsed() / 5;
    (apply_one, commit_one, load)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let dir = NodeDir::init("NAM");
    let token = dir.token("bench");
    let mut node = dir.start();
    let connection = connection_for(&node, &token);
    let client = client_for(&connection).await;

    let baseline = sqlite_durable_commits_per_second(dir.path.parent().unwrap());

    for i in 0..200 {
        client
            .records()
            .create(practice(&format!("Warm-up {i}")))
            .await
            .unwrap();
    }

    // 1 client, one write at a time.
    let mut latencies = Vec::with_capacity(SINGLE);
    let start = Instant::now();
    for i in 0..SINGLE {
        let t = Instant::now();
        client
            .records()
            .create(practice(&format!("Single {i}")))
            .await
            .unwrap();
        latencies.push(t.elapsed());
    }
    let single = SINGLE as f64 / start.elapsed().as_secs_f64();
    latencies.sort();

    // 16 clients, each with its own connection.
    let mut clients = Vec::new();
    for _ in 0..CONCURRENT_CLIENTS {
        clients.push(client_for(&connection).await);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_CLIENT {
                client
                    .records()
                    .create(practice(&format!("Concurrent {c}-{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let concurrent = (CONCURRENT_CLIENTS * PER_CLIENT) as f64 / start.elapsed().as_secs_f64();

    // A record with a long history, built with concurrent writers to save
    // time (the node serializes them).
    let long = client
        .records()
        .create(practice("Long-lived"))
        .await
        .unwrap()
        .into_inner()
        .id;
    let mut tasks = Vec::new();
    for c in 0..CONCURRENT_CLIENTS {
        let client = client_for(&connection).await;
        let id = long.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c..LONG_HISTORY).step_by(CONCURRENT_CLIENTS) {
                client.records().update(update(&id, i)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let fresh = client
        .records()
        .create(practice("Fresh"))
        .await
        .unwrap()
        .into_inner()
        .id;

    let time_updates = |id: String, offset: usize| {
        let client = client.clone();
        async move {
            let start = Instant::now();
            for i in 0..PROBE {
                client
                    .records()
                    .update(update(&id, offset + i))
                    .await
                    .unwrap();
            }
            start.elapsed() / PROBE as u32
        }
    };
    // Interleave to spread machine noise evenly over both.
    let mut long_total = Duration::ZERO;
    let mut fresh_total = Duration::ZERO;
    for round in 0..5 {
        fresh_total += time_updates(fresh.clone(), 100_000 + round * PROBE).await;
        long_total += time_updates(long.clone(), 200_000 + round * PROBE).await;
    }
    let long_write = long_total / 5;
    let fresh_write = fresh_total / 5;
    let history = client
        .records()
        .history(pb::HistoryRequest { id: long.clone() })
        .await
        .unwrap()
        .into_inner()
        .entries
        .len();

    let (am_apply, am_commit, am_load) = automerge_baseline();
    assert!(node.terminate().success());

    println!("## Local writes (durable acknowledgement)\n");
    println!("| measurement | result | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| 1 client, sequential creates | {single:.0} writes/s (p50 {:.2} ms, p99 {:.2} ms) | SQLite durable single-row commits: {baseline:.0}/s | {:.2} |",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        single / baseline
    );
    println!(
        "| {CONCURRENT_CLIENTS} clients, concurrent creates | {concurrent:.0} writes/s | SQLite durable single-row commits: {baseline:.0}/s | {:.2} |",
        concurrent / baseline
    );
    println!(
        "| update of a record with {history} changes | {:.3} ms/write | update of a fresh record: {:.3} ms/write | {:.2} |",
        long_write.as_secs_f64() * 1e3,
        fresh_write.as_secs_f64() * 1e3,
        long_write.as_secs_f64() / fresh_write.as_secs_f64()
    );
    println!(
        "| Automerge alone, doc with {LONG_HISTORY} changes | apply_changes of 1 change: {:.3} ms; load(save()): {:.1} ms | local commit: {:.3} ms | {:.1} |",
        am_apply.as_secs_f64() * 1e3,
        am_load.as_secs_f64() * 1e3,
        am_commit.as_secs_f64() * 1e3,
        am_apply.as_secs_f64() / am_commit.as_secs_f64()
    );
}
