//! SAML 2.0 Web Browser SSO for Kapu, behind Kapu's own trait [`ServiceProviderEngine`].
//!
//! The service provider's side: a signed `AuthnRequest` over HTTP-Redirect, the SP's
//! metadata, and a `Response` over HTTP-POST that is accepted only when its assertion is
//! signed with the configured identity provider's certificate (never a certificate the
//! message carries), is the one element the signature covers (no signature wrapping), and is
//! addressed to us (Destination, Recipient, Audience), from the expected issuer, and within
//! its validity window. Replay and `InResponseTo` need storage, so the caller checks them
//! with what [`Assertion`] returns.
//!
//! The implementation, [`Samael`], uses the `samael` crate on Debian's libxmlsec1 (the
//! reference XML-DSig implementation) for signatures; everything Kapu reads is taken from
//! the document that `samael` reduced to its signed content, re-parsed with `roxmltree`.
//! [`idp`] holds the identity provider's side, for the KAÜ simulator.

pub mod idp;
pub mod xml;

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use thiserror::Error;

use crate::xml::{NS_DS, NS_SAML, NS_SAMLP, STATUS_SUCCESS, child, child_text, esc, instant, is};

/// How far the identity provider's clock may be from ours.
pub const CLOCK_SKEW: Duration = Duration::minutes(2);
/// How long a sent `AuthnRequest` may be answered.
pub const REQUEST_TTL: Duration = Duration::minutes(15);
/// The largest `SAMLResponse` form value accepted, in bytes.
pub const MAX_RESPONSE_SIZE: usize = 256 * 1024;

/// Why a SAML message was refused, or an operation failed. Each refusal has a stable
/// [`SamlError::code`] the portal words for people.
#[derive(Debug, Error)]
pub enum SamlError {
    /// Not base64, not UTF-8, not well-formed XML, not a SAML `Response`, or a DTD.
    #[error("malformed SAML message: {0}")]
    Malformed(String),
    /// No signature covers the assertion.
    #[error("the assertion is not signed")]
    Unsigned,
    /// A signature does not verify with the configured certificate (forged or altered).
    #[error("the signature does not verify with the identity provider's certificate")]
    BadSignature,
    /// The signed element is not the one that would be read (XML signature wrapping).
    #[error("the signed element is not the assertion that would be read (signature wrapping): {0}")]
    Wrapping(String),
    /// Not issued by the configured identity provider.
    #[error("issued by {found:?}, not by the configured identity provider")]
    WrongIssuer {
        /// The issuer in the message.
        found: String,
    },
    /// Addressed to another endpoint.
    #[error("addressed to {found:?}, not to this service provider's endpoint")]
    WrongDestination {
        /// The destination or recipient in the message.
        found: String,
    },
    /// Meant for another service provider.
    #[error("meant for audience {found:?}, not for this service provider")]
    WrongAudience {
        /// The audiences in the message.
        found: String,
    },
    /// Its validity ended.
    #[error("the assertion expired at {0}")]
    Expired(String),
    /// Its validity has not started.
    #[error("the assertion is valid only from {0}")]
    NotYetValid(String),
    /// The identity provider answered with a failure status.
    #[error("the identity provider refused the sign-in: {0}")]
    Status(String),
    /// Key or certificate handling failed.
    #[error("key error: {0}")]
    Key(String),
}

impl SamlError {
    /// A stable code for the refusal, e.g. `unsigned`.
    pub fn code(&self) -> &'static str {
        match self {
            SamlError::Malformed(_) => "malformed",
            SamlError::Unsigned => "unsigned",
            SamlError::BadSignature => "bad_signature",
            SamlError::Wrapping(_) => "wrapping",
            SamlError::WrongIssuer { .. } => "wrong_issuer",
            SamlError::WrongDestination { .. } => "wrong_destination",
            SamlError::WrongAudience { .. } => "wrong_audience",
            SamlError::Expired(_) => "expired",
            SamlError::NotYetValid(_) => "not_yet_valid",
            SamlError::Status(_) => "status",
            SamlError::Key(_) => "key",
        }
    }
}

