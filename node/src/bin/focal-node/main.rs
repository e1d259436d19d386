//! `focal-node`: run, and administer, one node of the Focal network.

mod devnet;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use focal_node::{
    member::MemberCode, server, server::status::StatusReport, store::datadir::DataDir,
    store::tokens,
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
        #[arg(long, value_name = "CODE", required_unless_present = "secretariat")]
        member: Option<String>,
        /// Found a new network: this node is its secretariat (member SEC),
        /// its key the network's trust anchor.
        #[arg(long, requires = "network")]
        secretariat: bool,
        /// The new network's name (with --secretariat).
        #[arg(long, value_name = "NAME")]
        network: Option<String>,
    },
    /// Print this node's request to join a network, for the secretariat.
    JoinRequest {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// The address other nodes reach this node at (default: the
        /// configured `advertise`, else where it listens).
        #[arg(long, value_name = "HOST:PORT")]
        endpoint: Option<String>,
    },
    /// Configure this node for the network the secretariat added it to
    /// (the values `focal admin member add` printed); restart the node after.
    Join {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// The network id.
        #[arg(long, value_name = "ID")]
        network_id: String,
        /// The secretariat's node key.
        #[arg(long, value_name = "KEY")]
        secretariat_key: String,
        /// The secretariat node's address (repeatable).
        #[arg(long = "peer", value_name = "HOST:PORT", required = true)]
        peers: Vec<String>,
    },
    /// Run a demo network on loopback: a secretariat and three members (ESP,
    /// NAM, JPN) as real processes, joined, seeded with invented data.
    Devnet {
        /// Where the four data directories live (kept between runs).
        #[arg(long, value_name = "DIR", default_value = "focal-devnet")]
        dir: PathBuf,
        /// The secretariat's port; the members use the next three.
        #[arg(long, default_value_t = 7400)]
        base_port: u16,
    },
    /// Show what the running node reports: logs held, peers, lag, refusals.
    Status {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
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
        /// Serve the web app on this address instead of `[web] listen`
        /// (port 0 picks a free port; written to DATA/focal-node.web-addr).
        #[arg(long, value_name = "ADDR")]
        web_listen: Option<std::net::SocketAddr>,
    },
    /// Print the certificates a client app on a stock gRPC stack (Python
    /// grpcio, Node.js @grpc/grpc-js, Go …) trusts as its only roots: the
    /// node key's, and the P-256 one bound to it for stacks without ed25519
    /// (made on first use). The name to expect is `focal-node`.
    ClientCert {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
    /// Create, list and revoke the tokens clients authenticate with.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Add, list, disable and reset the people who use the web app.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Re-check the whole store offline: signatures, hash chains, and that
    /// replaying the log rebuilds every document and projection exactly.
    Verify {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
    /// Back up a node, also while it runs: a consistent copy of its
    /// database and its focal.toml in one file, checked like `verify`.
    /// The node key is not in it: keep DIR/node.key safe separately.
    Backup {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// The backup file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Restore a stopped node from a backup. The backup is checked
    /// (integrity, schema, signatures, hash chains, records) before anything
    /// changes. A node in a network then refuses to write until it has
    /// recovered from a peer the entries it signed after the backup.
    Restore {
        /// The backup file (from `focal-node backup`).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The data directory to restore into (created if missing).
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR")]
        data: PathBuf,
        /// Replace the database already in DIR (it is moved aside, not
        /// deleted).
        #[arg(long)]
        replace: bool,
        /// The node's key file, for a DIR without node.key (the backup does
        /// not contain the key).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// After a fork of this node's key and its rotation: write again, under
    /// the new key, what the entries of the lost branch held. Shows what it
    /// would write; `--confirm` writes it. The node must be stopped.
    RecoverBranch {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Write what is shown.
        #[arg(long)]
        confirm: bool,
    },
    /// Let the node sign without a peer's word: after a restore or a
    /// rollback, without recovering its own later entries; after a start
    /// cut off from its peers, without a peer confirming its heads (once:
    /// the running node, or its next start). Dangerous: read the warning.
    ResumeWrites {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Confirm that no peer can hold entries this node signed that this
        /// directory lacks.
        #[arg(long)]
        confirm: bool,
    },
    /// This node's key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Replace this node's key (the node must be stopped): the old key signs
    /// a hand-over to the new one and the node continues under the new key.
    Rotate {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
    /// Print the hand-over of this node's last rotation again (for the
    /// secretariat's `focal admin key confirm`); works beside a running node.
    Handover {
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
        /// What the token may do: `reader` (read records and views, e.g. a
        /// dashboard), `editor` (also create, edit, delete and import
        /// records), `admin` (also `focal admin`: membership, keys, roster,
        /// replication status; on the secretariat's node it changes the
        /// network). Default: editor.
        #[arg(long, value_enum, default_value_t = tokens::Role::Editor, hide_default_value = true)]
        role: tokens::Role,
        /// The address clients reach the node at (default: where it listens).
        #[arg(long, value_name = "HOST:PORT")]
        address: Option<String>,
    },
    /// List tokens (names, roles and dates, never the secrets).
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

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a person and print the one-time link where they choose their
    /// password (valid three days).
    Add {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Their sign-in name, e.g. `ana.garcia`.
        name: String,
        /// What they may do: `reader` (read records and views), `editor`
        /// (also create, edit and delete this member's records), `admin`
        /// (also manage people and, on the secretariat's node, the
        /// network's membership).
        #[arg(long, value_enum)]
        role: tokens::Role,
        /// The web app's address as people open it (default: `[web]
        /// public_url`, or where the node serves it).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Read the password from standard input instead of printing a
        /// set-up link (scripts; the password is not echoed anywhere).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the people (names, roles, states; never passwords).
    List {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
    /// Disable a person: their sessions end now and they cannot sign in.
    Disable {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Their sign-in name.
        name: String,
    },
    /// Enable a disabled person again.
    Enable {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Their sign-in name.
        name: String,
    },
    /// Forget a person's password (a forgotten one, or one that may be
    /// known to others): their sessions end, and a new one-time link lets
    /// them choose another.
    Reset {
        /// The node's data directory.
        #[arg(long, env = "FOCAL_DATA", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Their sign-in name.
        name: String,
        /// The web app's address as people open it.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Read the new password from standard input instead of printing a
        /// set-up link.
        #[arg(long)]
        password_stdin: bool,
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
        web_listen: None,
    }) {
        Command::Init {
            data,
            member,
            secretariat,
            network,
        } => init(
            data,
            member.as_deref(),
            secretariat.then_some(network).flatten(),
        ),
        Command::JoinRequest { data, endpoint } => join_request(data, endpoint),
        Command::Join {
            data,
            network_id,
            secretariat_key,
            peers,
        } => join(data, &network_id, &secretariat_key, &peers),
        Command::Status { data } => status(data),
        Command::Devnet { dir, base_port } => devnet::devnet(dir, base_port),
        Command::Run {
            data,
            member,
            listen,
            web_listen,
        } => run(data, member.as_deref(), listen, web_listen),
        Command::Token { command } => token(command),
        Command::User { command } => user(command),
        Command::ClientCert { data } => client_cert(data),
        Command::Verify { data } => verify(data),
        Command::Key {
            command: KeyCommand::Rotate { data },
        } => rotate_key(data),
        Command::Key {
            command: KeyCommand::Handover { data },
        } => print_handover(data),
        Command::Backup { data, to } => backup(data, &to),
        Command::Restore {
            from,
            data,
            replace,
            key,
        } => restore(
            data,
            focal_node::ops::backup::RestoreOptions { from, replace, key },
        ),
        Command::ResumeWrites { data, confirm } => resume_writes(data, confirm),
        Command::RecoverBranch { data, confirm } => recover_branch(data, confirm),
    }
}

fn recover_branch(data: PathBuf, confirm: bool) -> anyhow::Result<()> {
    let dir = DataDir::new(&data);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(focal_node::ops::branch::recover_branch(&dir, confirm))?;
    if report.forks.is_empty() {
        println!("No fork of this node's keys is proven here: nothing to recover.");
        return Ok(());
    }
    for (origin, audience, seq) in &report.forks {
        println!(
            "Lost branch: {}",
            focal_node::ops::branch::describe(origin, *audience, *seq)
        );
    }
    println!(
        "{} entries of the lost branch read; {} records to write again:",
        report.entries,
        report.recoveries.len()
    );
    for (i, r) in report.recoveries.iter().enumerate() {
        println!("  {}", r.id);
        for line in &r.summary {
            println!("      {line}");
        }
        match report.written.get(i) {
            Some(Ok(id)) if *id != r.id => println!("      written as {id}"),
            Some(Ok(_)) => println!("      written"),
            Some(Err(why)) => println!("      NOT WRITTEN: {why}"),
            None => {}
        }
    }
    for why in &report.skipped {
        println!("  skipped: {why}");
    }
    let failed = report.written.iter().filter(|w| w.is_err()).count();
    if !confirm {
        println!(
            "Nothing was written. Review the above, then run again with --confirm to write it \
             under this node's current key."
        );
    } else if failed > 0 {
        anyhow::bail!("{failed} records were not written again");
    } else {
        println!(
            "Wrote {} records again under this node's key; start the node to send them.",
            report.written.len()
        );
    }
    Ok(())
}

fn print_handover(data: PathBuf) -> anyhow::Result<()> {
    let (_, db, node_key, _) = DataDir::new(&data).open_database(true)?;
    let text = focal_node::ops::rotate::stored_handover(db.conn())?;
    let Some(text) = text else {
        anyhow::bail!("this node's key ({node_key}) was never rotated: there is no hand-over");
    };
    let h = focal_node::handover::Handover::from_hex(&text)?;
    println!(
        "Hand-over of {} from key {} to key {} (last entries: network {}, secretariat {}).",
        h.member, h.from, h.to, h.last_network, h.last_secretariat
    );
    println!("The secretariat's operator confirms it with:");
    println!("  focal admin key confirm {text}");
    Ok(())
}

fn rotate_key(data: PathBuf) -> anyhow::Result<()> {
    let dir = DataDir::new(&data);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let done = runtime.block_on(focal_node::ops::rotate::rotate(&dir))?;
    let h = &done.handover;
    println!("Rotated the node key of {}.", done.member);
    println!(
        "  old key  {} (its last entries: network {}, secretariat {}; key file kept at {} \
         until you destroy it)",
        h.from,
        h.last_network,
        h.last_secretariat,
        done.retired.display()
    );
    println!("  new key  {}", h.to);
    println!("Next:");
    if done.anchor {
        println!(
            "  1. Start the node. The hand-over is already in the roster (signed by the old \
             anchor key): every node follows it from the genesis key and accepts the new key \
             as the roster reaches it; focal.toml's secretariat_key stays the genesis key \
             everywhere."
        );
    } else {
        println!(
            "  1. The secretariat's operator confirms the hand-over:\n       focal admin key \
             confirm {}",
            h.to_hex()
        );
        println!(
            "  2. Start the node. Peers accept the new key once the secretariat's roster \
             change reaches them; until then its connections are refused."
        );
    }
    println!(
        "  Clients pin the node key: give them new connection strings (key={}), e.g. with \
         `focal-node token create`.",
        h.to
    );
    Ok(())
}

fn init(data: PathBuf, member: Option<&str>, network: Option<String>) -> anyhow::Result<()> {
    let member: MemberCode = match (member, &network) {
        (Some(code), _) => code.parse()?,
        (None, _) => focal_node::member::SECRETARIAT_CODE.parse()?,
    };
    if network.is_some() && member.kind() != focal_node::member::MemberKind::Secretariat {
        anyhow::bail!("--secretariat founds a network for member SEC, not {member}");
    }
    let dir = DataDir::new(data);
    let report = dir.init(&member)?;
    if let Some(name) = network {
        let network_id = found_network(&dir, &name)?;
        println!("Founded network `{name}` (id {network_id}); this node is its secretariat.");
        println!("  Add members with: focal admin member add --request '<their join request>'");
    }
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
    web_listen: Option<std::net::SocketAddr>,
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
    // Logging first, so that opening (which migrates the database) is logged.
    let level = focal_node::base::config::Config::load(&dir.config_path())
        .map_or_else(|_| "info".to_owned(), |config| config.log_level);
    init_logging(&level);
    let mut node = dir.open()?;
    if let Some(listen) = listen {
        node.config.listen = listen;
    }
    if let Some(listen) = web_listen {
        node.config.web.listen = listen;
        if let Some(problem) = node.config.web.problem() {
            anyhow::bail!("--web-listen {listen}: {problem}");
        }
    }
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
            role,
            address,
        } => {
            let dir = DataDir::new(data);
            let (config, db, node_id, member) = dir.open_database(false)?;
            let token = tokens::create(db.conn(), &name, role)?;
            let address = match address {
                Some(address) => address,
                None => client_address(&dir, config.listen),
            };
            println!(
                "Created token `{name}` (role: {role}) for {member}'s node. Give this to the \
                 client (it is shown once):"
            );
            println!();
            println!(
                "  {}",
                connection_string(&address, &node_id.to_string(), &token)
            );
            println!();
            println!("Use it with: focal --node '<the string above>' info");
            println!(
                "Apps on stock gRPC stacks (Python, Node.js) also need the node's certificates: \
                 focal-node client-cert --data {}",
                dir.root().display()
            );
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
                    Some(when) => println!(
                        "{:<24} {:<6}  created {}  revoked {when}",
                        t.name, t.role, t.created
                    ),
                    None => println!(
                        "{:<24} {:<6}  created {}  active",
                        t.name, t.role, t.created
                    ),
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

fn user(command: UserCommand) -> anyhow::Result<()> {
    use focal_node::store::users;
    let link = |dir: &DataDir, config: &focal_node::base::config::Config, url: Option<String>| {
        let base = url
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| config.web.base_url(web_address(dir, config.web.listen)));
        move |secret: &str| format!("{base}/setup?token={secret}")
    };
    match command {
        UserCommand::Add {
            data,
            name,
            role,
            url,
            password_stdin,
        } => {
            let dir = DataDir::new(data);
            let (config, db, _, member) = dir.open_database(false)?;
            let password = password_stdin.then(read_password).transpose()?;
            let secret = users::add(db.conn(), &name, role, users::now())?;
            if let Some(phc) = password {
                users::set_password(db.conn(), &name, &phc, users::now())?;
                println!("Added `{name}` ({role}) to {member}'s web app, with the password given.");
                return Ok(());
            }
            println!(
                "Added `{name}` ({role}) to {member}'s web app. Send them this link, where they \
                 choose their password (it works once, for three days):"
            );
            println!();
            println!("  {}", link(&dir, &config, url)(&secret));
            if !config.web.enabled {
                println!();
                println!("The web app is off on this node: set `enabled = true` under [web].");
            }
            Ok(())
        }
        UserCommand::List { data } => {
            let (_, db, _, _) = DataDir::new(data).open_database(true)?;
            let all = users::list(db.conn())?;
            if all.is_empty() {
                println!(
                    "No users. Add one with `focal-node user add NAME --role reader|editor|admin`."
                );
            }
            let now = users::now();
            for u in all {
                let state = match (u.disabled, u.password_set, u.setup_expires) {
                    (Some(_), ..) => "disabled".to_owned(),
                    (None, true, _) => "active".to_owned(),
                    (None, false, Some(until)) if until > now => {
                        format!("set-up link valid until {}", rfc3339(until))
                    }
                    (None, false, _) => "set-up link expired (`focal-node user reset`)".to_owned(),
                };
                println!(
                    "{:<24} {:<6}  added {}  {state}  {} session(s)",
                    u.name,
                    u.role,
                    rfc3339(u.created),
                    u.sessions
                );
            }
            Ok(())
        }
        UserCommand::Disable { data, name } => {
            let (_, db, _, _) = DataDir::new(data).open_database(false)?;
            users::set_disabled(db.conn(), &name, true, users::now())?;
            println!("Disabled `{name}`: their sessions have ended and they cannot sign in.");
            Ok(())
        }
        UserCommand::Enable { data, name } => {
            let (_, db, _, _) = DataDir::new(data).open_database(false)?;
            users::set_disabled(db.conn(), &name, false, users::now())?;
            println!("Enabled `{name}` again.");
            Ok(())
        }
        UserCommand::Reset {
            data,
            name,
            url,
            password_stdin,
        } => {
            let dir = DataDir::new(data);
            let (config, db, _, _) = dir.open_database(false)?;
            if password_stdin {
                let phc = read_password()?;
                users::set_password(db.conn(), &name, &phc, users::now())?;
                println!("Reset `{name}`: their sessions have ended; the password given is set.");
                return Ok(());
            }
            let secret = users::reset(db.conn(), &name, users::now())?;
            println!(
                "Reset `{name}`: their password no longer works and their sessions have ended. \
                 Send them this link to choose a new one (it works once, for three days):"
            );
            println!();
            println!("  {}", link(&dir, &config, url)(&secret));
            Ok(())
        }
    }
}

/// A password read from standard input (one line), checked and hashed.
fn read_password() -> anyhow::Result<String> {
    use focal_node::store::users;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    match users::password_problem(password, "") {
        Some(users::PasswordProblem::TooShort) => anyhow::bail!(
            "the password must have at least {} characters",
            users::MIN_PASSWORD_CHARS
        ),
        Some(_) => anyhow::bail!("the password is too long"),
        None => Ok(users::hash_password(password)?),
    }
}

/// Where the running node serves its web app (`focal-node.web-addr`), or
/// the configured address.
fn web_address(dir: &DataDir, configured: std::net::SocketAddr) -> std::net::SocketAddr {
    std::fs::read_to_string(dir.root().join(focal_node::web::ADDR_FILE))
        .ok()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(configured)
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Prints the PEM certificates stock clients pin (P-256 first, then the node
/// key's) on standard output, and how to use them on standard error.
fn client_cert(data: PathBuf) -> anyhow::Result<()> {
    use focal_node::{identity::NodeKey, net::tls};
    let dir = DataDir::new(data);
    let (_, _, node_id, member) = dir.open_database(true)?;
    let key = NodeKey::load_file(&dir.key_path())?;
    if key.id() != node_id {
        anyhow::bail!(
            "{} holds key {}, but the database belongs to key {node_id} (a key rotation is \
             unfinished): start the node once, then run this again",
            dir.key_path().display(),
            key.id()
        );
    }
    let (p256, provenance) = tls::ClientCertificate::load_or_issue(dir.root(), &key)?;
    if let Some(notice) = provenance.notice() {
        eprintln!("{notice}");
    }
    print!(
        "{}{}",
        p256.pem(),
        tls::pem_certificate(&tls::node_certificate(&key)?)
    );
    eprintln!(
        "These are the certificates of {member}'s node (key {node_id}): the node key's own, and \
         an ECDSA P-256 one bound to it for clients without ed25519. A client app trusts them as \
         its only root certificates, expects the name `{}` (grpc.ssl_target_name_override), and \
         sends `authorization: Bearer TOKEN` (a token from `focal-node token create`); see \
         \"Connecting from Python and Node.js\" in deploy/OPERATIONS.md.",
        focal_client::transport::NODE_CERT_NAME
    );
    Ok(())
}

/// Writes the genesis, configures the network and puts the secretariat
/// itself in the roster.
fn found_network(dir: &DataDir, name: &str) -> anyhow::Result<String> {
    use focal_node::{
        base::config::set_network_keys,
        engine::writer::{NetworkContext, Writer},
        identity::NodeKey,
        network::Genesis,
        roster::add_member_patch,
        store::{Store, StoreOptions},
    };
    let key = NodeKey::load_file(&dir.key_path())?;
    let genesis = Genesis::found(
        name,
        key.signing_key(),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    );
    let network_id = genesis.network_id();
    let config_path = dir.config_path();
    let text = std::fs::read_to_string(&config_path)?;
    let text = set_network_keys(
        &text,
        &[
            ("id", format!("{network_id:?}")),
            ("secretariat_key", format!("{:?}", key.id().to_string())),
        ],
    );
    std::fs::write(&config_path, text)?;
    let config = focal_node::base::config::Config::load(&config_path)?;
    let store = Store::open(
        &dir.database_path(),
        &StoreOptions {
            busy_timeout_ms: config.storage.busy_timeout_ms,
            create: false,
        },
    )?;
    store.set_meta("genesis", &hex::encode(genesis.encode()))?;
    store.set_meta("network_id", &network_id)?;
    let (writer, thread) = Writer::spawn(
        store,
        key.signing_key().clone(),
        focal_node::member::SECRETARIAT_CODE.parse()?,
        NetworkContext::new(Some(key.id()), Some(network_id.clone()))
            .with_limits(config.limits.clone()),
    )?;
    let endpoint = config
        .network
        .advertise
        .clone()
        .unwrap_or_else(|| config.listen.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        writer
            .change_roster(add_member_patch(
                &focal_node::member::SECRETARIAT_CODE.parse()?,
                &key.id(),
                &endpoint,
            ))
            .await?;
        writer.shutdown().await;
        anyhow::Ok(())
    })?;
    drop(writer);
    let store = thread
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
    store.close()?;
    Ok(network_id)
}

fn join_request(data: PathBuf, endpoint: Option<String>) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let (config, _, node_id, member) = dir.open_database(true)?;
    let endpoint = endpoint
        .or(config.network.advertise.clone())
        .unwrap_or_else(|| client_address(&dir, config.listen));
    let request = serde_json::json!({
        "member": member.to_string(),
        "node_key": node_id.to_string(),
        "endpoint": endpoint,
    });
    println!("{request}");
    eprintln!(
        "Send this line to the network's secretariat; it runs `focal admin member add --request '<line>'`."
    );
    Ok(())
}

fn join(
    data: PathBuf,
    network_id: &str,
    secretariat_key: &str,
    peers: &[String],
) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let path = dir.config_path();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let peers_toml = format!(
        "[{}]",
        peers
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let text = focal_node::base::config::set_network_keys(
        &text,
        &[
            ("id", format!("{network_id:?}")),
            ("secretariat_key", format!("{secretariat_key:?}")),
            ("peers", peers_toml),
        ],
    );
    // Check before writing: a bad id or key is reported, not stored.
    focal_node::base::config::Config::parse(&text, &path)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Configured {} for network {network_id}.", path.display());
    println!(
        "Restart the node; it will replicate with {}.",
        peers.join(", ")
    );
    Ok(())
}

fn status(data: PathBuf) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let status = StatusReport::read(dir.root())?;
    let short = |text: &str, n: usize| text.chars().take(n).collect::<String>();
    let or_dash = |text: Option<&str>| text.unwrap_or("-").to_owned();
    println!("member:  {}", status.member);
    println!("key:     {}", status.node_key);
    println!("network: {}", or_dash(status.network.as_deref()));
    println!("as of:   {}", status.updated);
    if status.writes_fenced {
        println!(
            "WRITES REFUSED: {}; waiting to recover this node's own later entries from every \
             active node in the roster (see `focal-node resume-writes`)",
            status
                .fence_reason
                .as_deref()
                .unwrap_or("restored from a backup")
        );
    }
    if status.start_check_pending {
        println!(
            "WRITES WAITING: just started; no peer has confirmed yet that it holds no newer \
             entries of this node's own logs (a rolled-back data directory would sign sequence \
             numbers twice). Writes proceed once a peer answers; if this directory is current \
             and must work offline: focal-node resume-writes --data {} --confirm",
            dir.root().display()
        );
    }
    println!("logs held: {}", status.logs.len());
    for log in &status.logs {
        println!(
            "  {}… {:<11} seq {}",
            short(&log.origin, 12),
            log.audience,
            log.seq
        );
    }
    println!("peers:");
    println!(
        "  {:<8} {:<22} {:<9} {:<26} {:>8} {:>8} {:>8} {:>9}  LAST ERROR",
        "MEMBER",
        "ENDPOINT",
        "STATE",
        "LAST CONTACT",
        "ACCEPTED",
        "REJECTED",
        "WE LACK",
        "THEY LACK"
    );
    for peer in &status.peers {
        let last_error = peer.last_error.as_deref().unwrap_or("");
        let error = match &peer.unreachable_since {
            Some(since) => format!("unreachable since {since}: {last_error}"),
            None => last_error.to_owned(),
        };
        println!(
            "  {:<8} {:<22} {:<9} {:<26} {:>8} {:>8} {:>8} {:>9}  {}",
            peer.member,
            peer.endpoint,
            if peer.connected { "connected" } else { "down" },
            or_dash(peer.last_contact.as_deref()),
            peer.accepted,
            peer.rejected,
            peer.we_lack.max(peer.catching_up),
            peer.they_lack,
            error
        );
    }
    for key in &status.quarantined {
        println!("QUARANTINED (equivocation): {key}");
    }
    for fork in &status.forks {
        if fork.own {
            println!(
                "WRITES REFUSED: THIS NODE'S KEY FORKED: it signed two different entries at entry \
                 {} of its {} log (a restored, rolled-back or copied data directory does this). \
                 Every node keeps that log up to entry {}; this key signs nothing more. Rotate the \
                 key (`focal-node key rotate`), then `focal-node recover-branch` (OPERATIONS.md, \
                 \"Forks\").",
                fork.seq, fork.audience, fork.stands_up_to
            );
        } else {
            println!(
                "FORK PROVEN: key {} signed two different entries at entry {} of its {} log; \
                 its log stands up to entry {}",
                fork.origin, fork.seq, fork.audience, fork.stands_up_to
            );
        }
    }
    if !status.dropped.is_empty() {
        println!(
            "changes dropped by key cut-offs ({} in all; newest first):",
            status.dropped_total
        );
        for d in &status.dropped {
            println!(
                "  {}  record {}: change {}… of entry {} ({}) of key {}…: {}",
                d.at,
                d.record,
                short(&d.change, 12),
                d.seq,
                d.audience,
                short(&d.origin, 16),
                d.reason
            );
        }
    }
    if !status.refusal_counts.is_empty() {
        println!("refused entries, by peer and reason:");
        for c in &status.refusal_counts {
            println!(
                "  {:>9}  {} from {}  ({} … {})",
                c.count, c.reason, c.peer, c.first_at, c.last_at
            );
        }
    }
    if !status.rejections.is_empty() {
        println!("recent refusals (newest first):");
        for r in &status.rejections {
            println!(
                "  {}  from {}: entry {} of {}…: {}",
                r.at,
                r.peer,
                r.seq,
                short(&r.origin, 12),
                r.reason
            );
        }
    }
    Ok(())
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
    let mut progress = focal_node::base::progress::Progress::stderr();
    let result = focal_node::ops::verify::verify_snapshot(conn, |stage, done, total| {
        progress.update(&format!("verifying {stage}"), done, total);
    });
    match result {
        Ok(report) => {
            println!("OK: {report} (node {member}, key {node_id})");
            Ok(())
        }
        Err(problem) => anyhow::bail!("verification failed: {problem}"),
    }
}

fn backup(data: PathBuf, to: &std::path::Path) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let mut progress = focal_node::base::progress::Progress::stderr();
    let report = focal_node::ops::backup::backup(&dir, to, &mut |stage, done, total| {
        progress.update(stage, done, total)
    })?;
    println!(
        "Backed up {}'s node (key {}) to {}: {} bytes, schema version {}.",
        report.info.member,
        report.info.node_key,
        to.display(),
        report.bytes,
        report.info.schema_version
    );
    println!("  checked: {}", report.verified);
    println!(
        "  it holds the database and focal.toml, not the node key: keep {} safe separately",
        dir.key_path().display()
    );
    Ok(())
}

fn restore(data: PathBuf, options: focal_node::ops::backup::RestoreOptions) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let mut progress = focal_node::base::progress::Progress::stderr();
    let report = focal_node::ops::backup::restore(&dir, &options, &mut |stage, done, total| {
        progress.update(stage, done, total)
    })?;
    let info = &report.backup.info;
    println!(
        "Restored {}'s node (key {}) into {} from {} (taken at {}).",
        info.member,
        info.node_key,
        dir.root().display(),
        options.from.display(),
        info.taken_at
    );
    println!("  checked: {}", report.backup.verified);
    if let Some(aside) = &report.moved_aside {
        println!(
            "  the database that was there is kept at {}",
            aside.display()
        );
    }
    if report.wrote_config {
        println!("  focal.toml: from the backup");
    } else {
        println!("  focal.toml: the directory's own, kept");
    }
    if report.wrote_key {
        println!(
            "  node.key: copied from {}",
            options
                .key
                .as_deref()
                .unwrap_or(std::path::Path::new("?"))
                .display()
        );
    }
    if report.fenced {
        println!(
            "  This node is in a network, and may have signed entries after the backup that \
             its peers hold. Until it has recovered them from a peer it refuses local writes \
             (signing again from the backup's heads would be equivocation)."
        );
    }
    println!("Next: focal-node run --data {}", dir.root().display());
    Ok(())
}

fn resume_writes(data: PathBuf, confirm: bool) -> anyhow::Result<()> {
    const WARNING: &str = "\
WARNING: a node restored from a backup, or whose data directory was rolled
back to an older copy (a VM snapshot, a copied directory), may have signed
entries that this directory lacks. Its peers hold them. If it signs again
before it has them back, it signs a second, different entry with a sequence
number it already used: a fork (equivocation). Its peers prove it, every node
cuts this node's log back to the entry before the fork (what either branch
held beyond it leaves every node's records), and this key signs nothing more:
the member must rotate its key and write the lost records again (`focal-node
recover-branch`; OPERATIONS.md, \"Forks\"). Confirm only if no peer can hold
a newer entry of this node: this directory is the node's latest (never
restored, copied back or snapshot-rolled), or every peer has been checked
(`focal-node status` on them: this node's log heads).";
    let dir = DataDir::new(data);
    let standing = focal_node::ops::resume::standing(&dir)?;
    let (member, node_id) = (&standing.member, standing.key);
    eprintln!("{WARNING}");
    if !confirm {
        match &standing.restored {
            Some(restored) => anyhow::bail!(
                "{member}'s node was {restored}; it still refuses writes. Run again with \
                 --confirm to resume them anyway"
            ),
            None => anyhow::bail!(
                "after each start, {member}'s node signs nothing until a peer confirms that it \
                 holds no newer entries of this node's logs. Run again with --confirm to let it \
                 sign without that (once: the running node, or its next start)"
            ),
        }
    }
    let restored = focal_node::ops::resume::vouch(&dir)?.restored;
    match restored {
        Some(restored) => println!(
            "Writes resumed on {member}'s node (key {node_id}) by the operator, without \
             recovering its own later entries from a peer (it was {restored})."
        ),
        None => println!(
            "{member}'s node (key {node_id}) signs without waiting for a peer's confirmation: \
             the running node from its next write, else at its next start (once)."
        ),
    }
    Ok(())
}

/// Completes on the first SIGINT or SIGTERM.
/// Registers the SIGTERM and SIGINT handlers now (before the node announces
/// its address, so a signal sent as soon as it listens is never the default
/// kill) and resolves on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = int.recv() => tracing::info!("SIGINT received"),
                }
            }
            (term, int) => {
                for err in [term.err(), int.err()].into_iter().flatten() {
                    tracing::error!(%err, "cannot listen for a stop signal");
                }
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("SIGINT received");
            }
        }
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
