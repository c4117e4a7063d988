//! Clients' personal data. Every call needs the purpose of the access in the
//! `X-Access-Reason` header; it goes into the audit record with who, whom and when.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, Utc};
use kapu_clients::organisation::{Address, AddressKind, NewMandate, NewOrganisation};
use kapu_clients::{Access, ClientQuery, NaturalIdentity, NewPerson};
use kapu_core::Refusal;
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// Natural identity data (természetes személyazonosító adatok).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
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
}

/// What an address is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressKindView {
    /// Lakóhely.
    Permanent,
    /// Tartózkodási hely.
    Temporary,
    /// Székhely (organisations).
    Seat,
}

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    /// What it is for.
    pub kind: AddressKindView,
    /// Four-digit postcode.
    pub postcode: String,
    /// Settlement.
    pub city: String,
    /// Public place and house number.
    pub street: String,
}

impl From<AddressView> for Address {
    fn from(a: AddressView) -> Self {
        let kind = match a.kind {
            AddressKindView::Permanent => AddressKind::Permanent,
            AddressKindView::Temporary => AddressKind::Temporary,
            AddressKindView::Seat => AddressKind::Seat,
        };
        Address { kind, postcode: a.postcode, city: a.city, street: a.street }
    }
}

impl From<Address> for AddressView {
    fn from(a: Address) -> Self {
        let kind = match a.kind {
            AddressKind::Permanent => AddressKindView::Permanent,
            AddressKind::Temporary => AddressKindView::Temporary,
            AddressKind::Seat => AddressKindView::Seat,
        };
        AddressView { kind, postcode: a.postcode, city: a.city, street: a.street }
    }
}

/// A new natural person.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewClientRequest {
    /// Contact e-mail.
    pub email: Option<String>,
    /// Natural identity data.
    pub identity: IdentityView,
    /// ID document number.
    pub id_document: Option<String>,
    /// Permanent and temporary addresses.
    #[serde(default)]
    pub addresses: Vec<AddressView>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Resident card number.
    pub resident_card: Option<String>,
}

/// A client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// Id.
    pub id: Uuid,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Natural identity data.
    pub identity: IdentityView,
    /// ID document number.
    pub id_document: Option<String>,
    /// Addresses.
    pub addresses: Vec<AddressView>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Resident card number.
    pub resident_card: Option<String>,
}

impl From<kapu_clients::Client> for ClientView {
    fn from(c: kapu_clients::Client) -> Self {
        let i = c.identity;
        Self {
            id: c.id,
            email: c.email,
            identity: IdentityView {
                family_name: i.family_name,
                given_name: i.given_name,
                birth_name: i.birth_name,
                mother_birth_name: i.mother_birth_name,
                birth_place: i.birth_place,
                birth_date: i.birth_date,
            },
            id_document: c.id_document,
            addresses: c.addresses.into_iter().map(AddressView::from).collect(),
            phone: c.phone,
            resident_card: c.resident_card,
        }
    }
}

/// Search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    /// Matching clients.
    pub clients: Vec<ClientView>,
}

/// Exact-match search criteria.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ClientSearch {
    /// ID document number.
    pub id_document: Option<String>,
    /// Family name (with given name and birth date).
    pub family_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
}

/// A staff member's access to personal data: permission checked, purpose stated, the
/// tenant's keys at hand, the transaction open.
pub(crate) struct PersonalData {
    pub(crate) a: crate::auth::Authed,
    pub(crate) actor: kapu_audit::Actor,
    pub(crate) reason: String,
    pub(crate) ring: std::sync::Arc<kapu_crypto::Keyring>,
}

impl PersonalData {
    pub(crate) async fn open(state: &AppState, s: SignedIn, headers: &HeaderMap, permission: Permission) -> Result<Self, ApiError> {
        s.require(permission)?;
        let reason = reason(headers)?;
        let actor = s.actor();
        let SignedIn(mut a) = s;
        let ring = a.tx.keyring(state).await?;
        Ok(Self { a, actor, reason, ring })
    }
}

