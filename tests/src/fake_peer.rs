//! A fake member node for adversarial tests: a real tonic `PeerService` on
//! `127.0.0.1:0` behind real TLS 1.3 with its own ed25519 node key (the
//! node's own `server_config`, trusting the victims' keys), added to the
//! roster as member `FRA` with a valid key through `focal admin member add`,
//! exactly as an operator adds a member. Both the secretariat and `ESP`
//! (mesh) dial it and become victims. Shared by `adversary.rs` and
//! `hostile_entries.rs`.
//!
//! Every scenario checks what each victim stored (its `focal.db`), what it
//! logged, what its status file says about the peer, and whether it cut the
//! peer off: the fake peer records every `Pull` (who, follow or
//! anti-entropy, when it started, when the victim dropped it), so a cut is a
//! dropped follow stream and a reconnection after the back-off.

use std::{
    io::{self, Read as _, Write as _},
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, RwLock},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use crate::{DEADLINE, TestMember, TestNetwork, focal_ok, records_on};
use automerge::{Author, Automerge};
use focal_node::{
    doc,
    identity::{NodeId, NodeKey},
    log::{Audience, EntryBody, EntryHash, LogEntry},
    records::{self, RecordType, ValidationContext},
    roster::{Roster, add_member_patch},
};
use focal_proto::v1::{
    self as pb,
    peer_service_server::{PeerService, PeerServiceServer},
};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value, json};
use tokio::{
    io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, transport::server::Connected};

/// The member code the fake peer joins as.
pub const FAKE: &str = "FRA";
/// The victims' back-off (`tune_for_tests`): 100 ms, doubling.
pub const BACKOFF: Duration = Duration::from_millis(100);
/// `server.max_message_bytes` by default.
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024;
/// Timestamps in the invented records.
pub const WHEN: &str = "2026-03-08T09:00:00.000Z";

// ---------------------------------------------------------------------------
// The fake peer.

/// What the fake peer answers to the `n`-th follow session of a victim (and
/// to the anti-entropy pulls within it).
pub type Script = Box<dyn Fn(usize) -> Vec<pb::PullResponse> + Send + Sync>;

/// One `Pull` the fake peer served.
#[derive(Debug, Clone)]
pub struct Call {
    /// The key of the client certificate.
    pub victim: Option<NodeId>,
    /// A session's live stream (true) or an anti-entropy round.
    pub follow: bool,
    pub started: Instant,
    /// When the victim dropped a follow stream (the fake never ends one).
    pub dropped: Option<Instant>,
}

pub type Calls = Arc<Mutex<Vec<Call>>>;

/// The forks the fake peer lists (`Forks`), and the entries it serves
/// (`Entry`, by hash): set by a test to offer "proofs".
pub type Offered = Arc<Mutex<(Vec<pb::Fork>, Vec<Vec<u8>>)>>;

#[derive(Clone)]
pub struct FakeService {
    script: Arc<Script>,
    calls: Calls,
    offered: Offered,
    forks_asked: Arc<std::sync::atomic::AtomicUsize>,
    heads_v2: HeadsV2,
}

/// The fake's answer to `Heads` when it speaks version 2 (`None`: it
/// speaks version 1).
pub type HeadsV2 = Arc<Mutex<Option<pb::HeadsResponse>>>;

#[tonic::async_trait]
impl PeerService for FakeService {
    type PullStream = ReceiverStream<Result<pb::PullResponse, Status>>;

    async fn handovers(
        &self,
        _request: Request<pb::HandoversRequest>,
    ) -> Result<Response<pb::HandoversResponse>, Status> {
        Ok(Response::new(pb::HandoversResponse::default()))
    }

