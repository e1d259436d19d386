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
//!
//! A view comes in pages: the command follows them to the end (or to
//! `--limit` rows), printing each page's rows as they arrive; the heading,
//! counts and totals come from the first page. `--json` prints the first
//! page's answer with the rows of every page in it and, in `next`, the
//! cursor to continue with when `--limit` stopped it (`--after CURSOR`).
//! A meeting's registrations and statements page side by side, and are
//! printed once both have ended (a meeting has a few hundred of each at
//! most); there `--limit` is one page of at most that many of each.

use std::future::Future;

use anyhow::bail;
use clap::{Args, Subcommand};
use focal_client::Client;
use focal_proto::v1::{self as pb, view_service_client::ViewServiceClient};
use serde::Serialize;

use super::{
    node::{MAX_MESSAGE_BYTES, explain},
    output::Output,
};

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
    /// At most this many rows (pages are followed as needed; counts and
    /// totals cover every match); without it, every row. When it stops a
    /// view that has more rows, the cursor to continue with is printed
    /// (`next` with --json).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Continue a view after this cursor (printed by a view that --limit
    /// stopped), with the same filters.
    #[arg(long, value_name = "CURSOR")]
    after: Option<String>,
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
        limit: 0,
        after: text(common.after.as_deref()),
    }
}

/// Rows asked for per page.
const PAGE: u32 = 1000;

/// A view's answer, one page of it.
trait ViewPage: Serialize + Sized {
    /// Its rows.
    type Row: Serialize;
    /// The field holding them (the first of the message that holds a
    /// list).
    const ROWS: &'static str;
    /// Takes the rows out.
    fn take_rows(&mut self) -> Vec<Self::Row>;
    /// The cursor of the next page (empty on the last).
    fn next(&mut self) -> &mut String;
    /// Every match, where the view counts them.
    fn total(&self) -> Option<u64>;
    /// The freshness.
    fn freshness(&self) -> Option<&pb::Freshness>;
}

macro_rules! view_page {
    ($view:ty, $row:ty, $rows:ident, $total:expr) => {
        impl ViewPage for $view {
            type Row = $row;
            const ROWS: &'static str = stringify!($rows);
            fn take_rows(&mut self) -> Vec<$row> {
                std::mem::take(&mut self.$rows)
            }
            fn next(&mut self) -> &mut String {
                &mut self.next
            }
            fn total(&self) -> Option<u64> {
                let total: fn(&Self) -> Option<u64> = $total;
                total(self)
            }
            fn freshness(&self) -> Option<&pb::Freshness> {
                self.freshness.as_ref()
            }
        }
    };
}

view_page!(pb::DirectoryView, pb::DirectoryEntry, entries, |v| Some(
    v.total
));
view_page!(pb::NapTrackerView, pb::NapTrackerRow, members, |_| None);
view_page!(pb::PracticesView, pb::PracticeRow, practices, |v| Some(
    v.total
));
view_page!(pb::FundingView, pb::FundingRow, commitments, |v| Some(
    v.total
));
view_page!(pb::FollowUpView, pb::DecisionFollowUp, decisions, |v| Some(
    v.total
));

/// How one view is printed.
struct Printer<'a, V: ViewPage> {
    format: Format,
    /// The table of some rows (table and CSV).
    table: &'a dyn Fn(&[V::Row]) -> Table,
    /// The heading of a table, from the first page.
    heading: &'a dyn Fn(&V),
    /// Prints rows as a table instead of [`Self::table`] (the follow-up's).
    rows: Option<&'a RowPrinter<V::Row>>,
}

/// Prints rows as text of its own (the follow-up's paragraphs).
type RowPrinter<R> = dyn Fn(&mut Output, &[R]) -> anyhow::Result<()>;

