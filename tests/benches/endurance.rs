//! Endurance: 16 clients write for 10 minutes on a growing database while
//! two readers list and view it without pause.
//!
//! `cargo bench -p focal-tests --bench endurance` starts a real release
//! `focal-node` on loopback (metrics on, default cache and WAL settings)
//! and drives it through the real client library over TLS:
//! - 16 writers, each on its own connection, one request at a time: three
//!   creates for every update of a record it made before, so the database
//!   grows by about 16 records per write round for the whole run;
//! - 2 readers: one walks the whole list of practices in pages of 100, again
//!   and again, pausing 200 ms between pages (a long read made of short
//!   ones, as `focal list` and the web app do; the reads that starved
//!   SQLite's checkpoints and made the WAL grow); one asks for the
//!   practices view every 5 s, as a dashboard does.
//!
//! The node runs with `MALLOC_ARENA_MAX=2`, as the systemd unit and the
//! container run it.
//!
//! Every minute it prints the minute's writes/s, list and view p50, and at
//! the minute's end the node's resident memory, WAL and database size, and
//! the document cache's estimated bytes (from the node's metrics). At the
//! end: writes/s of the last minute over the first (the goal is ≥ 0.8), and
//! the largest memory and WAL seen. `FOCAL_ENDURANCE_SECS` shortens the run
//! (default 600). Exits non-zero if the ratio is under 0.8 or the WAL went
//! over 64 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use focal_proto::v1::{self as pb, view_service_client::ViewServiceClient};
use focal_tests::{NodeDir, client_for, connection_for};

const WRITERS: usize = 16;
const MINUTE: Duration = Duration::from_secs(60);
const WAL_BOUND: u64 = 64 * 1024 * 1024;
/// Between two pages of the list reader: staff reading while the writers
/// write, not a second load test.
const READER_PAUSE: Duration = Duration::from_millis(200);
/// Between two views: a view is computed over every matching record (its
/// counts and totals), a cost that grows with the network until the view
/// work of the speed issue; asked every few seconds, as a dashboard does.
const VIEW_PAUSE: Duration = Duration::from_secs(5);

fn practice(title: &str, n: usize) -> pb::CreateRequest {
    pb::CreateRequest {
        r#type: "practice".into(),
        fields_json: serde_json::json!({
            "kind": "best-practice",
            "title": title,
            "summary": format!(
                "Round {n}: a ministry's account of how its national action plan on women, \
                 peace and security was costed, monitored and reported on."
            ),
            "themes": ["nap-design-monitoring-financing"],
        })
        .to_string(),
        ..Default::default()
    }
}

fn update(id: &str, n: usize) -> pb::UpdateRequest {
    pb::UpdateRequest {
        id: id.to_owned(),
        patch_json: serde_json::json!({ "summary": format!("Revision {n}") }).to_string(),
        ..Default::default()
    }
}

/// What happened in one minute.
#[derive(Default)]
struct Minute {
    writes: AtomicU64,
    list: Mutex<Vec<Duration>>,
    view: Mutex<Vec<Duration>>,
}

