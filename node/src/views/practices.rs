//! Practices (best practices and lessons learned) by theme and by region,
//! with counts. A practice has no date of its own: the period filter applies
//! to the day it was recorded (`created`).
//!
//! The counts cover every match, on the first page. Without a period
//! filter they are sums of the `practice_tally` summary (migration 10: per
//! theme filter, member, visibility and theme, kept by the database's
//! triggers in the transaction that writes each record), a few thousand
//! rows however many practices there are. With a period filter (a
//! practice's day is not in the summary) every match is read once. The two
//! count the same: themes that are non-empty texts of a `themes` list, each
//! once per practice (`record_themes`). The rows of a page are read apart,
//! in [`ORDER`] (the `records_practices` index) from where the previous
//! page ended.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{
    Context, Freshness, Paged, Pager, ViewError, ViewInput, Where, after_key, freshness, read_key,
    readable,
    select::{self, Accepts, Selection},
    string_list, text,
};
use crate::{
    records::{Region, Theme},
    store::query::{ROW_FRAMING, list_size, text_size},
};

/// The order of the rows: by member, then title and id (`records_practices`).
const ORDER: [&str; 3] = ["owner", "title", "id"];

/// The same order in `practice_themes`, for the page of a theme.
const THEME_ORDER: [&str; 3] = ["by_owner", "by_title", "record_id"];

/// The name its cursors carry.
const LISTING: &str = "practices view";

/// The practices view.
#[derive(Debug, Clone)]
pub struct PracticesView {
    /// The practices, by member, then title: one page.
    pub practices: Paged<PracticeRow>,
    /// Every match (on the first page; 0 on later pages).
    pub total: u64,
    /// Every theme, in the vocabulary's order, with its count.
    pub by_theme: Vec<(String, u64)>,
    /// Regions with practices, in the vocabulary's order, `unknown` last.
    pub by_region: Vec<(String, u64)>,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: Pager,
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

impl PracticeRow {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        [
            Some(&self.id),
            Some(&self.member),
            self.region.as_ref(),
            self.kind.as_ref(),
            Some(&self.title),
            Some(&self.created),
            Some(&self.standing),
        ]
        .iter()
        .flatten()
        .map(|t| text_size(t))
        .sum::<usize>()
            + list_size(&self.themes)
            + ROW_FRAMING
    }
}

/// The region key of members without one.
pub const UNKNOWN_REGION: &str = "unknown";

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<PracticesView, ViewError> {
    let mut selection = Selection::parse(
        input,
        "practices view",
        Accepts {
            theme: true,
            period: true,
        },
    )?;
    let after = selection.start(LISTING, ORDER.len(), "")?;
    let members = select::member_table(conn, ctx)?;
    let selected = select::selected_members(&members, &selection)?;
    let mut w = Where::default();
    w.push("type = 'practice'", []);
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
    select::owned_by_selected(&mut w, "owner", &selection, &selected);
    if let Some(period) = selection.period {
        period.contains(&mut w, "substr(created, 1, 10)");
    }
    // The page of a theme reads `practice_themes` (migration 10) in the
    // view's order; the counts, when they read every match, the records.
    let mut page = w.clone();
    if let Some(theme) = selection.theme {
        w.push(
            "EXISTS (SELECT 1 FROM json_each(records.json, '$.themes') WHERE value = ?)",
            [text(theme.as_str())],
        );
        page.push("theme = ?", [text(theme.as_str())]);
    }
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<PracticeRow> {
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
    };
    const COLUMNS: &str = "records.id, owner, json_extract(json, '$.kind'), title,
        json_extract(json, '$.themes'), created";

    // The counts, over every match (first page only).
    let mut total = 0;
    let mut themes: BTreeMap<String, u64> = BTreeMap::new();
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    if after.is_none() && selection.period.is_none() {
        let mut t = Where::default();
        t.push(
            "among = ?",
            [text(selection.theme.map_or("", |theme| theme.as_str()))],
        );
        readable(&mut t, ctx);
        select::owned_by_selected(&mut t, "owner", &selection, &selected);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT owner, theme, sum(n) FROM practice_tally {} GROUP BY owner, theme",
            t.sql()
        ))?;
        let mut rows = stmt.query(t.args())?;
        while let Some(r) = rows.next()? {
            let owner: String = r.get(0)?;
            let theme: String = r.get(1)?;
            let n = r.get::<_, i64>(2)?.max(0) as u64;
            if theme.is_empty() {
                total += n;
                let region = members.get(&owner).and_then(|m| m.region.clone());
                *regions
                    .entry(region.unwrap_or_else(|| UNKNOWN_REGION.to_owned()))
                    .or_default() += n;
            } else {
                *themes.entry(theme).or_default() += n;
            }
        }
    } else if after.is_none() {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM records {}", w.sql()))?;
        let mut rows = stmt.query(w.args())?;
        while let Some(r) = rows.next()? {
            let practice = row(r)?;
            total += 1;
            // Each theme named once, as `record_themes` counts them.
            let named: std::collections::BTreeSet<String> = practice
                .themes
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect();
            for theme in named {
                *themes.entry(theme).or_default() += 1;
            }
            *regions
                .entry(practice.region.unwrap_or_else(|| UNKNOWN_REGION.to_owned()))
                .or_default() += 1;
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

    // The page.
    let (order, from) = if selection.theme.is_some() {
        (
            THEME_ORDER,
            "practice_themes CROSS JOIN records ON records.id = practice_themes.record_id",
        )
    } else {
        (ORDER, "records INDEXED BY records_practices")
    };
    if let Some(key) = &after {
        after_key(&mut page, &order, key);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, {order} FROM {from} {}
         ORDER BY {order} LIMIT {}",
        page.sql(),
        selection.limit + 1,
        order = order.join(", "),
    ))?;
    let mut practices = Paged::new(after, selection.limit, selection.max_bytes);
    let mut rows = stmt.query(page.args())?;
    while let Some(r) = rows.next()? {
        let practice = row(r)?;
        let size = practice.size();
        if !practices.offer(practice, read_key(r, 6, ORDER.len())?, size) {
            break;
        }
    }
    Ok(PracticesView {
        practices,
        total,
        by_theme,
        by_region,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: selection.pager(LISTING, ""),
    })
}
