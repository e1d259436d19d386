//! The network views that have pages beside the directory and the NAP
//! tracker (`pages.rs`): practices, funding, follow-up, meetings.
//!
//! Each page takes the filters of its view as the CLI does (`member`,
//! `region`, `kind`, and where the view has them `theme`, `period`;
//! `as_of` is taken by every view and asked for on the follow-up page,
//! the one it changes), shows the view's counts, totals and summaries on
//! the first page, its freshness, one page of rows and the link to the
//! next, and gives every row as CSV (`format=csv`, streamed page after page
//! by `download.rs`). The
//! funding page also gives its totals as CSV (`format=csv-totals`).
//!
//! Text from records reaches the page through the template
//! (`view_report.html`), which escapes it; vocabulary values (themes,
//! regions, statuses) are shown by their message in the page's language,
//! or as they are when they have none.

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    response::Response,
    routing::get,
};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    records::{Meeting, RecordRef, RecordType, Region, Theme},
    store::{
        RecordRow,
        query::{ListFilter, PageRequest},
        users::Role,
    },
    views::{
        CurrencyTotal, DecisionFollowUp, FundingRow, MAX_LIMIT, PartyTotal, PracticeRow,
        RegistrationRow, StatementRow, ViewError, ViewInput,
    },
    web::{
        WebApp,
        auth::Ctx,
        download,
        pages::{
            self, Chrome, csv_response, freshness_text, html, msg, not_found, read_failed,
            read_view, require_role, url_encode, view_error,
        },
    },
};

/// Rows on one page.
const PAGE_ROWS: u32 = 50;
/// The longest statement text shown in a table (the record has all of it).
const SHOWN_TEXT_CHARS: usize = 300;

/// The routes.
pub fn routes() -> Router<WebApp> {
    Router::new()
        .route("/views/practices", get(practices))
        .route("/views/funding", get(funding))
        .route("/views/follow-up", get(follow_up))
        .route("/views/meetings", get(meetings))
        .route("/views/meetings/{id}", get(meeting))
}

// ---- messages ----

/// Messages by id: a page's [`Chrome`], or (in tests) the id itself.
pub(crate) struct Tr<'a>(pub(crate) &'a (dyn Fn(&str) -> String + Sync));

impl Tr<'_> {
    /// The message `id`.
    pub(crate) fn t(&self, id: &str) -> String {
        (self.0)(id)
    }

    /// The name of a vocabulary value (`theme-climate-change`), or the
    /// value itself when it has no message.
    fn value(&self, prefix: &str, value: &str) -> String {
        let value = value.trim();
        if value.is_empty() {
            return String::new();
        }
        let id = format!("{prefix}-{value}");
        let text = self.t(&id);
        if text == id { value.to_owned() } else { text }
    }

    /// `yes`, `no`, or nothing.
    fn yes_no(&self, value: Option<bool>) -> String {
        match value {
            Some(true) => self.t("yes"),
            Some(false) => self.t("no"),
            None => String::new(),
        }
    }
}

// ---- filters ----

/// The filters of a view, from the query string.
#[derive(Deserialize, Default)]
struct Filters {
    #[serde(default)]
    member: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    format: String,
    /// The meetings list's search.
    #[serde(default)]
    q: String,
}

/// Which filters a view has beyond member, region and kind.
#[derive(Debug, Clone, Copy)]
struct Spec {
    /// `theme` applies.
    theme: bool,
    /// `period` applies.
    period: bool,
    /// `as_of` changes what the view shows (it is taken by every view).
    as_of: bool,
}

const PRACTICES: Spec = Spec {
    theme: true,
    period: true,
    as_of: false,
};
const FUNDING: Spec = Spec {
    theme: true,
    period: true,
    as_of: false,
};
const FOLLOW_UP: Spec = Spec {
    theme: false,
    period: true,
    as_of: true,
};
const MEETING: Spec = Spec {
    theme: false,
    period: false,
    as_of: false,
};

impl Filters {
    /// The view's input: one page of rows, or the most a page holds for
    /// CSV. Filters the view does not have are left out.
    fn input(&self, spec: Spec) -> ViewInput {
        let given = |applies: bool, text: &str| {
            if applies {
                text.trim().to_owned()
            } else {
                String::new()
            }
        };
        ViewInput {
            member: self.member.trim().to_owned(),
            region: self.region.trim().to_owned(),
            kind: self.kind.trim().to_owned(),
            theme: given(spec.theme, &self.theme),
            period: given(spec.period, &self.period),
            as_of: self.as_of.trim().to_owned(),
            limit: if self.csv().is_some() {
                MAX_LIMIT as u32
            } else {
                PAGE_ROWS
            },
            after: if self.csv().is_some() {
                String::new()
            } else {
                self.after.trim().to_owned()
            },
            max_bytes: 0,
        }
    }

    /// The CSV asked for: `csv` (the rows) or `csv-totals`.
    fn csv(&self) -> Option<&str> {
        matches!(self.format.as_str(), "csv" | "csv-totals").then_some(self.format.as_str())
    }

    /// Whether this is a first page (which carries the summaries).
    fn first(&self) -> bool {
        self.after.trim().is_empty()
    }

    /// A link to `path` with these filters, after the cursor `after`, in
    /// `format` (empty: the page).
    fn href(&self, path: &str, spec: Spec, after: &str, format: &str) -> String {
        let params = [
            ("member", self.member.trim(), true),
            ("region", self.region.trim(), true),
            ("kind", self.kind.trim(), true),
            ("theme", self.theme.trim(), spec.theme),
            ("period", self.period.trim(), spec.period),
            ("as_of", self.as_of.trim(), true),
            ("after", after, true),
            ("format", format, true),
        ];
        let query: Vec<String> = params
            .iter()
            .filter(|(_, value, applies)| *applies && !value.is_empty())
            .map(|(name, value, _)| format!("{name}={}", url_encode(value)))
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }

    /// The form's fields.
    fn fields(&self, tr: &Tr<'_>, spec: Spec) -> Vec<Field> {
        let mut fields = vec![
            Field::text("member", tr.t("col-member"), &self.member),
            Field::choice(
                "region",
                tr.t("col-region"),
                &self.region,
                Region::ALL
                    .iter()
                    .map(|r| (r.as_str(), tr.value("region", r.as_str()))),
            ),
            Field::choice(
                "kind",
                tr.t("filter-kind"),
                &self.kind,
                ["state", "regional-organization"]
                    .into_iter()
                    .map(|k| (k, tr.value("member-kind", k))),
            ),
        ];
        if spec.theme {
            fields.push(Field::choice(
                "theme",
                tr.t("col-theme"),
                &self.theme,
                Theme::ALL
                    .iter()
                    .map(|t| (t.as_str(), tr.value("theme", t.as_str()))),
            ));
        }
        if spec.period {
            let mut period = Field::text("period", tr.t("col-period"), &self.period);
            period.hint = tr.t("filter-period-hint");
            fields.push(period);
        }
        if spec.as_of {
            let mut as_of = Field::text("as_of", tr.t("filter-as-of"), &self.as_of);
            as_of.input = "date";
            as_of.hint = tr.t("filter-as-of-hint");
            fields.push(as_of);
        }
        fields
    }
}