fn key_error(e: impl std::fmt::Display) -> SamlError {
    SamlError::Key(e.to_string())
}

/// An RSA key with its self-signed certificate, both DER.
#[derive(Clone)]
pub struct KeyPair {
    /// PKCS#1 RSA private key, DER.
    pub private_key_der: Vec<u8>,
    /// X.509 certificate, DER.
    pub certificate_der: Vec<u8>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("certificate_der", &self.certificate_der.len()).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates an RSA-2048 key and a self-signed certificate for ten years. (RSA, because
    /// RSA-SHA256 is what SAML federations, KAÜ among them, sign with; `ring`, and so
    /// `rcgen`, cannot generate RSA keys, so OpenSSL does.)
    pub fn generate(common_name: &str) -> Result<Self, SamlError> {
        use samael::idp::{CertificateParams, IdentityProvider, KeyType, Rsa};
        let idp = IdentityProvider::generate_new(KeyType::Rsa(Rsa::Rsa2048)).map_err(key_error)?;
        let cert = idp
            .create_certificate(&CertificateParams { common_name, issuer_name: common_name, days_until_expiration: 3650 })
            .map_err(key_error)?;
        Ok(KeyPair { private_key_der: idp.export_private_key_der().map_err(key_error)?, certificate_der: cert.der_data().to_vec() })
    }

    /// The certificate, base64 without line breaks (as in metadata).
    pub fn certificate_base64(&self) -> String {
        B64.encode(&self.certificate_der)
    }

    fn private_key(&self) -> Result<openssl::pkey::PKey<openssl::pkey::Private>, SamlError> {
        let rsa = openssl::rsa::Rsa::private_key_from_der(&self.private_key_der).map_err(key_error)?;
        openssl::pkey::PKey::from_rsa(rsa).map_err(key_error)
    }
}

/// Reads a certificate given as PEM or as bare base64 (as in metadata) into DER.
pub fn certificate_der(text: &str) -> Result<Vec<u8>, SamlError> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<String>().split_whitespace().collect();
    let der = B64.decode(body).map_err(|e| SamlError::Key(format!("the certificate is not base64: {e}")))?;
    openssl::x509::X509::from_der(&der).map_err(|e| SamlError::Key(format!("not an X.509 certificate: {e}")))?;
    Ok(der)
}

/// This service provider, as one tenant presents itself.
#[derive(Clone, Debug)]
pub struct ServiceProvider {
    /// Entity ID (Kapu uses its metadata URL).
    pub entity_id: String,
    /// Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: String,
    /// Shown to the person by the identity provider.
    pub name: String,
}

/// The identity provider a tenant trusts.
#[derive(Clone, Debug)]
pub struct IdentityProvider {
    /// Entity ID.
    pub entity_id: String,
    /// Single sign-on URL (HTTP-Redirect).
    pub sso_url: String,
    /// The only certificate its signatures are verified with, DER.
    pub certificate_der: Vec<u8>,
}

/// A signed `AuthnRequest`, ready to send.
#[derive(Clone, Debug)]
pub struct AuthnRequest {
    /// Its ID; the response must name it in `InResponseTo`.
    pub id: String,
    /// The identity provider's URL carrying the request (HTTP-Redirect binding).
    pub redirect_url: String,
}

/// What a verified assertion says.
#[derive(Clone, Debug)]
pub struct Assertion {
    /// The assertion's ID (for the replay cache).
    pub id: String,
    /// The request it answers (from the signed subject confirmation).
    pub in_response_to: String,
    /// The subject's name identifier.
    pub name_id: String,
    /// The authentication context class (the assurance level).
    pub authn_context: Option<String>,
    /// Attributes by name; the first value of each.
    pub attributes: BTreeMap<String, String>,
    /// Until when the assertion may be used.
    pub not_on_or_after: DateTime<Utc>,
}

