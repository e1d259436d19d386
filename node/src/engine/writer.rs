//! The write path: one thread that owns the database's write connection, the
//! hot documents and this node's logs.
//!
//! Every local write (create, update, delete) goes through [`Writer`]. The
//! thread takes writes in batches (group commit): each write is validated,
//! applied to its document, signed into the node's log, and all the writes of
//! a batch are committed in one SQLite transaction, whose commit is durable
//! (WAL, `synchronous = FULL`) before any of them is acknowledged.
//!
//! Invariants:
//! - A write that fails validation never touches a document or the log.
//! - The sequence numbers of each of the node's logs are gap-free: a write
//!   whose rows could not be stored does not consume its number, and when a
//!   batch's commit fails, the in-memory state is reloaded from the database.
//! - Documents stay small to load: after [`SNAPSHOT_EVERY`] changes the
//!   document is saved as a new snapshot and its pending changes dropped.
//! - Hot documents stay in memory ([`CACHE_CAPACITY`]), so a write to a record
//!   with a long history costs one incremental commit, not a reload.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    thread,
};

use automerge::{Author, Automerge, ChangeHash, transaction::CommitOptions};
use ed25519_dalek::SigningKey;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    doc,
    engine::ingest::{IngestError, IngestReport},
    engine::recovery::WriteFence,
    identity::NodeId,
    log::{Audience, EntryBody, EntryHash, LogEntry},
    member::{MemberCode, MemberKind},
    records::{self, ENVELOPE_KEYS, FieldError, RecordType, ValidationContext, Visibility},
    roster::{ROSTER_ID, Roster, SharedRoster},
    store::Store,
    store::{
        ReadError, RecordRow,
        documents::{load_document, row_from_json},
    },
};

/// The snapshot of an empty document: the base of a document first received
/// change by change.
static EMPTY_SNAPSHOT: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(|| Automerge::new().save());

/// Changes after which a document is compacted into a new snapshot.
pub const SNAPSHOT_EVERY: u32 = 128;
/// Documents kept in memory.
pub const CACHE_CAPACITY: usize = 1024;
/// How often the writer looks at the size of the write-ahead log.
pub const WAL_CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// A write-ahead log this large is checkpointed and truncated. (A write
/// adds 20–40 kB to the log: each of its rows lands on another page of its
/// table and indexes.)
pub const WAL_TRUNCATE_AT: u64 = 16 * 1024 * 1024;
/// How long that checkpoint waits for readers of older snapshots.
pub const WAL_TRUNCATE_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// The write-ahead log of the database at `db`.
fn wal_path(db: &std::path::Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    std::path::PathBuf::from(name)
}

pub use crate::base::config::DEFAULT_CACHE_BYTES;
/// Writes committed together at most.
pub const MAX_BATCH: usize = 256;

/// What changed, for watchers.
#[derive(Debug, Clone)]
pub struct RecordEvent {
    /// `created`, `updated` or `deleted`.
    pub action: &'static str,
    /// The record after the change.
    pub record: RecordRow,
}

/// A write a client asked for.
#[derive(Debug, Clone)]
pub enum WriteRequest {
    /// A new record.
    Create {
        /// Its type.
        kind: RecordType,
        /// Its fields (validated here).
        fields: Map<String, Value>,
        /// Who may read it.
        visibility: Visibility,
        /// Language of plain-string multilingual text.
        language: String,
        /// The client's id for this request, making retries safe (see
        /// `idempotency`).
        request_id: Option<String>,
    },
    /// A partial update: JSON merge patch (RFC 7396) of the fields.
    Update {
        /// The record.
        id: String,
        /// Fields to set; `null` removes an optional field.
        patch: Map<String, Value>,
        /// Language of plain-string multilingual text.
        language: String,
    },
    /// A tombstone (the history is kept).
    Delete {
        /// The record.
        id: String,
    },
}

/// Why a write was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The fields do not satisfy the schema.
    #[error("invalid {kind}: {}", join(.errors))]
    Invalid {
        /// The record type.
        kind: RecordType,
        /// Every problem found.
        errors: Vec<FieldError>,
    },
    /// No such record.
    #[error("no record {0}")]
    NotFound(String),
    /// The record belongs to another member.
    #[error("record {id} belongs to {owner}; this node writes only {member}'s records")]
    NotOwner {
        /// The record.
        id: String,
        /// Its owner.
        owner: String,
        /// This node's member.
        member: String,
    },
    /// The record type is the secretariat's.
    #[error("only the secretariat's node may create {0} records")]
    SecretariatOnly(RecordType),
    /// The record was deleted.
    #[error("record {0} was deleted; deleted records cannot be changed")]
    Deleted(String),
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The record would be over one of the node's limits (which every
    /// peer applies to what it receives).
    #[error("the record would be over a limit: {0}")]
    OverLimit(#[from] crate::limits::OverLimit),
    /// The change would make a log entry too large to travel to peers in
    /// one message: refused before it is signed.
    #[error(
        "the change would make a log entry of {bytes} bytes, over the largest an entry may be \
         ({max} bytes, what travels to peers in one message); nothing was signed or stored: \
         make the record smaller, or change it in several writes"
    )]
    EntryTooLarge {
        /// The entry's size, had it been signed.
        bytes: usize,
        /// [`crate::log::MAX_ENTRY_BYTES`].
        max: usize,
    },
    /// The database could not store the write; nothing was acknowledged.
    #[error("the write was not stored: {0}")]
    Storage(String),
    /// The node is shutting down.
    #[error("the node is shutting down; retry against the restarted node")]
    ShuttingDown,
    /// This node's key was rotated or revoked in the roster.
    #[error(
        "this node's key {key} is {status} in the roster: nothing it signs is accepted any \
         more; {}",
        if *status == crate::roster::KeyStatus::Rotated {
            "this data directory holds an old key (restart the node on the rotated one)"
        } else {
            "give the node a new key with `focal-node key rotate`, send `focal-node join-request` \
             to the secretariat, which adds it with `focal admin member add --request …`"
        }
    )]
    KeyRetired {
        /// The key.
        key: NodeId,
        /// `rotated` or `revoked`.
        status: crate::roster::KeyStatus,
    },
    /// A create reused a request id of a different create.
    #[error(
        "request id {0} was already used for a different create; a retry must send the same \
         request, and a new create a new id"
    )]
    RequestIdReused(String),
    /// The node was restored from a backup and has not yet recovered its
    /// own later entries (see `recovery`).
    #[error(
        "this node was restored from a backup ({0}) and signs nothing until it has recovered, \
         from the secretariat and its connected peers, the entries it signed after that backup; \
         signing now could reuse a sequence number (equivocation). Let it reach its peers, or, \
         if no peer can hold newer entries of this node, run `focal-node resume-writes`"
    )]
    Fenced(String),
    /// This node's key signed two different entries at one position of one
    /// of its logs, proven by the entries (see `fork`).
    #[error(
        "this node's key {key} signed two different entries at entry {seq} of its {audience} log \
         (a fork: a restored, rolled-back or copied data directory does this). Every node keeps \
         that log up to the entry before, and this key signs nothing more. Rotate the key \
         (`focal-node key rotate`; the secretariat confirms it), then write again what the lost \
         entries held (`focal-node recover-branch`); see OPERATIONS.md, \"Forks\""
    )]
    Forked {
        /// The key.
        key: NodeId,
        /// The log.
        audience: &'static str,
        /// Where it forked.
        seq: u64,
    },
    /// The node started in a network and no peer has confirmed yet that it
    /// holds nothing newer of this node's own logs (see `recovery`).
    #[error(
        "this node signs nothing after a start until a peer confirms that it holds no newer \
         entries of this node's own logs, and none has since it started {started_secs} s ago \
         (a write waits {bound_ms} ms, `[network] start_check_ms`): a data directory rolled \
         back to an older copy (a VM snapshot, a copied directory) would sign sequence \
         numbers the network already holds (equivocation). Let it reach a peer (`focal-node \
         status` shows them); if you know this directory is current and it must work \
         offline, run `focal-node resume-writes --data {dir} --confirm`"
    )]
    Unconfirmed {
        /// Seconds since the node started.
        started_secs: u64,
        /// How long a write waits after the start.
        bound_ms: u64,
        /// The data directory.
        dir: String,
    },
}

impl From<ReadError> for WriteError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound(id) => WriteError::NotFound(id),
            ReadError::BadRequest(why) => WriteError::BadRequest(why),
            other => WriteError::Storage(other.to_string()),
        }
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