    async fn pull(
        &self,
        request: Request<pb::PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let victim = request.extensions().get::<Victim>().and_then(|v| v.0);
        let follow = request.get_ref().follow;
        let (index, session) = {
            let mut calls = self.calls.lock().unwrap();
            let sessions = calls
                .iter()
                .filter(|c| c.victim == victim && c.follow)
                .count();
            calls.push(Call {
                victim,
                follow,
                started: Instant::now(),
                dropped: None,
            });
            let session = if follow {
                sessions
            } else {
                sessions.saturating_sub(1)
            };
            (calls.len() - 1, session)
        };
        let responses = (self.script)(session);
        let (tx, rx) = mpsc::channel(4);
        let calls = self.calls.clone();
        let dropped = move || calls.lock().unwrap()[index].dropped = Some(Instant::now());
        tokio::spawn(async move {
            for response in responses {
                if tx.send(Ok(response)).await.is_err() {
                    dropped();
                    return;
                }
            }
            // A follow stream stays open until the victim drops it; an
            // anti-entropy round ends here.
            if follow {
                tx.closed().await;
                dropped();
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heads(
        &self,
        _request: Request<pb::HeadsRequest>,
    ) -> Result<Response<pb::HeadsResponse>, Status> {
        let scripted = self.heads_v2.lock().unwrap().clone();
        Ok(Response::new(scripted.unwrap_or_default()))
    }

    /// Speaks version 1 only (the victims run every anti-entropy round as a
    /// `Pull`, which is what the scripts answer), unless a test gave it a
    /// version 2 `Heads` answer.
    async fn hello(
        &self,
        _request: Request<pb::HelloRequest>,
    ) -> Result<Response<pb::HelloResponse>, Status> {
        if self.heads_v2.lock().unwrap().is_some() {
            return Ok(Response::new(pb::HelloResponse {
                version: 2,
                features: Vec::new(),
            }));
        }
        Err(Status::unimplemented("version 1"))
    }

    async fn hashes(
        &self,
        request: Request<pb::HashesRequest>,
    ) -> Result<Response<pb::HashesResponse>, Status> {
        let asked = request.get_ref().positions.len();
        Ok(Response::new(pb::HashesResponse {
            hashes: vec![Vec::new(); asked],
        }))
    }

    async fn entry(
        &self,
        request: Request<pb::EntryRequest>,
    ) -> Result<Response<pb::EntryResponse>, Status> {
        let hash = request.get_ref().hash.clone();
        let offered = self.offered.lock().unwrap();
        let entry = offered
            .1
            .iter()
            .find(|bytes| LogEntry::hash_of(bytes).0[..] == hash[..])
            .cloned()
            .unwrap_or_default();
        Ok(Response::new(pb::EntryResponse { entry }))
    }

    async fn forks(
        &self,
        _request: Request<pb::ForksRequest>,
    ) -> Result<Response<pb::ForksResponse>, Status> {
        self.forks_asked
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let forks = self.offered.lock().unwrap().0.clone();
        Ok(Response::new(pb::ForksResponse { forks }))
    }
}

/// The connect info tonic puts in each request: the client's key.
#[derive(Debug, Clone)]
pub struct Victim(pub Option<NodeId>);

/// The plaintext side of a TLS connection, handed to tonic.
pub struct PlainConnection {
    io: DuplexStream,
    victim: Victim,
}

impl Connected for PlainConnection {
    type ConnectInfo = Victim;

    fn connect_info(&self) -> Victim {
        self.victim.clone()
    }
}

impl AsyncRead for PlainConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for PlainConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Runs TLS (the node's own rustls server config) over one TCP connection
/// and pipes the plaintext to tonic through an in-memory duplex stream, once
/// the handshake is done (the tests crate has rustls but not tokio-rustls).
pub async fn serve_tls(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    connections: mpsc::Sender<Result<PlainConnection, io::Error>>,
) -> io::Result<()> {
    let mut tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    tls.set_buffer_limit(None);
    let (mut ours, theirs) = tokio::io::duplex(1 << 20);
    let mut theirs = Some(theirs);
    let mut from_net = vec![0u8; 64 * 1024];
    let mut plain = vec![0u8; 64 * 1024];
    let mut from_app = vec![0u8; 64 * 1024];
    loop {
        while tls.wants_write() {
            let mut out = Vec::new();
            tls.write_tls(&mut out)?;
            tcp.write_all(&out).await?;
        }
        if !tls.is_handshaking()
            && let Some(io) = theirs.take()
        {
            let victim = tls
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|cert| focal_client::transport::certificate_key(cert.as_ref()).ok())
                .map(NodeId);
            let connection = PlainConnection {
                io,
                victim: Victim(victim),
            };
            if connections.send(Ok(connection)).await.is_err() {
                return Ok(());
            }
        }
        tokio::select! {
            read = tcp.read(&mut from_net) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                let mut input = &from_net[..n];
                while !input.is_empty() {
                    if tls.read_tls(&mut input)? == 0 {
                        break;
                    }
                    if let Err(e) = tls.process_new_packets() {
                        // Send the alert, then give up.
                        let mut out = Vec::new();
                        let _ = tls.write_tls(&mut out);
                        let _ = tcp.write_all(&out).await;
                        return Err(io::Error::other(e));
                    }
                    loop {
                        match tls.reader().read(&mut plain) {
                            Ok(0) => return Ok(()),
                            Ok(n) => ours.write_all(&plain[..n]).await?,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            read = ours.read(&mut from_app), if theirs.is_none() => {
                let n = read?;
                if n == 0 {
                    tls.send_close_notify();
                    let mut out = Vec::new();
                    tls.write_tls(&mut out)?;
                    tcp.write_all(&out).await?;
                    return Ok(());
                }
                tls.writer().write_all(&from_app[..n])?;
            }
        }
    }
}

/// A member node that is not a real one: its key is in the roster, it
/// speaks TLS and `PeerService`, and it answers `Pull` from a script.
pub struct FakePeer {
    pub id: NodeId,
    pub addr: SocketAddr,
    pub calls: Calls,
    /// What `Forks` lists and `Entry` serves.
    pub offered: Offered,
    /// How many times victims asked `Forks`.
    pub forks_asked: Arc<std::sync::atomic::AtomicUsize>,
    /// Its `Heads` answer in version 2, if it speaks it.
    pub heads_v2: HeadsV2,
    pub _runtime: tokio::runtime::Runtime,
}

impl FakePeer {
    /// Serves `script` with `key`, accepting the secretariat's and `ESP`'s
    /// client certificates (through the node's own roster verifier).
    pub fn start(key: NodeKey, net: &TestNetwork, script: Script) -> Self {
        crate::init_crypto();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut trusted = Map::new();
        for member in &net.members {
            let patch = add_member_patch(
                &member.dir.member.parse().unwrap(),
                &NodeId(member.dir.node_key),
                "127.0.0.1:1",
            );
            focal_node::json::merge_patch(&mut trusted, &patch);
        }
        let anchor = Some(NodeId(net.secretariat.dir.node_key));
        let roster = Arc::new(RwLock::new(Roster::from_json(&trusted, anchor, None)));
        let config = Arc::new(focal_node::net::tls::server_config(&key, roster).unwrap());
        let calls: Calls = Default::default();
        let offered: Offered = Default::default();
        let service = FakeService {
            script: Arc::new(script),
            calls: calls.clone(),
            offered: offered.clone(),
            forks_asked: Default::default(),
            heads_v2: Default::default(),
        };
        let forks_asked = service.forks_asked.clone();
        let heads_v2 = service.heads_v2.clone();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (conn_tx, conn_rx) = mpsc::channel(16);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_tls(tcp, config.clone(), conn_tx.clone()));
            }
        });
        runtime.spawn(
            tonic::transport::Server::builder()
                // Compressed, as today's nodes stream to a client that
                // offers zstd (the victims do).
                .add_service(
                    PeerServiceServer::new(service)
                        .send_compressed(tonic::codec::CompressionEncoding::Zstd),
                )
                .serve_with_incoming(ReceiverStream::new(conn_rx)),
        );
        Self {
            id: key.id(),
            addr,
            calls,
            offered,
            forks_asked,
            heads_v2,
            _runtime: runtime,
        }
    }

    /// The follow sessions `victim` opened, in order.
    pub fn sessions(&self, victim: &TestMember) -> Vec<Call> {
        let key = Some(NodeId(victim.dir.node_key));
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.victim == key && c.follow)
            .cloned()
            .collect()
    }

    /// The anti-entropy pulls `victim` made.
    pub fn rounds(&self, victim: &TestMember) -> usize {
        let key = Some(NodeId(victim.dir.node_key));
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.victim == key && !c.follow)
            .count()
    }
}

// ---------------------------------------------------------------------------
// Crafting entries.

/// A record id with a 12-character suffix of the id alphabet.
pub fn record_id(member: &str, kind: &str, suffix: &str) -> String {
    assert_eq!(suffix.len(), 12);
    assert!(
        suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    );
    format!("{member}:{kind}:{suffix}")
}

/// A practice record as the node writes it: the envelope, and fields
/// normalized by the node's own validation.
pub fn practice(owner: &str, id: &str, title: &str) -> Map<String, Value> {
    let ctx = ValidationContext {
        owner: owner.parse().unwrap(),
        default_language: "en".to_owned(),
        limits: Default::default(),
    };
    let fields = json!({"kind": "best-practice", "title": title, "themes": ["peacekeeping"]});
    let fields = records::validate(RecordType::Practice, fields.as_object().unwrap(), &ctx)
        .expect("a valid practice");
    let mut record = json!({
        "id": id,
        "type": "practice",
        "owner": owner,
        "visibility": "network",
        "created": WHEN,
        "updated": WHEN,
        "deleted": false,
    })
    .as_object()
    .unwrap()
    .clone();
    record.extend(fields);
    record
}

/// A new document holding `json`, written by a change with `author` (or
/// none); returns the change.
pub fn creation(author: Option<NodeId>, json: &Map<String, Value>) -> Vec<u8> {
    let mut document = Automerge::new();
    if let Some(author) = author {
        document.set_author(Some(Author::from(author.0.to_vec())));
    }
    let mut tx = document.transaction();
    for (key, value) in json {
        doc::put(&mut tx, &automerge::ROOT, key, value).unwrap();
    }
    tx.commit();
    document
        .get_last_local_change()
        .unwrap()
        .raw_bytes()
        .to_vec()
}

/// An entry of `key`'s network log.
pub fn signed(
    key: &NodeKey,
    seq: u64,
    prev: EntryHash,
    doc_id: &str,
    changes: Vec<Vec<u8>>,
) -> LogEntry {
    EntryBody {
        origin: key.id(),
        audience: Audience::Network,
        seq,
        prev,
        doc_id: doc_id.to_owned(),
        changes,
    }
    .sign(key.signing_key())
}

/// The fake peer's own, correctly formed practice, as entry `seq`.
pub fn honest(key: &NodeKey, seq: u64, prev: EntryHash, suffix: &str, title: &str) -> LogEntry {
    let id = record_id(FAKE, "practice", suffix);
    let change = creation(Some(key.id()), &practice(FAKE, &id, title));
    signed(key, seq, prev, &id, vec![change])
}

pub fn message(entries: &[&LogEntry]) -> pb::PullResponse {
    raw_message(entries.iter().map(|e| e.encode()).collect())
}

pub fn raw_message(entries: Vec<Vec<u8>>) -> pb::PullResponse {
    pb::PullResponse {
        entries,
        caught_up: false,
        total: 0,
        chained: false,
    }
}

/// A message in the chained wire form (protocol 2): the first entry whole,
/// every later one without its `prev`, as given (the test decides whether
/// they follow each other).
pub fn chained_message(entries: &[&LogEntry]) -> pb::PullResponse {
    let mut bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.encode()).collect();
    for entry in bytes.iter_mut().skip(1) {
        *entry = focal_node::log::unchain(entry).unwrap();
    }
    raw_chained(bytes)
}