/// A field of the filter form: a text or date input, or a choice.
struct Field {
    name: &'static str,
    label: String,
    value: String,
    /// The input's type, when it has no options.
    input: &'static str,
    hint: String,
    options: Vec<Choice>,
}

/// An option of a choice.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

impl Field {
    fn text(name: &'static str, label: String, value: &str) -> Self {
        Self {
            name,
            label,
            value: value.trim().to_owned(),
            input: "text",
            hint: String::new(),
            options: Vec::new(),
        }
    }

    /// A choice among `options` (value, label); a value given that is not
    /// among them is kept as an option of its own, so that the form shows
    /// what was asked.
    fn choice<'v>(
        name: &'static str,
        label: String,
        value: &str,
        options: impl Iterator<Item = (&'v str, String)>,
    ) -> Self {
        let value = value.trim();
        let mut options: Vec<Choice> = options
            .map(|(v, label)| Choice {
                selected: v == value,
                value: v.to_owned(),
                label,
            })
            .collect();
        if !value.is_empty() && !options.iter().any(|o| o.selected) {
            options.push(Choice {
                value: value.to_owned(),
                label: value.to_owned(),
                selected: true,
            });
        }
        Self {
            options,
            ..Self::text(name, label, value)
        }
    }
}

// ---- what the page shows ----

#[derive(Template)]
#[template(path = "view_report.html")]
struct ReportPage {
    c: Chrome,
    /// The record types whose changes refresh the page.
    live: &'static str,
    heading: String,
    back: Option<Link>,
    /// Lines under the heading.
    about: Vec<Vec<Part>>,
    filters: Vec<Field>,
    action: String,
    freshness: Option<String>,
    downloads: Vec<Link>,
    summary: Vec<(String, String)>,
    sections: Vec<Section>,
    next: Option<String>,
}

/// A link.
struct Link {
    href: String,
    text: String,
}

/// A part of the page with its heading (none: the page's heading names
/// it): facts, a table, or the text shown when it has neither.
struct Section {
    /// Its element id.
    id: &'static str,
    heading: String,
    facts: Vec<(String, String)>,
    grid: Option<Grid>,
    empty: String,
}

impl Section {
    fn grid(id: &'static str, heading: String, grid: Grid, empty: String) -> Self {
        Self {
            id,
            heading,
            facts: Vec::new(),
            grid: Some(grid),
            empty,
        }
    }

    /// The id of the element that names it: its heading, or the page's
    /// when it has none.
    fn label(&self) -> &'static str {
        if self.heading.is_empty() {
            "view-heading"
        } else {
            self.id
        }
    }

    /// Whether it shows nothing but its heading (and then its `empty`).
    fn blank(&self) -> bool {
        self.facts.is_empty() && self.grid.as_ref().is_none_or(|g| g.rows.is_empty())
    }
}

/// A table: column headings and rows of cells.
struct Grid {
    head: Vec<String>,
    rows: Vec<Vec<Out>>,
}

/// A cell: lines of parts (a list when `list`).
#[derive(Default)]
struct Out {
    lines: Vec<Vec<Part>>,
    list: bool,
}

/// A piece of text: plain, a link, or a marked word (a state said in
/// words, not by colour).
struct Part {
    text: String,
    href: Option<String>,
    mark: bool,
    external: bool,
}

impl Part {
    fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
            mark: false,
            external: false,
        }
    }

    fn link(text: impl Into<String>, href: String) -> Self {
        Self {
            href: Some(href),
            ..Self::text(text)
        }
    }

    /// A link to the record `id`.
    fn record(text: impl Into<String>, id: &str) -> Self {
        Self::link(text, record_href(id))
    }

    fn mark(text: impl Into<String>) -> Self {
        Self {
            mark: true,
            ..Self::text(text)
        }
    }

    /// A link off this site, if `url` is a web address (else its text).
    fn external(url: &str) -> Self {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            Self {
                external: true,
                ..Self::link(url, url.to_owned())
            }
        } else {
            Self::text(url)
        }
    }
}

impl Out {
    fn of(parts: Vec<Part>) -> Self {
        Self {
            lines: vec![parts],
            list: false,
        }
    }

    fn text(text: impl Into<String>) -> Self {
        Self::of(vec![Part::text(text)])
    }

    fn record(text: impl Into<String>, id: &str) -> Self {
        Self::of(vec![Part::record(text, id)])
    }

    fn list(lines: Vec<Vec<Part>>) -> Self {
        Self { lines, list: true }
    }
}

fn record_href(id: &str) -> String {
    format!("/records/{}", url_encode(id))
}

fn meeting_href(id: &str) -> String {
    format!("/views/meetings/{}", url_encode(id))
}

/// A member, with its standing marked when it is not active.
fn member_parts(tr: &Tr<'_>, member: &str, standing: &str) -> Vec<Part> {
    let mut parts = vec![Part::text(member)];
    if !standing.is_empty() {
        parts.push(Part::mark(tr.value("standing", standing)));
    }
    parts
}

/// `ESP`, or `ESP (suspended)`, for CSV.
fn member_text(tr: &Tr<'_>, member: &str, standing: &str) -> String {
    if standing.is_empty() {
        member.to_owned()
    } else {
        format!("{member} ({})", tr.value("standing", standing))
    }
}