enum Job {
    Write {
        request: WriteRequest,
        reply: oneshot::Sender<Result<RecordRow, WriteError>>,
    },
    Roster {
        patch: Map<String, Value>,
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    Ingest {
        peer: String,
        entries: Vec<crate::engine::intake::Checked>,
        reply: oneshot::Sender<IngestReport>,
    },
    Fork {
        peer: String,
        proof: Box<crate::fork::ForkProof>,
        reply: oneshot::Sender<
            Result<crate::engine::ingest::ForkOutcome, crate::engine::ingest::ForkRefused>,
        >,
    },
    KeepBranch {
        entries: Vec<LogEntry>,
        reply: oneshot::Sender<Result<usize, WriteError>>,
    },
    /// Puts the restore fence up (`Some`: why, `meta.restored`) or takes it
    /// down (`None`, after `peer` gave the last own entries back).
    Fence {
        restored: Option<String>,
        peer: String,
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    /// Takes the operator's confirmation of the start check
    /// (`meta.start_confirmed`), ending the check if there was one
    /// (`peer: None`), or ends it for a peer that confirmed this node's heads
    /// (`Some`), spending the operator's confirmation too.
    Confirm {
        peer: Option<String>,
        reply: oneshot::Sender<bool>,
    },
    /// A write to the web app's people or sessions (`store::users`).
    Users {
        change: crate::store::users::Change,
        reply: oneshot::Sender<Result<usize, WriteError>>,
    },
    /// Finish what was queued before, then stop.
    Shutdown,
    /// Nothing to do: the writer thread looks at what waited for the start
    /// check (see `recovery`).
    Wake,
}

/// The handle services use to write. Cloning is cheap; the writer thread
/// stops once every handle is dropped and the queue is drained.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    events: broadcast::Sender<RecordEvent>,
    stored: broadcast::Sender<StoredEntry>,
    vv: SharedVersionVector,
    generation: Generation,
    roster_version: Arc<std::sync::atomic::AtomicU64>,
    fence: WriteFence,
    roster: SharedRoster,
    limits: Arc<crate::limits::Limits>,
}

impl Writer {
    /// Starts the writer thread on `store`. The returned join handle yields
    /// the store back when the thread ends, so the caller can close it.
    pub fn spawn(
        store: Store,
        key: SigningKey,
        member: MemberCode,
        net: NetworkContext,
    ) -> Result<(Self, thread::JoinHandle<Store>), WriteError> {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        let (events, _) = broadcast::channel(1024);
        let (stored, _) = broadcast::channel(4096);
        let mut state = WriterState::new(store, key, member, events.clone(), stored.clone(), net)?;
        // It signs: after the start check (then in `run`).
        if !state.fence.start_pending() {
            state.migrate_contacts();
        }
        let vv = state.shared_vv.clone();
        let generation = state.generation.clone();
        let roster_version = state.roster_version.clone();
        let fence = state.fence.clone();
        let roster = state.net.roster.clone();
        let limits = Arc::new(state.net.limits.clone());
        let handle = thread::Builder::new()
            .name("focal-writer".to_owned())
            .spawn(move || {
                state.run(rx);
                state.store
            })
            .map_err(|e| WriteError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok((
            Self {
                jobs,
                events,
                stored,
                vv,
                generation,
                roster_version,
                fence,
                roster,
                limits,
            },
            handle,
        ))
    }

    /// Performs a write; returns once it is durable.
    pub async fn write(&self, request: WriteRequest) -> Result<RecordRow, WriteError> {
        self.fence.wait_for_start(|| self.confirm(None)).await?;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Write { request, reply })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Changes the roster (the secretariat's node only): a JSON merge patch
    /// of the roster document.
    pub async fn change_roster(&self, patch: Map<String, Value>) -> Result<(), WriteError> {
        self.fence.wait_for_start(|| self.confirm(None)).await?;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Roster { patch, reply })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Verifies, authorizes and stores entries received from a peer, in
    /// order. Returns what became of each.
    pub async fn ingest(&self, entries: Vec<LogEntry>) -> Result<IngestReport, WriteError> {
        self.ingest_from("(direct)", entries).await
    }

    /// [`Writer::ingest`], naming the peer the entries came from (refusals
    /// are recorded with it).
    pub async fn ingest_from(
        &self,
        peer: &str,
        entries: Vec<LogEntry>,
    ) -> Result<IngestReport, WriteError> {
        let entries = self.check(entries).await?;
        self.store_checked(peer, entries).await
    }

    /// The first half of [`Writer::ingest_from`]: everything that needs no
    /// database (the roster, then signatures, checksums, limits, authors)
    /// is checked on the blocking pool, so that no peer can hold the writer
    /// thread, and so that a message can be checked while the one before
    /// it is stored.
    pub async fn check(&self, entries: Vec<LogEntry>) -> Result<CheckedBatch, WriteError> {
        let roster = self.roster.clone();
        let limits = self.limits.clone();
        // Before the roster is read: see `reload_roster`.
        let version = self
            .roster_version
            .load(std::sync::atomic::Ordering::Acquire);
        let entries = tokio::task::spawn_blocking(move || {
            crate::engine::intake::check(&roster, &limits, entries)
        })
        .await
        .map_err(|e| WriteError::Storage(format!("checking received entries failed: {e}")))?;
        Ok(CheckedBatch {
            roster: version,
            entries,
        })
    }

    /// The second half of [`Writer::ingest_from`]: stores entries
    /// [`Writer::check`] checked. A batch checked against a roster the
    /// writer has since replaced is checked again first, so that every
    /// verdict is the one the roster of now gives, as if the batch had been
    /// checked after the batches before it were stored.
    pub async fn store_checked(
        &self,
        peer: &str,
        batch: CheckedBatch,
    ) -> Result<IngestReport, WriteError> {
        let now = self
            .roster_version
            .load(std::sync::atomic::Ordering::Acquire);
        let entries = if batch.roster == now {
            batch.entries
        } else {
            self.check(batch.entries.into_iter().map(|c| c.entry).collect())
                .await?
                .entries
        };
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Ingest {
                peer: peer.to_owned(),
                entries,
                reply,
            })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)
    }

    /// Takes a proof of a fork (two encoded entries), checked off the
    /// writer thread: keeps it and cuts the forked log back to the entry
    /// before the fork (see `fork`).
    pub async fn prove_fork(
        &self,
        peer: &str,
        first: Vec<u8>,
        second: Vec<u8>,
    ) -> Result<crate::engine::ingest::ForkOutcome, crate::engine::ingest::ForkRefused> {
        let proof =
            tokio::task::spawn_blocking(move || crate::fork::ForkProof::check(&first, &second))
                .await
                .map_err(|e| crate::engine::ingest::ForkRefused::Storage(e.to_string()))??;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Fork {
                peer: peer.to_owned(),
                proof: Box::new(proof),
                reply,
            })
            .await
            .map_err(|_| {
                crate::engine::ingest::ForkRefused::Storage(WriteError::ShuttingDown.to_string())
            })?;
        rx.await.map_err(|_| {
            crate::engine::ingest::ForkRefused::Storage(WriteError::ShuttingDown.to_string())
        })?
    }

    /// Keeps entries of another branch of a forked log of this member's
    /// keys (fetched from a peer), for `focal-node recover-branch`. Each is
    /// checked (signature, changes) off the writer thread; the writer keeps
    /// those of a proven fork of this member's keys, beyond it. Returns how
    /// many were new.
    pub async fn keep_branch(&self, entries: Vec<Vec<u8>>) -> Result<usize, IngestError> {
        let limits = self.limits.clone();
        let entries = tokio::task::spawn_blocking(move || {
            entries
                .iter()
                .map(|bytes| {
                    let entry = LogEntry::decode(bytes)?;
                    entry.verify(&limits)?;
                    Ok(entry)
                })
                .collect::<Result<Vec<_>, crate::log::EntryError>>()
        })
        .await
        .map_err(|e| IngestError::Storage(e.to_string()))??;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::KeepBranch { entries, reply })
            .await
            .map_err(|_| IngestError::Storage(WriteError::ShuttingDown.to_string()))?;
        rx.await
            .map_err(|_| IngestError::Storage(WriteError::ShuttingDown.to_string()))?
            .map_err(IngestError::from)
    }

    /// Writes `change` to the web app's people or sessions; returns how many
    /// rows it changed. Not fenced: signing in writes no log entry.
    pub async fn users(&self, change: crate::store::users::Change) -> Result<usize, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Users { change, reply })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Tells the writer thread that the start check is over, so that what
    /// waited for it (the contact migration) runs without waiting for the
    /// next write or received entry.
    pub async fn start_check_over(&self) {
        let _ = self.jobs.send(Job::Wake).await;
    }

    /// `peer` has streamed everything it holds and holds nothing newer of
    /// this node's own logs than it started with: the start check is over.
    pub async fn start_confirmed(&self, peer: &str) {
        self.confirm(Some(peer.to_owned())).await;
        self.start_check_over().await;
    }

    /// Asks the writer thread to take the start check's confirmation: the
    /// operator's (`peer: None`; whether there was one) or a peer's.
    async fn confirm(&self, peer: Option<String>) -> bool {
        let (reply, rx) = oneshot::channel();
        if self.jobs.send(Job::Confirm { peer, reply }).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Fences this node as rolled back (see `recovery`): stores `reason` as
    /// `meta.restored`, then refuses writes until it has recovered its own
    /// entries from every peer.
    pub async fn fence_rolled_back(&self, reason: String) -> Result<(), WriteError> {
        self.fence_job(Some(reason), String::new()).await
    }

    /// Lifts the restore fence: every peer has given back what it holds of
    /// this node's own logs (the last of them `peer`).
    pub async fn lift_fence(&self, peer: &str) -> Result<(), WriteError> {
        self.fence_job(None, peer.to_owned()).await
    }

    async fn fence_job(&self, restored: Option<String>, peer: String) -> Result<(), WriteError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Fence {
                restored,
                peer,
                reply,
            })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        rx.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Asks the writer to finish the writes queued so far and stop; later
    /// writes fail with [`WriteError::ShuttingDown`].
    pub async fn shutdown(&self) {
        let _ = self.jobs.send(Job::Shutdown).await;
    }

    /// Subscribes to every entry stored from now on (own and received).
    pub fn subscribe_entries(&self) -> broadcast::Receiver<StoredEntry> {
        self.stored.subscribe()
    }

    /// A count that grows with each of the writer's commits: odd while one
    /// is under way, even again once the commit and the roster it changed
    /// can be read. What was read while it held still, and even, is still
    /// true (the views' cache).
    pub fn generation(&self) -> Generation {
        self.generation.clone()
    }

    /// The heads of every log this node holds.
    pub fn version_vector(&self) -> HashMap<LogKey, LogHead> {
        self.vv.read().map(|vv| vv.clone()).unwrap_or_default()
    }

    /// The restore fence (see `recovery`).
    pub fn fence(&self) -> &WriteFence {
        &self.fence
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RecordEvent> {
        self.events.subscribe()
    }
}

