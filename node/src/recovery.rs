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
//! Invariant: while `meta.restored` exists, this node signs nothing.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::writer::WriteError;

/// Metadata key set by `focal-node restore`; its value says when and from
/// what the node was restored.
pub const META_RESTORED: &str = "restored";

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
            }),
        })
    }

    /// Whether writes are refused now.
    pub fn is_fenced(&self) -> bool {
        self.inner.fenced.load(Ordering::SeqCst)
    }

    /// Refuses a write while fenced. The database is read again first, so
    /// that `focal-node resume-writes` takes effect on a running node.
    pub(crate) fn check(&self, conn: &Connection) -> Result<(), WriteError> {
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
    /// nothing of this node's own logs that it lacks; lifts the fence once
    /// every peer in `required` has. Returns whether writes may resume.
    pub fn recovered_from_peer(&self, peer: &str, required: &[String]) -> Result<bool, WriteError> {
        if !self.is_fenced() {
            return Ok(true);
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
            self.lift(peer)?;
            Ok(true)
        } else {
            tracing::info!(
                peer,
                waiting = %waiting.join(", "),
                "recovered this node's own entries from a peer; waiting for more peers before writing"
            );
            Ok(false)
        }
    }

    /// Lifts the fence: the node has recovered its own entries (last from
    /// `peer`).
    pub fn lift(&self, peer: &str) -> Result<(), WriteError> {
        if !self.is_fenced() {
            return Ok(());
        }
        let conn = Connection::open_with_flags(
            &self.inner.database,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(storage)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(storage)?;
        conn.execute("DELETE FROM meta WHERE key = ?1", [META_RESTORED])
            .map_err(storage)?;
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
        Ok(())
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

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

/// Whether this node holds, of each of its own logs, at least as much as a
/// peer that has just streamed it everything it had: then nothing the node
/// signed before a restore is missing, and it may sign again. Returns the
/// first own log it still lacks entries of.
pub fn recovered_from(
    own: crate::identity::NodeId,
    ours: &std::collections::HashMap<crate::writer::LogKey, crate::writer::LogHead>,
    theirs: impl IntoIterator<Item = (crate::writer::LogKey, u64)>,
) -> Result<(), (crate::writer::LogKey, u64, u64)> {
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
    use crate::{
        identity::NodeId,
        log::{Audience, EntryHash},
        writer::LogHead,
    };

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
        assert!(!fence.recovered_from_peer("nam", &required).unwrap());
        assert!(fence.is_fenced());
        assert!(fence.recovered_from_peer("sec", &required).unwrap());
        assert!(!fence.is_fenced());
        assert_eq!(restored(&conn).unwrap(), None);
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
