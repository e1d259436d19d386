//! Pinned TLS to a Focal node.
//!
//! A node's certificate is self-signed with its ed25519 node key; there is no
//! certificate authority to ask. The client knows the key it expects (from a
//! connection string, or the roster) and accepts a connection only when the
//! certificate carries exactly that key and the handshake proves the node
//! holds it. Names and dates in the certificate are ignored on purpose.
//!
//! Clients that cannot verify ed25519 (stock gRPC stacks on BoringSSL, such
//! as Python's `grpcio`) are shown a second certificate instead: an ECDSA
//! P-256 key of the node's own, in a certificate that carries a
//! [`KeyBinding`], the node key's signature over that P-256 key. Whoever
//! holds the node key's id can check that the P-256 certificate speaks for
//! the node ([`KeyBinding::verify`]).

use std::{fmt, io, sync::Arc};

use hyper_util::rt::TokioIo;
use rustls::{
    ClientConfig, DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    pki_types::{CertificateDer, ServerName, UnixTime},
    version::TLS13,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

/// Where a node is and which key it must present.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeTarget {
    /// `host:port` of the node's gRPC service.
    pub address: String,
    /// The node's ed25519 public key.
    pub node_key: [u8; 32],
}

impl fmt::Debug for NodeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (key {})", self.address, hex::encode(self.node_key))
    }
}

/// Why a certificate was not accepted, or a connection not made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The certificate is not a well-formed X.509 certificate.
    #[error("the node's certificate cannot be parsed: {0}")]
    BadCertificate(String),
    /// The certificate's key is not an ed25519 key.
    #[error("the node's certificate holds a non-ed25519 key (algorithm {0})")]
    NotEd25519(String),
    /// The node presented another key than the one pinned.
    #[error(
        "the node presented key {found}, but key {expected} was expected; refusing to talk to it"
    )]
    WrongKey {
        /// The pinned key, hex.
        expected: String,
        /// The presented key, hex.
        found: String,
    },
    /// The certificate does not carry a valid binding to a node key.
    #[error("the certificate is not bound to a node key: {0}")]
    Unbound(&'static str),
    /// The certificate is bound to another node key than the one pinned.
    #[error(
        "the node's certificate is bound to node key {found}, but key {expected} was expected; \
         refusing to talk to it"
    )]
    WrongBinding {
        /// The pinned key, hex.
        expected: String,
        /// The key the certificate is bound to, hex.
        found: String,
    },
    /// The address is not usable.
    #[error("`{0}` is not a node address; use host:port, e.g. 127.0.0.1:7400")]
    BadAddress(String),
    /// TLS setup failed.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The gRPC channel failed.
    #[error("cannot reach the node at {address}: {}", error_chain(source))]
    Connect {
        /// The address.
        address: String,
        /// The underlying error.
        source: tonic::transport::Error,
    },
}

/// An error and its sources, outermost first ("transport error: No route
/// to host (os error 113)"): tonic's transport error alone says only
/// "transport error".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}

/// The ed25519 public key inside a DER X.509 certificate.
pub fn certificate_key(der: &[u8]) -> Result<[u8; 32], TransportError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| TransportError::BadCertificate(e.to_string()))?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ED25519 {
        return Err(TransportError::NotEd25519(
            spki.algorithm.algorithm.to_id_string(),
        ));
    }
    spki.subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| TransportError::BadCertificate("ed25519 key is not 32 bytes".to_owned()))
}

/// The SubjectPublicKeyInfo of a DER X.509 certificate, DER.
pub fn certificate_spki(der: &[u8]) -> Result<Vec<u8>, TransportError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| TransportError::BadCertificate(e.to_string()))?;
    Ok(cert.public_key().raw.to_vec())
}

/// The DNS name (subjectAltName) in every certificate a node presents.
/// Focal's own clients ignore names; stock gRPC stacks check one, and are
/// told to expect this one (`grpc.ssl_target_name_override`).
pub const NODE_CERT_NAME: &str = "focal-node";

/// A node key's statement that another key, in a certificate, speaks for
/// the node: the ed25519 signature by the node key over
/// `BINDING_CONTEXT || 0x00 || SubjectPublicKeyInfo` (the certificate's
/// own SPKI, DER). A certificate carries it in its subjectAltName as an
/// `otherName` of type [`KeyBinding::OID`]:
///
/// ```text
/// FocalKeyBinding ::= SEQUENCE {
///     nodeKey    OCTET STRING (SIZE (32)),  -- the ed25519 node key
///     signature  OCTET STRING (SIZE (64))   -- ed25519 by nodeKey, as above
/// }
/// ```
///
/// The encoding has one fixed layout and is read back byte for byte.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyBinding {
    /// The node key that signed.
    pub node_key: [u8; 32],
    /// Its signature.
    pub signature: [u8; 64],
}

