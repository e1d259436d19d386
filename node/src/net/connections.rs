//! Connections on the gRPC port, from accept to the hand-over to tonic: the
//! caps (open connections in all and per remote address, checked before the
//! TLS handshake), the deadlines (TLS handshake, then the HTTP/2 preface) and
//! the idle timeout of a connection being served.
//!
//! Anyone who can reach the port can open connections, so every step is
//! priced for a stranger: a connection over a cap is closed before any work
//! is done for it, each stage before the HTTP/2 server has a deadline, and
//! the log lines a stranger can cause go through a [`LogBudget`] while the
//! metrics keep the exact counts (`focal_connections_*`).
//!
//! Invariants:
//! - At most `max_connections` connections hold a slot, at most
//!   `max_connections_per_address` of them from one address (an IPv6 /64
//!   counts as one). A connection's file descriptor lives exactly as long as
//!   its [`Slot`].
//! - When the global cap is reached, the oldest connection that has not yet
//!   sent the HTTP/2 preface is closed to make room: a crowd of handshakes
//!   that never finish cannot lock honest clients out, whose handshake and
//!   preface take milliseconds. If every connection is being served, the
//!   address holding the most slots (at least two more than the newcomer's)
//!   gives up its oldest one, so a few addresses cannot keep everyone else
//!   out; otherwise the newcomer is closed.
//! - Nothing is read from a served connection for `idle_timeout`: closed.
//!   The node pings every `keepalive_interval` when it has nothing to read,
//!   so a live connection (a quiet `Pull` or `watch` stream) always has the
//!   answers to read; the configuration enforces idle > interval + timeout.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    io,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Notify,
    time::{Instant, Sleep},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tonic::transport::server::Connected;

use crate::{
    base::config::ServerConfig, base::lograte::LogBudget, base::metrics, identity::NodeId,
};

/// What the node knows about a connection: where it comes from and, for a
/// peer that presented a certificate, which key it holds.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The remote socket address.
    pub remote: Option<SocketAddr>,
    /// The ed25519 key of the client certificate, if one was presented.
    pub peer_key: Option<NodeId>,
}

/// The client connection preface of HTTP/2 (RFC 9113, 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Cap refusals and evictions: the operator should know the caps are hit.
static CAP_LOG: LogBudget = LogBudget::per_minute(10);
/// Handshakes that failed or timed out.
static HANDSHAKE_LOG: LogBudget = LogBudget::per_minute(10);
/// Clients that sent no preface, or something else.
static PREFACE_LOG: LogBudget = LogBudget::per_minute(10);
/// Served connections closed for want of traffic.
static IDLE_LOG: LogBudget = LogBudget::per_minute(10);

/// The connection settings of `[server]`, as durations.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Open connections at once.
    pub max_connections: usize,
    /// Open connections at once from one address.
    pub max_per_address: usize,
    /// Deadline of the TLS handshake, from accept.
    pub handshake_timeout: Duration,
    /// Deadline of the HTTP/2 preface, from the end of the TLS handshake.
    pub preface_timeout: Duration,
    /// A served connection with nothing read for this long is closed.
    pub idle_timeout: Duration,
}

impl From<&ServerConfig> for ConnectionSettings {
    fn from(c: &ServerConfig) -> Self {
        Self {
            max_connections: c.max_connections,
            max_per_address: c.max_connections_per_address,
            handshake_timeout: Duration::from_millis(c.handshake_timeout_ms),
            preface_timeout: Duration::from_millis(c.preface_timeout_ms),
            idle_timeout: Duration::from_millis(c.idle_timeout_ms),
        }
    }
}

