//! The NAP tracker: for every member (the secretariat aside), where its
//! action plan stands on `as_of`, and summary counts.
//!
//! A plan's state is judged, not copied. `draft` and `under-review` count as
//! drafting whatever their period. A plan declared `in-force` or `expired`
//! is judged by its period when it has one: in force if it started on or
//! before `as_of` and ends on or after it (the last day counts), `adopted`
//! (adopted but not yet in force) if it starts after `as_of`, expired if it
//! ended before; without a period, its declared status stands. A member's
//! row shows its principal plan: in force first, then adopted, then
//! drafting, then expired; within a state the highest generation, then the
//! latest start.
//!
//! Members that are suspended or removed in the roster keep their row
//! (marked with their standing) but are left out of the summary counts.
//!
//! The theme and period filters narrow the plans: a member whose plans all
//! miss them counts as `none` ("no plan matching the filters", which
//! [`NapSummary::plan_filters`] tells). Under a period filter a plan without
//! a period is kept if it is a draft or under review (a plan being drafted
//! has no period yet).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::Value;

use super::{
    Context, Freshness, Paged, Pager, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    text,
};
use crate::store::query::{KeyPart, ROW_FRAMING, SCALAR_SIZE, text_size};

/// The name its cursors carry.
const LISTING: &str = "NAP tracker";

/// Where a member's action plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NapState {
    /// A plan is in force.
    InForce,
    /// A plan is adopted (declared in force) but its period has not begun.
    Adopted,
    /// A plan is being drafted or reviewed (and none is in force).
    Drafting,
    /// Only expired plans.
    Expired,
    /// No plan recorded.
    None,
}

impl NapState {
    /// `in-force`, `adopted`, `drafting`, `expired`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InForce => "in-force",
            Self::Adopted => "adopted",
            Self::Drafting => "drafting",
            Self::Expired => "expired",
            Self::None => "none",
        }
    }
}

/// The tracker.
#[derive(Debug, Clone)]
pub struct NapTracker {
    /// One row per member, in code order: one page.
    pub members: Paged<NapTrackerRow>,
    /// The counts (on the first page; zeros on later pages).
    pub summary: NapSummary,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: Pager,
}

/// Counts over the tracker's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NapSummary {
    /// Members in the tracker in good standing (suspended and removed
    /// members are not counted anywhere in the summary).
    pub members: u64,
    /// With a plan in force.
    pub in_force: u64,
    /// … of which with an allocated budget.
    pub in_force_with_allocated_budget: u64,
    /// With a plan adopted but not yet in force (and none in force).
    pub adopted: u64,
    /// With only expired plans.
    pub expired: u64,
    /// Drafting (none in force).
    pub drafting: u64,
    /// With no plan (matching the filters, when `plan_filters`).
    pub none: u64,
    /// Whether a theme or period filter narrowed the plans counted.
    pub plan_filters: bool,
}

/// One member's row.
#[derive(Debug, Clone, PartialEq)]
pub struct NapTrackerRow {
    /// The member.
    pub member: String,
    /// Its region.
    pub region: Option<String>,
    /// `state` or `regional-organization`.
    pub kind: String,
    /// Where its plan stands.
    pub state: NapState,
    /// The principal plan, if any.
    pub plan: Option<PlanFacts>,
    /// Plans of the member matching the filters.
    pub plans: u32,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

impl NapTrackerRow {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        let plan = self.plan.as_ref().map_or(0, |p| {
            [
                Some(&p.id),
                Some(&p.title),
                Some(&p.declared_status),
                p.period_start.as_ref(),
                p.period_end.as_ref(),
                p.lead_agency.as_ref(),
                p.budget.as_ref(),
                p.budget_currency.as_ref(),
            ]
            .iter()
            .flatten()
            .map(|t| text_size(t))
            .sum::<usize>()
                + 4 * SCALAR_SIZE
        });
        [
            Some(&self.member),
            self.region.as_ref(),
            Some(&self.kind),
            Some(&self.standing),
        ]
        .iter()
        .flatten()
        .map(|t| text_size(t))
        .sum::<usize>()
            + text_size(self.state.as_str())
            + plan
            + SCALAR_SIZE
            + ROW_FRAMING
    }
}

