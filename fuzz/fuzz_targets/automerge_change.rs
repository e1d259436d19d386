//! Automerge changes as ingest sees them: raw change bytes inside a validly
//! signed entry, then `LogEntry::verify`, the actor check, `apply_changes`
//! to a document, `doc::to_json`, the roster reader, and the document saved
//! and loaded again (as the store does; a document that cannot be loaded
//! back would stop the node at its next start).
//!
//! The input is one or more changes separated by `SEPARATOR`. Each change's
//! checksum is recomputed and the entry is signed here with a fixed key, so
//! the fuzzer reaches the change decoder instead of bouncing off the
//! signature and checksum. Seeds are changes authored by that key
//! (`cargo run --example seed`).

#![no_main]

use automerge::Automerge;
use ed25519_dalek::SigningKey;
use focal_node::{
    identity::NodeId,
    limits::Limits,
    log::{ActorBindings, Audience, EntryBody, EntryHash, LogEntry, MAX_CHANGES_PER_ENTRY},
    roster::Roster,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// The seed program's key: changes it authors name this key.
const KEY: [u8; 32] = [7; 32];
/// Between two changes of one input.
const SEPARATOR: &[u8] = b"\xff--focal-change--\xff";

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&KEY);
    let origin = NodeId(key.verifying_key().to_bytes());
    let changes: Vec<Vec<u8>> = split(data)
        .take(MAX_CHANGES_PER_ENTRY)
        .map(|raw| {
            let mut raw = raw.to_vec();
            if raw.len() > 8 {
                let digest = Sha256::digest(&raw[8..]);
                raw[4..8].copy_from_slice(&digest[..4]);
            }
            raw
        })
        .collect();
    let entry = EntryBody {
        origin,
        audience: Audience::Network,
        seq: 1,
        prev: EntryHash::default(),
        doc_id: "ESP:nap:aaaaaaaaaaaa".to_owned(),
        changes,
    }
    .sign(&key);
    let entry = LogEntry::decode(&entry.encode()).expect("a signed entry decodes");
    let limits = Limits::default();
    // As in the node: verifying (`intake`) and applying (`ingest`) a peer's
    // changes run under `catch_unwind`, a panic in Automerge refusing the
    // entry (the panics the long runs found in Automerge 0.12 are saved in
    // fuzz/regressions/automerge_change/ and replayed).
    let Some(Ok(changes)) = contained(|| entry.verify(&limits)) else {
        return;
    };
    let mut document = Automerge::new();
    let mut bindings = ActorBindings::from_document(&document);
    if bindings.check(&entry, &changes).is_err() {
        return;
    }
    let Some(Ok(_)) = contained(|| document.apply_changes(changes)) else {
        return;
    };
    // Read as ingest reads it: within the limits.
    let Ok(json) = focal_node::doc::to_json_within(&document, &limits) else {
        return;
    };
    let _ = serde_json::to_string(&json);
    let _ = Roster::from_json(&json, Some(origin), None).anchor_chain();
    // The node refuses an entry whose document does not load back from a
    // save (`ingest`); one that does must load back the same.
    let Some(Ok(_)) = contained(|| Automerge::load(&document.save_nocompress())) else {
        return;
    };
    let saved = document.save();
    let loaded =
        Automerge::load(&saved).expect("a document that loads back uncompressed loads back");
    assert_eq!(focal_node::doc::to_json(&loaded), json);
});

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current
            .windows(SEPARATOR.len())
            .position(|w| w == SEPARATOR)
        {
            Some(at) => {
                rest = Some(&current[at + SEPARATOR.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Runs `f` as the node runs a peer's entry: under `catch_unwind`, a panic
/// being a refusal. libFuzzer's hook aborts on any panic, so it is set
/// aside meanwhile (the target is single-threaded).
fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.ok()
}
