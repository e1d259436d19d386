//! A log entry as a peer sends it: `LogEntry::decode`, then `verify`, then
//! the actor check ingest runs before applying anything.
//!
//! Mutated entries rarely keep a valid signature, so this target exercises
//! the decoder and the signature check; `automerge_change` re-signs its input
//! to reach the change decoder.

#![no_main]

use focal_node::{
    limits::Limits,
    log::{ActorBindings, LogEntry},
};
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
    // As in the node (`intake`): a panic in Automerge's decoder refuses
    // the entry; it is not a crash of the node.
    let verified = contained(|| entry.verify(&Limits::default()));
    if let Some(Ok(changes)) = verified {
        assert_eq!(changes.len(), entry.body.changes.len());
        let _ = ActorBindings::default().check(&entry, &changes);
    }
});

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