/// Raw bytes as a chained message.
pub fn raw_chained(entries: Vec<Vec<u8>>) -> pb::PullResponse {
    pb::PullResponse {
        chained: true,
        ..raw_message(entries)
    }
}

/// Deterministic noise (no randomness in the tests' data).
pub fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Observing the victims.

/// A network (secretariat + ESP) with the fake peer in its roster as FRA.
pub struct Fixture {
    pub net: TestNetwork,
    pub fake: FakePeer,
}

impl Fixture {
    /// Starts the network, lets `prepare` write the script (it may use the
    /// network), starts the fake peer and adds it to the roster.
    pub fn start(key: NodeKey, prepare: impl FnOnce(&TestNetwork, &NodeKey) -> Script) -> Self {
        Self::start_with(key, None, prepare)
    }

    /// [`Fixture::start`], the fake speaking version 2 of the protocol if
    /// `heads` is given: its answer to every `Heads` call.
    pub fn start_with(
        key: NodeKey,
        heads: Option<pb::HeadsResponse>,
        prepare: impl FnOnce(&TestNetwork, &NodeKey) -> Script,
    ) -> Self {
        let net = TestNetwork::start(&["ESP"], |_, _| {});
        let script = prepare(&net, &key);
        let fake = FakePeer::start(key, &net, script);
        *fake.heads_v2.lock().unwrap() = heads;
        focal_ok(
            &net.secretariat.conn(),
            &[
                "admin",
                "member",
                "add",
                "--member",
                FAKE,
                "--key",
                &fake.id.to_string(),
                "--endpoint",
                &fake.addr.to_string(),
            ],
        );
        Self { net, fake }
    }

