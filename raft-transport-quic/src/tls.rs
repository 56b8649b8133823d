//! Mutual TLS: who a peer is, and the rustls/quinn configurations that
//! enforce it.
//!
//! Identity model: every node's certificate carries a DNS subject
//! alternative name `node-<id>` (decimal, no leading zeros), issued by a CA
//! all nodes trust. A dialer asks for server name `node-<peer>`, so rustls's
//! standard hostname check proves it reached the right node; a listener
//! requires a client certificate from the same CA and reads the id from it.
//! A DNS name was chosen over a URI SAN because rustls already verifies DNS
//! names on the server side, so only one check is custom.

use bytes::Bytes;
use raft_core::NodeId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// The prefix of the SAN that names a node.
pub const NODE_NAME_PREFIX: &str = "node-";
/// ALPN protocol id; a peer speaking anything else fails the handshake.
pub const ALPN: &[u8] = b"raft-quic/1";

/// The SAN a node's certificate must carry: `node-<id>`.
pub fn node_name(id: NodeId) -> String {
    format!("{NODE_NAME_PREFIX}{id}")
}

/// Parses `node-<id>`; `None` for anything else, including `node-0` (the
/// reserved "no node" id) and non-canonical numbers like `node-01`.
pub fn parse_node_name(name: &str) -> Option<NodeId> {
    let digits = name.strip_prefix(NODE_NAME_PREFIX)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    digits
        .parse()
        .ok()
        .filter(|id| canonical && *id != raft_core::NO_NODE)
}

