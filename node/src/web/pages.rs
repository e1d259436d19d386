//! The pages: routes, handlers and their templates (`node/templates/`).
//!
//! Every page is rendered on the server and readable without JavaScript.
//! Text from records is escaped by the templates (askama escapes HTML by
//! default) or by [`esc`] where a record's fields are laid out here; the
//! Content-Security-Policy allows scripts only from this site's own
//! `/assets/`, so even a missed escape would run nothing.

use std::fmt::Write as _;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    records::{
        RecordType,
        shape::{Field, Shape, fields_of},
    },
    store::{
        RecordRow,
        query::{ListFilter, PageRequest},
        users::{self, Role},
    },
    views::{DirectoryEntry, NapTrackerRow, ViewInput},
    web::{
        WebApp,
        auth::{ANON_CSRF_COOKIE, Ctx, LANG_COOKIE},
        download, forms,
        i18n::{Arg, Lang},
    },
};

/// The largest form body read.
const MAX_FORM_BYTES: usize = 1024 * 1024;
/// Rows on one page of a listing.
const PAGE_ROWS: u32 = 50;
/// The deepest a record's fields are laid out.
const MAX_SHOWN_DEPTH: usize = 16;

/// Every route.
pub fn router(app: WebApp) -> Router {
    // Bodies are small (sign-in, set-up, sign-out, confirmations) except
    // the record forms' and membership administration's; and a form that
    // needs a session is refused without one before its body is read
    // (`auth::gate`).
    let large = || axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES);
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/setup", get(setup_form).post(setup))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/records", get(records))
        .route("/records/new", get(new_form).post(create).layer(large()))
        .route("/records/{id}", get(record))
        .route(
            "/records/{id}/edit",
            get(edit_form).post(edit).layer(large()),
        )
        .route("/records/{id}/delete", get(delete_form).post(delete))
        .route("/records/{id}/history", get(history))
        .route("/views/directory", get(directory))
        .route("/views/naps", get(naps))
        .route("/events", get(events))
        .route("/assets/{file}", get(asset))
        .merge(crate::web::admin::routes().layer(large()))
        .merge(crate::web::views::routes())
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::web::doors::SMALL_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::web::auth::gate,
        ))
        .layer(axum::middleware::map_response_with_state(
            app.clone(),
            security_headers,
        ))
        .with_state(app)
}

async fn security_headers(State(app): State<WebApp>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if app.hsts() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// What every page's frame shows: language, the person, the navigation.
pub struct Chrome {
    app: WebApp,
    /// The language.
    pub lang: Lang,
    /// The signed-in person's name.
    pub user: Option<String>,
    /// Their role.
    pub role: Option<Role>,
    /// The token forms carry.
    pub csrf: String,
    /// The page's path (for the language links to come back to).
    pub path: String,
    /// The page's title.
    pub title: String,
    /// This node's member.
    pub member: String,
    /// Whether the navigation links the membership administration.
    pub admin_link: bool,
}

impl Chrome {
    /// The frame of a page titled `title`.
    pub(crate) fn new(app: &WebApp, ctx: &Ctx, title: String) -> Self {
        Self {
            app: app.clone(),
            lang: ctx.lang,
            user: ctx.session.as_ref().map(|s| s.name.clone()),
            role: ctx.session.as_ref().map(|s| s.role),
            csrf: ctx
                .session
                .as_ref()
                .map(|s| s.csrf.clone())
                .or_else(|| ctx.anon_csrf.clone())
                .unwrap_or_default(),
            path: ctx.path.clone(),
            title,
            member: app.inner.member.to_string(),
            admin_link: ctx.role_at_least(Role::Admin) && app.holds_anchor(),
        }
    }

    /// The message `id`.
    pub fn t(&self, id: &str) -> String {
        self.app.inner.i18n.text(self.lang, id, &[])
    }

    /// The message `id` with a count.
    pub fn tn(&self, id: &str, count: i64) -> String {
        self.app
            .inner
            .i18n
            .text(self.lang, id, &[("count", Arg::Number(count))])
    }

    /// The message `id` with its arguments.
    pub fn tf(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.app.inner.i18n.text(self.lang, id, args)
    }

    /// The message `id` with a name.
    pub fn ts(&self, id: &str, name: &str) -> String {
        self.app
            .inner
            .i18n
            .text(self.lang, id, &[("name", Arg::Text(name))])
    }

    /// The languages, for the switcher.
    pub fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .into_iter()
            .map(|l| (l.code(), l.native_name(), l == self.lang))
            .collect()
    }

    /// Whether the person may write this member's records.
    pub fn editor(&self) -> bool {
        self.role.is_some_and(|r| r.allows(Role::Editor))
    }

    /// The name of a record type in this language.
    pub fn type_name(&self, kind: &str) -> String {
        self.t(&format!("type-{kind}"))
    }

    /// The record types of the navigation: (type, name).
    pub fn types(&self) -> Vec<(&'static str, String)> {
        RecordType::ALL
            .iter()
            .map(|t| (t.as_str(), self.type_name(t.as_str())))
            .collect()
    }

    /// The escaped path, for `back=` in links.
    pub fn back(&self) -> String {
        url_encode(&self.path)
    }
}

pub(crate) fn msg(app: &WebApp, lang: Lang, id: &str) -> String {
    app.inner.i18n.text(lang, id, &[])
}

/// Runs a view on the blocking pool; a failure is the page that says so.
pub(crate) async fn read_view<T: Send + 'static>(
    app: &WebApp,
    ctx: &Ctx,
    f: impl FnOnce() -> Result<T, crate::views::ViewError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(err)) => Err(view_error(app, ctx, err)),
        Err(_) => Err(read_failed(app, ctx)),
    }
}

