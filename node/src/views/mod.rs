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
//! Rows come in pages ([`Paged`]): cut at the selection's limit and at its
//! bytes, each page continuing after the sort key of the previous page's
//! last row (a cursor made by [`Pager`]), found by a seek in the view's
//! index (migration 8; each row query names its index with `INDEXED BY`,
//! so that a query the index cannot serve fails in the tests instead of
//! sorting every match). Counts, totals and summaries cover every match and
//! are computed for the first page only (a request without a cursor); a
//! later page reads its rows and the freshness.
//!
//! What every view reads again and only a commit changes, the member
//! table and the heads of the logs, is kept between answers while the
//! writer's generation holds still ([`Views::cached`]), for answers whose
//! snapshot is exactly that generation's state.
//!
//! - `select.rs`: the selection, its parsing, and the member table (roster
//!   and member profiles) it is resolved against;
//! - `freshness.rs`: the head of each member's logs held here;
//! - one file per view: `directory.rs`, `naps.rs`, `practices.rs`,
//!   `funding.rs`, `follow_up.rs`, `meeting.rs`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, atomic::Ordering},
};

use rusqlite::{Connection, types::Value as SqlValue};
use serde_json::Value;

pub use crate::store::query::Paged;
use crate::{
    engine::writer::Generation,
    identity::NodeId,
    log::Audience,
    member::MemberCode,
    roster::SharedRoster,
    store::query::{KeyPart, Reader},
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
    meeting::{MeetingPager, MeetingSummary, MeetingView, RegistrationRow, StatementRow},
    naps::{NapState, NapSummary, NapTracker, NapTrackerRow, PlanFacts},
    practices::{PracticeRow, PracticesView},
    select::{DateRange, MemberInfo, Pager, Selection, ViewInput},
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
    cache: Option<Arc<ViewCache>>,
}

/// What a view's queries need besides the connection.
pub(crate) struct Context<'a> {
    /// The member this node speaks for.
    pub me: &'a MemberCode,
    /// This node's key (its own logs count as its member's).
    pub key: NodeId,
    /// The roster (read when the member table is).
    pub roster: &'a SharedRoster,
    /// The cache, and the writer's generation read before the roster and
    /// before the answer's transaction began.
    cache: Option<(&'a ViewCache, u64)>,
}

/// The member table and the heads of the logs, as read at one generation
/// of the writer (or later: see [`Views::cached`]).
struct ViewCache {
    generation: Generation,
    kept: Mutex<Kept>,
}

/// A log's head as the views read it: its sequence number and when that
/// entry was stored (Unix seconds), or none for a log not held.
pub(crate) type Head = Option<(i64, i64)>;

#[derive(Default)]
struct Kept {
    /// The generation these were read at.
    at: u64,
    members: Option<Arc<BTreeMap<String, MemberInfo>>>,
    heads: HashMap<(NodeId, Audience), Head>,
}

impl Context<'_> {
    /// What the cache keeps for this answer's generation, if anything.
    fn kept<T>(&self, read: impl FnOnce(&Kept) -> Option<T>) -> Option<T> {
        let (cache, at) = self.cache?;
        let kept = cache.kept.lock().ok()?;
        (kept.at == at).then(|| read(&kept)).flatten()
    }

    /// Keeps what was read at this answer's generation (or later), unless
    /// the cache already holds a later generation.
    fn keep(&self, write: impl FnOnce(&mut Kept)) {
        let Some((cache, at)) = self.cache else {
            return;
        };
        // A commit began since the answer's snapshot: what was read (the
        // roster is read apart from the snapshot) may be of either side.
        if cache.generation.load(Ordering::Acquire) != at {
            return;
        }
        let Ok(mut kept) = cache.kept.lock() else {
            return;
        };
        if kept.at < at {
            *kept = Kept {
                at,
                ..Kept::default()
            };
        }
        if kept.at == at {
            write(&mut kept);
        }
    }

    /// The member table, as kept.
    pub(crate) fn kept_members(&self) -> Option<Arc<BTreeMap<String, MemberInfo>>> {
        self.kept(|k| k.members.clone())
    }

    pub(crate) fn keep_members(&self, members: &Arc<BTreeMap<String, MemberInfo>>) {
        self.keep(|k| k.members = Some(members.clone()));
    }

    /// A log's head, as kept: `Some(None)` for a log known to be empty.
    pub(crate) fn kept_head(&self, key: NodeId, audience: Audience) -> Option<Head> {
        self.kept(|k| k.heads.get(&(key, audience)).copied())
    }

    pub(crate) fn keep_heads(&self, heads: &[((NodeId, Audience), Head)]) {
        self.keep(|k| k.heads.extend(heads.iter().copied()));
    }
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
            cache: None,
        }
    }

    /// These views, keeping the member table and the logs' heads between
    /// answers while `generation` (the writer's, [`crate::engine::writer::Writer::generation`])
    /// holds still. Only for a database that nothing but that writer writes.
    pub fn cached(self, generation: Generation) -> Self {
        Self {
            cache: Some(Arc::new(ViewCache {
                generation,
                kept: Mutex::new(Kept::default()),
            })),
            ..self
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
        let mut answer = None;
        self.reader
            .with(|conn| {
                // The cache serves an answer whose snapshot is exactly the
                // state of one generation: even (no commit under way)
                // before the snapshot is taken and unchanged after.
                let before = self
                    .cache
                    .as_deref()
                    .map(|c| (c, c.generation.load(Ordering::Acquire)));
                let tx = conn.unchecked_transaction()?;
                // A deferred transaction takes its snapshot at its first
                // read.
                tx.query_row("SELECT count(*) FROM meta", [], |_| Ok(()))?;
                std::sync::atomic::fence(Ordering::SeqCst);
                let cache = before.filter(|(c, at)| {
                    at.is_multiple_of(2) && c.generation.load(Ordering::Acquire) == *at
                });
                let ctx = Context {
                    me: &self.me,
                    key: self.key,
                    roster: &self.roster,
                    cache,
                };
                answer = Some(f(&tx, &ctx));
                Ok(())
            })
            .map_err(|e| ViewError::Storage(e.to_string()))?;
        answer.unwrap_or_else(|| Err(ViewError::Storage("the view did not run".into())))
    }
}