fn reason(headers: &HeaderMap) -> Result<String, ApiError> {
    // Clerks write the purpose in Hungarian. Browsers cannot put UTF-8 in a header, so it
    // may come percent-encoded (as encodeURIComponent makes it); raw UTF-8 is accepted too.
    let raw = headers.get("x-access-reason").and_then(|v| std::str::from_utf8(v.as_bytes()).ok()).unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::field("X-Access-Reason", Refusal::Unreadable { detail: "not valid UTF-8 after percent-decoding".into() }))?;
    let r = decoded.trim();
    if r.is_empty() || r.chars().count() > 200 {
        return Err(ApiError::field("X-Access-Reason", Refusal::length(1, 200)));
    }
    Ok(r.to_owned())
}

/// Register a natural person.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClientRequest,
    params(("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 201, body = ClientView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_client(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Json(req): Json<NewClientRequest>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::WriteClients).await?;
    let i = req.identity;
    let new = NewPerson {
        email: req.email,
        identity: NaturalIdentity {
            family_name: i.family_name,
            given_name: i.given_name,
            birth_name: i.birth_name,
            mother_birth_name: i.mother_birth_name,
            birth_place: i.birth_place,
            birth_date: i.birth_date,
        },
        id_document: req.id_document,
        addresses: req.addresses.into_iter().map(Address::from).collect(),
        phone: req.phone,
        resident_card: req.resident_card,
    };
    let client =
        kapu_clients::create_person(p.a.tx.tenant()?, &p.ring, Access { actor: &p.actor, reason: &p.reason }, new, Utc::now()).await?;
    p.a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(client.into())))
}

/// Read one client.
#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 200, body = ClientView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_client(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<ClientView>, ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::ReadClients).await?;
    let client = kapu_clients::get(p.a.tx.tenant()?, &p.ring, Access { actor: &p.actor, reason: &p.reason }, id, Utc::now()).await?;
    p.a.tx.commit().await?;
    client.map(|c| Json(c.into())).ok_or_else(|| ApiError::NotFound(format!("there is no client {id}")))
}

/// Find clients by ID document number, or by name and birth date.
#[utoipa::path(get, path = "/clients", tag = "clients",
    params(ClientSearch, ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 200, body = ClientList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn search_clients(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Query(q): Query<ClientSearch>,
) -> Result<Json<ClientList>, ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::ReadClients).await?;
    let query = ClientQuery { id_document: q.id_document, family_name: q.family_name, given_name: q.given_name, birth_date: q.birth_date };
    let found = kapu_clients::search(p.a.tx.tenant()?, &p.ring, Access { actor: &p.actor, reason: &p.reason }, &query, Utc::now()).await?;
    p.a.tx.commit().await?;
    Ok(Json(ClientList { clients: found.into_iter().map(ClientView::from).collect() }))
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrganisationRequest {
    /// Registered name.
    pub name: String,
    /// Tax number (adószám), `xxxxxxxx-y-zz`; the check digit is verified.
    pub tax_number: String,
    /// Company registration number.
    pub registration_number: Option<String>,
    /// Seat.
    pub seat: Option<AddressView>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    /// Client id.
    pub id: Uuid,
    /// Registered name.
    pub name: String,
    /// Tax number.
    pub tax_number: String,
    /// Company registration number.
    pub registration_number: Option<String>,
    /// Seat.
    pub seat: Option<AddressView>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

impl From<kapu_clients::organisation::Organisation> for OrganisationView {
    fn from(o: kapu_clients::organisation::Organisation) -> Self {
        Self {
            id: o.id,
            name: o.name,
            tax_number: o.tax_number,
            registration_number: o.registration_number,
            seat: o.seat.map(AddressView::from),
            email: o.email,
            phone: o.phone,
        }
    }
}

/// Register an organisation.
#[utoipa::path(post, path = "/organisations", tag = "clients", request_body = NewOrganisationRequest,
    params(("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 201, body = OrganisationView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn create_organisation(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Json(req): Json<NewOrganisationRequest>,
) -> Result<(StatusCode, Json<OrganisationView>), ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::WriteClients).await?;
    let new = NewOrganisation {
        name: req.name,
        tax_number: req.tax_number,
        registration_number: req.registration_number,
        seat: req.seat.map(Address::from),
        email: req.email,
        phone: req.phone,
    };
    let org = kapu_clients::organisation::create_organisation(
        p.a.tx.tenant()?,
        &p.ring,
        Access { actor: &p.actor, reason: &p.reason },
        new,
        Utc::now(),
    )
    .await?;
    p.a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// Read an organisation.
#[utoipa::path(get, path = "/organisations/{id}", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 200, body = OrganisationView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn get_organisation(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Json<OrganisationView>, ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::ReadClients).await?;
    let org = kapu_clients::organisation::get_organisation(
        p.a.tx.tenant()?,
        &p.ring,
        Access { actor: &p.actor, reason: &p.reason },
        id,
        Utc::now(),
    )
    .await?;
    p.a.tx.commit().await?;
    org.map(|o| Json(o.into())).ok_or_else(|| ApiError::NotFound(format!("there is no organisation {id}")))
}

