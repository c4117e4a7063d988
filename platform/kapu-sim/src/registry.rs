//! The central personal data and address registry (SZL, személyi adat- és lakcímnyilvántartás)
//! identity check, as a JSON API over HTTP.
//!
//! The real service's protocol is not public; this simulator speaks the protocol described in
//! `platform/kapu-sim/REGISTRY-PROTOCOL.md`, which the Kapu client is written against:
//! - `POST /szl/v1/szemelyazonosito-ellenorzes` with `Authorization: Bearer <key>` and a JSON
//!   body of personal data and a document: the person is looked up by the document (type and
//!   number) and the answer says whether every given field matches (`egyezik`), which ones differ
//!   (`elter`), or that no person has that document (`nincs_talalat`).
//!
//! - `POST /szl/v1/lakcim-ellenorzes` (address check) and `POST /kekkh/v1/jarmu-lekerdezes`
//!   (vehicle registry), as `plugins/registry/PROTOCOL.md` specifies.
//!
//! It holds the fixed set of persons [`test_persons`], addresses [`test_addresses`] and
//! vehicles [`test_vehicles`], and knows nothing else.
//!
//! The simulator's own controls (not part of the service, no key needed):
//! - `GET /sim/queries`: `{"queries": n}`, the checks answered with 200 so far.
//! - `GET /sim/persons`: the test persons as a JSON list of [`TestPerson`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::Endpoint;

/// The port `kapu-sim registry` and `kapu-sim all` use by default.
pub const DEFAULT_PORT: u16 = 8031;
/// The API key `kapu-sim registry` and `kapu-sim all` accept by default.
pub const DEFAULT_API_KEY: &str = "kapu-demo-szl-key";
/// The path of the identity check.
pub const CHECK_PATH: &str = "/szl/v1/szemelyazonosito-ellenorzes";
/// The path of the address check (SZL address registry).
pub const ADDRESS_PATH: &str = "/szl/v1/lakcim-ellenorzes";
/// The path of the vehicle query (KEKKH vehicle registry).
pub const VEHICLE_PATH: &str = "/kekkh/v1/jarmu-lekerdezes";
/// The largest accepted request body in bytes; larger ones get 413.
pub const MAX_BODY_SIZE: usize = 64 * 1024;

/// A kind of identity document, with its protocol code (`okmany.tipus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DocumentKind {
    /// Identity card, `szemelyi_igazolvany`.
    #[serde(rename = "szemelyi_igazolvany")]
    IdentityCard,
    /// Passport, `utlevel`.
    #[serde(rename = "utlevel")]
    Passport,
    /// Driving licence, `vezetoi_engedely`.
    #[serde(rename = "vezetoi_engedely")]
    DrivingLicence,
}

impl DocumentKind {
    /// Every kind, in protocol order.
    pub const ALL: [DocumentKind; 3] = [DocumentKind::IdentityCard, DocumentKind::Passport, DocumentKind::DrivingLicence];

    /// The protocol code, e.g. `szemelyi_igazolvany`.
    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::IdentityCard => "szemelyi_igazolvany",
            DocumentKind::Passport => "utlevel",
            DocumentKind::DrivingLicence => "vezetoi_engedely",
        }
    }

    /// The kind with this protocol code, if any (exact match).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An identity document of a test person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestDocument {
    /// The kind of document (`okmany.tipus`).
    pub kind: DocumentKind,
    /// The document number (`okmany.szam`), e.g. `123456AB`.
    pub number: String,
    /// The last day the document is valid; after it the check reports `okmany_ervenyesseg`.
    pub valid_until: NaiveDate,
}

/// An address of a test person (`lakcim`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestAddress {
    /// Postcode (`iranyitoszam`), e.g. `1126`.
    pub postcode: String,
    /// Settlement (`telepules`), e.g. `Budapest`.
    pub city: String,
    /// Public place name, type and house number (`kozterulet`), e.g. `Böszörményi út 23-25.`.
    pub street: String,
}

impl fmt::Display for TestAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}, {}", self.postcode, self.city, self.street)
    }
}

