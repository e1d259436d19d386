//! Follow-up of decisions: every decision of every meeting with its
//! responsible party, due date, status, and the latest update from each
//! member; overdue decisions first.
//!
//! A decision is overdue if it is due before `as_of` and neither done nor
//! dropped. A member's latest update is the one with the latest date (a
//! year-only update counts as the year's last day), then the latest written.
//! The member filters keep decisions a selected member is responsible for,
//! decisions for all members, and decisions a selected member reported on;
//! only selected members' updates are shown. The period filter applies to
//! the due date. Suspended and removed members are never expected to report
//! (they are left out of `not_reported`); their updates are shown, marked
//! with their standing.
//!
//! The meeting is joined only if it is a meeting this node's member may
//! read and is not deleted. Decisions of a deleted (or unreadable) meeting
//! are still listed — a decision is a record of its own, deleted on its
//! own — with its meeting's id and no meeting title.
//!
//! The order depends on `as_of` (what is overdue), so no one index holds
//! it; it is read as three segments of the `records_decisions` index (due
//! date, id): the overdue decisions, the other dated ones, the undated
//! ones. A cursor names its segment and the due date and id of the last row
//! shown. The member filters are SQL (a selected member responsible, all
//! members, or an update by a selected member: `records_follow_ups`), so a
//! page holds only decisions the view lists; the updates are read for the
//! page's decisions only, from `follow_up_facts` (migration 10: each
//! follow-up's fields read out of its JSON once, when it is written, by
//! the database's triggers), and the summary, on the first page, counts
//! every match.

use rusqlite::Connection;

use super::{
    Context, Freshness, MemberInfo, Paged, Pager, ViewError, ViewInput, Where, after_key,
    freshness, in_list, original_text, readable, readable_as, readable_clause,
    select::{self, Accepts, Selection},
    text,
};
use crate::store::query::{CursorError, KeyPart, ROW_FRAMING, SCALAR_SIZE, list_size, text_size};

/// A decision's due date (the first column of `records_decisions`).
const DUE: &str = "json_extract(d.json, '$.due')";

/// Whether a decision is overdue: due before `as_of` (the parameter) and
/// neither done nor dropped (NULL when its status is missing: not overdue).
const OVERDUE: &str = "(json_extract(d.json, '$.due') < ? \
     AND json_extract(d.json, '$.status') NOT IN ('done', 'dropped'))";

/// The segments of the order, in order.
const SEGMENTS: [Segment; 3] = [Segment::Overdue, Segment::Dated, Segment::Undated];

/// The name its cursors carry.
const LISTING: &str = "follow-up view";

/// A run of the view's order read from `records_decisions` in index order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Overdue decisions, by due date, then id.
    Overdue,
    /// The others with a due date, by due date, then id.
    Dated,
    /// The others, by id.
    Undated,
}

impl Segment {
    fn code(self) -> i64 {
        match self {
            Self::Overdue => 0,
            Self::Dated => 1,
            Self::Undated => 2,
        }
    }

    /// Which decisions it holds, after `key` (its due date and id).
    fn restrict(self, w: &mut Where, as_of: &str, key: Option<&[KeyPart]>) {
        match self {
            Self::Overdue => w.push(OVERDUE, [text(as_of)]),
            Self::Dated => {
                w.push(&format!("{DUE} IS NOT NULL"), []);
                w.push(&format!("NOT ifnull({OVERDUE}, 0)"), [text(as_of)]);
            }
            Self::Undated => w.push(&format!("{DUE} IS NULL"), []),
        }
        match (self, key) {
            (Self::Undated, Some([_, id])) => w.push("d.id > ?", [id.sql()]),
            (_, Some(key)) => after_key(w, &[DUE, "d.id"], key),
            (_, None) => {}
        }
    }
}

