//! Forrás, the finance system, as the JSON interface in `plugins/forras/PROTOCOL.md`: a ledger
//! of receivables and payments kept in `rust_decimal`, HTTP Basic authentication, idempotent
//! postings, in memory.

#![allow(clippy::result_large_err, reason = "handlers return the vendor's error response early, as `Err`")]

use std::io;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

use crate::vendor::{Received, Served};

/// The port `kapu-sim forras` uses by default.
pub const DEFAULT_PORT: u16 = 8043;
/// The user it accepts by default.
pub const DEFAULT_USER: &str = "kapu";
/// The password it accepts by default.
pub const DEFAULT_PASSWORD: &str = "kapu-demo-forras-jelszo";

/// A receivable in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receivable {
    /// `EL-<year>-<n>`.
    pub tetel_azonosito: String,
    /// The payment reference.
    pub befizetesi_azonosito: String,
    /// The debtor's name.
    pub kotelezett_nev: String,
    /// The debtor's tax id.
    pub adoazonosito: Option<String>,
    /// What for.
    pub jogcim: String,
    /// How much.
    pub osszeg: Decimal,
    /// Due date.
    pub esedekesseg: NaiveDate,
    /// The payments booked against it.
    pub befizetesek: Vec<Payment>,
}

impl Receivable {
    /// What is still owed.
    pub fn balance(&self) -> Decimal {
        self.osszeg - self.befizetesek.iter().map(|p| p.osszeg).sum::<Decimal>()
    }
}

/// A payment in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// `BE-<year>-<n>`.
    pub tetel_azonosito: String,
    /// How much.
    pub osszeg: Decimal,
    /// Value date.
    pub erteknap: NaiveDate,
    /// The bank's reference.
    pub banki_azonosito: String,
}

struct Shared {
    user: String,
    password: String,
    ledger: Mutex<Vec<Receivable>>,
}

/// A running Forrás simulator.
pub struct ForrasSim {
    served: Served,
    shared: Arc<Shared>,
}

/// Starts the simulator on 127.0.0.1:`port` (0 picks a free port) with these credentials.
pub async fn start(port: u16, user: &str, password: &str) -> io::Result<ForrasSim> {
    let shared = Arc::new(Shared { user: user.to_owned(), password: password.to_owned(), ledger: Mutex::default() });
    let router = Router::new()
        .route("/forras/api/v1/eloirasok", post(post_receivable))
        .route("/forras/api/v1/eloirasok/{reference}", get(get_receivable))
        .route("/forras/api/v1/befizetesek", post(post_payment))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "HIBAS_KERES", "Nincs ilyen erőforrás.", None) })
        .with_state(shared.clone());
    let served = Served::start("forras", port, router, failure).await?;
    Ok(ForrasSim { served, shared })
}

impl ForrasSim {
    /// The base URL.
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The user and password it accepts.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.shared.user, &self.shared.password)
    }

    /// The addresses to print.
    pub fn endpoints(&self) -> Vec<crate::Endpoint> {
        self.served.endpoints()
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.served.received()
    }

    /// Makes the next `count` requests fail with `status`.
    pub fn outage(&self, status: u16, count: usize) {
        self.served.outage(status, count);
    }

    /// The ledger.
    pub fn ledger(&self) -> Vec<Receivable> {
        ledger(&self.shared).clone()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

fn ledger(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<Receivable>> {
    shared.ledger.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> Response {
    let mut body = json!({ "hibakod": code, "uzenet": message });
    if let Some(f) = field {
        body["mezo"] = json!(f);
    }
    (status, Json(body)).into_response()
}

fn failure(status: StatusCode) -> Response {
    let code = if status == StatusCode::SERVICE_UNAVAILABLE { "NEM_ELERHETO" } else { "BELSO_HIBA" };
    error(status, code, "A Forrás átmenetileg nem érhető el (zárás folyamatban).", None)
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if given.as_deref() == Some(format!("{}:{}", shared.user, shared.password).as_str()) {
        return Ok(());
    }
    let mut r = error(StatusCode::UNAUTHORIZED, "HITELESITES", "Hiányzó vagy hibás felhasználónév vagy jelszó.", None);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"Forras\""));
    Err(r)
}

/// Amounts: a JSON string, a decimal with at most two decimals, above zero.
pub fn parse_amount(v: &Value) -> Option<Decimal> {
    let s = v.as_str()?.trim();
    let ok_shape = !s.is_empty()
        && s.split_once('.').map_or(s.bytes().all(|b| b.is_ascii_digit()), |(i, f)| {
            !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) && (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit())
        });
    let d = Decimal::from_str(s).ok().filter(|_| ok_shape)?;
    (d > Decimal::ZERO).then_some(d)
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d)
}

fn json_body(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "HIBAS_KERES", "A kérés törzse nem JSON objektum.", None))
}

fn text(v: &Value, path: &str) -> Result<String, Response> {
    let mut at = v;
    for part in path.split('.') {
        at = &at[part];
    }
    match at.as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(error(StatusCode::BAD_REQUEST, "HIBAS_KERES", &format!("Hiányzó vagy üres mező: {path}"), Some(path))),
    }
}

fn date(v: &Value, field: &str) -> Result<NaiveDate, Response> {
    NaiveDate::parse_from_str(&text(v, field)?, "%Y-%m-%d")
        .map_err(|_| error(StatusCode::BAD_REQUEST, "HIBAS_KERES", &format!("A(z) {field} nem ÉÉÉÉ-HH-NN dátum."), Some(field)))
}