/// A person the simulated registry knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestPerson {
    /// Family name (`csaladi_nev`).
    pub family_name: String,
    /// Given name(s) (`utonev`).
    pub given_name: String,
    /// Full birth name (`szuletesi_nev`), family name first.
    pub birth_name: String,
    /// Mother's full birth name (`anyja_neve`).
    pub mother_name: String,
    /// Place of birth (`szuletesi_hely`).
    pub birth_place: String,
    /// Date of birth (`szuletesi_ido`).
    pub birth_date: NaiveDate,
    /// The person's documents; the check finds the person by one of them.
    pub documents: Vec<TestDocument>,
    /// Permanent address (lakóhely), if registered.
    pub permanent_address: Option<TestAddress>,
    /// Temporary address (tartózkodási hely), if registered. A given `lakcim` matches if it
    /// equals either address.
    pub temporary_address: Option<TestAddress>,
}

impl fmt::Display for TestPerson {
    /// One line for a demo, e.g. `Minta Márta (born Minta Márta, 1980-05-17 Budapest, mother
    /// Kovács Ilona); szemelyi_igazolvany 123456AB valid until 2031-01-01; permanent address
    /// 1126 Budapest, Böszörményi út 23-25.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (born {}, {} {}, mother {})",
            self.family_name, self.given_name, self.birth_name, self.birth_date, self.birth_place, self.mother_name
        )?;
        for document in &self.documents {
            write!(f, "; {} {} valid until {}", document.kind, document.number, document.valid_until)?;
        }
        if let Some(address) = &self.permanent_address {
            write!(f, "; permanent address {address}")?;
        }
        if let Some(address) = &self.temporary_address {
            write!(f, "; temporary address {address}")?;
        }
        Ok(())
    }
}

/// A date known to be valid at compile time (used in `const` blocks only).
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date"),
    }
}

fn document(kind: DocumentKind, number: &str, valid_until: NaiveDate) -> TestDocument {
    TestDocument { kind, number: number.to_owned(), valid_until }
}

fn address(postcode: &str, city: &str, street: &str) -> TestAddress {
    TestAddress { postcode: postcode.to_owned(), city: city.to_owned(), street: street.to_owned() }
}

/// The persons the simulated registry knows (fictitious, with realistic data):
/// - Minta Márta: everything valid.
/// - Próba Péter: his identity card expired on 2020-06-30.
/// - Nagy Zsófia Anna: married name differs from her birth name; identity card and passport.
/// - Horváth Gábor: a temporary address only; identity card and driving licence.
/// - Szűcs Ödön: accented names (`Szucs Odon` does not match).
/// - Kovács János: a passport only.
pub fn test_persons() -> Vec<TestPerson> {
    use DocumentKind::{DrivingLicence, IdentityCard, Passport};
    let person = |family: &str, given: &str, birth: &str, mother: &str, place: &str, born: NaiveDate| TestPerson {
        family_name: family.to_owned(),
        given_name: given.to_owned(),
        birth_name: birth.to_owned(),
        mother_name: mother.to_owned(),
        birth_place: place.to_owned(),
        birth_date: born,
        documents: Vec::new(),
        permanent_address: None,
        temporary_address: None,
    };
    vec![
        TestPerson {
            documents: vec![document(IdentityCard, "123456AB", const { ymd(2031, 1, 1) })],
            permanent_address: Some(address("1126", "Budapest", "Böszörményi út 23-25.")),
            ..person("Minta", "Márta", "Minta Márta", "Kovács Ilona", "Budapest", const { ymd(1980, 5, 17) })
        },
        TestPerson {
            documents: vec![document(IdentityCard, "654321CD", const { ymd(2020, 6, 30) })],
            permanent_address: Some(address("4025", "Debrecen", "Piac utca 1.")),
            ..person("Próba", "Péter", "Próba Péter", "Szabó Erzsébet", "Debrecen", const { ymd(1975, 11, 2) })
        },
        TestPerson {
            documents: vec![
                document(IdentityCard, "234567EF", const { ymd(2029, 8, 15) }),
                document(Passport, "BE1234567", const { ymd(2032, 4, 30) }),
            ],
            permanent_address: Some(address("6720", "Szeged", "Kárász utca 6.")),
            ..person("Nagy", "Zsófia Anna", "Kovács Zsófia Anna", "Tóth Katalin", "Szeged", const { ymd(1988, 3, 9) })
        },
        TestPerson {
            documents: vec![
                document(IdentityCard, "345678GH", const { ymd(2030, 12, 24) }),
                document(DrivingLicence, "PA123456", const { ymd(2033, 2, 28) }),
            ],
            temporary_address: Some(address("7621", "Pécs", "Király utca 15. 2. em. 4.")),
            ..person("Horváth", "Gábor", "Horváth Gábor", "Fekete Mária", "Pécs", const { ymd(1992, 12, 24) })
        },
        TestPerson {
            documents: vec![document(IdentityCard, "456789IJ", const { ymd(2028, 1, 15) })],
            permanent_address: Some(address("9021", "Győr", "Baross Gábor út 12.")),
            ..person("Szűcs", "Ödön", "Szűcs Ödön", "Varga Irén", "Győr", const { ymd(1963, 7, 1) })
        },
        TestPerson {
            documents: vec![document(Passport, "BA7654321", const { ymd(2030, 10, 10) })],
            permanent_address: Some(address("3525", "Miskolc", "Széchenyi István út 40.")),
            ..person("Kovács", "János", "Kovács János", "Balogh Erzsébet", "Miskolc", const { ymd(2001, 1, 31) })
        },
    ]
}

