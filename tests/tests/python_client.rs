//! A client app on a stock gRPC stack reaches its node: Python's `grpcio`
//! (BoringSSL, which offers no ed25519 signature scheme) connects over TLS
//! trusting only the certificates `focal-node client-cert` exports, with the
//! target name `focal-node`, checks health, lists and creates a record with
//! an editor's token; the `focal` CLI (ed25519, pinned key) sees the record.
//! A wrong root certificate fails the handshake.
//!
//! Needs the Python environment of `tests/python/setup-venv.sh` (pinned
//! grpcio, stubs generated from proto/); without it these tests fail, saying
//! so: they never skip.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use focal_client::transport::{KeyBinding, certificate_key};
use focal_tests::*;
use rustls::pki_types::{CertificateDer, pem::PemObject};
use sha2::{Digest, Sha256};

const SETUP: &str = "bash tests/python/setup-venv.sh";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The environment's interpreter; fails the test, naming the setup script,
/// if the environment is missing or its stubs are not of today's .proto files.
fn python() -> PathBuf {
    let venv = match std::env::var_os("FOCAL_PYTHON_VENV") {
        Some(path) => PathBuf::from(path),
        // target/<profile>/ holds the binaries; the environment sits beside.
        None => bin_dir()
            .parent()
            .expect("a target directory")
            .join("python-venv"),
    };
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python environment at {}: run `{SETUP}` first (it installs the pinned grpcio and \
         generates the stubs from proto/)",
        venv.display()
    );
    let stamp = fs::read_to_string(venv.join("focal-stubs.sha256")).unwrap_or_default();
    assert_eq!(
        stamp,
        proto_digest(),
        "the Python stubs in {} were not generated from today's proto/: run `{SETUP}` again",
        venv.display()
    );
    python
}

/// What `setup-venv.sh` records: `sha256sum focal/v1/*.proto` in proto/.
fn proto_digest() -> String {
    let dir = workspace().join("proto/focal/v1");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".proto"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|name| {
            let digest = Sha256::digest(fs::read(dir.join(name)).unwrap());
            format!("{}  focal/v1/{name}\n", hex::encode(digest))
        })
        .collect()
}

/// Runs `tests/python/client.py ARGS…`, with a deadline; stdout as JSON.
fn client_py(args: &[&str]) -> serde_json::Value {
    let python = python();
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut child = Command::new(&python)
        .arg(workspace().join("tests/python/client.py"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run the Python client");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() >= DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "client.py {args:?} did not finish within {DEADLINE:?}:\n{}",
                fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let text = fs::read_to_string(&stdout).unwrap();
    assert!(
        status.success(),
        "client.py {args:?} failed ({status}):\n{}{text}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("client.py printed {text:?}: {e}"))
}

/// `focal-node client-cert --data DIR`: the PEM it prints, written to a file.
fn export_roots(dir: &NodeDir, to: &Path) -> Vec<CertificateDer<'static>> {
    let out = focal_node(&["client-cert", "--data", dir.path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "client-cert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`focal-node`"), "{stderr}");
    fs::write(to, &out.stdout).unwrap();
    CertificateDer::pem_slice_iter(&out.stdout)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn grpcio_reaches_the_node_pinned_and_writes_through_it() {
    python();
    let dir = NodeDir::init("ESP");
    let mut node = dir.start();
    let files = tempfile::tempdir().unwrap();
    let roots = files.path().join("esp.pem");
    let certs = export_roots(&dir, &roots);
    // The P-256 certificate, bound to the node key, and the node key's own.
    assert_eq!(certs.len(), 2);
    assert_eq!(KeyBinding::verify(&certs[0]).unwrap(), dir.node_key);
    assert_eq!(certificate_key(&certs[1]).unwrap(), dir.node_key);

    let conn = connection_for(&node, &dir.token_with_role("python", Some("editor")));
    let token = focal_client::ConnectionString::parse(&conn)
        .unwrap()
        .token
        .unwrap();
    let address = node.addr.to_string();
    let node_key = hex::encode(dir.node_key);
    let seen = client_py(&[
        "session",
        "--address",
        &address,
        "--roots",
        roots.to_str().unwrap(),
        "--token",
        &token,
        "--node-key",
        &node_key,
    ]);
    assert_eq!(seen["health[]"], "SERVING", "{seen}");
    assert_eq!(seen["health[focal.v1.NodeService]"], "SERVING", "{seen}");
    assert_eq!(seen["member"], "ESP");
    assert_eq!(seen["without_token"], "UNAUTHENTICATED");
    assert_eq!(
        seen["listed_after"].as_u64().unwrap(),
        seen["listed_before"].as_u64().unwrap() + 1
    );
    assert_eq!(seen["read_back_title"], "Written from Python over grpcio");
    let id = seen["created"].as_str().unwrap();
    assert!(id.starts_with("ESP:practice:"), "{id}");

    // The Rust CLI, unchanged (ed25519, the node key pinned), sees it.
    let shown = focal_ok(&conn, &["show", id]);
    assert!(shown.contains("Written from Python over grpcio"), "{shown}");

    // The certificate a stock client pinned survives a restart.
    node.terminate();
    let node = dir.start();
    let again = client_py(&[
        "handshake",
        "--address",
        &node.addr.to_string(),
        "--roots",
        roots.to_str().unwrap(),
    ]);
    assert_eq!(again["code"], "OK", "{again}");
}

#[test]
fn grpcio_refuses_a_node_whose_certificate_it_does_not_trust() {
    python();
    let dir = NodeDir::init("NAM");
    let node = dir.start();
    let files = tempfile::tempdir().unwrap();
    let address = node.addr.to_string();
    let handshake = |roots: &Path| {
        client_py(&[
            "handshake",
            "--address",
            &address,
            "--roots",
            roots.to_str().unwrap(),
        ])
    };

    // Another node's certificates: the handshake fails.
    let other = NodeDir::init("JPN");
    let wrong = files.path().join("jpn.pem");
    export_roots(&other, &wrong);
    let refused = handshake(&wrong);
    assert_eq!(refused["code"], "UNAVAILABLE", "{refused}");
    let details = refused["details"].as_str().unwrap().to_lowercase();
    assert!(
        details.contains("handshake") || details.contains("certificate"),
        "{refused}"
    );

    // The node key's certificate alone does not help grpcio either: it was
    // shown the P-256 one, which BoringSSL can verify.
    let own = files.path().join("nam.pem");
    let certs = export_roots(&dir, &own);
    let ed25519_only = files.path().join("nam-ed25519.pem");
    fs::write(
        &ed25519_only,
        focal_node::net::tls::pem_certificate(&certs[1]).as_bytes(),
    )
    .unwrap();
    assert_eq!(handshake(&ed25519_only)["code"], "UNAVAILABLE");
    assert_eq!(handshake(&own)["code"], "OK");
}
