//! Receiving entries from peers: everything is checked before anything is
//! stored or applied.
//!
//! For each entry, in order: its origin is not quarantined; it is the next
//! entry of its log (sequence and hash chain), or an exact duplicate; a
//! different entry at a sequence number already held is equivocation, kept as
//! evidence, and the origin is quarantined; the signature, change checksums
//! and authors verify; the origin's key is in the roster and its member owns
//! the record (only the secretariat writes the roster, meetings and
//! decisions); `local` entries never travel; and the changes' actors belong to
//! the origin. Only then are the changes applied, and the document's
//! visibility must match the log the entry came in.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use automerge::Automerge;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::clock::now_rfc3339;
use crate::{
    base::lograte::LogBudget,
    doc,
    engine::intake::{Checked, Verdict},
    engine::writer::{Applied, Persist, WriteContext, WriteError},
    fork::{Fork, ForkProof},
    identity::NodeId,
    log::{ActorBindings, Audience, EntryError, EntryHash, LogEntry},
    member::{MemberCode, SECRETARIAT_CODE},
    records::{Visibility, parse_record_id},
    roster::ROSTER_ID,
    store::documents::load_document,
};

/// Why a received entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The entry itself is invalid (malformed, forged, corrupt, wrong author).
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The origin equivocated earlier; nothing more is accepted from it.
    #[error("origin {0} is quarantined for equivocation")]
    Quarantined(NodeId),
    /// Two different entries with the same origin and sequence number.
    #[error(
        "equivocation: origin {origin} signed two different entries with sequence {seq} \
         ({audience}); both kept as evidence, origin quarantined"
    )]
    Equivocation {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The sequence number.
        seq: u64,
    },
    /// A proven fork of the entry's log is at or before it: the log stands
    /// up to the entry before the fork (see `fork`).
    #[error(
        "origin {origin} is quarantined for equivocation: its {audience} log stands up to entry \
         {last}, the last before the fork it signed at entry {fork}; entry {seq} is refused"
    )]
    BeyondFork {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The sequence number.
        seq: u64,
        /// Where the log forked.
        fork: u64,
        /// The last entry that stands.
        last: u64,
    },
    /// The entry does not follow the last one held.
    #[error("sequence gap in the log of {origin} ({audience}): holding {have}, received {got}")]
    Gap {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The last sequence number held.
        have: u64,
        /// The one received.
        got: u64,
    },
    /// The entry's previous hash is not the hash of the entry before it.
    #[error("entry {seq} of {origin} does not chain to the entry before it (hash chain broken)")]
    BrokenChain {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The sequence number.
        seq: u64,
    },
    /// The origin's key is not in the roster.
    #[error("origin {0} is not a key in the roster")]
    UnknownKey(NodeId),
    /// The entry lies beyond the cut-off of a rotated or revoked key.
    #[error(
        "entry {seq} of {origin} ({audience}) is beyond the key's cut-off: it was {status} \
         with {last} as its last valid entry"
    )]
    BeyondCutoff {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The sequence number.
        seq: u64,
        /// The last valid sequence number.
        last: u64,
        /// Rotated or revoked.
        status: crate::roster::KeyStatus,
    },
    /// The entry sits where a cut-off pins another entry: a fork of a
    /// retired key's history.
    #[error(
        "entry {seq} of {origin} ({audience}) is not the entry the key's cut-off pins at that \
         number: a fork of a rotated or revoked key's history"
    )]
    ForkedAtCutoff {
        /// The origin.
        origin: NodeId,
        /// The log.
        audience: &'static str,
        /// The sequence number.
        seq: u64,
    },
    /// The origin may not write this record.
    #[error("{member} (key {origin}) may not write {doc}: {why}")]
    NotAuthorized {
        /// The origin.
        origin: NodeId,
        /// Its member.
        member: String,
        /// The record.
        doc: String,
        /// Why not.
        why: &'static str,
    },
    /// The record's visibility does not match the log it came in.
    #[error("{doc} is a {visibility} record but came in the {audience} log")]
    AudienceMismatch {
        /// The record.
        doc: String,
        /// Its visibility.
        visibility: String,
        /// The log.
        audience: &'static str,
    },
    /// The document's envelope contradicts its record id.
    #[error("{doc}: {why}")]
    BadEnvelope {
        /// The record.
        doc: String,
        /// What is wrong.
        why: String,
    },
    /// The changes do not apply to the document.
    #[error("the changes of {doc} do not apply: {reason}")]
    Apply {
        /// The record.
        doc: String,
        /// Why.
        reason: String,
    },
    /// Checking or applying the entry panicked: a bug the entry triggered.
    /// The entry is refused and the node goes on.
    #[error(
        "entry {seq} of {origin}: checking it failed unexpectedly ({what}); the entry is refused"
    )]
    Panicked {
        /// The origin.
        origin: NodeId,
        /// The sequence number.
        seq: u64,
        /// The panic's message.
        what: String,
    },
    /// The entry, or the document it makes, is over one of the node's
    /// limits (`[limits]` in focal.toml): refused before the costly step,
    /// and the relaying peer is cut off.
    #[error("entry {seq} of {origin} for {doc} is over a limit: {over}")]
    OverLimit {
        /// The origin.
        origin: NodeId,
        /// The sequence number.
        seq: u64,
        /// The record.
        doc: String,
        /// Which limit, the value found and the limit.
        over: crate::limits::OverLimit,
    },
    /// Storing failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl IngestError {
    /// The `reason` label of the refusal (metrics, refusal counts).
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Entry(_) => "invalid_entry",
            IngestError::Quarantined(_) | IngestError::BeyondFork { .. } => "quarantined",
            IngestError::Equivocation { .. } => "equivocation",
            IngestError::Gap { .. } => "gap",
            IngestError::BrokenChain { .. } => "broken_chain",
            IngestError::BeyondCutoff { .. } => "beyond_cutoff",
            IngestError::ForkedAtCutoff { .. } => "forked_at_cutoff",
            IngestError::UnknownKey(_) => "unknown_key",
            IngestError::NotAuthorized { .. } => "not_authorized",
            IngestError::AudienceMismatch { .. } => "audience_mismatch",
            IngestError::BadEnvelope { .. } => "bad_envelope",
            IngestError::Apply { .. } => "apply",
            IngestError::Panicked { .. } => "panicked",
            IngestError::OverLimit { .. } => "over_limit",
            IngestError::Storage(_) => "storage",
            #[allow(unreachable_patterns)]
            _ => "other",
        }
    }

    /// Whether no honest node would have relayed the entry: it is forged,
    /// corrupt, over a limit, or its origin may not write what it wrote
    /// (every node checks the same before relaying). Such a refusal cuts
    /// the relaying peer off at once. Other refusals (unknown keys, gaps,
    /// cut-offs a relay may not know yet) are counted per session instead.
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            Self::Entry(_)
                | Self::NotAuthorized { .. }
                | Self::AudienceMismatch { .. }
                | Self::BadEnvelope { .. }
                | Self::Apply { .. }
                | Self::OverLimit { .. }
                | Self::Panicked { .. }
        )
    }
}

