//! The arguments of the record commands: each record type's `add` and `list`
//! subcommands and `focal edit`'s flags, built from the field table in
//! `cli::fields`, the list filters, and the way back from flags (or
//! a JSON object given inline, in a file or on stdin) to the JSON fields the
//! node validates.

use std::io::Read as _;

use crate::cli::fields::{FieldKind, RecordSpec};
use anyhow::{Context as _, bail};
use clap::{Arg, ArgAction, ArgMatches, Args, Command};
use serde_json::{Map, Value};

// Filters shared by the list commands.
#[derive(Debug, Args)]
pub(crate) struct Filter {
    /// Only records with this theme.
    #[arg(long)]
    pub(crate) theme: Option<String>,
    /// Only records with this status.
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// Only records whose text contains this (case-insensitive).
    #[arg(long)]
    pub(crate) search: Option<String>,
    /// Only records owned by this member.
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Include deleted records.
    #[arg(long)]
    pub(crate) include_deleted: bool,
    /// At most this many records (pages are followed as needed); without
    /// it, every record. When it stops a listing that has more, the cursor
    /// to continue with is printed (with --json, on standard error as
    /// {"next": CURSOR}).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) limit: Option<u32>,
    /// Continue a listing after this cursor (printed by a listing that
    /// --limit stopped), with the same filters.
    #[arg(long, value_name = "CURSOR")]
    pub(crate) after: Option<String>,
}

pub(crate) fn record_command(spec: &RecordSpec) -> Command {
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
pub(crate) fn fields_from_matches(
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
pub(crate) fn edit_command(spec: &RecordSpec, id: &str) -> Command {
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
pub(crate) fn merge_into(map: &mut Map<String, Value>, key: String, value: Value) {
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

pub(crate) fn set_path(map: &mut Map<String, Value>, path: &str, value: Value) {
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
pub(crate) fn read_json_object(source: &str) -> anyhow::Result<Map<String, Value>> {
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
