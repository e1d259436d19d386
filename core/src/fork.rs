//! Forks: proofs that a key signed two different entries at one position of
//! one of its logs.
//!
//! A log is hash-chained, so two nodes whose copies of a log differ at some
//! position differ at every later one; the first position where they differ
//! is the fork. Its two entries, both signed by the origin and both chaining
//! to the same previous entry, are a self-verifying proof ([`ForkProof`]):
//! anyone who checks the two signatures knows the key equivocated there,
//! and where its log stopped being one log. Every node that holds a proof
//! agrees that the log stands up to the entry before the fork (the last
//! position every branch shares) and cuts what it holds beyond it; so every
//! node converges on the same entries, whichever branch it held. The
//! secretariat then revokes the key at that position, or confirms the
//! member's rotation to a new key (whose hand-over names the same last
//! entry), and the member writes again what its branch held
//! (`focal-node recover-branch`).
//!
//! How proofs are found and travel is the sync layer's (`sync`): nodes
//! compare their heads, find the first position that differs by asking for
//! hashes, fetch the other entry, and ask each peer for the proofs it holds.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::{
    identity::NodeId,
    log::{Audience, EntryHash, LogEntry},
};

/// Why a proof was refused. Every one of these is something an honest node
/// never sends: its sender is cut off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// An entry does not decode.
    #[error("a fork proof's entry is malformed: {0}")]
    Malformed(String),
    /// The two entries are one.
    #[error("a fork proof holds the same entry twice")]
    SameEntry,
    /// Not the same key, log or position.
    #[error("a fork proof's entries are not at one position of one log ({first} and {second})")]
    NotOnePosition {
        /// Where the first entry is.
        first: String,
        /// Where the second is.
        second: String,
    },
    /// The two entries chain to different previous entries: a fork, but
    /// not its first position (nodes agree on the first).
    #[error(
        "a fork proof's entries at {seq} chain to different previous entries: the fork is \
         earlier (a proof names the first position that differs)"
    )]
    NotFirstPosition {
        /// The position.
        seq: u64,
    },
    /// A signature does not verify.
    #[error("a fork proof's entry {seq} of {origin} is not signed by its origin")]
    BadSignature {
        /// The claimed origin.
        origin: NodeId,
        /// The position.
        seq: u64,
    },
    /// `local` entries never leave their node.
    #[error("a fork proof about a local log: local entries never leave their node")]
    LocalLog,
}

/// Two entries signed by one key at one position of one log, chaining to
/// the same previous entry: checked, so it proves the fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkProof {
    /// The entry with the lower hash.
    pub first: LogEntry,
    /// The entry with the higher hash.
    pub second: LogEntry,
    first_hash: EntryHash,
    second_hash: EntryHash,
}

impl ForkProof {
    /// Checks two encoded entries and makes the proof, the entries in a
    /// canonical order (by hash).
    pub fn check(a: &[u8], b: &[u8]) -> Result<Self, ProofError> {
        let decode = |bytes: &[u8]| {
            LogEntry::decode(bytes).map_err(|e| ProofError::Malformed(e.to_string()))
        };
        let (a_entry, b_entry) = (decode(a)?, decode(b)?);
        let (a_hash, b_hash) = (LogEntry::hash_of(a), LogEntry::hash_of(b));
        if a_hash == b_hash {
            return Err(ProofError::SameEntry);
        }
        let place = |e: &LogEntry| {
            format!(
                "{} {} {}",
                e.body.origin,
                e.body.audience.as_str(),
                e.body.seq
            )
        };
        let (x, y) = (&a_entry.body, &b_entry.body);
        if x.origin != y.origin || x.audience != y.audience || x.seq != y.seq {
            return Err(ProofError::NotOnePosition {
                first: place(&a_entry),
                second: place(&b_entry),
            });
        }
        if x.audience == Audience::Local {
            return Err(ProofError::LocalLog);
        }
        if x.prev != y.prev {
            return Err(ProofError::NotFirstPosition { seq: x.seq });
        }
        let key = VerifyingKey::from_bytes(&x.origin.0).map_err(|_| ProofError::BadSignature {
            origin: x.origin,
            seq: x.seq,
        })?;
        for entry in [&a_entry, &b_entry] {
            // The same check as an entry's (`LogEntry::verify`): a proof
            // holds exactly when each entry alone would be accepted.
            key.verify(
                &entry.body.signing_bytes(),
                &Signature::from_bytes(&entry.signature),
            )
            .map_err(|_| ProofError::BadSignature {
                origin: x.origin,
                seq: x.seq,
            })?;
        }
        Ok(if a_hash < b_hash {
            Self {
                first: a_entry,
                second: b_entry,
                first_hash: a_hash,
                second_hash: b_hash,
            }
        } else {
            Self {
                first: b_entry,
                second: a_entry,
                first_hash: b_hash,
                second_hash: a_hash,
            }
        })
    }

