//! `focal`: the command-line client of a Focal node.
//!
//! Record types are subcommands (`focal practice add --theme …`), built from
//! the field table in `focal_client::fields`; everything else is fixed.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context as _, bail};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, Subcommand};
use focal_client::{
    Client,
    fields::{FieldKind, RECORD_SPECS, RecordSpec, spec},
};
use focal_proto::v1 as pb;
use serde_json::{Map, Value};
use tokio_stream::StreamExt as _;

mod cli;

use cli::{
    node::{self, MAX_MESSAGE_BYTES, explain},
    output::{Output, print_record, print_written, record_json},
    views,
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
        filter: Filter,
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

// Filters shared by the list commands.
#[derive(Debug, Args)]
struct Filter {
    /// Only records with this theme.
    #[arg(long)]
    theme: Option<String>,
    /// Only records with this status.
    #[arg(long)]
    status: Option<String>,
    /// Only records whose text contains this (case-insensitive).
    #[arg(long)]
    search: Option<String>,
    /// Only records owned by this member.
    #[arg(long)]
    owner: Option<String>,
    /// Include deleted records.
    #[arg(long)]
    include_deleted: bool,
    /// At most this many records (pages are followed as needed); without
    /// it, every record. When it stops a listing that has more, the cursor
    /// to continue with is printed (with --json, on standard error as
    /// {"next": CURSOR}).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Continue a listing after this cursor (printed by a listing that
    /// --limit stopped), with the same filters.
    #[arg(long, value_name = "CURSOR")]
    after: Option<String>,
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
        cmd = cmd.subcommand(record_command(spec));
    }
    cmd
}

fn record_command(spec: &RecordSpec) -> Command {
    let add = Command::new("add")
        .about(format!("Create a {} record", spec.name))
        .args(field_args(spec))
        .arg(
            Arg::new("from-json")
                .long("from-json")
                .value_name("JSON|FILE|-")
                .help("Fields as a JSON object (flags given too override it)"),
        )
        .arg(
            Arg::new("visibility")
                .long("visibility")
                .value_parser(["network", "secretariat", "local"])
                .default_value("network")
                .help("Who may read the record"),
        )
        .arg(
            Arg::new("lang")
                .long("lang")
                .default_value("en")
                .help("Language of the multilingual text given in flags"),
        )
        .arg(
            Arg::new("request-id")
                .long("request-id")
                .value_name("ID")
                .help(
                    "Your id for this create (a UUID, say): run the same command again with \
                     the same id and the node answers the record the first run made instead \
                     of creating a second one (safe retries)",
                ),
        );
    let list =
        Filter::augment_args(Command::new("list").about(format!("List {} records", spec.name)));
    Command::new(spec.name)
        .about(spec.about)
        .subcommand_required(true)
        .subcommand(add)
        .subcommand(list)
}

fn field_args(spec: &RecordSpec) -> Vec<Arg> {
    spec.fields
        .iter()
        .map(|field| {
            let arg = Arg::new(field.path)
                .long(field.flag)
                .help(field.help)
                .value_name(match field.kind {
                    FieldKind::Int => "N",
                    FieldKind::Number => "AMOUNT",
                    FieldKind::Bool => "true|false",
                    FieldKind::Date => "YYYY-MM-DD",
                    FieldKind::Json => "JSON",
                    _ => "TEXT",
                });
            let arg = if matches!(field.kind, FieldKind::Int | FieldKind::Number) {
                // So that `--amount -100` reaches the node, which explains
                // why a negative amount is wrong.
                arg.allow_negative_numbers(true)
            } else {
                arg
            };
            if field.kind == FieldKind::List {
                arg.action(ArgAction::Append)
            } else {
                arg.action(ArgAction::Set)
            }
        })
        .collect()
}

