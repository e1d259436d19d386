//! `focal.v1.PeerService`: serving replication to other nodes.
//!
//! A peer is known by the key of the client certificate it presented (the
//! TLS layer already refused keys the roster does not list as active). It
//! receives exactly the entries it may read: every `network` entry, the
//! `secretariat` entries of its own member (all of them if it is the
//! secretariat), never a `local` one.

use std::{collections::HashMap, pin::Pin, sync::Arc};

use focal_proto::v1::{
    self as pb,
    peer_service_server::{PeerService, PeerServiceServer},
};
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, codec::CompressionEncoding};

use crate::log::{LogHead, LogKey};
use crate::{
    engine::writer::Writer,
    identity::NodeId,
    log::{
        Audience, ENTRY_FRAMING_BYTES, EntryHash, PEER_MESSAGE_BYTES, PREV_OFFSET,
        PULL_FRAMING_BYTES, unchain,
    },
    member::{MemberCode, SECRETARIAT_CODE},
    net::connections::PeerInfo,
    roster::SharedRoster,
    store::query::Reader,
};

/// Serves replication.
#[derive(Clone)]
pub struct PeerApi {
    /// Shared state.
    inner: Arc<Inner>,
}

struct Inner {
    reader: Reader,
    writer: Writer,
    roster: SharedRoster,
    network_id: Option<String>,
    batch: usize,
    /// Bytes of entries per response: the message cap less its framing.
    batch_bytes: usize,
    stop: watch::Receiver<bool>,
    max_streams: usize,
    streams: std::sync::Mutex<HashMap<NodeId, usize>>,
}

/// Counts a peer's open stream until dropped.
struct StreamSlot {
    inner: Arc<Inner>,
    key: NodeId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut streams) = self.inner.streams.lock()
            && let Some(n) = streams.get_mut(&self.key)
        {
            *n = n.saturating_sub(1);
        }
    }
}

/// What the server needs to serve peers.
pub struct PeerApiConfig {
    /// Reads entries.
    pub reader: Reader,
    /// Knows the heads and announces new entries.
    pub writer: Writer,
    /// Who is who.
    pub roster: SharedRoster,
    /// This node's network.
    pub network_id: Option<String>,
    /// Entries per response.
    pub batch: usize,
    /// Ends live streams on shutdown.
    pub stop: watch::Receiver<bool>,
    /// Streams one peer may hold open at once.
    pub max_streams_per_peer: usize,
}

impl PeerApi {
    /// The service.
    pub fn service(config: PeerApiConfig) -> PeerServiceServer<Self> {
        let max = PEER_MESSAGE_BYTES;
        PeerServiceServer::new(Self {
            inner: Arc::new(Inner {
                reader: config.reader,
                writer: config.writer,
                roster: config.roster,
                network_id: config.network_id,
                batch: config.batch.clamp(1, 1024),
                batch_bytes: max.saturating_sub(PULL_FRAMING_BYTES),
                stop: config.stop,
                max_streams: config.max_streams_per_peer.max(1),
                streams: Default::default(),
            }),
        })
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
        // A `Pull` stream is compressed for a client that offers zstd (gRPC's
        // own negotiation: older nodes do not, and get it as it was). The
        // decoding limit above bounds what a compressed request expands to.
        .send_compressed(CompressionEncoding::Zstd)
        .accept_compressed(CompressionEncoding::Zstd)
    }
}

/// The versions of the peer protocol this node speaks (see `peer.proto`).
pub const PROTOCOL_VERSIONS: [u32; 2] = [1, 2];
/// The newest of them.
pub const PROTOCOL_VERSION: u32 = 2;
/// Optional features this node speaks, by name (none beyond its versions
/// yet; the list is how a later release adds one without a new version).
pub const FEATURES: [&str; 0] = [];
/// Most versions or features a `Hello` may offer.
pub const MAX_OFFERED: usize = 64;

/// The digest of a list of heads (see `HeadsResponse.digest`): SHA-256 over
/// the heads sorted by origin and audience.
pub fn heads_digest(heads: &[pb::LogHead]) -> Vec<u8> {
    let mut sorted: Vec<&pb::LogHead> = heads.iter().collect();
    sorted.sort_by(|a, b| (&a.origin, a.audience).cmp(&(&b.origin, b.audience)));
    let mut hasher = Sha256::new();
    for head in sorted {
        hasher.update(&head.origin);
        hasher.update([u8::try_from(head.audience).unwrap_or(u8::MAX)]);
        hasher.update(head.seq.to_be_bytes());
        hasher.update(&head.hash);
    }
    hasher.finalize().to_vec()
}

