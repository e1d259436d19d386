//! Fault injection for the tests that prove a panic costs one write, not
//! the node. Debug builds only: a release build has none of it.
//!
//! If the data directory holds `test-fault-panic-on` when the node starts,
//! storing any entry (own or received) whose changes contain that file's
//! text panics, after the entry's row is written and before its savepoint
//! is released: the worst moment, the one the writer must undo.
//!
//! If the data directory holds `test-fault-unloadable` (read at each check,
//! so that a test can arm it on a running node), a document whose saved
//! form contains that file's text is taken for one Automerge could not load
//! back once saved: no input known today reaches that refusal, which ingest
//! must still make the same whichever way it checks.

#[cfg(debug_assertions)]
static TRIGGER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
#[cfg(debug_assertions)]
static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Reads the trigger from the data directory (debug builds only).
pub fn load(dir: &std::path::Path) {
    #[cfg(debug_assertions)]
    let _ = DIR.set(dir.to_owned());
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

/// Whether `saved` (a document's saved form) contains the text of
/// `test-fault-unloadable` (debug builds only).
pub fn unloadable(saved: &[u8]) -> bool {
    #[cfg(debug_assertions)]
    if let Some(dir) = DIR.get()
        && let Ok(text) = std::fs::read(dir.join("test-fault-unloadable"))
    {
        let text = text.trim_ascii();
        return !text.is_empty() && saved.windows(text.len()).any(|w| w == text);
    }
    #[cfg(not(debug_assertions))]
    let _ = saved;
    false
}
