//! Every size limit on what a document may hold, stated once.
//!
//! A peer's entry and a client's write are both outside input: a few hundred
//! bytes can claim a hundred million operations, nest maps deeper than any
//! stack, or inflate to gigabytes. So each is measured against [`Limits`]
//! before the costly step: an entry's changes are counted from their bytes
//! before they are decoded or applied ([`crate::log::LogEntry::verify`]), a
//! document is read into JSON with an explicit stack that stops at the depth
//! and size limits ([`crate::doc::to_json`]), and a client's fields are
//! measured before they are validated or applied (`writer`). The record
//! schemas read the list and text limits from the same struct, so that
//! whatever one node accepts from a client, every node with the default
//! limits accepts from a peer.
//!
//! The values come from the `[limits]` section of `focal.toml`.

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The limits, as read from `[limits]` in `focal.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of maps and lists in a record (the record's own map
    /// is depth 1).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Most Automerge operations in one change.
    #[serde(default = "default_max_ops_per_change")]
    pub max_ops_per_change: u64,
    /// Most Automerge operations in one log entry (all its changes).
    #[serde(default = "default_max_ops_per_entry")]
    pub max_ops_per_entry: u64,
    /// Largest record, as compact JSON, in bytes.
    #[serde(default = "default_max_record_json_bytes")]
    pub max_record_json_bytes: usize,
    /// Most items in one list.
    #[serde(default = "default_max_list_items")]
    pub max_list_items: usize,
    /// Longest text, in bytes: a free-text field in one language, and any
    /// string in a received record.
    #[serde(default = "default_max_text_bytes")]
    pub max_text_bytes: usize,
    /// Longest short text, in bytes: names, titles, codes, links and every
    /// other single-line field.
    #[serde(default = "default_max_name_bytes")]
    pub max_name_bytes: usize,
    /// Most languages one multilingual text is given in.
    #[serde(default = "default_max_languages")]
    pub max_languages: usize,
}

/// Default of [`Limits::max_depth`]; the deepest record schema nests 5
/// (a meeting's outcome's title in one language).
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Upper bound of [`Limits::max_depth`]: the stored projection is read back
/// with `serde_json`, which refuses JSON nested deeper than 128.
pub const MAX_MAX_DEPTH: usize = 100;

fn default_max_depth() -> usize {
    DEFAULT_MAX_DEPTH
}
fn default_max_ops_per_change() -> u64 {
    50_000
}
fn default_max_ops_per_entry() -> u64 {
    100_000
}
fn default_max_record_json_bytes() -> usize {
    1024 * 1024
}
fn default_max_list_items() -> usize {
    2_000
}
fn default_max_text_bytes() -> usize {
    20_000
}
fn default_max_name_bytes() -> usize {
    1_000
}
fn default_max_languages() -> usize {
    32
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: default_max_depth(),
            max_ops_per_change: default_max_ops_per_change(),
            max_ops_per_entry: default_max_ops_per_entry(),
            max_record_json_bytes: default_max_record_json_bytes(),
            max_list_items: default_max_list_items(),
            max_text_bytes: default_max_text_bytes(),
            max_name_bytes: default_max_name_bytes(),
            max_languages: default_max_languages(),
        }
    }
}

/// One of the [`Limits`], for messages and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_ops_per_change`].
    OpsPerChange,
    /// [`Limits::max_ops_per_entry`].
    OpsPerEntry,
    /// [`Limits::max_record_json_bytes`].
    RecordJsonBytes,
    /// [`Limits::max_list_items`].
    ListItems,
    /// [`Limits::max_text_bytes`].
    TextBytes,
    /// [`Limits::max_name_bytes`].
    NameBytes,
    /// [`Limits::max_languages`].
    Languages,
}

impl Limit {
    /// The key in `[limits]`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Depth => "max_depth",
            Self::OpsPerChange => "max_ops_per_change",
            Self::OpsPerEntry => "max_ops_per_entry",
            Self::RecordJsonBytes => "max_record_json_bytes",
            Self::ListItems => "max_list_items",
            Self::TextBytes => "max_text_bytes",
            Self::NameBytes => "max_name_bytes",
            Self::Languages => "max_languages",
        }
    }

    /// What is measured, in words.
    pub fn measures(self) -> &'static str {
        match self {
            Self::Depth => "nesting depth",
            Self::OpsPerChange => "operations in one change",
            Self::OpsPerEntry => "operations in one entry",
            Self::RecordJsonBytes => "size of the record as JSON (bytes)",
            Self::ListItems => "items in one list",
            Self::TextBytes => "length of one text (bytes)",
            Self::NameBytes => "length of one short text (bytes)",
            Self::Languages => "languages of one text",
        }
    }
}

