//! The node's TLS identity: a certificate self-signed with the node key.
//!
//! There is no certificate authority. A client or peer trusts a node because
//! the key in its certificate is the key it expects (pinned from a connection
//! string, or listed in the roster), and the TLS handshake proves the node
//! holds that key. Names and validity dates in the certificate carry no
//! meaning, so the certificate is valid from 1975 to 4096: no clock can make
//! it expire. Its bytes are the same at every start (ed25519 signatures are
//! deterministic, the serial number is derived from the key), so a stock
//! client can also pin it by trusting it as its only root.
//!
//! A client whose handshake offers no ed25519 signature scheme (BoringSSL:
//! Python's `grpcio`, browsers) is shown the node's P-256 certificate
//! instead ([`ClientCertificate`], bound to the node key); everyone else,
//! every peer among them, the node key's. Which certificate the node shows
//! grants nothing: peer rights come only from the client certificate, which
//! must be an ed25519 key active in the roster with an ed25519 handshake
//! signature, whatever the client offered.

mod client_cert;

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use base64::Engine as _;
use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ED25519};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    server::{
        ClientHello, ResolvesServerCert,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
    sign::CertifiedKey,
    version::TLS13,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use focal_client::transport::{Ed25519Handshake, NODE_CERT_NAME};

pub use client_cert::{CERT_FILE, ClientCertificate, KEY_FILE, Provenance};

use crate::{
    base::lograte::LogBudget,
    identity::{NodeId, NodeKey},
    roster::SharedRoster,
};

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate could not be made.
    #[error("cannot make the node certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the key or the settings.
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
    /// Others than the owner may read or write the P-256 key file.
    #[error(
        "key file {path} has mode {mode:04o}: others can read it, so the key may be compromised. \
         Restrict it with `chmod 600 {path}` (or move it away: the node then makes a new one, \
         and clients of stock gRPC stacks need the new certificate)"
    )]
    ClientKeyTooOpen {
        /// The key file.
        path: std::path::PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The P-256 key file cannot be read as one.
    #[error(
        "{path} is not an ECDSA P-256 private key in PKCS#8 PEM form ({reason}); restore it, or \
         move it away to have the node make a new one (clients of stock gRPC stacks then need \
         the new certificate)"
    )]
    ClientKeyMalformed {
        /// The key file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing the P-256 key or certificate failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The ring crypto provider (the only one Focal uses).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for the node key.
pub fn node_certificate(key: &NodeKey) -> Result<CertificateDer<'static>, TlsError> {
    let der = PrivatePkcs8KeyDer::from(key.to_pkcs8_der());
    let key_pair = KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ED25519)?;
    let mut params = CertificateParams::new(vec![NODE_CERT_NAME.to_owned()])?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(DnType::CommonName, format!("focal-node {}", key.id()));
    params.distinguished_name = name;
    params.not_before = rcgen::date_time_ymd(1975, 1, 1);
    params.not_after = rcgen::date_time_ymd(4096, 1, 1);
    let cert = params.self_signed(&key_pair)?;
    Ok(cert.der().clone())
}

/// A certificate as PEM.
pub fn pem_certificate(cert: &CertificateDer<'_>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// The server side: TLS 1.3 only, HTTP/2 only, the node's own certificate
/// and, for clients that cannot verify ed25519, the P-256 one bound to it.
/// Client certificates are optional (apps authenticate with tokens), but a
/// certificate that is presented must carry a key the roster lists as active
/// (or the secretariat's key): an unknown, suspended or revoked peer is
/// refused at the handshake.
pub fn server_config_for(
    key: &NodeKey,
    client_cert: &ClientCertificate,
    roster: SharedRoster,
) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let p256 = CertifiedKey::from_der(
        vec![client_cert.der().clone()],
        PrivateKeyDer::Pkcs8(client_cert.private_key()),
        &provider,
    )?;
    build_server_config(key, Some(p256), roster, provider)
}

/// [`server_config_for`] without the P-256 certificate: only clients that
/// verify ed25519 can connect (what a peer, or a fake one in tests, needs).
pub fn server_config(key: &NodeKey, roster: SharedRoster) -> Result<ServerConfig, TlsError> {
    build_server_config(key, None, roster, provider())
}

