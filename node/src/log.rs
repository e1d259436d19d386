//! The signed log: the unit of replication.
//!
//! Every node key writes one append-only log per [`Audience`]. An entry names
//! its origin key, its sequence number (1, 2, 3 … without gaps), the hash of
//! the previous entry of the same log, the record it changes and one or more
//! Automerge changes, and carries an ed25519 signature over all of it.
//!
//! The encoding is ours and canonical (fixed-width integers, length-prefixed
//! byte strings, no optional fields), so that signing and hashing never depend
//! on how a serializer chose to order or pad anything. The first byte string
//! is a domain separator, so a Focal log signature can never be mistaken for a
//! signature over anything else.

use std::{collections::HashMap, fmt};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{
    codec::{Malformed, Reader, put_bytes},
    identity::NodeId,
};

/// Domain separator at the start of every signed entry.
const DOMAIN: &[u8] = b"focal.log-entry.v1\0";

/// Largest record id an entry may carry, in bytes.
pub const MAX_DOC_ID_BYTES: usize = 128;
/// Largest number of Automerge changes in one entry.
pub const MAX_CHANGES_PER_ENTRY: usize = 1024;
/// Largest encoded entry, in bytes.
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;

/// Which readers a log is for. One log per audience keeps sequence numbers
/// gap-free for every reader: a member that may not read `secretariat`
/// entries never sees a hole in the `network` log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    /// Every member.
    Network,
    /// The origin's member and the secretariat.
    Secretariat,
    /// The origin node only.
    Local,
}

impl Audience {
    /// All audiences.
    pub const ALL: [Audience; 3] = [Audience::Network, Audience::Secretariat, Audience::Local];

    /// The wire and database code.
    pub fn code(self) -> u8 {
        match self {
            Self::Network => 0,
            Self::Secretariat => 1,
            Self::Local => 2,
        }
    }

    /// Parses [`Audience::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// `network`, `secretariat` or `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Secretariat => "secretariat",
            Self::Local => "local",
        }
    }
}

impl From<crate::records::Visibility> for Audience {
    fn from(v: crate::records::Visibility) -> Self {
        match v {
            crate::records::Visibility::Network => Self::Network,
            crate::records::Visibility::Secretariat => Self::Secretariat,
            crate::records::Visibility::Local => Self::Local,
        }
    }
}

/// The SHA-256 hash of an encoded entry; the next entry's `prev`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EntryHash(pub [u8; 32]);

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", hex::encode(&self.0[..6]))
    }
}

/// What an entry says, before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBody {
    /// The key that signs the entry.
    pub origin: NodeId,
    /// The log it belongs to.
    pub audience: Audience,
    /// Its position in that log, from 1.
    pub seq: u64,
    /// The hash of entry `seq - 1` of the same log; all zeros for `seq = 1`.
    pub prev: EntryHash,
    /// The record (Automerge document) the changes apply to.
    pub doc_id: String,
    /// Raw Automerge changes, in causal order.
    pub changes: Vec<Vec<u8>>,
}

/// A signed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The signed content.
    pub body: EntryBody,
    /// ed25519 signature by `body.origin` over the encoded body.
    pub signature: [u8; 64],
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The bytes are not an entry.
    #[error("malformed log entry: {0}")]
    Malformed(&'static str),
    /// The signature does not verify against the origin key.
    #[error("entry {seq} of {origin}: the signature does not verify")]
    BadSignature {
        /// The claimed origin.
        origin: NodeId,
        /// The entry's sequence number.
        seq: u64,
    },
    /// The origin is not a valid ed25519 public key.
    #[error("entry origin {0} is not a valid ed25519 public key")]
    BadOrigin(NodeId),
    /// A change in the entry is not a valid Automerge change.
    #[error("entry {seq} of {origin}: change {index} is not a valid Automerge change: {reason}")]
    BadChange {
        /// The origin.
        origin: NodeId,
        /// The entry's sequence number.
        seq: u64,
        /// The change's position in the entry.
        index: usize,
        /// The decoder's complaint.
        reason: String,
    },
    /// A change was authored by someone else than the entry's origin.
    #[error(
        "entry {seq} of {origin}: change {index} ({hash}) is authored by {author}, not by the \
         entry's origin"
    )]
    WrongAuthor {
        /// The origin.
        origin: NodeId,
        /// The entry's sequence number.
        seq: u64,
        /// The change's position in the entry.
        index: usize,
        /// The change hash.
        hash: String,
        /// The author the change names (hex), or `none`.
        author: String,
    },
    /// A change continues an actor whose first change is unknown.
    #[error(
        "entry {seq} of {origin}: change {index} continues actor {actor}, which no change by this key started"
    )]
    UnboundActor {
        /// The origin.
        origin: NodeId,
        /// The entry's sequence number.
        seq: u64,
        /// The change's position in the entry.
        index: usize,
        /// The actor id (hex).
        actor: String,
    },
}

