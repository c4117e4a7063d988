//! National login (KAÜ, Központi Azonosítási Ügynök): each tenant is a SAML 2.0 service
//! provider of it. [`begin`] records a signed `AuthnRequest` and returns the identity
//! provider's URL to send the person to; [`complete`] verifies the response that comes back
//! (through a [`ServiceProviderEngine`]), refuses replays and responses to requests that are
//! not ours or already answered, and signs the person in with the natural identity data
//! asserted, raising their account to level `kau`. The profile is described in
//! `platform/kapu-sim/KAU-PROFILE.md`.
//!
//! **Architecture Invariant:** a refused response changes nothing: every check runs in the
//! caller's transaction, which the caller commits only on success.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use kapu_clients::ClientError;
use kapu_clients::account::{ClientSession, NationalLogin, NationalOutcome};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use kapu_saml::{IdentityProvider, KeyPair, SamlError, ServiceProvider, ServiceProviderEngine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use uuid::Uuid;

/// The attributes of the profile.
pub mod attr {
    /// Name in use, family name first (`Minta Márta`).
    pub const NAME: &str = "viseltNev";
    /// Birth name, family name first.
    pub const BIRTH_NAME: &str = "szuletesiNev";
    /// Mother's birth name.
    pub const MOTHER_NAME: &str = "anyjaNeve";
    /// Place of birth.
    pub const BIRTH_PLACE: &str = "szuletesiHely";
    /// Date of birth, `YYYY-MM-DD`.
    pub const BIRTH_DATE: &str = "szuletesiIdo";
    /// The e-mail address registered with the national login.
    pub const EMAIL: &str = "emailAddress";
    /// Every attribute the service provider asks for.
    pub const ALL: [&str; 6] = [NAME, BIRTH_NAME, MOTHER_NAME, BIRTH_PLACE, BIRTH_DATE, EMAIL];
}

/// Assurance levels, as authentication context classes (the eIDAS levels of assurance).
pub mod assurance {
    /// Low (e.g. a password alone).
    pub const LOW: &str = "http://eidas.europa.eu/LoA/low";
    /// Substantial (Ügyfélkapu+: password and a second factor).
    pub const SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";
    /// High (the eID card, or the DÁP mobile app).
    pub const HIGH: &str = "http://eidas.europa.eu/LoA/high";

    /// The rank of a level; unknown classes rank lowest.
    pub fn rank(class: &str) -> u8 {
        match class {
            HIGH => 3,
            SUBSTANTIAL => 2,
            LOW => 1,
            _ => 0,
        }
    }
}

/// Why a national sign-in did not happen. [`KauError::code`] is stable, for the portal.
#[derive(Debug, Error)]
pub enum KauError {
    /// The tenant has not configured the national login.
    #[error("the national login is not configured for this municipality")]
    NotConfigured,
    /// The tenant's configuration is invalid.
    #[error("the national login configuration is invalid: {0}")]
    Config(String),
    /// The SAML response was refused.
    #[error(transparent)]
    Refused(#[from] SamlError),
    /// The response answers no request of ours, or one already answered or expired.
    #[error("the response answers no pending sign-in request of this municipality")]
    UnknownRequest,
    /// The response answers a request that another browser started, or the browser that
    /// posts it has lost the request's binding cookie (login CSRF).
    #[error("the response answers a sign-in that was not started in this browser")]
    OtherBrowser,
    /// The assertion has been used before.
    #[error("this assertion has already been used (replay)")]
    Replayed,
    /// A required attribute is missing or unreadable.
    #[error("the attribute {0} is missing or invalid")]
    Attribute(&'static str),
    /// The person authenticated at a lower level than required.
    #[error("authenticated at assurance level {0:?}, below the level required")]
    InsufficientAssurance(String),
    /// The client registry refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Key handling failed.
    #[error("key error: {0}")]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl KauError {
    /// A stable code, e.g. `kau_replayed` or `kau_bad_signature`.
    pub fn code(&self) -> String {
        match self {
            KauError::NotConfigured => "kau_not_configured".into(),
            KauError::Config(_) => "kau_config".into(),
            KauError::Refused(e) => format!("kau_{}", e.code()),
            KauError::UnknownRequest => "kau_unknown_request".into(),
            KauError::OtherBrowser => "kau_other_browser".into(),
            KauError::Replayed => "kau_replayed".into(),
            KauError::Attribute(_) => "kau_attribute".into(),
            KauError::InsufficientAssurance(_) => "kau_assurance".into(),
            KauError::Client(ClientError::Invalid { reason: r @ (Refusal::KauOtherPerson | Refusal::KauEmailTaken), .. }) => {
                r.code().into()
            }
            KauError::Client(ClientError::Invalid { .. }) => "kau_attribute".into(),
            KauError::Client(_) | KauError::Crypto(_) | KauError::Database(_) => "internal".into(),
        }
    }

    /// Whether the fault is the message's (a refusal) rather than ours.
    pub fn is_refusal(&self) -> bool {
        self.code() != "internal" && !matches!(self, KauError::Config(_))
    }
}

/// A tenant's national login settings (`kau` in the tenant's settings).
#[derive(Clone, Debug)]
pub struct KauConfig {
    /// The identity provider trusted.
    pub idp: IdentityProvider,
    /// The lowest assurance level accepted (an authentication context class).
    pub min_assurance: String,
}

impl KauConfig {
    /// Reads `settings.kau`: `idp_entity_id`, `idp_sso_url`, `idp_certificate` (PEM or
    /// base64 DER) and optionally `min_assurance`. `Ok(None)` when absent.
    pub fn from_settings(settings: &serde_json::Value) -> Result<Option<Self>, KauError> {
        let Some(kau) = settings.get("kau").filter(|v| !v.is_null()) else { return Ok(None) };
        let field = |k: &str| {
            kau.get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| KauError::Config(format!("kau.{k} is missing")))
        };
        let certificate_der = kapu_saml::certificate_der(&field("idp_certificate")?).map_err(|e| KauError::Config(e.to_string()))?;
        let min_assurance = kau.get("min_assurance").and_then(|v| v.as_str()).unwrap_or(assurance::SUBSTANTIAL).to_owned();
        if assurance::rank(&min_assurance) == 0 {
            return Err(KauError::Config(format!("kau.min_assurance {min_assurance:?} is not a known level")));
        }
        Ok(Some(KauConfig {
            idp: IdentityProvider { entity_id: field("idp_entity_id")?, sso_url: field("idp_sso_url")?, certificate_der },
            min_assurance,
        }))
    }
}

/// The tenant's SAML service provider private key, sealed (one row, `id` 1).
pub const SP_KEY: kapu_crypto::Column = kapu_crypto::Column::new("kau_sp_key", "id", "private_key_enc").legacy("kau.sp_private_key");
/// The columns this crate seals.
pub const SEALED: &[kapu_crypto::Column] = &[SP_KEY];

/// The tenant's service provider key, generated and stored (private key sealed) at first use.
pub async fn sp_key(tx: &mut TenantTx, ring: &Keyring, common_name: &str, now: DateTime<Utc>) -> Result<KeyPair, KauError> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT private_key_enc, certificate_der FROM kau_sp_key WHERE id = 1").fetch_optional(tx.conn()).await?;
    if let Some((enc, cert)) = row {
        return Ok(KeyPair { private_key_der: ring.open(&SP_KEY.at(1), &enc)?, certificate_der: cert });
    }
    let key = KeyPair::generate(common_name)?;
    let inserted = sqlx::query(
        "INSERT INTO kau_sp_key (id, private_key_enc, certificate_der, created_at) VALUES (1, $1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(ring.seal(&SP_KEY.at(1), &key.private_key_der)?)
    .bind(&key.certificate_der)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted == 0 {
        // Another request generated it first.
        let (enc, cert): (Vec<u8>, Vec<u8>) =
            sqlx::query_as("SELECT private_key_enc, certificate_der FROM kau_sp_key WHERE id = 1").fetch_one(tx.conn()).await?;
        return Ok(KeyPair { private_key_der: ring.open(&SP_KEY.at(1), &enc)?, certificate_der: cert });
    }
    Ok(key)
}

/// The tenant's service provider metadata.
pub async fn metadata(
    tx: &mut TenantTx,
    ring: &Keyring,
    engine: &dyn ServiceProviderEngine,
    sp: &ServiceProvider,
    now: DateTime<Utc>,
) -> Result<String, KauError> {
    let key = sp_key(tx, ring, &sp.name, now).await?;
    Ok(engine.metadata(sp, &key, &attr::ALL))
}

/// A started sign-in: where to send the browser, and the value that binds the request to
/// it (to keep in a short-lived HttpOnly cookie and give back to [`complete`]).
#[derive(Debug)]
pub struct Started {
    /// The identity provider's URL carrying the signed request.
    pub redirect_url: String,
    /// The browser binding: random, only its SHA-256 is stored with the request.
    pub binding: String,
}

fn binding_hash(binding: &str) -> Vec<u8> {
    Sha256::digest(binding.as_bytes()).to_vec()
}

/// Records a new authentication request, bound to the browser that starts it, and returns
/// where to send that browser. `account`: the portal account signed in now, to link the
/// national identity to.
pub async fn begin(
    tx: &mut TenantTx,
    ring: &Keyring,
    engine: &dyn ServiceProviderEngine,
    config: &KauConfig,
    sp: &ServiceProvider,
    account: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Started, KauError> {
    let key = sp_key(tx, ring, &sp.name, now).await?;
    let request = engine.authn_request(sp, &key, &config.idp, &config.min_assurance, None, now)?;
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let binding = URL_SAFE_NO_PAD.encode(random);
    sqlx::query("DELETE FROM kau_request WHERE expires_at < $1").bind(now - chrono::Duration::days(1)).execute(tx.conn()).await?;
    sqlx::query("DELETE FROM kau_assertion_seen WHERE expires_at < $1").bind(now - chrono::Duration::days(1)).execute(tx.conn()).await?;
    sqlx::query("INSERT INTO kau_request (id, account_id, created_at, expires_at, browser_hash) VALUES ($1, $2, $3, $4, $5)")
        .bind(&request.id)
        .bind(account)
        .bind(now)
        .bind(now + kapu_saml::REQUEST_TTL)
        .bind(binding_hash(&binding))
        .execute(tx.conn())
        .await?;
    Ok(Started { redirect_url: request.redirect_url, binding })
}

/// A completed national sign-in.
#[derive(Debug)]
pub struct Completed {
    /// The session token for the cookie.
    pub token: String,
    /// The session.
    pub session: ClientSession,
    /// What was created on the way.
    pub outcome: NationalOutcome,
}

/// Verifies a `SAMLResponse` and signs the person in. `binding` is the value [`begin`] gave
/// the browser that started the request (from its cookie): a response posted by any other
/// browser is refused, so nobody can sign a victim in to the attacker's account with the
/// attacker's own valid response. On `Err` the caller must roll back.
#[allow(clippy::too_many_arguments)]
pub async fn complete(
    tx: &mut TenantTx,
    ring: &Keyring,
    engine: &dyn ServiceProviderEngine,
    config: &KauConfig,
    sp: &ServiceProvider,
    saml_response: &str,
    binding: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Completed, KauError> {
    let assertion = engine.read_response(sp, &config.idp, saml_response, now)?;
    let fresh =
        sqlx::query("INSERT INTO kau_assertion_seen (assertion_id, seen_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&assertion.id)
            .bind(now)
            .bind(assertion.not_on_or_after + kapu_saml::CLOCK_SKEW)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if fresh == 0 {
        return Err(KauError::Replayed);
    }
    let request: Option<(Option<Uuid>, Option<Vec<u8>>)> = sqlx::query_as(
        "UPDATE kau_request SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id, browser_hash",
    )
    .bind(&assertion.in_response_to)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some((link_account, browser_hash)) = request else { return Err(KauError::UnknownRequest) };
    let same_browser = match (binding.filter(|b| !b.is_empty()), browser_hash) {
        (Some(b), Some(h)) => bool::from(binding_hash(b).ct_eq(&h)),
        _ => false,
    };
    if !same_browser {
        return Err(KauError::OtherBrowser);
    }
    let level = assertion.authn_context.clone().unwrap_or_default();
    if assurance::rank(&level) < assurance::rank(&config.min_assurance) {
        return Err(KauError::InsufficientAssurance(level));
    }
    let login = national_login(&assertion.attributes, level)?;
    let (token, session, outcome) = kapu_clients::account::sign_in_national(tx, ring, &login, link_account, now).await?;
    Ok(Completed { token, session, outcome })
}

/// Natural identity data from the profile's attributes.
fn national_login(attrs: &std::collections::BTreeMap<String, String>, assurance: String) -> Result<NationalLogin, KauError> {
    let get = |name: &'static str| attrs.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).ok_or(KauError::Attribute(name));
    let name = get(attr::NAME)?;
    let (family, given) = name.split_once(char::is_whitespace).ok_or(KauError::Attribute(attr::NAME))?;
    let birth_name = get(attr::BIRTH_NAME)?;
    let birth_date = NaiveDate::parse_from_str(get(attr::BIRTH_DATE)?, "%Y-%m-%d").map_err(|_| KauError::Attribute(attr::BIRTH_DATE))?;
    Ok(NationalLogin {
        identity: kapu_clients::NaturalIdentity {
            family_name: family.trim().to_owned(),
            given_name: given.trim().to_owned(),
            birth_name: (birth_name != name).then(|| birth_name.to_owned()),
            mother_birth_name: get(attr::MOTHER_NAME)?.to_owned(),
            birth_place: get(attr::BIRTH_PLACE)?.to_owned(),
            birth_date,
        },
        email: get(attr::EMAIL)?.to_owned(),
        display_name: name.to_owned(),
        assurance,
    })
}