/// A document in memory, with what the writer needs to know about it.
pub(crate) struct CachedDoc {
    pub(crate) doc: Automerge,
    pub(crate) pending: u32,
    pub(crate) json: Map<String, Value>,
    pub(crate) last_used: u64,
    /// Estimated memory ([`DocCost`]).
    pub(crate) cost: usize,
}

/// The memory a cached document is estimated to hold, which the cache is
/// bounded by (`[storage] cache_bytes`). Calibrated with
/// `cargo run --release -p focal-node --example doc_memory`, which measures
/// documents of several shapes loaded as the writer loads them: a document
/// costs about 28 kB however small, about 200 bytes per change of its
/// history, and about its uncompressed saved size (`save_nocompress`, which
/// holds every value ever written); its JSON about 4 × its compact length.
/// The estimate is within 20 % of the measured memory on every shape.
pub struct DocCost;

impl DocCost {
    /// What any document costs.
    pub const BASE: usize = 28_000;
    /// What each change of its history adds.
    pub const PER_CHANGE: usize = 200;
    /// The JSON's memory over its compact length.
    pub const JSON_FACTOR: usize = 4;

    /// The estimate for `doc` and its JSON of `json_len` bytes (compact).
    /// Costs a `save_nocompress`: for documents loaded from the database
    /// (the load costs several times more).
    pub fn estimate(doc: &Automerge, json_len: usize) -> usize {
        Self::from_parts(
            doc.save_nocompress().len(),
            automerge::ReadDoc::stats(doc).num_changes,
            json_len,
        )
    }

    /// The estimate from a document's uncompressed saved size, its number
    /// of changes and its JSON's compact length.
    pub fn from_parts(saved_len: usize, changes: u64, json_len: usize) -> usize {
        Self::BASE
            + (changes as usize).saturating_mul(Self::PER_CHANGE)
            + saved_len
            + json_len.saturating_mul(Self::JSON_FACTOR)
    }

    /// The estimate for `doc` and its JSON.
    pub(crate) fn of(doc: &Automerge, json: &Map<String, Value>) -> usize {
        Self::estimate(doc, json_len(json))
    }
}

/// The compact length of `json`, counted without building the text.
pub(crate) fn json_len(json: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, json);
    count.0
}

use focal_core::{
    clock::now_rfc3339,
    json::merge_patch,
    log::{LogHead, LogKey},
};

/// An entry that has just been stored (own or received), for relaying.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The signer.
    pub origin: NodeId,
    /// The log.
    pub audience: Audience,
    /// Its sequence number.
    pub seq: u64,
    /// The canonical encoding.
    pub bytes: Arc<Vec<u8>>,
}

/// What the writer knows about the network it is in.
#[derive(Debug, Clone)]
pub struct NetworkContext {
    /// The roster, kept current by the writer. It also holds the network's
    /// genesis key (the first trust anchor; the current one follows its
    /// hand-overs) and id (only hand-overs signed for it count), once the
    /// node is in a network.
    pub roster: SharedRoster,
    /// What a record may hold, for received entries and local writes alike.
    pub limits: crate::limits::Limits,
    /// Most memory the writer's document cache may hold, estimated
    /// ([`DocCost`]); `[storage] cache_bytes`.
    pub cache_bytes: usize,
    /// How long a local write waits after a start for a peer to confirm
    /// this node's heads (`[network] start_check_ms`); `None`: no start
    /// check (tools that sign offline, like founding a network).
    pub start_check: Option<std::time::Duration>,
}