/// Follows a view's pages from `request` (its `after` included) to the end,
/// or to `limit` rows, printing each page as it arrives.
async fn follow<V, F, Fut>(
    mut fetch: F,
    mut request: pb::ViewRequest,
    limit: Option<u32>,
    printer: Printer<'_, V>,
) -> anyhow::Result<()>
where
    V: ViewPage,
    F: FnMut(pb::ViewRequest) -> Fut,
    Fut: Future<Output = Result<V, tonic::Status>>,
{
    let continued = !request.after.is_empty();
    let wanted = limit.map(u64::from);
    let mut out = Output::stdout();
    let mut shown = 0u64;
    // The first page, its rows taken out: heading, totals, freshness, and
    // (JSON) the text after its rows.
    let mut first: Option<V> = None;
    let mut json_tail = String::new();
    let mut widths = Vec::new();
    let next = loop {
        request.limit = match wanted {
            Some(wanted) => (wanted - shown).min(u64::from(PAGE)) as u32,
            None => PAGE,
        };
        let mut page = fetch(request.clone()).await.map_err(explain)?;
        let rows = page.take_rows();
        let next = std::mem::take(page.next());
        if first.is_none() {
            match printer.format {
                Format::Json => {
                    let text = serde_json::to_string(&page)?;
                    let marker = format!("\"{}\":[]", V::ROWS);
                    let at = text
                        .find(&marker)
                        .ok_or_else(|| anyhow::anyhow!("no `{}` in the view", V::ROWS))?;
                    out.write(&text[..at + marker.len() - 1])?;
                    json_tail = text[at + marker.len() - 1..].to_owned();
                }
                Format::Csv => out.write(&(printer.table)(&[]).csv())?,
                Format::Table => {
                    if !continued {
                        (printer.heading)(&page);
                    }
                    if printer.rows.is_none() {
                        if !continued {
                            out.line("")?;
                        }
                        let table = (printer.table)(&rows);
                        widths = table.widths();
                        out.line(&table.header(&widths))?;
                    }
                }
            }
            first = Some(page);
        }
        match printer.format {
            Format::Json => {
                for (i, row) in rows.iter().enumerate() {
                    let comma = if shown == 0 && i == 0 { "" } else { "," };
                    out.write(&format!("{comma}{}", serde_json::to_string(row)?))?;
                }
            }
            Format::Csv => out.write(&(printer.table)(&rows).csv_rows())?,
            Format::Table => match printer.rows {
                Some(print) => print(&mut out, &rows)?,
                None => {
                    for line in (printer.table)(&rows).lines(&widths) {
                        out.line(&line)?;
                    }
                }
            },
        }
        out.flush()?;
        shown += rows.len() as u64;
        if next.is_empty() {
            break None;
        }
        if wanted.is_some_and(|wanted| shown >= wanted) {
            break Some(next);
        }
        request.after = next;
    };
    let Some(first) = first else {
        return Ok(());
    };
    let total = first.total().filter(|_| !continued);
    match printer.format {
        Format::Json => {
            // `next` is the message's last field: say where this stopped.
            let empty = "\"next\":\"\"}";
            let tail = json_tail.strip_suffix(empty).unwrap_or(&json_tail);
            let next = serde_json::to_string(&next.clone().unwrap_or_default())?;
            let end = if tail.len() < json_tail.len() {
                format!("\"next\":{next}}}")
            } else {
                String::new()
            };
            out.line(&format!("{tail}{end}"))?;
        }
        Format::Csv => {
            if let Some(next) = &next {
                eprintln!("({}; continue with --after {next})", rows_of(shown, total));
            }
            // Standard output stays pure CSV.
            let mut err = std::io::stderr().lock();
            write_freshness(&mut err, first.freshness())?;
        }
        Format::Table => {
            if let Some(next) = &next {
                out.line(&format!(
                    "({} shown; continue with --after {next})",
                    rows_of(shown, total)
                ))?;
            }
            let mut text = Vec::new();
            write_freshness(&mut text, first.freshness())?;
            out.write(&String::from_utf8_lossy(&text))?;
        }
    }
    out.flush()
}

