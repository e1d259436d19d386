//! The certificate for clients that cannot verify ed25519: stock gRPC stacks
//! on BoringSSL (Python's `grpcio`, C++, and browsers) offer no ed25519
//! signature scheme, so the node key's certificate is useless to them.
//!
//! They get an ECDSA P-256 certificate instead, of a P-256 key the node keeps
//! in its data directory next to the node key:
//!
//! ```text
//! DATA/
//!   client-tls.key   the P-256 key (PKCS#8 PEM, mode 0600): created once,
//!                    never overwritten; moved aside (`.retired-…`) only when
//!                    the node key it was bound to is gone (a rotation)
//!   client-tls.crt   its certificate (PEM), issued once and loaded at every
//!                    start, so that its bytes stay the same: a stock client
//!                    pins it by trusting it as its only root
//! ```
//!
//! The certificate is self-signed by the P-256 key (what stock stacks check)
//! and carries the node key's [`KeyBinding`]: an ed25519 signature over its
//! SubjectPublicKeyInfo, so anyone holding the node id can check that it
//! speaks for the node. It is a CA-usable leaf (`basicConstraints` CA with
//! path length 0, key usage digitalSignature and keyCertSign, extended key
//! usage serverAuth), named [`NODE_CERT_NAME`], valid 1975–4096.
//!
//! Invariants: a key file is never replaced nor regenerated while it is
//! readable; one that others may read, or that is not a P-256 key, stops the
//! node (as for `node.key`). A certificate that does not match the key or the
//! node key is issued again, and the caller is told ([`Provenance`]) so that
//! the operator learns that stock clients need the new one.

use std::{
    fs::{self, OpenOptions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use ed25519_dalek::Signer;
use focal_client::transport::{KeyBinding, NODE_CERT_NAME};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, pem::PemObject};

use super::TlsError;
use crate::identity::{NodeId, NodeKey};

/// File name of the P-256 key, in the data directory.
pub const KEY_FILE: &str = "client-tls.key";
/// File name of its certificate, in the data directory.
pub const CERT_FILE: &str = "client-tls.crt";

/// The subjectAltName extension (2.5.29.17): written by hand, because its
/// `otherName` holds the binding.
const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];

/// The node's P-256 key and its bound certificate.
pub struct ClientCertificate {
    key: KeyPair,
    cert: CertificateDer<'static>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ClientCertificate").finish_non_exhaustive()
    }
}

/// What [`ClientCertificate::load_or_issue`] found and did: anything but
/// `Loaded` and `Created` means that clients holding the old certificate
/// must be given the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provenance {
    /// Key and certificate as they were.
    Loaded,
    /// Neither existed: both made now.
    Created,
    /// The key was kept; its certificate was issued again, for `reason`.
    Reissued {
        /// Why the stored certificate could not be used.
        reason: String,
    },
    /// The stored pair was bound to another node key (before a rotation):
    /// the old key was moved to `retired`, a new key and certificate made.
    Replaced {
        /// The node key the old certificate was bound to.
        previous: NodeId,
        /// Where the old key is kept.
        retired: PathBuf,
    },
}

impl Provenance {
    /// What the operator should know, if anything: clients that pinned
    /// the old certificate fail their handshake until they get the new one.
    pub fn notice(&self) -> Option<String> {
        const NEXT: &str = "clients on stock gRPC stacks (Python grpcio, Node.js) that trust the \
                            old certificate must be given the new one: `focal-node client-cert`";
        match self {
            Self::Loaded => None,
            Self::Created => Some(format!(
                "made the P-256 key and certificate ({KEY_FILE}, {CERT_FILE}) for clients that \
                 cannot verify ed25519; `focal-node client-cert` prints what such clients trust"
            )),
            Self::Reissued { reason } => Some(format!(
                "issued the P-256 client certificate again ({reason}); {NEXT}"
            )),
            Self::Replaced { previous, retired } => Some(format!(
                "the P-256 client certificate was bound to node key {previous}, not this node's \
                 (the key was rotated): made a new P-256 key and certificate, the old key is kept \
                 at {}; {NEXT}",
                retired.display()
            )),
        }
    }
}

