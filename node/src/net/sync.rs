//! Pulling from peers: one task per peer, kept connected, that catches up on
//! every (re)connect, follows new entries live, and runs an anti-entropy
//! round every `network.anti_entropy_ms` so that nothing waits for new
//! traffic.
//!
//! The peers are the secretariat (at the configured bootstrap addresses) and
//! every active member key in the roster; the set follows the roster. A peer
//! that sends garbage or forgeries is disconnected and backed off; what it
//! sent is not stored (the writer refuses it entry by entry).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use focal_client::NodeTarget;
use focal_proto::v1::{self as pb, peer_service_client::PeerServiceClient};
use serde::Serialize;
use tokio::{sync::watch, task::JoinHandle};
use tokio_stream::StreamExt;

use crate::{
    base::lograte::LogBudget,
    engine::ingest::{ForkRefused, IngestError},
    engine::writer::Writer,
    identity::{NodeId, NodeKey},
    log::{Audience, EntryError, EntryHash, LogEntry},
    net::peer::to_wire,
    net::tls,
    roster::SharedRoster,
};
use crate::{clock::now_rfc3339, log::LogKey};

/// What the sync layer needs.
pub struct SyncConfig {
    /// This node's key (its TLS client identity).
    pub key: Arc<NodeKey>,
    /// This node's network.
    pub network_id: String,
    /// Stores what arrives.
    pub writer: Writer,
    /// Reads entries and proofs, to find and prove forks.
    pub reader: crate::store::query::Reader,
    /// Who the peers are.
    pub roster: SharedRoster,
    /// The secretariat's addresses.
    pub bootstrap: Vec<String>,
    /// Dial every active member in the roster, not only the bootstrap.
    pub mesh: bool,
    /// Between anti-entropy rounds.
    pub anti_entropy: Duration,
    /// First reconnect delay.
    pub backoff: Duration,
    /// Most entries in one message.
    pub max_batch: usize,
    /// Most entries per second from one peer.
    pub max_entries_per_second: u64,
    /// Most refusals of the kind an honest relay may cause (unknown keys,
    /// gaps, cut-offs it does not know yet) in one session before the peer
    /// is cut off.
    pub max_refusals_per_session: u64,
    /// Ends everything.
    pub stop: watch::Receiver<bool>,
    /// Where peer status is kept.
    pub status: SharedStatus,
    /// An anchor learned from the secretariat itself (its hand-overs,
    /// verified from the roster's anchor) before the roster says so:
    /// (the roster's anchor it continues, the new anchor).
    pub learned_anchor: Mutex<Option<(NodeId, NodeId)>>,
}

/// One peer as the status shows it.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct PeerStatus {
    /// Its member, if known.
    pub member: String,
    /// Its node key.
    pub key: String,
    /// Where it is dialed.
    pub endpoint: String,
    /// Connected now?
    pub connected: bool,
    /// Since when the peer cannot be reached (RFC 3339): set when a
    /// session fails for the link's sake, cleared on the next connection.
    pub unreachable_since: Option<String>,
    /// Last message received (RFC 3339).
    pub last_contact: Option<String>,
    /// Entries accepted from it.
    pub accepted: u64,
    /// Entries refused from it.
    pub rejected: u64,
    /// The last refusal or connection error.
    pub last_error: Option<String>,
    /// Entries still to receive in the current catch-up.
    pub catching_up: u64,
    /// Entries the peer holds that this node lacks (at the last check).
    pub we_lack: u64,
    /// Entries this node holds, that the peer may read, and lacks.
    pub they_lack: u64,
    /// When the peer last confirmed that it had sent everything it holds
    /// (the end of a catch-up, a live entry, an anti-entropy round): the
    /// replication lag in seconds is measured from it (metrics).
    #[serde(skip)]
    pub last_caught_up: Option<std::time::Instant>,
}

/// Peer status by key, shared with the status writer.
pub type SharedStatus = Arc<Mutex<HashMap<String, PeerStatus>>>;

/// Starts the supervisor; it stops when `stop` is given.
pub fn spawn(config: SyncConfig) -> JoinHandle<()> {
    tokio::spawn(supervise(Arc::new(config)))
}

async fn supervise(config: Arc<SyncConfig>) {
    let me = config.key.id();
    let mut tasks: HashMap<(NodeId, String), JoinHandle<()>> = HashMap::new();
    let mut stop = config.stop.clone();
    loop {
        let mut wanted: Vec<(NodeId, String, String)> = Vec::new();
        // The current anchor: a hand-over confirmed in the roster moves the
        // bootstrap connection to the new key without a restart.
        let mut anchor = config.roster.read().ok().and_then(|r| r.anchor());
        if let Ok(mut learned) = config.learned_anchor.lock() {
            match *learned {
                Some((base, next)) if Some(base) == anchor => anchor = Some(next),
                Some(_) => *learned = None,
                None => {}
            }
        }
        if let Some(anchor) = anchor
            && anchor != me
        {
            for addr in &config.bootstrap {
                wanted.push((
                    anchor,
                    addr.clone(),
                    crate::member::SECRETARIAT_CODE.to_owned(),
                ));
            }
        }
        if config.mesh
            && let Ok(roster) = config.roster.read()
        {
            for peer in roster.peers(&me) {
                let dialed_already = wanted.iter().any(|(key, _, _)| *key == peer.key);
                if !dialed_already {
                    wanted.push((peer.key, peer.endpoint, peer.member.to_string()));
                }
            }
        }
        tasks.retain(|(key, endpoint), task| {
            let keep = wanted.iter().any(|(k, e, _)| k == key && e == endpoint);
            if !keep {
                task.abort();
                // An aborted task never reports its end itself.
                update(&config.status, &key.to_string(), |s| s.connected = false);
            }
            keep && !task.is_finished()
        });
        for (key, endpoint, member) in wanted {
            tasks
                .entry((key, endpoint.clone()))
                .or_insert_with(|| tokio::spawn(peer_task(config.clone(), key, endpoint, member)));
        }
        tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop) => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    for (_, task) in tasks {
        task.abort();
    }
}