/// The fields given as flags, as a JSON object (nested by dotted paths).
/// With `edit_lang`, multilingual text becomes a patch of that one language
/// (`{"en": {"text": …}}`), so editing one translation keeps the others.
fn fields_from_matches(
    spec: &RecordSpec,
    matches: &ArgMatches,
    edit_lang: Option<&str>,
) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for field in spec.fields {
        let values: Vec<&String> = match matches.get_many::<String>(field.path) {
            Some(values) => values.collect(),
            None => continue,
        };
        let flag = field.flag;
        let text = values.last().map(|s| s.as_str()).unwrap_or_default();
        let value = match field.kind {
            FieldKind::LText => match edit_lang {
                Some(lang) => serde_json::json!({ lang: { "text": text } }),
                None => Value::String(text.to_owned()),
            },
            FieldKind::Text | FieldKind::Date => Value::String(text.to_owned()),
            FieldKind::List => {
                Value::Array(values.iter().map(|v| Value::String((*v).clone())).collect())
            }
            FieldKind::Int => Value::from(
                text.trim()
                    .parse::<i64>()
                    .with_context(|| format!("--{flag} `{text}` is not a whole number"))?,
            ),
            FieldKind::Number => {
                if text.contains(',') {
                    bail!(
                        "--{flag} `{text}`: write numbers without thousands separators and with \
                         a dot for decimals, e.g. 1250000.50"
                    );
                }
                let n: f64 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("--{flag} `{text}` is not a number"))?;
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .with_context(|| format!("--{flag} `{text}` is not a finite number"))?
            }
            FieldKind::Bool => Value::Bool(match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => true,
                "false" | "no" | "n" | "0" => false,
                _ => bail!("--{flag} `{text}` is not true or false"),
            }),
            // Structured fields take JSON; anything that is not JSON is taken
            // as a plain string (`--donor ESP`), which the node may accept in
            // place of the structure.
            FieldKind::Json => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
            }
        };
        set_path(&mut out, field.path, value);
    }
    Ok(out)
}

/// The `focal edit ID …` arguments for a record type.
fn edit_command(spec: &RecordSpec, id: &str) -> Command {
    let flags: Vec<_> = spec.fields.iter().map(|f| f.flag).collect();
    Command::new(format!("focal edit {id}"))
        .no_binary_name(true)
        .about(format!(
            "Change fields of a {} record; others stay as they are",
            spec.name
        ))
        .args(field_args(spec))
        .arg(
            Arg::new("patch")
                .long("patch")
                .value_name("JSON|FILE|-")
                .help("A JSON merge patch of the fields (null removes); `-` reads stdin"),
        )
        .arg(
            Arg::new("clear")
                .long("clear")
                .value_name("FIELD")
                .action(ArgAction::Append)
                .help(format!(
                    "Remove an optional field (repeatable): {}",
                    flags.join(", ")
                )),
        )
        .arg(
            Arg::new("lang")
                .long("lang")
                .value_name("LANG")
                .help("Language of the text flags (default en); other languages are kept"),
        )
}

/// Inserts `value` at top-level `key`, merging objects (so that two flags
/// of one nested object both land).
fn merge_into(map: &mut Map<String, Value>, key: String, value: Value) {
    match (map.get_mut(&key), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                merge_into(existing, k, v);
            }
        }
        (_, value) => {
            map.insert(key, value);
        }
    }
}

fn set_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(inner) = child {
                set_path(inner, rest, value);
            }
        }
    }
}