impl From<crate::store::ReadError> for IngestError {
    fn from(e: crate::store::ReadError) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<WriteError> for IngestError {
    fn from(e: WriteError) -> Self {
        Self::Storage(e.to_string())
    }
}

/// What became of a batch of received entries.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Entries stored.
    pub accepted: usize,
    /// Entries already held (identical).
    pub duplicates: usize,
    /// Entries refused, with why.
    pub rejected: Vec<(NodeId, u64, IngestError)>,
}

impl IngestReport {
    /// Marks every accepted entry as failed (the batch did not commit).
    pub fn fail_all(&mut self, why: &str) {
        self.accepted = 0;
        self.rejected.push((
            NodeId([0; 32]),
            0,
            IngestError::Storage(format!("the batch was not committed: {why}")),
        ));
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} accepted, {} duplicates, {} rejected",
            self.accepted,
            self.duplicates,
            self.rejected.len()
        )
    }
}

/// A received record's envelope must agree with the id its entries were
/// authorized for: the same id, the owner and type the id names, and
/// well-formed times and tombstone flag. (The fields themselves are not
/// checked against this node's schema: a newer member may know fields this
/// node does not.)
fn check_envelope(
    doc_id: &str,
    json: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), IngestError> {
    let bad = |why: String| IngestError::BadEnvelope {
        doc: doc_id.to_owned(),
        why,
    };
    let text = |key: &str| json.get(key).and_then(|v| v.as_str());
    let (owner, kind, _) =
        parse_record_id(doc_id).ok_or_else(|| bad("malformed record id".into()))?;
    if text("id") != Some(doc_id) {
        return Err(bad(format!("its `id` is {:?}", json.get("id"))));
    }
    if text("owner") != Some(owner.as_str()) {
        return Err(bad(format!(
            "its `owner` is {:?}, but the id names {owner}",
            json.get("owner")
        )));
    }
    if text("type") != Some(kind.as_str()) {
        return Err(bad(format!(
            "its `type` is {:?}, but the id names {kind}",
            json.get("type")
        )));
    }
    if text("created").is_none() || text("updated").is_none() {
        return Err(bad("`created` and `updated` must be times".into()));
    }
    if !json
        .get("deleted")
        .is_some_and(serde_json::Value::is_boolean)
    {
        return Err(bad("`deleted` must be true or false".into()));
    }
    Ok(())
}

/// How many recent refusals are kept, with their evidence (`rejections`).
pub const RECENT_REFUSALS: i64 = 256;
/// How much of a refusal's text is kept.
const REASON_BYTES: usize = 2048;

/// Counts a refusal by peer and reason (`refusal_counts`, one row per
/// pair, however many) and keeps it among the recent ones with its evidence
/// (`rejections`, a ring of [`RECENT_REFUSALS`] rows, with the entry's
/// identity as evidence): what a flood leaves on disk is bounded.
fn record_refusal(
    conn: &Connection,
    peer: &str,
    entry: &LogEntry,
    err: &IngestError,
) -> rusqlite::Result<()> {
    let now = now_rfc3339();
    let kind = err.reason();
    conn.prepare_cached(
        "INSERT INTO refusal_counts (peer, reason, count, first_at, last_at)
         VALUES (?1, ?2, 1, ?3, ?3)
         ON CONFLICT (peer, reason) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
    )?
    .execute(params![peer, kind, now])?;
    let mut reason = err.to_string();
    if reason.len() > REASON_BYTES {
        let mut cut = REASON_BYTES;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    let evidence = evidence_of(entry);
    conn.prepare_cached(
        "INSERT INTO rejections (peer, origin, seq, reason, at, kind, doc, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        peer,
        entry.body.origin.to_string(),
        entry.body.seq as i64,
        reason,
        now,
        kind,
        entry.body.doc_id,
        evidence
    ])?;
    Ok(())
}

/// What identifies a refused entry without keeping what it says: its hash,
/// its signed header and signature, and each change's size and SHA-256. An
/// operator can match it with the sender's copy; content that this node may
/// not hold (a focal point's contact details pushed into the network log,
/// say) is not kept.
fn evidence_of(entry: &LogEntry) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let body = &entry.body;
    serde_json::json!({
        "hash": entry.hash().to_string(),
        "origin": body.origin.to_string(),
        "audience": body.audience.as_str(),
        "seq": body.seq,
        "prev": body.prev.to_string(),
        "doc": body.doc_id,
        "changes": body.changes.iter().map(|c| serde_json::json!({
            "bytes": c.len(),
            "sha256": hex::encode(Sha256::digest(c)),
        })).collect::<Vec<_>>(),
        "signature": hex::encode(entry.signature),
    })
    .to_string()
    .into_bytes()
}

