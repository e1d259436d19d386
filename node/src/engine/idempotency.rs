//! Safe retries of creates.
//!
//! A client that sent a create and lost the answer (its node crashed after
//! committing, the link dropped) cannot tell whether the record exists; a
//! plain retry would make a second one. So a create may carry a request id
//! of the client's choosing (a UUID, say). The writer remembers it, in the
//! transaction that creates the record, with a fingerprint of the request;
//! a create with a request id it has seen answers the record that first
//! create made (as it is now), and one that reuses the id for a different
//! request is refused. Ids are remembered for [`RETENTION_SECS`].

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    engine::writer::WriteError,
    records::{RecordType, Visibility},
    store::RecordRow,
};

/// Longest request id, in bytes.
pub const MAX_REQUEST_ID_BYTES: usize = 128;
/// How long a request id is remembered: far longer than any client retries.
pub const RETENTION_SECS: i64 = 7 * 24 * 3600;

/// A request id is 1 to [`MAX_REQUEST_ID_BYTES`] printable ASCII characters.
pub fn check_request_id(id: &str) -> Result<(), WriteError> {
    if id.is_empty() || id.len() > MAX_REQUEST_ID_BYTES || !id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(WriteError::BadRequest(format!(
            "a request id is 1 to {MAX_REQUEST_ID_BYTES} printable ASCII characters without \
             spaces (a UUID, say); got {} bytes",
            id.len()
        )));
    }
    Ok(())
}

/// What identifies a create request: its type, fields (serde_json keeps
/// object keys sorted, so the encoding is canonical), visibility and
/// language.
pub fn fingerprint(
    kind: RecordType,
    fields: &Map<String, Value>,
    visibility: Visibility,
    language: &str,
) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in [
        kind.as_str().as_bytes(),
        visibility.as_str().as_bytes(),
        language.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(serde_json::to_vec(fields).unwrap_or_default());
    hash.finalize().to_vec()
}

/// The record a create with `request_id` made before, as it is now; an
/// error if the id was used for a different request.
pub fn lookup(
    conn: &Connection,
    request_id: &str,
    fingerprint: &[u8],
) -> Result<Option<RecordRow>, WriteError> {
    let seen: Option<(Vec<u8>, String)> = conn
        .prepare_cached("SELECT fingerprint, record_id FROM create_requests WHERE request_id = ?1")
        .and_then(|mut s| {
            s.query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(storage)?;
    let Some((seen, record_id)) = seen else {
        return Ok(None);
    };
    if seen != fingerprint {
        return Err(WriteError::RequestIdReused(request_id.to_owned()));
    }
    crate::store::query::row_by_id(conn, &record_id)
        .map_err(storage)?
        .map(Some)
        .ok_or(WriteError::NotFound(record_id))
}

/// Remembers that `request_id` created `record_id`, and forgets ids older
/// than [`RETENTION_SECS`].
pub fn remember(
    conn: &Connection,
    request_id: &str,
    fingerprint: &[u8],
    record_id: &str,
    now: i64,
) -> Result<(), WriteError> {
    conn.prepare_cached(
        "INSERT INTO create_requests (request_id, fingerprint, record_id, at)
         VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| s.execute(params![request_id, fingerprint, record_id, now]))
    .map_err(storage)?;
    conn.prepare_cached("DELETE FROM create_requests WHERE at < ?1")
        .and_then(|mut s| s.execute([now - RETENTION_SECS]))
        .map_err(storage)?;
    Ok(())
}

fn storage(e: rusqlite::Error) -> WriteError {
    WriteError::Storage(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked() {
        assert!(check_request_id("3f2c1a9e-7d4b-4c1e-9a55-0d1e2f3a4b5c").is_ok());
        for bad in ["", "with space", "tab\t", "é", &"x".repeat(129)] {
            assert!(check_request_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_tells_requests_apart() {
        let fields: Map<String, Value> =
            serde_json::from_str(r#"{"title":"A","kind":"best-practice"}"#).unwrap();
        let same: Map<String, Value> =
            serde_json::from_str(r#"{"kind":"best-practice","title":"A"}"#).unwrap();
        let a = fingerprint(RecordType::Practice, &fields, Visibility::Network, "en");
        assert_eq!(
            a,
            fingerprint(RecordType::Practice, &same, Visibility::Network, "en")
        );
        assert_ne!(
            a,
            fingerprint(RecordType::Practice, &fields, Visibility::Local, "en")
        );
        assert_ne!(
            a,
            fingerprint(RecordType::Practice, &fields, Visibility::Network, "fr")
        );
    }
}
