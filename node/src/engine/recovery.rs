//! The write fence of a restored node: no signing until its own later
//! entries are back.
//!
//! A backup ends at the heads the node's logs had when it was taken. The
//! node may have signed more entries after that, and its peers hold them.
//! Were it to sign again from the backup's heads, it would sign a second,
//! different entry with a sequence number it already used: equivocation,
//! which every peer punishes by quarantining the key. So `restore` records
//! `restored` in the database's `meta` table, and while that row exists the
//! writer refuses every local write and roster change ([`WriteFence`]).
//!
//! The sync layer lifts the fence once peers have streamed everything they
//! hold and their heads of this node's own logs are no further than ours:
//! the entries signed after the backup came back (peers send a node its
//! own entries when its version vector shows it lacks them), so the next
//! entry continues after the highest sequence number the network has.
//! Which peers: every active key in the roster (members pull each other's
//! logs directly, so any of them may hold entries signed after the backup;
//! the secretariat is the only other reader of a member's `secretariat`
//! log). A node stays fenced while any of them has not answered (offline,
//! unreachable, or never dialed because `mesh = false`). An operator who
//! knows that no peer holds anything newer (or accepts the risk) lifts it
//! with `focal-node resume-writes`.
//!
//! **The start check.** Nothing inside a data directory survives a rollback
//! of the whole directory (a VM snapshot put back, an older copy): such a
//! node cannot know by itself that it signed more than it holds. So a node
//! in a network whose roster lists another active key signs nothing after
//! each start until **one** peer has streamed everything it holds and its
//! heads of this node's own logs are no further than the heads the node
//! started with (`WriteFence::start_confirmed`, through the writer). A peer that holds more
//! proves the rollback: the node fences itself like a restored node
//! (`Writer::fence_rolled_back`, `meta.restored`) and the recovery above
//! applies. Local writes wait for the confirmation in the async `Writer`
//! handle, up to `[network] start_check_ms`, then fail
//! ([`WriteError::Unconfirmed`]); the writer thread itself never waits, it
//! refuses. A node that loses its peers later keeps signing: only a start
//! cut off from every peer holds writes, until a peer answers or the
//! operator vouches for the directory (`focal-node resume-writes
//! --confirm`, [`META_START_CONFIRMED`]). Known limit: the first peer to
//! answer may be a member, which does not read this node's `secretariat`
//! log; that log is then checked only by the secretariat's later answer
//! (and, if it was rolled back, the secretariat refuses the fork).
//!
//! Invariants: while `meta.restored` exists, this node signs nothing; after
//! a start in a network with other active keys, it signs nothing until a
//! peer or the operator has confirmed its heads.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rusqlite::{Connection, OptionalExtension};

use crate::log::{LogHead, LogKey};
use crate::{engine::writer::WriteError, identity::NodeId, log::Audience};

/// Metadata key set by `focal-node restore`; its value says when and from
/// what the node was restored.
pub const META_RESTORED: &str = "restored";

/// Metadata key set by `focal-node resume-writes --confirm`: the operator
/// vouches that this data directory is current, so the start check is
/// skipped, once (at the next start, or by the running node at its next
/// write). A peer's confirmation removes it too.
pub const META_START_CONFIRMED: &str = "start_confirmed";

pub use crate::base::config::DEFAULT_START_CHECK;

/// How often a waiting write looks for the operator's confirmation.
const OPERATOR_POLL: Duration = Duration::from_millis(250);

/// A start check in progress (see the module's documentation).
#[derive(Debug, Clone)]
struct StartCheck {
    /// When the node started.
    since: std::time::Instant,
    /// How long a write waits, counted from `since`.
    bound: Duration,
    /// The heads of this node's own logs when it started.
    heads: std::collections::HashMap<LogKey, LogHead>,
}

/// Whether the node may sign: shared by the writer (which refuses) and the
/// sync layer (which lifts it after recovery).
#[derive(Debug, Clone)]
pub struct WriteFence {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fenced: AtomicBool,
    reason: Mutex<String>,
    database: PathBuf,
    /// Peers (keys) that have streamed everything and hold nothing newer
    /// of this node's logs.
    recovered: Mutex<std::collections::BTreeSet<String>>,
    /// The start check, while no peer has confirmed it; waiting writes
    /// watch it.
    start: tokio::sync::watch::Sender<Option<StartCheck>>,
}