fn build_server_config(
    key: &NodeKey,
    p256: Option<CertifiedKey>,
    roster: SharedRoster,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<ServerConfig, TlsError> {
    let ed25519 = CertifiedKey::from_der(
        vec![node_certificate(key)?],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der())),
        &provider,
    )?;
    let verifier = Arc::new(RosterClientVerifier {
        roster,
        handshake: Ed25519Handshake::new(&provider),
    });
    let resolver = Arc::new(NodeCertResolver {
        ed25519: Arc::new(ed25519),
        p256: p256.map(Arc::new),
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Chooses the certificate by what the client can verify: the node key's
/// when it offers ed25519, the P-256 one otherwise.
#[derive(Debug)]
struct NodeCertResolver {
    ed25519: Arc<CertifiedKey>,
    p256: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for NodeCertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = client_hello.signature_schemes();
        if offered.contains(&SignatureScheme::ED25519) {
            return Some(self.ed25519.clone());
        }
        // rustls ends the handshake if the client cannot verify this either.
        Some(self.p256.as_ref().unwrap_or(&self.ed25519).clone())
    }
}

/// The client configuration a node dials a peer with: the peer's key pinned,
/// this node's certificate presented.
pub fn peer_client_config(key: &NodeKey, peer: NodeId) -> Result<ClientConfig, TlsError> {
    let cert = node_certificate(key)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der()));
    focal_client::transport::peer_client_config(peer.0, cert, private).map_err(|e| match e {
        focal_client::TransportError::Tls(e) => TlsError::Rustls(e),
        other => TlsError::Rustls(rustls::Error::General(other.to_string())),
    })
}

/// A log budget per minute that also shares out its lines by key: the line an
/// operator looks for ("why is this member refused?") still appears while
/// strangers with a thousand throwaway keys spend the rest.
#[derive(Debug)]
struct KeyedLogBudget {
    per_key: u32,
    total: u32,
    state: Mutex<KeyedLogState>,
}

#[derive(Debug)]
struct KeyedLogState {
    started: Option<Instant>,
    written: u32,
    /// Lines written per key in this window; at most `total` keys.
    by_key: Vec<([u8; 32], u32)>,
    suppressed: u64,
}

impl KeyedLogBudget {
    const WINDOW: Duration = Duration::from_secs(60);

