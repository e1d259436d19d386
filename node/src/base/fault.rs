//! Fault injection for the tests that prove a panic costs one write, not
//! the node. Debug builds only: a release build has none of it.
//!
//! If the data directory holds `test-fault-panic-on` when the node starts,
//! storing any entry (own or received) whose changes contain that file's
//! text panics, after the entry's row is written and before its savepoint
//! is released: the worst moment, the one the writer must undo.

#[cfg(debug_assertions)]
static TRIGGER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Reads the trigger from the data directory (debug builds only).
pub fn load(dir: &std::path::Path) {
    #[cfg(debug_assertions)]
    if let Ok(text) = std::fs::read_to_string(dir.join("test-fault-panic-on")) {
        let text = text.trim().as_bytes().to_vec();
        if !text.is_empty() {
            tracing::warn!("test fault injection is armed (debug build)");
            let _ = TRIGGER.set(text);
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = dir;
}

/// Panics if the entry's changes contain the trigger.
pub fn before_commit(entry: &crate::log::LogEntry) {
    #[cfg(debug_assertions)]
    if let Some(trigger) = TRIGGER.get()
        && entry
            .body
            .changes
            .iter()
            .any(|c| c.windows(trigger.len()).any(|w| w == &trigger[..]))
    {
        panic!(
            "injected test fault while storing entry {} of {}",
            entry.body.seq, entry.body.origin
        );
    }
    #[cfg(not(debug_assertions))]
    let _ = entry;
}