impl WriteFence {
    /// Reads the fence from the database the writer owns.
    pub fn load(conn: &Connection, database: &Path) -> Result<Self, WriteError> {
        let reason = restored(conn)?;
        if let Some(reason) = &reason {
            tracing::warn!(
                restored = %reason,
                "this node was restored from a backup: local writes are refused until it has \
                 recovered its own later entries from a peer (or the operator runs \
                 `focal-node resume-writes`)"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                fenced: AtomicBool::new(reason.is_some()),
                reason: Mutex::new(reason.unwrap_or_default()),
                database: database.to_owned(),
                recovered: Mutex::default(),
                start: tokio::sync::watch::Sender::new(None),
            }),
        })
    }

    /// Starts the start check: the node signs nothing until a peer has
    /// confirmed `heads` (this node's own logs as it starts), or the
    /// operator has. A restored node needs none (its fence is stronger), nor
    /// a node whose operator confirmed the directory before the start.
    pub(crate) fn begin_start_check(
        &self,
        conn: &Connection,
        heads: std::collections::HashMap<LogKey, LogHead>,
        bound: Duration,
    ) -> Result<(), WriteError> {
        if self.is_fenced() {
            return Ok(());
        }
        if let Some(confirmed) = take_operator_confirmation(conn)? {
            tracing::warn!(
                %confirmed,
                "the operator confirmed that this data directory is current \
                 (`focal-node resume-writes --confirm`): signing without waiting for a peer"
            );
            return Ok(());
        }
        tracing::warn!(
            bound_ms = bound.as_millis() as u64,
            "started in a network: this node signs nothing until a peer confirms that it holds \
             no newer entries of this node's own logs (a data directory rolled back to an older \
             copy would otherwise sign sequence numbers the network already holds); local writes \
             wait for it"
        );
        self.inner.start.send_replace(Some(StartCheck {
            since: std::time::Instant::now(),
            bound,
            heads,
        }));
        Ok(())
    }

    /// Whether the start check waits for a peer's confirmation.
    pub fn start_pending(&self) -> bool {
        self.inner.start.borrow().is_some()
    }

    /// Whether local writes are held now: fenced after a restore or a
    /// rollback, or waiting for the start check (the metric
    /// `focal_write_fenced`, the status).
    pub fn writes_held(&self) -> bool {
        self.is_fenced() || self.start_pending()
    }

    /// Why writes are fenced (`meta.restored`), if they are.
    pub fn reason(&self) -> Option<String> {
        self.is_fenced().then(|| {
            self.inner
                .reason
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default()
        })
    }

    /// The heads of this node's own logs when it started, while the start
    /// check waits.
    pub fn start_heads(&self) -> Option<std::collections::HashMap<LogKey, LogHead>> {
        self.inner.start.borrow().as_ref().map(|s| s.heads.clone())
    }

    /// Waits (in the caller's task, never on the writer thread) until the
    /// start check is over, at most until its bound after the start; then
    /// fails with [`WriteError::Unconfirmed`]. The operator's confirmation
    /// (`focal-node resume-writes --confirm` beside the running node) ends
    /// it too: `operator` asks the writer to take it, if it was given.
    pub(crate) async fn wait_for_start<F, Fut>(&self, operator: F) -> Result<(), WriteError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut watch = self.inner.start.subscribe();
        let arrived = std::time::Instant::now();
        let mut waited = false;
        loop {
            let Some(check) = watch.borrow_and_update().clone() else {
                if waited {
                    tracing::debug!(
                        waited_ms = arrived.elapsed().as_secs_f64() * 1000.0,
                        "a write waited for the start check"
                    );
                }
                return Ok(());
            };
            waited = true;
            if operator().await {
                return Ok(());
            }
            let deadline = check.since + check.bound;
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(self.unconfirmed(&check));
            }
            let nap = OPERATOR_POLL.min(deadline - now);
            tokio::select! {
                _ = watch.changed() => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    fn unconfirmed(&self, check: &StartCheck) -> WriteError {
        WriteError::Unconfirmed {
            started_secs: check.since.elapsed().as_secs(),
            bound_ms: check.bound.as_millis() as u64,
            dir: self
                .inner
                .database
                .parent()
                .unwrap_or(Path::new("."))
                .display()
                .to_string(),
        }
    }

    /// The writer took the operator's confirmation (`confirmed`, from
    /// `meta.start_confirmed`): the start check is over.
    pub(crate) fn operator_confirmed(&self, confirmed: &str) {
        if self.inner.start.send_replace(None).is_some() {
            tracing::warn!(
                %confirmed,
                "the operator confirmed that this data directory is current \
                 (`focal-node resume-writes --confirm`): writes proceed without a \
                 peer's confirmation"
            );
        }
    }

    /// `peer` has streamed everything it holds and holds nothing of this
    /// node's own logs beyond the heads it started with: writes proceed.
    /// (The writer has taken a confirmation the operator gave meanwhile:
    /// it is spent too.)
    pub(crate) fn start_confirmed(&self, peer: &str) {
        let Some(check) = self.inner.start.send_replace(None) else {
            return;
        };
        tracing::info!(
            peer,
            after_ms = check.since.elapsed().as_millis() as u64,
            "a peer confirmed that it holds nothing newer of this node's own logs; local \
             writes proceed"
        );
    }

    /// Why a node is fenced as rolled back: `peer` holds entry `theirs` of
    /// this node's `audience` log, but the node started with entry `have`.
    /// The writer persists it (`meta.restored`, `Writer::fence_rolled_back`)
    /// and then calls [`WriteFence::fence_up`], so that the node pulls its
    /// own entries back from every peer before signing again.
    pub fn rolled_back_reason(peer: &str, audience: Audience, have: u64, theirs: u64) -> String {
        format!(
            "rolled back: it started at {} holding entry {have} of its {} log, but peer {peer} \
             holds entry {theirs} (the data directory is older than what this node signed: a \
             snapshot or a copy put back)",
            crate::clock::now_rfc3339(),
            audience.as_str()
        )
    }

    /// The fence is up (the writer has just stored `reason` as
    /// `meta.restored`): the node was found rolled back.
    pub(crate) fn fence_up(&self, reason: &str) {
        if let Ok(mut r) = self.inner.reason.lock() {
            r.clear();
            r.push_str(reason);
        }
        self.inner.fenced.store(true, Ordering::SeqCst);
        self.inner.start.send_replace(None);
        tracing::error!(
            %reason,
            "this node's data directory was rolled back: it signs nothing until it has \
             recovered its own later entries from every active peer (or the operator runs \
             `focal-node resume-writes --confirm`)"
        );
    }

    /// Whether writes are refused now.
    pub fn is_fenced(&self) -> bool {
        self.inner.fenced.load(Ordering::SeqCst)
    }

    /// Refuses a write while fenced. The database is read again first, so
    /// that `focal-node resume-writes` takes effect on a running node.
    /// The writer thread never waits for the start check: a job that
    /// reaches it early (the contact migration at start-up) is refused.
    pub(crate) fn check(&self, conn: &Connection) -> Result<(), WriteError> {
        if let Some(check) = self.inner.start.borrow().as_ref() {
            return Err(self.unconfirmed(check));
        }
        if !self.is_fenced() {
            return Ok(());
        }
        match restored(conn)? {
            None => {
                self.inner.fenced.store(false, Ordering::SeqCst);
                tracing::warn!("the restore fence was lifted by the operator; writes resume");
                Ok(())
            }
            Some(reason) => Err(WriteError::Fenced(reason)),
        }
    }

    /// Records that `peer` has streamed everything it holds and holds
    /// nothing of this node's own logs that it lacks. Returns whether every
    /// peer in `required` has: then the fence may be lifted
    /// (`Writer::lift_fence`).
    pub fn recovered_from_peer(&self, peer: &str, required: &[String]) -> bool {
        if !self.is_fenced() {
            return false;
        }
        let waiting: Vec<String> = match self.inner.recovered.lock() {
            Ok(mut recovered) => {
                recovered.insert(peer.to_owned());
                required
                    .iter()
                    .filter(|p| !recovered.contains(*p))
                    .cloned()
                    .collect()
            }
            Err(_) => required.to_vec(),
        };
        if waiting.is_empty() {
            true
        } else {
            tracing::info!(
                peer,
                waiting = %waiting.join(", "),
                "recovered this node's own entries from a peer; waiting for more peers before writing"
            );
            false
        }
    }

    /// The fence is down (the writer has just removed `meta.restored`): the
    /// node has recovered its own entries (last from `peer`).
    pub(crate) fn lifted(&self, peer: &str) {
        if !self.is_fenced() {
            return;
        }
        self.inner.fenced.store(false, Ordering::SeqCst);
        let reason = self
            .inner
            .reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        tracing::info!(
            peer,
            restored = %reason,
            "recovered this node's own entries after the restore; local writes resume"
        );
    }
}

