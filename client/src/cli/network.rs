//! `focal network …`: the network as this node sees it.

use clap::Subcommand;
use focal_client::Client;
use focal_proto::v1 as pb;
use serde_json::Value;

use super::node::explain;

#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Each peer: connected or not, last contact, entries received and
    /// refused, catch-up progress, the last error.
    Peers,
}

/// `focal network peers`: each peer as this node sees it.
pub(crate) async fn peers(client: &Client, json: bool) -> anyhow::Result<()> {
    let mut api = focal_proto::v1::admin_service_client::AdminServiceClient::with_interceptor(
        client.channel(),
        client.token(),
    );
    let status = api
        .get_status(pb::GetStatusRequest {})
        .await
        .map_err(explain)?
        .into_inner();
    let status: Value = serde_json::from_str(&status.json)?;
    if json {
        println!("{}", status["peers"]);
        return Ok(());
    }
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    println!(
        "{:<7} {:<22} {:<10} {:<25} {:>9} {:>9} {:>9}  LAST ERROR",
        "MEMBER", "ENDPOINT", "STATE", "LAST CONTACT", "RECEIVED", "REFUSED", "BEHIND"
    );
    for peer in status["peers"].as_array().into_iter().flatten() {
        println!(
            "{:<7} {:<22} {:<10} {:<25} {:>9} {:>9} {:>9}  {}",
            text(&peer["member"]),
            text(&peer["endpoint"]),
            if peer["connected"].as_bool() == Some(true) {
                "connected"
            } else {
                "down"
            },
            text(&peer["last_contact"]),
            peer["accepted"].as_u64().unwrap_or(0),
            peer["rejected"].as_u64().unwrap_or(0),
            peer["catching_up"].as_u64().unwrap_or(0),
            peer["last_error"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
