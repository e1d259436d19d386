//! The read path: queries over the projections, histories and exports, on
//! read-only connections that never wait for the writer (WAL readers).
//!
//! Reads see every write that has been acknowledged, because a write is
//! acknowledged only after its transaction has committed.
//!
//! Listings come in pages (`page.rs`): the record list by keyset on
//! `(updated, id)`, newest change first, on the indexes of migration 8;
//! the export by `(created, id)` in batches of ids.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use automerge::ReadDoc as _;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as SqlValue};

mod page;

pub use self::page::{
    Cursor, CursorError, KeyPart, MAX_CURSOR_BYTES, Paged, ROW_FRAMING, SCALAR_SIZE, SortKey,
    list_size, text_size,
};
use crate::{
    identity::NodeId,
    log::{EntryHash, LogEntry},
    records::{RecordType, Visibility},
    store::Store,
    store::{ReadError, RecordRow, documents::load_document},
};

/// A small pool of read-only connections.
#[derive(Clone)]
pub struct Reader {
    path: PathBuf,
    busy_timeout_ms: u64,
    idle: Arc<Mutex<Vec<Connection>>>,
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this type.
    pub kind: Option<RecordType>,
    /// Only records whose `themes` contain this.
    pub theme: Option<String>,
    /// Only records whose `status` is this.
    pub status: Option<String>,
    /// Case-insensitive substring of the search text.
    pub search: Option<String>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Include tombstones.
    pub include_deleted: bool,
}

impl ListFilter {
    /// The digest of these filters a cursor carries.
    fn digest(&self) -> String {
        Cursor::digest(&[
            self.kind.map_or("", RecordType::as_str),
            self.theme.as_deref().unwrap_or_default(),
            self.status.as_deref().unwrap_or_default(),
            self.search.as_deref().unwrap_or_default(),
            self.owner.as_deref().unwrap_or_default(),
            if self.include_deleted { "deleted" } else { "" },
        ])
    }
}

/// Which page of a listing.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// The cursor of the previous page (`next`), as the client sent it;
    /// empty for the first page.
    pub after: String,
    /// Deprecated offset paging: records to skip (not with `after`).
    pub offset: u32,
    /// Rows (0: the listing's default; capped at its maximum).
    pub limit: u32,
    /// Bytes of rows (their estimated size on the wire) a page holds at
    /// most, beyond its first row; 0: no bound.
    pub max_bytes: usize,
}

impl PageRequest {
    /// The bound on bytes (none: as many as a `usize` counts).
    pub fn bytes(&self) -> usize {
        if self.max_bytes == 0 {
            usize::MAX
        } else {
            self.max_bytes
        }
    }
}

/// Records listed per page when the request does not say.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// The most records per page.
pub const MAX_LIST_LIMIT: usize = 1_000;

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The records, newest change first, and whether more follow.
    pub records: Paged<RecordRow>,
    /// All matches, counted on the first page only.
    pub total: Option<u64>,
    /// The digest of the filters, for the cursor.
    filters: String,
}

impl ListPage {
    /// The cursor of the next page; `None` on the last.
    pub fn next(&self) -> Option<Cursor> {
        self.records
            .next_key()
            .map(|key| Cursor::new(LIST, &self.filters, key.clone()))
    }
}

/// The listing name record-list cursors carry.
const LIST: &str = "record list";

/// A received entry that was refused (the entry itself is not kept).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// The peer it came from (its key).
    pub peer: String,
    /// The entry's origin key.
    pub origin: String,
    /// Its sequence number.
    pub seq: u64,
    /// Why it was refused.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A change a key cut-off dropped from a record.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DroppedChange {
    /// The record.
    pub record: String,
    /// The change's hash (hex).
    pub change: String,
    /// The key that signed its entry (hex).
    pub origin: String,
    /// The entry's log.
    pub audience: String,
    /// The entry's sequence number.
    pub seq: u64,
    /// Why it was dropped.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

/// How many entries from one peer were refused for one reason.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefusalCount {
    /// The peer (its key, or `(direct)`).
    pub peer: String,
    /// The reason (the metrics label: `unknown_key`, `gap`, …).
    pub reason: String,
    /// How many.
    pub count: u64,
    /// The first and the last (RFC 3339).
    pub first_at: String,
    /// The last.
    pub last_at: String,
}

/// One change of a record, as the log tells it.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    /// Unix seconds recorded by the signer.
    pub time: i64,
    /// The signing key.
    pub signer: NodeId,
    /// Its position in the signer's log.
    pub seq: u64,
    /// The log.
    pub audience: &'static str,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// The fields it touched.
    pub fields: Vec<String>,
    /// The change hash.
    pub change_hash: String,
}

/// A change of a record's history with the fields it changed.
pub type HistoryRow = (HistoryItem, Vec<FieldChange>);

/// One field a change set or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The top-level field.
    pub field: String,
    /// Its value before, if it had one.
    pub old: Option<serde_json::Value>,
    /// Its value after, if it has one.
    pub new: Option<serde_json::Value>,
}

impl Reader {
    /// A pool over the database at `path`.
    pub fn new(path: PathBuf, busy_timeout_ms: u64) -> Self {
        Self {
            path,
            busy_timeout_ms,
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Runs `f` on a pooled connection (call from a blocking context).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let conn = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match conn {
            Some(conn) => conn,
            None => Store::open_reader(&self.path, self.busy_timeout_ms)
                .map_err(|e| ReadError::Database(e.to_string()))?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 8
        {
            idle.push(conn);
        }
        result
    }

    /// One record. A focal point comes with its contact details where this
    /// node holds them; their companion record is not read on its own.
    pub fn get(&self, id: &str) -> Result<Option<RecordRow>, ReadError> {
        if crate::store::contact::is_companion(id) {
            return Ok(None);
        }
        self.with(|conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {ROW_COLUMNS} FROM records WHERE id = ?1"),
                    [id],
                    read_row,
                )
                .optional()
                .map_err(storage)?;
            row.map(|mut row| {
                crate::store::contact::merge_contact(conn, &mut row)?;
                Ok(row)
            })
            .transpose()
        })
    }