/// The `restored` metadata value, if the fence is up.
pub fn restored(conn: &Connection) -> Result<Option<String>, WriteError> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [META_RESTORED],
        |r| r.get(0),
    )
    .optional()
    .map_err(storage)
}

/// Whether the start check applies to a node: it is in a network, and the
/// roster lists another active key (or the network's anchor is another
/// key). A founding secretariat alone, or a node in no network, signs
/// freely.
pub fn start_check_applies(me: NodeId, roster: &crate::roster::Roster) -> bool {
    roster.network_id.is_some()
        && (!roster.peers(&me).is_empty() || roster.anchor().is_some_and(|a| a != me))
}

/// Removes the operator's confirmation ([`META_START_CONFIRMED`]),
/// returning it if there was one.
pub(crate) fn take_operator_confirmation(conn: &Connection) -> Result<Option<String>, WriteError> {
    conn.query_row(
        "DELETE FROM meta WHERE key = ?1 RETURNING value",
        [META_START_CONFIRMED],
        |r| r.get(0),
    )
    .optional()
    .map_err(storage)
}

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

/// Whether this node holds, of each of its own logs, at least as much as a
/// peer that has just streamed it everything it had: then nothing the node
/// signed before a restore is missing, and it may sign again. Returns the
/// first own log it still lacks entries of.
pub fn recovered_from(
    own: NodeId,
    ours: &std::collections::HashMap<LogKey, LogHead>,
    theirs: impl IntoIterator<Item = (LogKey, u64)>,
) -> Result<(), (LogKey, u64, u64)> {
    for (key, seq) in theirs {
        let have = ours.get(&key).map_or(0, |h| h.seq);
        if key.0 == own && have < seq {
            return Err((key, have, seq));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::log::EntryHash;

    fn head(seq: u64) -> LogHead {
        LogHead {
            seq,
            hash: EntryHash::default(),
        }
    }

    #[test]
    fn recovered_only_when_no_own_log_is_behind_the_peer() {
        let me = NodeId([1; 32]);
        let other = NodeId([2; 32]);
        let mut ours = HashMap::new();
        ours.insert((me, Audience::Network), head(7));
        // The peer is further ahead in someone else's log: irrelevant.
        assert!(recovered_from(me, &ours, [((other, Audience::Network), 50)]).is_ok());
        assert!(recovered_from(me, &ours, [((me, Audience::Network), 7)]).is_ok());
        assert_eq!(
            recovered_from(me, &ours, [((me, Audience::Network), 9)]),
            Err(((me, Audience::Network), 7, 9))
        );
        // A log of ours we hold nothing of yet.
        assert!(recovered_from(me, &ours, [((me, Audience::Secretariat), 1)]).is_err());
    }

    #[test]
    fn the_fence_follows_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focal.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            .unwrap();
        let fence = WriteFence::load(&conn, &path).unwrap();
        assert!(!fence.is_fenced());
        conn.execute(
            "INSERT INTO meta VALUES (?1, 'from backup.focal')",
            [META_RESTORED],
        )
        .unwrap();
        let fence = WriteFence::load(&conn, &path).unwrap();
        assert!(fence.is_fenced());
        assert!(matches!(fence.check(&conn), Err(WriteError::Fenced(_))));
        // The secretariat is required; another peer alone does not do.
        let required = ["sec".to_owned(), "nam".to_owned()];
        assert!(!fence.recovered_from_peer("nam", &required));
        assert!(fence.is_fenced());
        // Every required peer has: the writer may take the fence down (it
        // deletes the row, then tells the fence).
        assert!(fence.recovered_from_peer("sec", &required));
        assert!(fence.is_fenced());
        conn.execute("DELETE FROM meta WHERE key = ?1", [META_RESTORED])
            .unwrap();
        fence.lifted("sec");
        assert!(!fence.is_fenced());
        assert!(fence.check(&conn).is_ok());
        // The operator's `resume-writes` on a running node: the row goes,
        // the next write passes.
        conn.execute("INSERT INTO meta VALUES (?1, 'again')", [META_RESTORED])
            .unwrap();
        let fence = WriteFence::load(&conn, &path).unwrap();
        conn.execute("DELETE FROM meta WHERE key = ?1", [META_RESTORED])
            .unwrap();
        assert!(fence.check(&conn).is_ok());
        assert!(!fence.is_fenced());
    }
}