/// A list of vocabulary values by their names.
fn values(tr: &Tr<'_>, prefix: &str, list: &[String]) -> String {
    list.iter()
        .map(|v| tr.value(prefix, v))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `start – end`, either end left out when missing.
fn span(start: Option<&str>, end: Option<&str>) -> String {
    match (
        start.filter(|s| !s.is_empty()),
        end.filter(|s| !s.is_empty()),
    ) {
        (Some(s), Some(e)) if s != e => format!("{s} – {e}"),
        (Some(s), _) => s.to_owned(),
        (None, Some(e)) => format!("– {e}"),
        (None, None) => String::new(),
    }
}

/// An amount, rounded to two decimals, without grouping.
fn amount(value: f64) -> String {
    let text = format!("{:.2}", (value * 100.0).round() / 100.0);
    if text == "-0.00" {
        "0.00".to_owned()
    } else {
        text
    }
}

/// At most `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// A CSV download: its header and rows, as text.
#[derive(Debug, PartialEq)]
pub(crate) struct Csv {
    pub(crate) head: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Csv {
    fn response(self, name: &str) -> Response {
        let table = pages::Table {
            head: self.head,
            rows: self
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(pages::Cell::text).collect())
                .collect(),
        };
        csv_response(name, &table)
    }
}

// ---- reading ----

/// The pieces every view page has.
struct Frame {
    heading: String,
    filters: Vec<Field>,
    action: String,
    freshness: String,
    downloads: Vec<Link>,
}

fn page(c: Chrome, live: &'static str, frame: Frame) -> ReportPage {
    ReportPage {
        c,
        live,
        heading: frame.heading,
        back: None,
        about: Vec::new(),
        filters: frame.filters,
        action: frame.action,
        freshness: Some(frame.freshness),
        downloads: frame.downloads,
        summary: Vec::new(),
        sections: Vec::new(),
        next: None,
    }
}

// ---- practices ----

async fn practices(State(app): State<WebApp>, ctx: Ctx, Query(q): Query<Filters>) -> Response {
    const PATH: &str = "/views/practices";
    if let Some(to) = require_role(&app, &ctx, Role::Reader) {
        return to;
    }
    let views = app.inner.views.clone();
    let input = q.input(PRACTICES);
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-practices"));
    let f = |id: &str| c.t(id);
    let tr = Tr(&f);
    if q.csv().is_some() {
        return download::csv(
            &app,
            &ctx,
            "practices",
            input,
            move |i| views.practices(i),
            |v| {
                let next = v.pager.next(&v.practices);
                (v.practices.into_rows(), next)
            },
            practices_csv,
        )
        .await;
    }
    let view = match read_view(&app, &ctx, move || views.practices(&input)).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let mut sections = Vec::new();
    let mut summary = Vec::new();
    if q.first() {
        summary.push((tr.t("summary-practices"), view.total.to_string()));
        sections.push(Section::grid(
            "by-theme",
            tr.t("by-theme"),
            counts_grid(&tr, &tr.t("col-theme"), "theme", &view.by_theme),
            tr.t("none-listed"),
        ));
        sections.push(Section::grid(
            "by-region",
            tr.t("by-region"),
            counts_grid(&tr, &tr.t("col-region"), "region", &view.by_region),
            tr.t("none-listed"),
        ));
    }
    sections.push(Section::grid(
        "rows",
        tr.t("type-practice"),
        practices_grid(&tr, &view.practices),
        tr.t("nothing-found"),
    ));
    let frame = Frame {
        heading: tr.t("view-practices"),
        filters: q.fields(&tr, PRACTICES),
        action: PATH.into(),
        freshness: freshness_text(&c, &view.freshness),
        downloads: vec![Link {
            href: q.href(PATH, PRACTICES, "", "csv"),
            text: tr.t("download-csv"),
        }],
    };
    let next = view
        .pager
        .next(&view.practices)
        .map(|after| q.href(PATH, PRACTICES, &after, ""));
    let mut page = page(c, "practice member", frame);
    page.summary = summary;
    page.sections = sections;
    page.next = next;
    html(&page)
}

/// Counts by theme or region: name and count.
fn counts_grid(tr: &Tr<'_>, head: &str, prefix: &str, counts: &[(String, u64)]) -> Grid {
    Grid {
        head: vec![head.to_owned(), tr.t("summary-practices")],
        rows: counts
            .iter()
            .map(|(key, n)| vec![Out::text(tr.value(prefix, key)), Out::text(n.to_string())])
            .collect(),
    }
}

fn practices_grid(tr: &Tr<'_>, rows: &[PracticeRow]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-title"),
            tr.t("col-member"),
            tr.t("col-region"),
            tr.t("col-practice-kind"),
            tr.t("col-themes"),
            tr.t("col-recorded"),
        ],
        rows: rows
            .iter()
            .map(|p| {
                vec![
                    Out::record(&p.title, &p.id),
                    Out::of(member_parts(tr, &p.member, &p.standing)),
                    Out::text(tr.value("region", p.region.as_deref().unwrap_or_default())),
                    Out::text(tr.value("practice-kind", p.kind.as_deref().unwrap_or_default())),
                    Out::text(values(tr, "theme", &p.themes)),
                    Out::text(p.created.chars().take(10).collect::<String>()),
                ]
            })
            .collect(),
    }
}

fn practices_csv(tr: &Tr<'_>, rows: &[PracticeRow]) -> Csv {
    Csv {
        head: vec![
            tr.t("col-member"),
            tr.t("col-standing"),
            tr.t("col-region"),
            tr.t("col-practice-kind"),
            tr.t("col-themes"),
            tr.t("col-title"),
            tr.t("col-recorded"),
            tr.t("col-id"),
        ],
        rows: rows
            .iter()
            .map(|p| {
                vec![
                    p.member.clone(),
                    tr.value("standing", &p.standing),
                    tr.value("region", p.region.as_deref().unwrap_or_default()),
                    tr.value("practice-kind", p.kind.as_deref().unwrap_or_default()),
                    values(tr, "theme", &p.themes),
                    p.title.clone(),
                    p.created.clone(),
                    p.id.clone(),
                ]
            })
            .collect(),
    }
}

// ---- funding ----

async fn funding(State(app): State<WebApp>, ctx: Ctx, Query(q): Query<Filters>) -> Response {
    const PATH: &str = "/views/funding";
    if let Some(to) = require_role(&app, &ctx, Role::Reader) {
        return to;
    }
    let views = app.inner.views.clone();
    let mut input = q.input(FUNDING);
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-funding"));
    let f = |id: &str| c.t(id);
    let tr = Tr(&f);
    match q.csv() {
        Some("csv-totals") => {
            // The totals come with the first page; one row of it is enough.
            input.limit = 1;
            return match read_view(&app, &ctx, move || views.funding(&input)).await {
                Ok(v) => totals_csv(
                    &tr,
                    v.total,
                    &v.totals,
                    &v.by_donor,
                    &v.by_recipient,
                    &v.by_theme,
                )
                .response("funding-totals"),
                Err(refused) => refused,
            };
        }
        Some(_) => {
            return download::csv(
                &app,
                &ctx,
                "funding",
                input,
                move |i| views.funding(i),
                |v| {
                    let next = v.pager.next(&v.commitments);
                    (v.commitments.into_rows(), next)
                },
                funding_csv,
            )
            .await;
        }
        None => {}
    }
    let view = match read_view(&app, &ctx, move || views.funding(&input)).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let mut sections = Vec::new();
    let mut summary = Vec::new();
    if q.first() {
        summary.push((tr.t("summary-commitments"), view.total.to_string()));
        sections.push(Section::grid(
            "totals",
            tr.t("funding-totals"),
            currency_grid(&tr, &view.totals),
            tr.t("funding-no-amounts"),
        ));
        for (id, heading, head, list, theme) in [
            ("by-donor", "by-donor", "col-donor", &view.by_donor, false),
            (
                "by-recipient",
                "by-recipient",
                "col-recipient",
                &view.by_recipient,
                false,
            ),
            ("by-theme", "by-theme", "col-theme", &view.by_theme, true),
        ] {
            sections.push(Section::grid(
                id,
                tr.t(heading),
                party_grid(&tr, &tr.t(head), list, theme),
                tr.t("none-listed"),
            ));
        }
        let names = |list: &[String], theme: bool| {
            if list.is_empty() {
                tr.t("none-listed")
            } else if theme {
                list.iter()
                    .map(|t| tr.value("theme", t))
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                list.join(", ")
            }
        };
        sections.push(Section {
            id: "gaps",
            heading: tr.t("funding-gaps"),
            facts: vec![
                (tr.t("unfunded-themes"), names(&view.unfunded_themes, true)),
                (
                    tr.t("unfunded-recipients"),
                    names(&view.unfunded_recipients, false),
                ),
                (
                    tr.t("unfunded-members"),
                    names(&view.unfunded_members, false),
                ),
            ],
            grid: None,
            empty: String::new(),
        });
    }
    sections.push(Section::grid(
        "rows",
        tr.t("type-funding"),
        funding_grid(&tr, &view.commitments),
        tr.t("nothing-found"),
    ));
    let frame = Frame {
        heading: tr.t("view-funding"),
        filters: q.fields(&tr, FUNDING),
        action: PATH.into(),
        freshness: freshness_text(&c, &view.freshness),
        downloads: vec![
            Link {
                href: q.href(PATH, FUNDING, "", "csv"),
                text: tr.t("download-csv"),
            },
            Link {
                href: q.href(PATH, FUNDING, "", "csv-totals"),
                text: tr.t("download-csv-totals"),
            },
        ],
    };
    let next = view
        .pager
        .next(&view.commitments)
        .map(|after| q.href(PATH, FUNDING, &after, ""));
    let mut page = page(c, "funding member", frame);
    page.summary = summary;
    page.sections = sections;
    page.next = next;
    html(&page)
}