    /// A page of the records matching `filter`, most recently changed
    /// first (then by id, descending): after the cursor `page.after`, at
    /// most `page.limit` of them and `page.max_bytes` of their estimated
    /// size (but always one). `total` counts every match, on the first page
    /// only. A cursor that is not this listing's, under these filters, is
    /// [`ReadError::BadRequest`].
    pub fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<ListPage, ReadError> {
        let filters = filter.digest();
        let after = match page.after.trim() {
            "" => None,
            text => Some(
                Cursor::decode(text, LIST, &filters, 2)
                    .map_err(|e| ReadError::BadRequest(e.to_string()))?,
            ),
        };
        if after.is_some() && page.offset > 0 {
            return Err(ReadError::BadRequest(
                "give either `after` (a cursor) or `offset` (deprecated), not both".into(),
            ));
        }
        // Checked before any reading: a search's cost grows with its
        // length, and the index cannot read a NUL.
        if let Some(search) = &filter.search {
            if search.chars().count() > MAX_SEARCH_CHARS {
                return Err(ReadError::BadRequest(format!(
                    "a search is at most {MAX_SEARCH_CHARS} characters; this one has {}",
                    search.chars().count()
                )));
            }
            if search.contains('\0') {
                return Err(ReadError::BadRequest(
                    "a search cannot hold a NUL character".into(),
                ));
            }
        }
        let limit = match page.limit {
            0 => DEFAULT_LIST_LIMIT,
            n => (n as usize).min(MAX_LIST_LIMIT),
        };
        let query = ListQuery::new(
            filter,
            after.as_ref().map(|a| &a.key[..]),
            limit,
            page.offset,
        );
        let first = after.is_none() && page.offset == 0;
        self.with(|conn| {
            let total = if first {
                let n: i64 = conn
                    .query_row(
                        &query.count_sql,
                        params_from_iter(query.count_args.iter()),
                        |r| r.get(0),
                    )
                    .map_err(storage)?;
                Some(n as u64)
            } else {
                None
            };
            let mut records = Paged::new(after.map(|a| a.key), limit, page.bytes());
            let sql = match &query.sql_by_text {
                Some(sql) if total.is_some_and(|n| n <= FEW_MATCHES) => sql,
                _ => &query.sql,
            };
            let mut stmt = conn.prepare(sql).map_err(storage)?;
            let mut rows = stmt
                .query(params_from_iter(query.args.iter()))
                .map_err(storage)?;
            while let Some(r) = rows.next().map_err(storage)? {
                let mut row = read_row(r).map_err(storage)?;
                let key = vec![
                    KeyPart::Text(row.updated.clone()),
                    KeyPart::Text(row.id.clone()),
                ];
                crate::store::contact::merge_contact(conn, &mut row)?;
                let size = estimated_size(&row);
                if !records.offer(row, key, size) {
                    break;
                }
            }
            Ok(ListPage {
                records,
                total,
                filters,
            })
        })
    }

    /// Every change of a record, oldest first. A focal point's include the
    /// changes of its contact details where this node holds them (fields
    /// named `contact.email`, `contact.phone`).
    pub fn history(&self, id: &str) -> Result<Vec<HistoryItem>, ReadError> {
        let companion = crate::records::focal_point::companion_id(id);
        self.with(|conn| {
            let mut stmt = conn
                .prepare("SELECT entry FROM log_entries WHERE doc_id IN (?1, ?2) ORDER BY id")
                .map_err(storage)?;
            let raw = stmt
                .query_map(rusqlite::params![id, companion.as_deref()], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .map_err(storage)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)?;
            let mut items = Vec::new();
            for bytes in raw {
                let entry = LogEntry::decode(&bytes)
                    .map_err(|e| ReadError::Corrupt(format!("stored entry of {id}: {e}")))?;
                for change in &entry.body.changes {
                    let change = automerge::Change::from_bytes(change.clone())
                        .map_err(|e| ReadError::Corrupt(format!("stored change of {id}: {e}")))?;
                    let message = change.message().unwrap_or_default();
                    let (action, mut fields) = match message.split_once(": ") {
                        Some((action, fields)) => (
                            action.to_owned(),
                            fields.split(", ").map(str::to_owned).collect::<Vec<_>>(),
                        ),
                        None => (message.to_owned(), Vec::new()),
                    };
                    if entry.body.doc_id != id {
                        // The companion's fields are the focal point's `contact`.
                        for field in &mut fields {
                            *field = format!("contact.{field}");
                        }
                    }
                    items.push(HistoryItem {
                        time: change.timestamp(),
                        signer: entry.body.origin,
                        seq: entry.body.seq,
                        audience: entry.body.audience.as_str(),
                        action,
                        fields,
                        change_hash: change.hash().to_string(),
                    });
                }
            }
            Ok(items)
        })
    }

