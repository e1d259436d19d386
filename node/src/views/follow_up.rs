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

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, original_text, readable,
    readable_as, readable_clause,
    select::{self, Accepts, Selection},
    text, truncate,
};

/// The follow-up view.
#[derive(Debug, Clone)]
pub struct FollowUpView {
    /// Overdue decisions first (earliest due first), then the others by due
    /// date (undated last), then by id.
    pub decisions: Vec<DecisionFollowUp>,
    /// Every match (decisions may be cut at the limit).
    pub total: u64,
    /// Counts over every match.
    pub summary: FollowUpSummary,
    /// How current it is.
    pub freshness: Freshness,
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
    let selection = Selection::parse(
        input,
        "follow-up view",
        Accepts {
            theme: false,
            period: true,
        },
    )?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    let as_of = selection.as_of.to_string();

    // The latest update of each member on each decision.
    let mut w = Where::default();
    w.push("type = 'follow-up'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", &selection, &selected);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT decision, owner, id, status, date, year, text FROM (
             SELECT id, owner,
                    json_extract(json, '$.decision') AS decision,
                    json_extract(json, '$.status') AS status,
                    json_extract(json, '$.date') AS date,
                    json_extract(json, '$.year') AS year,
                    json_extract(json, '$.text') AS text,
                    row_number() OVER (
                        PARTITION BY json_extract(json, '$.decision'), owner
                        ORDER BY coalesce(json_extract(json, '$.date'),
                                          json_extract(json, '$.year') || '-12-31',
                                          substr(updated, 1, 10)) DESC,
                                 updated DESC, id DESC) AS latest
             FROM records {})
         WHERE latest = 1
         ORDER BY decision, owner",
        w.sql()
    ))?;
    let mut updates: BTreeMap<String, Vec<MemberUpdate>> = BTreeMap::new();
    let mut rows = stmt.query(w.args())?;
    while let Some(r) = rows.next()? {
        let decision: Option<String> = r.get(0)?;
        let date: Option<String> = r.get(4)?;
        let year: Option<i64> = r.get(5)?;
        updates
            .entry(decision.unwrap_or_default())
            .or_default()
            .push(MemberUpdate {
                member: r.get(1)?,
                id: r.get(2)?,
                status: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                when: date.or_else(|| year.map(|y| y.to_string())),
                text: original_text(r.get(6)?),
                standing: String::new(),
            });
    }

    let mut w = Where::default();
    let (readable_meeting, me) = readable_clause(ctx, "m.");
    let on_meeting = w.bind(
        &format!(
            "m.id = json_extract(d.json, '$.meeting') AND m.type = 'meeting' AND m.deleted = 0 \
             AND {readable_meeting}"
        ),
        [me],
    );
    w.push("d.type = 'decision'", []);
    w.push("d.deleted = 0", []);
    readable_as(&mut w, ctx, "d.");
    if let Some(period) = selection.period {
        period.contains(&mut w, "json_extract(d.json, '$.due')");
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.id, json_extract(d.json, '$.meeting'), m.title, json_extract(d.json, '$.text'),
                json_extract(d.json, '$.kind'), json_extract(d.json, '$.responsible.kind'),
                json_extract(d.json, '$.responsible.code'), json_extract(d.json, '$.due') AS due,
                json_extract(d.json, '$.status') AS status,
                (json_extract(d.json, '$.due') < ?{n}
                 AND json_extract(d.json, '$.status') NOT IN ('done', 'dropped')) AS overdue
         FROM records d
         LEFT JOIN records m ON {on_meeting}
         {}
         ORDER BY overdue DESC, due IS NULL, due, d.id",
        w.sql(),
        n = w.args.len() + 1
    ))?;
    let args = w.args.iter().cloned().chain([text(as_of)]);
    let selected_codes: Vec<&str> = selected.iter().map(|m| m.code.as_str()).collect();
    let expected_all: Vec<&str> = selected
        .iter()
        .filter(|m| m.is_expected())
        .map(|m| m.code.as_str())
        .collect();
    let mut summary = FollowUpSummary::default();
    let mut decisions = Vec::new();
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let responsible_kind: Option<String> = r.get(5)?;
        let responsible_code: Option<String> = r.get(6)?;
        let responsible = match (responsible_kind.as_deref(), responsible_code) {
            (Some("member"), Some(code)) => code,
            (kind, _) => kind.unwrap_or_default().to_owned(),
        };
        let mut reports = updates.remove(&id).unwrap_or_default();
        for update in &mut reports {
            update.standing = select::standing_of(&members, &update.member);
        }
        if selection.filters_members()
            && !selected_codes.contains(&responsible.as_str())
            && responsible != "all-members"
            && reports.is_empty()
        {
            continue;
        }
        let expected: Vec<&str> = match responsible.as_str() {
            "all-members" => expected_all.clone(),
            "secretariat" | "troika" => Vec::new(),
            code if expected_all.contains(&code) => vec![code],
            _ => Vec::new(),
        };
        let not_reported = expected
            .into_iter()
            .filter(|code| !reports.iter().any(|u| u.member == *code))
            .map(str::to_owned)
            .collect();
        let status: String = r.get::<_, Option<String>>(8)?.unwrap_or_default();
        let overdue = r.get::<_, Option<bool>>(9)?.unwrap_or(false);
        summary.decisions += 1;
        summary.overdue += u64::from(overdue);
        summary.open += u64::from(status != "done" && status != "dropped");
        decisions.push(DecisionFollowUp {
            id,
            meeting_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            meeting_title: r.get(2)?,
            text: original_text(r.get(3)?),
            kind: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            responsible,
            due: r.get(7)?,
            status,
            overdue,
            updates: reports,
            not_reported,
        });
    }
    let total = truncate(&mut decisions, selection.limit);
    Ok(FollowUpView {
        decisions,
        total,
        summary,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
}
