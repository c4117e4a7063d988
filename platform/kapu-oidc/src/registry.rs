//! The relying parties a tenant admin registered: confidential (with a secret) or public
//! (PKCE only), with their exact redirect URIs and the scopes they may ask for.

use chrono::{DateTime, Utc};
use kapu_core::{Refusal, Statement, TenantTx};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use subtle::ConstantTimeEq;

use crate::keys::Alg;
use crate::{OAuthCode, OidcError, SCOPES, hash, invalid, new_token, oauth};

/// Whether a relying party can keep a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// A server-side application with a client secret.
    Confidential,
    /// A browser or mobile application: no secret, PKCE required.
    Public,
}

impl ClientKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

/// A registered relying party.
#[derive(Clone, Debug, Serialize)]
pub struct RelyingParty {
    /// The `client_id`.
    pub client_id: String,
    /// The name shown on the consent screen.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKind,
    /// The exact redirect URIs allowed.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The scopes it may ask for.
    pub allowed_scopes: Vec<String>,
    /// The algorithm of its ID tokens.
    pub id_token_alg: Alg,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// A registration request.
#[derive(Clone, Debug, Deserialize)]
pub struct NewRelyingParty {
    /// Name shown to people.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKind,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes; must include `openid`.
    pub allowed_scopes: Vec<String>,
    /// `RS256` (default) or `ES256`.
    #[serde(default)]
    pub id_token_alg: Option<Alg>,
}

#[derive(sqlx::FromRow)]
struct Row {
    client_id: String,
    name: String,
    kind: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    allowed_scopes: Vec<String>,
    id_token_alg: String,
    created_at: DateTime<Utc>,
}

impl Row {
    fn party(self) -> (RelyingParty, Option<Vec<u8>>) {
        (
            RelyingParty {
                client_id: self.client_id,
                name: self.name,
                kind: if self.kind == "public" { ClientKind::Public } else { ClientKind::Confidential },
                redirect_uris: self.redirect_uris,
                post_logout_redirect_uris: self.post_logout_redirect_uris,
                allowed_scopes: self.allowed_scopes,
                id_token_alg: if self.id_token_alg == "ES256" { Alg::ES256 } else { Alg::RS256 },
                created_at: self.created_at,
            },
            self.secret_hash,
        )
    }
}

const COLS: &str = "client_id, name, kind, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, id_token_alg, created_at";

/// Checks a redirect URI: absolute, no fragment, and `https` unless it points at this
/// machine (`http://127.0.0.1`, `localhost`, `[::1]`, as RFC 8252 allows for native apps).
pub fn check_redirect_uri(uri: &str) -> Result<(), Refusal> {
    let u = url::Url::parse(uri).map_err(|_| Refusal::InvalidUrl)?;
    if u.fragment().is_some() {
        return Err(Refusal::RedirectUriFragment);
    }
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Refusal::RedirectUriInsecure),
    }
}

