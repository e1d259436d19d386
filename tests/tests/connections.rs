//! Connections on the gRPC port against a real `focal-node`: the caps, the
//! TLS-handshake and HTTP/2-preface deadlines, the idle timeout and the
//! keepalive that keeps quiet live streams open, and the log a crowd of
//! strangers can write.
//!
//! Loopback has all of 127.0.0.0/8 on Linux, so the strangers here connect
//! from their own 127.x addresses while honest clients (the `focal` CLI, the
//! peers) come from 127.0.0.1, as they would from elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    fs,
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use focal_node::{identity::NodeId, identity::NodeKey};
use focal_tests::*;
use rustls::{ClientConfig, pki_types::ServerName};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    task::JoinSet,
    time::timeout,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Sets `key = value` in the `[server]` section of focal.toml (the template
/// has each key commented out there).
fn set_server(dir: &NodeDir, key: &str, value: &str) {
    let path = dir.path.join("focal.toml");
    let text = fs::read_to_string(&path).unwrap();
    let prefix = format!("# {key} = ");
    assert!(
        text.lines().any(|l| l.starts_with(&prefix)),
        "focal.toml has no {prefix:?}"
    );
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                format!("{key} = {value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    fs::write(&path, text.join("\n") + "\n").unwrap();
}

fn enable_metrics(dir: &NodeDir) {
    dir.set_config("# listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"");
}

/// A node for `member` with `[server]` settings and metrics, and a token.
fn node_with(member: &str, server: &[(&str, &str)]) -> SingleNode {
    let dir = NodeDir::init(member);
    for (key, value) in server {
        set_server(&dir, key, value);
    }
    enable_metrics(&dir);
    let token = dir.token("tests");
    let node = dir.start();
    let conn = connection_for(&node, &token);
    SingleNode { dir, node, conn }
}

/// The node's metrics: sample (name with labels) → value.
fn metrics_of(node: &RunningNode) -> BTreeMap<String, f64> {
    let addr = fs::read_to_string(node.data.join("focal-node.metrics-addr")).unwrap();
    let mut stream = std::net::TcpStream::connect(addr.trim()).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn refused(metrics: &BTreeMap<String, f64>, reason: &str) -> u64 {
    metrics
        .get(&format!(
            "focal_connections_refused_total{{reason=\"{reason}\"}}"
        ))
        .copied()
        .unwrap_or_else(|| panic!("no refusal series for {reason}")) as u64
}

fn gauge(metrics: &BTreeMap<String, f64>, name: &str) -> u64 {
    metrics.get(name).copied().unwrap_or_default() as u64
}

/// Open file descriptors of a process.
fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// Raises this test process's soft limit on open files (the node was
/// started before and keeps its own).
fn raise_fd_limit(want: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < want {
        setrlimit(Resource::RLIMIT_NOFILE, want.min(hard), hard).unwrap();
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        soft >= want,
        "the test needs {want} open files; the hard limit is {hard}"
    );
}

fn loopback(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, a, b, c))
}

async fn tcp_from(source: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(to).await
}

async fn tls_from(
    source: IpAddr,
    to: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = tcp_from(source, to).await?;
    TlsConnector::from(config)
        .connect(ServerName::try_from("focal-node").unwrap(), tcp)
        .await
}

/// How long until the node closes the connection, or `None` if it is still
/// open after `limit`.
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// An app's TLS configuration: the node key pinned, no client certificate.
fn app_tls(node: &RunningNode) -> Arc<ClientConfig> {
    Arc::new(focal_client::transport::client_config(node.node_key).unwrap())
}

/// `focal list` against the node; how long it took, or its error.
async fn honest_list(conn: &str) -> Result<Duration, String> {
    let conn = conn.to_owned();
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let out = focal_at(&conn, &["list"]);
        if out.status.success() {
            Ok(start.elapsed())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    })
    .await
    .unwrap()
}

/// Samples a process's open file descriptors until dropped; the maximum.
struct FdSampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl FdSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut max = 0;
            while !flag.load(Ordering::SeqCst) {
                max = max.max(fd_count(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            max
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    fn max(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[derive(Debug)]
enum Stranger {
    /// TLS completed; closed by the node after this long (`None`: still
    /// open after the test's limit).
    Held(Option<Duration>),
    /// Closed before the TLS handshake completed (over a cap, or evicted).
    Refused,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_send_the_preface_are_closed_and_honest_clients_still_get_in() {
    init_crypto();
    const CAP: usize = 256;
    const STRANGERS: usize = 1100;
    let preface = Duration::from_secs(3);
    let node = node_with(
        "ESP",
        &[("max_connections", "256"), ("preface_timeout_ms", "3000")],
    );
    raise_fd_limit(4096);
    let pid = node.node.pid();
    let baseline = fd_count(pid);
    let addr = node.node.addr;
    let tls = app_tls(&node.node);
    let sampler = FdSampler::start(pid);

    // 1,100 connections that complete TLS without a certificate, as apps
    // do, and never send the preface; 25 addresses, 44 each, under the
    // per-address cap: the global cap is what holds them.
    let attack = tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        for i in 0..STRANGERS {
            let source = loopback(0, 1, (i % 25) as u8 + 1);
            let tls = tls.clone();
            tasks.spawn(async move {
                match timeout(Duration::from_secs(30), tls_from(source, addr, tls)).await {
                    Ok(Ok(mut stream)) => {
                        Stranger::Held(closed_within(&mut stream, Duration::from_secs(30)).await)
                    }
                    Ok(Err(_)) => Stranger::Refused,
                    Err(_) => panic!("a TLS handshake hung for 30 s"),
                }
            });
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tasks.join_all().await
    });

    // An honest client, throughout.
    let mut honest = Vec::new();
    while !attack.is_finished() {
        honest.push(honest_list(&node.conn).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let strangers = attack.await.unwrap();
    let max_fds = sampler.max();

    let held: Vec<Option<Duration>> = strangers
        .iter()
        .filter_map(|s| match s {
            Stranger::Held(closed) => Some(*closed),
            Stranger::Refused => None,
        })
        .collect();
    let slowest = held.iter().flatten().max().copied().unwrap_or_default();
    eprintln!(
        "{} strangers held past TLS, {} closed before; slowest closed after {slowest:?}; \
         node fds {baseline} → max {max_fds}; honest `focal list` times: {:?}",
        held.len(),
        strangers.len() - held.len(),
        honest
            .iter()
            .map(|r| r.as_ref().map(|d| d.as_millis()).unwrap_or(0))
            .collect::<Vec<_>>()
    );
    assert!(
        held.iter().all(Option::is_some),
        "a connection without a preface stayed open for 30 s"
    );
    assert!(
        slowest >= preface - Duration::from_millis(500)
            && slowest <= preface + Duration::from_secs(12),
        "the last strangers are closed at the preface deadline ({preface:?}), not {slowest:?}"
    );
    assert!(
        honest.len() >= 3,
        "the honest client ran only {} times",
        honest.len()
    );
    for result in &honest {
        let took = result
            .as_ref()
            .unwrap_or_else(|e| panic!("an honest `focal list` failed: {e}"));
        assert!(
            *took < Duration::from_secs(10),
            "an honest `focal list` took {took:?}"
        );
    }
    assert!(
        max_fds <= baseline + CAP + 64,
        "the node held {max_fds} file descriptors (baseline {baseline}, cap {CAP})"
    );

    let metrics = metrics_of(&node.node);
    let closed_by_node = refused(&metrics, "evicted")
        + refused(&metrics, "global_cap")
        + refused(&metrics, "preface_timeout");
    assert!(
        closed_by_node >= STRANGERS as u64,
        "the node counted {closed_by_node} closed strangers of {STRANGERS}: {metrics:?}"
    );
    assert!(refused(&metrics, "preface_timeout") >= 1);
    assert!(refused(&metrics, "evicted") + refused(&metrics, "global_cap") >= 1);
    eprintln!(
        "refused: evicted {}, global_cap {}, preface_timeout {}",
        refused(&metrics, "evicted"),
        refused(&metrics, "global_cap"),
        refused(&metrics, "preface_timeout")
    );
    eventually("the open-connection gauge to fall back", || {
        let node = &node.node;
        let open = gauge(&metrics_of(node), "focal_connections_open");
        async move { (open <= 2).then_some(()) }
    })
    .await;
}

/// A real ClientHello, to trickle.
fn client_hello(node: &RunningNode) -> Vec<u8> {
    let mut conn =
        rustls::ClientConnection::new(app_tls(node), ServerName::try_from("focal-node").unwrap())
            .unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_tls_are_closed_at_the_handshake_deadline() {
    init_crypto();
    let deadline = Duration::from_secs(2);
    let node = node_with("ESP", &[("handshake_timeout_ms", "2000")]);
    let addr = node.node.addr;
    let hello = client_hello(&node.node);
    assert!(hello.len() > 100, "a ClientHello of {} bytes", hello.len());

    let mut tasks = JoinSet::new();
    // Raw TCP that never says anything.
    for _ in 0..20 {
        tasks.spawn(async move {
            let mut tcp = tcp_from(loopback(0, 0, 2), addr).await.unwrap();
            (closed_within(&mut tcp, Duration::from_secs(20)).await, 0)
        });
    }
    // Slow-loris: a real ClientHello, one byte every 150 ms (it would take
    // tens of seconds to finish).
    for _ in 0..5 {
        let hello = hello.clone();
        tasks.spawn(async move {
            let tcp = tcp_from(loopback(0, 0, 3), addr).await.unwrap();
            let (mut read, mut write) = tcp.into_split();
            let sent = Arc::new(AtomicUsize::new(0));
            let counter = sent.clone();
            let trickle = tokio::spawn(async move {
                for byte in hello {
                    if write.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            });
            let closed = closed_within(&mut read, Duration::from_secs(20)).await;
            trickle.abort();
            (closed, sent.load(Ordering::SeqCst))
        });
    }
    let results = tasks.join_all().await;
    for (closed, sent) in &results {
        let closed = closed.expect("a connection without TLS stayed open for 20 s");
        assert!(
            closed >= deadline - Duration::from_millis(500)
                && closed <= deadline + Duration::from_secs(8),
            "closed after {closed:?}, the handshake deadline is {deadline:?}"
        );
        assert!(*sent < hello.len(), "the trickled hello was finished");
    }
    eprintln!(
        "closed after {:?}",
        results.iter().map(|(c, _)| c.unwrap()).collect::<Vec<_>>()
    );
    let metrics = metrics_of(&node.node);
    assert_eq!(refused(&metrics, "handshake_timeout"), 25, "{metrics:?}");
    // And the node still serves.
    honest_list(&node.conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_with_unknown_certificates_are_refused_quietly_and_peers_keep_replicating() {
    init_crypto();
    let mut net = TestNetwork::start(&["ESP"], |_, _| {});
    net.secretariat.stop();
    enable_metrics(&net.secretariat.dir);
    net.secretariat.start();
    let sec_key = net.secretariat.running().node_key;
    let sec_addr = net.secretariat.running().addr;
    let esp_key = hex::encode(net.members[0].running().node_key);
    let sec_data = net.secretariat.dir.path.clone();
    wait_until("the secretariat to pull from ESP again", || {
        peer_status_of(&sec_data, &esp_key).is_some_and(|p| p["connected"] == true)
    });
    let log = net.secretariat.running().log.clone();
    let log_before = fs::metadata(&log).unwrap().len();

    // 200 strangers, each from its own address with its own unknown key,
    // reconnecting until told to stop.
    const STRANGERS: usize = 200;
    const ATTEMPTS: usize = 2000;
    let attempts = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut strangers = JoinSet::new();
    for i in 0..STRANGERS {
        let key = NodeKey::generate().unwrap();
        let tls =
            Arc::new(focal_node::net::tls::peer_client_config(&key, NodeId(sec_key)).unwrap());
        let source = loopback(0, 3, i as u8 + 1);
        let (attempts, stop) = (attempts.clone(), stop.clone());
        strangers.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                attempts.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut stream) = tls_from(source, sec_addr, tls.clone()).await {
                    // The refusal arrives after the client's Finished.
                    closed_within(&mut stream, Duration::from_secs(20))
                        .await
                        .expect("a stranger's connection stayed open");
                }
            }
        });
    }

    // Honest peers replicate both ways meanwhile.
    let esp_conn = net.members[0].conn();
    let sec_conn = net.secretariat.conn();
    let started = Instant::now();
    let replicated = tokio::task::spawn_blocking(move || {
        let from_esp = add_practice(&esp_conn, "best-practice", "From ESP", "peacekeeping");
        wait_until("ESP's record at the secretariat", || {
            record_on(&sec_conn, &from_esp).is_some()
        });
        let from_sec = add_practice(&sec_conn, "best-practice", "From SEC", "peacekeeping");
        wait_until("the secretariat's record at ESP", || {
            record_on(&esp_conn, &from_sec).is_some()
        });
    });
    replicated.await.unwrap();
    let replication_took = started.elapsed();
    let during = attempts.load(Ordering::SeqCst);
    eventually("2,000 stranger handshakes", || {
        let n = attempts.load(Ordering::SeqCst);
        async move { (n >= ATTEMPTS).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    strangers.join_all().await;
    let total = attempts.load(Ordering::SeqCst);

    let grown = fs::metadata(&log).unwrap().len() - log_before;
    let text = net.secretariat.running().log_text();
    let warn_lines = text
        .lines()
        .filter(|l| l.contains("refused a peer"))
        .count();
    eprintln!(
        "{total} stranger handshakes ({during} while replicating, which took \
         {replication_took:?}); the secretariat's log grew {grown} bytes, {warn_lines} \
         'refused a peer' lines"
    );
    assert!(
        grown < 64 * 1024,
        "{total} refused handshakes grew the log by {grown} bytes"
    );
    // The metrics count every one.
    let node = net.secretariat.running();
    eventually("every refusal counted", || {
        let counted = refused(&metrics_of(node), "certificate_refused");
        async move { (counted == total as u64).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_cap_bounds_one_address_while_others_get_in() {
    init_crypto();
    const PER_ADDRESS: usize = 16;
    const TRIES: usize = 100;
    let node = node_with(
        "ESP",
        &[
            ("max_connections_per_address", "16"),
            ("preface_timeout_ms", "30000"),
        ],
    );
    let addr = node.node.addr;
    let tls = app_tls(&node.node);
    let crowd = loopback(0, 0, 2);

    let mut held = Vec::new();
    let mut refused_here = 0;
    for _ in 0..TRIES {
        match tls_from(crowd, addr, tls.clone()).await {
            Ok(stream) => held.push(stream),
            Err(_) => refused_here += 1,
        }
    }
    eprintln!("{} held, {refused_here} refused", held.len());
    assert_eq!(held.len(), PER_ADDRESS, "one address holds exactly its cap");
    // The node still serves: the CLI from 127.0.0.1, and a TLS client from
    // another address of the same machine.
    honest_list(&node.conn).await.unwrap();
    let mut other = tls_from(loopback(0, 0, 3), addr, tls.clone())
        .await
        .expect("another address gets in");
    other.write_all(PREFACE).await.unwrap();
    let metrics = metrics_of(&node.node);
    assert_eq!(
        refused(&metrics, "address_cap"),
        refused_here as u64,
        "{metrics:?}"
    );
    assert!(gauge(&metrics, "focal_connections_open") >= PER_ADDRESS as u64);

    // The crowd's held connections are still open (their preface deadline
    // is far); once they close, the address gets in again.
    for stream in &mut held {
        assert_eq!(closed_within(stream, Duration::from_millis(50)).await, None);
    }
    drop(held);
    eventually("the crowd's address to get in again", || {
        let tls = tls.clone();
        async move { tls_from(crowd, addr, tls).await.ok().map(drop) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_live_stream_outlives_the_idle_timeout() {
    init_crypto();
    let idle = Duration::from_millis(1500);
    let short = |dir: &NodeDir| {
        set_server(dir, "idle_timeout_ms", "1500");
        set_server(dir, "keepalive_interval_ms", "300");
        set_server(dir, "keepalive_timeout_ms", "1000");
        // No anti-entropy rounds: the live streams carry nothing but pings.
        dir.set_config("anti_entropy_ms = 300", "anti_entropy_ms = 600000");
        enable_metrics(dir);
    };
    let mut net = TestNetwork::start(&["ESP"], |_, dir| short(dir));
    net.secretariat.stop();
    short(&net.secretariat.dir);
    net.secretariat.start();
    let sec_key = hex::encode(net.secretariat.running().node_key);
    let esp_key = hex::encode(net.members[0].running().node_key);
    let (sec_data, esp_data) = (
        net.secretariat.dir.path.clone(),
        net.members[0].dir.path.clone(),
    );
    let connected = |data: &std::path::Path, key: &str| {
        peer_status_of(data, key).is_some_and(|p| p["connected"] == true)
    };
    wait_until("both pulls live", || {
        connected(&esp_data, &sec_key) && connected(&sec_data, &esp_key)
    });
    let sec_conn = net.secretariat.conn();
    let esp_conn = net.members[0].conn();
    let first = add_practice(&sec_conn, "best-practice", "Before", "peacekeeping");
    wait_until("the first record at ESP", || {
        record_on(&esp_conn, &first).is_some()
    });
    // A client's watch, quiet through the same window.
    let watcher = client_for(&sec_conn).await;
    let mut watch = watcher
        .records()
        .watch(focal_proto::v1::WatchRequest {
            r#type: "practice".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let accepted =
        |node: &RunningNode| gauge(&metrics_of(node), "focal_connections_accepted_total");
    let before = (
        accepted(net.secretariat.running()),
        accepted(net.members[0].running()),
    );

    // Quiet for three idle timeouts: only keepalive pings cross.
    tokio::time::sleep(idle * 3).await;

    for node in [net.secretariat.running(), net.members[0].running()] {
        assert_eq!(refused(&metrics_of(node), "idle_timeout"), 0);
    }
    let after = (
        accepted(net.secretariat.running()),
        accepted(net.members[0].running()),
    );
    assert_eq!(before, after, "a peer reconnected: its stream was cut");
    assert!(connected(&esp_data, &sec_key) && connected(&sec_data, &esp_key));
    let live = |data: &std::path::Path, key: &str| {
        peer_status_of(data, key).unwrap()["last_error"].clone()
    };
    eprintln!(
        "after {:?} quiet: last errors {} / {}",
        idle * 3,
        live(&esp_data, &sec_key),
        live(&sec_data, &esp_key)
    );
    // And it still delivers (the `focal` calls are new connections of
    // their own, so the accepted counts move from here on).
    let second = add_practice(&sec_conn, "best-practice", "After", "peacekeeping");
    wait_until("the second record at ESP", || {
        record_on(&esp_conn, &second).is_some()
    });
    let event = timeout(
        Duration::from_secs(30),
        tokio_stream::StreamExt::next(&mut watch),
    )
    .await
    .expect("the watch delivers")
    .expect("the watch is still open")
    .expect("the watch did not fail");
    assert_eq!(
        (event.action.as_str(), event.record.unwrap().id),
        ("created", second)
    );

    // Control: a client that sends the preface and then nothing (answers no
    // ping) is closed within about the idle timeout.
    let node = net.secretariat.running();
    let mut silent = tls_from(loopback(0, 0, 2), node.addr, app_tls(node))
        .await
        .unwrap();
    silent.write_all(PREFACE).await.unwrap();
    let closed = closed_within(&mut silent, Duration::from_secs(20))
        .await
        .expect("a silent connection stayed open for 20 s");
    eprintln!("a silent connection was closed after {closed:?}");
    assert!(
        closed >= Duration::from_millis(800) && closed <= idle + Duration::from_secs(8),
        "closed after {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_addresses_holding_served_connections_cannot_keep_others_out() {
    init_crypto();
    let node = node_with(
        "ESP",
        &[
            ("max_connections", "32"),
            ("max_connections_per_address", "16"),
        ],
    );
    let addr = node.node.addr;
    let tls = app_tls(&node.node);
    // Two addresses fill the global cap with connections past the preface
    // (served by HTTP/2, not evictable as "pending").
    let mut crowd = Vec::new();
    for source in [loopback(0, 0, 2), loopback(0, 0, 4)] {
        for _ in 0..16 {
            let mut stream = tls_from(source, addr, tls.clone()).await.unwrap();
            stream.write_all(PREFACE).await.unwrap();
            crowd.push(stream);
        }
    }
    eventually("the cap to be full of served connections", || {
        let m = metrics_of(&node.node);
        let full = gauge(&m, "focal_connections_open") == 32
            && gauge(&m, "focal_connections_pending") == 0;
        async move { full.then_some(()) }
    })
    .await;

    // Newcomers from other addresses still get in, at the crowd's cost.
    honest_list(&node.conn).await.unwrap();
    let mut other = tls_from(loopback(0, 0, 3), addr, tls.clone())
        .await
        .expect("another address gets in");
    other.write_all(PREFACE).await.unwrap();
    let metrics = metrics_of(&node.node);
    assert_eq!(refused(&metrics, "global_cap"), 0, "{metrics:?}");
    assert!(refused(&metrics, "evicted") >= 1, "{metrics:?}");
    let mut closed = 0;
    for stream in &mut crowd {
        if closed_within(stream, Duration::from_millis(100))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    eprintln!(
        "{closed} of the crowd's 32 connections closed; evicted {}",
        refused(&metrics, "evicted")
    );
    assert!(closed >= 1, "none of the crowd's connections was closed");
    assert!(
        gauge(&metrics_of(&node.node), "focal_connections_open") <= 32,
        "the cap held"
    );
}
