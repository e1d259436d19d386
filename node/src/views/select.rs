//! What a view is asked about: the filters as text ([`ViewInput`]), parsed
//! and checked once into a [`Selection`], and the member table the member,
//! region and kind filters are resolved against.
//!
//! The member table is the roster's members (every member of the network,
//! whether or not anything of theirs has arrived), this node's own member,
//! and any member whose profile this node holds; region and kind come from
//! the member's profile, kind from its code when there is no profile.

use std::{collections::BTreeMap, sync::Arc};

use rusqlite::Connection;

use super::{Context, DEFAULT_LIMIT, MAX_LIMIT, ViewError, Where, readable, text};
use crate::{
    identity::NodeId,
    member::{MemberCode, MemberKind},
    records::{Date, Region, Theme},
    store::query::{Cursor, CursorError, KeyPart, Paged, SortKey},
};

/// A view's filters as a client gives them: empty means "no filter".
#[derive(Debug, Clone, Default)]
pub struct ViewInput {
    /// A member code.
    pub member: String,
    /// A region (`africa`, `asia-pacific` …).
    pub region: String,
    /// `state` or `regional-organization`.
    pub kind: String,
    /// A theme (`climate-change` …).
    pub theme: String,
    /// `YYYY`, `START/END` with dates or years, either end open.
    pub period: String,
    /// `YYYY-MM-DD`; today (UTC) if empty.
    pub as_of: String,
    /// Rows to return (0: [`DEFAULT_LIMIT`]).
    pub limit: u32,
    /// Where to continue: the cursor of a previous page (`next`); empty
    /// for the first page.
    pub after: String,
    /// Bytes of rows (their estimated size on the wire) a page holds at
    /// most, beyond its first row; 0: no bound.
    pub max_bytes: usize,
}

/// A closed or half-open range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// The first day, if bounded.
    pub start: Option<Date>,
    /// The last day, if bounded.
    pub end: Option<Date>,
}

impl DateRange {
    /// Parses `YYYY`, or `START/END` where each end is a date, a year or
    /// empty (open).
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        let bad = |why: String| {
            format!(
                "period `{input}`: {why}; write YYYY, YYYY-MM-DD/YYYY-MM-DD or YYYY/YYYY (either \
                 end may be left open)"
            )
        };
        let (start, end) = match input.split_once('/') {
            Some((start, end)) => (start.trim(), end.trim()),
            None => (input, input),
        };
        let day = |text: &str, last: bool| -> Result<Option<Date>, String> {
            if text.is_empty() {
                Ok(None)
            } else if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
                let date = if last {
                    format!("{text}-12-31")
                } else {
                    format!("{text}-01-01")
                };
                Date::parse(&date).map(Some).map_err(bad)
            } else {
                Date::parse(text).map(Some).map_err(bad)
            }
        };
        let range = Self {
            start: day(start, false)?,
            end: day(end, true)?,
        };
        match (range.start, range.end) {
            (None, None) => Err(bad("no start and no end".into())),
            (Some(start), Some(end)) if end < start => {
                Err(bad(format!("it ends ({end}) before it starts ({start})")))
            }
            _ => Ok(range),
        }
    }

    /// Adds "the interval [start_expr, end_expr] (end open if NULL) meets
    /// this range"; rows without a start are left out.
    pub(crate) fn overlaps(&self, w: &mut Where, start_expr: &str, end_expr: &str) {
        let (clause, args) = self.overlap_clause(start_expr, end_expr);
        w.push(&clause, args);
    }

    /// The clause of [`Self::overlaps`] (`?` for each parameter) and its
    /// parameters, to combine with others.
    pub(crate) fn overlap_clause(
        &self,
        start_expr: &str,
        end_expr: &str,
    ) -> (String, Vec<rusqlite::types::Value>) {
        let mut clauses = vec![format!("{start_expr} IS NOT NULL")];
        let mut args = Vec::new();
        if let Some(end) = self.end {
            clauses.push(format!("{start_expr} <= ?"));
            args.push(text(end.to_string()));
        }
        if let Some(start) = self.start {
            clauses.push(format!("({end_expr} IS NULL OR {end_expr} >= ?)"));
            args.push(text(start.to_string()));
        }
        (format!("({})", clauses.join(" AND ")), args)
    }

    /// Adds "the day `expr` lies in this range"; rows without one are left
    /// out.
    pub(crate) fn contains(&self, w: &mut Where, expr: &str) {
        w.push(&format!("{expr} IS NOT NULL"), []);
        if let Some(start) = self.start {
            w.push(&format!("{expr} >= ?"), [text(start.to_string())]);
        }
        if let Some(end) = self.end {
            w.push(&format!("{expr} <= ?"), [text(end.to_string())]);
        }
    }
}

