//! Who is asking: each request's context ([`Ctx`]: language, the
//! client's address, session), read once before any body ([`gate`]), the
//! session cookie, CSRF checks, the sign-in throttle, and the queue of
//! password checks.
//!
//! - A session cookie (`focal_session`, `__Host-focal_session` over HTTPS)
//!   holds a random secret; the database keeps its hash (`store::users`).
//!   `HttpOnly`, `SameSite=Strict`, `Secure` when the app is served over
//!   TLS or behind an `https://` public URL. Its `last_seen` is written at
//!   most once a minute, one write in flight per session ([`Touches`]).
//! - Every state-changing request carries a CSRF token in its form: the
//!   session's own once signed in, and before that (sign-in, set-up) a
//!   random one also set as a cookie (double submit). A request whose
//!   `Origin` is not this site (scheme, host and port) is refused too.
//! - Sign-in attempts are throttled per account (after five wrong
//!   passwords in a row, the next attempts wait, doubling from one minute
//!   up to an hour; one failure is forgotten per quiet hour) and per client
//!   (30 failures in 15 minutes), before any password is hashed; an
//!   attempt is reserved while its password is checked, so that attempts at
//!   once cannot get past the free failures. Throttles are kept in memory,
//!   bounded, the running waits kept longest.
//! - Passwords are checked two at a time, at most 16 more waiting
//!   ([`Hashing`]); beyond, the answer is "busy" before anything is hashed.
//!   A check's places are held by the hashing itself, not by the request:
//!   a client that goes away mid-check frees nothing until the hash ends,
//!   and its attempt counts as failed once its hash has started.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, header, request::Parts},
};

use crate::{
    store::users::{self, Role, Session, SessionRules},
    web::{Peer, WebApp, i18n::Lang},
};

/// Wrong passwords in a row an account may have before it is throttled.
pub const FREE_FAILURES: u32 = 5;
/// The first wait after them; each further failure doubles it.
const FIRST_WAIT: Duration = Duration::from_secs(60);
/// The longest wait.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);
/// An account forgets one failure per this long without one (counted from
/// its last failure or the end of its wait, whichever is later): a wrong
/// password now and then never locks a name, a guesser still waits.
const FORGET_ONE_AFTER: Duration = Duration::from_secs(3600);
/// Failures one address may cause in [`ADDRESS_WINDOW`].
const ADDRESS_FAILURES: u32 = 30;
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Accounts and addresses the throttle remembers at once.
const THROTTLE_ENTRIES: usize = 10_000;
/// What a sign-in reserved but not yet counted makes the next one wait
/// (it ends within a password check).
const RESERVED_WAIT: Duration = Duration::from_secs(2);
/// Password checks running at once, and waiting beyond them.
const HASHING_AT_ONCE: usize = 2;
const HASHING_WAITING: usize = 16;
/// How often a session's `last_seen` is written.
const TOUCH_EVERY_SECS: i64 = 60;
/// The longest cookie value read.
const MAX_COOKIE_VALUE: usize = 128;

/// Failures of one account or address, and sign-ins under way for it.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// Attempts that passed [`Throttle::check`] and are not counted yet.
    reserved: u32,
    /// The first failure (the address's window starts there).
    first: Instant,
    /// The last failure, or the last forgotten one's time.
    last: Instant,
    until: Option<Instant>,
}

impl Failures {
    fn new(now: Instant) -> Self {
        Self {
            count: 0,
            reserved: 0,
            first: now,
            last: now,
            until: None,
        }
    }

    fn waiting(&self, now: Instant) -> bool {
        self.until.is_some_and(|u| u > now)
    }

    /// An account's failures fade: one per [`FORGET_ONE_AFTER`] quiet.
    fn forget(&mut self, now: Instant) {
        let since = self.until.map_or(self.last, |u| u.max(self.last));
        let Some(quiet) = now.checked_duration_since(since) else {
            return;
        };
        let forgotten = (quiet.as_secs() / FORGET_ONE_AFTER.as_secs()) as u32;
        if forgotten == 0 {
            return;
        }
        self.count = self.count.saturating_sub(forgotten);
        self.last = since + FORGET_ONE_AFTER * forgotten;
        if !self.waiting(now) {
            self.until = None;
        }
    }

    /// An address's failures are counted in a window from its first.
    fn restart_window(&mut self, now: Instant) {
        if now.duration_since(self.first) > ADDRESS_WINDOW && !self.waiting(now) {
            *self = Failures {
                reserved: self.reserved,
                ..Failures::new(now)
            };
        }
    }