    /// One page of [`Reader::history`], newest change first: the `count`
    /// changes after the newest `skip`, each with, for a change of the
    /// record's own document, every top-level field it changed: the value
    /// before and after it, as JSON. Also the number of changes in all.
    ///
    /// One pass: the changes are applied in the log's order to one
    /// document (a record is written by its owner's node alone, so its
    /// history is a line and "before" is the change before), which is read
    /// only around the page's changes. The companion's changes (contact
    /// details) carry no values.
    pub fn history_page(
        &self,
        id: &str,
        skip: usize,
        count: usize,
    ) -> Result<(usize, Vec<HistoryRow>), ReadError> {
        let mut items = self.history(id)?;
        let total = items.len();
        // Newest first; the page's window of the oldest-first list.
        let end = total.saturating_sub(skip);
        let start = end.saturating_sub(count);
        items.truncate(end);
        items.drain(..start);
        if items.is_empty() {
            return Ok((total, Vec::new()));
        }
        let window: std::collections::HashSet<&str> =
            items.iter().map(|i| i.change_hash.as_str()).collect();
        let changes =
            self.with(|conn| {
                let mut stmt = conn
                    .prepare("SELECT entry FROM log_entries WHERE doc_id = ?1 ORDER BY id")
                    .map_err(storage)?;
                let raw = stmt
                    .query_map([id], |r| r.get::<_, Vec<u8>>(0))
                    .map_err(storage)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(storage)?;
                let mut changes = Vec::new();
                for bytes in raw {
                    let entry = LogEntry::decode(&bytes)
                        .map_err(|e| ReadError::Corrupt(format!("stored entry of {id}: {e}")))?;
                    for change in entry.body.changes {
                        changes.push(automerge::Change::from_bytes(change).map_err(|e| {
                            ReadError::Corrupt(format!("stored change of {id}: {e}"))
                        })?);
                    }
                }
                Ok(changes)
            })?;
        let mut document = automerge::Automerge::new();
        // The changes before the page's, in one batch (applied one by one,
        // each would cost a pass over the document's columns).
        let first_shown = changes
            .iter()
            .position(|c| window.contains(c.hash().to_string().as_str()))
            .unwrap_or(changes.len());
        let mut changes = changes.into_iter();
        let prefix: Vec<automerge::Change> = changes.by_ref().take(first_shown).collect();
        if document.apply_changes(prefix.iter().cloned()).is_err() {
            document = automerge::Automerge::new();
            for change in prefix {
                let _ = document.apply_changes([change]);
            }
        }
        // The document as it was before the next change, when read.
        let mut before: Option<serde_json::Map<String, serde_json::Value>> = None;
        let mut values: std::collections::HashMap<String, Vec<FieldChange>> =
            std::collections::HashMap::new();
        for change in changes {
            let hash = change.hash().to_string();
            let shown = window.contains(hash.as_str());
            if shown && before.is_none() {
                before = Some(crate::doc::to_json(&document));
            }
            // A change whose dependencies were dropped (a revocation's
            // cut) waits in the document unapplied, as it does in the
            // stored one: nothing changes.
            if document.apply_changes([change]).is_err() {
                continue;
            }
            if !shown {
                before = None;
                continue;
            }
            let after = crate::doc::to_json(&document);
            let old = before.take().unwrap_or_default();
            let keys: std::collections::BTreeSet<&String> =
                old.keys().chain(after.keys()).collect();
            let changed = keys
                .into_iter()
                .filter(|key| !crate::records::ENVELOPE_KEYS.contains(&key.as_str()))
                .filter(|key| old.get(*key) != after.get(*key))
                .map(|key| FieldChange {
                    field: key.clone(),
                    old: old.get(key).cloned(),
                    new: after.get(key).cloned(),
                })
                .collect();
            values.insert(hash, changed);
            if values.len() == window.len() {
                // The changes after the page's change nothing shown.
                break;
            }
            before = Some(after);
        }
        Ok((
            total,
            items
                .into_iter()
                .rev()
                .map(|item| {
                    let changed = values.remove(&item.change_hash).unwrap_or_default();
                    (item, changed)
                })
                .collect(),
        ))
    }

    /// A record's own document as it was at `heads` (a version of it: the
    /// heads of an earlier read), as JSON; `None` when this node holds no
    /// such record or one of the heads is not among its changes.
    pub fn fields_at(
        &self,
        id: &str,
        heads: &[automerge::ChangeHash],
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ReadError> {
        self.with(|conn| {
            let Some((document, _)) = load_document(conn, id)? else {
                return Ok(None);
            };
            if heads.is_empty()
                || heads
                    .iter()
                    .any(|h| document.get_change_by_hash(h).is_none())
            {
                return Ok(None);
            }
            let Ok(then) = document.fork_at(heads) else {
                return Ok(None);
            };
            Ok(Some(crate::doc::to_json(&then)))
        })
    }

    /// The ids of the records owned by `owner` that were created after
    /// `after` (a `(created, id)` of a previous call; `None`: from the
    /// first), oldest first, at most `limit`, each with its `created`.
    /// Contact details go with their focal points.
    pub fn owned_after(
        &self,
        owner: &str,
        after: Option<&(String, String)>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, ReadError> {
        // Every record sorts after ("", ""): its id is never empty.
        let (created, id) = after.cloned().unwrap_or_default();
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT created, id FROM records
                     WHERE owner = ?1 AND type <> 'focal-point-contact'
                       AND (created, id) > (?2, ?3)
                     ORDER BY created, id LIMIT ?4",
                )
                .map_err(storage)?;
            stmt.query_map(rusqlite::params![owner, created, id, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)
        })
    }

    /// A record and its document in Automerge's `save()` format. A focal
    /// point's record comes with its contact details (its document, as
    /// stored, without them: they are in their companion's).
    pub fn export(&self, id: &str) -> Result<Option<(RecordRow, Vec<u8>)>, ReadError> {
        self.with(|conn| {
            let Some(mut row) = conn
                .query_row(
                    &format!("SELECT {ROW_COLUMNS} FROM records WHERE id = ?1"),
                    [id],
                    read_row,
                )
                .optional()
                .map_err(storage)?
            else {
                return Ok(None);
            };
            let Some((document, _)) = load_document(conn, id)? else {
                return Ok(None);
            };
            crate::store::contact::merge_contact(conn, &mut row)?;
            Ok(Some((row, document.save())))
        })
    }
}

/// Which entry at a position: by its hash, or by the hash of the one
/// before it.
#[derive(Clone, Copy)]
enum Match {
    Hash(EntryHash),
    Prev(EntryHash),
}

impl Reader {
    /// The hash of one entry this node holds (`entry_hashes` of one
    /// position); `None` if it is not held or cannot be read.
    pub fn entry_hash_at(
        &self,
        origin: crate::identity::NodeId,
        audience: crate::log::Audience,
        seq: u64,
    ) -> Option<crate::log::EntryHash> {
        self.entry_hashes(&[(origin, audience, seq)])
            .ok()
            .and_then(|hashes| hashes.into_iter().next().flatten())
    }