/// "12 of 40", or "12" when the total is not known.
fn rows_of(shown: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{shown} of {total}"),
        None => shown.to_string(),
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
    let api = ViewServiceClient::with_interceptor(client.channel(), client.token())
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let format = |common: &Common| match (json, common.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Table,
    };
    macro_rules! fetch {
        ($method:ident) => {
            |request| {
                let mut api = api.clone();
                async move { Ok(api.$method(request).await?.into_inner()) }
            }
        };
    }
    match command {
        ViewCommand::Directory { common, period } => {
            follow(
                fetch!(directory),
                request(&common, period.period.as_deref(), None),
                common.limit,
                Printer {
                    format: format(&common),
                    table: &directory_table,
                    heading: &|view: &pb::DirectoryView| {
                        println!("Focal-point directory: {} focal points", view.total);
                    },
                    rows: None,
                },
            )
            .await
        }
        ViewCommand::Naps {
            common,
            period,
            theme,
        } => {
            follow(
                fetch!(nap_tracker),
                request(&common, period.period.as_deref(), theme.theme.as_deref()),
                common.limit,
                Printer {
                    format: format(&common),
                    table: &nap_table,
                    heading: &|view: &pb::NapTrackerView| {
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
                            "NAP tracker: {} members{matching}; {} with a NAP in force, {} of \
                             them with an allocated budget; {} adopted, not yet in force; {} \
                             expired; {} drafting; {} without {plan}",
                            s.members,
                            s.in_force,
                            s.in_force_with_allocated_budget,
                            s.adopted,
                            s.expired,
                            s.drafting,
                            s.none
                        );
                    },
                    rows: None,
                },
            )
            .await
        }
        ViewCommand::Practices {
            common,
            period,
            theme,
        } => {
            follow(
                fetch!(practices),
                request(&common, period.period.as_deref(), theme.theme.as_deref()),
                common.limit,
                Printer {
                    format: format(&common),
                    table: &practice_table,
                    heading: &|view: &pb::PracticesView| {
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
                    rows: None,
                },
            )
            .await
        }
        ViewCommand::Funding {
            common,
            period,
            theme,
        } => {
            follow(
                fetch!(funding),
                request(&common, period.period.as_deref(), theme.theme.as_deref()),
                common.limit,
                Printer {
                    format: format(&common),
                    table: &funding_table,
                    heading: &|view: &pb::FundingView| {
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
                                    format!(
                                        "{} ({}: {})",
                                        p.party,
                                        p.commitments,
                                        totals(&p.totals)
                                    )
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
                    rows: None,
                },
            )
            .await
        }
        ViewCommand::FollowUp { common, period } => {
            follow(
                fetch!(follow_up),
                request(&common, period.as_deref(), None),
                common.limit,
                Printer {
                    format: format(&common),
                    table: &follow_up_table,
                    heading: &|view: &pb::FollowUpView| {
                        let s = view.summary.unwrap_or_default();
                        println!(
                            "Follow-up: {} decisions, {} open, {} overdue",
                            s.decisions, s.open, s.overdue
                        );
                    },
                    rows: Some(&print_decisions),
                },
            )
            .await
        }
        ViewCommand::Meeting { id, common } => {
            let view = meeting(api, id, &common).await?;
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
                if !view.next.is_empty() {
                    println!("(continue with --after {})", view.next);
                }
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

/// A meeting's view: with `--limit`, one page (at most that many
/// registrations and statements); without, every page, the lists put
/// together.
async fn meeting(
    api: ViewServiceClient<
        tonic::service::interceptor::InterceptedService<
            tonic::transport::Channel,
            focal_client::client::BearerToken,
        >,
    >,
    id: String,
    common: &Common,
) -> anyhow::Result<pb::MeetingView> {
    let mut filter = request(common, None, None);
    filter.limit = common.limit.unwrap_or(PAGE);
    let ask = |filter: pb::ViewRequest| {
        let request = pb::MeetingViewRequest {
            meeting_id: id.clone(),
            filter: Some(filter),
        };
        let mut api = api.clone();
        async move { api.meeting(request).await.map(|r| r.into_inner()) }
    };
    let mut view = ask(filter.clone()).await.map_err(explain)?;
    while common.limit.is_none() && !view.next.is_empty() {
        filter.after = std::mem::take(&mut view.next);
        let page = ask(filter.clone()).await.map_err(explain)?;
        view.registrations.extend(page.registrations);
        view.statements.extend(page.statements);
        view.next = page.next;
    }
    Ok(view)
}

/// The follow-up's rows as text: a paragraph per decision.
fn print_decisions(out: &mut Output, decisions: &[pb::DecisionFollowUp]) -> anyhow::Result<()> {
    for d in decisions {
        out.line("")?;
        out.line(&format!(
            "{}{}  due {}  {}  responsible: {}",
            if d.overdue { "OVERDUE  " } else { "" },
            d.id,
            or_dash(&d.due),
            d.status,
            d.responsible
        ))?;
        out.line(&format!("  {}", d.text))?;
        if !d.meeting_title.is_empty() {
            out.line(&format!("  meeting: {}", d.meeting_title))?;
        }
        for u in &d.updates {
            out.line(&format!(
                "  {} {} ({}): {}",
                member_standing(&u.member, &u.standing),
                or_dash(&u.when),
                u.status,
                u.text
            ))?;
        }
        if !d.not_reported.is_empty() {
            out.line(&format!("  not reported: {}", d.not_reported.join(", ")))?;
        }
    }
    Ok(())
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
                eprintln!("({} of {total} rows)", table.rows.len());
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
        println!("({rows} of {total} shown)");
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
        let widths = self.widths();
        println!("{}", self.header(&widths));
        for line in self.lines(&widths) {
            println!("{line}");
        }
    }

    /// The width of each column: its widest cell or heading. A view that
    /// comes in pages is aligned on its first page; a wider cell later
    /// pushes its line's next cells to the right.
    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }

    /// One line of cells, aligned on `widths`.
    fn line(cells: &[&str], widths: &[usize]) -> String {
        let last = cells.len().saturating_sub(1);
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0))
                }
            })
            .collect();
        parts.join("  ").trim_end().to_owned()
    }

    /// The heading line.
    fn header(&self, widths: &[usize]) -> String {
        Self::line(&self.headers, widths)
    }

    /// The rows' lines.
    fn lines(&self, widths: &[usize]) -> Vec<String> {
        self.rows
            .iter()
            .map(|row| Self::line(&row.iter().map(String::as_str).collect::<Vec<_>>(), widths))
            .collect()
    }

    /// RFC 4180: CRLF line ends; fields with a comma, quote or line break
    /// quoted, quotes doubled. The header line, then the rows.
    fn csv(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let mut out = csv_line(headers.iter().map(String::as_str));
        out.push_str(&self.csv_rows());
        out
    }

    /// The rows alone, as CSV.
    fn csv_rows(&self) -> String {
        self.rows
            .iter()
            .map(|row| csv_line(row.iter().map(String::as_str)))
            .collect()
    }
}

/// One CSV line (CRLF-ended).
fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let fields: Vec<String> = cells.map(csv_field).collect();
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
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

fn directory_table(rows: &[pb::DirectoryEntry]) -> Table {
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
        rows: rows
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

fn nap_table(rows: &[pb::NapTrackerRow]) -> Table {
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
        rows: rows
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

fn practice_table(rows: &[pb::PracticeRow]) -> Table {
    Table {
        headers: vec![
            "MEMBER", "STANDING", "REGION", "KIND", "THEMES", "TITLE", "CREATED", "ID",
        ],
        rows: rows
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

fn funding_table(rows: &[pb::FundingRow]) -> Table {
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
        rows: rows
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

fn follow_up_table(rows: &[pb::DecisionFollowUp]) -> Table {
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
        rows: rows
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
