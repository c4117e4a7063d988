//! DMS One, the records management system, as the SOAP 1.1 service in
//! `plugins/dmsone/PROTOCOL.md`: registration (érkeztetés), filing (iktatás) under main
//! numbers and sub-numbers, issuing (kiadmányozás) and file status, with WS-Security
//! UsernameToken authentication and SOAP faults, in memory.

#![allow(clippy::result_large_err, reason = "handlers return the vendor's error response early, as `Err`")]

use std::io;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use chrono::Datelike;
use quick_xml::escape::escape;

use crate::vendor::{Received, Served};

/// The port `kapu-sim dmsone` uses by default.
pub const DEFAULT_PORT: u16 = 8042;
/// The user name it accepts by default.
pub const DEFAULT_USERNAME: &str = "kapu-hegyvidek";
/// The password it accepts by default.
pub const DEFAULT_PASSWORD: &str = "kapu-demo-dmsone-jelszo";
/// The endpoint's path.
pub const PATH: &str = "/dmsone/services/IktatoService";
/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The service's namespace.
pub const DMS_NS: &str = "http://dmsone.hu/iktato/v3";
/// WS-Security namespace.
pub const WSSE_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

const WSDL: &str = include_str!("dmsone.wsdl");

/// A document the simulator holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Arrival number for incoming documents; `None` for issued ones.
    pub arrival_number: Option<String>,
    /// File number once filed.
    pub file_number: Option<String>,
    /// Subject.
    pub subject: String,
    /// Partner (incoming) or signer (issued).
    pub partner: String,
    /// File name.
    pub file_name: String,
    /// Media type.
    pub media_type: String,
    /// Content.
    pub content: Vec<u8>,
}

#[derive(Default)]
struct Books {
    documents: Vec<Document>,
    /// Per main number (index + 1): the count of sub-numbers and the state.
    files: Vec<(u32, &'static str)>,
    arrivals: u32,
}

struct Shared {
    username: String,
    password: String,
    books: Mutex<Books>,
}

/// A running DMS One simulator.
pub struct DmsOneSim {
    served: Served,
    shared: Arc<Shared>,
}

/// Starts the simulator on 127.0.0.1:`port` (0 picks a free port) with these credentials.
pub async fn start(port: u16, username: &str, password: &str) -> io::Result<DmsOneSim> {
    let shared = Arc::new(Shared { username: username.to_owned(), password: password.to_owned(), books: Mutex::default() });
    let router = Router::new().route(PATH, post(endpoint).get(wsdl)).with_state(shared.clone());
    let served = Served::start("dmsone", port, router, outage).await?;
    Ok(DmsOneSim { served, shared })
}

impl DmsOneSim {
    /// The base URL.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The user name and password it accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.shared.username, &self.shared.password)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<crate::Endpoint> {
        self.served.endpoints()
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.served.received()
    }

    /// Makes the next `count` requests fail with `status` and a server fault.
    pub fn outage(&self, status: u16, count: usize) {
        self.served.outage(status, count);
    }

    /// The documents held, in the order they arrived or were issued.
    pub fn documents(&self) -> Vec<Document> {
        self.shared.books.lock().unwrap_or_else(|p| p.into_inner()).documents.clone()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

async fn wsdl(RawQuery(q): RawQuery) -> Response {
    if q.as_deref().is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
        return ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], WSDL).into_response();
    }
    fault(StatusCode::METHOD_NOT_ALLOWED, "Client", "HIBAS_KERES", "A szolgáltatás SOAP kéréseket POST-tal fogad; a WSDL: ?wsdl")
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:dms=\"{DMS_NS}\"><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

fn xml(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], text).into_response()
}

/// A SOAP 1.1 fault (`Client` or `Server`) with DMS One's code, as HTTP `status`.
fn fault(status: StatusCode, who: &str, code: &str, message: &str) -> Response {
    let message = escape(message);
    xml(
        status,
        envelope(&format!(
            "<soap:Fault><faultcode>soap:{who}</faultcode><faultstring>{message}</faultstring><detail><dms:Hiba><dms:Kod>{code}</dms:Kod><dms:Uzenet>{message}</dms:Uzenet></dms:Hiba></detail></soap:Fault>"
        )),
    )
}