    const fn new(per_key: u32, total: u32) -> Self {
        Self {
            per_key,
            total,
            state: Mutex::new(KeyedLogState {
                started: None,
                written: 0,
                by_key: Vec::new(),
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines suppressed since the last one written)` if a line about
    /// `key` may be written now.
    fn admit(&self, key: [u8; 32]) -> Option<u64> {
        self.admit_at(key, Instant::now())
    }

    fn admit_at(&self, key: [u8; 32], now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.started
            .is_none_or(|start| now.duration_since(start) >= Self::WINDOW)
        {
            s.started = Some(now);
            s.written = 0;
            s.by_key.clear();
        }
        let at = s.by_key.iter().position(|(k, _)| *k == key);
        let lines = at.map_or(0, |at| s.by_key[at].1);
        if s.written >= self.total || lines >= self.per_key {
            s.suppressed += 1;
            return None;
        }
        match at {
            Some(at) => s.by_key[at].1 += 1,
            None => s.by_key.push((key, 1)),
        }
        s.written += 1;
        Some(std::mem::take(&mut s.suppressed))
    }
}

/// Accepts a client certificate only if its key is active in the roster, for
/// an active member (or is the current anchor).
#[derive(Debug)]
struct RosterClientVerifier {
    roster: SharedRoster,
    handshake: Ed25519Handshake,
}

impl ClientCertVerifier for RosterClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Anyone can present a certificate: these lines are rate-limited;
        // `focal_connections_refused_total{reason="certificate_refused"}`
        // counts every refusal.
        static NOT_A_NODE: LogBudget = LogBudget::per_minute(5);
        static NOT_ACTIVE: KeyedLogBudget = KeyedLogBudget::new(3, 20);
        let key = focal_client::transport::certificate_key(end_entity.as_ref()).map_err(|e| {
            if let Some(suppressed) = NOT_A_NODE.admit() {
                tracing::warn!(
                    %e,
                    suppressed,
                    "refused a peer certificate that is not an ed25519 node certificate"
                );
            }
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        let key = NodeId(key);
        let member = self
            .roster
            .read()
            .ok()
            .and_then(|roster| roster.active_member_of(&key));
        match member {
            Some(_) => Ok(ClientCertVerified::assertion()),
            None => {
                if let Some(suppressed) = NOT_ACTIVE.admit(key.0) {
                    tracing::warn!(
                        peer_key = %key,
                        suppressed,
                        "refused a peer at the TLS handshake: its key is not active in the roster \
                         (unknown, suspended, revoked, or from another network)"
                    );
                }
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.handshake.tls12()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.handshake.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.handshake.schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_lines_are_shared_out_by_key() {
        let budget = KeyedLogBudget::new(2, 5);
        let t0 = Instant::now();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(budget.admit_at(a, t0), Some(0));
        assert_eq!(budget.admit_at(a, t0), Some(0));
        // The same key again: suppressed, but another key still gets in.
        assert_eq!(budget.admit_at(a, t0), None);
        assert_eq!(budget.admit_at(b, t0), Some(1));
        // Throwaway keys spend the rest of the window's lines.
        assert_eq!(budget.admit_at([3; 32], t0), Some(0));
        assert_eq!(budget.admit_at([4; 32], t0), Some(0));
        for k in 5..100 {
            assert_eq!(budget.admit_at([k; 32], t0), None);
        }
        assert_eq!(budget.admit_at(b, t0), None);
        // The next window starts afresh and says what was left out.
        let later = t0 + KeyedLogBudget::WINDOW;
        assert_eq!(budget.admit_at(b, later), Some(96));
    }

    #[test]
    fn server_config_accepts_the_node_key() {
        let key = NodeKey::generate().unwrap();
        let config = server_config(&key, Default::default()).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }

    /// A client that verifies nothing but the handshake signature, offers
    /// only `schemes`, and keeps the certificate it was shown.
    #[derive(Debug)]
    struct Recorder {
        schemes: Vec<SignatureScheme>,
        algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
        seen: Mutex<Option<CertificateDer<'static>>>,
    }

    impl rustls::client::danger::ServerCertVerifier for Recorder {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &rustls_pki_types::ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            *self.seen.lock().unwrap() = Some(end_entity.clone().into_owned());
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General("TLS 1.2".into()))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.schemes.clone()
        }
    }

    fn recorder(schemes: &[SignatureScheme]) -> Arc<Recorder> {
        Arc::new(Recorder {
            schemes: schemes.to_vec(),
            algorithms: provider().signature_verification_algorithms,
            seen: Mutex::new(None),
        })
    }

    fn client_with(verifier: Arc<Recorder>, client_cert: Option<&NodeKey>) -> rustls::ClientConfig {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match client_cert {
            Some(key) => builder
                .with_client_auth_cert(
                    vec![node_certificate(key).unwrap()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der())),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        config
    }

    /// Runs a handshake in memory; the server's error if it refused.
    fn handshake(client: ClientConfig, server: ServerConfig) -> Result<(), rustls::Error> {
        let name = rustls_pki_types::ServerName::try_from(NODE_CERT_NAME).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut server = rustls::ServerConnection::new(Arc::new(server)).unwrap();
        loop {
            let mut to_server = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut to_server).unwrap();
            }
            server.read_tls(&mut &to_server[..]).unwrap();
            server.process_new_packets()?;
            let mut to_client = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut to_client).unwrap();
            }
            client.read_tls(&mut &to_client[..]).unwrap();
            let client_result = client.process_new_packets();
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            if to_server.is_empty() && to_client.is_empty() {
                client_result?;
                return Err(rustls::Error::General("the handshake stalled".into()));
            }
        }
    }

    fn client_certificate(key: &NodeKey) -> (tempfile::TempDir, ClientCertificate) {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = ClientCertificate::load_or_issue(dir.path(), key).unwrap();
        (dir, cert)
    }

    #[test]
    fn a_client_without_ed25519_is_shown_the_bound_p256_certificate() {
        let key = NodeKey::generate().unwrap();
        let (_dir, p256) = client_certificate(&key);
        let server = server_config_for(&key, &p256, Default::default()).unwrap();
        let stock = recorder(&[
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::RSA_PSS_SHA256,
        ]);
        handshake(client_with(stock.clone(), None), server).unwrap();
        let seen = stock.seen.lock().unwrap().clone().unwrap();
        assert_eq!(&seen, p256.der());
        assert_eq!(
            focal_client::transport::KeyBinding::verify(&seen).unwrap(),
            key.id().0
        );
    }

    #[test]
    fn a_client_offering_ed25519_is_shown_the_node_key() {
        let key = NodeKey::generate().unwrap();
        let (_dir, p256) = client_certificate(&key);
        let server = server_config_for(&key, &p256, Default::default()).unwrap();
        // What browsers-to-be and OpenSSL offer: ECDSA first, ed25519 too.
        let both = recorder(&[
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ED25519,
        ]);
        handshake(client_with(both.clone(), None), server.clone()).unwrap();
        let seen = both.seen.lock().unwrap().clone().unwrap();
        assert_eq!(seen, node_certificate(&key).unwrap());
        // The Focal client, pinning the node key, as before.
        let focal = focal_client::transport::client_config(key.id().0).unwrap();
        handshake(focal, server).unwrap();
    }

    #[test]
    fn without_the_p256_certificate_a_client_without_ed25519_is_refused() {
        let key = NodeKey::generate().unwrap();
        let server = server_config(&key, Default::default()).unwrap();
        let stock = recorder(&[SignatureScheme::ECDSA_NISTP256_SHA256]);
        assert!(handshake(client_with(stock, None), server).is_err());
    }

    #[test]
    fn a_client_without_ed25519_gets_no_peer_rights_from_an_unknown_key() {
        let key = NodeKey::generate().unwrap();
        let (_dir, p256) = client_certificate(&key);
        let server = server_config_for(&key, &p256, Default::default()).unwrap();
        let stranger = NodeKey::generate().unwrap();
        let stock = recorder(&[SignatureScheme::ECDSA_NISTP256_SHA256]);
        let err = handshake(client_with(stock, Some(&stranger)), server).unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }
}
