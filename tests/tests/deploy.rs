//! What an operator installs from `deploy/`: the systemd unit passes
//! `systemd-analyze verify`; the compose demo network is valid for
//! `docker-compose config` and its four nodes' ports, volumes and join steps
//! agree; the container's entry point really founds and joins a network; the
//! example configurations parse and comment every key.
//!
//! `systemd-analyze` and `docker-compose` are Debian packages that `.ci/run`
//! installs; there (`FOCAL_REQUIRE_DEPLOY_TOOLS=1`) a missing tool fails the
//! test, elsewhere the check says it did not run.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use focal_tests::{bin, bin_dir, wait_until};
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(name: &str) -> String {
    fs::read_to_string(deploy_dir().join(name)).unwrap()
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Whether `tool` can run; if not, fails under CI and says so elsewhere.
fn have(tool: &str, package: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    assert!(
        std::env::var_os("FOCAL_REQUIRE_DEPLOY_TOOLS").is_none(),
        "{tool} is not installed (Debian package {package}; .ci/run installs it)"
    );
    eprintln!("{tool} is not installed (Debian package {package}): this check did not run");
    false
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = read("focal-node.service");
    for directive in [
        "User=focal",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "StateDirectory=focal",
        "ExecStart=/usr/local/bin/focal-node run --data /var/lib/focal",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == directive),
            "the unit lacks `{directive}`"
        );
    }
    if !have("systemd-analyze", "systemd") {
        return;
    }
    // verify checks that ExecStart's program exists: point it at the binary
    // these tests built, and change nothing else.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("focal-node.service");
    fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/focal-node",
            bin("focal-node").to_str().unwrap(),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // Unknown keys and bad values are warnings with a zero exit status.
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("focal-node.service"))
        .collect();
    assert!(
        about_unit.is_empty(),
        "systemd-analyze warns:\n{}",
        about_unit.join("\n")
    );
}

/// `docker-compose config` of the demo network, as JSON.
fn compose_config() -> Option<Value> {
    if !have("docker-compose", "docker-compose") {
        return None;
    }
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(deploy_dir().join("compose.yaml"))
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose config refuses deploy/compose.yaml:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Debian's docker-compose is Python with PyYAML: its YAML parser turns
    // the canonical output into JSON.
    let mut convert = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut convert.stdin.take().unwrap(), &out.stdout).unwrap();
    let json = convert.wait_with_output().unwrap();
    assert!(json.status.success());
    Some(serde_json::from_slice(&json.stdout).unwrap())
}

/// (host address, host port, container port) of a port entry, short or long
/// syntax.
fn port(entry: &Value) -> (String, u16, u16) {
    match entry {
        Value::String(text) => {
            let text = text.split('/').next().unwrap();
            let parts: Vec<&str> = text.rsplitn(3, ':').collect();
            match parts.as_slice() {
                [container, host, ip] => (
                    (*ip).to_owned(),
                    host.parse().unwrap(),
                    container.parse().unwrap(),
                ),
                [container, host] => (
                    "0.0.0.0".into(),
                    host.parse().unwrap(),
                    container.parse().unwrap(),
                ),
                _ => panic!("unpublished port {text}"),
            }
        }
        Value::Object(map) => (
            map.get("host_ip")
                .and_then(Value::as_str)
                .unwrap_or("0.0.0.0")
                .to_owned(),
            map["published"].as_str().map_or_else(
                || map["published"].as_u64().unwrap() as u16,
                |p| p.parse().unwrap(),
            ),
            map["target"].as_u64().unwrap() as u16,
        ),
        other => panic!("unexpected port entry {other}"),
    }
}

/// (volume, mount point, read-only) of a volume entry, short or long syntax.
fn volume(entry: &Value) -> (String, String, bool) {
    match entry {
        Value::String(text) => {
            let parts: Vec<&str> = text.split(':').collect();
            (
                parts[0].to_owned(),
                parts[1].to_owned(),
                parts.get(2) == Some(&"ro"),
            )
        }
        Value::Object(map) => (
            map["source"].as_str().unwrap().to_owned(),
            map["target"].as_str().unwrap().to_owned(),
            map.get("read_only").and_then(Value::as_bool) == Some(true),
        ),
        other => panic!("unexpected volume entry {other}"),
    }
}