/// A value over one of the [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OverLimit {
    /// Which limit.
    pub limit: Limit,
    /// The value found (for a count stopped early: at least this).
    pub value: u64,
    /// The limit.
    pub max: u64,
    /// Where in the record, when known (`links`, `agenda[3].title`).
    pub at: Option<String>,
}

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.limit.measures(), self.value)?;
        if let Some(at) = &self.at {
            write!(f, " at {at}")?;
        }
        write!(
            f,
            ", over the limit of {} (`{}` in the [limits] section of focal.toml)",
            self.max,
            self.limit.key()
        )
    }
}

impl Limits {
    /// The value of `limit`.
    pub fn max(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Depth => self.max_depth as u64,
            Limit::OpsPerChange => self.max_ops_per_change,
            Limit::OpsPerEntry => self.max_ops_per_entry,
            Limit::RecordJsonBytes => self.max_record_json_bytes as u64,
            Limit::ListItems => self.max_list_items as u64,
            Limit::TextBytes => self.max_text_bytes as u64,
            Limit::NameBytes => self.max_name_bytes as u64,
            Limit::Languages => self.max_languages as u64,
        }
    }

    /// Limits for data this node already accepted: only the depth is
    /// bounded (by the most any configuration allows), since reading
    /// back what was stored must not fail because an operator lowered a
    /// limit later.
    pub fn for_stored() -> Self {
        Self {
            max_depth: MAX_MAX_DEPTH,
            max_ops_per_change: u64::MAX,
            max_ops_per_entry: u64::MAX,
            max_record_json_bytes: usize::MAX,
            max_list_items: usize::MAX,
            max_text_bytes: usize::MAX,
            max_name_bytes: usize::MAX,
            max_languages: usize::MAX,
        }
    }

    /// `Err` if `value` is over `limit`.
    pub fn check(&self, limit: Limit, value: u64) -> Result<(), OverLimit> {
        let max = self.max(limit);
        if value > max {
            Err(OverLimit {
                limit,
                value,
                max,
                at: None,
            })
        } else {
            Ok(())
        }
    }

    /// Why these limits make no sense, if they do not: each must be
    /// positive, an entry must hold at least one change, a short text fit in
    /// a long one, and depth stay readable (see [`MAX_MAX_DEPTH`]).
    pub fn problem(&self) -> Option<String> {
        let all = [
            Limit::Depth,
            Limit::OpsPerChange,
            Limit::OpsPerEntry,
            Limit::RecordJsonBytes,
            Limit::ListItems,
            Limit::TextBytes,
            Limit::NameBytes,
            Limit::Languages,
        ];
        if let Some(zero) = all.into_iter().find(|l| self.max(*l) == 0) {
            return Some(format!("limits.{} must be at least 1", zero.key()));
        }
        if self.max_depth < 8 || self.max_depth > MAX_MAX_DEPTH {
            return Some(format!(
                "limits.max_depth = {} must be between 8 (records nest up to 5) and \
                 {MAX_MAX_DEPTH}",
                self.max_depth
            ));
        }
        if self.max_ops_per_entry < self.max_ops_per_change {
            return Some(format!(
                "limits.max_ops_per_entry = {} is smaller than limits.max_ops_per_change = {}; an \
                 entry holds at least one change",
                self.max_ops_per_entry, self.max_ops_per_change
            ));
        }
        if self.max_name_bytes > self.max_text_bytes {
            return Some(format!(
                "limits.max_name_bytes = {} is larger than limits.max_text_bytes = {}",
                self.max_name_bytes, self.max_text_bytes
            ));
        }
        if self.max_record_json_bytes < 4096 {
            return Some(format!(
                "limits.max_record_json_bytes = {} is too small for any record; use at least 4096",
                self.max_record_json_bytes
            ));
        }
        None
    }

    /// Measures a client's JSON before anything else looks at it: its
    /// nesting only, walking with an explicit stack and stopping at the
    /// first map or list too deep (validation and the document writer
    /// recurse; list and text lengths are the schema's to report, by field).
    /// `depth` is the depth of `value` itself (1 for a record's field map).
    pub fn check_json(&self, value: &Value, depth: usize) -> Result<(), OverLimit> {
        let mut stack: Vec<(&Value, usize, Option<&str>)> = vec![(value, depth, None)];
        while let Some((value, depth, field)) = stack.pop() {
            let children: Box<dyn Iterator<Item = &Value>> = match value {
                Value::Object(map) => Box::new(map.values()),
                Value::Array(items) => Box::new(items.iter()),
                _ => continue,
            };
            self.check(Limit::Depth, depth as u64).map_err(|mut e| {
                e.at = field.map(str::to_owned);
                e
            })?;
            if depth == 1
                && let Value::Object(map) = value
            {
                stack.extend(map.iter().map(|(k, v)| (v, 2, Some(k.as_str()))));
            } else {
                stack.extend(children.map(|v| (v, depth + 1, field)));
            }
        }
        Ok(())
    }

    /// [`Limits::check_json`] on a record's field map (or patch).
    pub fn check_fields(&self, fields: &Map<String, Value>) -> Result<(), OverLimit> {
        for (key, value) in fields {
            self.check_json(value, 2).map_err(|mut e| {
                e.at.get_or_insert_with(|| key.clone());
                e
            })?;
        }
        Ok(())
    }

    /// A whole record (envelope and fields), as it will be stored: what a
    /// peer's [`crate::doc::to_json_within`] will measure.
    pub fn check_record(&self, record: &Map<String, Value>) -> Result<(), OverLimit> {
        self.check_fields(record)?;
        let mut size: usize = 2;
        for (key, value) in record {
            // `,"key":value`
            size = size
                .saturating_add(1 + json_len(&Value::String(key.clone())) + 1)
                .saturating_add(json_len(value));
        }
        self.check(Limit::RecordJsonBytes, size.saturating_sub(1) as u64)
    }

    /// The operations of one local change.
    pub fn check_ops(&self, ops: usize) -> Result<(), OverLimit> {
        self.check(Limit::OpsPerChange, ops as u64)?;
        self.check(Limit::OpsPerEntry, ops as u64)
    }
}