/// The filters a view understands (others are refused, not ignored).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepts {
    /// `theme` applies.
    pub theme: bool,
    /// `period` applies.
    pub period: bool,
}

/// A view's checked filters.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Only this member.
    pub member: Option<MemberCode>,
    /// Only members of this region.
    pub region: Option<Region>,
    /// Only members of this kind (`state`, `regional-organization`).
    pub kind: Option<&'static str>,
    /// Only records on this theme.
    pub theme: Option<Theme>,
    /// Only records in this period.
    pub period: Option<DateRange>,
    /// The day the view is judged on.
    pub as_of: Date,
    /// Rows to return.
    pub limit: usize,
    /// Bytes of rows to return (see [`ViewInput::max_bytes`]).
    pub max_bytes: usize,
    /// The cursor given, if any (read by [`Selection::start`]).
    after: String,
    /// Whether `as_of` was given (rather than today).
    as_of_given: bool,
}

/// The member kinds a filter may name.
const KINDS: &[&str] = &["state", "regional-organization", "secretariat"];

impl Selection {
    /// Parses `input` for a view called `view` that accepts `accepts`.
    pub(crate) fn parse(
        input: &ViewInput,
        view: &str,
        accepts: Accepts,
    ) -> Result<Self, ViewError> {
        let bad = ViewError::BadFilter;
        let given = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        };
        let member = match given(&input.member) {
            Some(code) => Some(
                code.parse::<MemberCode>()
                    .map_err(|e| bad(format!("member `{code}`: {e}")))?,
            ),
            None => None,
        };
        let region = match given(&input.region) {
            Some(region) => Some(Region::parse(&region).ok_or_else(|| {
                let all: Vec<_> = Region::ALL.iter().map(|r| r.as_str()).collect();
                bad(format!(
                    "region `{region}` is not a region; use one of: {}",
                    all.join(", ")
                ))
            })?),
            None => None,
        };
        let kind = match given(&input.kind) {
            Some(kind) => Some(
                KINDS
                    .iter()
                    .copied()
                    .find(|k| *k == kind.to_lowercase().replace(['_', ' '], "-"))
                    .ok_or_else(|| {
                        bad(format!(
                            "kind `{kind}` is not a kind of member; use one of: {}",
                            KINDS.join(", ")
                        ))
                    })?,
            ),
            None => None,
        };
        let theme = match given(&input.theme) {
            Some(_) if !accepts.theme => {
                return Err(bad(format!(
                    "the {view} has no themes to filter on; --theme applies to the NAP tracker, \
                     practices and funding"
                )));
            }
            Some(theme) => Some(Theme::parse(&theme).ok_or_else(|| {
                let all: Vec<_> = Theme::ALL.iter().map(|t| t.as_str()).collect();
                bad(format!(
                    "theme `{theme}` is not a theme; use one of: {}",
                    all.join(", ")
                ))
            })?),
            None => None,
        };
        let period = match given(&input.period) {
            Some(_) if !accepts.period => {
                return Err(bad(format!("the {view} has no period to filter on")));
            }
            Some(period) => Some(DateRange::parse(&period).map_err(bad)?),
            None => None,
        };
        let as_of_given = given(&input.as_of).is_some();
        let as_of = match given(&input.as_of) {
            Some(day) => Date::parse(&day).map_err(|e| bad(format!("as-of: {e}")))?,
            None => today()?,
        };
        let limit = match input.limit {
            0 => DEFAULT_LIMIT,
            n => (n as usize).min(MAX_LIMIT),
        };
        Ok(Self {
            member,
            region,
            kind,
            theme,
            period,
            as_of,
            limit,
            max_bytes: if input.max_bytes == 0 {
                usize::MAX
            } else {
                input.max_bytes
            },
            after: input.after.trim().to_owned(),
            as_of_given,
        })
    }

    /// Where this page starts: `None` for the first page, else the sort key
    /// (of `arity` parts) after which it continues, read from the request's
    /// cursor, which must be one `listing` gave under the same filters
    /// (and, for a view of one thing, the same `scope`). A cursor carries
    /// the day the first page was judged on: a request without `as_of`
    /// takes it (a listing that spans midnight keeps its day), one with
    /// another day is refused.
    pub(crate) fn start(
        &mut self,
        listing: &str,
        arity: usize,
        scope: &str,
    ) -> Result<Option<SortKey>, ViewError> {
        if self.after.is_empty() {
            return Ok(None);
        }
        let bad = |e: CursorError| ViewError::BadFilter(e.to_string());
        let cursor =
            Cursor::decode(&self.after, listing, &self.digest(scope), arity + 1).map_err(bad)?;
        let mut key = cursor.key.into_iter();
        let day = key
            .next()
            .and_then(|day| day.as_text().and_then(|d| Date::parse(d).ok()))
            .ok_or_else(|| bad(CursorError::Malformed("no day")))?;
        if self.as_of_given && day != self.as_of {
            return Err(bad(CursorError::OtherFilters));
        }
        self.as_of = day;
        Ok(Some(key.collect()))
    }

    /// How the cursors of `listing`'s pages under this selection are made.
    pub(crate) fn pager(&self, listing: &'static str, scope: &str) -> Pager {
        Pager {
            listing,
            filters: self.digest(scope),
            as_of: self.as_of,
        }
    }

    /// The digest of the filters (not the day, nor the limits).
    fn digest(&self, scope: &str) -> String {
        let period = self
            .period
            .map(|p| {
                format!(
                    "{}/{}",
                    p.start.map(|d| d.to_string()).unwrap_or_default(),
                    p.end.map(|d| d.to_string()).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        Cursor::digest(&[
            self.member.as_ref().map_or("", MemberCode::as_str),
            self.region.map_or("", Region::as_str),
            self.kind.unwrap_or_default(),
            self.theme.map_or("", Theme::as_str),
            &period,
            scope,
        ])
    }

    /// Whether any member filter (member, region, kind) is set.
    pub fn filters_members(&self) -> bool {
        self.member.is_some() || self.region.is_some() || self.kind.is_some()
    }
}

/// Makes the cursors of one view's pages: the view, a digest of its
/// filters and the day it is judged on, with the sort key of a row.
#[derive(Debug, Clone)]
pub struct Pager {
    listing: &'static str,
    filters: String,
    as_of: Date,
}

impl Pager {
    /// The cursor of the page after the row whose sort key is `key`.
    pub fn cursor(&self, key: &[KeyPart]) -> String {
        let mut parts = vec![KeyPart::Text(self.as_of.to_string())];
        parts.extend_from_slice(key);
        Cursor::new(self.listing, &self.filters, parts).encode()
    }

    /// The cursor of the page after `rows`, if rows follow them.
    pub fn next<T>(&self, rows: &Paged<T>) -> Option<String> {
        rows.next_key().map(|key| self.cursor(key))
    }
}

/// Today in UTC.
fn today() -> Result<Date, ViewError> {
    let now = time::OffsetDateTime::now_utc().date();
    Date::parse(&format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    ))
    .map_err(ViewError::Storage)
}

/// A member of the network as the views see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Its code.
    pub code: String,
    /// `state`, `regional-organization` or `secretariat`.
    pub kind: String,
    /// Its region, from its profile.
    pub region: Option<String>,
    /// Its node keys (from the roster; this node's own key for itself).
    pub keys: Vec<NodeId>,
    /// Its standing in the roster: empty when active (or not in the
    /// roster), otherwise `suspended` or `removed`.
    pub standing: String,
}

