//! Clients (ügyfelek): natural persons and organisations who deal with the office.
//!
//! Natural identity data and ID document numbers are sealed with the tenant's data key
//! before they reach the database, and found again by keyed blind indexes. Every staff
//! read or change goes through this module and writes an audit record in the same
//! transaction: there is no way to fetch a client without saying who and why.

pub mod account;
pub mod identification;
pub mod organisation;

use chrono::{DateTime, NaiveDate, Utc};
use kapu_audit::{Actor, AuditEvent};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::{Column, Keyring};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

/// Blind index context of a person's name and birth date.
const IDENTITY: &str = "client.identity";
/// Blind index context of an ID document number.
pub(crate) const ID_DOCUMENT: &str = "client.id_document";
/// A person's natural identity, sealed.
pub const IDENTITY_ENC: Column = Column::new("client", "id", "identity_enc").legacy(IDENTITY);
/// A person's ID document number, sealed.
pub const ID_DOCUMENT_ENC: Column = Column::new("client", "id", "id_document_enc").legacy(ID_DOCUMENT);
/// A client's addresses (a person's, or an organisation's seat), sealed.
pub const ADDRESSES_ENC: Column = Column::new("client", "id", "addresses_enc").legacy("client.addresses");
/// The columns this crate seals.
pub const SEALED: &[Column] = &[IDENTITY_ENC, ID_DOCUMENT_ENC, ADDRESSES_ENC];