#[test]
fn the_compose_demo_network_is_valid_and_its_four_nodes_agree() {
    let containerfile = read("Containerfile");
    let data_volume = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("VOLUME "))
        .expect("the image declares its data volume")
        .trim()
        .to_owned();
    assert!(containerfile.contains("EXPOSE 7400"));
    assert!(containerfile.lines().any(|l| l.starts_with("USER focal")));
    assert!(containerfile.contains("COPY deploy/focal-entrypoint.sh"));
    assert!(deploy_dir().join("focal-entrypoint.sh").exists());

    let Some(config) = compose_config() else {
        return;
    };
    let services = config["services"].as_object().unwrap();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["sec", "esp", "nam", "jpn"]));
    let declared: BTreeSet<&str> = config["volumes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();

    let env = |service: &str, key: &str| -> Option<String> {
        services[service]["environment"][key]
            .as_str()
            .map(str::to_owned)
    };
    let mut host_ports = BTreeSet::new();
    let mut data_volumes = BTreeSet::new();
    let mut members = BTreeSet::new();
    let join_file = env("sec", "FOCAL_DEMO_JOIN_FILE").expect("the secretariat shares a join file");
    let mut join_volume = None;
    for (name, service) in services {
        // The image and how it is built.
        assert_eq!(
            service["build"]["dockerfile"].as_str(),
            Some("deploy/Containerfile"),
            "{name}"
        );
        // Every node listens on 7400 inside and is reached by its service
        // name there; the host reaches it on a port of its own, on loopback.
        assert_eq!(
            env(name, "FOCAL_ADVERTISE").as_deref(),
            Some(format!("{name}:7400").as_str()),
            "{name} advertises where the others reach it"
        );
        let ports: Vec<_> = service["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(port)
            .collect();
        assert!(
            ports.iter().any(|(_, _, container)| *container == 7400),
            "{name} publishes its gRPC port"
        );
        if let Some(metrics) = env(name, "FOCAL_METRICS_LISTEN") {
            let inner: u16 = metrics.rsplit(':').next().unwrap().parse().unwrap();
            assert!(
                ports.iter().any(|(_, _, container)| *container == inner),
                "{name} publishes its metrics port {inner}"
            );
        }
        for (ip, host, _) in ports {
            assert_eq!(ip, "127.0.0.1", "{name} publishes on loopback only");
            assert!(
                host_ports.insert(host),
                "host port {host} is published twice"
            );
        }
        // Its own data volume, at the image's data directory.
        let mounts: Vec<_> = service["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(volume)
            .collect();
        let data = mounts
            .iter()
            .find(|(_, target, _)| *target == data_volume)
            .unwrap_or_else(|| panic!("{name} has no volume at {data_volume}"));
        assert!(!data.2, "{name}'s data volume is writable");
        assert!(declared.contains(data.0.as_str()));
        assert!(
            data_volumes.insert(data.0.clone()),
            "{name} shares its data volume {}",
            data.0
        );
        // The join file lies on one shared volume: written by the
        // secretariat, read by the members.
        assert_eq!(
            env(name, "FOCAL_DEMO_JOIN_FILE").as_deref(),
            Some(join_file.as_str())
        );
        let (shared, _, read_only) = mounts
            .iter()
            .find(|(_, target, _)| join_file.starts_with(&format!("{target}/")))
            .unwrap_or_else(|| panic!("{name} does not mount the join file's volume"));
        assert!(declared.contains(shared.as_str()));
        assert_eq!(*join_volume.get_or_insert(shared.clone()), *shared);
        if name == "sec" {
            assert!(env(name, "FOCAL_NETWORK_NAME").is_some());
            assert!(env(name, "FOCAL_MEMBER").is_none());
            assert!(!read_only, "the secretariat writes the join file");
        } else {
            let code = env(name, "FOCAL_MEMBER").expect("a member code");
            assert_eq!(code, name.to_uppercase(), "service named after its member");
            assert!(code.parse::<focal_node::member::MemberCode>().is_ok());
            assert!(members.insert(code));
            assert!(env(name, "FOCAL_NETWORK_NAME").is_none());
            // It joins through the secretariat, so it starts after it.
            assert!(
                service["depends_on"].get("sec").is_some()
                    || service["depends_on"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|s| s == "sec")),
                "{name} does not depend on sec"
            );
        }
    }
    assert_eq!(members.len(), 3);
}

/// The entry point, on this machine instead of in containers: the
/// secretariat and a member, each with its own data directory, the shared
/// join file, loopback addresses instead of service names. The member joins
/// the network by itself and both end up with each other's records.
#[test]
fn the_container_entrypoint_founds_and_joins_a_network() {
    let tmp = tempfile::tempdir().unwrap();
    let join_file = tmp.path().join("join").join("secretariat-admin");
    fs::create_dir_all(join_file.parent().unwrap()).unwrap();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = |name: &str, env: &[(&str, String)]| -> (Child, PathBuf) {
        let data = tmp.path().join(name);
        let log = tmp.path().join(format!("{name}.log"));
        let child = Command::new("sh")
            .arg(deploy_dir().join("focal-entrypoint.sh"))
            .env("PATH", &path)
            .env("FOCAL_DATA", &data)
            .env("FOCAL_DEMO_JOIN_FILE", &join_file)
            .env("FOCAL_CONFIG", "/nonexistent")
            .env_remove("FOCAL_NODE")
            .env_remove("RUST_LOG")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(fs::File::create(tmp.path().join(format!("{name}.out"))).unwrap())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        (child, data)
    };
    let sec_addr = format!("127.0.0.1:{}", free_port());
    let (mut sec, sec_data) = start(
        "sec",
        &[
            ("FOCAL_NETWORK_NAME", "Entrypoint test network".into()),
            ("FOCAL_LISTEN", sec_addr.clone()),
            ("FOCAL_ADVERTISE", sec_addr.clone()),
            ("FOCAL_WEB_LISTEN", format!("127.0.0.1:{}", free_port())),
        ],
    );
    let esp_addr = format!("127.0.0.1:{}", free_port());
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let web_addr = format!("127.0.0.1:{}", free_port());
    let (mut esp, esp_data) = start(
        "esp",
        &[
            ("FOCAL_MEMBER", "ESP".into()),
            ("FOCAL_LISTEN", esp_addr.clone()),
            ("FOCAL_ADVERTISE", esp_addr.clone()),
            ("FOCAL_METRICS_LISTEN", metrics_addr.clone()),
            ("FOCAL_WEB_LISTEN", web_addr.clone()),
        ],
    );
    let logs = || {
        ["sec.log", "esp.log", "sec.out", "esp.out"]
            .iter()
            .map(|f| {
                format!(
                    "--- {f}\n{}",
                    fs::read_to_string(tmp.path().join(f)).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let status = |data: &Path| -> Value { focal_tests::status_of(data) };
    let connected = |data: &Path| {
        status(data)["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|p| p["connected"] == true))
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until("ESP to join and both nodes to connect", || {
            connected(&esp_data) && connected(&sec_data)
        });
        let config = fs::read_to_string(esp_data.join("focal.toml")).unwrap();
        let parsed =
            focal_node::base::config::Config::parse(&config, Path::new("focal.toml")).unwrap();
        assert_eq!(parsed.network.peers, vec![sec_addr.clone()]);
        assert_eq!(parsed.network.advertise.as_deref(), Some(esp_addr.as_str()));
        assert_eq!(
            parsed.metrics.listen.map(|a| a.to_string()),
            Some(metrics_addr.clone())
        );
        // The gRPC address went to the first `listen` only; the web app
        // has its own.
        assert_eq!(parsed.listen.to_string(), esp_addr);
        assert_eq!(parsed.web.listen.to_string(), web_addr);
        assert_eq!(
            fs::read_to_string(esp_data.join("focal-node.web-addr"))
                .unwrap()
                .trim(),
            web_addr
        );
        let members: BTreeMap<String, Value> = status(&sec_data)["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["member"].as_str().unwrap_or("").to_owned(), p.clone()))
            .collect();
        assert!(members.contains_key("ESP"), "{members:?}");
    }));
    for child in [&mut sec, &mut esp] {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = (sec.wait(), esp.wait());
    if let Err(panic) = result {
        eprintln!("{}", logs());
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_example_configurations_parse_and_comment_every_key() {
    for name in ["focal-member.toml", "focal-secretariat.toml"] {
        let text = read(name);
        let config = focal_node::base::config::Config::parse(&text, &deploy_dir().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(config.metrics.listen.is_some());
        let mut previous = "";
        for line in text.lines() {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with('[') {
                assert!(
                    previous.starts_with('#'),
                    "{name}: `{trimmed}` has no comment above it"
                );
            }
            if !trimmed.is_empty() {
                previous = trimmed;
            }
        }
    }
}