/// The SAML service provider operations Kapu needs, whatever library carries them.
pub trait ServiceProviderEngine: Send + Sync {
    /// Builds a signed `AuthnRequest` for the HTTP-Redirect binding, asking for at least
    /// `authn_context` (`Comparison="minimum"`).
    fn authn_request(
        &self,
        sp: &ServiceProvider,
        key: &KeyPair,
        idp: &IdentityProvider,
        authn_context: &str,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthnRequest, SamlError>;

    /// Verifies a base64 `SAMLResponse` from the HTTP-POST binding and returns its assertion.
    fn read_response(
        &self,
        sp: &ServiceProvider,
        idp: &IdentityProvider,
        saml_response: &str,
        now: DateTime<Utc>,
    ) -> Result<Assertion, SamlError>;

    /// The service provider's metadata: signing key, ACS, the attributes it needs.
    fn metadata(&self, sp: &ServiceProvider, key: &KeyPair, requested_attributes: &[&str]) -> String;
}

/// [`ServiceProviderEngine`] on `samael` and libxmlsec1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Samael;

impl ServiceProviderEngine for Samael {
    fn authn_request(
        &self,
        sp: &ServiceProvider,
        key: &KeyPair,
        idp: &IdentityProvider,
        authn_context: &str,
        relay_state: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthnRequest, SamlError> {
        let id = format!("_{}", uuid::Uuid::new_v4().simple());
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{id}" Version="2.0" IssueInstant="{at}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" ProtocolBinding="{post}" ProviderName="{name}"><saml:Issuer>{issuer}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>{ctx}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>"#,
            at = instant(now),
            dest = esc(&idp.sso_url),
            acs = esc(&sp.acs_url),
            post = xml::BINDING_POST,
            name = esc(&sp.name),
            issuer = esc(&sp.entity_id),
            ctx = esc(authn_context),
        );
        let mut deflated = Vec::new();
        {
            let mut enc = flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default());
            enc.write_all(xml.as_bytes()).map_err(key_error)?;
            enc.finish().map_err(key_error)?;
        }
        let mut url = url::Url::parse(&idp.sso_url).map_err(|e| SamlError::Key(format!("the identity provider's URL: {e}")))?;
        url.query_pairs_mut().append_pair("SAMLRequest", &B64.encode(&deflated));
        if let Some(rs) = relay_state {
            url.query_pairs_mut().append_pair("RelayState", rs);
        }
        let signed = samael::crypto::sign_url(url, &key.private_key()?).map_err(key_error)?;
        Ok(AuthnRequest { id, redirect_url: signed.to_string() })
    }

    fn read_response(
        &self,
        sp: &ServiceProvider,
        idp: &IdentityProvider,
        saml_response: &str,
        now: DateTime<Utc>,
    ) -> Result<Assertion, SamlError> {
        let xml = decode_response(saml_response)?;
        let assertion_id = check_structure(&xml)?;
        let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            &xml,
            &[CertificateDer::from(idp.certificate_der.clone())],
            ReduceMode::ValidateAndMarkNoAncestors,
            Some(&[AllowedSignatureAlgorithm::RsaSha256][..]),
        )
        .map_err(|_| SamlError::BadSignature)?;
        read_verified(sp, idp, &xml, &reduced, &assertion_id, now)
    }

    fn metadata(&self, sp: &ServiceProvider, key: &KeyPair, requested_attributes: &[&str]) -> String {
        let attrs: String = requested_attributes
            .iter()
            .map(|a| {
                format!(
                    r#"<md:RequestedAttribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" isRequired="true"/>"#,
                    esc(a)
                )
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{NS_DS}" entityID="{entity}"><md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/><md:AttributeConsumingService index="0" isDefault="true"><md:ServiceName xml:lang="hu">{name}</md:ServiceName>{attrs}</md:AttributeConsumingService></md:SPSSODescriptor></md:EntityDescriptor>
"#,
            md = xml::NS_MD,
            entity = esc(&sp.entity_id),
            cert = key.certificate_base64(),
            post = xml::BINDING_POST,
            acs = esc(&sp.acs_url),
            name = esc(&sp.name),
        )
    }
}