/// A new mandate: a representative's client account acting for a principal.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMandateRequest {
    /// The organisation or person represented.
    pub principal_client_id: Uuid,
    /// The representative's client account.
    pub representative_account_id: Uuid,
    /// Case type codes covered, or `["*"]` for all.
    pub scope: Vec<String>,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day, if limited.
    pub valid_until: Option<NaiveDate>,
}

/// The id of a new record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Id.
    pub id: Uuid,
}

/// Record a mandate.
#[utoipa::path(post, path = "/mandates", tag = "clients", request_body = NewMandateRequest,
    params(("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 201, body = Created), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn grant_mandate(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Json(req): Json<NewMandateRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::WriteClients).await?;
    let new = NewMandate {
        principal_client_id: req.principal_client_id,
        representative_account_id: req.representative_account_id,
        scope: req.scope,
        valid_from: req.valid_from,
        valid_until: req.valid_until,
    };
    let id =
        kapu_clients::organisation::grant_mandate(p.a.tx.tenant()?, Access { actor: &p.actor, reason: &p.reason }, new, Utc::now()).await?;
    p.a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Revoke a mandate.
#[utoipa::path(post, path = "/mandates/{id}/revoke", tag = "clients",
    params(("id" = Uuid, Path, description = "Mandate id"), ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_mandate(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut p = PersonalData::open(&state, s, &headers, Permission::WriteClients).await?;
    let done =
        kapu_clients::organisation::revoke_mandate(p.a.tx.tenant()?, Access { actor: &p.actor, reason: &p.reason }, id, Utc::now()).await?;
    p.a.tx.commit().await?;
    if done { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound(format!("there is no active mandate {id}"))) }
}

/// The kind of ID document shown at the counter.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKindView {
    /// Személyi igazolvány.
    IdentityCard,
    /// Útlevél.
    Passport,
    /// Vezetői engedély.
    DrivingLicence,
}

/// What the clerk records at the counter.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IdentifyRequest {
    /// Kind of the document shown.
    pub document_kind: DocumentKindView,
    /// Its number.
    pub document_number: String,
    /// The client's portal account to link and raise, by e-mail.
    pub account_email: Option<String>,
}

/// The outcome of an in-person identification.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentificationView {
    /// `identified`, `mismatch` (nothing changed) or `not_found` (nothing changed).
    pub outcome: String,
    /// The fields that differ from the registry, on a mismatch.
    pub fields: Vec<String>,
    /// Whether a portal account was linked and raised to `in_person`.
    pub account_linked: bool,
}