/// The digest of a list of forks (see `HeadsResponse.forks`): empty if
/// there are none.
pub fn forks_digest(forks: &[pb::Fork]) -> Vec<u8> {
    if forks.is_empty() {
        return Vec::new();
    }
    let mut hasher = Sha256::new();
    for fork in forks {
        hasher.update(fork.encode_to_vec());
    }
    hasher.finalize().to_vec()
}

/// A unary answer, not compressed: the small answers would grow.
fn small<T>(message: T) -> Response<T> {
    let mut response = Response::new(message);
    response.disable_compression();
    response
}

impl Inner {
    /// The member of the peer that made `request`, or why it is refused.
    fn peer_member<T>(&self, request: &Request<T>, network_id: &str) -> Result<MemberCode, Status> {
        let key = request
            .extensions()
            .get::<PeerInfo>()
            .and_then(|info| info.peer_key)
            .ok_or_else(|| {
                Status::unauthenticated("peers must present their node certificate (mutual TLS)")
            })?;
        if self.network_id.as_deref() != Some(network_id) {
            tracing::warn!(
                peer_key = %key,
                their_network = network_id,
                "refused a peer from another network"
            );
            return Err(Status::permission_denied(format!(
                "this node is in network {}, not {network_id}",
                self.network_id.as_deref().unwrap_or("(none)")
            )));
        }
        self.roster
            .read()
            .ok()
            .and_then(|roster| roster.active_member_of(&key))
            .ok_or_else(|| {
                tracing::warn!(peer_key = %key, "refused a peer whose key is not active in the roster");
                Status::permission_denied(format!("key {key} is not active in the roster"))
            })
    }

    /// The member an origin key belongs to.
    fn member_of(&self, origin: &NodeId) -> Option<String> {
        self.roster
            .read()
            .ok()
            .and_then(|roster| roster.member_of(origin))
            .map(|m| m.to_string())
    }

    /// Whether `peer` may read the log `(origin, audience)`.
    fn may_read(&self, peer: &MemberCode, origin: &NodeId, audience: Audience) -> bool {
        match audience {
            Audience::Network => true,
            Audience::Local => false,
            Audience::Secretariat => {
                peer.as_str() == SECRETARIAT_CODE
                    || self.member_of(origin).as_deref() == Some(peer.as_str())
            }
        }
    }
}

/// Converts a wire head into a log key and sequence number.
pub fn from_wire(head: &pb::LogHead) -> Option<(LogKey, u64)> {
    let origin: [u8; 32] = head.origin.as_slice().try_into().ok()?;
    let audience = Audience::from_code(u8::try_from(head.audience).ok()?)?;
    Some(((NodeId(origin), audience), head.seq))
}

/// Most positions in one `Hashes` request.
pub const MAX_POSITIONS: usize = 1024;
/// Most forks in one `Forks` answer.
pub const MAX_FORKS: usize = 4096;

/// Converts a wire position into origin, log and sequence number (`local`
/// logs and position 0 are not positions).
pub fn position(p: &pb::Position) -> Option<(NodeId, Audience, u64)> {
    let origin: [u8; 32] = p.origin.as_slice().try_into().ok()?;
    let audience = Audience::from_code(u8::try_from(p.audience).ok()?)?;
    (audience != Audience::Local && p.seq > 0).then_some((NodeId(origin), audience, p.seq))
}

/// Converts a head to the wire.
pub fn to_wire(key: &LogKey, head: &LogHead) -> pb::LogHead {
    pb::LogHead {
        origin: key.0.0.to_vec(),
        audience: u32::from(key.1.code()),
        seq: head.seq,
        hash: head.hash.0.to_vec(),
    }
}