    /// Whether nothing about it is worth remembering: no wait, no attempt
    /// under way, and its failures forgotten (an account's faded, an
    /// address's window over).
    fn forgettable(&self, now: Instant) -> bool {
        self.reserved == 0
            && !self.waiting(now)
            && (self.count == 0
                || now.duration_since(self.last)
                    > ADDRESS_WINDOW.max(FORGET_ONE_AFTER * self.count))
    }
}

/// The sign-in throttle. An attempt is reserved by [`Throttle::check`]
/// (counted against the free failures while its password is checked, so
/// that attempts at once cannot exceed them) and settled by
/// [`Attempt::failed`] or [`Attempt::succeeded`].
#[derive(Debug, Default)]
pub struct Throttle {
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

/// One sign-in attempt reserved in the throttle. Dropped unsettled before
/// its password is hashed (the check could not run), it is given back
/// uncounted; after (the client went away mid-check), it counts as failed:
/// only a check that ends in success is free.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    account: String,
    address: IpAddr,
    settled: bool,
    /// Whether its password is being hashed ([`Hashing::run`]).
    hashed: bool,
}

impl Attempt<'_> {
    /// The password was wrong (or the account unusable).
    pub fn failed(mut self) {
        self.settled = true;
        self.throttle
            .failed_at(&self.account, self.address, Instant::now());
    }

    /// The password was right: the account's failures are cleared.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.throttle.release(&self.account, self.address);
        if let Ok(mut accounts) = self.throttle.accounts.lock() {
            accounts.remove(&self.account);
        }
    }
}

#[cfg(test)]
impl Attempt<'_> {
    /// [`Attempt::failed`] at `now`.
    fn failed_at(mut self, now: Instant) {
        self.settled = true;
        self.throttle.failed_at(&self.account, self.address, now);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if self.hashed {
            self.throttle
                .failed_at(&self.account, self.address, Instant::now());
        } else {
            self.throttle.release(&self.account, self.address);
        }
    }
}

impl Throttle {
    /// An attempt for `account` from `address` (counted by its
    /// [`client_key`](crate::web::doors::client_key)), or `Err(wait)` if it
    /// must wait first.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<Attempt<'_>, Duration> {
        self.check_at(account, address, Instant::now())
    }

    fn check_at(
        &self,
        account: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<Attempt<'_>, Duration> {
        let address = crate::web::doors::client_key(address);
        let (Ok(mut accounts), Ok(mut addresses)) = (self.accounts.lock(), self.addresses.lock())
        else {
            return Err(RESERVED_WAIT);
        };
        let mut account_entry = accounts.get(account).copied();
        if let Some(f) = &mut account_entry {
            f.forget(now);
        }
        let mut address_entry = addresses.get(&address).copied();
        if let Some(f) = &mut address_entry {
            f.restart_window(now);
        }
        // A wait running, else room for one more failure counting the
        // attempts under way: an account past its free failures gets one
        // attempt at a time when its wait is over.
        let refusal = |f: &Failures, free: u32| match f.until {
            Some(until) if until > now => Some(until - now),
            _ if f.count >= free && f.reserved > 0 => Some(RESERVED_WAIT),
            _ if f.count < free && f.count + f.reserved >= free => Some(RESERVED_WAIT),
            _ => None,
        };
        let waits = [
            account_entry.and_then(|f| refusal(&f, FREE_FAILURES)),
            address_entry.and_then(|f| refusal(&f, ADDRESS_FAILURES)),
        ];
        if let Some(wait) = waits.into_iter().flatten().max() {
            return Err(wait);
        }
        bound(&mut accounts, now, &account.to_owned());
        let mut f = account_entry.unwrap_or_else(|| Failures::new(now));
        f.reserved += 1;
        accounts.insert(account.to_owned(), f);
        bound(&mut addresses, now, &address);
        let mut f = address_entry.unwrap_or_else(|| Failures::new(now));
        f.reserved += 1;
        addresses.insert(address, f);
        Ok(Attempt {
            throttle: self,
            account: account.to_owned(),
            address,
            settled: false,
            hashed: false,
        })
    }

    /// Gives back an attempt's reservation.
    fn release(&self, account: &str, address: IpAddr) {
        if let Ok(mut accounts) = self.accounts.lock()
            && let Some(f) = accounts.get_mut(account)
        {
            f.reserved = f.reserved.saturating_sub(1);
        }
        if let Ok(mut addresses) = self.addresses.lock()
            && let Some(f) = addresses.get_mut(&address)
        {
            f.reserved = f.reserved.saturating_sub(1);
        }
    }

    /// Counts a wrong password of a reserved attempt.
    fn failed_at(&self, account: &str, address: IpAddr, now: Instant) {
        self.release(account, address);
        if let Ok(mut accounts) = self.accounts.lock() {
            bound(&mut accounts, now, &account.to_owned());
            let f = accounts
                .entry(account.to_owned())
                .or_insert_with(|| Failures::new(now));
            f.forget(now);
            f.count += 1;
            f.last = now;
            if f.count >= FREE_FAILURES {
                let doublings = (f.count - FREE_FAILURES).min(6);
                let wait = (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT);
                f.until = Some(now + wait);
            }
        }
        if let Ok(mut addresses) = self.addresses.lock() {
            bound(&mut addresses, now, &address);
            let f = addresses
                .entry(address)
                .or_insert_with(|| Failures::new(now));
            f.restart_window(now);
            f.count += 1;
            f.last = now;
            if f.count >= ADDRESS_FAILURES {
                f.until = Some(f.first + ADDRESS_WINDOW);
            }
        }
    }
}

