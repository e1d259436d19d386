//! The node's TLS identity: a certificate self-signed with the node key.
//!
//! There is no certificate authority. A client or peer trusts a node because
//! the key in its certificate is the key it expects (pinned from a connection
//! string, or listed in the roster), and the TLS handshake proves the node
//! holds that key. Names and validity dates in the certificate carry no
//! meaning, so the certificate is valid from 1975 to 4096: no clock can make
//! it expire.

use std::sync::Arc;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ED25519};
use rustls::{ServerConfig, version::TLS13};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::identity::NodeKey;

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
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, format!("focal-node {}", key.id()));
    params.distinguished_name = name;
    params.not_before = rcgen::date_time_ymd(1975, 1, 1);
    params.not_after = rcgen::date_time_ymd(4096, 1, 1);
    let cert = params.self_signed(&key_pair)?;
    Ok(cert.der().clone())
}

/// The server side: TLS 1.3 only, HTTP/2 only, the node's own certificate.
pub fn server_config(key: &NodeKey) -> Result<ServerConfig, TlsError> {
    let cert = node_certificate(key)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der()));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_config_accepts_the_node_key() {
        let key = NodeKey::generate().unwrap();
        let config = server_config(&key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
