//! The running node: the TLS listener, the gRPC services, and clean shutdown.
//!
//! Connections are accepted here rather than by tonic so that the TLS layer is
//! ours: the certificate is the node key's (or, for a client that cannot
//! verify ed25519, the P-256 one bound to it: `tls.rs`), the caps are checked before the
//! handshake, the handshake and the HTTP/2 preface have deadlines
//! (`connections.rs`), and a peer that speaks garbage costs one task, not the
//! accept loop.
//!
//! Shutdown order: stop accepting, report NOT_SERVING, let in-flight requests
//! finish (up to `server.shutdown_grace_ms`), then checkpoint and close the
//! database, remove the address file and release the directory lock.

use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use focal_proto::v1::{
    GetInfoRequest, NodeInfo,
    node_service_server::{NodeService, NodeServiceServer},
};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

pub mod metrics;
pub mod status;

use crate::{
    base::lograte::LogBudget,
    base::shutdown::stopped,
    engine::writer::{NetworkContext, Writer},
    identity::NodeId,
    net::connections::{self, ConnectionLimits, ConnectionSettings, ServedConnection},
    net::peer::{PeerApi, PeerApiConfig},
    net::sync::{self, SharedStatus, SyncConfig},
    net::tls::{self, TlsError},
    roster::{KeyStatus, SharedRoster},
    service::api::{NetworkFacts, RecordApi},
    store::StoreError,
    store::datadir::{DataDirError, OpenDataDir},
    store::query::Reader,
};

/// Why the node could not serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Another process already listens on the configured address.
    #[error(
        "cannot listen on {addr}: the address is already in use (is another focal-node \
         running?); stop that process or set `listen` in {config}"
    )]
    AddrInUse {
        /// The configured address.
        addr: SocketAddr,
        /// The configuration file to edit.
        config: String,
    },
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr} (`[metrics] listen` in {config}): {source}")]
    MetricsBind {
        /// The configured address.
        addr: SocketAddr,
        /// The configuration file to edit.
        config: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The web app could not start.
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// gRPC reflection could not be set up.
    #[error("cannot set up gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The data directory could not be updated.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The database could not be closed cleanly.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer could not start or stop.
    #[error(transparent)]
    Writer(#[from] crate::engine::writer::WriteError),
}

/// `focal.v1.NodeService`: public facts about this node.
struct NodeApi {
    info: NodeInfo,
}

#[tonic::async_trait]
impl NodeService for NodeApi {
    async fn get_info(&self, _req: Request<GetInfoRequest>) -> Result<Response<NodeInfo>, Status> {
        Ok(Response::new(self.info.clone()))
    }
}

/// Binds the configured address. Separate from [`serve`] so that a port that
/// is in use is reported before anything else starts.
pub async fn bind(node: &OpenDataDir) -> Result<TcpListener, ServeError> {
    let addr = node.config.listen;
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == io::ErrorKind::AddrInUse {
            ServeError::AddrInUse {
                addr,
                config: node.dir.config_path().display().to_string(),
            }
        } else {
            ServeError::Bind { addr, source }
        }
    })
}

