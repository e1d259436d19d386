//! The peer protocol as it went over the wire, recorded and played back.
//!
//! Ministries upgrade at different times, so a node must keep speaking to
//! peers of an older release. `tests/fixtures/wire-v1/` holds what nodes of
//! the first protocol said to each other, recorded by [`Recorder`] (a
//! `PeerService` between a real member node and the real secretariat, which
//! forwards every call and writes down each request and each answer), with
//! the two data directories that explain them: the secretariat's as it
//! answered, and the member's as it was before it connected. The wire test
//! plays them back against today's node in both roles: as the server of an
//! old client (the recorded requests, whose answers must be the recorded
//! ones, byte for byte), and as the client of an old server ([`OldPeer`],
//! which answers the recorded requests with the recorded answers and
//! nothing else: a request the old node never made is a failure).

use std::{
    collections::HashMap,
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

use focal_client::NodeTarget;
use focal_node::{
    identity::{NodeId, NodeKey},
    roster::{Roster, add_member_patch},
};
use focal_proto::v1::{
    self as pb,
    peer_service_client::PeerServiceClient,
    peer_service_server::{PeerService, PeerServiceServer},
};
use prost::Message;
use serde_json::{Map, Value, json};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, transport::Channel};

use crate::fake_peer::serve_tls;

/// The recorded protocol versions: a folder of `tests/fixtures` each.
pub fn fixture_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("wire-v{version}"))
}

/// One call: the method, the encoded request, and the encoded answers (one
/// for a unary call, each message of a stream for `Pull`), or the status it
/// ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub rpc: String,
    pub request: Vec<u8>,
    pub responses: Vec<Vec<u8>>,
    /// The gRPC status code and message, if the call failed.
    pub error: Option<(i32, String)>,
}

impl Exchange {
    fn to_json(&self) -> Value {
        json!({
            "rpc": self.rpc,
            "request": hex::encode(&self.request),
            "responses": self.responses.iter().map(hex::encode).collect::<Vec<_>>(),
            "error": self.error.as_ref().map(|(code, message)| json!({"code": code, "message": message})),
        })
    }

    fn from_json(value: &Value) -> Self {
        let hex_of = |v: &Value| hex::decode(v.as_str().expect("hex string")).expect("hex");
        Self {
            rpc: value["rpc"].as_str().expect("rpc").to_owned(),
            request: hex_of(&value["request"]),
            responses: value["responses"]
                .as_array()
                .expect("responses")
                .iter()
                .map(hex_of)
                .collect(),
            error: value["error"].as_object().map(|e| {
                (
                    i32::try_from(e["code"].as_i64().expect("code")).expect("code"),
                    e["message"].as_str().expect("message").to_owned(),
                )
            }),
        }
    }
}

/// A message in a form where what carries no meaning is taken out: the
/// order of the heads in a `Pull` request and a `Heads` answer (a node lists
/// them in the order of its hash map). Other messages are returned as they
/// are.
pub fn canonical(rpc: &str, request: bool, bytes: &[u8]) -> Vec<u8> {
    fn sorted(mut heads: Vec<pb::LogHead>) -> Vec<pb::LogHead> {
        heads.sort_by(|a, b| (&a.origin, a.audience).cmp(&(&b.origin, b.audience)));
        heads
    }
    match (rpc, request) {
        // A `Pull` request as a node of version 1 reads it: the fields it
        // does not know (`chained`, asked before the version is known) are
        // skipped.
        ("Pull", true) => match PullRequestV1::decode(bytes) {
            Ok(mut q) => {
                q.have = sorted(q.have);
                q.encode_to_vec()
            }
            Err(_) => bytes.to_vec(),
        },
        ("Heads", false) => match pb::HeadsResponse::decode(bytes) {
            Ok(mut a) => {
                a.heads = sorted(a.heads);
                a.encode_to_vec()
            }
            Err(_) => bytes.to_vec(),
        },
        _ => bytes.to_vec(),
    }
}

/// `PullRequest` as protocol version 1 defined it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullRequestV1 {
    #[prost(string, tag = "1")]
    pub network_id: String,
    #[prost(message, repeated, tag = "2")]
    pub have: Vec<pb::LogHead>,
    #[prost(bool, tag = "3")]
    pub follow: bool,
}