impl MemberInfo {
    /// Whether this is the secretariat.
    pub fn is_secretariat(&self) -> bool {
        self.kind == "secretariat"
    }

    /// Whether the member is in good standing (active, or not in the
    /// roster at all): only such members are expected to report, register
    /// or have a plan, and only they count in gap lists and summaries.
    pub fn is_active(&self) -> bool {
        self.standing.is_empty()
    }

    /// Whether the member is expected to take part: active and not the
    /// secretariat.
    pub fn is_expected(&self) -> bool {
        self.is_active() && !self.is_secretariat()
    }
}

/// The standing of `code` in `members` (empty when active or unknown).
pub(crate) fn standing_of(members: &BTreeMap<String, MemberInfo>, code: &str) -> String {
    members
        .get(code)
        .map(|m| m.standing.clone())
        .unwrap_or_default()
}

/// Every member this node knows, by code.
pub(crate) fn member_table(
    conn: &Connection,
    ctx: &Context<'_>,
) -> Result<Arc<BTreeMap<String, MemberInfo>>, ViewError> {
    if let Some(members) = ctx.kept_members() {
        return Ok(members);
    }
    let members = Arc::new(read_member_table(conn, ctx)?);
    ctx.keep_members(&members);
    Ok(members)
}

fn read_member_table(
    conn: &Connection,
    ctx: &Context<'_>,
) -> Result<BTreeMap<String, MemberInfo>, ViewError> {
    let implied = |code: &str| -> String {
        match code.parse::<MemberCode>().map(|c| c.kind()) {
            Ok(MemberKind::RegionalOrganization) => "regional-organization",
            Ok(MemberKind::Secretariat) => "secretariat",
            _ => "state",
        }
        .to_owned()
    };
    let mut members = BTreeMap::new();
    let mut add = |code: &str| {
        members
            .entry(code.to_owned())
            .or_insert_with(|| MemberInfo {
                code: code.to_owned(),
                kind: implied(code),
                region: None,
                keys: Vec::new(),
                standing: String::new(),
            });
    };
    add(ctx.me.as_str());
    let roster = ctx
        .roster
        .read()
        .map_err(|_| ViewError::Storage("the roster lock is poisoned".into()))?;
    for code in roster.members.keys() {
        add(code);
    }
    for (code, member) in &roster.members {
        if let Some(info) = members.get_mut(code) {
            info.standing = match member.status {
                crate::roster::MemberStatus::Active => String::new(),
                other => other.as_str().to_owned(),
            };
            info.keys = member
                .keys
                .keys()
                .filter_map(|hex| NodeId::from_hex(hex))
                .collect();
        }
    }
    if let Some(me) = members.get_mut(ctx.me.as_str())
        && !me.keys.contains(&ctx.key)
    {
        me.keys.push(ctx.key);
    }
    drop(roster);
    let mut w = Where::default();
    w.push("type = 'member'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT owner, json_extract(json, '$.kind'), json_extract(json, '$.region')
         FROM records {}",
        w.sql()
    ))?;
    let mut rows = stmt.query(w.args())?;
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        let kind: Option<String> = row.get(1)?;
        let region: Option<String> = row.get(2)?;
        let info = members.entry(code.clone()).or_insert_with(|| MemberInfo {
            code: code.clone(),
            kind: implied(&code),
            region: None,
            keys: Vec::new(),
            standing: String::new(),
        });
        if let Some(kind) = kind {
            info.kind = kind;
        }
        info.region = region;
    }
    Ok(members)
}

