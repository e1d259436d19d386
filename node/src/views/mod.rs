//! Network-wide views: the focal-point directory, the NAP tracker, practices,
//! funding coordination, decision follow-up and meetings, answered with SQL
//! over the JSON projections (`records`), never by loading documents.
//!
//! Every view runs in one read transaction on a pooled read-only connection
//! (a consistent snapshot, never waiting for the writer), over what this node
//! holds. A node holds only what its member may read; views also skip any
//! row the node's member could not read (another member's `secretariat` or
//! `local` record), so a view never shows more than replication would.
//!
//! The views share one [`Selection`] (member, region, kind, theme, period,
//! and the day `as_of` that "current", "in force" and "overdue" are judged
//! on), parsed from text once, and each ends with its [`Freshness`]: the
//! last entry this node has seen from each member of the selection.
//!
//! - `select.rs`: the selection, its parsing, and the member table (roster
//!   and member profiles) it is resolved against;
//! - `freshness.rs`: the head of each member's logs held here;
//! - one file per view: `directory.rs`, `naps.rs`, `practices.rs`,
//!   `funding.rs`, `follow_up.rs`, `meeting.rs`.

use rusqlite::{Connection, types::Value as SqlValue};
use serde_json::Value;

use crate::{
    identity::NodeId, member::MemberCode, query::Reader, roster::SharedRoster, writer::WriteError,
};

mod directory;
mod follow_up;
mod freshness;
mod funding;
mod meeting;
mod naps;
mod practices;
mod select;

pub use self::{
    directory::{Directory, DirectoryEntry},
    follow_up::{DecisionFollowUp, FollowUpSummary, FollowUpView, MemberUpdate},
    freshness::{Freshness, LogPosition, MemberFreshness},
    funding::{CurrencyTotal, FundingRow, FundingView, PartyTotal},
    meeting::{MeetingSummary, MeetingView, RegistrationRow, StatementRow},
    naps::{NapState, NapSummary, NapTracker, NapTrackerRow, PlanFacts},
    practices::{PracticeRow, PracticesView},
    select::{DateRange, MemberInfo, Selection, ViewInput},
};

/// Why a view could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// A filter is malformed or does not apply to the view.
    #[error("{0}")]
    BadFilter(String),
    /// A filter names something this node does not know (a member, a
    /// meeting).
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error("reading the views failed: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for ViewError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// Rows shown when a request does not say.
pub const DEFAULT_LIMIT: usize = 1_000;
/// The most rows one answer carries (messages are bounded in size).
pub const MAX_LIMIT: usize = 10_000;

/// The views of one node.
#[derive(Clone)]
pub struct Views {
    reader: Reader,
    roster: SharedRoster,
    me: MemberCode,
    key: NodeId,
}

/// What a view's queries need besides the connection.
pub(crate) struct Context<'a> {
    /// The member this node speaks for.
    pub me: &'a MemberCode,
    /// This node's key (its own logs count as its member's).
    pub key: NodeId,
    /// The roster, as last read.
    pub roster: crate::roster::Roster,
}

impl Views {
    /// The views over the database `reader` reads, for the node of `me`
    /// with key `key`; members and their keys come from `roster`.
    pub fn new(reader: Reader, roster: SharedRoster, me: MemberCode, key: NodeId) -> Self {
        Self {
            reader,
            roster,
            me,
            key,
        }
    }

    /// The focal-point directory.
    pub fn directory(&self, input: &ViewInput) -> Result<Directory, ViewError> {
        self.run(|conn, ctx| directory::query(conn, ctx, input))
    }

    /// The NAP tracker.
    pub fn nap_tracker(&self, input: &ViewInput) -> Result<NapTracker, ViewError> {
        self.run(|conn, ctx| naps::query(conn, ctx, input))
    }

    /// Practices by theme and region.
    pub fn practices(&self, input: &ViewInput) -> Result<PracticesView, ViewError> {
        self.run(|conn, ctx| practices::query(conn, ctx, input))
    }

    /// Funding coordination.
    pub fn funding(&self, input: &ViewInput) -> Result<FundingView, ViewError> {
        self.run(|conn, ctx| funding::query(conn, ctx, input))
    }