/// A page rendered, or a plain error if the template failed.
pub(crate) fn html(template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(err) => {
            tracing::error!(%err, "web app: a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    heading: String,
    text: String,
}

pub(crate) fn message(
    app: &WebApp,
    ctx: &Ctx,
    status: StatusCode,
    heading: &str,
    text: String,
) -> Response {
    let page = MessagePage {
        c: Chrome::new(app, ctx, msg(app, ctx.lang, heading)),
        heading: msg(app, ctx.lang, heading),
        text,
    };
    (status, html(&page)).into_response()
}

pub(crate) async fn not_found(State(app): State<WebApp>, ctx: Ctx) -> Response {
    let text = msg(&app, ctx.lang, "not-found-text");
    message(&app, &ctx, StatusCode::NOT_FOUND, "not-found", text)
}

fn forbidden(app: &WebApp, ctx: &Ctx, needed: Role) -> Response {
    let text = app.inner.i18n.text(
        ctx.lang,
        "forbidden-text",
        &[("role", Arg::Text(needed.as_str()))],
    );
    message(app, ctx, StatusCode::FORBIDDEN, "forbidden", text)
}

/// `None` if the session's person has at least `role`; otherwise the
/// answer: to the sign-in page (no session, or it ended), or forbidden.
pub(crate) fn require_role(app: &WebApp, ctx: &Ctx, role: Role) -> Option<Response> {
    require(app, ctx, role)
}

fn require(app: &WebApp, ctx: &Ctx, role: Role) -> Option<Response> {
    match &ctx.session {
        None => {
            let mut to = format!("/login?next={}", url_encode(&ctx.path));
            if ctx.stale_cookie {
                to.push_str("&ended=1");
            }
            Some(Redirect::to(&to).into_response())
        }
        Some(session) if !session.role.allows(role) => Some(forbidden(app, ctx, role)),
        Some(_) => None,
    }
}

/// [`check_csrf`] for other modules.
pub(crate) fn check_csrf_form(app: &WebApp, ctx: &Ctx, token: &str) -> Option<Response> {
    check_csrf(app, ctx, token)
}

/// A page with a heading and a text, both messages.
pub(crate) fn message_page(
    app: &WebApp,
    ctx: &Ctx,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let text = msg(app, ctx.lang, text);
    message(app, ctx, status, heading, text)
}

/// The refusal of a state-changing request whose CSRF token is wrong.
fn check_csrf(app: &WebApp, ctx: &Ctx, token: &str) -> Option<Response> {
    if ctx.csrf_ok(token) {
        None
    } else {
        static REFUSED: crate::base::lograte::LogBudget =
            crate::base::lograte::LogBudget::per_minute(10);
        if let Some(suppressed) = REFUSED.admit() {
            tracing::warn!(
                path = ?ctx.path,
                address = %ctx.address,
                same_origin = ctx.same_origin,
                came_from = ?ctx.came_from,
                session = ctx.session.is_some(),
                csrf_cookie = ctx.anon_csrf.is_some(),
                token = !token.is_empty(),
                suppressed,
                "web app: refused a form without this page's CSRF token, or from another site"
            );
        }
        let text = msg(app, ctx.lang, "csrf-text");
        Some(message(app, ctx, StatusCode::FORBIDDEN, "csrf", text))
    }
}

// ---- assets and language ----

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match file.as_str() {
        "style.css" => (
            include_bytes!("../../assets/style.css"),
            "text/css; charset=utf-8",
        ),
        "app.js" => (
            include_bytes!("../../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Back {
    #[serde(default)]
    back: String,
}

async fn set_lang(
    State(app): State<WebApp>,
    Path(code): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = Redirect::to(&local_path(&q.back)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        app.set_cookie(LANG_COOKIE, lang.code(), Some(365 * 24 * 3600)),
    );
    response
}

/// `path` if it is a path of this site, else `/` (never an open redirect).
fn local_path(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    if ok { path.to_owned() } else { "/".to_owned() }
}

// ---- signing in and out ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    name: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    ended: Option<String>,
}

/// A fresh anonymous CSRF token, set as a cookie on `response` if the
/// request had none; returns the token forms carry.
fn anon_csrf(ctx: &mut Ctx) -> (String, bool) {
    match &ctx.anon_csrf {
        Some(token) => (token.clone(), false),
        None => {
            let token = users::random_secret("").unwrap_or_default();
            ctx.anon_csrf = Some(token.clone());
            (token, true)
        }
    }
}

fn with_anon_cookie(app: &WebApp, mut response: Response, token: &str, fresh: bool) -> Response {
    if fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            app.set_cookie(ANON_CSRF_COOKIE, token, None),
        );
    }
    response
}

async fn login_form(
    State(app): State<WebApp>,
    mut ctx: Ctx,
    Query(q): Query<LoginQuery>,
) -> Response {
    if ctx.session.is_some() {
        return Redirect::to(&local_path(&q.next)).into_response();
    }
    let (token, fresh) = anon_csrf(&mut ctx);
    let page = LoginPage {
        c: Chrome::new(&app, &ctx, msg(&app, ctx.lang, "sign-in")),
        next: local_path(&q.next),
        name: String::new(),
        error: None,
        notice: (q.ended.is_some() || ctx.stale_cookie)
            .then(|| msg(&app, ctx.lang, "session-ended")),
    };
    with_anon_cookie(&app, html(&page), &token, fresh)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

async fn login(State(app): State<WebApp>, ctx: Ctx, Form(form): Form<LoginForm>) -> Response {
    if let Some(refused) = check_csrf(&app, &ctx, &form.csrf) {
        return refused;
    }
    let name = form.name.trim().to_owned();
    let again = |status: StatusCode, error: String| {
        let page = LoginPage {
            c: Chrome::new(&app, &ctx, msg(&app, ctx.lang, "sign-in")),
            next: local_path(&form.next),
            name: name.clone(),
            error: Some(error),
            notice: None,
        };
        (status, html(&page)).into_response()
    };
    if name.is_empty() || name.len() > 64 || form.password.len() > users::MAX_PASSWORD_BYTES {
        return again(
            StatusCode::UNAUTHORIZED,
            msg(&app, ctx.lang, "sign-in-failed"),
        );
    }
    let mut attempt = match app.throttle().check(&name, ctx.address) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let minutes = wait.as_secs().div_ceil(60) as i64;
            let text = app.inner.i18n.text(
                ctx.lang,
                "sign-in-throttled",
                &[("minutes", Arg::Number(minutes))],
            );
            let mut response = again(StatusCode::TOO_MANY_REQUESTS, text);
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    };
    let reader = app.inner.reader.clone();
    let lookup = name.clone();
    let account = tokio::task::spawn_blocking(move || {
        reader.with(|conn| {
            users::account(conn, &lookup)
                .map_err(|e| crate::store::ReadError::Database(e.to_string()))
        })
    })
    .await
    .ok()
    .and_then(Result::ok)
    .flatten();
    let Ok(matches) = app
        .password_matches(account.as_ref(), &form.password, &mut attempt)
        .await
    else {
        // Too many checks waiting: nothing counted, nothing hashed.
        let mut response = again(
            StatusCode::SERVICE_UNAVAILABLE,
            msg(&app, ctx.lang, "try-again"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let Some(account) = account.filter(|a| matches && !a.disabled) else {
        attempt.failed();
        static FAILED: crate::base::lograte::LogBudget =
            crate::base::lograte::LogBudget::per_minute(10);
        if let Some(suppressed) = FAILED.admit() {
            tracing::warn!(user = ?name, address = %ctx.address, suppressed, "web app: sign-in failed");
        }
        return again(
            StatusCode::UNAUTHORIZED,
            msg(&app, ctx.lang, "sign-in-failed"),
        );
    };
    attempt.succeeded();
    match start_session(&app, &ctx, account.id).await {
        Some(cookie) => {
            let mut response = Redirect::to(&local_path(&form.next)).into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        None => again(
            StatusCode::SERVICE_UNAVAILABLE,
            msg(&app, ctx.lang, "try-again"),
        ),
    }
}

/// Starts a session for `user_id`; returns its cookie.
async fn start_session(app: &WebApp, ctx: &Ctx, user_id: i64) -> Option<HeaderValue> {
    let secret = users::random_secret("").ok()?;
    let csrf = users::random_secret("").ok()?;
    let started = app
        .inner
        .writer
        .users(users::Change::StartSession {
            user_id,
            hash: users::secret_hash(&secret),
            csrf,
            address: ctx.address.to_string(),
            at: users::now(),
        })
        .await;
    // Sessions that ended by themselves are deleted now and then: when
    // another one starts.
    let _ = app
        .inner
        .writer
        .users(users::Change::Prune {
            at: users::now(),
            rules: app.rules(),
        })
        .await;
    match started {
        Ok(1) => Some(app.set_cookie(
            app.session_cookie(),
            &secret,
            Some(app.rules().max_age_secs),
        )),
        _ => None,
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(app): State<WebApp>, ctx: Ctx, Form(form): Form<CsrfForm>) -> Response {
    if let Some(session) = &ctx.session {
        if let Some(refused) = check_csrf(&app, &ctx, &form.csrf) {
            return refused;
        }
        let _ = app
            .inner
            .writer
            .users(users::Change::EndSession { hash: session.hash })
            .await;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        app.set_cookie(app.session_cookie(), "", Some(0)),
    );
    response
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    c: Chrome,
    token: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SetupQuery {
    #[serde(default)]
    token: String,
}

async fn setup_account(app: &WebApp, token: &str) -> Option<users::Account> {
    if token.is_empty() || token.len() > 128 {
        return None;
    }
    let reader = app.inner.reader.clone();
    let token = token.to_owned();
    tokio::task::spawn_blocking(move || {
        reader.with(|conn| {
            users::by_setup(conn, &token, users::now())
                .map_err(|e| crate::store::ReadError::Database(e.to_string()))
        })
    })
    .await
    .ok()?
    .ok()?
}

/// Pages of a set-up link send no referrer to other sites (the link is a
/// secret). `same-origin`, not `no-referrer`: under `no-referrer`, browsers
/// send the form's POST with `Origin: null`, which the CSRF check refuses.
fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn setup_form(
    State(app): State<WebApp>,
    mut ctx: Ctx,
    Query(q): Query<SetupQuery>,
) -> Response {
    let Some(account) = setup_account(&app, &q.token).await else {
        let text = msg(&app, ctx.lang, "setup-invalid-text");
        return no_referrer(message(
            &app,
            &ctx,
            StatusCode::NOT_FOUND,
            "setup-invalid",
            text,
        ));
    };
    let (token, fresh) = anon_csrf(&mut ctx);
    let page = SetupPage {
        c: Chrome::new(&app, &ctx, msg(&app, ctx.lang, "setup")),
        token: q.token,
        name: account.name,
        error: None,
    };
    no_referrer(with_anon_cookie(&app, html(&page), &token, fresh))
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

async fn setup(State(app): State<WebApp>, ctx: Ctx, Form(form): Form<SetupForm>) -> Response {
    if let Some(refused) = check_csrf(&app, &ctx, &form.csrf) {
        return refused;
    }
    let Some(account) = setup_account(&app, &form.token).await else {
        let text = msg(&app, ctx.lang, "setup-invalid-text");
        return message(&app, &ctx, StatusCode::NOT_FOUND, "setup-invalid", text);
    };
    let again = |error: String| {
        let page = SetupPage {
            c: Chrome::new(&app, &ctx, msg(&app, ctx.lang, "setup")),
            token: form.token.clone(),
            name: account.name.clone(),
            error: Some(error),
        };
        no_referrer((StatusCode::UNPROCESSABLE_ENTITY, html(&page)).into_response())
    };
    if let Some(problem) = users::password_problem(&form.password, &account.name) {
        let id = match problem {
            users::PasswordProblem::TooShort => "password-too-short",
            users::PasswordProblem::TooLong => "password-too-long",
            users::PasswordProblem::IsName => "password-is-name",
        };
        return again(app.inner.i18n.text(
            ctx.lang,
            id,
            &[("min", Arg::Number(users::MIN_PASSWORD_CHARS as i64))],
        ));
    }
    if form.password != form.confirm {
        return again(msg(&app, ctx.lang, "password-mismatch"));
    }
    let Ok(phc) = app.hash_password(&form.password).await else {
        return again(msg(&app, ctx.lang, "try-again"));
    };
    let set = app
        .inner
        .writer
        .users(users::Change::SetPassword {
            user_id: account.id,
            setup_hash: users::secret_hash(&form.token),
            phc,
            at: users::now(),
        })
        .await;
    if !matches!(set, Ok(1)) {
        let text = msg(&app, ctx.lang, "setup-invalid-text");
        return message(&app, &ctx, StatusCode::NOT_FOUND, "setup-invalid", text);
    }
    match start_session(&app, &ctx, account.id).await {
        Some(cookie) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            no_referrer(response)
        }
        None => Redirect::to("/login").into_response(),
    }
}

// ---- home ----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    counts: Vec<(String, String, u64)>,
    recent: Vec<RowView>,
    peers: Vec<PeerView>,
    in_network: bool,
}

/// A record as a listing shows it.
struct RowView {
    id: String,
    href: String,
    title: String,
    kind: String,
    owner: String,
    updated: String,
    deleted: bool,
}

impl RowView {
    fn of(c: &Chrome, row: &RecordRow) -> Self {
        Self {
            href: format!("/records/{}", url_encode(&row.id)),
            id: row.id.clone(),
            title: if row.title.trim().is_empty() {
                row.id.clone()
            } else {
                row.title.clone()
            },
            kind: c.type_name(row.kind.as_str()),
            owner: row.owner.clone(),
            updated: row
                .updated
                .chars()
                .take(16)
                .collect::<String>()
                .replace('T', " "),
            deleted: row.deleted,
        }
    }
}

struct PeerView {
    member: String,
    endpoint: String,
    connected: bool,
    last_contact: String,
    error: String,
}

async fn home(State(app): State<WebApp>, ctx: Ctx) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "home"));
    let reader = app.inner.reader.clone();
    let member = app.inner.member.to_string();
    let read = tokio::task::spawn_blocking(move || {
        let mut counts = Vec::new();
        for kind in RecordType::ALL {
            let listed = reader.list(
                &ListFilter {
                    kind: Some(*kind),
                    owner: Some(member.clone()),
                    ..Default::default()
                },
                &PageRequest {
                    limit: 1,
                    ..Default::default()
                },
            )?;
            counts.push((*kind, listed.total.unwrap_or(0)));
        }
        let recent = reader.list(
            &ListFilter::default(),
            &PageRequest {
                limit: 10,
                ..Default::default()
            },
        )?;
        Ok::<_, crate::store::ReadError>((counts, recent.records.to_vec()))
    })
    .await;
    let Ok(Ok((counts, recent))) = read else {
        return read_failed(&app, &ctx);
    };
    let peers = app
        .inner
        .peers
        .as_ref()
        .and_then(|p| {
            p.lock()
                .ok()
                .map(|m| m.values().cloned().collect::<Vec<_>>())
        })
        .unwrap_or_default();
    let mut peers: Vec<PeerView> = peers
        .into_iter()
        .map(|p| PeerView {
            member: if p.member.is_empty() {
                p.key.chars().take(12).collect()
            } else {
                p.member
            },
            endpoint: p.endpoint,
            connected: p.connected,
            last_contact: p
                .last_contact
                .map(|t| t.chars().take(19).collect::<String>().replace('T', " "))
                .unwrap_or_default(),
            error: p.last_error.unwrap_or_default(),
        })
        .collect();
    peers.sort_by(|a, b| a.member.cmp(&b.member));
    let page = HomePage {
        counts: counts
            .into_iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), c.type_name(kind.as_str()), n))
            .collect(),
        recent: recent.iter().map(|r| RowView::of(&c, r)).collect(),
        peers,
        in_network: app.inner.peers.is_some(),
        c,
    };
    html(&page)
}