fn validate(n: &NewRelyingParty) -> Result<(), OidcError> {
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", Refusal::length(1, 100)));
    }
    if n.redirect_uris.is_empty() {
        return Err(invalid("redirect_uris", Refusal::TooFew { min: 1 }));
    }
    if n.redirect_uris.len() > 10 {
        return Err(invalid("redirect_uris", Refusal::TooMany { max: 10 }));
    }
    for u in &n.redirect_uris {
        check_redirect_uri(u).map_err(|r| invalid("redirect_uris", r))?;
    }
    if n.post_logout_redirect_uris.len() > 10 {
        return Err(invalid("post_logout_redirect_uris", Refusal::TooMany { max: 10 }));
    }
    for u in &n.post_logout_redirect_uris {
        check_redirect_uri(u).map_err(|r| invalid("post_logout_redirect_uris", r))?;
    }
    if let Some(s) = n.allowed_scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        let known = SCOPES.iter().map(|s| (*s).to_owned()).collect();
        return Err(invalid("allowed_scopes", Refusal::UnknownScope { scope: s.clone(), known }));
    }
    if !n.allowed_scopes.iter().any(|s| s == "openid") {
        return Err(invalid("allowed_scopes", Refusal::OpenidRequired));
    }
    Ok(())
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Registers a relying party. A confidential one gets its secret here, once; only its hash
/// is stored.
pub async fn register(tx: &mut TenantTx, new: NewRelyingParty, now: DateTime<Utc>) -> Result<(RelyingParty, Option<String>), OidcError> {
    validate(&new)?;
    let (id, _) = new_token();
    let client_id = format!("rp_{}", &id[..22]);
    let (secret, secret_hash) = match new.kind {
        ClientKind::Confidential => {
            let (s, h) = new_token();
            (Some(s), Some(h))
        }
        ClientKind::Public => (None, None),
    };
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO oidc_client (client_id, name, kind, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, id_token_alg, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLS}"
    ))
    .bind(&client_id)
    .bind(new.name.trim())
    .bind(new.kind.as_str())
    .bind(secret_hash)
    .bind(dedup(&new.redirect_uris))
    .bind(dedup(&new.post_logout_redirect_uris))
    .bind(dedup(&new.allowed_scopes))
    .bind(new.id_token_alg.unwrap_or(Alg::RS256).as_str())
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("oidc_client_pkey") => OidcError::Duplicate(client_id.clone()),
        _ => e.into(),
    })?;
    Ok((row.party().0, secret))
}

/// All relying parties, oldest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<RelyingParty>, OidcError> {
    let rows: Vec<Row> =
        sqlx::query_as(&format!("SELECT {COLS} FROM oidc_client ORDER BY created_at, client_id")).fetch_all(tx.conn()).await?;
    Ok(rows.into_iter().map(|r| r.party().0).collect())
}

/// One relying party.
pub async fn get(tx: &mut TenantTx, client_id: &str) -> Result<Option<RelyingParty>, OidcError> {
    Ok(fetch(tx, client_id).await?.map(Registered::into_party))
}

async fn fetch(tx: &mut TenantTx, client_id: &str) -> Result<Option<Registered>, OidcError> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLS} FROM oidc_client WHERE client_id = $1")).bind(client_id).fetch_optional(tx.conn()).await?;
    Ok(row.map(|r| {
        let (party, secret_hash) = r.party();
        Registered { party, secret_hash }
    }))
}

/// Removes a relying party with its consents, grants and tokens. `false` if there was none.
pub async fn delete(tx: &mut TenantTx, client_id: &str) -> Result<bool, OidcError> {
    let n = sqlx::query("DELETE FROM oidc_client WHERE client_id = $1").bind(client_id).execute(tx.conn()).await?.rows_affected();
    Ok(n > 0)
}

/// How a client authenticated at the token, revocation or introspection endpoint.
#[derive(Clone, Debug, Default)]
pub struct ClientCredentials {
    /// The `client_id` (from HTTP Basic or the form).
    pub client_id: Option<String>,
    /// The secret, if one was sent.
    pub secret: Option<String>,
}

/// Authenticates a client: a confidential one must send its secret, a public one must not.
pub async fn authenticate(tx: &mut TenantTx, creds: &ClientCredentials) -> Result<RelyingParty, OidcError> {
    let found = match creds.client_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => fetch(tx, id).await?,
        None => None,
    };
    check_credentials(found.as_ref(), creds)
}

/// The statement that reads a relying party with its secret's hash, for a one-round-trip
/// read ([`kapu_core::Db::tenant_read_all`]); [`Registered::from_rows`] reads its rows.
pub fn party_statement(client_id: &str) -> Statement {
    Statement::new(
        "SELECT client_id, name, kind, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, id_token_alg, created_at
         FROM oidc_client WHERE client_id = $1",
        [client_id.into()],
    )
}

/// A registered relying party as read by [`party_statement`], with its secret's hash.
#[derive(Clone)]
pub struct Registered {
    party: RelyingParty,
    secret_hash: Option<Vec<u8>>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered").field("party", &self.party).finish_non_exhaustive()
    }
}