/// Why the node refused or closed a connection on its own. The labels are
/// the `reason` of `focal_connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already had `max_connections_per_address` open.
    AddressCap,
    /// `max_connections` were open and none of them was evictable.
    GlobalCap,
    /// Closed before its preface to make room under `max_connections`.
    Evicted,
    /// The TLS handshake did not finish within `handshake_timeout_ms`.
    HandshakeTimeout,
    /// The TLS handshake failed (not TLS 1.3, garbage, closed midway …).
    HandshakeFailed,
    /// The client certificate's key is not active in the roster.
    CertificateRefused,
    /// No HTTP/2 preface within `preface_timeout_ms` of the handshake.
    PrefaceTimeout,
    /// Something other than the HTTP/2 preface.
    BadPreface,
    /// Nothing read for `idle_timeout_ms`.
    IdleTimeout,
}

impl Refusal {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AddressCap => "address_cap",
            Self::GlobalCap => "global_cap",
            Self::Evicted => "evicted",
            Self::HandshakeTimeout => "handshake_timeout",
            Self::HandshakeFailed => "handshake_failed",
            Self::CertificateRefused => "certificate_refused",
            Self::PrefaceTimeout => "preface_timeout",
            Self::BadPreface => "bad_preface",
            Self::IdleTimeout => "idle_timeout",
        }
    }

    /// Counts the refusal and logs it within its call site's budget.
    pub(crate) fn report(self, remote: SocketAddr, detail: Option<&dyn std::fmt::Display>) {
        metrics::connection_refused(self.as_str());
        let reason = self.as_str();
        let detail = detail.map(ToString::to_string).unwrap_or_default();
        match self {
            Self::AddressCap | Self::GlobalCap | Self::Evicted => {
                if let Some(suppressed) = CAP_LOG.admit() {
                    tracing::warn!(
                        %remote,
                        reason,
                        suppressed,
                        "closed a connection: the connection caps are reached (`[server] \
                         max_connections`, `max_connections_per_address`)"
                    );
                }
            }
            Self::HandshakeTimeout | Self::HandshakeFailed => {
                if let Some(suppressed) = HANDSHAKE_LOG.admit() {
                    tracing::debug!(%remote, reason, %detail, suppressed, "TLS handshake failed");
                }
            }
            // The certificate verifier logs these, with the key, in its own
            // budget.
            Self::CertificateRefused => {}
            Self::PrefaceTimeout | Self::BadPreface => {
                if let Some(suppressed) = PREFACE_LOG.admit() {
                    tracing::debug!(%remote, reason, suppressed, "no HTTP/2 preface after TLS");
                }
            }
            Self::IdleTimeout => {
                if let Some(suppressed) = IDLE_LOG.admit() {
                    tracing::debug!(%remote, suppressed, "closed a connection with no traffic");
                }
            }
        }
    }
}

/// The connection caps, shared by the accept loop and every connection's
/// [`Slot`].
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_address: usize,
    state: Mutex<LimitState>,
}

#[derive(Debug, Default)]
struct LimitState {
    next_id: u64,
    /// Every connection holding a slot: its address key, and how to tell it
    /// to go.
    open: HashMap<u64, (IpAddr, Arc<Notify>)>,
    by_address: HashMap<IpAddr, usize>,
    /// Connections before their preface, oldest first (ids only grow).
    pending: BTreeMap<u64, Arc<Notify>>,
}

impl LimitState {
    fn release(&mut self, id: u64) -> bool {
        self.pending.remove(&id);
        let Some((key, _)) = self.open.remove(&id) else {
            return false;
        };
        if let Some(n) = self.by_address.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&key);
            }
        }
        true
    }

    /// A served connection to close for a newcomer from `newcomer`: the
    /// oldest of the address holding the most slots, if it holds at least
    /// two more than the newcomer's (so two addresses never take turns
    /// evicting each other). A crowd of connections from a few addresses
    /// then cannot keep everyone else out.
    fn hog(&self, newcomer: IpAddr) -> Option<u64> {
        let (&heaviest, &held) = self.by_address.iter().max_by_key(|(_, n)| **n)?;
        let own = self.by_address.get(&newcomer).copied().unwrap_or(0);
        if held < own + 2 {
            return None;
        }
        self.open
            .iter()
            .filter(|(_, (key, _))| *key == heaviest)
            .map(|(id, _)| *id)
            .min()
    }

    fn publish(&self) {
        metrics::connections_now(self.open.len(), self.pending.len());
    }
}

