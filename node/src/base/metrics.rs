//! Prometheus metrics: counters kept by the writer, ingest, sync and the
//! gRPC server (here, at the bottom: they import nothing of the node), and
//! a small plain-HTTP endpoint (`GET /metrics`, text format 0.0.4) on its
//! own port, off unless `[metrics] listen` is set (`server::metrics`, at the
//! top: it reads the writer's and the sync layer's state when scraped).
//!
//! The counters are process-wide (one node per process): the writer and
//! ingest bump them with one call each, without a handle threaded through.
//! Gauges (peers, lag, database size, heads) are read when scraped.
//! The endpoint is not authenticated: bind it to loopback or a monitoring
//! network.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    future::Future,
    pin::Pin,
    sync::{
        LazyLock, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tonic::codegen::http;

/// Upper bounds (seconds) of the gRPC latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

/// Distinct gRPC methods tracked; more (only a client probing for methods
/// that do not exist could make them) are counted as `other`.
const MAX_METHODS: usize = 64;

/// Every reason an entry can be refused for, so that each series exists
/// (at 0) from the start.
const REJECTION_REASONS: [&str; 15] = [
    "invalid_entry",
    "quarantined",
    "equivocation",
    "gap",
    "broken_chain",
    "beyond_cutoff",
    "forked_at_cutoff",
    "unknown_key",
    "not_authorized",
    "audience_mismatch",
    "bad_envelope",
    "apply",
    "panicked",
    "storage",
    "other",
];

/// The `reason` labels of `focal_peer_cutoffs_total`.
const CUTOFF_REASONS: [&str; 5] = [
    "garbage",
    "invalid_entry",
    "too_many_refusals",
    "rate",
    "oversized",
];

/// Every reason the node refuses or closes a connection on its own (see
/// `server.rs`), so that each series exists (at 0) from the start.
pub const CONNECTION_REFUSALS: [&str; 9] = [
    "address_cap",
    "global_cap",
    "evicted",
    "handshake_timeout",
    "handshake_failed",
    "certificate_refused",
    "preface_timeout",
    "bad_preface",
    "idle_timeout",
];

#[derive(Default)]
struct Latency {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Counters {
    stored_own: AtomicU64,
    stored_received: AtomicU64,
    forks_proven: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    cutoffs: Mutex<BTreeMap<&'static str, u64>>,
    /// (method, gRPC code) → requests.
    requests: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Latency>>,
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    connections_pending: AtomicU64,
    connections_refused: [AtomicU64; CONNECTION_REFUSALS.len()],
    cache_documents: AtomicU64,
    cache_bytes: AtomicU64,
    wal_bytes: AtomicU64,
    checkpoints: Mutex<BTreeMap<&'static str, u64>>,
}

static COUNTERS: LazyLock<Counters> = LazyLock::new(Counters::default);

/// Counts an entry stored: signed by this node (`own`) or received.
pub fn entry_stored(own: bool) {
    let counter = if own {
        &COUNTERS.stored_own
    } else {
        &COUNTERS.stored_received
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Counts a fork proven here (a proof made or received, new to this node).
pub fn fork_proven() {
    COUNTERS.forks_proven.fetch_add(1, Ordering::Relaxed);
}

/// Counts an entry refused by ingest, by reason (`IngestError::reason`).
pub fn entry_rejected(reason: &'static str) {
    if let Ok(mut map) = COUNTERS.rejected.lock() {
        *map.entry(reason).or_default() += 1;
    }
}

/// Counts a peer session the sync layer ended because of what the peer
/// sent (`reason`: one of `CUTOFF_REASONS`).
pub fn peer_cut_off(reason: &'static str) {
    if let Ok(mut map) = COUNTERS.cutoffs.lock() {
        *map.entry(reason).or_default() += 1;
    }
}

/// Counts a connection admitted at accept (under the caps).
pub fn connection_accepted() {
    COUNTERS
        .connections_accepted
        .fetch_add(1, Ordering::Relaxed);
}

/// Counts a connection refused or closed by the node, by reason (one of
/// [`CONNECTION_REFUSALS`]; anything else is a bug, counted nowhere).
pub fn connection_refused(reason: &'static str) {
    if let Some(at) = CONNECTION_REFUSALS.iter().position(|r| *r == reason) {
        COUNTERS.connections_refused[at].fetch_add(1, Ordering::Relaxed);
    }
}

/// The connections open now, and how many of them have not yet sent the
/// HTTP/2 preface.
pub fn connections_now(open: usize, pending: usize) {
    COUNTERS
        .connections_open
        .store(open as u64, Ordering::Relaxed);
    COUNTERS
        .connections_pending
        .store(pending as u64, Ordering::Relaxed);
}

/// The writer's document cache: documents held and their estimated
/// memory.
pub fn document_cache(documents: usize, bytes: usize) {
    COUNTERS
        .cache_documents
        .store(documents as u64, Ordering::Relaxed);
    COUNTERS.cache_bytes.store(bytes as u64, Ordering::Relaxed);
}

/// The size of the WAL file, when no checkpoint was needed.
pub fn wal_checkpoint_none(wal_bytes: u64) {
    COUNTERS.wal_bytes.store(wal_bytes, Ordering::Relaxed);
}

/// A WAL checkpoint the writer ran: `truncate` (the log started over) or
/// `busy` (readers of older snapshots outlasted the wait), and the size of
/// the WAL file after it.
pub fn wal_checkpoint(mode: &'static str, wal_bytes: u64) {
    if let Ok(mut counts) = COUNTERS.checkpoints.lock() {
        *counts.entry(mode).or_default() += 1;
    }
    COUNTERS.wal_bytes.store(wal_bytes, Ordering::Relaxed);
}

/// A counter family with a `reason` label, every reason listed (at 0 until
/// it happens).
/// Writes every counter family in the Prometheus text format 0.0.4 (the
/// endpoint adds the node's gauges, `metrics::endpoint`).
pub(crate) fn render_counters(out: &mut String) {
    let out = &mut *out;
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    // A family of one unlabelled value.
    let single = |out: &mut String, name: &str, kind: &str, help: &str, value: u64| {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    };
    family(
        out,
        "focal_entries_stored_total",
        "counter",
        "Log entries stored since start, signed here (own) or received from peers.",
    );
    let _ = writeln!(
        out,
        "focal_entries_stored_total{{source=\"own\"}} {}",
        COUNTERS.stored_own.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "focal_entries_stored_total{{source=\"received\"}} {}",
        COUNTERS.stored_received.load(Ordering::Relaxed)
    );
    family(
        out,
        "focal_forks_proven_total",
        "counter",
        "Forks proven since start (a key signed two different entries at one position of one \
         log): proofs found here or received from peers, each counted once.",
    );
    let _ = writeln!(
        out,
        "focal_forks_proven_total {}",
        COUNTERS.forks_proven.load(Ordering::Relaxed)
    );
    by_reason(
        out,
        "focal_entries_rejected_total",
        "Entries received from peers and refused since start, by reason.",
        &REJECTION_REASONS,
        &COUNTERS.rejected,
    );
    by_reason(
        out,
        "focal_peer_cutoffs_total",
        "Peer sessions ended since start because of what the peer sent, by reason.",
        &CUTOFF_REASONS,
        &COUNTERS.cutoffs,
    );
    single(
        out,
        "focal_document_cache_documents",
        "gauge",
        "Documents the writer keeps in memory.",
        COUNTERS.cache_documents.load(Ordering::Relaxed),
    );
    single(
        out,
        "focal_document_cache_bytes",
        "gauge",
        "Estimated memory of the documents the writer keeps ([storage] cache_bytes bounds it).",
        COUNTERS.cache_bytes.load(Ordering::Relaxed),
    );
    single(
        out,
        "focal_wal_bytes",
        "gauge",
        "Size of the database's write-ahead log after the last checkpoint.",
        COUNTERS.wal_bytes.load(Ordering::Relaxed),
    );
    family(
        out,
        "focal_wal_checkpoints_total",
        "counter",
        "WAL checkpoints the writer ran beyond SQLite's own: `truncate` started the log over, `busy` waited for readers in vain.",
    );
    for mode in ["truncate", "busy"] {
        let n = COUNTERS
            .checkpoints
            .lock()
            .map(|c| c.get(mode).copied().unwrap_or(0))
            .unwrap_or(0);
        let _ = writeln!(out, "focal_wal_checkpoints_total{{mode=\"{mode}\"}} {n}");
    }
    single(
        out,
        "focal_connections_open",
        "gauge",
        "Connections open on the gRPC port, handshaking or serving.",
        COUNTERS.connections_open.load(Ordering::Relaxed),
    );
    single(
        out,
        "focal_connections_pending",
        "gauge",
        "Open connections that have not yet sent the HTTP/2 preface (TLS or preface pending).",
        COUNTERS.connections_pending.load(Ordering::Relaxed),
    );
    single(
        out,
        "focal_connections_accepted_total",
        "counter",
        "Connections admitted under the connection caps since start.",
        COUNTERS.connections_accepted.load(Ordering::Relaxed),
    );
    family(
        out,
        "focal_connections_refused_total",
        "counter",
        "Connections the node refused or closed on its own since start, by reason.",
    );
    for (reason, n) in CONNECTION_REFUSALS
        .iter()
        .zip(&COUNTERS.connections_refused)
    {
        let _ = writeln!(
            out,
            "focal_connections_refused_total{{reason=\"{reason}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }

    family(
        out,
        "focal_grpc_requests_total",
        "counter",
        "gRPC requests served, by method and status code.",
    );
    let requests = COUNTERS
        .requests
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    for ((method, code), n) in &requests {
        let _ = writeln!(
            out,
            "focal_grpc_requests_total{{method=\"{}\",code=\"{code}\"}} {n}",
            escape(method)
        );
    }
    family(
        out,
        "focal_grpc_request_duration_seconds",
        "histogram",
        "gRPC request latency to the response headers (for streams: to the stream's start).",
    );
    if let Ok(latency) = COUNTERS.latency.lock() {
        for (method, l) in latency.iter() {
            let method = escape(method);
            for (count, bound) in l.buckets.iter().zip(LATENCY_BUCKETS) {
                let _ = writeln!(
                    out,
                    "focal_grpc_request_duration_seconds_bucket{{method=\"{method}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "focal_grpc_request_duration_seconds_bucket{{method=\"{method}\",le=\"+Inf\"}} {}",
                l.count
            );
            let _ = writeln!(
                out,
                "focal_grpc_request_duration_seconds_sum{{method=\"{method}\"}} {}",
                l.sum
            );
            let _ = writeln!(
                out,
                "focal_grpc_request_duration_seconds_count{{method=\"{method}\"}} {}",
                l.count
            );
        }
    }
}

/// Escapes a label value (backslash, quote, newline).
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn by_reason(
    out: &mut String,
    name: &str,
    help: &str,
    reasons: &[&'static str],
    counts: &Mutex<BTreeMap<&'static str, u64>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    let counts = counts.lock().map(|m| m.clone()).unwrap_or_default();
    for reason in reasons {
        let _ = writeln!(
            out,
            "{name}{{reason=\"{reason}\"}} {}",
            counts.get(reason).copied().unwrap_or(0)
        );
    }
}

fn grpc_request(method: &str, code: &str, elapsed: Duration) {
    let method = {
        let Ok(mut requests) = COUNTERS.requests.lock() else {
            return;
        };
        let known = requests.keys().any(|(m, _)| m == method);
        let room = || {
            requests
                .keys()
                .map(|(m, _)| m.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                < MAX_METHODS
        };
        let method = if known || room() {
            method.to_owned()
        } else {
            "other".to_owned()
        };
        *requests
            .entry((method.clone(), code.to_owned()))
            .or_default() += 1;
        method
    };
    if let Ok(mut latency) = COUNTERS.latency.lock() {
        let l = latency.entry(method).or_default();
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in l.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        l.count += 1;
        l.sum += secs;
    }
}

/// A tower layer on the tonic server that counts requests by method and
/// status and records their latency (to the response headers: for a
/// stream, the time to its start).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// The service [`GrpcMetricsLayer`] wraps around the gRPC routes.
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, RB> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let start = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            // An error is a "trailers-only" response: its status is in the
            // headers. A success's status comes in the trailers, later.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or("OK", |c| code_label(tonic::Code::from(c))),
                Err(_) => "transport_error",
            };
            // Methods that do not exist are not worth a series each.
            let method = if code == "UNIMPLEMENTED" {
                "unimplemented"
            } else {
                method.as_str()
            };
            grpc_request(method, code, start.elapsed());
            result
        })
    }
}

/// A short, stable label for a gRPC code.
fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "OK",
        C::Cancelled => "CANCELLED",
        C::Unknown => "UNKNOWN",
        C::InvalidArgument => "INVALID_ARGUMENT",
        C::DeadlineExceeded => "DEADLINE_EXCEEDED",
        C::NotFound => "NOT_FOUND",
        C::AlreadyExists => "ALREADY_EXISTS",
        C::PermissionDenied => "PERMISSION_DENIED",
        C::ResourceExhausted => "RESOURCE_EXHAUSTED",
        C::FailedPrecondition => "FAILED_PRECONDITION",
        C::Aborted => "ABORTED",
        C::OutOfRange => "OUT_OF_RANGE",
        C::Unimplemented => "UNIMPLEMENTED",
        C::Internal => "INTERNAL",
        C::Unavailable => "UNAVAILABLE",
        C::DataLoss => "DATA_LOSS",
        C::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }

    #[test]
    fn latency_lands_in_cumulative_buckets() {
        grpc_request("/test.Service/Method", "OK", Duration::from_millis(20));
        let latency = COUNTERS.latency.lock().unwrap();
        let l = &latency["/test.Service/Method"];
        assert_eq!(l.count, 1);
        // 20 ms is above 10 ms and within 25 ms and every bucket after it.
        assert_eq!(l.buckets[2], 0);
        assert!(l.buckets[3..].iter().all(|&b| b == 1));
    }
}
