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

use ed25519_dalek::{SIGNATURE_LENGTH, Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{
    codec::{Malformed, Reader, put_bytes},
    identity::NodeId,
    limits::{Limit, Limits, OverLimit},
};

/// Domain separator at the start of every signed entry.
const DOMAIN: &[u8] = b"focal.log-entry.v1\0";

/// Largest record id an entry may carry, in bytes.
pub const MAX_DOC_ID_BYTES: usize = 128;
/// Largest number of Automerge changes in one entry.
pub const MAX_CHANGES_PER_ENTRY: usize = 1024;
/// The largest message of the peer protocol, in bytes: the same on every
/// node, whatever `server.max_message_bytes` says (that one bounds the client
/// API), since a batch one node may send, every node must be able to take.
pub const PEER_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// What a `PullResponse` costs beyond its entries' bytes: its other fields
/// (`caught_up`, `total`; tonic's limit does not count the 5-byte gRPC
/// frame header), with room to spare. Each entry costs
/// [`ENTRY_FRAMING_BYTES`] more.
pub const PULL_FRAMING_BYTES: usize = 32;
/// What one entry costs in a `PullResponse` beyond its bytes: the field tag
/// and the length (a varint of at most 5 bytes).
pub const ENTRY_FRAMING_BYTES: usize = 6;
/// Largest encoded entry, in bytes: one entry alone in a `PullResponse`
/// fills a peer message exactly. The writer refuses a write whose entry
/// would be larger before signing it, and a received entry larger than this
/// is malformed: what one node signs, every node can receive.
pub const MAX_ENTRY_BYTES: usize = PEER_MESSAGE_BYTES - PULL_FRAMING_BYTES - ENTRY_FRAMING_BYTES;

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

/// The head of a log: its last sequence number and that entry's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    /// The last sequence number.
    pub seq: u64,
    /// The hash of that entry.
    pub hash: EntryHash,
}

