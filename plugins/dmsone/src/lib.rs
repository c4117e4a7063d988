//! The DMS One plugin: records management over DMS One's SOAP 1.1 IktatoService
//! (`PROTOCOL.md`): registration, filing, issuing and file status, with a WS-Security
//! UsernameToken and SOAP faults mapped to the contract's errors.

use base64::Engine;
use kapu_plugin_sdk::config;
use kapu_plugin_sdk::http::Request;
use kapu_plugin_sdk::records::*;
use quick_xml::escape::escape;

/// The plugin.
pub struct DmsOne;

const PATH: &str = "/dmsone/services/IktatoService";
const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const DMS_NS: &str = "http://dmsone.hu/iktato/v3";
const WSSE_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

/// An element of the service's namespace with escaped text.
fn el(name: &str, text: &str) -> String {
    format!("<dms:{name}>{}</dms:{name}>", escape(text))
}

fn document(d: &Document) -> Result<String, PluginError> {
    if d.file_name.trim().is_empty() || d.media_type.trim().is_empty() {
        return Err(PluginError::InvalidInput("a document needs a file name and a media type".into()));
    }
    if d.content.is_empty() {
        return Err(PluginError::InvalidInput("the document is empty".into()));
    }
    Ok(format!(
        "<dms:Dokumentum>{}{}{}</dms:Dokumentum>",
        el("FajlNev", &d.file_name),
        el("MimeTipus", &d.media_type),
        el("Tartalom", &base64::engine::general_purpose::STANDARD.encode(&d.content))
    ))
}

fn required(name: &str, value: &str) -> Result<(), PluginError> {
    if value.trim().is_empty() {
        return Err(PluginError::InvalidInput(format!("{name} is empty")));
    }
    Ok(())
}

/// Calls `operation` with the request element's inner XML and returns the response element's
/// child texts by local name.
fn call(operation: &str, inner: &str) -> Result<Vec<(String, String)>, PluginError> {
    let base = config::require("base-url")?;
    let user = config::require("username")?;
    let password = config::require_secret("password")?;
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:dms=\"{DMS_NS}\">\
         <soap:Header><wsse:Security xmlns:wsse=\"{WSSE_NS}\"><wsse:UsernameToken>\
         <wsse:Username>{}</wsse:Username><wsse:Password Type=\"{PASSWORD_TEXT}\">{}</wsse:Password>\
         </wsse:UsernameToken></wsse:Security></soap:Header>\
         <soap:Body><dms:{operation}Request>{inner}</dms:{operation}Request></soap:Body></soap:Envelope>",
        escape(user.as_str()),
        escape(password.as_str()),
    );
    let r = Request::post(format!("{}{PATH}", base.trim_end_matches('/')))
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", format!("\"{DMS_NS}/{operation}\""))
        .body(envelope.into_bytes())
        .send()?;
    let text = std::str::from_utf8(&r.body).map_err(|_| PluginError::Protocol(format!("DMS One answered {} in no UTF-8", r.status)));
    let doc = text.and_then(|t| {
        roxmltree::Document::parse(t).map_err(|e| PluginError::Protocol(format!("DMS One answered {} with no readable XML: {e}", r.status)))
    });
    let doc = match doc {
        Ok(d) => d,
        // A proxy or server page instead of a SOAP answer: down if 5xx, else unreadable.
        Err(e) if r.status >= 500 => return Err(PluginError::Unavailable(format!("DMS One failed ({}): {e:?}", r.status))),
        Err(e) => return Err(e),
    };
    let body = element(doc.root_element(), SOAP_NS, "Body")
        .ok_or_else(|| PluginError::Protocol(format!("DMS One answered {} without a SOAP body", r.status)))?;
    if let Some(fault) = element(body, SOAP_NS, "Fault") {
        return Err(from_fault(fault));
    }
    if !(200..300).contains(&r.status) {
        return Err(PluginError::Protocol(format!("DMS One answered {} without a fault", r.status)));
    }
    let response = element(body, DMS_NS, &format!("{operation}Response"))
        .ok_or_else(|| PluginError::Protocol(format!("DMS One's answer has no dms:{operation}Response")))?;
    Ok(response
        .children()
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().name().to_owned(), n.text().unwrap_or_default().trim().to_owned()))
        .collect())
}

fn element<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns))
}

fn from_fault(fault: roxmltree::Node) -> PluginError {
    let plain = |name: &str| {
        fault.children().find(|n| n.is_element() && n.tag_name().name() == name).and_then(|n| n.text()).unwrap_or_default().trim()
    };
    let (code, string) = (plain("faultcode"), plain("faultstring"));
    let kod = fault
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Kod" && n.tag_name().namespace() == Some(DMS_NS))
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim();
    let said = format!("{kod}: {string}");
    match (code.rsplit(':').next().unwrap_or(code), kod) {
        (_, "HITELESITES") => PluginError::Config(format!("DMS One refused the user name or password ({said})")),
        ("Client", _) => PluginError::Rejected(format!("DMS One refused the request ({said})")),
        ("Server", _) => PluginError::Unavailable(format!("DMS One failed ({said})")),
        (other, _) => PluginError::Protocol(format!("DMS One answered an unknown fault code {other:?} ({said})")),
    }
}

fn field(fields: &[(String, String)], name: &str) -> Result<String, PluginError> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PluginError::Protocol(format!("DMS One's answer has no dms:{name}")))
}

impl Records for DmsOne {
    fn register_incoming(document: Document) -> Result<Registration, PluginError> {
        required("subject", &document.subject)?;
        required("partner", &document.partner)?;
        let inner = format!("{}{}{}", el("Targy", &document.subject), el("Partner", &document.partner), self::document(&document)?);
        let fields = call("Erkeztetes", &inner)?;
        Ok(Registration { arrival_number: field(&fields, "Erkeztetoszam")? })
    }

    fn file(arrival_number: String, main_number: Option<String>) -> Result<Filing, PluginError> {
        required("arrival-number", &arrival_number)?;
        let mut inner = el("Erkeztetoszam", &arrival_number);
        if let Some(m) = main_number.filter(|m| !m.trim().is_empty()) {
            inner.push_str(&el("Foszam", &m));
        }
        Ok(Filing { file_number: field(&call("Iktatas", &inner)?, "Iktatoszam")? })
    }

    fn issue(file_number: String, document: Document, signer: String) -> Result<Filing, PluginError> {
        required("file-number", &file_number)?;
        required("signer", &signer)?;
        let inner = format!("{}{}{}", el("Iktatoszam", &file_number), self::document(&document)?, el("Kiadmanyozo", &signer));
        Ok(Filing { file_number: field(&call("Kiadmanyozas", &inner)?, "Iktatoszam")? })
    }

    fn status(file_number: String) -> Result<FileStatus, PluginError> {
        required("file-number", &file_number)?;
        let fields = call("UgyiratAllapot", &el("Iktatoszam", &file_number))?;
        let documents =
            field(&fields, "AlszamokSzama")?.parse().map_err(|_| PluginError::Protocol("dms:AlszamokSzama is not a number".into()))?;
        Ok(FileStatus { file_number: field(&fields, "Iktatoszam")?, state: field(&fields, "Allapot")?, documents })
    }
}

kapu_plugin_sdk::export!(DmsOne);
