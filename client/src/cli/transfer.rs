//! `focal export` and `focal import`: this member's records to a directory
//! (`records.json` and one Automerge document per record) and back.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use focal_client::Client;
use focal_proto::v1 as pb;
use serde_json::{Map, Value};
use tokio_stream::StreamExt as _;

use super::{
    node::{MAX_MESSAGE_BYTES, explain},
    output::record_json,
};

/// `focal export`: writes each record as it arrives: its document to
/// DIR/automerge/ (in parts when the node sent it in parts), and its JSON
/// to DIR/records.json.partial, renamed to records.json once the export is
/// complete (an interrupted export leaves no records.json that looks
/// whole).
pub(crate) async fn export(client: &Client, out: &Path) -> anyhow::Result<()> {
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

/// `focal import FILE`: creates the records of a `records.json` written by
/// `focal export` (deleted ones skipped), and prints the old id -> new id.
pub(crate) async fn import(client: &Client, file: &Path, json: bool) -> anyhow::Result<()> {
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
