//! `focal-node verify`: re-check the whole store offline.
//!
//! Three passes, each reporting the first problem precisely:
//! 1. every log: entries decode, their stored columns agree with their
//!    content, signatures verify, changes are intact and authored by the
//!    origin, sequence numbers run 1, 2, 3 … and each `prev` is the hash of
//!    the entry before it;
//! 2. every document: replaying its changes from the log rebuilds exactly the
//!    stored document (snapshot plus pending changes): same heads, same
//!    content;
//! 3. every projection row equals the projection of the rebuilt document.
//!
//! Changes listed in `dropped_changes` (taken out by a key's cut-off, see
//! `revocation`) are left out of the replay, as they are out of the document.

use std::collections::BTreeSet;

use automerge::Automerge;
use rusqlite::Connection;

use crate::{
    doc,
    identity::NodeId,
    log::{ActorBindings, Audience, EntryHash, LogEntry},
    store::documents::{load_document, row_from_json},
};

/// What a clean verification covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Logs checked (origin × audience).
    pub logs: u64,
    /// Entries checked.
    pub entries: u64,
    /// Documents rebuilt.
    pub documents: u64,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

fn fail<T>(message: String) -> Result<T, VerifyError> {
    Err(VerifyError(message))
}

fn sql(e: rusqlite::Error) -> VerifyError {
    VerifyError(format!("cannot read the database: {e}"))
}

/// [`verify`] inside one read transaction: a consistent snapshot even while
/// a node writes to the database.
pub fn verify_snapshot(
    conn: &Connection,
    progress: impl FnMut(&str, u64, u64),
) -> Result<VerifyReport, VerifyError> {
    conn.execute_batch("BEGIN").map_err(sql)?;
    let result = verify(conn, progress);
    let _ = conn.execute_batch("ROLLBACK");
    result
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entries in {} logs verified, {} records rebuilt from the log and matching",
            self.entries, self.logs, self.documents
        )
    }
}

