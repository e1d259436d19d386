//! `focal-node devnet`: a secretariat and three members on loopback, as real
//! processes with their own data directories, joined the way an operator
//! joins them, seeded with a small invented data set, shown converging.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use focal_client::{Client, ConnectionString, NodeTarget};
use focal_proto::v1::{self as pb, admin_service_client::AdminServiceClient};
use serde_json::{Value, json};

/// The members of the demo network, after the secretariat.
const MEMBERS: [&str; 3] = ["ESP", "NAM", "JPN"];

struct DevNode {
    code: String,
    data: PathBuf,
    addr: SocketAddr,
    /// Where its web app listens.
    web: SocketAddr,
    child: Option<Child>,
    connection: String,
}

impl Drop for DevNode {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find the focal-node executable")
}

fn run_ok(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(exe()?)
        .args(args)
        .env_remove("FOCAL_DATA")
        .output()
        .with_context(|| format!("cannot run focal-node {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "focal-node {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn set_listen(data: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let path = data.join("focal.toml");
    let text = std::fs::read_to_string(&path)?;
    let mut top = true;
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            top &= !l.starts_with('[');
            if top && l.starts_with("listen = ") {
                format!("listen = \"{addr}\"")
            } else if l == "# anti_entropy_ms = 5000" {
                "anti_entropy_ms = 1000".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, text.join("\n") + "\n")?;
    Ok(())
}

/// Sets `[web] listen` (adding the section to a devnet made before the web
/// app).
fn set_web_listen(data: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let path = data.join("focal.toml");
    let text = std::fs::read_to_string(&path)?;
    let mut section = String::new();
    let mut set = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with('[') {
                section = l.trim().to_owned();
            }
            if section == "[web]" && l.starts_with("listen = ") {
                set = true;
                format!("listen = \"{addr}\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !set {
        lines.push(String::new());
        lines.push("[web]".to_owned());
        lines.push(format!("listen = \"{addr}\""));
    }
    std::fs::write(&path, lines.join("\n") + "\n")?;
    Ok(())
}

/// A random password for a devnet login.
fn demo_password() -> anyhow::Result<String> {
    let secret = focal_node::store::users::random_secret("")?;
    Ok(secret.chars().take(20).collect())
}

/// Gives the devnet's people on `node` (an editor and an admin) fresh
/// passwords, adding them the first time; returns (name, role, password).
fn web_logins(node: &DevNode) -> anyhow::Result<Vec<(String, &'static str, String)>> {
    use std::io::Write as _;
    let mut logins = Vec::new();
    for role in ["editor", "admin"] {
        let name = format!("{}-{role}", node.code.to_lowercase());
        let password = demo_password()?;
        let data = node.data.to_string_lossy().into_owned();
        let exists = run_ok(&["user", "list", "--data", &data])?
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name.as_str()));
        let args: Vec<&str> = if exists {
            vec!["user", "reset", "--data", &data, &name, "--password-stdin"]
        } else {
            vec![
                "user",
                "add",
                "--data",
                &data,
                &name,
                "--role",
                role,
                "--password-stdin",
            ]
        };
        let mut child = Command::new(exe()?)
            .args(&args)
            .env_remove("FOCAL_DATA")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{password}")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "focal-node {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        logins.push((name, role, password));
    }
    Ok(logins)
}

fn start(node: &mut DevNode) -> anyhow::Result<()> {
    let addr_file = node.data.join("focal-node.addr");
    let _ = std::fs::remove_file(&addr_file);
    let log = std::fs::File::create(node.data.with_extension("log"))?;
    let child = Command::new(exe()?)
        .args(["run", "--data"])
        .arg(&node.data)
        .env_remove("FOCAL_DATA")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start a node")?;
    node.child = Some(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !addr_file.exists() {
        if let Some(child) = &mut node.child
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "{} exited with {status}; see {}",
                node.code,
                node.data.with_extension("log").display()
            );
        }
        if Instant::now() > deadline {
            bail!("{} did not start within 30 s", node.code);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn stop(node: &mut DevNode) {
    if let Some(mut child) = node.child.take() {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SIGTERM for a clean stop; `kill` from util-linux or procps.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

async fn client(connection: &str) -> anyhow::Result<Client> {
    let parsed = ConnectionString::parse(connection)?;
    Ok(Client::connect(
        &NodeTarget {
            address: parsed.address,
            node_key: parsed.node_key,
        },
        parsed.token.as_deref(),
    )
    .await?)
}

fn connection_from(output: &str) -> anyhow::Result<String> {
    output
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("focal://"))
        .map(str::to_owned)
        .context("token create printed no connection string")
}

async fn create(client: &Client, kind: &str, fields: Value) -> anyhow::Result<String> {
    let record = client
        .records()
        .create(pb::CreateRequest {
            r#type: kind.to_owned(),
            fields_json: fields.to_string(),
            visibility: String::new(),
            language: String::new(),
            request_id: String::new(),
        })
        .await
        .map_err(|s| anyhow::anyhow!("seeding a {kind}: {}", s.message()))?;
    Ok(record.into_inner().id)
}

/// Runs the devnet in `dir` on ports `base_port` … `base_port + 3`, until
/// SIGINT or SIGTERM.
pub fn devnet(dir: PathBuf, base_port: u16) -> anyhow::Result<()> {
    let fresh = !dir.join("SEC").join("node.key").exists();
    std::fs::create_dir_all(&dir)?;
    let codes: Vec<String> = std::iter::once("SEC")
        .chain(MEMBERS)
        .map(str::to_owned)
        .collect();
    let mut nodes = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let addr: SocketAddr = format!("127.0.0.1:{}", base_port + i as u16).parse()?;
        let web: SocketAddr = format!("127.0.0.1:{}", base_port + 80 + i as u16).parse()?;
        for addr in [addr, web] {
            if TcpListener::bind(addr).is_err() {
                bail!(
                    "port {} is in use; choose other ports with --base-port",
                    addr.port()
                );
            }
        }
        nodes.push(DevNode {
            code: code.clone(),
            data: dir.join(code),
            addr,
            web,
            child: None,
            connection: String::new(),
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if fresh {
        println!("Creating a devnet in {} …", dir.display());
        let sec = &nodes[0];
        run_ok(&[
            "init",
            "--data",
            &sec.data.to_string_lossy(),
            "--secretariat",
            "--network",
            "WPS Focal Points Network (devnet)",
        ])?;
        set_listen(&sec.data, sec.addr)?;
        for node in &nodes[1..] {
            run_ok(&[
                "init",
                "--data",
                &node.data.to_string_lossy(),
                "--member",
                &node.code,
            ])?;
            set_listen(&node.data, node.addr)?;
        }
    }
    let mut logins = Vec::new();
    for node in &mut nodes {
        set_web_listen(&node.data, node.web)?;
        logins.push(web_logins(node)?);
        node.connection = connection_from(&run_ok(&[
            "token",
            "create",
            "--data",
            &node.data.to_string_lossy(),
            "--name",
            &format!(
                "devnet-{}",
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ),
            "--role",
            devnet_role(&node.code),
        ])?)?;
    }
    start(&mut nodes[0])?;
    if fresh {
        let admin = nodes[0].connection.clone();
        let sec_addr = nodes[0].addr.to_string();
        for node in &nodes[1..] {
            let request = run_ok(&[
                "join-request",
                "--data",
                &node.data.to_string_lossy(),
                "--endpoint",
                &node.addr.to_string(),
            ])?;
            let request: Value = serde_json::from_str(request.trim())?;
            let answer = runtime.block_on(async {
                let client = client(&admin).await?;
                let mut api =
                    AdminServiceClient::with_interceptor(client.channel(), client.token());
                let answer = api
                    .add_member(pb::AddMemberRequest {
                        member: request["member"].as_str().unwrap_or_default().to_owned(),
                        node_key: request["node_key"].as_str().unwrap_or_default().to_owned(),
                        endpoint: request["endpoint"].as_str().unwrap_or_default().to_owned(),
                    })
                    .await
                    .map_err(|s| anyhow::anyhow!("adding {}: {}", node.code, s.message()))?;
                anyhow::Ok(answer.into_inner())
            })?;
            run_ok(&[
                "join",
                "--data",
                &node.data.to_string_lossy(),
                "--network-id",
                &answer.network_id,
                "--secretariat-key",
                &answer.secretariat_key,
                "--peer",
                &sec_addr,
            ])?;
            println!("  {} joined the network", node.code);
        }
    }
    for node in nodes.iter_mut().skip(1) {
        start(node)?;
    }
    if fresh {
        runtime.block_on(seed(&nodes))?;
    }
    // The handlers exist before convergence is announced: whoever waits for
    // that line (a person, a test) may stop the devnet right after it.
    let (mut term, mut interrupt) = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        anyhow::Ok((
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        ))
    })?;
    runtime.block_on(show_convergence(&nodes))?;
    println!();
    println!(
        "{:<5} {:<16} {:<6} CONNECTION (use with: focal --node '…' list)",
        "NODE", "ADDRESS", "ROLE"
    );
    for node in &nodes {
        println!(
            "{:<5} {:<16} {:<6} {}",
            node.code,
            node.addr,
            devnet_role(&node.code),
            node.connection
        );
    }
    println!();
    println!(
        "SEC's token is an admin (`focal admin …`: membership, keys, roster); the members' \
         are editors (records and views). More with `focal-node token create --data DIR \
         --name NAME --role reader|editor|admin`."
    );
    println!();
    println!("The web app of each node (open it in a browser; sign in with a login below):");
    for (node, logins) in nodes.iter().zip(&logins) {
        let people: Vec<String> = logins
            .iter()
            .map(|(name, role, password)| format!("{role} {name} / {password}"))
            .collect();
        println!(
            "  {:<4} http://{}   {}",
            node.code,
            node.web,
            people.join("   ")
        );
    }
    println!(
        "Passwords are new at every start. More people: focal-node user add NAME --role \
         reader|editor|admin --data DIR"
    );
    println!();
    println!(
        "The devnet runs until Ctrl-C. Logs: {}/*.log; status: focal-node status --data {}/ESP",
        dir.display(),
        dir.display()
    );
    runtime.block_on(async {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    });
    println!("Stopping the devnet …");
    for node in nodes.iter_mut().rev() {
        stop(node);
    }
    Ok(())
}

/// The role of the devnet's token on a node: the secretariat's administers
/// the network (the devnet adds the members with it), the members' write
/// records.
fn devnet_role(code: &str) -> &'static str {
    if code == "SEC" { "admin" } else { "editor" }
}

/// A small, invented data set (no real people).
async fn seed(nodes: &[DevNode]) -> anyhow::Result<()> {
    let sec = client(&nodes[0].connection).await?;
    let meeting = create(
        &sec,
        "meeting",
        json!({"kind": "capital-annual", "title": "Annual capital-level meeting",
               "host": "NAM", "chair": "NAM", "dates": {"start": "2026-04-20", "end": "2026-04-21"},
               "city": "Windhoek", "theme": "Financing National Action Plans"}),
    )
    .await?;
    let decision = create(
        &sec,
        "decision",
        json!({"meeting": meeting, "kind": "commitment", "responsible": "all-members",
               "text": "Members report on the financing of their NAPs at the next meeting.",
               "due": "2027-04-01"}),
    )
    .await?;
    let people = [
        (
            "ESP",
            "Lucía Martín Ferrer",
            "Ministry of Foreign Affairs",
            "es",
        ),
        (
            "NAM",
            "Ndapewa Shilongo",
            "Ministry of Gender Equality",
            "af",
        ),
        ("JPN", "Haruka Sato", "Ministry of Foreign Affairs", "ja"),
    ];
    for (i, (code, person, institution, language)) in people.iter().enumerate() {
        let member = client(&nodes[i + 1].connection).await?;
        create(
            &member,
            "focal-point",
            json!({"person_name": format!("{person} (invented)"),
            "institution": institution, "posting": "capital", "designation": "primary",
            "languages": [language, "en"], "appointed": "2025-01-15"}),
        )
        .await?;
        create(&member, "nap", json!({"kind": "nap", "title": format!("{code} National Action Plan on WPS"),
            "status": "in-force", "generation": 3, "period": {"start": "2023-01-01", "end": "2027-12-31"},
            "pillars": ["participation", "prevention"],
            "budget": {"status": "allocated", "amount": 1_500_000, "currency": "EUR"}})).await?;
        create(
            &member,
            "practice",
            json!({"kind": "best-practice",
            "title": format!("Women mediators roster ({code})"),
            "summary": "A roster of trained women mediators, deployed with each peace initiative.",
            "themes": ["participation-peace-processes", "capacity-building"]}),
        )
        .await?;
        create(
            &member,
            "partnership",
            json!({"organization_name": format!("Invented Women's Network {code}"),
            "organization_type": "womens-organization", "scope": "national",
            "roles": ["drafting", "monitoring"]}),
        )
        .await?;
        create(
            &member,
            "registration",
            json!({"meeting": meeting, "delegates": [person.to_string()],
            "minister_speaking": i == 0}),
        )
        .await?;
        create(
            &member,
            "follow-up",
            json!({"decision": decision, "year": 2026, "status": "met",
            "text": "The NAP financing report was presented to parliament."}),
        )
        .await?;
    }
    let esp = client(&nodes[1].connection).await?;
    create(
        &esp,
        "funding",
        json!({"title": "Support to the NAP secretariat", "donor": "ESP",
        "recipient": "NAM", "channel": "bilateral", "kind": "technical", "amount": 250_000,
        "currency": "EUR", "themes": ["nap-design-monitoring-financing"]}),
    )
    .await?;
    println!("  seeded {} records", 2 + 6 * 3 + 1);
    Ok(())
}

/// Polls every node until all hold the same records, printing progress.
async fn show_convergence(nodes: &[DevNode]) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let mut counts = Vec::new();
        for node in nodes {
            let client = client(&node.connection).await?;
            let page = client
                .records()
                .list(pb::ListRequest {
                    limit: 1000,
                    include_deleted: true,
                    ..Default::default()
                })
                .await
                .map_err(|s| anyhow::anyhow!("{}: {}", node.code, s.message()))?
                .into_inner();
            counts.push(page.total);
        }
        let line: Vec<String> = nodes
            .iter()
            .zip(&counts)
            .map(|(n, c)| format!("{} {c}", n.code))
            .collect();
        if counts.iter().all(|c| *c == counts[0]) && counts[0] > 0 {
            println!(
                "Converged in {:.1} s: every node holds {} records ({})",
                started.elapsed().as_secs_f64(),
                counts[0],
                line.join(", ")
            );
            return Ok(());
        }
        println!("  records per node: {}", line.join(", "));
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the devnet did not converge within 60 s; see the logs");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