/// The follow-up view.
#[derive(Debug, Clone)]
pub struct FollowUpView {
    /// Overdue decisions first (earliest due first), then the others by due
    /// date (undated last), then by id: one page.
    pub decisions: Paged<DecisionFollowUp>,
    /// Every match (on the first page; 0 on later pages).
    pub total: u64,
    /// Counts over every match (on the first page; zeros on later pages).
    pub summary: FollowUpSummary,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: Pager,
}

/// Counts of decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpSummary {
    /// Decisions.
    pub decisions: u64,
    /// Overdue.
    pub overdue: u64,
    /// Neither done nor dropped.
    pub open: u64,
}

/// One decision and its updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFollowUp {
    /// The decision's id.
    pub id: String,
    /// Its meeting's id.
    pub meeting_id: String,
    /// Its meeting's title, if this node holds the meeting.
    pub meeting_title: Option<String>,
    /// The decision (original language).
    pub text: String,
    /// `recommendation`, `commitment`, `operational-decision`.
    pub kind: String,
    /// A member code, `secretariat`, `troika` or `all-members`.
    pub responsible: String,
    /// Due date.
    pub due: Option<String>,
    /// `open`, `in-progress`, `done`, `dropped`.
    pub status: String,
    /// Due before `as_of`, not done or dropped.
    pub overdue: bool,
    /// The latest update of each member, in member order.
    pub updates: Vec<MemberUpdate>,
    /// Members expected to report that have not.
    pub not_reported: Vec<String>,
}

impl DecisionFollowUp {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        let updates: usize = self
            .updates
            .iter()
            .map(|u| {
                [
                    Some(&u.member),
                    Some(&u.id),
                    Some(&u.status),
                    u.when.as_ref(),
                    Some(&u.text),
                    Some(&u.standing),
                ]
                .iter()
                .flatten()
                .map(|t| text_size(t))
                .sum::<usize>()
                    + ROW_FRAMING
            })
            .sum();
        [
            Some(&self.id),
            Some(&self.meeting_id),
            self.meeting_title.as_ref(),
            Some(&self.text),
            Some(&self.kind),
            Some(&self.responsible),
            self.due.as_ref(),
            Some(&self.status),
        ]
        .iter()
        .flatten()
        .map(|t| text_size(t))
        .sum::<usize>()
            + updates
            + list_size(&self.not_reported)
            + SCALAR_SIZE
            + ROW_FRAMING
    }
}