/// Keeps a throttle map under [`THROTTLE_ENTRIES`] before an entry is
/// added: first what is worth nothing goes (no failure left, no wait, no
/// attempt under way), then the entries least worth keeping one by one:
/// not waiting before waiting, then the oldest last failure; a running wait
/// goes only when every entry is one, the one ending soonest first.
/// Nothing goes when `adding` is already there.
fn bound<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Failures>,
    now: Instant,
    adding: &K,
) {
    if map.len() < THROTTLE_ENTRIES || map.contains_key(adding) {
        return;
    }
    map.retain(|_, f| !f.forgettable(now));
    while map.len() >= THROTTLE_ENTRIES {
        let Some(least) = map
            .iter()
            .min_by_key(|(_, f)| (f.waiting(now), f.until.unwrap_or(f.last), f.last))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        map.remove(&least);
    }
}

/// Password checks and hashes (argon2id, 19 MiB and a few hundred
/// milliseconds each): [`HASHING_AT_ONCE`] at once, at most
/// [`HASHING_WAITING`] more waiting; beyond, the answer is "busy". A
/// running hash holds its places itself (owned permits moved into the
/// blocking task), so that dropping the request frees none before the
/// hash ends.
#[derive(Debug)]
pub struct Hashing {
    running: Arc<tokio::sync::Semaphore>,
    admitted: Arc<tokio::sync::Semaphore>,
}

impl Default for Hashing {
    fn default() -> Self {
        Self {
            running: Arc::new(tokio::sync::Semaphore::new(HASHING_AT_ONCE)),
            admitted: Arc::new(tokio::sync::Semaphore::new(
                HASHING_AT_ONCE + HASHING_WAITING,
            )),
        }
    }
}

/// Too many password checks are waiting: try again in a few seconds.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many password checks are waiting; try again in a few seconds")]
pub struct Busy;

impl Hashing {
    /// Runs `work` on the blocking pool when its turn comes, or `Busy` at
    /// once if the queue is full. From the moment it starts, `attempt` (a
    /// sign-in's) counts as failed unless it is settled as a success, and
    /// the places it took stay taken until `work` ends, even if this
    /// future is dropped.
    async fn run<T: Send + 'static>(
        &self,
        attempt: Option<&mut Attempt<'_>>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Busy> {
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            return Err(Busy);
        };
        let Ok(running) = self.running.clone().acquire_owned().await else {
            return Ok(None);
        };
        // No await between here and the spawn: a started hash is always
        // counted.
        if let Some(attempt) = attempt {
            attempt.hashed = true;
        }
        let hashing = tokio::task::spawn_blocking(move || {
            let _places = (admitted, running);
            work()
        });
        Ok(hashing.await.ok())
    }
}

/// Sessions whose `last_seen` is being written: at most one write per
/// session in flight, however many requests it makes at once.
#[derive(Debug, Default, Clone)]
pub struct Touches(Arc<Mutex<std::collections::HashSet<[u8; 32]>>>);

/// A session's touch in flight; its place is given back on drop.
#[derive(Debug)]
pub struct Touching {
    touches: Touches,
    hash: [u8; 32],
}