impl ConnectionLimits {
    /// Caps of `max_total` connections, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_address,
            state: Mutex::new(LimitState::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LimitState> {
        // The state stays consistent under every lock (no code between
        // lock and unlock can panic halfway through an update).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `remote`, or why there is none. Over the
    /// global cap, the oldest connection still before its preface is told to
    /// close and its slot is given to this one.
    pub fn admit(self: &Arc<Self>, remote: IpAddr) -> Result<Slot, Refusal> {
        let key = address_key(remote);
        let mut state = self.state();
        if state.by_address.get(&key).copied().unwrap_or(0) >= self.max_per_address {
            return Err(Refusal::AddressCap);
        }
        if state.open.len() >= self.max_total {
            let victim = state
                .pending
                .first_key_value()
                .map(|(&oldest, _)| oldest)
                .or_else(|| state.hog(key))
                .ok_or(Refusal::GlobalCap)?;
            if let Some((_, evict)) = state.open.get(&victim) {
                // Its task (or its reads, once served) wakes, closes the
                // socket and reports the eviction.
                evict.notify_one();
            }
            state.release(victim);
        }
        let id = state.next_id;
        state.next_id += 1;
        let evict = Arc::new(Notify::new());
        state.open.insert(id, (key, evict.clone()));
        *state.by_address.entry(key).or_default() += 1;
        state.pending.insert(id, evict.clone());
        state.publish();
        drop(state);
        metrics::connection_accepted();
        Ok(Slot {
            limits: self.clone(),
            id,
            evict,
        })
    }
}

/// One connection's place under the caps; released when dropped (with the
/// connection).
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    id: u64,
    evict: Arc<Notify>,
}

impl Slot {
    /// Completes when the caps need this connection's slot back.
    async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// The connection sent its preface: no longer evictable. False if it
    /// was evicted meanwhile (its slot is gone; close it).
    fn established(&self) -> bool {
        let mut state = self.limits.state();
        let tracked = state.pending.remove(&self.id).is_some();
        state.publish();
        tracked
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.limits.state();
        if state.release(self.id) {
            state.publish();
        }
    }
}

/// The address a per-address cap counts by: IPv4 as is (IPv4-mapped IPv6
/// too), IPv6 by its /64, the smallest block one subscriber usually gets.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Admits, handshakes and checks one accepted TCP connection: the TLS
/// handshake within its deadline, then the 24-byte HTTP/2 preface within
/// its own. Returns the connection ready for tonic, or `None` (already
/// counted and logged) if it was refused, evicted or timed out.
pub async fn establish(
    tcp: TcpStream,
    remote: SocketAddr,
    slot: Slot,
    acceptor: TlsAcceptor,
    settings: &ConnectionSettings,
) -> Option<ServedConnection> {
    let outcome = tokio::select! {
        () = slot.evicted() => Err((Refusal::Evicted, None)),
        outcome = handshake_and_preface(tcp, acceptor, settings) => outcome,
    };
    match outcome {
        Ok(Some(stream)) if slot.established() => {
            let info = PeerInfo {
                remote: Some(remote),
                peer_key: peer_key(&stream),
            };
            Some(ServedConnection {
                inner: stream,
                info,
                replayed: 0,
                idle_timeout: settings.idle_timeout,
                last_read: Instant::now(),
                idle: Box::pin(tokio::time::sleep(settings.idle_timeout)),
                closed: None,
                evicted: {
                    let evict = slot.evict.clone();
                    Box::pin(async move { evict.notified().await })
                },
                _slot: slot,
            })
        }
        Ok(Some(_)) => {
            Refusal::Evicted.report(remote, None);
            None
        }
        // The client closed the connection itself before its preface.
        Ok(None) => None,
        Err((refusal, detail)) => {
            refusal.report(remote, detail.as_ref().map(|d| d as &dyn std::fmt::Display));
            None
        }
    }
}

type Refused = (Refusal, Option<io::Error>);

async fn handshake_and_preface(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    settings: &ConnectionSettings,
) -> Result<Option<TlsStream<TcpStream>>, Refused> {
    // The deadline covers the whole handshake, so a client trickling its
    // bytes one at a time gains nothing.
    let mut stream =
        match tokio::time::timeout(settings.handshake_timeout, acceptor.accept(tcp)).await {
            Err(_) => return Err((Refusal::HandshakeTimeout, None)),
            Ok(Err(err)) => {
                let refusal = match err
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    Some(rustls::Error::InvalidCertificate(_)) => Refusal::CertificateRefused,
                    _ => Refusal::HandshakeFailed,
                };
                return Err((refusal, Some(err)));
            }
            Ok(Ok(stream)) => stream,
        };
    // hyper waits for the preface without a deadline: read it here, and
    // give it back to hyper first (`ServedConnection::poll_read`).
    let mut preface = [0u8; PREFACE.len()];
    match tokio::time::timeout(settings.preface_timeout, stream.read_exact(&mut preface)).await {
        Err(_) => Err((Refusal::PrefaceTimeout, None)),
        Ok(Err(err)) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Ok(Err(err)) => Err((Refusal::BadPreface, Some(err))),
        Ok(Ok(_)) if &preface != PREFACE => Err((Refusal::BadPreface, None)),
        Ok(Ok(_)) => Ok(Some(stream)),
    }
}

