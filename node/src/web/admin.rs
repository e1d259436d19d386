//! Membership administration on the secretariat's node: the roster, and
//! each change of it (add a member from its join request, suspend,
//! readmit, remove, set endpoints, revoke a key, confirm a hand-over),
//! every one behind a confirmation page that says what will happen: the
//! change is planned (`engine::membership::plan`, nothing written) and its
//! summary shown; only the confirmation's POST writes it.
//!
//! Admins only, on the node that holds the network's anchor key.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    engine::membership::{Change, Planned, RefusedChange},
    store::users::Role,
    web::{
        WebApp,
        auth::Ctx,
        pages::{Chrome, check_csrf_form, html, message_page, require_role},
    },
};

/// The routes.
pub fn routes() -> Router<WebApp> {
    Router::new()
        .route("/admin/members", get(roster))
        .route("/admin/members/change", get(confirm).post(apply))
}

/// One member as the roster page shows it.
struct MemberRow {
    code: String,
    status: String,
    active: bool,
    suspended: bool,
    removed: bool,
    /// (key, status, revocable)
    keys: Vec<(String, String, bool)>,
    endpoints: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct RosterPage {
    c: Chrome,
    members: Vec<MemberRow>,
}

/// `None` if the person may administer membership here; else the answer.
fn guard(app: &WebApp, ctx: &Ctx) -> Option<Response> {
    if let Some(to) = require_role(app, ctx, Role::Admin) {
        return Some(to);
    }
    if !app.holds_anchor() {
        return Some(message_page(
            app,
            ctx,
            StatusCode::FORBIDDEN,
            "admin-not-secretariat",
            "admin-not-secretariat-text",
        ));
    }
    None
}

async fn roster(State(app): State<WebApp>, ctx: Ctx) -> Response {
    if let Some(answer) = guard(&app, &ctx) {
        return answer;
    }
    let c = Chrome::new(
        &app,
        &ctx,
        app.inner.i18n.text(ctx.lang, "admin-members", &[]),
    );
    let roster = app
        .inner
        .roster
        .read()
        .map(|r| r.clone())
        .unwrap_or_default();
    let members = roster
        .members
        .iter()
        .map(|(code, m)| MemberRow {
            code: code.clone(),
            status: c.t(&format!("standing-{}", m.status.as_str())),
            active: m.status == crate::roster::MemberStatus::Active,
            suspended: m.status == crate::roster::MemberStatus::Suspended,
            removed: m.status == crate::roster::MemberStatus::Removed,
            keys: m
                .keys
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.status.as_str().to_owned(),
                        v.status == crate::roster::KeyStatus::Active,
                    )
                })
                .collect(),
            endpoints: m.endpoints.join(", "),
        })
        .collect();
    html(&RosterPage { c, members })
}

/// A change as its form and confirmation carry it.
#[derive(Debug, Default, Deserialize)]
struct ChangeForm {
    #[serde(default)]
    op: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    endpoints: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    handover: String,
    #[serde(default)]
    csrf: String,
}

/// A change ready to write, or why it cannot be.
enum Ready {
    /// A roster change planned by `membership::plan`.
    Planned(Planned),
    /// A new member: the patch and what to say.
    Add {
        patch: serde_json::Map<String, serde_json::Value>,
        summary: String,
    },
}

impl Ready {
    fn summary(&self) -> &str {
        match self {
            Ready::Planned(p) => &p.summary,
            Ready::Add { summary, .. } => summary,
        }
    }
}