async fn peer_task(config: Arc<SyncConfig>, key: NodeId, endpoint: String, member: String) {
    let mut backoff = config.backoff;
    let mut stop = config.stop.clone();
    let status_key = key.to_string();
    update(&config.status, &status_key, |s| {
        s.member = member.clone();
        s.key = status_key.clone();
        s.endpoint = endpoint.clone();
    });
    loop {
        let began = tokio::time::Instant::now();
        let result = session(&config, key, &endpoint).await;
        update(&config.status, &status_key, |s| {
            s.connected = false;
            if let Err(e) = &result {
                s.last_error = Some(e.to_string());
            }
            if matches!(result, Err(Ended::Failed(_))) && s.unreachable_since.is_none() {
                s.unreachable_since = Some(now_rfc3339());
            }
        });
        // A session that lasted a while earns a quick retry, whatever
        // ended it.
        if began.elapsed() >= Duration::from_secs(60) {
            backoff = config.backoff;
        }
        // A failed link is tried again at least every half anti-entropy
        // interval (and at most every 5 s), so that a healed link
        // replicates within about two intervals.
        let link_cap = LINK_RETRY_CAP.min((config.anti_entropy / 2).max(config.backoff));
        let cap = match &result {
            Ok(()) => {
                backoff = config.backoff;
                link_cap
            }
            Err(Ended::Failed(err)) => {
                tracing::debug!(peer = %member, %endpoint, %err, "peer session ended");
                link_cap
            }
            Err(Ended::Misbehaved(err)) => {
                tracing::debug!(peer = %member, %endpoint, %err, "peer session ended");
                Duration::from_secs(60)
            }
        };
        let wait = backoff.min(cap);
        // A failed dial is retried `wait` after it began, not after it
        // failed: a dial to an unreachable host takes a second or more to
        // fail (ARP gives up), and a link that healed meanwhile would
        // otherwise wait both (found by the partition test over links with
        // 200 ms delay and 5 % loss).
        let next = match &result {
            Err(Ended::Failed(_)) => began + wait,
            _ => tokio::time::Instant::now() + wait,
        };
        tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop) => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        backoff = (backoff * 2).min(cap);
    }
}

/// The longest wait before dialling again a peer whose link failed: a
/// healed link must replicate within seconds, not after a minute of
/// back-off. (A peer that misbehaved waits up to a minute.)
const LINK_RETRY_CAP: Duration = Duration::from_secs(5);

/// One connection: follow the peer's stream, with an anti-entropy round on
/// every tick. Returns when the stream ends, the peer misbehaves, or the
/// node stops.
async fn session(config: &SyncConfig, key: NodeId, endpoint: &str) -> Result<(), Ended> {
    let tls = tls::peer_client_config(&config.key, key).map_err(SyncError::from)?;
    let target = NodeTarget {
        address: endpoint.to_owned(),
        node_key: key.0,
    };
    let channel = match focal_client::transport::connect_with(&target, tls).await {
        Ok(channel) => channel,
        Err(focal_client::TransportError::WrongKey { found, .. }) if is_anchor(config, key) => {
            return Ok(follow_anchor(config, key, endpoint, &found).await?);
        }
        Err(e) => return Err(SyncError::from(e).into()),
    };
    // A peer may compress what it streams (gRPC's own negotiation: an
    // older node does not); the decoding limit bounds what a compressed
    // message expands to.
    let mut client = PeerServiceClient::new(channel)
        .max_decoding_message_size(crate::log::PEER_MESSAGE_BYTES)
        .max_encoding_message_size(crate::log::PEER_MESSAGE_BYTES)
        .accept_compressed(tonic::codec::CompressionEncoding::Zstd);
    let status_key = key.to_string();
    // The last error stays visible after a reconnect, until a newer one.
    update(&config.status, &status_key, |s| {
        s.connected = true;
        s.unreachable_since = None;
    });
    // The version is asked while the live stream starts (it does not
    // depend on it): no round trip is added to a reconnection.
    let mut for_stream = client.clone();
    let (version, live) = tokio::join!(
        hello(config, &mut client),
        within(
            "starting the live stream",
            for_stream.pull(request(config, true)),
        )
    );
    let version = version?;
    let mut live = Pipeline::start(config, live?.into_inner());
    // The forks the peer knows of, at once: what lies beyond them is not
    // taken from anyone.
    exchange_forks(config, &mut client, &status_key).await?;
    // Where each branch walk ended, so that each round asks only for what
    // comes after.
    let mut tips = HashMap::new();
    fetch_lost_branches(config, &mut client, &status_key, &mut tips).await?;
    let mut tick = tokio::time::interval(config.anti_entropy);
    tick.tick().await;
    let mut stop = config.stop.clone();
    let mut rate = RateWindow::default();
    let mut refusals = 0u64;
    // Anti-entropy waits until the live stream's catch-up is done (or the
    // stream has gone quiet): a round during a catch-up would download again
    // what is already on its way.
    let mut caught_up = false;
    let mut last_message = tokio::time::Instant::now();
    // Version 2: the peer's heads as last answered, and its forks' digest.
    let mut cache = HeadsCache::default();
    loop {
        tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop) => return Ok(()),
            message = live.next() => match message {
                None => return Ok(()),
                Some(Err(status)) => {
                    static FAILED: LogBudget = LogBudget::per_minute(20);
                    if let Some(suppressed) = FAILED.admit() {
                        tracing::warn!(peer = %status_key, error = %status.message(), suppressed, "replication stream from peer failed");
                    }
                    // A message over our cap is the peer's doing, not the link's.
                    if oversized(&status) {
                        crate::base::metrics::peer_cut_off("oversized");
                        return Err(cut_off(&status_key, status.message().to_owned()));
                    }
                    return Err(SyncError::Stream(status).into());
                }
                Some(Ok(response)) => {
                    caught_up |= response.caught_up;
                    last_message = tokio::time::Instant::now();
                    let complete = response.caught_up;
                    rate.admit(config, &status_key, response.entries)?;
                    let suspects = receive(config, &status_key, response, &mut refusals).await?;
                    settle_all(config, &mut client, &status_key, suspects).await?;
                    if complete {
                        after_catch_up(config, &mut client, &status_key).await;
                    }
                }
            },
            _ = tick.tick() => {
                if !caught_up && last_message.elapsed() < config.anti_entropy {
                    continue;
                }
                // Version 1 lists the forks and every head each round;
                // version 2 sends a digest of the heads it holds and gets
                // them only if they changed, and the forks only if their
                // digest did.
                let theirs = if version >= 2 {
                    let theirs = heads_v2(config, &mut client, &status_key, &mut cache).await?;
                    if cache.forks_changed() {
                        exchange_forks(config, &mut client, &status_key).await?;
                        cache.forks_seen();
                    }
                    theirs
                } else {
                    exchange_forks(config, &mut client, &status_key).await?;
                    heads_v1(config, &mut client).await
                };
                let compared = match &theirs {
                    Some(heads) => Some(compare_heads(config, &mut client, &status_key, heads).await),
                    None => None,
                };
                let we_lack = compared.as_ref().map(|(_, lack)| *lack);
                let suspects = compared.map(|(s, _)| s).unwrap_or_default();
                settle_all(config, &mut client, &status_key, suspects).await?;
                fetch_lost_branches(config, &mut client, &status_key, &mut tips).await?;
                // Version 2 pulls only when the peer holds what this node
                // lacks: between nodes in sync a round is one `Heads` call.
                if version >= 2 && we_lack == Some(0) {
                    after_catch_up(config, &mut client, &status_key).await;
                    continue;
                }
                // Anti-entropy: one round trip when in sync, whatever the
                // number of documents.
                let mut round = within("starting an anti-entropy round", client.pull(request(config, false)))
                    .await?
                    .into_inner();
                loop {
                    let Ok(next) = tokio::time::timeout(ROUND_SILENCE, round.next()).await else {
                        return Err(SyncError::Silent {
                            what: "an anti-entropy round",
                            deadline: ROUND_SILENCE,
                        }
                        .into());
                    };
                    let Some(response) = next else { break };
                    let response = match response {
                        Ok(response) => response,
                        Err(status) if oversized(&status) => {
                            crate::base::metrics::peer_cut_off("oversized");
                            return Err(cut_off(&status_key, status.message().to_owned()));
                        }
                        Err(status) => return Err(SyncError::Stream(status).into()),
                    };
                    rate.admit(config, &status_key, response.entries.len())?;
                    let response = prepare(&config.writer, response).await;
                    let suspects = receive(config, &status_key, response, &mut refusals).await?;
                    settle_all(config, &mut client, &status_key, suspects).await?;
                }
                // Every round ends caught up: a node that could not end its
                // start check or lift its fence at the end of the catch-up
                // tries again.
                after_catch_up(config, &mut client, &status_key).await;
            }
        }
    }
}