impl NetworkContext {
    /// The context of a node in the network `network_id` founded by
    /// `genesis` (or in no network), with an empty roster until the writer
    /// reads it.
    pub fn new(genesis: Option<NodeId>, network_id: Option<String>) -> Self {
        Self {
            roster: Arc::new(RwLock::new(Roster::empty(genesis, network_id))),
            limits: crate::limits::Limits::default(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            start_check: None,
        }
    }

    /// The same context with the start check (see `recovery`): writes wait
    /// up to `bound` after the start for a peer's confirmation.
    pub fn with_start_check(mut self, bound: std::time::Duration) -> Self {
        self.start_check = Some(bound);
        self
    }

    /// The same context with the node's configured limits.
    pub fn with_limits(mut self, limits: crate::limits::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same context, its document cache bounded at `bytes`.
    pub fn with_cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// The network's genesis key.
    pub fn genesis(&self) -> Option<NodeId> {
        self.roster.read().ok().and_then(|r| r.genesis)
    }

    /// The network's id.
    pub fn network_id(&self) -> Option<String> {
        self.roster.read().ok().and_then(|r| r.network_id.clone())
    }

    /// Reads a roster document of this network (its genesis, its id).
    pub fn read_roster(&self, json: &serde_json::Map<String, serde_json::Value>) -> Roster {
        Roster::from_json(json, self.genesis(), self.network_id().as_deref())
    }
}

struct WriterState {
    store: Store,
    key: SigningKey,
    origin: NodeId,
    member: MemberCode,
    vv: HashMap<LogKey, LogHead>,
    cache: HashMap<String, CachedDoc>,
    clock: u64,
    events: broadcast::Sender<RecordEvent>,
    stored: broadcast::Sender<StoredEntry>,
    net: NetworkContext,
    quarantine: crate::engine::ingest::Quarantine,
    shared_vv: SharedVersionVector,
    /// Counts the writer's commits, bumped once each is visible (see
    /// [`Writer::generation`]).
    generation: Generation,
    /// Counts the roster's reloads (see [`CheckedBatch`]).
    roster_version: Arc<std::sync::atomic::AtomicU64>,
    fence: WriteFence,
    /// When the writer last looked at the WAL's size.
    wal_checked: std::time::Instant,
}

/// A message's entries as [`Writer::check`] left them, with the version of
/// the roster they were checked against.
#[derive(Debug)]
pub struct CheckedBatch {
    roster: u64,
    /// The entries and their verdicts, in order.
    pub entries: Vec<crate::engine::intake::Checked>,
}

/// The heads of every log this node holds, shared with the sync layer.
pub type SharedVersionVector = Arc<RwLock<HashMap<LogKey, LogHead>>>;

/// A count of the writer's commits (see [`Writer::generation`]).
pub type Generation = Arc<std::sync::atomic::AtomicU64>;

/// Commits one of the writer's transactions. The generation is odd from
/// before the commit until `publish_vv` makes it even again (a seqlock: a
/// reader that sees the same even generation before and after taking its
/// snapshot took it between two commits). Every commit of the writer goes
/// through here.
fn commit(
    tx: Transaction<'_>,
    generation: &std::sync::atomic::AtomicU64,
) -> Result<(), WriteError> {
    use std::sync::atomic::Ordering;
    let now = generation.load(Ordering::Relaxed);
    if now.is_multiple_of(2) {
        generation.store(now + 1, Ordering::Relaxed);
    }
    // Before any of the commit's writes can be seen.
    std::sync::atomic::fence(Ordering::SeqCst);
    tx.commit().map_err(storage)
}

/// What one write produced, before commit.
pub(crate) struct Applied {
    pub(crate) row: Option<RecordRow>,
    /// Whether the roster document changed.
    roster: bool,
    pub(crate) action: &'static str,
    /// The log written to and its new head, if an entry was written.
    pub(crate) head: Option<(LogKey, LogHead)>,
    /// The entry, for relaying.
    stored: Option<StoredEntry>,
    /// A second document written in the same savepoint: a focal point's
    /// contact details (see `contact`).
    pub(crate) companion: Option<Box<Applied>>,
    /// The record whose row is still to be written
    /// ([`Persist::project_later`]).
    pub(crate) unprojected: Option<String>,
}

impl WriterState {
    fn new(
        store: Store,
        key: SigningKey,
        member: MemberCode,
        events: broadcast::Sender<RecordEvent>,
        stored: broadcast::Sender<StoredEntry>,
        net: NetworkContext,
    ) -> Result<Self, WriteError> {
        let origin = NodeId(key.verifying_key().to_bytes());
        store
            .conn()
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let fence = WriteFence::load(store.conn(), store.path())?;
        let mut state = Self {
            store,
            key,
            origin,
            member,
            vv: HashMap::new(),
            cache: HashMap::new(),
            clock: 0,
            events,
            stored,
            net,
            quarantine: Default::default(),
            shared_vv: Arc::new(RwLock::new(HashMap::new())),
            generation: Generation::default(),
            roster_version: Default::default(),
            fence,
            wal_checked: std::time::Instant::now(),
        };
        state.reload_heads()?;
        state.reload_roster()?;
        state.quarantine = crate::engine::ingest::load_quarantine(state.store.conn())?;
        if let Some(fork) = state.quarantine.fork_of(&state.origin) {
            tracing::error!(
                audience = fork.audience.as_str(),
                seq = fork.seq,
                "this node's key forked (it signed two different entries at one position): \
                 local writes are refused; rotate the key (`focal-node key rotate`)"
            );
        }
        if let Some(bound) = state.net.start_check
            && state
                .net
                .roster
                .read()
                .is_ok_and(|r| crate::engine::recovery::start_check_applies(origin, &r))
        {
            let own = state
                .vv
                .iter()
                .filter(|(key, _)| key.0 == origin)
                .map(|(key, head)| (*key, *head))
                .collect();
            state
                .fence
                .begin_start_check(state.store.conn(), own, bound)?;
        }
        Ok(state)
    }

    /// Reads the roster document into the shared roster, then applies the
    /// cut-offs of rotated and revoked keys to what this node holds.
    fn reload_roster(&mut self) -> Result<(), WriteError> {
        // A cut that rebuilds the roster itself (a revoked anchor key) can
        // change the cut-offs once more.
        for _ in 0..3 {
            // The writer has just cached the roster it stored (a cut evicts
            // what it rebuilds): no need to load it again.
            let json = match self.cache.get(ROSTER_ID) {
                Some(cached) => Some(cached.json.clone()),
                None => load_document(self.store.conn(), ROSTER_ID)?
                    .map(|(document, _)| doc::to_json(&document)),
            };
            if let Some(json) = json {
                let roster = self.net.read_roster(&json);
                if let Ok(mut shared) = self.net.roster.write() {
                    *shared = roster;
                    // Under the lock: a check that read this version reads
                    // this roster or a later one.
                    self.roster_version
                        .fetch_add(1, std::sync::atomic::Ordering::Release);
                }
            }
            if !self.enforce_cutoffs()? {
                break;
            }
        }
        Ok(())
    }

    /// Takes entries beyond a key's cut-off out of the logs and documents
    /// (see `revocation`). Returns whether the roster itself was rebuilt.
    fn enforce_cutoffs(&mut self) -> Result<bool, WriteError> {
        let cutoffs = self
            .net
            .roster
            .read()
            .map(|r| r.cutoffs())
            .unwrap_or_default();
        let mut cuts = Vec::new();
        for (key, cutoff) in cutoffs {
            for audience in [Audience::Network, Audience::Secretariat] {
                let (last, pinned) = cutoff.pin(audience);
                let Some(head) = self.vv.get(&(key, audience)) else {
                    continue;
                };
                // An entry held at the cut-off that is not the pinned one is
                // a fork: it goes too.
                let forked = head.seq >= last
                    && pinned.is_some_and(|p| {
                        self.store
                            .conn()
                            .query_row(
                                "SELECT hash FROM log_entries
                                 WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                                params![&key.0[..], audience.code(), last as i64],
                                |r| r.get::<_, Vec<u8>>(0),
                            )
                            .is_ok_and(|held| held[..] != p.0[..])
                    });
                if forked {
                    cuts.push((key, audience, last.saturating_sub(1)));
                } else if head.seq > last {
                    cuts.push((key, audience, last));
                }
            }
        }
        if cuts.is_empty() {
            return Ok(false);
        }
        let status = |key: &NodeId| {
            self.net
                .roster
                .read()
                .ok()
                .and_then(|r| r.key_status(key))
                .unwrap_or(crate::roster::KeyStatus::Rotated)
        };
        let whys: Vec<crate::roster::KeyStatus> =
            cuts.iter().map(|(key, _, _)| status(key)).collect();
        let tx = self.store.conn_mut().transaction().map_err(storage)?;
        let mut dropped = Vec::new();
        let mut docs = Vec::new();
        for ((key, audience, last), why) in cuts.iter().zip(&whys) {
            let (d, touched) =
                crate::engine::revocation::cut(&tx, *key, *audience, *last, &format!("key {why}"))?;
            dropped.extend(d);
            docs.extend(touched);
        }
        docs.sort();
        docs.dedup();
        for id in &docs {
            dropped.extend(crate::engine::revocation::rebuild(&tx, id)?);
        }
        commit(tx, &self.generation)?;
        for d in &dropped {
            tracing::warn!(
                origin = %d.origin,
                audience = d.audience.as_str(),
                seq = d.seq,
                doc = %d.doc_id,
                change = %d.hash,
                reason = %d.reason,
                "dropped a change: its record was rebuilt without it"
            );
        }
        for id in &docs {
            self.cache.remove(id);
        }
        tracing::warn!(
            changes = dropped.len(),
            records = docs.len(),
            "applied key cut-offs from the roster"
        );
        self.reload_heads()?;
        Ok(docs.iter().any(|d| d == ROSTER_ID))
    }

    fn reload_heads(&mut self) -> Result<(), WriteError> {
        self.vv.clear();
        let conn = self.store.conn();
        let mut stmt = conn
            .prepare(
                "SELECT origin, audience, seq, hash FROM log_entries AS l
                 WHERE seq = (SELECT max(seq) FROM log_entries
                              WHERE origin = l.origin AND audience = l.audience)",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, u8>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(storage)?;
        for row in rows {
            let (origin, audience, seq, hash) = row.map_err(storage)?;
            let (Ok(origin), Some(audience), Ok(hash)) = (
                <[u8; 32]>::try_from(origin),
                Audience::from_code(audience),
                <[u8; 32]>::try_from(hash),
            ) else {
                return Err(WriteError::Storage("a stored log head is malformed".into()));
            };
            self.vv.insert(
                (NodeId(origin), audience),
                LogHead {
                    seq: seq as u64,
                    hash: EntryHash(hash),
                },
            );
        }
        drop(stmt);
        self.publish_vv();
        Ok(())
    }

    /// Shares the heads, then ends the generation's commit (see
    /// [`committing`]): every commit is followed by this, after the roster
    /// it changed is reloaded.
    fn publish_vv(&self) {
        if let Ok(mut shared) = self.shared_vv.write() {
            shared.clone_from(&self.vv);
        }
        // The writer thread alone stores it: to the next even number.
        let now = self.generation.load(std::sync::atomic::Ordering::Relaxed);
        self.generation
            .store(now + 2 - now % 2, std::sync::atomic::Ordering::Release);
    }

    /// Field-by-field borrows: the store (for the transaction), the fence,
    /// and the rest of the state as a [`WriteContext`], mutated while the
    /// transaction borrows the store.
    fn split(&mut self) -> (&mut Store, &WriteFence, WriteContext<'_>) {
        let Self {
            store,
            key,
            origin,
            member,
            vv,
            cache,
            clock,
            net,
            quarantine,
            fence,
            ..
        } = self;
        let ctx = WriteContext {
            key,
            origin: *origin,
            member,
            vv,
            cache,
            clock,
            net,
            quarantine,
        };
        (store, fence, ctx)
    }

    fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
        let mut stopping = false;
        let mut migrate_contacts = self.fence.start_pending();
        while !stopping && let Some(first) = rx.blocking_recv() {
            if migrate_contacts && !self.fence.start_pending() {
                migrate_contacts = false;
                self.migrate_contacts();
            }
            let mut batch = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                if matches!(job, Job::Shutdown) {
                    stopping = true;
                    break;
                }
                if !matches!(job, Job::Wake) {
                    batch.push(job);
                }
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.process(batch);
            }
        }
        tracing::debug!("writer stopped");
    }

    fn process(&mut self, batch: Vec<Job>) {
        enum Outcome {
            Write(
                oneshot::Sender<Result<RecordRow, WriteError>>,
                Result<Applied, WriteError>,
            ),
            Roster(
                oneshot::Sender<Result<(), WriteError>>,
                Result<Applied, WriteError>,
            ),
            Ingest(oneshot::Sender<IngestReport>, IngestReport, Vec<Applied>),
            Kept(
                oneshot::Sender<Result<usize, WriteError>>,
                Result<usize, WriteError>,
            ),
            Fence(
                oneshot::Sender<Result<(), WriteError>>,
                Result<(), WriteError>,
                Option<String>,
                String,
            ),
            Confirm(
                oneshot::Sender<bool>,
                Result<Option<String>, WriteError>,
                Option<String>,
            ),
            Fork(
                oneshot::Sender<
                    Result<crate::engine::ingest::ForkOutcome, crate::engine::ingest::ForkRefused>,
                >,
                Result<crate::engine::ingest::ForkOutcome, crate::engine::ingest::ForkRefused>,
            ),
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut touched: Vec<String> = Vec::new();
        let generation = self.generation.clone();
        let commit = {
            let (store, fence, mut ctx) = self.split();
            match store.conn_mut().transaction() {
                Err(e) => Err(storage(e)),
                Ok(mut tx) => {
                    for job in batch {
                        outcomes.push(match job {
                            Job::Write { request, reply } => {
                                let result = fence
                                    .check(&tx)
                                    .and_then(|()| ctx.apply_one(&mut tx, &request, &mut touched));
                                Outcome::Write(reply, result)
                            }
                            Job::Roster { patch, reply } => {
                                let result = fence
                                    .check(&tx)
                                    .and_then(|()| ctx.roster_one(&mut tx, &patch, &mut touched));
                                Outcome::Roster(reply, result)
                            }
                            Job::Ingest {
                                peer,
                                entries,
                                reply,
                            } => {
                                let (report, applied) =
                                    ctx.ingest_batch(&mut tx, &peer, entries, &mut touched);
                                Outcome::Ingest(reply, report, applied)
                            }
                            Job::Fork { peer, proof, reply } => {
                                let result = match tx.savepoint() {
                                    Err(e) => Err(crate::engine::ingest::ForkRefused::Storage(
                                        e.to_string(),
                                    )),
                                    Ok(sp) => {
                                        let result = ctx.prove_fork(&sp, &proof, &peer);
                                        if let Ok(done) = &result {
                                            touched.extend(done.records.iter().cloned());
                                        }
                                        match (result, sp.commit()) {
                                            (Ok(done), Ok(())) => Ok(done),
                                            (Err(e), _) => Err(e),
                                            (_, Err(e)) => {
                                                Err(crate::engine::ingest::ForkRefused::Storage(
                                                    e.to_string(),
                                                ))
                                            }
                                        }
                                    }
                                };
                                Outcome::Fork(reply, result)
                            }
                            Job::KeepBranch { entries, reply } => {
                                Outcome::Kept(reply, ctx.keep_branch(&tx, &entries))
                            }
                            Job::Users { change, reply } => {
                                Outcome::Kept(reply, change.apply(&tx).map_err(storage))
                            }
                            Job::Fence {
                                restored,
                                peer,
                                reply,
                            } => {
                                let result = match &restored {
                                    Some(reason) => tx.execute(
                                        "INSERT INTO meta (key, value) VALUES (?1, ?2)
                                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                        params![crate::engine::recovery::META_RESTORED, reason],
                                    ),
                                    None => tx.execute(
                                        "DELETE FROM meta WHERE key = ?1",
                                        [crate::engine::recovery::META_RESTORED],
                                    ),
                                }
                                .map(drop)
                                .map_err(storage);
                                Outcome::Fence(reply, result, restored, peer)
                            }
                            Job::Confirm { peer, reply } => Outcome::Confirm(
                                reply,
                                crate::engine::recovery::take_operator_confirmation(&tx),
                                peer,
                            ),
                            Job::Shutdown | Job::Wake => continue,
                        });
                    }
                    commit(tx, &generation)
                }
            }
        };
        if let Err(err) = commit {
            tracing::error!(%err, "commit failed; no write of this batch was acknowledged");
            for id in &touched {
                self.cache.remove(id);
            }
            if let Err(reload) = self.reload_heads() {
                tracing::error!(%reload, "cannot reload the log heads");
            }
            if let Err(reload) = self.reload_roster() {
                tracing::error!(%reload, "cannot reload the roster");
            }
            // A quarantine decided in the failed batch was rolled back with
            // its evidence; memory follows the database.
            match crate::engine::ingest::load_quarantine(self.store.conn()) {
                Ok(quarantine) => self.quarantine = quarantine,
                Err(reload) => tracing::error!(%reload, "cannot reload the quarantine"),
            }
            for outcome in outcomes {
                match outcome {
                    Outcome::Write(reply, _) => drop(reply.send(Err(err.clone()))),
                    Outcome::Roster(reply, _) => drop(reply.send(Err(err.clone()))),
                    Outcome::Ingest(reply, mut report, _) => {
                        report.fail_all(&err.to_string());
                        drop(reply.send(report));
                    }
                    Outcome::Kept(reply, _) => drop(reply.send(Err(err.clone()))),
                    Outcome::Fence(reply, ..) => drop(reply.send(Err(err.clone()))),
                    Outcome::Confirm(reply, ..) => drop(reply.send(false)),
                    Outcome::Fork(reply, _) => drop(reply.send(Err(
                        crate::engine::ingest::ForkRefused::Storage(err.to_string()),
                    ))),
                }
            }
            return;
        }
        // A roster change takes effect before anything of the batch is
        // announced: entries beyond a cut-off it sets were cut from the
        // database just now, and are neither relayed nor announced.
        let roster_changed = outcomes.iter().any(|o| match o {
            Outcome::Write(_, Ok(a)) | Outcome::Roster(_, Ok(a)) => a.roster && a.head.is_some(),
            Outcome::Ingest(_, _, applied) => applied.iter().any(|a| a.roster && a.head.is_some()),
            _ => false,
        });
        if roster_changed && let Err(err) = self.reload_roster() {
            tracing::error!(%err, "cannot reload the roster");
        }
        // The heads are shared before anyone hears back: a caller that has
        // its acknowledgement sees its entries in `version_vector()`.
        self.publish_vv();
        // The heads already include every entry of the batch; an entry a
        // cut-off just removed is above its log's head again, and is neither
        // relayed nor announced.
        let publish = |state: &mut Self, applied: &Applied| {
            if let Some((key, head)) = applied.head
                && state.vv.get(&key).is_none_or(|h| h.seq < head.seq)
            {
                return;
            }
            if let Some(stored) = &applied.stored {
                // Received entries (a restored node's own included) are `received`.
                crate::base::metrics::entry_stored(applied.action != "received");
                let _ = state.stored.send(stored.clone());
            }
            if let (Some(row), Some(_)) = (&applied.row, applied.head) {
                let _ = state.events.send(RecordEvent {
                    action: applied.action,
                    record: row.clone(),
                });
            }
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Write(reply, result) => {
                    if let Ok(applied) = &result {
                        publish(self, applied);
                        if let Some(companion) = &applied.companion {
                            publish(self, companion);
                        }
                    }
                    let _ = reply.send(result.and_then(|applied| {
                        applied
                            .row
                            .ok_or_else(|| WriteError::Storage("no record was written".into()))
                    }));
                }
                Outcome::Roster(reply, result) => {
                    if let Ok(applied) = &result {
                        publish(self, applied);
                    }
                    let _ = reply.send(result.map(drop));
                }
                Outcome::Ingest(reply, report, applied) => {
                    for applied in &applied {
                        publish(self, applied);
                    }
                    let _ = reply.send(report);
                }
                Outcome::Fork(reply, result) => {
                    let _ = reply.send(result);
                }
                Outcome::Kept(reply, result) => {
                    let _ = reply.send(result);
                }
                Outcome::Fence(reply, result, restored, peer) => {
                    if result.is_ok() {
                        match &restored {
                            Some(reason) => self.fence.fence_up(reason),
                            None => self.fence.lifted(&peer),
                        }
                    }
                    let _ = reply.send(result);
                }
                Outcome::Confirm(reply, taken, peer) => {
                    let over = match (taken, peer) {
                        (taken, Some(peer)) => {
                            if let Err(err) = taken {
                                tracing::warn!(%err, "cannot clear the operator's confirmation");
                            }
                            self.fence.start_confirmed(&peer);
                            true
                        }
                        (Err(err), None) => {
                            tracing::warn!(%err, "cannot take the operator's confirmation");
                            false
                        }
                        (Ok(Some(confirmed)), None) => {
                            self.fence.operator_confirmed(&confirmed);
                            true
                        }
                        (Ok(None), None) => false,
                    };
                    let _ = reply.send(over);
                }
            }
        }
        self.evict();
        self.checkpoint_if_due();
    }

    /// Keeps the write-ahead log bounded under readers that never pause.
    /// SQLite's automatic checkpoint (passive, every 1,000 pages) copies
    /// the log into the database but can only start the log over when no
    /// reader still uses it, so that with reads always in flight the file
    /// grows for as long as they go on (by tens of MB a second under a few
    /// hundred writes a second). At most once per
    /// [`WAL_CHECK_EVERY`], when the log is over [`WAL_TRUNCATE_AT`], the
    /// writer runs a `TRUNCATE` checkpoint: it waits (at most
    /// [`WAL_TRUNCATE_WAIT`]) for the readers of older snapshots to finish;
    /// readers that start meanwhile read the database file, so the wait
    /// ends as soon as the slowest of them does. Reads are short (pages,
    /// batches), so it succeeds; if not, it is tried again later.
    fn checkpoint_if_due(&mut self) {
        if self.wal_checked.elapsed() < WAL_CHECK_EVERY {
            return;
        }
        self.wal_checked = std::time::Instant::now();
        let wal = wal_path(self.store.path());
        let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
        if size(&wal) < WAL_TRUNCATE_AT {
            crate::base::metrics::wal_checkpoint_none(size(&wal));
            return;
        }
        let conn = self.store.conn();
        let _ = conn.busy_timeout(WAL_TRUNCATE_WAIT);
        let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        let _ = conn.busy_timeout(std::time::Duration::from_millis(self.busy_timeout_ms()));
        match result {
            Ok(0) => crate::base::metrics::wal_checkpoint("truncate", size(&wal)),
            Ok(_) => {
                tracing::debug!("WAL checkpoint waited for readers in vain; tried again later");
                crate::base::metrics::wal_checkpoint("busy", size(&wal));
            }
            Err(err) => tracing::warn!(%err, "WAL checkpoint failed"),
        }
    }

    fn busy_timeout_ms(&self) -> u64 {
        self.store.busy_timeout_ms()
    }

    /// Moves contact details out of this node's own network focal-point
    /// documents into their companions (see `contact::migrate`), at
    /// start-up. A node that may not sign (restored and fenced, or its key
    /// retired) leaves it for a later start.
    fn migrate_contacts(&mut self) {
        if !crate::engine::contact::to_migrate(self.store.conn(), &self.member) {
            return;
        }
        let generation = self.generation.clone();
        let (store, fence, mut ctx) = self.split();
        let result = store
            .conn_mut()
            .transaction()
            .map_err(storage)
            .and_then(|mut tx| {
                fence.check(&tx)?;
                let moved = crate::engine::contact::migrate(&mut ctx, &mut tx)?;
                commit(tx, &generation)?;
                Ok(moved)
            });
        match result {
            Ok(0) => {}
            Ok(moved) => tracing::info!(
                documents = moved,
                "focal points' contact details moved out of network documents into the \
                 secretariat audience"
            ),
            Err(err) => {
                tracing::warn!(
                    %err,
                    "focal points' contact details were not moved out of network documents; \
                     retried at the next start"
                );
                self.cache.clear();
                if let Err(reload) = self.reload_heads() {
                    tracing::error!(%reload, "cannot reload the log heads");
                }
            }
        }
        self.publish_vv();
    }

    /// Once the cache holds more than [`CACHE_CAPACITY`] documents or more
    /// than `cache_bytes` of estimated memory, drops the least recently used
    /// documents until it holds seven eighths of both (the last document
    /// used always stays).
    fn evict(&mut self) {
        let mut bytes: usize = self.cache.values().map(|c| c.cost).sum();
        if self.cache.len() > CACHE_CAPACITY || bytes > self.net.cache_bytes {
            // Down to seven eighths of both bounds, so that the sort below
            // runs once every many batches, not after each one.
            let (documents, most) = (CACHE_CAPACITY / 8 * 7, self.net.cache_bytes / 8 * 7);
            let mut ages: Vec<(u64, String)> = self
                .cache
                .iter()
                .map(|(id, c)| (c.last_used, id.clone()))
                .collect();
            ages.sort_unstable();
            for (_, id) in ages {
                if self.cache.len() <= 1 || (self.cache.len() <= documents && bytes <= most) {
                    break;
                }
                if let Some(gone) = self.cache.remove(&id) {
                    bytes -= gone.cost;
                }
            }
        }
        crate::base::metrics::document_cache(self.cache.len(), bytes);
    }
}

/// How [`WriteContext::persist`] stores an entry's document.
pub(crate) struct Persist {
    /// Save a snapshot now (a new document) rather than append the changes.
    pub(crate) snapshot_now: bool,
    /// The event's action (`created`, `updated`, `received` …).
    pub(crate) action: &'static str,
    /// The document's JSON, if the caller already computed it.
    pub(crate) json: Option<Map<String, Value>>,
    /// Changes of the entry kept out of the document (they build on changes
    /// a revocation dropped): stored in the log, not in the document.
    pub(crate) excluded: HashSet<ChangeHash>,
    /// The document's uncompressed saved size, if the caller measured it
    /// (for [`DocCost`]).
    pub(crate) saved_len: Option<usize>,
    /// Leave the record's row to the caller, which writes it once for
    /// several entries of the record ([`Applied::unprojected`]).
    pub(crate) project_later: bool,
}

pub(crate) struct WriteContext<'a> {
    key: &'a SigningKey,
    pub(crate) origin: NodeId,
    pub(crate) member: &'a MemberCode,
    pub(crate) vv: &'a mut HashMap<LogKey, LogHead>,
    pub(crate) cache: &'a mut HashMap<String, CachedDoc>,
    pub(crate) clock: &'a mut u64,
    pub(crate) net: &'a NetworkContext,
    pub(crate) quarantine: &'a mut crate::engine::ingest::Quarantine,
}