/// Serves until `shutdown` completes, then stops cleanly.
pub async fn serve(
    node: OpenDataDir,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let OpenDataDir {
        dir,
        config,
        key,
        member,
        store,
        lock,
    } = node;
    let local = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    // The genesis key; the current anchor follows its hand-overs (roster).
    let net = NetworkContext::new(
        config
            .network
            .secretariat_key
            .as_deref()
            .and_then(NodeId::from_hex),
        config.network.id.clone(),
    )
    .with_limits(config.limits.clone())
    .with_cache_bytes(config.storage.cache_bytes)
    .with_start_check(Duration::from_millis(config.network.start_check_ms));
    let roster: SharedRoster = net.roster.clone();
    let (client_cert, provenance) = tls::ClientCertificate::load_or_issue(dir.root(), &key)?;
    match (&provenance, provenance.notice()) {
        (tls::Provenance::Created, Some(notice)) => tracing::info!("{notice}"),
        (_, Some(notice)) => tracing::warn!("{notice}"),
        (_, None) => {}
    }
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config_for(
        &key,
        &client_cert,
        roster.clone(),
    )?));

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<NodeServiceServer<NodeApi>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(focal_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(focal_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let api = NodeApi {
        info: NodeInfo {
            member: member.to_string(),
            node_key: key.id().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: store.schema_version()?,
        },
    };
    let max_message = config.server.max_message_bytes;

    // One signal, observed by the accept loop, the server, watch streams and
    // the grace timer.
    let (stop_tx, stop_rx) = watch::channel(false);
    let reader = Reader::new(dir.database_path(), config.storage.busy_timeout_ms);
    crate::base::fault::load(dir.root());
    let (writer, writer_thread) =
        Writer::spawn(store, key.signing_key().clone(), member.clone(), net)?;
    let network_id = config.network.id.clone();
    let advertise = config
        .network
        .advertise
        .clone()
        .unwrap_or_else(|| local.to_string());
    let record_api = RecordApi::new(
        writer.clone(),
        reader.clone(),
        member.clone(),
        stop_rx.clone(),
        NetworkFacts {
            network_id: network_id.clone(),
            secretariat_key: config.network.secretariat_key.clone(),
            endpoints: vec![advertise],
            roster: roster.clone(),
            status_file: dir.root().join("status.json"),
            node_key: key.id().to_string(),
        },
    );
    let admin = record_api.clone().admin_service();
    let views = crate::service::views::ViewApi::new(
        record_api.clone(),
        crate::views::Views::new(reader.clone(), roster.clone(), member.clone(), key.id())
            .cached(writer.generation()),
    )
    .service(max_message);
    let records = record_api.service(max_message);
    let peers = PeerApi::service(PeerApiConfig {
        reader: reader.clone(),
        writer: writer.clone(),
        roster: roster.clone(),
        network_id: network_id.clone(),
        batch: config.network.batch_entries,
        stop: stop_rx.clone(),
        max_streams_per_peer: config.network.max_streams_per_peer,
    });
    let status: SharedStatus = Default::default();
    let key = Arc::new(key);
    // The secretariat keeps its own roster entry current: an operator who
    // changes `listen` or `advertise` needs no other step.
    // A node whose key the roster does not know (yet), or knows as retired,
    // says so: its peers refuse it until the roster says otherwise.
    if network_id.is_some()
        && let Ok(r) = roster.read()
        && !r.members.is_empty()
    {
        match r.key_status(&key.id()) {
            Some(KeyStatus::Active) => {}
            Some(status) => tracing::error!(
                node_key = %key.id(),
                %status,
                "this node's key is {status} in the roster: peers refuse it and nothing it signs \
                 counts"
            ),
            None if r.anchor() == Some(key.id()) => {}
            None => tracing::warn!(
                node_key = %key.id(),
                "this node's key is not in the roster (yet): peers refuse it until the \
                 secretariat adds it; after `focal-node key rotate`, `focal-node key handover` \
                 prints the hand-over the secretariat confirms"
            ),
        }
    }
    let is_anchor = roster.read().ok().and_then(|r| r.anchor()) == Some(key.id());
    // The secretariat's own endpoint, changed once sync runs: the change
    // is signed, so it waits for the start check (see `recovery`).
    let mut own_endpoint = None;
    if is_anchor && writer.fence().is_fenced() {
        tracing::warn!(
            "restored from a backup: the secretariat's endpoint in the roster is not checked \
             until this node has recovered its own entries (restart it after that)"
        );
    } else if is_anchor {
        let own = roster
            .read()
            .ok()
            .and_then(|r| r.members.get(member.as_str()).map(|m| m.endpoints.clone()))
            .unwrap_or_default();
        let endpoint = config
            .network
            .advertise
            .clone()
            .unwrap_or_else(|| local.to_string());
        if own != [endpoint.clone()] {
            own_endpoint = Some(endpoint);
        }
    }
    let sync = network_id.clone().map(|network_id| {
        sync::spawn(SyncConfig {
            key: key.clone(),
            network_id,
            writer: writer.clone(),
            reader: reader.clone(),
            roster: roster.clone(),
            bootstrap: config.network.peers.clone(),
            mesh: config.network.mesh,
            anti_entropy: Duration::from_millis(config.network.anti_entropy_ms),
            backoff: Duration::from_millis(config.network.backoff_ms),
            max_batch: 1024,
            max_entries_per_second: config.network.max_entries_per_second,
            max_refusals_per_session: config.network.max_refusals_per_session,
            stop: stop_rx.clone(),
            status: status.clone(),
            learned_anchor: Default::default(),
        })
    });
    if let Some(endpoint) = own_endpoint {
        let writer = writer.clone();
        let patch = crate::roster::add_member_patch(&member, &key.id(), &endpoint);
        tokio::spawn(async move {
            match writer.change_roster(patch).await {
                Ok(()) => {
                    tracing::info!(%endpoint, "updated the secretariat's endpoint in the roster");
                }
                Err(err) => tracing::error!(
                    %endpoint,
                    %err,
                    "cannot update the secretariat's endpoint in the roster; restart the node to \
                     try again"
                ),
            }
        });
    }
    let metrics_file = dir.root().join(crate::server::metrics::ADDR_FILE);
    let _ = std::fs::remove_file(&metrics_file);
    let metrics = match config.metrics.listen {
        None => None,
        Some(addr) => {
            let listener = crate::server::metrics::bind(addr).await.map_err(|source| {
                ServeError::MetricsBind {
                    addr,
                    config: dir.config_path().display().to_string(),
                    source,
                }
            })?;
            let bound = listener.local_addr().unwrap_or(addr);
            let tmp = dir
                .root()
                .join(format!("{}.tmp", crate::server::metrics::ADDR_FILE));
            if std::fs::write(&tmp, format!("{bound}\n")).is_ok() {
                let _ = std::fs::rename(&tmp, &metrics_file);
            }
            tracing::info!(addr = %bound, "serving Prometheus metrics at /metrics");
            Some(tokio::spawn(crate::server::metrics::serve(
                listener,
                crate::server::metrics::MetricsSources {
                    member: member.to_string(),
                    node_key: key.id().to_string(),
                    database: dir.database_path(),
                    writer: writer.clone(),
                    peers: status.clone(),
                },
                stop_rx.clone(),
            )))
        }
    };
    let web_file = dir.root().join(crate::web::ADDR_FILE);
    let _ = std::fs::remove_file(&web_file);
    let web = if config.web.enabled {
        let bound = crate::web::bind(
            &config.web,
            dir.root(),
            &dir.config_path().display().to_string(),
        )
        .await?;
        let addr = bound.local_addr().unwrap_or(config.web.listen);
        let tmp = dir.root().join(format!("{}.tmp", crate::web::ADDR_FILE));
        if std::fs::write(&tmp, format!("{addr}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, &web_file);
        }
        tracing::info!(url = %config.web.base_url(addr), "serving the web app");
        let app = crate::web::WebApp::new(crate::web::WebParts {
            writer: writer.clone(),
            reader: reader.clone(),
            views: crate::views::Views::new(
                reader.clone(),
                roster.clone(),
                member.clone(),
                key.id(),
            )
            .cached(writer.generation()),
            member: member.clone(),
            roster: roster.clone(),
            config: config.web.clone(),
            stop: stop_rx.clone(),
            peers: sync.as_ref().map(|_| status.clone()),
            network_id: network_id.clone(),
            node_key: key.id(),
        });
        Some(tokio::spawn(crate::web::serve(bound, app)))
    } else {
        None
    };
    let status_file = tokio::spawn(write_status(
        StatusSources {
            reader: reader.clone(),
            dir: dir.clone(),
            member: member.clone(),
            node_key: key.id(),
            network_id,
            writer: writer.clone(),
            peers: status,
        },
        stop_rx.clone(),
    ));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let (conn_tx, conn_rx) = mpsc::channel::<Result<ServedConnection, io::Error>>(64);
    connections::check_fd_limit(config.server.max_connections);
    let accept_loop = tokio::spawn(accept_loop(
        listener,
        acceptor,
        ConnectionSettings::from(&config.server),
        conn_tx,
        stop_rx.clone(),
    ));

    dir.write_addr(local)?;
    tracing::info!(
        %member,
        node_key = %key.id(),
        addr = %local,
        data = %dir.root().display(),
        "focal-node listening"
    );

    let server_stop = {
        let mut stop = stop_rx.clone();
        let health = health.clone();
        async move {
            stopped(&mut stop).await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            health.set_not_serving::<NodeServiceServer<NodeApi>>().await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        }
    };
    // `tcp_keepalive` is left unset: tonic ignores it for connections it
    // did not accept, and every stage here has its own deadline (handshake,
    // preface, keepalive pings, idle timeout). The concurrency limit bounds
    // handlers in progress on one connection, the stream limit (HTTP/2
    // SETTINGS, enforced by h2 with REFUSED_STREAM) open streams.
    let max_streams = config.server.max_streams_per_connection;
    let server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_millis(
            config.server.keepalive_interval_ms,
        )))
        .http2_keepalive_timeout(Some(Duration::from_millis(
            config.server.keepalive_timeout_ms,
        )))
        .max_concurrent_streams(Some(max_streams))
        .concurrency_limit_per_connection(max_streams as usize)
        .layer(crate::base::metrics::GrpcMetricsLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(records)
        .add_service(admin)
        .add_service(views)
        .add_service(peers)
        .add_service(
            NodeServiceServer::new(api)
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message),
        )
        .serve_with_incoming_shutdown(ReceiverStream::new(conn_rx), server_stop);
    let mut server = Box::pin(server);

    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    let mut stop = stop_rx.clone();
    let result = tokio::select! {
        result = &mut server => result,
        () = stopped(&mut stop) => {
            match tokio::time::timeout(grace, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        grace_ms = grace.as_millis() as u64,
                        "in-flight requests did not finish within the grace period; stopping anyway"
                    );
                    Ok(())
                }
            }
        }
    };
    drop(server);
    accept_loop.abort();
    let _ = accept_loop.await;

    if let Some(sync) = sync {
        let _ = sync.await;
    }
    let _ = status_file.await;
    if let Some(web) = web {
        let _ = web.await;
        let _ = std::fs::remove_file(&web_file);
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
        let _ = std::fs::remove_file(&metrics_file);
    }
    // The writer finishes the writes already queued, then hands the store
    // back to be closed.
    writer.shutdown().await;
    drop(writer);
    let store = tokio::task::spawn_blocking(move || writer_thread.join())
        .await
        .ok()
        .and_then(Result::ok);
    dir.clear_addr();
    match store {
        Some(store) => store.close()?,
        None => tracing::error!("the writer thread panicked; the database was not checkpointed"),
    }
    drop(lock);
    result?;
    tracing::info!("focal-node stopped cleanly");
    Ok(())
}

