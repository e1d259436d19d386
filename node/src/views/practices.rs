//! Practices (best practices and lessons learned) by theme and by region,
//! with counts. A practice has no date of its own: the period filter applies
//! to the day it was recorded (`created`).

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{
    Context, Freshness, ViewError, ViewInput, Where, freshness, readable,
    select::{self, Accepts, Selection},
    string_list, text,
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
         ORDER BY owner, title, id
         LIMIT {}",
        w.sql(),
        selection.limit
    ))?;
    let practices = stmt
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
    // Counts over every match, apart from the rows (which stop at the
    // limit).
    let mut total = 0;
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT owner, count(*) FROM records {} GROUP BY owner",
        w.sql()
    ))?;
    let mut rows = stmt.query(w.args())?;
    while let Some(r) = rows.next()? {
        let owner: String = r.get(0)?;
        let n = r.get::<_, i64>(1)? as u64;
        total += n;
        let region = members
            .get(&owner)
            .and_then(|m| m.region.clone())
            .unwrap_or_else(|| UNKNOWN_REGION.to_owned());
        *regions.entry(region).or_default() += n;
    }
    let mut themes: BTreeMap<String, u64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.value, count(*)
         FROM (SELECT json FROM records {}) AS p, json_each(p.json, '$.themes') AS t
         GROUP BY t.value",
        w.sql()
    ))?;
    let mut rows = stmt.query(w.args())?;
    while let Some(r) = rows.next()? {
        let theme: Option<String> = r.get(0)?;
        if let Some(theme) = theme {
            *themes.entry(theme).or_default() += r.get::<_, i64>(1)? as u64;
        }
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
    Ok(PracticesView {
        practices,
        total,
        by_theme,
        by_region,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
    })
}