impl WriteContext<'_> {
    /// One write inside the batch's transaction, in its own savepoint: if its
    /// rows cannot be stored, only it fails, and its document is evicted so
    /// that memory never runs ahead of the database.
    fn apply_one(
        &mut self,
        tx: &mut Transaction<'_>,
        request: &WriteRequest,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        let id = match request {
            WriteRequest::Create { .. } => None,
            WriteRequest::Update { id, .. } | WriteRequest::Delete { id } => Some(id.clone()),
        };
        self.in_savepoint(tx, id.as_deref(), |ctx, conn| {
            ctx.apply(conn, request, touched)
        })
    }

    /// Runs one write in its own savepoint: if its rows cannot be stored,
    /// only it fails, and its document (`doc`) is evicted so that memory
    /// never runs ahead of the database.
    pub(crate) fn in_savepoint(
        &mut self,
        tx: &mut Transaction<'_>,
        doc: Option<&str>,
        write: impl FnOnce(&mut Self, &Connection) -> Result<Applied, WriteError>,
    ) -> Result<Applied, WriteError> {
        let mut savepoint = tx.savepoint().map_err(storage)?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write(self, &savepoint)
        }))
        .unwrap_or_else(|panic| {
            // A bug the request triggered: that write fails, the node goes
            // on; whatever it left half-done in memory goes with it.
            self.cache.clear();
            let what = crate::engine::intake::panic_message(panic.as_ref());
            tracing::error!(%what, "a write panicked; it is refused and nothing of it is stored");
            Err(WriteError::Storage(format!(
                "the write failed unexpectedly ({what}); nothing of it was stored"
            )))
        });
        match result {
            Ok(applied) => {
                savepoint.commit().map_err(storage)?;
                let companion = applied.companion.as_ref().and_then(|c| c.head);
                for (key, head) in applied.head.into_iter().chain(companion) {
                    self.vv.insert(key, head);
                }
                Ok(applied)
            }
            Err(err) => {
                let _ = savepoint.rollback();
                drop(savepoint);
                if let Some(id) = doc {
                    self.cache.remove(id);
                }
                Err(err)
            }
        }
    }

    /// Entries signed by a key the roster rotated or revoked would be
    /// refused by every peer (and dropped here at the next roster load):
    /// such a node signs nothing.
    pub(crate) fn check_standing(&self) -> Result<(), WriteError> {
        if let Some(fork) = self.quarantine.fork_of(&self.origin) {
            return Err(WriteError::Forked {
                key: self.origin,
                audience: fork.audience.as_str(),
                seq: fork.seq,
            });
        }
        let standing = self
            .net
            .roster
            .read()
            .ok()
            .and_then(|r| r.key_status(&self.origin));
        match standing.filter(|s| *s != crate::roster::KeyStatus::Active) {
            Some(status) => Err(WriteError::KeyRetired {
                key: self.origin,
                status,
            }),
            None => Ok(()),
        }
    }

    fn apply(
        &mut self,
        conn: &Connection,
        request: &WriteRequest,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        self.check_standing()?;
        // A create the node has seen (its request id) answers the record it
        // made; a new one is remembered with the record (`idempotency`).
        let remember = match request {
            WriteRequest::Create {
                kind,
                fields,
                visibility,
                language,
                request_id: Some(request_id),
            } => {
                crate::engine::idempotency::check_request_id(request_id)?;
                let fingerprint =
                    crate::engine::idempotency::fingerprint(*kind, fields, *visibility, language);
                if let Some(mut row) =
                    crate::engine::idempotency::lookup(conn, request_id, &fingerprint)?
                {
                    crate::store::contact::merge_contact(conn, &mut row)?;
                    return Ok(Applied {
                        row: Some(row),
                        roster: false,
                        action: "created",
                        head: None,
                        stored: None,
                        companion: None,
                        unprojected: None,
                    });
                }
                Some((request_id, fingerprint))
            }
            _ => None,
        };
        // A focal point's contact details go to a companion document.
        let applied = if crate::engine::contact::concerns(request) {
            self.write_focal_point(conn, request, touched)?
        } else {
            self.apply_record(conn, request, touched)?
        };
        if let (Some((request_id, fingerprint)), Some(row)) = (remember, &applied.row) {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            crate::engine::idempotency::remember(conn, request_id, &fingerprint, &row.id, now)?;
        }
        Ok(applied)
    }

    /// One write of one document (a focal point's contact details are
    /// split off by `contact` before).
    pub(crate) fn apply_record(
        &mut self,
        conn: &Connection,
        request: &WriteRequest,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        let now = now_rfc3339();
        let now_secs = time::OffsetDateTime::now_utc().unix_timestamp();
        match request {
            WriteRequest::Create {
                kind,
                fields,
                visibility,
                language,
                ..
            } => {
                if kind.secretariat_only() && self.member.kind() != MemberKind::Secretariat {
                    return Err(WriteError::SecretariatOnly(*kind));
                }
                if *kind == RecordType::Member {
                    let existing: Option<String> = conn
                        .query_row(
                            "SELECT id FROM records WHERE type = 'member' AND owner = ?1
                             AND deleted = 0 LIMIT 1",
                            [self.member.as_str()],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(storage)?;
                    if let Some(existing) = existing {
                        return Err(WriteError::BadRequest(format!(
                            "{} already has a profile, {existing}; change it with `focal edit \
                             {existing}`",
                            self.member
                        )));
                    }
                }
                // Measured before anything walks it (validation recurses).
                self.net.limits.check_fields(fields)?;
                let fields = validate(*kind, fields, self.member, language, &self.net.limits)?;
                let id = format!("{}:{}:{}", self.member, kind.as_str(), random_suffix()?);
                let mut record = new_envelope(&id, *kind, self.member, *visibility, &now);
                crate::engine::contact::mark(*kind, *visibility, &mut record);
                let field_names: Vec<String> = fields.keys().cloned().collect();
                record.extend(fields);
                self.net.limits.check_record(&record)?;

                let mut document = Automerge::new();
                document.set_author(Some(Author::from(self.origin.0.to_vec())));
                let mut t = document.transaction();
                for (k, v) in &record {
                    doc::put(&mut t, &automerge::ROOT, k, v).map_err(automerge_err)?;
                }
                if let Err(e) = self
                    .net
                    .limits
                    .check_ops(automerge::transaction::Transactable::pending_ops(&t))
                {
                    t.rollback();
                    return Err(e.into());
                }
                t.commit_with(
                    CommitOptions::default()
                        .with_message(format!("create: {}", field_names.join(", ")))
                        .with_time(now_secs),
                );
                touched.push(id.clone());
                self.store_change(conn, id, (document, 0), true, "created", *visibility)
            }
            WriteRequest::Update {
                id,
                patch,
                language,
            } => {
                let (kind, visibility) = self.writable(conn, id)?;
                let cached = self
                    .cache
                    .get(id)
                    .ok_or_else(|| WriteError::NotFound(id.clone()))?;
                self.net.limits.check_fields(patch)?;
                for key in patch.keys() {
                    if ENVELOPE_KEYS.contains(&key.as_str()) {
                        return Err(WriteError::BadRequest(format!(
                            "`{key}` is set by the node and cannot be changed"
                        )));
                    }
                }
                let mut fields: Map<String, Value> = cached
                    .json
                    .iter()
                    .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                merge_patch(&mut fields, patch);
                let fields = validate(kind, &fields, self.member, language, &self.net.limits)?;
                let mut target = cached.json.clone();
                target.retain(|k, _| ENVELOPE_KEYS.contains(&k.as_str()));
                target.extend(fields);
                self.net.limits.check_record(&target)?;
                let current = cached.json.clone();
                let mut changed = Vec::new();
                let cached = self
                    .cache
                    .get_mut(id)
                    .ok_or_else(|| WriteError::NotFound(id.clone()))?;
                let mut t = cached.doc.transaction();
                doc::reconcile(
                    &mut t,
                    &automerge::ROOT,
                    &current,
                    &target,
                    ENVELOPE_KEYS,
                    "",
                    &mut changed,
                )
                .map_err(automerge_err)?;
                if changed.is_empty() {
                    // Nothing to sign: answer with the record as it is.
                    t.rollback();
                    let heads = cached.doc.get_heads();
                    return Ok(Applied {
                        row: Some(row_from_json(id, &current, &heads)?),
                        roster: false,
                        action: "unchanged",
                        head: None,
                        stored: None,
                        companion: None,
                        unprojected: None,
                    });
                }
                doc::put(&mut t, &automerge::ROOT, "updated", &Value::String(now))
                    .map_err(automerge_err)?;
                stamp_schema(&mut t, &current)?;
                if let Err(e) = self
                    .net
                    .limits
                    .check_ops(automerge::transaction::Transactable::pending_ops(&t))
                {
                    t.rollback();
                    return Err(e.into());
                }
                t.commit_with(
                    CommitOptions::default()
                        .with_message(format!("update: {}", changed.join(", ")))
                        .with_time(now_secs),
                );
                touched.push(id.clone());
                let document = self.take_doc(id)?;
                self.store_change(conn, id.clone(), document, false, "updated", visibility)
            }
            WriteRequest::Delete { id } => {
                let (_, visibility) = self.writable(conn, id)?;
                let cached = self
                    .cache
                    .get_mut(id)
                    .ok_or_else(|| WriteError::NotFound(id.clone()))?;
                let mut t = cached.doc.transaction();
                doc::put(&mut t, &automerge::ROOT, "deleted", &Value::Bool(true))
                    .and_then(|()| {
                        doc::put(&mut t, &automerge::ROOT, "updated", &Value::String(now))
                    })
                    .map_err(automerge_err)?;
                stamp_schema(&mut t, &cached.json)?;
                t.commit_with(
                    CommitOptions::default()
                        .with_message("delete")
                        .with_time(now_secs),
                );
                touched.push(id.clone());
                let document = self.take_doc(id)?;
                self.store_change(conn, id.clone(), document, false, "deleted", visibility)
            }
        }
    }

    /// Takes the document out of the cache for [`Self::persist`], leaving
    /// its entry (with an empty document) so that `persist` knows its cost;
    /// a write that fails is evicted by `in_savepoint`.
    fn take_doc(&mut self, id: &str) -> Result<(Automerge, u32), WriteError> {
        let cached = self
            .cache
            .get_mut(id)
            .ok_or_else(|| WriteError::NotFound(id.to_owned()))?;
        Ok((std::mem::take(&mut cached.doc), cached.pending))
    }

    /// Loads the record into the cache and checks this node may change it.
    pub(crate) fn writable(
        &mut self,
        conn: &Connection,
        id: &str,
    ) -> Result<(RecordType, Visibility), WriteError> {
        if !self.cache.contains_key(id) {
            let loaded = load_document(conn, id)?.ok_or_else(|| WriteError::NotFound(id.into()))?;
            let mut document = loaded.0;
            document.set_author(Some(Author::from(self.origin.0.to_vec())));
            let json = doc::to_json(&document);
            let cost = DocCost::of(&document, &json);
            self.cache.insert(
                id.to_owned(),
                CachedDoc {
                    doc: document,
                    pending: loaded.1,
                    json,
                    last_used: 0,
                    cost,
                },
            );
        }
        *self.clock += 1;
        let clock = *self.clock;
        let origin = self.origin;
        let cached = self
            .cache
            .get_mut(id)
            .ok_or_else(|| WriteError::NotFound(id.into()))?;
        cached.last_used = clock;
        // A document may have been cached by ingest (received from another
        // key of this member): local changes must carry this node's key as
        // their author. (A no-op if it already does.)
        cached.doc.set_author(Some(Author::from(origin.0.to_vec())));
        let json = &cached.json;
        let text = |key: &str| json.get(key).and_then(Value::as_str).unwrap_or_default();
        // The owner is the one the id names (ingest also checks that the
        // envelope agrees).
        let owner_by_id = records::parse_record_id(id).map(|(owner, _, _)| owner);
        if text("owner") != self.member.as_str() || owner_by_id.as_ref() != Some(self.member) {
            return Err(WriteError::NotOwner {
                id: id.to_owned(),
                owner: text("owner").to_owned(),
                member: self.member.to_string(),
            });
        }
        if json.get("deleted").and_then(Value::as_bool) == Some(true) {
            return Err(WriteError::Deleted(id.to_owned()));
        }
        let kind = RecordType::parse(text("type"))
            .ok_or_else(|| WriteError::Storage(format!("record {id} has an unknown type")))?;
        let visibility = Visibility::parse(text("visibility"))
            .ok_or_else(|| WriteError::Storage(format!("record {id} has an unknown visibility")))?;
        Ok((kind, visibility))
    }

    /// Signs the document's newest change into the log and stores the entry,
    /// the document and its projection.
    pub(crate) fn store_change(
        &mut self,
        conn: &Connection,
        id: String,
        (document, pending): (Automerge, u32),
        created: bool,
        action: &'static str,
        visibility: Visibility,
    ) -> Result<Applied, WriteError> {
        let change = document
            .get_last_local_change()
            .ok_or_else(|| WriteError::Storage("the commit produced no change".into()))?;
        check_own_change(&self.net.limits, change.raw_bytes())?;
        let entry = self.sign_next(Audience::from(visibility), &id, change.raw_bytes())?;
        self.persist(
            conn,
            &entry,
            (document, pending),
            Persist {
                snapshot_now: created,
                action,
                json: None,
                excluded: HashSet::new(),
                saved_len: None,
                project_later: false,
            },
        )
    }

    /// The next entry of this node's log for `audience`, signed; refused,
    /// unsigned, if it could not travel to peers in one message.
    fn sign_next(
        &self,
        audience: Audience,
        doc_id: &str,
        change: &[u8],
    ) -> Result<LogEntry, WriteError> {
        let previous = self.vv.get(&(self.origin, audience)).copied();
        let body = EntryBody {
            origin: self.origin,
            audience,
            seq: previous.map_or(1, |h| h.seq + 1),
            prev: previous.map_or_else(EntryHash::default, |h| h.hash),
            doc_id: doc_id.to_owned(),
            changes: vec![change.to_vec()],
        };
        let bytes = body.encoded_len();
        if bytes > crate::log::MAX_ENTRY_BYTES {
            return Err(WriteError::EntryTooLarge {
                bytes,
                max: crate::log::MAX_ENTRY_BYTES,
            });
        }
        Ok(body.sign(self.key))
    }

    /// Stores an entry (own or received), its document and its projection,
    /// and keeps the document hot. `pending` counts the document's changes
    /// since its snapshot before this entry's changes; `json` is the
    /// document's JSON if the caller already computed it.
    pub(crate) fn persist(
        &mut self,
        conn: &Connection,
        entry: &LogEntry,
        (document, pending): (Automerge, u32),
        how: Persist,
    ) -> Result<Applied, WriteError> {
        let Persist {
            snapshot_now,
            action,
            json,
            excluded,
            saved_len,
            project_later,
        } = how;
        let id = entry.body.doc_id.clone();
        let bytes = entry.encode();
        let hash = LogEntry::hash_of(&bytes);
        cached(
            conn,
            "INSERT INTO log_entries (origin, audience, seq, hash, doc_id, entry, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                &entry.body.origin.0[..],
                entry.body.audience.code(),
                entry.body.seq as i64,
                &hash.0[..],
                &id,
                &bytes,
                time::OffsetDateTime::now_utc().unix_timestamp(),
            ],
        )
        .map_err(storage)?;
        crate::base::fault::before_commit(entry);

        let added = entry.body.changes.len() as u32;
        let pending = if snapshot_now || pending + added >= SNAPSHOT_EVERY {
            cached(
                conn,
                "INSERT INTO documents (doc_id, snapshot, pending) VALUES (?1, ?2, 0)
                 ON CONFLICT (doc_id) DO UPDATE SET snapshot = excluded.snapshot, pending = 0",
                params![&id, document.save()],
            )
            .map_err(storage)?;
            cached(conn, "DELETE FROM doc_changes WHERE doc_id = ?1", [&id]).map_err(storage)?;
            0
        } else {
            let changes: Vec<&Vec<u8>> = entry
                .body
                .changes
                .iter()
                .filter(|raw| {
                    excluded.is_empty()
                        || automerge::Change::from_bytes((*raw).clone())
                            .is_ok_and(|c| !excluded.contains(&c.hash()))
                })
                .collect();
            let added = changes.len() as u32;
            for (i, change) in changes.into_iter().enumerate() {
                cached(
                    conn,
                    "INSERT INTO doc_changes (doc_id, n, change) VALUES (?1, ?2, ?3)",
                    params![&id, pending + 1 + i as u32, change],
                )
                .map_err(storage)?;
            }
            cached(
                conn,
                "INSERT INTO documents (doc_id, snapshot, pending) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET pending = excluded.pending",
                params![&id, EMPTY_SNAPSHOT.as_slice(), pending + added],
            )
            .map_err(storage)?;
            pending + added
        };

        let json = json.unwrap_or_else(|| doc::to_json(&document));
        let roster = id == ROSTER_ID;
        let mut unprojected = None;
        let row = if roster {
            None
        } else if document.get_heads().is_empty() {
            // Every change of the record was dropped by a key cut-off: the
            // entry stays in the log, the record does not exist.
            conn.execute("DELETE FROM documents WHERE doc_id = ?1", [&id])
                .map_err(storage)?;
            conn.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [&id])
                .map_err(storage)?;
            None
        } else if project_later {
            unprojected = Some(id.clone());
            None
        } else {
            Some(project(conn, &id, &json, &document.get_heads())?)
        };
        // The cost: measured by the caller, or the cost before this entry
        // (`take_doc` leaves it) plus the entry's changes, or measured here.
        let json_len = row
            .as_ref()
            .map_or_else(|| json_len(&json), |r| r.json.len());
        let changes = automerge::ReadDoc::stats(&document).num_changes;
        let cost = match (saved_len, self.cache.get(&id)) {
            (Some(saved), _) => DocCost::from_parts(saved, changes, json_len),
            (None, Some(before)) => {
                let added: usize = entry.body.changes.iter().map(Vec::len).sum();
                before.cost + added + entry.body.changes.len() * DocCost::PER_CHANGE
            }
            (None, None) => DocCost::estimate(&document, json_len),
        };
        *self.clock += 1;
        self.cache.insert(
            id,
            CachedDoc {
                doc: document,
                pending,
                json,
                last_used: *self.clock,
                cost,
            },
        );
        let key = (entry.body.origin, entry.body.audience);
        Ok(Applied {
            row,
            roster,
            action,
            head: Some((
                key,
                LogHead {
                    seq: entry.body.seq,
                    hash,
                },
            )),
            stored: Some(StoredEntry {
                origin: entry.body.origin,
                audience: entry.body.audience,
                seq: entry.body.seq,
                bytes: Arc::new(bytes),
            }),
            companion: None,
            unprojected,
        })
    }

    /// A change of the roster (secretariat only), in its own savepoint.
    fn roster_one(
        &mut self,
        tx: &mut Transaction<'_>,
        patch: &Map<String, Value>,
        touched: &mut Vec<String>,
    ) -> Result<Applied, WriteError> {
        let anchor = self.net.roster.read().ok().and_then(|r| r.anchor());
        // The new anchor key's first roster change carries the old anchor's
        // hand-over to it.
        let handed_over = anchor.is_some_and(|anchor| {
            patch
                .get("handovers")
                .and_then(|h| h.get(anchor.to_string()))
                .and_then(Value::as_str)
                .and_then(|text| crate::handover::Handover::from_hex(text).ok())
                .is_some_and(|h| h.to == self.origin && h.member == crate::member::SECRETARIAT_CODE)
        });
        if anchor != Some(self.origin) && !handed_over {
            return Err(WriteError::BadRequest(
                "only the secretariat's node changes the roster (the node holding the current anchor key)".into(),
            ));
        }
        touched.push(ROSTER_ID.to_owned());
        self.in_savepoint(tx, Some(ROSTER_ID), |ctx, conn| {
            ctx.roster_change(conn, patch)
        })
    }

    fn roster_change(
        &mut self,
        conn: &Connection,
        patch: &Map<String, Value>,
    ) -> Result<Applied, WriteError> {
        let (mut document, pending) = match self.cache.remove(ROSTER_ID) {
            Some(cached) => (cached.doc, cached.pending),
            None => load_document(conn, ROSTER_ID)?.unwrap_or_else(|| (Automerge::new(), 0)),
        };
        document.set_author(Some(Author::from(self.origin.0.to_vec())));
        let current = doc::to_json(&document);
        let mut target = current.clone();
        self.net.limits.check_fields(patch)?;
        // An older roster is stored in the current shape with this change.
        crate::schema::ROSTER.migrate(&mut target);
        merge_patch(&mut target, patch);
        // Every member's node must accept the roster under its limits.
        self.net.limits.check_record(&target)?;
        let mut changed = Vec::new();
        let mut t = document.transaction();
        doc::reconcile(
            &mut t,
            &automerge::ROOT,
            &current,
            &target,
            &[],
            "",
            &mut changed,
        )
        .map_err(automerge_err)?;
        if changed.is_empty() {
            t.rollback();
            let cost = DocCost::of(&document, &current);
            self.cache.insert(
                ROSTER_ID.to_owned(),
                CachedDoc {
                    json: current,
                    doc: document,
                    pending,
                    last_used: *self.clock,
                    cost,
                },
            );
            return Ok(Applied {
                row: None,
                roster: false,
                action: "unchanged",
                head: None,
                stored: None,
                companion: None,
                unprojected: None,
            });
        }
        if let Err(e) = self
            .net
            .limits
            .check_ops(automerge::transaction::Transactable::pending_ops(&t))
        {
            t.rollback();
            return Err(e.into());
        }
        t.commit_with(
            CommitOptions::default()
                .with_message(format!("roster: {}", changed.join(", ")))
                .with_time(time::OffsetDateTime::now_utc().unix_timestamp()),
        );
        let change = document
            .get_last_local_change()
            .ok_or_else(|| WriteError::Storage("the commit produced no change".into()))?;
        check_own_change(&self.net.limits, change.raw_bytes())?;
        let entry = self.sign_next(Audience::Network, ROSTER_ID, change.raw_bytes())?;
        self.persist(
            conn,
            &entry,
            (document, pending),
            Persist {
                snapshot_now: false,
                action: "roster",
                json: None,
                excluded: HashSet::new(),
                saved_len: None,
                project_later: false,
            },
        )
    }
}

