//! Funding coordination: who funds what, where, in which currency, and the
//! gaps (themes no commitment names; members no commitment funds; members
//! that neither receive nor give).
//!
//! Amounts in different currencies are never added together. The member
//! filters keep a commitment if its donor or its recipient is a selected
//! member, a civil-society recipient counting as its `country`; the period
//! filter keeps commitments whose period meets it (commitments without a
//! period are then left out). Suspended and removed members are left out
//! of the gap lists.
//!
//! A commitment is one record: if the donor and the recipient each record
//! the same commitment, it is counted twice (the views cannot tell two
//! records of one commitment from two commitments).
//!
//! The sums cover every match, on the first page. Without a member or
//! period filter they are sums of the `funding_tally` summary (migration
//! 10, kept by the database's triggers in the transaction that writes each
//! record): a few rows per party, theme and currency, however many
//! commitments there are. With a member filter, the matching commitments
//! are found through the indexes of donor, recipient and country, and read
//! once; with a period filter (not in the summary), every match is read
//! once. Both ways count the same: an amount counts when it is a JSON
//! number of at most 10^15 with a currency ([`countable`]), summed in
//! thousandths, so that sums are exact and equal whichever way they were
//! made. The rows of a page are read apart, in [`ORDER`] (the
//! `records_funding` index).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{
    Context, Freshness, Paged, Pager, ViewError, ViewInput, Where, after_key, freshness, in_list,
    read_key, readable,
    select::{Accepts, Selection},
    string_list, text,
};
use crate::{
    records::Theme,
    store::query::{KeyPart, ROW_FRAMING, SCALAR_SIZE, list_size, text_size},
};

/// The order of the rows: by donor, then recipient and id (a member's code
/// or an organization's name; the expressions of `records_funding`).
const ORDER: [&str; 3] = [
    "coalesce(json_extract(json, '$.donor.code'), json_extract(json, '$.donor.name'), '')",
    "coalesce(json_extract(json, '$.recipient.code'), json_extract(json, '$.recipient.name'), '')",
    "id",
];

/// The name its cursors carry.
const LISTING: &str = "funding view";

/// The funding view.
#[derive(Debug, Clone)]
pub struct FundingView {
    /// The commitments, by donor, recipient, then id: one page.
    pub commitments: Paged<FundingRow>,
    /// Every match (on the first page; 0 on later pages).
    pub total: u64,
    /// Sums per currency, in currency order.
    pub totals: Vec<CurrencyTotal>,
    /// Per donor, in donor order. This and the other sums and gap lists:
    /// on the first page only (empty on later pages).
    pub by_donor: Vec<PartyTotal>,
    /// Per recipient.
    pub by_recipient: Vec<PartyTotal>,
    /// Per theme, in the vocabulary's order (themes with commitments).
    pub by_theme: Vec<PartyTotal>,
    /// Themes no commitment names, in the vocabulary's order.
    pub unfunded_themes: Vec<String>,
    /// Selected members (the secretariat aside) that neither receive nor
    /// give.
    pub unfunded_members: Vec<String>,
    /// Selected members (the secretariat aside) that no commitment names
    /// as its recipient (directly, or as the country of a civil-society
    /// recipient).
    pub unfunded_recipients: Vec<String>,
    /// How current it is.
    pub freshness: Freshness,
    /// Makes the cursor of the next page.
    pub pager: Pager,
}

/// One commitment.
#[derive(Debug, Clone, PartialEq)]
pub struct FundingRow {
    /// The record id.
    pub id: String,
    /// The member keeping the record.
    pub owner: String,
    /// Its title (or a label made of its parties).
    pub title: String,
    /// Donor: a member code or an organization's name.
    pub donor: String,
    /// Recipient: a member code or an organization's name.
    pub recipient: String,
    /// The member a civil-society recipient works in, if recorded.
    pub recipient_country: Option<String>,
    /// Channel.
    pub channel: String,
    /// `financial`, `technical`, `training`.
    pub kind: String,
    /// The amount.
    pub amount: Option<f64>,
    /// Its currency.
    pub currency: Option<String>,
    /// Period start.
    pub period_start: Option<String>,
    /// Period end.
    pub period_end: Option<String>,
    /// Themes.
    pub themes: Vec<String>,
}

impl FundingRow {
    /// An upper bound of its size on the wire.
    fn size(&self) -> usize {
        [
            Some(&self.id),
            Some(&self.owner),
            Some(&self.title),
            Some(&self.donor),
            Some(&self.recipient),
            self.recipient_country.as_ref(),
            Some(&self.channel),
            Some(&self.kind),
            self.currency.as_ref(),
            self.period_start.as_ref(),
            self.period_end.as_ref(),
        ]
        .iter()
        .flatten()
        .map(|t| text_size(t))
        .sum::<usize>()
            + list_size(&self.themes)
            + SCALAR_SIZE
            + ROW_FRAMING
    }
}