fn is_anchor(config: &SyncConfig, key: NodeId) -> bool {
    config
        .roster
        .read()
        .ok()
        .and_then(|r| r.anchor())
        .is_some_and(|a| a == key)
}

/// The secretariat answered under another key than the anchor this node
/// knows: ask it for its hand-overs and follow them if they lead, signature
/// by signature, from the known anchor to the key it presented. (A node
/// that was offline when the secretariat rotated its key finds its way back
/// this way even if the secretariat is its only peer.)
async fn follow_anchor(
    config: &SyncConfig,
    known: NodeId,
    endpoint: &str,
    found: &str,
) -> Result<(), SyncError> {
    let refused = || SyncError::UnknownAnchor {
        endpoint: endpoint.to_owned(),
        found: found.to_owned(),
        known,
    };
    let presented = NodeId::from_hex(found).ok_or_else(refused)?;
    let tls = tls::peer_client_config(&config.key, presented)?;
    let target = NodeTarget {
        address: endpoint.to_owned(),
        node_key: presented.0,
    };
    let channel = focal_client::transport::connect_with(&target, tls).await?;
    let mut client = PeerServiceClient::new(channel);
    let answer = within(
        "asking for the hand-overs",
        client.handovers(pb::HandoversRequest {
            network_id: config.network_id.clone(),
        }),
    )
    .await?
    .into_inner();
    // The roster's own walk, over the verified hand-overs of this network.
    let chain = crate::roster::Roster {
        genesis: Some(known),
        network_id: Some(config.network_id.clone()),
        handovers: answer
            .handovers
            .iter()
            .filter_map(|text| crate::handover::Handover::from_hex(text).ok())
            .filter(|h| h.network_id == config.network_id)
            .map(|h| (h.from, h))
            .collect(),
        ..Default::default()
    };
    if chain.anchor() != Some(presented) {
        tracing::warn!(%endpoint, presented = %presented, anchor = %known, "refused a secretariat key that no hand-over leads to");
        return Err(refused());
    }
    tracing::info!(old = %known, new = %presented, "following the secretariat's key hand-over");
    if let Ok(mut learned) = config.learned_anchor.lock() {
        *learned = Some((known, presented));
    }
    Ok(())
}

/// Why a session with a peer ended.
#[derive(Debug)]
enum Ended {
    /// The peer sent what no honest node sends, or too much of what an
    /// honest one rarely does: backed off, doubling up to a minute.
    Misbehaved(String),
    /// The link failed (refused, reset, timed out, silent): dialled again
    /// soon, so that a healed link replicates within seconds.
    Failed(SyncError),
}

impl From<SyncError> for Ended {
    fn from(why: SyncError) -> Self {
        Self::Failed(why)
    }
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Misbehaved(why) => f.write_str(why),
            Self::Failed(why) => why.fmt(f),
        }
    }
}

/// Why a session with a peer failed, short of misbehaviour: the link, a
/// call, or this node's own reads and writes. The peer is dialled again
/// soon.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// This node's TLS client configuration cannot be built.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The peer cannot be reached, or is not who the roster says.
    #[error(transparent)]
    Connect(#[from] focal_client::TransportError),
    /// A call failed.
    #[error("{}", .0.message())]
    Call(tonic::Status),
    /// A stream failed.
    #[error("{}", .0.message())]
    Stream(tonic::Status),
    /// A call was not answered in time.
    #[error("{what}: no answer within {deadline:?}")]
    Timeout {
        /// What was asked.
        what: &'static str,
        /// How long it waited.
        deadline: Duration,
    },
    /// A stream went silent.
    #[error("{what} went {deadline:?} without a message")]
    Silent {
        /// Which stream.
        what: &'static str,
        /// How long it waited.
        deadline: Duration,
    },
    /// The secretariat presented a key no hand-over leads to.
    #[error(
        "the secretariat at {endpoint} presented key {found}, which no hand-over from anchor \
         {known} leads to"
    )]
    UnknownAnchor {
        /// Where it was dialled.
        endpoint: String,
        /// The key it presented (hex).
        found: String,
        /// The anchor this node knows.
        known: NodeId,
    },
    /// The peer answered a different number of hashes than asked for.
    #[error("asked for {asked} hashes, the peer answered {answered}")]
    HashCount {
        /// Asked for.
        asked: usize,
        /// Answered.
        answered: usize,
    },
    /// This node could not read what it holds.
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// This node could not store what it received.
    #[error(transparent)]
    Write(#[from] crate::engine::writer::WriteError),
    /// A blocking task of this node failed.
    #[error("a task of this node failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The longest a unary call or the start of a stream may take.
const CALL_DEADLINE: Duration = Duration::from_secs(10);
/// The longest an anti-entropy round may go without a message.
const ROUND_SILENCE: Duration = Duration::from_secs(30);

/// Runs `call` with [`CALL_DEADLINE`].
async fn within<T>(
    what: &'static str,
    call: impl std::future::Future<Output = Result<T, tonic::Status>>,
) -> Result<T, SyncError> {
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(result) => result.map_err(SyncError::Call),
        Err(_) => Err(SyncError::Timeout {
            what,
            deadline: CALL_DEADLINE,
        }),
    }
}

