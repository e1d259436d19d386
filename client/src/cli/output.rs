//! What the commands print: standard output that streams (and ends quietly
//! when its reader goes away), and a record as JSON, as a one-line receipt
//! or as an indented listing of its fields.

use std::collections::BTreeMap;

use anyhow::Context as _;
use focal_proto::v1 as pb;
use serde_json::Value;

/// Standard output for output that streams: written a page at a time, and a
/// reader that went away (`focal list | head`) ends the command quietly.
pub(crate) struct Output {
    out: std::io::BufWriter<std::io::Stdout>,
    closed: bool,
}

impl Output {
    pub(crate) fn stdout() -> Self {
        Self {
            out: std::io::BufWriter::new(std::io::stdout()),
            closed: false,
        }
    }

    pub(crate) fn write(&mut self, text: &str) -> anyhow::Result<()> {
        use std::io::Write as _;
        if !self.closed {
            let written = self.out.write_all(text.as_bytes());
            self.check(written)?;
        }
        Ok(())
    }

    pub(crate) fn line(&mut self, text: &str) -> anyhow::Result<()> {
        self.write(text)?;
        self.write("\n")
    }

    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        use std::io::Write as _;
        if !self.closed {
            let flushed = self.out.flush();
            self.check(flushed)?;
        }
        Ok(())
    }

    fn check(&mut self, result: std::io::Result<()>) -> anyhow::Result<()> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other.context("cannot write to standard output"),
        }
    }
}

/// The record's JSON; a record whose owner is suspended or removed also
/// carries `owner_standing`.
pub(crate) fn record_json(record: &pb::Record) -> Value {
    let mut value = serde_json::from_str(&record.json).unwrap_or(Value::Null);
    if !record.owner_standing.is_empty()
        && let Value::Object(map) = &mut value
    {
        map.insert(
            "owner_standing".into(),
            Value::String(record.owner_standing.clone()),
        );
    }
    value
}

pub(crate) fn print_written(verb: &str, record: &pb::Record, json: bool) {
    if json {
        println!("{}", record_json(record));
    } else {
        println!("{verb} {} ({}): {}", record.id, record.r#type, record.title);
    }
}

pub(crate) fn print_record(record: &pb::Record, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", record_json(record));
        return Ok(());
    }
    let value = record_json(record);
    let standing = if record.owner_standing.is_empty() {
        String::new()
    } else {
        format!("  ({} is {})", record.owner, record.owner_standing)
    };
    println!(
        "{}{}{standing}",
        record.title,
        if record.deleted { "  (deleted)" } else { "" }
    );
    println!("{}", "-".repeat(record.title.chars().count().clamp(8, 72)));
    if let Value::Object(map) = value {
        let ordered: BTreeMap<_, _> = map.into_iter().collect();
        for (key, value) in ordered {
            print_value(&key, &value, 0);
        }
    }
    Ok(())
}

fn print_value(key: &str, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Object(map) => {
            // Multilingual text prints one language per line.
            if !map.is_empty() && map.values().all(|v| v.get("text").is_some()) {
                println!("{pad}{key}:");
                for (lang, text) in map {
                    let original = if text.get("original").and_then(Value::as_bool) == Some(true) {
                        " (original)"
                    } else {
                        ""
                    };
                    println!(
                        "{pad}  [{lang}]{original} {}",
                        text.get("text").and_then(Value::as_str).unwrap_or_default()
                    );
                }
                return;
            }
            println!("{pad}{key}:");
            for (k, v) in map {
                print_value(k, v, indent + 1);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items.iter().map(scalar_text).collect();
            println!("{pad}{key}: {}", parts.join(", "));
        }
        Value::Array(items) => {
            println!("{pad}{key}:");
            for (i, item) in items.iter().enumerate() {
                print_value(&format!("[{i}]"), item, indent + 1);
            }
        }
        other => println!("{pad}{key}: {}", scalar_text(other)),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
