//! The status report: what the running node writes to `DATA/status.json`
//! every second, and what `focal-node status` (and the admin `GetStatus`
//! call) read back. One type for both sides, so the writer and the readers
//! cannot drift apart.

use std::{
    io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    net::sync::PeerStatus,
    store::query::{DroppedChange, RefusalCount, Rejection},
};

/// The file, in the data directory.
pub const STATUS_FILE: &str = "status.json";

/// A running node's status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    /// The member whose node it is.
    pub member: String,
    /// Its key (hex).
    pub node_key: String,
    /// The network it is in, if any.
    pub network: Option<String>,
    /// When the report was written (RFC 3339).
    pub updated: String,
    /// Whether local writes are refused (restored, or found rolled back).
    pub writes_fenced: bool,
    /// Why, if they are.
    pub fence_reason: Option<String>,
    /// Whether writes wait for a peer to confirm this node's heads after
    /// the start.
    pub start_check_pending: bool,
    /// The head of every log held.
    pub logs: Vec<LogStatus>,
    /// Every peer, by member then key.
    pub peers: Vec<PeerStatus>,
    /// Keys quarantined for equivocation without a proof (hex).
    pub quarantined: Vec<String>,
    /// Forks proven.
    pub forks: Vec<ForkStatus>,
    /// The most recent refusals of received entries, newest first.
    pub rejections: Vec<Rejection>,
    /// Refusals counted by peer and reason.
    pub refusal_counts: Vec<RefusalCount>,
    /// Changes dropped by key cut-offs, in all.
    pub dropped_total: u64,
    /// The most recent of them, newest first.
    pub dropped: Vec<DroppedChange>,
}

/// The head of one log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogStatus {
    /// The key that signs it (hex).
    pub origin: String,
    /// Its audience.
    pub audience: String,
    /// The last entry held.
    pub seq: u64,
}

/// A proven fork.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForkStatus {
    /// The key that signed both entries (hex).
    pub origin: String,
    /// The log.
    pub audience: String,
    /// Where it forked.
    pub seq: u64,
    /// The entry its log stands up to on every node.
    pub stands_up_to: u64,
    /// Whether the key is this node's.
    pub own: bool,
}

/// Why the report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No report: the node is not running (or has never run).
    #[error("no status at {}: is the node running? (`focal-node run --data {}`)", .path.display(), .dir.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The data directory.
        dir: PathBuf,
    },
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a status report (written by another version?).
    #[error("{} is not a status report of this focal-node: {source}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

impl StatusReport {
    /// Writes the report into the data directory `root`, atomically (a
    /// reader never sees half of it).
    pub fn write(&self, root: &Path) -> io::Result<()> {
        let tmp = root.join(format!("{STATUS_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec(self).map_err(io::Error::other)?)?;
        std::fs::rename(&tmp, root.join(STATUS_FILE))
    }

    /// Reads the report the node running on data directory `root` wrote.
    pub fn read(root: &Path) -> Result<Self, StatusError> {
        let path = root.join(STATUS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StatusError::Missing {
                    path,
                    dir: root.to_owned(),
                });
            }
            Err(source) => return Err(StatusError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| StatusError::Malformed { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            StatusReport::read(dir.path()),
            Err(StatusError::Missing { .. })
        ));
        let report = StatusReport {
            member: "ESP".into(),
            node_key: "ab".repeat(32),
            network: Some("wps-test".into()),
            updated: "2026-11-30T22:00:00Z".into(),
            writes_fenced: false,
            fence_reason: None,
            start_check_pending: true,
            logs: vec![LogStatus {
                origin: "ab".repeat(32),
                audience: "network".into(),
                seq: 7,
            }],
            peers: vec![PeerStatus {
                member: "FRA".into(),
                connected: true,
                accepted: 3,
                ..PeerStatus::default()
            }],
            quarantined: vec![],
            forks: vec![ForkStatus {
                origin: "cd".repeat(32),
                audience: "secretariat".into(),
                seq: 4,
                stands_up_to: 3,
                own: false,
            }],
            rejections: vec![],
            refusal_counts: vec![],
            dropped_total: 0,
            dropped: vec![],
        };
        report.write(dir.path()).unwrap();
        let back = StatusReport::read(dir.path()).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&report).unwrap()
        );
        assert_eq!(back.peers[0].member, "FRA");
        std::fs::write(dir.path().join(STATUS_FILE), "{\"member\": 1}").unwrap();
        let err = StatusReport::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is not a status report"), "{err}");
    }
}
