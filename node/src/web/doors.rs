//! What a connection and a request must pass before a page sees them: who
//! the client is (behind a trusted proxy, its `X-Real-IP`), which host
//! names the app answers to, and the deadlines of a connection and of a
//! request's body.
//!
//! Invariants:
//! - A client is counted by its address, an IPv6 client by its /64 (one
//!   subscriber's usual allocation): [`client_key`] is the only key of the
//!   per-address connection cap and of the sign-in throttle.
//! - `X-Real-IP` is believed only from a peer in `[web] trusted_proxies`.
//! - A connection with no request in flight is closed once it has been
//!   quiet for its deadline: [`Deadlines::headers`] before its first
//!   request, [`Deadlines::idle`] after (HTTP/1.1 also has hyper's header
//!   timeout between requests).
//! - A connection is closed once a response being sent on it has had no
//!   frame taken for [`Deadlines::send`]: a client that stops reading
//!   holds its slot no longer. Each response is held to it, so on HTTP/2 a
//!   stream that moves does not keep a stalled one alive (server-sent
//!   events send a comment every 20 s, so a live stream always moves).
//! - A request's body arrives within [`Deadlines::body`] of its headers.

use std::{
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::Instant;

use crate::base::config::{AddressRange, WebConfig};

/// The largest body of a request other than a record form or membership
/// administration (sign-in, set-up: two passwords of at most 1 KiB,
/// percent-encoded, fit).
pub const SMALL_BODY_BYTES: usize = 8 * 1024;

/// Each stage's deadline. Only a test shortens them, through the
/// environment variable [`TEST_DEADLINE_VAR`] (every deadline that many
/// milliseconds), so that a test of a slow client runs in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// The TLS handshake.
    pub handshake: Duration,
    /// A request's headers, and a new connection's first request.
    pub headers: Duration,
    /// A request's body, from its headers.
    pub body: Duration,
    /// A connection without a request in flight, after its first one.
    pub idle: Duration,
    /// A response being sent without a frame taken (the client reads
    /// nothing).
    pub send: Duration,
}

/// The environment variable that shortens every deadline, for tests.
pub const TEST_DEADLINE_VAR: &str = "FOCAL_WEB_TEST_DEADLINE_MS";

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            headers: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            send: Duration::from_secs(60),
        }
    }
}

impl Deadlines {
    /// The deadlines, shortened if [`TEST_DEADLINE_VAR`] says so.
    pub fn from_env() -> Self {
        match std::env::var(TEST_DEADLINE_VAR)
            .ok()
            .and_then(|ms| ms.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
        {
            Some(ms) => {
                let all = Duration::from_millis(ms);
                tracing::warn!(
                    "web app: every deadline is {all:?} ({TEST_DEADLINE_VAR}, for tests only)"
                );
                Self {
                    handshake: all,
                    headers: all,
                    body: all,
                    idle: all,
                    send: all,
                }
            }
            None => Self::default(),
        }
    }
}

/// The key a client is counted under: its address, or for IPv6 its /64
/// (one host may use a whole /64 of addresses). IPv4 written as IPv6
/// (`::ffff:a.b.c.d`) is the IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::from(std::net::Ipv6Addr::from(u128::from(v6) >> 64 << 64)),
        v4 => v4,
    }
}

/// The client's address: the TCP peer's, or when the peer is a trusted
/// proxy, its `X-Real-IP` (one address; the peer's if the header is
/// absent, repeated or not an address).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[AddressRange]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.iter().any(|range| range.contains(peer)) {
        return peer;
    }
    let mut values = headers.get_all("x-real-ip").iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<IpAddr>().ok())
            .map_or(peer, |ip| ip.to_canonical()),
        _ => peer,
    }
}

/// The host names the app answers to, against DNS rebinding: a page of
/// another site whose name was made to point at this machine reaches the
/// app with that name in `Host`, and is refused.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// Lower case; IPv6 in brackets.
    names: Vec<String>,
    /// Whether any name passes: over TLS without a `public_url`, where
    /// the certificate already binds the name (a rebound name fails the
    /// handshake) and the app cannot know which names people use.
    any: bool,
}

