//! `focal`: the command-line client of a Focal node.
//!
//! Record types are subcommands (`focal practice add --theme …`), built from
//! the field table in `focal_client::fields`; everything else is fixed.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context as _, bail};
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};
use focal_client::{
    Client,
    fields::{RECORD_SPECS, spec},
};
use focal_proto::v1 as pb;
use serde_json::{Map, Value};
use tokio_stream::StreamExt as _;

mod cli;

use cli::{
    node::{self, MAX_MESSAGE_BYTES, explain},
    output::record_json,
    record_args::{self, read_json_object},
    records, views,
};

// The options valid for every command: where the node is, and --json. (A
// doc comment here would become `focal --help`'s description.)
#[derive(Debug, Args)]
struct Global {
    #[command(flatten)]
    node: node::NodeOptions,
    /// Print JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    json: bool,
}

// The commands that are not per record type. (A doc comment here would
// become `focal --help`'s description.)
#[derive(Debug, Subcommand)]
enum Fixed {
    /// Show which member and key the node speaks for.
    Info,
    /// List records of any type.
    List {
        /// Only this record type.
        #[arg(long = "type")]
        kind: Option<String>,
        #[command(flatten)]
        filter: record_args::Filter,
    },
    /// Show one record.
    Show {
        /// The record id (OWNER:type:suffix).
        id: String,
    },
    /// Every change of a record: when, signed by which key, which fields.
    History {
        /// The record id.
        id: String,
    },
    /// Change fields of a record: `focal edit ID --status in-force --title "…"`.
    #[command(disable_help_flag = true)]
    Edit {
        /// The record id.
        id: String,
        /// Field flags of the record's type, `--clear FLAG` to remove an
        /// optional field, `--patch JSON` for a JSON merge patch, `--lang`
        /// for the language of text flags: `focal edit ID --help` lists them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Delete a record (a tombstone: its history is kept).
    Delete {
        /// The record id.
        id: String,
    },
    /// Print changes as they are committed, until Ctrl-C.
    Watch {
        /// Only this record type.
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Write this member's records to DIR: records.json, and one standard
    /// Automerge document per record in DIR/automerge/.
    Export {
        /// The directory to write (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Create records from a records.json written by `focal export`.
    Import {
        /// The records.json file.
        file: PathBuf,
    },
    /// Administer the network (on the secretariat's node).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Network-wide views: `directory`, `naps`, `practices`, `funding`,
    /// `follow-up`, `meeting ID`; tables, --json or --csv.
    View {
        #[command(subcommand)]
        command: views::ViewCommand,
    },
    /// The network as this node sees it.
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
}

#[derive(Debug, Subcommand)]
enum NetworkCommand {
    /// Each peer: connected or not, last contact, entries received and
    /// refused, catch-up progress, the last error.
    Peers,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
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
enum KeyCommand {
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
enum MemberCommand {
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

fn cli() -> Command {
    let mut cmd = Command::new("focal")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Work with the records of the WPS Focal Points Network through your node.")
        .subcommand_required(true)
        .arg_required_else_help(true);
    cmd = Global::augment_args(cmd);
    cmd = Fixed::augment_subcommands(cmd);
    for spec in RECORD_SPECS {
        cmd = cmd.subcommand(record_args::record_command(spec));
    }
    cmd
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
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
    match runtime.block_on(run(matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(matches: ArgMatches) -> anyhow::Result<()> {
    let global = Global::from_arg_matches(&matches)?;
    let (name, sub) = matches.subcommand().context("a command is required")?;
    if let Some(spec) = spec(name) {
        let client = node::connect(&global.node).await?;
        return records::record_command_run(&client, global.json, spec, sub).await;
    }
    let fixed = Fixed::from_arg_matches(&matches)?;
    // `focal edit ID --help` and argument errors need no node.
    if let Fixed::Edit { id, args } = &fixed
        && let Some(spec) = spec(id.split(':').nth(1).unwrap_or_default())
        && let Err(err) = record_args::edit_command(spec, id).try_get_matches_from(args)
    {
        err.exit();
    }
    let client = node::connect(&global.node).await?;
    match fixed {
        Fixed::Info => node::info(&client, global.json).await?,
        Fixed::List { kind, filter } => {
            records::list(&client, global.json, kind.unwrap_or_default(), filter).await?
        }
        Fixed::Show { id } => records::show(&client, id, global.json).await?,
        Fixed::History { id } => records::history(&client, id, global.json).await?,
        Fixed::Edit { id, args } => records::edit(&client, id, args, global.json).await?,
        Fixed::Delete { id } => records::delete(&client, id, global.json).await?,
        Fixed::Watch { kind } => records::watch(&client, kind, global.json).await?,
        Fixed::Export { out } => export(&client, &out).await?,
        Fixed::Admin { command } => admin(&client, command, global.json).await?,
        Fixed::Network {
            command: NetworkCommand::Peers,
        } => network_peers(&client, global.json).await?,
        Fixed::Import { file } => import(&client, &file, global.json).await?,
        Fixed::View { command } => {
            views::check_formats(global.json, &command)?;
            views::run(&client, command, global.json).await?
        }
    }
    Ok(())
}

/// `focal export`: writes each record as it arrives: its document to
/// DIR/automerge/ (in parts when the node sent it in parts), and its JSON
/// to DIR/records.json.partial, renamed to records.json once the export is
/// complete (an interrupted export leaves no records.json that looks
/// whole).
async fn export(client: &Client, out: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let docs = out.join("automerge");
    std::fs::create_dir_all(&docs).with_context(|| format!("cannot create {}", docs.display()))?;
    let mut stream = client
        .records()
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .export(pb::ExportRequest {})
        .await
        .map_err(explain)?
        .into_inner();
    let json_path = out.join("records.json");
    let partial = out.join("records.json.partial");
    let cannot_write = |path: &Path| format!("cannot write {}", path.display());
    let mut json = std::io::BufWriter::new(
        std::fs::File::create(&partial).with_context(|| cannot_write(&partial))?,
    );
    // A document whose parts are still coming.
    let mut open: Option<(PathBuf, std::fs::File)> = None;
    let mut count = 0usize;
    json.write_all(b"[")
        .with_context(|| cannot_write(&partial))?;
    while let Some(item) = stream.next().await {
        let item = item.map_err(explain)?;
        match (item.record, open.take()) {
            (Some(record), None) => {
                let file = docs.join(format!("{}.automerge", record.id.replace(':', "_")));
                let mut doc = std::fs::File::create(&file).with_context(|| cannot_write(&file))?;
                doc.write_all(&item.automerge)
                    .with_context(|| cannot_write(&file))?;
                if item.more {
                    open = Some((file, doc));
                }
                // The layout of `serde_json::to_string_pretty` of the
                // whole array, one element at a time (JSON strings hold no
                // raw line breaks).
                let pretty = serde_json::to_string_pretty(&record_json(&record))?;
                let sep = if count == 0 { "\n  " } else { ",\n  " };
                json.write_all(format!("{sep}{}", pretty.replace('\n', "\n  ")).as_bytes())
                    .with_context(|| cannot_write(&partial))?;
                count += 1;
            }
            (None, Some((file, mut doc))) => {
                doc.write_all(&item.automerge)
                    .with_context(|| cannot_write(&file))?;
                if item.more {
                    open = Some((file, doc));
                }
            }
            (Some(record), Some((file, _))) => bail!(
                "the node's export broke off in the middle of {} and went on with {}",
                file.display(),
                record.id
            ),
            (None, None) => bail!("the node sent part of a document without its record"),
        }
    }
    if let Some((file, _)) = open {
        bail!("the export ended in the middle of {}", file.display());
    }
    json.write_all(if count == 0 { b"]" } else { b"\n]" })
        .and_then(|()| json.flush())
        .with_context(|| cannot_write(&partial))?;
    drop(json);
    std::fs::rename(&partial, &json_path).with_context(|| cannot_write(&json_path))?;
    println!(
        "Exported {count} records to {} and {}/ (Automerge save() format)",
        json_path.display(),
        docs.display()
    );
    Ok(())
}

async fn import(client: &Client, file: &Path, json: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let Value::Array(items) =
        serde_json::from_str(&text).context("records.json is not valid JSON")?
    else {
        bail!(
            "{} must hold a JSON array of records, as `focal export` writes",
            file.display()
        );
    };
    let mut created = Vec::new();
    let mut failed = 0;
    for (index, item) in items.into_iter().enumerate() {
        let Value::Object(mut map) = item else {
            bail!("item {index} is not a record object");
        };
        if map.get("deleted").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let kind = map
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let visibility = map
            .get("visibility")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let old_id = map
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        map.retain(|k, _| !focal_proto::ENVELOPE_KEYS.contains(&k.as_str()));
        match client
            .records()
            .create(pb::CreateRequest {
                r#type: kind,
                fields_json: Value::Object(map).to_string(),
                visibility,
                language: String::new(),
                request_id: String::new(),
            })
            .await
        {
            Ok(record) => created.push((old_id, record.into_inner().id)),
            Err(status) => {
                failed += 1;
                let label = if old_id.is_empty() {
                    format!("item {index}")
                } else {
                    format!("item {index} ({old_id})")
                };
                eprintln!("{label} not imported: {}", status.message());
            }
        }
    }
    if json {
        let map: Map<String, Value> = created
            .iter()
            .map(|(a, b)| (a.clone(), Value::String(b.clone())))
            .collect();
        println!("{}", Value::Object(map));
    } else {
        for (old, new) in &created {
            println!("{old} -> {new}");
        }
        println!("Imported {} records ({failed} refused).", created.len());
    }
    if failed > 0 {
        bail!("{failed} records were not imported");
    }
    Ok(())
}

async fn admin(client: &Client, command: AdminCommand, json: bool) -> anyhow::Result<()> {
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

async fn network_peers(client: &Client, json: bool) -> anyhow::Result<()> {
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