impl fmt::Debug for KeyBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyBinding(node key {})", hex::encode(self.node_key))
    }
}

/// The context a binding signature is made in, so that it can never be
/// mistaken for another signature of the node key (log entries, hand-overs).
pub const BINDING_CONTEXT: &[u8] = b"focal client-tls key binding v1";

/// DER contents of [`KeyBinding::OID`].
const BINDING_OID_DER: [u8; 19] = [
    0x69, 0x98, 0xa8, 0x9b, 0xb7, 0xad, 0xba, 0xca, 0x99, 0xe3, 0xa2, 0x8b, 0xf3, 0x9c, 0xf6, 0xc4,
    0xce, 0xc8, 0x26,
];

/// `[0] EXPLICIT` around the SEQUENCE of two OCTET STRINGs of 32 and 64
/// bytes: the only encoding of a binding's value.
const BINDING_VALUE_HEADER: [u8; 6] = [0xa0, 0x66, 0x30, 0x64, 0x04, 0x20];
const BINDING_SIGNATURE_HEADER: [u8; 2] = [0x04, 0x40];

impl KeyBinding {
    /// The otherName type: a UUID OID (ITU-T X.667), UUID
    /// 0c2836dd-6ba9-4671-a217-cce76893a426; no registration needed.
    pub const OID: &str = "2.25.16159540616622433598823111242609304614";

    /// What the node key signs for the certificate key `spki` (DER).
    pub fn message(spki: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(BINDING_CONTEXT.len() + 1 + spki.len());
        message.extend_from_slice(BINDING_CONTEXT);
        message.push(0);
        message.extend_from_slice(spki);
        message
    }

    /// The value of the subjectAltName extension (GeneralNames, DER) of a
    /// bound certificate: the dNSName [`NODE_CERT_NAME`], then this binding.
    pub fn subject_alt_names(&self) -> Vec<u8> {
        let mut value = BINDING_VALUE_HEADER.to_vec();
        value.extend_from_slice(&self.node_key);
        value.extend_from_slice(&BINDING_SIGNATURE_HEADER);
        value.extend_from_slice(&self.signature);
        let mut other_name = der(0x06, &BINDING_OID_DER);
        other_name.extend_from_slice(&value);
        let mut names = der(0x82, NODE_CERT_NAME.as_bytes());
        names.extend_from_slice(&der(0xa0, &other_name));
        der(0x30, &names)
    }

    /// Reads the binding a certificate carries (without checking it).
    pub fn read(cert_der: &[u8]) -> Result<Self, TransportError> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
            .map_err(|e| TransportError::BadCertificate(e.to_string()))?;
        let names = cert
            .subject_alternative_name()
            .map_err(|e| TransportError::BadCertificate(e.to_string()))?
            .ok_or(TransportError::Unbound("it has no subjectAltName"))?;
        let mut found = None;
        for name in &names.value.general_names {
            if let x509_parser::extensions::GeneralName::OtherName(oid, value) = name
                && oid.as_bytes() == BINDING_OID_DER
            {
                if found.is_some() {
                    return Err(TransportError::Unbound("it carries two bindings"));
                }
                found = Some(Self::decode(value)?);
            }
        }
        found.ok_or(TransportError::Unbound(
            "its subjectAltName holds no binding",
        ))
    }

    fn decode(value: &[u8]) -> Result<Self, TransportError> {
        let malformed = || TransportError::Unbound("the binding is not encoded as specified");
        let rest = value
            .strip_prefix(&BINDING_VALUE_HEADER[..])
            .ok_or_else(malformed)?;
        let (node_key, rest) = rest.split_first_chunk::<32>().ok_or_else(malformed)?;
        let rest = rest
            .strip_prefix(&BINDING_SIGNATURE_HEADER[..])
            .ok_or_else(malformed)?;
        let signature: [u8; 64] = rest.try_into().map_err(|_| malformed())?;
        Ok(Self {
            node_key: *node_key,
            signature,
        })
    }

    /// The node key a certificate is bound to, once the binding's signature
    /// over the certificate's own key has been verified.
    pub fn verify(cert_der: &[u8]) -> Result<[u8; 32], TransportError> {
        let binding = Self::read(cert_der)?;
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
            .map_err(|e| TransportError::BadCertificate(e.to_string()))?;
        let node_key = ed25519_dalek::VerifyingKey::from_bytes(&binding.node_key)
            .map_err(|_| TransportError::Unbound("its node key is not an ed25519 key"))?;
        let signature = ed25519_dalek::Signature::from_bytes(&binding.signature);
        node_key
            .verify_strict(&Self::message(cert.public_key().raw), &signature)
            .map_err(|_| {
                TransportError::Unbound("the node key's signature over its key does not verify")
            })?;
        Ok(binding.node_key)
    }
}

