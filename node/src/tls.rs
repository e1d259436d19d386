//! The node's TLS identity: a certificate self-signed with the node key.
//!
//! There is no certificate authority. A client or peer trusts a node because
//! the key in its certificate is the key it expects (pinned from a connection
//! string, or listed in the roster), and the TLS handshake proves the node
//! holds that key. Names and validity dates in the certificate carry no
//! meaning, so the certificate is valid from 1975 to 4096: no clock can make
//! it expire.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ED25519};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    server::danger::{ClientCertVerified, ClientCertVerifier},
    version::TLS13,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use focal_client::transport::Ed25519Handshake;

use crate::{
    identity::{NodeId, NodeKey},
    lograte::LogBudget,
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
}

/// The ring crypto provider (the only one Focal uses).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for the node key.
pub fn node_certificate(key: &NodeKey) -> Result<CertificateDer<'static>, TlsError> {
    let der = PrivatePkcs8KeyDer::from(key.to_pkcs8_der());
    let key_pair = KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ED25519)?;
    let mut params = CertificateParams::new(vec!["focal-node".to_owned()])?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(DnType::CommonName, format!("focal-node {}", key.id()));
    params.distinguished_name = name;
    params.not_before = rcgen::date_time_ymd(1975, 1, 1);
    params.not_after = rcgen::date_time_ymd(4096, 1, 1);
    let cert = params.self_signed(&key_pair)?;
    Ok(cert.der().clone())
}

/// The server side: TLS 1.3 only, HTTP/2 only, the node's own certificate.
/// Client certificates are optional (apps authenticate with tokens), but a
/// certificate that is presented must carry a key the roster lists as active
/// (or the secretariat's key): an unknown, suspended or revoked peer is
/// refused at the handshake.
pub fn server_config(key: &NodeKey, roster: SharedRoster) -> Result<ServerConfig, TlsError> {
    let cert = node_certificate(key)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der()));
    let provider = provider();
    let verifier = Arc::new(RosterClientVerifier {
        roster,
        handshake: Ed25519Handshake::new(&provider),
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], private)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
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
}