/// What the tracker shows of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFacts {
    /// The record id.
    pub id: String,
    /// Its title (original language).
    pub title: String,
    /// The status the member declared.
    pub declared_status: String,
    /// 1st, 2nd … plan.
    pub generation: Option<u32>,
    /// Period start.
    pub period_start: Option<String>,
    /// Period end.
    pub period_end: Option<String>,
    /// Lead agency.
    pub lead_agency: Option<String>,
    /// `allocated`, `unspecified`, `none`.
    pub budget: Option<String>,
    /// Allocated amount.
    pub budget_amount: Option<f64>,
    /// Its currency.
    pub budget_currency: Option<String>,
    /// Monitoring and evaluation described.
    pub monitoring_described: Option<bool>,
    /// Civil society takes part.
    pub civil_society_involved: Option<bool>,
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<NapTracker, ViewError> {
    let mut selection = Selection::parse(
        input,
        "NAP tracker",
        Accepts {
            theme: true,
            period: true,
        },
    )?;
    let after = selection.start(LISTING, 1, "")?;
    let after_member = match after.as_deref() {
        None => None,
        Some([KeyPart::Text(code)]) => Some(code.clone()),
        Some(_) => {
            return Err(ViewError::BadFilter(
                crate::store::query::CursorError::Malformed("not a member").to_string(),
            ));
        }
    };
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    // The secretariat keeps no plan, unless asked for by name.
    let tracked: Vec<_> = selected
        .iter()
        .filter(|m| !m.is_secretariat() || selection.member.is_some())
        .filter(|m| after_member.as_ref().is_none_or(|a| m.code > *a))
        .cloned()
        .collect();
    let mut w = Where::default();
    w.push("type = 'nap'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", &selection, &selected);
    if let Some(member) = &after_member {
        w.push("owner > ?", [text(member.clone())]);
    }
    if let Some(theme) = selection.theme {
        w.push(
            "EXISTS (SELECT 1 FROM json_each(records.json, '$.themes') WHERE value = ?)",
            [text(theme.as_str())],
        );
    }
    if let Some(period) = selection.period {
        let (overlap, args) = period.overlap_clause(
            "json_extract(json, '$.period.start')",
            "json_extract(json, '$.period.end')",
        );
        w.push(
            &format!(
                "({overlap} OR (json_extract(json, '$.period.start') IS NULL \
                 AND json_extract(json, '$.period.end') IS NULL \
                 AND json_extract(json, '$.status') IN ('draft', 'under-review')))"
            ),
            args,
        );
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT owner, id, title,
                json_extract(json, '$.status'),
                json_extract(json, '$.generation'),
                json_extract(json, '$.period.start'),
                json_extract(json, '$.period.end'),
                json_extract(json, '$.lead_agency'),
                json_extract(json, '$.budget.status'),
                json_extract(json, '$.budget.amount'),
                json_extract(json, '$.budget.currency'),
                json_extract(json, '$.monitoring'),
                json_extract(json, '$.civil_society')
         FROM records {}",
        w.sql()
    ))?;
    let as_of = selection.as_of.to_string();
    let mut plans: BTreeMap<String, Vec<(NapState, PlanFacts)>> = BTreeMap::new();
    let mut rows = stmt.query(w.args())?;
    while let Some(r) = rows.next()? {
        let owner: String = r.get(0)?;
        let declared: String = r.get::<_, Option<String>>(3)?.unwrap_or_default();
        let period_start: Option<String> = r.get(5)?;
        let period_end: Option<String> = r.get(6)?;
        let state = judge(
            &declared,
            period_start.as_deref(),
            period_end.as_deref(),
            &as_of,
        );
        let facts = PlanFacts {
            id: r.get(1)?,
            title: r.get(2)?,
            declared_status: declared,
            generation: r.get::<_, Option<i64>>(4)?.map(|g| g as u32),
            period_start,
            period_end,
            lead_agency: r.get(7)?,
            budget: r.get(8)?,
            budget_amount: r.get(9)?,
            budget_currency: r.get(10)?,
            monitoring_described: monitoring_described(r.get(11)?),
            civil_society_involved: civil_society_involved(r.get(12)?),
        };
        plans.entry(owner).or_default().push((state, facts));
    }
    let mut summary = NapSummary::default();
    let mut out = Paged::new(after, selection.limit, selection.max_bytes);
    for member in &tracked {
        let mine = plans.remove(&member.code).unwrap_or_default();
        let count = mine.len() as u32;
        let principal = mine.into_iter().min_by(|(sa, a), (sb, b)| {
            sa.cmp(sb)
                .then_with(|| b.generation.cmp(&a.generation))
                .then_with(|| b.period_start.cmp(&a.period_start))
                .then_with(|| a.id.cmp(&b.id))
        });
        let (state, plan) = match principal {
            Some((state, plan)) => (state, Some(plan)),
            None => (NapState::None, None),
        };
        let budget_allocated = plan.as_ref().and_then(|p| p.budget.as_deref()) == Some("allocated");
        let row = NapTrackerRow {
            member: member.code.clone(),
            region: member.region.clone(),
            kind: member.kind.clone(),
            state,
            plan,
            plans: count,
            standing: member.standing.clone(),
        };
        let size = row.size();
        // Past the page, rows still count in the summary (first page).
        if !out.offer(row, vec![KeyPart::Text(member.code.clone())], size) && after_member.is_some()
        {
            break;
        }
        if after_member.is_some() || !member.is_active() {
            continue;
        }
        summary.members += 1;
        match state {
            NapState::InForce => {
                summary.in_force += 1;
                if budget_allocated {
                    summary.in_force_with_allocated_budget += 1;
                }
            }
            NapState::Adopted => summary.adopted += 1,
            NapState::Drafting => summary.drafting += 1,
            NapState::Expired => summary.expired += 1,
            NapState::None => summary.none += 1,
        }
    }
    summary.plan_filters = selection.theme.is_some() || selection.period.is_some();
    Ok(NapTracker {
        members: out,
        summary,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: selection.pager(LISTING, ""),
    })
}