/// One DER element: `tag`, definite length, `contents`.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len().to_be_bytes();
    let skip = len.iter().take_while(|b| **b == 0).count();
    match &len[skip..] {
        [short] if *short < 0x80 => out.push(*short),
        [] => out.push(0),
        long => {
            out.push(0x80 | long.len() as u8);
            out.extend_from_slice(long);
        }
    }
    out.extend_from_slice(contents);
    out
}

/// The handshake-signature policy shared by every Focal verifier (the
/// client's pinned-key one and the node's roster one): TLS 1.3 only, ed25519
/// only, the signature checked against the presented certificate.
#[derive(Debug)]
pub struct Ed25519Handshake {
    algorithms: WebPkiSupportedAlgorithms,
}

impl Ed25519Handshake {
    /// The policy with `provider`'s signature algorithms.
    pub fn new(provider: &CryptoProvider) -> Self {
        Self {
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// TLS 1.2 is never negotiated (the configs allow 1.3 only).
    pub fn tls12(&self) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls13RequiredForQuic,
        ))
    }

    /// Checks a TLS 1.3 handshake signature.
    pub fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    /// The only scheme offered.
    pub fn schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Accepts exactly one ed25519 key.
#[derive(Debug)]
pub struct PinnedKeyVerifier {
    expected: [u8; 32],
    handshake: Ed25519Handshake,
}

impl PinnedKeyVerifier {
    /// A verifier that accepts only `expected`.
    pub fn new(expected: [u8; 32], provider: &CryptoProvider) -> Self {
        Self {
            expected,
            handshake: Ed25519Handshake::new(provider),
        }
    }

    fn check(&self, der: &[u8]) -> Result<(), rustls::Error> {
        let other = |e: TransportError| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                Arc::new(e),
            )))
        };
        let found = certificate_key(der).map_err(other)?;
        if found != self.expected {
            return Err(other(TransportError::WrongKey {
                expected: hex::encode(self.expected),
                found: hex::encode(found),
            }));
        }
        Ok(())
    }
}

impl ServerCertVerifier for PinnedKeyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity.as_ref())?;
        Ok(ServerCertVerified::assertion())
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

/// The client TLS configuration for one pinned node.
pub fn client_config(expected: [u8; 32]) -> Result<ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedKeyVerifier::new(expected, &provider));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The client TLS configuration for a node dialing a peer: pins the peer's
/// key and presents this node's own certificate (mutual TLS).
pub fn peer_client_config(
    expected: [u8; 32],
    certificate: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedKeyVerifier::new(expected, &provider));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![certificate], key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Between HTTP/2 pings on a connection.
pub const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a ping may go unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest a dial (TCP connect and TLS handshake) may take.
pub const DIAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens a gRPC channel to `target` over pinned TLS.
pub async fn connect(target: &NodeTarget) -> Result<Channel, TransportError> {
    connect_with(target, client_config(target.node_key)?).await
}

/// Opens a gRPC channel to `target` with a given TLS configuration (e.g.
/// [`peer_client_config`]).
pub async fn connect_with(
    target: &NodeTarget,
    config: ClientConfig,
) -> Result<Channel, TransportError> {
    let endpoint = endpoint(target)?;
    let connector = connector(target, config);
    endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|source| match pinning_failure(&source) {
            Some(reason) => reason,
            None => TransportError::Connect {
                address: target.address.clone(),
                source,
            },
        })
}

/// Finds, in a connection error's chain, the reason our verifier refused the
/// node's certificate, so the user sees "presented key X, expected Y" rather
/// than a transport error.
fn pinning_failure(err: &(dyn std::error::Error + 'static)) -> Option<TransportError> {
    let mut current = Some(err);
    while let Some(err) = current {
        // io::Error hides a custom payload from `source()`; look inside.
        let inner = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) =
                candidate.downcast_ref::<rustls::Error>()
                && let Some(reason) = other.0.downcast_ref::<TransportError>()
            {
                return Some(match reason {
                    TransportError::WrongKey { expected, found } => TransportError::WrongKey {
                        expected: expected.clone(),
                        found: found.clone(),
                    },
                    TransportError::NotEd25519(alg) => TransportError::NotEd25519(alg.clone()),
                    other => TransportError::BadCertificate(other.to_string()),
                });
            }
        }
        current = err.source();
    }
    None
}