/// Writes the projection row of a document and returns it.
pub fn project(
    conn: &Connection,
    id: &str,
    json: &Map<String, Value>,
    heads: &[ChangeHash],
) -> Result<RecordRow, WriteError> {
    let row = row_from_json(id, json, heads)?;
    let fields: Map<String, Value> = json
        .iter()
        .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let search = records::search_text(row.kind, &fields);
    cached(
        conn,
        "INSERT INTO records (id, type, owner, visibility, deleted, created, updated, title,
                              search, heads, json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET type = excluded.type, owner = excluded.owner,
             visibility = excluded.visibility, deleted = excluded.deleted,
             created = excluded.created, updated = excluded.updated, title = excluded.title,
             search = excluded.search, heads = excluded.heads, json = excluded.json",
        params![
            row.id,
            row.kind.as_str(),
            row.owner,
            row.visibility.as_str(),
            row.deleted,
            row.created,
            row.updated,
            row.title,
            search,
            row.heads.join(","),
            row.json,
        ],
    )
    .map_err(storage)?;
    Ok(row)
}

pub(crate) fn validate(
    kind: RecordType,
    fields: &Map<String, Value>,
    member: &MemberCode,
    language: &str,
    limits: &crate::limits::Limits,
) -> Result<Map<String, Value>, WriteError> {
    let ctx = ValidationContext {
        owner: member.clone(),
        default_language: if language.is_empty() {
            "en".to_owned()
        } else {
            language.to_owned()
        },
        limits: limits.clone(),
    };
    records::validate(kind, fields, &ctx).map_err(|errors| WriteError::Invalid { kind, errors })
}

