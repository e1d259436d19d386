//! `focal view …`: the network-wide views, as tables (default), JSON
//! (`--json`, the whole answer) or CSV (`--csv`, the rows, RFC 4180 with a
//! header line, on standard output alone: headings and freshness go to
//! standard error).
//!
//! CSV cells are meant for spreadsheets: a text cell starting with `=`, `+`,
//! `-`, `@`, a tab or a carriage return is prefixed with `'` so that it is
//! not run as a formula; cells that are numbers (`-12.5`) are left as they
//! are. Currency amounts are shown rounded to two decimals (`--json` keeps
//! the exact sums).

use anyhow::bail;
use clap::{Args, Subcommand};
use focal_client::Client;
use focal_proto::v1::{self as pb, view_service_client::ViewServiceClient};
use serde::Serialize;

/// The views.
#[derive(Debug, Subcommand)]
pub enum ViewCommand {
    /// The focal-point directory: primary and alternate focal points of each
    /// member, posting, languages, contact details.
    Directory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        period: PeriodArg,
    },
    /// The NAP tracker: for every member, whether a plan is in force,
    /// expired or being drafted, with generation, period, lead agency,
    /// budget, M&E and civil society; summary counts.
    Naps {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        period: PeriodArg,
        #[command(flatten)]
        theme: ThemeArg,
    },
    /// Practices with counts by theme and by region.
    Practices {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        period: PeriodArg,
        #[command(flatten)]
        theme: ThemeArg,
    },
    /// Funding commitments by donor, recipient and theme, totals per
    /// currency, and the themes and members no one funds.
    Funding {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        period: PeriodArg,
        #[command(flatten)]
        theme: ThemeArg,
    },
    /// Every decision with its responsible party, due date and each
    /// member's latest update; overdue first.
    FollowUp {
        #[command(flatten)]
        common: Common,
        /// Only decisions due in this period (YYYY, START/END).
        #[arg(long)]
        period: Option<String>,
    },
    /// A meeting's registrations and statements.
    Meeting {
        /// The meeting's id (SEC:meeting:…).
        id: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Filters and output options every view takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Only this member (a code such as ESP or AU).
    #[arg(long)]
    member: Option<String>,
    /// Only members of this region (africa, asia-pacific, eastern-europe,
    /// latin-america-caribbean, western-europe-others, cross-regional).
    #[arg(long)]
    region: Option<String>,
    /// Only members of this kind: state or regional-organization.
    #[arg(long)]
    kind: Option<String>,
    /// Judge "current", "in force" and "overdue" on this day (YYYY-MM-DD)
    /// instead of today.
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// At most this many rows (counts and totals cover every match).
    #[arg(long, default_value_t = 1000)]
    limit: u32,
    /// Print the rows as CSV (RFC 4180, with a header line).
    #[arg(long)]
    csv: bool,
}

/// `--period`.
#[derive(Debug, Args)]
pub struct PeriodArg {
    /// Only records in this period: YYYY, YYYY-MM-DD/YYYY-MM-DD or
    /// YYYY/YYYY (either end may be left open).
    #[arg(long)]
    period: Option<String>,
}

/// `--theme`.
#[derive(Debug, Args)]
pub struct ThemeArg {
    /// Only records on this theme (e.g. climate-change).
    #[arg(long)]
    theme: Option<String>,
}

fn request(common: &Common, period: Option<&str>, theme: Option<&str>) -> pb::ViewRequest {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    pb::ViewRequest {
        member: text(common.member.as_deref()),
        region: text(common.region.as_deref()),
        kind: text(common.kind.as_deref()),
        theme: text(theme),
        period: text(period),
        as_of: text(common.as_of.as_deref()),
        limit: common.limit,
    }
}

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