fn malformed(what: impl Into<String>) -> SamlError {
    SamlError::Malformed(what.into())
}

/// Base64 to XML text; refuses DTDs (no SAML message needs one, and they carry entity attacks).
fn decode_response(saml_response: &str) -> Result<String, SamlError> {
    if saml_response.len() > MAX_RESPONSE_SIZE {
        return Err(malformed("the SAMLResponse is too large"));
    }
    let compact: String = saml_response.split_whitespace().collect();
    if compact.is_empty() {
        return Err(malformed("the SAMLResponse field is missing or empty"));
    }
    let bytes = B64.decode(compact).map_err(|_| malformed("the SAMLResponse is not base64"))?;
    let xml = String::from_utf8(bytes).map_err(|_| malformed("the SAMLResponse is not UTF-8 text"))?;
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(malformed("the SAMLResponse carries a DTD"));
    }
    Ok(xml)
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, SamlError> {
    roxmltree::Document::parse(xml).map_err(|e| malformed(format!("the SAMLResponse is not well-formed XML: {e}")))
}

fn id_of<'a>(node: &roxmltree::Node<'a, '_>) -> Option<&'a str> {
    node.attribute("ID")
}

fn reference_uris(signature: roxmltree::Node<'_, '_>) -> Vec<String> {
    signature.descendants().filter(|n| is(n, NS_DS, "Reference")).map(|r| r.attribute("URI").unwrap_or("").to_owned()).collect()
}

/// The checks on the message as received, before any signature is verified: one
/// `Response` holding exactly one `Assertion` as a direct child, no two elements with the
/// same ID, and the assertion's own signature referring to the assertion itself. Returns the
/// assertion's ID.
fn check_structure(xml: &str) -> Result<String, SamlError> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if !is(&root, NS_SAMLP, "Response") {
        return Err(malformed(format!("expected a samlp:Response, found {}", root.tag_name().name())));
    }
    let mut ids = std::collections::HashSet::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in n.attributes().filter(|a| matches!(a.name(), "ID" | "Id" | "id" | "AssertionID")) {
            if !ids.insert(a.value()) {
                return Err(SamlError::Wrapping(format!("two elements carry the ID {:?}", a.value())));
            }
        }
    }
    let assertions: Vec<_> = doc.descendants().filter(|n| is(n, NS_SAML, "Assertion")).collect();
    let signatures = doc.descendants().filter(|n| is(n, NS_DS, "Signature")).count();
    if assertions.is_empty() {
        if doc.descendants().any(|n| is(&n, NS_SAML, "EncryptedAssertion")) {
            return Err(malformed("encrypted assertions are not part of this profile"));
        }
        let status = status_code(root);
        if status.as_deref() != Some(STATUS_SUCCESS) {
            return Err(SamlError::Status(status.unwrap_or_else(|| "no status".into())));
        }
        return Err(malformed("the response holds no assertion"));
    }
    if assertions.len() > 1 {
        return Err(SamlError::Wrapping(format!("the response holds {} assertions", assertions.len())));
    }
    let assertion = assertions[0];
    if assertion.parent_element() != Some(root) {
        return Err(SamlError::Wrapping("the assertion is hidden inside another element".into()));
    }
    let id = id_of(&assertion).ok_or_else(|| malformed("the assertion has no ID"))?.to_owned();
    if signatures == 0 {
        return Err(SamlError::Unsigned);
    }
    let Some(own) = child(assertion, NS_DS, "Signature") else { return Err(SamlError::Unsigned) };
    if reference_uris(own) != [format!("#{id}")] {
        return Err(SamlError::Wrapping("the assertion's signature refers to another element".into()));
    }
    if let Some(outer) = child(root, NS_DS, "Signature") {
        let rid = id_of(&root).unwrap_or("");
        if reference_uris(outer) != [format!("#{rid}")] {
            return Err(SamlError::Wrapping("the response's signature refers to another element".into()));
        }
    }
    Ok(id)
}

