//! Organisations (gazdasági társaságok, szervezetek), their tax numbers, addresses, and the
//! mandates under which a representative acts for an organisation or another person.

use chrono::{DateTime, NaiveDate, Utc};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Access, ClientError, PendingAccess, audit};

/// A Hungarian tax number (adószám), `xxxxxxxx-y-zz`: an 8-digit base whose last digit is a
/// check digit, the VAT code (1 to 5) and the tax office area code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct TaxNumber(String);

impl TaxNumber {
    /// Parses `12345676-2-41` or `12345676241`; checks the check digit, the VAT code and the
    /// area code.
    pub fn parse(s: &str) -> Result<Self, ClientError> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        let bad = |reason| ClientError::Invalid { field: "tax_number", reason };
        if digits.len() != 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(Refusal::InvalidTaxNumber));
        }
        let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d[..7].iter().zip([9, 7, 3, 1, 9, 7, 3]).map(|(a, w)| a * w).sum();
        if (10 - sum % 10) % 10 != d[7] {
            return Err(bad(Refusal::TaxNumberCheckDigit));
        }
        if !(1..=5).contains(&d[8]) {
            return Err(bad(Refusal::TaxNumberVatCode));
        }
        let area = d[9] * 10 + d[10];
        if !((2..=20).contains(&area) || (22..=44).contains(&area) || area == 51) {
            return Err(bad(Refusal::TaxNumberAreaCode));
        }
        Ok(Self(format!("{}-{}-{}", &digits[..8], &digits[8..9], &digits[9..])))
    }

    /// The number as `xxxxxxxx-y-zz`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<TaxNumber> for String {
    fn from(t: TaxNumber) -> Self {
        t.0
    }
}

/// What an address is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Lakóhely.
    Permanent,
    /// Tartózkodási hely.
    Temporary,
    /// Székhely of an organisation.
    Seat,
}

/// A Hungarian postal address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// What it is for.
    pub kind: AddressKind,
    /// Four-digit postcode.
    pub postcode: String,
    /// Settlement.
    pub city: String,
    /// Public place and house number, e.g. "Böszörményi út 23-25."
    pub street: String,
}

pub(crate) fn check_addresses(addresses: &[Address]) -> Result<(), ClientError> {
    for a in addresses {
        let bad = |reason| ClientError::Invalid { field: "addresses", reason };
        if a.postcode.len() != 4 || !a.postcode.chars().all(|c| c.is_ascii_digit()) || a.postcode.starts_with('0') {
            return Err(bad(Refusal::InvalidPostcode));
        }
        if a.city.trim().is_empty() || a.street.trim().is_empty() {
            return Err(bad(Refusal::IncompleteAddress));
        }
    }
    Ok(())
}

pub(crate) fn seal_addresses(ring: &Keyring, client: Uuid, addresses: &[Address]) -> Result<Option<Vec<u8>>, ClientError> {
    if addresses.is_empty() {
        return Ok(None);
    }
    Ok(Some(ring.seal(&crate::ADDRESSES_ENC.at(client), &serde_json::to_vec(addresses)?)?))
}

pub(crate) fn open_addresses(ring: &Keyring, client: Uuid, sealed: Option<&[u8]>) -> Result<Vec<Address>, ClientError> {
    match sealed {
        Some(b) => Ok(serde_json::from_slice(&ring.open(&crate::ADDRESSES_ENC.at(client), b)?)?),
        None => Ok(Vec::new()),
    }
}