fn p50(samples: &Mutex<Vec<Duration>>) -> f64 {
    let mut v = samples.lock().unwrap().clone();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// One gauge from the node's metrics endpoint.
fn metric(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let seconds: u64 = std::env::var("FOCAL_ENDURANCE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let minutes = (seconds / 60).max(1) as usize;
    let run = Duration::from_secs(seconds);

    let dir = NodeDir::init("NAM");
    let metrics_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    dir.set_config(
        "# listen = \"127.0.0.1:9464\"",
        &format!("listen = \"{metrics_addr}\""),
    );
    let token = dir.token("bench");
    // As the systemd unit and the container run it (see focal-node.service).
    let mut node = focal_tests::RunningNode::start_via(
        &["env", "MALLOC_ARENA_MAX=2"],
        dir.path.clone(),
        dir.node_key,
        &[],
    );
    let pid = node.pid();
    let connection = connection_for(&node, &token);
    let db = dir.path.join("focal.db");
    let wal = dir.path.join("focal.db-wal");

    let slots: Arc<Vec<Minute>> = Arc::new((0..minutes).map(|_| Minute::default()).collect());
    let started = Instant::now();
    let slot_now = move || {
        let m = (started.elapsed().as_secs() / 60) as usize;
        (m < minutes).then_some(m)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let client = client_for(&connection).await;
        let slots = slots.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<String> = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                if n.is_multiple_of(4) && !mine.is_empty() {
                    let id = &mine[(n * 7919) % mine.len()];
                    client.records().update(update(id, n)).await.unwrap();
                } else {
                    let record = client
                        .records()
                        .create(practice(&format!("Endurance {w}-{n}"), n))
                        .await
                        .unwrap()
                        .into_inner();
                    mine.push(record.id);
                }
                if let Some(m) = slot_now() {
                    slots[m].writes.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    {
        // Walks the whole list page by page, again and again: each page
        // its own short read, the walk a long one.
        let client = client_for(&connection).await;
        let slots = slots.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut after = String::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let page = client
                    .records()
                    .list(pb::ListRequest {
                        r#type: "practice".into(),
                        limit: 100,
                        after: after.clone(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                after = page.next;
                if let Some(m) = slot_now() {
                    slots[m].list.lock().unwrap().push(t.elapsed());
                }
                tokio::time::sleep(READER_PAUSE).await;
            }
        }));
    }
    {
        let client = client_for(&connection).await;
        let slots = slots.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut views = ViewServiceClient::with_interceptor(client.channel(), client.token());
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                views
                    .practices(pb::ViewRequest {
                        limit: 100,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                if let Some(m) = slot_now() {
                    slots[m].view.lock().unwrap().push(t.elapsed());
                }
                tokio::time::sleep(VIEW_PAUSE).await;
            }
        }));
    }

    println!("## Endurance: {WRITERS} writers and 2 readers for {minutes} min\n");
    println!(
        "| minute | writes/s | list p50 (ms) | view p50 (ms) | node RSS (MB) | WAL (MB) | database (MB) | cache (MB, estimated) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let (mut max_rss, mut max_wal) = (0u64, 0u64);
    for m in 0..minutes {
        // Sample memory and WAL every second; report the minute's peak.
        let end = started + MINUTE * (m as u32 + 1);
        let (mut rss, mut wal_peak) = (0u64, 0u64);
        while Instant::now() < end.min(started + run) {
            rss = rss.max(resident_bytes(pid));
            wal_peak = wal_peak.max(file_size(&wal));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let slot = &slots[m];
        let writes = slot.writes.load(Ordering::Relaxed) as f64 / 60.0;
        let cache = metric(metrics_addr, "focal_document_cache_bytes").unwrap_or(f64::NAN);
        max_rss = max_rss.max(rss);
        max_wal = max_wal.max(wal_peak);
        println!(
            "| {} | {writes:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} | {:.1} |",
            m + 1,
            p50(&slot.list),
            p50(&slot.view),
            rss as f64 / 1e6,
            wal_peak as f64 / 1e6,
            file_size(&db) as f64 / 1e6,
            cache / 1e6,
        );
        rows.push(writes);
    }
    let checkpoints = (
        metric(
            metrics_addr,
            "focal_wal_checkpoints_total{mode=\"truncate\"}",
        )
        .unwrap_or(0.0),
        metric(metrics_addr, "focal_wal_checkpoints_total{mode=\"busy\"}").unwrap_or(0.0),
    );
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let records = {
        let client = client_for(&connection).await;
        client
            .records()
            .list(pb::ListRequest {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .total
    };
    assert!(node.terminate().success());

    let ratio = rows.last().unwrap() / rows.first().unwrap();
    println!(
        "WAL checkpoints beyond SQLite's own: {} truncated, {} waited in vain",
        checkpoints.0, checkpoints.1
    );
    println!();
    println!(
        "records at the end: {records}; writes/s last minute / first minute: {ratio:.2} (goal ≥ 0.8); \
         node RSS peak {:.0} MB; WAL peak {:.1} MB (bound {} MB)",
        max_rss as f64 / 1e6,
        max_wal as f64 / 1e6,
        WAL_BOUND / 1024 / 1024
    );
    if ratio < 0.8 || max_wal > WAL_BOUND {
        eprintln!("endurance goal not met");
        std::process::exit(1);
    }
}