    /// The hash of the entry at each position, where this node holds one
    /// (in its log).
    pub fn entry_hashes(
        &self,
        positions: &[(NodeId, crate::log::Audience, u64)],
    ) -> Result<Vec<Option<EntryHash>>, ReadError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT hash FROM log_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .map_err(storage)?;
            positions
                .iter()
                .map(|(origin, audience, seq)| {
                    let hash: Option<Vec<u8>> = stmt
                        .query_row(
                            rusqlite::params![&origin.0[..], audience.code(), *seq as i64],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(storage)?;
                    Ok(hash.and_then(|h| <[u8; 32]>::try_from(h).ok().map(EntryHash)))
                })
                .collect()
        })
    }

    /// The encoded entry at a position: the one in the log, or, with
    /// `hash`, the one with that hash, from the log or kept as evidence (a
    /// fork's proof, an entry cut off by a fork or a key's cut-off).
    pub fn entry_at(
        &self,
        origin: &NodeId,
        audience: crate::log::Audience,
        seq: u64,
        hash: Option<EntryHash>,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        self.entry_matching(origin, audience, seq, hash.map(Match::Hash))
    }

    /// The encoded entry at a position that follows the entry with hash
    /// `prev`: from the log, or kept as evidence (a fork's proof, an entry
    /// cut off, another branch of a forked log).
    pub fn entry_after(
        &self,
        origin: &NodeId,
        audience: crate::log::Audience,
        seq: u64,
        prev: EntryHash,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        self.entry_matching(origin, audience, seq, Some(Match::Prev(prev)))
    }

    fn entry_matching(
        &self,
        origin: &NodeId,
        audience: crate::log::Audience,
        seq: u64,
        wanted: Option<Match>,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        self.with(|conn| {
            let params = rusqlite::params![&origin.0[..], audience.code(), seq as i64];
            let logged: Option<Vec<u8>> = conn
                .prepare_cached(
                    "SELECT entry FROM log_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .map_err(storage)?
                .query_row(params, |r| r.get(0))
                .optional()
                .map_err(storage)?;
            let Some(wanted) = wanted else {
                return Ok(logged);
            };
            let matches = |bytes: &Vec<u8>| match wanted {
                Match::Hash(hash) => crate::log::LogEntry::hash_of(bytes) == hash,
                Match::Prev(prev) => {
                    crate::log::LogEntry::decode(bytes).is_ok_and(|e| e.body.prev == prev)
                }
            };
            if let Some(bytes) = logged.filter(matches) {
                return Ok(Some(bytes));
            }
            let mut candidates: Vec<Vec<u8>> = Vec::new();
            if let Some((first, second)) = conn
                .prepare_cached(
                    "SELECT first, second FROM forks WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .map_err(storage)?
                .query_row(params, |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(storage)?
            {
                candidates.push(first);
                candidates.push(second);
            }
            if let Some(cut) = conn
                .prepare_cached(
                    "SELECT entry FROM revoked_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .map_err(storage)?
                .query_row(params, |r| r.get(0))
                .optional()
                .map_err(storage)?
            {
                candidates.push(cut);
            }
            let mut stmt = conn
                .prepare_cached(
                    "SELECT entry FROM fork_entries WHERE origin = ?1 AND audience = ?2 AND seq = ?3",
                )
                .map_err(storage)?;
            let kept = stmt
                .query_map(params, |r| r.get::<_, Vec<u8>>(0))
                .map_err(storage)?
                .take(16);
            for entry in kept {
                candidates.push(entry.map_err(storage)?);
            }
            Ok(candidates.into_iter().find(matches))
        })
    }

    /// The proven forks this node holds (see `fork`), each with its two
    /// encoded entries.
    pub fn forks(&self) -> Result<Vec<crate::fork::HeldProof>, ReadError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT first, second FROM forks ORDER BY proven_at, origin, audience",
                )
                .map_err(storage)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(storage)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)?;
            // Checked by the writer before it was stored.
            rows.into_iter()
                .map(|(first, second)| {
                    let fork = crate::fork::Fork::of_stored(&first, &second).ok_or_else(|| {
                        ReadError::Corrupt("a stored fork proof does not decode".into())
                    })?;
                    Ok((fork, first, second))
                })
                .collect()
        })
    }

    /// The keys quarantined for equivocation, with why.
    pub fn quarantined(&self) -> Result<Vec<String>, ReadError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT origin, reason, since FROM quarantine ORDER BY since")
                .map_err(storage)?;
            stmt.query_map([], |r| {
                Ok(format!(
                    "{} since {}: {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(1)?
                ))
            })
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)
        })
    }

    /// Changes taken out of documents by key cut-offs (rotations and
    /// revocations), newest first, at most `limit`, and how many in all.
    pub fn dropped(&self, limit: usize) -> Result<(u64, Vec<DroppedChange>), ReadError> {
        self.with(|conn| {
            let total: i64 = conn
                .query_row("SELECT count(*) FROM dropped_changes", [], |r| r.get(0))
                .map_err(storage)?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT doc_id, hash, origin, audience, seq, reason, dropped_at
                     FROM dropped_changes ORDER BY dropped_at DESC, origin, seq LIMIT ?1",
                )
                .map_err(storage)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(DroppedChange {
                        record: r.get(0)?,
                        change: hex::encode(r.get::<_, Vec<u8>>(1)?),
                        origin: hex::encode(r.get::<_, Vec<u8>>(2)?),
                        audience: crate::log::Audience::from_code(r.get::<_, u8>(3)?)
                            .map_or("?", crate::log::Audience::as_str)
                            .to_owned(),
                        seq: r.get::<_, i64>(4)? as u64,
                        reason: r.get(5)?,
                        at: r.get(6)?,
                    })
                })
                .map_err(storage)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)?;
            Ok((total as u64, rows))
        })
    }

    /// The most recent refusals of received entries, newest first.
    pub fn recent_rejections(&self, limit: usize) -> Result<Vec<Rejection>, ReadError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT peer, origin, seq, reason, at FROM rejections ORDER BY id DESC LIMIT ?1",
                )
                .map_err(storage)?;
            stmt.query_map([limit as i64], |r| {
                Ok(Rejection {
                    peer: r.get(0)?,
                    origin: r.get(1)?,
                    seq: r.get::<_, i64>(2)? as u64,
                    reason: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)
        })
    }

    /// Refusals counted by peer and reason, most first.
    pub fn refusal_counts(&self) -> Result<Vec<RefusalCount>, ReadError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT peer, reason, count, first_at, last_at FROM refusal_counts
                     ORDER BY count DESC, peer, reason",
                )
                .map_err(storage)?;
            stmt.query_map([], |r| {
                Ok(RefusalCount {
                    peer: r.get(0)?,
                    reason: r.get(1)?,
                    count: r.get::<_, i64>(2)? as u64,
                    first_at: r.get(3)?,
                    last_at: r.get(4)?,
                })
            })
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)
        })
    }

    /// Encoded entries of one log after sequence `after`, in order: at most
    /// `limit` of them, and no more than `max_bytes` counting `overhead`
    /// bytes per entry, but always the first one (it is up to the caller to
    /// never store an entry that cannot travel alone).
    pub fn entries_after(
        &self,
        origin: &NodeId,
        audience: crate::log::Audience,
        after: u64,
        limit: usize,
        max_bytes: usize,
        overhead: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ReadError> {
        self.with(|conn| {
            // The sizes first, so that no entry beyond the budget is read.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, length(entry) FROM log_entries
                     WHERE origin = ?1 AND audience = ?2 AND seq > ?3
                     ORDER BY seq LIMIT ?4",
                )
                .map_err(storage)?;
            let sizes = stmt
                .query_map(
                    rusqlite::params![&origin.0[..], audience.code(), after as i64, limit as i64],
                    |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as usize)),
                )
                .map_err(storage)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)?;
            let mut used = 0usize;
            let mut count = 0usize;
            for (_, size) in &sizes {
                used += size + overhead;
                if count > 0 && used > max_bytes {
                    break;
                }
                count += 1;
            }
            let Some(&(last, _)) = sizes.get(count.saturating_sub(1)) else {
                return Ok(Vec::new());
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, entry FROM log_entries
                     WHERE origin = ?1 AND audience = ?2 AND seq > ?3 AND seq <= ?4
                     ORDER BY seq",
                )
                .map_err(storage)?;
            stmt.query_map(
                rusqlite::params![&origin.0[..], audience.code(), after as i64, last as i64],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?)),
            )
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)
        })
    }
}

