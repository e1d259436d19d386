//! The harness of Focal's integration tests: real `focal-node` processes on
//! loopback ports, with real TLS and real SQLite files, driven through the
//! real client library and the real `focal` binary.
//!
//! Nothing here sleeps and hopes: every wait polls with a deadline and, when
//! the deadline passes, fails with the node's log.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use focal_client::NodeTarget;

/// How long a node may take to start or stop on a loaded CI machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The directory holding the workspace's binaries, built (once per test
/// process) with the same profile as the tests themselves.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // target/<profile>/deps/<test binary>
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary lives in target/<profile>/deps")
            .to_owned();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut build = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        build
            .args([
                "build",
                "--quiet",
                "--bins",
                "-p",
                "focal-node",
                "-p",
                "focal-client",
            ])
            .arg("--manifest-path")
            .arg(&manifest);
        // Cargo sets these for the test process; inherited, they would look
        // like a changed environment to build scripts (ring's reads
        // CARGO_MANIFEST_DIR) and force a rebuild on every test run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "CARGO_MANIFEST",
                "CARGO_PKG_",
                "CARGO_CRATE",
                "CARGO_BIN",
                "CARGO_PRIMARY",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || ["CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"].contains(&&*key)
            {
                build.env_remove(&*key);
            }
        }
        if dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build for the binaries");
        assert!(status.success(), "building focal-node and focal failed");
        dir
    })
}