type PullStream = Pin<Box<dyn Stream<Item = Result<pb::PullResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl PeerService for PeerApi {
    type PullStream = PullStream;

    async fn pull(
        &self,
        request: Request<pb::PullRequest>,
    ) -> Result<Response<PullStream>, Status> {
        let inner = self.inner.clone();
        let network_id = request.get_ref().network_id.clone();
        let peer = inner.peer_member(&request, &network_id)?;
        let key = request
            .extensions()
            .get::<PeerInfo>()
            .and_then(|info| info.peer_key)
            .ok_or_else(|| Status::unauthenticated("no peer key"))?;
        let slot = {
            let mut streams = inner
                .streams
                .lock()
                .map_err(|_| Status::internal("stream table poisoned"))?;
            let open = streams.entry(key).or_insert(0);
            if *open >= inner.max_streams {
                tracing::warn!(peer_key = %key, open = *open, "peer opened too many streams; refused");
                return Err(Status::resource_exhausted(format!(
                    "at most {} replication streams per peer",
                    inner.max_streams
                )));
            }
            *open += 1;
            StreamSlot {
                inner: inner.clone(),
                key,
            }
        };
        let req = request.into_inner();
        let mut sent: HashMap<LogKey, u64> = HashMap::new();
        for head in &req.have {
            if let Some((key, seq)) = from_wire(head) {
                sent.insert(key, seq);
            }
        }
        // Subscribe before reading, so nothing stored meanwhile is missed.
        let mut live = inner.writer.subscribe_entries();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            // Held for as long as the stream is served.
            let _slot = slot;
            if let Err(status) = serve_pull(
                &inner,
                &peer,
                Some(key),
                &mut sent,
                (req.follow, req.chained),
                &mut live,
                &tx,
            )
            .await
            {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn handovers(
        &self,
        request: Request<pb::HandoversRequest>,
    ) -> Result<Response<pb::HandoversResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        self.inner.peer_member(&request, &network_id)?;
        let handovers = self
            .inner
            .roster
            .read()
            .map(|roster| {
                roster
                    .anchor_chain()
                    .iter()
                    .filter_map(|key| roster.handovers.get(key).map(|h| h.to_hex()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(small(pb::HandoversResponse { handovers }))
    }

    async fn hashes(
        &self,
        request: Request<pb::HashesRequest>,
    ) -> Result<Response<pb::HashesResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        let peer = self.inner.peer_member(&request, &network_id)?;
        let positions = request.into_inner().positions;
        if positions.len() > MAX_POSITIONS {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_POSITIONS} positions in one request, not {}",
                positions.len()
            )));
        }
        // Positions the peer may not read are answered as not held.
        let wanted: Vec<Option<(NodeId, Audience, u64)>> = positions
            .iter()
            .map(|p| {
                position(p)
                    .filter(|(origin, audience, _)| self.inner.may_read(&peer, origin, *audience))
            })
            .collect();
        let asked: Vec<(NodeId, Audience, u64)> = wanted.iter().flatten().copied().collect();
        let reader = self.inner.reader.clone();
        let found = tokio::task::spawn_blocking(move || reader.entry_hashes(&asked))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(e.to_string()))?;
        let mut found = found.into_iter();
        let hashes = wanted
            .iter()
            .map(|w| match w {
                Some(_) => found
                    .next()
                    .flatten()
                    .map(|h| h.0.to_vec())
                    .unwrap_or_default(),
                None => Vec::new(),
            })
            .collect();
        Ok(small(pb::HashesResponse { hashes }))
    }

    async fn entry(
        &self,
        request: Request<pb::EntryRequest>,
    ) -> Result<Response<pb::EntryResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        let peer = self.inner.peer_member(&request, &network_id)?;
        let req = request.into_inner();
        let (origin, audience, seq) =
            req.position.as_ref().and_then(position).ok_or_else(|| {
                Status::invalid_argument("an entry request needs a valid position")
            })?;
        let hash = match req.hash.len() {
            0 => None,
            32 => Some(EntryHash(
                req.hash.as_slice().try_into().unwrap_or_default(),
            )),
            n => {
                return Err(Status::invalid_argument(format!(
                    "an entry hash has 32 bytes, not {n}"
                )));
            }
        };
        let after = match req.after.len() {
            0 => None,
            32 => Some(EntryHash(
                req.after.as_slice().try_into().unwrap_or_default(),
            )),
            n => {
                return Err(Status::invalid_argument(format!(
                    "an entry hash has 32 bytes, not {n}"
                )));
            }
        };
        if !self.inner.may_read(&peer, &origin, audience) {
            return Ok(Response::new(pb::EntryResponse::default()));
        }
        let reader = self.inner.reader.clone();
        let entry = tokio::task::spawn_blocking(move || match after {
            Some(prev) => reader.entry_after(&origin, audience, seq, prev),
            None => reader.entry_at(&origin, audience, seq, hash),
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::EntryResponse {
            entry: entry.unwrap_or_default(),
        }))
    }

    async fn forks(
        &self,
        request: Request<pb::ForksRequest>,
    ) -> Result<Response<pb::ForksResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        let peer = self.inner.peer_member(&request, &network_id)?;
        let forks = self.inner.forks_for(&peer).await?;
        Ok(small(pb::ForksResponse { forks }))
    }

    async fn heads(
        &self,
        request: Request<pb::HeadsRequest>,
    ) -> Result<Response<pb::HeadsResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        let peer = self.inner.peer_member(&request, &network_id)?;
        let request = request.into_inner();
        let mut heads: Vec<pb::LogHead> = self
            .inner
            .writer
            .version_vector()
            .iter()
            .filter(|(key, _)| self.inner.may_read(&peer, &key.0, key.1))
            .map(|(key, head)| to_wire(key, head))
            .collect();
        if request.version < 2 {
            // Version 1: the heads alone.
            return Ok(small(pb::HeadsResponse {
                heads,
                ..Default::default()
            }));
        }
        let digest = heads_digest(&heads);
        let forks = forks_digest(&self.inner.forks_for(&peer).await?);
        let unchanged = request.known == digest;
        if unchanged {
            heads.clear();
        }
        Ok(small(pb::HeadsResponse {
            heads,
            digest,
            unchanged,
            forks,
        }))
    }

    async fn hello(
        &self,
        request: Request<pb::HelloRequest>,
    ) -> Result<Response<pb::HelloResponse>, Status> {
        let network_id = request.get_ref().network_id.clone();
        self.inner.peer_member(&request, &network_id)?;
        let request = request.into_inner();
        if request.versions.len() > MAX_OFFERED || request.features.len() > MAX_OFFERED {
            return Err(Status::invalid_argument(format!(
                "a hello offers at most {MAX_OFFERED} versions and {MAX_OFFERED} features"
            )));
        }
        let version = request
            .versions
            .iter()
            .copied()
            .filter(|v| PROTOCOL_VERSIONS.contains(v))
            .max()
            .unwrap_or(1);
        let features = request
            .features
            .into_iter()
            .filter(|f| FEATURES.contains(&f.as_str()))
            .collect();
        Ok(small(pb::HelloResponse { version, features }))
    }
}