/// Identify a client in person: check the document shown and the client's data against the
/// central registry. A match records the document and raises the level; a mismatch names
/// the differing fields and changes nothing.
#[utoipa::path(post, path = "/clients/{id}/identify", tag = "clients", request_body = IdentifyRequest,
    params(("id" = Uuid, Path, description = "Client id"), ("X-Access-Reason" = String, Header, min_length = 1, max_length = 200, pattern = r"\S", description = "Purpose of the access, for the audit log: 1 to 200 characters of UTF-8, percent-encoded as encodeURIComponent does (plain ASCII needs no encoding); the limits count the decoded characters, without surrounding white space")),
    responses((status = 200, body = IdentificationView), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not-configured`: the tenant has no (configured) registry plugin; the detail says what to do", body = Problem, content_type = "application/problem+json")))]
pub async fn identify(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(req): Json<IdentifyRequest>,
) -> Result<Json<IdentificationView>, ApiError> {
    use kapu_clients::identification::{DocumentKind, IdDocument, Identification, InPerson};
    let registry = state.registry.clone().ok_or_else(|| {
        ApiError::NotConfigured("this deployment runs no plugins, so no central registry can be asked; the operator enables them".into())
    })?;
    let mut p = PersonalData::open(&state, s, &headers, Permission::WriteClients).await?;
    let kind = match req.document_kind {
        DocumentKindView::IdentityCard => DocumentKind::IdentityCard,
        DocumentKindView::Passport => DocumentKind::Passport,
        DocumentKindView::DrivingLicence => DocumentKind::DrivingLicence,
    };
    let in_person =
        InPerson { client_id: id, document: IdDocument { kind, number: req.document_number }, account_email: req.account_email.as_deref() };
    let outcome = kapu_clients::identification::identify_in_person(
        p.a.tx.tenant()?,
        &p.ring,
        Access { actor: &p.actor, reason: &p.reason },
        in_person,
        registry.as_ref(),
        Utc::now(),
    )
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("there is no client {id}")))?;
    p.a.tx.commit().await?;
    Ok(Json(match outcome {
        Identification::Identified { account_linked } => {
            IdentificationView { outcome: "identified".into(), fields: vec![], account_linked }
        }
        Identification::Mismatch { fields } => IdentificationView { outcome: "mismatch".into(), fields, account_linked: false },
        Identification::NotFound => IdentificationView { outcome: "not_found".into(), fields: vec![], account_linked: false },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_reason(raw: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-access-reason", HeaderValue::from_bytes(raw).unwrap());
        h
    }

    #[test]
    fn the_purpose_is_percent_decoded_and_trimmed() {
        assert_eq!(reason(&with_reason(b"ellenorzes")).unwrap(), "ellenorzes");
        assert_eq!(reason(&with_reason(b"%20%C3%BCgyf%C3%A9lfogad%C3%A1s%20")).unwrap(), "ügyfélfogadás");
        assert_eq!(reason(&with_reason("ügyfélfogadás".as_bytes())).unwrap(), "ügyfélfogadás", "raw UTF-8 too");
        assert_eq!(reason(&with_reason(b"100%")).unwrap(), "100%", "a lone percent sign stays");
    }

    #[test]
    fn the_purpose_is_one_to_two_hundred_characters_not_bytes() {
        let long = "ő".repeat(200);
        assert_eq!(reason(&with_reason(long.as_bytes())).unwrap(), long, "200 characters of 2 bytes each");
        let over = "a".repeat(201);
        for bad in [over.as_bytes(), b"", b"   ", b"%20%09"] {
            let Err(ApiError::Validation(errors)) = reason(&with_reason(bad)) else { panic!("{bad:?} was accepted") };
            assert_eq!(errors[0].field, "X-Access-Reason");
        }
        assert!(matches!(reason(&HeaderMap::new()), Err(ApiError::Validation(_))), "a missing header");
        assert!(matches!(reason(&with_reason(b"%FF%FE")), Err(ApiError::Validation(_))), "not UTF-8 once decoded");
    }
}
