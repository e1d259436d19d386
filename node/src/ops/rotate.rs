//! `focal-node key rotate`: replace this node's key (the node is stopped).
//!
//! 1. The next key is written to `node.key.new` (0600, never overwritten).
//! 2. The old key signs the hand-over: the new key and the last entry of each
//!    of its logs (number and hash). For the secretariat's anchor key, the
//!    new key publishes the hand-over as its first roster change (the only
//!    roster change a key outside the anchor chain may make), so every node
//!    can follow the anchor from the genesis key; a member's hand-over is
//!    confirmed by the secretariat (`focal admin key confirm`).
//! 3. The database records the new key (the point of no return), then the
//!    old key file is retired and the new one takes its place
//!    ([`DataDir::finish_rotation`] completes this after a crash).
//!
//! The node's logs under the old key end there; the new key's logs start
//! over at sequence number one. Documents keep their whole history: the old
//! key's changes stay, bound to the old key, and the new key's changes
//! continue them.

use crate::{
    engine::writer::{NetworkContext, WriteError, Writer},
    handover::Handover,
    identity::{KeyError, NodeId, NodeKey},
    log::{Audience, EntryHash},
    member::SECRETARIAT_CODE,
    roster::handover_patch,
    store::datadir::{DataDir, DataDirError, META_NODE_KEY, OpenDataDir},
};

/// Meta key under which a member keeps its last hand-over (to print again).
pub const META_HANDOVER: &str = "handover";

/// The last hand-over this node's key signed, as hex, if it was ever
/// rotated (`focal-node key handover` prints it again).
pub fn stored_handover(conn: &rusqlite::Connection) -> Result<Option<String>, WriteError> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [META_HANDOVER],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| WriteError::Storage(e.to_string()))
}

/// Why a rotation could not be done (nothing changed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The data directory cannot be opened (or a node runs on it).
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The node is not in a network: there is no one to hand over to.
    #[error(
        "this node is not in a network yet (no network.id in focal.toml): its key can simply \
         be replaced by a new `focal-node init`"
    )]
    NotInNetwork,
    /// The secretariat's key is not the current anchor.
    #[error("this secretariat key {0} is not the network's current anchor in the roster")]
    NotAnchor(NodeId),
    /// A key could not be written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Storing failed.
    #[error("the rotation was not stored: {0}")]
    Write(#[from] WriteError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The member.
    pub member: String,
    /// The signed hand-over.
    pub handover: Handover,
    /// Whether it was the secretariat's anchor key (already in the roster).
    pub anchor: bool,
    /// Where the old key file went.
    pub retired: std::path::PathBuf,
}

/// The last entry of one of `key`'s logs: its number and hash (0 and zeros
/// for an empty log).
fn last_entry(
    node: &OpenDataDir,
    key: NodeId,
    audience: Audience,
) -> Result<(u64, EntryHash), RotateError> {
    use rusqlite::OptionalExtension;
    let last: Option<(i64, Vec<u8>)> = node
        .store
        .conn()
        .query_row(
            "SELECT seq, hash FROM log_entries WHERE origin = ?1 AND audience = ?2
             ORDER BY seq DESC LIMIT 1",
            rusqlite::params![&key.0[..], audience.code()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| WriteError::Storage(e.to_string()))?;
    Ok(match last {
        Some((seq, hash)) => (
            seq as u64,
            EntryHash(
                hash.try_into()
                    .map_err(|_| WriteError::Storage("a stored entry hash is malformed".into()))?,
            ),
        ),
        None => (0, EntryHash::default()),
    })
}

/// Rotates the key of the node in `dir`.
pub async fn rotate(dir: &DataDir) -> Result<Rotated, RotateError> {
    let node = dir.open()?;
    let network_id = node
        .config
        .network
        .id
        .clone()
        .ok_or(RotateError::NotInNetwork)?;
    let genesis = node
        .config
        .network
        .secretariat_key
        .as_deref()
        .and_then(NodeId::from_hex);
    let old = node.key.id();
    let member = node.member.to_string();
    let next = NodeKey::generate()?;
    next.create_file(&dir.next_key_path())?;
    // Durable before the old key signs anything that names it.
    dir.sync_dir()?;
    let network = last_entry(&node, old, Audience::Network)?;
    let secretariat = last_entry(&node, old, Audience::Secretariat)?;
    // The old key's logs end where they are now, pinned by hash.
    let handover = Handover::sign(
        node.key.signing_key(),
        &network_id,
        &member,
        next.id(),
        network,
        secretariat,
    );
    let OpenDataDir {
        key,
        store,
        lock,
        config,
        ..
    } = node;
    let anchor = member == SECRETARIAT_CODE;
    let (store, handover) = if anchor {
        let net = NetworkContext::new(genesis, Some(network_id.clone()))
            .with_limits(config.limits.clone());
        let roster = net.roster.clone();
        // The new key publishes the hand-over as its first roster change:
        // the old key signs nothing more.
        let (writer, thread) = Writer::spawn(
            store,
            next.signing_key().clone(),
            member.parse().map_err(|_| RotateError::NotAnchor(old))?,
            net,
        )?;
        let current = roster.read().ok().and_then(|r| r.anchor());
        if current != Some(old) {
            writer.shutdown().await;
            let _ = thread.join();
            let _ = std::fs::remove_file(dir.next_key_path());
            return Err(RotateError::NotAnchor(old));
        }
        let written = writer.change_roster(handover_patch(&handover)).await;
        writer.shutdown().await;
        let store = thread
            .join()
            .map_err(|_| WriteError::Storage("the writer thread panicked".into()))?;
        if let Err(e) = written {
            let _ = std::fs::remove_file(dir.next_key_path());
            return Err(e.into());
        }
        (store, handover)
    } else {
        (store, handover)
    };
    {
        let tx = store
            .conn()
            .unchecked_transaction()
            .map_err(|e| WriteError::Storage(e.to_string()))?;
        store.set_meta(META_HANDOVER, &handover.to_hex())?;
        store.set_meta(META_NODE_KEY, &next.id().to_string())?;
        tx.commit()
            .map_err(|e| WriteError::Storage(e.to_string()))?;
    }
    let key = dir.finish_rotation(&store, key)?;
    debug_assert_eq!(key.id(), next.id());
    store.close()?;
    drop(lock);
    Ok(Rotated {
        member,
        handover,
        anchor,
        retired: dir.retired_key_path(&old),
    })
}