/// A vehicle the simulated vehicle registry knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestVehicle {
    /// Registration plate (`rendszam`), e.g. `ABC-123`.
    pub plate: String,
    /// Make (`gyartmany`), e.g. `Suzuki`.
    pub make: String,
    /// Commercial name (`kereskedelmi_nev`), e.g. `Swift`.
    pub model: String,
    /// Category (`kategoria`), e.g. `M1`.
    pub category: String,
    /// The keeper's (üzembentartó) address.
    pub keeper_address: TestAddress,
}

/// The vehicles the simulated vehicle registry knows: a car kept at Minta Márta's address, one
/// with a new-format plate kept at Horváth Gábor's temporary address, and a van in Győr.
pub fn test_vehicles() -> Vec<TestVehicle> {
    let vehicle = |plate: &str, make: &str, model: &str, category: &str, keeper: TestAddress| TestVehicle {
        plate: plate.to_owned(),
        make: make.to_owned(),
        model: model.to_owned(),
        category: category.to_owned(),
        keeper_address: keeper,
    };
    vec![
        vehicle("ABC-123", "Suzuki", "Swift", "M1", address("1126", "Budapest", "Böszörményi út 23-25.")),
        vehicle("AA-BB-123", "Škoda", "Octavia", "M1", address("7621", "Pécs", "Király utca 15. 2. em. 4.")),
        vehicle("MNO-456", "Ford", "Transit", "N1", address("9021", "Győr", "Baross Gábor út 12.")),
    ]
}

/// The addresses the simulated address registry knows: every test person's, and a few more.
pub fn test_addresses() -> Vec<TestAddress> {
    let mut all: Vec<TestAddress> =
        test_persons().into_iter().flat_map(|p| p.permanent_address.into_iter().chain(p.temporary_address)).collect();
    all.push(address("1126", "Budapest", "Szamos utca 1."));
    all.push(address("1121", "Budapest", "Költő utca 21."));
    all
}

/// What the server shares with the handle.
struct Shared {
    api_key: String,
    persons: Vec<TestPerson>,
    queries: AtomicUsize,
}

/// A running registry simulator. Dropping it stops the server; [`RegistrySim::shutdown`] also
/// waits for it.
pub struct RegistrySim {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Binds 127.0.0.1:`port` (0 = a free port) and spawns the server on the current tokio runtime;
/// it accepts `Authorization: Bearer <api_key>`.
pub async fn start(port: u16, api_key: &str) -> io::Result<RegistrySim> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared { api_key: api_key.to_owned(), persons: test_persons(), queries: AtomicUsize::new(0) });
    let (shutdown, mut stop) = watch::channel(false);
    let router = router(shared.clone());
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
            tracing::error!(%error, "the registry simulator failed");
        }
    });
    tracing::info!(%addr, "registry (SZL) simulator listening");
    Ok(RegistrySim { addr, shared, shutdown, task: Some(task) })
}