impl Inner {
    /// The forks `peer` may read, as `Forks` lists them. A proof carries
    /// two entries of its log: only to those who may read it (a fork of a
    /// member's `secretariat` log reaches the secretariat and that member's
    /// nodes; the rest of the network learns of it from the secretariat's
    /// revocation or confirmed rotation).
    async fn forks_for(&self, peer: &MemberCode) -> Result<Vec<pb::Fork>, Status> {
        let reader = self.reader.clone();
        let forks = tokio::task::spawn_blocking(move || reader.forks())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(forks
            .into_iter()
            .filter(|(f, _, _)| self.may_read(peer, &f.origin, f.audience))
            .take(MAX_FORKS)
            .map(|(f, _, _)| pb::Fork {
                position: Some(pb::Position {
                    origin: f.origin.0.to_vec(),
                    audience: u32::from(f.audience.code()),
                    seq: f.seq,
                }),
                first: f.first.0.to_vec(),
                second: f.second.0.to_vec(),
            })
            .collect())
    }
}

type Sender = mpsc::Sender<Result<pb::PullResponse, Status>>;

/// A batch of consecutive entries of one log in the chained wire form
/// (`PullResponse.chained`), if `wanted` and it holds more than one entry:
/// every entry after the first without its `prev`. Checks that each entry
/// does follow the one before it (it always does in a log); if one does
/// not, the batch goes whole.
fn chained_form(entries: Vec<Vec<u8>>, wanted: bool) -> (Vec<Vec<u8>>, bool) {
    if !wanted || entries.len() < 2 {
        return (entries, false);
    }
    let follows = entries.windows(2).all(|pair| {
        let prev = crate::log::LogEntry::hash_of(&pair[0]);
        pair[1].get(PREV_OFFSET..PREV_OFFSET + 32) == Some(&prev.0[..])
    });
    if !follows {
        return (entries, false);
    }
    let rest: Option<Vec<Vec<u8>>> = entries[1..].iter().map(|e| unchain(e)).collect();
    match rest {
        Some(rest) => {
            let mut chained = Vec::with_capacity(entries.len());
            chained.extend(entries.into_iter().next());
            chained.extend(rest);
            (chained, true)
        }
        None => (entries, false),
    }
}