/// Runs a view command.
pub async fn run(client: &Client, command: ViewCommand, json: bool) -> anyhow::Result<()> {
    let mut api = ViewServiceClient::with_interceptor(client.channel(), client.token());
    let format = |common: &Common| match (json, common.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Table,
    };
    match command {
        ViewCommand::Directory { common, period } => {
            let view = api
                .directory(request(&common, period.period.as_deref(), None))
                .await
                .map_err(crate::explain)?
                .into_inner();
            print_view(
                format(&common),
                &view,
                &directory_table(&view),
                || {
                    println!("Focal-point directory: {} focal points", view.total);
                },
                view.freshness.as_ref(),
                view.total,
            )
        }
        ViewCommand::Naps {
            common,
            period,
            theme,
        } => {
            let view = api
                .nap_tracker(request(
                    &common,
                    period.period.as_deref(),
                    theme.theme.as_deref(),
                ))
                .await
                .map_err(crate::explain)?
                .into_inner();
            let table = nap_table(&view);
            let rows = view.members.len() as u64;
            print_view(
                format(&common),
                &view,
                &table,
                || {
                    let s = view.summary.unwrap_or_default();
                    let (plan, matching) = if s.plan_filters {
                        (
                            "a plan matching the filters",
                            " (plans matching the filters)",
                        )
                    } else {
                        ("a plan", "")
                    };
                    println!(
                        "NAP tracker: {} members{matching}; {} with a NAP in force, {} of them \
                         with an allocated budget; {} adopted, not yet in force; {} expired; {} \
                         drafting; {} without {plan}",
                        s.members,
                        s.in_force,
                        s.in_force_with_allocated_budget,
                        s.adopted,
                        s.expired,
                        s.drafting,
                        s.none
                    );
                },
                view.freshness.as_ref(),
                rows,
            )
        }
        ViewCommand::Practices {
            common,
            period,
            theme,
        } => {
            let view = api
                .practices(request(
                    &common,
                    period.period.as_deref(),
                    theme.theme.as_deref(),
                ))
                .await
                .map_err(crate::explain)?
                .into_inner();
            print_view(
                format(&common),
                &view,
                &practice_table(&view),
                || {
                    println!("Practices: {}", view.total);
                    let counts = |counts: &[pb::Count]| {
                        counts
                            .iter()
                            .filter(|c| c.count > 0)
                            .map(|c| format!("{} {}", c.key, c.count))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    println!("  by theme:  {}", counts(&view.by_theme));
                    println!("  by region: {}", counts(&view.by_region));
                },
                view.freshness.as_ref(),
                view.total,
            )
        }
        ViewCommand::Funding {
            common,
            period,
            theme,
        } => {
            let view = api
                .funding(request(
                    &common,
                    period.period.as_deref(),
                    theme.theme.as_deref(),
                ))
                .await
                .map_err(crate::explain)?
                .into_inner();
            print_view(
                format(&common),
                &view,
                &funding_table(&view),
                || {
                    println!(
                        "Funding: {} commitments; total {}",
                        view.total,
                        totals(&view.totals)
                    );
                    for (what, list) in [
                        ("by donor", &view.by_donor),
                        ("by recipient", &view.by_recipient),
                        ("by theme", &view.by_theme),
                    ] {
                        let parts: Vec<String> = list
                            .iter()
                            .map(|p| {
                                format!("{} ({}: {})", p.party, p.commitments, totals(&p.totals))
                            })
                            .collect();
                        println!("  {what}: {}", parts.join(", "));
                    }
                    println!("  themes no one funds: {}", or_none(&view.unfunded_themes));
                    println!(
                        "  members no one funds: {}",
                        or_none(&view.unfunded_recipients)
                    );
                    println!(
                        "  members neither receiving nor giving: {}",
                        or_none(&view.unfunded_members)
                    );
                },
                view.freshness.as_ref(),
                view.total,
            )
        }
        ViewCommand::FollowUp { common, period } => {
            let view = api
                .follow_up(request(&common, period.as_deref(), None))
                .await
                .map_err(crate::explain)?
                .into_inner();
            let fmt = format(&common);
            if fmt == Format::Table {
                let s = view.summary.unwrap_or_default();
                println!(
                    "Follow-up: {} decisions, {} open, {} overdue",
                    s.decisions, s.open, s.overdue
                );
                for d in &view.decisions {
                    println!();
                    println!(
                        "{}{}  due {}  {}  responsible: {}",
                        if d.overdue { "OVERDUE  " } else { "" },
                        d.id,
                        or_dash(&d.due),
                        d.status,
                        d.responsible
                    );
                    println!("  {}", d.text);
                    if !d.meeting_title.is_empty() {
                        println!("  meeting: {}", d.meeting_title);
                    }
                    for u in &d.updates {
                        println!(
                            "  {} {} ({}): {}",
                            member_standing(&u.member, &u.standing),
                            or_dash(&u.when),
                            u.status,
                            u.text
                        );
                    }
                    if !d.not_reported.is_empty() {
                        println!("  not reported: {}", d.not_reported.join(", "));
                    }
                }
                shown(view.decisions.len() as u64, view.total);
                print_freshness(view.freshness.as_ref());
                return Ok(());
            }
            print_view(
                fmt,
                &view,
                &follow_up_table(&view),
                || {},
                view.freshness.as_ref(),
                view.total,
            )
        }
        ViewCommand::Meeting { id, common } => {
            let view = api
                .meeting(pb::MeetingViewRequest {
                    meeting_id: id,
                    filter: Some(request(&common, None, None)),
                })
                .await
                .map_err(crate::explain)?
                .into_inner();
            let fmt = format(&common);
            let rows = {
                let s = view.summary.unwrap_or_default();
                s.registrations + s.statements
            };
            if fmt == Format::Table {
                let s = view.summary.unwrap_or_default();
                println!("{} ({}, {})", view.title, view.kind, view.id);
                println!(
                    "{} members registered, {} delegates, {} ministers speaking, {} statements",
                    s.registered_members, s.delegates, s.ministers_speaking, s.statements
                );
                println!("not registered: {}", or_none(&view.not_registered));
                println!();
                let registrations = Table {
                    headers: vec!["MEMBER", "DELEGATES", "MINISTER SPEAKING", "ID"],
                    rows: view
                        .registrations
                        .iter()
                        .map(|r| {
                            vec![
                                member_standing(&r.member, &r.standing),
                                r.delegates.join("; "),
                                yes_no(r.minister_speaking),
                                r.id.clone(),
                            ]
                        })
                        .collect(),
                };
                registrations.print();
                shown(view.registrations.len() as u64, s.registrations);
                println!();
                let statements = Table {
                    headers: vec!["MEMBER", "SPEAKER", "LANGUAGE", "TEXT", "ID"],
                    rows: view
                        .statements
                        .iter()
                        .map(|s| {
                            vec![
                                member_standing(&s.member, &s.standing),
                                s.speaker.clone(),
                                s.language.clone(),
                                shorten(if s.text.is_empty() { &s.link } else { &s.text }, 60),
                                s.id.clone(),
                            ]
                        })
                        .collect(),
                };
                statements.print();
                shown(view.statements.len() as u64, s.statements);
                print_freshness(view.freshness.as_ref());
                return Ok(());
            }
            print_view(
                fmt,
                &view,
                &meeting_table(&view),
                || {},
                view.freshness.as_ref(),
                rows,
            )
        }
    }
}

/// Prints a view: JSON (the whole answer), CSV (the rows), or a heading,
/// the table and the freshness.
fn print_view<T: Serialize>(
    format: Format,
    view: &T,
    table: &Table,
    heading: impl FnOnce(),
    freshness: Option<&pb::Freshness>,
    total: u64,
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(view)?),
        Format::Csv => {
            print!("{}", table.csv());
            if total > table.rows.len() as u64 {
                eprintln!("({} of {total} rows; use --limit)", table.rows.len());
            }
            // Standard output stays pure CSV.
            let mut err = std::io::stderr().lock();
            write_freshness(&mut err, freshness)?;
        }
        Format::Table => {
            heading();
            println!();
            table.print();
            shown(table.rows.len() as u64, total);
            print_freshness(freshness);
        }
    }
    Ok(())
}