pub(crate) fn read_failed(app: &WebApp, ctx: &Ctx) -> Response {
    let text = msg(app, ctx.lang, "read-failed-text");
    message(
        app,
        ctx,
        StatusCode::SERVICE_UNAVAILABLE,
        "read-failed",
        text,
    )
}

// ---- records ----

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    c: Chrome,
    kind: String,
    kind_name: String,
    q: String,
    owner: String,
    rows: Vec<RowView>,
    total: Option<String>,
    next: Option<String>,
    /// (value, label, chosen) of the theme filter.
    themes: Vec<(String, String, bool)>,
    /// (value, label, chosen) of the status filter (types with a status).
    statuses: Vec<(String, String, bool)>,
}

/// The values a `Choice` field `name` of `kind` offers (or, without a
/// type, of every type), with their labels, `chosen` marked.
fn field_choices(
    c: &Chrome,
    kind: Option<RecordType>,
    name: &str,
    chosen: &str,
) -> Vec<(String, String, bool)> {
    fn values_of(shape: &Shape) -> Option<&'static [&'static str]> {
        match shape {
            Shape::Choice { values } => Some(values),
            Shape::List(item) => values_of(item),
            _ => None,
        }
    }
    let kinds: Vec<RecordType> = match kind {
        Some(kind) => vec![kind],
        None => RecordType::ALL.to_vec(),
    };
    let mut out: Vec<(String, String, bool)> = Vec::new();
    for kind in kinds {
        for field in fields_of(kind).iter().filter(|f| f.name == name) {
            for value in values_of(&field.shape).unwrap_or(&[]) {
                if !out.iter().any(|(v, _, _)| v == value) {
                    let label = c.t(&format!("value-{value}"));
                    out.push(((*value).to_owned(), label, *value == chosen));
                }
            }
        }
    }
    out
}

fn theme_choices(c: &Chrome, chosen: &str) -> Vec<(String, String, bool)> {
    field_choices(c, None, "themes", chosen)
}

fn status_choices(
    c: &Chrome,
    kind: Option<RecordType>,
    chosen: &str,
) -> Vec<(String, String, bool)> {
    match kind {
        Some(_) => field_choices(c, kind, "status", chosen),
        None => Vec::new(),
    }
}