/// Where a plan declared `declared` with this period stands on `as_of`
/// (all `YYYY-MM-DD`, compared as text).
fn judge(declared: &str, start: Option<&str>, end: Option<&str>, as_of: &str) -> NapState {
    match declared {
        "draft" | "under-review" => NapState::Drafting,
        _ if start.is_some_and(|s| s > as_of) => NapState::Adopted,
        _ if end.is_some_and(|e| e < as_of) => NapState::Expired,
        _ if start.is_some() || end.is_some() => NapState::InForce,
        "in-force" => NapState::InForce,
        "expired" => NapState::Expired,
        _ => NapState::Drafting,
    }
}

/// `described` if given; otherwise described if a framework or indicators
/// are; unknown if monitoring is not recorded.
fn monitoring_described(json: Option<String>) -> Option<bool> {
    let monitoring: Value = serde_json::from_str(&json?).ok()?;
    if let Some(described) = monitoring.get("described").and_then(Value::as_bool) {
        return Some(described);
    }
    let framework = monitoring.get("framework").is_some();
    let indicators = monitoring
        .get("indicators")
        .and_then(Value::as_array)
        .is_some_and(|i| !i.is_empty());
    (framework || indicators).then_some(true)
}

/// Involved if any of drafting, implementation, monitoring is true; not
/// involved if some are recorded and none is; unknown otherwise.
fn civil_society_involved(json: Option<String>) -> Option<bool> {
    let involvement: Value = serde_json::from_str(&json?).ok()?;
    let answers: Vec<bool> = ["drafting", "implementation", "monitoring"]
        .iter()
        .filter_map(|k| involvement.get(*k).and_then(Value::as_bool))
        .collect();
    if answers.is_empty() {
        None
    } else {
        Some(answers.contains(&true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_judged_by_their_period_on_as_of() {
        let p =
            |declared, start, end, as_of| judge(declared, Some(start), Some(end), as_of).as_str();
        // The last day of the period is still in force; the day after not.
        assert_eq!(
            p("in-force", "2020-01-01", "2024-12-31", "2024-12-31"),
            "in-force"
        );
        assert_eq!(
            p("in-force", "2020-01-01", "2024-12-31", "2025-01-01"),
            "expired"
        );
        // The first day is in force; the day before, adopted.
        assert_eq!(
            p("in-force", "2020-01-01", "2024-12-31", "2020-01-01"),
            "in-force"
        );
        assert_eq!(
            p("in-force", "2020-01-01", "2024-12-31", "2019-12-31"),
            "adopted"
        );
        // A plan declared expired whose period covers as_of was in force
        // then (a view of the past).
        assert_eq!(
            p("expired", "2020-01-01", "2024-12-31", "2022-06-30"),
            "in-force"
        );
        assert_eq!(
            p("expired", "2020-01-01", "2024-12-31", "2025-06-30"),
            "expired"
        );
        // Drafts stay drafts whatever their period.
        assert_eq!(
            p("draft", "2020-01-01", "2024-12-31", "2022-06-30"),
            "drafting"
        );
        assert_eq!(
            p("under-review", "2020-01-01", "2024-12-31", "2026-01-01"),
            "drafting"
        );
        // Open ends.
        assert_eq!(
            judge("in-force", Some("2020-01-01"), None, "2030-01-01"),
            NapState::InForce
        );
        assert_eq!(
            judge("in-force", None, Some("2020-01-01"), "2030-01-01"),
            NapState::Expired
        );
        // Without a period, the declared status stands.
        assert_eq!(
            judge("in-force", None, None, "2030-01-01"),
            NapState::InForce
        );
        assert_eq!(
            judge("expired", None, None, "2000-01-01"),
            NapState::Expired
        );
        assert_eq!(judge("draft", None, None, "2000-01-01"), NapState::Drafting);
    }

    #[test]
    fn monitoring_and_civil_society_are_read_from_the_projection() {
        assert_eq!(monitoring_described(None), None);
        assert_eq!(
            monitoring_described(Some(r#"{"described":false}"#.into())),
            Some(false)
        );
        assert_eq!(
            monitoring_described(Some(r#"{"indicators":[{"name":{}}]}"#.into())),
            Some(true)
        );
        assert_eq!(monitoring_described(Some("{}".into())), None);
        assert_eq!(
            civil_society_involved(Some(r#"{"drafting":false,"monitoring":true}"#.into())),
            Some(true)
        );
        assert_eq!(
            civil_society_involved(Some(r#"{"drafting":false}"#.into())),
            Some(false)
        );
        assert_eq!(civil_society_involved(Some(r#"{"notes":{}}"#.into())), None);
    }
}
