//! The national login (KAÜ, Központi Azonosítási Ügynök) as a SAML 2.0 identity provider:
//! Web Browser SSO with a signed `AuthnRequest` over HTTP-Redirect and a signed `Response`
//! over HTTP-POST, as described in `platform/kapu-sim/KAU-PROFILE.md`.
//!
//! - `GET /kau/metadata`: the identity provider's metadata (entity ID, signing certificate,
//!   SSO endpoint).
//! - `GET /kau/sso?SAMLRequest=…&SigAlg=…&Signature=…`: reads the request, fetches the service
//!   provider's metadata from its entity ID (a URL), verifies the request's signature with the
//!   certificate found there and shows the login page: pick a test person and a way of
//!   signing in (which sets the assurance level).
//! - `POST /kau/login`: answers the request with a signed response, posted to the service
//!   provider's ACS by a self-submitting form (a button without JavaScript).
//!
//! The login page also offers test variants (not part of KAÜ) that produce responses a
//! service provider must refuse: unsigned, signed with a foreign key, altered after signing,
//! wrapped (an unsigned assertion beside the signed one), for another audience or
//! destination, expired or not yet valid. Its keys are its own, generated at start.
//!
//! The simulator's own controls: `GET /sim/persons` (the test persons, JSON).

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use chrono::{Duration, Utc};
use kapu_saml::idp::{self as saml_idp, ReceivedRequest, ResponseSpec};
use kapu_saml::xml::esc;
use kapu_saml::{KeyPair, SamlError};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Endpoint;
use crate::registry::{TestPerson, test_persons};

/// The port `kapu-sim kau` and `kapu-sim all` use by default.
pub const DEFAULT_PORT: u16 = 8032;

/// Assurance levels (authentication context classes) the simulator asserts.
pub mod assurance {
    /// Low: a password alone.
    pub const LOW: &str = "http://eidas.europa.eu/LoA/low";
    /// Substantial: Ügyfélkapu+ (password and a one-time code).
    pub const SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";
    /// High: eID card or the DÁP mobile app.
    pub const HIGH: &str = "http://eidas.europa.eu/LoA/high";
}

/// The ways of signing in offered on the login page: code, label, assurance level.
pub const METHODS: [(&str, &str, &str); 4] = [
    ("ugyfelkapu_plus", "Ügyfélkapu+ (jelszó és egyszer használatos kód)", assurance::SUBSTANTIAL),
    ("dap", "Digitális Állampolgárság (DÁP) mobilalkalmazás", assurance::HIGH),
    ("eszemelyi", "eSzemélyi (személyazonosító igazolvány chippel)", assurance::HIGH),
    ("jelszo", "Csak jelszó (alacsony szint, teszthez)", assurance::LOW),
];

/// Responses the login page can produce on purpose, which a service provider must refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// A correct response.
    Normal,
    /// No signature at all.
    Unsigned,
    /// Signed with a key that is not the simulator's (its certificate in `KeyInfo`).
    Forged,
    /// Signed, then a name changed.
    Tampered,
    /// An unsigned assertion for another person placed before the signed one.
    Wrapped,
    /// Restricted to another service provider.
    WrongAudience,
    /// Addressed to another endpoint.
    WrongDestination,
    /// Validity ended an hour ago.
    Expired,
    /// Validity starts in an hour.
    NotYetValid,
    /// The person cancelled: a failure status, no assertion.
    Cancelled,
}

impl Variant {
    /// Every variant with its code and label.
    pub const ALL: [(Variant, &'static str, &'static str); 10] = [
        (Variant::Normal, "normal", "Helyes válasz"),
        (Variant::Unsigned, "unsigned", "Aláírás nélkül"),
        (Variant::Forged, "forged", "Idegen kulccsal aláírva"),
        (Variant::Tampered, "tampered", "Aláírás után módosítva"),
        (Variant::Wrapped, "wrapped", "Aláírás-becsomagolás (XML signature wrapping)"),
        (Variant::WrongAudience, "wrong_audience", "Más szolgáltatónak szóló (Audience)"),
        (Variant::WrongDestination, "wrong_destination", "Más címre szóló (Destination)"),
        (Variant::Expired, "expired", "Lejárt"),
        (Variant::NotYetValid, "not_yet_valid", "Még nem érvényes"),
        (Variant::Cancelled, "cancelled", "A felhasználó megszakította"),
    ];
}