impl Hosts {
    /// The names of `config` listening on `bound`: loopback's, the
    /// listener's address, and `public_url`'s host.
    pub fn new(config: &WebConfig, bound: SocketAddr) -> Self {
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "[::1]".to_owned(),
        ];
        if !bound.ip().is_unspecified() {
            names.push(match bound.ip() {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        if let Some(url) = &config.public_url
            && let Some(origin) = Origin::parse(url)
        {
            names.push(origin.host);
        }
        Self {
            names,
            any: config.tls() && config.public_url.is_none(),
        }
    }

    /// Whether a request naming `authority` (`Host` or `:authority`) is
    /// for this app. The port does not matter: a rebound name differs
    /// in its host, and a proxy may drop the port.
    pub fn allows(&self, authority: &str) -> bool {
        match host_of(authority) {
            Some(host) => self.any || self.names.contains(&host),
            None => false,
        }
    }
}

/// The host of `host[:port]` (IPv6 in brackets), lower case, without a
/// final dot; `None` if it is not one.
fn host_of(authority: &str) -> Option<String> {
    if authority.is_empty() || authority.contains(['@', '/', ' ']) {
        return None;
    }
    let host = if authority.starts_with('[') {
        &authority[..=authority.find(']')?]
    } else {
        authority.split(':').next()?
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The authority a request names: HTTP/2's `:authority` (or an
/// absolute URI's), else the `Host` header.
pub fn authority_of<B>(request: &Request<B>) -> Option<String> {
    request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
}

/// A web origin: scheme, host and port (the scheme's default if absent),
/// for comparing a request's `Origin` with this site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `scheme://host[:port]` (anything after the authority ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next()?;
        Self::of(&scheme, authority)
    }

    /// The origin of `authority` (`host[:port]`) under `scheme`.
    pub fn of(scheme: &str, authority: &str) -> Option<Self> {
        let host = host_of(authority)?;
        let after_host = if authority.starts_with('[') {
            &authority[authority.find(']')? + 1..]
        } else {
            authority.find(':').map_or("", |at| &authority[at..])
        };
        let port = match after_host.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after_host.is_empty() => match scheme {
                "https" => 443,
                "http" => 80,
                _ => return None,
            },
            None => return None,
        };
        Some(Self {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }
}

/// One request through the doors to `router`: refused if it is for a host
/// the app does not serve; its body read within [`Deadlines::body`] (else
/// 408, the connection closed); in flight until its response is sent.
pub async fn admit(
    request: Request<hyper::body::Incoming>,
    router: axum::Router,
    hosts: Arc<Hosts>,
    deadlines: Deadlines,
    peer: crate::web::Peer,
    in_flight: InFlight,
) -> Result<Response<axum::body::Body>, std::convert::Infallible> {
    let authority = authority_of(&request);
    if !authority.as_deref().is_some_and(|a| hosts.allows(a)) {
        return Ok(misdirected(authority.as_deref()));
    }
    let http1 = request.version() < hyper::Version::HTTP_2;
    let expired = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let body = DeadlineBody::new(body, deadlines.body, expired.clone());
    let mut request = Request::from_parts(parts, axum::body::Body::new(body));
    request.extensions_mut().insert(peer);
    let Ok(response) = tower::ServiceExt::oneshot(router, request).await;
    if expired.load(Ordering::Relaxed) {
        return Ok(too_slow(deadlines.body, http1));
    }
    Ok(response.map(|body| axum::body::Body::new(Guarded::new(body, in_flight.sending()))))
}

/// The answer to a request for a host the app does not serve.
pub fn misdirected(authority: Option<&str>) -> Response<axum::body::Body> {
    let (status, text) = match authority {
        None => (
            StatusCode::BAD_REQUEST,
            "this request names no host (Host header): the web app answers only requests \
             that say which site they are for\n"
                .to_owned(),
        ),
        Some(name) => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this web app does not serve the host {:?}: open it at its own address \
                 (localhost, its listen address or `[web] public_url`)\n",
                name.chars().take(100).collect::<String>()
            ),
        ),
    };
    plain(status, text)
}

/// The answer to a request whose body did not arrive in time; the
/// connection closes after it.
pub fn too_slow(deadline: Duration, http1: bool) -> Response<axum::body::Body> {
    let mut response = plain(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request's body did not arrive within {} s of its headers\n",
            deadline.as_secs_f32()
        ),
    );
    if http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A request body that fails once its deadline has passed, and says so
/// through `expired` (the connection then answers 408 and closes).
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl<B> DeadlineBody<B> {
    /// `inner`, to be read within `limit` from now.
    pub fn new(inner: B, limit: Duration, expired: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            expired,
        }
    }
}