#[derive(Deserialize, Default)]
struct RecordsQuery {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

async fn records(
    State(app): State<WebApp>,
    ctx: Ctx,
    Query(query): Query<RecordsQuery>,
) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    let kind = match query.kind.trim() {
        "" => None,
        text => match RecordType::parse(text) {
            Some(kind) => Some(kind),
            None => return not_found(State(app), ctx).await,
        },
    };
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let filter = ListFilter {
        kind,
        search: nonempty(&query.q),
        owner: nonempty(&query.owner).map(|o| o.to_uppercase()),
        theme: nonempty(&query.theme),
        status: nonempty(&query.status),
        ..Default::default()
    };
    let page = PageRequest {
        after: query.after.clone(),
        limit: PAGE_ROWS,
        ..Default::default()
    };
    let reader = app.inner.reader.clone();
    let listed = tokio::task::spawn_blocking(move || reader.list(&filter, &page)).await;
    let listed = match listed {
        Ok(Ok(listed)) => listed,
        Ok(Err(crate::store::ReadError::BadRequest(_))) => {
            let text = msg(&app, ctx.lang, "bad-cursor-text");
            return message(&app, &ctx, StatusCode::BAD_REQUEST, "bad-request", text);
        }
        _ => return read_failed(&app, &ctx),
    };
    let kind_name = match kind {
        Some(kind) => msg(&app, ctx.lang, &format!("type-{}", kind.as_str())),
        None => msg(&app, ctx.lang, "all-records"),
    };
    let c = Chrome::new(&app, &ctx, kind_name.clone());
    let next = listed.next().map(|cursor| {
        let mut href = format!(
            "/records?type={}&q={}&owner={}&theme={}&status={}",
            url_encode(&query.kind),
            url_encode(&query.q),
            url_encode(&query.owner),
            url_encode(&query.theme),
            url_encode(&query.status)
        );
        href.push_str(&format!("&after={}", url_encode(&cursor.encode())));
        href
    });
    let page = RecordsPage {
        rows: listed.records.iter().map(|r| RowView::of(&c, r)).collect(),
        total: listed.total.map(|n| c.tn("records-count", n as i64)),
        next,
        kind: query.kind.clone(),
        kind_name,
        themes: theme_choices(&c, &query.theme),
        statuses: status_choices(&c, kind, &query.status),
        q: query.q,
        owner: query.owner,
        c,
    };
    html(&page)
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    c: Chrome,
    row: RowView,
    visibility: String,
    created: String,
    standing: String,
    fields: String,
    own: bool,
}

/// The record `id` as this node's staff may read it: contact details only
/// where `contact_shown` allows, like the gRPC API.
async fn readable(app: &WebApp, id: &str) -> Result<Option<RecordRow>, ()> {
    let reader = app.inner.reader.clone();
    let lookup = id.to_owned();
    let row = tokio::task::spawn_blocking(move || reader.get(&lookup))
        .await
        .map_err(drop)?
        .map_err(drop)?;
    // As the views read (`views::readable_clause`): another member's
    // record only if it is the network's, or the secretariat's to read
    // here. A node holds no other, but a page never relies on that.
    let me = app.inner.member.as_str();
    let row = row.filter(|row| {
        row.owner == me
            || match row.visibility {
                crate::records::Visibility::Network => true,
                crate::records::Visibility::Secretariat => me == crate::member::SECRETARIAT_CODE,
                crate::records::Visibility::Local => false,
            }
    });
    Ok(row.map(|mut row| {
        if row.kind == RecordType::FocalPoint
            && !crate::records::focal_point::contact_shown(app.inner.member.as_str(), &row.owner)
            && let Ok(Value::Object(mut json)) = serde_json::from_str::<Value>(&row.json)
            && json.remove("contact").is_some()
        {
            row.json = Value::Object(json).to_string();
        }
        row
    }))
}

async fn record(State(app): State<WebApp>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    let row = match readable(&app, &id).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(State(app), ctx).await,
        Err(()) => return read_failed(&app, &ctx),
    };
    let c = Chrome::new(&app, &ctx, row.title.clone());
    let standing = app
        .inner
        .roster
        .read()
        .ok()
        .and_then(|r| r.member_status(&row.owner))
        .filter(|s| *s != crate::roster::MemberStatus::Active)
        .map(|s| c.t(&format!("standing-{}", s.as_str())))
        .unwrap_or_default();
    let json: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
    let mut fields = String::new();
    if let Value::Object(map) = &json {
        fields_html(&c, map, 0, &mut fields);
    }
    let page = RecordPage {
        visibility: c.t(&format!("visibility-{}", row.visibility.as_str())),
        created: row
            .created
            .chars()
            .take(16)
            .collect::<String>()
            .replace('T', " "),
        own: row.owner == app.inner.member.as_str(),
        row: RowView::of(&c, &row),
        standing,
        fields,
        c,
    };
    html(&page)
}

/// HTML-escapes `text` (for attributes too).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `text` for a URL's path segment or query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether `value` is multilingual text (`{"en": {"text", "original"}}`).
fn as_ltext(value: &serde_json::Map<String, Value>) -> Option<Vec<(&str, &str, bool)>> {
    if value.is_empty() {
        return None;
    }
    value
        .iter()
        .map(|(lang, v)| {
            let text = v.get("text")?.as_str()?;
            let original = v.get("original")?.as_bool()?;
            (lang.len() <= 35).then_some((lang.as_str(), text, original))
        })
        .collect()
}

/// Lays out a record's fields as nested definition lists, every text
/// escaped; multilingual text in the reader's language, the original
/// marked, falling back to the original.
fn fields_html(c: &Chrome, map: &serde_json::Map<String, Value>, depth: usize, out: &mut String) {
    out.push_str("<dl class=\"fields\">");
    for (key, value) in map {
        if depth == 0 && crate::records::ENVELOPE_KEYS.contains(&key.as_str()) {
            continue;
        }
        let _ = write!(out, "<dt>{}</dt><dd>", esc(&field_label(c, key)));
        value_html(c, value, depth + 1, out);
        out.push_str("</dd>");
    }
    out.push_str("</dl>");
}

/// A field's label: its message (`field-NAME`), else its name with spaces.
pub(crate) fn field_label(c: &Chrome, key: &str) -> String {
    let id = format!("field-{key}");
    let text = c.t(&id);
    if text == id {
        key.replace('_', " ")
    } else {
        text
    }
}