impl Registered {
    /// The relying party in the rows of [`party_statement`], if one is registered.
    pub fn from_rows(rows: &[PgRow]) -> Result<Option<Self>, OidcError> {
        Ok(rows.first().map(Row::from_row).transpose()?.map(|r| {
            let (party, secret_hash) = r.party();
            Self { party, secret_hash }
        }))
    }

    /// The relying party, for requests that do not authenticate it (authorization).
    pub fn into_party(self) -> RelyingParty {
        self.party
    }

    /// The relying party.
    pub fn party(&self) -> &RelyingParty {
        &self.party
    }
}

/// How long a relying party read from the database may be used without reading it again.
/// A registration never changes (a new one gets a new random `client_id`); only its
/// deletion matters, and the tables that hang on it make that safe meanwhile: a grant for a
/// deleted party cannot be written (its foreign key), and its codes and tokens went with it.
pub const PARTY_CACHE_TTL: chrono::Duration = chrono::Duration::seconds(60);

/// Most relying parties held: past it, the cache starts afresh.
const PARTY_CACHE_MAX: usize = 10_000;

/// Per tenant, per `client_id`: the party, and when it was read.
type Parties = std::collections::HashMap<String, std::collections::HashMap<String, (std::sync::Arc<Registered>, DateTime<Utc>)>>;

/// The relying parties recently read, per tenant, so that the requests of the flow's happy
/// path need not read them again.
#[derive(Debug, Default)]
pub struct PartyCache {
    inner: std::sync::Mutex<Parties>,
}

impl PartyCache {
    /// The tenant's relying party with this `client_id`, if it was read less than
    /// [`PARTY_CACHE_TTL`] ago.
    pub fn get(&self, tenant: &str, client_id: &str, now: DateTime<Utc>) -> Option<std::sync::Arc<Registered>> {
        let map = self.lock();
        let (party, read_at) = map.get(tenant)?.get(client_id)?;
        (*read_at <= now && now - *read_at < PARTY_CACHE_TTL).then(|| party.clone())
    }

    /// Remembers a relying party just read.
    pub fn put(&self, tenant: &str, party: Registered, now: DateTime<Utc>) {
        let mut map = self.lock();
        if map.values().map(std::collections::HashMap::len).sum::<usize>() >= PARTY_CACHE_MAX {
            map.clear();
        }
        map.entry(tenant.to_owned()).or_default().insert(party.party.client_id.clone(), (std::sync::Arc::new(party), now));
    }

    /// Forgets a relying party (it was deleted).
    pub fn forget(&self, tenant: &str, client_id: &str) {
        if let Some(parties) = self.lock().get_mut(tenant) {
            parties.remove(client_id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parties> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Authenticates a client with the relying party read for its `client_id` (`None`: none is
/// registered, or no `client_id` was sent).
pub fn check_credentials(found: Option<&Registered>, creds: &ClientCredentials) -> Result<RelyingParty, OidcError> {
    let fail = |d: &str| OidcError::OAuth { code: OAuthCode::InvalidClient, description: d.to_owned(), commit: false };
    if creds.client_id.as_deref().is_none_or(str::is_empty) {
        return Err(fail("client authentication is missing: send client_id (and the secret of a confidential client)"));
    }
    let Some(Registered { party, secret_hash }) = found else {
        return Err(fail("no relying party is registered with this client_id"));
    };
    match (party.kind, secret_hash, creds.secret.as_deref()) {
        (ClientKind::Confidential, Some(h), Some(s)) if bool::from(hash(s).ct_eq(h)) => Ok(party.clone()),
        (ClientKind::Confidential, _, _) => Err(fail("the client secret is missing or wrong")),
        (ClientKind::Public, _, None) => Ok(party.clone()),
        (ClientKind::Public, _, Some(_)) => Err(oauth(OAuthCode::InvalidClient, "a public client has no secret")),
    }
}