    /// The secretariat and ESP: both dial every roster member.
    pub fn victims(&self) -> [&TestMember; 2] {
        [&self.net.secretariat, &self.net.members[0]]
    }

    pub fn esp(&self) -> &TestMember {
        &self.net.members[0]
    }

    /// Waits until every victim has pulled from the fake peer.
    pub fn wait_for_pulls(&self) {
        for victim in self.victims() {
            wait_for(
                &format!("{} to pull from the fake peer", victim.dir.member),
                victim,
                || !self.fake.sessions(victim).is_empty(),
            );
        }
    }

    /// Asserts that `victim` drops the fake peer's stream every time and
    /// reconnects after a growing back-off.
    #[track_caller]
    pub fn assert_cut_off_with_backoff(&self, victim: &TestMember) {
        wait_for(
            &format!("{} to cut the fake peer off three times", victim.dir.member),
            victim,
            || {
                let sessions = self.fake.sessions(victim);
                sessions.len() >= 4 && sessions[..3].iter().all(|s| s.dropped.is_some())
            },
        );
        let s = self.fake.sessions(victim);
        for (n, backoff) in [(1, BACKOFF), (2, BACKOFF * 2), (3, BACKOFF * 4)] {
            let waited = s[n].started - s[n - 1].started;
            assert!(
                waited >= backoff,
                "{}: session {n} began {waited:?} after the one before; the back-off is \
                 {backoff:?}",
                victim.dir.member
            );
        }
    }

