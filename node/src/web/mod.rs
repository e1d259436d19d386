//! The web app: what a member's staff use in a browser, served by the node
//! itself on `[web] listen` (default `127.0.0.1:7480`).
//!
//! Local-first: the pages read this node's database and write through its
//! writer, like the gRPC services, so they keep working while the network
//! is cut off. Server-rendered HTML from templates checked at compile time
//! (askama, `node/templates/`), every page readable without JavaScript; a
//! little script (`assets/app.js`) makes pages live through server-sent
//! events fed by the writer's record events.
//!
//! - [`serve`]: the listener. Browsers do not accept the node key's
//!   Ed25519 certificate, so it is never used here: plain HTTP on loopback,
//!   else the PEM certificate and key of `[web]` (checked by the
//!   configuration, loaded before the node starts). Connections are capped
//!   in all and per client, and every stage has a deadline ([`doors`]).
//! - [`doors`]: the client's address (behind a trusted proxy), the host
//!   names served, the deadlines of a connection and of a request's body.
//! - [`auth`]: people, sessions, CSRF tokens, the sign-in throttle.
//! - [`i18n`]: the six UN languages, from Project Fluent message files.
//! - [`pages`]: the pages.
//!
//! Depends on `views`, `engine` (the writer handle) and `store` (reads);
//! runs no SQL of its own.

pub mod admin;
pub mod auth;
pub mod doors;
pub mod download;
pub mod forms;
pub mod i18n;
pub mod pages;
pub mod views;

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch};

use crate::{
    base::config::WebConfig, engine::writer::Writer, member::MemberCode, roster::SharedRoster,
    store::query::Reader, views::Views,
};

/// The file in the data directory where the running node writes the web
/// app's address (for `focal-node user add` and tests).
pub const ADDR_FILE: &str = "focal-node.web-addr";

/// Connections open at once, in all and from one client (an address, an
/// IPv6 /64; a trusted proxy is not capped by it).
const MAX_CONNECTIONS: usize = 512;
const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// Requests in flight on one HTTP/2 connection.
const MAX_STREAMS_PER_CONNECTION: u32 = 16;

/// Why the web app could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The address could not be bound.
    #[error("cannot serve the web app on {addr} (`[web] listen` in {config}): {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The configuration file.
        config: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key could not be used.
    #[error("the web app's TLS files (`[web] tls_cert`, `tls_key` in {config}): {message}")]
    Tls {
        /// The configuration file.
        config: String,
        /// What is wrong.
        message: String,
    },
}

/// What the pages answer from; cheap to clone.
#[derive(Clone)]
pub struct WebApp {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Writer,
    reader: Reader,
    views: Views,
    member: MemberCode,
    roster: SharedRoster,
    config: WebConfig,
    stop: watch::Receiver<bool>,
    throttle: auth::Throttle,
    /// Password hashes computed at once (argon2id takes 19 MiB each), and
    /// waiting.
    hashing: auth::Hashing,
    /// Sessions whose `last_seen` is being written.
    touching: auth::Touches,
    /// The deadlines of connections and requests (and so how often a live
    /// stream must send something).
    deadlines: doors::Deadlines,
    i18n: i18n::I18n,
    /// The sync layer's view of each peer, for the home page.
    peers: Option<crate::net::sync::SharedStatus>,
    /// The network's id, if the node is in one.
    network_id: Option<String>,
    /// This node's key.
    node_key: crate::identity::NodeId,
}

/// The parts of a running node the web app uses.
pub struct WebParts {
    /// The writer.
    pub writer: Writer,
    /// The reader pool.
    pub reader: Reader,
    /// The views.
    pub views: Views,
    /// This node's member.
    pub member: MemberCode,
    /// The roster.
    pub roster: SharedRoster,
    /// `[web]`.
    pub config: WebConfig,
    /// The stop signal.
    pub stop: watch::Receiver<bool>,
    /// The peers' state, if the node is in a network.
    pub peers: Option<crate::net::sync::SharedStatus>,
    /// The network's id, if the node is in one.
    pub network_id: Option<String>,
    /// This node's key.
    pub node_key: crate::identity::NodeId,
}

impl WebApp {
    /// Whether this node holds the network's current anchor key (it is the
    /// secretariat's and may change the roster).
    pub fn holds_anchor(&self) -> bool {
        self.inner.network_id.is_some()
            && self
                .inner
                .roster
                .read()
                .ok()
                .and_then(|r| r.anchor())
                .is_some_and(|anchor| anchor == self.inner.node_key)
    }