fn client(code: &str, message: impl AsRef<str>) -> Response {
    fault(StatusCode::INTERNAL_SERVER_ERROR, "Client", code, message.as_ref())
}

fn outage(status: StatusCode) -> Response {
    fault(status, "Server", "SZOLGALTATAS_NEM_ELERHETO", "A DMS One szolgáltatás átmenetileg nem érhető el.")
}

fn response(operation: &str, fields: &[(&str, String)]) -> Response {
    let inner: String = fields.iter().map(|(n, v)| format!("<dms:{n}>{}</dms:{n}>", escape(v.as_str()))).collect();
    xml(StatusCode::OK, envelope(&format!("<dms:{operation}Response>{inner}</dms:{operation}Response>")))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns))
}

/// A required, non-empty text element of the service's namespace.
fn text(node: roxmltree::Node, name: &str) -> Result<String, Response> {
    match child(node, DMS_NS, name).and_then(|n| n.text()).map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => Err(client("HIBAS_KERES", format!("Hiányzó vagy üres elem: dms:{name}"))),
    }
}

fn optional_text(node: roxmltree::Node, name: &str) -> Option<String> {
    child(node, DMS_NS, name).and_then(|n| n.text()).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn document(node: roxmltree::Node, subject: String, partner: String) -> Result<Document, Response> {
    let d = child(node, DMS_NS, "Dokumentum").ok_or_else(|| client("HIBAS_KERES", "Hiányzó elem: dms:Dokumentum"))?;
    let b64: String = text(d, "Tartalom")?.split_whitespace().collect();
    let content =
        base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| client("HIBAS_KERES", "A dms:Tartalom nem érvényes base64."))?;
    Ok(Document {
        arrival_number: None,
        file_number: None,
        subject,
        partner,
        file_name: text(d, "FajlNev")?,
        media_type: text(d, "MimeTipus")?,
        content,
    })
}

/// The main number's index and year of a main number (`XII/17/2026`) or file number
/// (`XII/17-1/2026`).
fn main_number(number: &str) -> Option<(u32, i32)> {
    let mut parts = number.trim().split('/');
    let (Some("XII"), Some(main), Some(year), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let main = main.split_once('-').map_or(main, |(m, _)| m);
    Some((main.parse().ok()?, year.parse().ok()?))
}

async fn endpoint(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return client("HIBAS_KERES", "A kérés nem UTF-8.");
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => return client("HIBAS_KERES", format!("A kérés nem jól formált XML: {e}")),
    };
    let env = doc.root_element();
    if env.tag_name().name() != "Envelope" || env.tag_name().namespace() != Some(SOAP_NS) {
        return client("HIBAS_KERES", "A kérés nem SOAP 1.1 boríték.");
    }
    let token = child(env, SOAP_NS, "Header")
        .and_then(|h| child(h, WSSE_NS, "Security"))
        .and_then(|s| child(s, WSSE_NS, "UsernameToken"))
        .map(|t| {
            let get = |n: &str| child(t, WSSE_NS, n).and_then(|e| e.text()).unwrap_or_default().to_owned();
            (get("Username"), get("Password"))
        });
    match token {
        Some((u, p)) if u == shared.username && p == shared.password => {}
        _ => return client("HITELESITES", "Hiányzó vagy hibás WS-Security UsernameToken."),
    }
    let Some(op) = child(env, SOAP_NS, "Body").and_then(|b| b.children().find(|n| n.is_element())) else {
        return client("HIBAS_KERES", "Üres soap:Body.");
    };
    let name = op.tag_name().name().strip_suffix("Request").unwrap_or_default();
    if op.tag_name().namespace() != Some(DMS_NS) || !["Erkeztetes", "Iktatas", "Kiadmanyozas", "UgyiratAllapot"].contains(&name) {
        return client("HIBAS_KERES", format!("Ismeretlen művelet: {}", op.tag_name().name()));
    }
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or_default().trim_matches('"');
    if action != format!("{DMS_NS}/{name}") {
        return client("HIBAS_KERES", format!("A SOAPAction fejléc ({action:?}) nem a(z) {name} műveletet nevezi meg."));
    }
    let result = match name {
        "Erkeztetes" => register(&shared, op),
        "Iktatas" => file(&shared, op),
        "Kiadmanyozas" => issue(&shared, op),
        _ => status(&shared, op),
    };
    result.unwrap_or_else(|e| e)
}