/// Sums per currency.
fn currency_grid(tr: &Tr<'_>, totals: &[CurrencyTotal]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-currency"),
            tr.t("col-amount"),
            tr.t("col-commitments-with-amount"),
        ],
        rows: totals
            .iter()
            .map(|t| {
                vec![
                    Out::text(&t.currency),
                    Out::text(amount(t.amount)),
                    Out::text(t.commitments.to_string()),
                ]
            })
            .collect(),
    }
}

/// What each donor, recipient or theme gives or receives: its commitments
/// and a line per currency.
fn party_grid(tr: &Tr<'_>, head: &str, parties: &[PartyTotal], theme: bool) -> Grid {
    Grid {
        head: vec![
            head.to_owned(),
            tr.t("summary-commitments"),
            tr.t("col-amounts"),
        ],
        rows: parties
            .iter()
            .map(|p| {
                vec![
                    Out::text(if theme {
                        tr.value("theme", &p.party)
                    } else {
                        p.party.clone()
                    }),
                    Out::text(p.commitments.to_string()),
                    Out::list(
                        p.totals
                            .iter()
                            .map(|t| {
                                vec![Part::text(format!("{} {}", amount(t.amount), t.currency))]
                            })
                            .collect(),
                    ),
                ]
            })
            .collect(),
    }
}

/// The totals as CSV: a line for the whole selection and for each donor,
/// recipient and theme in each currency (a party without amounts has one
/// line with its commitments and no currency).
fn totals_csv(
    tr: &Tr<'_>,
    total: u64,
    totals: &[CurrencyTotal],
    by_donor: &[PartyTotal],
    by_recipient: &[PartyTotal],
    by_theme: &[PartyTotal],
) -> Csv {
    let mut rows = Vec::new();
    let mut add = |group: &str, party: String, commitments: u64, totals: &[CurrencyTotal]| {
        if totals.is_empty() {
            rows.push(vec![
                group.to_owned(),
                party.clone(),
                commitments.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for t in totals {
            rows.push(vec![
                group.to_owned(),
                party.clone(),
                commitments.to_string(),
                t.currency.clone(),
                amount(t.amount),
                t.commitments.to_string(),
            ]);
        }
    };
    add(&tr.t("funding-all"), String::new(), total, totals);
    for (group, list, theme) in [
        (tr.t("by-donor"), by_donor, false),
        (tr.t("by-recipient"), by_recipient, false),
        (tr.t("by-theme"), by_theme, true),
    ] {
        for p in list {
            let party = if theme {
                tr.value("theme", &p.party)
            } else {
                p.party.clone()
            };
            add(&group, party, p.commitments, &p.totals);
        }
    }
    Csv {
        head: vec![
            tr.t("col-group"),
            tr.t("col-party"),
            tr.t("summary-commitments"),
            tr.t("col-currency"),
            tr.t("col-amount"),
            tr.t("col-commitments-with-amount"),
        ],
        rows,
    }
}

/// A party, with the country of a civil-society recipient.
fn party_text(party: &str, country: Option<&str>) -> String {
    match country.filter(|c| !c.is_empty()) {
        Some(country) => format!("{party} ({country})"),
        None => party.to_owned(),
    }
}

fn funding_grid(tr: &Tr<'_>, rows: &[FundingRow]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-title"),
            tr.t("col-donor"),
            tr.t("col-recipient"),
            tr.t("col-amount"),
            tr.t("col-currency"),
            tr.t("col-assistance"),
            tr.t("col-channel"),
            tr.t("col-themes"),
            tr.t("col-period"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Out::record(&r.title, &r.id),
                    Out::text(&r.donor),
                    Out::text(party_text(&r.recipient, r.recipient_country.as_deref())),
                    Out::text(r.amount.map(amount).unwrap_or_default()),
                    Out::text(r.currency.clone().unwrap_or_default()),
                    Out::text(tr.value("assistance", &r.kind)),
                    Out::text(tr.value("channel", &r.channel)),
                    Out::text(values(tr, "theme", &r.themes)),
                    Out::text(span(r.period_start.as_deref(), r.period_end.as_deref())),
                ]
            })
            .collect(),
    }
}

fn funding_csv(tr: &Tr<'_>, rows: &[FundingRow]) -> Csv {
    Csv {
        head: vec![
            tr.t("col-donor"),
            tr.t("col-recipient"),
            tr.t("col-recipient-country"),
            tr.t("col-amount"),
            tr.t("col-currency"),
            tr.t("col-assistance"),
            tr.t("col-channel"),
            tr.t("col-themes"),
            tr.t("col-period-start"),
            tr.t("col-period-end"),
            tr.t("col-title"),
            tr.t("col-recorded-by"),
            tr.t("col-id"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.donor.clone(),
                    r.recipient.clone(),
                    r.recipient_country.clone().unwrap_or_default(),
                    r.amount.map(amount).unwrap_or_default(),
                    r.currency.clone().unwrap_or_default(),
                    tr.value("assistance", &r.kind),
                    tr.value("channel", &r.channel),
                    values(tr, "theme", &r.themes),
                    r.period_start.clone().unwrap_or_default(),
                    r.period_end.clone().unwrap_or_default(),
                    r.title.clone(),
                    r.owner.clone(),
                    r.id.clone(),
                ]
            })
            .collect(),
    }
}

// ---- follow-up ----

async fn follow_up(State(app): State<WebApp>, ctx: Ctx, Query(q): Query<Filters>) -> Response {
    const PATH: &str = "/views/follow-up";
    if let Some(to) = require_role(&app, &ctx, Role::Reader) {
        return to;
    }
    let views = app.inner.views.clone();
    let input = q.input(FOLLOW_UP);
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-follow-up"));
    let f = |id: &str| c.t(id);
    let tr = Tr(&f);
    if q.csv().is_some() {
        return download::csv(
            &app,
            &ctx,
            "follow-up",
            input,
            move |i| views.follow_up(i),
            |v| {
                let next = v.pager.next(&v.decisions);
                (v.decisions.into_rows(), next)
            },
            decisions_csv,
        )
        .await;
    }
    let view = match read_view(&app, &ctx, move || views.follow_up(&input)).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let mut summary = Vec::new();
    if q.first() {
        let s = view.summary;
        summary = vec![
            (tr.t("summary-decisions"), s.decisions.to_string()),
            (tr.t("summary-open"), s.open.to_string()),
            (tr.t("overdue"), s.overdue.to_string()),
        ];
    }
    let frame = Frame {
        heading: tr.t("view-follow-up"),
        filters: q.fields(&tr, FOLLOW_UP),
        action: PATH.into(),
        freshness: freshness_text(&c, &view.freshness),
        downloads: vec![Link {
            href: q.href(PATH, FOLLOW_UP, "", "csv"),
            text: tr.t("download-csv"),
        }],
    };
    let sections = vec![Section::grid(
        "rows",
        tr.t("type-decision"),
        decisions_grid(&tr, &view.decisions),
        tr.t("nothing-found"),
    )];
    let next = view
        .pager
        .next(&view.decisions)
        .map(|after| q.href(PATH, FOLLOW_UP, &after, ""));
    let mut page = page(c, "decision follow-up meeting member", frame);
    page.summary = summary;
    page.sections = sections;
    page.next = next;
    html(&page)
}

