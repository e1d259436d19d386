//! A node's life: init, run over TLS with health and reflection, stop cleanly.

use std::{fs, io::Write, net::TcpStream, process::Command};

use focal_proto::v1::{GetInfoRequest, node_service_client::NodeServiceClient};
use focal_tests::{NodeDir, RunningNode, bin, focal, init_crypto};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn health(node: &RunningNode, service: &str) -> ServingStatus {
    let channel = focal_client::connect(&node.target())
        .await
        .expect("connect over pinned TLS");
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("known status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_over_tls_and_stops_cleanly_on_sigterm() {
    init_crypto();
    let dir = NodeDir::init("NAM");
    let mut node = dir.start();

    assert_eq!(health(&node, "").await, ServingStatus::Serving);
    assert_eq!(
        health(&node, "focal.v1.NodeService").await,
        ServingStatus::Serving
    );

    let channel = focal_client::connect(&node.target()).await.unwrap();
    let info = NodeServiceClient::new(channel)
        .get_info(GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.member, "NAM");
    assert_eq!(info.node_key, hex::encode(dir.node_key));
    assert_eq!(info.schema_version, focal_node::store::SCHEMA_VERSION);

    // The CLI pins the same key and prints the same facts.
    let out = focal(&[
        "--node",
        &node.addr.to_string(),
        "--node-key",
        &hex::encode(dir.node_key),
        "info",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("member:         NAM"));

    let status = node.terminate();
    assert!(status.success(), "exit {status}; log:\n{}", node.log_text());
    let log = node.log_text();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("focal-node stopped cleanly"), "{log}");
    // A clean stop leaves one self-contained database and no address file.
    assert!(!dir.path.join("focal-node.addr").exists());
    let wal = dir.path.join("focal.db-wal");
    assert!(!wal.exists() || fs::metadata(&wal).unwrap().len() == 0);

    // And the node starts again on the same directory.
    let mut again = dir.start();
    assert_eq!(health(&again, "").await, ServingStatus::Serving);
    assert!(again.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_also_stops_cleanly() {
    init_crypto();
    let dir = NodeDir::init("AU");
    let mut node = dir.start();
    assert_eq!(health(&node, "").await, ServingStatus::Serving);
    node.signal(nix::sys::signal::Signal::SIGINT);
    let status = node.wait();
    assert!(status.success(), "exit {status}; log:\n{}", node.log_text());
    assert!(node.log_text().contains("SIGINT received"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_talk_to_a_node_with_another_key() {
    init_crypto();
    let dir = NodeDir::init("JPN");
    let node = dir.start();
    let mut wrong = node.target();
    wrong.node_key[0] ^= 1;
    let err = focal_client::connect(&wrong).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("presented key"), "{msg}");
    assert!(msg.contains(&hex::encode(dir.node_key)), "{msg}");

    let out = focal(&[
        "--node",
        &node.addr.to_string(),
        "--node-key",
        &hex::encode(wrong.node_key),
        "info",
    ]);
    focal_tests::assert_fails_with(&out, "was expected; refusing to talk to it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_wire_does_not_hurt_the_node() {
    init_crypto();
    let dir = NodeDir::init("ESP");
    let node = dir.start();
    for payload in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2][..],
        &[0u8; 4096][..],
    ] {
        let mut tcp = TcpStream::connect(node.addr).unwrap();
        let _ = tcp.write_all(payload);
        drop(tcp);
    }
    assert_eq!(health(&node, "").await, ServingStatus::Serving);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_grpc_reflection() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    init_crypto();
    let dir = NodeDir::init("ECOWAS");
    let node = dir.start();
    let channel = focal_client::connect(&node.target()).await.unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(response)) = responses.next().await else {
        panic!("no reflection response");
    };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"focal.v1.NodeService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_without_a_data_dir_creates_the_default_one() {
    init_crypto();
    let cwd = tempfile::tempdir().unwrap();
    let log = cwd.path().join("node.log");
    let mut child = Command::new(bin("focal-node"))
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--web-listen",
            "127.0.0.1:0",
        ])
        .current_dir(cwd.path())
        .env_remove("FOCAL_DATA")
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let data = cwd.path().join("focal-data");
    let addr_file = data.join("focal-node.addr");
    let addr = focal_tests::eventually("the default node to listen", || {
        let addr_file = addr_file.clone();
        async move {
            fs::read_to_string(addr_file)
                .ok()?
                .trim()
                .parse::<std::net::SocketAddr>()
                .ok()
        }
    })
    .await;
    assert!(data.join("node.key").exists());
    let key_hex = rusqlite::Connection::open(data.join("focal.db"))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'node_key'", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    let out = focal(&["--node", &addr.to_string(), "--node-key", &key_hex, "info"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("member:         ZZZ"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
}