/// Which key started each actor of a document.
///
/// Automerge records a change's `Author` in the actor's first change only;
/// every later change of that actor is by the same author. So a change
/// without an author footer is accepted only if its actor was started by the
/// entry's origin, earlier in this document's history or earlier in the same
/// entry: no key can continue another key's actor.
#[derive(Debug, Default, Clone)]
pub struct ActorBindings(HashMap<automerge::ActorId, NodeId>);

impl ActorBindings {
    /// The bindings already established in `doc`.
    pub fn from_document(doc: &automerge::Automerge) -> Self {
        let mut map = HashMap::new();
        for author in doc.get_authors() {
            if let Ok(key) = <[u8; 32]>::try_from(author.as_bytes()) {
                for actor in doc.get_actors_for_author(author) {
                    map.insert(actor, NodeId(key));
                }
            }
        }
        Self(map)
    }

    /// Checks (and records) the actors of an entry's verified changes.
    pub fn check(
        &mut self,
        entry: &LogEntry,
        changes: &[automerge::Change],
    ) -> Result<(), EntryError> {
        let origin = entry.body.origin;
        for (index, change) in changes.iter().enumerate() {
            let actor = change.actor_id();
            let bound = if change.author().is_some() {
                // `verify` made sure a footer names the origin.
                *self.0.entry(actor.clone()).or_insert(origin)
            } else {
                match self.0.get(actor) {
                    Some(key) => *key,
                    None => {
                        return Err(EntryError::UnboundActor {
                            origin,
                            seq: entry.body.seq,
                            index,
                            actor: actor.to_hex_string(),
                        });
                    }
                }
            };
            if bound != origin {
                return Err(EntryError::WrongAuthor {
                    origin,
                    seq: entry.body.seq,
                    index,
                    hash: change.hash().to_string(),
                    author: bound.to_string(),
                });
            }
        }
        Ok(())
    }
}

impl From<Malformed> for EntryError {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m.0)
    }
}

impl EntryBody {
    /// The canonical bytes that are signed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let size = DOMAIN.len()
            + 32
            + 1
            + 8
            + 32
            + 4
            + self.doc_id.len()
            + 4
            + self.changes.iter().map(|c| 4 + c.len()).sum::<usize>();
        let mut w = Vec::with_capacity(size);
        w.extend_from_slice(DOMAIN);
        w.extend_from_slice(&self.origin.0);
        w.push(self.audience.code());
        w.extend_from_slice(&self.seq.to_be_bytes());
        w.extend_from_slice(&self.prev.0);
        put_bytes(&mut w, self.doc_id.as_bytes());
        w.extend_from_slice(&(self.changes.len() as u32).to_be_bytes());
        for change in &self.changes {
            put_bytes(&mut w, change);
        }
        w
    }

    /// Signs the body.
    pub fn sign(self, key: &SigningKey) -> LogEntry {
        let signature = key.sign(&self.signing_bytes()).to_bytes();
        LogEntry {
            body: self,
            signature,
        }
    }
}

impl LogEntry {
    /// The canonical encoding: signed bytes followed by the signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.body.signing_bytes();
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// The entry's hash (over its canonical encoding).
    pub fn hash(&self) -> EntryHash {
        Self::hash_of(&self.encode())
    }