/// Whether `address` is a `host:port` this transport can dial (the one rule
/// for addresses in connection strings, join requests and the roster).
pub fn check_address(address: &str) -> Result<(), TransportError> {
    let bad = || TransportError::BadAddress(address.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    let uri: Uri = format!("http://{address}").parse().map_err(|_| bad())?;
    if uri.port_u16().is_none() || uri.path() != "/" {
        return Err(bad());
    }
    Ok(())
}

fn endpoint(target: &NodeTarget) -> Result<Endpoint, TransportError> {
    check_address(&target.address)?;
    // The scheme is `http` because TLS is done by our connector, not tonic.
    let uri: Uri = format!("http://{}", target.address)
        .parse()
        .map_err(|_| TransportError::BadAddress(target.address.clone()))?;
    if uri.port_u16().is_none() {
        return Err(TransportError::BadAddress(target.address.clone()));
    }
    // HTTP/2 pings on every connection, idle or not: a link that went
    // silent (a partition, a dead router, a peer that froze) is noticed
    // within seconds instead of after TCP's retransmissions give up.
    Ok(Endpoint::from(uri)
        .connect_timeout(DIAL_DEADLINE + std::time::Duration::from_secs(1))
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .tcp_nodelay(true))
}

type Connection = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;
type ConnectFuture = std::pin::Pin<Box<dyn Future<Output = io::Result<Connection>> + Send>>;

fn connector(
    target: &NodeTarget,
    config: ClientConfig,
) -> impl tower::Service<Uri, Response = Connection, Error = io::Error, Future = ConnectFuture>
+ Clone
+ Send
+ 'static {
    let tls = TlsConnector::from(Arc::new(config));
    let address = target.address.clone();
    tower::service_fn(move |_uri: Uri| {
        let tls = tls.clone();
        let address = address.clone();
        Box::pin(async move {
            // One deadline for TCP and TLS together: a dial into a silent
            // link fails in seconds, so that the next one, once the link
            // heals, is not kept waiting.
            let dial = async {
                let tcp = TcpStream::connect(&address).await?;
                tcp.set_nodelay(true)?;
                // The name is not checked (the key is); any valid name will do.
                let name = ServerName::try_from("focal-node")
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let stream = tls.connect(name, tcp).await?;
                Ok(TokioIo::new(stream))
            };
            tokio::time::timeout(DIAL_DEADLINE, dial)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{address}: no TLS connection within {DIAL_DEADLINE:?}"),
                    ))
                })
        }) as ConnectFuture
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_oid_is_the_uuid_oid_it_names() {
        let arc: u128 = KeyBinding::OID
            .strip_prefix("2.25.")
            .unwrap()
            .parse()
            .unwrap();
        let mut base128 = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            base128.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        base128.push(2 * 40 + 25);
        base128.reverse();
        assert_eq!(base128, BINDING_OID_DER);
    }

    #[test]
    fn der_lengths_take_the_short_and_long_forms() {
        assert_eq!(der(0x04, &[]), [0x04, 0]);
        assert_eq!(der(0x04, &[7; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(der(0x04, &[7; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(der(0x04, &[7; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn a_binding_is_read_back_in_its_one_layout_only() {
        let binding = KeyBinding {
            node_key: [1; 32],
            signature: [2; 64],
        };
        let names = binding.subject_alt_names();
        // GeneralNames: the dNSName, then the otherName whose value ends it.
        let value = &names[names.len() - 104..];
        assert_eq!(KeyBinding::decode(value).unwrap(), binding);
        assert!(KeyBinding::decode(&value[..103]).is_err());
        let mut longer = value.to_vec();
        longer.push(0);
        assert!(KeyBinding::decode(&longer).is_err());
        let mut other_tag = value.to_vec();
        other_tag[4] = 0x03;
        assert!(KeyBinding::decode(&other_tag).is_err());
    }

    #[test]
    fn addresses_are_checked_by_the_rule_dialing_uses() {
        for good in ["madrid.example:7400", "127.0.0.1:1", "[::1]:7400"] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        for bad in [
            "nowhere",
            ":7400",
            "host:99999",
            "host:port",
            "a b:7400",
            "host:7400/path",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