/// A log: whose key signs it, for which audience.
pub type LogKey = (NodeId, Audience);

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
    /// The entry, or one of its changes, is over one of the [`Limits`].
    #[error("entry {seq} of {origin}{}: {over}", change_label(*.index))]
    OverLimit {
        /// The origin.
        origin: NodeId,
        /// The entry's sequence number.
        seq: u64,
        /// The change's position in the entry, if one change is over.
        index: Option<usize>,
        /// Which limit, the value and the limit.
        over: OverLimit,
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

fn change_label(index: Option<usize>) -> String {
    index.map_or_else(String::new, |i| format!(", change {i}"))
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
    /// The length of the signed bytes.
    fn signing_len(&self) -> usize {
        DOMAIN.len()
            + 32
            + 1
            + 8
            + 32
            + 4
            + self.doc_id.len()
            + 4
            + self.changes.iter().map(|c| 4 + c.len()).sum::<usize>()
    }

    /// The length of the entry's canonical encoding once signed, known
    /// before signing (to refuse what could not travel).
    pub fn encoded_len(&self) -> usize {
        self.signing_len() + SIGNATURE_LENGTH
    }

    /// The canonical bytes that are signed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(self.signing_len());
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

/// Where `prev` lies in an entry's encoding (after the domain, origin,
/// audience and sequence number).
pub const PREV_OFFSET: usize = DOMAIN.len() + 32 + 1 + 8;

/// The chained wire form of an encoded entry: the encoding without its
/// `prev`, for a message of consecutive entries of one log, where the
/// receiver puts back the hash of the entry before it ([`rechain`]). The
/// signature still covers `prev`: an entry put back after the wrong one
/// does not verify. `None` if the bytes are too short to be an entry.
pub fn unchain(encoded: &[u8]) -> Option<Vec<u8>> {
    let end = PREV_OFFSET.checked_add(32)?;
    if encoded.len() < end {
        return None;
    }
    let mut short = Vec::with_capacity(encoded.len() - 32);
    short.extend_from_slice(&encoded[..PREV_OFFSET]);
    short.extend_from_slice(&encoded[end..]);
    Some(short)
}

/// Puts `prev` back into an entry of the chained wire form ([`unchain`]).
pub fn rechain(short: &[u8], prev: &EntryHash) -> Result<Vec<u8>, EntryError> {
    if short.len() < PREV_OFFSET || short.len() + 32 > MAX_ENTRY_BYTES {
        return Err(EntryError::Malformed(
            "a chained entry of impossible length",
        ));
    }
    let mut full = Vec::with_capacity(short.len() + 32);
    full.extend_from_slice(&short[..PREV_OFFSET]);
    full.extend_from_slice(&prev.0);
    full.extend_from_slice(&short[PREV_OFFSET..]);
    Ok(full)
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

    /// Checks the entry, cheapest checks first, so that nothing costly
    /// happens to an entry before its cost is known to be bounded:
    ///
    /// 1. each change's chunk header (magic bytes, "uncompressed change"
    ///    type, a length that matches the bytes: a compressed chunk is
    ///    refused here, never inflated) and its operations, counted from
    ///    the run lengths of its columns ([`scan_change`]) against the
    ///    per-change and per-entry limits;
    /// 2. the signature;
    /// 3. each change's checksum, then its decoding by Automerge, then its
    ///    author.
    ///
    /// Returns the decoded changes.
    pub fn verify(&self, limits: &Limits) -> Result<Vec<automerge::Change>, EntryError> {
        let body = &self.body;
        let bad_change = |index: usize, reason: String| EntryError::BadChange {
            origin: body.origin,
            seq: body.seq,
            index,
            reason,
        };
        let over = |index: Option<usize>, over: OverLimit| EntryError::OverLimit {
            origin: body.origin,
            seq: body.seq,
            index,
            over,
        };
        let mut entry_ops: u64 = 0;
        for (index, raw) in body.changes.iter().enumerate() {
            let shape = scan_change(raw).map_err(|why| bad_change(index, why.to_owned()))?;
            // `claimed` bounds what decoding would materialise: the
            // operations, and the predecessors a group column promises.
            limits
                .check(Limit::OpsPerChange, shape.claimed)
                .map_err(|o| over(Some(index), o))?;
            entry_ops = entry_ops.saturating_add(shape.claimed);
            limits
                .check(Limit::OpsPerEntry, entry_ops)
                .map_err(|o| over(None, o))?;
        }
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
            // Automerge does not check a change's checksum on decode: the
            // chunk's SHA-256 (over type, length and data) must match the
            // checksum the author wrote, and (below) the change hash.
            let digest: [u8; 32] = Sha256::digest(raw.get(8..).unwrap_or_default()).into();
            if raw.get(4..8) != Some(&digest[..4]) {
                return Err(bad_change(
                    index,
                    "its checksum does not match its content".to_owned(),
                ));
            }
            let change = automerge::Change::from_bytes(raw.clone())
                .map_err(|e| bad_change(index, e.to_string()))?;
            if digest != change.hash().0 {
                return Err(bad_change(
                    index,
                    "its checksum does not match its content".to_owned(),
                ));
            }
            // Only Automerge's canonical encoding: a document saves its
            // changes re-encoded, so a change whose bytes are not canonical
            // (found by fuzzing: one run-length digit changed, checksum
            // recomputed) applies, but the saved document then loads back
            // with another hash for it and fails to load on every node that
            // stored it.
            let expanded = change.decode();
            if let Some(op) = expanded
                .operations
                .iter()
                .find_map(|op| foreign_op(&op.action))
            {
                return Err(bad_change(
                    index,
                    format!(
                        "it holds {op}; Focal records hold only maps, lists and plain values \
                         (strings, numbers, booleans, null)"
                    ),
                ));
            }
            if automerge::Change::from(expanded).raw_bytes() != &raw[..] {
                return Err(bad_change(
                    index,
                    "it is not in Automerge's canonical encoding".to_owned(),
                ));
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

/// What an operation is, if no Focal node ever writes one like it: a
/// record is maps, lists and plain values (`doc::reconcile`), and the
/// node's JSON-only API cannot make anything else. Refusing the rest keeps
/// the parts of Automerge Focal does not use (text, counters, marks) out of
/// reach of a peer: fuzzing found a mark that makes Automerge 0.12 panic
/// inside a destructor while it unwinds, which aborts the process, past any
/// `catch_unwind`.
fn foreign_op(action: &automerge::legacy::OpType) -> Option<&'static str> {
    use automerge::{ObjType, ScalarValue, legacy::OpType};
    match action {
        OpType::Make(ObjType::Map | ObjType::List) | OpType::Delete => None,
        OpType::Put(
            ScalarValue::Null
            | ScalarValue::Boolean(_)
            | ScalarValue::Int(_)
            | ScalarValue::F64(_)
            | ScalarValue::Str(_),
        ) => None,
        OpType::Make(ObjType::Text) => Some("a text object"),
        OpType::Make(ObjType::Table) => Some("a table"),
        OpType::Increment(_) => Some("a counter increment"),
        OpType::Put(ScalarValue::Counter(_)) => Some("a counter"),
        OpType::Put(ScalarValue::Bytes(_)) => Some("a byte string"),
        OpType::Put(ScalarValue::Uint(_)) => Some("an unsigned integer"),
        OpType::Put(ScalarValue::Timestamp(_)) => Some("an Automerge timestamp"),
        OpType::Put(_) => Some("a value of an unknown type"),
        OpType::MarkBegin(_) | OpType::MarkEnd(_) => Some("a text mark"),
    }
}

/// The magic bytes that open every Automerge chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of an uncompressed change (0 is a document, 2 a
/// deflate-compressed change, 3 a bundle).
const CHUNK_CHANGE: u8 = 1;
/// The column-type bit that marks a deflated column.
const COLUMN_DEFLATE: u32 = 0b1000;
/// Automerge's change ops column of actions: one item per operation.
const ACTION_COLUMN: u32 = 4;

/// What [`scan_change`] learns from a change's bytes without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeShape {
    /// The operations the change holds (items of its action column).
    pub ops: u64,
    /// The most items any of its columns would make decoding produce
    /// (operations, or predecessors summed over a group column), which
    /// bounds what decoding and applying it allocate. At least `ops`.
    pub claimed: u64,
}

/// Reads an Automerge change chunk's header and column layout and counts
/// the items of each op column from its run lengths, without decoding or
/// allocating anything per item. Automerge 0.12's `Change::from_bytes`
/// decodes every operation to count them (and inflates compressed chunks
/// first), so a 148-byte change claiming 100,000,001 operations, or a
/// deflate bomb, costs nothing here and everything there.
///
/// Refuses (with the reason) anything but one uncompressed change chunk
/// whose declared length is exactly its bytes and whose columns are neither
/// deflated nor longer than the chunk. The `claimed` count is the limit
/// that matters: it is checked against the operation limits.
pub fn scan_change(raw: &[u8]) -> Result<ChangeShape, &'static str> {
    let mut r = LebReader(raw);
    if r.take(4)? != CHUNK_MAGIC {
        return Err("not an Automerge chunk (wrong magic bytes)");
    }
    r.take(4)?; // checksum, checked once the signature holds
    match r.take(1)?[0] {
        CHUNK_CHANGE => {}
        2 => {
            return Err(
                "a compressed change chunk; only uncompressed changes are accepted \
                        (they are never inflated)",
            );
        }
        _ => return Err("not a change chunk"),
    }
    let length = r.uleb()?;
    if length != r.0.len() as u64 {
        return Err("the chunk's length does not match its bytes");
    }
    let deps = r.uleb()?;
    r.skip(deps.checked_mul(32).ok_or("too many dependencies")?)?;
    let actor = r.uleb()?;
    r.skip(actor)?;
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    let message = r.uleb()?;
    r.skip(message)?;
    let others = r.uleb()?;
    for _ in 0..others {
        let len = r.uleb()?;
        r.skip(len)?;
    }
    let columns = r.uleb()?;
    // Each column takes at least two bytes to describe.
    if columns > r.0.len() as u64 / 2 {
        return Err("more columns than bytes");
    }
    let mut layout = Vec::with_capacity(columns as usize);
    let mut total: u64 = 0;
    for _ in 0..columns {
        let spec = u32::try_from(r.uleb()?).map_err(|_| "a column spec over 32 bits")?;
        let len = r.uleb()?;
        if spec & COLUMN_DEFLATE != 0 {
            return Err("a deflated column; changes carry uncompressed columns only");
        }
        total = total.checked_add(len).ok_or("column lengths overflow")?;
        layout.push((spec, len));
    }
    if total > r.0.len() as u64 {
        return Err("its columns are longer than the chunk");
    }
    let mut shape = ChangeShape { ops: 0, claimed: 0 };
    for (spec, len) in layout {
        let data = r.take(len)?;
        let (items, sum) = count_column(spec & 0b111, data)?;
        if spec >> 4 == ACTION_COLUMN {
            shape.ops = items;
        }
        shape.claimed = shape.claimed.max(items).max(sum);
    }
    shape.claimed = shape.claimed.max(shape.ops);
    Ok(shape)
}

/// Counts the items of one column (and, for a group column, the sum of its
/// values: how many items of the grouped columns each op takes), run by run.
fn count_column(kind: u32, data: &[u8]) -> Result<(u64, u64), &'static str> {
    let mut r = LebReader(data);
    let mut items: u64 = 0;
    let mut sum: u64 = 0;
    match kind {
        // Boolean: alternating run lengths.
        4 => {
            while !r.0.is_empty() {
                items = items.saturating_add(r.uleb()?);
            }
        }
        // Raw values: their count is given by the metadata column.
        7 => {}
        // Run-length encoded: group (0), actor (1), integer (2), delta (3),
        // string (5), value metadata (6).
        _ => {
            let value = |r: &mut LebReader<'_>| -> Result<u64, &'static str> {
                match kind {
                    3 => r.sleb().map(|_| 0),
                    5 => {
                        let len = r.uleb()?;
                        r.skip(len).map(|()| 0)
                    }
                    _ => r.uleb(),
                }
            };
            while !r.0.is_empty() {
                let count = r.sleb()?;
                if count > 0 {
                    let v = value(&mut r)?;
                    items = items.saturating_add(count as u64);
                    sum = sum.saturating_add(v.saturating_mul(count as u64));
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    if n > r.0.len() as u64 {
                        return Err("a literal run longer than its column");
                    }
                    for _ in 0..n {
                        sum = sum.saturating_add(value(&mut r)?);
                    }
                    items = items.saturating_add(n);
                } else {
                    items = items.saturating_add(r.uleb()?);
                }
            }
        }
    }
    if kind != 0 {
        sum = 0;
    }
    Ok((items, sum))
}

/// A strict reader of LEB128 numbers and byte strings.
struct LebReader<'a>(&'a [u8]);