fn amount(v: &Value) -> Result<Decimal, Response> {
    let currency = text(v, "penznem")?;
    let d = parse_amount(&v["osszeg"]).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "HIBAS_OSSZEG",
            "Az összeg szövegként megadott, legfeljebb két tizedesjegyű, nullánál nagyobb szám legyen.",
            Some("osszeg"),
        )
    })?;
    if currency != "HUF" {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NEM_TAMOGATOTT_PENZNEM",
            &format!("Nem támogatott pénznem: {currency}"),
            Some("penznem"),
        ));
    }
    Ok(d)
}

fn receivable_json(r: &Receivable) -> Value {
    json!({ "tetel_azonosito": r.tetel_azonosito, "befizetesi_azonosito": r.befizetesi_azonosito,
            "osszeg": money(r.osszeg), "egyenleg": money(r.balance()) })
}

async fn post_receivable(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = (|| {
        authorized(&shared, &headers)?;
        let v = json_body(&body)?;
        let adoazonosito = match &v["kotelezett"]["adoazonosito"] {
            Value::Null => None,
            _ => Some(text(&v, "kotelezett.adoazonosito")?),
        };
        let due = date(&v, "esedekesseg")?;
        Ok::<_, Response>(Receivable {
            tetel_azonosito: String::new(),
            befizetesi_azonosito: text(&v, "befizetesi_azonosito")?,
            kotelezett_nev: text(&v, "kotelezett.nev")?,
            adoazonosito,
            jogcim: text(&v, "jogcim")?,
            osszeg: amount(&v)?,
            esedekesseg: due,
            befizetesek: Vec::new(),
        })
    })();
    let mut new = match parsed {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut ledger = ledger(&shared);
    if let Some(old) = ledger.iter().find(|r| r.befizetesi_azonosito == new.befizetesi_azonosito) {
        let same = (&old.kotelezett_nev, &old.adoazonosito, &old.jogcim, old.osszeg, old.esedekesseg)
            == (&new.kotelezett_nev, &new.adoazonosito, &new.jogcim, new.osszeg, new.esedekesseg);
        if same {
            return (StatusCode::OK, Json(receivable_json(old))).into_response();
        }
        return error(
            StatusCode::CONFLICT,
            "MAR_LETEZIK",
            &format!("A(z) {} befizetési azonosítóval már más előírás szerepel.", new.befizetesi_azonosito),
            Some("befizetesi_azonosito"),
        );
    }
    new.tetel_azonosito = format!("EL-{}-{:06}", new.esedekesseg.year(), ledger.len() + 1);
    let body = receivable_json(&new);
    ledger.push(new);
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn post_payment(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = (|| {
        authorized(&shared, &headers)?;
        let v = json_body(&body)?;
        Ok::<_, Response>((
            text(&v, "befizetesi_azonosito")?,
            Payment {
                tetel_azonosito: String::new(),
                osszeg: amount(&v)?,
                erteknap: date(&v, "erteknap")?,
                banki_azonosito: text(&v, "banki_azonosito")?,
            },
        ))
    })();
    let (reference, mut payment) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut ledger = ledger(&shared);
    let paid = |r: &Receivable, p: &Payment| {
        Json(
            json!({ "tetel_azonosito": p.tetel_azonosito, "befizetesi_azonosito": r.befizetesi_azonosito, "egyenleg": money(r.balance()) }),
        )
    };
    for r in ledger.iter() {
        if let Some(p) = r.befizetesek.iter().find(|p| p.banki_azonosito == payment.banki_azonosito) {
            return (StatusCode::OK, paid(r, p)).into_response();
        }
    }
    let count = ledger.iter().map(|r| r.befizetesek.len()).sum::<usize>();
    let Some(r) = ledger.iter_mut().find(|r| r.befizetesi_azonosito == reference) else {
        return error(
            StatusCode::NOT_FOUND,
            "ISMERETLEN_BEFIZETESI_AZONOSITO",
            &format!("Nincs előírás ezzel a befizetési azonosítóval: {reference}"),
            Some("befizetesi_azonosito"),
        );
    };
    payment.tetel_azonosito = format!("BE-{}-{:06}", payment.erteknap.year(), count + 1);
    r.befizetesek.push(payment.clone());
    (StatusCode::CREATED, paid(r, &payment)).into_response()
}

async fn get_receivable(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(reference): Path<String>) -> Response {
    if let Err(r) = authorized(&shared, &headers) {
        return r;
    }
    match ledger(&shared).iter().find(|r| r.befizetesi_azonosito == reference) {
        Some(r) => {
            let mut v = receivable_json(r);
            v["befizetesek"] = r
                .befizetesek
                .iter()
                .map(|p| json!({ "tetel_azonosito": p.tetel_azonosito, "osszeg": money(p.osszeg), "erteknap": p.erteknap, "banki_azonosito": p.banki_azonosito }))
                .collect();
            Json(v).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "ISMERETLEN_BEFIZETESI_AZONOSITO", "Nincs ilyen előírás.", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings() {
        assert_eq!(parse_amount(&json!("12500")), Some(Decimal::new(12500, 0)));
        assert_eq!(parse_amount(&json!("12500.5")), Some(Decimal::new(125005, 1)));
        for bad in [json!(12500), json!(12500.5), json!("12500.505"), json!("0"), json!("-5"), json!("1e3"), json!(" "), json!("1,5")] {
            assert_eq!(parse_amount(&bad), None, "{bad}");
        }
    }
}
