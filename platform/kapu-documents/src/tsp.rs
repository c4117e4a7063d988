//! RFC 3161 time-stamping over HTTP: the client Kapu uses to time-stamp signatures.

use std::time::Duration;

use cms::content_info::ContentInfo;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifier;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::{cms as kcms, oid};

/// The media type of a time-stamp request (RFC 3161, 3.4).
pub const QUERY_MEDIA_TYPE: &str = "application/timestamp-query";
/// The media type of a time-stamp response (RFC 3161, 3.4).
pub const REPLY_MEDIA_TYPE: &str = "application/timestamp-reply";

/// Why no time-stamp token was obtained. None of these ever yields an unstamped document.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The authority did not answer (connection refused, timeout, 5xx) on any attempt.
    #[error("the time-stamping authority at {url} is unavailable ({attempts} attempts, last: {last})")]
    Unavailable {
        /// Where it was asked.
        url: String,
        /// How many requests were made.
        attempts: u32,
        /// What went wrong the last time.
        last: String,
    },
    /// The authority answered but refused to stamp (a PKIStatus of rejection, or a 4xx).
    #[error("the time-stamping authority refused the request: {0}")]
    Rejected(String),
    /// The answer is not a valid time-stamp response for our request.
    #[error("the time-stamping authority's answer is not valid: {0}")]
    InvalidResponse(String),
    /// The answer's token does not verify (signature, digest, or trust).
    #[error("the time-stamping authority's answer is not valid: {0}")]
    InvalidToken(#[from] TokenError),
}

/// Where the authority is and how patiently to ask it.
#[derive(Clone, Debug)]
pub struct TsaConfig {
    /// The URL time-stamp queries are POSTed to.
    pub url: String,
    /// Requests to make before giving up (at least one).
    pub attempts: u32,
    /// The wait before the second attempt; it doubles for each further one.
    pub backoff: Duration,
    /// The limit for one request.
    pub timeout: Duration,
    /// Certificates that may issue the authority's certificate (or be it). When not empty, a
    /// token whose signer chains to none of them is refused.
    pub trust: Vec<Certificate>,
}

impl TsaConfig {
    /// The defaults for `url`: 4 attempts, 250 ms first backoff, 10 s per request.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), attempts: 4, backoff: Duration::from_millis(250), timeout: Duration::from_secs(10), trust: Vec::new() }
    }

    /// Trusts the certificates in `pem` (see [`TsaConfig::trust`]).
    pub fn trusting_pem(mut self, pem: &str) -> Result<Self, TsaError> {
        for der in crate::signer::pem_blocks(pem, "CERTIFICATE") {
            let cert =
                Certificate::from_der(&der).map_err(|e| TsaError::InvalidResponse(format!("a trusted certificate does not parse: {e}")))?;
            self.trust.push(cert);
        }
        Ok(self)
    }
}

/// An RFC 3161 client over HTTP.
#[derive(Clone, Debug)]
pub struct TsaClient {
    config: TsaConfig,
    http: reqwest::Client,
}

impl TsaClient {
    /// A client for the authority in `config`.
    pub fn new(config: TsaConfig) -> Result<Self, TsaError> {
        let http = reqwest::Client::builder().timeout(config.timeout).build().map_err(|e| TsaError::Unavailable {
            url: config.url.clone(),
            attempts: 0,
            last: e.to_string(),
        })?;
        Ok(Self { config, http })
    }

