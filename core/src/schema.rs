//! The versions of stored documents' shapes.
//!
//! Every record and the roster carry their shape's version in the envelope
//! key [`SCHEMA_KEY`]. A reader brings an older document to the current
//! shape with one [`Step`] per version, in order (garage's style of
//! migrations: each version knows only how to come from the one before).
//! Documents are CRDTs replicated from every member's node, so they are
//! never rewritten in place: the steps run on the JSON as it is read, and
//! the writer stores the migrated shape (and the new version) with the next
//! change it signs to that document.
//!
//! A document from before versions were recorded has no [`SCHEMA_KEY`]: it
//! is version 1. A version this node does not know yet (written by a newer
//! Focal) is read as it is ([`Read::Newer`]): unknown keys are ignored, as
//! they always were.
//!
//! Versions:
//! - records: 1 (the current shape);
//! - roster: 1 (a member or key without a status was active), 2 (every
//!   member and key states its status; one without is not read, see
//!   `roster`).

use std::borrow::Cow;

use serde_json::{Map, Value};

/// The envelope key that holds a document's version.
pub const SCHEMA_KEY: &str = "schema";

/// One migration: from the version before to this step's version.
pub type Step = fn(&mut Map<String, Value>);

/// The versions of one kind of document.
#[derive(Debug)]
pub struct Schema {
    /// What the documents are, for messages.
    pub name: &'static str,
    /// Step `i` migrates version `i + 1` to version `i + 2`.
    steps: &'static [Step],
}

/// Records (every record type).
pub const RECORD: Schema = Schema {
    name: "record",
    steps: &[],
};

/// The roster.
pub const ROSTER: Schema = Schema {
    name: "roster",
    steps: &[roster_statuses_stated],
};

/// How a document was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Already at the current version.
    Current,
    /// Migrated from an older version.
    Migrated {
        /// The version it had.
        from: u64,
    },
    /// Written by a newer Focal: read as it is.
    Newer {
        /// The version it has.
        found: u64,
    },
}

impl Schema {
    /// The version this node writes.
    pub const fn current(&self) -> u64 {
        self.steps.len() as u64 + 1
    }

    /// The version a document says it has: 1 without [`SCHEMA_KEY`] (or
    /// with a value that is not a version: the steps only ever add what an
    /// older shape left implicit, so running them again changes nothing
    /// that is stated).
    pub fn version_of(&self, json: &Map<String, Value>) -> u64 {
        json.get(SCHEMA_KEY)
            .and_then(Value::as_u64)
            .filter(|v| *v >= 1)
            .unwrap_or(1)
    }

    /// Brings `json` to the current version, step by step, and records the
    /// version in it; a newer document is left as it is.
    pub fn migrate(&self, json: &mut Map<String, Value>) -> Read {
        let found = self.version_of(json);
        let current = self.current();
        if found > current {
            return Read::Newer { found };
        }
        for step in &self.steps[(found - 1) as usize..] {
            step(json);
        }
        json.insert(SCHEMA_KEY.to_owned(), Value::from(current));
        if found == current {
            Read::Current
        } else {
            Read::Migrated { from: found }
        }
    }

    /// `json` brought to the current version for reading, copied only if
    /// a step changes it: a document already at the current version is
    /// read as it is, with or without the key.
    pub fn migrated<'a>(&self, json: &'a Map<String, Value>) -> Cow<'a, Map<String, Value>> {
        if self.version_of(json) >= self.current() {
            return Cow::Borrowed(json);
        }
        let mut owned = json.clone();
        self.migrate(&mut owned);
        Cow::Owned(owned)
    }
}

/// Roster 1 → 2: a member or key entry without a status was active; it now
/// says so.
fn roster_statuses_stated(json: &mut Map<String, Value>) {
    let Some(Value::Object(members)) = json.get_mut("members") else {
        return;
    };
    for member in members.values_mut() {
        let Value::Object(member) = member else {
            continue;
        };
        member
            .entry("status")
            .or_insert_with(|| Value::from("active"));
        if let Some(Value::Object(keys)) = member.get_mut("keys") {
            for key in keys.values_mut() {
                if let Value::Object(key) = key {
                    key.entry("status").or_insert_with(|| Value::from("active"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_version_1_roster_states_its_statuses() {
        let mut roster = object(json!({
            "type": "roster",
            "members": {
                "ESP": { "keys": { "aa": {}, "bb": { "status": "rotated" } } },
                "NAM": { "status": "suspended", "keys": { "cc": { "status": "active" } } },
                "odd": "not an object",
            }
        }));
        assert_eq!(ROSTER.migrate(&mut roster), Read::Migrated { from: 1 });
        assert_eq!(
            Value::Object(roster.clone()),
            json!({
                "type": "roster",
                "schema": 2,
                "members": {
                    "ESP": { "status": "active",
                             "keys": { "aa": { "status": "active" },
                                       "bb": { "status": "rotated" } } },
                    "NAM": { "status": "suspended", "keys": { "cc": { "status": "active" } } },
                    "odd": "not an object",
                }
            })
        );
        // Once current, reading again changes nothing.
        let again = roster.clone();
        assert_eq!(ROSTER.migrate(&mut roster), Read::Current);
        assert_eq!(roster, again);
        assert!(matches!(ROSTER.migrated(&roster), Cow::Borrowed(_)));
    }

    #[test]
    fn a_current_roster_is_not_filled_in() {
        let mut roster = object(json!({
            "schema": 2,
            "members": { "ESP": { "keys": { "aa": {} } } }
        }));
        assert_eq!(ROSTER.migrate(&mut roster), Read::Current);
        assert_eq!(roster["members"]["ESP"].get("status"), None);
    }

    #[test]
    fn newer_documents_are_read_as_they_are() {
        let mut record = object(json!({ "schema": 9, "title": "x" }));
        let before = record.clone();
        assert_eq!(RECORD.migrate(&mut record), Read::Newer { found: 9 });
        assert_eq!(record, before);
        assert!(matches!(RECORD.migrated(&record), Cow::Borrowed(_)));
    }

    #[test]
    fn a_document_without_a_version_is_version_1() {
        for value in [
            json!({}),
            json!({ "schema": "two" }),
            json!({ "schema": 0 }),
        ] {
            assert_eq!(RECORD.version_of(value.as_object().unwrap()), 1);
        }
        let mut record = object(json!({ "title": "x" }));
        assert_eq!(RECORD.migrate(&mut record), Read::Current);
        assert_eq!(record["schema"], json!(1));
        let unversioned = object(json!({ "title": "x" }));
        assert!(matches!(RECORD.migrated(&unversioned), Cow::Borrowed(_)));
        let roster = object(json!({ "members": {} }));
        assert_eq!(ROSTER.migrated(&roster)["schema"], json!(2));
    }
}