    /// The key that equivocated.
    pub fn origin(&self) -> NodeId {
        self.first.body.origin
    }

    /// The log.
    pub fn audience(&self) -> Audience {
        self.first.body.audience
    }

    /// The position of the fork: the log stands up to the entry before it.
    pub fn seq(&self) -> u64 {
        self.first.body.seq
    }

    /// The hash of the last entry every branch shares (zeros for a fork at
    /// the first position).
    pub fn agreed(&self) -> EntryHash {
        self.first.body.prev
    }

    /// The two entries' hashes, in the proof's order.
    pub fn hashes(&self) -> (EntryHash, EntryHash) {
        (self.first_hash, self.second_hash)
    }
}

/// A fork as a node holds it: where, and the two entries' hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fork {
    /// The key.
    pub origin: NodeId,
    /// The log.
    pub audience: Audience,
    /// The position of the fork.
    pub seq: u64,
    /// The entries' hashes, lower first.
    pub first: EntryHash,
    /// The higher.
    pub second: EntryHash,
}

/// A proof as a node holds and serves it: the fork, and its two encoded
/// entries (checked).
pub type HeldProof = (Fork, Vec<u8>, Vec<u8>);

impl Fork {
    /// The fork a stored proof (checked when it was stored) is about,
    /// without checking its signatures again.
    pub fn of_stored(first: &[u8], second: &[u8]) -> Option<Self> {
        let entry = LogEntry::decode(first).ok()?;
        let (a, b) = (LogEntry::hash_of(first), LogEntry::hash_of(second));
        Some(Self {
            origin: entry.body.origin,
            audience: entry.body.audience,
            seq: entry.body.seq,
            first: a.min(b),
            second: a.max(b),
        })
    }
}

impl From<&ForkProof> for Fork {
    fn from(p: &ForkProof) -> Self {
        let (first, second) = p.hashes();
        Self {
            origin: p.origin(),
            audience: p.audience(),
            seq: p.seq(),
            first,
            second,
        }
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::log::EntryBody;

    fn entry(key: &SigningKey, seq: u64, prev: EntryHash, doc: &str) -> Vec<u8> {
        EntryBody {
            origin: NodeId(key.verifying_key().to_bytes()),
            audience: Audience::Network,
            seq,
            prev,
            doc_id: doc.to_owned(),
            changes: vec![b"not a change: a proof checks signatures only".to_vec()],
        }
        .sign(key)
        .encode()
    }

    #[test]
    fn two_signed_entries_at_one_position_prove_a_fork() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let prev = EntryHash([3; 32]);
        let a = entry(&key, 3, prev, "ESP/practice/a");
        let b = entry(&key, 3, prev, "ESP/practice/b");
        let proof = ForkProof::check(&a, &b).unwrap();
        assert_eq!(proof, ForkProof::check(&b, &a).unwrap(), "order-free");
        assert_eq!((proof.seq(), proof.agreed()), (3, prev));
        assert!(proof.hashes().0 < proof.hashes().1);
    }

    #[test]
    fn what_is_not_a_proof_is_refused() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let prev = EntryHash([3; 32]);
        let a = entry(&key, 3, prev, "ESP/practice/a");
        assert_eq!(ForkProof::check(&a, &a), Err(ProofError::SameEntry));
        let elsewhere = entry(&key, 4, prev, "ESP/practice/b");
        assert!(matches!(
            ForkProof::check(&a, &elsewhere),
            Err(ProofError::NotOnePosition { .. })
        ));
        let by_another = entry(&other, 3, prev, "ESP/practice/b");
        assert!(matches!(
            ForkProof::check(&a, &by_another),
            Err(ProofError::NotOnePosition { .. })
        ));
        let later = entry(&key, 3, EntryHash([4; 32]), "ESP/practice/b");
        assert_eq!(
            ForkProof::check(&a, &later),
            Err(ProofError::NotFirstPosition { seq: 3 })
        );
        // The second entry claims the key but another key signed it.
        let mut forged = LogEntry::decode(&entry(&other, 3, prev, "ESP/practice/b")).unwrap();
        forged.body.origin = NodeId(key.verifying_key().to_bytes());
        assert!(matches!(
            ForkProof::check(&a, &forged.encode()),
            Err(ProofError::BadSignature { seq: 3, .. })
        ));
        assert!(matches!(
            ForkProof::check(&a, b"garbage"),
            Err(ProofError::Malformed(_))
        ));
    }
}