const ROW_COLUMNS: &str =
    "id, type, owner, visibility, created, updated, deleted, title, json, heads";

/// The least characters of a search that the trigram index answers
/// (`record_text`); a shorter one is looked for in every record.
const INDEXED_SEARCH_CHARS: usize = 3;
/// The most characters of a search the index is asked for: a longer search
/// is looked for by its start in the index, then whole (`LIKE`) in the
/// records found (a phrase's cost grows with each character).
const INDEXED_SEARCH_PREFIX: usize = 32;
/// The longest search.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The characters of a record's title and of its search text that the
/// trigram index holds (migration 12 cuts them with `substr`): a search
/// finds text in the first 16,384 characters of each. Indexing costs
/// about 3 s a megabyte of varied text, on the writer, and an entry may
/// hold 4 MB: a peer's large records must not stop the writer.
pub const INDEXED_TEXT_CHARS: usize = 16_384;

/// The statements of one page of the record list: the rows (one more than
/// the page holds) and, for the first page, the count of every match.
///
/// Each filter is read from what migration 12 keeps where it can: the total
/// of a listing by type and member from `record_counts`; the theme filter
/// from `record_theme_rows`, which also gives the page in its order; a
/// search from the trigram index `record_text`. Tombstones (`include_deleted`)
/// and the status filter read the records themselves.
struct ListQuery {
    sql: String,
    /// For a search through the index (without a theme filter): the rows
    /// read from the index's matches (a sort of the matches) instead of
    /// from the listing's order (a scan that checks each record). The
    /// first is faster when the matches are few, the second when they are
    /// many: [`Reader::list`] picks it when the first page's count is at
    /// most [`FEW_MATCHES`].
    sql_by_text: Option<String>,
    args: Vec<SqlValue>,
    count_sql: String,
    count_args: Vec<SqlValue>,
}

/// The most matches of a search that a page reads from the index's
/// matches (see `ListQuery::sql_by_text`). Measured at 200,000 records
/// (BENCHMARKS.md): a search with no match took 15 ms through the
/// listing's order and 1.5 ms from its matches; one with 11,200 matches,
/// 21–31 ms and 36–57 ms.
const FEW_MATCHES: u64 = 2_000;