    /// The authority's URL.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// Obtains a time-stamp token over `message` (its SHA-256 goes to the authority), retrying
    /// while the authority is unavailable, and checks that the token answers this request.
    pub async fn time_stamp(&self, message: &[u8]) -> Result<ContentInfo, TsaError> {
        let digest = Sha256::digest(message);
        let nonce = u64::from_be_bytes(rand::random::<[u8; 8]>()) >> 1;
        let request = request_der(&digest, nonce).map_err(|e| TsaError::InvalidResponse(format!("encoding the request: {e}")))?;
        let attempts = self.config.attempts.max(1);
        let mut wait = self.config.backoff;
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            match self.post(&request).await {
                Ok(body) => {
                    let token = check_response(&body, &digest, nonce)?;
                    verify_token(&token, &self.config.trust)?;
                    return Ok(token);
                }
                Err(Attempt::Retry(why)) => {
                    tracing::warn!(url = %self.config.url, attempt, error = %why, "time-stamping authority unavailable");
                    last = why;
                }
                Err(Attempt::Fail(e)) => return Err(e),
            }
        }
        Err(TsaError::Unavailable { url: self.config.url.clone(), attempts, last })
    }

    async fn post(&self, request: &[u8]) -> Result<Vec<u8>, Attempt> {
        let response = self
            .http
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, QUERY_MEDIA_TYPE)
            .body(request.to_vec())
            .send()
            .await
            .map_err(|e| Attempt::Retry(error_chain(&e)))?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::Retry(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Attempt::Fail(TsaError::Rejected(format!("HTTP {status}"))));
        }
        let media_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !media_type.starts_with(REPLY_MEDIA_TYPE) {
            return Err(Attempt::Fail(TsaError::InvalidResponse(format!("media type {media_type:?}, not {REPLY_MEDIA_TYPE}"))));
        }
        let body = response.bytes().await.map_err(|e| Attempt::Retry(error_chain(&e)))?;
        Ok(body.to_vec())
    }
}

enum Attempt {
    Retry(String),
    Fail(TsaError),
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// An integer as a DER `INTEGER`.
pub fn int(value: u64) -> der::Result<Int> {
    Int::from_der(&value.to_der()?)
}

/// A DER `TimeStampReq` for a SHA-256 digest, asking for the authority's certificate.
pub fn request_der(digest: &[u8], nonce: u64) -> der::Result<Vec<u8>> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier { oid: oid::SHA256, parameters: None::<Any> },
            hashed_message: OctetString::new(digest)?,
        },
        req_policy: None,
        nonce: Some(int(nonce)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
}

/// Reads a `TimeStampResp` and returns its token, checking status, imprint and nonce.
pub fn check_response(body: &[u8], digest: &[u8], nonce: u64) -> Result<ContentInfo, TsaError> {
    use cmpv2::status::PkiStatus;
    let invalid = |what: String| TsaError::InvalidResponse(what);
    let response = TimeStampResp::from_der(body).map_err(|e| invalid(format!("not a TimeStampResp: {e}")))?;
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        status => {
            let text: Vec<String> = response.status.status_string.iter().flatten().map(|s| s.as_str().to_owned()).collect();
            return Err(TsaError::Rejected(format!("status {status:?}: {}", text.join("; "))));
        }
    }
    let token = response.time_stamp_token.ok_or_else(|| invalid("granted without a token".into()))?;
    let info = token_info(&token).map_err(|e| invalid(e.to_string()))?;
    if info.message_imprint.hash_algorithm.oid != oid::SHA256 || info.message_imprint.hashed_message.as_bytes() != digest {
        return Err(invalid("the token stamps another message imprint".into()));
    }
    let expected = int(nonce).map_err(|e| invalid(e.to_string()))?;
    if info.nonce.as_ref() != Some(&expected) {
        return Err(invalid("the token's nonce is not ours".into()));
    }
    Ok(token)
}

/// The `TSTInfo` inside a time-stamp token.
pub fn token_info(token: &ContentInfo) -> Result<TstInfo, kcms::CmsError> {
    let signed = kcms::signed_data(token)?;
    if signed.encap_content_info.econtent_type != oid::TST_INFO {
        return Err(kcms::CmsError::Structure("the token's content is not TSTInfo"));
    }
    let econtent = signed.encap_content_info.econtent.ok_or(kcms::CmsError::Structure("the token has no TSTInfo"))?;
    let octets = OctetString::from_der(&econtent.to_der()?)?;
    Ok(TstInfo::from_der(octets.as_bytes())?)
}

