//! `focal-node`: run, and administer, one node of the Focal network.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use focal_node::{
    datadir::DataDir,
    member::MemberCode,
    server::{self},
};
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