/// A member's latest update as one line: the member, its standing, the
/// rating and day linking to the follow-up record, and the text.
fn update_parts(tr: &Tr<'_>, u: &crate::views::MemberUpdate) -> Vec<Part> {
    let mut parts = member_parts(tr, &u.member, &u.standing);
    let rating = tr.value("progress", &u.status);
    let label = match (
        rating.is_empty(),
        u.when.as_deref().filter(|w| !w.is_empty()),
    ) {
        (false, Some(when)) => format!("{rating}, {when}"),
        (false, None) => rating,
        (true, Some(when)) => when.to_owned(),
        (true, None) => tr.t("update-link"),
    };
    parts.push(Part::record(label, &u.id));
    if !u.text.trim().is_empty() {
        parts.push(Part::text(format!("— {}", u.text.trim())));
    }
    parts
}

fn decisions_grid(tr: &Tr<'_>, rows: &[DecisionFollowUp]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-decision"),
            tr.t("col-due"),
            tr.t("col-status"),
            tr.t("col-responsible"),
            tr.t("col-meeting"),
            tr.t("col-updates"),
            tr.t("col-not-reported"),
        ],
        rows: rows
            .iter()
            .map(|d| {
                let mut status = vec![Part::text(tr.value("decision-status", &d.status))];
                if d.overdue {
                    status.push(Part::mark(tr.t("overdue")));
                }
                let meeting = if d.meeting_id.is_empty() {
                    Out::default()
                } else {
                    let title = d
                        .meeting_title
                        .clone()
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or_else(|| d.meeting_id.clone());
                    Out::of(vec![Part::link(title, meeting_href(&d.meeting_id))])
                };
                vec![
                    Out::record(&d.text, &d.id),
                    Out::text(d.due.clone().unwrap_or_default()),
                    Out::of(status),
                    Out::text(tr.value("responsible", &d.responsible)),
                    meeting,
                    Out::list(d.updates.iter().map(|u| update_parts(tr, u)).collect()),
                    Out::text(d.not_reported.join(", ")),
                ]
            })
            .collect(),
    }
}

fn decisions_csv(tr: &Tr<'_>, rows: &[DecisionFollowUp]) -> Csv {
    Csv {
        head: vec![
            tr.t("overdue"),
            tr.t("col-due"),
            tr.t("col-status"),
            tr.t("col-responsible"),
            tr.t("col-decision"),
            tr.t("col-meeting"),
            tr.t("col-meeting-id"),
            tr.t("col-updates"),
            tr.t("col-not-reported"),
            tr.t("col-id"),
        ],
        rows: rows
            .iter()
            .map(|d| {
                let updates: Vec<String> = d
                    .updates
                    .iter()
                    .map(|u| {
                        let mut line = format!(
                            "{}: {}",
                            member_text(tr, &u.member, &u.standing),
                            tr.value("progress", &u.status)
                        );
                        if let Some(when) = u.when.as_deref().filter(|w| !w.is_empty()) {
                            line.push_str(&format!(", {when}"));
                        }
                        if !u.text.trim().is_empty() {
                            line.push_str(&format!(" — {}", u.text.trim()));
                        }
                        line
                    })
                    .collect();
                vec![
                    tr.yes_no(Some(d.overdue)),
                    d.due.clone().unwrap_or_default(),
                    tr.value("decision-status", &d.status),
                    tr.value("responsible", &d.responsible),
                    d.text.clone(),
                    d.meeting_title.clone().unwrap_or_default(),
                    d.meeting_id.clone(),
                    updates.join("; "),
                    d.not_reported.join(", "),
                    d.id.clone(),
                ]
            })
            .collect(),
    }
}

// ---- meetings ----

async fn meetings(State(app): State<WebApp>, ctx: Ctx, Query(q): Query<Filters>) -> Response {
    const PATH: &str = "/views/meetings";
    if let Some(to) = require_role(&app, &ctx, Role::Reader) {
        return to;
    }
    let search = q.q.trim().to_owned();
    let filter = ListFilter {
        kind: Some(RecordType::Meeting),
        search: (!search.is_empty()).then(|| search.clone()),
        ..Default::default()
    };
    let request = PageRequest {
        after: q.after.trim().to_owned(),
        limit: PAGE_ROWS,
        ..Default::default()
    };
    let reader = app.inner.reader.clone();
    let listed = match tokio::task::spawn_blocking(move || reader.list(&filter, &request)).await {
        Ok(Ok(listed)) => listed,
        Ok(Err(crate::store::ReadError::BadRequest(_))) => {
            return pages::message_page(
                &app,
                &ctx,
                axum::http::StatusCode::BAD_REQUEST,
                "bad-request",
                "bad-cursor-text",
            );
        }
        _ => return read_failed(&app, &ctx),
    };
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-meetings"));
    let f = |id: &str| c.t(id);
    let tr = Tr(&f);
    let href = |after: &str| {
        let mut query = Vec::new();
        if !search.is_empty() {
            query.push(format!("q={}", url_encode(&search)));
        }
        if !after.is_empty() {
            query.push(format!("after={}", url_encode(after)));
        }
        if query.is_empty() {
            PATH.to_owned()
        } else {
            format!("{PATH}?{}", query.join("&"))
        }
    };
    let next = listed.next().map(|cursor| href(&cursor.encode()));
    let about = listed
        .total
        .map(|n| vec![vec![Part::text(c.tn("meetings-count", n as i64))]])
        .unwrap_or_default();
    let mut search_field = Field::text("q", tr.t("search"), &search);
    search_field.input = "search";
    let sections = vec![Section::grid(
        "rows",
        String::new(),
        meetings_grid(&tr, &listed.records),
        tr.t("nothing-found"),
    )];
    let page = ReportPage {
        heading: tr.t("view-meetings"),
        live: "meeting",
        back: None,
        about,
        filters: vec![search_field],
        action: PATH.into(),
        freshness: None,
        downloads: Vec::new(),
        summary: Vec::new(),
        sections,
        next,
        c,
    };
    html(&page)
}