    /// The app.
    pub fn new(parts: WebParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                writer: parts.writer,
                reader: parts.reader,
                views: parts.views,
                member: parts.member,
                roster: parts.roster,
                config: parts.config,
                stop: parts.stop,
                throttle: auth::Throttle::default(),
                hashing: auth::Hashing::default(),
                touching: auth::Touches::default(),
                deadlines: doors::Deadlines::from_env(),
                i18n: i18n::I18n::new(),
                peers: parts.peers,
                network_id: parts.network_id,
                node_key: parts.node_key,
            }),
        }
    }
}

/// The listener and, for an address off loopback, the TLS acceptor.
pub struct Bound {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Bound {
    /// The address it listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }
}

/// Loads the TLS files (relative to `root`) and binds `[web] listen`.
pub async fn bind(config: &WebConfig, root: &Path, config_file: &str) -> Result<Bound, WebError> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(&root.join(cert), &root.join(key)).map_err(
            |message| WebError::Tls {
                config: config_file.to_owned(),
                message,
            },
        )?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| WebError::Bind {
            addr: config.listen,
            config: config_file.to_owned(),
            source,
        })?;
    Ok(Bound { listener, tls })
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not a PEM certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a PEM private key from {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(server)))
}

/// Serves the app on `bound` until the stop signal.
pub async fn serve(bound: Bound, app: WebApp) {
    let router = pages::router(app.clone());
    let mut stop = app.inner.stop.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let deadlines = app.inner.deadlines;
    let Some(local) = bound.local_addr() else {
        tracing::error!("web app: the listener has no address");
        return;
    };
    let hosts = Arc::new(doors::Hosts::new(&app.inner.config, local));
    if let Some(warning) = app.inner.config.host_warning() {
        tracing::warn!("web app: {warning}");
    }
    loop {
        let accepted = tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop) => return,
            accepted = bound.listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                static FAILED: crate::base::lograte::LogBudget =
                    crate::base::lograte::LogBudget::per_minute(5);
                if let Some(suppressed) = FAILED.admit() {
                    tracing::warn!(%err, suppressed, "web app: accept failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        // A trusted proxy carries everyone's connections: only the cap on
        // all connections applies to it (the client's address is known only
        // from each request's headers).
        let proxy = app
            .inner
            .config
            .trusted_proxies
            .iter()
            .any(|range| range.contains(peer.ip()));
        let held = if proxy {
            None
        } else {
            match AddressSlot::take(&per_address, doors::client_key(peer.ip())) {
                Some(held) => Some(held),
                None => continue,
            }
        };
        let router = router.clone();
        let hosts = hosts.clone();
        let tls = bound.tls.clone();
        let mut stop = app.inner.stop.clone();
        tokio::spawn(async move {
            let _slot = (slot, held);
            let stream = match tls {
                None => Either::Plain(stream),
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(deadlines.handshake, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    Either::Tls(Box::new(stream))
                }
            };
            // From here (after the handshake), the first request's headers
            // are due within the header deadline: hyper's own timer starts
            // only once bytes come, after it has told HTTP/1 from HTTP/2.
            let quiet = doors::Quiet::new(deadlines);
            let conn = quiet.clone();
            let service = hyper::service::service_fn(move |request| {
                doors::admit(
                    request,
                    router.clone(),
                    hosts.clone(),
                    deadlines,
                    Peer(peer),
                    conn.request(),
                )
            });
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(deadlines.headers)
                .max_buf_size(64 * 1024);
            builder
                .http2()
                .timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(30)))
                .keep_alive_timeout(Duration::from_secs(20))
                .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION);
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::select! {
                _ = builder.serve_connection_with_upgrades(io, service) => {}
                () = quiet.expired() => {}
                () = crate::base::shutdown::stopped(&mut stop) => {}
            }
        });
    }
}

/// A connection's stream: plain (loopback) or TLS.
enum Either {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
}

impl tokio::io::AsyncRead for Either {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Either {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The TCP peer a request came from (a trusted proxy, or the client
/// itself: [`doors::client_address`] tells which).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// One connection's place in the per-address count, given back on drop.
struct AddressSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(map: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<Self> {
        let mut held = map.lock().ok()?;
        let count = held.entry(ip).or_default();
        if *count >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Self {
            map: map.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.map.lock()
            && let Some(count) = held.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}