/// Keeps the [`RECENT_REFUSALS`] newest refusals.
fn prune_refusals(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - ?1",
    )?
    .execute([RECENT_REFUSALS])?;
    Ok(())
}

/// What this node refuses of keys that equivocated.
#[derive(Debug, Default, Clone)]
pub(crate) struct Quarantine {
    /// Per log, the proven fork: nothing at or beyond its position is
    /// accepted (see `fork`).
    pub(crate) forks: HashMap<(NodeId, Audience), Fork>,
    /// Keys quarantined by a node of schema 8 or older, which kept no proof
    /// of where the log forked: nothing of them is accepted.
    pub(crate) legacy: HashSet<NodeId>,
}

impl Quarantine {
    /// The fork of one of `origin`'s logs, if one is proven.
    pub(crate) fn fork_of(&self, origin: &NodeId) -> Option<&Fork> {
        self.forks
            .iter()
            .filter(|((o, _), _)| o == origin)
            .map(|(_, fork)| fork)
            .min_by_key(|f| (f.audience, f.seq))
    }
}

/// The forks this node holds a proof of, and the keys quarantined before
/// proofs were kept.
pub(crate) fn load_quarantine(conn: &Connection) -> Result<Quarantine, WriteError> {
    let storage = |e: rusqlite::Error| WriteError::Storage(e.to_string());
    let mut quarantine = Quarantine::default();
    for fork in load_forks(conn)? {
        quarantine.forks.insert((fork.origin, fork.audience), fork);
    }
    let mut stmt = conn
        .prepare("SELECT origin FROM quarantine")
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(storage)?;
    for row in rows {
        if let Some(id) = NodeId::from_hex(&row.map_err(storage)?)
            && quarantine.fork_of(&id).is_none()
        {
            quarantine.legacy.insert(id);
        }
    }
    Ok(quarantine)
}

/// Every proven fork this node holds.
pub fn load_forks(conn: &Connection) -> Result<Vec<Fork>, WriteError> {
    let storage = |e: rusqlite::Error| WriteError::Storage(e.to_string());
    let mut stmt = conn
        .prepare_cached("SELECT first, second FROM forks ORDER BY proven_at, origin, audience")
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(storage)?;
    let mut forks = Vec::new();
    for row in rows {
        let (first, second) = row.map_err(storage)?;
        let proof = ForkProof::check(&first, &second)
            .map_err(|e| WriteError::Storage(format!("a stored fork proof does not hold: {e}")))?;
        forks.push(Fork::from(&proof));
    }
    Ok(forks)
}

/// The most entries kept as evidence of an equivocation whose fork is not
/// found yet (`equivocations`), per key.
pub const MAX_EVIDENCE_PER_KEY: usize = 64;

/// The most entries of other branches of a forked log kept per key.
pub const MAX_BRANCH_ENTRIES: usize = 100_000;

/// Why a fork proof was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForkRefused {
    /// It proves nothing: no honest node sends it.
    #[error(transparent)]
    Proof(#[from] crate::fork::ProofError),
    /// Its key is not in the roster (perhaps not yet).
    #[error("a fork proof about key {0}, which is not in the roster")]
    UnknownKey(NodeId),
    /// Storing failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

/// What proving a fork did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForkOutcome {
    /// Whether the proof was new here (a proof of the same log at the same
    /// or an earlier position changes nothing).
    pub new: bool,
    /// Entries taken out of the log (beyond the last that stands).
    pub cut: usize,
    /// Records rebuilt without them.
    pub records: Vec<String>,
}

enum Outcome {
    Stored(Box<Applied>),
    Duplicate,
}

/// What [`WriteContext::ingest_batch`]'s fast way leaves to the end of the
/// batch: each record's row, and the check that each document loads back
/// once saved (its saved bytes go to the checking thread).
#[derive(Clone, Copy)]
enum Deferred<'a> {
    Yes(&'a LoadChecks<'a>),
    No,
}

/// The queue of saved documents to the checking thread, bounded in bytes:
/// a document that would take it over [`LOAD_CHECK_BYTES`] (a peer may
/// make one large) is checked on the writer thread instead, as without
/// the queue.
struct LoadChecks<'a> {
    send: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Bytes queued and not yet checked.
    queued: &'a AtomicUsize,
    /// Raised by the checking thread when a document does not load back.
    failed: &'a AtomicBool,
}

impl LoadChecks<'_> {
    /// Queues `saved`, or gives it back if the queue would hold too much.
    fn queue(&self, saved: Vec<u8>) -> Result<(), Vec<u8>> {
        let len = saved.len();
        if self.queued.fetch_add(len, Ordering::AcqRel) + len > LOAD_CHECK_BYTES {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(saved);
        }
        // The checking thread gone (it found a failure): nothing to check.
        let _ = self.send.send(saved);
        Ok(())
    }
}

/// Saved documents the checking thread may have waiting, in bytes.
const LOAD_CHECK_BYTES: usize = 64 << 20;
/// And in number (at most a batch's entries wait in any case).
const LOAD_CHECKS_QUEUED: usize = 4096;

/// Loads a saved document back, or says why it does not load.
fn load_back(saved: &[u8]) -> Result<(), String> {
    if crate::base::fault::unloadable(saved) {
        return Err("injected test fault".into());
    }
    Automerge::load(saved).map(drop).map_err(|e| e.to_string())
}

/// Whether a saved document loads back (Automerge panics on some that do
/// not: caught, it is a no).
fn loads_back(saved: &[u8]) -> bool {
    catch_unwind(|| load_back(saved).is_ok()).unwrap_or(false)
}