/// The status code, with the second-level code after a space when there is one.
fn status_code(response: roxmltree::Node<'_, '_>) -> Option<String> {
    let top = child(response, NS_SAMLP, "Status").and_then(|s| child(s, NS_SAMLP, "StatusCode"))?;
    let value = top.attribute("Value")?.to_owned();
    Some(match child(top, NS_SAMLP, "StatusCode").and_then(|c| c.attribute("Value")) {
        Some(second) => format!("{value} {second}"),
        None => value,
    })
}

fn time(s: Option<&str>, what: &str) -> Result<Option<DateTime<Utc>>, SamlError> {
    s.map(|v| DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| malformed(format!("{what} is not a date-time"))))
        .transpose()
}

/// Reads the assertion out of the signature-reduced document and checks it.
fn read_verified(
    sp: &ServiceProvider,
    idp: &IdentityProvider,
    original: &str,
    reduced: &str,
    assertion_id: &str,
    now: DateTime<Utc>,
) -> Result<Assertion, SamlError> {
    let doc = parse(original)?;
    let response = doc.root_element();
    let status = status_code(response);
    if status.as_deref() != Some(STATUS_SUCCESS) {
        return Err(SamlError::Status(status.unwrap_or_else(|| "no status".into())));
    }
    match response.attribute("Destination") {
        Some(d) if d == sp.acs_url => {}
        other => return Err(SamlError::WrongDestination { found: other.unwrap_or("(none)").to_owned() }),
    }
    let signed = parse(reduced)?;
    let assertion = signed
        .descendants()
        .find(|n| is(n, NS_SAML, "Assertion") && id_of(n) == Some(assertion_id))
        .ok_or_else(|| SamlError::Wrapping("the signature does not cover the assertion".into()))?;
    let issuer = child_text(assertion, NS_SAML, "Issuer").unwrap_or_default();
    if issuer != idp.entity_id {
        return Err(SamlError::WrongIssuer { found: issuer });
    }
    let conditions = child(assertion, NS_SAML, "Conditions").ok_or_else(|| malformed("the assertion has no Conditions"))?;
    let not_before = time(conditions.attribute("NotBefore"), "NotBefore")?;
    let not_on_or_after =
        time(conditions.attribute("NotOnOrAfter"), "NotOnOrAfter")?.ok_or_else(|| malformed("the assertion has no NotOnOrAfter"))?;
    if let Some(nb) = not_before
        && now + CLOCK_SKEW < nb
    {
        return Err(SamlError::NotYetValid(instant(nb)));
    }
    if now - CLOCK_SKEW >= not_on_or_after {
        return Err(SamlError::Expired(instant(not_on_or_after)));
    }
    let audiences: Vec<String> =
        conditions.descendants().filter(|n| is(n, NS_SAML, "Audience")).filter_map(|n| n.text()).map(|t| t.trim().to_owned()).collect();
    if !audiences.contains(&sp.entity_id) {
        return Err(SamlError::WrongAudience { found: audiences.join(", ") });
    }
    let subject = child(assertion, NS_SAML, "Subject").ok_or_else(|| malformed("the assertion has no Subject"))?;
    let name_id = child_text(subject, NS_SAML, "NameID").filter(|s| !s.is_empty()).ok_or_else(|| malformed("the subject has no NameID"))?;
    let data = child(subject, NS_SAML, "SubjectConfirmation")
        .filter(|c| c.attribute("Method") == Some("urn:oasis:names:tc:SAML:2.0:cm:bearer"))
        .and_then(|c| child(c, NS_SAML, "SubjectConfirmationData"))
        .ok_or_else(|| malformed("the subject has no bearer confirmation"))?;
    match data.attribute("Recipient") {
        Some(r) if r == sp.acs_url => {}
        other => return Err(SamlError::WrongDestination { found: other.unwrap_or("(none)").to_owned() }),
    }
    let confirm_until =
        time(data.attribute("NotOnOrAfter"), "NotOnOrAfter")?.ok_or_else(|| malformed("the confirmation has no NotOnOrAfter"))?;
    if now - CLOCK_SKEW >= confirm_until {
        return Err(SamlError::Expired(instant(confirm_until)));
    }
    let in_response_to = data.attribute("InResponseTo").ok_or_else(|| malformed("the confirmation has no InResponseTo"))?.to_owned();
    if response.attribute("InResponseTo").is_some_and(|r| r != in_response_to) {
        return Err(malformed("the response and its assertion answer different requests"));
    }
    let authn_context = child(assertion, NS_SAML, "AuthnStatement")
        .and_then(|s| child(s, NS_SAML, "AuthnContext"))
        .and_then(|c| child_text(c, NS_SAML, "AuthnContextClassRef"));
    let mut attributes = BTreeMap::new();
    for a in assertion.descendants().filter(|n| is(n, NS_SAML, "Attribute")) {
        if let (Some(name), Some(value)) = (a.attribute("Name"), child(a, NS_SAML, "AttributeValue").and_then(|v| v.text())) {
            attributes.entry(name.to_owned()).or_insert_with(|| value.trim().to_owned());
        }
    }
    Ok(Assertion {
        id: assertion_id.to_owned(),
        in_response_to,
        name_id,
        authn_context,
        attributes,
        not_on_or_after: not_on_or_after.min(confirm_until),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::idp::{ResponseSpec, assertion_xml, response_xml, sign, signed_response};

    fn setup() -> (ServiceProvider, IdentityProvider, KeyPair, ResponseSpec) {
        let key = KeyPair::generate("idp").unwrap();
        let sp = ServiceProvider { entity_id: "https://sp/metadata".into(), acs_url: "https://sp/acs".into(), name: "SP".into() };
        let idp = IdentityProvider {
            entity_id: "https://idp".into(),
            sso_url: "https://idp/sso".into(),
            certificate_der: key.certificate_der.clone(),
        };
        let now = Utc::now();
        let spec = ResponseSpec {
            issuer: idp.entity_id.clone(),
            destination: sp.acs_url.clone(),
            recipient: sp.acs_url.clone(),
            audience: sp.entity_id.clone(),
            in_response_to: "_req1".into(),
            name_id: "subject-1".into(),
            authn_context: "ctx".into(),
            attributes: vec![("viseltNev".into(), "Minta Márta".into())],
            issued_at: now,
            not_before: now,
            not_on_or_after: now + Duration::minutes(5),
            response_id: "_resp1".into(),
            assertion_id: "_assert1".into(),
        };
        (sp, idp, key, spec)
    }

    fn read(sp: &ServiceProvider, idp: &IdentityProvider, xml: &str) -> Result<Assertion, SamlError> {
        Samael.read_response(sp, idp, &B64.encode(xml), Utc::now())
    }

    #[test]
    fn a_signed_response_is_read_and_altered_ones_are_refused() {
        let (sp, idp, key, spec) = setup();
        let good = signed_response(&spec, &key).unwrap();
        let a = read(&sp, &idp, &good).unwrap();
        assert_eq!(a.in_response_to, "_req1");
        assert_eq!(a.attributes["viseltNev"], "Minta Márta");

        let altered = good.replace("Minta Márta", "Másik Márta");
        assert_eq!(read(&sp, &idp, &altered).unwrap_err().code(), "bad_signature");

        let other = KeyPair::generate("attacker").unwrap();
        let forged = signed_response(&spec, &other).unwrap();
        assert_eq!(read(&sp, &idp, &forged).unwrap_err().code(), "bad_signature");

        let unsigned = response_xml(&spec, &assertion_xml(&spec, None), None);
        assert_eq!(read(&sp, &idp, &unsigned).unwrap_err().code(), "unsigned");

        let only_response = sign(&response_xml(&spec, &assertion_xml(&spec, None), Some(&key)), &key).unwrap();
        assert_eq!(read(&sp, &idp, &only_response).unwrap_err().code(), "unsigned");

        let only_assertion = response_xml(&spec, &sign(&assertion_xml(&spec, Some(&key)), &key).unwrap(), None);
        read(&sp, &idp, &only_assertion).unwrap();

        let evil = ResponseSpec { assertion_id: "_evil".into(), name_id: "evil".into(), ..spec.clone() };
        let signed_assertion = sign(&assertion_xml(&spec, Some(&key)), &key).unwrap();
        let wrapped = response_xml(&spec, &format!("{}{}", assertion_xml(&evil, None), signed_assertion), None);
        assert_eq!(read(&sp, &idp, &wrapped).unwrap_err().code(), "wrapping");

        let wrong_audience = signed_response(&ResponseSpec { audience: "https://other".into(), ..spec.clone() }, &key).unwrap();
        assert_eq!(read(&sp, &idp, &wrong_audience).unwrap_err().code(), "wrong_audience");
        let wrong_dest = signed_response(&ResponseSpec { destination: "https://other/acs".into(), ..spec.clone() }, &key).unwrap();
        assert_eq!(read(&sp, &idp, &wrong_dest).unwrap_err().code(), "wrong_destination");
        let past = Utc::now() - Duration::hours(1);
        let expired = signed_response(
            &ResponseSpec { issued_at: past, not_before: past, not_on_or_after: past + Duration::minutes(5), ..spec.clone() },
            &key,
        )
        .unwrap();
        assert_eq!(read(&sp, &idp, &expired).unwrap_err().code(), "expired");
        let future = Utc::now() + Duration::hours(1);
        let early =
            signed_response(&ResponseSpec { not_before: future, not_on_or_after: future + Duration::minutes(5), ..spec.clone() }, &key)
                .unwrap();
        assert_eq!(read(&sp, &idp, &early).unwrap_err().code(), "not_yet_valid");
        assert_eq!(Samael.read_response(&sp, &idp, "%%%", Utc::now()).unwrap_err().code(), "malformed");
        assert_eq!(read(&sp, &idp, "<a>").unwrap_err().code(), "malformed");
    }

    #[test]
    fn the_request_redirect_is_signed_and_verifies() {
        let (sp, idp, _, _) = setup();
        let sp_key = KeyPair::generate("sp").unwrap();
        let req = Samael.authn_request(&sp, &sp_key, &idp, "ctx", Some("rs"), Utc::now()).unwrap();
        let url = url::Url::parse(&req.redirect_url).unwrap();
        let query = url.query().unwrap();
        crate::idp::verify_redirect_signature(query, &sp_key.certificate_der).unwrap();
        let other = KeyPair::generate("other").unwrap();
        assert_eq!(crate::idp::verify_redirect_signature(query, &other.certificate_der).unwrap_err().code(), "bad_signature");
        let saml_request = url.query_pairs().find(|(k, _)| k == "SAMLRequest").unwrap().1.into_owned();
        let r = crate::idp::decode_redirect_request(&saml_request).unwrap();
        assert_eq!(r.id, req.id);
        assert_eq!(r.issuer, sp.entity_id);
        assert_eq!(r.acs_url.as_deref(), Some(sp.acs_url.as_str()));
        let md = crate::idp::read_metadata(&Samael.metadata(&sp, &sp_key, &["viseltNev"])).unwrap();
        assert_eq!(md.certificate_der, sp_key.certificate_der);
        assert_eq!(md.acs_url.as_deref(), Some(sp.acs_url.as_str()));
    }
}
