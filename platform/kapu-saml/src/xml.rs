//! Small helpers for writing SAML XML and reading it with roxmltree.

use chrono::{DateTime, SecondsFormat, Utc};

/// SAML 2.0 assertion namespace.
pub const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 protocol namespace.
pub const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 metadata namespace.
pub const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML digital signature namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// The only status that signs a person in.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Escapes text for an XML attribute value or element content.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A SAML `xs:dateTime` in UTC, to the second.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An enveloped-signature template for the element with `id`: exclusive C14N, RSA-SHA256,
/// SHA-256, the signer's certificate in `KeyInfo` (informative only: the service provider
/// verifies with the configured certificate).
pub fn signature_template(id: &str, certificate_b64: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##,
        id = esc(id)
    )
}

/// Drops a leading `<?xml …?>` declaration (libxml adds one when it serialises).
pub fn without_declaration(xml: &str) -> &str {
    let t = xml.trim_start();
    match t.strip_prefix("<?xml").and_then(|rest| rest.split_once("?>")) {
        Some((_, body)) => body.trim_start(),
        None => t,
    }
}

/// Whether `node` is the element `ns`:`name`.
pub fn is(node: &roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// The first child element `ns`:`name` of `node`.
pub fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| is(c, ns, name))
}

/// The text of the first child element `ns`:`name`, trimmed.
pub fn child_text(node: roxmltree::Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    child(node, ns, name).and_then(|c| c.text()).map(|t| t.trim().to_owned())
}