fn value_html(c: &Chrome, value: &Value, depth: usize, out: &mut String) {
    if depth > MAX_SHOWN_DEPTH {
        out.push('…');
        return;
    }
    match value {
        Value::Null => out.push('—'),
        Value::Bool(b) => out.push_str(&esc(&c.t(if *b { "yes" } else { "no" }))),
        Value::Number(n) => out.push_str(&esc(&n.to_string())),
        Value::String(s) => {
            let _ = write!(out, "<span dir=\"auto\">{}</span>", esc(s));
        }
        Value::Array(items) => {
            out.push_str("<ul>");
            for item in items {
                out.push_str("<li>");
                value_html(c, item, depth + 1, out);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        Value::Object(map) => match as_ltext(map) {
            Some(texts) => ltext_html(c, &texts, out),
            None => fields_html(c, map, depth, out),
        },
    }
}

fn ltext_html(c: &Chrome, texts: &[(&str, &str, bool)], out: &mut String) {
    let mine = texts
        .iter()
        .find(|(l, _, _)| Lang::parse(l) == Some(c.lang));
    let original = texts.iter().find(|(_, _, o)| *o).or(texts.first());
    let Some(&(lang, text, is_original)) = mine.or(original) else {
        return;
    };
    let _ = write!(
        out,
        "<span lang=\"{}\" dir=\"auto\">{}</span> <small class=\"lang\">",
        esc(lang),
        esc(text)
    );
    if is_original {
        let _ = write!(out, "{} · {}", esc(&c.t("original")), esc(lang));
    } else {
        let from = original.map(|o| o.0).unwrap_or_default();
        let _ = write!(
            out,
            "{} · {}",
            esc(&c.ts("translated-from", from)),
            esc(lang)
        );
    }
    out.push_str("</small>");
    if texts.len() > 1 {
        let _ = write!(
            out,
            "<details><summary>{}</summary><ul>",
            esc(&c.tn("languages-count", texts.len() as i64))
        );
        for (lang, text, is_original) in texts {
            let _ = write!(
                out,
                "<li><span class=\"code\">{}</span>{} <span lang=\"{}\" dir=\"auto\">{}</span></li>",
                esc(lang),
                if *is_original {
                    format!(" ({})", esc(&c.t("original")))
                } else {
                    String::new()
                },
                esc(lang),
                esc(text)
            );
        }
        out.push_str("</ul></details>");
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    c: Chrome,
    row: RowView,
    items: Vec<HistoryView>,
    /// "Changes 51–100 of 201", when there is more than one page.
    range: Option<String>,
    /// The pages of newer and older changes.
    newer: Option<String>,
    older: Option<String>,
    /// The number of the page's first (newest) change.
    start: usize,
}

struct HistoryView {
    time: String,
    member: String,
    signer: String,
    seq: u64,
    audience: String,
    action: String,
    fields: String,
    /// (field, old value, new value).
    changes: Vec<(String, String, String)>,
    change: String,
}

/// A value in one line of text: multilingual text as `en: … · es: …`,
/// lists joined, objects as `key: value`; absent as `—`.
fn value_text(c: &Chrome, value: Option<&Value>) -> String {
    fn walk(c: &Chrome, value: &Value, depth: usize, out: &mut String) {
        if depth > MAX_SHOWN_DEPTH {
            out.push('…');
            return;
        }
        match value {
            Value::Null => out.push('—'),
            Value::Bool(b) => out.push_str(&c.t(if *b { "yes" } else { "no" })),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    walk(c, item, depth + 1, out);
                }
            }
            Value::Object(map) => match as_ltext(map) {
                Some(texts) => {
                    for (i, (lang, text, _)) in texts.iter().enumerate() {
                        if i > 0 {
                            out.push_str(" · ");
                        }
                        let _ = write!(out, "{lang}: {text}");
                    }
                }
                None => {
                    for (i, (k, v)) in map.iter().enumerate() {
                        if i > 0 {
                            out.push_str("; ");
                        }
                        let _ = write!(out, "{}: ", field_label(c, k));
                        walk(c, v, depth + 1, out);
                    }
                }
            },
        }
    }
    let mut out = String::new();
    match value {
        None => out.push('—'),
        Some(v) => walk(c, v, 0, &mut out),
    }
    const MAX: usize = 600;
    if out.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|i| out.is_char_boundary(*i))
            .unwrap_or(0);
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Changes on one page of a record's history.
const HISTORY_ROWS: usize = 50;

#[derive(Deserialize)]
struct HistoryQuery {
    /// The page, from 1 (the newest changes).
    #[serde(default)]
    page: Option<String>,
}

async fn history(
    State(app): State<WebApp>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    // A page number that is not one reads as the first page.
    let number = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let row = match readable(&app, &id).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(State(app), ctx).await,
        Err(()) => return read_failed(&app, &ctx),
    };
    let reader = app.inner.reader.clone();
    let lookup = id.clone();
    let skip = (number - 1) * HISTORY_ROWS;
    let Ok(Ok((total, items))) =
        tokio::task::spawn_blocking(move || reader.history_page(&lookup, skip, HISTORY_ROWS)).await
    else {
        return read_failed(&app, &ctx);
    };
    if items.is_empty() && number > 1 {
        return not_found(State(app), ctx).await;
    }
    let contact_hidden = row.kind == RecordType::FocalPoint
        && !crate::records::focal_point::contact_shown(app.inner.member.as_str(), &row.owner);
    let roster = app.inner.roster.read().ok().map(|r| r.clone());
    let c = Chrome::new(&app, &ctx, row.title.clone());
    let items: Vec<HistoryView> = items
        .into_iter()
        .map(|(item, changes)| {
            let signer = item.signer.to_string();
            let member = roster
                .as_ref()
                .and_then(|r| r.member_of(&item.signer))
                .map(|m| m.to_string())
                .unwrap_or_else(|| row.owner.clone());
            HistoryView {
                time: time::OffsetDateTime::from_unix_timestamp(item.time)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default()
                    .replace('T', " "),
                member,
                signer: signer.chars().take(16).collect(),
                seq: item.seq,
                audience: c.t(&format!("visibility-{}", item.audience)),
                action: c.t(&format!("action-{}", item.action)),
                fields: item
                    .fields
                    .iter()
                    .filter(|f| !(contact_hidden && f.starts_with("contact")))
                    .map(|f| field_label(&c, f))
                    .collect::<Vec<_>>()
                    .join(", "),
                changes: changes
                    .iter()
                    .filter(|ch| !(contact_hidden && ch.field == "contact"))
                    .map(|ch| {
                        (
                            field_label(&c, &ch.field),
                            value_text(&c, ch.old.as_ref()),
                            value_text(&c, ch.new.as_ref()),
                        )
                    })
                    .collect(),
                change: item.change_hash.chars().take(12).collect(),
            }
        })
        .collect();
    let base = format!("/records/{}/history", url_encode(&row.id));
    let shown = items.len();
    let page = HistoryPage {
        range: (total > HISTORY_ROWS).then(|| {
            c.tf(
                "history-range",
                &[
                    ("first", Arg::Number((skip + 1) as i64)),
                    ("last", Arg::Number((skip + shown) as i64)),
                    ("count", Arg::Number(total as i64)),
                ],
            )
        }),
        newer: (number > 1).then(|| format!("{base}?page={}", number - 1)),
        older: (skip + shown < total).then(|| format!("{base}?page={}", number + 1)),
        start: total - skip,
        row: RowView::of(&c, &row),
        items,
        c,
    };
    html(&page)
}

// ---- forms: create, edit, delete ----

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    c: Chrome,
    heading: String,
    action: String,
    kind: String,
    fields: String,
    summary: Vec<(String, String, String)>,
    failure: Option<String>,
    /// For a new record: (value, label, chosen).
    visibilities: Vec<(&'static str, String, bool)>,
    /// A hidden input: a new record's request id, an edit's base heads.
    hidden: (&'static str, String),
    cancel: String,
}

/// The choices of the record pickers a form of `fields` needs.
fn picker_kinds(fields: &[Field], out: &mut Vec<&'static str>) {
    fn walk(shape: &Shape, out: &mut Vec<&'static str>) {
        match shape {
            Shape::Reference { kind } if !out.contains(kind) => out.push(kind),
            Shape::Object(fields) => fields.iter().for_each(|f| walk(&f.shape, out)),
            Shape::List(item) => walk(item, out),
            _ => {}
        }
    }
    for field in fields {
        walk(&field.shape, out);
    }
}

async fn choices(app: &WebApp, fields: &[Field]) -> forms::Choices {
    let mut kinds = Vec::new();
    picker_kinds(fields, &mut kinds);
    let reader = app.inner.reader.clone();
    tokio::task::spawn_blocking(move || {
        let mut choices = forms::Choices::new();
        for kind in kinds {
            let Some(record_type) = RecordType::parse(kind) else {
                continue;
            };
            let listed = reader.list(
                &ListFilter {
                    kind: Some(record_type),
                    ..Default::default()
                },
                &PageRequest {
                    limit: 500,
                    ..Default::default()
                },
            );
            let options = listed
                .map(|l| {
                    l.records
                        .iter()
                        .map(|r| (r.id.clone(), format!("{} ({})", r.title, r.owner)))
                        .collect()
                })
                .unwrap_or_default();
            choices.insert(kind, options);
        }
        choices
    })
    .await
    .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    app: &WebApp,
    ctx: &Ctx,
    status: StatusCode,
    kind: RecordType,
    existing: Option<&RecordRow>,
    current: &serde_json::Map<String, Value>,
    errors: &[crate::records::FieldError],
    failure: Option<String>,
    visibility: &str,
    hidden: (&'static str, String),
) -> Response {
    let fields = fields_of(kind);
    let choices = choices(app, &fields).await;
    let kind_name = msg(app, ctx.lang, &format!("type-{}", kind.as_str()));
    let heading = match existing {
        Some(row) => {
            app.inner
                .i18n
                .text(ctx.lang, "edit-heading", &[("name", Arg::Text(&row.title))])
        }
        None => app
            .inner
            .i18n
            .text(ctx.lang, "new-heading", &[("type", Arg::Text(&kind_name))]),
    };
    let c = Chrome::new(app, ctx, heading.clone());
    let mut renderer = forms::Renderer::new(&c, &choices, errors);
    let fields_html = renderer.fields(&fields, current);
    let summary = renderer.summary();
    let page = FormPage {
        action: match existing {
            Some(row) => format!("/records/{}/edit", url_encode(&row.id)),
            None => "/records/new".to_owned(),
        },
        cancel: match existing {
            Some(row) => format!("/records/{}", url_encode(&row.id)),
            None => format!("/records?type={}", kind.as_str()),
        },
        kind: kind.as_str().to_owned(),
        fields: fields_html,
        summary,
        failure,
        visibilities: if existing.is_none() {
            ["network", "secretariat", "local"]
                .into_iter()
                .map(|v| (v, c.t(&format!("visibility-{v}")), v == visibility))
                .collect()
        } else {
            Vec::new()
        },
        hidden,
        heading,
        c,
    };
    (status, html(&page)).into_response()
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default, rename = "type")]
    kind: String,
}