impl RegistrySim {
    /// The base URL, e.g. `http://127.0.0.1:8031`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API key the simulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![Endpoint { simulator: "registry", protocol: "http", addr: self.addr }]
    }

    /// How many identity checks have been answered (with 200; refused requests do not count).
    pub async fn queries(&self) -> usize {
        self.shared.queries.load(Ordering::SeqCst)
    }

    /// Stops accepting, lets the requests in progress finish and waits for the server.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RegistrySim {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(CHECK_PATH, post(check))
        .route(ADDRESS_PATH, post(check_address))
        .route(VEHICLE_PATH, post(find_vehicle))
        .route("/sim/queries", get(queries))
        .route("/sim/persons", get(persons))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_SIZE))
        .with_state(shared)
}

/// An error answer: `{"hiba": code, "uzenet": message}`.
fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    (status, Json(ErrorBody { hiba: code, uzenet: message.into() })).into_response()
}

/// An error answer's body.
#[derive(Serialize)]
struct ErrorBody {
    hiba: &'static str,
    uzenet: String,
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "hibas_keres", message)
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "nem_talalhato", "nincs ilyen végpont")
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "nem_engedelyezett_metodus", "a végpont ezt a HTTP metódust nem fogadja")
}

async fn queries(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "queries": shared.queries.load(Ordering::SeqCst) }))
}

async fn persons(State(shared): State<Arc<Shared>>) -> Json<Vec<TestPerson>> {
    Json(shared.persons.clone())
}

/// Whether the request carries `Authorization: Bearer <key>` (scheme case-insensitive).
fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && token.trim() == key
}

/// Whether the content type is `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The checks every endpoint makes before reading the body: the key, the size, the type.
fn admit(shared: &Shared, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, Box<Response>> {
    if !authorized(headers, &shared.api_key) {
        let mut response =
            error(StatusCode::UNAUTHORIZED, "jogosulatlan", "hiányzó vagy érvénytelen API-kulcs (Authorization: Bearer <kulcs>)");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"szl\""));
        return Err(Box::new(response));
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Box::new(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "tul_nagy_keres",
                format!("a kérés törzse legfeljebb {MAX_BODY_SIZE} bájt lehet"),
            )));
        }
        Err(rejection) => return Err(Box::new(bad_request(format!("a kérés törzse nem olvasható: {rejection}")))),
    };
    if !is_json(headers) {
        return Err(Box::new(bad_request("a Content-Type fejléc nem application/json")));
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(root)) => Ok(root),
        Ok(_) => Err(Box::new(bad_request("a kérés törzse nem JSON objektum"))),
        Err(e) => Err(Box::new(bad_request(format!("a kérés törzse nem érvényes JSON: {e}")))),
    }
}

fn address_of(object: &Map<String, Value>, prefix: &str) -> Result<RequestAddress, String> {
    Ok(RequestAddress {
        postcode: text(object, prefix, "iranyitoszam")?,
        city: text(object, prefix, "telepules")?,
        street: text(object, prefix, "kozterulet")?,
    })
}

async fn check_address(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let root = match admit(&shared, &headers, body) {
        Ok(root) => root,
        Err(response) => return *response,
    };
    let given = match address_of(&root, "") {
        Ok(a) => a,
        Err(message) => return bad_request(message),
    };
    let known = test_addresses().into_iter().find(|known| same_address(&given, known));
    shared.queries.fetch_add(1, Ordering::SeqCst);
    Json(json!({
        "lekerdezes_azonosito": Uuid::new_v4(),
        "letezik": known.is_some(),
        "lakcim": known.map(|a| json!({"iranyitoszam": a.postcode, "telepules": a.city, "kozterulet": a.street})),
    }))
    .into_response()
}

/// A plate without spaces and hyphens, upper case.
fn plate_key(plate: &str) -> String {
    plate.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
}

async fn find_vehicle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let root = match admit(&shared, &headers, body) {
        Ok(root) => root,
        Err(response) => return *response,
    };
    let parsed = text(&root, "", "rendszam").and_then(|plate| {
        let keeper = nullable_object(&root, "", "uzembentarto_lakcim")?.map(|a| address_of(a, "uzembentarto_lakcim.")).transpose()?;
        Ok((plate, keeper))
    });
    let (plate, keeper) = match parsed {
        Ok(p) => p,
        Err(message) => return bad_request(message),
    };
    let found = test_vehicles().into_iter().find(|v| plate_key(&v.plate) == plate_key(&plate));
    shared.queries.fetch_add(1, Ordering::SeqCst);
    let answer = match found {
        None => json!({"lekerdezes_azonosito": Uuid::new_v4(), "talalat": false, "jarmu": null, "lakcim_egyezik": null}),
        Some(v) => json!({
            "lekerdezes_azonosito": Uuid::new_v4(),
            "talalat": true,
            "jarmu": {"rendszam": v.plate, "gyartmany": v.make, "kereskedelmi_nev": v.model, "kategoria": v.category},
            "lakcim_egyezik": keeper.map(|k| same_address(&k, &v.keeper_address)),
        }),
    };
    Json(answer).into_response()
}

