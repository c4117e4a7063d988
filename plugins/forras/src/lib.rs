//! The Forrás plugin: posts receivables and payments to the Forrás finance system over its
//! JSON interface (`PROTOCOL.md`). Amounts travel as decimal strings, checked here with
//! `rust_decimal` before anything is sent.

use std::str::FromStr;

use base64::Engine;
use kapu_plugin_sdk::config;
use kapu_plugin_sdk::finance::*;
use kapu_plugin_sdk::http::{Request, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct Forras;

#[derive(Serialize)]
struct Kotelezett<'a> {
    nev: &'a str,
    adoazonosito: Option<&'a str>,
}

#[derive(Serialize)]
struct Eloiras<'a> {
    befizetesi_azonosito: &'a str,
    kotelezett: Kotelezett<'a>,
    jogcim: &'a str,
    osszeg: String,
    penznem: &'a str,
    esedekesseg: &'a str,
}

#[derive(Serialize)]
struct Befizetes<'a> {
    befizetesi_azonosito: &'a str,
    osszeg: String,
    penznem: &'a str,
    erteknap: &'a str,
    banki_azonosito: &'a str,
}

#[derive(Deserialize)]
struct Tetel {
    tetel_azonosito: String,
}

#[derive(Deserialize)]
struct Hiba {
    hibakod: String,
    #[serde(default)]
    uzenet: String,
    #[serde(default)]
    mezo: Option<String>,
}

/// The amount as Forrás wants it: a decimal string with two decimals, above zero.
fn amount(m: &Money) -> Result<String, PluginError> {
    let bad = || PluginError::InvalidInput(format!("the amount {:?} is not a decimal above zero with at most two decimals", m.amount));
    // Digits with at most one decimal point: no sign, exponent or separators.
    let text = m.amount.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') || text.starts_with('.') || text.ends_with('.') {
        return Err(bad());
    }
    let d = Decimal::from_str(text).map_err(|_| bad())?;
    if d <= Decimal::ZERO || d.scale() > 2 {
        return Err(bad());
    }
    if m.currency.len() != 3 || !m.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(PluginError::InvalidInput(format!("{:?} is not an ISO 4217 currency code", m.currency)));
    }
    Ok(format!("{d:.2}"))
}

fn required(name: &str, value: &str) -> Result<(), PluginError> {
    if value.trim().is_empty() {
        return Err(PluginError::InvalidInput(format!("{name} is empty")));
    }
    Ok(())
}

fn post(path: &str, body: &impl Serialize) -> Result<Posting, PluginError> {
    let base = config::require("base-url")?;
    let user = config::require("user")?;
    let password = config::require_secret("password")?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let body = serde_json::to_vec(body).map_err(|e| PluginError::InvalidInput(e.to_string()))?;
    let r = Request::post(format!("{}/forras/api/v1{path}", base.trim_end_matches('/')))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body)
        .send()?;
    let t: Tetel = read(r)?;
    Ok(Posting { posting_id: t.tetel_azonosito })
}

fn read<T: for<'de> Deserialize<'de>>(r: Response) -> Result<T, PluginError> {
    if r.status == 200 || r.status == 201 {
        return serde_json::from_slice(&r.body)
            .map_err(|e| PluginError::Protocol(format!("Forrás answered {} with an unreadable body: {e}", r.status)));
    }
    let said = match serde_json::from_slice::<Hiba>(&r.body) {
        Ok(h) => match h.mezo {
            Some(m) => format!("{}: {} (mező: {m})", h.hibakod, h.uzenet),
            None => format!("{}: {}", h.hibakod, h.uzenet),
        },
        Err(_) => "no error body".to_owned(),
    };
    Err(match r.status {
        401 | 403 => PluginError::Config(format!("Forrás refused the user or password ({}, {said})", r.status)),
        400..=499 => PluginError::Rejected(format!("Forrás refused the posting ({}, {said})", r.status)),
        500..=599 => PluginError::Unavailable(format!("Forrás failed ({}, {said})", r.status)),
        s => PluginError::Protocol(format!("Forrás answered an unexpected status {s}")),
    })
}

impl Finance for Forras {
    fn post_receivable(receivable: Receivable) -> Result<Posting, PluginError> {
        for (name, value) in [
            ("payment-ref", &receivable.payment_ref),
            ("debtor-name", &receivable.debtor_name),
            ("title", &receivable.title),
            ("due", &receivable.due),
        ] {
            required(name, value)?;
        }
        let body = Eloiras {
            befizetesi_azonosito: &receivable.payment_ref,
            kotelezett: Kotelezett { nev: &receivable.debtor_name, adoazonosito: receivable.debtor_tax_id.as_deref() },
            jogcim: &receivable.title,
            osszeg: amount(&receivable.amount)?,
            penznem: &receivable.amount.currency,
            esedekesseg: &receivable.due,
        };
        post("/eloirasok", &body)
    }

    fn post_payment(payment: Payment) -> Result<Posting, PluginError> {
        for (name, value) in [("payment-ref", &payment.payment_ref), ("value-date", &payment.value_date), ("bank-ref", &payment.bank_ref)] {
            required(name, value)?;
        }
        let body = Befizetes {
            befizetesi_azonosito: &payment.payment_ref,
            osszeg: amount(&payment.amount)?,
            penznem: &payment.amount.currency,
            erteknap: &payment.value_date,
            banki_azonosito: &payment.bank_ref,
        };
        post("/befizetesek", &body)
    }
}

kapu_plugin_sdk::export!(Forras);
