//! `focal-node recover-branch`: after a fork of this node's key, write again
//! under the node's new key what the entries of its lost branch held.
//!
//! A proven fork cuts the forked log back to the entry before the fork on
//! every node (see `fork`), this one included: the entries this node signed
//! from the fork on are kept as evidence (`revoked_entries`), and the
//! records they touched were rebuilt without their changes. What people
//! typed is in those entries. Once the key is rotated (and the secretariat
//! has confirmed the hand-over), this command reads them, works out for each
//! record what it held on the lost branch (the record as it is now, with the
//! branch's changes merged in), and compares: a field that differs is
//! written again, a record that exists only on the branch is created again
//! (under a new id), a deletion is deleted again. Without `--confirm` it
//! only shows what it would write, for the operator's review; with it, the
//! writes go through the node's writer and are signed by the new key.
//! Creates carry a request id derived from the lost record's id, so running
//! it twice creates nothing twice.

use std::collections::BTreeMap;

use automerge::{Automerge, Change};
use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    doc,
    engine::writer::{NetworkContext, WriteError, WriteRequest, Writer},
    identity::NodeId,
    log::{Audience, LogEntry},
    records::{Visibility, parse_record_id},
    roster::{ROSTER_ID, Roster},
    store::datadir::{DataDir, DataDirError, OpenDataDir},
    store::documents::load_document,
};

/// Why the lost branch could not be recovered (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BranchError {
    /// The data directory cannot be opened (or a node runs on it).
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The node's key is the forked one.
    #[error(
        "this node's key {0} is the forked one: rotate it first (`focal-node key rotate`, then \
         the secretariat runs `focal admin key confirm …`), then recover the branch under the \
         new key"
    )]
    NotRotated(NodeId),
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] crate::store::ReadError),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

/// One write that recovers a record of the lost branch.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The record on the lost branch.
    pub id: String,
    /// What is written, for the operator.
    pub summary: Vec<String>,
    /// The write.
    pub request: WriteRequest,
}

/// What `recover-branch` found (and wrote, with `confirm`).
#[derive(Debug, Default)]
pub struct Report {
    /// The forks of this node's earlier keys: key, log, position.
    pub forks: Vec<(NodeId, Audience, u64)>,
    /// Entries of the lost branches read.
    pub entries: usize,
    /// The writes, in order.
    pub recoveries: Vec<Recovery>,
    /// Records that could not be worked out, with why.
    pub skipped: Vec<String>,
    /// With `confirm`: each write's result (the record id written, or why
    /// not).
    pub written: Vec<Result<String, String>>,
}

/// Works out (and with `confirm` writes) what the lost branches of this
/// node's earlier keys held. The node must be stopped.
pub async fn recover_branch(dir: &DataDir, confirm: bool) -> Result<Report, BranchError> {
    let node = dir.open()?;
    let current = node.key.id();
    let mut report = plan(&node)?;
    if report.forks.iter().any(|(origin, _, _)| *origin == current) {
        return Err(BranchError::NotRotated(current));
    }
    if !confirm || report.recoveries.is_empty() {
        return Ok(report);
    }
    let OpenDataDir {
        key,
        store,
        config,
        member,
        lock,
        ..
    } = node;
    let genesis = config
        .network
        .secretariat_key
        .as_deref()
        .and_then(NodeId::from_hex);
    let net =
        NetworkContext::new(genesis, config.network.id.clone()).with_limits(config.limits.clone());
    let (writer, thread) = Writer::spawn(store, key.signing_key().clone(), member, net)?;
    for recovery in &report.recoveries {
        let result = writer.write(recovery.request.clone()).await;
        report
            .written
            .push(result.map(|row| row.id).map_err(|e| e.to_string()));
    }
    writer.shutdown().await;
    let _ = thread.join();
    drop(lock);
    Ok(report)
}