/// A member's latest update on a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberUpdate {
    /// The member.
    pub member: String,
    /// The follow-up record's id.
    pub id: String,
    /// `exceeded`, `met`, `limited`, `none`.
    pub status: String,
    /// Its date, or its year.
    pub when: Option<String>,
    /// The update (original language).
    pub text: String,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<FollowUpView, ViewError> {
    let mut selection = Selection::parse(
        input,
        "follow-up view",
        Accepts {
            theme: false,
            period: true,
        },
    )?;
    let after = selection.start(LISTING, 3, "")?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    let as_of = selection.as_of.to_string();

    // The summary, over every match (first page only).
    let mut summary = FollowUpSummary::default();
    if after.is_none() {
        let mut w = Where::default();
        let overdue = w.bind(&format!("ifnull({OVERDUE}, 0)"), [text(as_of.clone())]);
        listed(&mut w, ctx, &selection, &selected);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT json_extract(d.json, '$.status'), {overdue} FROM records d {}",
            w.sql()
        ))?;
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let status: String = r.get::<_, Option<String>>(0)?.unwrap_or_default();
            summary.decisions += 1;
            summary.overdue += u64::from(r.get::<_, bool>(1)?);
            summary.open += u64::from(status != "done" && status != "dropped");
        }
    }

    // The page: the segments from the cursor's on, each in index order.
    let (first, mut key) = match &after {
        None => (0, None),
        Some(key) => {
            let segment = SEGMENTS
                .iter()
                .position(|s| KeyPart::Int(s.code()) == key[0])
                .ok_or_else(|| {
                    ViewError::BadFilter(CursorError::Malformed("no segment").to_string())
                })?;
            (segment, Some(key[1..].to_vec()))
        }
    };
    let expected_all: Vec<&str> = selected
        .iter()
        .filter(|m| m.is_expected())
        .map(|m| m.code.as_str())
        .collect();
    let mut decisions = Paged::new(after, selection.limit, selection.max_bytes);
    'segments: for segment in &SEGMENTS[first..] {
        let mut w = Where::default();
        let (readable_meeting, me) = readable_clause(ctx, "m.");
        let on_meeting = w.bind(
            &format!(
                "m.id = json_extract(d.json, '$.meeting') AND m.type = 'meeting' \
                 AND m.deleted = 0 AND {readable_meeting}"
            ),
            [me],
        );
        let overdue = w.bind(&format!("ifnull({OVERDUE}, 0)"), [text(as_of.clone())]);
        listed(&mut w, ctx, &selection, &selected);
        segment.restrict(&mut w, &as_of, key.take().as_deref());
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT d.id, json_extract(d.json, '$.meeting'), m.title,
                    json_extract(d.json, '$.text'), json_extract(d.json, '$.kind'),
                    json_extract(d.json, '$.responsible.kind'),
                    json_extract(d.json, '$.responsible.code'), {DUE},
                    json_extract(d.json, '$.status'), {overdue}
             FROM records d INDEXED BY records_decisions
             LEFT JOIN records m ON {on_meeting}
             {}
             ORDER BY {DUE}, d.id
             LIMIT {}",
            w.sql(),
            selection.limit - decisions.len() + 1
        ))?;
        // The segment's decisions, then the latest updates of all of them
        // in one read, then the page.
        let mut listed_here = Vec::new();
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let responsible_kind: Option<String> = r.get(5)?;
            let responsible_code: Option<String> = r.get(6)?;
            let responsible = match (responsible_kind.as_deref(), responsible_code) {
                (Some("member"), Some(code)) => code,
                (kind, _) => kind.unwrap_or_default().to_owned(),
            };
            let due = match r.get_ref(7)? {
                rusqlite::types::ValueRef::Null => KeyPart::Text(String::new()),
                _ => KeyPart::read(r, 7)?,
            };
            let decision = DecisionFollowUp {
                id,
                meeting_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                meeting_title: r.get(2)?,
                text: original_text(r.get(3)?),
                kind: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                responsible,
                due: due.as_text().filter(|d| !d.is_empty()).map(str::to_owned),
                status: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                overdue: r.get::<_, Option<bool>>(9)?.unwrap_or(false),
                updates: Vec::new(),
                not_reported: Vec::new(),
            };
            listed_here.push((decision, due));
        }
        drop(rows);
        let ids: Vec<&str> = listed_here.iter().map(|(d, _)| d.id.as_str()).collect();
        let mut updates = latest_updates(conn, ctx, &selection, &selected, &ids)?;
        for (mut decision, due) in listed_here {
            let mut updates = updates.remove(&decision.id).unwrap_or_default();
            for update in &mut updates {
                update.standing = select::standing_of(&members, &update.member);
            }
            let expected: Vec<&str> = match decision.responsible.as_str() {
                "all-members" => expected_all.clone(),
                "secretariat" | "troika" => Vec::new(),
                code if expected_all.contains(&code) => vec![code],
                _ => Vec::new(),
            };
            // The updates are in member order (`latest_updates`).
            decision.not_reported = expected
                .into_iter()
                .filter(|code| {
                    updates
                        .binary_search_by(|u| u.member.as_str().cmp(code))
                        .is_err()
                })
                .map(str::to_owned)
                .collect();
            decision.updates = updates;
            let size = decision.size();
            let key = vec![
                KeyPart::Int(segment.code()),
                due,
                KeyPart::Text(decision.id.clone()),
            ];
            if !decisions.offer(decision, key, size) {
                break 'segments;
            }
        }
    }
    Ok(FollowUpView {
        decisions,
        total: summary.decisions,
        summary,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: selection.pager(LISTING, ""),
    })
}