impl ListQuery {
    fn new(filter: &ListFilter, after: Option<&[KeyPart]>, limit: usize, offset: u32) -> Self {
        fn bind(args: &mut Vec<SqlValue>, value: &str) -> String {
            args.push(SqlValue::Text(value.to_owned()));
            format!("?{}", args.len())
        }
        let mut args = Vec::new();
        // Live records with a theme are listed from their theme rows, in
        // the listing's order; `t` is the table giving the order.
        let by_theme = match (&filter.theme, filter.include_deleted) {
            (Some(theme), false) => Some(theme),
            _ => None,
        };
        let (from, order) = match by_theme {
            Some(_) => (
                "record_theme_rows AS t CROSS JOIN records AS r ON r.id = t.id",
                "t",
            ),
            None => ("records AS r", "r"),
        };
        // Clauses on the ordering table only (they count without the
        // records when nothing else filters), then on the records.
        let mut own = Vec::new();
        let mut more = Vec::new();
        // The search's clause in `more` and its matches, when the index
        // finds them.
        let mut text: Option<(usize, String)> = None;
        if let Some(theme) = by_theme {
            own.push(format!("t.theme = {}", bind(&mut args, theme)));
        }
        // Contact details are listed with their focal points.
        own.push(format!(
            "{order}.type <> '{}'",
            RecordType::FocalPointContact.as_str()
        ));
        if let Some(kind) = filter.kind {
            own.push(format!("{order}.type = {}", bind(&mut args, kind.as_str())));
        }
        if let Some(owner) = &filter.owner {
            own.push(format!("{order}.owner = {}", bind(&mut args, owner)));
        }
        if let (Some(theme), None) = (&filter.theme, by_theme) {
            // As `record_themes` reads a record's themes: texts of a list.
            more.push(format!(
                "json_type(r.json, '$.themes') = 'array'
                 AND EXISTS (SELECT 1 FROM json_each(r.json, '$.themes') AS t
                              WHERE t.type = 'text' AND t.value <> '' AND t.value = {})",
                bind(&mut args, theme)
            ));
        }
        if let Some(status) = &filter.status {
            more.push(format!(
                "json_extract(r.json, '$.status') = {}",
                bind(&mut args, status)
            ));
        }
        if let Some(search) = &filter.search {
            let chars = search.chars().count();
            if chars >= INDEXED_SEARCH_CHARS {
                // A phrase of the text (its start, if long): its trigrams
                // in a row, that is the substring, in any case.
                let start: String = search.chars().take(INDEXED_SEARCH_PREFIX).collect();
                let phrase = format!("\"{}\"", start.replace('"', "\"\""));
                let matches = format!(
                    "SELECT k.id FROM record_text
                       JOIN record_keys AS k ON k.n = record_text.rowid
                      WHERE record_text MATCH {}",
                    bind(&mut args, &phrase)
                );
                more.push(format!("r.id IN ({matches})"));
                text = Some((more.len() - 1, matches));
            }
            if !(INDEXED_SEARCH_CHARS..=INDEXED_SEARCH_PREFIX).contains(&chars) {
                let escaped = search
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let n = bind(&mut args, &format!("%{escaped}%"));
                more.push(format!(
                    "(lower(r.search) LIKE {n} ESCAPE '\\' OR lower(r.title) LIKE {n} ESCAPE '\\')"
                ));
            }
        }
        if !filter.include_deleted && by_theme.is_none() {
            more.push("r.deleted = 0".to_owned());
        }
        let plain = filter.theme.is_none()
            && filter.status.is_none()
            && filter.search.is_none()
            && !filter.include_deleted;
        let count_sql = if plain {
            // `own` holds only the type and owner clauses on `r`.
            format!(
                "SELECT coalesce(sum(n), 0) FROM record_counts AS r WHERE {}",
                own.join(" AND ")
            )
        } else if by_theme.is_some() && more.is_empty() {
            format!(
                "SELECT count(*) FROM record_theme_rows AS t WHERE {}",
                own.join(" AND ")
            )
        } else if let (Some((at, matches)), None) = (&text, by_theme) {
            // Counted from the matches: each one looked up, never a scan.
            format!(
                "SELECT count(*) FROM ({matches}) AS m CROSS JOIN records AS r ON r.id = m.id
                  WHERE {}",
                own.iter()
                    .chain(
                        more.iter()
                            .enumerate()
                            .filter(|(i, _)| i != at)
                            .map(|(_, c)| c)
                    )
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )
        } else {
            format!(
                "SELECT count(*) FROM {from} WHERE {}",
                own.iter()
                    .chain(&more)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )
        };
        let count_args = args.clone();
        let text = text.filter(|_| by_theme.is_none());
        let mut by_text: Vec<String> = own
            .iter()
            .chain(
                more.iter()
                    .enumerate()
                    .filter(|(i, _)| text.as_ref().is_none_or(|(at, _)| i != at))
                    .map(|(_, c)| c),
            )
            .cloned()
            .collect();
        let mut clauses: Vec<String> = own.into_iter().chain(more).collect();
        if let Some(key) = after {
            args.extend(key.iter().map(KeyPart::sql));
            let at = format!(
                "({order}.updated, {order}.id) < (?{}, ?{})",
                args.len() - 1,
                args.len()
            );
            by_text.push(at.clone());
            clauses.push(at);
        }
        let columns = ROW_COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM {from} WHERE {}
             ORDER BY {order}.updated DESC, {order}.id DESC LIMIT {} OFFSET {offset}",
            clauses.join(" AND "),
            limit + 1,
        );
        let sql_by_text = text.map(|(_, matches)| {
            format!(
                "SELECT {columns} FROM ({matches}) AS m CROSS JOIN records AS r ON r.id = m.id
                  WHERE {}
                  ORDER BY r.updated DESC, r.id DESC LIMIT {} OFFSET {offset}",
                by_text.join(" AND "),
                limit + 1,
            )
        });
        ListQuery {
            sql,
            sql_by_text,
            args,
            count_sql,
            count_args,
        }
    }
}

/// The projection row of record `id` (on any connection, the writer's
/// included).
pub(crate) fn row_by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<RecordRow>> {
    conn.prepare_cached(&format!("SELECT {ROW_COLUMNS} FROM records WHERE id = ?1"))?
        .query_row([id], read_row)
        .optional()
}