    /// Asserts that `victim` keeps its session with the fake peer: one live
    /// stream, never dropped, while anti-entropy rounds go on over it.
    #[track_caller]
    pub fn assert_stays_connected(&self, victim: &TestMember) {
        wait_for(
            &format!("{} to run three anti-entropy rounds", victim.dir.member),
            victim,
            || self.fake.rounds(victim) >= 3,
        );
        let sessions = self.fake.sessions(victim);
        assert_eq!(
            sessions.len(),
            1,
            "{} reconnected: {sessions:?}\n{}",
            victim.dir.member,
            victim.running().log_text()
        );
        assert!(sessions[0].dropped.is_none(), "{sessions:?}");
        assert!(
            !logged(victim, &["disconnecting"]),
            "{}",
            victim.running().log_text()
        );
    }
}

/// Polls `check` until it holds; on timeout, fails with `node`'s log.
#[track_caller]
pub fn wait_for(what: &str, node: &TestMember, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        if start.elapsed() >= DEADLINE {
            panic!(
                "timed out waiting for {what}; log of {}:\n{}",
                node.dir.member,
                node.running().log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether one line of the node's log contains every needle.
pub fn logged(node: &TestMember, needles: &[&str]) -> bool {
    node.running()
        .log_text()
        .lines()
        .any(|line| needles.iter().all(|n| line.contains(n)))
}

#[track_caller]
pub fn wait_logged(node: &TestMember, needles: &[&str]) {
    wait_for(&format!("a log line with {needles:?}"), node, || {
        logged(node, needles)
    });
}

/// The node's database, read-only, while it runs.
pub fn database(node: &TestMember) -> Connection {
    Connection::open_with_flags(
        node.dir.path.join("focal.db"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap()
}

/// (audience, seq, hash) of every log entry with `origin` the node holds.
pub fn entries_of(node: &TestMember, origin: &NodeId) -> Vec<(u8, i64, Vec<u8>)> {
    let db = database(node);
    let mut stmt = db
        .prepare(
            "SELECT audience, seq, hash FROM log_entries WHERE origin = ?1 ORDER BY audience, seq",
        )
        .unwrap();
    stmt.query_map([&origin.0[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// What the node holds from `origin` is exactly `expected`.
#[track_caller]
pub fn assert_holds_exactly(node: &TestMember, origin: &NodeId, expected: &[&LogEntry]) {
    let expected: Vec<(u8, i64, Vec<u8>)> = expected
        .iter()
        .map(|e| {
            (
                e.body.audience.code(),
                e.body.seq as i64,
                e.hash().0.to_vec(),
            )
        })
        .collect();
    assert_eq!(
        entries_of(node, origin),
        expected,
        "{} stored something else from the fake peer",
        node.dir.member
    );
}

/// `(peer, seq, reason)` of the refusals the node recorded for `origin`.
pub fn rejections(node: &TestMember, origin: &NodeId) -> Vec<(String, i64, String)> {
    let db = database(node);
    let mut stmt = db
        .prepare("SELECT peer, seq, reason FROM rejections WHERE origin = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([origin.to_string()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Waits until the node has recorded, in `rejections`, that the fake peer
/// relayed entry `seq` of its own log and why (`reason` contains `needle`).
#[track_caller]
pub fn wait_rejection(node: &TestMember, fake: &NodeId, seq: i64, needle: &str) {
    wait_for(
        &format!("a refusal of entry {seq} ({needle:?}) in `rejections`"),
        node,
        || {
            rejections(node, fake).iter().any(|(peer, s, reason)| {
                *peer == fake.to_string() && *s == seq && reason.contains(needle)
            })
        },
    );
}

/// The fake peer's record is stored and listed by `focal list`.
#[track_caller]
pub fn wait_listed(node: &TestMember, entry: &LogEntry, title: &str) {
    let conn = node.conn();
    let id = entry.body.doc_id.clone();
    wait_for(&format!("{} to list {id}", node.dir.member), node, || {
        records_on(&conn)
            .iter()
            .any(|r| r["id"] == id.as_str() && r["title"]["en"]["text"] == title)
    });
}

/// The record `id` is not on the node.
#[track_caller]
pub fn assert_not_listed(node: &TestMember, id: &str) {
    assert!(
        !records_on(&node.conn()).iter().any(|r| r["id"] == id),
        "{} lists {id}",
        node.dir.member
    );
}

/// The node's `status.json` entry for peer `key`.
pub fn peer_status(node: &TestMember, key: &NodeId) -> Option<Value> {
    crate::peer_status_of(&node.dir.path, &key.to_string())
}

/// The node's status for peer `key`, from a status file written after this
/// call (the node rewrites it every second).
#[track_caller]
pub fn fresh_peer_status(node: &TestMember, key: &NodeId) -> Value {
    let since = std::time::SystemTime::now();
    let path = node.dir.path.join("status.json");
    let mut status = None;
    wait_for("a status file written from now on", node, || {
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified > since);
        status = if fresh { peer_status(node, key) } else { None };
        status.is_some()
    });
    status.unwrap()
}

/// Waits until the status file shows `needle` as the fake peer's last error.
#[track_caller]
pub fn wait_last_error(node: &TestMember, key: &NodeId, needle: &str) {
    wait_for(
        &format!("status.json to show {needle:?} as the last error"),
        node,
        || {
            peer_status(node, key)
                .and_then(|p| p["last_error"].as_str().map(|e| e.contains(needle)))
                .unwrap_or(false)
        },
    );
}

/// `focal-node verify` accepts everything the node stored.
#[track_caller]
pub fn assert_verifies(node: &TestMember) {
    let out = node.dir.verify();
    assert!(
        out.status.success(),
        "{}: {}",
        node.dir.member,
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn add_practice(conn: &str, title: &str) -> String {
    crate::add_practice(conn, "lesson-learned", title, "peacekeeping")
}