/// The key of the client certificate, if the peer presented one.
fn peer_key(stream: &TlsStream<TcpStream>) -> Option<NodeId> {
    let (_, conn) = stream.get_ref();
    let cert = conn.peer_certificates()?.first()?;
    focal_client::transport::certificate_key(cert.as_ref())
        .ok()
        .map(NodeId)
}

/// A connection handed to tonic: TLS done, preface checked (and replayed to
/// hyper), closed after `idle_timeout` with nothing read. Holds its slot.
pub struct ServedConnection {
    inner: TlsStream<TcpStream>,
    info: PeerInfo,
    /// How much of the preface hyper has been given back.
    replayed: usize,
    idle_timeout: Duration,
    last_read: Instant,
    /// Fires at or before `last_read + idle_timeout` (re-armed lazily).
    idle: Pin<Box<Sleep>>,
    /// Set once the node has decided to close it.
    closed: Option<Refusal>,
    /// Completes when the caps take this connection's slot back.
    evicted: Pin<Box<dyn Future<Output = ()> + Send>>,
    _slot: Slot,
}

impl ServedConnection {
    /// Called when the read is pending: the idle deadline, re-armed if
    /// something was read since the timer was set.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.idle.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = self.last_read + self.idle_timeout;
            if Instant::now() < deadline {
                self.idle.as_mut().reset(deadline);
                continue;
            }
            return Poll::Ready(Err(self.close(Refusal::IdleTimeout)));
        }
    }

    /// Closes the connection for `refusal` (reported once): the error
    /// every read returns from now on, which makes hyper drop it.
    fn close(&mut self, refusal: Refusal) -> io::Error {
        let refusal = *self.closed.get_or_insert_with(|| {
            match self.info.remote {
                Some(remote) => refusal.report(remote, None),
                None => metrics::connection_refused(refusal.as_str()),
            }
            refusal
        });
        match refusal {
            Refusal::IdleTimeout => io::Error::new(
                io::ErrorKind::TimedOut,
                "no traffic within the idle timeout",
            ),
            other => io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("closed by the node ({})", other.as_str()),
            ),
        }
    }
}

impl Connected for ServedConnection {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.info.clone()
    }
}

impl AsyncRead for ServedConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replayed < PREFACE.len() {
            let rest = &PREFACE[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        if let Some(refusal) = this.closed {
            return Poll::Ready(Err(this.close(refusal)));
        }
        if this.evicted.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(this.close(Refusal::Evicted)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.last_read = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => this.poll_idle(cx),
        }
    }
}

