//! `focal`: the command-line client of a Focal node.
//!
//! Record types are subcommands (`focal practice add --theme …`), built from
//! the field table in `cli::fields`; everything else is fixed. This
//! file parses the arguments and dispatches each command to its family in
//! [`cli`].

use std::{path::PathBuf, process::ExitCode};

use crate::cli::fields::{RECORD_SPECS, spec};
use anyhow::Context as _;
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

mod cli;

use cli::{admin, network, node, record_args, records, transfer, views};

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
        command: admin::AdminCommand,
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
        command: network::NetworkCommand,
    },
}

fn command_line() -> Command {
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
    let matches = command_line().get_matches();
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
    let json = global.json;
    match fixed {
        Fixed::Info => node::info(&client, json).await?,
        Fixed::List { kind, filter } => {
            records::list(&client, json, kind.unwrap_or_default(), filter).await?
        }
        Fixed::Show { id } => records::show(&client, id, json).await?,
        Fixed::History { id } => records::history(&client, id, json).await?,
        Fixed::Edit { id, args } => records::edit(&client, id, args, json).await?,
        Fixed::Delete { id } => records::delete(&client, id, json).await?,
        Fixed::Watch { kind } => records::watch(&client, kind, json).await?,
        Fixed::Export { out } => transfer::export(&client, &out).await?,
        Fixed::Admin { command } => admin::run(&client, command, json).await?,
        Fixed::Network {
            command: network::NetworkCommand::Peers,
        } => network::peers(&client, json).await?,
        Fixed::Import { file } => transfer::import(&client, &file, json).await?,
        Fixed::View { command } => {
            views::check_formats(json, &command)?;
            views::run(&client, command, json).await?
        }
    }
    Ok(())
}
