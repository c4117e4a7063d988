//! The identity provider's side of Web Browser SSO, for the KAÜ simulator: reading and
//! verifying a redirect-bound `AuthnRequest`, and writing and signing a `Response`.
//! Building the unsigned XML and signing it are separate steps, so the simulator can alter
//! a response on purpose (to test that Kapu refuses it).

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, UrlVerifier};

use crate::xml::{NS_SAML, NS_SAMLP, child, child_text, esc, instant, is, signature_template, without_declaration};
use crate::{KeyPair, SamlError};

/// An `AuthnRequest` as the identity provider received it.
#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    /// Its ID.
    pub id: String,
    /// The service provider's entity ID.
    pub issuer: String,
    /// Where to post the response.
    pub acs_url: Option<String>,
    /// The `Destination` it was sent to.
    pub destination: Option<String>,
    /// The minimum authentication context class asked for.
    pub authn_context: Option<String>,
    /// When it was issued.
    pub issue_instant: Option<DateTime<Utc>>,
}

fn malformed(what: impl Into<String>) -> SamlError {
    SamlError::Malformed(what.into())
}

/// Decodes the `SAMLRequest` of an HTTP-Redirect query (base64 of raw DEFLATE).
pub fn decode_redirect_request(saml_request: &str) -> Result<ReceivedRequest, SamlError> {
    let deflated = B64.decode(saml_request.trim()).map_err(|_| malformed("SAMLRequest is not base64"))?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .take(256 * 1024)
        .read_to_string(&mut xml)
        .map_err(|_| malformed("SAMLRequest is not DEFLATE-compressed UTF-8"))?;
    if xml.contains("<!DOCTYPE") {
        return Err(malformed("SAMLRequest carries a DTD"));
    }
    let doc = roxmltree::Document::parse(&xml).map_err(|e| malformed(format!("SAMLRequest is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if !is(&root, NS_SAMLP, "AuthnRequest") {
        return Err(malformed("SAMLRequest is not a samlp:AuthnRequest"));
    }
    let id = root.attribute("ID").ok_or_else(|| malformed("the AuthnRequest has no ID"))?.to_owned();
    let issuer = child_text(root, NS_SAML, "Issuer").ok_or_else(|| malformed("the AuthnRequest has no Issuer"))?;
    let authn_context = child(root, NS_SAMLP, "RequestedAuthnContext").and_then(|c| child_text(c, NS_SAML, "AuthnContextClassRef"));
    let issue_instant = root.attribute("IssueInstant").and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    Ok(ReceivedRequest {
        id,
        issuer,
        acs_url: root.attribute("AssertionConsumerServiceURL").map(str::to_owned),
        destination: root.attribute("Destination").map(str::to_owned),
        authn_context,
        issue_instant,
    })
}

/// Verifies the signature of a redirect-bound request's query (`SAMLRequest`, `RelayState`,
/// `SigAlg`, `Signature`, percent-encoded as received) with the service provider's certificate.
pub fn verify_redirect_signature(raw_query: &str, sp_certificate_der: &[u8]) -> Result<(), SamlError> {
    let param = |name: &str| url::form_urlencoded::parse(raw_query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if param("Signature").is_none() {
        return Err(SamlError::Unsigned);
    }
    // Only RSA-SHA256 (samael's verifier would panic on algorithms it does not know).
    if param("SigAlg").as_deref() != Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") {
        return Err(SamlError::BadSignature);
    }
    let verifier = UrlVerifier::from_x509(&CertificateDer::from(sp_certificate_der.to_vec())).map_err(|e| SamlError::Key(e.to_string()))?;
    match verifier.verify_percent_encoded_request_uri_string(&format!("/sso?{raw_query}")) {
        Ok(true) => Ok(()),
        _ => Err(SamlError::BadSignature),
    }
}

/// What a response asserts, and how it is framed.
#[derive(Clone, Debug)]
pub struct ResponseSpec {
    /// The identity provider's entity ID.
    pub issuer: String,
    /// The response's `Destination`.
    pub destination: String,
    /// The confirmation's `Recipient`.
    pub recipient: String,
    /// The audience the assertion is restricted to.
    pub audience: String,
    /// The request answered.
    pub in_response_to: String,
    /// The subject's persistent identifier.
    pub name_id: String,
    /// The authentication context class (assurance level).
    pub authn_context: String,
    /// Attributes, name and value.
    pub attributes: Vec<(String, String)>,
    /// Issue instant of response and assertion.
    pub issued_at: DateTime<Utc>,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_on_or_after: DateTime<Utc>,
    /// The response's ID.
    pub response_id: String,
    /// The assertion's ID.
    pub assertion_id: String,
}

/// The assertion element, with a signature template when `signed_by` is given.
pub fn assertion_xml(spec: &ResponseSpec, signed_by: Option<&KeyPair>) -> String {
    let attrs: String = spec
        .attributes
        .iter()
        .map(|(n, v)| {
            format!(
                r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">{}</saml:AttributeValue></saml:Attribute>"#,
                esc(n),
                esc(v)
            )
        })
        .collect();
    let signature = signed_by.map(|k| signature_template(&spec.assertion_id, &k.certificate_base64())).unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="{NS_SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" Version="2.0" IssueInstant="{at}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" Recipient="{recipient}" NotOnOrAfter="{until}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{from}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{at}" SessionIndex="{aid}"><saml:AuthnContext><saml:AuthnContextClassRef>{ctx}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#,
        aid = esc(&spec.assertion_id),
        at = instant(spec.issued_at),
        issuer = esc(&spec.issuer),
        name_id = esc(&spec.name_id),
        irt = esc(&spec.in_response_to),
        recipient = esc(&spec.recipient),
        until = instant(spec.not_on_or_after),
        from = instant(spec.not_before),
        audience = esc(&spec.audience),
        ctx = esc(&spec.authn_context),
    )
}

/// The response element around `assertion` (already signed or not), with a signature
/// template when `signed_by` is given.
pub fn response_xml(spec: &ResponseSpec, assertion: &str, signed_by: Option<&KeyPair>) -> String {
    let signature = signed_by.map(|k| signature_template(&spec.response_id, &k.certificate_base64())).unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{rid}" Version="2.0" IssueInstant="{at}" Destination="{dest}" InResponseTo="{irt}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
        rid = esc(&spec.response_id),
        at = instant(spec.issued_at),
        dest = esc(&spec.destination),
        irt = esc(&spec.in_response_to),
        issuer = esc(&spec.issuer),
        assertion = without_declaration(assertion),
    )
}