/// Writes `exchanges` as `exchanges.json` in `dir`.
pub fn save(dir: &Path, exchanges: &[Exchange]) {
    let list: Vec<Value> = exchanges.iter().map(Exchange::to_json).collect();
    fs::write(
        dir.join("exchanges.json"),
        serde_json::to_string_pretty(&list).unwrap() + "\n",
    )
    .unwrap();
}

/// Reads `exchanges.json` from `dir`.
pub fn load(dir: &Path) -> Vec<Exchange> {
    let text = fs::read_to_string(dir.join("exchanges.json")).expect("exchanges.json");
    let list: Vec<Value> = serde_json::from_str(&text).expect("exchanges.json is JSON");
    list.iter().map(Exchange::from_json).collect()
}

/// Copies a data directory, leaving out what a running node leaves behind
/// (its address, status, lock, log), with the modes a node requires (git
/// does not keep them): the folder 0700, keys and database 0600.
pub fn copy_data_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o700)).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // SQLite's shared-memory index is rebuilt on open; an empty
        // write-ahead log holds nothing.
        let empty = fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0);
        if ["focal-node.addr", "status.json"].contains(&name.as_str())
            || [".log", ".lock", "-shm"]
                .iter()
                .any(|end| name.ends_with(end))
            || (name.ends_with("-wal") && empty)
        {
            continue;
        }
        if path.is_dir() {
            copy_data_dir(&path, &to.join(&name));
        } else {
            fs::copy(&path, to.join(&name)).unwrap();
            let private = name.ends_with(".key") || name.starts_with("focal.db");
            let mode = if private { 0o600 } else { 0o644 };
            fs::set_permissions(to.join(&name), fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// The TLS server configuration of a node with `key` that accepts the
/// client keys `clients` (as members of the roster).
fn server_tls(
    key: &NodeKey,
    anchor: NodeId,
    clients: &[(&str, NodeId)],
) -> Arc<rustls::ServerConfig> {
    crate::init_crypto();
    let mut trusted = Map::new();
    for (code, id) in clients {
        let patch = add_member_patch(&code.parse().unwrap(), id, "127.0.0.1:1");
        focal_node::json::merge_patch(&mut trusted, &patch);
    }
    let roster = Arc::new(RwLock::new(Roster::from_json(&trusted, Some(anchor), None)));
    Arc::new(focal_node::net::tls::server_config(key, roster).unwrap())
}

/// Serves `service` on a fresh loopback port behind TLS with `config`.
async fn serve<S>(service: PeerServiceServer<S>, config: Arc<rustls::ServerConfig>) -> SocketAddr
where
    S: PeerService,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (conn_tx, conn_rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve_tls(tcp, config.clone(), conn_tx.clone()));
        }
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(ReceiverStream::new(conn_rx)),
    );
    addr
}