/// Measures a change this node wrote the way every peer will
/// (`LogEntry::verify`), before it is signed: one that peers would refuse is
/// refused here instead (the caller drops the document it was applied to).
fn check_own_change(limits: &crate::limits::Limits, raw: &[u8]) -> Result<(), WriteError> {
    let shape = crate::log::scan_change(raw).map_err(|why| {
        WriteError::Storage(format!(
            "the change this node wrote does not read back: {why}"
        ))
    })?;
    limits.check(crate::limits::Limit::OpsPerChange, shape.claimed)?;
    limits.check(crate::limits::Limit::OpsPerEntry, shape.claimed)?;
    Ok(())
}

/// Runs one statement through the connection's cache of prepared
/// statements: the statements of every stored entry are parsed once, not
/// once per entry (the writer's connection keeps [`STATEMENT_CACHE`]).
pub(crate) fn cached<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Prepared statements the writer's connection keeps (rusqlite's default,
/// 16, is fewer than the writer's and ingest's statements together).
pub const STATEMENT_CACHE: usize = 128;

/// The envelope of a record this node creates: id, type, owner,
/// visibility, times, not deleted, and the record shape's version.
pub(crate) fn new_envelope(
    id: &str,
    kind: RecordType,
    owner: &MemberCode,
    visibility: Visibility,
    now: &str,
) -> Map<String, Value> {
    let mut record = Map::new();
    record.insert("id".into(), id.into());
    record.insert("type".into(), kind.as_str().into());
    record.insert("owner".into(), owner.to_string().into());
    record.insert("visibility".into(), visibility.as_str().into());
    record.insert("created".into(), now.into());
    record.insert("updated".into(), now.into());
    record.insert("deleted".into(), Value::Bool(false));
    record.insert(
        crate::schema::SCHEMA_KEY.into(),
        crate::schema::RECORD.current().into(),
    );
    record
}

