//! Local write throughput and the cost of writing to a long-lived record.
//!
//! `cargo bench -p focal-tests --bench writes` starts a real release
//! `focal-node` on loopback and drives it through the real client library
//! over TLS. Each figure is printed beside a baseline measured in the same
//! run on the same machine, so ratios survive a noisy shared host:
//! - durable writes/s (1 and 16 clients) against SQLite's own rate of durable
//!   single-row commits (WAL, synchronous=FULL) on the same disk;
//! - a write to a record with 10,000 changes against a write to a fresh
//!   record (one that holds only its creation: each timed write goes to
//!   another one), both when the long record is hot (in the writer's cache
//!   of documents) and when it is cold (pushed out of the cache by writes
//!   to more records than it holds, then written once), and against what
//!   Automerge alone costs for one incremental apply on a document of that
//!   size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use automerge::{Automerge, ReadDoc, transaction::Transactable};
use focal_proto::v1 as pb;
use focal_tests::{NodeDir, client_for, connection_for};

const SINGLE: usize = 2_000;
const CONCURRENT_CLIENTS: usize = 16;
const PER_CLIENT: usize = 500;
const LONG_HISTORY: usize = 10_000;
const PROBE: usize = 500;
/// Records written between two cold writes to the long record: more than
/// the writer's cache holds (1,024 documents), so that it is pushed out.
const CACHE_PUSH: usize = 1_100;
/// Cold writes timed.
const COLD_SAMPLES: usize = 7;

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

/// What a cold write costs before its own change: the times of its first
/// steps, each measured alone on the record as the node stored it.
struct ColdParts {
    pending: u32,
    load: Duration,
    json: Duration,
    estimate: Duration,
}

