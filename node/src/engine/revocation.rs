//! Cut-offs: what a rotated or revoked key signed beyond its last valid
//! entry is taken out of everything this node holds.
//!
//! When a roster change sets or lowers a key's cut-off, entries of that key
//! beyond it that this node already holds are moved out of `log_entries`
//! into `revoked_entries` (evidence; never relayed again), every change they
//! carried is recorded in `dropped_changes` with the reason, and each
//! document they touched is rebuilt from the entries that remain, without
//! the dropped changes and without any change that depends on one (those
//! are recorded too). A document left with no change is removed. Changes that
//! arrive later and build on a dropped change are kept out the same way
//! ([`exclude_dependents`]), so every node reaches the same state whatever
//! order it learned things in.

use std::collections::HashSet;

use automerge::{Automerge, Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::now_rfc3339;
use crate::{
    doc,
    engine::ingest::IngestError,
    engine::writer::{WriteError, project},
    identity::NodeId,
    log::{Audience, LogEntry},
    roster::ROSTER_ID,
};

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

/// One change taken out of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The record.
    pub doc_id: String,
    /// The entry that carried it.
    pub origin: NodeId,
    /// Its log.
    pub audience: Audience,
    /// Its position.
    pub seq: u64,
    /// The change.
    pub hash: ChangeHash,
    /// Why.
    pub reason: String,
}

fn record(conn: &Connection, d: &Dropped) -> Result<(), WriteError> {
    conn.execute(
        "INSERT INTO dropped_changes (doc_id, hash, origin, audience, seq, reason, dropped_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        params![
            d.doc_id,
            &d.hash.0[..],
            &d.origin.0[..],
            d.audience.code(),
            d.seq as i64,
            d.reason,
            now_rfc3339()
        ],
    )
    .map_err(storage)?;
    Ok(())
}