/// A client of the node at `addr` with key `server`, authenticated as
/// `client`.
pub async fn peer_client(
    client: &NodeKey,
    server: NodeId,
    addr: SocketAddr,
) -> PeerServiceClient<Channel> {
    crate::init_crypto();
    let tls = focal_node::net::tls::peer_client_config(client, server).unwrap();
    let target = NodeTarget {
        address: addr.to_string(),
        node_key: server.0,
    };
    let channel = focal_client::transport::connect_with(&target, tls)
        .await
        .expect("connect to the peer");
    PeerServiceClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

// ---------------------------------------------------------------------------
// Recording.

type Log = Arc<Mutex<Vec<Exchange>>>;

/// Calls as they came: the method and the encoded request.
pub type CallLog = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A `PeerService` in front of a real node: it presents that node's key to
/// the client, forwards each call to the node with the client's key, and
/// writes down what went each way.
pub struct Recorder {
    pub addr: SocketAddr,
    log: Log,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct Forward {
    upstream: PeerServiceClient<Channel>,
    log: Log,
}

impl Recorder {
    /// Records what the node with key `client` (member `code`) asks the
    /// node at `upstream`, whose key is `server`.
    pub fn start(server: NodeKey, upstream: SocketAddr, client: NodeKey, code: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let log: Log = Default::default();
        let addr = runtime.block_on(async {
            let upstream = peer_client(&client, server.id(), upstream).await;
            let config = server_tls(&server, server.id(), &[(code, client.id())]);
            let forward = Forward {
                upstream,
                log: log.clone(),
            };
            serve(PeerServiceServer::new(forward), config).await
        });
        Self {
            addr,
            log,
            _runtime: runtime,
        }
    }

    /// What was recorded so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }
}

impl Forward {
    fn push(&self, exchange: Exchange) -> usize {
        let mut log = self.log.lock().unwrap();
        log.push(exchange);
        log.len() - 1
    }

    /// Forwards a unary call and records it.
    async fn unary<Q, A, F, Fut>(
        &self,
        rpc: &str,
        request: Request<Q>,
        call: F,
    ) -> Result<Response<A>, Status>
    where
        Q: Message + Clone,
        A: Message,
        F: FnOnce(PeerServiceClient<Channel>, Q) -> Fut,
        Fut: std::future::Future<Output = Result<Response<A>, Status>>,
    {
        let request = request.into_inner();
        let answer = call(self.upstream.clone(), request.clone()).await;
        self.push(Exchange {
            rpc: rpc.to_owned(),
            request: request.encode_to_vec(),
            responses: answer
                .as_ref()
                .map(|a| vec![a.get_ref().encode_to_vec()])
                .unwrap_or_default(),
            error: answer
                .as_ref()
                .err()
                .map(|s| (s.code() as i32, s.message().to_owned())),
        });
        answer.map(|a| Response::new(a.into_inner()))
    }
}

type Stream = ReceiverStream<Result<pb::PullResponse, Status>>;

#[tonic::async_trait]
impl PeerService for Forward {
    type PullStream = Stream;

    async fn pull(&self, request: Request<pb::PullRequest>) -> Result<Response<Stream>, Status> {
        let request = request.into_inner();
        let index = self.push(Exchange {
            rpc: "Pull".to_owned(),
            request: request.encode_to_vec(),
            responses: Vec::new(),
            error: None,
        });
        let mut upstream = self.upstream.clone().pull(request).await?.into_inner();
        let (tx, rx) = mpsc::channel(4);
        let log = self.log.clone();
        tokio::spawn(async move {
            while let Some(message) = upstream.next().await {
                {
                    let mut log = log.lock().unwrap();
                    match &message {
                        Ok(m) => log[index].responses.push(m.encode_to_vec()),
                        Err(s) => {
                            log[index].error = Some((s.code() as i32, s.message().to_owned()))
                        }
                    }
                }
                if tx.send(message).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heads(
        &self,
        request: Request<pb::HeadsRequest>,
    ) -> Result<Response<pb::HeadsResponse>, Status> {
        self.unary("Heads", request, |mut c, q| async move { c.heads(q).await })
            .await
    }

    async fn handovers(
        &self,
        request: Request<pb::HandoversRequest>,
    ) -> Result<Response<pb::HandoversResponse>, Status> {
        self.unary("Handovers", request, |mut c, q| async move {
            c.handovers(q).await
        })
        .await
    }

    async fn hashes(
        &self,
        request: Request<pb::HashesRequest>,
    ) -> Result<Response<pb::HashesResponse>, Status> {
        self.unary(
            "Hashes",
            request,
            |mut c, q| async move { c.hashes(q).await },
        )
        .await
    }

    async fn entry(
        &self,
        request: Request<pb::EntryRequest>,
    ) -> Result<Response<pb::EntryResponse>, Status> {
        self.unary("Entry", request, |mut c, q| async move { c.entry(q).await })
            .await
    }

    async fn forks(
        &self,
        request: Request<pb::ForksRequest>,
    ) -> Result<Response<pb::ForksResponse>, Status> {
        self.unary("Forks", request, |mut c, q| async move { c.forks(q).await })
            .await
    }

    async fn hello(
        &self,
        request: Request<pb::HelloRequest>,
    ) -> Result<Response<pb::HelloResponse>, Status> {
        self.unary("Hello", request, |mut c, q| async move { c.hello(q).await })
            .await
    }
}

// ---------------------------------------------------------------------------
// Playing back: an old server.

/// A node of the recorded release, as far as its recorded answers go: it
/// answers a request the recording holds, byte for byte, with what the old
/// node answered, keeps a followed stream open after its recorded
/// messages, and refuses (and remembers) any request the old node was
/// never asked. Methods the old release did not have are unimplemented, as
/// they were.
pub struct OldPeer {
    pub addr: SocketAddr,
    /// Every call made to it: method and encoded request.
    pub calls: CallLog,
    /// The calls it had no recorded answer for.
    pub unrecorded: CallLog,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct Playback {
    answers: Arc<HashMap<(String, Vec<u8>), Exchange>>,
    calls: CallLog,
    unrecorded: CallLog,
}

impl OldPeer {
    /// Serves `exchanges` with the recorded server's `key` to the client
    /// with key `client` (member `code`).
    pub fn start(key: NodeKey, exchanges: &[Exchange], client: NodeId, code: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let answers = exchanges
            .iter()
            .map(|e| {
                (
                    (e.rpc.clone(), canonical(&e.rpc, true, &e.request)),
                    e.clone(),
                )
            })
            .collect();
        let playback = Playback {
            answers: Arc::new(answers),
            calls: Default::default(),
            unrecorded: Default::default(),
        };
        let (calls, unrecorded) = (playback.calls.clone(), playback.unrecorded.clone());
        let addr = runtime.block_on(async {
            let config = server_tls(&key, key.id(), &[(code, client)]);
            serve(PeerServiceServer::new(playback), config).await
        });
        Self {
            addr,
            calls,
            unrecorded,
            _runtime: runtime,
        }
    }

    /// The calls made to method `rpc`.
    pub fn calls_of(&self, rpc: &str) -> Vec<Vec<u8>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == rpc)
            .map(|(_, q)| q.clone())
            .collect()
    }
}

impl Playback {
    fn recorded<Q: Message>(&self, rpc: &str, request: &Q) -> Result<Exchange, Status> {
        let bytes = request.encode_to_vec();
        self.calls
            .lock()
            .unwrap()
            .push((rpc.to_owned(), bytes.clone()));
        match self
            .answers
            .get(&(rpc.to_owned(), canonical(rpc, true, &bytes)))
        {
            Some(exchange) => match &exchange.error {
                Some((code, message)) => Err(Status::new((*code).into(), message.clone())),
                None => Ok(exchange.clone()),
            },
            None => {
                self.unrecorded
                    .lock()
                    .unwrap()
                    .push((rpc.to_owned(), bytes));
                Err(Status::internal(format!(
                    "the recorded node was never asked this {rpc} request"
                )))
            }
        }
    }

    fn unary<Q: Message, A: Message + Default>(
        &self,
        rpc: &str,
        request: Request<Q>,
    ) -> Result<Response<A>, Status> {
        let exchange = self.recorded(rpc, request.get_ref())?;
        let bytes = exchange.responses.first().cloned().unwrap_or_default();
        A::decode(bytes.as_slice())
            .map(Response::new)
            .map_err(|e| Status::internal(format!("recorded answer does not decode: {e}")))
    }
}

#[tonic::async_trait]
impl PeerService for Playback {
    type PullStream = Stream;

    async fn pull(&self, request: Request<pb::PullRequest>) -> Result<Response<Stream>, Status> {
        let follow = request.get_ref().follow;
        let exchange = self.recorded("Pull", request.get_ref())?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            for bytes in &exchange.responses {
                let message = pb::PullResponse::decode(bytes.as_slice())
                    .map_err(|e| Status::internal(format!("recorded answer does not decode: {e}")));
                if tx.send(message).await.is_err() {
                    return;
                }
            }
            if follow {
                // No new entries: the stream stays open, as the old node's did.
                tx.closed().await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heads(
        &self,
        request: Request<pb::HeadsRequest>,
    ) -> Result<Response<pb::HeadsResponse>, Status> {
        self.unary("Heads", request)
    }

    async fn handovers(
        &self,
        request: Request<pb::HandoversRequest>,
    ) -> Result<Response<pb::HandoversResponse>, Status> {
        self.unary("Handovers", request)
    }

    async fn hashes(
        &self,
        request: Request<pb::HashesRequest>,
    ) -> Result<Response<pb::HashesResponse>, Status> {
        self.unary("Hashes", request)
    }

    async fn entry(
        &self,
        request: Request<pb::EntryRequest>,
    ) -> Result<Response<pb::EntryResponse>, Status> {
        self.unary("Entry", request)
    }

    async fn forks(
        &self,
        request: Request<pb::ForksRequest>,
    ) -> Result<Response<pb::ForksResponse>, Status> {
        self.unary("Forks", request)
    }

    /// The recorded release did not have it: it answers as tonic answers a
    /// method it does not serve.
    async fn hello(
        &self,
        request: Request<pb::HelloRequest>,
    ) -> Result<Response<pb::HelloResponse>, Status> {
        self.calls
            .lock()
            .unwrap()
            .push(("Hello".to_owned(), request.get_ref().encode_to_vec()));
        Err(Status::unimplemented(""))
    }
}
