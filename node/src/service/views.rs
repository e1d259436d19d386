//! `focal.v1.ViewService`: the network-wide views over the client API. The
//! only place that knows the views' wire types: requests are authorized like
//! the record API's (each view's role is in `api::Rpc`), converted to
//! [`ViewInput`], answered by [`Views`] on a blocking thread, and converted
//! back. Pages are cut to the message limit here, where the wire sizes are
//! known ([`crate::service::api::fit`]); summaries go with the first page only.

use focal_proto::v1::{
    self as pb,
    view_service_server::{ViewService, ViewServiceServer},
};
use tonic::{Request, Response, Status};

use crate::{
    service::api::{RecordApi, fit, framed_len, rows_budget},
    service::auth::Rpc,
    service::status::ToStatus,
    views::{self, Paged, Pager, ViewError, ViewInput, Views},
};

/// The view service of one node.
#[derive(Clone)]
pub struct ViewApi {
    auth: RecordApi,
    views: Views,
    /// The largest message it sends (`server.max_message_bytes`).
    max_message_bytes: usize,
}

impl ViewApi {
    /// The service; `auth` checks tokens the way the record API does.
    pub fn new(auth: RecordApi, views: Views) -> Self {
        Self {
            auth,
            views,
            max_message_bytes: 4 * 1024 * 1024,
        }
    }

    /// The service, ready to add to a tonic router; it sends and accepts
    /// messages of at most `max_message_bytes`.
    pub fn service(mut self, max_message_bytes: usize) -> ViewServiceServer<Self> {
        self.max_message_bytes = max_message_bytes;
        ViewServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    /// Answers a view: `view` on a blocking thread, then `wire` makes the
    /// message (told whether this is the first page, and the message cap).
    async fn answer<T: Send + 'static, W>(
        &self,
        rpc: Rpc,
        request: Request<pb::ViewRequest>,
        view: impl FnOnce(&Views, &ViewInput) -> Result<T, ViewError> + Send + 'static,
        wire: impl FnOnce(T, Page) -> Result<W, Status>,
    ) -> Result<Response<W>, Status> {
        self.auth.authorize(&request, rpc).await?;
        let mut input = input(request.into_inner());
        input.max_bytes = rows_budget(self.max_message_bytes);
        let page = Page {
            first: input.after.trim().is_empty(),
            max: self.max_message_bytes,
        };
        let views = self.views.clone();
        let answer = tokio::task::spawn_blocking(move || view(&views, &input))
            .await
            .map_err(|e| Status::internal(format!("view task failed: {e}")))?
            .map_err(ToStatus::to_status)?;
        Ok(Response::new(wire(answer, page)?))
    }
}

/// What the wire form of a view's page depends on.
#[derive(Debug, Clone, Copy)]
struct Page {
    /// A first page (no cursor): it carries the summaries.
    first: bool,
    /// The message cap.
    max: usize,
}

impl Page {
    /// `value` on the first page, else the empty value.
    fn first<T: Default>(self, value: T) -> T {
        if self.first { value } else { T::default() }
    }

    /// The message `build` makes of `rows` (and the cursor after the rows
    /// it is given), with as many rows as fit in the cap.
    fn fit<R: prost::Message + Clone, W: prost::Message>(
        self,
        mut rows: Paged<R>,
        pager: &Pager,
        view: &str,
        build: impl Fn(Vec<R>, String) -> W,
    ) -> Result<W, Status> {
        let sizes: Vec<usize> = rows.iter().map(framed_len).collect();
        fit(
            self.max,
            rows.len(),
            |n| {
                rows.truncate(n);
                let next = pager.next(&rows).unwrap_or_default();
                build(rows.to_vec(), next)
            },
            |i| sizes[i],
            || format!("a page of the {view} with one row"),
        )
    }
}

fn input(req: pb::ViewRequest) -> ViewInput {
    ViewInput {
        member: req.member,
        region: req.region,
        kind: req.kind,
        theme: req.theme,
        period: req.period,
        as_of: req.as_of,
        limit: req.limit,
        after: req.after,
        max_bytes: 0,
    }
}

