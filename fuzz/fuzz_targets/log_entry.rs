//! A log entry as a peer sends it: `LogEntry::decode`, then `verify`, then
//! the actor check ingest runs before applying anything.
//!
//! Mutated entries rarely keep a valid signature, so this target exercises
//! the decoder and the signature check; `automerge_change` re-signs its input
//! to reach the change decoder.

#![no_main]

use focal_node::log::{ActorBindings, LogEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entry) = LogEntry::decode(data) else {
        return;
    };
    // The encoding is canonical: an accepted input is the entry's only
    // encoding, so its hash is the hash of the input.
    assert_eq!(
        entry.encode(),
        data,
        "decode accepted a non-canonical entry"
    );
    assert_eq!(entry.hash(), LogEntry::hash_of(data));
    if let Ok(changes) = entry.verify() {
        assert_eq!(changes.len(), entry.body.changes.len());
        let _ = ActorBindings::default().check(&entry, &changes);
    }
});