/// A test person as KAÜ knows them: the registry's test persons, with an e-mail address.
#[derive(Clone, Debug)]
pub struct KauPerson {
    /// The person.
    pub person: TestPerson,
    /// The e-mail address registered with the national login.
    pub email: String,
    /// The persistent, pseudonymous subject identifier.
    pub name_id: String,
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_lowercase().next().unwrap_or(c) {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' | 'ö' | 'ő' => 'o',
            'ú' | 'ü' | 'ű' => 'u',
            ' ' => '.',
            c => c,
        })
        .collect()
}

/// The persons the simulator can sign in: the registry simulator's test persons.
pub fn kau_persons() -> Vec<KauPerson> {
    test_persons()
        .into_iter()
        .enumerate()
        .map(|(i, p)| KauPerson {
            email: format!("{}.{}@example.hu", ascii(&p.family_name), ascii(&p.given_name)),
            name_id: format!("KAU-SIM-{:04}", i + 1),
            person: p,
        })
        .collect()
}

/// A request waiting on the login page.
struct Pending {
    request: ReceivedRequest,
    relay_state: Option<String>,
    acs_url: String,
}

struct Shared {
    base: String,
    key: KeyPair,
    foreign_key: KeyPair,
    persons: Vec<KauPerson>,
    pending: Mutex<HashMap<String, Pending>>,
    http: reqwest::Client,
}

/// A running KAÜ simulator. Dropping it stops the server.
pub struct KauSim {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Binds 127.0.0.1:`port` (0 = a free port), generates the identity provider's keys and
/// spawns the server on the current tokio runtime.
pub async fn start(port: u16) -> io::Result<KauSim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let keys = tokio::task::spawn_blocking(|| (KeyPair::generate("KAÜ szimulátor"), KeyPair::generate("Támadó")))
        .await
        .map_err(io::Error::other)?;
    let key = keys.0.map_err(io::Error::other)?;
    let foreign_key = keys.1.map_err(io::Error::other)?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(io::Error::other)?;
    let shared = Arc::new(Shared {
        base: format!("http://{addr}"),
        key,
        foreign_key,
        persons: kau_persons(),
        pending: Mutex::new(HashMap::new()),
        http,
    });
    let (shutdown, mut stop) = watch::channel(false);
    let router = router(shared.clone());
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
            tracing::error!(%error, "the KAÜ simulator failed");
        }
    });
    tracing::info!(%addr, "KAÜ simulator listening");
    Ok(KauSim { addr, shared, shutdown, task: Some(task) })
}

impl KauSim {
    /// The base URL, e.g. `http://127.0.0.1:8032`.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    /// The identity provider's entity ID.
    pub fn entity_id(&self) -> String {
        format!("{}/kau/metadata", self.shared.base)
    }

    /// The single sign-on URL (HTTP-Redirect).
    pub fn sso_url(&self) -> String {
        format!("{}/kau/sso", self.shared.base)
    }

    /// The signing certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        let b64 = self.shared.key.certificate_base64();
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    /// The identity provider's metadata.
    pub fn metadata(&self) -> String {
        saml_idp::metadata(&self.entity_id(), &self.sso_url(), &self.shared.key)
    }

    /// The settings a tenant needs to trust this simulator (`kau` in the tenant settings).
    pub fn tenant_settings(&self) -> serde_json::Value {
        serde_json::json!({
            "idp_entity_id": self.entity_id(),
            "idp_sso_url": self.sso_url(),
            "idp_certificate": self.certificate_pem(),
        })
    }

    /// The test persons.
    pub fn persons(&self) -> &[KauPerson] {
        &self.shared.persons
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![Endpoint { simulator: "kau", protocol: "http", addr: self.addr }]
    }

    /// Stops accepting, lets the requests in progress finish and waits for the server.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for KauSim {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/kau/metadata", get(metadata))
        .route("/kau/sso", get(sso))
        .route("/kau/login", post(login))
        .route("/sim/persons", get(persons))
        .with_state(shared)
}

