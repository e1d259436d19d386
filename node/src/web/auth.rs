//! Who is asking: each request's context ([`Ctx`]: language, address,
//! session), the session cookie, CSRF checks, and the sign-in throttle.
//!
//! - A session cookie (`focal_session`, `__Host-focal_session` over HTTPS)
//!   holds a random secret; the database keeps its hash (`store::users`).
//!   `HttpOnly`, `SameSite=Strict`, `Secure` when the app is served over
//!   TLS or behind an `https://` public URL.
//! - Every state-changing request carries a CSRF token in its form: the
//!   session's own once signed in, and before that (sign-in, set-up) a
//!   random one also set as a cookie (double submit). A request whose
//!   `Origin` is another site is refused too.
//! - Sign-in attempts are throttled per account (after five wrong
//!   passwords in a row, the next attempts wait, doubling from one minute
//!   up to an hour) and per address (30 failures in 15 minutes), before any
//!   password is hashed. Throttles are kept in memory, bounded.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
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
/// Failures one address may cause in [`ADDRESS_WINDOW`].
const ADDRESS_FAILURES: u32 = 30;
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Accounts and addresses the throttle remembers at once.
const THROTTLE_ENTRIES: usize = 10_000;
/// How often a session's `last_seen` is written.
const TOUCH_EVERY_SECS: i64 = 60;
/// The longest cookie value read.
const MAX_COOKIE_VALUE: usize = 128;

/// Failures of one account or address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    until: Option<Instant>,
}

/// The sign-in throttle.
#[derive(Debug, Default)]
pub struct Throttle {
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

impl Throttle {
    /// `Err(wait)` if `account` or `address` must wait before trying again.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let waits = [
            self.accounts
                .lock()
                .ok()
                .and_then(|m| m.get(account).and_then(|f| f.until)),
            self.addresses
                .lock()
                .ok()
                .and_then(|m| m.get(&address).and_then(|f| f.until)),
        ];
        match waits.into_iter().flatten().filter(|u| *u > now).max() {
            Some(until) => Err(until - now),
            None => Ok(()),
        }
    }

    /// Counts a wrong password for `account` from `address`.
    pub fn failed(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        if let Ok(mut accounts) = self.accounts.lock() {
            bound(&mut accounts, now);
            let f = accounts.entry(account.to_owned()).or_insert(Failures {
                count: 0,
                first: now,
                until: None,
            });
            f.count += 1;
            if f.count >= FREE_FAILURES {
                let doublings = (f.count - FREE_FAILURES).min(6);
                let wait = (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT);
                f.until = Some(now + wait);
            }
        }
        if let Ok(mut addresses) = self.addresses.lock() {
            bound(&mut addresses, now);
            let f = addresses.entry(address).or_insert(Failures {
                count: 0,
                first: now,
                until: None,
            });
            if now.duration_since(f.first) > ADDRESS_WINDOW {
                *f = Failures {
                    count: 0,
                    first: now,
                    until: None,
                };
            }
            f.count += 1;
            if f.count >= ADDRESS_FAILURES {
                f.until = Some(f.first + ADDRESS_WINDOW);
            }
        }
    }

    /// A successful sign-in clears the account's failures.
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut accounts) = self.accounts.lock() {
            accounts.remove(account);
        }
    }
}