impl ClientCertificate {
    /// Loads the pair from `dir`, making what is missing, for `node`.
    pub fn load_or_issue(dir: &Path, node: &NodeKey) -> Result<(Self, Provenance), TlsError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        let (key, created) = match load_key(&key_path)? {
            Some(key) => (key, false),
            None => (create_key(dir, &key_path)?, true),
        };
        let stored = match fs::read(&cert_path) {
            Ok(pem) => Some(pem),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(io_error("read", &cert_path, source)),
        };
        let Some(pem) = stored else {
            let pair = Self::issue(key, node)?;
            // A concurrent `focal-node client-cert` may have been first:
            // then its certificate is the one.
            if !write_new(dir, &cert_path, pair.pem().as_bytes(), 0o644)? {
                return Self::load_or_issue(dir, node);
            }
            let provenance = if created {
                Provenance::Created
            } else {
                Provenance::Reissued {
                    reason: format!("{} was missing", cert_path.display()),
                }
            };
            return Ok((pair, provenance));
        };
        let reason = match CertificateDer::from_pem_slice(&pem) {
            Err(e) => format!("{} is not a PEM certificate ({e})", cert_path.display()),
            Ok(cert) => match KeyBinding::verify(&cert) {
                // A pair made for a node key that is gone (a rotation). A
                // key made just now is not that pair's: it gets its own.
                Ok(bound) if bound != node.id().0 && !created => {
                    return Self::replace(dir, node, NodeId(bound));
                }
                Ok(_) if spki_of(&cert).as_deref() != Some(&key.subject_public_key_info()[..]) => {
                    if created {
                        format!("{KEY_FILE} was missing: a new key was made")
                    } else {
                        format!(
                            "{} is not the certificate of {KEY_FILE}",
                            cert_path.display()
                        )
                    }
                }
                Ok(_) => return Ok((Self { key, cert }, Provenance::Loaded)),
                Err(e) => format!("{}: {e}", cert_path.display()),
            },
        };
        let pair = Self::issue(key, node)?;
        replace_file(dir, &cert_path, pair.pem().as_bytes(), 0o644)?;
        Ok((pair, Provenance::Reissued { reason }))
    }

    /// The certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> String {
        super::pem_certificate(&self.cert)
    }

    /// The private key, PKCS#8 DER, for rustls.
    pub(super) fn private_key(&self) -> PrivatePkcs8KeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key.serialize_der())
    }

    /// A certificate for `key`, bound to `node`.
    fn issue(key: KeyPair, node: &NodeKey) -> Result<Self, TlsError> {
        let spki = key.subject_public_key_info();
        let binding = KeyBinding {
            node_key: node.id().0,
            signature: node
                .signing_key()
                .sign(&KeyBinding::message(&spki))
                .to_bytes(),
        };
        let params = certificate_params(node.id(), &binding);
        let cert = params.self_signed(&key)?.der().clone();
        Ok(Self { key, cert })
    }

    /// The stored pair belongs to `previous`: keep its key aside, make anew.
    fn replace(
        dir: &Path,
        node: &NodeKey,
        previous: NodeId,
    ) -> Result<(Self, Provenance), TlsError> {
        let key_path = dir.join(KEY_FILE);
        let retired = dir.join(format!(
            "{KEY_FILE}.retired-{}",
            &previous.to_string()[..16]
        ));
        match fs::hard_link(&key_path, &retired) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(io_error("keep", &retired, source)),
        }
        let pair = Self::issue(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?, node)?;
        replace_file(dir, &key_path, pair.key.serialize_pem().as_bytes(), 0o600)?;
        replace_file(dir, &dir.join(CERT_FILE), pair.pem().as_bytes(), 0o644)?;
        Ok((pair, Provenance::Replaced { previous, retired }))
    }
}

/// What the P-256 certificate says: `binding`, the name, CA-usable.
fn certificate_params(node: NodeId, binding: &KeyBinding) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(
        DnType::CommonName,
        format!("{NODE_CERT_NAME} {}", &node.to_string()[..16]),
    );
    params.distinguished_name = name;
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        SUBJECT_ALT_NAME,
        binding.subject_alt_names(),
    )];
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(1975, 1, 1);
    params.not_after = rcgen::date_time_ymd(4096, 1, 1);
    params
}