async fn new_form(State(app): State<WebApp>, ctx: Ctx, Query(q): Query<NewQuery>) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    let Some(kind) = RecordType::parse(q.kind.trim()).filter(|k| RecordType::ALL.contains(k))
    else {
        return not_found(State(app), ctx).await;
    };
    let request_id = users::random_secret("web-").unwrap_or_default();
    // The owner's field (which the node fills in anyway) shows the owner.
    let mut current = serde_json::Map::new();
    if let Some(owner) = fields_of(kind)
        .iter()
        .find(|f| f.name == "member" && f.shape == Shape::Member)
    {
        current.insert(
            owner.name.to_owned(),
            Value::String(app.inner.member.to_string()),
        );
    }
    form_page(
        &app,
        &ctx,
        StatusCode::OK,
        kind,
        None,
        &current,
        &[],
        None,
        "network",
        ("request_id", request_id),
    )
    .await
}

/// A form's values read into a record's fields, off the async threads.
async fn read_form(fields: Vec<Field>, values: forms::Values) -> serde_json::Map<String, Value> {
    tokio::task::spawn_blocking(move || forms::read(&fields, &values))
        .await
        .unwrap_or_default()
}

/// What a write's refusal says on its form: the field errors, or one
/// message.
fn refusal(
    err: crate::engine::writer::WriteError,
) -> (Vec<crate::records::FieldError>, Option<String>) {
    match err {
        crate::engine::writer::WriteError::Invalid { errors, .. } => (errors, None),
        other => (Vec::new(), Some(other.to_string())),
    }
}

async fn create(State(app): State<WebApp>, ctx: Ctx, body: axum::body::Bytes) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    let values = forms::Values::parse(&body);
    if let Some(refused) = check_csrf(&app, &ctx, values.one("csrf").unwrap_or_default()) {
        return refused;
    }
    let Some(kind) = values
        .one("type")
        .and_then(RecordType::parse)
        .filter(|k| RecordType::ALL.contains(k))
    else {
        return not_found(State(app), ctx).await;
    };
    let visibility = values.one("visibility").unwrap_or("network").to_owned();
    let Some(audience) = crate::records::Visibility::parse(&visibility) else {
        let text = msg(&app, ctx.lang, "bad-request-text");
        return message(&app, &ctx, StatusCode::BAD_REQUEST, "bad-request", text);
    };
    let request_id = values.one("request_id").map(str::to_owned);
    let fields = read_form(fields_of(kind), values).await;
    let written = app
        .inner
        .writer
        .write(crate::engine::writer::WriteRequest::Create {
            kind,
            fields: fields.clone(),
            visibility: audience,
            language: ctx.lang.code().to_owned(),
            request_id: request_id.clone(),
        })
        .await;
    match written {
        Ok(row) => Redirect::to(&format!("/records/{}", url_encode(&row.id))).into_response(),
        Err(err) => {
            let (errors, failure) = refusal(err);
            form_page(
                &app,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                kind,
                None,
                &fields,
                &errors,
                failure,
                &visibility,
                // A new id: the refused request made nothing to retry.
                (
                    "request_id",
                    users::random_secret("web-").unwrap_or_default(),
                ),
            )
            .await
        }
    }
}

/// The record `id` if this node's member owns it and it is not deleted:
/// else the answer (not found, or read only).
async fn own_record(app: &WebApp, ctx: &Ctx, id: &str) -> Result<RecordRow, Response> {
    match readable(app, id).await {
        Ok(Some(row)) if row.owner == app.inner.member.as_str() && !row.deleted => Ok(row),
        Ok(Some(_)) => {
            let text = msg(app, ctx.lang, "read-only-text");
            Err(message(app, ctx, StatusCode::FORBIDDEN, "read-only", text))
        }
        Ok(None) => Err(not_found(State(app.clone()), ctx.clone()).await),
        Err(()) => Err(read_failed(app, ctx)),
    }
}

/// A record's own fields (the envelope left out).
fn own_fields(row: &RecordRow) -> serde_json::Map<String, Value> {
    let mut map = match serde_json::from_str::<Value>(&row.json) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    map.retain(|k, _| !crate::records::ENVELOPE_KEYS.contains(&k.as_str()));
    map
}

async fn edit_form(State(app): State<WebApp>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    let row = match own_record(&app, &ctx, &id).await {
        Ok(row) => row,
        Err(answer) => return answer,
    };
    let current = own_fields(&row);
    form_page(
        &app,
        &ctx,
        StatusCode::OK,
        row.kind,
        Some(&row),
        &current,
        &[],
        None,
        "",
        ("base", base_of(&row)),
    )
    .await
}

/// What an edit form carries of the record it was made from (`base`): the
/// heads of the record's document and, after `|`, a fingerprint of its
/// contact details (a focal point's live in another document).
fn base_of(row: &RecordRow) -> String {
    format!("{}|{}", row.heads.join(","), contact_print(row))
}