    /// The hash of an entry's canonical encoding (for a caller that has
    /// encoded it already).
    pub fn hash_of(encoded: &[u8]) -> EntryHash {
        EntryHash(Sha256::digest(encoded).into())
    }

    /// Parses a canonical encoding. Checks the structure only; call
    /// [`LogEntry::verify`] before trusting the content.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::Malformed("entry larger than allowed"));
        }
        let mut r = Reader(bytes);
        if r.take(DOMAIN.len())? != DOMAIN {
            return Err(EntryError::Malformed("not a focal.log-entry.v1"));
        }
        let origin = NodeId(r.array()?);
        let [audience] = r.array::<1>()?;
        let audience =
            Audience::from_code(audience).ok_or(EntryError::Malformed("unknown audience"))?;
        let seq = r.u64()?;
        if seq == 0 {
            return Err(EntryError::Malformed("sequence numbers start at 1"));
        }
        let prev = EntryHash(r.array()?);
        let doc_id = std::str::from_utf8(r.bytes(MAX_DOC_ID_BYTES)?)
            .map_err(|_| EntryError::Malformed("record id is not UTF-8"))?
            .to_owned();
        let count = r.u32()? as usize;
        if count == 0 || count > MAX_CHANGES_PER_ENTRY {
            return Err(EntryError::Malformed("an entry carries 1 to 1024 changes"));
        }
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            changes.push(r.bytes(MAX_ENTRY_BYTES)?.to_vec());
        }
        let signature = r.array::<64>()?;
        r.finish()?;
        Ok(Self {
            body: EntryBody {
                origin,
                audience,
                seq,
                prev,
                doc_id,
                changes,
            },
            signature,
        })
    }

    /// Checks the signature, that every change decodes (which checks its
    /// hash), and that every change is authored by the origin key. Returns the
    /// decoded changes.
    pub fn verify(&self) -> Result<Vec<automerge::Change>, EntryError> {
        let body = &self.body;
        let key = VerifyingKey::from_bytes(&body.origin.0)
            .map_err(|_| EntryError::BadOrigin(body.origin))?;
        key.verify(
            &body.signing_bytes(),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| EntryError::BadSignature {
            origin: body.origin,
            seq: body.seq,
        })?;
        let mut decoded = Vec::with_capacity(body.changes.len());
        for (index, raw) in body.changes.iter().enumerate() {
            let change =
                automerge::Change::from_bytes(raw.clone()).map_err(|e| EntryError::BadChange {
                    origin: body.origin,
                    seq: body.seq,
                    index,
                    reason: e.to_string(),
                })?;
            // Automerge does not check a change's checksum on decode: the
            // chunk's SHA-256 (over type, length and data) must match both the
            // checksum the author wrote and the change hash, which also
            // rules out trailing bytes and compressed chunks.
            let digest: [u8; 32] = Sha256::digest(raw.get(8..).unwrap_or_default()).into();
            if raw.get(4..8) != Some(&digest[..4])
                || raw.get(8) != Some(&1)
                || digest != change.hash().0
            {
                return Err(EntryError::BadChange {
                    origin: body.origin,
                    seq: body.seq,
                    index,
                    reason: "its checksum does not match its content".to_owned(),
                });
            }
            // Automerge writes the author footer only on an actor's first
            // change (seq 1); later changes of the actor inherit it. A footer,
            // where present, must name the origin; the actor of a footer-less
            // change is checked against the document by `ActorBindings`.
            let author = change.author();
            let footer_ok = match &author {
                Some(author) => author.as_bytes() == &body.origin.0[..],
                None => change.seq() > 1,
            };
            if !footer_ok {
                return Err(EntryError::WrongAuthor {
                    origin: body.origin,
                    seq: body.seq,
                    index,
                    hash: change.hash().to_string(),
                    author: author.map_or_else(|| "none".to_owned(), |a| a.to_string()),
                });
            }
            decoded.push(change);
        }
        Ok(decoded)
    }
}