/// Keeps a throttle map under [`THROTTLE_ENTRIES`]: first the entries no
/// longer waiting and older than a window go, then, if an attacker filled it
/// with live ones, all (the throttle forgets rather than grow).
fn bound<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Failures>, now: Instant) {
    if map.len() < THROTTLE_ENTRIES {
        return;
    }
    map.retain(|_, f| {
        f.until.is_some_and(|u| u > now) || now.duration_since(f.first) < ADDRESS_WINDOW
    });
    if map.len() >= THROTTLE_ENTRIES {
        map.clear();
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
        let headers = &parts.headers;
        let address = parts
            .extensions
            .get::<Peer>()
            .map(|p| p.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
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

/// Whether the request's `Origin` (and `Sec-Fetch-Site`) say it comes from
/// this site. A request without them (an older browser, a script) passes:
/// the CSRF token decides. The site is the `Host` header, or over HTTP/2
/// (which has no `Host`) the request's `:authority`.
fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site == "cross-site"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

impl WebApp {
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
        if now - session.last_seen >= TOUCH_EVERY_SECS {
            let writer = self.inner.writer.clone();
            let hash = session.hash;
            tokio::spawn(async move {
                let _ = writer.users(users::Change::Touch { hash, at: now }).await;
            });
        }
        Some(session)
    }

    /// Checks `password` against `account`'s, on the blocking pool, at
    /// most two at once. An unknown or disabled account is checked against
    /// a dummy hash, so that timing does not tell which names exist.
    pub async fn password_matches(&self, account: Option<&users::Account>, password: &str) -> bool {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let Ok(_permit) = self.inner.hashing.acquire().await else {
            return false;
        };
        let usable = account
            .filter(|a| !a.disabled)
            .and_then(|a| a.password.clone());
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let phc = usable.unwrap_or_else(|| {
                DUMMY
                    .get_or_init(|| users::hash_password("dummy password").unwrap_or_default())
                    .clone()
            });
            users::verify_password(&password, &phc) && !phc.is_empty()
        })
        .await
        .unwrap_or(false)
    }

    /// Hashes a new password on the blocking pool.
    pub async fn hash_password(&self, password: &str) -> Result<String, users::UserError> {
        let _permit = self.inner.hashing.acquire().await;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || users::hash_password(&password))
            .await
            .map_err(|e| users::UserError::Hash(e.to_string()))?
    }

    /// The throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_wrong_password_in_a_row_waits() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..FREE_FAILURES - 1 {
            assert!(throttle.check("ana", here).is_ok());
            throttle.failed("ana", here);
        }
        assert!(throttle.check("ana", here).is_ok(), "the fifth try is free");
        throttle.failed("ana", here);
        let wait = throttle.check("ana", here).unwrap_err();
        assert!(
            wait > Duration::from_secs(55) && wait <= FIRST_WAIT,
            "{wait:?}"
        );
        // Another account from the same address is not held up (yet).
        assert!(throttle.check("ben", here).is_ok());
        // Success clears the account.
        throttle.succeeded("ana");
        assert!(throttle.check("ana", here).is_ok());
    }

    #[test]
    fn one_address_failing_on_many_accounts_waits() {
        let throttle = Throttle::default();
        let here = IpAddr::from([192, 0, 2, 2]);
        for i in 0..ADDRESS_FAILURES {
            assert!(throttle.check(&format!("user{i}"), here).is_ok());
            throttle.failed(&format!("user{i}"), here);
        }
        assert!(throttle.check("someone-else", here).is_err());
        assert!(
            throttle
                .check("someone-else", IpAddr::from([192, 0, 2, 3]))
                .is_ok()
        );
    }

    #[test]
    fn the_throttle_stays_bounded() {
        let throttle = Throttle::default();
        for i in 0..(THROTTLE_ENTRIES as u32 + 10) {
            throttle.failed(&format!("u{i}"), IpAddr::from(i.to_be_bytes()));
        }
        assert!(throttle.accounts.lock().unwrap().len() <= THROTTLE_ENTRIES);
        assert!(throttle.addresses.lock().unwrap().len() <= THROTTLE_ENTRIES);
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

    #[test]
    fn another_site_is_not_this_one() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
        assert!(same_origin(&headers, None), "no Origin: the token decides");
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7480"),
        );
        assert!(same_origin(&headers, None));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers, None));
        // HTTP/2 has no Host: the request's authority stands for it.
        let mut h2 = HeaderMap::new();
        h2.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://focal.example"),
        );
        assert!(same_origin(&h2, Some("focal.example")));
        assert!(!same_origin(&h2, Some("other.example")));
        assert!(!same_origin(&h2, None));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7480"),
        );
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers, None));
    }
}