/// An organisation.
#[derive(Clone, Debug, Serialize)]
pub struct Organisation {
    /// Client id.
    pub id: Uuid,
    /// Registered name.
    pub name: String,
    /// Tax number.
    pub tax_number: String,
    /// Company registration number (cégjegyzékszám) or other register's number.
    pub registration_number: Option<String>,
    /// Seat.
    pub seat: Option<Address>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

/// A new organisation.
#[derive(Clone, Debug)]
pub struct NewOrganisation {
    /// Registered name.
    pub name: String,
    /// Tax number, checked.
    pub tax_number: String,
    /// Registration number.
    pub registration_number: Option<String>,
    /// Seat.
    pub seat: Option<Address>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

/// Registers an organisation; a tax number already registered is refused.
pub async fn create_organisation(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    new: NewOrganisation,
    now: DateTime<Utc>,
) -> Result<Organisation, ClientError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ClientError::Invalid { field: "name", reason: Refusal::length(1, 200) });
    }
    let tax = TaxNumber::parse(&new.tax_number)?;
    let seat: Vec<Address> = new.seat.iter().cloned().map(|a| Address { kind: AddressKind::Seat, ..a }).collect();
    check_addresses(&seat)?;
    let id = Uuid::now_v7();
    let res = sqlx::query(
        "INSERT INTO client (id, kind, email, organisation_name, tax_number, registration_number, addresses_enc, phone, created_at, updated_at)
         VALUES ($1, 'organisation', $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(&new.email)
    .bind(&name)
    .bind(tax.as_str())
    .bind(&new.registration_number)
    .bind(seal_addresses(ring, id, &seat)?)
    .bind(&new.phone)
    .bind(now)
    .execute(tx.conn())
    .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("client_tax_number_key") => {
            return Err(ClientError::Invalid { field: "tax_number", reason: Refusal::Taken });
        }
        other => {
            other?;
        }
    }
    audit(tx, &access, "client.create", Some(id), serde_json::json!({ "kind": "organisation" }), now).await?;
    Ok(Organisation {
        id,
        name,
        tax_number: tax.0,
        registration_number: new.registration_number,
        seat: seat.into_iter().next(),
        email: new.email,
        phone: new.phone,
    })
}

#[derive(sqlx::FromRow)]
struct OrganisationRow {
    organisation_name: String,
    tax_number: String,
    registration_number: Option<String>,
    addresses_enc: Option<Vec<u8>>,
    email: Option<String>,
    phone: Option<String>,
}