/// Plans the change the form describes (nothing is written).
async fn plan(app: &WebApp, form: &ChangeForm) -> Result<Ready, String> {
    let Some(network_id) = app.inner.network_id.clone() else {
        return Err("this node is not in a network".to_owned());
    };
    let roster = app
        .inner
        .roster
        .read()
        .map(|r| r.clone())
        .map_err(|_| "the roster cannot be read".to_owned())?;
    let member = form.member.trim().to_owned();
    let change = match form.op.as_str() {
        "add" => {
            let request: serde_json::Value = serde_json::from_str(form.request.trim())
                .map_err(|e| format!("the join request is not JSON: {e}"))?;
            let field = |name: &str| {
                request
                    .get(name)
                    .and_then(|v| v.as_str())
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_owned()
            };
            let code: crate::member::MemberCode = field("member")
                .parse()
                .map_err(|e: crate::member::InvalidMemberCode| e.to_string())?;
            let key = crate::identity::NodeId::from_hex(&field("node_key"))
                .ok_or_else(|| "the join request's node_key is not a node key".to_owned())?;
            let endpoint = field("endpoint");
            if focal_client::transport::check_address(&endpoint).is_err() {
                return Err(format!("the endpoint `{endpoint}` is not host:port"));
            }
            crate::engine::membership::check_new_key(&roster, code.as_str(), &key)
                .map_err(|e| e.to_string())?;
            return Ok(Ready::Add {
                patch: crate::roster::add_member_patch(&code, &key, &endpoint),
                summary: format!(
                    "{code} joins the network with node key {key}, reached at {endpoint}. Its \
                     node then joins with the network id and the secretariat's key \
                     (`focal-node join`)."
                ),
            });
        }
        "suspend" => Change::Suspend(member),
        "readmit" => Change::Readmit(member),
        "remove" => Change::Remove(member),
        "endpoints" => Change::SetEndpoints(
            member,
            form.endpoints
                .split([',', '\n'])
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        "revoke" => Change::Revoke {
            key: crate::identity::NodeId::from_hex(form.key.trim())
                .ok_or_else(|| format!("`{}` is not a node key", form.key.trim()))?,
            last_network: None,
            last_secretariat: None,
        },
        "handover" => Change::ConfirmHandover(form.handover.trim().to_owned()),
        _ => return Err("no such change".to_owned()),
    };
    let reader = app.inner.reader.clone();
    let vv = app.inner.writer.version_vector();
    tokio::task::spawn_blocking(move || {
        let hash_at = move |origin, audience, seq| reader.entry_hash_at(origin, audience, seq);
        crate::engine::membership::plan(change, &roster, &vv, &hash_at, &network_id)
    })
    .await
    .map_err(|e| e.to_string())?
    .map(Ready::Planned)
    .map_err(|e| match e {
        RefusedChange::Invalid(m) | RefusedChange::NotFound(m) => m,
    })
}

#[derive(Template)]
#[template(path = "admin_confirm.html")]
struct ConfirmPage {
    c: Chrome,
    heading: String,
    summary: String,
    refused: Option<String>,
    op: String,
    member: String,
    key: String,
    endpoints: String,
    request: String,
    handover: String,
}

fn confirm_page(
    app: &WebApp,
    ctx: &Ctx,
    form: &ChangeForm,
    planned: Result<&Ready, &str>,
) -> Response {
    let heading = app.inner.i18n.text(ctx.lang, "admin-confirm", &[]);
    let page = ConfirmPage {
        c: Chrome::new(app, ctx, heading.clone()),
        heading,
        summary: planned.map(|r| r.summary().to_owned()).unwrap_or_default(),
        refused: planned.err().map(str::to_owned),
        op: form.op.clone(),
        member: form.member.clone(),
        key: form.key.clone(),
        endpoints: form.endpoints.clone(),
        request: form.request.clone(),
        handover: form.handover.clone(),
    };
    let status = if planned.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, html(&page)).into_response()
}

/// The confirmation: what the change will do, planned now.
async fn confirm(State(app): State<WebApp>, ctx: Ctx, Query(form): Query<ChangeForm>) -> Response {
    if let Some(answer) = guard(&app, &ctx) {
        return answer;
    }
    match plan(&app, &form).await {
        Ok(ready) => confirm_page(&app, &ctx, &form, Ok(&ready)),
        Err(why) => confirm_page(&app, &ctx, &form, Err(&why)),
    }
}

/// The confirmed change, planned again against the roster as it is now,
/// and written.
async fn apply(
    State(app): State<WebApp>,
    ctx: Ctx,
    axum::Form(form): axum::Form<ChangeForm>,
) -> Response {
    if let Some(answer) = guard(&app, &ctx) {
        return answer;
    }
    if let Some(refused) = check_csrf_form(&app, &ctx, &form.csrf) {
        return refused;
    }
    let ready = match plan(&app, &form).await {
        Ok(ready) => ready,
        Err(why) => return confirm_page(&app, &ctx, &form, Err(&why)),
    };
    let (patch, summary) = match ready {
        Ready::Planned(p) => (p.patch, p.summary),
        Ready::Add { patch, summary } => (patch, summary),
    };
    match app.inner.writer.change_roster(patch).await {
        Ok(()) => {
            tracing::info!(user = %ctx.session.as_ref().map(|s| s.name.as_str()).unwrap_or(""), %summary, "membership changed through the web app");
            Redirect::to("/admin/members?done=1").into_response()
        }
        Err(err) => confirm_page(&app, &ctx, &form, Err(&err.to_string())),
    }
}
