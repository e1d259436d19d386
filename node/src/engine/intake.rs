//! Received entries before the writer sees them: every check that needs no
//! database, run off the writer thread, cheapest first.
//!
//! The writer is the node's only writer: a peer that could make it spend
//! seconds on one entry would stall every client's writes and every other
//! peer's replication. So the costly checks on peer bytes run here, on the
//! blocking pool, and in this order: is the origin a key the roster knows
//! (or a roster change by a key that may become the anchor), is the record
//! one its member may write — a throwaway key is refused before any
//! signature is checked — then the signature, the changes' checksums,
//! limits and authors ([`LogEntry::verify`]). The writer still checks
//! everything that depends on what is stored (duplicates, cut-offs, the
//! hash chain, actor bindings) and authorizes again against its own roster.
//!
//! Checking an entry may not panic; if it does anyway, that entry is
//! refused ([`IngestError::Panicked`]) and the node goes on.

use std::{
    collections::HashSet,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::RwLock,
};

use crate::{
    engine::ingest::{IngestError, authorize},
    identity::NodeId,
    limits::Limits,
    log::{Audience, EntryError, LogEntry},
    roster::Roster,
};

/// What the checks that need no database said about one entry.
#[derive(Debug)]
pub enum Verdict {
    /// Signed by its origin, well-formed, within limits: the decoded changes.
    Verified(Vec<automerge::Change>),
    /// Refused, with why (the writer still counts an exact duplicate of an
    /// entry it holds as a duplicate, whatever this says).
    Refused(IngestError),
    /// Not checked: an earlier entry of the same log in this message was
    /// refused, so this one could only be a gap.
    Skipped,
}

/// A received entry and its [`Verdict`].
#[derive(Debug)]
pub struct Checked {
    /// The entry as received.
    pub entry: LogEntry,
    /// What the checks said.
    pub verdict: Verdict,
}

/// Checks one message's entries against the roster and the limits, in
/// order. The roster is read per entry, for its authorization only: the
/// writer, which updates the roster, never waits for a signature check.
pub fn check(roster: &RwLock<Roster>, limits: &Limits, entries: Vec<LogEntry>) -> Vec<Checked> {
    let mut broken: HashSet<(NodeId, Audience)> = HashSet::new();
    entries
        .into_iter()
        .map(|entry| {
            let log = (entry.body.origin, entry.body.audience);
            let verdict = if broken.contains(&log) {
                Verdict::Skipped
            } else {
                match check_one(roster, limits, &entry) {
                    Ok(changes) => Verdict::Verified(changes),
                    Err(err) => {
                        broken.insert(log);
                        Verdict::Refused(err)
                    }
                }
            };
            Checked { entry, verdict }
        })
        .collect()
}

fn check_one(
    roster: &RwLock<Roster>,
    limits: &Limits,
    entry: &LogEntry,
) -> Result<Vec<automerge::Change>, IngestError> {
    catch_unwind(AssertUnwindSafe(|| {
        {
            let roster = roster
                .read()
                .map_err(|_| IngestError::Storage("the roster lock is poisoned".into()))?;
            authorize(&roster, entry)?;
        }
        // Sizes, chunk types and operation counts from the bytes, then the
        // signature, then decoding (`LogEntry::verify`).
        entry.verify(limits).map_err(|e| match e {
            EntryError::OverLimit { over, .. } => IngestError::OverLimit {
                origin: entry.body.origin,
                seq: entry.body.seq,
                doc: entry.body.doc_id.clone(),
                over,
            },
            other => IngestError::Entry(other),
        })
    }))
    .unwrap_or_else(|panic| {
        Err(IngestError::Panicked {
            origin: entry.body.origin,
            seq: entry.body.seq,
            what: panic_message(panic.as_ref()),
        })
    })
}

/// The text of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use automerge::{Author, transaction::Transactable};

    use super::*;
    use crate::{
        identity::NodeKey,
        log::{EntryBody, EntryHash},
    };

    fn entry_by(key: &NodeKey, seq: u64, doc_id: &str) -> LogEntry {
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "title", "Invented").unwrap();
        tx.commit();
        let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        EntryBody {
            origin: key.id(),
            audience: Audience::Network,
            seq,
            prev: EntryHash::default(),
            doc_id: doc_id.to_owned(),
            changes: vec![change],
        }
        .sign(key.signing_key())
    }

    #[test]
    fn a_throwaway_key_is_refused_before_its_signature_is_checked() {
        let roster = RwLock::new(Roster::empty(None, None));
        let stranger = NodeKey::generate().unwrap();
        let mut forged = entry_by(&stranger, 1, "ESP:practice:aaaaaaaaaaaa");
        // A broken signature would be `BadSignature` if it were checked.
        forged.signature = [7; 64];
        let second = entry_by(&stranger, 2, "ESP:practice:aaaaaaaaaaaa");
        let checked = check(&roster, &Limits::default(), vec![forged, second]);
        assert!(matches!(
            checked[0].verdict,
            Verdict::Refused(IngestError::UnknownKey(_))
        ));
        // The rest of that log is not even looked at.
        assert!(matches!(checked[1].verdict, Verdict::Skipped));
    }

    #[test]
    fn a_roster_change_by_an_unknown_key_is_verified() {
        // It may be a new anchor carrying its hand-over; the writer decides
        // once applied. Its signature is checked here.
        let roster = RwLock::new(Roster::empty(None, None));
        let key = NodeKey::generate().unwrap();
        let mut e = entry_by(&key, 1, crate::roster::ROSTER_ID);
        assert!(matches!(
            check(&roster, &Limits::default(), vec![e.clone()])[0].verdict,
            Verdict::Verified(_)
        ));
        e.signature = [7; 64];
        assert!(matches!(
            check(&roster, &Limits::default(), vec![e])[0].verdict,
            Verdict::Refused(IngestError::Entry(_))
        ));
    }

    #[test]
    fn a_panic_message_is_kept() {
        let caught = catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(caught.as_ref()), "boom 7");
    }
}