/// A sum in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// The sum.
    pub amount: f64,
    /// Commitments with an amount in this currency.
    pub commitments: u64,
}

/// What one party (or theme) gives or receives.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyTotal {
    /// The party (or theme).
    pub party: String,
    /// Commitments, with or without an amount.
    pub commitments: u64,
    /// Sums per currency.
    pub totals: Vec<CurrencyTotal>,
}

/// The largest amount that counts in the sums.
pub const MAX_COUNTED_AMOUNT: f64 = 1e15;

/// The currency and the amount in thousandths a commitment adds to the
/// sums, if its amount counts: a number of at most [`MAX_COUNTED_AMOUNT`]
/// with a currency (what `funding_tally` sums, migration 10).
pub fn countable(amount: Option<f64>, currency: Option<&str>) -> Option<(&str, f64)> {
    match (amount, currency) {
        (Some(amount), Some(currency))
            if amount.abs() <= MAX_COUNTED_AMOUNT && !currency.is_empty() =>
        {
            Some((currency, (amount * 1000.0).round()))
        }
        _ => None,
    }
}

/// Sums per currency, kept sorted.
#[derive(Default)]
struct Sums {
    commitments: u64,
    /// Per currency: thousandths, commitments.
    by_currency: BTreeMap<String, (f64, u64)>,
}

impl Sums {
    fn add(&mut self, row: &FundingRow) {
        self.commitments += 1;
        if let Some((currency, milli)) = countable(row.amount, row.currency.as_deref()) {
            self.add_amount(currency, 1, milli);
        }
    }

    fn add_amount(&mut self, currency: &str, n: u64, milli: f64) {
        let entry = self.by_currency.entry(currency.to_owned()).or_default();
        entry.0 += milli;
        entry.1 += n;
    }

    fn totals(&self) -> Vec<CurrencyTotal> {
        self.by_currency
            .iter()
            .map(|(currency, (milli, n))| CurrencyTotal {
                currency: currency.clone(),
                amount: milli / 1000.0,
                commitments: *n,
            })
            .collect()
    }
}

fn party_totals(sums: BTreeMap<String, Sums>) -> Vec<PartyTotal> {
    sums.into_iter()
        .map(|(party, sums)| PartyTotal {
            party,
            commitments: sums.commitments,
            totals: sums.totals(),
        })
        .collect()
}