async fn check(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    if !authorized(&headers, &shared.api_key) {
        let mut response =
            error(StatusCode::UNAUTHORIZED, "jogosulatlan", "hiányzó vagy érvénytelen API-kulcs (Authorization: Bearer <kulcs>)");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"szl\""));
        return response;
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "tul_nagy_keres", format!("a kérés törzse legfeljebb {MAX_BODY_SIZE} bájt lehet"));
        }
        Err(rejection) => return bad_request(format!("a kérés törzse nem olvasható: {rejection}")),
    };
    if !is_json(&headers) {
        return bad_request("a Content-Type fejléc nem application/json");
    }
    let request = match Request::parse(&body) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    let today = chrono::Local::now().date_naive();
    let (result, differences) = evaluate(&shared.persons, &request, today);
    let id = Uuid::new_v4();
    shared.queries.fetch_add(1, Ordering::SeqCst);
    tracing::info!(lekerdezes_azonosito = %id, eredmeny = result, elteresek = ?differences, "identity check answered");
    Json(Answer { lekerdezes_azonosito: id, eredmeny: result, elteresek: differences }).into_response()
}

/// The answer of a check, fields in protocol order.
#[derive(Serialize)]
struct Answer {
    lekerdezes_azonosito: Uuid,
    eredmeny: &'static str,
    elteresek: Vec<&'static str>,
}

/// A validated check request.
struct Request {
    family_name: String,
    given_name: String,
    /// `None` when sent as null.
    birth_name: Option<String>,
    mother_name: String,
    birth_place: String,
    birth_date: NaiveDate,
    document_kind: DocumentKind,
    document_number: String,
    /// `None` when sent as null.
    address: Option<RequestAddress>,
}

struct RequestAddress {
    postcode: String,
    city: String,
    street: String,
}

/// A field of a JSON object: `Ok(None)` if it is null, an error if it is absent.
fn field<'a>(object: &'a Map<String, Value>, prefix: &str, name: &str) -> Result<Option<&'a Value>, String> {
    match object.get(name) {
        None => Err(format!("hiányzó mező: {prefix}{name}")),
        Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(value)),
    }
}

/// A text field that may be null; an empty (or only whitespace) text is refused.
fn nullable_text(object: &Map<String, Value>, prefix: &str, name: &str) -> Result<Option<String>, String> {
    match field(object, prefix, name)? {
        None => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Err(format!("üres mező: {prefix}{name}")),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(format!("a(z) {prefix}{name} mező nem szöveg")),
    }
}

/// A required, non-empty text field.
fn text(object: &Map<String, Value>, prefix: &str, name: &str) -> Result<String, String> {
    nullable_text(object, prefix, name)?.ok_or_else(|| format!("a(z) {prefix}{name} mező nem lehet null"))
}

/// An object field that may be null.
fn nullable_object<'a>(object: &'a Map<String, Value>, prefix: &str, name: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match field(object, prefix, name)? {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(format!("a(z) {prefix}{name} mező nem objektum")),
    }
}