/// The meetings: title (to its view), kind, days, city, and the record.
fn meetings_grid(tr: &Tr<'_>, rows: &[RecordRow]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-meeting"),
            tr.t("col-meeting-kind"),
            tr.t("col-dates"),
            tr.t("col-city"),
            tr.t("col-record"),
        ],
        rows: rows
            .iter()
            .map(|row| {
                let json: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                let title = if row.title.trim().is_empty() {
                    row.id.clone()
                } else {
                    row.title.clone()
                };
                vec![
                    Out::of(vec![Part::link(title, meeting_href(&row.id))]),
                    Out::text(tr.value("meeting-kind", &text(&json["kind"]))),
                    Out::text(span(
                        json["dates"]["start"].as_str(),
                        json["dates"]["end"].as_str(),
                    )),
                    Out::text(text(&json["city"])),
                    Out::record(&row.id, &row.id),
                ]
            })
            .collect(),
    }
}

async fn meeting(
    State(app): State<WebApp>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Filters>,
) -> Response {
    if let Some(to) = require_role(&app, &ctx, Role::Reader) {
        return to;
    }
    if RecordRef::<Meeting>::parse(&id).is_err() {
        return not_found(State(app), ctx).await;
    }
    let path = meeting_href(&id);
    let views = app.inner.views.clone();
    let csv = q.csv().is_some();
    let mut input = q.input(MEETING);
    if csv {
        // Only whether the meeting is there: the download reads its rows.
        input.limit = 1;
    }
    let meeting_id = id.clone();
    // A meeting that is not there is "not found" (404), for a download too.
    let answer = tokio::task::spawn_blocking(move || views.meeting(&meeting_id, &input)).await;
    let view = match answer {
        Ok(Ok(view)) => view,
        Ok(Err(ViewError::NotFound(text))) => {
            // The meeting, or a member the filters name? Without filters,
            // only the meeting can be missing.
            let views = app.inner.views.clone();
            let bare = ViewInput {
                limit: 1,
                ..Default::default()
            };
            let again = tokio::task::spawn_blocking(move || views.meeting(&id, &bare)).await;
            return match again {
                Ok(Err(ViewError::NotFound(_))) => not_found(State(app), ctx).await,
                _ => view_error(&app, &ctx, ViewError::NotFound(text)),
            };
        }
        Ok(Err(err)) => return view_error(&app, &ctx, err),
        Err(_) => return read_failed(&app, &ctx),
    };
    if csv {
        let views = app.inner.views.clone();
        return download::csv(
            &app,
            &ctx,
            "meeting",
            q.input(MEETING),
            move |i| views.meeting(&id, i),
            |v| {
                let next = v.pager.next(&v.registrations, &v.statements);
                let registrations = v.registrations.into_rows().into_iter();
                let statements = v.statements.into_rows().into_iter();
                let rows = registrations
                    .map(MeetingRow::Registration)
                    .chain(statements.map(MeetingRow::Statement))
                    .collect();
                (rows, next)
            },
            meeting_csv,
        )
        .await;
    }
    let c = Chrome::new(&app, &ctx, view.title.clone());
    let f = |id: &str| c.t(id);
    let tr = Tr(&f);
    let mut summary = Vec::new();
    let mut sections = Vec::new();
    if q.first() {
        let s = view.summary;
        summary = vec![
            (tr.t("summary-registered"), s.registered_members.to_string()),
            (tr.t("summary-delegates"), s.delegates.to_string()),
            (tr.t("summary-ministers"), s.ministers_speaking.to_string()),
            (tr.t("summary-statements"), s.statements.to_string()),
        ];
        sections.push(Section {
            id: "not-registered",
            heading: tr.t("not-registered"),
            facts: if view.not_registered.is_empty() {
                Vec::new()
            } else {
                vec![(tr.t("summary-members"), view.not_registered.join(", "))]
            },
            grid: None,
            empty: tr.t("none-listed"),
        });
    }
    sections.push(Section::grid(
        "registrations",
        tr.t("type-registration"),
        registrations_grid(&tr, &view.registrations),
        tr.t("nothing-found"),
    ));
    sections.push(Section::grid(
        "statements",
        tr.t("type-statement"),
        statements_grid(&tr, &view.statements),
        tr.t("nothing-found"),
    ));
    let mut about = vec![Part::text(tr.value("meeting-kind", &view.kind))];
    let days = span(Some(&view.start), view.end.as_deref());
    if !days.is_empty() {
        about.push(Part::text(days));
    }
    if let Some(city) = view.city.as_deref().filter(|c| !c.trim().is_empty()) {
        about.push(Part::text(city));
    }
    about.push(Part::record(tr.t("meeting-record"), &view.id));
    let frame = Frame {
        heading: view.title.clone(),
        filters: q.fields(&tr, MEETING),
        action: path.clone(),
        freshness: freshness_text(&c, &view.freshness),
        downloads: vec![Link {
            href: q.href(&path, MEETING, "", "csv"),
            text: tr.t("download-csv"),
        }],
    };
    let next = view
        .pager
        .next(&view.registrations, &view.statements)
        .map(|after| q.href(&path, MEETING, &after, ""));
    let back = Some(Link {
        href: "/views/meetings".into(),
        text: tr.t("view-meetings"),
    });
    let mut page = page(c, "meeting registration statement member", frame);
    page.back = back;
    page.about = vec![about];
    page.summary = summary;
    page.sections = sections;
    page.next = next;
    html(&page)
}

fn registrations_grid(tr: &Tr<'_>, rows: &[RegistrationRow]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-member"),
            tr.t("col-delegates"),
            tr.t("col-minister-speaking"),
            tr.t("col-record"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Out::of(member_parts(tr, &r.member, &r.standing)),
                    Out::list(r.delegates.iter().map(|d| vec![Part::text(d)]).collect()),
                    Out::text(tr.yes_no(r.minister_speaking)),
                    Out::record(&r.id, &r.id),
                ]
            })
            .collect(),
    }
}

fn statements_grid(tr: &Tr<'_>, rows: &[StatementRow]) -> Grid {
    Grid {
        head: vec![
            tr.t("col-member"),
            tr.t("col-speaker"),
            tr.t("col-language"),
            tr.t("col-text"),
            tr.t("col-link"),
        ],
        rows: rows
            .iter()
            .map(|s| {
                let speaker = if s.speaker.trim().is_empty() {
                    s.id.clone()
                } else {
                    s.speaker.clone()
                };
                vec![
                    Out::of(member_parts(tr, &s.member, &s.standing)),
                    Out::record(speaker, &s.id),
                    Out::text(s.language.clone().unwrap_or_default()),
                    Out::text(shorten(&s.text, SHOWN_TEXT_CHARS)),
                    match s.link.as_deref().filter(|l| !l.trim().is_empty()) {
                        Some(link) => Out::of(vec![Part::external(link)]),
                        None => Out::default(),
                    },
                ]
            })
            .collect(),
    }
}

/// Registrations and statements in one table, like `focal view meeting
/// --csv`: a column says which each line is.
/// A row of a meeting's download.
enum MeetingRow {
    Registration(RegistrationRow),
    Statement(StatementRow),
}

