//! CMS `SignedData` (RFC 5652) with the attributes CAdES and RFC 3161 require.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::oid;
use crate::signer::{SignError, Signer, certificate_der};

/// `SigningCertificateV2` (RFC 5035): binds the signature to the signer's certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2` with the default hash algorithm (SHA-256), which DER leaves out.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// SHA-256 of the certificate's DER encoding.
    pub cert_hash: OctetString,
    /// The certificate's issuer and serial number.
    pub issuer_serial: IssuerSerial,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer as a directory name.
    pub issuer: Vec<GeneralName>,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// Why a CMS structure could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A structure did not encode or decode.
    #[error("CMS encoding: {0}")]
    Der(#[from] der::Error),
    /// The structure is valid DER but not what was expected.
    #[error("CMS structure: {0}")]
    Structure(&'static str),
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
}

fn any_of(value: &impl Encode) -> Result<Any, CmsError> {
    Ok(Any::from_der(&value.to_der()?)?)
}

/// Signs content whose SHA-256 is `content_digest`.
///
/// The signed attributes are content-type, message-digest and signing-certificate-v2, as CAdES
/// (ETSI EN 319 122-1) and RFC 3161 both require. `econtent` embeds the content (a time-stamp
/// token's `TSTInfo`); `None` makes a detached signature (a PDF's). The signer's certificate
/// and chain are embedded.
pub fn sign(
    signer: &dyn Signer,
    econtent_type: ObjectIdentifier,
    econtent: Option<&[u8]>,
    content_digest: &[u8],
) -> Result<SignedData, CmsError> {
    let cert = signer.certificate();
    let cert_hash = Sha256::digest(certificate_der(cert)?);
    let issuer = cert.tbs_certificate.issuer.clone();
    let serial = cert.tbs_certificate.serial_number.clone();
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(cert_hash.to_vec())?,
            issuer_serial: IssuerSerial { issuer: vec![GeneralName::DirectoryName(issuer.clone())], serial_number: serial.clone() },
        }],
    };
    let signed_attrs: Attributes = SetOfVec::try_from(vec![
        attribute(oid::CONTENT_TYPE, any_of(&econtent_type)?)?,
        attribute(oid::MESSAGE_DIGEST, any_of(&OctetString::new(content_digest.to_vec())?)?)?,
        attribute(oid::SIGNING_CERTIFICATE_V2, any_of(&signing_certificate)?)?,
    ])?;
    // The signature covers the attributes' DER encoding as a SET OF (RFC 5652, 5.4).
    let signature = signer.sign(&signed_attrs.to_der()?)?;
    let sha256 = AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber { issuer, serial_number: serial }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signer.signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let certificates = std::iter::once(cert).chain(signer.chain()).map(|c| CertificateChoices::Certificate(c.clone())).collect::<Vec<_>>();
    let econtent = econtent.map(|bytes| any_of(&OctetString::new(bytes.to_vec())?)).transpose()?;
    Ok(SignedData {
        version: if econtent_type == oid::DATA { CmsVersion::V1 } else { CmsVersion::V3 },
        digest_algorithms: SetOfVec::try_from(vec![sha256])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type, econtent },
        certificates: Some(CertificateSet::try_from(certificates)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    })
}

/// The only signer's signature value.
pub fn signature_value(signed: &SignedData) -> Result<&[u8], CmsError> {
    let info = signed.signer_infos.0.iter().next().ok_or(CmsError::Structure("no SignerInfo"))?;
    Ok(info.signature.as_bytes())
}

/// Adds `token` (a time-stamp token over the signature value) to the only signer as the
/// signature-time-stamp unsigned attribute (RFC 3161, appendix A).
pub fn add_signature_time_stamp(signed: &mut SignedData, token: &ContentInfo) -> Result<(), CmsError> {
    let mut infos: Vec<SignerInfo> = signed.signer_infos.0.clone().into_vec();
    let info = infos.first_mut().ok_or(CmsError::Structure("no SignerInfo"))?;
    let attr = attribute(oid::SIGNATURE_TIME_STAMP_TOKEN, any_of(token)?)?;
    let mut attrs = info.unsigned_attrs.take().map(|a| a.into_vec()).unwrap_or_default();
    attrs.push(attr);
    info.unsigned_attrs = Some(SetOfVec::try_from(attrs)?);
    signed.signer_infos = SignerInfos::try_from(infos)?;
    Ok(())
}

/// Wraps `SignedData` in a `ContentInfo`.
pub fn content_info(signed: &SignedData) -> Result<ContentInfo, CmsError> {
    Ok(ContentInfo { content_type: oid::SIGNED_DATA, content: any_of(signed)? })
}

/// The `SignedData` inside a `ContentInfo`.
pub fn signed_data(info: &ContentInfo) -> Result<SignedData, CmsError> {
    if info.content_type != oid::SIGNED_DATA {
        return Err(CmsError::Structure("not SignedData"));
    }
    Ok(SignedData::from_der(&info.content.to_der()?)?)
}