/// Why TLS material could not be loaded or used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A PEM input does not parse.
    #[error("invalid PEM in {what}: {reason}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// The named input holds no certificate.
    #[error("no certificate found in {0}")]
    NoCertificate(&'static str),
    /// A certificate is not valid X.509.
    #[error("certificate cannot be parsed: {0}")]
    BadCertificate(String),
    /// The certificate has no `node-<id>` DNS name.
    #[error("certificate names no node (expected a DNS SAN like {NODE_NAME_PREFIX}<id>)")]
    NoNodeName,
    /// The certificate names more than one node.
    #[error("certificate names several nodes: {0:?}")]
    SeveralNodeNames(Vec<NodeId>),
    /// The CA certificate cannot be used as a trust anchor.
    #[error("invalid CA certificate: {0}")]
    BadCa(String),
    /// rustls refused the certificates or key.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// quinn refused the TLS configuration.
    #[error("QUIC cannot use this TLS configuration: {0}")]
    Quic(String),
    /// Generating a development certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A node's TLS material: the CA certificates it trusts, its own certificate
/// chain (leaf first) and private key.
pub struct TlsMaterial {
    ca: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for TlsMaterial {
    fn clone(&self) -> TlsMaterial {
        TlsMaterial {
            ca: self.ca.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("TlsMaterial")
            .field("ca_certs", &self.ca.len())
            .field("chain_len", &self.chain.len())
            .field("node", &self.node_id().ok())
            .finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// Material from DER values. Checked when the transport is configured.
    pub fn new(
        ca: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> TlsMaterial {
        TlsMaterial { ca, chain, key }
    }

    /// Material from PEM text: CA certificate(s), the node's chain (leaf
    /// first), and its PKCS#8, PKCS#1 or SEC1 private key.
    pub fn from_pem(
        ca_pem: &[u8],
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<TlsMaterial, TlsError> {
        let ca = certs_from_pem(ca_pem, "CA file")?;
        let chain = certs_from_pem(cert_pem, "certificate file")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem {
            what: "key file",
            reason: e.to_string(),
        })?;
        Ok(TlsMaterial { ca, chain, key })
    }

    /// Material from PEM files, as a production deployment passes it.
    pub fn from_pem_files(
        ca: impl AsRef<Path>,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsMaterial, TlsError> {
        TlsMaterial::from_pem(
            &read(ca.as_ref())?,
            &read(cert.as_ref())?,
            &read(key.as_ref())?,
        )
    }

    /// The node id the leaf certificate names.
    pub fn node_id(&self) -> Result<NodeId, TlsError> {
        let leaf = self
            .chain
            .first()
            .ok_or(TlsError::NoCertificate("certificate chain"))?;
        node_id_of(leaf)
    }

    /// The rustls/quinn server side: TLS 1.3, ALPN, client certificates
    /// from the CA required.
    pub fn quic_server_config(
        &self,
        transport: Arc<quinn::TransportConfig>,
    ) -> Result<quinn::ServerConfig, TlsError> {
        let provider = provider();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            self.roots()?,
            provider.clone(),
        )
        .build()
        .map_err(|e| TlsError::BadCa(e.to_string()))?;
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
            .map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
        config.transport_config(transport);
        Ok(config)
    }

    /// The client side: presents this node's certificate, trusts only the CA.
    pub fn quic_client_config(
        &self,
        transport: Arc<quinn::TransportConfig>,
    ) -> Result<quinn::ClientConfig, TlsError> {
        let mut tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        config.transport_config(transport);
        Ok(config)
    }

    /// Endpoint secrets that survive restarts, derived from the node's
    /// private key: the stateless-reset key, and the key that stamps
    /// connection ids so the endpoint can tell its own. With both stable, a
    /// restarted node recognises packets on connections of its previous
    /// incarnation as its own and answers them with a stateless reset, so
    /// peers learn at once that those connections are gone instead of
    /// writing into the void until the idle timeout.
    pub(crate) fn endpoint_secrets(&self) -> (ring::hmac::Key, u64) {
        let derive = |label: &[u8]| {
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(label);
            ctx.update(self.key.secret_der());
            ctx.finish()
        };
        let reset = derive(b"raft-transport-quic stateless reset v1");
        let cid = derive(b"raft-transport-quic connection id v1");
        let mut cid_key = [0u8; 8];
        cid_key.copy_from_slice(&cid.as_ref()[..8]);
        (
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, reset.as_ref()),
            u64::from_le_bytes(cid_key),
        )
    }

    fn roots(&self) -> Result<Arc<rustls::RootCertStore>, TlsError> {
        if self.ca.is_empty() {
            return Err(TlsError::NoCertificate("CA certificates"));
        }
        let mut roots = rustls::RootCertStore::empty();
        for ca in &self.ca {
            roots
                .add(ca.clone())
                .map_err(|e| TlsError::BadCa(e.to_string()))?;
        }
        Ok(Arc::new(roots))
    }
}

/// The node id an (already verified) certificate names: exactly one
/// `node-<id>` DNS SAN.
pub fn node_id_of(cert: &CertificateDer<'_>) -> Result<NodeId, TlsError> {
    let parsed = webpki::EndEntityCert::try_from(cert)
        .map_err(|e| TlsError::BadCertificate(e.to_string()))?;
    let mut ids: Vec<NodeId> = parsed
        .valid_dns_names()
        .filter_map(parse_node_name)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Err(TlsError::NoNodeName),
        [id] => Ok(*id),
        _ => Err(TlsError::SeveralNodeNames(ids)),
    }
}

/// The id of the peer on an established connection, from the certificate
/// its handshake presented.
pub(crate) fn peer_node_id(conn: &quinn::Connection) -> Result<NodeId, TlsError> {
    let identity = conn
        .peer_identity()
        .ok_or(TlsError::NoCertificate("handshake"))?;
    let certs = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| TlsError::BadCertificate("unexpected identity type".to_string()))?;
    let leaf = certs.first().ok_or(TlsError::NoCertificate("handshake"))?;
    node_id_of(leaf)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs_from_pem(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(what));
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Bytes, TlsError> {
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|source| TlsError::Io {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_parse_strictly() {
        assert_eq!(parse_node_name("node-7"), Some(7));
        assert_eq!(parse_node_name(&node_name(u64::MAX)), Some(u64::MAX));
        for bad in [
            "node-0",
            "node-",
            "node-01",
            "node-+1",
            "node-1x",
            "Node-1",
            "node-99999999999999999999",
        ] {
            assert_eq!(parse_node_name(bad), None, "{bad}");
        }
    }
}