/// Why a time-stamp token does not verify.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token is not the CMS structure of a time-stamp token.
    #[error(transparent)]
    Cms(#[from] kcms::CmsError),
    /// A part of the token does not encode or decode.
    #[error("the token does not decode: {0}")]
    Der(#[from] der::Error),
    /// A part the token must have is absent, e.g. `its signer's certificate`.
    #[error("the token lacks {0}")]
    Missing(&'static str),
    /// The digest the signer signed is not the digest of the token's `TSTInfo`.
    #[error("the token's signed digest is not its TSTInfo's")]
    DigestMismatch,
    /// The signer is named by key identifier, which this verifier does not follow.
    #[error("the token's signer is not named by issuer and serial number")]
    SignerNotNamed,
    /// The signature over the signed attributes does not verify.
    #[error("the token's signature is invalid ({0})")]
    Signature(SignatureError),
    /// The signer's certificate is neither trusted nor issued by a trusted certificate.
    #[error("the time-stamping authority's certificate is not issued by a trusted certificate")]
    Untrusted,
}

/// Why a signature does not verify.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// Neither ECDSA P-256 nor RSA (PKCS #1 v1.5) with SHA-256.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(der::asn1::ObjectIdentifier),
    /// The certificate's public key or signature is not a bit string of whole bytes.
    #[error("a malformed public key or certificate signature")]
    Malformed,
    /// The signature is not the key's over the message.
    #[error("the signature does not verify")]
    Mismatch,
}

/// Checks a token's signature with the certificate it carries, that the signed message digest
/// is the `TSTInfo`'s, and, when `trust` is not empty, that the certificate is one of `trust`
/// or is signed by one of them. ECDSA P-256 and RSA (PKCS #1 v1.5) with SHA-256 are supported.
pub fn verify_token(token: &ContentInfo, trust: &[Certificate]) -> Result<(), TokenError> {
    let signed = kcms::signed_data(token)?;
    let econtent = signed.encap_content_info.econtent.as_ref().ok_or(TokenError::Missing("a TSTInfo"))?;
    let tst_info = OctetString::from_der(&econtent.to_der()?)?;
    let info = signed.signer_infos.0.iter().next().ok_or(TokenError::Missing("a signer"))?;
    let attrs = info.signed_attrs.as_ref().ok_or(TokenError::Missing("signed attributes"))?;
    let digest_attr = attrs
        .iter()
        .find(|a| a.oid == oid::MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or(TokenError::Missing("a message digest"))?;
    let signed_digest = OctetString::from_der(&digest_attr.to_der()?)?;
    if signed_digest.as_bytes() != Sha256::digest(tst_info.as_bytes()).as_slice() {
        return Err(TokenError::DigestMismatch);
    }
    let cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(sid) = &info.sid else {
        return Err(TokenError::SignerNotNamed);
    };
    let signer_cert = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|choice| match choice {
            cms::cert::CertificateChoices::Certificate(c)
                if c.tbs_certificate.issuer == sid.issuer && c.tbs_certificate.serial_number == sid.serial_number =>
            {
                Some(c)
            }
            _ => None,
        })
        .ok_or(TokenError::Missing("its signer's certificate"))?;
    let signed_attrs = attrs.to_der()?;
    verify_signature(signer_cert, &info.signature_algorithm.oid, &signed_attrs, info.signature.as_bytes())
        .map_err(TokenError::Signature)?;
    if trust.is_empty() || trust.contains(signer_cert) {
        return Ok(());
    }
    let tbs = signer_cert.tbs_certificate.to_der()?;
    let cert_signature = signer_cert.signature.as_bytes().ok_or(TokenError::Signature(SignatureError::Malformed))?;
    let trusted = trust.iter().any(|ca| {
        ca.tbs_certificate.subject == signer_cert.tbs_certificate.issuer
            && verify_signature(ca, &signer_cert.signature_algorithm.oid, &tbs, cert_signature).is_ok()
    });
    if trusted { Ok(()) } else { Err(TokenError::Untrusted) }
}

const SHA256_WITH_RSA: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

fn verify_signature(
    cert: &Certificate,
    algorithm: &der::asn1::ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use ring::signature::{ECDSA_P256_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey, VerificationAlgorithm};
    let verifier: &'static dyn VerificationAlgorithm = if *algorithm == oid::ECDSA_WITH_SHA256 {
        &ECDSA_P256_SHA256_ASN1
    } else if *algorithm == SHA256_WITH_RSA {
        &RSA_PKCS1_2048_8192_SHA256
    } else {
        return Err(SignatureError::UnsupportedAlgorithm(*algorithm));
    };
    let key = cert.tbs_certificate.subject_public_key_info.subject_public_key.as_bytes().ok_or(SignatureError::Malformed)?;
    UnparsedPublicKey::new(verifier, key).verify(message, signature).map_err(|_| SignatureError::Mismatch)
}