/// Counts entries per second from one peer.
#[derive(Default)]
struct RateWindow {
    started: Option<tokio::time::Instant>,
    count: u64,
}

impl RateWindow {
    /// Admits a message of `entries` entries, or says why the peer is cut
    /// off (too many in one message, or too many per second).
    fn admit(&mut self, config: &SyncConfig, peer: &str, entries: usize) -> Result<(), Ended> {
        let refuse = |why: String| {
            crate::base::metrics::peer_cut_off("rate");
            update(&config.status, peer, |s| s.last_error = Some(why.clone()));
            Err(cut_off(peer, why))
        };
        if entries > config.max_batch {
            return refuse(format!(
                "peer sent {entries} entries in one message; the limit is {}",
                config.max_batch
            ));
        }
        let now = tokio::time::Instant::now();
        match self.started {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.started = Some(now);
                self.count = 0;
            }
        }
        self.count += entries as u64;
        if self.count > config.max_entries_per_second {
            return refuse(format!(
                "peer sent more than {} entries in a second",
                config.max_entries_per_second
            ));
        }
        Ok(())
    }
}

/// Asks which version of the peer protocol the peer speaks: 1 if it does
/// not know the question (a node of the first release).
async fn hello(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
) -> Result<u32, Ended> {
    let answer = tokio::time::timeout(
        CALL_DEADLINE,
        client.hello(pb::HelloRequest {
            network_id: config.network_id.clone(),
            versions: crate::net::peer::PROTOCOL_VERSIONS.to_vec(),
            features: crate::net::peer::FEATURES
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        }),
    )
    .await;
    match answer {
        Ok(Ok(answer)) => Ok(answer
            .into_inner()
            .version
            .clamp(1, crate::net::peer::PROTOCOL_VERSION)),
        Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => Ok(1),
        Ok(Err(status)) => Err(SyncError::Call(status).into()),
        Err(_) => Err(SyncError::Timeout {
            what: "saying hello",
            deadline: CALL_DEADLINE,
        }
        .into()),
    }
}

/// The peer's heads as it last listed them (version 2), with the digests it
/// gave.
#[derive(Default)]
struct HeadsCache {
    digest: Vec<u8>,
    heads: Vec<pb::LogHead>,
    /// The forks' digest of the last answer, and of the last `Forks` call.
    forks: Vec<u8>,
    forks_asked: Option<Vec<u8>>,
}

impl HeadsCache {
    fn forks_changed(&self) -> bool {
        self.forks_asked.as_ref() != Some(&self.forks)
    }

    fn forks_seen(&mut self) {
        self.forks_asked = Some(self.forks.clone());
    }
}

/// The peer's heads, version 1: all of them, every round (none if it does
/// not answer: the round pulls anyway).
async fn heads_v1(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
) -> Option<Vec<pb::LogHead>> {
    within(
        "comparing heads",
        client.heads(pb::HeadsRequest {
            network_id: config.network_id.clone(),
            ..Default::default()
        }),
    )
    .await
    .ok()
    .map(|answer| answer.into_inner().heads)
}

/// The peer's heads, version 2: the digest of the last answer goes with the
/// question, and the heads come back only if they changed. A peer that
/// says "unchanged" to a digest this node did not send is cut off (no
/// honest node does).
async fn heads_v2(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    cache: &mut HeadsCache,
) -> Result<Option<Vec<pb::LogHead>>, Ended> {
    let Ok(answer) = within(
        "comparing heads",
        client.heads(pb::HeadsRequest {
            network_id: config.network_id.clone(),
            known: cache.digest.clone(),
            version: 2,
        }),
    )
    .await
    else {
        return Ok(None);
    };
    let answer = answer.into_inner();
    cache.forks = answer.forks;
    if answer.unchanged {
        if cache.digest.is_empty() || answer.digest != cache.digest || !answer.heads.is_empty() {
            crate::base::metrics::peer_cut_off("garbage");
            return Err(cut_off(
                peer,
                "peer said its heads were unchanged, but not of the digest this node sent".into(),
            ));
        }
    } else {
        // A digest that is not one is not kept: the next round asks for
        // every head again.
        cache.digest = if answer.digest.len() == 32 {
            answer.digest
        } else {
            Vec::new()
        };
        cache.heads = answer.heads;
    }
    Ok(Some(cache.heads.clone()))
}

/// Compares the peer's heads (of the logs it lets us read) with ours, for
/// the status (how far behind each side is). Returns the logs whose copies
/// differ (a fork to find: a head of the peer at a position where this node
/// holds another entry, or a position this node's head is at where the
/// peer holds another), and how many entries the peer holds that this node
/// lacks.
async fn compare_heads(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    theirs: &[pb::LogHead],
) -> (Vec<(LogKey, u64)>, u64) {
    let ours = config.writer.version_vector();
    let mut we_lack = 0;
    let mut they_have = HashMap::new();
    // Where the heads are at different positions, one side's hash at the
    // other's head is needed.
    let mut ask_ours = Vec::new();
    let mut ask_theirs = Vec::new();
    let mut suspects = Vec::new();
    for head in theirs {
        if let Some((key, seq)) = crate::net::peer::from_wire(head) {
            let mine = ours.get(&key).copied();
            we_lack += seq.saturating_sub(mine.map_or(0, |h| h.seq));
            they_have.insert(key, seq);
            match mine {
                Some(m) if m.seq == seq && m.hash.0[..] != head.hash[..] => {
                    suspects.push((key, seq));
                }
                Some(m) if m.seq > seq => ask_ours.push((key, seq, head.hash.clone())),
                Some(m) if m.seq < seq && key.1 != Audience::Local => ask_theirs.push((key, m)),
                _ => {}
            }
        }
    }
    if !ask_ours.is_empty() {
        let positions: Vec<_> = ask_ours
            .iter()
            .map(|(k, seq, _)| (k.0, k.1, *seq))
            .collect();
        if let Ok(Ok(found)) = tokio::task::spawn_blocking({
            let reader = config.reader.clone();
            move || reader.entry_hashes(&positions)
        })
        .await
        {
            for ((key, seq, hash), mine) in ask_ours.iter().zip(found) {
                if mine.is_some_and(|m| m.0[..] != hash[..]) {
                    suspects.push((*key, *seq));
                }
            }
        }
    }
    for chunk in ask_theirs.chunks(crate::net::peer::MAX_POSITIONS) {
        let positions = chunk
            .iter()
            .map(|(k, m)| (k.0, k.1, m.seq))
            .collect::<Vec<_>>();
        let Ok(found) = their_hashes(config, client, &positions).await else {
            break;
        };
        for ((key, mine), theirs) in chunk.iter().zip(found) {
            if theirs.is_some_and(|t| t != mine.hash) {
                suspects.push((*key, mine.seq));
            }
        }
    }
    // What they lack, among the logs they showed us (the ones they read).
    let they_lack = they_have
        .iter()
        .map(|(key, seq)| ours.get(key).map_or(0, |h| h.seq).saturating_sub(*seq))
        .sum();
    update(&config.status, peer, |s| {
        s.we_lack = we_lack;
        s.they_lack = they_lack;
    });
    (suspects, we_lack)
}

