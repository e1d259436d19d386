//! The node this CLI talks to: where it is and how to authenticate (flags,
//! environment, config file), what it says about itself (`focal info`), and
//! how its refusals read to a user.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use focal_client::{Client, ConnectionString, NodeTarget};

// Where the node is and the access token, valid for every command. (A doc
// comment here would become part of `focal --help`.)
#[derive(Debug, Args)]
pub(crate) struct NodeOptions {
    /// The node: a connection string (focal://HOST:PORT?key=…&token=…, from
    /// `focal-node token create`) or HOST:PORT with --node-key.
    #[arg(long, global = true, env = "FOCAL_NODE", hide_env_values = true)]
    node: Option<String>,
    /// The node's public key (64 hex digits), if --node is HOST:PORT.
    #[arg(long, global = true, env = "FOCAL_NODE_KEY")]
    node_key: Option<String>,
    /// The access token, if not in the connection string.
    #[arg(long, global = true, env = "FOCAL_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// The most a client accepts in one message from its node: the node cuts
/// pages and export parts to its `server.max_message_bytes` (4 MiB by
/// default), which an operator may raise.
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Where the node is and how to authenticate: flags, then environment (both
/// via clap), then `$FOCAL_CONFIG` or `~/.config/focal/config.toml`
/// (`node = "focal://…"`).
pub(crate) async fn connect(options: &NodeOptions) -> anyhow::Result<Client> {
    let node = match &options.node {
        Some(node) => node.trim().to_owned(),
        None => config_file_node()?.context(
            "which node? pass --node focal://… (from `focal-node token create`), set FOCAL_NODE, \
             or put node = \"focal://…\" in ~/.config/focal/config.toml",
        )?,
    };
    let (address, mut node_key, mut token) = if node.starts_with("focal://") {
        let parsed = ConnectionString::parse(&node)?;
        (parsed.address, Some(parsed.node_key), parsed.token)
    } else {
        (node, None, None)
    };
    if let Some(hex_key) = &options.node_key {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut key)
            .with_context(|| format!("--node-key `{hex_key}` is not 64 hex digits"))?;
        node_key = Some(key);
    }
    if options.token.is_some() {
        token = options.token.clone();
    }
    let node_key = node_key.context(
        "the node's key is needed to verify it: use the connection string from \
         `focal-node token create`, or pass --node-key",
    )?;
    let target = NodeTarget { address, node_key };
    Ok(Client::connect(&target, token.as_deref()).await?)
}

fn config_file_node() -> anyhow::Result<Option<String>> {
    let path = match std::env::var_os("FOCAL_CONFIG") {
        Some(path) => PathBuf::from(path),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".config/focal/config.toml"),
            None => return Ok(None),
        },
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    for line in text.lines() {
        if let Some(value) = line.trim().strip_prefix("node")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return Ok(Some(value.trim().trim_matches('"').to_owned()));
        }
    }
    bail!("{} has no `node = \"focal://…\"` line", path.display())
}

/// The node's answer, without the transport noise.
pub(crate) fn explain(status: tonic::Status) -> anyhow::Error {
    match status.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
            anyhow::anyhow!("not allowed: {}", status.message())
        }
        tonic::Code::Unavailable => {
            anyhow::anyhow!("the node is unreachable: {}", status.message())
        }
        _ => anyhow::anyhow!("{}", status.message()),
    }
}

/// `focal info`: which member and key the node speaks for.
pub(crate) async fn info(client: &Client, json: bool) -> anyhow::Result<()> {
    let info = client.info().await.map_err(explain)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"member": info.member, "node_key": info.node_key,
                "version": info.version, "schema_version": info.schema_version})
        );
    } else {
        println!("member:         {}", info.member);
        println!("node key:       {}", info.node_key);
        println!("version:        {}", info.version);
        println!("schema version: {}", info.schema_version);
    }
    Ok(())
}
