//! `focal admin …`: the secretariat's commands (members, the roster, node
//! keys), through the node's admin service.

use anyhow::Context as _;
use clap::Subcommand;
use focal_client::Client;
use focal_proto::v1 as pb;
use serde_json::Value;

use super::{node::explain, record_args::read_json_object};

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Members of the network.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Print the roster: members, their keys and endpoints.
    Roster,
    /// Node keys: revoke a compromised one, confirm a rotation.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Revoke a compromised key, clock-free: its entries up to the cut-off
    /// stay valid, later ones are refused and dropped on every node.
    Revoke {
        /// The key (64 hex digits).
        key: String,
        /// Last valid entry of its network log (default: the last this node
        /// holds).
        #[arg(long, value_name = "SEQ")]
        last_network: Option<u64>,
        /// Last valid entry of its secretariat log (default: the last this
        /// node holds).
        #[arg(long, value_name = "SEQ")]
        last_secretariat: Option<u64>,
    },
    /// Confirm a member's key rotation: the hand-over `focal-node key
    /// rotate` printed on the member's node.
    Confirm {
        /// The hand-over (hex).
        handover: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Add a member's node to the roster, from its join request
    /// (`focal-node join-request`) or from --member, --key and --endpoint.
    Add {
        /// The join request line (or a file holding it).
        #[arg(long, value_name = "JSON|FILE", conflicts_with_all = ["member", "key", "endpoint"])]
        request: Option<String>,
        /// The member code.
        #[arg(long, required_unless_present = "request")]
        member: Option<String>,
        /// The member node's key (64 hex digits).
        #[arg(long, required_unless_present = "request")]
        key: Option<String>,
        /// Where the member node is reached (host:port).
        #[arg(long, required_unless_present = "request")]
        endpoint: Option<String>,
    },
    /// Suspend a member: its keys are refused at the handshake, its records
    /// stay readable.
    Suspend {
        /// The member code.
        member: String,
    },
    /// Readmit a suspended member.
    Readmit {
        /// The member code.
        member: String,
    },
    /// Remove a member: its keys are revoked at the entries this node holds.
    Remove {
        /// The member code.
        member: String,
    },
    /// Set where a member's node is reached (no restart needed anywhere).
    Endpoints {
        /// The member code.
        member: String,
        /// host:port, one or more.
        #[arg(required = true)]
        endpoints: Vec<String>,
    },
}

/// `focal admin …`: a membership change, or the roster, or adding a member.
pub(crate) async fn run(client: &Client, command: AdminCommand, json: bool) -> anyhow::Result<()> {
    let mut api = focal_proto::v1::admin_service_client::AdminServiceClient::with_interceptor(
        client.channel(),
        client.token(),
    );
    use pb::change_membership_request::Change;
    let change = match command {
        AdminCommand::Member {
            command: MemberCommand::Suspend { member },
        } => Ok(Change::Suspend(member)),
        AdminCommand::Member {
            command: MemberCommand::Readmit { member },
        } => Ok(Change::Readmit(member)),
        AdminCommand::Member {
            command: MemberCommand::Remove { member },
        } => Ok(Change::Remove(member)),
        AdminCommand::Member {
            command: MemberCommand::Endpoints { member, endpoints },
        } => Ok(Change::SetEndpoints(pb::SetEndpoints { member, endpoints })),
        AdminCommand::Key {
            command:
                KeyCommand::Revoke {
                    key,
                    last_network,
                    last_secretariat,
                },
        } => Ok(Change::RevokeKey(pb::RevokeKey {
            node_key: key,
            last_network,
            last_secretariat,
        })),
        AdminCommand::Key {
            command: KeyCommand::Confirm { handover },
        } => Ok(Change::ConfirmHandover(handover)),
        other => Err(other),
    };
    let command = match change {
        Ok(change) => return change_membership(client, change, json).await,
        Err(command) => command,
    };
    match command {
        AdminCommand::Roster => {
            let roster = api
                .get_roster(pb::GetRosterRequest {})
                .await
                .map_err(explain)?
                .into_inner();
            let value: Value = serde_json::from_str(&roster.json)?;
            if json {
                println!("{value}");
                return Ok(());
            }
            println!(
                "{:<8} {:<10} {:<66} ENDPOINTS",
                "MEMBER", "STATUS", "KEY (status)"
            );
            for (code, member) in value.as_object().into_iter().flatten() {
                for (key, status) in member["keys"].as_object().into_iter().flatten() {
                    println!(
                        "{:<8} {:<10} {:<66} {}",
                        code,
                        member["status"].as_str().unwrap_or("-"),
                        format!("{key} ({})", status.as_str().unwrap_or("-")),
                        member["endpoints"]
                            .as_array()
                            .map(|e| e
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default()
                    );
                }
            }
        }
        AdminCommand::Member {
            command:
                MemberCommand::Add {
                    request,
                    member,
                    key,
                    endpoint,
                },
        } => {
            let (member, key, endpoint) = match request {
                Some(source) => {
                    let request = read_json_object(&source).context(
                        "the join request is the JSON line `focal-node join-request` prints",
                    )?;
                    let field = |name: &str| {
                        request
                            .get(name)
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .with_context(|| format!("the join request has no `{name}`"))
                    };
                    (field("member")?, field("node_key")?, field("endpoint")?)
                }
                None => (
                    member.unwrap_or_default(),
                    key.unwrap_or_default(),
                    endpoint.unwrap_or_default(),
                ),
            };
            let answer = api
                .add_member(pb::AddMemberRequest {
                    member: member.clone(),
                    node_key: key,
                    endpoint,
                })
                .await
                .map_err(explain)?
                .into_inner();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"network_id": answer.network_id,
                        "secretariat_key": answer.secretariat_key,
                        "secretariat_endpoints": answer.secretariat_endpoints})
                );
            } else {
                println!(
                    "Added {member} to the roster. Its operator runs, then restarts the node:"
                );
                let peers: Vec<String> = answer
                    .secretariat_endpoints
                    .iter()
                    .map(|e| format!("--peer {e}"))
                    .collect();
                println!(
                    "  focal-node join --network-id {} --secretariat-key {} {}",
                    answer.network_id,
                    answer.secretariat_key,
                    peers.join(" ")
                );
            }
        }
        AdminCommand::Member { .. } | AdminCommand::Key { .. } => {}
    }
    Ok(())
}

async fn change_membership(
    client: &Client,
    change: pb::change_membership_request::Change,
    json: bool,
) -> anyhow::Result<()> {
    let mut api = focal_proto::v1::admin_service_client::AdminServiceClient::with_interceptor(
        client.channel(),
        client.token(),
    );
    let answer = api
        .change_membership(pb::ChangeMembershipRequest {
            change: Some(change),
        })
        .await
        .map_err(explain)?
        .into_inner();
    if json {
        println!(
            "{}",
            serde_json::json!({"summary": answer.summary, "next": answer.next})
        );
    } else {
        println!("{}.", answer.summary);
        println!("Next: {}.", answer.next);
    }
    Ok(())
}