/// Reads the lost branches and works out the writes.
fn plan(node: &OpenDataDir) -> Result<Report, BranchError> {
    let conn = node.store.conn();
    let roster = match load_document(conn, ROSTER_ID)? {
        Some((document, _)) => Roster::from_json(
            &doc::to_json(&document),
            node.config
                .network
                .secretariat_key
                .as_deref()
                .and_then(NodeId::from_hex),
            node.config.network.id.as_deref(),
        ),
        None => Roster::default(),
    };
    let mut report = Report::default();
    for fork in crate::engine::ingest::load_forks(conn)? {
        let ours = fork.origin == node.key.id()
            || roster.member_of(&fork.origin).as_ref() == Some(&node.member);
        if ours {
            report.forks.push((fork.origin, fork.audience, fork.seq));
        }
    }
    // Per record, the changes of the lost branches, in log order: this
    // node's own branch (cut from its log), the other branches it fetched
    // from its peers, and the proof's two entries.
    let mut branch: BTreeMap<(u64, [u8; 32]), Vec<u8>> = BTreeMap::new();
    for fork in crate::engine::ingest::load_forks(conn)? {
        if !report
            .forks
            .contains(&(fork.origin, fork.audience, fork.seq))
        {
            continue;
        }
        let mut stmt = conn
            .prepare(
                "SELECT entry FROM revoked_entries WHERE origin = ?1 AND audience = ?2 AND seq >= ?3
                 UNION ALL
                 SELECT entry FROM fork_entries WHERE origin = ?1 AND audience = ?2 AND seq >= ?3
                 UNION ALL
                 SELECT first FROM forks WHERE origin = ?1 AND audience = ?2
                 UNION ALL
                 SELECT second FROM forks WHERE origin = ?1 AND audience = ?2",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(
                params![&fork.origin.0[..], fork.audience.code(), fork.seq as i64],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)?;
        for bytes in rows {
            let seq = LogEntry::decode(&bytes)
                .map_err(|e| WriteError::Storage(format!("a kept entry does not decode: {e}")))?
                .body
                .seq;
            branch.insert((seq, LogEntry::hash_of(&bytes).0), bytes);
        }
    }
    let mut lost: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for bytes in branch.into_values() {
        let entry = LogEntry::decode(&bytes)
            .map_err(|e| WriteError::Storage(format!("a kept entry does not decode: {e}")))?;
        report.entries += 1;
        let changes = lost.entry(entry.body.doc_id.clone()).or_default();
        for raw in entry.body.changes {
            match Change::from_bytes(raw) {
                Ok(change) => changes.push(change),
                Err(e) => report.skipped.push(format!(
                    "{}: a change does not load ({e})",
                    entry.body.doc_id
                )),
            }
        }
    }
    for (id, changes) in lost {
        match recovery(conn, &id, changes) {
            Ok(Some(r)) => report.recoveries.push(r),
            Ok(None) => {}
            Err(why) => report.skipped.push(format!("{id}: {why}")),
        }
    }
    Ok(report)
}

/// The write that brings record `id` back to what the lost branch held, if
/// anything differs.
fn recovery(
    conn: &rusqlite::Connection,
    id: &str,
    changes: Vec<Change>,
) -> Result<Option<Recovery>, String> {
    let Some((_, kind, _)) = parse_record_id(id) else {
        return Err("not a record (a record's companion document is recovered with it)".into());
    };
    let now = load_document(conn, id)
        .map_err(|e| e.to_string())?
        .map(|(document, _)| document);
    let mut branch = now.clone().unwrap_or_else(Automerge::new);
    branch
        .apply_changes(changes)
        .map_err(|e| format!("the branch's changes do not apply ({e})"))?;
    let after = doc::to_json(&branch);
    let before = now
        .as_ref()
        .map(doc::to_json)
        .filter(|json| !json.is_empty() && json.get("deleted") != Some(&Value::Bool(true)));
    let deleted = after.get("deleted") == Some(&Value::Bool(true));
    let fields = |json: &Map<String, Value>| -> Map<String, Value> {
        json.iter()
            .filter(|(k, _)| !focal_proto::ENVELOPE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let Some(before) = before else {
        if deleted || after.is_empty() {
            return Ok(None);
        }
        let visibility = after
            .get("visibility")
            .and_then(Value::as_str)
            .and_then(Visibility::parse)
            .ok_or("the branch's record has no visibility")?;
        let fields = fields(&after);
        let summary = vec![format!(
            "created again (under a new id): {}",
            Value::Object(fields.clone())
        )];
        let request_id = format!(
            "recover-branch-{}",
            &hex::encode(Sha256::digest(id.as_bytes()))[..32]
        );
        // Written again already (create requests are remembered 7 days).
        let done: Option<String> = conn
            .query_row(
                "SELECT record_id FROM create_requests WHERE request_id = ?1",
                [&request_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        if let Some(record) = done {
            return Err(format!("already written again as {record}"));
        }
        return Ok(Some(Recovery {
            id: id.to_owned(),
            summary,
            request: WriteRequest::Create {
                kind,
                fields,
                visibility,
                language: String::new(),
                request_id: Some(request_id),
            },
        }));
    };
    if deleted {
        return Ok(Some(Recovery {
            id: id.to_owned(),
            summary: vec!["deleted again".to_owned()],
            request: WriteRequest::Delete { id: id.to_owned() },
        }));
    }
    let (old, new) = (fields(&before), fields(&after));
    let mut patch = Map::new();
    let mut summary = Vec::new();
    for (key, value) in &new {
        if old.get(key) != Some(value) {
            summary.push(format!(
                "{key}: {} -> {value}",
                old.get(key).map_or("(none)".to_owned(), Value::to_string)
            ));
            patch.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &old {
        if !new.contains_key(key) {
            summary.push(format!("{key}: {value} -> (removed)"));
            patch.insert(key.clone(), Value::Null);
        }
    }
    if patch.is_empty() {
        return Ok(None);
    }
    Ok(Some(Recovery {
        id: id.to_owned(),
        summary,
        request: WriteRequest::Update {
            id: id.to_owned(),
            patch,
            language: String::new(),
        },
    }))
}

/// The log an audience's entries are in, for messages.
pub fn describe(origin: &NodeId, audience: Audience, seq: u64) -> String {
    format!(
        "key {origin}: {} log forked at entry {seq}",
        audience.as_str()
    )
}