fn shown(rows: u64, total: u64) {
    if total > rows {
        println!("({rows} of {total} shown; use --limit)");
    }
}

fn print_freshness(freshness: Option<&pb::Freshness>) {
    // Writing to standard output fails only when it is closed.
    let _ = write_freshness(&mut std::io::stdout().lock(), freshness);
}

/// The freshness lines: as of when, and the last entry seen from each
/// member.
fn write_freshness(
    out: &mut impl std::io::Write,
    freshness: Option<&pb::Freshness>,
) -> std::io::Result<()> {
    let Some(freshness) = freshness else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(
        out,
        "As of {}. Last entry seen from each member:",
        freshness.as_of
    )?;
    for m in &freshness.members {
        if m.entries == 0 {
            writeln!(out, "  {:<8} nothing seen", m.member)?;
        } else {
            writeln!(
                out,
                "  {:<8} {} entries, last received {}",
                m.member, m.entries, m.last_received
            )?;
        }
    }
    Ok(())
}

/// `ESP`, or `ESP (suspended)` for a member not in good standing.
fn member_standing(member: &str, standing: &str) -> String {
    if standing.is_empty() {
        member.to_owned()
    } else {
        format!("{member} ({standing})")
    }
}

/// Rows with a header, printed as an aligned table or as CSV.
struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn print(&self) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let last = cells.len().saturating_sub(1);
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == last {
                        (*c).to_owned()
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            println!("{}", parts.join("  ").trim_end());
        };
        line(self.headers.clone());
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect());
        }
    }

    /// RFC 4180: CRLF line ends; fields with a comma, quote or line break
    /// quoted, quotes doubled.
    fn csv(&self) -> String {
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let fields: Vec<String> = cells.map(csv_field).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(
            &mut self
                .headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        );
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }
}