/// Errors of the client registry.
#[derive(Debug, Error)]
pub enum ClientError {
    /// A field failed validation.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's path, e.g. `identity.birth_date`.
        field: &'static str,
        /// What is wrong.
        reason: Refusal,
    },
    /// The password could not be hashed; nothing was stored.
    #[error(transparent)]
    PasswordHash(#[from] kapu_crypto::password::HashError),
    /// Key handling or decryption failed.
    #[error("key error: {0}")]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// Audit failed (and with it the access).
    #[error("audit error: {0}")]
    Audit(#[from] kapu_audit::AuditError),
    /// The central registry could not be asked.
    #[error("the central registry did not answer: {0}")]
    Registry(String),
    /// The tenant has no usable connection to the central registry (what to do is said).
    #[error("{0}")]
    NoRegistry(String),
    /// Queueing an e-mail failed.
    #[error("job error: {0}")]
    Jobs(#[from] kapu_jobs::JobsError),
    /// Stored data that does not decode.
    #[error("stored data does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Természetes személyazonosító adatok: how Hungarian registries identify a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaturalIdentity {
    /// Family name (családi név).
    pub family_name: String,
    /// Given name(s) (utónév).
    pub given_name: String,
    /// Birth name (születési név), if different.
    pub birth_name: Option<String>,
    /// Mother's birth name (anyja születési neve).
    pub mother_birth_name: String,
    /// Birth place (születési hely).
    pub birth_place: String,
    /// Birth date (születési idő).
    pub birth_date: NaiveDate,
}

/// A client as staff see it.
#[derive(Clone, Debug, Serialize)]
pub struct Client {
    /// Id.
    pub id: Uuid,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Natural identity data.
    pub identity: NaturalIdentity,
    /// Number of the ID document shown in person, if recorded.
    pub id_document: Option<String>,
    /// Permanent and temporary addresses.
    pub addresses: Vec<organisation::Address>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Resident card number (e.g. Hegyvidék Kártya).
    pub resident_card: Option<String>,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// A new natural person.
#[derive(Clone, Debug, Deserialize)]
pub struct NewPerson {
    /// Contact e-mail.
    pub email: Option<String>,
    /// Natural identity data.
    pub identity: NaturalIdentity,
    /// ID document number.
    pub id_document: Option<String>,
    /// Permanent and temporary addresses.
    #[serde(default)]
    pub addresses: Vec<organisation::Address>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Resident card number.
    #[serde(default)]
    pub resident_card: Option<String>,
}

/// Staff access context: who reads or writes, and why. Required by every function here.
#[derive(Clone, Debug)]
pub struct Access<'a> {
    /// Who.
    pub actor: &'a Actor,
    /// Why.
    pub reason: &'a str,
}

pub(crate) fn invalid(field: &'static str, reason: Refusal) -> ClientError {
    ClientError::Invalid { field, reason }
}

fn validate(p: &NewPerson, now: DateTime<Utc>) -> Result<(), ClientError> {
    let id = &p.identity;
    for (field, v) in [
        ("identity.family_name", &id.family_name),
        ("identity.given_name", &id.given_name),
        ("identity.mother_birth_name", &id.mother_birth_name),
        ("identity.birth_place", &id.birth_place),
    ] {
        if v.trim().is_empty() {
            return Err(invalid(field, Refusal::Required));
        }
        if v.chars().count() > 100 {
            return Err(invalid(field, Refusal::too_long(100)));
        }
    }
    if id.birth_date > now.date_naive() {
        return Err(invalid("identity.birth_date", Refusal::InFuture));
    }
    if id.birth_date < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or_default() {
        return Err(invalid("identity.birth_date", Refusal::ImplausiblyEarly { min: "1880-01-01".into() }));
    }
    if let Some(e) = &p.email
        && (!e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.')) || e.len() > 254)
    {
        return Err(invalid("email", Refusal::InvalidEmail));
    }
    organisation::check_addresses(&p.addresses)?;
    if p.addresses.iter().any(|a| a.kind == organisation::AddressKind::Seat) {
        return Err(invalid("addresses", Refusal::SeatForPerson));
    }
    if let Some(d) = &p.id_document {
        let n = normalize_document(d);
        if n.len() < 6 || n.len() > 20 {
            return Err(invalid("id_document", Refusal::InvalidDocumentNumber));
        }
    }
    Ok(())
}

fn normalize_name(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

pub(crate) fn normalize_document(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_uppercase()
}

fn identity_index(ring: &Keyring, family: &str, given: &str, birth_date: NaiveDate) -> Vec<u8> {
    ring.blind_index(IDENTITY, &format!("{}|{}|{}", normalize_name(family), normalize_name(given), birth_date))
}

/// Registers a natural person.
pub async fn create_person(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    new: NewPerson,
    now: DateTime<Utc>,
) -> Result<Client, ClientError> {
    validate(&new, now)?;
    let id = Uuid::now_v7();
    let identity_enc = ring.seal(&IDENTITY_ENC.at(id), &serde_json::to_vec(&new.identity)?)?;
    let identity_bidx = identity_index(ring, &new.identity.family_name, &new.identity.given_name, new.identity.birth_date);
    let doc = new.id_document.as_deref().map(normalize_document);
    let doc_enc = doc.as_deref().map(|d| ring.seal(&ID_DOCUMENT_ENC.at(id), d.as_bytes())).transpose()?;
    let doc_bidx = doc.as_deref().map(|d| ring.blind_index(ID_DOCUMENT, d));
    let res = sqlx::query(
        "INSERT INTO client (id, kind, email, identity_enc, identity_bidx, id_document_enc, id_document_bidx, addresses_enc, phone, resident_card, created_at, updated_at)
         VALUES ($1, 'person', $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(&new.email)
    .bind(identity_enc)
    .bind(identity_bidx)
    .bind(doc_enc)
    .bind(doc_bidx)
    .bind(organisation::seal_addresses(ring, id, &new.addresses)?)
    .bind(&new.phone)
    .bind(&new.resident_card)
    .bind(now)
    .execute(tx.conn())
    .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("client_resident_card_key") => {
            return Err(invalid("resident_card", Refusal::Taken));
        }
        other => {
            other?;
        }
    }
    let fields = if doc.is_some() { vec!["email", "identity", "id_document"] } else { vec!["email", "identity"] };
    audit(tx, &access, "client.create", Some(id), serde_json::json!({ "fields": fields }), now).await?;
    Ok(Client {
        id,
        email: new.email,
        identity: new.identity,
        id_document: doc,
        addresses: new.addresses,
        phone: new.phone,
        resident_card: new.resident_card,
        created_at: now,
    })
}

pub(crate) async fn audit(
    tx: &mut TenantTx,
    access: &Access<'_>,
    action: &str,
    subject: Option<Uuid>,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ClientError> {
    kapu_audit::record(tx, AuditEvent { actor: access.actor, action, subject_client_id: subject, reason: access.reason, details }, now)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: Uuid,
    email: Option<String>,
    identity_enc: Vec<u8>,
    id_document_enc: Option<Vec<u8>>,
    addresses_enc: Option<Vec<u8>>,
    phone: Option<String>,
    resident_card: Option<String>,
    created_at: DateTime<Utc>,
}

fn open(ring: &Keyring, row: ClientRow) -> Result<Client, ClientError> {
    let identity = serde_json::from_slice(&ring.open(&IDENTITY_ENC.at(row.id), &row.identity_enc)?)?;
    let id_document = row
        .id_document_enc
        .map(|d| ring.open(&ID_DOCUMENT_ENC.at(row.id), &d).map(|b| String::from_utf8_lossy(&b).into_owned()))
        .transpose()?;
    let addresses = organisation::open_addresses(ring, row.id, row.addresses_enc.as_deref())?;
    Ok(Client {
        id: row.id,
        email: row.email,
        identity,
        id_document,
        addresses,
        phone: row.phone,
        resident_card: row.resident_card,
        created_at: row.created_at,
    })
}

const SELECT: &str = "SELECT id, email, identity_enc, id_document_enc, addresses_enc, phone, resident_card, created_at FROM client";

/// Reads one client, recording the access.
pub async fn get(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Client>, ClientError> {
    let Some((client, pending)) = get_recording_later(tx, ring, id).await? else { return Ok(None) };
    pending.record(tx, access, now).await?;
    Ok(Some(client))
}

/// Like [`get`], for a transaction that goes on for a while: the access is written to the
/// audit chain when the caller records the returned [`PendingAccess`], before its commit.
/// A record locks the chain's head until the commit, so a long transaction of a busy tenant
/// (a case submission) records last rather than holding every other audited access back.
pub async fn get_recording_later(tx: &mut TenantTx, ring: &Keyring, id: Uuid) -> Result<Option<(Client, PendingAccess)>, ClientError> {
    let row: Option<ClientRow> =
        sqlx::query_as(&format!("{SELECT} WHERE id = $1 AND kind = 'person'")).bind(id).fetch_optional(tx.conn()).await?;
    let Some(row) = row else { return Ok(None) };
    let client = open(ring, row)?;
    let pending = PendingAccess {
        action: "client.read",
        subject: id,
        details: serde_json::json!({ "fields": ["email", "identity", "id_document"] }),
    };
    Ok(Some((client, pending)))
}

/// An access to a client's personal data that is yet to be written to the audit chain.
/// It must be recorded in the transaction that read the data, before its commit.
#[must_use = "an access to personal data must be recorded before the transaction commits"]
#[derive(Debug)]
pub struct PendingAccess {
    pub(crate) action: &'static str,
    pub(crate) subject: Uuid,
    pub(crate) details: serde_json::Value,
}

impl PendingAccess {
    /// Writes the access to the audit chain: who (`access`) read whose data, and why.
    pub async fn record(self, tx: &mut TenantTx, access: Access<'_>, now: DateTime<Utc>) -> Result<(), ClientError> {
        audit(tx, &access, self.action, Some(self.subject), self.details, now).await
    }

    /// The statement that writes the access to the audit chain after `head` (locked by
    /// this transaction), for a caller that sends it with its other writes.
    pub fn record_after(self, head: &mut kapu_audit::Head, access: Access<'_>, now: DateTime<Utc>) -> kapu_core::Statement {
        let event = AuditEvent {
            actor: access.actor,
            action: self.action,
            subject_client_id: Some(self.subject),
            reason: access.reason,
            details: self.details,
        };
        head.record(event, now)
    }
}

/// Search criteria: each given criterion must match exactly.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClientQuery {
    /// ID document number.
    pub id_document: Option<String>,
    /// Family name, with `given_name` and `birth_date`.
    pub family_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
}

/// Finds clients by ID document number or by name and birth date (through the blind
/// indexes), recording one access per client found.
pub async fn search(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    q: &ClientQuery,
    now: DateTime<Utc>,
) -> Result<Vec<Client>, ClientError> {
    let by_doc = q.id_document.as_deref().map(|d| ring.blind_index(ID_DOCUMENT, &normalize_document(d)));
    let by_identity = match (&q.family_name, &q.given_name, q.birth_date) {
        (Some(f), Some(g), Some(b)) => Some(identity_index(ring, f, g, b)),
        (None, None, None) => None,
        _ => {
            return Err(invalid(
                "family_name",
                Refusal::GoTogether { fields: vec!["family_name".into(), "given_name".into(), "birth_date".into()] },
            ));
        }
    };
    if by_doc.is_none() && by_identity.is_none() {
        return Err(invalid(
            "id_document",
            Refusal::OneOf { fields: vec!["id_document".into(), "family_name, given_name, birth_date".into()] },
        ));
    }
    let rows: Vec<ClientRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE kind = 'person' AND ($1::bytea IS NULL OR id_document_bidx = $1) AND ($2::bytea IS NULL OR identity_bidx = $2) ORDER BY created_at LIMIT 100"
    ))
    .bind(by_doc)
    .bind(by_identity)
    .fetch_all(tx.conn())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let c = open(ring, row)?;
        audit(
            tx,
            &access,
            "client.read",
            Some(c.id),
            serde_json::json!({ "via": "search", "fields": ["email", "identity", "id_document"] }),
            now,
        )
        .await?;
        out.push(c);
    }
    Ok(out)
}

/// How many clients the tenant has.
pub async fn count(tx: &mut TenantTx) -> Result<i64, ClientError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM client").fetch_one(tx.conn()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize_name("  Kovács   János "), "kovács jános");
        assert_eq!(normalize_document("123456 ab"), "123456AB");
    }
}