/// The changes of a document that were dropped.
fn dropped_of(conn: &Connection, doc_id: &str) -> Result<HashSet<ChangeHash>, WriteError> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM dropped_changes WHERE doc_id = ?1")
        .map_err(storage)?;
    let rows = stmt
        .query_map([doc_id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(storage)?;
    let mut set = HashSet::new();
    for row in rows {
        if let Ok(hash) = <[u8; 32]>::try_from(row.map_err(storage)?) {
            set.insert(ChangeHash(hash));
        }
    }
    Ok(set)
}

/// Whether any change of `doc_id` was dropped.
pub(crate) fn has_drops(conn: &Connection, doc_id: &str) -> Result<bool, WriteError> {
    let any: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM dropped_changes WHERE doc_id = ?1 LIMIT 1")
        .and_then(|mut s| s.query_row([doc_id], |r| r.get(0)).optional())
        .map_err(storage)?;
    Ok(any.is_some())
}

/// The actor bindings of a document built from every entry held for it
/// (dropped changes included): an actor started by a change that was
/// dropped stays bound to the key that started it, so its later changes
/// are judged the same on every node.
pub(crate) fn bindings_from_log(
    conn: &Connection,
    doc_id: &str,
) -> Result<crate::log::ActorBindings, WriteError> {
    let mut bindings = crate::log::ActorBindings::default();
    let mut stmt = conn
        .prepare_cached("SELECT entry FROM log_entries WHERE doc_id = ?1 ORDER BY id")
        .map_err(storage)?;
    let rows = stmt
        .query_map([doc_id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(storage)?;
    for bytes in rows {
        let Ok(entry) = LogEntry::decode(&bytes.map_err(storage)?) else {
            continue;
        };
        let changes: Vec<Change> = entry
            .body
            .changes
            .iter()
            .filter_map(|raw| Change::from_bytes(raw.clone()).ok())
            .collect();
        // Stored entries were checked when they came; this only records.
        let _ = bindings.check(&entry, &changes);
    }
    Ok(bindings)
}

/// Records the changes of an entry refused because it lies beyond its key's
/// cut-off (its signature verified), so that changes building on them are
/// kept out here exactly as on a node that held and then cut it.
pub(crate) fn record_refused(
    conn: &Connection,
    entry: &LogEntry,
    why: &str,
) -> Result<(), WriteError> {
    for raw in &entry.body.changes {
        let Ok(change) = Change::from_bytes(raw.clone()) else {
            continue;
        };
        record(conn, &Dropped::of(entry, change.hash(), why))?;
    }
    Ok(())
}

impl Dropped {
    /// A change of `entry`, dropped for `reason`.
    fn of(entry: &LogEntry, hash: ChangeHash, reason: &str) -> Self {
        Self {
            doc_id: entry.body.doc_id.clone(),
            origin: entry.body.origin,
            audience: entry.body.audience,
            seq: entry.body.seq,
            hash,
            reason: reason.to_owned(),
        }
    }
}

const DEPENDS: &str = "depends on a change dropped by a revocation";

/// Splits a received entry's changes into those to apply and those that
/// build on a dropped change (recorded, and returned as the second value).
pub(crate) fn exclude_dependents(
    conn: &Connection,
    entry: &LogEntry,
    changes: Vec<Change>,
    has_drops: bool,
) -> Result<(Vec<Change>, HashSet<ChangeHash>), IngestError> {
    if !has_drops {
        return Ok((changes, HashSet::new()));
    }
    let mut dropped = dropped_of(conn, &entry.body.doc_id)?;
    let mut keep = Vec::with_capacity(changes.len());
    let mut excluded = HashSet::new();
    for change in changes {
        if dropped.contains(&change.hash()) {
            // Dropped already (a stale relay offers it again).
            excluded.insert(change.hash());
        } else if change.deps().iter().any(|d| dropped.contains(d)) {
            let hash = change.hash();
            record(conn, &Dropped::of(entry, hash, DEPENDS))?;
            dropped.insert(hash);
            excluded.insert(hash);
        } else {
            keep.push(change);
        }
    }
    Ok((keep, excluded))
}

/// Takes the entries of `origin`'s `audience` log beyond `last` out of the
/// log. Returns the changes they carried and the documents they touched,
/// which the caller rebuilds (once, after all its cuts).
pub fn cut(
    conn: &Connection,
    origin: NodeId,
    audience: Audience,
    last: u64,
    why: &str,
) -> Result<(Vec<Dropped>, Vec<String>), WriteError> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, doc_id, entry FROM log_entries
             WHERE origin = ?1 AND audience = ?2 AND seq > ?3 ORDER BY seq",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![&origin.0[..], audience.code(), last as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)?;
    drop(stmt);
    let mut dropped = Vec::new();
    let mut docs: Vec<String> = Vec::new();
    let reason = format!(
        "{why}: beyond entry {last} of key {origin} ({})",
        audience.as_str()
    );
    for (seq, doc_id, bytes) in rows {
        let entry = LogEntry::decode(&bytes)
            .map_err(|e| WriteError::Storage(format!("a stored entry does not decode: {e}")))?;
        for raw in &entry.body.changes {
            let change = Change::from_bytes(raw.clone())
                .map_err(|e| WriteError::Storage(format!("a stored change does not load: {e}")))?;
            let d = Dropped {
                doc_id: doc_id.clone(),
                origin,
                audience,
                seq: seq as u64,
                hash: change.hash(),
                reason: reason.clone(),
            };
            record(conn, &d)?;
            dropped.push(d);
        }
        conn.execute(
            "INSERT INTO revoked_entries (origin, audience, seq, doc_id, entry, dropped_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![
                &origin.0[..],
                audience.code(),
                seq,
                doc_id,
                bytes,
                now_rfc3339()
            ],
        )
        .map_err(storage)?;
        if !docs.contains(&doc_id) {
            docs.push(doc_id);
        }
    }
    conn.execute(
        "DELETE FROM log_entries WHERE origin = ?1 AND audience = ?2 AND seq > ?3",
        params![&origin.0[..], audience.code(), last as i64],
    )
    .map_err(storage)?;
    Ok((dropped, docs))
}

/// Rebuilds a document from the entries held for it, leaving out dropped
/// changes and everything that depends on them. Returns the dependents it
/// newly dropped.
pub fn rebuild(conn: &Connection, doc_id: &str) -> Result<Vec<Dropped>, WriteError> {
    let mut dropped = dropped_of(conn, doc_id)?;
    let mut newly = Vec::new();
    let mut stmt = conn
        .prepare("SELECT entry FROM log_entries WHERE doc_id = ?1 ORDER BY id")
        .map_err(storage)?;
    let entries = stmt
        .query_map([doc_id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)?;
    drop(stmt);
    let mut all = Vec::new();
    for bytes in entries {
        let entry = LogEntry::decode(&bytes)
            .map_err(|e| WriteError::Storage(format!("a stored entry does not decode: {e}")))?;
        for raw in &entry.body.changes {
            let change = Change::from_bytes(raw.clone())
                .map_err(|e| WriteError::Storage(format!("a stored change does not load: {e}")))?;
            all.push((
                entry.body.origin,
                entry.body.audience,
                entry.body.seq,
                change,
            ));
        }
    }
    // Dependents of dependents, whatever order they were stored in.
    loop {
        let mut grew = false;
        for (origin, audience, seq, change) in &all {
            let hash = change.hash();
            if !dropped.contains(&hash) && change.deps().iter().any(|d| dropped.contains(d)) {
                let d = Dropped {
                    doc_id: doc_id.to_owned(),
                    origin: *origin,
                    audience: *audience,
                    seq: *seq,
                    hash,
                    reason: DEPENDS.into(),
                };
                record(conn, &d)?;
                newly.push(d);
                dropped.insert(hash);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let keep: Vec<Change> = all
        .into_iter()
        .map(|(_, _, _, change)| change)
        .filter(|change| !dropped.contains(&change.hash()))
        .collect();
    let mut document = Automerge::new();
    document
        .apply_changes(keep)
        .map_err(|e| WriteError::Storage(format!("{doc_id} does not rebuild: {e}")))?;
    conn.execute("DELETE FROM doc_changes WHERE doc_id = ?1", [doc_id])
        .map_err(storage)?;
    if document.get_heads().is_empty() {
        conn.execute("DELETE FROM documents WHERE doc_id = ?1", [doc_id])
            .map_err(storage)?;
        conn.execute("DELETE FROM records WHERE id = ?1", [doc_id])
            .map_err(storage)?;
        return Ok(newly);
    }
    conn.execute(
        "INSERT INTO documents (doc_id, snapshot, pending) VALUES (?1, ?2, 0)
         ON CONFLICT (doc_id) DO UPDATE SET snapshot = excluded.snapshot, pending = 0",
        params![doc_id, document.save()],
    )
    .map_err(storage)?;
    if doc_id != ROSTER_ID {
        let json = doc::to_json(&document);
        project(conn, doc_id, &json, &document.get_heads())?;
    }
    Ok(newly)
}