pub(crate) fn query(
    conn: &Connection,
    ctx: &Context<'_>,
    input: &ViewInput,
) -> Result<FundingView, ViewError> {
    let mut selection = Selection::parse(
        input,
        "funding view",
        Accepts {
            theme: true,
            period: true,
        },
    )?;
    let after = selection.start(LISTING, ORDER.len(), "")?;
    let members = super::select::member_table(conn, ctx)?;
    let selected = super::select::selected_members(&members, &selection)?;
    let mut w = Where::default();
    if selection.filters_members() {
        // The commitments a selected member gives, receives, or is the
        // country of the recipient of, found through the three indexes
        // (their union names the ids; without it, SQLite's planner prefers
        // the index of the type and reads every commitment).
        let codes: Vec<String> = selected.iter().map(|m| m.code.clone()).collect();
        let part = |index: &str, path: &str| {
            format!(
                "SELECT id FROM records INDEXED BY records_funding_{index}
                 WHERE type = 'funding' AND {}",
                in_list(&format!("json_extract(json, '$.{path}')"), codes.len())
            )
        };
        w.push(
            &format!(
                "id IN ({} UNION {} UNION {})",
                part("donor", "donor.code"),
                part("recipient", "recipient.code"),
                part("country", "recipient.country")
            ),
            codes
                .iter()
                .chain(codes.iter())
                .chain(codes.iter())
                .map(text),
        );
    } else {
        w.push("type = 'funding'", []);
    }
    w.push("deleted = 0", []);
    readable(&mut w, ctx);
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
    // Parties, amounts and currencies as `funding_tally` reads them: a
    // value of the wrong JSON type counts as absent.
    const COLUMNS: &str = "id, owner, title,
        CASE WHEN json_type(json, '$.donor.code') = 'text' THEN json_extract(json, '$.donor.code')
             WHEN json_type(json, '$.donor.name') = 'text' THEN json_extract(json, '$.donor.name')
        END,
        CASE WHEN json_type(json, '$.recipient.code') = 'text'
             THEN json_extract(json, '$.recipient.code')
             WHEN json_type(json, '$.recipient.name') = 'text'
             THEN json_extract(json, '$.recipient.name')
        END,
        json_extract(json, '$.channel'), json_extract(json, '$.kind'),
        CASE WHEN json_type(json, '$.amount') IN ('integer', 'real')
             THEN json_extract(json, '$.amount') END,
        CASE WHEN json_type(json, '$.currency') = 'text' THEN json_extract(json, '$.currency') END,
        json_extract(json, '$.period.start'), json_extract(json, '$.period.end'),
        json_extract(json, '$.themes'),
        CASE WHEN json_type(json, '$.recipient.country') = 'text'
             THEN json_extract(json, '$.recipient.country') END";
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<FundingRow> {
        Ok(FundingRow {
            id: r.get(0)?,
            owner: r.get(1)?,
            title: r.get(2)?,
            donor: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            recipient: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            channel: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            kind: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            amount: r.get(7)?,
            currency: r.get(8)?,
            period_start: r.get(9)?,
            period_end: r.get(10)?,
            themes: string_list(r.get(11)?),
            recipient_country: r.get(12)?,
        })
    };

    // The sums, over every match (first page only).
    let mut first_page = None;
    let (total, sums) = match after {
        None if selection.period.is_none() && !selection.filters_members() => {
            let mut t = Where::default();
            t.push(
                "among = ?",
                [text(selection.theme.map_or("", |theme| theme.as_str()))],
            );
            readable(&mut t, ctx);
            let tally = conn
                .prepare_cached(&format!(
                    "SELECT dim, value, currency, sum(n), sum(milli) FROM funding_tally {}
                     GROUP BY dim, value, currency",
                    t.sql()
                ))?
                .query_map(t.args(), |r| {
                    Ok(Tally {
                        dim: r.get(0)?,
                        value: r.get(1)?,
                        currency: r.get(2)?,
                        n: r.get::<_, i64>(3)?.max(0) as u64,
                        milli: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            summarize_tally(&tally, &selection, &selected)
        }
        None => {
            let mut keys = Vec::new();
            let everything = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS}, {order} FROM records {}",
                    w.sql(),
                    order = ORDER.join(", ")
                ))?
                .query_map(w.args(), |r| {
                    keys.push(read_key(r, 13, ORDER.len())?);
                    row(r)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let sums = summarize(&everything, &selection, &selected);
            if selection.filters_members() {
                // A member's commitments are few (they were found through
                // the indexes of parties): the page is these rows, sorted
                // as SQL would, rather than a second read of each.
                let mut sorted: Vec<(Vec<KeyPart>, FundingRow)> =
                    keys.into_iter().zip(everything).collect();
                sorted.sort_by(|(a, _), (b, _)| {
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| a.cmp_as_sqlite(b))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                let mut commitments = Paged::new(None, selection.limit, selection.max_bytes);
                for (key, commitment) in sorted {
                    let size = commitment.size();
                    if !commitments.offer(commitment, key, size) {
                        break;
                    }
                }
                first_page = Some(commitments);
            }
            sums
        }
        Some(_) => (0, Summary::default()),
    };

    // The page.
    let commitments = match first_page {
        Some(page) => page,
        None => {
            if let Some(key) = &after {
                after_key(&mut w, &ORDER, key);
            }
            // With a member filter, the matches are found through the
            // indexes of donor, recipient and country and sorted (a few
            // hundred commitments per member); without, read in the order
            // of `records_funding`.
            let index = if selection.filters_members() {
                ""
            } else {
                "INDEXED BY records_funding"
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, {order} FROM records {index} {}
                 ORDER BY {order} LIMIT {}",
                w.sql(),
                selection.limit + 1,
                order = ORDER.join(", "),
            ))?;
            let mut commitments = Paged::new(after, selection.limit, selection.max_bytes);
            let mut rows = stmt.query(w.args())?;
            while let Some(r) = rows.next()? {
                let commitment = row(r)?;
                let size = commitment.size();
                if !commitments.offer(commitment, read_key(r, 13, ORDER.len())?, size) {
                    break;
                }
            }
            commitments
        }
    };
    Ok(FundingView {
        commitments,
        total,
        totals: sums.totals,
        by_donor: sums.by_donor,
        by_recipient: sums.by_recipient,
        by_theme: sums.by_theme,
        unfunded_themes: sums.unfunded_themes,
        unfunded_members: sums.unfunded_members,
        unfunded_recipients: sums.unfunded_recipients,
        freshness: freshness::of(conn, ctx, &selected, selection.as_of)?,
        pager: selection.pager(LISTING, ""),
    })
}

/// What the funding view sums over every match (nothing on later pages).
#[derive(Default)]
struct Summary {
    totals: Vec<CurrencyTotal>,
    by_donor: Vec<PartyTotal>,
    by_recipient: Vec<PartyTotal>,
    by_theme: Vec<PartyTotal>,
    unfunded_themes: Vec<String>,
    unfunded_members: Vec<String>,
    unfunded_recipients: Vec<String>,
}

/// A row of `funding_tally`, summed over visibilities and owners.
struct Tally {
    dim: String,
    value: String,
    currency: String,
    n: u64,
    milli: f64,
}

/// The count and the sums of the commitments that `tally` sums.
fn summarize_tally(
    tally: &[Tally],
    selection: &Selection,
    selected: &[super::MemberInfo],
) -> (u64, Summary) {
    let mut g = Gathered::default();
    for row in tally {
        let sums = match row.dim.as_str() {
            "all" => &mut g.all,
            "donor" => {
                g.parties.insert(&row.value);
                g.donors.entry(row.value.clone()).or_default()
            }
            "recipient" => {
                g.parties.insert(&row.value);
                g.funded.insert(&row.value);
                g.recipients.entry(row.value.clone()).or_default()
            }
            "theme" => g.themes.entry(row.value.clone()).or_default(),
            "country" => {
                g.parties.insert(&row.value);
                g.funded.insert(&row.value);
                continue;
            }
            _ => continue,
        };
        sums.commitments += row.n;
        if !row.currency.is_empty() {
            sums.add_amount(&row.currency, row.n, row.milli);
        }
    }
    let total = g.all.commitments;
    (total, Summary::of(g, selection, selected))
}

/// The count and the sums of `commitments` (every match).
fn summarize(
    commitments: &[FundingRow],
    selection: &Selection,
    selected: &[super::MemberInfo],
) -> (u64, Summary) {
    let mut g = Gathered::default();
    for row in commitments {
        g.all.add(row);
        g.donors.entry(row.donor.clone()).or_default().add(row);
        g.recipients
            .entry(row.recipient.clone())
            .or_default()
            .add(row);
        // Each theme named once, as `record_themes` counts them.
        let named: BTreeSet<&String> = row.themes.iter().filter(|t| !t.is_empty()).collect();
        for theme in named {
            g.themes.entry(theme.clone()).or_default().add(row);
        }
        g.parties.insert(&row.donor);
        g.parties.insert(&row.recipient);
        g.funded.insert(&row.recipient);
        if let Some(country) = &row.recipient_country {
            g.parties.insert(country);
            g.funded.insert(country);
        }
    }
    (
        commitments.len() as u64,
        Summary::of(g, selection, selected),
    )
}

/// The sums of the matches, gathered from records or from the summary.
#[derive(Default)]
struct Gathered<'a> {
    all: Sums,
    donors: BTreeMap<String, Sums>,
    recipients: BTreeMap<String, Sums>,
    themes: BTreeMap<String, Sums>,
    /// Donors, recipients and recipients' countries.
    parties: BTreeSet<&'a str>,
    /// Recipients and recipients' countries.
    funded: BTreeSet<&'a str>,
}

impl Summary {
    /// The summary of these sums.
    fn of(g: Gathered<'_>, selection: &Selection, selected: &[super::MemberInfo]) -> Summary {
        let Gathered {
            all,
            donors,
            recipients,
            mut themes,
            parties,
            funded,
        } = g;
        let by_theme = Theme::ALL
            .iter()
            .filter_map(|t| {
                themes.remove(t.as_str()).map(|sums| PartyTotal {
                    party: t.as_str().to_owned(),
                    commitments: sums.commitments,
                    totals: sums.totals(),
                })
            })
            .collect::<Vec<_>>();
        let unfunded_themes = Theme::ALL
            .iter()
            .filter(|t| selection.theme.is_none_or(|wanted| wanted == **t))
            .filter(|t| !by_theme.iter().any(|b| b.party == t.as_str()))
            .map(|t| t.as_str().to_owned())
            .collect();
        let unfunded_members = selected
            .iter()
            .filter(|m| m.is_expected() && !parties.contains(m.code.as_str()))
            .map(|m| m.code.clone())
            .collect();
        let unfunded_recipients = selected
            .iter()
            .filter(|m| m.is_expected() && !funded.contains(m.code.as_str()))
            .map(|m| m.code.clone())
            .collect();
        Summary {
            totals: all.totals(),
            by_donor: party_totals(donors),
            by_recipient: party_totals(recipients),
            by_theme,
            unfunded_themes,
            unfunded_members,
            unfunded_recipients,
        }
    }
}