/// A fingerprint of a record's contact details as this node shows them.
fn contact_print(row: &RecordRow) -> String {
    use sha2::Digest as _;
    let contact = own_fields(row).get("contact").cloned().unwrap_or_default();
    let digest = sha2::Sha256::digest(contact.to_string().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What changed in `row` since `base` (what its edit form was made from,
/// as the form sent it back, see [`base_of`]).
#[derive(Default)]
struct Since {
    /// The fields of the record's own document that changed, each with
    /// its value then.
    fields: std::collections::BTreeMap<String, Option<Value>>,
    /// Whether the contact details changed (their value then is not kept).
    contact: bool,
}

/// What changed in `row` since `base`: `Err` when this node cannot tell
/// (heads that are not the record's: a form from elsewhere, or a forged
/// one).
async fn changed_since(app: &WebApp, row: &RecordRow, base: &str) -> Result<Since, ()> {
    let (heads, contact) = base.split_once('|').ok_or(())?;
    let mut changed = Since {
        contact: contact != contact_print(row),
        ..Default::default()
    };
    if heads == row.heads.join(",") {
        return Ok(changed);
    }
    let heads = heads
        .split(',')
        .map(|h| h.parse::<automerge::ChangeHash>().map_err(|_| ()))
        .collect::<Result<Vec<_>, _>>()?;
    // A document has a few heads; a long list is not one of its versions.
    if heads.len() > 64 {
        return Err(());
    }
    let reader = app.inner.reader.clone();
    let id = row.id.clone();
    let then = tokio::task::spawn_blocking(move || reader.fields_at(&id, &heads))
        .await
        .map_err(|_| ())?
        .map_err(|_| ())?
        .ok_or(())?;
    let now = own_fields(row);
    changed.fields.extend(
        then.keys()
            .chain(now.keys())
            .filter(|k| !crate::records::ENVELOPE_KEYS.contains(&k.as_str()) && *k != "contact")
            .filter(|k| then.get(*k) != now.get(*k))
            .map(|k| (k.clone(), then.get(k).cloned())),
    );
    Ok(changed)
}

async fn edit(
    State(app): State<WebApp>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    let values = forms::Values::parse(&body);
    if let Some(refused) = check_csrf(&app, &ctx, values.one("csrf").unwrap_or_default()) {
        return refused;
    }
    let row = match own_record(&app, &ctx, &id).await {
        Ok(row) => row,
        Err(answer) => return answer,
    };
    let base = values.one("base").unwrap_or_default().to_owned();
    let fields = fields_of(row.kind);
    let new = read_form(fields.clone(), values).await;
    let old = own_fields(&row);
    let mut patch = crate::json::merge_diff(&old, &new, fields.iter().map(|f| f.name));
    // Someone else changed the record since the form was made: a field
    // they changed that this form left as it was keeps their value; one
    // this form changed too is a conflict, shown on the form again (never
    // overwritten unseen). A form without a base (a script's) edits the
    // record as it is now.
    let since = if base.is_empty() {
        Ok(Default::default())
    } else {
        changed_since(&app, &row, &base).await
    };
    // The form as shown again (a conflict, a refusal): what it sent, but
    // the others' changes it left alone as they are now, and the record's
    // base as it is now, so that sending it again undoes nothing unseen.
    let mut shown = new.clone();
    let mut conflicts: Vec<String> = Vec::new();
    let show_now = |field: &str, shown: &mut serde_json::Map<String, Value>| {
        match old.get(field) {
            Some(now) => shown.insert(field.to_owned(), now.clone()),
            None => shown.remove(field),
        };
    };
    match since {
        Ok(changed) => {
            for (field, then) in changed.fields {
                if new.get(&field) == then.as_ref() {
                    patch.remove(&field);
                    show_now(&field, &mut shown);
                } else if patch.contains_key(&field) {
                    conflicts.push(field);
                }
            }
            // The contact details' value then is not known: if the form
            // sends other ones, a conflict, shown with them as they are
            // now (the others' change is never undone unseen).
            if changed.contact && patch.contains_key("contact") {
                show_now("contact", &mut shown);
                conflicts.push("contact".to_owned());
            }
        }
        Err(()) => conflicts.extend(patch.keys().cloned()),
    }
    if !conflicts.is_empty() {
        let c = Chrome::new(&app, &ctx, String::new());
        let errors: Vec<crate::records::FieldError> = conflicts
            .iter()
            .map(|field| crate::records::FieldError {
                field: field.clone(),
                message: c.tf(
                    "changed-since-field",
                    &[("value", Arg::Text(&value_text(&c, old.get(field))))],
                ),
            })
            .collect();
        return form_page(
            &app,
            &ctx,
            StatusCode::CONFLICT,
            row.kind,
            Some(&row),
            &shown,
            &errors,
            Some(c.t("changed-since")),
            "",
            ("base", base_of(&row)),
        )
        .await;
    }
    if patch.is_empty() {
        return Redirect::to(&format!("/records/{}", url_encode(&row.id))).into_response();
    }
    let written = app
        .inner
        .writer
        .write(crate::engine::writer::WriteRequest::Update {
            id: row.id.clone(),
            patch,
            language: ctx.lang.code().to_owned(),
        })
        .await;
    match written {
        Ok(row) => Redirect::to(&format!("/records/{}", url_encode(&row.id))).into_response(),
        Err(err) => {
            let (errors, failure) = refusal(err);
            form_page(
                &app,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                row.kind,
                Some(&row),
                &shown,
                &errors,
                failure,
                "",
                ("base", base_of(&row)),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    c: Chrome,
    heading: String,
    text: String,
    action: String,
    button: String,
    cancel: String,
    danger: bool,
}

async fn delete_form(State(app): State<WebApp>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    let row = match own_record(&app, &ctx, &id).await {
        Ok(row) => row,
        Err(answer) => return answer,
    };
    let heading = app.inner.i18n.text(
        ctx.lang,
        "delete-heading",
        &[("name", Arg::Text(&row.title))],
    );
    let page = ConfirmPage {
        c: Chrome::new(&app, &ctx, heading.clone()),
        text: msg(&app, ctx.lang, "delete-text"),
        action: format!("/records/{}/delete", url_encode(&row.id)),
        button: msg(&app, ctx.lang, "delete"),
        cancel: format!("/records/{}", url_encode(&row.id)),
        danger: true,
        heading,
    };
    html(&page)
}

async fn delete(
    State(app): State<WebApp>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Editor) {
        return to;
    }
    if let Some(refused) = check_csrf(&app, &ctx, &form.csrf) {
        return refused;
    }
    let row = match own_record(&app, &ctx, &id).await {
        Ok(row) => row,
        Err(answer) => return answer,
    };
    match app
        .inner
        .writer
        .write(crate::engine::writer::WriteRequest::Delete { id: row.id.clone() })
        .await
    {
        Ok(_) => Redirect::to(&format!("/records/{}", url_encode(&row.id))).into_response(),
        Err(err) => message(
            &app,
            &ctx,
            StatusCode::CONFLICT,
            "write-failed",
            err.to_string(),
        ),
    }
}

// ---- network views ----

#[derive(Deserialize, Default)]
pub(crate) struct ViewQuery {
    #[serde(default)]
    member: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    format: String,
}

impl ViewQuery {
    pub(crate) fn input(&self) -> ViewInput {
        ViewInput {
            member: self.member.trim().to_owned(),
            region: self.region.trim().to_owned(),
            kind: self.kind.trim().to_owned(),
            theme: self.theme.trim().to_owned(),
            after: self.after.trim().to_owned(),
            limit: if self.csv() { 10_000 } else { PAGE_ROWS },
            ..Default::default()
        }
    }

    pub(crate) fn csv(&self) -> bool {
        self.format == "csv"
    }

    pub(crate) fn href(&self, path: &str, after: &str, format: &str) -> String {
        format!(
            "{path}?member={}&region={}&kind={}&theme={}&after={}&format={}",
            url_encode(&self.member),
            url_encode(&self.region),
            url_encode(&self.kind),
            url_encode(&self.theme),
            url_encode(after),
            format
        )
    }
}

/// A table of a view: the header and rows as text, for the page and CSV.
pub(crate) struct Table {
    pub(crate) head: Vec<String>,
    pub(crate) rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The cells' text, for a download.
    pub(crate) fn into_csv(self) -> crate::web::views::Csv {
        crate::web::views::Csv {
            head: self.head,
            rows: self
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(|cell| cell.text).collect())
                .collect(),
        }
    }
}

/// A cell: its text and, for a record, its link.
pub(crate) struct Cell {
    text: String,
    href: Option<String>,
}

impl Cell {
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
        }
    }

    pub(crate) fn link(text: impl Into<String>, id: &str) -> Self {
        Self {
            text: text.into(),
            href: Some(format!("/records/{}", url_encode(id))),
        }
    }
}

/// One line of RFC 4180 CSV, with text cells that a spreadsheet would take
/// for a formula quoted with a leading `'` (as `focal view --csv` does).
pub(crate) fn csv_line<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, text) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text =
            if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
                format!("'{text}")
            } else {
                text.to_owned()
            };
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push_str("\r\n");
}

/// A table as CSV ([`csv_line`]).
fn csv(table: &Table) -> String {
    let mut out = String::new();
    csv_line(&mut out, table.head.iter().map(String::as_str));
    for row in &table.rows {
        csv_line(&mut out, row.iter().map(|c| c.text.as_str()));
    }
    out
}

#[derive(Template)]
#[template(path = "view.html")]
pub(crate) struct ViewPage {
    pub(crate) c: Chrome,
    pub(crate) heading: String,
    pub(crate) summary: Vec<(String, u64)>,
    pub(crate) table: Table,
    pub(crate) freshness: String,
    pub(crate) filters: Vec<(String, String, String)>,
    pub(crate) action: String,
    pub(crate) csv_href: String,
    pub(crate) next: Option<String>,
}

pub(crate) fn freshness_text(c: &Chrome, f: &crate::views::Freshness) -> String {
    let newest = f
        .members
        .iter()
        .filter_map(|m| m.last_received.as_deref())
        .max()
        .map(|t| t.chars().take(19).collect::<String>().replace('T', " "))
        .unwrap_or_else(|| "—".to_owned());
    c.app.inner.i18n.text(
        c.lang,
        "view-freshness",
        &[
            ("when", Arg::Text(&f.as_of.to_string())),
            ("name", Arg::Text(&newest)),
        ],
    )
}

pub(crate) fn view_error(app: &WebApp, ctx: &Ctx, err: crate::views::ViewError) -> Response {
    use crate::views::ViewError;
    match err {
        ViewError::BadFilter(text) | ViewError::NotFound(text) => {
            message(app, ctx, StatusCode::BAD_REQUEST, "bad-request", text)
        }
        _ => read_failed(app, ctx),
    }
}

pub(crate) fn csv_response(name: &str, table: &Table) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        csv(table),
    )
        .into_response()
}

