//! The metrics endpoint: a small plain-HTTP server (`GET /metrics`) that
//! renders the counters ([`super`]) and the node's gauges (log heads, the
//! write fence, peers, database size), read from the writer and the sync
//! layer when scraped. Not authenticated: bind it to loopback or a
//! monitoring network.

use std::{fmt::Write as _, net::SocketAddr, path::PathBuf, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::base::metrics::escape;
use crate::{engine::writer::Writer, net::sync::SharedStatus};

/// The file in the data directory where the running node writes the
/// address its metrics endpoint got (useful with port 0).
pub const ADDR_FILE: &str = "focal-node.metrics-addr";

/// What a scrape reads besides the counters.
#[derive(Clone)]
pub struct MetricsSources {
    /// This node's member code.
    pub member: String,
    /// This node's key.
    pub node_key: String,
    /// The database file (its `-wal` beside it).
    pub database: PathBuf,
    /// The heads of every log held, and the restore fence.
    pub writer: Writer,
    /// Peer status from the sync layer.
    pub peers: SharedStatus,
}

/// Renders the metrics in the Prometheus text format 0.0.4.
pub fn render(sources: &MetricsSources) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "focal_node_info",
        "gauge",
        "The node: its member, key, version and schema version (always 1).",
    );
    let _ = writeln!(
        out,
        "focal_node_info{{member=\"{}\",node_key=\"{}\",version=\"{}\",schema_version=\"{}\"}} 1",
        escape(&sources.member),
        escape(&sources.node_key),
        env!("CARGO_PKG_VERSION"),
        crate::store::SCHEMA_VERSION
    );
    crate::base::metrics::render_counters(&mut out);
    let heads = sources.writer.version_vector();
    family(
        &mut out,
        "focal_entries_held",
        "gauge",
        "Log entries held, over every log (origin key and audience).",
    );
    let _ = writeln!(
        out,
        "focal_entries_held {}",
        heads.values().map(|h| h.seq).sum::<u64>()
    );
    family(
        &mut out,
        "focal_logs_held",
        "gauge",
        "Logs held (one per origin key and audience).",
    );
    let _ = writeln!(out, "focal_logs_held {}", heads.len());
    family(
        &mut out,
        "focal_write_fenced",
        "gauge",
        "1 while the node signs nothing: restored or rolled back, until it has recovered its own \
         entries; or just started, until a peer confirms its heads.",
    );
    let _ = writeln!(
        out,
        "focal_write_fenced {}",
        u8::from(sources.writer.fence().writes_held())
    );

    let peers: Vec<crate::net::sync::PeerStatus> = sources
        .peers
        .lock()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    family(
        &mut out,
        "focal_peers_connected",
        "gauge",
        "Peers this node is pulling from right now.",
    );
    let _ = writeln!(
        out,
        "focal_peers_connected {}",
        peers.iter().filter(|p| p.connected).count()
    );
    let label = |p: &crate::net::sync::PeerStatus| {
        format!(
            "member=\"{}\",peer_key=\"{}\"",
            escape(&p.member),
            escape(&p.key)
        )
    };
    family(
        &mut out,
        "focal_peer_up",
        "gauge",
        "1 if the peer is connected, else 0.",
    );
    for p in &peers {
        let _ = writeln!(
            out,
            "focal_peer_up{{{}}} {}",
            label(p),
            u8::from(p.connected)
        );
    }
    family(
        &mut out,
        "focal_peer_lag_entries",
        "gauge",
        "Entries the peer holds that this node lacks (at the last check or catch-up).",
    );
    for p in &peers {
        let _ = writeln!(
            out,
            "focal_peer_lag_entries{{{}}} {}",
            label(p),
            p.we_lack.max(p.catching_up)
        );
    }
    family(
        &mut out,
        "focal_peer_behind_entries",
        "gauge",
        "Entries this node holds, that the peer may read, and the peer lacks.",
    );
    for p in &peers {
        let _ = writeln!(
            out,
            "focal_peer_behind_entries{{{}}} {}",
            label(p),
            p.they_lack
        );
    }
    family(
        &mut out,
        "focal_peer_lag_seconds",
        "gauge",
        "Seconds since the peer last confirmed this node had everything it holds \
         (end of a catch-up, a live entry or an anti-entropy round).",
    );
    for p in &peers {
        if let Some(at) = p.last_caught_up {
            let _ = writeln!(
                out,
                "focal_peer_lag_seconds{{{}}} {:.3}",
                label(p),
                at.elapsed().as_secs_f64()
            );
        }
    }
    family(
        &mut out,
        "focal_peer_entries_accepted_total",
        "counter",
        "Entries accepted from the peer since start.",
    );
    for p in &peers {
        let _ = writeln!(
            out,
            "focal_peer_entries_accepted_total{{{}}} {}",
            label(p),
            p.accepted
        );
    }
    family(
        &mut out,
        "focal_peer_entries_rejected_total",
        "counter",
        "Entries refused from the peer since start.",
    );
    for p in &peers {
        let _ = writeln!(
            out,
            "focal_peer_entries_rejected_total{{{}}} {}",
            label(p),
            p.rejected
        );
    }

    family(
        &mut out,
        "focal_database_bytes",
        "gauge",
        "Size of the database files: the main file and its write-ahead log.",
    );
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let wal = {
        let mut name = sources.database.clone().into_os_string();
        name.push("-wal");
        PathBuf::from(name)
    };
    let _ = writeln!(
        out,
        "focal_database_bytes{{file=\"db\"}} {}",
        size(&sources.database)
    );
    let _ = writeln!(out, "focal_database_bytes{{file=\"wal\"}} {}", size(&wal));
    out
}

/// Binds the metrics address (so that a port in use is reported at start).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `GET /metrics` until `stop`.
pub async fn serve(listener: TcpListener, sources: MetricsSources, stop: watch::Receiver<bool>) {
    let mut stop_accept = stop.clone();
    // A few scrapes at a time; more are closed at once (no slow client can
    // hold the node's file descriptors).
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    loop {
        let (stream, _) = tokio::select! {
            () = crate::base::shutdown::stopped(&mut stop_accept) => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(%err, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let sources = sources.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(err) =
                tokio::time::timeout(Duration::from_secs(5), answer(stream, &sources)).await
            {
                tracing::debug!(%err, "metrics: a scrape timed out");
            }
        });
    }
}

/// Answers one HTTP/1.x request, then closes the connection.
async fn answer(mut stream: TcpStream, sources: &MetricsSources) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let sources = sources.clone();
            let body = tokio::task::spawn_blocking(move || render(&sources))
                .await
                .unwrap_or_default();
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
        }
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "focal-node serves metrics at /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET /metrics\n".to_owned(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    if method != "HEAD" {
        let _ = stream.write_all(body.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}