impl<'a> LebReader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], &'static str> {
        let n = usize::try_from(n).map_err(|_| "a length beyond the chunk")?;
        if n > self.0.len() {
            return Err("a length beyond the chunk");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn skip(&mut self, n: u64) -> Result<(), &'static str> {
        self.take(n).map(|_| ())
    }

    fn uleb(&mut self) -> Result<u64, &'static str> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let [byte] = self.take(1)?.try_into().map_err(|_| "truncated")?;
            let part = u64::from(byte & 0x7f);
            if shift == 63 && part > 1 {
                return Err("a number over 64 bits");
            }
            value |= part << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number over 64 bits")
    }

    fn sleb(&mut self) -> Result<i64, &'static str> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let [byte] = self.take(1)?.try_into().map_err(|_| "truncated")?;
            if shift >= 64 {
                return Err("a number over 64 bits");
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1 << shift;
                }
                return Ok(value);
            }
        }
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
    fn a_chained_entry_comes_back_whole_only_after_the_entry_it_follows() {
        let key = NodeKey::generate().unwrap();
        let first = entry(&key, vec![change_by(&key)]);
        let second = EntryBody {
            seq: 2,
            prev: first.hash(),
            ..first.body.clone()
        }
        .sign(key.signing_key());
        let encoded = second.encode();
        let short = unchain(&encoded).unwrap();
        assert_eq!(short.len(), encoded.len() - 32);
        let whole = rechain(&short, &first.hash()).unwrap();
        assert_eq!(whole, encoded);
        LogEntry::decode(&whole)
            .unwrap()
            .verify(&Limits::default())
            .unwrap();
        // Put back after another entry: it decodes, but does not verify.
        let wrong = rechain(&short, &second.hash()).unwrap();
        assert!(matches!(
            LogEntry::decode(&wrong).unwrap().verify(&Limits::default()),
            Err(EntryError::BadSignature { .. })
        ));
        assert!(unchain(&encoded[..PREV_OFFSET + 31]).is_none());
        assert!(rechain(&short[..PREV_OFFSET - 1], &first.hash()).is_err());
    }

    #[test]
    fn the_size_of_an_entry_is_known_before_it_is_signed() {
        let key = NodeKey::generate().unwrap();
        for changes in [vec![], vec![change_by(&key)], vec![vec![7; 1000], vec![]]] {
            let body = EntryBody {
                origin: key.id(),
                audience: Audience::Network,
                seq: 9,
                prev: EntryHash::default(),
                doc_id: "NAM:nap:aaaaaaaaaaaa".to_owned(),
                changes,
            };
            let expected = body.encoded_len();
            assert_eq!(body.sign(key.signing_key()).encode().len(), expected);
        }
        // One entry alone fills a peer message, framing included.
        assert_eq!(
            MAX_ENTRY_BYTES + ENTRY_FRAMING_BYTES + PULL_FRAMING_BYTES,
            PEER_MESSAGE_BYTES
        );
    }

    #[test]
    fn round_trip_and_verify() {
        let key = NodeKey::generate().unwrap();
        let e = entry(&key, vec![change_by(&key)]);
        let back = LogEntry::decode(&e.encode()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.hash(), e.hash());
        assert_eq!(back.verify(&Limits::default()).unwrap().len(), 1);
    }

    #[test]
    fn tampering_is_detected() {
        let key = NodeKey::generate().unwrap();
        let e = entry(&key, vec![change_by(&key)]);
        let mut forged = e.clone();
        forged.body.seq = 2;
        assert!(matches!(
            forged.verify(&Limits::default()),
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
        assert!(matches!(
            e.verify(&Limits::default()),
            Err(EntryError::WrongAuthor { .. })
        ));
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
        bindings
            .check(&first, &first.verify(&Limits::default()).unwrap())
            .unwrap();
        bindings
            .check(&second, &second.verify(&Limits::default()).unwrap())
            .unwrap();
        assert_eq!(ActorBindings::from_document(&doc).0.len(), 1);

        // The second change, re-signed by another key, is refused: its actor
        // belongs to `key`.
        let stolen = entry(&thief, vec![raw[1].clone()]);
        let changes = stolen.verify(&Limits::default()).unwrap();
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
    fn a_change_not_in_canonical_encoding_is_refused() {
        // Found by `fuzz/automerge_change`: valid bytes but for one column's
        // encoding; applied, the document would not load back once saved.
        let mut raw =
            include_bytes!("../../fuzz/regressions/automerge_change/save-load-mismatched-heads")
                .to_vec();
        let digest = Sha256::digest(&raw[8..]);
        raw[4..8].copy_from_slice(&digest[..4]);
        // The fuzz target's key: the change's author footer names it.
        let key = SigningKey::from_bytes(&[7; 32]);
        let signed = EntryBody {
            origin: NodeId(key.verifying_key().to_bytes()),
            audience: Audience::Network,
            seq: 1,
            prev: EntryHash::default(),
            doc_id: "ESP:nap:aaaaaaaaaaaa".to_owned(),
            changes: vec![raw],
        }
        .sign(&key);
        let err = signed.verify(&Limits::default()).unwrap_err();
        assert!(err.to_string().contains("canonical encoding"), "{err}");
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
            let err = e.verify(&Limits::default()).unwrap_err();
            assert!(
                matches!(err, EntryError::BadChange { .. }),
                "byte {at}: {err:?}"
            );
        }
        change.truncate(change.len() - 3);
        assert!(
            entry(&key, vec![change])
                .verify(&Limits::default())
                .is_err()
        );
    }

    /// A change chunk written by hand: `columns` are (spec, data).
    fn chunk(chunk_type: u8, columns: &[(u32, Vec<u8>)]) -> Vec<u8> {
        fn uleb(out: &mut Vec<u8>, mut v: u64) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut data = vec![0]; // no dependencies
        uleb(&mut data, 16);
        data.extend_from_slice(&[7; 16]); // actor
        data.extend_from_slice(&[1, 1, 0, 0, 0]); // seq, start op, time, message, others
        uleb(&mut data, columns.len() as u64);
        for (spec, bytes) in columns {
            uleb(&mut data, u64::from(*spec));
            uleb(&mut data, bytes.len() as u64);
        }
        for (_, bytes) in columns {
            data.extend_from_slice(bytes);
        }
        let mut hashed = vec![chunk_type];
        uleb(&mut hashed, data.len() as u64);
        hashed.extend_from_slice(&data);
        let digest = Sha256::digest(&hashed);
        let mut out = CHUNK_MAGIC.to_vec();
        out.extend_from_slice(&digest[..4]);
        out.extend_from_slice(&hashed);
        out
    }

    #[test]
    fn operations_are_counted_from_the_run_lengths() {
        let key = NodeKey::generate().unwrap();
        // A real change: its count is its operations.
        let real = change_by(&key);
        let decoded = automerge::Change::from_bytes(real.clone()).unwrap();
        assert_eq!(scan_change(&real).unwrap().ops, decoded.len() as u64);

        // One run of the action column (id 4, type integer 2) claiming
        // 100,000,001 operations: a few dozen bytes.
        let mut run = vec![0x81, 0xc2, 0xd7, 0x2f]; // sLEB 100_000_001
        run.push(1);
        let bomb = chunk(1, &[((4 << 4) | 2, run)]);
        assert!(bomb.len() < 148, "{}", bomb.len());
        assert_eq!(scan_change(&bomb).unwrap().ops, 100_000_001);
        // Refused as over the limit, i.e. from the bytes, before decoding.
        let err = entry(&key, vec![bomb])
            .verify(&Limits::default())
            .unwrap_err();
        match &err {
            EntryError::OverLimit { over, index, .. } => {
                assert_eq!(over.limit, Limit::OpsPerChange);
                assert_eq!(over.value, 100_000_001);
                assert_eq!(*index, Some(0));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("max_ops_per_change"), "{err}");

        // Predecessors claimed through a group column (id 7, type 0) count
        // too: one op with a billion predecessors.
        let preds = chunk(
            1,
            &[
                ((4 << 4) | 2, vec![1, 1]),
                ((7 << 4), vec![1, 0x80, 0x94, 0xeb, 0xdc, 0x03]),
            ],
        );
        assert_eq!(scan_change(&preds).unwrap().claimed, 1_000_000_000);
        assert_eq!(scan_change(&preds).unwrap().ops, 1);
        let err = entry(&key, vec![preds])
            .verify(&Limits::default())
            .unwrap_err();
        assert!(
            matches!(&err, EntryError::OverLimit { over, .. } if over.value == 1_000_000_000),
            "{err:?}"
        );

        // Changes under the per-change limit still add up per entry.
        let limits = Limits {
            max_ops_per_change: 40_000,
            max_ops_per_entry: 50_000,
            ..Limits::default()
        };
        let thirty = chunk(1, &[((4 << 4) | 2, vec![0xb0, 0xea, 0x01, 1])]); // 30,000
        assert_eq!(scan_change(&thirty).unwrap().ops, 30_000);
        let err = entry(&key, vec![thirty.clone(), thirty])
            .verify(&limits)
            .unwrap_err();
        assert!(
            matches!(&err, EntryError::OverLimit { over, index: None, .. } if over.limit == Limit::OpsPerEntry),
            "{err:?}"
        );
    }

    #[test]
    fn a_compressed_chunk_is_refused_without_being_inflated() {
        let key = NodeKey::generate().unwrap();
        // What Automerge itself sends for a large change: a deflated chunk.
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "notes", "x".repeat(100_000))
            .unwrap();
        tx.commit();
        let compressed = doc
            .get_last_local_change()
            .unwrap()
            .clone()
            .bytes()
            .to_vec();
        assert_eq!(compressed[8], 2, "automerge compressed it");
        assert!(automerge::Change::from_bytes(compressed.clone()).is_ok());
        let err = entry(&key, vec![compressed])
            .verify(&Limits::default())
            .unwrap_err();
        assert!(err.to_string().contains("compressed change chunk"), "{err}");

        // A compressed chunk whose payload is not even deflate: refused for
        // being compressed, so it was never handed to an inflater.
        let garbage = chunk(2, &[]);
        let err = entry(&key, vec![garbage])
            .verify(&Limits::default())
            .unwrap_err();
        assert!(err.to_string().contains("compressed change chunk"), "{err}");
    }

    #[test]
    fn chunk_headers_are_checked_before_anything_else() {
        let key = NodeKey::generate().unwrap();
        let good = change_by(&key);
        let mut wrong_magic = good.clone();
        wrong_magic[0] ^= 1;
        let mut document = good.clone();
        document[8] = 0;
        let mut long = good.clone();
        long.push(0);
        for (bad, why) in [
            (wrong_magic, "magic"),
            (document, "not a change chunk"),
            (long, "length does not match"),
        ] {
            // Signed by another key: the chunk is refused before the
            // signature is even looked at.
            let mut e = entry(&key, vec![bad]);
            e.signature = [0; 64];
            let err = e.verify(&Limits::default()).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
        // A deflated column is refused as well.
        let deflated = chunk(1, &[((4 << 4) | 0b1010, vec![1, 1])]);
        assert!(scan_change(&deflated).unwrap_err().contains("deflated"));
        // Column lengths beyond the chunk.
        let mut lying = chunk(1, &[((4 << 4) | 2, vec![1, 1])]);
        let at = lying.len() - 3;
        lying[at] = 0x7f;
        assert!(scan_change(&lying).is_err());
    }

    /// A signed entry of one change by `key`, made by `write` on a new
    /// document.
    fn entry_writing(
        key: &NodeKey,
        write: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) -> LogEntry {
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut tx = doc.transaction();
        write(&mut tx);
        tx.commit();
        let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        entry(key, vec![change])
    }

    #[test]
    fn operations_no_focal_node_writes_are_refused() {
        use automerge::{
            ObjType, ScalarValue,
            marks::{ExpandMark, Mark},
        };
        let key = NodeKey::generate().unwrap();
        let cases: Vec<(&str, LogEntry)> = vec![
            (
                "a text mark",
                entry_writing(&key, |tx| {
                    let text = tx
                        .put_object(automerge::ROOT, "title", ObjType::Text)
                        .unwrap();
                    tx.splice_text(&text, 0, 0, "Women, peace and security")
                        .unwrap();
                    tx.mark(
                        &text,
                        Mark::new("bold".into(), true, 0, 5),
                        ExpandMark::Both,
                    )
                    .unwrap();
                }),
            ),
            (
                "a text object",
                entry_writing(&key, |tx| {
                    tx.put_object(automerge::ROOT, "title", ObjType::Text)
                        .unwrap();
                }),
            ),
            (
                "a counter",
                entry_writing(&key, |tx| {
                    tx.put(automerge::ROOT, "n", ScalarValue::counter(1))
                        .unwrap();
                }),
            ),
            (
                "a byte string",
                entry_writing(&key, |tx| {
                    tx.put(automerge::ROOT, "b", ScalarValue::Bytes(vec![1, 2]))
                        .unwrap();
                }),
            ),
        ];
        for (what, entry) in cases {
            let err = entry.verify(&Limits::default()).unwrap_err().to_string();
            // A mark needs a text object, which comes first in its change.
            let first = if what == "a text mark" {
                "a text object"
            } else {
                what
            };
            assert!(err.contains(&format!("it holds {first}")), "{what}: {err}");
            let change = automerge::Change::from_bytes(entry.body.changes[0].clone()).unwrap();
            let found: Vec<&str> = change
                .decode()
                .operations
                .iter()
                .filter_map(|op| foreign_op(&op.action))
                .collect();
            assert!(found.contains(&what), "{what}: {found:?}");
        }
        // What Focal writes passes.
        let fine = entry_writing(&key, |tx| {
            let list = tx
                .put_object(automerge::ROOT, "themes", ObjType::List)
                .unwrap();
            tx.insert(&list, 0, "peacekeeping").unwrap();
            let map = tx
                .put_object(automerge::ROOT, "title", ObjType::Map)
                .unwrap();
            tx.put(&map, "en", "Third NAP").unwrap();
            tx.put(automerge::ROOT, "year", 2026).unwrap();
            tx.put(automerge::ROOT, "share", 0.5).unwrap();
            tx.put(automerge::ROOT, "deleted", false).unwrap();
            tx.put(automerge::ROOT, "note", ScalarValue::Null).unwrap();
            tx.delete(automerge::ROOT, "note").unwrap();
        });
        fine.verify(&Limits::default()).unwrap();
    }

    #[test]
    fn a_deep_nesting_bomb_is_refused_by_its_operation_count() {
        // 200,000 nested maps: a document no stack could read recursively.
        let key = NodeKey::generate().unwrap();
        let mut doc = automerge::Automerge::new();
        doc.set_author(Some(Author::from(key.id().0.to_vec())));
        let mut tx = doc.transaction();
        let mut obj = automerge::ROOT;
        for _ in 0..200_000 {
            obj = tx.put_object(&obj, "n", automerge::ObjType::Map).unwrap();
        }
        tx.commit();
        let raw = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        let err = entry(&key, vec![raw])
            .verify(&Limits::default())
            .unwrap_err();
        assert!(
            matches!(&err, EntryError::OverLimit { over, .. } if over.limit == Limit::OpsPerChange && over.value == 200_000),
            "{err:?}"
        );
    }
}