#[tonic::async_trait]
impl ViewService for ViewApi {
    async fn directory(
        &self,
        request: Request<pb::ViewRequest>,
    ) -> Result<Response<pb::DirectoryView>, Status> {
        self.answer(
            Rpc::Directory,
            request,
            |v, i| v.directory(i),
            |d, page| {
                let entries = d.entries.map(|e| pb::DirectoryEntry {
                    member: e.member,
                    region: e.region.unwrap_or_default(),
                    id: e.id,
                    person_name: e.person_name,
                    designation: e.designation.unwrap_or_default(),
                    posting: e.posting,
                    languages: e.languages,
                    title: e.title.unwrap_or_default(),
                    institution: e.institution.unwrap_or_default(),
                    appointed: e.appointed.unwrap_or_default(),
                    ended: e.ended.unwrap_or_default(),
                    email: e.email.unwrap_or_default(),
                    phone: e.phone.unwrap_or_default(),
                    visibility: e.visibility,
                    contact_withheld: e.contact_withheld,
                    standing: e.standing,
                });
                let fresh = freshness(d.freshness);
                page.fit(entries, &d.pager, "directory", |entries, next| {
                    pb::DirectoryView {
                        entries,
                        total: d.total,
                        freshness: Some(fresh.clone()),
                        next,
                    }
                })
            },
        )
        .await
    }

    async fn nap_tracker(
        &self,
        request: Request<pb::ViewRequest>,
    ) -> Result<Response<pb::NapTrackerView>, Status> {
        self.answer(
            Rpc::NapTracker,
            request,
            |v, i| v.nap_tracker(i),
            |t, page| {
                let members = t.members.map(|row| {
                    let plan = row.plan.unwrap_or_else(|| views::PlanFacts {
                        id: String::new(),
                        title: String::new(),
                        declared_status: String::new(),
                        generation: None,
                        period_start: None,
                        period_end: None,
                        lead_agency: None,
                        budget: None,
                        budget_amount: None,
                        budget_currency: None,
                        monitoring_described: None,
                        civil_society_involved: None,
                    });
                    pb::NapTrackerRow {
                        member: row.member,
                        region: row.region.unwrap_or_default(),
                        kind: row.kind,
                        state: row.state.as_str().to_owned(),
                        plan_id: plan.id,
                        title: plan.title,
                        declared_status: plan.declared_status,
                        generation: plan.generation.unwrap_or(0),
                        period_start: plan.period_start.unwrap_or_default(),
                        period_end: plan.period_end.unwrap_or_default(),
                        lead_agency: plan.lead_agency.unwrap_or_default(),
                        budget: plan.budget.unwrap_or_default(),
                        budget_amount: plan.budget_amount,
                        budget_currency: plan.budget_currency.unwrap_or_default(),
                        monitoring_described: plan.monitoring_described,
                        civil_society_involved: plan.civil_society_involved,
                        plans: row.plans,
                        standing: row.standing,
                    }
                });
                let summary = page.first(Some(pb::NapSummary {
                    members: t.summary.members,
                    in_force: t.summary.in_force,
                    in_force_with_allocated_budget: t.summary.in_force_with_allocated_budget,
                    expired: t.summary.expired,
                    drafting: t.summary.drafting,
                    none: t.summary.none,
                    adopted: t.summary.adopted,
                    plan_filters: t.summary.plan_filters,
                }));
                let fresh = freshness(t.freshness);
                page.fit(members, &t.pager, "NAP tracker", |members, next| {
                    pb::NapTrackerView {
                        members,
                        summary,
                        freshness: Some(fresh.clone()),
                        next,
                    }
                })
            },
        )
        .await
    }