impl AsyncWrite for ServedConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Warns at start-up if `max_connections` leaves too little room under the
/// process's file-descriptor limit (Linux: `/proc/self/limits`) for the
/// database, the peers the node dials and the metrics endpoint.
pub fn check_fd_limit(max_connections: usize) {
    const RESERVE: usize = 128;
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft
        && max_connections + RESERVE > soft
    {
        tracing::warn!(
            max_connections,
            fd_limit = soft,
            "`[server] max_connections` leaves fewer than {RESERVE} of the process's {soft} file \
             descriptors for the database and peers: lower it, or raise the limit \
             (LimitNOFILE= in the systemd unit, ulimit -n)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| unreachable!("test address"))
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(address_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(address_key(ip("10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn the_per_address_cap_refuses_and_a_released_slot_is_reusable() {
        let limits = ConnectionLimits::new(10, 2);
        let a = limits.admit(ip("10.0.0.1")).ok();
        let b = limits.admit(ip("10.0.0.1")).ok();
        assert!(a.is_some() && b.is_some());
        assert_eq!(
            limits.admit(ip("10.0.0.1")).err(),
            Some(Refusal::AddressCap)
        );
        assert!(limits.admit(ip("10.0.0.2")).is_ok());
        drop(a);
        assert!(limits.admit(ip("10.0.0.1")).is_ok());
    }

    #[tokio::test]
    async fn over_the_global_cap_the_address_holding_most_gives_way() {
        let limits = ConnectionLimits::new(4, 4);
        let crowd: Vec<Slot> = (0..3)
            .map(|_| limits.admit(ip("10.0.0.1")).unwrap())
            .collect();
        let peer = limits.admit(ip("10.0.0.2")).unwrap();
        assert!(crowd.iter().all(Slot::established) && peer.established());
        // Full, nothing pending: a newcomer takes the crowd's oldest slot.
        let newcomer = limits.admit(ip("10.0.0.3")).unwrap();
        tokio::time::timeout(Duration::from_secs(1), crowd[0].evicted())
            .await
            .unwrap();
        assert!(newcomer.established());
        // The crowd now holds 2, the peer and the newcomer 1 each: the
        // peer's second connection (1 + 2 > 2) does not evict anyone.
        assert_eq!(limits.admit(ip("10.0.0.2")).err(), Some(Refusal::GlobalCap));
        // A fresh address (0 + 2 <= 2) still gets in, at the crowd's cost.
        assert!(limits.admit(ip("10.0.0.4")).is_ok());
        tokio::time::timeout(Duration::from_secs(1), crowd[1].evicted())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn over_the_global_cap_the_oldest_pending_connection_is_evicted() {
        let limits = ConnectionLimits::new(2, 2);
        let first = limits.admit(ip("10.0.0.1")).ok();
        let second = limits.admit(ip("10.0.0.2")).ok();
        let (Some(first), Some(second)) = (first, second) else {
            unreachable!("two slots under a cap of two")
        };
        // The second is served (preface seen): only the first is evictable.
        assert!(second.established());
        let third = limits.admit(ip("10.0.0.3"));
        assert!(third.is_ok());
        tokio::time::timeout(Duration::from_secs(1), first.evicted())
            .await
            .unwrap_or_else(|_| unreachable!("the oldest pending slot is told to go"));
        assert!(!first.established(), "an evicted slot stays gone");
        // Nothing pending is left to evict: the next one is refused.
        let third = third.ok();
        assert!(third.as_ref().is_some_and(Slot::established));
        assert_eq!(limits.admit(ip("10.0.0.4")).err(), Some(Refusal::GlobalCap));
        drop(first);
        assert_eq!(
            limits.state().open.len(),
            2,
            "dropping an evicted slot frees nothing twice"
        );
        drop(second);
        assert!(limits.admit(ip("10.0.0.4")).is_ok());
    }
}
