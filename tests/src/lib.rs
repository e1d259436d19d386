//! The harness of Focal's integration tests: real `focal-node` processes on
//! loopback ports, with real TLS and real SQLite files, driven through the
//! real client library and the real `focal` binary.
//!
//! Nothing here sleeps and hopes: every wait polls with a deadline and, when
//! the deadline passes, fails with the node's log.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod browser;
pub mod fake_peer;
pub mod impair;
pub mod web;
pub mod wire;

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
        dir.set_config("listen = \"127.0.0.1:7480\"", "listen = \"127.0.0.1:0\"");
        dir
    }

    /// A data directory made some other way (restored from a backup, copied
    /// from a fixture); its owner removes it.
    pub fn existing(path: PathBuf, member: &str, node_key: [u8; 32]) -> Self {
        Self {
            path,
            member: member.to_owned(),
            node_key,
            _tmp: None,
        }
    }

    /// Replaces `from` by `to` in focal.toml (panics if `from` is absent).
    pub fn set_config(&self, from: &str, to: &str) {
        let path = self.path.join("focal.toml");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "focal.toml has no {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Points the node's bootstrap at `peers` and sets `mesh`.
    pub fn set_network(&self, peers: &[SocketAddr], mesh: bool) {
        let path = self.path.join("focal.toml");
        let text = fs::read_to_string(&path).unwrap();
        let list: Vec<String> = peers.iter().map(|p| format!("\"{p}\"")).collect();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("peers = ") {
                    format!("peers = [{}]", list.join(", "))
                } else if l == "# mesh = true" || l.starts_with("mesh = ") {
                    format!("mesh = {mesh}")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        fs::write(&path, lines.join("\n") + "\n").unwrap();
    }

    /// The network id in focal.toml (the node must be in a network).
    pub fn network_id(&self) -> String {
        focal_node::base::config::Config::load(&self.path.join("focal.toml"))
            .unwrap()
            .network
            .id
            .expect("in a network")
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
        Self::start_via(&[], data, node_key, extra)
    }

    /// [`RunningNode::start`], the command run through `launcher` (e.g.
    /// `ip netns exec NS`, which execs the node in the same process).
    pub fn start_via(launcher: &[&str], data: PathBuf, node_key: [u8; 32], extra: &[&str]) -> Self {
        // A focal.toml without `[web]` (a fixture written before the web
        // app) gets one on a free port, so that tests running side by side
        // do not all take the default port.
        let config = data.join("focal.toml");
        if let Ok(text) = fs::read_to_string(&config)
            && !text.lines().any(|l| l.trim() == "[web]")
        {
            fs::write(&config, text + "\n[web]\nlisten = \"127.0.0.1:0\"\n").unwrap();
        }
        let addr_file = data.join("focal-node.addr");
        let _ = fs::remove_file(&addr_file);
        let log = data.with_extension("log");
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin("focal-node"));
                c
            }
            None => Command::new(bin("focal-node")),
        };
        let child = command
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
            if start.elapsed() >= DEADLINE {
                panic!(
                    "focal-node did not listen within {DEADLINE:?}:\n{}",
                    self.log_text()
                );
            }
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
            if start.elapsed() >= DEADLINE {
                panic!(
                    "focal-node did not exit within {DEADLINE:?}:\n{}",
                    self.log_text()
                );
            }
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
        if start.elapsed() >= DEADLINE {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Installs ring as the process's crypto provider (idempotent).
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl NodeDir {
    /// `focal-node token create --name NAME --role admin`; returns the
    /// connection string. The harness's tokens may do everything (tests
    /// administer their networks with them); `token_with_role` makes others.
    pub fn token(&self, name: &str) -> String {
        self.token_with_role(name, Some("admin"))
    }

    /// `focal-node token create --name NAME [--role ROLE]` (no role: the
    /// command's default); returns the connection string.
    pub fn token_with_role(&self, name: &str, role: Option<&str>) -> String {
        let mut args = vec![
            "token",
            "create",
            "--data",
            self.path.to_str().unwrap(),
            "--name",
            name,
        ];
        if let Some(role) = role {
            args.extend(["--role", role]);
        }
        let out = focal_node(&args);
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
/// The key is the running node's (it changes when the key is rotated).
pub fn connection_for(node: &RunningNode, connection: &str) -> String {
    let rest = connection
        .strip_prefix("focal://")
        .expect("a connection string");
    let (_, query) = rest.split_once('?').expect("a query");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.strip_prefix("key=") {
            Some(_) => format!("key={}", hex::encode(node.node_key)),
            None => pair.to_owned(),
        })
        .collect();
    format!("focal://{}?{}", node.addr, query.join("&"))
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

impl NodeDir {
    /// `focal-node init --secretariat --network NAME` in a fresh temporary
    /// directory, listening on a free loopback port.
    pub fn init_secretariat(network: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("SEC");
        let out = focal_node(&[
            "init",
            "--data",
            path.to_str().unwrap(),
            "--secretariat",
            "--network",
            network,
        ]);
        assert!(
            out.status.success(),
            "init --secretariat failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let key_hex = stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix("node key:"))
            .expect("init prints the node key")
            .trim();
        let mut node_key = [0u8; 32];
        hex::decode_to_slice(key_hex, &mut node_key).unwrap();
        let dir = Self {
            path,
            member: "SEC".to_owned(),
            node_key,
            _tmp: Some(tmp),
        };
        dir.set_config("listen = \"127.0.0.1:7400\"", "listen = \"127.0.0.1:0\"");
        dir.set_config("listen = \"127.0.0.1:7480\"", "listen = \"127.0.0.1:0\"");
        dir.tune_for_tests();
        dir
    }

    /// Short anti-entropy and back-off, so tests converge quickly.
    pub fn tune_for_tests(&self) {
        self.set_config("# anti_entropy_ms = 5000", "anti_entropy_ms = 300");
        self.set_config("# backoff_ms = 500", "backoff_ms = 100");
    }

    /// Replaces the whole `listen` line of the gRPC service (the one
    /// before any `[section]`).
    pub fn set_listen(&self, addr: SocketAddr) {
        let path = self.path.join("focal.toml");
        let text = fs::read_to_string(&path).unwrap();
        let mut top = true;
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                top &= !l.starts_with('[');
                if top && l.starts_with("listen = ") {
                    format!("listen = \"{addr}\"")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        fs::write(&path, text.join("\n") + "\n").unwrap();
    }
}

/// One node of a test network: its directory, its process (if running) and
/// a client connection string with a token.
pub struct TestMember {
    pub dir: NodeDir,
    pub node: Option<RunningNode>,
    pub token: String,
}

impl TestMember {
    /// The connection string of the running node.
    pub fn conn(&self) -> String {
        connection_for(self.node.as_ref().expect("node is running"), &self.token)
    }

    /// The running node.
    pub fn running(&self) -> &RunningNode {
        self.node.as_ref().expect("node is running")
    }

    /// Stops the node (SIGTERM) and waits.
    pub fn stop(&mut self) {
        if let Some(mut node) = self.node.take() {
            let status = node.terminate();
            assert!(status.success(), "{}", node.log_text());
        }
    }

    /// Starts the node again on its data directory (same port).
    pub fn start(&mut self) {
        assert!(self.node.is_none());
        self.node = Some(self.dir.start());
    }

    /// Restarts the node so that it reaches the secretariat only through
    /// `proxy`, and no other peer (`mesh = false`).
    pub fn reach_the_secretariat_only_through(&mut self, proxy: &Proxy) {
        self.stop();
        let path = self.dir.path.join("focal.toml");
        let text = fs::read_to_string(&path).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("peers = ") {
                    format!("peers = [\"{}\"]", proxy.addr)
                } else if l == "# mesh = true" {
                    "mesh = false".to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        fs::write(&path, text.join("\n") + "\n").unwrap();
        self.start();
    }
}

/// A secretariat and members on loopback, joined the way an operator joins
/// them: join request, `focal admin member add`, `focal-node join`.
pub struct TestNetwork {
    pub secretariat: TestMember,
    pub members: Vec<TestMember>,
}

impl TestNetwork {
    /// Founds a network and joins `members` (member codes). `configure` may
    /// change a member's focal.toml before it joins (e.g. `mesh = false`).
    pub fn start(members: &[&str], configure: impl Fn(&str, &NodeDir)) -> Self {
        let sec_dir = NodeDir::init_secretariat("Test network");
        let sec_token = sec_dir.token("admin");
        let sec_node = sec_dir.start();
        // Fix the port the node got, so that the roster stays right across
        // restarts.
        sec_dir.set_listen(sec_node.addr);
        let secretariat = TestMember {
            dir: sec_dir,
            node: Some(sec_node),
            token: sec_token,
        };
        let mut net = Self {
            secretariat,
            members: Vec::new(),
        };
        for code in members {
            net.join(code, |dir| configure(code, dir));
        }
        net
    }

    /// Joins member `code` the way an operator does (join request,
    /// `focal admin member add`, `focal-node join`) and starts its node;
    /// `configure` may change its focal.toml first.
    pub fn join(&mut self, code: &str, configure: impl FnOnce(&NodeDir)) -> &mut TestMember {
        let admin = self.secretariat.conn();
        let dir = NodeDir::init(code);
        dir.tune_for_tests();
        let token = dir.token("tests");
        let mut first = dir.start();
        let addr = first.addr;
        assert!(first.terminate().success());
        dir.set_listen(addr);
        let out = focal_node(&[
            "join-request",
            "--data",
            dir.path.to_str().unwrap(),
            "--endpoint",
            &addr.to_string(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let request = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let answer = focal_ok(
            &admin,
            &["--json", "admin", "member", "add", "--request", &request],
        );
        let answer: serde_json::Value = serde_json::from_str(answer.trim()).unwrap();
        let sec_addr = self.secretariat.running().addr.to_string();
        let out = focal_node(&[
            "join",
            "--data",
            dir.path.to_str().unwrap(),
            "--network-id",
            answer["network_id"].as_str().unwrap(),
            "--secretariat-key",
            answer["secretariat_key"].as_str().unwrap(),
            "--peer",
            &sec_addr,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        configure(&dir);
        let node = dir.start();
        self.members.push(TestMember {
            dir,
            node: Some(node),
            token,
        });
        self.members.last_mut().expect("just joined")
    }

    /// Every node, the secretariat first.
    pub fn all(&self) -> impl Iterator<Item = &TestMember> {
        std::iter::once(&self.secretariat).chain(self.members.iter())
    }

    /// The member with code `code`.
    pub fn member(&mut self, code: &str) -> &mut TestMember {
        self.members
            .iter_mut()
            .find(|m| m.dir.member == code)
            .expect("a member of the test network")
    }
}

/// Lists the records a node holds (`focal --json list`), as JSON values.
pub fn records_on(conn: &str) -> Vec<serde_json::Value> {
    let out = focal_ok(
        conn,
        &["--json", "list", "--include-deleted", "--limit", "1000"],
    );
    serde_json::from_str::<serde_json::Value>(out.trim())
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The status file a running node rewrites every second (`Null` until the
/// first one, or while it cannot be read).
pub fn status_of(data: &Path) -> serde_json::Value {
    fs::read_to_string(data.join("status.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The entry for peer `key` (hex) in a node's status file.
pub fn peer_status_of(data: &Path, key: &str) -> Option<serde_json::Value> {
    status_of(data)["peers"]
        .as_array()?
        .iter()
        .find(|p| p["key"] == key)
        .cloned()
}

/// The record `id` as a node lists it, if it holds it.
pub fn record_on(conn: &str, id: &str) -> Option<serde_json::Value> {
    records_on(conn).into_iter().find(|r| r["id"] == id)
}

/// Polls until `check` holds, or panics after `DEADLINE` with `what`.
#[track_caller]
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        if start.elapsed() >= DEADLINE {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One running node with a client token: the fixture of most record tests.
pub struct SingleNode {
    pub dir: NodeDir,
    pub node: RunningNode,
    pub conn: String,
}

/// Initialises and starts a node for `member`, with a token.
pub fn single_node(member: &str) -> SingleNode {
    let dir = NodeDir::init(member);
    let token = dir.token("tests");
    let node = dir.start();
    let conn = connection_for(&node, &token);
    SingleNode { dir, node, conn }
}

/// Parses CLI output as JSON, saying what it was if it is not.
#[track_caller]
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `focal practice add` with a kind, a title and one theme; returns the id.
pub fn add_practice(conn: &str, kind: &str, title: &str, theme: &str) -> String {
    let out = focal_ok(
        conn,
        &[
            "--json", "practice", "add", "--kind", kind, "--title", title, "--theme", theme,
        ],
    );
    json(&out)["id"]
        .as_str()
        .expect("the record has an id")
        .to_owned()
}

/// `focal practice add` (best practice, peacekeeping) with a title, as
/// it ran: for a write that may be refused.
pub fn try_add_practice(conn: &str, title: &str) -> Output {
    focal_at(
        conn,
        &[
            "--json",
            "practice",
            "add",
            "--kind",
            "best-practice",
            "--title",
            title,
            "--theme",
            "peacekeeping",
        ],
    )
}

/// A size field of `/proc/PID/status` (`VmHWM:`, the peak resident memory;
/// `VmRSS:`), in bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Rows in a node's `log_entries` table.
pub fn entry_count(dir: &NodeDir) -> i64 {
    rusqlite::Connection::open(dir.path.join("focal.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM log_entries", [], |r| r.get(0))
        .unwrap()
}

/// A TCP proxy the test can cut, stall and restore.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// While set, bytes are read and dropped in both directions and
    /// connections stay open: a partition that sends no reset, as a dead
    /// router or a firewall dropping packets does.
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    /// Forwards connections to `target` until cut.
    pub fn start(target: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = open.clone();
        let stall = stalled.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let flag = flag.clone();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let flag = flag.clone();
                    let stall = stall.clone();
                    std::thread::spawn(move || {
                        use std::io::{Read, Write};
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(_) if stall.load(std::sync::atomic::Ordering::SeqCst) => {}
                                Ok(n) => {
                                    if !flag.load(std::sync::atomic::Ordering::SeqCst)
                                        || to.write_all(&buf[..n]).is_err()
                                    {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self {
            addr,
            open,
            stalled,
        }
    }

    /// Drops every byte from now on, keeping connections open (see
    /// `stalled`); `restore` ends it.
    pub fn stall(&self) {
        self.stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Refuses new connections and breaks open ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Lets connections and bytes through again.
    pub fn restore(&self) {
        self.stalled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
