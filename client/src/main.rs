//! `focal`: the command-line client of a Focal node.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use focal_client::NodeTarget;
use focal_proto::v1::{GetInfoRequest, node_service_client::NodeServiceClient};

#[derive(Debug, Parser)]
#[command(
    name = "focal",
    version,
    about = "Work with the records of the WPS Focal Points Network through your node."
)]
struct Cli {
    /// The node's address, host:port.
    #[arg(
        long,
        global = true,
        env = "FOCAL_NODE",
        default_value = "127.0.0.1:7400"
    )]
    node: String,
    /// The node's public key (64 hex digits), as printed by `focal-node init`.
    #[arg(long, global = true, env = "FOCAL_NODE_KEY")]
    node_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show which member and key the node speaks for.
    Info,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let key_hex = cli
        .node_key
        .context("the node's key is needed to verify it: pass --node-key or set FOCAL_NODE_KEY")?;
    let mut node_key = [0u8; 32];
    hex::decode_to_slice(key_hex.trim(), &mut node_key)
        .with_context(|| format!("--node-key `{key_hex}` is not 64 hex digits"))?;
    let target = NodeTarget {
        address: cli.node,
        node_key,
    };
    let channel = focal_client::connect(&target).await?;
    match cli.command {
        Command::Info => {
            let info = NodeServiceClient::new(channel)
                .get_info(GetInfoRequest {})
                .await?
                .into_inner();
            println!("member:         {}", info.member);
            println!("node key:       {}", info.node_key);
            println!("version:        {}", info.version);
            println!("schema version: {}", info.schema_version);
        }
    }
    Ok(())
}