impl Touches {
    /// The right to touch session `hash`, unless a touch of it is in flight.
    pub fn begin(&self, hash: [u8; 32]) -> Option<Touching> {
        let mut set = self.0.lock().ok()?;
        set.insert(hash).then(|| Touching {
            touches: self.clone(),
            hash,
        })
    }
}

impl Drop for Touching {
    fn drop(&mut self) {
        if let Ok(mut set) = self.touches.0.lock() {
            set.remove(&self.hash);
        }
    }
}

/// What every page knows about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The interface language.
    pub lang: Lang,
    /// Where the request came from.
    pub address: IpAddr,
    /// The signed-in person's session, if any.
    pub session: Option<Session>,
    /// Whether the request carried a session cookie that is no longer
    /// valid (expired, signed out elsewhere, disabled).
    pub stale_cookie: bool,
    /// The anonymous CSRF cookie (double submit), if set.
    pub anon_csrf: Option<String>,
    /// The request's path and query, to come back to after signing in.
    pub path: String,
    /// Whether the `Origin` header, if any, is this site.
    pub same_origin: bool,
    /// What the request said of where it came from, for the log line of a
    /// refusal: `Origin`, the site (`Host` or `:authority`), `Sec-Fetch-Site`.
    pub came_from: String,
}

impl FromRequestParts<WebApp> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &WebApp) -> Result<Self, Self::Rejection> {
        // Read once per request: the door ([`gate`]) may have read it
        // before the body; the page reuses it.
        if let Some(ctx) = parts.extensions.get::<Ctx>() {
            return Ok(ctx.clone());
        }
        let headers = &parts.headers;
        let address = parts
            .extensions
            .get::<Peer>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |p| {
                crate::web::doors::client_address(
                    p.0.ip(),
                    headers,
                    &app.inner.config.trusted_proxies,
                )
            });
        let lang = cookie(headers, LANG_COOKIE)
            .and_then(|c| Lang::parse(&c))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept)
            })
            .unwrap_or(Lang::En);
        let secret = cookie(headers, app.session_cookie());
        let session = match &secret {
            Some(secret) => app.session(secret).await,
            None => None,
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Ctx {
            lang,
            address,
            stale_cookie: secret.is_some() && session.is_none(),
            session,
            anon_csrf: cookie(headers, ANON_CSRF_COOKIE),
            path,
            same_origin: same_origin(
                headers,
                parts
                    .uri
                    .authority()
                    .map(|a| a.as_str().to_owned())
                    .as_deref(),
                app.site(),
            ),
            came_from: {
                let text = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .chars()
                        .take(100)
                        .collect::<String>()
                };
                format!(
                    "origin {} host {} authority {} sec-fetch-site {}",
                    text("origin"),
                    text("host"),
                    parts.uri.authority().map_or("-", |a| a.as_str()),
                    text("sec-fetch-site")
                )
            },
        })
    }
}

impl Ctx {
    /// The session, if its person has at least `role`.
    pub fn role_at_least(&self, role: Role) -> bool {
        self.session.as_ref().is_some_and(|s| s.role.allows(role))
    }

    /// Whether `token` (a form's `csrf` field) is this request's CSRF
    /// token: the session's, or without a session the anonymous cookie's;
    /// and the request does not come from another site.
    pub fn csrf_ok(&self, token: &str) -> bool {
        let expected = match (&self.session, &self.anon_csrf) {
            (Some(session), _) => session.csrf.as_str(),
            (None, Some(anon)) => anon.as_str(),
            (None, None) => return false,
        };
        self.same_origin && !token.is_empty() && constant_time_eq(token, expected)
    }
}

/// The door every request passes before its page: a state-changing
/// request that needs a session is refused without one, or without the
/// role, before its body is read (its [`Ctx`] kept for the page): a
/// stranger makes the node buffer no form but the sign-in, set-up and
/// sign-out ones, which are small.
pub async fn gate(
    axum::extract::State(app): axum::extract::State<WebApp>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(role) = needed_before_body(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &app).await;
    if let Some(refusal) = crate::web::pages::require_role(&app, &ctx, role) {
        return refusal;
    }
    parts.extensions.insert(ctx);
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

/// The role a request needs before its body is read: none to read a page
/// or to sign in, set up or out; an admin's for `/admin/`; any session for
/// every other state-changing request (the page checks its own role too).
fn needed_before_body(method: &axum::http::Method, path: &str) -> Option<Role> {
    use axum::http::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    match path {
        "/login" | "/setup" | "/logout" => None,
        admin if admin == "/admin" || admin.starts_with("/admin/") => Some(Role::Admin),
        _ => Some(Role::Reader),
    }
}

/// The language cookie.
pub const LANG_COOKIE: &str = "focal_lang";
/// The anonymous CSRF cookie (sign-in and set-up forms).
pub const ANON_CSRF_COOKIE: &str = "focal_csrf";

/// `a == b` in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name`, if it is a short visible-ASCII token.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_COOKIE_VALUE
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// Where this site is, for the `Origin` check.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// Whether the listener serves TLS.
    pub tls: bool,
    /// `[web] public_url`.
    pub public_url: Option<&'a str>,
}