    async fn practices(
        &self,
        request: Request<pb::ViewRequest>,
    ) -> Result<Response<pb::PracticesView>, Status> {
        self.answer(
            Rpc::Practices,
            request,
            |v, i| v.practices(i),
            |p, page| {
                let practices = p.practices.map(|r| pb::PracticeRow {
                    id: r.id,
                    member: r.member,
                    region: r.region.unwrap_or_default(),
                    kind: r.kind.unwrap_or_default(),
                    title: r.title,
                    themes: r.themes,
                    created: r.created,
                    standing: r.standing,
                });
                let by_theme = page.first(counts(p.by_theme));
                let by_region = page.first(counts(p.by_region));
                let fresh = freshness(p.freshness);
                page.fit(practices, &p.pager, "practices view", |practices, next| {
                    pb::PracticesView {
                        practices,
                        total: p.total,
                        by_theme: by_theme.clone(),
                        by_region: by_region.clone(),
                        freshness: Some(fresh.clone()),
                        next,
                    }
                })
            },
        )
        .await
    }

    async fn funding(
        &self,
        request: Request<pb::ViewRequest>,
    ) -> Result<Response<pb::FundingView>, Status> {
        self.answer(
            Rpc::Funding,
            request,
            |v, i| v.funding(i),
            |f, page| {
                let commitments = f.commitments.map(|c| pb::FundingRow {
                    id: c.id,
                    owner: c.owner,
                    title: c.title,
                    donor: c.donor,
                    recipient: c.recipient,
                    channel: c.channel,
                    kind: c.kind,
                    amount: c.amount,
                    currency: c.currency.unwrap_or_default(),
                    period_start: c.period_start.unwrap_or_default(),
                    period_end: c.period_end.unwrap_or_default(),
                    themes: c.themes,
                    recipient_country: c.recipient_country.unwrap_or_default(),
                });
                let totals = currency_totals(f.totals);
                let by_donor = party_totals(f.by_donor);
                let by_recipient = party_totals(f.by_recipient);
                let by_theme = party_totals(f.by_theme);
                let fresh = freshness(f.freshness);
                page.fit(
                    commitments,
                    &f.pager,
                    "funding view",
                    |commitments, next| pb::FundingView {
                        commitments,
                        total: f.total,
                        totals: totals.clone(),
                        by_donor: by_donor.clone(),
                        by_recipient: by_recipient.clone(),
                        by_theme: by_theme.clone(),
                        unfunded_themes: page.first(f.unfunded_themes.clone()),
                        unfunded_members: page.first(f.unfunded_members.clone()),
                        unfunded_recipients: page.first(f.unfunded_recipients.clone()),
                        freshness: Some(fresh.clone()),
                        next,
                    },
                )
            },
        )
        .await
    }

    async fn follow_up(
        &self,
        request: Request<pb::ViewRequest>,
    ) -> Result<Response<pb::FollowUpView>, Status> {
        self.answer(
            Rpc::FollowUp,
            request,
            |v, i| v.follow_up(i),
            |f, page| {
                let decisions = f.decisions.map(|d| pb::DecisionFollowUp {
                    id: d.id,
                    meeting_id: d.meeting_id,
                    meeting_title: d.meeting_title.unwrap_or_default(),
                    text: d.text,
                    kind: d.kind,
                    responsible: d.responsible,
                    due: d.due.unwrap_or_default(),
                    status: d.status,
                    overdue: d.overdue,
                    updates: d
                        .updates
                        .into_iter()
                        .map(|u| pb::MemberUpdate {
                            member: u.member,
                            id: u.id,
                            status: u.status,
                            when: u.when.unwrap_or_default(),
                            text: u.text,
                            standing: u.standing,
                        })
                        .collect(),
                    not_reported: d.not_reported,
                });
                let summary = page.first(Some(pb::FollowUpSummary {
                    decisions: f.summary.decisions,
                    overdue: f.summary.overdue,
                    open: f.summary.open,
                }));
                let fresh = freshness(f.freshness);
                page.fit(decisions, &f.pager, "follow-up view", |decisions, next| {
                    pb::FollowUpView {
                        decisions,
                        total: f.total,
                        summary,
                        freshness: Some(fresh.clone()),
                        next,
                    }
                })
            },
        )
        .await
    }

