//! `focal-node`: run, and administer, one node of the Focal network.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use focal_node::{datadir::DataDir, member::MemberCode, server, tokens};
use tracing_subscriber::EnvFilter;

/// The data directory used when none is given.
const DEFAULT_DATA_DIR: &str = "focal-data";

#[derive(Debug, Parser)]
#[command(
    name = "focal-node",
    version,
    about = "A node of the WPS Focal Points Network: holds one member's records and replicates them.",
    long_about = "A node of the WPS Focal Points Network: holds one member's records and \
                  replicates them.\n\nWithout a command, runs the node in ./focal-data, \
                  creating it on first use."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new node: its key, its configuration and its database.
    Init {
        /// The data directory to create (it may exist, but must not hold a key).
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR")]
        data: PathBuf,
        /// The member this node belongs to: ISO 3166-1 alpha-3 (ESP, NAM),
        /// a regional organization's code (AU, EU, NATO …) or SEC.
        #[arg(long, value_name = "CODE")]
        member: String,
    },
    /// Run the node until SIGINT or SIGTERM.
    Run {
        /// The node's data directory. Without it, ./focal-data is used and
        /// created on first use.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR")]
        data: Option<PathBuf>,
        /// Member code for a data directory created on first use (default:
        /// ZZZ, a user-assigned code for demos).
        #[arg(long, value_name = "CODE")]
        member: Option<String>,
        /// Listen on this address instead of the one in focal.toml
        /// (port 0 picks a free port; the node writes the address it got to
        /// DATA/focal-node.addr).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Create, list and revoke the tokens clients authenticate with.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Re-check the whole store offline: signatures, hash chains, and that
    /// replaying the log rebuilds every document and projection exactly.
    Verify {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print the connection string a client needs.
    Create {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// A name for the token (who or what uses it), e.g. `maria-laptop`.
        #[arg(long)]
        name: String,
        /// The address clients reach the node at (default: where it listens).
        #[arg(long, value_name = "HOST:PORT")]
        address: Option<String>,
    },
    /// List tokens (names and dates, never the secrets).
    List {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
    /// Revoke a token; clients using it are refused from the next request on.
    Revoke {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    // ring is Focal's only crypto provider; install it before any TLS use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command.unwrap_or(Command::Run {
        data: None,
        member: None,
        listen: None,
    }) {
        Command::Init { data, member } => init(data, &member),
        Command::Run {
            data,
            member,
            listen,
        } => run(data, member.as_deref(), listen),
        Command::Token { command } => token(command),
        Command::Verify { data } => verify(data),
    }
}

fn init(data: PathBuf, member: &str) -> anyhow::Result<()> {
    let member: MemberCode = member.parse()?;
    let dir = DataDir::new(data);
    let report = dir.init(&member)?;
    println!(
        "Initialised a focal-node for {member} in {}",
        dir.root().display()
    );
    println!("  node key:  {}", report.node_id);
    println!(
        "  key file:  {} (keep it private; back it up)",
        dir.key_path().display()
    );
    if report.wrote_config {
        println!("  config:    {}", dir.config_path().display());
    } else {
        println!(
            "  config:    {} (kept as it was)",
            dir.config_path().display()
        );
    }
    println!("Next: focal-node run --data {}", dir.root().display());
    Ok(())
}

fn run(
    data: Option<PathBuf>,
    member: Option<&str>,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let dir = match data {
        Some(path) => DataDir::new(path),
        None => {
            let dir = DataDir::new(DEFAULT_DATA_DIR);
            if !dir.is_initialised() {
                let member = match member {
                    Some(code) => code.parse()?,
                    None => MemberCode::demo(),
                };
                let report = dir.init(&member).with_context(|| {
                    format!("cannot create the default data directory {DEFAULT_DATA_DIR}")
                })?;
                eprintln!(
                    "Created a new node for {member} in ./{DEFAULT_DATA_DIR} (node key {}).",
                    report.node_id
                );
            }
            dir
        }
    };
    let mut node = dir.open()?;
    if let Some(listen) = listen {
        node.config.listen = listen;
    }
    init_logging(&node.config.log_level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = server::bind(&node).await?;
        server::serve(node, listener, shutdown_signal()).await?;
        Ok(())
    })
}

fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            data,
            name,
            address,
        } => {
            let dir = DataDir::new(data);
            let (config, db, node_id, member) = dir.open_database(false)?;
            let token = tokens::create(db.conn(), &name)?;
            let address = match address {
                Some(address) => address,
                None => client_address(&dir, config.listen),
            };
            println!(
                "Created token `{name}` for {member}'s node. Give this to the client (it is shown once):"
            );
            println!();
            println!(
                "  {}",
                connection_string(&address, &node_id.to_string(), &token)
            );
            println!();
            println!("Use it with: focal --node '<the string above>' info");
            Ok(())
        }
        TokenCommand::List { data } => {
            let (_, db, _, _) = DataDir::new(data).open_database(true)?;
            let all = tokens::list(db.conn())?;
            if all.is_empty() {
                println!("No tokens. Create one with `focal-node token create --name NAME`.");
            }
            for t in all {
                match t.revoked {
                    Some(when) => println!("{:<24} created {}  revoked {when}", t.name, t.created),
                    None => println!("{:<24} created {}  active", t.name, t.created),
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { data, name } => {
            let (_, db, _, _) = DataDir::new(data).open_database(false)?;
            tokens::revoke(db.conn(), &name)?;
            println!("Revoked token `{name}`; clients using it are refused from now on.");
            Ok(())
        }
    }
}

/// Where a client on this machine reaches the node: the running node's
/// actual address if it runs, else the configured one (an unspecified IP
/// becomes loopback).
fn client_address(dir: &DataDir, listen: std::net::SocketAddr) -> String {
    if let Ok(text) = std::fs::read_to_string(dir.addr_path())
        && let Ok(addr) = text.trim().parse::<std::net::SocketAddr>()
    {
        return addr.to_string();
    }
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr.to_string()
}

/// `focal://HOST:PORT?key=NODE_KEY&token=TOKEN`: everything a client needs
/// to reach and verify the node, in one string.
fn connection_string(address: &str, node_key: &str, token: &str) -> String {
    format!("focal://{address}?key={node_key}&token={token}")
}

fn verify(data: PathBuf) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let (_, db, node_id, member) = dir.open_database(true)?;
    let conn = db.conn();
    // One read transaction: a consistent snapshot even if the node runs.
    conn.execute_batch("BEGIN")?;
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = focal_node::verify::verify(conn, |stage, done, total| {
        if interactive {
            eprint!("\rverifying {stage}: {done}/{total}   ");
            if done == total {
                eprintln!();
            }
        } else if done == total || done % 10_000 == 0 {
            eprintln!("verifying {stage}: {done}/{total}");
        }
    });
    let _ = conn.execute_batch("ROLLBACK");
    match result {
        Ok(report) => {
            println!(
                "OK: {} entries in {} logs verified, {} records rebuilt from the log and matching                  (node {member}, key {node_id})",
                report.entries, report.logs, report.documents
            );
            Ok(())
        }
        Err(problem) => anyhow::bail!("verification failed: {problem}"),
    }
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::error!(%err, "cannot listen for SIGTERM; stop the node with SIGINT");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