/// The peer's hashes at `positions` (`None` where it holds no entry).
async fn their_hashes(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    positions: &[(NodeId, Audience, u64)],
) -> Result<Vec<Option<EntryHash>>, SyncError> {
    let answer = within(
        "asking for entry hashes",
        client.hashes(pb::HashesRequest {
            network_id: config.network_id.clone(),
            positions: positions.iter().map(|p| wire_position(*p)).collect(),
        }),
    )
    .await?
    .into_inner();
    if answer.hashes.len() != positions.len() {
        return Err(SyncError::HashCount {
            asked: positions.len(),
            answered: answer.hashes.len(),
        });
    }
    Ok(answer
        .hashes
        .iter()
        .map(|h| <[u8; 32]>::try_from(h.as_slice()).ok().map(EntryHash))
        .collect())
}

fn wire_position((origin, audience, seq): (NodeId, Audience, u64)) -> pb::Position {
    pb::Position {
        origin: origin.0.to_vec(),
        audience: u32::from(audience.code()),
        seq,
    }
}

/// Asks the peer for the forks it holds a proof of, and takes each one
/// this node does not hold yet (at that position or before): both entries
/// are fetched and checked here. A peer that sends something that proves
/// nothing is cut off; one that cannot answer (an older node) is not.
async fn exchange_forks(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
) -> Result<(), Ended> {
    let answer = match tokio::time::timeout(
        CALL_DEADLINE,
        client.forks(pb::ForksRequest {
            network_id: config.network_id.clone(),
        }),
    )
    .await
    {
        Ok(Ok(answer)) => answer.into_inner(),
        Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => return Ok(()),
        Ok(Err(status)) => return Err(SyncError::Call(status).into()),
        Err(_) => {
            return Err(SyncError::Timeout {
                what: "asking for forks",
                deadline: CALL_DEADLINE,
            }
            .into());
        }
    };
    if answer.forks.len() > crate::net::peer::MAX_FORKS {
        crate::base::metrics::peer_cut_off("garbage");
        return Err(cut_off(
            peer,
            format!(
                "peer listed {} forks; at most {} are sent",
                answer.forks.len(),
                crate::net::peer::MAX_FORKS
            ),
        ));
    }
    if answer.forks.is_empty() {
        return Ok(());
    }
    let held = known_forks(config).await;
    for fork in answer.forks {
        let Some((origin, audience, seq)) =
            fork.position.as_ref().and_then(crate::net::peer::position)
        else {
            crate::base::metrics::peer_cut_off("garbage");
            return Err(cut_off(
                peer,
                "peer listed a fork without a valid position".into(),
            ));
        };
        if held.get(&(origin, audience)).is_some_and(|s| *s <= seq) {
            continue;
        }
        // A proof about a key outside the roster would not be kept: not
        // even fetched (anyone can make one with a key of their own).
        let known = config
            .roster
            .read()
            .ok()
            .is_some_and(|r| r.member_of(&origin).is_some());
        if !known {
            continue;
        }
        let mut entries = Vec::with_capacity(2);
        for hash in [&fork.first, &fork.second] {
            let answer = within(
                "fetching a fork's entry",
                client.entry(pb::EntryRequest {
                    network_id: config.network_id.clone(),
                    position: fork.position.clone(),
                    hash: hash.clone(),
                    after: Vec::new(),
                }),
            )
            .await?
            .into_inner();
            if answer.entry.is_empty() {
                // An honest node serves both entries of every fork it lists.
                crate::base::metrics::peer_cut_off("garbage");
                return Err(cut_off(
                    peer,
                    format!(
                        "peer listed a fork of {origin} at {seq} but does not serve its entries"
                    ),
                ));
            }
            entries.push(answer.entry);
        }
        let [first, second] = <[Vec<u8>; 2]>::try_from(entries).unwrap_or_default();
        take_proof(config, peer, first, second).await?;
    }
    Ok(())
}

/// Most entries of another branch fetched from one peer in one session.
const MAX_BRANCH_WALK: usize = 10_000;

/// After a fork of a key of this node's member: fetches from the peer the
/// entries of the log's other branches that this node never held (walking
/// each branch from the proof's entry on, entry after entry), so that
/// `focal-node recover-branch` can write again what people typed there.
/// What this node holds already is walked locally.
async fn fetch_lost_branches(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    tips: &mut HashMap<EntryHash, (u64, EntryHash)>,
) -> Result<(), Ended> {
    let me = config.key.id();
    let Some(member) = config.roster.read().ok().and_then(|r| r.member_of(&me)) else {
        return Ok(());
    };
    let reader = config.reader.clone();
    let Ok(Ok(forks)) = tokio::task::spawn_blocking(move || reader.forks()).await else {
        return Ok(());
    };
    let ours: Vec<_> = forks
        .into_iter()
        .filter(|(f, _, _)| {
            config
                .roster
                .read()
                .ok()
                .and_then(|r| r.member_of(&f.origin))
                .is_some_and(|m| m == member)
        })
        .collect();
    let mut fetched = 0usize;
    for (fork, first, second) in ours {
        for start in [first, second] {
            let origin_hash = LogEntry::hash_of(&start);
            let (mut seq, mut hash) = tips
                .get(&origin_hash)
                .copied()
                .unwrap_or((fork.seq, origin_hash));
            let mut found = Vec::new();
            while fetched + found.len() < MAX_BRANCH_WALK {
                seq += 1;
                let reader = config.reader.clone();
                let local = tokio::task::spawn_blocking(move || {
                    reader.entry_after(&fork.origin, fork.audience, seq, hash)
                })
                .await
                .map_err(SyncError::from)?
                .map_err(SyncError::from)?;
                if let Some(bytes) = local {
                    hash = LogEntry::hash_of(&bytes);
                    continue;
                }
                let bytes = within(
                    "fetching a lost branch's entry",
                    client.entry(pb::EntryRequest {
                        network_id: config.network_id.clone(),
                        position: Some(wire_position((fork.origin, fork.audience, seq))),
                        hash: Vec::new(),
                        after: hash.0.to_vec(),
                    }),
                )
                .await?
                .into_inner()
                .entry;
                if bytes.is_empty() {
                    seq -= 1;
                    break;
                }
                let follows = LogEntry::decode(&bytes).is_ok_and(|e| {
                    e.body.origin == fork.origin
                        && e.body.audience == fork.audience
                        && e.body.seq == seq
                        && e.body.prev == hash
                });
                if !follows {
                    crate::base::metrics::peer_cut_off("garbage");
                    return Err(cut_off(
                        peer,
                        format!(
                            "peer answered entry {seq} of a forked log with an entry that does not \
                             follow the one asked after"
                        ),
                    ));
                }
                hash = LogEntry::hash_of(&bytes);
                found.push(bytes);
            }
            tips.insert(origin_hash, (seq, hash));
            if found.is_empty() {
                continue;
            }
            fetched += found.len();
            match config.writer.keep_branch(found).await {
                Ok(kept) => tracing::info!(
                    peer,
                    origin = %fork.origin,
                    audience = fork.audience.as_str(),
                    kept,
                    "kept entries of another branch of this member's forked log, to write again"
                ),
                Err(err) if err.is_misbehaviour() => {
                    crate::base::metrics::peer_cut_off("invalid_entry");
                    return Err(cut_off(
                        peer,
                        format!("peer sent an invalid entry of a forked log: {err}"),
                    ));
                }
                Err(err) => tracing::warn!(peer, %err, "cannot keep a forked log's other branch"),
            }
        }
    }
    Ok(())
}