impl WriteContext<'_> {
    /// Ingests entries in order; an entry refused stops the rest of its log
    /// in this batch (they could only be gaps), other logs go on. Entries
    /// arrive checked by `intake` (off this thread); a panic while storing
    /// one refuses that entry and leaves the rest of the batch alone.
    ///
    /// Each entry is checked against the document as its log's earlier
    /// entries left it, one by one (what a node accepts never depends on
    /// how entries were batched), but a record's row is written once, after
    /// its last entry in the batch, and whether each document loads back
    /// once saved is checked on another thread. Should either fail (a
    /// document that does not load back, a full disk, a panic), the batch
    /// is rolled back and stored again with both in each entry's own
    /// savepoint, so that the failure refuses the entry that caused it, as
    /// before.
    ///
    /// This rests on one assumption: writing a record's row never fails
    /// for a state that passed the entry's checks, but for the database
    /// itself. The envelope and visibility checks cover what
    /// `row_from_json` reads, and the summaries' triggers take any JSON
    /// (`hostile_entries::records_of_any_shape_are_stored_and_summed_without_stopping_replication`);
    /// a row refused for an intermediate state, never written here, would
    /// otherwise have refused that entry.
    pub(crate) fn ingest_batch(
        &mut self,
        tx: &mut Transaction<'_>,
        peer: &str,
        entries: Vec<Checked>,
        touched: &mut Vec<String>,
    ) -> (IngestReport, Vec<Applied>) {
        let logs: HashSet<(NodeId, Audience)> = entries
            .iter()
            .map(|c| (c.entry.body.origin, c.entry.body.audience))
            .collect();
        let heads: Vec<_> = logs
            .into_iter()
            .map(|key| (key, self.vv.get(&key).copied()))
            .collect();
        let first = touched.len();
        let quarantine = self.quarantine.clone();
        let fast = self.ingest_deferred(tx, peer, &entries, touched);
        match fast {
            Ok(done) => done,
            Err(why) => {
                // A peer can cause this (and is cut off for it): sampled.
                static FELL_BACK: LogBudget = LogBudget::per_minute(30);
                if let Some(suppressed) = FELL_BACK.admit() {
                    tracing::warn!(
                        peer,
                        %why,
                        suppressed,
                        "a check left to the end of the batch failed; storing it entry by entry"
                    );
                }
                self.roll_back_memory(&heads, touched, first, &quarantine);
                match tx.savepoint() {
                    Ok(mut sp) => {
                        let done =
                            self.ingest_entries(&mut sp, peer, &entries, touched, Deferred::No);
                        match sp.commit() {
                            Ok(()) => done,
                            Err(e) => {
                                self.roll_back_memory(&heads, touched, first, &quarantine);
                                let mut report = done.0;
                                report.fail_all(&e.to_string());
                                (report, Vec::new())
                            }
                        }
                    }
                    Err(e) => {
                        let mut report = IngestReport::default();
                        for Checked { entry, .. } in entries {
                            report.rejected.push((
                                entry.body.origin,
                                entry.body.seq,
                                IngestError::Storage(e.to_string()),
                            ));
                        }
                        (report, Vec::new())
                    }
                }
            }
        }
    }

    /// [`Self::ingest_batch`]'s fast way, in one savepoint: each
    /// document's load check on the `focal-loadcheck` thread, each record's
    /// row once at the end. `Err` says why the batch must be stored again
    /// entry by entry (the savepoint is rolled back; memory is the
    /// caller's to restore).
    fn ingest_deferred(
        &mut self,
        tx: &mut Transaction<'_>,
        peer: &str,
        entries: &[Checked],
        touched: &mut Vec<String>,
    ) -> Result<(IngestReport, Vec<Applied>), String> {
        let mut sp = tx.savepoint().map_err(|e| e.to_string())?;
        let (queued, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
        let ((report, mut applied), loaded) = std::thread::scope(|scope| {
            let (send, saved) = std::sync::mpsc::sync_channel::<Vec<u8>>(LOAD_CHECKS_QUEUED);
            let checks = LoadChecks {
                send,
                queued: &queued,
                failed: &failed,
            };
            let (queued, failed) = (&queued, &failed);
            let checker = std::thread::Builder::new()
                .name("focal-loadcheck".into())
                .spawn_scoped(scope, move || {
                    let all = saved.into_iter().all(|s| {
                        let loads = loads_back(&s);
                        queued.fetch_sub(s.len(), Ordering::AcqRel);
                        loads
                    });
                    failed.store(!all, Ordering::Relaxed);
                    all
                });
            // No thread: each document is checked here, as entry by entry.
            let deferred = match &checker {
                Ok(_) => Deferred::Yes(&checks),
                Err(_) => Deferred::No,
            };
            let done = self.ingest_entries(&mut sp, peer, entries, touched, deferred);
            // Closes the queue: the checking thread ends.
            drop(checks);
            let loaded = checker.map_or(Ok(true), |c| c.join().map_err(drop));
            (done, loaded)
        });
        if loaded != Ok(true) {
            return Err("a document of the batch would not load back once saved".into());
        }
        // A panic here (a bug a record triggered) is the batch's failure:
        // entry by entry, it refuses that entry alone.
        catch_unwind(AssertUnwindSafe(|| self.project_runs(&sp, &mut applied))).unwrap_or_else(
            |panic| {
                Err(format!(
                    "writing a record's row panicked: {}",
                    crate::engine::intake::panic_message(panic.as_ref())
                ))
            },
        )?;
        sp.commit().map_err(|e| e.to_string())?;
        Ok((report, applied))
    }

    /// Memory follows the database back to where a batch began: the heads
    /// of its logs, the documents it touched (dropped from the cache) and
    /// the quarantine.
    fn roll_back_memory(
        &mut self,
        heads: &[((NodeId, Audience), Option<crate::log::LogHead>)],
        touched: &mut Vec<String>,
        first: usize,
        quarantine: &Quarantine,
    ) {
        for (key, head) in heads {
            match head {
                Some(head) => self.vv.insert(*key, *head),
                None => self.vv.remove(key),
            };
        }
        for id in touched.drain(first..) {
            self.cache.remove(&id);
        }
        *self.quarantine = quarantine.clone();
    }

    /// Writes the row of each record the batch changed, once, from its
    /// state after its last entry accepted (see [`Self::ingest_batch`]).
    fn project_runs(&mut self, conn: &Connection, applied: &mut [Applied]) -> Result<(), String> {
        let mut done: HashSet<String> = HashSet::new();
        for applied in applied.iter_mut().rev() {
            let Some(id) = applied.unprojected.take() else {
                continue;
            };
            if !done.insert(id.clone()) {
                continue;
            }
            let row = match self.cache.get(&id) {
                // Every change dropped by a key cut-off: no record to write.
                Some(cached) if cached.doc.get_heads().is_empty() => continue,
                Some(cached) => {
                    crate::engine::writer::project(conn, &id, &cached.json, &cached.doc.get_heads())
                }
                // Taken out of the cache by a later entry of the record that
                // was refused: its state is the one stored.
                None => match load_document(conn, &id).map_err(|e| e.to_string())? {
                    Some((document, _)) => crate::engine::writer::project(
                        conn,
                        &id,
                        &doc::to_json(&document),
                        &document.get_heads(),
                    ),
                    None => continue,
                },
            };
            applied.row = Some(row.map_err(|e| e.to_string())?);
        }
        Ok(())
    }

    fn ingest_entries(
        &mut self,
        tx: &mut rusqlite::Savepoint<'_>,
        peer: &str,
        entries: &[Checked],
        touched: &mut Vec<String>,
        deferred: Deferred<'_>,
    ) -> (IngestReport, Vec<Applied>) {
        let mut report = IngestReport::default();
        let mut applied = Vec::new();
        let mut broken: HashSet<(NodeId, Audience)> = HashSet::new();
        for Checked { entry, verdict } in entries {
            // A document already failed its load check: the batch will be
            // stored again entry by entry, so the rest is not worth doing.
            if let Deferred::Yes(checks) = deferred
                && checks.failed.load(Ordering::Relaxed)
            {
                break;
            }
            let key = (entry.body.origin, entry.body.audience);
            if broken.contains(&key) {
                continue;
            }
            let verdict = match verdict {
                // Applying takes the changes; the batch may be stored twice.
                Verdict::Verified(changes) => Ok(changes.clone()),
                Verdict::Refused(err) => Err(err.clone()),
                // After a refusal of the same log that turned out to be a
                // duplicate here: the next pull brings it again.
                Verdict::Skipped => continue,
            };
            let mut savepoint = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => {
                    report.rejected.push((
                        key.0,
                        entry.body.seq,
                        IngestError::Storage(e.to_string()),
                    ));
                    continue;
                }
            };
            touched.push(entry.body.doc_id.clone());
            let result = catch_unwind(AssertUnwindSafe(|| {
                self.ingest_one(&savepoint, entry, verdict, deferred)
            }))
            .unwrap_or_else(|panic| {
                // Whatever the panic left half-done in memory goes; the
                // savepoint takes the rows back.
                self.cache.clear();
                Err(IngestError::Panicked {
                    origin: entry.body.origin,
                    seq: entry.body.seq,
                    what: crate::engine::intake::panic_message(panic.as_ref()),
                })
            });
            match result {
                Ok(outcome) => {
                    if let Err(e) = savepoint.commit() {
                        self.cache.remove(&entry.body.doc_id);
                        report.rejected.push((
                            key.0,
                            entry.body.seq,
                            IngestError::Storage(e.to_string()),
                        ));
                        broken.insert(key);
                        continue;
                    }
                    match outcome {
                        Outcome::Stored(done) => {
                            if let Some((k, head)) = done.head {
                                self.vv.insert(k, head);
                            }
                            report.accepted += 1;
                            applied.push(*done);
                        }
                        Outcome::Duplicate => report.duplicates += 1,
                    }
                }
                Err(err) => {
                    let _ = savepoint.rollback();
                    drop(savepoint);
                    self.cache.remove(&entry.body.doc_id);
                    if let IngestError::BeyondCutoff { .. } = &err
                        && let Err(e) =
                            crate::engine::revocation::record_refused(tx, entry, &err.to_string())
                    {
                        tracing::error!(%e, "cannot record the changes of a refused entry");
                    }
                    if let IngestError::Equivocation { .. } = &err {
                        // The proof (or the evidence) outlives the refusal.
                        if let Err(e) = self.equivocation(tx, peer, entry) {
                            tracing::error!(%e, "cannot record equivocation evidence");
                        }
                    }
                    // A peer decides how often this happens: the log gets
                    // a sample, the counters and the ring get every one.
                    static REFUSED: LogBudget = LogBudget::per_minute(30);
                    if let Some(suppressed) = REFUSED.admit() {
                        tracing::warn!(
                            peer,
                            origin = %entry.body.origin,
                            seq = entry.body.seq,
                            doc = %entry.body.doc_id,
                            %err,
                            suppressed,
                            "entry refused"
                        );
                    }
                    if let Err(e) = record_refusal(tx, peer, entry, &err) {
                        tracing::error!(%e, "cannot record a refusal");
                    }
                    crate::base::metrics::entry_rejected(err.reason());
                    report.rejected.push((key.0, entry.body.seq, err));
                    broken.insert(key);
                }
            }
        }
        if !report.rejected.is_empty()
            && let Err(e) = prune_refusals(tx)
        {
            tracing::error!(%e, "cannot prune the recent refusals");
        }
        (report, applied)
    }

    /// A received entry differs from the one held at its position: if both
    /// chain to the same entry, this is where the log forked, and the two
    /// prove it ([`WriteContext::prove_fork`]); otherwise the log forked
    /// earlier, and the entry is kept as evidence while the sync layer looks
    /// for the first position that differs (`sync`).
    fn equivocation(
        &mut self,
        conn: &Connection,
        peer: &str,
        entry: &LogEntry,
    ) -> Result<(), WriteError> {
        let storage = |e: rusqlite::Error| WriteError::Storage(e.to_string());
        let body = &entry.body;
        let (held, stored_hash): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT entry, hash FROM log_entries
                 WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                params![&body.origin.0[..], body.audience.code(), body.seq as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(storage)?;
        let encoded = entry.encode();
        match ForkProof::check(&held, &encoded) {
            Ok(proof) => match self.prove_fork(conn, &proof, peer) {
                Ok(_) => Ok(()),
                Err(ForkRefused::Storage(e)) => Err(WriteError::Storage(e)),
                // Not a key of the roster: nothing is kept.
                Err(e) => {
                    tracing::warn!(%e, "equivocation not recorded");
                    Ok(())
                }
            },
            Err(_) => {
                // A peer may send the same entry every round until the
                // fork is found (or never let it be found): one row per
                // entry, and at most `MAX_EVIDENCE_PER_KEY` per key.
                conn.execute(
                    "INSERT INTO equivocations
                         (origin, audience, seq, stored_hash, other_entry, detected_at)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6
                     WHERE NOT EXISTS (SELECT 1 FROM equivocations
                                       WHERE origin = ?1 AND other_entry = ?5)
                       AND (SELECT count(*) FROM equivocations WHERE origin = ?1) < ?7",
                    params![
                        &body.origin.0[..],
                        body.audience.code(),
                        body.seq as i64,
                        stored_hash,
                        encoded,
                        now_rfc3339(),
                        MAX_EVIDENCE_PER_KEY as i64
                    ],
                )
                .map_err(storage)?;
                Ok(())
            }
        }
    }

    /// Takes a checked proof of a fork: keeps it, quarantines its key, and
    /// cuts the forked log back to the entry before the fork (the last one
    /// every branch shares), rebuilding the records the cut entries touched
    /// (see `revocation`). Every node that holds the proof holds the same
    /// entries of that log, whichever branch it held before.
    pub(crate) fn prove_fork(
        &mut self,
        conn: &Connection,
        proof: &ForkProof,
        peer: &str,
    ) -> Result<ForkOutcome, ForkRefused> {
        let storage = |e: rusqlite::Error| ForkRefused::Storage(e.to_string());
        let (origin, audience, seq) = (proof.origin(), proof.audience(), proof.seq());
        let key = (origin, audience);
        if self
            .quarantine
            .forks
            .get(&key)
            .is_some_and(|f| f.seq <= seq)
        {
            return Ok(ForkOutcome::default());
        }
        // Proofs cost an attacker nothing to make with keys of its own:
        // only the roster's keys' are kept.
        let known = self
            .net
            .roster
            .read()
            .map_err(|_| ForkRefused::Storage("the roster lock is poisoned".into()))?
            .member_of(&origin)
            .is_some();
        if !known {
            return Err(ForkRefused::UnknownKey(origin));
        }
        let last = seq - 1;
        conn.execute(
            "INSERT INTO forks (origin, audience, seq, first, second, peer, proven_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (origin, audience) DO UPDATE SET
                 seq = excluded.seq, first = excluded.first, second = excluded.second,
                 peer = excluded.peer, proven_at = excluded.proven_at",
            params![
                &origin.0[..],
                audience.code(),
                seq as i64,
                proof.first.encode(),
                proof.second.encode(),
                peer,
                now_rfc3339()
            ],
        )
        .map_err(storage)?;
        conn.execute(
            "INSERT INTO quarantine (origin, reason, since) VALUES (?1, ?2, ?3)
             ON CONFLICT (origin) DO UPDATE SET reason = excluded.reason",
            params![
                origin.to_string(),
                format!(
                    "fork proven at {} entry {seq}: the log stands up to entry {last}",
                    audience.as_str()
                ),
                now_rfc3339()
            ],
        )
        .map_err(storage)?;
        let held = self.vv.get(&key).map_or(0, |h| h.seq);
        let (_, records) = crate::engine::revocation::cut(
            conn,
            origin,
            audience,
            last,
            &format!("fork proven at entry {seq}"),
        )
        .map_err(|e| ForkRefused::Storage(e.to_string()))?;
        for id in &records {
            crate::engine::revocation::rebuild(conn, id)
                .map_err(|e| ForkRefused::Storage(e.to_string()))?;
            self.cache.remove(id);
        }
        let head: Option<(i64, Vec<u8>)> = conn
            .query_row(
                "SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = ?2
                 ORDER BY seq DESC LIMIT 1",
                params![&origin.0[..], audience.code()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage)?;
        match head.and_then(|(seq, hash)| Some((seq, <[u8; 32]>::try_from(hash).ok()?))) {
            Some((seq, hash)) => {
                self.vv.insert(
                    key,
                    crate::log::LogHead {
                        seq: seq as u64,
                        hash: EntryHash(hash),
                    },
                );
            }
            None => {
                self.vv.remove(&key);
            }
        }
        self.quarantine.forks.insert(key, Fork::from(proof));
        self.quarantine.legacy.remove(&origin);
        let cut = held.saturating_sub(last) as usize;
        crate::base::metrics::fork_proven();
        tracing::warn!(
            peer,
            %origin,
            audience = audience.as_str(),
            seq,
            cut,
            records = records.len(),
            "fork proven: the key signed two different entries at one position; its log now \
             stands up to the entry before, here as on every node that holds the proof"
        );
        if origin == self.origin {
            tracing::error!(
                audience = audience.as_str(),
                seq,
                "this node's own key signed two different entries at one position (a restored \
                 or copied data directory does this): it signs nothing more. Rotate the key \
                 (`focal-node key rotate`), then write again what the lost entries held \
                 (`focal-node recover-branch`); see OPERATIONS.md, \"Forks\""
            );
        }
        Ok(ForkOutcome {
            new: true,
            cut,
            records,
        })
    }

    /// Keeps entries of other branches of this member's forked logs (see
    /// [`Writer::keep_branch`](crate::engine::writer::Writer::keep_branch)): only
    /// of a proven fork of a key of this member, at or beyond the fork, and
    /// at most [`MAX_BRANCH_ENTRIES`] per key. Returns how many were new.
    pub(crate) fn keep_branch(
        &mut self,
        conn: &Connection,
        entries: &[LogEntry],
    ) -> Result<usize, WriteError> {
        let storage = |e: rusqlite::Error| WriteError::Storage(e.to_string());
        let mut kept = 0;
        for entry in entries {
            let body = &entry.body;
            let forked = self
                .quarantine
                .forks
                .get(&(body.origin, body.audience))
                .is_some_and(|f| f.seq <= body.seq);
            let ours = self
                .net
                .roster
                .read()
                .ok()
                .and_then(|r| r.member_of(&body.origin))
                .is_some_and(|m| m == *self.member);
            if !forked || !ours {
                continue;
            }
            let held: i64 = conn
                .prepare_cached("SELECT count(*) FROM fork_entries WHERE origin = ?1")
                .map_err(storage)?
                .query_row([&body.origin.0[..]], |r| r.get(0))
                .map_err(storage)?;
            if held as usize >= MAX_BRANCH_ENTRIES {
                tracing::warn!(
                    origin = %body.origin,
                    "kept the most entries of a forked log's other branches; no more"
                );
                break;
            }
            let bytes = entry.encode();
            kept += conn
                .prepare_cached(
                    "INSERT INTO fork_entries (hash, origin, audience, seq, prev, entry, kept_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                )
                .map_err(storage)?
                .execute(params![
                    &LogEntry::hash_of(&bytes).0[..],
                    &body.origin.0[..],
                    body.audience.code(),
                    body.seq as i64,
                    &body.prev.0[..],
                    bytes,
                    now_rfc3339()
                ])
                .map_err(storage)?;
        }
        Ok(kept)
    }

    fn ingest_one(
        &mut self,
        conn: &Connection,
        entry: &LogEntry,
        verdict: Result<Vec<automerge::Change>, IngestError>,
        deferred: Deferred<'_>,
    ) -> Result<Outcome, IngestError> {
        let body = &entry.body;
        if self.quarantine.legacy.contains(&body.origin) {
            return Err(IngestError::Quarantined(body.origin));
        }
        if let Some(fork) = self.quarantine.forks.get(&(body.origin, body.audience))
            && body.seq >= fork.seq
        {
            return Err(IngestError::BeyondFork {
                origin: body.origin,
                audience: body.audience.as_str(),
                seq: body.seq,
                fork: fork.seq,
                last: fork.seq - 1,
            });
        }
        let held: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT hash FROM log_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![&body.origin.0[..], body.audience.code(), body.seq as i64],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| IngestError::Storage(e.to_string()))?;
        if let Some(held) = &held
            && held[..] == entry.hash().0[..]
        {
            // Byte for byte an entry already held (and verified): a replay.
            return Ok(Outcome::Duplicate);
        }
        // The signature and changes were checked (by `intake`) before
        // anything about the entry's place in its log, so that a forgery is
        // always reported as a forgery (and its sender cut off), wherever it
        // claims to be.
        let changes = verdict?;
        let over = |over: crate::limits::OverLimit| IngestError::OverLimit {
            origin: body.origin,
            seq: body.seq,
            doc: body.doc_id.clone(),
            over,
        };
        let limits = &self.net.limits;
        // One look at the roster for the cut-off and the authorization.
        let net = self.net;
        let roster = net
            .roster
            .read()
            .map_err(|_| IngestError::Storage("the roster lock is poisoned".into()))?;
        if let Some((last, pinned)) = roster.cutoff_pin(&body.origin, body.audience) {
            if body.seq > last {
                return Err(IngestError::BeyondCutoff {
                    origin: body.origin,
                    audience: body.audience.as_str(),
                    seq: body.seq,
                    last,
                    status: roster
                        .key_status(&body.origin)
                        .unwrap_or(crate::roster::KeyStatus::Rotated),
                });
            }
            if body.seq == last && pinned.is_some_and(|p| p != entry.hash()) {
                return Err(IngestError::ForkedAtCutoff {
                    origin: body.origin,
                    audience: body.audience.as_str(),
                    seq: body.seq,
                });
            }
        }
        if held.is_some() {
            return Err(IngestError::Equivocation {
                origin: body.origin,
                audience: body.audience.as_str(),
                seq: body.seq,
            });
        }
        let head = self.vv.get(&(body.origin, body.audience)).copied();
        let have = head.map_or(0, |h| h.seq);
        if body.seq != have + 1 {
            return Err(IngestError::Gap {
                origin: body.origin,
                audience: body.audience.as_str(),
                have,
                got: body.seq,
            });
        }
        if body.prev != head.map_or_else(EntryHash::default, |h| h.hash) {
            return Err(IngestError::BrokenChain {
                origin: body.origin,
                audience: body.audience.as_str(),
                seq: body.seq,
            });
        }
        let provisional = authorize(&roster, entry)?;
        drop(roster);

        let (mut document, pending) = match self.cache.remove(&body.doc_id) {
            Some(cached) => (cached.doc, cached.pending),
            None => load_document(conn, &body.doc_id)?.unwrap_or_else(|| (Automerge::new(), 0)),
        };
        // Where a cut-off dropped changes, the document no longer shows every
        // actor its log started: bind actors from the log instead.
        let has_drops = crate::engine::revocation::has_drops(conn, &body.doc_id)?;
        let mut bindings = if has_drops {
            crate::engine::revocation::bindings_from_log(conn, &body.doc_id)?
        } else {
            ActorBindings::from_document(&document)
        };
        bindings.check(entry, &changes)?;
        // Changes that build on changes dropped by a revocation stay in the
        // log (the entry is valid) but out of the document.
        let (changes, excluded) =
            crate::engine::revocation::exclude_dependents(conn, entry, changes, has_drops)?;
        let was_marked = crate::engine::contact::marked(&document);
        document
            .apply_changes(changes)
            .map_err(|e| IngestError::Apply {
                doc: body.doc_id.clone(),
                reason: e.to_string(),
            })?;
        // Read with an explicit stack, stopping at the depth and size
        // limits; the savepoint drops the applied changes on refusal.
        let json = doc::to_json_within(&document, limits).map_err(over)?;
        // Automerge 0.12 applies some changes (found by fuzzing) whose
        // document it then cannot load back from a save: the record would
        // be broken on every node that stored the entry, at its next
        // snapshot. So a document must survive the round trip first.
        let saved = document.save_nocompress();
        let saved_len = saved.len();
        // Checked on the other thread, by the end of the batch (which is
        // stored again entry by entry should any document fail:
        // `ingest_batch`), or here when the queue is full or there is none.
        let here = match deferred {
            Deferred::Yes(checks) => checks.queue(saved).err(),
            Deferred::No => Some(saved),
        };
        if let Some(saved) = here
            && let Err(e) = load_back(&saved)
        {
            return Err(IngestError::Apply {
                doc: body.doc_id.clone(),
                reason: format!("the document would not load back once saved ({e})"),
            });
        }
        if provisional {
            // A new anchor key's first roster change carries the hand-over
            // that makes it the anchor.
            let after = self.net.read_roster(&json);
            if !after.anchor_chain().contains(&body.origin) {
                return Err(IngestError::NotAuthorized {
                    origin: body.origin,
                    member: "?".into(),
                    doc: ROSTER_ID.into(),
                    why: "only the secretariat's anchor key (or a key it handed over to) writes \
                          the roster",
                });
            }
        }
        // A record whose every change was dropped has no envelope to check.
        if body.doc_id != ROSTER_ID && !document.get_heads().is_empty() {
            check_envelope(&body.doc_id, &json)?;
            let visibility = json
                .get("visibility")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let matches = Visibility::parse(&visibility).map(Audience::from) == Some(body.audience);
            if !matches {
                return Err(IngestError::AudienceMismatch {
                    doc: body.doc_id.clone(),
                    visibility,
                    audience: body.audience.as_str(),
                });
            }
            // Contact details never in the network log (see `contact`).
            crate::engine::contact::check_received(
                body.origin,
                &body.doc_id,
                body.audience,
                was_marked,
                &json,
            )?;
        }
        let applied = self.persist(
            conn,
            entry,
            (document, pending),
            Persist {
                snapshot_now: false,
                action: "received",
                json: Some(json),
                excluded,
                saved_len: Some(saved_len),
                project_later: matches!(deferred, Deferred::Yes(..)),
            },
        )?;
        Ok(Outcome::Stored(Box::new(applied)))
    }
}

/// Whether the entry's origin may write its record (see
/// [`WriteContext::ingest_one`]). `Ok(true)`: a roster change by a key not
/// (yet) in the anchor chain, allowed only if the change itself carries the
/// anchor's hand-over to it (checked once applied). Needs nothing but the
/// roster, so `intake` asks it before checking a signature.
pub(crate) fn authorize(
    roster: &crate::roster::Roster,
    entry: &LogEntry,
) -> Result<bool, IngestError> {
    let body = &entry.body;
    if body.doc_id == ROSTER_ID {
        let member = roster
            .member_of(&body.origin)
            .map_or_else(|| "?".to_owned(), |m| m.to_string());
        let refuse = |why: &'static str| IngestError::NotAuthorized {
            origin: body.origin,
            member: member.clone(),
            doc: body.doc_id.clone(),
            why,
        };
        if body.audience != Audience::Network {
            return Err(refuse("the roster is a network document"));
        }
        if roster.anchor_chain().contains(&body.origin) {
            return Ok(false);
        }
        if roster.member_of(&body.origin).is_some() {
            return Err(refuse(
                "only the secretariat's anchor key (or a key it handed over to) writes the roster",
            ));
        }
        return Ok(true);
    }
    let member: MemberCode = roster
        .member_of(&body.origin)
        .ok_or(IngestError::UnknownKey(body.origin))?;
    let refuse = |why: &'static str| IngestError::NotAuthorized {
        origin: body.origin,
        member: member.to_string(),
        doc: body.doc_id.clone(),
        why,
    };
    if body.audience == Audience::Local {
        return Err(refuse("local entries never leave their node"));
    }
    let (owner, kind, _) =
        parse_record_id(&body.doc_id).ok_or_else(|| refuse("the record id is malformed"))?;
    if owner != member {
        return Err(refuse("only the owner member's keys write its records"));
    }
    if kind.secretariat_only() && member.as_str() != SECRETARIAT_CODE {
        return Err(refuse("only the secretariat writes meetings and decisions"));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer can make one document large and send many entries to it:
    /// the copies waiting for the checking thread stay within
    /// `LOAD_CHECK_BYTES`, and what would go over is given back to be
    /// checked on the writer thread.
    #[test]
    fn the_load_check_queue_holds_no_more_than_its_bytes() {
        let (queued, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
        let (send, saved) = std::sync::mpsc::sync_channel(LOAD_CHECKS_QUEUED);
        let checks = LoadChecks {
            send,
            queued: &queued,
            failed: &failed,
        };
        let big = LOAD_CHECK_BYTES / 4 + 1;
        for _ in 0..3 {
            assert!(checks.queue(vec![0; big]).is_ok());
        }
        // A fourth would take it over: given back, nothing counted for it.
        let back = checks.queue(vec![0; big]).unwrap_err();
        assert_eq!(back.len(), big);
        assert_eq!(queued.load(Ordering::Relaxed), 3 * big);
        // Small ones still fit.
        assert!(checks.queue(vec![0; 10]).is_ok());
        assert_eq!(saved.try_iter().count(), 4);
    }

    #[test]
    fn a_document_that_does_not_load_back_is_said_so() {
        assert!(!loads_back(b"not a document"));
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "k", 1).unwrap();
        tx.commit();
        assert!(loads_back(&doc.save_nocompress()));
    }
}