/// Adds which decisions the view lists (as `d`): readable, not deleted, due
/// in the period, and under member filters those a selected member is
/// responsible for, those for all members, and those a selected member
/// reported on (a readable, undeleted update).
fn listed(w: &mut Where, ctx: &Context<'_>, selection: &Selection, selected: &[MemberInfo]) {
    w.push("d.type = 'decision'", []);
    w.push("d.deleted = 0", []);
    readable_as(w, ctx, "d.");
    if let Some(period) = selection.period {
        period.contains(w, DUE);
    }
    if selection.filters_members() {
        let codes: Vec<&str> = selected.iter().map(|m| m.code.as_str()).collect();
        let (readable_update, me) = readable_clause(ctx, "f.");
        let responsible = in_list("json_extract(d.json, '$.responsible.code')", codes.len());
        let owners = in_list("f.owner", codes.len());
        w.push(
            &format!(
                "((json_extract(d.json, '$.responsible.kind') = 'member' AND {responsible})
                  OR json_extract(d.json, '$.responsible.kind') = 'all-members'
                  OR EXISTS (SELECT 1 FROM records f INDEXED BY records_follow_ups
                             WHERE f.type = 'follow-up'
                               AND json_extract(f.json, '$.decision') = d.id
                               AND f.deleted = 0 AND {readable_update} AND {owners}))"
            ),
            codes
                .iter()
                .map(|c| text(*c))
                .chain([me])
                .chain(codes.iter().map(|c| text(*c))),
        );
    }
}

/// The latest update of each selected member on each of `decisions`, by
/// decision, in member order (a member's latest: the latest date, a
/// year-only update counting as the year's last day, then the latest
/// written), read in one pass of `follow_up_facts` in its order.
fn latest_updates(
    conn: &Connection,
    ctx: &Context<'_>,
    selection: &Selection,
    selected: &[MemberInfo],
    decisions: &[&str],
) -> Result<std::collections::HashMap<String, Vec<MemberUpdate>>, ViewError> {
    let mut out: std::collections::HashMap<String, Vec<MemberUpdate>> =
        std::collections::HashMap::new();
    if decisions.is_empty() {
        return Ok(out);
    }
    let mut w = Where::default();
    let ids: Vec<String> = decisions.iter().map(|d| (*d).to_owned()).collect();
    w.push_in("decision", &ids);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", selection, selected);
    // In the table's order: by decision, then member, each member's
    // latest first.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT decision, owner, id, status, date, year, text FROM follow_up_facts {}
         ORDER BY decision, owner, latest DESC, updated DESC, id DESC",
        w.sql()
    ))?;
    let mut rows = stmt.query(w.args())?;
    let mut current: Option<(String, Vec<MemberUpdate>)> = None;
    while let Some(r) = rows.next()? {
        let decision = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        if current.as_ref().is_none_or(|(d, _)| d != decision) {
            if let Some((d, updates)) = current.take() {
                out.insert(d, updates);
            }
            current = Some((decision.to_owned(), Vec::new()));
        }
        let Some((_, updates)) = current.as_mut() else {
            continue;
        };
        let member = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        if updates.last().is_some_and(|u| u.member == member) {
            continue;
        }
        let date: Option<String> = r.get(4)?;
        let year: Option<i64> = r.get(5)?;
        updates.push(MemberUpdate {
            member: member.to_owned(),
            id: r.get(2)?,
            status: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            when: date.or_else(|| year.map(|y| y.to_string())),
            text: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            standing: String::new(),
        });
    }
    if let Some((d, updates)) = current.take() {
        out.insert(d, updates);
    }
    Ok(out)
}
