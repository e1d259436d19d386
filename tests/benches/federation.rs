//! Federation: ingest, catch-up, anti-entropy and propagation (issue 4).
//!
//! `cargo bench -p focal-tests --bench federation` measures, each figure
//! beside a baseline taken in the same run on the same machine:
//!
//! 1. Ingest throughput of signed entries (verify, authorize, store, apply)
//!    in the batches a peer sends, each checked while the one before it is
//!    stored (as `sync` receives a stream), against the
//!    machine's ed25519 signature-verification rate over the same number of
//!    signatures.
//! 2. A fresh node catching up with a network of `MEMBERS` members ×
//!    `RECORDS` records × `CHANGES` changes: bytes on the wire (counted by a
//!    TCP proxy between the fresh node and the secretariat) and time, against
//!    Automerge's own `save()` of the same documents and the bytes its sync
//!    protocol exchanges for them. A server sends a catch-up log by log, the
//!    secretariat's logs first (they carry the roster, without which a
//!    member's entries are refused), the others in the order of their keys.
//!    The keys of 2a–2c sort after the secretariat's; those of 2d put half
//!    the member logs before it, the regression check of that order (a
//!    catch-up once followed the keys alone, and stalled). Each catch-up is
//!    tried with the default configuration first, and if the fresh node cuts
//!    the secretariat off, again with the limit raised (printed in the
//!    notes). Both nodes speak protocol 2 and the stream is compressed with
//!    zstd; 2e measures what compression buys per message size, in
//!    process, on the same entries.
//! 3. The bytes of one anti-entropy round between two nodes in sync, with
//!    100 and with 20,000 documents (same number of logs).
//! 4. The time for one write to reach every node of a 6-node loopback
//!    network, against a single node's local write latency.
//!
//! How the source data is made without hundreds of real nodes: the
//! secretariat's data directory is created with the CLI, then opened
//! in-process; a `Writer` with the secretariat's key adds invented members
//! (unreachable endpoints) and the fresh node to the roster, and ingests
//! signed, hash-chained logs of practice records authored by each invented
//! member's key, one Automerge change per entry as a node writes them. Then
//! the secretariat runs as a real release process and a fresh member node
//! (joined, `mesh = false`) pulls everything from it through the proxy.
//!
//! `FOCAL_BENCH_MEMBERS=40` scales the catch-up network down on a slow
//! machine (the sizes used are printed with the table);
//! `FOCAL_BENCH_PROPAGATION_ONLY=1` runs measurement 4 alone;
//! `FOCAL_BENCH_INGEST_ONLY=1` measurement 1 alone, and with
//! `FOCAL_BENCH_WITHOUT_SUMMARIES=1` without the views' summaries (an
//! experiment: what their triggers cost ingest).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use automerge::{
    Author, Automerge, ObjId, ReadDoc,
    sync::{self, SyncDoc},
    transaction::{CommitOptions, Transactable},
};
use focal_node::{
    engine::writer::{NetworkContext, Writer},
    identity::{NodeId, NodeKey},
    log::{Audience, EntryBody, EntryHash, LogEntry},
    member::MemberCode,
    records::{self, RecordType, ValidationContext},
    roster::add_member_patch,
    store::{Store, StoreOptions},
};
use focal_proto::v1 as pb;
use focal_tests::{NodeDir, RunningNode, TestNetwork, client_for, connection_for, focal_node};
use serde_json::{Map, Value, json};

/// Invented members of the catch-up network (the 200).
const MEMBERS: usize = 200;
/// Practice records per member.
const RECORDS: usize = 50;
/// Changes per record: the create and `CHANGES - 1` updates.
const CHANGES: usize = 10;
/// Entries per batch checked and stored (a peer's `batch_entries` default).
const BATCH: usize = 256;
/// Members (logs) of the anti-entropy networks.
const AE_MEMBERS: usize = 100;
/// Documents of the two anti-entropy networks.
const AE_DOCS: [usize; 2] = [100, 20_000];
/// Anti-entropy interval of the fresh node in measurement 3.
const AE_MS: u64 = 1_000;
/// How long the anti-entropy rounds are recorded.
const AE_WINDOW: Duration = Duration::from_millis(8_500);
/// The members of the 6-node network (plus the secretariat).
const NET_MEMBERS: [&str; 5] = ["ESP", "NAM", "JPN", "KEN", "FRA"];
/// Writes timed on the 6-node network (after `WARMUP`).
const PROPAGATION_WRITES: usize = 100;
const WARMUP: usize = 5;
/// Writes timed on the single node.
const LOCAL_WRITES: usize = 100;
/// The fresh node's member code.
const FRESH: &str = "ZZF";
/// How long a catch-up may take before the bench gives up.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(420);