/// A `WHERE` clause under construction, with numbered parameters.
#[derive(Clone, Default)]
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
    json.and_then(|text| serde_json::from_str::<crate::records::LText>(&text).ok())
        .map(|text| text.original_text().to_owned())
        .unwrap_or_default()
}

/// Adds "the sort key `order` (expressions, ascending) comes after `key`",
/// a row-value comparison. SQLite seeks in an index on a row value only as
/// far as its leading plain columns, so an order that starts with an
/// expression also gets the same bound on its first part alone, to seek
/// on (columns only: the row value itself is the better seek).
pub(crate) fn after_key(w: &mut Where, order: &[&str], key: &[KeyPart]) {
    let column = |e: &&str| {
        e.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    if !order.iter().all(column)
        && let (Some(first), Some(value)) = (order.first(), key.first())
    {
        w.push(&format!("{first} >= ?"), [value.sql()]);
    }
    let places = vec!["?"; key.len()].join(", ");
    w.push(
        &format!("({}) > ({places})", order.join(", ")),
        key.iter().map(KeyPart::sql),
    );
}

/// Reads the sort key of a row: `n` columns from `first`.
pub(crate) fn read_key(
    r: &rusqlite::Row<'_>,
    first: usize,
    n: usize,
) -> rusqlite::Result<Vec<KeyPart>> {
    (first..first + n).map(|i| KeyPart::read(r, i)).collect()
}

/// The views of `me` over the database at `path`, for tests: a roster of
/// ESP, NAM and SEC, all active.
#[cfg(test)]
pub(crate) fn test_views(path: &std::path::Path, me: &str) -> Views {
    let mut roster = crate::roster::Roster::default();
    for code in ["ESP", "NAM", "SEC"] {
        roster.members.insert(
            code.to_owned(),
            crate::roster::RosterMember {
                status: crate::roster::MemberStatus::Active,
                keys: Default::default(),
                endpoints: Vec::new(),
            },
        );
    }
    Views::new(
        Reader::new(path.to_owned(), 1000),
        std::sync::Arc::new(std::sync::RwLock::new(roster)),
        me.parse().unwrap(),
        NodeId([7; 32]),
    )
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
        let (dir, path, store) = crate::store::temp_store();
        let mut n = 0;
        for owner in ["ESP", "NAM"] {
            for visibility in ["network", "secretariat", "local"] {
                n += 1;
                let ctx = ValidationContext {
                    owner: owner.parse().unwrap(),
                    default_language: "en".into(),
                    limits: crate::limits::Limits::default(),
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
                crate::engine::writer::project(store.conn(), &id, &fields, &[]).unwrap();
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
    fn contact_details_show_on_the_owners_node_and_the_secretariats() {
        let (_dir, path) = store_with_every_visibility();
        let input = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        let contacts = |me: &str| -> Vec<(String, Option<String>, bool)> {
            Views::new(
                Reader::new(path.clone(), 1000),
                Arc::new(RwLock::new(crate::roster::Roster::default())),
                me.parse().unwrap(),
                NodeId([7; 32]),
            )
            .directory(&input)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| (e.person_name, e.email, e.contact_withheld))
            .collect()
        };
        let shown = |name: &str| (name.to_owned(), Some("fp@example.org".to_owned()), false);
        assert_eq!(
            contacts("ESP"),
            [
                shown("ESP local"),
                shown("ESP network"),
                shown("ESP secretariat"),
                ("NAM network".to_owned(), None, true),
            ]
        );
        assert_eq!(
            contacts("SEC"),
            [
                shown("ESP network"),
                shown("ESP secretariat"),
                shown("NAM network"),
                shown("NAM secretariat"),
            ]
        );
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

    /// A database holding, for each view, records of ESP and NAM with
    /// every visibility and one deleted network record each, all named
    /// `OWNER VISIBILITY` (or `… deleted`), and the meetings the
    /// secretariat keeps: `SEC:meeting:aaaaaaaaaaaa` (local to it),
    /// `…bbbbbbbbbbbb` (deleted), `…cccccccccccc` (network).
    fn store_of_every_view() -> (tempfile::TempDir, std::path::PathBuf) {
        let (dir, path, store) = crate::store::temp_store();
        let put =
            |id: &str, kind: &str, owner: &str, visibility: &str, deleted: bool, body: Value| {
                let mut fields = body.as_object().unwrap().clone();
                for (key, value) in [
                    ("id", json!(id)),
                    ("type", json!(kind)),
                    ("owner", json!(owner)),
                    ("visibility", json!(visibility)),
                    ("created", json!("2026-01-01T00:00:00Z")),
                    ("updated", json!("2026-01-01T00:00:00Z")),
                    ("deleted", json!(deleted)),
                ] {
                    fields.insert(key.into(), value);
                }
                crate::engine::writer::project(store.conn(), id, &fields, &[]).unwrap();
            };
        let text = |t: &str| json!({"en": {"text": t, "original": true}});
        for (id, visibility, deleted) in [
            ("SEC:meeting:aaaaaaaaaaaa", "local", false),
            ("SEC:meeting:bbbbbbbbbbbb", "network", true),
            ("SEC:meeting:cccccccccccc", "network", false),
        ] {
            put(
                id,
                "meeting",
                "SEC",
                visibility,
                deleted,
                json!({"title": text(id), "kind": "capital-annual",
                       "dates": {"start": "2026-04-20"}}),
            );
        }
        // A record that is not a meeting, under an id decisions point to.
        put(
            "SEC:meeting:dddddddddddd",
            "practice",
            "SEC",
            "network",
            false,
            json!({"title": text("not a meeting")}),
        );
        for (meeting, visibility) in [
            ("SEC:meeting:aaaaaaaaaaaa", "network"),
            ("SEC:meeting:bbbbbbbbbbbb", "secretariat"),
            ("SEC:meeting:dddddddddddd", "local"),
        ] {
            put(
                &format!("SEC:decision:{visibility}"),
                "decision",
                "SEC",
                visibility,
                false,
                json!({"meeting": meeting, "text": text(&format!("SEC {visibility}")),
                       "kind": "commitment", "responsible": {"kind": "all-members"},
                       "due": "2026-01-01", "status": "open"}),
            );
        }
        for owner in ["ESP", "NAM"] {
            for (visibility, deleted) in [
                ("network", false),
                ("secretariat", false),
                ("local", false),
                ("network", true),
            ] {
                let name = if deleted {
                    format!("{owner} deleted")
                } else {
                    format!("{owner} {visibility}")
                };
                let id = |kind: &str| format!("{owner}:{kind}:{}", name.replace(' ', "-"));
                put(
                    &id("practice"),
                    "practice",
                    owner,
                    visibility,
                    deleted,
                    json!({"title": text(&name), "kind": "best-practice",
                           "themes": ["climate-change"]}),
                );
                put(
                    &id("nap"),
                    "nap",
                    owner,
                    visibility,
                    deleted,
                    json!({"title": text(&name), "status": "in-force",
                           "period": {"start": "2020-01-01", "end": "2030-12-31"}}),
                );
                put(
                    &id("funding"),
                    "funding",
                    owner,
                    visibility,
                    deleted,
                    json!({"title": name, "donor": {"kind": "member", "code": owner},
                           "recipient": {"kind": "other", "name": name},
                           "channel": "bilateral", "kind": "technical",
                           "amount": 1, "currency": "EUR"}),
                );
                put(
                    &id("follow-up"),
                    "follow-up",
                    owner,
                    visibility,
                    deleted,
                    json!({"decision": "SEC:decision:network", "status": "met",
                           "date": "2026-02-01", "text": text(&name)}),
                );
                put(
                    &id("registration"),
                    "registration",
                    owner,
                    visibility,
                    deleted,
                    json!({"meeting": "SEC:meeting:cccccccccccc",
                           "delegates": [{"name": name}]}),
                );
                put(
                    &id("statement"),
                    "statement",
                    owner,
                    visibility,
                    deleted,
                    json!({"meeting": "SEC:meeting:cccccccccccc", "speaker": name,
                           "text": text(&name)}),
                );
            }
        }
        store.close().unwrap();
        (dir, path)
    }

    /// The views of `me` over `path`, with ESP and NAM in the roster.
    fn views_of(path: &std::path::Path, me: &str) -> Views {
        test_views(path, me)
    }

    #[test]
    fn every_view_shows_only_what_the_viewer_may_read_and_nothing_deleted() {
        let (_dir, path) = store_of_every_view();
        let input = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        // What each viewer may read of ESP's and NAM's records.
        let on_esp = ["ESP local", "ESP network", "ESP secretariat", "NAM network"];
        let on_sec = [
            "ESP network",
            "ESP secretariat",
            "NAM network",
            "NAM secretariat",
        ];
        for (me, expected) in [("ESP", &on_esp), ("SEC", &on_sec)] {
            let views = views_of(&path, me);
            let sorted = |mut names: Vec<String>| {
                names.sort();
                names
            };

            let practices = views.practices(&input).unwrap();
            let names: Vec<String> = practices
                .practices
                .iter()
                .map(|p| p.title.clone())
                .filter(|t| t != "not a meeting")
                .collect();
            assert_eq!(sorted(names), expected, "practices on {me}");
            let climate = practices
                .by_theme
                .iter()
                .find(|(t, _)| t == "climate-change")
                .unwrap();
            assert_eq!(climate.1, 4, "practices by theme on {me}");

            let naps = views.nap_tracker(&input).unwrap();
            let plans: Vec<(String, u32)> = naps
                .members
                .iter()
                .map(|r| (r.member.clone(), r.plans))
                .collect();
            let counted = |owner: &str| expected.iter().filter(|n| n.starts_with(owner)).count();
            assert_eq!(
                plans,
                [
                    ("ESP".to_owned(), counted("ESP") as u32),
                    ("NAM".to_owned(), counted("NAM") as u32)
                ],
                "plans on {me}"
            );

            let funding = views.funding(&input).unwrap();
            let names: Vec<String> = funding
                .commitments
                .iter()
                .map(|c| c.title.clone())
                .collect();
            assert_eq!(sorted(names), expected, "funding on {me}");
            assert_eq!(funding.totals[0].amount, 4.0, "funding totals on {me}");

            let follow = views.follow_up(&input).unwrap();
            let decisions: Vec<(&str, Option<&str>)> = follow
                .decisions
                .iter()
                .map(|d| (d.id.as_str(), d.meeting_title.as_deref()))
                .collect();
            if me == "SEC" {
                // The local meeting is the secretariat's own; the deleted
                // meeting and the practice under a meeting's id give no
                // title, but their decisions are listed.
                assert_eq!(
                    decisions,
                    [
                        ("SEC:decision:local", None),
                        (
                            "SEC:decision:network",
                            Some("SEC:meeting:aaaaaaaaaaaa (2026-04-20)")
                        ),
                        ("SEC:decision:secretariat", None),
                    ]
                );
            } else {
                // ESP may not read the secretariat's local meeting.
                assert_eq!(decisions, [("SEC:decision:network", None)]);
            }
            let on_network = follow
                .decisions
                .iter()
                .find(|d| d.id == "SEC:decision:network")
                .unwrap();
            let updates: Vec<String> = on_network.updates.iter().map(|u| u.id.clone()).collect();
            let wanted: Vec<String> = expected
                .iter()
                .map(|n| {
                    let (owner, vis) = n.split_once(' ').unwrap();
                    format!("{owner}:follow-up:{owner}-{vis}")
                })
                .collect();
            // One update per member: the latest readable one (all have the
            // same date; the greatest id wins).
            let latest = |owner: &str| {
                wanted
                    .iter()
                    .filter(|w| w.starts_with(owner))
                    .max()
                    .unwrap()
                    .clone()
            };
            assert_eq!(updates, [latest("ESP"), latest("NAM")], "updates on {me}");

            let meeting = views.meeting("SEC:meeting:cccccccccccc", &input).unwrap();
            let names: Vec<String> = meeting
                .registrations
                .iter()
                .flat_map(|r| r.delegates.clone())
                .collect();
            assert_eq!(sorted(names), expected, "registrations on {me}");
            let names: Vec<String> = meeting
                .statements
                .iter()
                .map(|s| s.speaker.clone())
                .collect();
            assert_eq!(sorted(names), expected, "statements on {me}");
            assert_eq!(meeting.summary.delegates, 4);
            assert_eq!(meeting.summary.statements, 4);
            assert_eq!(meeting.summary.registered_members, 2);
            // Cut at the limit, counted in full.
            let one = ViewInput {
                limit: 1,
                ..input.clone()
            };
            let meeting = views.meeting("SEC:meeting:cccccccccccc", &one).unwrap();
            assert_eq!(meeting.registrations.len(), 1);
            assert_eq!(meeting.statements.len(), 1);
            assert_eq!(meeting.summary.registrations, 4);
            assert_eq!(meeting.summary.statements, 4);
            let practices = views.practices(&one).unwrap();
            assert_eq!(practices.practices.len(), 1);
            assert_eq!(practices.total, 5, "four readable and the stray one");
            assert_eq!(
                views
                    .meeting("SEC:meeting:bbbbbbbbbbbb", &input)
                    .unwrap_err()
                    .to_string(),
                "no meeting SEC:meeting:bbbbbbbbbbbb on this node (`focal meeting list` shows \
                 the meetings)",
                "a deleted meeting is not found"
            );
        }
    }

    /// Adds decisions of every segment of the follow-up order (overdue,
    /// dated, undated; done ones in the past), more practices, funding with
    /// shared donors, and focal points, to [`store_of_every_view`]'s.
    fn add_rows_to_page_through(path: &std::path::Path) {
        let store = Store::open(
            path,
            &StoreOptions {
                busy_timeout_ms: 1000,
                create: false,
            },
        )
        .unwrap();
        let put = |id: &str, kind: &str, owner: &str, body: Value| {
            let mut fields = body.as_object().unwrap().clone();
            for (key, value) in [
                ("id", json!(id)),
                ("type", json!(kind)),
                ("owner", json!(owner)),
                ("visibility", json!("network")),
                (
                    "created",
                    json!(format!("2026-01-0{}T00:00:00Z", id.len() % 9 + 1)),
                ),
                ("updated", json!("2026-01-01T00:00:00Z")),
                ("deleted", json!(false)),
            ] {
                fields.insert(key.into(), value);
            }
            crate::engine::writer::project(store.conn(), id, &fields, &[]).unwrap();
        };
        let text = |t: &str| json!({"en": {"text": t, "original": true}});
        for (n, (due, status)) in [
            (Some("2025-01-01"), "open"),
            (Some("2025-01-01"), "done"),
            (Some("2024-05-01"), "in-progress"),
            (Some("2027-01-01"), "open"),
            (None, "open"),
            (None, "dropped"),
            (Some("2026-06-30"), "open"),
            (Some("2026-06-29"), "dropped"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut body = json!({"meeting": "SEC:meeting:cccccccccccc",
                "text": text(&format!("decision {n}")), "kind": "commitment",
                "responsible": {"kind": "member", "code": if n % 2 == 0 { "ESP" } else { "NAM" }},
                "status": status});
            if let Some(due) = due {
                body["due"] = json!(due);
            }
            put(&format!("SEC:decision:paged{n}"), "decision", "SEC", body);
        }
        for n in 0..7 {
            let owner = if n % 3 == 0 { "NAM" } else { "ESP" };
            put(
                &format!("{owner}:practice:paged{n}"),
                "practice",
                owner,
                json!({"title": text(if n < 4 { "Same title" } else { "Other" }),
                       "kind": "lesson-learned", "themes": ["peacekeeping"]}),
            );
            put(
                &format!("{owner}:funding:paged{n}"),
                "funding",
                owner,
                json!({"title": "paged", "donor": {"kind": "member", "code": "ESP"},
                       "recipient": {"kind": "other", "name": format!("Org {}", n % 2)},
                       "channel": "bilateral", "kind": "financial",
                       "amount": n, "currency": "EUR"}),
            );
            put(
                &format!("{owner}:focal-point:paged{n}"),
                "focal-point",
                owner,
                json!({"person_name": format!("Person {}", n % 2), "posting": "capital",
                       "designation": if n % 2 == 0 { "primary" } else { "alternate" }}),
            );
            put(
                &format!("{owner}:registration:paged{n}"),
                "registration",
                owner,
                json!({"meeting": "SEC:meeting:cccccccccccc", "delegates": [{"name": "D"}]}),
            );
            put(
                &format!("{owner}:statement:paged{n}"),
                "statement",
                owner,
                json!({"meeting": "SEC:meeting:cccccccccccc", "speaker": "S",
                       "text": text("said")}),
            );
        }
        store.close().unwrap();
    }

    /// Every page of one view, from the first, as (row ids, summaries seen
    /// after the first page).
    fn pages<V>(
        input: &ViewInput,
        view: impl Fn(&ViewInput) -> Result<V, ViewError>,
        ids_and_next: impl Fn(&V) -> (Vec<String>, Option<String>),
    ) -> Vec<Vec<String>> {
        let mut input = input.clone();
        let mut pages = Vec::new();
        loop {
            let answer = view(&input).unwrap();
            let (ids, next) = ids_and_next(&answer);
            pages.push(ids);
            match next {
                Some(next) => input.after = next,
                None => return pages,
            }
            assert!(pages.len() < 1_000, "the pages never end");
        }
    }

    #[test]
    fn every_view_pages_through_every_row_once_in_order() {
        let (_dir, path) = store_of_every_view();
        add_rows_to_page_through(&path);
        let all = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        // One row a page by count, then by bytes (a page always holds one),
        // then a few a page; with and without a member filter.
        let ways = [
            ViewInput {
                limit: 1,
                ..all.clone()
            },
            ViewInput {
                max_bytes: 1,
                ..all.clone()
            },
            ViewInput {
                limit: 3,
                ..all.clone()
            },
            ViewInput {
                limit: 2,
                member: "NAM".into(),
                ..all.clone()
            },
        ];
        for me in ["ESP", "SEC"] {
            let views = views_of(&path, me);
            for paged in &ways {
                let whole = ViewInput {
                    limit: 0,
                    max_bytes: 0,
                    ..paged.clone()
                };
                let check = |name: &str, pages: Vec<Vec<String>>, whole: Vec<Vec<String>>| {
                    assert_eq!(whole.len(), 1, "{name}: the whole view is one page");
                    assert!(
                        pages
                            .iter()
                            .all(|p| p.len() <= paged.limit.max(1) as usize || paged.limit == 0),
                        "{name}: {pages:?}"
                    );
                    if paged.max_bytes == 1 {
                        assert!(pages.iter().all(|p| p.len() <= 1), "{name}: {pages:?}");
                    }
                    let flat: Vec<String> = pages.into_iter().flatten().collect();
                    assert_eq!(flat, whole[0], "{name} on {me}, {paged:?}");
                };
                let directory = |i: &ViewInput| views.directory(i);
                let ids = |d: &Directory| {
                    (
                        d.entries.iter().map(|e| e.id.clone()).collect(),
                        d.pager.next(&d.entries),
                    )
                };
                check(
                    "directory",
                    pages(paged, directory, ids),
                    pages(&whole, directory, ids),
                );
                let naps = |i: &ViewInput| views.nap_tracker(i);
                let ids = |t: &NapTracker| {
                    (
                        t.members.iter().map(|r| r.member.clone()).collect(),
                        t.pager.next(&t.members),
                    )
                };
                check("naps", pages(paged, naps, ids), pages(&whole, naps, ids));
                let practices = |i: &ViewInput| views.practices(i);
                let ids = |p: &PracticesView| {
                    (
                        p.practices.iter().map(|r| r.id.clone()).collect(),
                        p.pager.next(&p.practices),
                    )
                };
                check(
                    "practices",
                    pages(paged, practices, ids),
                    pages(&whole, practices, ids),
                );
                let funding = |i: &ViewInput| views.funding(i);
                let ids = |f: &FundingView| {
                    (
                        f.commitments.iter().map(|r| r.id.clone()).collect(),
                        f.pager.next(&f.commitments),
                    )
                };
                check(
                    "funding",
                    pages(paged, funding, ids),
                    pages(&whole, funding, ids),
                );
                let follow_up = |i: &ViewInput| views.follow_up(i);
                let ids = |f: &FollowUpView| {
                    (
                        f.decisions.iter().map(|r| r.id.clone()).collect(),
                        f.pager.next(&f.decisions),
                    )
                };
                check(
                    "follow-up",
                    pages(paged, follow_up, ids),
                    pages(&whole, follow_up, ids),
                );
                let meeting = |i: &ViewInput| views.meeting("SEC:meeting:cccccccccccc", i);
                let ids = |m: &MeetingView| {
                    (
                        m.registrations
                            .iter()
                            .map(|r| r.id.clone())
                            .chain(m.statements.iter().map(|s| s.id.clone()))
                            .collect(),
                        m.pager.next(&m.registrations, &m.statements),
                    )
                };
                let sorted = |pages: Vec<Vec<String>>| {
                    // The two lists page side by side: compare each list.
                    let mut flat: Vec<String> = pages.into_iter().flatten().collect();
                    flat.sort();
                    vec![flat]
                };
                assert_eq!(
                    sorted(pages(paged, meeting, ids)),
                    sorted(pages(&whole, meeting, ids)),
                    "meeting on {me}, {paged:?}"
                );
            }
        }
        // The follow-up order: overdue first (by due date), then the
        // others by due date, undated last.
        let follow = views_of(&path, "SEC").follow_up(&all).unwrap();
        let order: Vec<(bool, Option<&str>)> = follow
            .decisions
            .iter()
            .map(|d| (d.overdue, d.due.as_deref()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_by_key(|(overdue, due)| (!overdue, due.is_none(), *due));
        assert_eq!(order, sorted);
        assert!(order.contains(&(true, Some("2024-05-01"))));
        assert!(order.contains(&(false, Some("2025-01-01"))), "done");
        assert!(order.contains(&(false, Some("2026-06-30"))), "due today");
        assert!(order.contains(&(false, None)));
    }

    #[test]
    fn a_later_page_carries_rows_only_and_keeps_the_first_pages_day() {
        let (_dir, path) = store_of_every_view();
        add_rows_to_page_through(&path);
        let views = views_of(&path, "SEC");
        let first = views
            .practices(&ViewInput {
                as_of: "2026-06-30".into(),
                limit: 2,
                ..Default::default()
            })
            .unwrap();
        assert!(first.total > 2);
        let next = first.pager.next(&first.practices).unwrap();
        // Without as_of, the cursor's day; with another, refused.
        let later = views
            .practices(&ViewInput {
                limit: 2,
                after: next.clone(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(later.total, 0);
        assert_eq!(later.freshness.as_of.to_string(), "2026-06-30");
        let err = views
            .practices(&ViewInput {
                as_of: "2026-07-01".into(),
                after: next.clone(),
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, ViewError::BadFilter(_)), "{err}");
        assert!(err.to_string().contains("other filters"), "{err}");
        // Another filter, another view, garbage: refused, saying why.
        for (input, why) in [
            (
                ViewInput {
                    theme: "peacekeeping".into(),
                    after: next.clone(),
                    ..Default::default()
                },
                "other filters",
            ),
            (
                ViewInput {
                    after: "garbage".into(),
                    ..Default::default()
                },
                "not one this node gave",
            ),
        ] {
            let err = views.practices(&input).unwrap_err();
            assert!(matches!(err, ViewError::BadFilter(_)), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        let err = views
            .funding(&ViewInput {
                after: next,
                ..Default::default()
            })
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("continues the practices view, not the funding view"),
            "{err}"
        );
    }

    #[test]
    fn each_page_of_a_view_is_read_through_its_index() {
        // `INDEXED BY` makes a query its index cannot serve fail; here the
        // plans show a search (a seek), not a sort of every match.
        let (_dir, path) = store_of_every_view();
        let conn = Store::open_reader(&path, 1000).unwrap();
        for (index, sql) in [
            (
                "records_practices",
                "SELECT id FROM records INDEXED BY records_practices
                 WHERE type = 'practice' AND (owner, title, id) > ('A', 'b', 'c')
                 ORDER BY owner, title, id LIMIT 10",
            ),
            (
                "records_directory",
                "SELECT id FROM records INDEXED BY records_directory
                 WHERE type = 'focal-point' AND owner >= 'A'
                 ORDER BY owner, CASE json_extract(json, '$.designation') WHEN 'primary' THEN 0
                     WHEN 'alternate' THEN 1 ELSE 2 END,
                     coalesce(json_extract(json, '$.person_name'), ''), id LIMIT 10",
            ),
            (
                "records_decisions",
                "SELECT id FROM records d INDEXED BY records_decisions
                 WHERE d.type = 'decision' AND json_extract(d.json, '$.due') >= 'x'
                 ORDER BY json_extract(d.json, '$.due'), d.id LIMIT 10",
            ),
            (
                "records_type_updated",
                "SELECT id FROM records WHERE type <> 'focal-point-contact' AND type = 'nap'
                 AND (updated, id) < ('x', 'y') ORDER BY updated DESC, id DESC LIMIT 10",
            ),
            (
                "records_updated",
                "SELECT id FROM records WHERE type <> 'focal-point-contact'
                 AND (updated, id) < ('x', 'y') ORDER BY updated DESC, id DESC LIMIT 10",
            ),
            (
                "records_owner_created",
                "SELECT created, id FROM records WHERE owner = 'ESP'
                 AND type <> 'focal-point-contact' AND (created, id) > ('', '')
                 ORDER BY created, id LIMIT 10",
            ),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(
                ["records", "d"].iter().any(|table| {
                    plan.contains(&format!("SEARCH {table} USING INDEX {index}"))
                        || plan.contains(&format!("SEARCH {table} USING COVERING INDEX {index}"))
                }),
                "{index}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{index}: {plan}");
        }
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

    /// The member table and the logs' heads are kept between answers, and
    /// every commit of the writer makes the next answer read them again: a
    /// member's profile and its entries show at once.
    #[test]
    fn kept_parts_of_an_answer_follow_every_commit_of_the_writer() {
        use crate::engine::writer::WriteRequest;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focal.db");
        let (writer, thread) = crate::engine::writer::test_writer(&path);
        let me = NodeId(
            ed25519_dalek::SigningKey::from_bytes(&[9; 32])
                .verifying_key()
                .to_bytes(),
        );
        let views = Views::new(
            Reader::new(path.clone(), 1000),
            Arc::new(RwLock::new(crate::roster::Roster::default())),
            "ESP".parse().unwrap(),
            me,
        )
        .cached(writer.generation());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let create = |kind, fields: serde_json::Value| {
            runtime
                .block_on(writer.write(WriteRequest::Create {
                    kind,
                    fields: fields.as_object().unwrap().clone(),
                    visibility: crate::records::Visibility::Network,
                    language: "en".into(),
                    request_id: None,
                }))
                .unwrap()
        };
        let input = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        let esp = |d: &Directory| {
            let f = d.freshness.members.iter().find(|m| m.member == "ESP");
            (d.entries.len(), f.map_or(0, |f| f.entries))
        };
        // Twice: the second answer is made from what the first kept.
        for _ in 0..2 {
            assert_eq!(esp(&views.directory(&input).unwrap()), (0, 0));
        }
        create(
            RecordType::FocalPoint,
            json!({"person_name": "Ana Invented", "posting": "capital"}),
        );
        for _ in 0..2 {
            assert_eq!(esp(&views.directory(&input).unwrap()), (1, 1));
        }
        let region = |v: &Views| v.directory(&input).unwrap().entries[0].region.clone();
        assert_eq!(region(&views), None);
        create(
            RecordType::Member,
            json!({"code": "ESP", "name": "Spain", "region": "western-europe-others"}),
        );
        for _ in 0..2 {
            assert_eq!(region(&views).as_deref(), Some("western-europe-others"));
            assert_eq!(esp(&views.directory(&input).unwrap()), (1, 2));
        }
        // What an answer keeps is what reading everything again gives.
        let fresh = Views::new(
            Reader::new(path.clone(), 1000),
            Arc::new(RwLock::new(crate::roster::Roster::default())),
            "ESP".parse().unwrap(),
            me,
        );
        assert_eq!(
            format!("{:?}", views.directory(&input).unwrap().freshness),
            format!("{:?}", fresh.directory(&input).unwrap().freshness)
        );
        assert_eq!(
            format!("{:?}", views.nap_tracker(&input).unwrap().members),
            format!("{:?}", fresh.nap_tracker(&input).unwrap().members)
        );
        runtime.block_on(writer.shutdown());
        drop(writer);
        thread.join().unwrap();
    }

    /// The kept member table is used while the generation holds still and
    /// even, and is neither used nor filled while it is odd (a commit under
    /// way): written behind the cache's back, a member's region shows only
    /// once the generation says a commit may have happened.
    #[test]
    fn kept_parts_are_used_only_between_two_commits() {
        let (_dir, path) = store_with_every_visibility();
        let generation: crate::engine::writer::Generation = Default::default();
        let views = Views::new(
            Reader::new(path.clone(), 1000),
            Arc::new(RwLock::new(crate::roster::Roster::default())),
            "SEC".parse().unwrap(),
            NodeId([7; 32]),
        )
        .cached(generation.clone());
        let input = ViewInput {
            as_of: "2026-06-30".into(),
            ..Default::default()
        };
        let region = || {
            views
                .directory(&input)
                .unwrap()
                .entries
                .iter()
                .find(|e| e.member == "ESP")
                .and_then(|e| e.region.clone())
        };
        assert_eq!(region(), None);
        // A member profile written without the writer: no generation moves.
        let write_region = |region: &str| {
            let store = Store::open(
                &path,
                &StoreOptions {
                    busy_timeout_ms: 1000,
                    create: false,
                },
            )
            .unwrap();
            let profile = json!({
                "id": "ESP:member:aaaaaaaaaaaa", "type": "member", "owner": "ESP",
                "visibility": "network", "deleted": false,
                "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
                "code": "ESP", "kind": "state", "name": "Spain", "region": region
            });
            crate::engine::writer::project(
                store.conn(),
                "ESP:member:aaaaaaaaaaaa",
                profile.as_object().unwrap(),
                &[],
            )
            .unwrap();
            store.close().unwrap();
        };
        write_region("africa");
        // Kept: the answer is made from the member table read before.
        assert_eq!(region(), None);
        // A commit under way: read again, and not kept (a second change is
        // seen by the next answer at the same generation).
        generation.store(1, std::sync::atomic::Ordering::Release);
        assert_eq!(region().as_deref(), Some("africa"));
        write_region("asia-pacific");
        assert_eq!(region().as_deref(), Some("asia-pacific"));
        // Committed: read again and kept from now on.
        generation.store(2, std::sync::atomic::Ordering::Release);
        assert_eq!(region().as_deref(), Some("asia-pacific"));
        write_region("africa");
        assert_eq!(region().as_deref(), Some("asia-pacific"));
    }
}