    /// Decision follow-up.
    pub fn follow_up(&self, input: &ViewInput) -> Result<FollowUpView, ViewError> {
        self.run(|conn, ctx| follow_up::query(conn, ctx, input))
    }

    /// A meeting's registrations and statements.
    pub fn meeting(&self, meeting_id: &str, input: &ViewInput) -> Result<MeetingView, ViewError> {
        self.run(|conn, ctx| meeting::query(conn, ctx, meeting_id, input))
    }

    /// Runs `f` in one read transaction (one consistent snapshot).
    fn run<T>(
        &self,
        f: impl FnOnce(&Connection, &Context<'_>) -> Result<T, ViewError>,
    ) -> Result<T, ViewError> {
        let roster = self.roster.read().map(|r| r.clone()).unwrap_or_default();
        let ctx = Context {
            me: &self.me,
            key: self.key,
            roster,
        };
        let mut answer = None;
        self.reader
            .with(|conn| {
                let tx = conn
                    .unchecked_transaction()
                    .map_err(|e| WriteError::Storage(e.to_string()))?;
                answer = Some(f(&tx, &ctx));
                Ok(())
            })
            .map_err(|e| ViewError::Storage(e.to_string()))?;
        answer.unwrap_or_else(|| Err(ViewError::Storage("the view did not run".into())))
    }
}

/// A `WHERE` clause under construction, with numbered parameters.
#[derive(Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    args: Vec<SqlValue>,
}

impl Where {
    /// Adds a clause; `?` in it stands for the next parameter (`args` in
    /// order).
    pub fn push(&mut self, clause: &str, args: impl IntoIterator<Item = SqlValue>) {
        let text = self.bind(clause, args);
        self.clauses.push(text);
    }

    /// Numbers the parameters of `clause` after those already held and
    /// returns its text without adding it to the `WHERE` clause (for an
    /// `ON` clause of the same statement).
    pub fn bind(&mut self, clause: &str, args: impl IntoIterator<Item = SqlValue>) -> String {
        let mut text = String::new();
        let mut args = args.into_iter();
        for piece in clause.split('?').enumerate() {
            if piece.0 > 0 {
                match args.next() {
                    Some(arg) => {
                        self.args.push(arg);
                        text.push_str(&format!("?{}", self.args.len()));
                    }
                    None => text.push('?'),
                }
            }
            text.push_str(piece.1);
        }
        text
    }

    /// Adds `expr IN (…)` over `values` (false for none).
    pub fn push_in(&mut self, expr: &str, values: &[String]) {
        self.push(&in_list(expr, values.len()), values.iter().map(text));
    }

    /// The clause text, `WHERE …` (empty if nothing was pushed).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The parameters.
    pub fn args(&self) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, SqlValue>> {
        rusqlite::params_from_iter(self.args.iter())
    }
}

/// `expr IN (?, ?, …)` with `n` placeholders; `0` (false) when `n` is 0.
pub(crate) fn in_list(expr: &str, n: usize) -> String {
    if n == 0 {
        "0".to_owned()
    } else {
        format!("{expr} IN ({})", vec!["?"; n].join(", "))
    }
}

/// A text parameter.
pub(crate) fn text(value: impl Into<String>) -> SqlValue {
    SqlValue::Text(value.into())
}

/// The clause that keeps only rows this node's member may read: its own,
/// `network` ones, and on the secretariat's node `secretariat` ones too.
pub(crate) fn readable(w: &mut Where, ctx: &Context<'_>) {
    readable_as(w, ctx, "");
}

/// [`readable`] for the table aliased `alias` (`"d."`).
pub(crate) fn readable_as(w: &mut Where, ctx: &Context<'_>, alias: &str) {
    let (clause, arg) = readable_clause(ctx, alias);
    w.push(&clause, [arg]);
}

/// The clause of [`readable_as`] (one `?`) and its parameter.
pub(crate) fn readable_clause(ctx: &Context<'_>, alias: &str) -> (String, SqlValue) {
    let me = text(ctx.me.as_str().to_owned());
    if ctx.me.as_str() == crate::member::SECRETARIAT_CODE {
        (
            format!("({alias}visibility IN ('network', 'secretariat') OR {alias}owner = ?)"),
            me,
        )
    } else {
        (
            format!("({alias}visibility = 'network' OR {alias}owner = ?)"),
            me,
        )
    }
}