fn members_count() -> usize {
    std::env::var("FOCAL_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MEMBERS)
}

// ---------------------------------------------------------------------------
// Source data

/// An invented member: a code from the user-assigned range `XAA`–`XZZ` and
/// a fresh key.
struct Member {
    code: MemberCode,
    key: NodeKey,
}

fn invent_members(n: usize, secretariat: NodeId, before: usize) -> Vec<Member> {
    assert!(n <= 26 * 26, "at most 676 invented members");
    // A server sends a catch-up log by log in the order of their keys, so
    // the keys decide how many member logs come before the secretariat's
    // log (which carries the roster). Keys are drawn until `before` of them
    // sort before the secretariat's key (or, should that take too long,
    // as close as chance allows; the position used is printed).
    const CAP: usize = 2_000_000;
    let (mut below, mut above) = (Vec::new(), Vec::new());
    let mut attempts = 0;
    while below.len() + above.len() < n {
        let key = NodeKey::generate().unwrap();
        attempts += 1;
        if key.id() < secretariat {
            if below.len() < before || attempts > CAP {
                below.push(key);
            }
        } else if above.len() < n - before || attempts > CAP {
            above.push(key);
        }
    }
    below
        .into_iter()
        .chain(above)
        .enumerate()
        .map(|(i, key)| Member {
            code: format!(
                "X{}{}",
                (b'A' + (i / 26) as u8) as char,
                (b'A' + (i % 26) as u8) as char
            )
            .parse()
            .unwrap(),
            key,
        })
        .collect()
}

/// A deterministic 12-character record-id suffix (a-z2-7).
fn suffix(mut n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = [b'a'; 12];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[n % 32];
        n /= 32;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// The practice fields of a record, in the normal form the node stores.
fn practice_fields(code: &MemberCode, title: &str) -> Map<String, Value> {
    let fields = json!({
        "member": code.as_str(),
        "kind": "best-practice",
        "title": {"en": {"text": title, "original": true}},
        "summary": {"en": {"text": "First version", "original": true}},
        "themes": ["nap-design-monitoring-financing"],
        "pillars": ["participation"],
    });
    fields.as_object().unwrap().clone()
}

/// Checks that the generated fields are valid and already in normal form.
fn check_fields(code: &MemberCode) {
    let fields = practice_fields(code, "A practice");
    let ctx = ValidationContext {
        owner: code.clone(),
        default_language: "en".into(),
        limits: Default::default(),
    };
    let normal = records::validate(RecordType::Practice, &fields, &ctx).unwrap();
    assert_eq!(
        normal, fields,
        "generated practice fields are in normal form"
    );
}

/// What Automerge alone would cost for the same documents.
#[derive(Default, Clone, Copy)]
struct AutomergeCost {
    /// Sum of `save()` sizes.
    save: u64,
    /// Bytes of Automerge's sync protocol, full document → empty one.
    sync_from_empty: u64,
    /// Bytes of Automerge's sync protocol between two in-sync copies, from
    /// fresh sync states (one exchange per document).
    sync_in_sync: u64,
}

/// Runs Automerge's sync protocol between `a` and `b` until neither has a
/// message; returns the encoded bytes exchanged.
fn automerge_sync(a: &mut Automerge, b: &mut Automerge) -> u64 {
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    let mut bytes = 0u64;
    for _ in 0..100 {
        let mut progressed = false;
        if let Some(message) = a.generate_sync_message(&mut sa) {
            let encoded = message.encode();
            bytes += encoded.len() as u64;
            b.receive_sync_message(&mut sb, sync::Message::decode(&encoded).unwrap())
                .unwrap();
            progressed = true;
        }
        if let Some(message) = b.generate_sync_message(&mut sb) {
            let encoded = message.encode();
            bytes += encoded.len() as u64;
            a.receive_sync_message(&mut sa, sync::Message::decode(&encoded).unwrap())
                .unwrap();
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    assert_eq!(a.get_heads(), b.get_heads(), "Automerge sync converged");
    bytes
}

/// One member's network log: `records` practice records, each with
/// `changes` changes (the create, then updates of the summary), interleaved
/// as a member edits over time, one change per signed entry.
fn member_log(
    index: usize,
    member: &Member,
    records: usize,
    changes: usize,
    cost: &mut AutomergeCost,
    baselines: bool,
) -> Vec<LogEntry> {
    let author = Author::from(member.key.id().0.to_vec());
    let origin = member.key.id();
    let mut docs: Vec<(String, Automerge, ObjId)> = Vec::with_capacity(records);
    let mut entries = Vec::with_capacity(records * changes);
    let mut prev = EntryHash::default();
    let mut seq = 0u64;
    let now = focal_node::clock::now_rfc3339();
    let secs = time_secs();
    for round in 0..changes {
        for r in 0..records {
            let raw = if round == 0 {
                let id = format!("{}:practice:{}", member.code, suffix(index * 1_000_000 + r));
                let fields =
                    practice_fields(&member.code, &format!("Practice {r} of {}", member.code));
                let mut record = Map::new();
                record.insert("id".into(), Value::String(id.clone()));
                record.insert("type".into(), "practice".into());
                record.insert("owner".into(), member.code.as_str().into());
                record.insert("visibility".into(), "network".into());
                record.insert("created".into(), Value::String(now.clone()));
                record.insert("updated".into(), Value::String(now.clone()));
                record.insert("deleted".into(), Value::Bool(false));
                let names: Vec<String> = fields.keys().cloned().collect();
                record.extend(fields);
                let mut doc = Automerge::new();
                doc.set_author(Some(author.clone()));
                let mut tx = doc.transaction();
                for (k, v) in &record {
                    focal_node::doc::put(&mut tx, &automerge::ROOT, k, v).unwrap();
                }
                tx.commit_with(
                    CommitOptions::default()
                        .with_message(format!("create: {}", names.join(", ")))
                        .with_time(secs),
                );
                let (_, summary) = doc.get(automerge::ROOT, "summary").unwrap().unwrap();
                let (_, en) = doc.get(&summary, "en").unwrap().unwrap();
                let raw = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
                docs.push((id, doc, en));
                raw
            } else {
                let (_, doc, en) = &mut docs[r];
                let mut tx = doc.transaction();
                tx.put(&*en, "text", format!("Revision {round} of practice {r}"))
                    .unwrap();
                tx.put(automerge::ROOT, "updated", now.as_str()).unwrap();
                tx.commit_with(
                    CommitOptions::default()
                        .with_message("update: summary")
                        .with_time(secs + round as i64),
                );
                doc.get_last_local_change().unwrap().raw_bytes().to_vec()
            };
            seq += 1;
            let entry = EntryBody {
                origin,
                audience: Audience::Network,
                seq,
                prev,
                doc_id: docs[r].0.clone(),
                changes: vec![raw],
            }
            .sign(member.key.signing_key());
            prev = entry.hash();
            entries.push(entry);
        }
    }
    if baselines {
        for (_, doc, _) in &mut docs {
            cost.save += doc.save().len() as u64;
            let mut empty = Automerge::new();
            cost.sync_from_empty += automerge_sync(doc, &mut empty);
            let mut copy = doc.fork();
            cost.sync_in_sync += automerge_sync(doc, &mut copy);
        }
    }
    entries
}

fn time_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A secretariat data directory holding a whole network's logs, and a fresh
/// member node (in the roster, not yet joined) to catch up with it.
struct Built {
    sec: NodeDir,
    fresh: NodeDir,
    fresh_listen: SocketAddr,
    network_id: String,
    members: usize,
    docs: usize,
    /// Member entries ingested (one change each).
    entries: usize,
    /// Every log entry the secretariat holds (members' and the roster's).
    total_entries: i64,
    /// Encoded size of the member entries.
    entry_bytes: u64,
    ingest_time: Duration,
    /// ed25519 single-signature verifications per second over the same
    /// messages and signatures, on one core and on all of them.
    verify_rate: f64,
    verify_all_cores: f64,
    cost: AutomergeCost,
    /// Member logs ordered before the secretariat's log in a catch-up.
    logs_before_roster: usize,
    generate_time: Duration,
    /// Measurement 2e, per message size.
    compression: Vec<Compression>,
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Builds the secretariat's store in-process: roster, then every member's
/// log through `Writer::check` and `Writer::store_checked`, pipelined (timed: measurement 1).
async fn build(
    members: usize,
    records: usize,
    changes: usize,
    baselines: bool,
    roster_position: usize,
) -> Built {
    let sec = NodeDir::init_secretariat("Federation bench");
    // Production defaults for the secretariat (init_secretariat tunes for
    // tests).
    sec.set_config("anti_entropy_ms = 300", "anti_entropy_ms = 5000");
    sec.set_config("backoff_ms = 100", "backoff_ms = 500");
    let fresh = NodeDir::init(FRESH);
    let fresh_listen = free_addr();
    fresh.set_listen(fresh_listen);
    // Every run of the fresh node starts from this copy.
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&fresh.path)
        .arg(fresh.path.with_extension("pristine"))
        .status()
        .unwrap();
    assert!(status.success());
    let network_id = sec.network_id();

    let sec_key = NodeKey::load_file(&sec.path.join("node.key")).unwrap();
    let invented = invent_members(members, sec_key.id(), roster_position);
    check_fields(&invented[0].code);
    let t = Instant::now();
    let mut cost = AutomergeCost::default();
    let mut logs: Vec<Vec<LogEntry>> = Vec::with_capacity(members);
    for (i, member) in invented.iter().enumerate() {
        logs.push(member_log(
            i, member, records, changes, &mut cost, baselines,
        ));
    }
    let generate_time = t.elapsed();
    let entries: usize = logs.iter().map(Vec::len).sum();
    let entry_bytes: u64 = logs.iter().flatten().map(|e| e.encode().len() as u64).sum();
    let compression = if baselines {
        COMPRESSED_SIZES
            .iter()
            .map(|&size| compressed(&logs, size))
            .collect()
    } else {
        Vec::new()
    };

    // Baselines of measurement 1: ed25519 verification of the same
    // signatures over the same signed bytes (keys decoded beforehand), one
    // by one on one core, and on every core at once (each a share).
    let (verify_rate, verify_all_cores) = if baselines {
        let messages: Vec<(usize, Vec<u8>, [u8; 64])> = logs
            .iter()
            .enumerate()
            .flat_map(|(m, log)| {
                log.iter()
                    .map(move |e| (m, e.body.signing_bytes(), e.signature))
            })
            .collect();
        let verify = |share: &[(usize, Vec<u8>, [u8; 64])]| {
            for (m, message, signature) in share {
                invented[*m]
                    .key
                    .signing_key()
                    .verify(message, &(*signature).into())
                    .unwrap();
            }
        };
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let t = Instant::now();
        thread::scope(|scope| {
            for share in messages.chunks(messages.len().div_ceil(cores)) {
                scope.spawn(move || verify(share));
            }
        });
        let all_cores = messages.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        verify(&messages);
        (messages.len() as f64 / t.elapsed().as_secs_f64(), all_cores)
    } else {
        (0.0, 0.0)
    };

    // The secretariat's store, in-process.
    let key = sec_key;
    let sec_id = key.id();
    let store = Store::open(
        &sec.path.join("focal.db"),
        &StoreOptions {
            busy_timeout_ms: 5_000,
            create: false,
        },
    )
    .unwrap();
    // `FOCAL_BENCH_WITHOUT_SUMMARIES=1`: an experiment measuring what the
    // views' summaries (migration 10's triggers) cost ingest, by dropping
    // them from this in-process store.
    if std::env::var_os("FOCAL_BENCH_WITHOUT_SUMMARIES").is_some() {
        let triggers: Vec<String> = store
            .conn()
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for name in triggers {
            store
                .conn()
                .execute_batch(&format!("DROP TRIGGER \"{name}\""))
                .unwrap();
        }
    }
    let (writer, thread) = Writer::spawn(
        store,
        key.signing_key().clone(),
        "SEC".parse().unwrap(),
        NetworkContext::new(
            Some(sec_id),
            focal_node::base::config::Config::load(&sec.path.join("focal.toml"))
                .unwrap()
                .network
                .id,
        ),
    )
    .unwrap();
    for member in &invented {
        writer
            .change_roster(add_member_patch(
                &member.code,
                &member.key.id(),
                "127.0.0.1:1",
            ))
            .await
            .unwrap();
    }
    writer
        .change_roster(add_member_patch(
            &FRESH.parse().unwrap(),
            &NodeId(fresh.node_key),
            &fresh_listen.to_string(),
        ))
        .await
        .unwrap();

    // As a peer's stream is received (`sync`'s pipeline): each batch is
    // checked (signatures, on the blocking pool) while the batch before it
    // is stored.
    let t = Instant::now();
    let batches: Vec<Vec<LogEntry>> = logs
        .into_iter()
        .flat_map(|log| {
            let mut log = log.into_iter().peekable();
            let mut batches = Vec::new();
            while log.peek().is_some() {
                batches.push(log.by_ref().take(BATCH).collect::<Vec<_>>());
            }
            batches
        })
        .collect();
    let mut batches = batches.into_iter();
    let mut checked = match batches.next() {
        Some(first) => Some(writer.check(first).await.unwrap()),
        None => None,
    };
    while let Some(current) = checked.take() {
        let n = current.entries.len();
        let (report, next) = tokio::join!(writer.store_checked("(bench)", current), async {
            match batches.next() {
                Some(batch) => Some(writer.check(batch).await.unwrap()),
                None => None,
            }
        });
        let report = report.unwrap();
        assert!(
            report.accepted == n && report.rejected.is_empty(),
            "ingest refused entries: {report}; {:?}",
            report.rejected.first()
        );
        checked = next;
    }
    let ingest_time = t.elapsed();
    writer.shutdown().await;
    drop(writer);
    let store = thread.join().unwrap();
    let total_entries: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
        .unwrap();
    store.close().unwrap();

    let logs_before_roster = invented.iter().filter(|m| m.key.id() < sec_id).count();
    Built {
        sec,
        fresh,
        fresh_listen,
        network_id,
        members,
        docs: members * records,
        entries,
        total_entries,
        entry_bytes,
        ingest_time,
        verify_rate,
        verify_all_cores,
        cost,
        logs_before_roster,
        generate_time,
        compression,
    }
}

/// Entries per `Pull` message in measurement 2e: a live entry, a small
/// batch, a catch-up batch.
const COMPRESSED_SIZES: [usize; 3] = [1, 16, BATCH];

/// What zstd (tonic's level, the default 3) makes of every log's entries
/// sent in `Pull` messages of `size` entries, each message compressed
/// alone as gRPC does: (entries per message, messages, bytes encoded,
/// bytes compressed).
fn compressed(logs: &[Vec<LogEntry>], size: usize) -> Compression {
    let mut out = Compression {
        size,
        ..Default::default()
    };
    for log in logs {
        for chunk in log.chunks(size) {
            let message = pb::PullResponse {
                entries: chunk.iter().map(LogEntry::encode).collect(),
                caught_up: false,
                total: 0,
                chained: false,
            };
            let raw = prost::Message::encode_to_vec(&message);
            out.messages += 1;
            out.raw += raw.len() as u64;
            out.compressed += zstd::bulk::compress(&raw, zstd::DEFAULT_COMPRESSION_LEVEL)
                .unwrap()
                .len() as u64;
        }
    }
    out
}

#[derive(Default)]
struct Compression {
    size: usize,
    messages: u64,
    raw: u64,
    compressed: u64,
}

// ---------------------------------------------------------------------------
// A counting TCP proxy

#[derive(Clone, Copy)]
struct Chunk {
    at: Instant,
    /// Fresh node → secretariat.
    up: bool,
    bytes: usize,
}

/// Forwards every connection to `target` and logs every chunk it copies.
struct Proxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Chunk>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Chunk>>> = Arc::default();
        let shared = log.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                for (from, to, up) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        true,
                    ),
                    (server, client, false),
                ] {
                    let log = shared.clone();
                    thread::spawn(move || pump(from, to, up, &log));
                }
            }
        });
        Self { addr, log }
    }

    /// (up, down) bytes copied since `since`.
    fn bytes_since(&self, since: Instant) -> (u64, u64) {
        let log = self.log.lock().unwrap();
        let mut totals = (0, 0);
        for c in log.iter().filter(|c| c.at >= since) {
            if c.up {
                totals.0 += c.bytes as u64;
            } else {
                totals.1 += c.bytes as u64;
            }
        }
        totals
    }

    fn chunks_since(&self, since: Instant) -> Vec<Chunk> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|c| c.at >= since).copied().collect()
    }

    fn last_activity(&self) -> Option<Instant> {
        self.log.lock().unwrap().last().map(|c| c.at)
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, up: bool, log: &Mutex<Vec<Chunk>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                log.lock().unwrap().push(Chunk {
                    at: Instant::now(),
                    up,
                    bytes: n,
                });
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

// ---------------------------------------------------------------------------
// Running the pair

/// The secretariat, running, with a counting proxy in front of it.
struct Sec {
    node: RunningNode,
    proxy: Proxy,
    /// Every log entry it holds once it runs (at start-up it may add a
    /// roster entry for its own endpoint).
    expected: i64,
}

fn count_entries(db: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
        .unwrap()
}

fn start_sec(built: &Built) -> Sec {
    let node = built.sec.start();
    let expected = count_entries(&built.sec.path.join("focal.db"));
    assert!(expected >= built.total_entries);
    let proxy = Proxy::start(node.addr);
    Sec {
        node,
        proxy,
        expected,
    }
}

/// Starts the fresh node from the pristine copy of its data directory,
/// joined to the secretariat through the proxy, `mesh = false`.
fn start_fresh(
    built: &Built,
    sec: &Sec,
    anti_entropy_ms: Option<u64>,
    max_entries_per_second: Option<u64>,
) -> (RunningNode, Instant) {
    let path = &built.fresh.path;
    if path.exists() {
        std::fs::remove_dir_all(path).unwrap();
    }
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(path.with_extension("pristine"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
    let out = focal_node(&[
        "join",
        "--data",
        path.to_str().unwrap(),
        "--network-id",
        &built.network_id,
        "--secretariat-key",
        &hex::encode(built.sec.node_key),
        "--peer",
        &sec.proxy.addr.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    built.fresh.set_config("# mesh = true", "mesh = false");
    if let Some(ms) = anti_entropy_ms {
        built.fresh.set_config(
            "# anti_entropy_ms = 5000",
            &format!("anti_entropy_ms = {ms}"),
        );
    }
    if let Some(n) = max_entries_per_second {
        built.fresh.set_config(
            "# max_entries_per_second = 50000",
            &format!("max_entries_per_second = {n}"),
        );
    }
    let started = Instant::now();
    let fresh = RunningNode::start(path.clone(), built.fresh.node_key, &[]);
    assert_eq!(fresh.addr, built.fresh_listen);
    (fresh, started)
}

const CUT_OFF: &str = "peer exceeded a limit";

/// Polls the fresh node's database (read-only, as `focal-node verify`
/// does) until it holds `expected` log entries, and returns when it did;
/// with `cut_off`, returns early if the node logs that it cut its peer off.
fn wait_for_entries(
    fresh: &RunningNode,
    started: Instant,
    expected: i64,
    cut_off: bool,
) -> Result<Instant, String> {
    let conn = rusqlite::Connection::open_with_flags(
        fresh.data.join("focal.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut last_report = Instant::now();
    let mut last_log_check = Instant::now();
    loop {
        let held: i64 = conn
            .query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
            .unwrap_or(0);
        if held >= expected {
            return Ok(Instant::now());
        }
        if cut_off && last_log_check.elapsed() > Duration::from_millis(250) {
            last_log_check = Instant::now();
            if let Some(line) = fresh.log_text().lines().find(|l| l.contains(CUT_OFF)) {
                return Err(line.to_owned());
            }
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "  … {held}/{expected} entries after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        if started.elapsed() >= CATCH_UP_DEADLINE {
            panic!(
                "the fresh node did not catch up within {CATCH_UP_DEADLINE:?} ({held}/{expected}):\n{}",
                tail(&fresh.log_text(), 40)
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the proxy has copied nothing for `quiet`.
fn wait_quiet(proxy: &Proxy, quiet: Duration, deadline: Duration) {
    let start = Instant::now();
    while proxy.last_activity().is_some_and(|at| at.elapsed() < quiet) {
        if start.elapsed() >= deadline {
            panic!("the link never went quiet");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until less than `threshold` bytes cross the proxy in one second.
fn wait_settled(proxy: &Proxy, threshold: u64) {
    let start = Instant::now();
    loop {
        let t = Instant::now();
        thread::sleep(Duration::from_secs(1));
        let (up, down) = proxy.bytes_since(t);
        if up + down < threshold {
            return;
        }
        if start.elapsed() >= CATCH_UP_DEADLINE {
            panic!("the link never settled");
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Accepted and rejected entries the fresh node reports for its peer.
fn peer_counts(fresh: &NodeDir) -> (u64, u64) {
    let text = std::fs::read_to_string(fresh.path.join("status.json")).unwrap_or_default();
    let status: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let peers = status["peers"].as_array().cloned().unwrap_or_default();
    peers.iter().fold((0, 0), |(a, r), p| {
        (
            a + p["accepted"].as_u64().unwrap_or(0),
            r + p["rejected"].as_u64().unwrap_or(0),
        )
    })
}

fn stop(mut node: RunningNode) {
    let status = node.terminate();
    assert!(status.success(), "{}", tail(&node.log_text(), 40));
}

// ---------------------------------------------------------------------------
// Measurement 2

/// `max_entries_per_second` of the fresh node when the default cut the
/// secretariat off.
const RAISED_LIMIT: u64 = 10_000_000;

struct CatchUp {
    entries: i64,
    time: Duration,
    bytes_at_done: (u64, u64),
    bytes_total: (u64, u64),
    accepted: u64,
    rejected: u64,
    refused_unknown_key: usize,
    refused_gap: usize,
    /// Times the fresh node cut the secretariat off (in the measured run).
    cut_offs: usize,
    /// … of which before it held every entry.
    cut_offs_at_done: usize,
    /// What happened with the default configuration, if it failed.
    default_failed: Option<String>,
}

fn count_lines(log: &str, needles: &[&str]) -> usize {
    log.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

fn catch_up(built: &Built) -> CatchUp {
    let sec = start_sec(built);
    let (mut fresh, mut started) = start_fresh(built, &sec, None, None);
    let mut default_failed = None;
    let done = match wait_for_entries(&fresh, started, sec.expected, true) {
        Ok(done) => done,
        Err(line) => {
            let first = started.elapsed();
            let held_then = count_entries(&fresh.data.join("focal.db"));
            // Watch it a while longer: does it get past the cut-off?
            thread::sleep(Duration::from_secs(15));
            let held = count_entries(&fresh.data.join("focal.db"));
            let log = fresh.log_text();
            let why = line.split("why=").nth(1).unwrap_or(&line).trim().to_owned();
            default_failed = Some(format!(
                "With the default `max_entries_per_second = 50000` the fresh node cut the \
                 secretariat off after {:.1} s holding {held_then} of {} entries (\"{why}\"); \
                 {:.0} s later it had cut it off {} times and held {held} entries. Entries \
                 refused so far: {} \"not a key in the roster\", {} \"sequence gap\". \
                 Measured again from the same pristine data directory with \
                 `max_entries_per_second = {RAISED_LIMIT}`; then",
                first.as_secs_f64(),
                sec.expected,
                started.elapsed().as_secs_f64(),
                count_lines(&log, &[CUT_OFF]),
                count_lines(&log, &["entry refused", "is not a key in the roster"]),
                count_lines(&log, &["entry refused", "sequence gap"]),
            ));
            stop(fresh);
            (fresh, started) = start_fresh(built, &sec, None, Some(RAISED_LIMIT));
            wait_for_entries(&fresh, started, sec.expected, false).unwrap()
        }
    };
    let time = done - started;
    let bytes_at_done = sec.proxy.bytes_since(started);
    let cut_offs_at_done = count_lines(&fresh.log_text(), &[CUT_OFF]);
    // Whatever is still in flight (duplicates) counts too; anti-entropy
    // rounds (every 5 s by default) are a few kB.
    wait_quiet(&sec.proxy, Duration::from_millis(2_000), CATCH_UP_DEADLINE);
    let bytes_total = sec.proxy.bytes_since(started);
    thread::sleep(Duration::from_millis(1_100));
    let (accepted, rejected) = peer_counts(&built.fresh);
    let log = fresh.log_text();
    stop(fresh);
    stop(sec.node);
    CatchUp {
        entries: sec.expected,
        time,
        bytes_at_done,
        bytes_total,
        accepted,
        rejected,
        refused_unknown_key: count_lines(&log, &["entry refused", "is not a key in the roster"]),
        refused_gap: count_lines(&log, &["entry refused", "sequence gap"]),
        cut_offs: count_lines(&log, &[CUT_OFF]),
        cut_offs_at_done,
        default_failed,
    }
}

// ---------------------------------------------------------------------------
// Measurement 3

struct Rounds {
    /// Median bytes of one round, fresh node → secretariat.
    up: u64,
    /// Median bytes of one round, secretariat → fresh node.
    down: u64,
    count: usize,
    min_total: u64,
    max_total: u64,
}

fn anti_entropy(built: &Built) -> Rounds {
    let sec = start_sec(built);
    let (fresh, started) = start_fresh(built, &sec, Some(AE_MS), Some(RAISED_LIMIT));
    wait_for_entries(&fresh, started, sec.expected, false).unwrap();
    wait_settled(&sec.proxy, 64 * 1024);
    let start = Instant::now();
    thread::sleep(AE_WINDOW);
    let chunks = sec.proxy.chunks_since(start);
    // A round is a burst of chunks; rounds are AE_MS apart.
    let mut rounds: Vec<(u64, u64)> = Vec::new();
    let mut last: Option<Instant> = None;
    for c in chunks {
        if last.is_none_or(|l| c.at.duration_since(l) > Duration::from_millis(200)) {
            rounds.push((0, 0));
        }
        last = Some(c.at);
        let round = rounds.last_mut().unwrap();
        if c.up {
            round.0 += c.bytes as u64;
        } else {
            round.1 += c.bytes as u64;
        }
    }
    stop(fresh);
    stop(sec.node);
    assert!(rounds.len() >= 3, "too few anti-entropy rounds observed");
    let mut totals: Vec<u64> = rounds.iter().map(|r| r.0 + r.1).collect();
    totals.sort_unstable();
    let mut ups: Vec<u64> = rounds.iter().map(|r| r.0).collect();
    ups.sort_unstable();
    let mut downs: Vec<u64> = rounds.iter().map(|r| r.1).collect();
    downs.sort_unstable();
    Rounds {
        up: ups[ups.len() / 2],
        down: downs[downs.len() / 2],
        count: rounds.len(),
        min_total: totals[0],
        max_total: totals[totals.len() - 1],
    }
}

// ---------------------------------------------------------------------------
// Measurement 4

fn practice(title: &str) -> pb::CreateRequest {
    pb::CreateRequest {
        r#type: "practice".into(),
        fields_json: json!({
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn wait_async(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        if start.elapsed() >= deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Single-node local write latency (the baseline of measurement 4).
async fn local_writes() -> Vec<Duration> {
    let dir = NodeDir::init("ZZL");
    let token = dir.token("bench");
    let node = dir.start();
    let client = client_for(&connection_for(&node, &token)).await;
    let mut latencies = Vec::new();
    for i in 0..(LOCAL_WRITES + 20) {
        let t = Instant::now();
        client
            .records()
            .create(practice(&format!("Local {i}")))
            .await
            .unwrap();
        if i >= 20 {
            latencies.push(t.elapsed());
        }
    }
    stop(node);
    latencies
}

struct Propagation {
    reach_all: Vec<Duration>,
    reach_first: Vec<Duration>,
    ack: Vec<Duration>,
}

async fn propagation() -> Propagation {
    let mut net = TestNetwork::start(&NET_MEMBERS, |_, _| {});
    let dirs: Vec<std::path::PathBuf> = net.all().map(|m| m.dir.path.clone()).collect();
    wait_async("a full mesh", Duration::from_secs(60), || {
        dirs.iter().all(|dir| {
            let status: Value = std::fs::read_to_string(dir.join("status.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            status["peers"].as_array().is_some_and(|peers| {
                peers
                    .iter()
                    .filter(|p| p["connected"].as_bool() == Some(true))
                    .count()
                    >= NET_MEMBERS.len()
            })
        })
    })
    .await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut clients = Vec::new();
    for (i, node) in net.all().enumerate() {
        let client = client_for(&node.conn()).await;
        let mut stream = client
            .records()
            .watch(pb::WatchRequest {
                r#type: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(event)) = stream.message().await {
                let at = Instant::now();
                if let Some(record) = event.record {
                    let _ = tx.send((i, record.id, at));
                }
            }
        });
        clients.push(client);
    }
    let nodes = clients.len();
    let mut result = Propagation {
        reach_all: Vec::new(),
        reach_first: Vec::new(),
        ack: Vec::new(),
    };
    for w in 0..(WARMUP + PROPAGATION_WRITES) {
        let origin = 1 + w % NET_MEMBERS.len();
        let t0 = Instant::now();
        let id = clients[origin]
            .records()
            .create(practice(&format!("Propagated {w}")))
            .await
            .unwrap()
            .into_inner()
            .id;
        let ack = t0.elapsed();
        let mut seen: HashMap<usize, Instant> = HashMap::new();
        while seen.len() < nodes {
            let (node, record, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("every node to report the write")
                .unwrap();
            if record == id {
                seen.entry(node).or_insert(at);
            }
        }
        let others: Vec<Duration> = seen
            .iter()
            .filter(|(node, _)| **node != origin)
            .map(|(_, at)| at.duration_since(t0))
            .collect();
        if w >= WARMUP {
            result.reach_all.push(*others.iter().max().unwrap());
            result.reach_first.push(*others.iter().min().unwrap());
            result.ack.push(ack);
        }
        // Let relayed duplicates settle before the next write.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(clients);
    for member in &mut net.members {
        member.stop();
    }
    net.secretariat.stop();
    result
}

// ---------------------------------------------------------------------------

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn kb(bytes: u64) -> String {
    if bytes < 10_000 {
        format!("{bytes} B")
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let run_start = Instant::now();
    focal_tests::init_crypto();
    // Build the binaries before anything is timed.
    let _ = focal_tests::bin_dir();
    let bench_start = Instant::now();
    let members = members_count();
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    // `FOCAL_BENCH_PROPAGATION_ONLY=1` runs measurement 4 alone.
    if std::env::var_os("FOCAL_BENCH_PROPAGATION_ONLY").is_none() {
        // 1 and 2: the catch-up network, the secretariat's log (with the
        // roster) first in the catch-up order.
        eprintln!(
            "[{:>5.0} s] building {members} members × {RECORDS} records × {CHANGES} changes, roster log first",
            bench_start.elapsed().as_secs_f64()
        );
        let big = build(members, RECORDS, CHANGES, true, 0).await;
        eprintln!(
            "[{:>5.0} s] generated in {:.1} s, ingested {} entries in {:.1} s; catching up",
            bench_start.elapsed().as_secs_f64(),
            big.generate_time.as_secs_f64(),
            big.entries,
            big.ingest_time.as_secs_f64()
        );
        let ingest_rate = big.entries as f64 / big.ingest_time.as_secs_f64();
        rows.push([
            format!(
                "1. ingest of signed entries (verify, authorize, store, apply): `Writer::check` of each batch of {BATCH} while `Writer::store_checked` stores the one before, as a peer's stream is received, {} entries of 1 change from {} origins",
                big.entries, big.members
            ),
            format!(
                "{ingest_rate:.0} entries/s ({:.1} MB/s of entries)",
                big.entry_bytes as f64 / 1e6 / big.ingest_time.as_secs_f64()
            ),
            format!(
                "ed25519-dalek single-signature `verify` over the same {} signatures, on all {} cores at once: {:.0}/s (one core: {:.0}/s)",
                big.entries,
                thread::available_parallelism().map_or(1, |n| n.get()),
                big.verify_all_cores,
                big.verify_rate
            ),
            format!(
                "{:.3} (goal ≥ 0.5; {:.3} of one core)",
                ingest_rate / big.verify_all_cores,
                ingest_rate / big.verify_rate
            ),
        ]);

        if std::env::var_os("FOCAL_BENCH_INGEST_ONLY").is_some() {
            print_rows(&rows);
            return;
        }
        let cu = catch_up(&big);
        eprintln!(
            "[{:>5.0} s] caught up in {:.1} s",
            bench_start.elapsed().as_secs_f64(),
            cu.time.as_secs_f64()
        );
        let wire = cu.bytes_total.0 + cu.bytes_total.1;
        let wire_done = cu.bytes_at_done.0 + cu.bytes_at_done.1;
        let config = match &cu.default_failed {
            Some(_) => {
                format!("fresh node with `max_entries_per_second = {RAISED_LIMIT}`, see notes")
            }
            None => "default configuration".to_owned(),
        };
        rows.push([
            format!(
                "2a. fresh node catch-up, bytes on the wire: {} members × {RECORDS} records × {CHANGES} changes = {} changes in {} documents; the roster's log first in the catch-up order ({} of {} member logs before it); {config}",
                big.members, big.entries, big.docs, big.logs_before_roster, big.members
            ),
            format!(
                "{} ({} up, {} down; {} when the last entry was stored); the encoded entries: {}",
                mb(wire),
                kb(cu.bytes_total.0),
                mb(cu.bytes_total.1),
                mb(wire_done),
                mb(big.entry_bytes)
            ),
            format!(
                "Automerge `save()` of the same documents: {}",
                mb(big.cost.save)
            ),
            format!("{:.2} (goal ≤ 2)", wire as f64 / big.cost.save as f64),
        ]);
        rows.push([
            "2b. same catch-up, bytes on the wire".to_owned(),
            mb(wire),
            format!(
                "Automerge sync protocol, each full document → an empty one, until no message: {}",
                mb(big.cost.sync_from_empty)
            ),
            format!("{:.2}", wire as f64 / big.cost.sync_from_empty as f64),
        ]);
        rows.push([
            "2c. same catch-up, time from starting the fresh node until it holds every entry"
                .to_owned(),
            format!(
                "{:.1} s ({:.0} entries/s end to end)",
                cu.time.as_secs_f64(),
                cu.entries as f64 / cu.time.as_secs_f64()
            ),
            format!(
                "in-process ingest (`Writer::check`, `Writer::store_checked`) of the same entries (1.): {:.1} s",
                big.ingest_time.as_secs_f64()
            ),
            format!(
                "{:.2}",
                cu.time.as_secs_f64() / big.ingest_time.as_secs_f64()
            ),
        ]);
        notes.push(format!(
            "2a–2c: {}the fresh node's status counts {} entries accepted and {} refused; it cut \
             the secretariat off {} time(s) (\"{CUT_OFF}\"), {} of them before it held every \
             entry. Wire bytes / encoded entries = {:.2}.",
            cu.default_failed
                .as_deref()
                .map(|f| format!("{f} "))
                .unwrap_or_default(),
            cu.accepted,
            cu.rejected,
            cu.cut_offs,
            cu.cut_offs_at_done,
            wire as f64 / big.entry_bytes as f64
        ));
        for c in &big.compression {
            rows.push([
                format!(
                    "2e. the same entries in `Pull` messages of {} entr{} ({} messages), each compressed alone with zstd (level {})",
                    c.size,
                    if c.size == 1 { "y" } else { "ies" },
                    c.messages,
                    zstd::DEFAULT_COMPRESSION_LEVEL
                ),
                format!("{} compressed", mb(c.compressed)),
                format!("the messages uncompressed: {}", mb(c.raw)),
                format!("{:.2}", c.compressed as f64 / c.raw as f64),
            ]);
        }
        let (first_time, first_wire) = (cu.time, wire);
        drop(big);

        // 2d: the same network, the roster's log at the median position.
        let half = members / 2;
        eprintln!(
            "[{:>5.0} s] building the same network, {half} member logs before the roster's",
            bench_start.elapsed().as_secs_f64()
        );
        let mid = build(members, RECORDS, CHANGES, false, half).await;
        let cu = catch_up(&mid);
        eprintln!(
            "[{:>5.0} s] caught up in {:.1} s",
            bench_start.elapsed().as_secs_f64(),
            cu.time.as_secs_f64()
        );
        let wire = cu.bytes_total.0 + cu.bytes_total.1;
        rows.push([
            format!(
                "2d. the same catch-up with the roster's log at the median position ({} of {} member logs before it)",
                mid.logs_before_roster, mid.members
            ),
            format!(
                "{}: {:.1} s, {} on the wire ({} when the last entry was stored)",
                match &cu.default_failed {
                    Some(_) => format!(
                        "default configuration: cut off, no catch-up (see notes); with `max_entries_per_second = {RAISED_LIMIT}`"
                    ),
                    None => "default configuration".to_owned(),
                },
                cu.time.as_secs_f64(),
                mb(wire),
                mb(cu.bytes_at_done.0 + cu.bytes_at_done.1),
            ),
            format!(
                "roster's log first (2a, 2c): {:.1} s, {}",
                first_time.as_secs_f64(),
                mb(first_wire)
            ),
            format!(
                "time {:.2}, bytes {:.2}",
                cu.time.as_secs_f64() / first_time.as_secs_f64(),
                wire as f64 / first_wire as f64
            ),
        ]);
        notes.push(format!(
            "2d: {}the fresh node's status counts {} entries accepted and {} refused; its log \
             shows {} refusals \"origin … is not a key in the roster\" and {} \"sequence gap\", {} \
             cut-off(s), {} of them before it held every entry. Wire bytes / encoded entries = \
             {:.2}.",
            cu.default_failed
                .as_deref()
                .map(|f| format!("{f} "))
                .unwrap_or_default(),
            cu.accepted,
            cu.rejected,
            cu.refused_unknown_key,
            cu.refused_gap,
            cu.cut_offs,
            cu.cut_offs_at_done,
            wire as f64 / mid.entry_bytes as f64
        ));
        drop(mid);

        // 3: anti-entropy, in sync, 100 and 20,000 documents, same logs.
        let mut rounds = Vec::new();
        for docs in AE_DOCS {
            eprintln!(
                "[{:>5.0} s] anti-entropy with {docs} documents",
                bench_start.elapsed().as_secs_f64()
            );
            let built = build(AE_MEMBERS, docs / AE_MEMBERS, 1, true, 0).await;
            let r = anti_entropy(&built);
            rounds.push((docs, built.total_entries, built.cost, r));
        }
        let (small_docs, small_entries, small_cost, small) = &rounds[0];
        let (large_docs, _, large_cost, large) = &rounds[1];
        let logs = AE_MEMBERS + 1;
        rows.push([
            format!(
                "3a. one anti-entropy round between two nodes in sync, {small_docs} documents ({logs} logs, {small_entries} entries)"
            ),
            format!(
                "{} ({} request, {} response; median of {} rounds, range {}–{})",
                kb(small.up + small.down),
                kb(small.up),
                kb(small.down),
                small.count,
                kb(small.min_total),
                kb(small.max_total)
            ),
            format!(
                "Automerge sync protocol between in-sync copies of the same {small_docs} documents (fresh sync states): {}",
                kb(small_cost.sync_in_sync)
            ),
            format!(
                "{:.2}",
                (small.up + small.down) as f64 / small_cost.sync_in_sync as f64
            ),
        ]);
        rows.push([
            format!("3b. the same, {large_docs} documents ({logs} logs)"),
            format!(
                "{} ({} request, {} response; median of {} rounds, range {}–{}); Automerge sync of the same documents: {}",
                kb(large.up + large.down),
                kb(large.up),
                kb(large.down),
                large.count,
                kb(large.min_total),
                kb(large.max_total),
                kb(large_cost.sync_in_sync)
            ),
            format!("the round with {small_docs} documents: {}", kb(small.up + small.down)),
            format!(
                "{:.2}",
                (large.up + large.down) as f64 / (small.up + small.down) as f64
            ),
        ]);

        notes.push(format!(
            "3: a round, as the fresh node runs it every `anti_entropy_ms` ({AE_MS} ms here), is \
             (protocol 2) one `Heads` call carrying the digest of the heads the secretariat listed \
             last; between nodes in sync the answer says \"unchanged\" and carries digests only, \
             so no head, no `Pull` and no `Forks` travels: {:.1} B per log with {large_docs} \
             documents, {:.1} B per log with {small_docs}, the same whatever the number of logs or \
             documents (gRPC and TLS framing included). Automerge's own protocol needs one \
             exchange per document. (Fresh node with `max_entries_per_second = {RAISED_LIMIT}` so \
             that its catch-up before the measurement is not cut off.)",
            (large.up + large.down) as f64 / logs as f64,
            (small.up + small.down) as f64 / logs as f64,
        ));
    }

    // 4: propagation in a 6-node network.
    eprintln!(
        "[{:>5.0} s] single-node writes, then the 6-node network",
        bench_start.elapsed().as_secs_f64()
    );
    let local = local_writes().await;
    let local_median = median(local.clone());
    let prop = propagation().await;
    let reach = median(prop.reach_all.clone());
    rows.push([
        format!(
            "4. one write reaching all 6 nodes (secretariat + 5 members, full mesh, loopback), median of {PROPAGATION_WRITES} writes",
            ),
        format!(
            "{} (p90 {}, p99 {}; first other node {}; the writer's own ack {})",
            ms(reach),
            ms(percentile(prop.reach_all.clone(), 0.9)),
            ms(percentile(prop.reach_all.clone(), 0.99)),
            ms(median(prop.reach_first.clone())),
            ms(median(prop.ack.clone()))
        ),
        format!(
            "single-node local write (create, durable ack), median of {LOCAL_WRITES}: {}",
            ms(local_median)
        ),
        format!(
            "median {:.1}, p99 {:.1} (goal: p99 ≤ 3)",
            reach.as_secs_f64() / local_median.as_secs_f64(),
            percentile(prop.reach_all.clone(), 0.99).as_secs_f64() / local_median.as_secs_f64()
        ),
    ]);

    println!("## Federation (issue 4)\n");
    println!(
        "Sizes: catch-up network {members} members × {RECORDS} records × {CHANGES} changes \
         (create + {} updates), one change per entry; anti-entropy networks {AE_MEMBERS} members \
         with {} and {} documents of 1 change; 6-node network SEC + {}.\n",
        CHANGES - 1,
        AE_DOCS[0],
        AE_DOCS[1],
        NET_MEMBERS.join(", ")
    );
    notes.insert(
        0,
        "1: the baseline is single-signature `verify` (ed25519-dalek, reached through \
         `NodeKey::signing_key()`), not `verify_batch`: every node must accept exactly the \
         entries single verification accepts."
            .to_owned(),
    );
    print_rows(&rows);
    println!();
    for note in &notes {
        println!("- {note}");
    }
    println!(
        "\nBench time: {:.0} s (plus {:.0} s building the binaries)",
        bench_start.elapsed().as_secs_f64(),
        (bench_start - run_start).as_secs_f64()
    );
}

fn print_rows(rows: &[[String; 4]]) {
    println!("| measurement | result | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    for [a, b, c, d] in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
}