/// The length of `value` as compact JSON (what the projection stores), in
/// bytes. Used on values that already passed the depth limit.
pub fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_consistent() {
        assert_eq!(Limits::default().problem(), None);
        let bad = Limits {
            max_ops_per_entry: 10,
            ..Limits::default()
        };
        assert!(bad.problem().unwrap().contains("max_ops_per_entry"));
    }

    #[test]
    fn json_is_measured_without_recursion() {
        let limits = Limits::default();
        let mut deep = json!(1);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        let err = limits.check_json(&deep, 1).unwrap_err();
        assert_eq!(err.limit, Limit::Depth);
        assert!(err.to_string().contains("max_depth"), "{err}");
        // Dropping the value recursively would overflow the test's stack.
        std::mem::forget(deep);

        let mut fields = Map::new();
        fields.insert("title".into(), json!("t"));
        let mut nested = json!({"x": 1});
        for _ in 0..40 {
            nested = json!({ "x": nested });
        }
        fields.insert("notes".into(), nested);
        let err = limits.check_fields(&fields).unwrap_err();
        assert_eq!(err.at.as_deref(), Some("notes"), "{err}");
        assert!(limits.check_json(&json!({"a": [{"b": "c"}]}), 1).is_ok());
    }

    #[test]
    fn a_record_is_measured_as_the_json_a_peer_will_read() {
        let limits = Limits::default();
        let record: Map<String, Value> =
            serde_json::from_value(json!({"id": "x", "links": ["a", "b"], "n": 1.5})).unwrap();
        let exact = json_len(&Value::Object(record.clone()));
        let tight = Limits {
            max_record_json_bytes: exact,
            ..Limits::default()
        };
        assert!(tight.check_record(&record).is_ok());
        let tighter = Limits {
            max_record_json_bytes: exact - 1,
            ..Limits::default()
        };
        let err = tighter.check_record(&record).unwrap_err();
        assert_eq!(err.limit, Limit::RecordJsonBytes);
        assert_eq!(err.value, exact as u64);
        assert!(limits.check_record(&record).is_ok());
    }
}
