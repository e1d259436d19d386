//! Reading a focal point's contact details back from its companion record
//! (see `engine::contact` for why they are kept apart).

use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::{
    records::{
        ENVELOPE_KEYS, RecordType,
        focal_point::{companion_id, focal_point_of},
    },
    store::{ReadError, RecordRow},
};

/// The companion of the focal point `focal_point` (envelope and fields),
/// if this node holds one.
pub fn companion_json(
    conn: &Connection,
    focal_point: &str,
) -> Result<Option<Map<String, Value>>, ReadError> {
    let Some(companion) = companion_id(focal_point) else {
        return Ok(None);
    };
    let json: Option<String> = conn
        .query_row(
            "SELECT json FROM records WHERE id = ?1",
            [&companion],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|text| serde_json::from_str(&text).ok()))
}

/// The contact details held for the focal point `focal_point` in its
/// companion, if this node holds one (fields only, envelope left out).
pub fn companion_fields(
    conn: &Connection,
    focal_point: &str,
) -> Result<Option<Map<String, Value>>, ReadError> {
    Ok(companion_json(conn, focal_point)?.map(|mut fields| {
        fields.retain(|k, _| !ENVELOPE_KEYS.contains(&k.as_str()));
        fields
    }))
}

/// A focal point's row as clients read it: with the contact details of its
/// companion where this node holds one. (Whether they are shown is the
/// API's and the views' decision: `focal_point::contact_shown`.) Other rows
/// are left as they are.
pub fn merge_contact(conn: &Connection, row: &mut RecordRow) -> Result<(), ReadError> {
    if row.kind != RecordType::FocalPoint {
        return Ok(());
    }
    match companion_json(conn, &row.id)? {
        Some(held) => set_contact(row, Some(&held)),
        None => Ok(()),
    }
}

/// Sets a row's `contact` to the fields of its companion `held` (removes it
/// if there is none, or it holds no details), and its `updated` to the
/// companion's if that is later: a change of the contact details is a
/// change of the focal point as clients read it.
pub fn set_contact(
    row: &mut RecordRow,
    held: Option<&Map<String, Value>>,
) -> Result<(), ReadError> {
    let mut json: Map<String, Value> = serde_json::from_str(&row.json)
        .map_err(|e| ReadError::Corrupt(format!("record {} is not JSON: {e}", row.id)))?;
    let contact: Map<String, Value> = held
        .map(|held| {
            held.iter()
                .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if contact.is_empty() {
        json.remove("contact");
    } else {
        json.insert("contact".into(), Value::Object(contact));
    }
    if let Some(updated) = held.and_then(|h| h.get("updated")).and_then(Value::as_str)
        && later(updated, &row.updated)
    {
        row.updated = updated.to_owned();
        json.insert("updated".into(), updated.into());
    }
    row.json = serde_json::to_string(&json).map_err(|e| ReadError::Corrupt(e.to_string()))?;
    Ok(())
}

/// Whether RFC 3339 time `a` is after `b`. (Not as text: the fraction of a
/// second is written without trailing zeros, so `…04.03Z` sorts after
/// `…04.039Z`.) A time that does not parse is never later.
fn later(a: &str, b: &str) -> bool {
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Companion ids are never listed on their own.
pub fn is_companion(id: &str) -> bool {
    focal_point_of(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_compare_as_times_not_text() {
        assert!(later("2026-11-28T19:38:04.039Z", "2026-11-28T19:38:04.03Z"));
        assert!(!later(
            "2026-11-28T19:38:04.03Z",
            "2026-11-28T19:38:04.039Z"
        ));
        assert!(later("2026-11-28T19:38:05Z", "2026-11-28T19:38:04.999Z"));
        assert!(!later("2026-11-28T19:38:04Z", "2026-11-28T19:38:04.000Z"));
        assert!(later("2026-11-28T19:38:04Z", "not a time"));
        assert!(!later("not a time", "2026-11-28T19:38:04Z"));
    }
}