/// Path of a workspace binary (`focal-node`, `focal`).
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// Runs `focal-node` with `args` to completion.
pub fn focal_node(args: &[&str]) -> Output {
    Command::new(bin("focal-node"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("FOCAL_DATA")
        .output()
        .expect("run focal-node")
}

/// Runs `focal` with `args` to completion.
pub fn focal(args: &[&str]) -> Output {
    Command::new(bin("focal"))
        .args(args)
        .env_remove("FOCAL_NODE")
        .env_remove("FOCAL_NODE_KEY")
        .output()
        .expect("run focal")
}

/// Asserts a command failed, and that its stderr says `needle`.
#[track_caller]
pub fn assert_fails_with(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure mentioning {needle:?}, but it succeeded; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(needle),
        "expected stderr to mention {needle:?}; it was:\n{stderr}"
    );
}

/// An initialised data directory, not running.
pub struct NodeDir {
    pub path: PathBuf,
    pub member: String,
    pub node_key: [u8; 32],
    _tmp: Option<tempfile::TempDir>,
}

impl NodeDir {
    /// `focal-node init` in a fresh temporary directory, listening on a
    /// free loopback port.
    pub fn init(member: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut dir = Self::init_at(&tmp.path().join("node"), member);
        dir._tmp = Some(tmp);
        dir
    }

    /// `focal-node init` at `path`.
    pub fn init_at(path: &Path, member: &str) -> Self {
        let out = focal_node(&["init", "--data", path.to_str().unwrap(), "--member", member]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key_hex = stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix("node key:"))
            .expect("init prints the node key")
            .trim();
        let mut node_key = [0u8; 32];
        hex::decode_to_slice(key_hex, &mut node_key).unwrap();
        let dir = Self {
            path: path.to_owned(),
            member: member.to_owned(),
            node_key,
            _tmp: None,
        };
        dir.set_config("listen = \"127.0.0.1:7400\"", "listen = \"127.0.0.1:0\"");
        dir
    }

    /// Replaces `from` by `to` in focal.toml (panics if `from` is absent).
    pub fn set_config(&self, from: &str, to: &str) {
        let path = self.path.join("focal.toml");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "focal.toml has no {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Starts `focal-node run` on this directory and waits until it listens.
    pub fn start(&self) -> RunningNode {
        RunningNode::start(self.path.clone(), self.node_key, &[])
    }
}

/// A `focal-node run` process. Killed on drop if still running.
pub struct RunningNode {
    pub data: PathBuf,
    pub addr: SocketAddr,
    pub node_key: [u8; 32],
    pub log: PathBuf,
    child: Child,
}

impl RunningNode {
    /// Spawns `focal-node run --data DATA ARGS…` and waits for its address.
    pub fn start(data: PathBuf, node_key: [u8; 32], extra: &[&str]) -> Self {
        let addr_file = data.join("focal-node.addr");
        let _ = fs::remove_file(&addr_file);
        let log = data.with_extension("log");
        let child = Command::new(bin("focal-node"))
            .args(["run", "--data", data.to_str().unwrap()])
            .args(extra)
            .env("RUST_LOG", "info,focal_node=debug")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn focal-node");
        let mut node = Self {
            data,
            addr: "0.0.0.0:0".parse().unwrap(),
            node_key,
            log,
            child,
        };
        node.addr = node.wait_for_addr(&addr_file);
        node
    }

    fn wait_for_addr(&mut self, addr_file: &Path) -> SocketAddr {
        let start = Instant::now();
        loop {
            if let Ok(text) = fs::read_to_string(addr_file)
                && let Ok(addr) = text.trim().parse()
            {
                return addr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "focal-node exited with {status} before listening:\n{}",
                    self.log_text()
                );
            }
            assert!(
                start.elapsed() < DEADLINE,
                "focal-node did not listen within {DEADLINE:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node as a client target.
    pub fn target(&self) -> NodeTarget {
        NodeTarget {
            address: self.addr.to_string(),
            node_key: self.node_key,
        }
    }

    /// What the node has logged so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal focal-node");
    }

    /// Waits for the process to exit, with a deadline.
    pub fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "focal-node did not exit within {DEADLINE:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.wait()
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `check` until it returns `Some`, or panics after `DEADLINE`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Installs ring as the process's crypto provider (idempotent).
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl NodeDir {
    /// `focal-node token create --name NAME`; returns the connection string.
    pub fn token(&self, name: &str) -> String {
        let out = focal_node(&[
            "token",
            "create",
            "--data",
            self.path.to_str().unwrap(),
            "--name",
            name,
        ]);
        assert!(
            out.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("focal://"))
            .expect("token create prints a connection string")
            .to_owned()
    }

    /// `focal-node verify --data DIR`.
    pub fn verify(&self) -> Output {
        focal_node(&["verify", "--data", self.path.to_str().unwrap()])
    }
}

/// The connection string of a running node: `token create` prints the
/// configured address (port 0 here), so substitute the one it got.
pub fn connection_for(node: &RunningNode, connection: &str) -> String {
    let rest = connection
        .strip_prefix("focal://")
        .expect("a connection string");
    let (_, query) = rest.split_once('?').expect("a query");
    format!("focal://{}?{query}", node.addr)
}

/// Runs `focal ARGS…` against the node named by `connection`.
pub fn focal_at(connection: &str, args: &[&str]) -> Output {
    Command::new(bin("focal"))
        .args(args)
        .env("FOCAL_NODE", connection)
        .env_remove("FOCAL_NODE_KEY")
        .env_remove("FOCAL_TOKEN")
        .env("FOCAL_CONFIG", "/nonexistent/focal-config.toml")
        .output()
        .expect("run focal")
}

/// Runs `focal ARGS…` and returns stdout, panicking with stderr on failure.
#[track_caller]
pub fn focal_ok(connection: &str, args: &[&str]) -> String {
    let out = focal_at(connection, args);
    assert!(
        out.status.success(),
        "focal {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A typed client for a running node with a connection string's token.
pub async fn client_for(connection: &str) -> focal_client::Client {
    init_crypto();
    let parsed = focal_client::ConnectionString::parse(connection).expect("connection string");
    focal_client::Client::connect(
        &NodeTarget {
            address: parsed.address,
            node_key: parsed.node_key,
        },
        parsed.token.as_deref(),
    )
    .await
    .expect("connect")
}
