//! Key hand-over: the last thing a node key signs.
//!
//! When a member (or the secretariat) replaces its node key, the old key signs
//! a hand-over entry naming the new key and the last sequence number of each
//! of its logs. Nothing the old key signs beyond those numbers is valid: the
//! cut-off is clock-free, like a revocation. The entry is self-contained (it
//! verifies with nothing but the old key), so a node can check it whether or
//! not it holds the old key's logs; the secretariat confirms it by copying it
//! into the roster (`handovers`), which is how every node learns it.
//!
//! For the secretariat's own key (the trust anchor), the chain of hand-overs
//! from the genesis key is how a node finds the current anchor.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::{
    codec::{Malformed, Reader, put_bytes},
    identity::NodeId,
    log::EntryHash,
};

const DOMAIN: &[u8] = b"focal.handover.v1\0";

/// A signed hand-over from one node key to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The network it happens in.
    pub network_id: String,
    /// The member whose key is replaced.
    pub member: String,
    /// The key that signs, and stops.
    pub from: NodeId,
    /// The key that continues.
    pub to: NodeId,
    /// The last valid sequence number of `from`'s network log (0: none).
    pub last_network: u64,
    /// The hash of that entry (all zeros for none): the cut-off pins the
    /// entry, not only its number.
    pub last_network_hash: EntryHash,
    /// The last valid sequence number of `from`'s secretariat log (0: none).
    pub last_secretariat: u64,
    /// The hash of that entry (all zeros for none).
    pub last_secretariat_hash: EntryHash,
    /// `from`'s signature over the above.
    pub signature: [u8; 64],
}

/// Why a hand-over is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoverError {
    /// The text or bytes are not a hand-over.
    #[error("malformed hand-over: {0}")]
    Malformed(&'static str),
    /// The signature does not verify against `from`.
    #[error("the hand-over signature does not verify against key {0}")]
    BadSignature(NodeId),
}

impl From<Malformed> for HandoverError {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m.0)
    }
}

impl Handover {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = DOMAIN.to_vec();
        put_bytes(&mut bytes, self.network_id.as_bytes());
        put_bytes(&mut bytes, self.member.as_bytes());
        bytes.extend_from_slice(&self.from.0);
        bytes.extend_from_slice(&self.to.0);
        bytes.extend_from_slice(&self.last_network.to_be_bytes());
        bytes.extend_from_slice(&self.last_network_hash.0);
        bytes.extend_from_slice(&self.last_secretariat.to_be_bytes());
        bytes.extend_from_slice(&self.last_secretariat_hash.0);
        bytes
    }

    /// Signs a hand-over from `key` to `to`, ending `key`'s logs at the
    /// given last entries (sequence number and hash; 0 and zeros for none).
    pub fn sign(
        key: &SigningKey,
        network_id: &str,
        member: &str,
        to: NodeId,
        network: (u64, EntryHash),
        secretariat: (u64, EntryHash),
    ) -> Self {
        let mut handover = Self {
            network_id: network_id.to_owned(),
            member: member.to_owned(),
            from: NodeId(key.verifying_key().to_bytes()),
            to,
            last_network: network.0,
            last_network_hash: network.1,
            last_secretariat: secretariat.0,
            last_secretariat_hash: secretariat.1,
            signature: [0; 64],
        };
        handover.signature = key.sign(&handover.signed_bytes()).to_bytes();
        handover
    }

    /// The last valid entry of `from`'s log for `audience`: its sequence
    /// number and, unless there is none, its hash.
    pub fn last(&self, audience: crate::log::Audience) -> (u64, Option<EntryHash>) {
        let (seq, hash) = match audience {
            crate::log::Audience::Network => (self.last_network, self.last_network_hash),
            crate::log::Audience::Secretariat => {
                (self.last_secretariat, self.last_secretariat_hash)
            }
            crate::log::Audience::Local => (0, EntryHash::default()),
        };
        (seq, (seq > 0).then_some(hash))
    }

    /// The canonical encoding, in hex (how operators pass it around).
    pub fn to_hex(&self) -> String {
        let mut bytes = self.signed_bytes();
        bytes.extend_from_slice(&self.signature);
        hex::encode(bytes)
    }

    /// Parses a hex encoding and verifies the signature.
    pub fn from_hex(text: &str) -> Result<Self, HandoverError> {
        let bytes =
            hex::decode(text.trim()).map_err(|_| HandoverError::Malformed("not hex digits"))?;
        let mut r = Reader(
            bytes
                .strip_prefix(DOMAIN)
                .ok_or(HandoverError::Malformed("not a focal.handover.v1"))?,
        );
        let network_id = r.text(256)?;
        let member = r.text(256)?;
        let from = NodeId(r.array()?);
        let to = NodeId(r.array()?);
        let last_network = r.u64()?;
        let last_network_hash = EntryHash(r.array()?);
        let last_secretariat = r.u64()?;
        let last_secretariat_hash = EntryHash(r.array()?);
        let signature = r.array::<64>()?;
        r.finish()?;
        if from == to {
            return Err(HandoverError::Malformed("a key cannot hand over to itself"));
        }
        let handover = Self {
            network_id,
            member,
            from,
            to,
            last_network,
            last_network_hash,
            last_secretariat,
            last_secretariat_hash,
            signature,
        };
        let key =
            VerifyingKey::from_bytes(&from.0).map_err(|_| HandoverError::BadSignature(from))?;
        key.verify(
            &handover.signed_bytes(),
            &Signature::from_bytes(&handover.signature),
        )
        .map_err(|_| HandoverError::BadSignature(from))?;
        Ok(handover)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeKey;

    #[test]
    fn round_trip_and_tamper() {
        let old = NodeKey::generate().unwrap();
        let new = NodeKey::generate().unwrap();
        let h = Handover::sign(
            old.signing_key(),
            "net",
            "ESP",
            new.id(),
            (12, EntryHash([7; 32])),
            (3, EntryHash([9; 32])),
        );
        let text = h.to_hex();
        let back = Handover::from_hex(&text).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.from, old.id());
        // Any flipped byte is refused.
        let mut bytes = hex::decode(&text).unwrap();
        let n = bytes.len() - 70;
        bytes[n] ^= 1;
        assert!(Handover::from_hex(&hex::encode(&bytes)).is_err());
        // Trailing bytes are refused.
        assert!(Handover::from_hex(&format!("{text}00")).is_err());
        assert!(Handover::from_hex("zz").is_err());
        assert!(Handover::from_hex(&text[..text.len() - 2]).is_err());
    }
}