/// A JSON object from inline text, a file, or stdin (`-`).
fn read_json_object(source: &str) -> anyhow::Result<Map<String, Value>> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else if source.trim_start().starts_with('{') {
        source.to_owned()
    } else {
        std::fs::read_to_string(source).with_context(|| format!("cannot read {source}"))?
    };
    match serde_json::from_str(&text).context("not valid JSON")? {
        Value::Object(map) => Ok(map),
        _ => bail!("expected a JSON object"),
    }
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
        return record_command_run(&client, &global, spec, sub).await;
    }
    let fixed = Fixed::from_arg_matches(&matches)?;
    // `focal edit ID --help` and argument errors need no node.
    if let Fixed::Edit { id, args } = &fixed
        && let Some(spec) = spec(id.split(':').nth(1).unwrap_or_default())
        && let Err(err) = edit_command(spec, id).try_get_matches_from(args)
    {
        err.exit();
    }
    let client = node::connect(&global.node).await?;
    match fixed {
        Fixed::Info => node::info(&client, global.json).await?,
        Fixed::List { kind, filter } => {
            list(&client, &global, kind.unwrap_or_default(), filter).await?
        }
        Fixed::Show { id } => {
            let record = client
                .records()
                .get(pb::GetRequest { id })
                .await
                .map_err(explain)?
                .into_inner();
            print_record(&record, global.json)?;
        }
        Fixed::History { id } => {
            let history = client
                .records()
                .history(pb::HistoryRequest { id })
                .await
                .map_err(explain)?
                .into_inner();
            if global.json {
                let items: Vec<Value> = history
                    .entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({"time": e.time, "signer": e.signer, "member": e.member,
                            "seq": e.seq, "audience": e.audience, "action": e.action,
                            "fields": e.fields, "change_hash": e.change_hash})
                    })
                    .collect();
                println!("{}", Value::Array(items));
            } else {
                println!(
                    "{:<20}  {:<7}  {:<16}  {:>5}  FIELDS",
                    "TIME", "ACTION", "SIGNED BY", "SEQ"
                );
                for e in history.entries {
                    println!(
                        "{:<20}  {:<7}  {:<16}  {:>5}  {}",
                        e.time,
                        e.action,
                        format!("{} {}", e.member, &e.signer[..8.min(e.signer.len())]),
                        e.seq,
                        e.fields.join(", ")
                    );
                }
            }
        }
        Fixed::Edit { id, args } => {
            let kind = id.split(':').nth(1).unwrap_or_default().to_owned();
            let spec = spec(&kind).with_context(|| {
                format!("`{id}` is not a record id (OWNER:type:suffix); `focal list` shows ids")
            })?;
            let edit = edit_command(spec, &id);
            let matches = match edit.clone().try_get_matches_from(&args) {
                Ok(matches) => matches,
                Err(err) => err.exit(),
            };
            let lang = matches
                .get_one::<String>("lang")
                .cloned()
                .unwrap_or_else(|| "en".to_owned());
            let mut body = match matches.get_one::<String>("patch") {
                Some(source) => read_json_object(source)?,
                None => Map::new(),
            };
            for (k, v) in fields_from_matches(spec, &matches, Some(&lang))? {
                merge_into(&mut body, k, v);
            }
            for name in matches.get_many::<String>("clear").into_iter().flatten() {
                let field = spec
                    .fields
                    .iter()
                    .find(|f| f.flag == name || f.path == name)
                    .with_context(|| {
                        let flags: Vec<_> = spec.fields.iter().map(|f| f.flag).collect();
                        format!(
                            "--clear {name}: a {} has no such field; use one of: {}",
                            spec.name,
                            flags.join(", ")
                        )
                    })?;
                set_path(&mut body, field.path, Value::Null);
            }
            if body.is_empty() {
                bail!(
                    "nothing to change: give field flags (see `focal edit {id} --help`), --patch or --clear"
                );
            }
            let before = client
                .records()
                .get(pb::GetRequest { id: id.clone() })
                .await
                .map_err(explain)?
                .into_inner();
            let record = client
                .records()
                .update(pb::UpdateRequest {
                    id,
                    patch_json: Value::Object(body).to_string(),
                    language: lang,
                })
                .await
                .map_err(explain)?
                .into_inner();
            let verb = if record.heads == before.heads {
                "Unchanged"
            } else {
                "Updated"
            };
            print_written(verb, &record, global.json);
        }
        Fixed::Delete { id } => {
            let record = client
                .records()
                .delete(pb::DeleteRequest { id })
                .await
                .map_err(explain)?
                .into_inner();
            print_written("Deleted", &record, global.json);
        }
        Fixed::Watch { kind } => {
            let mut stream = client
                .records()
                .watch(pb::WatchRequest {
                    r#type: kind.unwrap_or_default(),
                })
                .await
                .map_err(explain)?
                .into_inner();
            while let Some(event) = stream.next().await {
                let event = event.map_err(explain)?;
                let record = event.record.unwrap_or_default();
                if global.json {
                    println!(
                        "{}",
                        serde_json::json!({"action": event.action, "record": record_json(&record)})
                    );
                } else {
                    println!(
                        "{:<8} {}  {}  {}",
                        event.action, record.updated, record.id, record.title
                    );
                }
            }
        }
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