/// The forks this node holds: per log, the position.
async fn known_forks(config: &SyncConfig) -> HashMap<LogKey, u64> {
    let reader = config.reader.clone();
    match tokio::task::spawn_blocking(move || reader.forks()).await {
        Ok(Ok(forks)) => forks
            .into_iter()
            .map(|(f, _, _)| ((f.origin, f.audience), f.seq))
            .collect(),
        _ => HashMap::new(),
    }
}

/// Hands a proof to the writer; a proof that proves nothing cuts the peer
/// that sent it off.
async fn take_proof(
    config: &SyncConfig,
    peer: &str,
    first: Vec<u8>,
    second: Vec<u8>,
) -> Result<(), Ended> {
    match config.writer.prove_fork(peer, first, second).await {
        Ok(_) => Ok(()),
        Err(ForkRefused::Proof(err)) => {
            crate::base::metrics::peer_cut_off("invalid_entry");
            let why = format!("peer sent a fork proof that proves nothing: {err}");
            update(&config.status, peer, |s| {
                s.rejected += 1;
                s.last_error = Some(why.clone());
            });
            Err(cut_off(peer, why))
        }
        Err(err) => {
            tracing::info!(peer, %err, "a fork proof was not taken");
            Ok(())
        }
    }
}

/// Finds and proves the fork of each suspect log.
async fn settle_all(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    mut suspects: Vec<(LogKey, u64)>,
) -> Result<(), Ended> {
    suspects.sort();
    suspects.dedup_by_key(|(key, _)| *key);
    // A peer decides how many logs look different: a few are looked into
    // per round (a real fork is found in the next rounds).
    suspects.truncate(SETTLE_PER_ROUND);
    for (key, upto) in suspects {
        settle(config, client, peer, key, upto).await?;
    }
    Ok(())
}

/// Most logs looked into for a fork per round with one peer.
const SETTLE_PER_ROUND: usize = 8;
/// Most rounds of `Hashes` questions to find one fork (each narrows the
/// range 64 times).
const SETTLE_ROUNDS: usize = 16;
/// Positions asked per round.
const SETTLE_PROBES: u64 = 64;

/// The peer's copy of a log and this node's differ at or before `upto`:
/// finds the first position where they differ (the log is hash-chained, so
/// they agree everywhere before it and differ everywhere after), fetches the
/// peer's entry there and proves the fork with this node's.
async fn settle(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    key: LogKey,
    upto: u64,
) -> Result<(), Ended> {
    if known_forks(config)
        .await
        .get(&key)
        .is_some_and(|s| *s <= upto)
    {
        return Ok(());
    }
    let ours = |seqs: Vec<u64>| {
        let reader = config.reader.clone();
        async move {
            let positions: Vec<_> = seqs.iter().map(|s| (key.0, key.1, *s)).collect();
            tokio::task::spawn_blocking(move || reader.entry_hashes(&positions))
                .await
                .map_err(SyncError::from)?
                .map_err(SyncError::from)
        }
    };
    // `lo`: a position both hold the same entry at (0: before the log);
    // `hi`: one where they differ.
    let (mut lo, mut hi) = (0u64, upto);
    let mut their_hi = None;
    for round in 0..=SETTLE_ROUNDS {
        let probes: Vec<u64> = if round == 0 {
            vec![upto]
        } else {
            let span = hi - lo;
            let step = span.div_ceil(SETTLE_PROBES).max(1);
            (1..SETTLE_PROBES)
                .map(|i| lo + i * step)
                .take_while(|p| *p < hi)
                .collect()
        };
        if probes.is_empty() {
            break;
        }
        let mine = ours(probes.clone()).await?;
        let positions: Vec<_> = probes.iter().map(|s| (key.0, key.1, *s)).collect();
        let theirs = their_hashes(config, client, &positions).await?;
        for ((seq, m), t) in probes.iter().zip(mine).zip(theirs) {
            match (m, t) {
                (Some(m), Some(t)) if m == t => lo = lo.max(*seq),
                (Some(_), Some(t)) => {
                    if *seq < hi || their_hi.is_none() {
                        hi = *seq;
                        their_hi = Some(t);
                    }
                    break;
                }
                // One side no longer holds it (a cut meanwhile): nothing
                // to compare.
                _ => return Ok(()),
            }
        }
        if their_hi.is_none() || hi - lo <= 1 {
            break;
        }
    }
    let Some(their_hash) = their_hi.filter(|_| hi - lo == 1) else {
        return Ok(());
    };
    let theirs = within(
        "fetching the entry where a log forked",
        client.entry(pb::EntryRequest {
            network_id: config.network_id.clone(),
            position: Some(wire_position((key.0, key.1, hi))),
            hash: their_hash.0.to_vec(),
            after: Vec::new(),
        }),
    )
    .await?
    .into_inner()
    .entry;
    let reader = config.reader.clone();
    let mine = tokio::task::spawn_blocking(move || reader.entry_at(&key.0, key.1, hi, None))
        .await
        .map_err(SyncError::from)?
        .map_err(SyncError::from)?;
    let (Some(mine), false) = (mine, theirs.is_empty()) else {
        return Ok(());
    };
    tracing::warn!(
        peer,
        origin = %key.0,
        audience = key.1.as_str(),
        seq = hi,
        "a log forked: this node and the peer hold different entries signed by its key"
    );
    take_proof(config, peer, mine, theirs).await
}