#[cfg(test)]
mod tests {
    use automerge::{Author, ReadDoc, transaction::Transactable};

    use super::*;
    use crate::identity::NodeKey;

    fn change_by(key: &NodeKey) -> Vec<u8> {
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "title", "Namibia's third NAP")
            .unwrap();
        tx.commit();
        assert!(doc.get(automerge::ROOT, "title").unwrap().is_some());
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    fn entry(key: &NodeKey, changes: Vec<Vec<u8>>) -> LogEntry {
        EntryBody {
            origin: key.id(),
            audience: Audience::Network,
            seq: 1,
            prev: EntryHash::default(),
            doc_id: "NAM:nap:aaaaaaaaaaaa".to_owned(),
            changes,
        }
        .sign(key.signing_key())
    }

    #[test]
    fn round_trip_and_verify() {
        let key = NodeKey::generate().unwrap();
        let e = entry(&key, vec![change_by(&key)]);
        let back = LogEntry::decode(&e.encode()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.hash(), e.hash());
        assert_eq!(back.verify().unwrap().len(), 1);
    }

    #[test]
    fn tampering_is_detected() {
        let key = NodeKey::generate().unwrap();
        let e = entry(&key, vec![change_by(&key)]);
        let mut forged = e.clone();
        forged.body.seq = 2;
        assert!(matches!(
            forged.verify(),
            Err(EntryError::BadSignature { .. })
        ));
        let mut bytes = e.encode();
        bytes.push(0);
        assert!(matches!(
            LogEntry::decode(&bytes),
            Err(EntryError::Malformed(_))
        ));
        assert!(LogEntry::decode(&bytes[..bytes.len() - 10]).is_err());
        assert!(LogEntry::decode(b"garbage").is_err());
    }

    #[test]
    fn a_change_by_another_author_is_refused() {
        let key = NodeKey::generate().unwrap();
        let other = NodeKey::generate().unwrap();
        let e = entry(&key, vec![change_by(&other)]);
        assert!(matches!(e.verify(), Err(EntryError::WrongAuthor { .. })));
    }

    #[test]
    fn later_changes_of_an_actor_must_come_from_the_key_that_started_it() {
        let key = NodeKey::generate().unwrap();
        let thief = NodeKey::generate().unwrap();
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut raw = Vec::new();
        for i in 0..2 {
            let mut tx = doc.transaction();
            tx.put(automerge::ROOT, "n", i as i64).unwrap();
            tx.commit();
            raw.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
        }
        let first = entry(&key, vec![raw[0].clone()]);
        let second = entry(&key, vec![raw[1].clone()]);
        let mut bindings = ActorBindings::default();
        bindings.check(&first, &first.verify().unwrap()).unwrap();
        bindings.check(&second, &second.verify().unwrap()).unwrap();
        assert_eq!(ActorBindings::from_document(&doc).0.len(), 1);

        // The second change, re-signed by another key, is refused: its actor
        // belongs to `key`.
        let stolen = entry(&thief, vec![raw[1].clone()]);
        let changes = stolen.verify().unwrap();
        assert!(matches!(
            bindings.check(&stolen, &changes),
            Err(EntryError::WrongAuthor { .. })
        ));
        // And without the first change, its actor is unknown.
        assert!(matches!(
            ActorBindings::default().check(&stolen, &changes),
            Err(EntryError::UnboundActor { .. })
        ));
    }

    #[test]
    fn a_corrupt_change_is_refused() {
        let key = NodeKey::generate().unwrap();
        let mut change = change_by(&key);
        // Byte 8 is inside the chunk checksum-covered header/body.
        for at in [5, 8, change.len() / 2] {
            let mut corrupt = change.clone();
            corrupt[at] ^= 0x5a;
            let e = entry(&key, vec![corrupt]);
            let err = e.verify().unwrap_err();
            assert!(
                matches!(err, EntryError::BadChange { .. }),
                "byte {at}: {err:?}"
            );
        }
        change.truncate(change.len() - 3);
        assert!(entry(&key, vec![change]).verify().is_err());
    }
}