/// A signed response without an assertion, carrying a failure status under `Responder`
/// (e.g. `urn:oasis:names:tc:SAML:2.0:status:AuthnFailed` when the person cancelled).
pub fn failed_response(spec: &ResponseSpec, status: &str, key: &KeyPair) -> Result<String, SamlError> {
    let signature = signature_template(&spec.response_id, &key.certificate_base64());
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="{NS_SAMLP}" xmlns:saml="{NS_SAML}" ID="{rid}" Version="2.0" IssueInstant="{at}" Destination="{dest}" InResponseTo="{irt}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="{status}"/></samlp:StatusCode></samlp:Status></samlp:Response>"#,
        rid = esc(&spec.response_id),
        at = instant(spec.issued_at),
        dest = esc(&spec.destination),
        irt = esc(&spec.in_response_to),
        issuer = esc(&spec.issuer),
        status = esc(status),
    );
    sign(&xml, key)
}

/// Signs the first signature template of `xml` with `key` (libxmlsec1, through samael).
pub fn sign(xml: &str, key: &KeyPair) -> Result<String, SamlError> {
    let signed = Crypto::sign_xml(xml, &key.private_key_der).map_err(|e| SamlError::Key(format!("signing: {e}")))?;
    Ok(without_declaration(&signed).to_owned())
}

/// The usual response: the assertion signed, then the response around it signed.
pub fn signed_response(spec: &ResponseSpec, key: &KeyPair) -> Result<String, SamlError> {
    let assertion = sign(&assertion_xml(spec, Some(key)), key)?;
    sign(&response_xml(spec, &assertion, Some(key)), key)
}

/// An identity provider's metadata: its signing certificate and its redirect SSO endpoint.
pub fn metadata(entity_id: &str, sso_url: &str, key: &KeyPair) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:SingleSignOnService Binding="{redirect}" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>
"#,
        md = crate::xml::NS_MD,
        entity = esc(entity_id),
        cert = key.certificate_base64(),
        redirect = crate::xml::BINDING_REDIRECT,
        sso = esc(sso_url),
    )
}

/// What a metadata document says about an entity: its ID, signing certificate and, for an
/// identity provider, its redirect SSO URL; for a service provider, its POST ACS URL.
#[derive(Clone, Debug)]
pub struct EntityMetadata {
    /// Entity ID.
    pub entity_id: String,
    /// Signing certificate, DER.
    pub certificate_der: Vec<u8>,
    /// HTTP-Redirect single sign-on URL (identity providers).
    pub sso_url: Option<String>,
    /// HTTP-POST assertion consumer URL (service providers).
    pub acs_url: Option<String>,
    /// The service's name (service providers' `ServiceName`).
    pub service_name: Option<String>,
}

/// Reads a metadata document.
pub fn read_metadata(xml: &str) -> Result<EntityMetadata, SamlError> {
    use crate::xml::{BINDING_POST, BINDING_REDIRECT, NS_DS, NS_MD};
    if xml.contains("<!DOCTYPE") {
        return Err(malformed("metadata carries a DTD"));
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| malformed(format!("metadata is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if !is(&root, NS_MD, "EntityDescriptor") {
        return Err(malformed("metadata is not an md:EntityDescriptor"));
    }
    let entity_id = root.attribute("entityID").ok_or_else(|| malformed("metadata has no entityID"))?.to_owned();
    let cert = doc
        .descendants()
        .filter(|n| is(n, NS_MD, "KeyDescriptor") && n.attribute("use").is_none_or(|u| u == "signing"))
        .flat_map(|k| k.descendants())
        .find(|n| is(n, NS_DS, "X509Certificate"))
        .and_then(|n| n.text())
        .ok_or_else(|| malformed("metadata has no signing certificate"))?;
    let location = |name: &str, binding: &str| {
        doc.descendants()
            .find(|n| is(n, NS_MD, name) && n.attribute("Binding") == Some(binding))
            .and_then(|n| n.attribute("Location"))
            .map(str::to_owned)
    };
    Ok(EntityMetadata {
        entity_id,
        certificate_der: crate::certificate_der(cert)?,
        sso_url: location("SingleSignOnService", BINDING_REDIRECT),
        acs_url: location("AssertionConsumerService", BINDING_POST),
        service_name: doc.descendants().find(|n| is(n, NS_MD, "ServiceName")).and_then(|n| n.text()).map(str::to_owned),
    })
}