/// Whether the request's `Origin` (and `Sec-Fetch-Site`) say it comes from
/// this site. A request without them (an older browser, a script) passes:
/// the CSRF token decides. This site is `public_url`'s origin (scheme, host
/// and port) or the request's own: the listener's scheme and the `Host`
/// header, or over HTTP/2 (which has no `Host`) the request's
/// `:authority`.
fn same_origin(headers: &HeaderMap, authority: Option<&str>, site: Site<'_>) -> bool {
    use crate::web::doors::Origin;
    if let Some(fetch) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && fetch == "cross-site"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
        return false;
    };
    let public = site.public_url.and_then(Origin::parse);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    let own = host.and_then(|host| Origin::of(if site.tls { "https" } else { "http" }, host));
    public.as_ref() == Some(&origin) || own.as_ref() == Some(&origin)
}

impl WebApp {
    /// Where this site is, for the `Origin` check.
    pub fn site(&self) -> Site<'_> {
        Site {
            tls: self.inner.config.tls(),
            public_url: self.inner.config.public_url.as_deref(),
        }
    }

    /// Whether responses carry `Strict-Transport-Security`: the listener
    /// serves TLS, or the site is at an `https://` public URL.
    pub fn hsts(&self) -> bool {
        self.secure_cookies()
    }

    /// The session cookie's name (`__Host-` prefixed when Secure).
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies() {
            "__Host-focal_session"
        } else {
            "focal_session"
        }
    }

    /// Whether cookies are marked Secure: the app is served over TLS, or
    /// behind a proxy at an `https://` public URL.
    pub fn secure_cookies(&self) -> bool {
        let web = &self.inner.config;
        web.tls()
            || web
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// How long sessions last.
    pub fn rules(&self) -> SessionRules {
        SessionRules {
            idle_secs: self.inner.config.idle_minutes as i64 * 60,
            max_age_secs: self.inner.config.session_hours as i64 * 3600,
        }
    }

    /// A `Set-Cookie` value: `name=value` with the app's attributes.
    pub fn set_cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            text.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure_cookies() {
            text.push_str("; Secure");
        }
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The live session of a cookie secret, touched if it was last seen
    /// more than a minute ago.
    async fn session(&self, secret: &str) -> Option<Session> {
        let reader = self.inner.reader.clone();
        let rules = self.rules();
        let secret = secret.to_owned();
        let now = users::now();
        let session = tokio::task::spawn_blocking(move || {
            reader.with(|conn| {
                users::session(conn, &secret, now, rules)
                    .map_err(|e| crate::store::ReadError::Database(e.to_string()))
            })
        })
        .await
        .ok()?
        .ok()??;
        if now - session.last_seen >= TOUCH_EVERY_SECS
            && let Some(touching) = self.inner.touching.begin(session.hash)
        {
            let writer = self.inner.writer.clone();
            let hash = session.hash;
            tokio::spawn(async move {
                let _ = writer.users(users::Change::Touch { hash, at: now }).await;
                drop(touching);
            });
        }
        Some(session)
    }

    /// Checks `password` against `account`'s, on the blocking pool, at
    /// most two at once, or `Busy` if too many checks wait already. An
    /// unknown or disabled account is checked against a dummy hash, so
    /// that timing does not tell which names exist. Once the check has
    /// started, `attempt` counts as failed unless settled as a success.
    pub async fn password_matches(
        &self,
        account: Option<&users::Account>,
        password: &str,
        attempt: &mut Attempt<'_>,
    ) -> Result<bool, Busy> {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let usable = account
            .filter(|a| !a.disabled)
            .and_then(|a| a.password.clone());
        let password = password.to_owned();
        let matched = self
            .inner
            .hashing
            .run(Some(attempt), move || {
                let phc = usable.unwrap_or_else(|| {
                    DUMMY
                        .get_or_init(|| users::hash_password("dummy password").unwrap_or_default())
                        .clone()
                });
                users::verify_password(&password, &phc) && !phc.is_empty()
            })
            .await?;
        Ok(matched.unwrap_or(false))
    }

    /// Hashes a new password on the blocking pool, in the same queue as
    /// [`WebApp::password_matches`] (a full queue is an error: try again).
    pub async fn hash_password(&self, password: &str) -> Result<String, users::UserError> {
        let password = password.to_owned();
        match self
            .inner
            .hashing
            .run(None, move || users::hash_password(&password))
            .await
        {
            Ok(Some(hashed)) => hashed,
            Ok(None) => Err(users::UserError::Hash("the hashing task ended".into())),
            Err(busy) => Err(users::UserError::Hash(busy.to_string())),
        }
    }

    /// The throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One attempt, failed.
    fn fail(throttle: &Throttle, account: &str, address: IpAddr) {
        throttle.check(account, address).unwrap().failed();
    }

    #[test]
    fn the_sixth_wrong_password_in_a_row_waits() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..FREE_FAILURES - 1 {
            fail(&throttle, "ana", here);
        }
        let fifth = throttle.check("ana", here).expect("the fifth try is free");
        fifth.failed();
        let wait = throttle.check("ana", here).unwrap_err();
        assert!(
            wait > Duration::from_secs(55) && wait <= FIRST_WAIT,
            "{wait:?}"
        );
        // Another account from the same address is not held up (yet).
        assert!(throttle.check("ben", here).is_ok());
        // Success clears the account.
        throttle
            .accounts
            .lock()
            .unwrap()
            .get_mut("ana")
            .unwrap()
            .until = None;
        throttle.check("ana", here).unwrap().succeeded();
        assert!(throttle.check("ana", here).is_ok());
    }

    #[test]
    fn attempts_at_once_cannot_exceed_the_free_failures() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 9]);
        let under_way: Vec<Attempt<'_>> = (0..FREE_FAILURES)
            .map(|i| {
                throttle
                    .check("ana", here)
                    .unwrap_or_else(|_| panic!("attempt {i}"))
            })
            .collect();
        assert!(
            throttle.check("ana", here).is_err(),
            "a sixth attempt while five are checked"
        );
        // An attempt given back unsettled (its check did not run) frees its place.
        let mut under_way = under_way.into_iter();
        drop(under_way.next());
        let again = throttle.check("ana", here).expect("the place given back");
        for attempt in under_way.chain([again]) {
            attempt.failed();
        }
        assert!(throttle.check("ana", here).unwrap_err() > Duration::from_secs(55));
        // Past the free failures, one attempt at a time once the wait is over.
        throttle
            .accounts
            .lock()
            .unwrap()
            .get_mut("ana")
            .unwrap()
            .until = None;
        let one = throttle.check("ana", here).unwrap();
        assert_eq!(throttle.check("ana", here).unwrap_err(), RESERVED_WAIT);
        one.failed();
        assert!(throttle.check("ana", here).unwrap_err() > Duration::from_secs(115));
    }

    #[test]
    fn an_accounts_failures_fade_when_it_is_quiet() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 10]);
        let mut now = Instant::now();
        // One wrong password an hour, for two days: never locked.
        for hour in 0..48 {
            let attempt = throttle
                .check_at("ana", here, now)
                .unwrap_or_else(|wait| panic!("hour {hour}: waits {wait:?}"));
            attempt.failed_at(now);
            now += Duration::from_secs(3600) + Duration::from_secs(1);
        }
        // Locked after five at once; a wait and a quiet day later, free.
        for _ in 0..FREE_FAILURES {
            throttle.check_at("ana", here, now).unwrap().failed_at(now);
        }
        assert!(throttle.check_at("ana", here, now).is_err());
        now += FIRST_WAIT + FORGET_ONE_AFTER * FREE_FAILURES;
        let f = {
            let _ = throttle.check_at("ana", here, now).unwrap();
            throttle.accounts.lock().unwrap()["ana"]
        };
        assert_eq!(f.count, 0, "{f:?}");
    }

    #[test]
    fn one_address_failing_on_many_accounts_waits() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 2]);
        for i in 0..ADDRESS_FAILURES {
            fail(&throttle, &format!("user{i}"), here);
        }
        assert!(throttle.check("someone-else", here).is_err());
        assert!(
            throttle
                .check("someone-else", IpAddr::from([192, 0, 2, 3]))
                .is_ok()
        );
        // An IPv6 client is its /64.
        let a: std::net::Ipv6Addr = "2001:db8:0:1::1".parse().unwrap();
        for i in 0..ADDRESS_FAILURES {
            let neighbour = IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) + u128::from(i)));
            fail(&throttle, &format!("v6user{i}"), neighbour);
        }
        assert!(
            throttle
                .check("x", "2001:db8:0:1::ffff".parse().unwrap())
                .is_err()
        );
        assert!(
            throttle
                .check("x", "2001:db8:0:2::1".parse().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn the_throttle_stays_bounded_and_keeps_its_lockouts() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 4]);
        for _ in 0..FREE_FAILURES {
            fail(&throttle, "ana", here);
        }
        for i in 0..(THROTTLE_ENTRIES as u32 + 10) {
            fail(&throttle, &format!("u{i}"), IpAddr::from(i.to_be_bytes()));
        }
        assert!(throttle.accounts.lock().unwrap().len() <= THROTTLE_ENTRIES);
        assert!(throttle.addresses.lock().unwrap().len() <= THROTTLE_ENTRIES);
        assert!(
            throttle
                .check("ana", IpAddr::from([198, 51, 100, 1]))
                .is_err(),
            "a full map evicts others before a running lockout"
        );
    }

    #[tokio::test]
    async fn password_checks_beyond_the_queue_are_busy() {
        let hashing = Arc::new(Hashing::default());
        // Checks that run until told: two run, the others wait their turn.
        let mut go = Vec::new();
        let mut held = Vec::new();
        for _ in 0..HASHING_AT_ONCE + HASHING_WAITING {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            go.push(tx);
            let hashing = hashing.clone();
            held.push(tokio::spawn(async move {
                hashing.run(None, move || rx.recv().is_err()).await
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while hashing.admitted.available_permits() > 0 {
            assert!(Instant::now() < deadline, "the queue never filled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            matches!(hashing.run(None, || ()).await, Err(Busy)),
            "beyond the queue"
        );
        drop(go);
        for check in held {
            assert_eq!(check.await.unwrap().unwrap(), Some(true));
        }
        assert!(
            matches!(hashing.run(None, || ()).await, Ok(Some(()))),
            "free again"
        );
    }

    /// Starts a hash of `attempt` (if any) that runs until `go` says, and
    /// drops its future once the hash runs, as a client going away
    /// mid-check does.
    async fn drop_mid_hash(
        hashing: &Hashing,
        attempt: Option<&mut Attempt<'_>>,
    ) -> std::sync::mpsc::Sender<()> {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let free = hashing.running.available_permits();
        let check = hashing.run(attempt, move || wait.recv().is_ok());
        let started = async {
            let deadline = Instant::now() + Duration::from_secs(10);
            while hashing.running.available_permits() == free {
                assert!(Instant::now() < deadline, "the hash never started");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            _ = check => panic!("the hash cannot end before it is told"),
            () = started => {}
        }
        go
    }

    /// Waits until every place in the queue is free again.
    async fn all_places_free(hashing: &Hashing) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while hashing.running.available_permits() < HASHING_AT_ONCE
            || hashing.admitted.available_permits() < HASHING_AT_ONCE + HASHING_WAITING
        {
            assert!(Instant::now() < deadline, "a place was never given back");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_check_dropped_mid_hash_keeps_its_place_and_counts_as_failed() {
        let throttle = Throttle::default();
        let hashing = Hashing::default();
        let here = IpAddr::from([192, 0, 2, 11]);
        let mut attempt = throttle.check("ana", here).unwrap();
        let go = drop_mid_hash(&hashing, Some(&mut attempt)).await;
        drop(attempt);
        // The hash still runs: its places are still taken.
        assert_eq!(hashing.running.available_permits(), HASHING_AT_ONCE - 1);
        assert_eq!(
            hashing.admitted.available_permits(),
            HASHING_AT_ONCE + HASHING_WAITING - 1
        );
        // And the attempt counted as a failure, not given back.
        let ana = throttle.accounts.lock().unwrap()["ana"];
        assert_eq!((ana.count, ana.reserved), (1, 0), "{ana:?}");
        let address = throttle.addresses.lock().unwrap()[&here];
        assert_eq!((address.count, address.reserved), (1, 0), "{address:?}");
        go.send(()).unwrap();
        all_places_free(&hashing).await;

        // Setting a password (no attempt) holds its places the same way.
        let go = drop_mid_hash(&hashing, None).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(hashing.running.available_permits(), HASHING_AT_ONCE - 1);
        go.send(()).unwrap();
        all_places_free(&hashing).await;
    }

    #[tokio::test]
    async fn a_check_dropped_before_its_hash_is_given_back_uncounted() {
        let throttle = Throttle::default();
        let hashing = Hashing::default();
        let here = IpAddr::from([192, 0, 2, 12]);
        let mut running = Vec::new();
        for _ in 0..HASHING_AT_ONCE {
            running.push(drop_mid_hash(&hashing, None).await);
        }
        let mut attempt = throttle.check("ana", here).unwrap();
        let waiting = tokio::time::timeout(
            Duration::from_millis(100),
            hashing.run(Some(&mut attempt), || ()),
        )
        .await;
        assert!(waiting.is_err(), "no place to run: it waits");
        drop(attempt);
        let ana = throttle.accounts.lock().unwrap()["ana"];
        assert_eq!((ana.count, ana.reserved), (0, 0), "{ana:?}");
        drop(running);
        all_places_free(&hashing).await;
    }

    #[test]
    fn a_session_is_touched_once_at_a_time() {
        let touches = Touches::default();
        let first = touches.begin([1; 32]).expect("the first touch");
        assert!(touches.begin([1; 32]).is_none(), "one in flight");
        assert!(touches.begin([2; 32]).is_some(), "another session");
        drop(first);
        assert!(touches.begin([1; 32]).is_some(), "done: may touch again");
    }

    #[test]
    fn a_form_that_needs_a_session_is_refused_before_its_body() {
        use axum::http::Method;
        assert_eq!(needed_before_body(&Method::GET, "/records/new"), None);
        for open in ["/login", "/setup", "/logout"] {
            assert_eq!(needed_before_body(&Method::POST, open), None);
        }
        assert_eq!(
            needed_before_body(&Method::POST, "/records/new"),
            Some(Role::Reader)
        );
        assert_eq!(
            needed_before_body(&Method::POST, "/admin/members/change"),
            Some(Role::Admin)
        );
        assert_eq!(
            needed_before_body(&Method::PUT, "/anything"),
            Some(Role::Reader)
        );
    }

    #[test]
    fn cookies_are_read_strictly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; focal_session=abc_DEF-0; b=<x>"),
        );
        assert_eq!(
            cookie(&headers, "focal_session").as_deref(),
            Some("abc_DEF-0")
        );
        assert_eq!(cookie(&headers, "b"), None, "not a token");
        assert_eq!(cookie(&headers, "c"), None);
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    const PLAIN: Site<'static> = Site {
        tls: false,
        public_url: None,
    };
    const TLS: Site<'static> = Site {
        tls: true,
        public_url: None,
    };

    #[test]
    fn the_origin_is_this_sites_scheme_host_and_port() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
        let from = |origin: &'static str, headers: &mut HeaderMap, site: Site<'_>| {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            same_origin(headers, None, site)
        };
        assert!(from("http://127.0.0.1:7480", &mut headers, PLAIN));
        assert!(
            !from("https://127.0.0.1:7480", &mut headers, PLAIN),
            "scheme"
        );
        assert!(!from("http://127.0.0.1:7481", &mut headers, PLAIN), "port");
        assert!(
            !from("http://127.0.0.1", &mut headers, PLAIN),
            "default port"
        );
        assert!(!from("null", &mut headers, PLAIN));
        // Behind a proxy: the public URL's origin (the Host is the proxy's).
        headers.insert(header::HOST, HeaderValue::from_static("focal.example"));
        let public = Site {
            tls: false,
            public_url: Some("https://focal.example/"),
        };
        assert!(from("https://focal.example", &mut headers, public));
        assert!(!from("http://focal.example:8080", &mut headers, public));
        assert!(!from("https://evil.example", &mut headers, public));
        assert!(
            !from("https://focal.example", &mut headers, PLAIN),
            "scheme"
        );
    }

    #[test]
    fn another_site_is_not_this_one() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
        assert!(
            same_origin(&headers, None, PLAIN),
            "no Origin: the token decides"
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7480"),
        );
        assert!(same_origin(&headers, None, PLAIN));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers, None, PLAIN));
        // HTTP/2 has no Host: the request's authority stands for it.
        let mut h2 = HeaderMap::new();
        h2.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://focal.example"),
        );
        assert!(same_origin(&h2, Some("focal.example"), TLS));
        assert!(!same_origin(&h2, Some("other.example"), TLS));
        assert!(!same_origin(&h2, None, TLS));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7480"),
        );
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers, None, PLAIN));
    }
}