/// The directory's rows as a table, in the reader's language.
fn directory_table(t: &dyn Fn(&str) -> String, rows: &[DirectoryEntry]) -> Table {
    Table {
        head: [
            "col-member",
            "col-name",
            "col-designation",
            "col-title",
            "col-institution",
            "col-languages",
            "col-email",
            "col-phone",
            "col-standing",
        ]
        .iter()
        .map(|id| t(id))
        .collect(),
        rows: rows
            .iter()
            .map(|e| {
                let withheld = || {
                    if e.contact_withheld {
                        t("contact-withheld")
                    } else {
                        String::new()
                    }
                };
                vec![
                    Cell::text(&e.member),
                    Cell::link(&e.person_name, &e.id),
                    Cell::text(e.designation.clone().unwrap_or_default()),
                    Cell::text(e.title.clone().unwrap_or_default()),
                    Cell::text(e.institution.clone().unwrap_or_default()),
                    Cell::text(e.languages.join(", ")),
                    Cell::text(e.email.clone().unwrap_or_else(withheld)),
                    Cell::text(e.phone.clone().unwrap_or_else(withheld)),
                    Cell::text(if e.standing.is_empty() {
                        String::new()
                    } else {
                        t(&format!("standing-{}", e.standing))
                    }),
                ]
            })
            .collect(),
    }
}

async fn directory(
    State(app): State<WebApp>,
    ctx: Ctx,
    Query(query): Query<ViewQuery>,
) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    if query.csv() {
        let views = app.inner.views.clone();
        return download::csv(
            &app,
            &ctx,
            "directory",
            query.input(),
            move |input| views.directory(input),
            |v| {
                let next = v.pager.next(&v.entries);
                (v.entries.into_rows(), next)
            },
            |tr, rows| directory_table(&|id| tr.t(id), rows).into_csv(),
        )
        .await;
    }
    let views = app.inner.views.clone();
    let input = query.input();
    let view = match read_view(&app, &ctx, move || views.directory(&input)).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-directory"));
    let table = directory_table(&|id| c.t(id), &view.entries);
    let next = view
        .pager
        .next(&view.entries)
        .map(|after| query.href("/views/directory", &after, ""));
    let page = ViewPage {
        heading: c.t("view-directory"),
        summary: vec![(c.t("summary-focal-points"), view.total)],
        freshness: freshness_text(&c, &view.freshness),
        filters: vec![
            ("member".into(), c.t("col-member"), query.member.clone()),
            ("region".into(), c.t("col-region"), query.region.clone()),
        ],
        action: "/views/directory".into(),
        csv_href: query.href("/views/directory", "", "csv"),
        next,
        table,
        c,
    };
    html(&page)
}

/// The NAP tracker's rows as a table, in the reader's language.
fn nap_table(t: &dyn Fn(&str) -> String, rows: &[NapTrackerRow]) -> Table {
    Table {
        head: [
            "col-member",
            "col-region",
            "col-state",
            "col-plan",
            "col-period",
            "col-lead-agency",
            "col-budget",
            "col-standing",
        ]
        .iter()
        .map(|id| t(id))
        .collect(),
        rows: rows
            .iter()
            .map(|r| {
                let plan = r.plan.as_ref();
                vec![
                    Cell::text(&r.member),
                    Cell::text(r.region.clone().unwrap_or_default()),
                    Cell::text(t(&format!("nap-state-{}", r.state.as_str()))),
                    match plan {
                        Some(p) => Cell::link(&p.title, &p.id),
                        None => Cell::text(""),
                    },
                    Cell::text(
                        plan.map(|p| {
                            format!(
                                "{} – {}",
                                p.period_start.clone().unwrap_or_default(),
                                p.period_end.clone().unwrap_or_default()
                            )
                        })
                        .unwrap_or_default(),
                    ),
                    Cell::text(plan.and_then(|p| p.lead_agency.clone()).unwrap_or_default()),
                    Cell::text(plan.and_then(|p| p.budget.clone()).unwrap_or_default()),
                    Cell::text(if r.standing.is_empty() {
                        String::new()
                    } else {
                        t(&format!("standing-{}", r.standing))
                    }),
                ]
            })
            .collect(),
    }
}

async fn naps(State(app): State<WebApp>, ctx: Ctx, Query(query): Query<ViewQuery>) -> Response {
    if let Some(to) = require(&app, &ctx, Role::Reader) {
        return to;
    }
    if query.csv() {
        let views = app.inner.views.clone();
        return download::csv(
            &app,
            &ctx,
            "nap-tracker",
            query.input(),
            move |input| views.nap_tracker(input),
            |v| {
                let next = v.pager.next(&v.members);
                (v.members.into_rows(), next)
            },
            |tr, rows| nap_table(&|id| tr.t(id), rows).into_csv(),
        )
        .await;
    }
    let views = app.inner.views.clone();
    let input = query.input();
    let view = match read_view(&app, &ctx, move || views.nap_tracker(&input)).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let c = Chrome::new(&app, &ctx, msg(&app, ctx.lang, "view-naps"));
    let table = nap_table(&|id| c.t(id), &view.members);
    let s = view.summary;
    let next = view
        .pager
        .next(&view.members)
        .map(|after| query.href("/views/naps", &after, ""));
    let page = ViewPage {
        heading: c.t("view-naps"),
        summary: vec![
            (c.t("summary-members"), s.members),
            (c.t("nap-state-in-force"), s.in_force),
            (c.t("summary-allocated"), s.in_force_with_allocated_budget),
            (c.t("nap-state-adopted"), s.adopted),
            (c.t("nap-state-drafting"), s.drafting),
            (c.t("nap-state-expired"), s.expired),
            (c.t("nap-state-none"), s.none),
        ],
        freshness: freshness_text(&c, &view.freshness),
        filters: vec![
            ("member".into(), c.t("col-member"), query.member.clone()),
            ("region".into(), c.t("col-region"), query.region.clone()),
            ("theme".into(), c.t("col-theme"), query.theme.clone()),
        ],
        action: "/views/naps".into(),
        csv_href: query.href("/views/naps", "", "csv"),
        next,
        table,
        c,
    };
    html(&page)
}

// ---- live updates ----

/// Server-sent events: one `change` event per record change the person
/// may read, carrying only its type (the page fetches itself again), and a
/// comment every 20 s (or a third of the send deadline, when a test
/// shortens it): a stream the client reads always moves, so the doors'
/// send deadline cuts only one it does not.
async fn events(State(app): State<WebApp>, ctx: Ctx) -> Response {
    if ctx.session.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut changes = app.inner.writer.subscribe();
    let mut stop = app.inner.stop.clone();
    let stream = async_stream(move |tx| async move {
        loop {
            let event = tokio::select! {
                () = crate::base::shutdown::stopped(&mut stop) => return,
                // The page went away: nothing more to send.
                () = tx.closed() => return,
                event = changes.recv() => event,
            };
            let data = match event {
                Ok(event) => {
                    let kind = match event.record.kind {
                        RecordType::FocalPointContact => RecordType::FocalPoint,
                        kind => kind,
                    };
                    kind.as_str().to_owned()
                }
                // Behind: the page reloads everything anyway.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => "*".to_owned(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if tx
                .send(Ok(Event::default().event("change").data(data)))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let every = std::time::Duration::from_secs(20).min(app.inner.deadlines.send / 3);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(every))
        .into_response()
}

type EventResult = Result<Event, std::convert::Infallible>;

/// A stream fed by the task `f` through a small channel.
fn async_stream<F, Fut>(f: F) -> tokio_stream::wrappers::ReceiverStream<EventResult>
where
    F: FnOnce(tokio::sync::mpsc::Sender<EventResult>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_links_stay_on_this_site() {
        assert_eq!(
            esc("<script>alert('x')</script><img src=x onerror=\"y\">&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=&quot;y&quot;&gt;&amp;"
        );
        assert_eq!(
            url_encode("ESP:practice:a b/c"),
            "ESP%3Apractice%3Aa%20b%2Fc"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "javascript:x",
        ] {
            assert_eq!(local_path(bad), "/", "{bad}");
        }
        assert_eq!(
            local_path("/records?type=practice"),
            "/records?type=practice"
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let table = Table {
            head: vec!["a".into(), "b".into()],
            rows: vec![
                vec![Cell::text("=1+1"), Cell::text("x, \"y\"")],
                vec![Cell::text("-12.5"), Cell::text("@SUM")],
            ],
        };
        assert_eq!(
            csv(&table),
            "a,b\r\n'=1+1,\"x, \"\"y\"\"\"\r\n-12.5,'@SUM\r\n"
        );
    }
}