/// Once the peer has streamed everything it holds: the start check, then
/// the recovery of a fenced node (see `recovery`).
async fn after_catch_up(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
) {
    if config.writer.fence().start_pending() {
        check_start(config, client, peer).await;
    }
    if config.writer.fence().is_fenced() {
        lift_fence_if_recovered(config, client, peer).await;
    }
}

/// The peer's heads (of the logs it lets this node read), for `what`; none
/// if it does not answer (logged: the next round tries again).
async fn peer_heads(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
    what: &str,
) -> Option<Vec<pb::LogHead>> {
    match within(
        "comparing heads",
        client.heads(pb::HeadsRequest {
            network_id: config.network_id.clone(),
            ..Default::default()
        }),
    )
    .await
    {
        Ok(theirs) => Some(theirs.into_inner().heads),
        Err(error) => {
            tracing::info!(peer, %error, "cannot compare heads for {what}; trying again later");
            None
        }
    }
}

/// The start check: the peer's heads of this node's own logs against the
/// heads the node started with. Further ahead means the data directory
/// was rolled back: the node fences itself (see `recovery`).
async fn check_start(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
) {
    let Some(theirs) = peer_heads(config, client, peer, "the start check").await else {
        return;
    };
    let fence = config.writer.fence();
    let Some(at_start) = fence.start_heads() else {
        return;
    };
    let theirs = theirs.iter().filter_map(crate::net::peer::from_wire);
    match crate::engine::recovery::recovered_from(config.key.id(), &at_start, theirs) {
        Ok(()) => {
            config.writer.start_confirmed(peer).await;
        }
        Err(((_, audience), have, theirs)) => {
            let member = NodeId::from_hex(peer)
                .and_then(|key| config.roster.read().ok()?.active_member_of(&key))
                .map_or_else(|| peer.to_owned(), |m| format!("{m} ({peer})"));
            let reason = crate::engine::recovery::WriteFence::rolled_back_reason(
                &member, audience, have, theirs,
            );
            if let Err(err) = config.writer.fence_rolled_back(reason).await {
                tracing::error!(%err, "cannot fence this rolled-back node");
            }
        }
    }
}

/// After a restore: once the peer has streamed everything it holds, lifts
/// the write fence if the peer has no entry of this node's own logs that
/// this node lacks (see `recovery`).
async fn lift_fence_if_recovered(
    config: &SyncConfig,
    client: &mut PeerServiceClient<tonic::transport::Channel>,
    peer: &str,
) {
    let Some(theirs) = peer_heads(config, client, peer, "a restore").await else {
        return;
    };
    let theirs = theirs
        .iter()
        .filter_map(crate::net::peer::from_wire)
        .collect::<Vec<_>>();
    let ours = config.writer.version_vector();
    match crate::engine::recovery::recovered_from(config.key.id(), &ours, theirs) {
        Ok(()) => {
            // Every active key of the roster may hold entries this node
            // signed after the backup (members pull each other's logs
            // directly): each must have given back what it holds. A peer
            // that cannot be reached keeps the node fenced; the operator
            // decides (`focal-node resume-writes`).
            let me = config.key.id();
            let required: Vec<String> = config
                .roster
                .read()
                .map(|roster| {
                    let mut keys: Vec<String> = roster
                        .peers(&me)
                        .into_iter()
                        .map(|p| p.key.to_string())
                        .chain(roster.anchor().filter(|a| *a != me).map(|a| a.to_string()))
                        .collect();
                    keys.sort();
                    keys.dedup();
                    keys
                })
                .unwrap_or_default();
            if config.writer.fence().recovered_from_peer(peer, &required)
                && let Err(err) = config.writer.lift_fence(peer).await
            {
                tracing::error!(%err, "cannot lift the restore fence");
            }
        }
        Err(((_, audience), have, theirs)) => tracing::warn!(
            peer,
            audience = audience.as_str(),
            have,
            theirs,
            "restored node still lacks entries of its own log that this peer holds; writes stay refused"
        ),
    }
}

fn request(config: &SyncConfig, follow: bool) -> pb::PullRequest {
    let have = config
        .writer
        .version_vector()
        .iter()
        .filter(|(key, _)| key.1 != Audience::Local)
        .map(|(key, head)| to_wire(key, head))
        .collect();
    pb::PullRequest {
        network_id: config.network_id.clone(),
        have,
        follow,
        // A node of version 1 ignores it (the field is unknown to it).
        chained: true,
    }
}

/// The entries of a message, decoded, taking their bytes: a chained
/// message's entries get their `prev` back, each the hash of the entry
/// before it (see `PullResponse.chained`). A chained entry too short to be
/// one is garbage.
fn decode_message(entries: Vec<Vec<u8>>, chained: bool) -> Result<Vec<LogEntry>, EntryError> {
    let mut decoded = Vec::with_capacity(entries.len());
    let mut before: Option<EntryHash> = None;
    for bytes in entries {
        let whole = match before {
            Some(prev) if chained => crate::log::rechain(&bytes, &prev)?,
            _ => bytes,
        };
        if chained {
            before = Some(LogEntry::hash_of(&whole));
        }
        decoded.push(LogEntry::decode(&whole)?);
    }
    Ok(decoded)
}

/// A message of a peer's stream, decoded and checked ([`Writer::check`])
/// but not stored yet.
struct Prepared {
    /// How many entries the message held.
    entries: usize,
    /// What the peer says is left to send.
    total: u64,
    caught_up: bool,
    /// `None`: nothing to check (no entries, or over the batch limit).
    checked: Result<Option<crate::engine::writer::CheckedBatch>, Unprepared>,
}

enum Unprepared {
    /// The message does not decode.
    Garbage(EntryError),
    Storage(crate::engine::writer::WriteError),
}

/// Decodes and checks a message.
async fn prepare(writer: &crate::engine::writer::Writer, response: pb::PullResponse) -> Prepared {
    let (total, caught_up, entries) = (response.total, response.caught_up, response.entries.len());
    let checked = match decode_message(response.entries, response.chained) {
        Err(e) => Err(Unprepared::Garbage(e)),
        Ok(decoded) if decoded.is_empty() => Ok(None),
        Ok(decoded) => writer
            .check(decoded)
            .await
            .map(Some)
            .map_err(Unprepared::Storage),
    };
    Prepared {
        entries,
        total,
        caught_up,
        checked,
    }
}

/// The live stream, read one message ahead: a task takes each message off
/// the stream, decodes it and checks its signatures on the blocking pool
/// while the writer stores the one before (`receive`). At most two
/// messages wait, checked, at any time; the task ends with the session. A
/// message over the batch limit is not checked: the session's `RateWindow`
/// refuses it by its count.
struct Pipeline {
    messages: tokio::sync::mpsc::Receiver<Result<Prepared, tonic::Status>>,
    /// `None` once it has ended and been waited for.
    reader: Option<JoinHandle<()>>,
}