fn csv_field(field: &str) -> String {
    let field = neutralised(field);
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.into_owned()
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or
/// carriage return first), prefixed with `'`; numbers (`-12.5`, `+3`) are
/// left as they are.
fn neutralised(field: &str) -> std::borrow::Cow<'_, str> {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && field.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{field}"))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
    .to_owned()
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

fn or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// An amount for display, rounded to two decimals (whole amounts without
/// decimals): sums of binary fractions such as 0.1 + 0.2 show as `0.30`.
fn amount(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.2}")
    }
}

fn totals(totals: &[pb::CurrencyTotal]) -> String {
    if totals.is_empty() {
        return "no amounts".to_owned();
    }
    totals
        .iter()
        .map(|t| format!("{} {}", amount(t.amount), t.currency))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn directory_table(view: &pb::DirectoryView) -> Table {
    Table {
        headers: vec![
            "MEMBER",
            "STANDING",
            "REGION",
            "DESIGNATION",
            "PERSON_NAME",
            "POSTING",
            "LANGUAGES",
            "TITLE",
            "INSTITUTION",
            "APPOINTED",
            "ENDED",
            "EMAIL",
            "PHONE",
            "ID",
        ],
        rows: view
            .entries
            .iter()
            .map(|e| {
                let withheld = |value: &str| {
                    if e.contact_withheld && value.is_empty() {
                        "(withheld)".to_owned()
                    } else {
                        value.to_owned()
                    }
                };
                vec![
                    e.member.clone(),
                    e.standing.clone(),
                    e.region.clone(),
                    e.designation.clone(),
                    e.person_name.clone(),
                    e.posting.clone(),
                    e.languages.join("; "),
                    e.title.clone(),
                    e.institution.clone(),
                    e.appointed.clone(),
                    e.ended.clone(),
                    withheld(&e.email),
                    withheld(&e.phone),
                    e.id.clone(),
                ]
            })
            .collect(),
    }
}

fn nap_table(view: &pb::NapTrackerView) -> Table {
    Table {
        headers: vec![
            "MEMBER",
            "STANDING",
            "REGION",
            "KIND",
            "STATE",
            "GENERATION",
            "PERIOD_START",
            "PERIOD_END",
            "LEAD_AGENCY",
            "BUDGET",
            "BUDGET_AMOUNT",
            "BUDGET_CURRENCY",
            "MONITORING_DESCRIBED",
            "CIVIL_SOCIETY_INVOLVED",
            "PLANS",
            "PLAN_ID",
            "TITLE",
        ],
        rows: view
            .members
            .iter()
            .map(|r| {
                vec![
                    r.member.clone(),
                    r.standing.clone(),
                    r.region.clone(),
                    r.kind.clone(),
                    r.state.clone(),
                    if r.generation == 0 {
                        String::new()
                    } else {
                        r.generation.to_string()
                    },
                    r.period_start.clone(),
                    r.period_end.clone(),
                    r.lead_agency.clone(),
                    r.budget.clone(),
                    r.budget_amount.map(amount).unwrap_or_default(),
                    r.budget_currency.clone(),
                    yes_no(r.monitoring_described),
                    yes_no(r.civil_society_involved),
                    r.plans.to_string(),
                    r.plan_id.clone(),
                    r.title.clone(),
                ]
            })
            .collect(),
    }
}

fn practice_table(view: &pb::PracticesView) -> Table {
    Table {
        headers: vec![
            "MEMBER", "STANDING", "REGION", "KIND", "THEMES", "TITLE", "CREATED", "ID",
        ],
        rows: view
            .practices
            .iter()
            .map(|p| {
                vec![
                    p.member.clone(),
                    p.standing.clone(),
                    p.region.clone(),
                    p.kind.clone(),
                    p.themes.join("; "),
                    p.title.clone(),
                    p.created.clone(),
                    p.id.clone(),
                ]
            })
            .collect(),
    }
}

fn funding_table(view: &pb::FundingView) -> Table {
    Table {
        headers: vec![
            "DONOR",
            "RECIPIENT",
            "AMOUNT",
            "CURRENCY",
            "KIND",
            "CHANNEL",
            "THEMES",
            "PERIOD_START",
            "PERIOD_END",
            "TITLE",
            "OWNER",
            "ID",
        ],
        rows: view
            .commitments
            .iter()
            .map(|c| {
                vec![
                    c.donor.clone(),
                    c.recipient.clone(),
                    c.amount.map(amount).unwrap_or_default(),
                    c.currency.clone(),
                    c.kind.clone(),
                    c.channel.clone(),
                    c.themes.join("; "),
                    c.period_start.clone(),
                    c.period_end.clone(),
                    c.title.clone(),
                    c.owner.clone(),
                    c.id.clone(),
                ]
            })
            .collect(),
    }
}

fn follow_up_table(view: &pb::FollowUpView) -> Table {
    Table {
        headers: vec![
            "OVERDUE",
            "DUE",
            "STATUS",
            "RESPONSIBLE",
            "DECISION",
            "MEETING_ID",
            "UPDATES",
            "NOT_REPORTED",
            "ID",
        ],
        rows: view
            .decisions
            .iter()
            .map(|d| {
                vec![
                    yes_no(Some(d.overdue)),
                    d.due.clone(),
                    d.status.clone(),
                    d.responsible.clone(),
                    d.text.clone(),
                    d.meeting_id.clone(),
                    d.updates
                        .iter()
                        .map(|u| {
                            format!(
                                "{} {} {}",
                                member_standing(&u.member, &u.standing),
                                u.status,
                                u.when
                            )
                            .trim()
                            .to_owned()
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    d.not_reported.join("; "),
                    d.id.clone(),
                ]
            })
            .collect(),
    }
}

fn meeting_table(view: &pb::MeetingView) -> Table {
    let registrations = view.registrations.iter().map(|r| {
        vec![
            "registration".to_owned(),
            r.member.clone(),
            r.standing.clone(),
            r.delegates.join("; "),
            yes_no(r.minister_speaking),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            r.id.clone(),
        ]
    });
    let statements = view.statements.iter().map(|s| {
        vec![
            "statement".to_owned(),
            s.member.clone(),
            s.standing.clone(),
            String::new(),
            String::new(),
            s.speaker.clone(),
            s.language.clone(),
            s.text.clone(),
            s.link.clone(),
            s.id.clone(),
        ]
    });
    Table {
        headers: vec![
            "RECORD",
            "MEMBER",
            "STANDING",
            "DELEGATES",
            "MINISTER_SPEAKING",
            "SPEAKER",
            "LANGUAGE",
            "TEXT",
            "LINK",
            "ID",
        ],
        rows: registrations.chain(statements).collect(),
    }
}

/// Refuses `--csv` together with `--json` (clap cannot see the global flag).
pub fn check_formats(json: bool, command: &ViewCommand) -> anyhow::Result<()> {
    let csv = match command {
        ViewCommand::Directory { common, .. }
        | ViewCommand::Naps { common, .. }
        | ViewCommand::Practices { common, .. }
        | ViewCommand::Funding { common, .. }
        | ViewCommand::FollowUp { common, .. }
        | ViewCommand::Meeting { common, .. } => common.csv,
    };
    if json && csv {
        bail!("--json and --csv cannot be used together; choose one");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_rfc_4180_requires() {
        let table = Table {
            headers: vec!["A", "B_C"],
            rows: vec![
                vec!["plain".into(), "with, comma".into()],
                vec!["say \"hi\"".into(), "two\nlines".into()],
            ],
        };
        assert_eq!(
            table.csv(),
            "a,b_c\r\nplain,\"with, comma\"\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn csv_neutralises_formulas_but_not_numbers() {
        let table = Table {
            headers: vec!["A", "B", "C", "D"],
            rows: vec![
                vec![
                    "=1+1".into(),
                    "-250000".into(),
                    "+34 600".into(),
                    "@SUM(A1)".into(),
                ],
                vec![
                    "-x".into(),
                    "-12.5".into(),
                    "2026-01-01".into(),
                    "=a,b".into(),
                ],
            ],
        };
        assert_eq!(
            table.csv(),
            "a,b,c,d\r\n'=1+1,-250000,'+34 600,'@SUM(A1)\r\n'-x,-12.5,2026-01-01,\"'=a,b\"\r\n"
        );
    }

    #[test]
    fn amounts_are_rounded_to_two_decimals() {
        assert_eq!(amount(0.1 + 0.2), "0.30");
        assert_eq!(amount(250_000.0), "250000");
        assert_eq!(amount(1234.5), "1234.50");
        assert_eq!(amount(99.999), "100");
        assert_eq!(amount(-1.234), "-1.23");
    }
}
