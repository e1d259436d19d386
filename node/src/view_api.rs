//! `focal.v1.ViewService`: the network-wide views over the client API. The
//! only place that knows the views' wire types: requests are authorized like
//! the record API's (each view's role is in `api::Rpc`), converted to
//! [`ViewInput`], answered by [`Views`] on a blocking thread, and converted
//! back.

use focal_proto::v1::{
    self as pb,
    view_service_server::{ViewService, ViewServiceServer},
};
use tonic::{Request, Response, Status};

use crate::{
    api::{RecordApi, Rpc},
    views::{self, ViewError, ViewInput, Views},
};

/// The view service of one node.
#[derive(Clone)]
pub struct ViewApi {
    auth: RecordApi,
    views: Views,
}

impl ViewApi {
    /// The service; `auth` checks tokens the way the record API does.
    pub fn new(auth: RecordApi, views: Views) -> Self {
        Self { auth, views }
    }

    /// The service, ready to add to a tonic router.
    pub fn service(self, max_message_bytes: usize) -> ViewServiceServer<Self> {
        ViewServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    async fn answer<T: Send + 'static, W>(
        &self,
        rpc: Rpc,
        request: Request<pb::ViewRequest>,
        view: impl FnOnce(&Views, &ViewInput) -> Result<T, ViewError> + Send + 'static,
        wire: impl FnOnce(T) -> W,
    ) -> Result<Response<W>, Status> {
        self.auth.authorize(&request, rpc).await?;
        let input = input(request.into_inner());
        let views = self.views.clone();
        let answer = tokio::task::spawn_blocking(move || view(&views, &input))
            .await
            .map_err(|e| Status::internal(format!("view task failed: {e}")))?
            .map_err(status)?;
        Ok(Response::new(wire(answer)))
    }
}

/// A view error as a gRPC status with the same message.
fn status(err: ViewError) -> Status {
    let message = err.to_string();
    match err {
        ViewError::BadFilter(_) => Status::invalid_argument(message),
        ViewError::NotFound(_) => Status::not_found(message),
        _ => Status::internal(message),
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
            |d| pb::DirectoryView {
                entries: d
                    .entries
                    .into_iter()
                    .map(|e| pb::DirectoryEntry {
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
                    })
                    .collect(),
                total: d.total,
                freshness: Some(freshness(d.freshness)),
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
            |t| pb::NapTrackerView {
                members: t
                    .members
                    .into_iter()
                    .map(|row| {
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
                    })
                    .collect(),
                summary: Some(pb::NapSummary {
                    members: t.summary.members,
                    in_force: t.summary.in_force,
                    in_force_with_allocated_budget: t.summary.in_force_with_allocated_budget,
                    expired: t.summary.expired,
                    drafting: t.summary.drafting,
                    none: t.summary.none,
                    adopted: t.summary.adopted,
                    plan_filters: t.summary.plan_filters,
                }),
                freshness: Some(freshness(t.freshness)),
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
            |p| pb::PracticesView {
                practices: p
                    .practices
                    .into_iter()
                    .map(|r| pb::PracticeRow {
                        id: r.id,
                        member: r.member,
                        region: r.region.unwrap_or_default(),
                        kind: r.kind.unwrap_or_default(),
                        title: r.title,
                        themes: r.themes,
                        created: r.created,
                        standing: r.standing,
                    })
                    .collect(),
                total: p.total,
                by_theme: counts(p.by_theme),
                by_region: counts(p.by_region),
                freshness: Some(freshness(p.freshness)),
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
            |f| pb::FundingView {
                commitments: f
                    .commitments
                    .into_iter()
                    .map(|c| pb::FundingRow {
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
                    })
                    .collect(),
                total: f.total,
                totals: currency_totals(f.totals),
                by_donor: party_totals(f.by_donor),
                by_recipient: party_totals(f.by_recipient),
                by_theme: party_totals(f.by_theme),
                unfunded_themes: f.unfunded_themes,
                unfunded_members: f.unfunded_members,
                unfunded_recipients: f.unfunded_recipients,
                freshness: Some(freshness(f.freshness)),
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
            |f| pb::FollowUpView {
                decisions: f
                    .decisions
                    .into_iter()
                    .map(|d| pb::DecisionFollowUp {
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
                    })
                    .collect(),
                total: f.total,
                summary: Some(pb::FollowUpSummary {
                    decisions: f.summary.decisions,
                    overdue: f.summary.overdue,
                    open: f.summary.open,
                }),
                freshness: Some(freshness(f.freshness)),
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
            |m| pb::MeetingView {
                id: m.id,
                title: m.title,
                kind: m.kind,
                start: m.start,
                end: m.end.unwrap_or_default(),
                city: m.city.unwrap_or_default(),
                registrations: m
                    .registrations
                    .into_iter()
                    .map(|r| pb::RegistrationRow {
                        id: r.id,
                        member: r.member,
                        delegates: r.delegates,
                        minister_speaking: r.minister_speaking,
                        standing: r.standing,
                    })
                    .collect(),
                statements: m
                    .statements
                    .into_iter()
                    .map(|s| pb::StatementRow {
                        id: s.id,
                        member: s.member,
                        speaker: s.speaker,
                        language: s.language.unwrap_or_default(),
                        text: s.text,
                        link: s.link.unwrap_or_default(),
                        standing: s.standing,
                    })
                    .collect(),
                summary: Some(pb::MeetingSummary {
                    registered_members: m.summary.registered_members,
                    delegates: m.summary.delegates,
                    ministers_speaking: m.summary.ministers_speaking,
                    statements: m.summary.statements,
                    registrations: m.summary.registrations,
                }),
                not_registered: m.not_registered,
                freshness: Some(freshness(m.freshness)),
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