/// Verifies everything; `progress` is called with (stage, done, total).
pub fn verify(
    conn: &Connection,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::default();
    let total: i64 = conn
        .query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
        .map_err(sql)?;
    let mut stmt = conn
        .prepare(
            "SELECT origin, audience, seq, hash, doc_id, entry FROM log_entries
             ORDER BY origin, audience, seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut current: Option<(NodeId, Audience, u64, EntryHash)> = None;
    while let Some(row) = rows.next().map_err(sql)? {
        let origin: Vec<u8> = row.get(0).map_err(sql)?;
        let audience: u8 = row.get(1).map_err(sql)?;
        let seq: i64 = row.get(2).map_err(sql)?;
        let hash: Vec<u8> = row.get(3).map_err(sql)?;
        let doc_id: String = row.get(4).map_err(sql)?;
        let bytes: Vec<u8> = row.get(5).map_err(sql)?;
        let label = format!("log entry {seq} of key {}", hex::encode(&origin));
        let entry = match LogEntry::decode(&bytes) {
            Ok(entry) => entry,
            Err(e) => return fail(format!("{label}: {e}")),
        };
        let body = &entry.body;
        let entry_hash = LogEntry::hash_of(&bytes);
        if let Err(e) = entry.verify(&crate::limits::Limits::for_stored()) {
            return fail(format!("{label} ({}): {e}", body.audience.as_str()));
        }
        if body.origin.0[..] != origin[..]
            || body.audience.code() != audience
            || body.seq as i64 != seq
            || body.doc_id != doc_id
            || entry_hash.0[..] != hash[..]
        {
            return fail(format!(
                "{label}: the stored columns (origin, audience, seq, record, hash) do not match \
                 the signed entry"
            ));
        }
        let expected = match current {
            Some((o, a, s, h)) if o == body.origin && a == body.audience => Some((s + 1, h)),
            _ => {
                report.logs += 1;
                None
            }
        };
        let (want_seq, want_prev) = expected.unwrap_or((1, EntryHash::default()));
        if body.seq != want_seq {
            return fail(format!(
                "log of key {} ({}): entry {} follows entry {}: sequence gap",
                body.origin,
                body.audience.as_str(),
                body.seq,
                want_seq - 1
            ));
        }
        if body.prev != want_prev {
            return fail(format!(
                "log of key {} ({}): entry {} names previous hash {}, but entry {} hashes to {}: \
                 the hash chain is broken",
                body.origin,
                body.audience.as_str(),
                body.seq,
                body.prev,
                body.seq - 1,
                want_prev
            ));
        }
        current = Some((body.origin, body.audience, body.seq, entry_hash));
        report.entries += 1;
        if report.entries % 1000 == 0 {
            progress("logs", report.entries, total as u64);
        }
    }
    progress("logs", report.entries, total as u64);

    let mut ids = BTreeSet::new();
    for table in [
        "SELECT DISTINCT doc_id FROM log_entries",
        "SELECT doc_id FROM documents",
        "SELECT id FROM records",
    ] {
        let mut stmt = conn.prepare(table).map_err(sql)?;
        for id in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(sql)? {
            ids.insert(id.map_err(sql)?);
        }
    }
    let count = ids.len() as u64;
    for id in ids {
        verify_document(conn, &id)?;
        report.documents += 1;
        if report.documents % 100 == 0 {
            progress("documents", report.documents, count);
        }
    }
    progress("documents", report.documents, count);
    Ok(report)
}

fn verify_document(conn: &Connection, id: &str) -> Result<(), VerifyError> {
    let mut stmt = conn
        .prepare_cached("SELECT entry FROM log_entries WHERE doc_id = ?1 ORDER BY id")
        .map_err(sql)?;
    let mut changes = Vec::new();
    let mut bindings = ActorBindings::default();
    for bytes in stmt
        .query_map([id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql)?
    {
        let entry = LogEntry::decode(&bytes.map_err(sql)?)
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        // Pass 1 checked every signature and change; only decode here.
        let decoded = entry
            .body
            .changes
            .iter()
            .map(|raw| automerge::Change::from_bytes(raw.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        bindings
            .check(&entry, &decoded)
            .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
        changes.extend(decoded);
    }
    // Changes a key cut-off dropped (and their dependents) are not part of
    // the document: the replay leaves them out too.
    let dropped: std::collections::HashSet<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM dropped_changes WHERE doc_id = ?1")
        .and_then(|mut s| {
            s.query_map([id], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(sql)?;
    if !dropped.is_empty() {
        changes.retain(|c| !dropped.contains(&c.hash().0[..]));
        if changes.is_empty() {
            let rows: i64 = conn
                .query_row(
                    "SELECT (SELECT count(*) FROM documents WHERE doc_id = ?1)
                          + (SELECT count(*) FROM records WHERE id = ?1)",
                    [id],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if rows > 0 {
                return fail(format!(
                    "record {id}: every change of it was dropped by a key cut-off, but it is \
                     still stored"
                ));
            }
            return Ok(());
        }
    }
    if changes.is_empty() {
        return fail(format!(
            "record {id} is stored, but no log entry carries any of its changes"
        ));
    }
    let mut rebuilt = Automerge::new();
    rebuilt
        .apply_changes(changes)
        .map_err(|e| VerifyError(format!("record {id}: replaying the log fails: {e}")))?;
    let Some((stored, _)) =
        load_document(conn, id).map_err(|e| VerifyError(format!("record {id}: {e}")))?
    else {
        return fail(format!(
            "record {id} has log entries but no stored document"
        ));
    };
    let mut want: Vec<String> = rebuilt
        .get_heads()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut have: Vec<String> = stored.get_heads().iter().map(ToString::to_string).collect();
    want.sort();
    have.sort();
    if want != have {
        return fail(format!(
            "record {id}: the stored document's heads [{}] differ from the log replay's [{}]",
            have.join(", "),
            want.join(", ")
        ));
    }
    let json = doc::to_json(&rebuilt);
    if json != doc::to_json(&stored) {
        return fail(format!(
            "record {id}: the stored document's content differs from the log replay"
        ));
    }
    if id == crate::roster::ROSTER_ID {
        // The roster has no projection row.
        return Ok(());
    }
    let expected = row_from_json(id, &json, &rebuilt.get_heads())
        .map_err(|e| VerifyError(format!("record {id}: {e}")))?;
    let projected = conn
        .query_row(
            "SELECT type, owner, visibility, deleted, created, updated, title, heads, json
             FROM records WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            },
        )
        .map_err(|e| VerifyError(format!("record {id}: no projection row ({e})")))?;
    let wanted = (
        expected.kind.as_str().to_owned(),
        expected.owner.clone(),
        expected.visibility.as_str().to_owned(),
        expected.deleted,
        expected.created.clone(),
        expected.updated.clone(),
        expected.title.clone(),
        expected.heads.join(","),
        expected.json.clone(),
    );
    if projected != wanted {
        return fail(format!(
            "record {id}: the projection row differs from the document (projection updated \
             {}, document updated {})",
            projected.5, wanted.5
        ));
    }
    Ok(())
}
