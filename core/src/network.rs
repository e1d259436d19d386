//! The network a node belongs to: its genesis, and how a node finds it.
//!
//! The secretariat founds the network with a genesis statement signed by its
//! key: the network's name, the secretariat's key and the time of founding.
//! The network id is derived from the signed genesis, so two networks never
//! share an id even if they share a name, and no one but the secretariat can
//! produce a genesis that hashes to a given id.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{
    codec::{Malformed, Reader, put_bytes},
    identity::NodeId,
};

impl From<Malformed> for GenesisError {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m.0)
    }
}

const DOMAIN: &[u8] = b"focal.genesis.v1\0";

/// The founding statement of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// The network's human name.
    pub name: String,
    /// The secretariat's key: the network's trust anchor.
    pub secretariat: NodeId,
    /// Unix seconds at founding.
    pub founded: i64,
    /// The secretariat's signature over the above.
    pub signature: [u8; 64],
}

/// Why a genesis is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The bytes are not a genesis.
    #[error("malformed genesis: {0}")]
    Malformed(&'static str),
    /// The signature does not verify.
    #[error("the genesis signature does not verify against secretariat key {0}")]
    BadSignature(NodeId),
}

impl Genesis {
    fn signed_bytes(name: &str, secretariat: &NodeId, founded: i64) -> Vec<u8> {
        let mut bytes = DOMAIN.to_vec();
        put_bytes(&mut bytes, name.as_bytes());
        bytes.extend_from_slice(&secretariat.0);
        bytes.extend_from_slice(&founded.to_be_bytes());
        bytes
    }

    /// Founds a network.
    pub fn found(name: &str, key: &SigningKey, founded: i64) -> Self {
        let secretariat = NodeId(key.verifying_key().to_bytes());
        let signature = key
            .sign(&Self::signed_bytes(name, &secretariat, founded))
            .to_bytes();
        Self {
            name: name.to_owned(),
            secretariat,
            founded,
            signature,
        }
    }

    /// The canonical encoding (signed bytes, then the signature).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Self::signed_bytes(&self.name, &self.secretariat, self.founded);
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// Parses and verifies an encoded genesis.
    pub fn decode(bytes: &[u8]) -> Result<Self, GenesisError> {
        let mut r = Reader(
            bytes
                .strip_prefix(DOMAIN)
                .ok_or(GenesisError::Malformed("not a focal.genesis.v1"))?,
        );
        let name = r.text(256)?;
        let secretariat = r.array::<32>()?;
        let founded = r.u64()? as i64;
        let signature = r.array::<64>()?;
        r.finish()?;
        let genesis = Self {
            name,
            secretariat: NodeId(secretariat),
            founded,
            signature,
        };
        let key = VerifyingKey::from_bytes(&secretariat)
            .map_err(|_| GenesisError::BadSignature(genesis.secretariat))?;
        key.verify(
            &Self::signed_bytes(&genesis.name, &genesis.secretariat, genesis.founded),
            &Signature::from_bytes(&genesis.signature),
        )
        .map_err(|_| GenesisError::BadSignature(genesis.secretariat))?;
        Ok(genesis)
    }

    /// The network id: the first 16 bytes of the SHA-256 of the encoded
    /// genesis, in hex.
    pub fn network_id(&self) -> String {
        hex::encode(&Sha256::digest(self.encode())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeKey;

    #[test]
    fn genesis_round_trips_and_is_tamper_evident() {
        let key = NodeKey::generate().unwrap();
        let genesis = Genesis::found("WPS Focal Points Network", key.signing_key(), 1_474_617_600);
        let back = Genesis::decode(&genesis.encode()).unwrap();
        assert_eq!(back, genesis);
        assert_eq!(back.network_id().len(), 32);
        let mut bytes = genesis.encode();
        bytes[DOMAIN.len() + 5] ^= 1;
        assert!(matches!(
            Genesis::decode(&bytes),
            Err(GenesisError::BadSignature(_))
        ));
        let other = Genesis::found("WPS Focal Points Network", key.signing_key(), 1_474_617_601);
        assert_ne!(other.network_id(), genesis.network_id());
    }
}
