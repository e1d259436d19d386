//! The record commands: `focal TYPE add|list`, `list`, `show`, `history`,
//! `edit`, `delete` and `watch`. The node validates every write; these only
//! turn arguments into requests and answers into output.

use anyhow::{Context as _, bail};
use clap::{ArgMatches, FromArgMatches as _};
use focal_client::Client;
use focal_proto::v1 as pb;
use serde_json::{Map, Value};
use tokio_stream::StreamExt as _;

use super::{
    fields::{RecordSpec, spec},
    node::{MAX_MESSAGE_BYTES, explain},
    output::{Output, print_record, print_written, record_json},
    record_args::{
        Filter, edit_command, fields_from_matches, merge_into, read_json_object, set_path,
    },
};

/// `focal TYPE add|list`.
pub(crate) async fn record_command_run(
    client: &Client,
    json: bool,
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
            print_written("Created", &record, json);
            Ok(())
        }
        Some(("list", sub)) => {
            let filter = Filter::from_arg_matches(sub)?;
            list(client, json, spec.name.to_owned(), filter).await
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
pub(crate) async fn list(
    client: &Client,
    json: bool,
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
            if json {
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
            if json {
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
    if json {
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

/// `focal show ID`.
pub(crate) async fn show(client: &Client, id: String, json: bool) -> anyhow::Result<()> {
    let record = client
        .records()
        .get(pb::GetRequest { id })
        .await
        .map_err(explain)?
        .into_inner();
    print_record(&record, json)?;
    Ok(())
}

/// `focal history ID`: every change of a record.
pub(crate) async fn history(client: &Client, id: String, json: bool) -> anyhow::Result<()> {
    let history = client
        .records()
        .history(pb::HistoryRequest { id })
        .await
        .map_err(explain)?
        .into_inner();
    if json {
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
    Ok(())
}

/// `focal edit ID …`: the flags of the record's type, `--patch`, `--clear`.
pub(crate) async fn edit(
    client: &Client,
    id: String,
    args: Vec<String>,
    json: bool,
) -> anyhow::Result<()> {
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
    print_written(verb, &record, json);
    Ok(())
}

/// `focal delete ID`.
pub(crate) async fn delete(client: &Client, id: String, json: bool) -> anyhow::Result<()> {
    let record = client
        .records()
        .delete(pb::DeleteRequest { id })
        .await
        .map_err(explain)?
        .into_inner();
    print_written("Deleted", &record, json);
    Ok(())
}

/// `focal watch`: changes as they are committed, until Ctrl-C.
pub(crate) async fn watch(client: &Client, kind: Option<String>, json: bool) -> anyhow::Result<()> {
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
        if json {
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
    Ok(())
}
