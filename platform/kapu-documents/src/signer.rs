//! The seal's signing key behind a trait, so that a hardware security module (PKCS#11) can take
//! the software key's place without changes to the signing code.

use der::{Decode, Encode};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use crate::oid;

/// Why a signature could not be made or a key not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key or certificate could not be read.
    #[error("the signing key or certificate is unusable: {0}")]
    Key(String),
    /// The key refused or failed to sign.
    #[error("the signing key failed to sign: {0}")]
    Sign(String),
}

/// A key that signs with SHA-256 and the certificate that vouches for it.
///
/// `sign` hashes the message itself (as a PKCS#11 token does with `CKM_ECDSA_SHA256`), so an
/// implementation never has to expose the key.
pub trait Signer: Send + Sync {
    /// The signer's own certificate.
    fn certificate(&self) -> &Certificate;
    /// Issuer certificates to embed beside it (not the trust anchor's role to decide).
    fn chain(&self) -> &[Certificate];
    /// The signature algorithm, as it appears in a CMS `SignerInfo`.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned;
    /// Signs `message`, returning the signature in the algorithm's DER form.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// An ECDSA P-256 key held in memory (PKCS#8), for tests, the demo and until an HSM is set up.
pub struct SoftwareSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner").field("subject", &self.certificate.tbs_certificate.subject.to_string()).finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// A signer from a PKCS#8 ECDSA P-256 key and its certificate chain (DER, own first).
    pub fn from_der(pkcs8: &[u8], certificates: &[Vec<u8>]) -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
            .map_err(|e| SignError::Key(format!("not a PKCS#8 ECDSA P-256 key ({e})")))?;
        let mut certs = certificates
            .iter()
            .map(|der| Certificate::from_der(der).map_err(|e| SignError::Key(format!("a certificate does not parse: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(SignError::Key("no certificate given".into()));
        }
        let certificate = certs.remove(0);
        let spki = certificate
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| SignError::Key("the certificate's public key is not a whole number of bytes".into()))?;
        if spki != key.public_key().as_ref() {
            return Err(SignError::Key("the key does not belong to the certificate".into()));
        }
        Ok(Self { key, rng, certificate, chain: certs })
    }

    /// A signer from PEM text: a PKCS#8 private key and one or more certificates (own first).
    pub fn from_pem(key_pem: &str, certificates_pem: &str) -> Result<Self, SignError> {
        let key = pem_blocks(key_pem, "PRIVATE KEY").into_iter().next().ok_or_else(|| SignError::Key("no PRIVATE KEY block".into()))?;
        Self::from_der(&key, &pem_blocks(certificates_pem, "CERTIFICATE"))
    }
}

impl Signer for SoftwareSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned { oid: oid::ECDSA_WITH_SHA256, parameters: None }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig = self.key.sign(&self.rng, message).map_err(|_| SignError::Sign("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }
}

/// The DER bodies of the PEM blocks labelled `label` in `text`.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let body: String = after[..stop].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// The DER encoding of a certificate.
pub(crate) fn certificate_der(cert: &Certificate) -> Result<Vec<u8>, SignError> {
    cert.to_der().map_err(|e| SignError::Key(format!("a certificate does not encode: {e}")))
}