fn books(shared: &Shared) -> std::sync::MutexGuard<'_, Books> {
    shared.books.lock().unwrap_or_else(|p| p.into_inner())
}

fn year() -> i32 {
    chrono::Utc::now().year()
}

fn register(shared: &Shared, op: roxmltree::Node) -> Result<Response, Response> {
    let mut d = document(op, text(op, "Targy")?, text(op, "Partner")?)?;
    let mut b = books(shared);
    b.arrivals += 1;
    let number = format!("E-XII/{}/{:06}", year(), b.arrivals);
    d.arrival_number = Some(number.clone());
    b.documents.push(d);
    Ok(response("Erkeztetes", &[("Erkeztetoszam", number)]))
}

fn file(shared: &Shared, op: roxmltree::Node) -> Result<Response, Response> {
    let arrival = text(op, "Erkeztetoszam")?;
    let main = optional_text(op, "Foszam");
    let mut b = books(shared);
    let b = &mut *b;
    let Some(i) = b.documents.iter().position(|d| d.arrival_number.as_deref() == Some(arrival.as_str())) else {
        return Err(client("ISMERETLEN_ERKEZTETOSZAM", format!("Ismeretlen érkeztetőszám: {arrival}")));
    };
    if let Some(f) = &b.documents[i].file_number {
        return Err(client("MAR_IKTATVA", format!("A(z) {arrival} dokumentumot már iktatták: {f}")));
    }
    let (main, year, sub) = match main {
        None => {
            b.files.push((1, "iktatva"));
            (b.files.len() as u32, year(), 1)
        }
        Some(m) => {
            let Some((n, y)) = main_number(&m).filter(|(n, _)| *n >= 1 && (*n as usize) <= b.files.len()) else {
                return Err(client("ISMERETLEN_IKTATOSZAM", format!("Ismeretlen főszám: {m}")));
            };
            let f = &mut b.files[n as usize - 1];
            f.0 += 1;
            (n, y, f.0)
        }
    };
    let number = format!("XII/{main}-{sub}/{year}");
    b.documents[i].file_number = Some(number.clone());
    Ok(response("Iktatas", &[("Iktatoszam", number)]))
}

fn issue(shared: &Shared, op: roxmltree::Node) -> Result<Response, Response> {
    let file_number = text(op, "Iktatoszam")?;
    let signer = text(op, "Kiadmanyozo")?;
    let mut d = document(op, String::new(), signer)?;
    let mut b = books(shared);
    let Some((n, y)) = main_number(&file_number).filter(|(n, _)| *n >= 1 && (*n as usize) <= b.files.len()) else {
        return Err(client("ISMERETLEN_IKTATOSZAM", format!("Ismeretlen iktatószám: {file_number}")));
    };
    let f = &mut b.files[n as usize - 1];
    f.0 += 1;
    f.1 = "kiadmanyozva";
    let number = format!("XII/{n}-{}/{y}", f.0);
    d.subject = format!("Kiadmány ({file_number})");
    d.file_number = Some(number.clone());
    b.documents.push(d);
    Ok(response("Kiadmanyozas", &[("Iktatoszam", number)]))
}

fn status(shared: &Shared, op: roxmltree::Node) -> Result<Response, Response> {
    let file_number = text(op, "Iktatoszam")?;
    let b = books(shared);
    let Some((n, y)) = main_number(&file_number).filter(|(n, _)| *n >= 1 && (*n as usize) <= b.files.len()) else {
        return Err(client("ISMERETLEN_IKTATOSZAM", format!("Ismeretlen iktatószám: {file_number}")));
    };
    let (subs, state) = b.files[n as usize - 1];
    Ok(response(
        "UgyiratAllapot",
        &[("Iktatoszam", format!("XII/{n}/{y}")), ("Allapot", state.to_owned()), ("AlszamokSzama", subs.to_string())],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_numbers_come_from_main_or_file_numbers() {
        assert_eq!(main_number("XII/17/2026"), Some((17, 2026)));
        assert_eq!(main_number("XII/17-3/2026"), Some((17, 2026)));
        assert_eq!(main_number("XI/17/2026"), None);
        assert_eq!(main_number("XII/x/2026"), None);
        assert_eq!(main_number("XII/17/2026/1"), None);
    }
}