async fn record_command_run(
    client: &Client,
    global: &Global,
    spec: &RecordSpec,
    matches: &ArgMatches,
) -> anyhow::Result<()> {
    match matches.subcommand() {
        Some(("add", sub)) => {
            let mut fields = match sub.get_one::<String>("from-json") {
                Some(source) => read_json_object(source)?,
                None => Map::new(),
            };
            for (k, v) in fields_from_matches(spec, sub, None)? {
                fields.insert(k, v);
            }
            let record = client
                .records()
                .create(pb::CreateRequest {
                    r#type: spec.name.to_owned(),
                    fields_json: Value::Object(fields).to_string(),
                    visibility: sub
                        .get_one::<String>("visibility")
                        .cloned()
                        .unwrap_or_default(),
                    language: sub.get_one::<String>("lang").cloned().unwrap_or_default(),
                    request_id: sub
                        .get_one::<String>("request-id")
                        .cloned()
                        .unwrap_or_default(),
                })
                .await
                .map_err(explain)?
                .into_inner();
            print_written("Created", &record, global.json);
            Ok(())
        }
        Some(("list", sub)) => {
            let filter = Filter::from_arg_matches(sub)?;
            list(client, global, spec.name.to_owned(), filter).await
        }
        _ => bail!(
            "use `focal {} add` or `focal {} list`",
            spec.name,
            spec.name
        ),
    }
}

/// Records asked for per page (the node's most).
const LIST_PAGE: u32 = 1000;

/// `focal list`: follows the node's pages, printing each as it arrives,
/// until the end or `--limit`.
async fn list(
    client: &Client,
    global: &Global,
    kind: String,
    filter: Filter,
) -> anyhow::Result<()> {
    let mut api = client
        .records()
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let mut request = pb::ListRequest {
        r#type: kind,
        theme: filter.theme.unwrap_or_default(),
        status: filter.status.unwrap_or_default(),
        search: filter.search.unwrap_or_default(),
        owner: filter.owner.unwrap_or_default(),
        include_deleted: filter.include_deleted,
        limit: LIST_PAGE,
        offset: 0,
        after: filter.after.clone().unwrap_or_default(),
    };
    let wanted = filter.limit.map(u64::from);
    let mut out = Output::stdout();
    let mut shown = 0u64;
    let mut total = None;
    let mut width = 0;
    let mut first = true;
    let next = loop {
        if let Some(wanted) = wanted {
            request.limit = (wanted - shown).min(u64::from(LIST_PAGE)) as u32;
        }
        let page = if request.limit == 0 {
            // `--limit 0`: nothing asked for; say only whether any match.
            pb::ListResponse::default()
        } else {
            api.list(request.clone())
                .await
                .map_err(explain)?
                .into_inner()
        };
        if std::mem::take(&mut first) {
            total = (request.after.is_empty()).then_some(page.total);
            if global.json {
                out.write("[")?;
            } else if page.records.is_empty() {
                out.line("No records.")?;
            } else {
                width = page
                    .records
                    .iter()
                    .map(|r| r.id.len())
                    .max()
                    .unwrap_or(2)
                    .max(2);
                out.line(&format!(
                    "{:<width$}  {:<12}  {:<12}  {:<24}  TITLE",
                    "ID", "TYPE", "STATUS", "UPDATED"
                ))?;
            }
        }
        for (i, r) in page.records.iter().enumerate() {
            if global.json {
                let comma = if shown == 0 && i == 0 { "" } else { "," };
                out.write(&format!("{comma}{}", record_json(r)))?;
            } else {
                let json: Value = serde_json::from_str(&r.json).unwrap_or_default();
                let status = json.get("status").and_then(Value::as_str).unwrap_or("-");
                let mut deleted = if r.deleted { " (deleted)" } else { "" }.to_owned();
                if !r.owner_standing.is_empty() {
                    deleted.push_str(&format!(" ({} {})", r.owner, r.owner_standing));
                }
                out.line(&format!(
                    "{:<width$}  {:<12}  {:<12}  {:<24}  {}{deleted}",
                    r.id, r.r#type, status, r.updated, r.title
                ))?;
            }
        }
        out.flush()?;
        shown += page.records.len() as u64;
        if page.next.is_empty() {
            break None;
        }
        if wanted.is_some_and(|wanted| shown >= wanted) {
            break Some(page.next);
        }
        request.after = page.next;
    };
    if global.json {
        out.line("]")?;
        if let Some(next) = next {
            eprintln!("{}", serde_json::json!({ "next": next }));
        }
    } else if let Some(next) = next {
        let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
        out.line(&format!(
            "({shown}{of} shown; continue with --after {next})"
        ))?;
    }
    out.flush()
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