/// The SubjectPublicKeyInfo of a certificate, DER.
fn spki_of(cert: &[u8]) -> Option<Vec<u8>> {
    focal_client::transport::certificate_spki(cert).ok()
}

/// The key at `path`, `None` if there is none; refuses a file others may
/// read and anything but a P-256 key.
fn load_key(path: &Path) -> Result<Option<KeyPair>, TlsError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error("read", path, source)),
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TlsError::ClientKeyTooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let text = fs::read_to_string(path).map_err(|source| io_error("read", path, source))?;
    let malformed = |reason: String| TlsError::ClientKeyMalformed {
        path: path.to_owned(),
        reason,
    };
    let key = KeyPair::from_pem(&text).map_err(|e| malformed(e.to_string()))?;
    if key.algorithm() != &PKCS_ECDSA_P256_SHA256 {
        return Err(malformed("it is not an ECDSA P-256 key".to_owned()));
    }
    Ok(Some(key))
}

/// A new key at `path`; if another process made one meanwhile, that one.
fn create_key(dir: &Path, path: &Path) -> Result<KeyPair, TlsError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    if write_new(dir, path, key.serialize_pem().as_bytes(), 0o600)? {
        return Ok(key);
    }
    load_key(path)?.ok_or_else(|| {
        io_error(
            "create",
            path,
            io::Error::other("it appeared and disappeared while being created"),
        )
    })
}

/// Writes `bytes` to `path` unless it exists (`false` then): complete or
/// not at all, through a temporary file linked into place.
fn write_new(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<bool, TlsError> {
    let tmp = write_temporary(path, bytes, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(io_error("create", path, source)),
    }
}

/// Replaces `path` by `bytes` atomically (write, then rename).
fn replace_file(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let tmp = write_temporary(path, bytes, mode)?;
    fs::rename(&tmp, path).map_err(|source| io_error("replace", path, source))?;
    sync_dir(dir)
}

fn write_temporary(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, TlsError> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(name);
    let _ = fs::remove_file(&tmp);
    let write = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|source| {
        let _ = fs::remove_file(&tmp);
        io_error("write", &tmp, source)
    })?;
    Ok(tmp)
}