/// Why a body stopped.
#[derive(Debug, thiserror::Error)]
#[error("the request's body did not arrive in time")]
pub struct BodyTooSlow;

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's requests in flight and how long it has been quiet, for
/// its idle deadline.
#[derive(Debug)]
pub struct Quiet {
    state: Mutex<QuietState>,
    deadlines: Deadlines,
}

#[derive(Debug)]
struct QuietState {
    in_flight: usize,
    /// When the last request ended (or the connection began).
    since: Instant,
    /// Whether a request has come.
    served: bool,
    /// The responses being sent, each with when it began or last had a
    /// frame taken: each must move (on HTTP/2, one stream's frames do not
    /// keep another, stalled, alive).
    sending: Vec<(u64, Instant)>,
    /// The number of the next response sent.
    next_response: u64,
}

impl Quiet {
    /// A connection beginning now.
    pub fn new(deadlines: Deadlines) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(QuietState {
                in_flight: 0,
                since: Instant::now(),
                served: false,
                sending: Vec::new(),
                next_response: 0,
            }),
            deadlines,
        })
    }

    /// A request has come; it is in flight until the guard (kept with
    /// the response's body) drops.
    pub fn request(self: &Arc<Self>) -> InFlight {
        if let Ok(mut state) = self.state.lock() {
            state.in_flight += 1;
            state.served = true;
        }
        InFlight {
            quiet: self.clone(),
            sending: None,
        }
    }

    /// A frame of response `number` was taken: the client reads it.
    fn progressed(&self, number: u64) {
        if let Ok(mut state) = self.state.lock()
            && let Some(response) = state.sending.iter_mut().find(|(n, _)| *n == number)
        {
            response.1 = Instant::now();
        }
    }

    /// When the connection is to be closed if nothing happens: quiet for
    /// its deadline, or a response not moving for [`Deadlines::send`];
    /// `None` while requests are in flight and no response is being sent
    /// (a page is still being made).
    fn closes_at(&self) -> Option<Instant> {
        let state = self.state.lock().ok()?;
        let limit = if state.served {
            self.deadlines.idle
        } else {
            self.deadlines.headers
        };
        if state.in_flight == 0 {
            return Some(state.since + limit);
        }
        // The response that has waited longest for its client.
        let stalled = state.sending.iter().map(|(_, at)| *at).min()?;
        Some(stalled + self.deadlines.send)
    }

    /// Returns once the connection has been quiet for its deadline.
    pub async fn expired(&self) {
        loop {
            match self.closes_at() {
                Some(at) if at <= Instant::now() => return,
                Some(at) => tokio::time::sleep_until(at).await,
                None => tokio::time::sleep(self.deadlines.idle.min(self.deadlines.send)).await,
            }
        }
    }
}

/// One request in flight on a connection (see [`Quiet`]), and whether its
/// response is being sent.
#[derive(Debug)]
pub struct InFlight {
    quiet: Arc<Quiet>,
    /// The response's number, once it is being sent.
    sending: Option<u64>,
}