/// An upper bound of a record's size in a message (its wire form, the
/// owner's standing included).
pub fn estimated_size(row: &RecordRow) -> usize {
    [
        &row.id,
        row.kind.as_str(),
        &row.owner,
        row.visibility.as_str(),
        &row.created,
        &row.updated,
        &row.title,
        &row.json,
        "standing",
    ]
    .iter()
    .map(|text| text_size(text))
    .sum::<usize>()
        + list_size(&row.heads)
        + SCALAR_SIZE
        + ROW_FRAMING
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    let kind: String = r.get(1)?;
    let visibility: String = r.get(3)?;
    let heads: String = r.get(9)?;
    Ok(RecordRow {
        id: r.get(0)?,
        kind: RecordType::parse(&kind).unwrap_or(RecordType::Practice),
        owner: r.get(2)?,
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Local),
        created: r.get(4)?,
        updated: r.get(5)?,
        deleted: r.get(6)?,
        title: r.get(7)?,
        json: r.get(8)?,
        heads: heads
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn storage(e: rusqlite::Error) -> ReadError {
    ReadError::from(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A database of `n` practices of ESP (some sharing a change time) and
    /// one focal point with its contact companion.
    fn store(n: usize) -> (tempfile::TempDir, Reader, Store) {
        let (dir, path, store) = crate::store::temp_store();
        for i in 0..n {
            put(&store, &format!("ESP:practice:{i:04}"), "practice", i / 3);
        }
        (dir, Reader::new(path, 1000), store)
    }

    fn put(store: &Store, id: &str, kind: &str, second: usize) {
        let owner = id.split(':').next().unwrap();
        let fields = json!({"id": id, "type": kind, "owner": owner, "visibility": "network",
            "created": "2026-01-01T00:00:00Z",
            "updated": format!("2026-01-01T00:{:02}:{:02}Z", second / 60, second % 60),
            "deleted": false, "title": {"en": {"text": id, "original": true}}});
        crate::engine::writer::project(store.conn(), id, fields.as_object().unwrap(), &[]).unwrap();
    }

    /// Every page from the first, `limit` and `max_bytes` a page.
    fn every_page(
        reader: &Reader,
        filter: &ListFilter,
        limit: u32,
        max_bytes: usize,
    ) -> Vec<Vec<String>> {
        let mut page = PageRequest {
            limit,
            max_bytes,
            ..Default::default()
        };
        let mut pages = Vec::new();
        loop {
            let listed = reader.list(filter, &page).unwrap();
            assert_eq!(
                listed.total.is_some(),
                pages.is_empty(),
                "counted on the first page"
            );
            pages.push(listed.records.iter().map(|r| r.id.clone()).collect());
            match listed.next() {
                Some(next) => page.after = next.encode(),
                None => return pages,
            }
        }
    }

    #[test]
    fn a_listing_pages_by_its_sort_key_and_writes_meanwhile_shift_nothing() {
        let (_dir, reader, store) = store(50);
        let all = every_page(&reader, &ListFilter::default(), 0, 0);
        assert_eq!(all.len(), 1);
        let all = all[0].clone();
        assert_eq!(all.len(), 50);
        // Newest change first, then by id descending.
        let mut sorted = all.clone();
        sorted.sort_by_key(|id| {
            std::cmp::Reverse((id[13..].parse::<usize>().unwrap() / 3, id.clone()))
        });
        assert_eq!(all, sorted);
        for (limit, bytes) in [(1, 0), (7, 0), (0, 1), (100, 2_000)] {
            let pages = every_page(&reader, &ListFilter::default(), limit, bytes);
            assert!(pages.iter().all(|p| !p.is_empty()), "{pages:?}");
            assert_eq!(pages.concat(), all, "limit {limit}, bytes {bytes}");
        }

        // Records created and changed while a client pages: nothing twice,
        // everything unchanged exactly once.
        let filter = ListFilter::default();
        let mut page = PageRequest {
            limit: 10,
            ..Default::default()
        };
        let mut seen = Vec::new();
        for round in 0.. {
            let listed = reader.list(&filter, &page).unwrap();
            seen.extend(listed.records.iter().map(|r| r.id.clone()));
            put(
                &store,
                &format!("ESP:practice:new{round}"),
                "practice",
                3_000 + round,
            );
            put(
                &store,
                &format!("ESP:practice:{:04}", 49 - round),
                "practice",
                4_000 + round,
            );
            match listed.next() {
                Some(next) => page.after = next.encode(),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "listed twice: {seen:?}");
        // The records changed meanwhile moved to the front (not listed
        // again); every other one was listed.
        let changed: Vec<String> = (0..=5)
            .map(|r| format!("ESP:practice:{:04}", 49 - r))
            .collect();
        for id in all.iter().filter(|id| !changed.contains(id)) {
            assert!(seen.contains(id), "{id} skipped");
        }
    }

    #[test]
    fn a_cursor_continues_only_its_listing() {
        let (_dir, reader, _store) = store(5);
        let first = reader
            .list(
                &ListFilter::default(),
                &PageRequest {
                    limit: 2,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(first.total, Some(5));
        let next = first.next().unwrap().encode();
        let practices = ListFilter {
            kind: Some(RecordType::Practice),
            ..Default::default()
        };
        for (filter, after, offset, why) in [
            (&practices, next.as_str(), 0, "other filters"),
            (&ListFilter::default(), "%%%", 0, "not one this node gave"),
            (&ListFilter::default(), next.as_str(), 2, "not both"),
        ] {
            let err = reader
                .list(
                    filter,
                    &PageRequest {
                        after: after.to_owned(),
                        offset,
                        ..Default::default()
                    },
                )
                .unwrap_err();
            assert!(matches!(err, ReadError::BadRequest(_)), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        // Deprecated offsets still page (and say when more follow).
        let by_offset = reader
            .list(
                &ListFilter::default(),
                &PageRequest {
                    offset: 4,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(by_offset.records.len(), 1);
        assert!(by_offset.next().is_none());
        assert_eq!(by_offset.total, None);
    }

    #[test]
    fn an_export_reads_owned_records_in_batches_oldest_first() {
        let (_dir, reader, store) = store(7);
        put(&store, "NAM:practice:other", "practice", 1);
        let mut after = None;
        let mut ids = Vec::new();
        loop {
            let batch = reader.owned_after("ESP", after.as_ref(), 3).unwrap();
            if batch.is_empty() {
                break;
            }
            ids.extend(batch.iter().map(|(_, id)| id.clone()));
            after = batch.last().cloned();
        }
        let expected: Vec<String> = (0..7).map(|i| format!("ESP:practice:{i:04}")).collect();
        assert_eq!(ids, expected);
    }

    /// Every filter of the record list, on records written, changed,
    /// tombstoned and removed at random: each listing, paged, holds
    /// exactly the records that reading every record finds, in order, and
    /// its total counts them (migration 12's counts, theme rows and text
    /// index follow every write).
    #[test]
    fn every_filter_lists_and_counts_as_reading_every_record_does() {
        let (_dir, path, store) = crate::store::temp_store();
        let reader = Reader::new(path, 1000);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut roll = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let themes = ["climate-change", "justice", "participation", ""];
        let words = [
            "Plan Égalité",
            "plan égalité",
            "Paix",
            "dialogue \"quoted\"",
            "50% _x_",
            "A long title about women mediators and the peace process",
        ];
        for step in 0..400 {
            let owner = ["ESP", "NAM", "FRA"][roll(3) as usize];
            let kind = ["practice", "nap", "funding", "focal-point-contact"][roll(4) as usize];
            let id = format!("{owner}:{kind}:{:04}", roll(60));
            if roll(20) == 0 {
                store
                    .conn()
                    .execute("DELETE FROM records WHERE id = ?1", [&id])
                    .unwrap();
                continue;
            }
            let picked: Vec<&str> = (0..roll(4)).map(|_| themes[roll(4) as usize]).collect();
            let title = format!("{} {step}", words[roll(6) as usize]);
            let status = ["draft", "in-force"][roll(2) as usize];
            let fields = json!({"id": id, "type": kind, "owner": owner, "visibility": "network",
                "created": "2026-01-01T00:00:00Z",
                "updated": format!("2026-01-01T00:{:02}:{:02}Z", roll(3), roll(60)),
                "deleted": roll(6) == 0, "title": {"en": {"text": title, "original": true}},
                "status": status,
                "themes": picked});
            crate::engine::writer::project(store.conn(), &id, fields.as_object().unwrap(), &[])
                .unwrap();
        }
        struct Row {
            id: String,
            kind: String,
            owner: String,
            deleted: bool,
            updated: String,
            text: String,
            json: serde_json::Value,
        }
        let mut rows: Vec<Row> = {
            let conn = store.conn();
            let mut stmt = conn
                .prepare(
                    "SELECT id, type, owner, deleted, updated, title, search, json FROM records",
                )
                .unwrap();
            stmt.query_map([], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    owner: r.get(2)?,
                    deleted: r.get(3)?,
                    updated: r.get(4)?,
                    text: format!("{}\u{0}{}", r.get::<_, String>(5)?, r.get::<_, String>(6)?),
                    json: serde_json::from_str(&r.get::<_, String>(7)?).unwrap(),
                })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        rows.sort_by(|a, b| (&b.updated, &b.id).cmp(&(&a.updated, &a.id)));
        let mut checked = 0;
        for kind in [
            None,
            Some(RecordType::Practice),
            Some(RecordType::NationalActionPlan),
        ] {
            for owner in [None, Some("NAM")] {
                for theme in [None, Some("justice"), Some("")] {
                    for status in [None, Some("in-force")] {
                        for search in [
                            None,
                            Some("égalité"),
                            Some("PLAN"),
                            Some("pa"),
                            Some("\"quoted\""),
                            Some("50%"),
                            Some("_x_"),
                            Some(""),
                            Some("LONG TITLE ABOUT WOMEN MEDIATORS AND THE PEACE"),
                            Some("long title about women mediators and the war"),
                        ] {
                            for include_deleted in [false, true] {
                                let filter = ListFilter {
                                    kind,
                                    theme: theme.map(str::to_owned),
                                    status: status.map(str::to_owned),
                                    search: search.map(str::to_owned),
                                    owner: owner.map(str::to_owned),
                                    include_deleted,
                                };
                                let expected: Vec<String> = rows
                                    .iter()
                                    .filter(|r| r.kind != "focal-point-contact")
                                    .filter(|r| kind.is_none_or(|k| r.kind == k.as_str()))
                                    .filter(|r| owner.is_none_or(|o| r.owner == o))
                                    .filter(|r| include_deleted || !r.deleted)
                                    .filter(|r| status.is_none_or(|s| r.json["status"] == s))
                                    .filter(|r| {
                                        theme.is_none_or(|t| {
                                            r.json["themes"]
                                                .as_array()
                                                .unwrap()
                                                .iter()
                                                .any(|v| v == t && !t.is_empty())
                                        })
                                    })
                                    .filter(|r| {
                                        search.is_none_or(|q| {
                                            r.text.split('\u{0}').any(|text| {
                                                text.to_lowercase().contains(&q.to_lowercase())
                                            })
                                        })
                                    })
                                    .map(|r| r.id.clone())
                                    .collect();
                                let first = reader
                                    .list(
                                        &filter,
                                        &PageRequest {
                                            limit: 7,
                                            ..Default::default()
                                        },
                                    )
                                    .unwrap();
                                assert_eq!(
                                    first.total,
                                    Some(expected.len() as u64),
                                    "the total of {filter:?}"
                                );
                                assert_eq!(
                                    every_page(&reader, &filter, 7, 0).concat(),
                                    expected,
                                    "{filter:?}"
                                );
                                checked += usize::from(!expected.is_empty());
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 300, "too few listings hold a record: {checked}");

        // Searches refused before any reading.
        for search in ["x".repeat(MAX_SEARCH_CHARS + 1), "ab\0cd".to_owned()] {
            let filter = ListFilter {
                search: Some(search),
                ..Default::default()
            };
            assert!(matches!(
                reader.list(&filter, &PageRequest::default()),
                Err(ReadError::BadRequest(_))
            ));
        }
    }
}