/// Accepts TCP connections and hands each, once past the caps, the TLS
/// handshake and the HTTP/2 preface (`connections.rs`), to tonic.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    settings: ConnectionSettings,
    connections: mpsc::Sender<Result<ServedConnection, io::Error>>,
    mut stop: watch::Receiver<bool>,
) {
    // Out of file descriptors and the like: a stranger can cause it.
    static ACCEPT_FAILED: LogBudget = LogBudget::per_minute(6);
    let limits = ConnectionLimits::new(settings.max_connections, settings.max_per_address);
    let settings = Arc::new(settings);
    loop {
        let (tcp, remote) = tokio::select! {
            () = stopped(&mut stop) => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    if let Some(suppressed) = ACCEPT_FAILED.admit() {
                        tracing::warn!(%err, suppressed, "accept failed");
                    }
                    // Back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Checked before any work for the connection: over a cap, the
        // socket is closed here.
        let slot = match limits.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                drop(tcp);
                refusal.report(remote, None);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let connections = connections.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            if let Some(served) =
                connections::establish(tcp, remote, slot, acceptor, &settings).await
            {
                let _ = connections.send(Ok(served)).await;
            }
        });
    }
}

/// What the status file is made of.
struct StatusSources {
    reader: Reader,
    dir: crate::store::datadir::DataDir,
    member: crate::member::MemberCode,
    node_key: NodeId,
    network_id: Option<String>,
    writer: Writer,
    peers: SharedStatus,
}