impl Pipeline {
    fn start(config: &SyncConfig, mut live: tonic::Streaming<pb::PullResponse>) -> Self {
        let (send, messages) = tokio::sync::mpsc::channel(1);
        let writer = config.writer.clone();
        let max_batch = config.max_batch;
        let reader = tokio::spawn(async move {
            while let Some(message) = live.next().await {
                let failed = message.is_err();
                let item = match message {
                    Ok(response) if response.entries.len() > max_batch => Ok(Prepared {
                        entries: response.entries.len(),
                        total: response.total,
                        caught_up: response.caught_up,
                        checked: Ok(None),
                    }),
                    Ok(response) => Ok(prepare(&writer, response).await),
                    Err(status) => Err(status),
                };
                if send.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Self {
            messages,
            reader: Some(reader),
        }
    }

    /// The next message, checked; `None` once the stream has ended. A task
    /// that ended by panicking is a failed stream, not an ended one.
    async fn next(&mut self) -> Option<Result<Prepared, tonic::Status>> {
        if let Some(message) = self.messages.recv().await {
            return Some(message);
        }
        match self.reader.take()?.await {
            Err(e) if e.is_panic() => Some(Err(tonic::Status::internal(format!(
                "reading the peer's stream failed: {e}"
            )))),
            _ => None,
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(reader) = &self.reader {
            reader.abort();
        }
    }
}

/// Stores one message's entries, checked. A peer that sent something no
/// honest node would send is cut off at once; one that causes more than
/// `max_refusals_per_session` other refusals in a session (`refusals`) too.
async fn receive(
    config: &SyncConfig,
    peer: &str,
    response: Prepared,
    refusals: &mut u64,
) -> Result<Vec<(LogKey, u64)>, Ended> {
    if response.total >= 1000 {
        tracing::info!(peer, entries = response.total, "catching up");
    }
    let mut was_catching_up = 0;
    update(&config.status, peer, |s| {
        s.last_contact = Some(now_rfc3339());
        if response.total > 0 {
            s.catching_up = response.total;
        }
        was_catching_up = s.catching_up;
        if response.caught_up {
            s.catching_up = 0;
        }
    });
    if response.caught_up {
        update(&config.status, peer, |s| {
            s.last_caught_up = Some(std::time::Instant::now());
        });
    }
    if response.caught_up && was_catching_up >= 1000 {
        tracing::info!(peer, "caught up");
    }
    if response.entries == 0 {
        return Ok(Vec::new());
    }
    let entries = match response.checked {
        Ok(Some(entries)) => entries,
        Ok(None) => return Ok(Vec::new()),
        Err(Unprepared::Storage(e)) => return Err(SyncError::from(e).into()),
        Err(Unprepared::Garbage(e)) => {
            crate::base::metrics::peer_cut_off("garbage");
            update(&config.status, peer, |s| {
                s.rejected += 1;
                s.last_error = Some(e.to_string());
            });
            return Err(cut_off(peer, format!("garbage from peer: {e}")));
        }
    };
    let count = entries.entries.len() as u64;
    let report = config
        .writer
        .store_checked(peer, entries)
        .await
        .map_err(SyncError::from)?;
    let misbehaved = report.rejected.iter().find(|(_, _, e)| e.is_misbehaviour());
    // A relay that does not know of a fork yet sends what lies beyond it:
    // not counted (it learns of the fork from this node).
    *refusals += report
        .rejected
        .iter()
        .filter(|(_, _, e)| {
            !e.is_misbehaviour()
                && !matches!(e, IngestError::Storage(_) | IngestError::BeyondFork { .. })
        })
        .count() as u64;
    // The peer holds another entry at a position of a log, or before it:
    // a fork to find.
    let suspects = report
        .rejected
        .iter()
        .filter_map(|(origin, seq, e)| match e {
            IngestError::Equivocation { audience, .. } => Some((*origin, *audience, *seq)),
            IngestError::BrokenChain { audience, .. } => Some((*origin, *audience, seq - 1)),
            _ => None,
        })
        .filter_map(|(origin, audience, seq)| {
            let audience = Audience::ALL.into_iter().find(|a| a.as_str() == audience)?;
            (seq > 0).then_some(((origin, audience), seq))
        })
        .collect::<Vec<_>>();
    update(&config.status, peer, |s| {
        s.accepted += report.accepted as u64;
        s.rejected += report.rejected.len() as u64;
        let before = s.catching_up;
        s.catching_up = s.catching_up.saturating_sub(count);
        // Long catch-ups log their progress every 10,000 entries.
        if before / 10_000 != s.catching_up / 10_000 {
            tracing::info!(peer, remaining = s.catching_up, "catching up");
        }
        if let Some((_, _, e)) = report.rejected.last() {
            s.last_error = Some(e.to_string());
        }
    });
    if let Some((origin, seq, err)) = misbehaved {
        crate::base::metrics::peer_cut_off("invalid_entry");
        return Err(cut_off(
            peer,
            format!("peer relayed an invalid entry ({origin} seq {seq}): {err}"),
        ));
    }
    if *refusals > config.max_refusals_per_session {
        crate::base::metrics::peer_cut_off("too_many_refusals");
        let why = format!(
            "peer sent {refusals} entries this session that were refused (unknown keys, gaps, \
             cut-offs; the limit is {}, `network.max_refusals_per_session`)",
            config.max_refusals_per_session
        );
        update(&config.status, peer, |s| s.last_error = Some(why.clone()));
        return Err(cut_off(peer, why));
    }
    Ok(suspects)
}

/// Logs (within a budget: the peer decides how often) that a peer is cut
/// off, and returns why.
/// Whether a stream failed on a message over this node's cap: sent as it
/// is (`OUT_OF_RANGE`), or compressed and expanding past it while it was
/// decompressed (`RESOURCE_EXHAUSTED`, said by this node's decoder).
fn oversized(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::OutOfRange
        || (status.code() == tonic::Code::ResourceExhausted
            && status.message().starts_with("Error decompressing"))
}

fn cut_off(peer: &str, why: String) -> Ended {
    static CUT_OFF: LogBudget = LogBudget::per_minute(20);
    if let Some(suppressed) = CUT_OFF.admit() {
        tracing::warn!(peer, %why, suppressed, "disconnecting the peer");
    }
    Ended::Misbehaved(why)
}

fn update(status: &SharedStatus, key: &str, f: impl FnOnce(&mut PeerStatus)) {
    if let Ok(mut map) = status.lock() {
        f(map.entry(key.to_owned()).or_default());
    }
}
