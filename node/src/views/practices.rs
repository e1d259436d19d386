//! Practices (best practices and lessons learned) by theme and by region,
//! with counts. A practice has no date of its own: the period filter applies
//! to the day it was recorded (`created`).
//!
//! The counts cover every match, so every match is read and the rows are
//! cut at the limit afterwards: counting apart in SQL (a count per owner,
//! one per theme through `json_each`, then the rows with `LIMIT`) was
//! measured slower (BENCHMARKS.md), each pass re-reading the JSON.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    string_list, text, truncate,
};
use crate::records::{Region, Theme};

/// The practices view.
#[derive(Debug, Clone)]
pub struct PracticesView {
    /// The practices, by member, then title.
    pub practices: Vec<PracticeRow>,
    /// Every match (practices may be cut at the limit).
    pub total: u64,
    /// Every theme, in the vocabulary's order, with its count.
    pub by_theme: Vec<(String, u64)>,
    /// Regions with practices, in the vocabulary's order, `unknown` last.
    pub by_region: Vec<(String, u64)>,
    /// How current it is.
    pub freshness: Freshness,
}

/// One practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeRow {
    /// The record id.
    pub id: String,
    /// Its member.
    pub member: String,
    /// The member's region.
    pub region: Option<String>,
    /// `best-practice` or `lesson-learned`.
    pub kind: Option<String>,
    /// Title (original language).
    pub title: String,
    /// Themes.
    pub themes: Vec<String>,
    /// When it was recorded (RFC 3339).
    pub created: String,
    /// The member's standing: empty when active, `suspended`, `removed`.
    pub standing: String,
}

/// The region key of members without one.
pub const UNKNOWN_REGION: &str = "unknown";

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<PracticesView, ViewError> {
    let selection = Selection::parse(
        input,
        "practices view",
        Accepts {
            theme: true,
            period: true,
        },
    )?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    let mut w = Where::default();
    w.push("type = 'practice'", []);
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
        period.contains(&mut w, "substr(created, 1, 10)");
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, owner, json_extract(json, '$.kind'), title, json_extract(json, '$.themes'),
                created
         FROM records {}
         ORDER BY owner, title, id",
        w.sql()
    ))?;
    let mut practices = stmt
        .query_map(w.args(), |r| {
            let owner: String = r.get(1)?;
            Ok(PracticeRow {
                id: r.get(0)?,
                standing: select::standing_of(&members, &owner),
                region: members.get(&owner).and_then(|m| m.region.clone()),
                member: owner,
                kind: r.get(2)?,
                title: r.get(3)?,
                themes: string_list(r.get(4)?),
                created: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut themes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    for practice in &practices {
        for theme in &practice.themes {
            *themes.entry(theme.as_str()).or_default() += 1;
        }
        *regions
            .entry(
                practice
                    .region
                    .clone()
                    .unwrap_or_else(|| UNKNOWN_REGION.to_owned()),
            )
            .or_default() += 1;
    }
    let by_theme = Theme::ALL
        .iter()
        .map(|t| {
            (
                t.as_str().to_owned(),
                themes.get(t.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    let by_region = Region::ALL
        .iter()
        .map(|r| r.as_str())
        .chain([UNKNOWN_REGION])
        .filter_map(|r| regions.get(r).map(|n| (r.to_owned(), *n)))
        .collect();
    let total = truncate(&mut practices, selection.limit);
    Ok(PracticesView {
        practices,
        total,
        by_theme,
        by_region,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
}
