//! `focal-node resume-writes`: the operator vouches for a data directory.
//!
//! A restored or rolled-back node signs nothing until it has its own later
//! entries back from its peers, and every node signs nothing after a start
//! until a peer has confirmed its heads (see `engine::recovery`). The
//! operator who knows that no peer holds anything newer of this node lifts
//! both: the restore fence goes (`meta.restored`), and the next start check
//! is passed once (`meta.start_confirmed`).
//!
//! The command may run beside the running node (it is how a node cut off
//! from every peer is let write): it leaves its request in the database's
//! `meta` table, the operators' channel to the node, like `token create`.
//! The running node's writer acts on it in its own jobs: its fence check
//! reads `meta.restored` again before each write, and a write that waits
//! for the start check asks the writer to take `meta.start_confirmed`.

use crate::{
    clock::now_rfc3339,
    engine::recovery::{META_RESTORED, META_START_CONFIRMED},
    identity::NodeId,
    member::MemberCode,
    store::{
        Store, StoreError,
        datadir::{DataDir, DataDirError},
    },
};

/// The node a `resume-writes` is about.
#[derive(Debug, Clone)]
pub struct Standing {
    /// The member whose node it is.
    pub member: MemberCode,
    /// Its key.
    pub key: NodeId,
    /// Why it is fenced (`meta.restored`), if it is: it was restored from a
    /// backup or found rolled back.
    pub restored: Option<String>,
}

/// Why the request could not be left.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The data directory cannot be opened.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads what `resume-writes` would lift.
pub fn standing(dir: &DataDir) -> Result<Standing, ResumeError> {
    let (store, key, member) = open(dir)?;
    let restored = store.meta(META_RESTORED)?;
    Ok(Standing {
        member,
        key,
        restored,
    })
}

/// The operator vouches for the data directory: the restore fence goes
/// and the next start check (or the running node's) is passed once.
/// Returns the standing before.
pub fn vouch(dir: &DataDir) -> Result<Standing, ResumeError> {
    let (store, key, member) = open(dir)?;
    let restored = store.meta(META_RESTORED)?;
    store.delete_meta(META_RESTORED)?;
    store.set_meta(
        META_START_CONFIRMED,
        &format!("by the operator at {}", now_rfc3339()),
    )?;
    Ok(Standing {
        member,
        key,
        restored,
    })
}

fn open(dir: &DataDir) -> Result<(Store, NodeId, MemberCode), ResumeError> {
    let (_, store, key, member) = dir.open_store()?;
    Ok((store, key, member))
}