/// A JSON array of strings (as `json_extract` returns it) as a list.
pub(crate) fn string_list(json: Option<String>) -> Vec<String> {
    json.and_then(|text| serde_json::from_str::<Vec<Value>>(&text).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The original-language text of multilingual text (as JSON text).
pub(crate) fn original_text(json: Option<String>) -> String {
    let Some(Value::Object(translations)) = json.and_then(|t| serde_json::from_str(&t).ok()) else {
        return String::new();
    };
    translations
        .values()
        .find(|t| t.get("original").and_then(Value::as_bool) == Some(true))
        .or_else(|| translations.values().next())
        .and_then(|t| t.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Limits `rows` to the selection's limit; returns how many there were.
pub(crate) fn truncate<T>(rows: &mut Vec<T>, limit: usize) -> u64 {
    let total = rows.len() as u64;
    rows.truncate(limit);
    total
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, RwLock};

    use serde_json::json;

    use super::*;
    use crate::{
        records::{RecordType, ValidationContext},
        store::{Store, StoreOptions},
    };

    /// A database holding focal points of ESP and NAM with every
    /// visibility, as no correct node would (a node never receives another
    /// member's `local` records, nor a member node another's `secretariat`
    /// ones): views must still show only what the viewer may read.
    fn store_with_every_visibility() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focal.db");
        let store = Store::open(
            &path,
            &StoreOptions {
                busy_timeout_ms: 1000,
                create: true,
            },
        )
        .unwrap();
        let mut n = 0;
        for owner in ["ESP", "NAM"] {
            for visibility in ["network", "secretariat", "local"] {
                n += 1;
                let ctx = ValidationContext {
                    owner: owner.parse().unwrap(),
                    default_language: "en".into(),
                };
                let mut fields = crate::records::validate(
                    RecordType::FocalPoint,
                    json!({"person_name": format!("{owner} {visibility}"), "posting": "capital",
                           "contact": {"email": "fp@example.org"}})
                    .as_object()
                    .unwrap(),
                    &ctx,
                )
                .unwrap();
                let id = format!("{owner}:focal-point:aaaaaaaaaaa{n}");
                for (key, value) in [
                    ("id", json!(id)),
                    ("type", json!("focal-point")),
                    ("owner", json!(owner)),
                    ("visibility", json!(visibility)),
                    ("created", json!("2026-01-01T00:00:00Z")),
                    ("updated", json!("2026-01-01T00:00:00Z")),
                    ("deleted", json!(false)),
                ] {
                    fields.insert(key.into(), value);
                }
                crate::writer::project(store.conn(), &id, &fields, &[]).unwrap();
            }
        }
        store.close().unwrap();
        (dir, path)
    }

    fn directory_of(path: &std::path::Path, me: &str) -> Vec<String> {
        let views = Views::new(
            Reader::new(path.to_owned(), 1000),
            Arc::new(RwLock::new(crate::roster::Roster::default())),
            me.parse().unwrap(),
            NodeId([7; 32]),
        );
        let input = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        views
            .directory(&input)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.person_name)
            .collect()
    }

    #[test]
    fn views_show_only_what_the_viewer_may_read() {
        let (_dir, path) = store_with_every_visibility();
        assert_eq!(
            directory_of(&path, "ESP"),
            ["ESP local", "ESP network", "ESP secretariat", "NAM network"]
        );
        assert_eq!(
            directory_of(&path, "SEC"),
            [
                "ESP network",
                "ESP secretariat",
                "NAM network",
                "NAM secretariat"
            ]
        );
    }

    #[test]
    fn where_numbers_parameters_in_order() {
        let mut w = Where::default();
        w.push("a = ?", [text("x")]);
        w.push("b IS NULL", []);
        w.push_in("c", &["1".into(), "2".into()]);
        w.push_in("d", &[]);
        assert_eq!(
            w.sql(),
            "WHERE a = ?1 AND b IS NULL AND c IN (?2, ?3) AND 0"
        );
        assert_eq!(w.args.len(), 3);
    }
}