    async fn meeting(
        &self,
        request: Request<pb::MeetingViewRequest>,
    ) -> Result<Response<pb::MeetingView>, Status> {
        let (metadata, extensions, req) = request.into_parts();
        let meeting_id = req.meeting_id;
        let request = Request::from_parts(metadata, extensions, req.filter.unwrap_or_default());
        self.answer(
            Rpc::Meeting,
            request,
            move |v, i| v.meeting(&meeting_id, i),
            |m, page| {
                let mut registrations = m.registrations.map(|r| pb::RegistrationRow {
                    id: r.id,
                    member: r.member,
                    delegates: r.delegates,
                    minister_speaking: r.minister_speaking,
                    standing: r.standing,
                });
                let mut statements = m.statements.map(|s| pb::StatementRow {
                    id: s.id,
                    member: s.member,
                    speaker: s.speaker,
                    language: s.language.unwrap_or_default(),
                    text: s.text,
                    link: s.link.unwrap_or_default(),
                    standing: s.standing,
                });
                // Cut statements first, then registrations.
                let sizes: Vec<usize> = registrations
                    .iter()
                    .map(framed_len)
                    .chain(statements.iter().map(framed_len))
                    .collect();
                let kept = registrations.len();
                let summary = page.first(Some(pb::MeetingSummary {
                    registered_members: m.summary.registered_members,
                    delegates: m.summary.delegates,
                    ministers_speaking: m.summary.ministers_speaking,
                    statements: m.summary.statements,
                    registrations: m.summary.registrations,
                }));
                let fresh = freshness(m.freshness);
                fit(
                    page.max,
                    sizes.len(),
                    |n| {
                        registrations.truncate(n.min(kept));
                        statements.truncate(n.saturating_sub(kept));
                        pb::MeetingView {
                            id: m.id.clone(),
                            title: m.title.clone(),
                            kind: m.kind.clone(),
                            start: m.start.clone(),
                            end: m.end.clone().unwrap_or_default(),
                            city: m.city.clone().unwrap_or_default(),
                            registrations: registrations.to_vec(),
                            statements: statements.to_vec(),
                            summary,
                            not_registered: m.not_registered.clone(),
                            freshness: Some(fresh.clone()),
                            next: m
                                .pager
                                .next(&registrations, &statements)
                                .unwrap_or_default(),
                        }
                    },
                    |i| sizes[i],
                    || "a page of the meeting view with one row".to_owned(),
                )
            },
        )
        .await
    }
}

fn freshness(f: views::Freshness) -> pb::Freshness {
    pb::Freshness {
        as_of: f.as_of.to_string(),
        members: f
            .members
            .into_iter()
            .map(|m| pb::MemberFreshness {
                member: m.member,
                entries: m.entries,
                last_received: m.last_received.unwrap_or_default(),
                logs: m
                    .logs
                    .into_iter()
                    .map(|l| pb::LogPosition {
                        node_key: l.node_key,
                        audience: l.audience.to_owned(),
                        seq: l.seq,
                        received: l.received,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn counts(counts: Vec<(String, u64)>) -> Vec<pb::Count> {
    counts
        .into_iter()
        .map(|(key, count)| pb::Count { key, count })
        .collect()
}

fn currency_totals(totals: Vec<views::CurrencyTotal>) -> Vec<pb::CurrencyTotal> {
    totals
        .into_iter()
        .map(|t| pb::CurrencyTotal {
            currency: t.currency,
            amount: t.amount,
            commitments: t.commitments,
        })
        .collect()
}

fn party_totals(totals: Vec<views::PartyTotal>) -> Vec<pb::PartyTotal> {
    totals
        .into_iter()
        .map(|t| pb::PartyTotal {
            party: t.party,
            commitments: t.commitments,
            totals: currency_totals(t.totals),
        })
        .collect()
}