/// Records the current record version in a document changed by this
/// node, if it had an older one (`focal_core::schema`; there is no record
/// step yet, so the shape itself is unchanged).
pub(crate) fn stamp_schema<T: automerge::transaction::Transactable>(
    t: &mut T,
    current: &Map<String, Value>,
) -> Result<(), WriteError> {
    let schema = &crate::schema::RECORD;
    // Missing, not a version, or older: stamped. Newer: left as it is.
    if current
        .get(crate::schema::SCHEMA_KEY)
        .and_then(Value::as_u64)
        .is_none_or(|v| v < schema.current())
    {
        doc::put(
            t,
            &automerge::ROOT,
            crate::schema::SCHEMA_KEY,
            &Value::from(schema.current()),
        )
        .map_err(automerge_err)?;
    }
    Ok(())
}

/// 12 characters of lower-case base32: 60 random bits.
fn random_suffix() -> Result<String, WriteError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| WriteError::Storage(format!("no randomness for a record id: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect())
}

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

fn automerge_err(e: automerge::AutomergeError) -> WriteError {
    WriteError::Storage(format!("document operation failed: {e}"))
}

/// A writer for ESP with key `[9; 32]` on a new database at `path`, for
/// tests.
#[cfg(test)]
pub(crate) fn test_writer(path: &std::path::Path) -> (Writer, thread::JoinHandle<Store>) {
    let store = Store::open(
        path,
        &crate::store::StoreOptions {
            busy_timeout_ms: 5000,
            create: true,
        },
    )
    .unwrap();
    let key = SigningKey::from_bytes(&[9; 32]);
    Writer::spawn(
        store,
        key,
        "ESP".parse().unwrap(),
        NetworkContext::new(None, None),
    )
    .unwrap()
}