/// Sends everything `peer` lacks, then (with `follow`) new entries.
async fn serve_pull(
    inner: &Inner,
    peer: &MemberCode,
    puller: Option<NodeId>,
    sent: &mut HashMap<LogKey, u64>,
    (follow, chained): (bool, bool),
    live: &mut broadcast::Receiver<crate::engine::writer::StoredEntry>,
    tx: &Sender,
) -> Result<(), Status> {
    catch_up(inner, peer, sent, tx, true, None, chained).await?;
    if !follow {
        return Ok(());
    }
    let mut stop = inner.stop.clone();
    // A peer suspended, removed, rotated or revoked while it follows is cut
    // off within a second of the roster change reaching this node.
    let mut standing = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        let stored = tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop) => return Ok(()),
            _ = tx.closed() => return Ok(()),
            _ = standing.tick() => {
                if let Some(key) = puller
                    && inner.roster.read().ok().and_then(|r| r.active_member_of(&key)).is_none()
                {
                    // Its last delivery: the anchor's log up to the roster
                    // change, so that its node can tell its operator why.
                    let chain = inner.roster.read().map(|r| r.anchor_chain()).unwrap_or_default();
                    let _ = catch_up(inner, peer, sent, tx, false, Some(&chain), chained).await;
                    tracing::warn!(peer_key = %key, "ended the stream of a peer no longer active in the roster");
                    return Err(Status::permission_denied(format!(
                        "key {key} is no longer active in the roster"
                    )));
                }
                continue;
            }
            stored = live.recv() => stored,
        };
        match stored {
            Ok(entry) => {
                let key = (entry.origin, entry.audience);
                // The puller wrote its own entries: never echo them back.
                if Some(entry.origin) == puller
                    || !inner.may_read(peer, &entry.origin, entry.audience)
                {
                    continue;
                }
                let have = sent.get(&key).copied().unwrap_or(0);
                if entry.seq <= have {
                    continue;
                }
                if entry.seq == have + 1 {
                    sent.insert(key, entry.seq);
                    let response = pb::PullResponse {
                        entries: vec![entry.bytes.as_ref().clone()],
                        caught_up: true,
                        total: 0,
                        chained: false,
                    };
                    if tx.send(Ok(response)).await.is_err() {
                        return Ok(());
                    }
                } else {
                    // A gap (entries stored while we were behind): read them.
                    catch_up(inner, peer, sent, tx, false, None, chained).await?;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                catch_up(inner, peer, sent, tx, false, None, chained).await?;
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

/// Streams every readable entry after what `sent` says the peer holds (of
/// the logs of `only`'s keys, if given).
async fn catch_up(
    inner: &Inner,
    peer: &MemberCode,
    sent: &mut HashMap<LogKey, u64>,
    tx: &Sender,
    announce: bool,
    only: Option<&[NodeId]>,
    chained: bool,
) -> Result<(), Status> {
    let heads = inner.writer.version_vector();
    let mut work: Vec<(LogKey, u64, u64)> = heads
        .iter()
        .filter(|(key, _)| inner.may_read(peer, &key.0, key.1))
        .filter(|(key, _)| only.is_none_or(|keys| keys.contains(&key.0)))
        .filter_map(|(key, head)| {
            let have = sent.get(key).copied().unwrap_or(0);
            (head.seq > have).then_some((*key, have, head.seq))
        })
        .collect();
    // The secretariat's logs first: they carry the roster, without which
    // the puller cannot accept any member's entries.
    // The anchor's logs in the order of its hand-overs, so that a new
    // anchor's roster changes follow the old anchor's confirming it.
    let chain = inner
        .roster
        .read()
        .map(|r| r.anchor_chain())
        .unwrap_or_default();
    work.sort_by_key(|(key, _, _)| {
        let place = chain.iter().position(|k| *k == key.0).unwrap_or(usize::MAX);
        (place, key.1, key.0)
    });
    let total: u64 = work.iter().map(|(_, have, head)| head - have).sum();
    let mut first = announce;
    for (key, mut have, head) in work {
        while have < head {
            let reader = inner.reader.clone();
            let (limit, bytes) = (inner.batch, inner.batch_bytes);
            // Cut by count and by bytes: a few large records must never
            // make a message the peer cannot take (it would never get past
            // them). A batch always holds at least one entry.
            let batch = tokio::task::spawn_blocking(move || {
                reader
                    .entries_after(&key.0, key.1, have, limit, bytes, ENTRY_FRAMING_BYTES)
                    .map(|batch| {
                        let last = batch.last().map(|(seq, _)| *seq);
                        let entries: Vec<Vec<u8>> =
                            batch.into_iter().map(|(_, bytes)| bytes).collect();
                        (last, chained_form(entries, chained))
                    })
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::internal(e.to_string()))?;
            let (Some(last), (entries, chained)) = batch else {
                break;
            };
            have = last;
            sent.insert(key, last);
            let response = pb::PullResponse {
                entries,
                caught_up: false,
                total: if first { total } else { 0 },
                chained,
            };
            first = false;
            if tx.send(Ok(response)).await.is_err() {
                return Ok(());
            }
        }
    }
    let done = pb::PullResponse {
        entries: Vec::new(),
        caught_up: true,
        total: if first { total } else { 0 },
        chained: false,
    };
    let _ = tx.send(Ok(done)).await;
    Ok(())
}