/// A meeting's rows as CSV: each page's registrations, then its
/// statements (a meeting has one page: a few hundred of each).
fn meeting_csv(tr: &Tr<'_>, rows: &[MeetingRow]) -> Csv {
    let registration = tr.t("record-registration");
    let statement = tr.t("record-statement");
    let rows = rows
        .iter()
        .map(|row| match row {
            MeetingRow::Registration(r) => vec![
                registration.clone(),
                r.member.clone(),
                tr.value("standing", &r.standing),
                r.delegates.join("; "),
                tr.yes_no(r.minister_speaking),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                r.id.clone(),
            ],
            MeetingRow::Statement(s) => vec![
                statement.clone(),
                s.member.clone(),
                tr.value("standing", &s.standing),
                String::new(),
                String::new(),
                s.speaker.clone(),
                s.language.clone().unwrap_or_default(),
                s.text.clone(),
                s.link.clone().unwrap_or_default(),
                s.id.clone(),
            ],
        })
        .collect();
    Csv {
        head: vec![
            tr.t("col-record"),
            tr.t("col-member"),
            tr.t("col-standing"),
            tr.t("col-delegates"),
            tr.t("col-minister-speaking"),
            tr.t("col-speaker"),
            tr.t("col-language"),
            tr.t("col-text"),
            tr.t("col-link"),
            tr.t("col-id"),
        ],
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        records::{
            Progress,
            decision::DecisionStatus,
            funding::{AssistanceType, Channel},
            meeting::MeetingKind,
            practice::PracticeKind,
        },
        views::MemberUpdate,
        web::i18n::{I18n, Lang},
    };

    /// Messages as their ids (so a test reads which message went where).
    fn ids(id: &str) -> String {
        id.to_owned()
    }

    fn texts(out: &Out) -> Vec<String> {
        out.lines
            .iter()
            .flat_map(|line| line.iter().map(|p| p.text.clone()))
            .collect()
    }

    fn total(currency: &str, amount: f64, commitments: u64) -> CurrencyTotal {
        CurrencyTotal {
            currency: currency.into(),
            amount,
            commitments,
        }
    }

    #[test]
    fn amounts_have_two_decimals_and_no_grouping() {
        assert_eq!(amount(0.1 + 0.2), "0.30");
        assert_eq!(amount(250_000.0), "250000.00");
        assert_eq!(amount(1234.5), "1234.50");
        assert_eq!(amount(99.999), "100.00");
        assert_eq!(amount(-1.234), "-1.23");
        assert_eq!(amount(-0.001), "0.00");
        assert_eq!(amount(1e15), "1000000000000000.00");
    }

    #[test]
    fn totals_csv_has_a_line_per_party_and_currency() {
        let tr = Tr(&ids);
        let csv = totals_csv(
            &tr,
            4,
            &[total("EUR", 1500.5, 2), total("USD", 0.1 + 0.2, 1)],
            &[
                PartyTotal {
                    party: "ESP".into(),
                    commitments: 3,
                    totals: vec![total("EUR", 1500.5, 2), total("USD", 0.3, 1)],
                },
                PartyTotal {
                    party: "UN Women, \"=cmd\"".into(),
                    commitments: 1,
                    totals: Vec::new(),
                },
            ],
            &[PartyTotal {
                party: "NAM".into(),
                commitments: 4,
                totals: vec![total("EUR", 1500.5, 2)],
            }],
            &[PartyTotal {
                party: "climate-change".into(),
                commitments: 2,
                totals: vec![total("USD", 0.3, 1)],
            }],
        );
        let line = |cells: [&str; 6]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            csv.head,
            line([
                "col-group",
                "col-party",
                "summary-commitments",
                "col-currency",
                "col-amount",
                "col-commitments-with-amount"
            ])
        );
        assert_eq!(
            csv.rows,
            vec![
                line(["funding-all", "", "4", "EUR", "1500.50", "2"]),
                line(["funding-all", "", "4", "USD", "0.30", "1"]),
                line(["by-donor", "ESP", "3", "EUR", "1500.50", "2"]),
                line(["by-donor", "ESP", "3", "USD", "0.30", "1"]),
                // A party without amounts keeps its count of commitments.
                line(["by-donor", "UN Women, \"=cmd\"", "1", "", "", ""]),
                line(["by-recipient", "NAM", "4", "EUR", "1500.50", "2"]),
                // Themes go by their names (here, without a message, the
                // value itself).
                line(["by-theme", "climate-change", "2", "USD", "0.30", "1"]),
            ]
        );
        // Nothing at all: one line, the count.
        let empty = totals_csv(&tr, 0, &[], &[], &[], &[]);
        assert_eq!(empty.rows, vec![line(["funding-all", "", "0", "", "", ""])]);
    }

    #[test]
    fn values_are_named_by_their_message_or_shown_as_they_are() {
        let english = I18n::new();
        let named = |id: &str| english.text(Lang::En, id, &[]);
        let tr = Tr(&named);
        assert_eq!(
            tr.value("theme", "climate-change"),
            "Climate change and security"
        );
        assert_eq!(tr.value("region", "africa"), "African Group");
        assert_eq!(tr.value("responsible", "ESP"), "ESP");
        assert_eq!(tr.value("theme", "not-a-theme"), "not-a-theme");
        assert_eq!(tr.value("theme", " "), "");
        assert_eq!(tr.yes_no(Some(true)), "yes");
        assert_eq!(tr.yes_no(None), "");
    }

    /// The ids the pages make from values (`theme-…`, `region-…`) are not
    /// seen by the i18n test of literal ids: every value of every
    /// vocabulary shown has its message in English (hence, by that test,
    /// in every language).
    #[test]
    fn every_value_shown_has_a_message() {
        let english = I18n::new();
        let mut wanted: Vec<String> = Vec::new();
        let mut add = |prefix: &str, values: &mut dyn Iterator<Item = &'static str>| {
            wanted.extend(values.map(|v| format!("{prefix}-{v}")));
        };
        add("theme", &mut Theme::ALL.iter().map(|v| v.as_str()));
        add("region", &mut Region::ALL.iter().map(|v| v.as_str()));
        // Practices count members without a region under `unknown`.
        add("region", &mut std::iter::once("unknown"));
        add(
            "member-kind",
            &mut ["state", "regional-organization"].into_iter(),
        );
        add(
            "practice-kind",
            &mut PracticeKind::ALL.iter().map(|v| v.as_str()),
        );
        add(
            "assistance",
            &mut AssistanceType::ALL.iter().map(|v| v.as_str()),
        );
        add("channel", &mut Channel::ALL.iter().map(|v| v.as_str()));
        add(
            "decision-status",
            &mut DecisionStatus::ALL.iter().map(|v| v.as_str()),
        );
        add("progress", &mut Progress::ALL.iter().map(|v| v.as_str()));
        add(
            "responsible",
            &mut ["secretariat", "troika", "all-members"].into_iter(),
        );
        add(
            "meeting-kind",
            &mut MeetingKind::ALL.iter().map(|v| v.as_str()),
        );
        add("standing", &mut ["suspended", "removed"].into_iter());
        for id in wanted {
            assert_ne!(english.text(Lang::En, &id, &[]), id, "en.ftl lacks `{id}`");
        }
    }

    #[test]
    fn links_carry_the_filters_given_and_only_those_the_view_has() {
        let q = Filters {
            member: " ESP ".into(),
            theme: "climate-change".into(),
            period: "2025/2026".into(),
            as_of: "2026-01-31".into(),
            after: "old".into(),
            ..Default::default()
        };
        assert_eq!(
            q.href("/views/funding", FUNDING, "c&d=", ""),
            "/views/funding?member=ESP&theme=climate-change&period=2025%2F2026&as_of=2026-01-31&after=c%26d%3D"
        );
        assert_eq!(
            q.href("/views/follow-up", FOLLOW_UP, "", "csv"),
            "/views/follow-up?member=ESP&period=2025%2F2026&as_of=2026-01-31&format=csv"
        );
        assert_eq!(
            Filters::default().href("/views/practices", PRACTICES, "", ""),
            "/views/practices"
        );
        // The view is not asked about filters it does not have.
        let input = q.input(MEETING);
        assert_eq!(
            (
                input.member.as_str(),
                input.theme.as_str(),
                input.period.as_str()
            ),
            ("ESP", "", "")
        );
        assert_eq!((input.limit, input.after.as_str()), (PAGE_ROWS, "old"));
        // CSV starts at the first row, in the largest pages.
        let csv = Filters {
            format: "csv".into(),
            ..q
        };
        let input = csv.input(FUNDING);
        assert_eq!(input.limit as usize, MAX_LIMIT);
        assert_eq!(input.after, "");
        assert_eq!(input.theme, "climate-change");
        assert_eq!(
            Filters {
                format: "pdf".into(),
                ..Default::default()
            }
            .csv(),
            None
        );
    }

    #[test]
    fn the_form_keeps_what_was_asked() {
        let tr = Tr(&ids);
        let q = Filters {
            region: "africa".into(),
            kind: "no-such-kind".into(),
            ..Default::default()
        };
        let fields = q.fields(&tr, FOLLOW_UP);
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["member", "region", "kind", "period", "as_of"]);
        let selected = |name: &str| -> Vec<String> {
            fields
                .iter()
                .find(|f| f.name == name)
                .unwrap()
                .options
                .iter()
                .filter(|o| o.selected)
                .map(|o| o.value.clone())
                .collect()
        };
        assert_eq!(selected("region"), ["africa"]);
        assert_eq!(selected("kind"), ["no-such-kind"]);
        assert_eq!(fields[4].input, "date");
        let names: Vec<&str> = q.fields(&tr, PRACTICES).iter().map(|f| f.name).collect();
        assert_eq!(names, ["member", "region", "kind", "theme", "period"]);
    }

    fn decision(overdue: bool) -> DecisionFollowUp {
        DecisionFollowUp {
            id: "SEC:decision:1".into(),
            meeting_id: "SEC:meeting:m".into(),
            meeting_title: None,
            text: "<b>Adopt</b> a plan".into(),
            kind: "commitment".into(),
            responsible: "all-members".into(),
            due: Some("2026-01-01".into()),
            status: "open".into(),
            overdue,
            updates: vec![MemberUpdate {
                member: "ESP".into(),
                id: "ESP:follow-up:1".into(),
                status: "met".into(),
                when: Some("2025".into()),
                text: "Done in time".into(),
                standing: "suspended".into(),
            }],
            not_reported: vec!["NAM".into(), "CAN".into()],
        }
    }

    #[test]
    fn overdue_decisions_say_so_in_words() {
        let tr = Tr(&ids);
        let grid = decisions_grid(&tr, &[decision(true), decision(false)]);
        let status = &grid.rows[0][2];
        assert_eq!(texts(status), ["open", "overdue"]);
        assert!(status.lines[0][1].mark);
        assert_eq!(texts(&grid.rows[1][2]), ["open"]);
        // The decision links to its record, the meeting to its view (by
        // id when its title is not here), each update to its record.
        assert_eq!(
            grid.rows[0][0].lines[0][0].href.as_deref(),
            Some("/records/SEC%3Adecision%3A1")
        );
        let meeting = &grid.rows[0][4].lines[0][0];
        assert_eq!(meeting.text, "SEC:meeting:m");
        assert_eq!(
            meeting.href.as_deref(),
            Some("/views/meetings/SEC%3Ameeting%3Am")
        );
        let updates = &grid.rows[0][5];
        assert!(updates.list);
        assert_eq!(
            texts(updates),
            ["ESP", "suspended", "met, 2025", "— Done in time"]
        );
        assert!(updates.lines[0][1].mark);
        assert_eq!(
            updates.lines[0][2].href.as_deref(),
            Some("/records/ESP%3Afollow-up%3A1")
        );
        let csv = decisions_csv(&tr, &[decision(true)]);
        assert_eq!(csv.head[0], "overdue");
        assert_eq!(
            csv.rows[0],
            [
                "yes",
                "2026-01-01",
                "open",
                "all-members",
                "<b>Adopt</b> a plan",
                "",
                "SEC:meeting:m",
                "ESP (suspended): met, 2025 — Done in time",
                "NAM, CAN",
                "SEC:decision:1"
            ]
        );
    }

    #[test]
    fn only_web_addresses_become_links() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil.example",
            "/x",
        ] {
            let part = Part::external(bad);
            assert_eq!(part.href, None, "{bad}");
            assert_eq!(part.text, bad);
        }
        let part = Part::external(" https://un.org/s?a=1&b=2 ");
        assert_eq!(part.href.as_deref(), Some("https://un.org/s?a=1&b=2"));
        assert!(part.external);
    }

    #[test]
    fn meeting_csv_puts_both_lists_in_one_table() {
        let tr = Tr(&ids);
        let csv = meeting_csv(
            &tr,
            &[
                MeetingRow::Registration(RegistrationRow {
                    id: "ESP:registration:1".into(),
                    member: "ESP".into(),
                    delegates: vec!["Ana".into(), "Luis".into()],
                    minister_speaking: Some(false),
                    standing: String::new(),
                }),
                MeetingRow::Statement(StatementRow {
                    id: "NAM:statement:1".into(),
                    member: "NAM".into(),
                    speaker: "Minister".into(),
                    language: Some("en".into()),
                    text: "Text".into(),
                    link: None,
                    standing: "removed".into(),
                }),
            ],
        );
        assert_eq!(csv.head.len(), 10);
        assert_eq!(
            csv.rows,
            [
                vec![
                    "record-registration",
                    "ESP",
                    "",
                    "Ana; Luis",
                    "no",
                    "",
                    "",
                    "",
                    "",
                    "ESP:registration:1"
                ],
                vec![
                    "record-statement",
                    "NAM",
                    "removed",
                    "",
                    "",
                    "Minister",
                    "en",
                    "Text",
                    "",
                    "NAM:statement:1"
                ],
            ]
        );
    }

    #[test]
    fn spans_and_short_texts() {
        assert_eq!(
            span(Some("2026-03-10"), Some("2026-03-12")),
            "2026-03-10 – 2026-03-12"
        );
        assert_eq!(span(Some("2026-03-10"), Some("2026-03-10")), "2026-03-10");
        assert_eq!(span(Some("2026-03-10"), None), "2026-03-10");
        assert_eq!(span(None, Some("2026")), "– 2026");
        assert_eq!(span(Some(""), None), "");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