fn cold_parts(db: &std::path::Path, id: &str) -> ColdParts {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut load, mut json, mut estimate, mut pending) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..COLD_SAMPLES {
        let start = Instant::now();
        let (doc, n) = focal_node::store::documents::load_document(&conn, id)
            .unwrap()
            .unwrap();
        load.push(start.elapsed());
        pending = n;
        let start = Instant::now();
        let record = focal_node::doc::to_json(&doc);
        json.push(start.elapsed());
        let start = Instant::now();
        assert!(doc.save_nocompress().len() > record.len());
        estimate.push(start.elapsed());
    }
    ColdParts {
        pending,
        load: median(load),
        json: median(json),
        estimate: median(estimate),
    }
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
    let cpu_before = (cpu_by_thread(node.pid()), cpu_by_thread(std::process::id()));
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
    // The CPU the 16 clients' writes took: the node's threads, and this
    // process (the clients).
    let per_write = |before: &HashMap<String, f64>, after: HashMap<String, f64>| {
        let mut spent: Vec<(String, f64)> = after
            .into_iter()
            .map(|(name, secs)| {
                let was = before.get(&name).copied().unwrap_or(0.0);
                (
                    name,
                    (secs - was) * 1e6 / (CONCURRENT_CLIENTS * PER_CLIENT) as f64,
                )
            })
            .filter(|(_, us)| *us >= 1.0)
            .collect();
        spent.sort_by(|a, b| b.1.total_cmp(&a.1));
        spent
    };
    let node_cpu = per_write(&cpu_before.0, cpu_by_thread(node.pid()));
    let client_cpu = per_write(&cpu_before.1, cpu_by_thread(std::process::id()));

    // `FOCAL_BENCH_CONCURRENT_ONLY=1`: the clients' runs alone (for a
    // profile of the writer under them).
    if std::env::var_os("FOCAL_BENCH_CONCURRENT_ONLY").is_some() {
        println!(
            "16 clients: {concurrent:.0} writes/s ({:.2} of SQLite's {baseline:.0}/s); CPU per write: node {:?}; clients {:?}",
            concurrent / baseline,
            node_cpu,
            client_cpu
        );
        return;
    }
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
    // Fresh records: each timed update goes to a record that holds only
    // its creation.
    let mut fresh = Vec::with_capacity(PROBE);
    for i in 0..PROBE {
        fresh.push(
            client
                .records()
                .create(practice(&format!("Fresh {i}")))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    let one_update = |id: String, i: usize| {
        let client = client.clone();
        async move {
            let start = Instant::now();
            client.records().update(update(&id, i)).await.unwrap();
            start.elapsed()
        }
    };
    // Hot: the long record stays in the cache between its writes.
    // Interleaved with the fresh ones, to spread machine noise evenly.
    let mut fresh_writes = Vec::with_capacity(PROBE);
    let mut hot_writes = Vec::with_capacity(PROBE);
    for (i, id) in fresh.iter().enumerate() {
        fresh_writes.push(one_update(id.clone(), 100_000 + i).await);
        hot_writes.push(one_update(long.clone(), 200_000 + i).await);
    }
    // Cold: writes to CACHE_PUSH other records push the long one out of the
    // cache, then one write to it is timed.
    let mut others = Vec::with_capacity(CACHE_PUSH);
    for i in 0..CACHE_PUSH {
        others.push(
            client
                .records()
                .create(practice(&format!("Other {i}")))
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    let mut cold_writes = Vec::with_capacity(COLD_SAMPLES);
    for sample in 0..COLD_SAMPLES {
        for (i, id) in others.iter().enumerate() {
            client
                .records()
                .update(update(id, 300_000 + sample * CACHE_PUSH + i))
                .await
                .unwrap();
        }
        cold_writes.push(one_update(long.clone(), 400_000 + sample).await);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let fresh_write = median(fresh_writes);
    let long_write = median(hot_writes);
    let cold_write = median(cold_writes.clone());
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
    let parts = cold_parts(&dir.path.join("focal.db"), &long);

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
        "| {CONCURRENT_CLIENTS} clients, concurrent creates | {concurrent:.0} writes/s | SQLite durable single-row commits: {baseline:.0}/s | {:.2} (goal ≥ 1.0) |",
        concurrent / baseline
    );
    let total = |spent: &[(String, f64)]| {
        spent
            .iter()
            .find(|(name, _)| name == "(all)")
            .map_or(0.0, |(_, us)| *us)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let writer_us = node_cpu
        .iter()
        .find(|(name, _)| name == "focal-writer")
        .map_or(0.0, |(_, us)| *us);
    let shown = |spent: &[(String, f64)]| {
        spent
            .iter()
            .filter(|(name, _)| name != "(all)")
            .map(|(name, us)| format!("{name} {us:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "| CPU per write of the {CONCURRENT_CLIENTS} clients' run, by thread (µs) | the node {:.0} ({}); the clients {:.0} ({}) | what the machine's {cores:.0} cores allow at that CPU: {:.0} writes/s; the writer thread alone: {:.0}/s | {:.2} and {:.2} of SQLite's |",
        total(&node_cpu),
        shown(&node_cpu),
        total(&client_cpu),
        shown(&client_cpu),
        cores * 1e6 / (total(&node_cpu) + total(&client_cpu)),
        1e6 / writer_us.max(1.0),
        cores * 1e6 / (total(&node_cpu) + total(&client_cpu)) / baseline,
        1e6 / writer_us.max(1.0) / baseline,
    );
    println!(
        "| update of a record with {history} changes, hot (in the writer's cache), median of {PROBE} | {:.3} ms/write | update of a fresh record (its creation only), median of {PROBE}: {:.3} ms/write | {:.2} |",
        long_write.as_secs_f64() * 1e3,
        fresh_write.as_secs_f64() * 1e3,
        long_write.as_secs_f64() / fresh_write.as_secs_f64()
    );
    let mut cold_sorted = cold_writes.clone();
    cold_sorted.sort();
    println!(
        "| update of the same record, cold (pushed out of the cache by writes to {CACHE_PUSH} other records), median of {COLD_SAMPLES} | {:.3} ms/write (range {:.3}–{:.3}) | update of a fresh record: {:.3} ms/write | {:.2} (goal ≤ 2) |",
        cold_write.as_secs_f64() * 1e3,
        cold_sorted[0].as_secs_f64() * 1e3,
        cold_sorted[COLD_SAMPLES - 1].as_secs_f64() * 1e3,
        fresh_write.as_secs_f64() * 1e3,
        cold_write.as_secs_f64() / fresh_write.as_secs_f64()
    );
    println!(
        "| the cold write's first steps alone, on the stored record (median of {COLD_SAMPLES}): `load_document` (snapshot + {} pending changes) {:.3} ms, then `to_json` {:.3} ms and `save_nocompress` (the cache's size estimate) {:.3} ms | update of a fresh record: {:.3} ms/write | {:.2} |",
        parts.pending,
        parts.load.as_secs_f64() * 1e3,
        parts.json.as_secs_f64() * 1e3,
        parts.estimate.as_secs_f64() * 1e3,
        fresh_write.as_secs_f64() * 1e3,
        (parts.load + parts.json + parts.estimate).as_secs_f64() / fresh_write.as_secs_f64()
    );
    println!(
        "| Automerge alone, doc with {LONG_HISTORY} changes | apply_changes of 1 change: {:.3} ms; load(save()): {:.1} ms | local commit: {:.3} ms | {:.1} |",
        am_apply.as_secs_f64() * 1e3,
        am_load.as_secs_f64() * 1e3,
        am_commit.as_secs_f64() * 1e3,
        am_apply.as_secs_f64() / am_commit.as_secs_f64()
    );
}

/// CPU seconds each thread of process `pid` has used, summed by thread
/// name (`/proc/PID/task/*/stat`: user and system time).
/// The whole process's (threads that ended included) is under `(all)`.
fn cpu_by_thread(pid: u32) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    if let Some((_, secs)) = cpu_of(&format!("/proc/{pid}/stat")) {
        out.insert("(all)".to_owned(), secs);
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Some((name, secs)) = cpu_of(&task.path().join("stat").to_string_lossy()) {
            *out.entry(name).or_insert(0.0) += secs;
        }
    }
    out
}

/// The name and CPU seconds (user and system) in a `/proc/…/stat` file.
fn cpu_of(path: &str) -> Option<(String, f64)> {
    let ticks = 100.0; // USER_HZ on Linux
    let stat = std::fs::read_to_string(path).ok()?;
    // `pid (name) state …`: the name may hold spaces; fields follow the
    // last parenthesis.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
    let time = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime: fields 14 and 15 of stat, 11 and 12 after the name.
    Some((
        stat[open + 1..close].to_owned(),
        (time(11)? + time(12)?) / ticks,
    ))
}
