//! Stored documents and the rows projected from them: how the read side
//! loads a record's Automerge document (its snapshot and the changes since)
//! and builds a record's row from its JSON.

use automerge::{Automerge, ChangeHash};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::records::{self, ENVELOPE_KEYS, RecordType, Visibility};

/// Why a read failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The request is malformed (a cursor, a filter).
    #[error("{0}")]
    BadRequest(String),
    /// No such record.
    #[error("no record {0}")]
    NotFound(String),
    /// The database could not be read.
    #[error("the database could not be read: {0}")]
    Database(String),
    /// What is stored does not read back: a document, a row.
    #[error("stored data does not read back: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for ReadError {
    fn from(e: rusqlite::Error) -> Self {
        ReadError::Database(e.to_string())
    }
}

/// A record as the projection table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// `OWNER:type:suffix`.
    pub id: String,
    /// The record type.
    pub kind: RecordType,
    /// The owning member.
    pub owner: String,
    /// Who may read it.
    pub visibility: Visibility,
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 time of the last change.
    pub updated: String,
    /// Tombstoned?
    pub deleted: bool,
    /// One-line label.
    pub title: String,
    /// The whole record (envelope and fields) as JSON.
    pub json: String,
    /// The document's heads (change hashes, hex).
    pub heads: Vec<String>,
}

/// Loads a document from its snapshot and pending changes.
pub fn load_document(conn: &Connection, id: &str) -> Result<Option<(Automerge, u32)>, ReadError> {
    let Some((snapshot, pending)) = conn
        .query_row(
            "SELECT snapshot, pending FROM documents WHERE doc_id = ?1",
            [id],
            |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u32>(1)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut document = Automerge::load(&snapshot)
        .map_err(|e| ReadError::Corrupt(format!("snapshot of {id} does not load: {e}")))?;
    if pending > 0 {
        let mut stmt =
            conn.prepare_cached("SELECT change FROM doc_changes WHERE doc_id = ?1 ORDER BY n")?;
        let changes = stmt
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
            .map(|raw| {
                let raw = raw?;
                automerge::Change::from_bytes(raw)
                    .map_err(|e| ReadError::Corrupt(format!("a change of {id} does not load: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        document
            .apply_changes(changes)
            .map_err(|e| ReadError::Corrupt(format!("the changes of {id} do not apply: {e}")))?;
    }
    Ok(Some((document, pending)))
}

/// Builds the projection of a document's JSON.
pub fn row_from_json(
    id: &str,
    json: &Map<String, Value>,
    heads: &[ChangeHash],
) -> Result<RecordRow, ReadError> {
    let text = |key: &str| json.get(key).and_then(Value::as_str).unwrap_or_default();
    let kind = RecordType::parse(text("type"))
        .ok_or_else(|| ReadError::Corrupt(format!("record {id} has an unknown type")))?;
    let visibility = Visibility::parse(text("visibility"))
        .ok_or_else(|| ReadError::Corrupt(format!("record {id} has an unknown visibility")))?;
    let fields: Map<String, Value> = json
        .iter()
        .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut heads: Vec<String> = heads.iter().map(ToString::to_string).collect();
    heads.sort();
    Ok(RecordRow {
        id: id.to_owned(),
        kind,
        owner: text("owner").to_owned(),
        visibility,
        created: text("created").to_owned(),
        updated: text("updated").to_owned(),
        deleted: json
            .get("deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        title: records::summary_title(kind, &fields),
        json: serde_json::to_string(json).map_err(|e| ReadError::Corrupt(e.to_string()))?,
        heads,
    })
}
