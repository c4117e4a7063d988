//! In-person identification: a clerk records the ID document a client showed, the platform
//! checks the natural identity data, the document and the address against the central
//! registry (SZL, through the tenant's registry plugin), and a match raises the client's identification level. A mismatch names
//! the differing fields and changes nothing. Every check is audited.

use chrono::{DateTime, NaiveDate, Utc};
use kapu_core::{Refusal, TenantSlug, TenantTx};
use kapu_crypto::Keyring;
use serde::Serialize;
use uuid::Uuid;

use crate::organisation::{Address, AddressKind};
use crate::{Access, ClientError, ID_DOCUMENT, audit, normalize_document};

/// The kind of ID document shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Személyi igazolvány.
    IdentityCard,
    /// Útlevél.
    Passport,
    /// Vezetői engedély.
    DrivingLicence,
}

/// The ID document a client showed at the counter.
#[derive(Clone, Debug)]
pub struct IdDocument {
    /// Kind.
    pub kind: DocumentKind,
    /// Number as printed.
    pub number: String,
}

/// What the registry is asked.
#[derive(Clone, Debug)]
pub struct RegistryQuery {
    /// Family name.
    pub family_name: String,
    /// Given name(s).
    pub given_name: String,
    /// Birth name, if different.
    pub birth_name: Option<String>,
    /// Mother's birth name.
    pub mother_birth_name: String,
    /// Birth place.
    pub birth_place: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// The document shown.
    pub document: IdDocument,
    /// The permanent address on record, if any.
    pub address: Option<Address>,
}

/// The registry's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// Everything matches.
    Match,
    /// The person was found by the document, but these fields differ.
    Mismatch(Vec<String>),
    /// No person has that document.
    NotFound,
}

/// Why the registry gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The tenant has no usable registry connection; the message says what to do.
    #[error("{0}")]
    NotConfigured(String),
    /// The registry (or the connection to it) failed.
    #[error("{0}")]
    Failed(String),
}

/// The central personal data and address registry, as Kapu sees it: each tenant reaches it
/// through its own connection (in Kapu, the tenant's registry plugin).
#[async_trait::async_trait]
pub trait Registry: Send + Sync {
    /// Checks a person's data against the registry on behalf of `tenant`.
    async fn check(&self, tenant: &TenantSlug, query: &RegistryQuery, now: DateTime<Utc>) -> Result<RegistryAnswer, RegistryError>;
}

/// The outcome of an in-person identification.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Identification {
    /// The registry confirmed the data; the client is identified in person.
    Identified {
        /// Whether a portal account was linked and raised.
        account_linked: bool,
    },
    /// The registry found the person but these fields differ; nothing was changed.
    Mismatch {
        /// The differing fields.
        fields: Vec<String>,
    },
    /// The registry has no person with that document; nothing was changed.
    NotFound,
}

/// What the clerk records at the counter.
#[derive(Clone, Debug)]
pub struct InPerson<'a> {
    /// The client record.
    pub client_id: Uuid,
    /// The document shown.
    pub document: IdDocument,
    /// The client's portal account to link and raise, by its e-mail.
    pub account_email: Option<&'a str>,
}

/// Checks a client against the registry with the document shown, and on a match records
/// the document and raises the level (linking the portal account, if named).
pub async fn identify_in_person(
    tx: &mut TenantTx,
    ring: &Keyring,
    access: Access<'_>,
    req: InPerson<'_>,
    registry: &dyn Registry,
    now: DateTime<Utc>,
) -> Result<Option<Identification>, ClientError> {
    let InPerson { client_id, document, account_email } = req;
    let Some(client) = crate::get(tx, ring, access.clone(), client_id, now).await? else { return Ok(None) };
    let number = normalize_document(&document.number);
    if number.len() < 6 {
        return Err(ClientError::Invalid { field: "document_number", reason: Refusal::InvalidDocumentNumber });
    }
    let account = match account_email {
        Some(e) => {
            let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM client_account WHERE lower(email) = lower($1)")
                .bind(e.trim())
                .fetch_optional(tx.conn())
                .await?;
            Some(id.ok_or_else(|| ClientError::Invalid { field: "account_email", reason: Refusal::UnknownAccount })?)
        }
        None => None,
    };
    let i = &client.identity;
    let query = RegistryQuery {
        family_name: i.family_name.clone(),
        given_name: i.given_name.clone(),
        birth_name: i.birth_name.clone(),
        mother_birth_name: i.mother_birth_name.clone(),
        birth_place: i.birth_place.clone(),
        birth_date: i.birth_date,
        document: IdDocument { kind: document.kind, number: number.clone() },
        address: client.addresses.iter().find(|a| a.kind == AddressKind::Permanent).cloned(),
    };
    let answer = registry.check(tx.slug(), &query, now).await.map_err(|e| match e {
        RegistryError::NotConfigured(m) => ClientError::NoRegistry(m),
        RegistryError::Failed(m) => ClientError::Registry(m),
    })?;
    let outcome = match answer {
        RegistryAnswer::Match => {
            sqlx::query("UPDATE client SET id_document_enc = $2, id_document_bidx = $3, updated_at = $4 WHERE id = $1")
                .bind(client_id)
                .bind(ring.seal(&crate::ID_DOCUMENT_ENC.at(client_id), number.as_bytes())?)
                .bind(ring.blind_index(ID_DOCUMENT, &number))
                .bind(now)
                .execute(tx.conn())
                .await?;
            if let Some(account) = account {
                sqlx::query(
                    "UPDATE client_account SET client_id = $2,
                     identification_level = CASE WHEN identification_level = 'kau' THEN 'kau' ELSE 'in_person' END WHERE id = $1",
                )
                .bind(account)
                .bind(client_id)
                .execute(tx.conn())
                .await?;
            }
            Identification::Identified { account_linked: account.is_some() }
        }
        RegistryAnswer::Mismatch(fields) => Identification::Mismatch { fields },
        RegistryAnswer::NotFound => Identification::NotFound,
    };
    audit(tx, &access, "client.identify", Some(client_id), serde_json::json!({ "document_kind": document.kind, "result": &outcome }), now)
        .await?;
    Ok(Some(outcome))
}
