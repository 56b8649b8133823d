//! A throwaway certificate authority for tests, demos and local clusters.
//!
//! Keys live only in memory unless you write the PEM out yourself. Never use
//! these in production: there a real CA issues each node a certificate with
//! the `node-<id>` SAN and nodes load them with
//! [`TlsMaterial::from_pem_files`].

use crate::tls::{node_name, TlsError, TlsMaterial};
use raft_core::NodeId;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A development CA (ECDSA P-256).
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and key as PEM text, ready to be written to files.
#[derive(Clone, Debug)]
pub struct PemFiles {
    /// The CA certificate.
    pub ca: String,
    /// The node's certificate.
    pub cert: String,
    /// The node's private key (PKCS #8).
    pub key: String,
}

impl DevCa {
    /// A new CA with a fresh key; every call makes a different one.
    pub fn new() -> Result<DevCa, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "raft-transport-quic development CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(DevCa { issuer })
    }

    /// The CA certificate, to be trusted by every node.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA certificate as PEM text.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Material for node `id`: a certificate naming `node-<id>`.
    pub fn node_cert(&self, id: NodeId) -> Result<TlsMaterial, TlsError> {
        self.cert_for_names(&[node_name(id)])
    }

    /// The same as PEM text, to exercise the file-loading path.
    pub fn node_pem(&self, id: NodeId) -> Result<PemFiles, TlsError> {
        let (cert, key) = self.issue(&[node_name(id)])?;
        Ok(PemFiles {
            ca: self.cert_pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// A certificate with arbitrary DNS SANs; tests use it for certificates
    /// that name no node, or several.
    pub fn cert_for_names(&self, names: &[String]) -> Result<TlsMaterial, TlsError> {
        let (cert, key) = self.issue(names)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok(TlsMaterial::new(
            vec![self.cert_der()],
            vec![cert.der().clone()],
            key,
        ))
    }

    fn issue(&self, names: &[String]) -> Result<(rcgen::Certificate, KeyPair), TlsError> {
        let mut params = CertificateParams::new(names.to_vec())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().map_or("anonymous", String::as_str),
        );
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // One certificate serves both ends of a connection.
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::node_id_of;

    #[test]
    fn node_certificates_name_their_node() {
        let ca = DevCa::new().unwrap();
        assert_eq!(ca.node_cert(42).unwrap().node_id().unwrap(), 42);
        let none = ca.cert_for_names(&["example.com".to_string()]).unwrap();
        assert!(matches!(none.node_id(), Err(TlsError::NoNodeName)));
        let two = ca.cert_for_names(&[node_name(1), node_name(2)]).unwrap();
        assert!(matches!(two.node_id(), Err(TlsError::SeveralNodeNames(ids)) if ids == vec![1, 2]));
    }

    #[test]
    fn pem_round_trips_through_files() {
        let ca = DevCa::new().unwrap();
        let pem = ca.node_pem(9).unwrap();
        let dir = std::env::temp_dir().join(format!("rtq-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, n, k) = (
            dir.join("ca.pem"),
            dir.join("node.pem"),
            dir.join("node.key"),
        );
        std::fs::write(&c, &pem.ca).unwrap();
        std::fs::write(&n, &pem.cert).unwrap();
        std::fs::write(&k, &pem.key).unwrap();
        let loaded = TlsMaterial::from_pem_files(&c, &n, &k).unwrap();
        assert_eq!(loaded.node_id().unwrap(), 9);
        // Swapped files and missing files are typed errors, not panics.
        assert!(matches!(
            TlsMaterial::from_pem_files(&c, &k, &k),
            Err(TlsError::NoCertificate("certificate file"))
        ));
        assert!(matches!(
            TlsMaterial::from_pem_files(dir.join("missing"), &n, &k),
            Err(TlsError::Io { .. })
        ));
        assert!(matches!(
            TlsMaterial::from_pem(pem.ca.as_bytes(), pem.cert.as_bytes(), b"junk"),
            Err(TlsError::Pem {
                what: "key file",
                ..
            })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_certificates_are_errors() {
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);
        assert!(matches!(
            node_id_of(&junk),
            Err(TlsError::BadCertificate(_))
        ));
    }
}
