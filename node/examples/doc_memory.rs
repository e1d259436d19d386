//! Measures what a cached document costs in memory, to calibrate
//! `writer::DocCost` (the estimate the writer's cache is bounded by):
//! records of several shapes, written once and then updated many times,
//! loaded back as the writer loads them, `COPIES` at once, memory measured
//! as the growth of the process's resident set.
//!
//!     cargo run --release -p focal-node --example doc_memory
//!
//! Prints, per shape: the Automerge document's heap bytes, its operations,
//! changes and saved size, the JSON map's heap bytes and compact length,
//! and the estimate next to the measured total.

// A measuring tool, like a test: a failure is a panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use automerge::{Automerge, ReadDoc, transaction::CommitOptions};
use serde_json::{Map, Value, json};

/// Resident memory of this process, from /proc/self/statm.
fn resident() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: isize = statm
        .split(' ')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap();
    pages * 4096
}

/// Copies loaded at once, so that the growth of resident memory, divided
/// by it, is one copy's cost (no counting allocator: the workspace forbids
/// `unsafe`).
const COPIES: usize = 200;

/// A record with `fields` text fields of `text` bytes and a list of
/// `items` themes.
fn record(fields: usize, text: usize, items: usize) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".into(), json!("practice"));
    map.insert("updated".into(), json!("2026-03-08T09:00:05.000Z"));
    for i in 0..fields {
        map.insert(format!("field{i}"), json!({"en": "x".repeat(text)}));
    }
    map.insert(
        "themes".into(),
        Value::Array((0..items).map(|i| json!(format!("theme-{i}"))).collect()),
    );
    map
}

/// In the child: loads `COPIES` of the document in FILE and their JSON,
/// and prints the growth of resident memory per copy for each.
fn measure(file: &str) {
    let saved = std::fs::read(file).unwrap();
    let before = resident();
    let docs: Vec<Automerge> = (0..COPIES)
        .map(|_| Automerge::load(&saved).unwrap())
        .collect();
    let doc_heap = (resident() - before) / COPIES as isize;
    let before = resident();
    let jsons: Vec<_> = docs.iter().map(focal_node::doc::to_json).collect();
    let json_heap = (resident() - before) / COPIES as isize;
    println!("{doc_heap} {json_heap}");
    drop(jsons);
}

fn main() {
    if let Some(file) = std::env::args().nth(1) {
        measure(&file);
        return;
    }
    println!(
        "{:<28} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "shape",
        "doc heap",
        "ops",
        "changes",
        "saved",
        "raw",
        "json heap",
        "json len",
        "measured",
        "estimate"
    );
    for (name, fields, text, items, updates) in [
        ("small, new", 4, 40, 3, 0),
        ("small, 100 updates", 4, 40, 3, 100),
        ("small, 1000 updates", 4, 40, 3, 1000),
        ("medium, 20 updates", 20, 500, 20, 20),
        ("medium, 500 updates", 20, 500, 20, 500),
        ("large text, 10 updates", 4, 100_000, 3, 10),
        ("long list, 10 updates", 4, 40, 2000, 10),
    ] {
        let target = record(fields, text, items);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in &target {
            focal_node::doc::put(&mut tx, &automerge::ROOT, k, v).unwrap();
        }
        tx.commit_with(CommitOptions::default().with_time(1));
        let mut current = focal_node::doc::to_json(&doc);
        for u in 0..updates {
            let mut next = current.clone();
            next.insert(
                format!("field{}", u % fields),
                json!({"en": format!("{u} {}", "y".repeat(text.min(200)))}),
            );
            let mut tx = doc.transaction();
            let mut touched = Vec::new();
            focal_node::doc::reconcile(
                &mut tx,
                &automerge::ROOT,
                &current,
                &next,
                &[],
                "",
                &mut touched,
            )
            .unwrap();
            tx.commit_with(CommitOptions::default().with_time(1));
            current = next;
        }
        let saved = doc.save();
        let nocompress = doc.save_nocompress().len();
        // Measured in a process of its own: memory this one freed would be
        // reused and hide the cost.
        let file =
            std::env::temp_dir().join(format!("doc-memory-{}.automerge", std::process::id()));
        std::fs::write(&file, &saved).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(&file)
            .output()
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        let measured: Vec<isize> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let [doc_heap, json_heap] = measured[..] else {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        };
        let started = std::time::Instant::now();
        let loaded = &Automerge::load(&saved).unwrap();
        let load_time = started.elapsed();
        let started = std::time::Instant::now();
        let raw_again = loaded.save_nocompress().len();
        let measure_time = started.elapsed();
        eprintln!(
            "{name}: load {load_time:?}, save_nocompress {measure_time:?} ({raw_again} bytes)"
        );
        let json_len = serde_json::to_vec(&focal_node::doc::to_json(loaded))
            .unwrap()
            .len();
        let stats = loaded.stats();
        let estimate = focal_node::engine::writer::DocCost::estimate(loaded, json_len);
        println!(
            "{name:<28} {doc_heap:>10} {:>8} {:>8} {:>10} {nocompress:>10} {json_heap:>10} {json_len:>10} {:>10} {estimate:>10}",
            stats.num_ops,
            stats.num_changes,
            saved.len(),
            doc_heap + json_heap,
        );
    }
}