/// The members a selection's member filters keep, in code order.
pub(crate) fn selected_members(
    members: &BTreeMap<String, MemberInfo>,
    selection: &Selection,
) -> Result<Vec<MemberInfo>, ViewError> {
    if let Some(code) = &selection.member
        && !members.contains_key(code.as_str())
    {
        let known: Vec<&str> = members.keys().map(String::as_str).collect();
        return Err(ViewError::NotFound(format!(
            "member {code} is not in the network as this node knows it (members: {})",
            known.join(", ")
        )));
    }
    Ok(members
        .values()
        .filter(|m| {
            selection
                .member
                .as_ref()
                .is_none_or(|c| c.as_str() == m.code)
        })
        .filter(|m| {
            selection
                .region
                .is_none_or(|r| m.region.as_deref() == Some(r.as_str()))
        })
        .filter(|m| selection.kind.is_none_or(|k| k == m.kind))
        .cloned()
        .collect())
}

/// Adds `owner IN (selected members)` when the selection filters members.
pub(crate) fn owned_by_selected(
    w: &mut Where,
    expr: &str,
    selection: &Selection,
    selected: &[MemberInfo],
) {
    if selection.filters_members() {
        let codes: Vec<String> = selected.iter().map(|m| m.code.clone()).collect();
        w.push_in(expr, &codes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_years_dates_and_open_ends() {
        let range = DateRange::parse("2024").unwrap();
        assert_eq!(range.start.unwrap().to_string(), "2024-01-01");
        assert_eq!(range.end.unwrap().to_string(), "2024-12-31");
        let range = DateRange::parse("2023/2025-06-30").unwrap();
        assert_eq!(range.start.unwrap().to_string(), "2023-01-01");
        assert_eq!(range.end.unwrap().to_string(), "2025-06-30");
        let range = DateRange::parse("2024-03-08/").unwrap();
        assert_eq!(range.end, None);
        let err = DateRange::parse("2025/2024").unwrap_err();
        assert!(
            err.contains("ends (2024-12-31) before it starts (2025-01-01)"),
            "{err}"
        );
        let err = DateRange::parse("2024-13-01/").unwrap_err();
        assert!(err.starts_with("period `2024-13-01/`:"), "{err}");
        assert!(err.contains("no month 13"), "{err}");
        assert!(DateRange::parse("/").is_err());
        assert!(DateRange::parse("last year").is_err());
    }

    #[test]
    fn bad_filters_are_named() {
        let accepts = Accepts {
            theme: false,
            period: true,
        };
        let parse = |input: ViewInput| {
            Selection::parse(&input, "directory", accepts)
                .unwrap_err()
                .to_string()
        };
        let err = parse(ViewInput {
            region: "atlantis".into(),
            ..Default::default()
        });
        assert!(
            err.starts_with("region `atlantis` is not a region; use one of: africa"),
            "{err}"
        );
        let err = parse(ViewInput {
            kind: "country".into(),
            ..Default::default()
        });
        assert!(
            err.starts_with("kind `country` is not a kind of member"),
            "{err}"
        );
        let err = parse(ViewInput {
            theme: "climate-change".into(),
            ..Default::default()
        });
        assert!(err.starts_with("the directory has no themes"), "{err}");
        let err = parse(ViewInput {
            member: "Spain".into(),
            ..Default::default()
        });
        assert!(err.starts_with("member `Spain`:"), "{err}");
        let err = parse(ViewInput {
            as_of: "2024-02-30".into(),
            ..Default::default()
        });
        assert!(err.starts_with("as-of: "), "{err}");
        let ok = Selection::parse(
            &ViewInput {
                kind: "Regional organization".into(),
                region: "Africa".into(),
                as_of: "2026-06-30".into(),
                limit: 50_000,
                ..Default::default()
            },
            "directory",
            accepts,
        )
        .unwrap();
        assert_eq!(ok.kind, Some("regional-organization"));
        assert_eq!(ok.region, Some(Region::Africa));
        assert_eq!(ok.limit, MAX_LIMIT);
    }
}