/// Reads an organisation, recording the access.
pub async fn get_organisation(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Organisation>, ClientError> {
    let Some((organisation, pending)) = get_organisation_recording_later(tx, ring, id).await? else { return Ok(None) };
    pending.record(tx, access, now).await?;
    Ok(Some(organisation))
}

/// Like [`get_organisation`], with the access recorded later by the caller (see
/// [`crate::get_recording_later`]).
pub async fn get_organisation_recording_later(
    tx: &mut TenantTx,
    ring: &Keyring,
    id: Uuid,
) -> Result<Option<(Organisation, PendingAccess)>, ClientError> {
    let row: Option<OrganisationRow> = sqlx::query_as(
        "SELECT organisation_name, tax_number, registration_number, addresses_enc, email, phone FROM client WHERE id = $1 AND kind = 'organisation'",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(OrganisationRow { organisation_name: name, tax_number, registration_number, addresses_enc: addresses, email, phone }) = row
    else {
        return Ok(None);
    };
    let seat = open_addresses(ring, id, addresses.as_deref())?.into_iter().next();
    let pending = PendingAccess { action: "client.read", subject: id, details: serde_json::json!({ "kind": "organisation" }) };
    Ok(Some((Organisation { id, name, tax_number, registration_number, seat, email, phone }, pending)))
}

/// A mandate: a representative acting for a principal (an organisation or a person).
#[derive(Clone, Debug, Serialize)]
pub struct Mandate {
    /// Id.
    pub id: Uuid,
    /// Whom the representative acts for.
    pub principal_client_id: Uuid,
    /// The principal's display name (organisation name or "family given").
    pub principal_name: String,
    /// The representative's client account.
    pub representative_account_id: Uuid,
    /// What it covers: case type codes, or `*` for everything.
    pub scope: Vec<String>,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day, if limited.
    pub valid_until: Option<NaiveDate>,
}

/// A new mandate.
#[derive(Clone, Debug)]
pub struct NewMandate {
    /// Principal.
    pub principal_client_id: Uuid,
    /// Representative account.
    pub representative_account_id: Uuid,
    /// Scope.
    pub scope: Vec<String>,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: Option<NaiveDate>,
}

/// Records a mandate (a clerk, from the document the principal signed).
pub async fn grant_mandate(tx: &mut TenantTx, access: Access<'_>, new: NewMandate, now: DateTime<Utc>) -> Result<Uuid, ClientError> {
    if new.scope.is_empty() || new.scope.iter().any(|s| s.trim().is_empty()) {
        return Err(ClientError::Invalid { field: "scope", reason: Refusal::TooFew { min: 1 } });
    }
    if new.valid_until.is_some_and(|u| u < new.valid_from) {
        return Err(ClientError::Invalid { field: "valid_until", reason: Refusal::NotBefore { other: "valid_from".into() } });
    }
    let principal: Option<String> =
        sqlx::query_scalar("SELECT kind FROM client WHERE id = $1").bind(new.principal_client_id).fetch_optional(tx.conn()).await?;
    if principal.is_none() {
        return Err(ClientError::Invalid { field: "principal_client_id", reason: Refusal::UnknownClient });
    }
    let account: Option<Uuid> = sqlx::query_scalar("SELECT id FROM client_account WHERE id = $1")
        .bind(new.representative_account_id)
        .fetch_optional(tx.conn())
        .await?;
    if account.is_none() {
        return Err(ClientError::Invalid { field: "representative_account_id", reason: Refusal::UnknownAccount });
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO mandate (id, principal_client_id, representative_account_id, scope, valid_from, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(new.principal_client_id)
    .bind(new.representative_account_id)
    .bind(&new.scope)
    .bind(new.valid_from)
    .bind(new.valid_until)
    .bind(now)
    .execute(tx.conn())
    .await?;
    audit(tx, &access, "mandate.grant", Some(new.principal_client_id), serde_json::json!({ "mandate": id, "scope": new.scope }), now)
        .await?;
    Ok(id)
}

/// Ends a mandate before its time.
pub async fn revoke_mandate(tx: &mut TenantTx, access: Access<'_>, id: Uuid, now: DateTime<Utc>) -> Result<bool, ClientError> {
    let principal: Option<Uuid> =
        sqlx::query_scalar("UPDATE mandate SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING principal_client_id")
            .bind(id)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
    if let Some(p) = principal {
        audit(tx, &access, "mandate.revoke", Some(p), serde_json::json!({ "mandate": id }), now).await?;
    }
    Ok(principal.is_some())
}

#[derive(sqlx::FromRow)]
struct MandateRow {
    id: Uuid,
    principal_client_id: Uuid,
    representative_account_id: Uuid,
    scope: Vec<String>,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    kind: String,
    organisation_name: Option<String>,
    identity_enc: Option<Vec<u8>>,
}

/// The mandates a representative holds on `today` (valid and not revoked), with the
/// principals' names, for the portal's "acting for" choice.
pub async fn mandates_of(tx: &mut TenantTx, ring: &Keyring, account_id: Uuid, today: NaiveDate) -> Result<Vec<Mandate>, ClientError> {
    let rows: Vec<MandateRow> = sqlx::query_as(
        "SELECT m.id, m.principal_client_id, m.representative_account_id, m.scope, m.valid_from, m.valid_until, c.kind, c.organisation_name, c.identity_enc
         FROM mandate m JOIN client c ON c.id = m.principal_client_id
         WHERE m.representative_account_id = $1 AND m.revoked_at IS NULL AND m.valid_from <= $2 AND (m.valid_until IS NULL OR m.valid_until >= $2)
         ORDER BY m.created_at",
    )
    .bind(account_id)
    .bind(today)
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            let principal_name = match (r.kind.as_str(), r.organisation_name, r.identity_enc) {
                ("organisation", Some(n), _) => n,
                (_, _, Some(enc)) => {
                    let id: crate::NaturalIdentity =
                        serde_json::from_slice(&ring.open(&crate::IDENTITY_ENC.at(r.principal_client_id), &enc)?)?;
                    format!("{} {}", id.family_name, id.given_name)
                }
                _ => String::new(),
            };
            Ok(Mandate {
                id: r.id,
                principal_client_id: r.principal_client_id,
                principal_name,
                representative_account_id: r.representative_account_id,
                scope: r.scope,
                valid_from: r.valid_from,
                valid_until: r.valid_until,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_numbers() {
        for ok in ["10773381-2-44", "10773381244", " 10773381-2-44 "] {
            assert_eq!(TaxNumber::parse(ok).unwrap().as_str(), "10773381-2-44", "{ok}");
        }
        let msg = |s: &str| match TaxNumber::parse(s) {
            Err(ClientError::Invalid { reason, .. }) => reason.code(),
            Ok(_) => "ok",
            Err(_) => "other",
        };
        assert_eq!(msg("10773382-2-44"), "tax_number_check_digit");
        assert_eq!(msg("10773381-7-44"), "tax_number_vat_code");
        assert_eq!(msg("10773381-2-21"), "tax_number_area_code");
        assert_eq!(msg("1077338"), "invalid_tax_number");
        assert_eq!(msg("1077338a-2-44"), "invalid_tax_number");
    }

    #[test]
    fn postcodes() {
        let a =
            |p: &str| Address { kind: AddressKind::Permanent, postcode: p.into(), city: "Budapest".into(), street: "Fő utca 1.".into() };
        assert!(check_addresses(&[a("1126")]).is_ok());
        assert!(check_addresses(&[a("0126")]).is_err());
        assert!(check_addresses(&[a("112")]).is_err());
    }
}