/// Writes `DATA/status.json` every second while the node runs: member, key,
/// network, the heads of every log held, and every peer's status. It is what
/// `focal-node status` prints.
async fn write_status(sources: StatusSources, mut stop: watch::Receiver<bool>) {
    let StatusSources {
        reader,
        dir,
        member,
        node_key,
        network_id,
        writer,
        peers,
    } = sources;
    loop {
        let logs: Vec<status::LogStatus> = {
            let mut heads: Vec<_> = writer.version_vector().into_iter().collect();
            heads.sort_by_key(|(key, _)| (key.0, key.1));
            heads
                .into_iter()
                .map(|(key, head)| status::LogStatus {
                    origin: key.0.to_string(),
                    audience: key.1.as_str().to_owned(),
                    seq: head.seq,
                })
                .collect()
        };
        let peers: Vec<crate::net::sync::PeerStatus> = peers
            .lock()
            .map(|map| {
                let mut all: Vec<_> = map.values().cloned().collect();
                all.sort_by(|a, b| a.member.cmp(&b.member).then(a.key.cmp(&b.key)));
                all
            })
            .unwrap_or_default();
        let read = {
            let reader = reader.clone();
            tokio::task::spawn_blocking(move || {
                (
                    reader.recent_rejections(20).unwrap_or_default(),
                    reader.refusal_counts().unwrap_or_default(),
                    reader.quarantined().unwrap_or_default(),
                    reader.forks().unwrap_or_default(),
                    reader.dropped(100).unwrap_or_default(),
                )
            })
            .await
        };
        let (rejections, refusal_counts, quarantined, forks, (dropped_total, dropped)) =
            read.unwrap_or_default();
        let forks = forks
            .into_iter()
            .map(|(f, _, _)| status::ForkStatus {
                origin: f.origin.to_string(),
                audience: f.audience.as_str().to_owned(),
                seq: f.seq,
                stands_up_to: f.seq - 1,
                own: f.origin == node_key,
            })
            .collect();
        let report = status::StatusReport {
            member: member.to_string(),
            node_key: node_key.to_string(),
            network: network_id.clone(),
            updated: crate::clock::now_rfc3339(),
            writes_fenced: writer.fence().is_fenced(),
            fence_reason: writer.fence().reason(),
            start_check_pending: writer.fence().start_pending(),
            logs,
            peers,
            quarantined,
            forks,
            rejections,
            refusal_counts,
            dropped_total,
            dropped,
        };
        if let Err(err) = report.write(dir.root()) {
            tracing::debug!(%err, "cannot write status.json");
        }
        tokio::select! {
            () = stopped(&mut stop) => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
