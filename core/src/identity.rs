//! The node key: this node's ed25519 identity.
//!
//! The key signs the node's log entries and is its TLS identity. It lives in
//! `DATA/node.key` as a PKCS#8 PEM file that only its owner may read. Losing it
//! means the node can no longer speak for its member; leaking it means someone
//! else can, so the loader refuses a key file that others can read.

use std::{
    fmt,
    fs::{self, OpenOptions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// PKCS#8 v2 (RFC 8410 `OneAsymmetricKey` with the public key) prefix for an
/// Ed25519 private key; the 32-byte seed follows.
const PKCS8_V2_PREFIX: [u8; 16] = [
    0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// Between the seed and the public key in the v2 encoding.
const PKCS8_V2_PUBLIC_KEY_TAG: [u8; 5] = [0xa1, 0x23, 0x03, 0x21, 0x00];
/// PKCS#8 v1 prefix (seed only), as written by OpenSSL.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A node's ed25519 key pair.
pub struct NodeKey {
    signing: SigningKey,
}

/// A node's public key, shown as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 32]);

/// Why the node key could not be created or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// `init` found a key already in place.
    #[error(
        "{0} already exists; refusing to overwrite this node's key (it is the node's identity). \
         Use another --data directory for a new node"
    )]
    AlreadyExists(PathBuf),
    /// The key file is missing.
    #[error("no node key at {0}; run `focal-node init --data DIR --member CODE` first")]
    Missing(PathBuf),
    /// Others than the owner may read or write the key file.
    #[error(
        "key file {path} has mode {mode:04o}: others can read it, so the key may be compromised. \
         Restrict it with `chmod 600 {path}` (and consider rotating the key)"
    )]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not an Ed25519 PKCS#8 PEM key.
    #[error("{path} is not an Ed25519 private key in PKCS#8 PEM form: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Reading or writing the file failed.
    #[error("cannot {action} key file {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The operating system's random source failed.
    #[error("cannot draw randomness for a new key: {0}")]
    Random(getrandom::Error),
}

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(KeyError::Random)?;
        Ok(Self {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The public half.
    pub fn id(&self) -> NodeId {
        NodeId(self.signing.verifying_key().to_bytes())
    }

    /// The signing key, for signing log entries.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The key as PKCS#8 v2 DER (RFC 8410), the form rustls and rcgen read.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        let mut der = Vec::with_capacity(85);
        der.extend_from_slice(&PKCS8_V2_PREFIX);
        der.extend_from_slice(self.signing.as_bytes());
        der.extend_from_slice(&PKCS8_V2_PUBLIC_KEY_TAG);
        der.extend_from_slice(self.signing.verifying_key().as_bytes());
        der
    }

    /// The key as a PKCS#8 PEM document.
    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.to_pkcs8_der());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        pem
    }

    /// Writes a new key file readable by its owner only. Never overwrites.
    pub fn create_file(&self, path: &Path) -> Result<(), KeyError> {
        let io_err = |source| KeyError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    KeyError::AlreadyExists(path.to_owned())
                } else {
                    io_err(e)
                }
            })?;
        file.write_all(self.to_pem().as_bytes()).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        Ok(())
    }

    /// Loads the key file, refusing one that others may read.
    pub fn load_file(path: &Path) -> Result<Self, KeyError> {
        let meta = fs::metadata(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                KeyError::Missing(path.to_owned())
            } else {
                KeyError::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem(&text).map_err(|reason| KeyError::Malformed {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses a PKCS#8 PEM Ed25519 key (v1 or v2).
    pub fn from_pem(text: &str) -> Result<Self, &'static str> {
        let body = text
            .trim()
            .strip_prefix("-----BEGIN PRIVATE KEY-----")
            .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
            .ok_or("missing the PRIVATE KEY PEM armour")?;
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| "the PEM body is not valid base64")?;
        let seed: [u8; 32] = match der.len() {
            48 if der[..16] == PKCS8_V1_PREFIX => der[16..48].try_into().map_err(|_| "short")?,
            85 if der[..16] == PKCS8_V2_PREFIX && der[48..53] == PKCS8_V2_PUBLIC_KEY_TAG => {
                der[16..48].try_into().map_err(|_| "short")?
            }
            _ => return Err("not an Ed25519 PKCS#8 structure"),
        };
        let signing = SigningKey::from_bytes(&seed);
        if der.len() == 85 && der[53..] != signing.verifying_key().to_bytes() {
            return Err("the embedded public key does not match the private key");
        }
        Ok(Self { signing })
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret half.
        f.debug_struct("NodeKey").field("id", &self.id()).finish()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", &hex::encode(&self.0[..6]))
    }
}

impl NodeId {
    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() {
        let key = NodeKey::generate().unwrap();
        let back = NodeKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(key.id(), back.id());
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = NodeKey::generate().unwrap();
        key.create_file(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let err = NodeKey::generate().unwrap().create_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists(_)));
        assert_eq!(NodeKey::load_file(&path).unwrap().id(), key.id());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = NodeKey::load_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn rejects_garbage() {
        assert!(NodeKey::from_pem("hello").is_err());
        let bad = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            NodeKey::from_pem(bad).unwrap_err(),
            "not an Ed25519 PKCS#8 structure"
        );
    }
}