/// A date in exactly the `YYYY-MM-DD` form.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let well_formed =
        text.len() == 10 && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !well_formed {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl Request {
    fn parse(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|error| format!("a kérés törzse nem érvényes JSON: {error}"))?;
        let Value::Object(root) = value else {
            return Err("a kérés törzse nem JSON objektum".to_owned());
        };
        let family_name = text(&root, "", "csaladi_nev")?;
        let given_name = text(&root, "", "utonev")?;
        let birth_name = nullable_text(&root, "", "szuletesi_nev")?;
        let mother_name = text(&root, "", "anyja_neve")?;
        let birth_place = text(&root, "", "szuletesi_hely")?;
        let birth_date_text = text(&root, "", "szuletesi_ido")?;
        let birth_date =
            parse_date(&birth_date_text).ok_or_else(|| format!("a szuletesi_ido nem érvényes ÉÉÉÉ-HH-NN dátum: {birth_date_text:?}"))?;
        let document = nullable_object(&root, "", "okmany")?.ok_or("az okmany mező nem lehet null")?;
        let kind_code = text(document, "okmany.", "tipus")?;
        let document_kind = DocumentKind::from_code(&kind_code)
            .ok_or_else(|| format!("ismeretlen okmany.tipus: {kind_code:?} (szemelyi_igazolvany, utlevel vagy vezetoi_engedely lehet)"))?;
        let document_number = text(document, "okmany.", "szam")?;
        let address = match nullable_object(&root, "", "lakcim")? {
            None => None,
            Some(address) => Some(RequestAddress {
                postcode: text(address, "lakcim.", "iranyitoszam")?,
                city: text(address, "lakcim.", "telepules")?,
                street: text(address, "lakcim.", "kozterulet")?,
            }),
        };
        Ok(Request { family_name, given_name, birth_name, mother_name, birth_place, birth_date, document_kind, document_number, address })
    }
}

/// Lower case, with surrounding whitespace trimmed and inner runs of whitespace made one space.
/// Accents are kept: `Szűcs` and `Szucs` differ.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Like [`normalize`], also ignoring trailing dots (for address parts).
fn normalize_address_part(text: &str) -> String {
    normalize(text).trim_end_matches(|c: char| c == '.' || c.is_whitespace()).to_owned()
}

fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

fn same_address(given: &RequestAddress, known: &TestAddress) -> bool {
    normalize_address_part(&given.postcode) == normalize_address_part(&known.postcode)
        && normalize_address_part(&given.city) == normalize_address_part(&known.city)
        && normalize_address_part(&given.street) == normalize_address_part(&known.street)
}

/// The result code and the differing fields (in protocol order) of a check made on `today`.
fn evaluate(persons: &[TestPerson], request: &Request, today: NaiveDate) -> (&'static str, Vec<&'static str>) {
    let found = persons.iter().find_map(|person| {
        person
            .documents
            .iter()
            .find(|document| document.kind == request.document_kind && same(&document.number, &request.document_number))
            .map(|document| (person, document))
    });
    let Some((person, document)) = found else {
        return ("nincs_talalat", Vec::new());
    };
    let birth_name = request.birth_name.clone().unwrap_or_else(|| format!("{} {}", request.family_name, request.given_name));
    let address_matches = request
        .address
        .as_ref()
        .is_none_or(|given| person.permanent_address.iter().chain(person.temporary_address.iter()).any(|known| same_address(given, known)));
    let checks = [
        ("csaladi_nev", same(&request.family_name, &person.family_name)),
        ("utonev", same(&request.given_name, &person.given_name)),
        ("szuletesi_nev", same(&birth_name, &person.birth_name)),
        ("anyja_neve", same(&request.mother_name, &person.mother_name)),
        ("szuletesi_hely", same(&request.birth_place, &person.birth_place)),
        ("szuletesi_ido", request.birth_date == person.birth_date),
        ("lakcim", address_matches),
        ("okmany_ervenyesseg", today <= document.valid_until),
    ];
    let differences: Vec<&'static str> = checks.into_iter().filter(|(_, matches)| !matches).map(|(name, _)| name).collect();
    if differences.is_empty() { ("egyezik", differences) } else { ("elter", differences) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_case_and_spacing_but_not_accents() {
        assert!(same("  minta   MÁRTA ", "Minta Márta"));
        assert!(!same("Szucs Odon", "Szűcs Ödön"));
        assert!(!same("Kovacs Ilona", "Kovács Ilona"));
        assert_eq!(normalize_address_part("Böszörményi  út 23-25 . "), "böszörményi út 23-25");
    }

    #[test]
    fn dates_must_be_exactly_yyyy_mm_dd() {
        assert_eq!(parse_date("1980-05-17"), NaiveDate::from_ymd_opt(1980, 5, 17));
        for bad in ["1980-5-17", "1980.05.17", "17-05-1980", "1980-02-30", "1980-05-17T00:00", "+980-05-17", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_document_number_is_unique() {
        let persons = test_persons();
        let mut numbers: Vec<_> = persons.iter().flat_map(|p| p.documents.iter().map(|d| normalize(&d.number))).collect();
        let all = numbers.len();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), all);
    }
}