impl InFlight {
    /// Its response begins to be sent: from now on it must move.
    pub fn sending(mut self) -> Self {
        if let Ok(mut state) = self.quiet.state.lock() {
            let number = state.next_response;
            state.next_response += 1;
            state.sending.push((number, Instant::now()));
            self.sending = Some(number);
        }
        self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut state) = self.quiet.state.lock() {
            state.in_flight = state.in_flight.saturating_sub(1);
            if let Some(number) = self.sending {
                state.sending.retain(|(n, _)| *n != number);
            }
            state.since = Instant::now();
        }
    }
}

/// A response body that keeps its request in flight until it is sent
/// (server-sent events stay open for hours and are not idle), and tells
/// its connection each time a frame is taken (it moves).
pub struct Guarded<B> {
    inner: B,
    in_flight: InFlight,
}

impl<B> Guarded<B> {
    /// `inner`, with its request's guard.
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Self { inner, in_flight }
    }
}

impl<B: Body + Unpin> Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if frame.is_ready()
            && let Some(number) = self.in_flight.sending
        {
            self.in_flight.quiet.progressed(number);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key(a).to_string(), "2001:db8:1:2::");
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
        assert_eq!(client_key("::ffff:192.0.2.7".parse().unwrap()), v4);
    }

    #[test]
    fn x_real_ip_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let trusted = ["127.0.0.1".parse::<AddressRange>().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-real-ip", HeaderValue::from_static("198.51.100.4"));
        let client: IpAddr = "198.51.100.4".parse().unwrap();
        assert_eq!(client_address(proxy, &headers, &trusted), client);
        assert_eq!(client_address(proxy, &headers, &[]), proxy, "not trusted");
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_address(stranger, &headers, &trusted), stranger);
        // Absent, malformed or repeated: the proxy's own.
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        for bad in ["198.51.100.4, 10.0.0.1", "localhost", "", "1.2.3.4:80"] {
            headers.insert("x-real-ip", HeaderValue::from_str(bad).unwrap());
            assert_eq!(client_address(proxy, &headers, &trusted), proxy, "{bad}");
        }
        headers.insert("x-real-ip", HeaderValue::from_static("198.51.100.4"));
        headers.append("x-real-ip", HeaderValue::from_static("198.51.100.5"));
        assert_eq!(client_address(proxy, &headers, &trusted), proxy);
    }

    #[test]
    fn only_this_apps_host_names_are_served() {
        let mut config = WebConfig::default();
        let bound: SocketAddr = "127.0.0.1:7480".parse().unwrap();
        let hosts = Hosts::new(&config, bound);
        for ok in [
            "127.0.0.1:7480",
            "localhost:7480",
            "LOCALHOST",
            "localhost.:7480",
            "[::1]:7480",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:7480",
            "evil.example",
            "127.0.0.1.evil.example",
            "",
            "user@127.0.0.1",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        config.public_url = Some("https://Focal.Ministry.example/".to_owned());
        let hosts = Hosts::new(&config, bound);
        assert!(hosts.allows("focal.ministry.example"));
        assert!(!hosts.allows("evil.example"));
        // Over TLS without a public URL, the certificate decides.
        config.public_url = None;
        config.tls_cert = Some("web.crt".into());
        config.tls_key = Some("web.key".into());
        assert!(Hosts::new(&config, "0.0.0.0:443".parse().unwrap()).allows("focal.example"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let site = Origin::parse("https://focal.example").unwrap();
        assert_eq!(
            Origin::parse("https://FOCAL.example:443/x"),
            Some(site.clone())
        );
        assert_ne!(Origin::parse("http://focal.example"), Some(site.clone()));
        assert_ne!(
            Origin::parse("https://focal.example:8443"),
            Some(site.clone())
        );
        assert_eq!(
            Origin::of("http", "[::1]:7480"),
            Origin::parse("http://[::1]:7480")
        );
        assert_eq!(Origin::parse("null"), None);
        assert_eq!(Origin::parse("https://focal.example:port"), None);
    }

    /// A body that never sends anything.
    struct Silent;

    impl Body for Silent {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    // On tokio's paused clock: it moves only to the next timer, so the
    // deadlines are exact, whatever the machine's load.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_come_fails_at_its_deadline() {
        let expired = Arc::new(AtomicBool::new(false));
        let mut body = DeadlineBody::new(Silent, Duration::from_millis(50), expired.clone());
        let start = Instant::now();
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(matches!(frame, Some(Err(_))));
        assert!(expired.load(Ordering::Relaxed));
        assert_eq!(Instant::now() - start, Duration::from_millis(50));
    }

    // On tokio's paused clock: it moves only to the next timer, so the
    // deadlines are exact, whatever the machine's load.
    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_expires_but_not_while_a_request_is_in_flight() {
        let deadlines = Deadlines {
            handshake: Duration::from_millis(50),
            headers: Duration::from_millis(50),
            body: Duration::from_millis(50),
            idle: Duration::from_millis(100),
            send: Duration::from_secs(3600),
        };
        let quiet = Quiet::new(deadlines);
        let waited = Instant::now();
        quiet.expired().await;
        assert_eq!(Instant::now() - waited, Duration::from_millis(50));
        // A request in flight holds it open past every deadline.
        let quiet = Quiet::new(deadlines);
        let request = quiet.request();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), quiet.expired())
                .await
                .is_err()
        );
        drop(request);
        let ended = Instant::now();
        quiet.expired().await;
        assert_eq!(
            Instant::now() - ended,
            Duration::from_millis(100),
            "the idle deadline"
        );
    }

    /// Deadlines of an hour, but `send`.
    fn send_only(send: Duration) -> Deadlines {
        let hour = Duration::from_secs(3600);
        Deadlines {
            handshake: hour,
            headers: hour,
            body: hour,
            idle: hour,
            send,
        }
    }

    /// A body that always has a frame ready.
    struct Endless;

    impl Body for Endless {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b": \n\n")))))
        }
    }

    // On tokio's paused clock: it moves only to the next timer, so the
    // deadlines are exact, whatever the machine's load.
    #[tokio::test(start_paused = true)]
    async fn a_response_that_does_not_move_closes_its_connection() {
        let deadlines = send_only(Duration::from_millis(100));
        // A page still being made is not held to it.
        let quiet = Quiet::new(deadlines);
        let request = quiet.request();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), quiet.expired())
                .await
                .is_err()
        );
        // Its response, taken frame by frame, keeps it open; not taken, the
        // connection closes at the send deadline.
        let mut body = Guarded::new(Endless, request.sending());
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
            assert!(quiet.closes_at().unwrap() > Instant::now(), "it moves");
        }
        let stalled = Instant::now();
        quiet.expired().await;
        let waited = Instant::now() - stalled;
        assert!(
            waited <= Duration::from_millis(100),
            "closed at the send deadline after the last frame: {waited:?}"
        );
    }

    /// HTTP/2: a stream whose frames are taken does not keep a stalled one
    /// alive; each response being sent must move.
    #[tokio::test(start_paused = true)]
    async fn each_response_must_move_not_just_the_connection() {
        let deadlines = send_only(Duration::from_millis(100));
        let quiet = Quiet::new(deadlines);
        let mut moving = Guarded::new(Endless, quiet.request().sending());
        let stalled = Guarded::new(Endless, quiet.request().sending());
        let began = Instant::now();
        let mut closed = std::pin::pin!(quiet.expired());
        loop {
            tokio::select! {
                () = &mut closed => break,
                () = tokio::time::sleep(Duration::from_millis(10)) => {
                    let _ = std::future::poll_fn(|cx| Pin::new(&mut moving).poll_frame(cx)).await;
                }
            }
        }
        assert_eq!(Instant::now() - began, Duration::from_millis(100));
        // Once the stalled one is gone, the moving one keeps it open.
        drop(stalled);
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = std::future::poll_fn(|cx| Pin::new(&mut moving).poll_frame(cx)).await;
            assert!(quiet.closes_at().unwrap() > Instant::now(), "it moves");
        }
    }
}