fn sync_dir(dir: &Path) -> Result<(), TlsError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| io_error("sync", dir, source))
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> TlsError {
    TlsError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeKey {
        NodeKey::generate().unwrap()
    }

    #[test]
    fn made_once_then_loaded_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let node = node();
        let (made, provenance) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        assert_eq!(provenance, Provenance::Created);
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (loaded, provenance) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        assert_eq!(provenance, Provenance::Loaded);
        assert_eq!(loaded.der(), made.der());
        assert_eq!(KeyBinding::verify(loaded.der()).unwrap(), node.id().0);
    }

    #[test]
    fn the_certificate_is_a_bound_p256_ca_named_focal_node() {
        let dir = tempfile::tempdir().unwrap();
        let node = node();
        let (pair, _) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(pair.der()).unwrap();
        assert_eq!(
            cert.public_key().algorithm.algorithm,
            x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY
        );
        let constraints = cert.basic_constraints().unwrap().unwrap().value;
        assert!(constraints.ca);
        assert_eq!(constraints.path_len_constraint, Some(0));
        let names = cert.subject_alternative_name().unwrap().unwrap();
        assert!(!names.critical);
        assert!(names.value.general_names.iter().any(|n| matches!(
            n,
            x509_parser::extensions::GeneralName::DNSName(NODE_CERT_NAME)
        )));
        assert!(
            cert.extended_key_usage()
                .unwrap()
                .unwrap()
                .value
                .server_auth
        );
        assert!(cert.validity().not_after.to_datetime().year() >= 4000);
        // Self-signed by the P-256 key: what stock stacks check.
        let ecdsa = super::super::provider()
            .signature_verification_algorithms
            .all
            .iter()
            .find(|alg| {
                alg.public_key_alg_id() == rustls_pki_types::alg_id::ECDSA_P256
                    && alg.signature_alg_id() == rustls_pki_types::alg_id::ECDSA_SHA256
            })
            .copied()
            .unwrap();
        ecdsa
            .verify_signature(
                &cert.public_key().subject_public_key.data,
                cert.tbs_certificate.as_ref(),
                &cert.signature_value.data,
            )
            .unwrap();
    }

    #[test]
    fn a_forged_or_misplaced_binding_does_not_verify() {
        let node = node();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let sign = |spki: &[u8]| {
            node.signing_key()
                .sign(&KeyBinding::message(spki))
                .to_bytes()
        };
        let certificate = |binding: KeyBinding| {
            certificate_params(node.id(), &binding)
                .self_signed(&key)
                .unwrap()
                .der()
                .clone()
        };
        let genuine = KeyBinding {
            node_key: node.id().0,
            signature: sign(&key.subject_public_key_info()),
        };
        assert_eq!(
            KeyBinding::verify(&certificate(genuine)).unwrap(),
            node.id().0
        );
        // Signed for another key: a binding cannot be moved to a new certificate.
        let moved = KeyBinding {
            signature: sign(&other.subject_public_key_info()),
            ..genuine
        };
        // Claimed for a node key that did not sign it.
        let claimed = KeyBinding {
            node_key: NodeKey::generate().unwrap().id().0,
            ..genuine
        };
        let mut flipped = genuine;
        flipped.signature[0] ^= 1;
        for forged in [moved, claimed, flipped] {
            let err = KeyBinding::verify(&certificate(forged)).unwrap_err();
            assert!(err.to_string().contains("does not verify"), "{err}");
        }
        // The node key's own certificate carries no binding.
        let err = KeyBinding::verify(&super::super::node_certificate(&node).unwrap()).unwrap_err();
        assert!(err.to_string().contains("holds no binding"), "{err}");
    }

    #[test]
    fn a_missing_certificate_is_issued_again_for_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let node = node();
        let (made, _) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        fs::remove_file(dir.path().join(CERT_FILE)).unwrap();
        let (again, provenance) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        assert!(
            matches!(provenance, Provenance::Reissued { .. }),
            "{provenance:?}"
        );
        assert_eq!(spki_of(again.der()), spki_of(made.der()));
    }

    #[test]
    fn a_lost_key_is_made_anew_and_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let node = node();
        let (made, _) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let (again, provenance) = ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        let Provenance::Reissued { reason } = &provenance else {
            panic!("{provenance:?}");
        };
        assert!(reason.contains("was missing"), "{reason}");
        assert!(
            provenance
                .notice()
                .unwrap()
                .contains("must be given the new one")
        );
        assert_ne!(spki_of(again.der()), spki_of(made.der()));
    }

    #[test]
    fn a_certificate_of_another_node_key_retires_the_pair() {
        let dir = tempfile::tempdir().unwrap();
        let (old_node, new_node) = (node(), node());
        let (old, _) = ClientCertificate::load_or_issue(dir.path(), &old_node).unwrap();
        let (new, provenance) = ClientCertificate::load_or_issue(dir.path(), &new_node).unwrap();
        let Provenance::Replaced { previous, retired } = provenance else {
            panic!("{provenance:?}");
        };
        assert_eq!(previous, old_node.id());
        assert_ne!(spki_of(new.der()), spki_of(old.der()));
        assert_eq!(KeyBinding::verify(new.der()).unwrap(), new_node.id().0);
        // The old key is kept, not destroyed.
        let kept = load_key(&retired).unwrap().unwrap();
        assert_eq!(Some(kept.subject_public_key_info()), spki_of(old.der()));
    }

    #[test]
    fn an_unsafe_or_foreign_key_file_stops_instead_of_being_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let node = node();
        ClientCertificate::load_or_issue(dir.path(), &node).unwrap();
        let key_path = dir.path().join(KEY_FILE);
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ClientCertificate::load_or_issue(dir.path(), &node).unwrap_err();
        assert!(matches!(err, TlsError::ClientKeyTooOpen { .. }), "{err}");
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();
        let ed25519 = node.to_pem();
        fs::write(&key_path, &ed25519).unwrap();
        let err = ClientCertificate::load_or_issue(dir.path(), &node).unwrap_err();
        assert!(matches!(err, TlsError::ClientKeyMalformed { .. }), "{err}");
        assert_eq!(fs::read_to_string(&key_path).unwrap(), ed25519);
    }
}