async fn metadata(State(s): State<Arc<Shared>>) -> Response {
    let xml = saml_idp::metadata(&format!("{}/kau/metadata", s.base), &format!("{}/kau/sso", s.base), &s.key);
    ([(header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response()
}

async fn persons(State(s): State<Arc<Shared>>) -> Response {
    let list: Vec<_> =
        s.persons.iter().map(|p| serde_json::json!({ "name_id": p.name_id, "email": p.email, "person": p.person })).collect();
    axum::Json(list).into_response()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="hu"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t} – KAÜ szimulátor</title><style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}header{{border-bottom:4px solid #2b5797;margin-bottom:1rem}}fieldset{{margin:1rem 0;border:1px solid #888}}label{{display:block;margin:.3rem 0}}button{{font-size:1rem;padding:.5rem 1.2rem;background:#2b5797;color:#fff;border:0}}.note{{color:#555;font-size:.9rem}}</style></head><body><header><p><strong>KAÜ szimulátor</strong> – Központi Azonosítási Ügynök (tesztkörnyezet, nem valódi állami szolgáltatás)</p></header><main><h1>{t}</h1>{body}</main></body></html>"#,
        t = esc(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, "Hibás azonosítási kérés", &format!("<p role=\"alert\">{}</p>", esc(message)))
}

fn query_param(raw: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn sp_metadata(s: &Shared, entity_id: &str) -> Result<saml_idp::EntityMetadata, String> {
    if !(entity_id.starts_with("http://") || entity_id.starts_with("https://")) {
        return Err(format!("a szolgáltató azonosítója ({entity_id}) nem URL, így a metaadatai nem kérhetők le"));
    }
    let res = client_for(s, entity_id).get(entity_id).send().await.map_err(|e| format!("a szolgáltató metaadatai nem érhetők el: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("a szolgáltató metaadatai nem érhetők el: HTTP {}", res.status()));
    }
    let xml = res.text().await.map_err(|e| format!("a szolgáltató metaadatai nem olvashatók: {e}"))?;
    let md = saml_idp::read_metadata(&xml).map_err(|e| format!("a szolgáltató metaadatai hibásak: {e}"))?;
    if md.entity_id != entity_id {
        return Err("a szolgáltató metaadataiban más az azonosító".into());
    }
    Ok(md)
}

/// The HTTP client for a URL: `*.localhost` names (as the demo's portals use) go to the
/// loopback address, as browsers send them, whatever the system resolver does with them.
fn client_for(s: &Shared, url: &str) -> reqwest::Client {
    let Ok(parsed) = url::Url::parse(url) else { return s.http.clone() };
    match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) if host.ends_with(".localhost") => reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .resolve(host, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .build()
            .unwrap_or_else(|_| s.http.clone()),
        _ => s.http.clone(),
    }
}

fn random_id() -> String {
    format!("_{}", uuid::Uuid::new_v4().simple())
}

async fn sso(State(s): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let raw = raw.unwrap_or_default();
    let Some(saml_request) = query_param(&raw, "SAMLRequest") else {
        return error_page(StatusCode::BAD_REQUEST, "Hiányzik a SAMLRequest paraméter.");
    };
    let request = match saml_idp::decode_redirect_request(&saml_request) {
        Ok(r) => r,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &format!("A kérés hibás: {e}")),
    };
    let sso_url = format!("{}/kau/sso", s.base);
    if request.destination.as_deref().is_some_and(|d| d != sso_url) {
        return error_page(StatusCode::BAD_REQUEST, "A kérés címzettje (Destination) nem ez az azonosító szolgáltatás.");
    }
    if request.issue_instant.is_some_and(|t| (Utc::now() - t).abs() > Duration::minutes(10)) {
        return error_page(StatusCode::BAD_REQUEST, "A kérés túl régi vagy a jövőben kelt (IssueInstant).");
    }
    let md = match sp_metadata(&s, &request.issuer).await {
        Ok(md) => md,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    match saml_idp::verify_redirect_signature(&raw, &md.certificate_der) {
        Ok(()) => {}
        Err(SamlError::Unsigned) => return error_page(StatusCode::BAD_REQUEST, "A kérés nincs aláírva; a KAÜ csak aláírt kérést fogad."),
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "A kérés aláírása nem egyezik a szolgáltató tanúsítványával."),
    }
    let Some(acs_url) = md.acs_url.clone() else {
        return error_page(StatusCode::BAD_REQUEST, "A szolgáltató metaadataiban nincs HTTP-POST visszatérési cím.");
    };
    if request.acs_url.as_deref().is_some_and(|a| a != acs_url) {
        return error_page(StatusCode::BAD_REQUEST, "A kért visszatérési cím nem szerepel a szolgáltató metaadataiban.");
    }
    let sp_name = md.service_name.clone().unwrap_or_else(|| request.issuer.clone());
    let ticket = uuid::Uuid::new_v4().simple().to_string();
    let requested = request.authn_context.clone().unwrap_or_default();
    if let Ok(mut pending) = s.pending.lock() {
        if pending.len() > 10_000 {
            pending.clear();
        }
        pending.insert(ticket.clone(), Pending { request, relay_state: query_param(&raw, "RelayState"), acs_url });
    }
    let persons: String = s
        .persons
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let q = &p.person;
            format!(
                r#"<label><input type="radio" name="person" value="{i}"{checked}> {fam} {giv} <span class="note">(szül. {bn}, {place}, {date}; anyja neve: {mother})</span></label>"#,
                checked = if i == 0 { " checked" } else { "" },
                fam = esc(&q.family_name),
                giv = esc(&q.given_name),
                bn = esc(&q.birth_name),
                place = esc(&q.birth_place),
                date = q.birth_date,
                mother = esc(&q.mother_name),
            )
        })
        .collect();
    let methods: String = METHODS
        .iter()
        .enumerate()
        .map(|(i, (code, label, _))| {
            format!(
                r#"<label><input type="radio" name="method" value="{code}"{}> {}</label>"#,
                if i == 0 { " checked" } else { "" },
                esc(label)
            )
        })
        .collect();
    let variants: String =
        Variant::ALL.iter().map(|(_, code, label)| format!(r#"<option value="{code}">{}</option>"#, esc(label))).collect();
    let body = format!(
        r#"<p>A(z) <strong>{sp}</strong> szolgáltatás azonosítást kér (legalább: <code>{req}</code>).</p><form method="post" action="/kau/login"><input type="hidden" name="ticket" value="{ticket}"><fieldset><legend>Tesztszemély</legend>{persons}</fieldset><fieldset><legend>Azonosítási mód</legend>{methods}</fieldset><details><summary>Tesztváltozat (a szolgáltató hibakezelésének próbájához)</summary><label for="variant">Válasz</label><select id="variant" name="variant">{variants}</select></details><p><button type="submit">Belépés</button></p></form>"#,
        sp = esc(&sp_name),
        req = esc(&requested),
    );
    page(StatusCode::OK, "Azonosítás", &body)
}

#[derive(Deserialize)]
struct LoginForm {
    ticket: String,
    person: Option<usize>,
    method: Option<String>,
    variant: Option<Variant>,
}

async fn login(State(s): State<Arc<Shared>>, Form(f): Form<LoginForm>) -> Response {
    let pending = s.pending.lock().ok().and_then(|mut p| p.remove(&f.ticket));
    let Some(p) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Ez az azonosítási kérés már lezárult vagy ismeretlen; kezdje újra a szolgáltató oldalán.",
        );
    };
    let Some(person) = f.person.and_then(|i| s.persons.get(i)).cloned() else {
        return error_page(StatusCode::BAD_REQUEST, "Válasszon tesztszemélyt.");
    };
    let method = f.method.as_deref().unwrap_or("ugyfelkapu_plus");
    let Some((_, _, level)) = METHODS.iter().find(|(c, _, _)| *c == method) else {
        return error_page(StatusCode::BAD_REQUEST, "Ismeretlen azonosítási mód.");
    };
    let variant = f.variant.unwrap_or(Variant::Normal);
    let s2 = s.clone();
    let level = (*level).to_owned();
    let acs = p.acs_url.clone();
    let built = tokio::task::spawn_blocking(move || build_response(&s2, &p, &person, &level, variant)).await;
    let xml = match built {
        Ok(Ok(xml)) => xml,
        Ok(Err(e)) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("A válasz nem készült el: {e}")),
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("A válasz nem készült el: {e}")),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml.0.as_bytes());
    let relay = xml.1.map(|r| format!(r#"<input type="hidden" name="RelayState" value="{}">"#, esc(&r))).unwrap_or_default();
    let body = format!(
        r#"<p>Sikeres azonosítás. Visszairányítjuk a szolgáltatóhoz…</p><form id="saml" method="post" action="{acs}"><input type="hidden" name="SAMLResponse" value="{encoded}">{relay}<button type="submit">Tovább a szolgáltatóhoz</button></form><script>document.getElementById('saml').submit();</script>"#,
        acs = esc(&acs),
    );
    page(StatusCode::OK, "Visszatérés a szolgáltatóhoz", &body)
}

/// Builds the response XML for a pending request; returns it with the relay state.
fn build_response(
    s: &Shared,
    p: &Pending,
    person: &KauPerson,
    level: &str,
    variant: Variant,
) -> Result<(String, Option<String>), SamlError> {
    let now = Utc::now();
    let q = &person.person;
    let attributes = vec![
        ("viseltNev".to_owned(), format!("{} {}", q.family_name, q.given_name)),
        ("szuletesiNev".to_owned(), q.birth_name.clone()),
        ("anyjaNeve".to_owned(), q.mother_name.clone()),
        ("szuletesiHely".to_owned(), q.birth_place.clone()),
        ("szuletesiIdo".to_owned(), q.birth_date.format("%Y-%m-%d").to_string()),
        ("emailAddress".to_owned(), person.email.clone()),
    ];
    let mut spec = ResponseSpec {
        issuer: format!("{}/kau/metadata", s.base),
        destination: p.acs_url.clone(),
        recipient: p.acs_url.clone(),
        audience: p.request.issuer.clone(),
        in_response_to: p.request.id.clone(),
        name_id: person.name_id.clone(),
        authn_context: level.to_owned(),
        attributes,
        issued_at: now,
        not_before: now - Duration::seconds(30),
        not_on_or_after: now + Duration::minutes(5),
        response_id: random_id(),
        assertion_id: random_id(),
    };
    let xml = match variant {
        Variant::Normal => saml_idp::signed_response(&spec, &s.key)?,
        Variant::Unsigned => saml_idp::response_xml(&spec, &saml_idp::assertion_xml(&spec, None), None),
        Variant::Forged => saml_idp::signed_response(&spec, &s.foreign_key)?,
        Variant::Tampered => {
            let signed = saml_idp::signed_response(&spec, &s.key)?;
            signed.replace(&q.mother_name, "Hamis Anna")
        }
        Variant::Wrapped => {
            let evil = ResponseSpec {
                assertion_id: random_id(),
                name_id: "KAU-SIM-9999".into(),
                attributes: spec
                    .attributes
                    .iter()
                    .map(|(n, v)| (n.clone(), if n == "viseltNev" { "Támadó Tamás".into() } else { v.clone() }))
                    .collect(),
                ..spec.clone()
            };
            let signed = saml_idp::sign(&saml_idp::assertion_xml(&spec, Some(&s.key)), &s.key)?;
            saml_idp::response_xml(&spec, &format!("{}{}", saml_idp::assertion_xml(&evil, None), signed), None)
        }
        Variant::WrongAudience => {
            spec.audience = "https://masik-szolgaltato.example/metadata".into();
            saml_idp::signed_response(&spec, &s.key)?
        }
        Variant::WrongDestination => {
            spec.destination = "https://masik-szolgaltato.example/acs".into();
            spec.recipient = spec.destination.clone();
            saml_idp::signed_response(&spec, &s.key)?
        }
        Variant::Expired => {
            spec.issued_at = now - Duration::hours(1);
            spec.not_before = spec.issued_at;
            spec.not_on_or_after = spec.issued_at + Duration::minutes(5);
            saml_idp::signed_response(&spec, &s.key)?
        }
        Variant::NotYetValid => {
            spec.not_before = now + Duration::hours(1);
            spec.not_on_or_after = spec.not_before + Duration::minutes(5);
            saml_idp::signed_response(&spec, &s.key)?
        }
        Variant::Cancelled => saml_idp::failed_response(&spec, "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", &s.key)?,
    };
    Ok((xml, p.relay_state.clone()))
}
