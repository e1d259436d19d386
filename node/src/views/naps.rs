//! The NAP tracker: for every member (the secretariat aside), where its
//! action plan stands on `as_of`, and summary counts.
//!
//! A plan's state is judged, not copied: a plan declared `in-force` whose
//! period ended before `as_of` counts as expired; `draft` and `under-review`
//! count as drafting. A member's row shows its principal plan: in force
//! first, then drafting, then expired; within a state the highest
//! generation, then the latest start.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::Value;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    text,
};

/// Where a member's action plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NapState {
    /// A plan is in force.
    InForce,
    /// A plan is being drafted or reviewed (and none is in force).
    Drafting,
    /// Only expired plans.
    Expired,
    /// No plan recorded.
    None,
}

impl NapState {
    /// `in-force`, `drafting`, `expired`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InForce => "in-force",
            Self::Drafting => "drafting",
            Self::Expired => "expired",
            Self::None => "none",
        }
    }
}

/// The tracker.
#[derive(Debug, Clone)]
pub struct NapTracker {
    /// One row per member, in code order.
    pub members: Vec<NapTrackerRow>,
    /// The counts.
    pub summary: NapSummary,
    /// How current it is.
    pub freshness: Freshness,
}

/// Counts over the tracker's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NapSummary {
    /// Members in the tracker.
    pub members: u64,
    /// With a plan in force.
    pub in_force: u64,
    /// … of which with an allocated budget.
    pub in_force_with_allocated_budget: u64,
    /// With only expired plans.
    pub expired: u64,
    /// Drafting (none in force).
    pub drafting: u64,
    /// With no plan.
    pub none: u64,
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
    let selection = Selection::parse(
        input,
        "NAP tracker",
        Accepts {
            theme: true,
            period: true,
        },
    )?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    // The secretariat keeps no plan, unless asked for by name.
    let tracked: Vec<_> = selected
        .iter()
        .filter(|m| !m.is_secretariat() || selection.member.is_some())
        .cloned()
        .collect();
    let mut w = Where::default();
    w.push("type = 'nap'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", &selection, &selected);
    if let Some(theme) = selection.theme {
        w.push(
            "EXISTS (SELECT 1 FROM json_each(records.json, '$.themes') WHERE value = ?)",
            [text(theme.as_str())],
        );
    }
    if let Some(period) = selection.period {
        period.overlaps(
            &mut w,
            "json_extract(json, '$.period.start')",
            "json_extract(json, '$.period.end')",
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
        let period_end: Option<String> = r.get(6)?;
        let state = match declared.as_str() {
            "in-force" if period_end.as_deref().is_some_and(|end| *end < *as_of) => {
                NapState::Expired
            }
            "in-force" => NapState::InForce,
            "expired" => NapState::Expired,
            _ => NapState::Drafting,
        };
        let facts = PlanFacts {
            id: r.get(1)?,
            title: r.get(2)?,
            declared_status: declared,
            generation: r.get::<_, Option<i64>>(4)?.map(|g| g as u32),
            period_start: r.get(5)?,
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
    let mut out = Vec::with_capacity(tracked.len());
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
        summary.members += 1;
        match state {
            NapState::InForce => {
                summary.in_force += 1;
                if plan.as_ref().and_then(|p| p.budget.as_deref()) == Some("allocated") {
                    summary.in_force_with_allocated_budget += 1;
                }
            }
            NapState::Drafting => summary.drafting += 1,
            NapState::Expired => summary.expired += 1,
            NapState::None => summary.none += 1,
        }
        out.push(NapTrackerRow {
            member: member.code.clone(),
            region: member.region.clone(),
            kind: member.kind.clone(),
            state,
            plan,
            plans: count,
        });
    }
    Ok(NapTracker {
        members: out,
        summary,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
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
