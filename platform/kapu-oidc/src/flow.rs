//! The authorization-code flow: checking an authorization request, consent, codes bound to
//! a PKCE challenge, the token endpoint (code exchange and refresh with rotation and reuse
//! detection), revocation (RFC 7009) and introspection (RFC 7662).
//!
//! A failed request changes nothing (the caller rolls back), except where the
//! specifications ask for a reaction: a replayed code or a reused refresh token revokes the
//! grant it belongs to, and the error says so with `commit: true`.

use chrono::{DateTime, Utc};
use kapu_core::{Db, Statement, TenantSlug, TenantTx};
use sea_query::{Alias, Expr, JoinType, Query};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::keys::TenantKeys;
use crate::registry::{ClientCredentials, ClientKind, PartyCache, Registered, RelyingParty, check_credentials, party_statement};
use crate::{ACCESS_TOKEN_TTL, AuthPageError, CODE_TTL, OAuthCode, OidcError, REFRESH_TOKEN_TTL, b64url, hash, new_token, oauth};

/// An authorization request's parameters, as sent.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct AuthorizationRequest {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`; only `code`.
    pub response_type: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`, put into the ID token.
    pub nonce: Option<String>,
    /// PKCE `code_challenge`.
    pub code_challenge: Option<String>,
    /// PKCE `code_challenge_method`; only `S256`.
    pub code_challenge_method: Option<String>,
    /// `prompt`: `none`, `login` or `consent`.
    pub prompt: Option<String>,
}

/// What `prompt` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Sign in and consent only when needed.
    Default,
    /// No page at all: fail when sign-in or consent is needed.
    None,
    /// Sign in again.
    Login,
    /// Ask for consent again.
    Consent,
}

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct ValidAuthorization {
    /// The relying party.
    pub party: RelyingParty,
    /// The registered redirect URI it named.
    pub redirect_uri: String,
    /// The scopes asked for, each allowed for the party.
    pub scopes: Vec<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// The S256 code challenge.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
}

fn pkce_value_ok(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks an authorization request. Errors before the redirect URI is known to be
/// registered are [`OidcError::BadAuthorizationRequest`] (show a page); later ones are
/// OAuth errors to send to the redirect URI with `state`.
pub async fn check_authorization(tx: &mut TenantTx, req: &AuthorizationRequest) -> Result<ValidAuthorization, OidcError> {
    let party = match req.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(client_id) => crate::registry::get(tx, client_id).await?,
        None => None,
    };
    check_request(party, req)
}

/// [`check_authorization`] with the relying party its `client_id` names already read
/// (`None`: none is registered).
pub fn check_request(party: Option<RelyingParty>, req: &AuthorizationRequest) -> Result<ValidAuthorization, OidcError> {
    let page = OidcError::BadAuthorizationRequest;
    let Some(party) = party.filter(|p| req.client_id.as_deref() == Some(p.client_id.as_str())) else {
        return Err(page(AuthPageError::UnknownClient));
    };
    let Some(redirect_uri) = req.redirect_uri.as_deref().filter(|r| party.redirect_uris.iter().any(|u| u == r)) else {
        return Err(page(AuthPageError::RedirectMismatch));
    };
    match req.response_type.as_deref() {
        Some("code") => {}
        None => return Err(oauth(OAuthCode::InvalidRequest, "response_type is missing; use code")),
        Some(other) => {
            return Err(oauth(OAuthCode::UnsupportedResponseType, format!("response_type {other:?} is not supported; use code")));
        }
    }
    let scopes: Vec<String> = req.scope.as_deref().unwrap_or("").split_ascii_whitespace().map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(oauth(OAuthCode::InvalidScope, "the scope must include openid"));
    }
    if let Some(s) = scopes.iter().find(|s| !party.allowed_scopes.contains(s)) {
        return Err(oauth(OAuthCode::InvalidScope, format!("scope {s:?} is not allowed for this client")));
    }
    let mut unique: Vec<String> = Vec::with_capacity(scopes.len());
    for s in scopes {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    let code_challenge = match (req.code_challenge.as_deref(), req.code_challenge_method.as_deref()) {
        (Some(c), Some("S256")) if pkce_value_ok(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return Err(oauth(OAuthCode::InvalidRequest, "code_challenge must be 43 to 128 characters of base64url (RFC 7636)"));
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return Err(oauth(OAuthCode::InvalidRequest, "code_challenge_method must be S256; plain is not accepted"));
        }
        (Some(_), Some(m)) => {
            return Err(oauth(OAuthCode::InvalidRequest, format!("code_challenge_method {m:?} is not supported; use S256")));
        }
        (None, Some(_)) => return Err(oauth(OAuthCode::InvalidRequest, "code_challenge_method without code_challenge")),
        (None, None) if party.kind == ClientKind::Public => {
            return Err(oauth(
                OAuthCode::InvalidRequest,
                "a public client must use PKCE: send code_challenge with code_challenge_method=S256",
            ));
        }
        (None, None) => None,
    };
    let prompt = match req.prompt.as_deref().map(str::trim) {
        None | Some("") => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some("consent") => Prompt::Consent,
        Some(p) if p.split_ascii_whitespace().any(|x| x == "none") => {
            return Err(oauth(OAuthCode::InvalidRequest, "prompt=none cannot be combined with other values"));
        }
        Some(p) if p.split_ascii_whitespace().any(|x| x == "login") => Prompt::Login,
        Some(_) => Prompt::Consent,
    };
    for (name, v) in [("state", &req.state), ("nonce", &req.nonce)] {
        if v.as_ref().is_some_and(|v| v.len() > 512) {
            return Err(oauth(OAuthCode::InvalidRequest, format!("{name} is longer than 512 characters")));
        }
        if v.as_ref().is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(oauth(OAuthCode::InvalidRequest, format!("{name} contains a control character")));
        }
    }
    Ok(ValidAuthorization {
        redirect_uri: redirect_uri.to_owned(),
        party,
        scopes: unique,
        state: req.state.clone(),
        nonce: req.nonce.clone().filter(|n| !n.is_empty()),
        code_challenge,
        prompt,
    })
}

/// Records the account's consent to these scopes (adding to earlier ones).
pub async fn record_consent(tx: &mut TenantTx, account: Uuid, auth: &ValidAuthorization, now: DateTime<Utc>) -> Result<(), OidcError> {
    sqlx::query(
        "INSERT INTO oidc_consent (account_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, client_id) DO UPDATE
         SET scopes = ARRAY(SELECT DISTINCT unnest(oidc_consent.scopes || EXCLUDED.scopes)), granted_at = EXCLUDED.granted_at",
    )
    .bind(account)
    .bind(&auth.party.client_id)
    .bind(&auth.scopes)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Opens a grant for the account and returns its one-time authorization code.
pub async fn issue_code(
    tx: &mut TenantTx,
    account: Uuid,
    auth: &ValidAuthorization,
    auth_time: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, OidcError> {
    let (code, code_hash) = new_token();
    sqlx::query(
        "WITH g AS (INSERT INTO oidc_grant (id, client_id, account_id, scopes, auth_time, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
         INSERT INTO oidc_code (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at) SELECT $7, id, $8, $9, $10, $11 FROM g",
    )
    .bind(Uuid::now_v7())
    .bind(&auth.party.client_id)
    .bind(account)
    .bind(&auth.scopes)
    .bind(auth_time)
    .bind(now)
    .bind(code_hash)
    .bind(&auth.redirect_uri)
    .bind(&auth.nonce)
    .bind(&auth.code_challenge)
    .bind(now + CODE_TTL)
    .execute(tx.conn())
    .await?;
    Ok(code)
}

/// Opens a grant and returns its one-time authorization code, in one round trip, if the
/// account already consented to every scope asked for; `None` (and nothing written) when
/// it still has to. `with` are statements to run in the same transaction first (e.g. the
/// session's idle-timer refresh).
#[allow(clippy::too_many_arguments)]
pub async fn issue_code_if_consented(
    db: &Db,
    slug: &TenantSlug,
    account: Uuid,
    auth: &ValidAuthorization,
    auth_time: DateTime<Utc>,
    now: DateTime<Utc>,
    with: Option<Statement>,
) -> Result<Option<String>, OidcError> {
    let (code, code_hash) = new_token();
    let scopes = kapu_core::text_array(auth.scopes.iter().map(Some));
    let issue = Statement::new(
        "WITH ok AS (SELECT 1 FROM oidc_consent WHERE account_id = CAST($1 AS uuid) AND client_id = $2 AND scopes @> CAST($3 AS text[])),
              g AS (INSERT INTO oidc_grant (id, client_id, account_id, scopes, auth_time, created_at)
                    SELECT CAST($4 AS uuid), $2, CAST($1 AS uuid), CAST($3 AS text[]), CAST($5 AS timestamptz), CAST($6 AS timestamptz) FROM ok
                    RETURNING id)
         INSERT INTO oidc_code (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at)
         SELECT CAST($7 AS bytea), id, $8, CAST($9 AS text), CAST($10 AS text), CAST($11 AS timestamptz) FROM g RETURNING grant_id",
        [
            account.into(),
            auth.party.client_id.as_str().into(),
            scopes,
            Uuid::now_v7().into(),
            auth_time.into(),
            now.into(),
            code_hash.into(),
            auth.redirect_uri.as_str().into(),
            auth.nonce.clone().into(),
            auth.code_challenge.clone().into(),
            (now + CODE_TTL).into(),
        ],
    );
    let statements: Vec<Statement> = with.into_iter().chain([issue]).collect();
    let results = db.tenant_write(slug, &statements).await?;
    Ok(results.last().is_some_and(|r| !r.is_empty()).then_some(code))
}

/// For a request with a session cookie: in one round trip, refreshes the session's idle
/// timer when due and opens a grant with its one-time code if the session is live and its
/// account already consented to every scope asked for. `None` (and nothing written but the
/// timer) when it is not so: the caller then reads the session to ask for sign-in or consent.
pub async fn issue_code_for_session(
    db: &Db,
    slug: &TenantSlug,
    session_token: &str,
    auth: &ValidAuthorization,
    now: DateTime<Utc>,
) -> Result<Option<String>, OidcError> {
    let (code, code_hash) = new_token();
    let [token_hash, at, idle_since] = kapu_clients::account::live_session_values(session_token, now);
    let issue = Statement::new(
        concat!(
            "WITH s AS (",
            kapu_clients::live_session_sql!(),
            "),
              ok AS (SELECT s.account_id, s.signed_in_at FROM s JOIN oidc_consent c
                     ON c.account_id = s.account_id AND c.client_id = $4 AND c.scopes @> CAST($5 AS text[])),
              g AS (INSERT INTO oidc_grant (id, client_id, account_id, scopes, auth_time, created_at)
                    SELECT CAST($6 AS uuid), $4, account_id, CAST($5 AS text[]), signed_in_at, CAST($2 AS timestamptz) FROM ok
                    RETURNING id)
         INSERT INTO oidc_code (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at)
         SELECT CAST($7 AS bytea), id, $8, CAST($9 AS text), CAST($10 AS text), CAST($11 AS timestamptz) FROM g RETURNING grant_id"
        ),
        [
            token_hash,
            at,
            idle_since,
            auth.party.client_id.as_str().into(),
            kapu_core::text_array(auth.scopes.iter().map(Some)),
            Uuid::now_v7().into(),
            code_hash.into(),
            auth.redirect_uri.as_str().into(),
            auth.nonce.clone().into(),
            auth.code_challenge.clone().into(),
            (now + CODE_TTL).into(),
        ],
    );
    let statements = [kapu_clients::account::touch_statement(session_token, now), issue];
    let results = match db.tenant_write(slug, &statements).await {
        Ok(r) => r,
        // The relying party was deleted since it was read (the grant's foreign key).
        Err(kapu_core::CoreError::Database(e)) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23503") => {
            return Err(OidcError::BadAuthorizationRequest(AuthPageError::UnknownClient));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(results.get(1).is_some_and(|r| !r.is_empty()).then_some(code))
}

/// The token endpoint's answer.
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    /// The access token (opaque).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh token (rotates on every use).
    pub refresh_token: String,
    /// The ID token.
    pub id_token: String,
    /// The granted scopes.
    pub scope: String,
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    azp: &'a str,
}

/// What issuing tokens needs besides the grant: the tenant's issuer and keys.
#[derive(Clone, Copy, Debug)]
pub struct Issuer<'a> {
    /// The issuer URL (`https://host` or `http://host/t/slug`), without a trailing slash.
    pub url: &'a str,
    /// The tenant's signing keys.
    pub keys: &'a TenantKeys,
}

struct GrantInfo {
    id: Uuid,
    account: Uuid,
    scopes: Vec<String>,
    auth_time: DateTime<Utc>,
}

async fn issue_tokens(
    tx: &mut TenantTx,
    issuer: Issuer<'_>,
    party: &RelyingParty,
    grant: &GrantInfo,
    nonce: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, OidcError> {
    let (access, access_hash) = new_token();
    let (refresh, refresh_hash) = new_token();
    sqlx::query(
        "WITH a AS (INSERT INTO oidc_access_token (token_hash, grant_id, scopes, issued_at, expires_at) VALUES ($1, $3, $4, $5, $6))
         INSERT INTO oidc_refresh_token (token_hash, grant_id, scopes, issued_at, expires_at) VALUES ($2, $3, $4, $5, $7)",
    )
    .bind(access_hash)
    .bind(refresh_hash)
    .bind(grant.id)
    .bind(&grant.scopes)
    .bind(now)
    .bind(now + ACCESS_TOKEN_TTL)
    .bind(now + REFRESH_TOKEN_TTL)
    .execute(tx.conn())
    .await?;
    token_response(issuer, party, grant, nonce, access, refresh, now)
}

/// Signs the ID token that goes with `access` and puts the answer together.
fn token_response(
    issuer: Issuer<'_>,
    party: &RelyingParty,
    grant: &GrantInfo,
    nonce: Option<&str>,
    access: String,
    refresh: String,
    now: DateTime<Utc>,
) -> Result<TokenResponse, OidcError> {
    let digest = Sha256::digest(access.as_bytes());
    let claims = IdTokenClaims {
        iss: issuer.url,
        sub: grant.account.to_string(),
        aud: &party.client_id,
        exp: (now + ACCESS_TOKEN_TTL).timestamp(),
        iat: now.timestamp(),
        auth_time: grant.auth_time.timestamp(),
        nonce,
        at_hash: b64url(&digest[..16]),
        azp: &party.client_id,
    };
    let id_token = issuer.keys.sign(party.id_token_alg, &claims)?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        refresh_token: refresh,
        id_token,
        scope: grant.scopes.join(" "),
    })
}

async fn revoke_grant(tx: &mut TenantTx, grant: Uuid, now: DateTime<Utc>) -> Result<(), OidcError> {
    sqlx::query("UPDATE oidc_grant SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
        .bind(grant)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// An authorization code as stored, with its grant.
#[derive(sqlx::FromRow)]
struct CodeRow {
    grant_id: Uuid,
    redirect_uri: String,
    client_id: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    account_id: Uuid,
    scopes: Vec<String>,
    auth_time: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

fn code_statement(code_hash: &[u8]) -> Statement {
    Statement::new(
        "SELECT c.grant_id, c.redirect_uri, g.client_id, c.nonce, c.code_challenge, c.expires_at, c.used_at,
                g.account_id, g.scopes, g.auth_time, g.revoked_at
         FROM oidc_code c JOIN oidc_grant g ON g.id = c.grant_id WHERE c.code_hash = $1",
        [code_hash.to_vec().into()],
    )
}

fn revoke_statement(grant: Uuid, now: DateTime<Utc>) -> Statement {
    Statement::new("UPDATE oidc_grant SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", [grant.into(), now.into()])
}

/// Revokes the grant of a code used a second time, and says so.
async fn replayed(db: &Db, slug: &TenantSlug, grant: Uuid, now: DateTime<Utc>) -> Result<TokenResponse, OidcError> {
    db.tenant_write(slug, &[revoke_statement(grant, now)]).await?;
    Err(OidcError::OAuth {
        code: OAuthCode::InvalidGrant,
        description: "the authorization code was already used; the tokens issued with it are revoked".into(),
        commit: true,
    })
}

/// What the token endpoint got for an authorization code.
#[derive(Clone, Copy, Debug)]
pub struct CodeExchange<'a> {
    /// How the client authenticated.
    pub creds: &'a ClientCredentials,
    /// The code.
    pub code: &'a str,
    /// `redirect_uri`.
    pub redirect_uri: Option<&'a str>,
    /// PKCE `code_verifier`.
    pub verifier: Option<&'a str>,
}

/// Authenticates the client and exchanges an authorization code (grant type
/// `authorization_code`) for tokens. A code used twice, even by two concurrent requests,
/// revokes its grant; any other refusal writes nothing.
///
/// When the relying party is in `parties` and the request is well-formed, one statement
/// checks the code against it (unused, unexpired, this client's, same redirect URI, the PKCE
/// challenge of the verifier, grant live), marks it used and stores the tokens: one round
/// trip. Otherwise, or when that statement finds nothing, [`exchange_code_checked`] reads the
/// relying party and the code to give the precise answer.
pub async fn exchange_code(
    db: &Db,
    slug: &TenantSlug,
    parties: &PartyCache,
    issuer: Issuer<'_>,
    x: CodeExchange<'_>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, OidcError> {
    let cached = x.creds.client_id.as_deref().and_then(|id| parties.get(slug.as_str(), id, now));
    let party = cached.and_then(|r| check_credentials(Some(&r), x.creds).ok());
    let challenge = match x.verifier {
        Some(v) if pkce_value_ok(v) => Some(Some(b64url(&Sha256::digest(v.as_bytes())))),
        Some(_) => None,
        None => Some(None),
    };
    let (Some(party), Some(challenge), Some(redirect_uri)) = (party, challenge, x.redirect_uri) else {
        return exchange_code_checked(db, slug, parties, issuer, x, now).await;
    };
    let (access, access_hash) = new_token();
    let (refresh, refresh_hash) = new_token();
    let store = Statement::new(
        "WITH c AS (UPDATE oidc_code c SET used_at = CAST($2 AS timestamptz) FROM oidc_grant g
                    WHERE c.code_hash = CAST($1 AS bytea) AND g.id = c.grant_id AND c.used_at IS NULL AND g.revoked_at IS NULL
                      AND g.client_id = $3 AND c.expires_at > CAST($2 AS timestamptz) AND c.redirect_uri = $4
                      AND c.code_challenge IS NOT DISTINCT FROM CAST($5 AS text)
                    RETURNING g.id, g.account_id, g.scopes, g.auth_time, c.nonce),
              a AS (INSERT INTO oidc_access_token (token_hash, grant_id, scopes, issued_at, expires_at)
                    SELECT CAST($6 AS bytea), id, scopes, CAST($2 AS timestamptz), CAST($8 AS timestamptz) FROM c),
              r AS (INSERT INTO oidc_refresh_token (token_hash, grant_id, scopes, issued_at, expires_at)
                    SELECT CAST($7 AS bytea), id, scopes, CAST($2 AS timestamptz), CAST($9 AS timestamptz) FROM c)
         SELECT id, account_id, scopes, auth_time, nonce FROM c",
        [
            hash(x.code).into(),
            now.into(),
            party.client_id.as_str().into(),
            redirect_uri.into(),
            challenge.into(),
            access_hash.into(),
            refresh_hash.into(),
            (now + ACCESS_TOKEN_TTL).into(),
            (now + REFRESH_TOKEN_TTL).into(),
        ],
    );
    let rows = db.tenant_write(slug, &[store]).await?;
    let Some(r) = rows.first().and_then(|r| r.first()) else {
        // Something is wrong with the code (or the party was deleted): find out what.
        return exchange_code_checked(db, slug, parties, issuer, x, now).await;
    };
    let grant = GrantInfo { id: r.try_get(0)?, account: r.try_get(1)?, scopes: r.try_get(2)?, auth_time: r.try_get(3)? };
    let nonce: Option<String> = r.try_get(4)?;
    token_response(issuer, &party, &grant, nonce.as_deref(), access, refresh, now)
}

/// [`exchange_code`] with everything read first, in two round trips: one read of the client
/// and the code, and one statement that marks the code used (only if it still is unused and
/// its grant live) and stores the tokens.
async fn exchange_code_checked(
    db: &Db,
    slug: &TenantSlug,
    parties: &PartyCache,
    issuer: Issuer<'_>,
    x: CodeExchange<'_>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, OidcError> {
    let CodeExchange { creds, code, redirect_uri, verifier } = x;
    let code_hash = hash(code);
    let client_id = creds.client_id.as_deref().unwrap_or_default();
    let rows = db.tenant_read_all(slug, &[party_statement(client_id), code_statement(&code_hash)]).await?;
    let registered = Registered::from_rows(rows.first().map(Vec::as_slice).unwrap_or_default())?;
    match &registered {
        Some(r) => parties.put(slug.as_str(), r.clone(), now),
        None => parties.forget(slug.as_str(), client_id),
    }
    let party = check_credentials(registered.as_ref(), creds)?;
    let found = rows.get(1).and_then(|r| r.first()).map(CodeRow::from_row).transpose()?;
    let Some(c) = found else { return Err(oauth(OAuthCode::InvalidGrant, "the authorization code is unknown")) };
    if c.used_at.is_some() {
        if c.client_id == party.client_id {
            return replayed(db, slug, c.grant_id, now).await;
        }
        return Err(oauth(OAuthCode::InvalidGrant, "the authorization code is unknown"));
    }
    if c.client_id != party.client_id {
        return Err(oauth(OAuthCode::InvalidGrant, "the authorization code was issued to another client"));
    }
    if c.expires_at <= now {
        return Err(oauth(OAuthCode::InvalidGrant, "the authorization code has expired"));
    }
    if c.revoked_at.is_some() {
        return Err(oauth(OAuthCode::InvalidGrant, "the grant was revoked"));
    }
    match redirect_uri {
        Some(r) if r == c.redirect_uri => {}
        Some(_) => return Err(oauth(OAuthCode::InvalidGrant, "redirect_uri does not match the one of the authorization request")),
        None => return Err(oauth(OAuthCode::InvalidRequest, "redirect_uri is missing")),
    }
    match (c.code_challenge.as_deref(), verifier) {
        (Some(ch), Some(v)) => {
            if !pkce_value_ok(v) {
                return Err(oauth(OAuthCode::InvalidGrant, "code_verifier must be 43 to 128 characters of base64url (RFC 7636)"));
            }
            let computed = b64url(&Sha256::digest(v.as_bytes()));
            if !bool::from(computed.as_bytes().ct_eq(ch.as_bytes())) {
                return Err(oauth(OAuthCode::InvalidGrant, "the PKCE code_verifier does not match the code_challenge"));
            }
        }
        (Some(_), None) => return Err(oauth(OAuthCode::InvalidGrant, "code_verifier is missing (the request used PKCE)")),
        (None, Some(_)) => return Err(oauth(OAuthCode::InvalidGrant, "code_verifier sent, but the request had no code_challenge")),
        (None, None) => {}
    }
    let grant = GrantInfo { id: c.grant_id, account: c.account_id, scopes: c.scopes, auth_time: c.auth_time };
    let (access, access_hash) = new_token();
    let (refresh, refresh_hash) = new_token();
    let answer = token_response(issuer, &party, &grant, c.nonce.as_deref(), access, refresh, now)?;
    let scopes = kapu_core::text_array(grant.scopes.iter().map(Some));
    let store = Statement::new(
        "WITH c AS (UPDATE oidc_code SET used_at = CAST($2 AS timestamptz)
                    WHERE code_hash = CAST($1 AS bytea) AND used_at IS NULL AND grant_id IN (SELECT id FROM oidc_grant WHERE revoked_at IS NULL)
                    RETURNING grant_id),
              a AS (INSERT INTO oidc_access_token (token_hash, grant_id, scopes, issued_at, expires_at)
                    SELECT CAST($3 AS bytea), grant_id, CAST($5 AS text[]), CAST($2 AS timestamptz), CAST($6 AS timestamptz) FROM c)
         INSERT INTO oidc_refresh_token (token_hash, grant_id, scopes, issued_at, expires_at)
         SELECT CAST($4 AS bytea), grant_id, CAST($5 AS text[]), CAST($2 AS timestamptz), CAST($7 AS timestamptz) FROM c RETURNING grant_id",
        [
            code_hash.into(),
            now.into(),
            access_hash.into(),
            refresh_hash.into(),
            scopes,
            (now + ACCESS_TOKEN_TTL).into(),
            (now + REFRESH_TOKEN_TTL).into(),
        ],
    );
    let stored = db.tenant_write(slug, &[store]).await?;
    if stored.first().is_none_or(Vec::is_empty) {
        // Used (or its grant revoked) since the read: a concurrent second use.
        return replayed(db, slug, grant.id, now).await;
    }
    Ok(answer)
}

type RefreshRow =
    (Uuid, Vec<String>, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>, String, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);

/// Uses a refresh token (grant type `refresh_token`): rotates it and issues new tokens. A
/// token that was already rotated means it leaked: the whole grant is revoked.
pub async fn refresh(
    tx: &mut TenantTx,
    issuer: Issuer<'_>,
    party: &RelyingParty,
    token: &str,
    scope: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenResponse, OidcError> {
    let h = hash(token);
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT r.grant_id, r.scopes, r.expires_at, r.rotated_at, r.revoked_at, g.client_id, g.account_id, g.auth_time, g.revoked_at
         FROM oidc_refresh_token r JOIN oidc_grant g ON g.id = r.grant_id WHERE r.token_hash = $1 FOR UPDATE OF r",
    )
    .bind(&h)
    .fetch_optional(tx.conn())
    .await?;
    let Some((grant_id, scopes, expires_at, rotated_at, revoked_at, client_id, account, auth_time, grant_revoked)) = row else {
        return Err(oauth(OAuthCode::InvalidGrant, "the refresh token is unknown"));
    };
    if client_id != party.client_id {
        return Err(oauth(OAuthCode::InvalidGrant, "the refresh token was issued to another client"));
    }
    if revoked_at.is_some() || grant_revoked.is_some() {
        return Err(oauth(OAuthCode::InvalidGrant, "the refresh token was revoked"));
    }
    if rotated_at.is_some() {
        revoke_grant(tx, grant_id, now).await?;
        return Err(OidcError::OAuth {
            code: OAuthCode::InvalidGrant,
            description: "the refresh token was already used; as it may have leaked, the grant and all its tokens are revoked".into(),
            commit: true,
        });
    }
    if expires_at <= now {
        return Err(oauth(OAuthCode::InvalidGrant, "the refresh token has expired"));
    }
    let scopes = match scope.map(|s| s.split_ascii_whitespace().map(str::to_owned).collect::<Vec<_>>()) {
        Some(asked) if !asked.is_empty() => {
            if let Some(s) = asked.iter().find(|s| !scopes.contains(s)) {
                return Err(oauth(OAuthCode::InvalidScope, format!("scope {s:?} was not granted")));
            }
            asked
        }
        _ => scopes,
    };
    sqlx::query("UPDATE oidc_refresh_token SET rotated_at = $2 WHERE token_hash = $1").bind(&h).bind(now).execute(tx.conn()).await?;
    let grant = GrantInfo { id: grant_id, account, scopes, auth_time };
    issue_tokens(tx, issuer, party, &grant, None, now).await
}

/// Account, client, scopes, issued, expires.
type TokenRow = (Uuid, String, Vec<String>, DateTime<Utc>, DateTime<Utc>);

/// What a live access token allows.
#[derive(Clone, Debug)]
pub struct AccessGrant {
    /// The account (the `sub`).
    pub account: Uuid,
    /// The relying party it was issued to.
    pub client_id: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// The grant behind a live access token of this tenant; `None` when it is unknown,
/// expired or revoked.
pub async fn access(tx: &mut TenantTx, token: &str, now: DateTime<Utc>) -> Result<Option<AccessGrant>, OidcError> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT g.account_id, g.client_id, t.scopes, t.issued_at, t.expires_at FROM oidc_access_token t JOIN oidc_grant g ON g.id = t.grant_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL AND t.expires_at > $2",
    )
    .bind(hash(token))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(account, client_id, scopes, issued_at, expires_at)| AccessGrant { account, client_id, scopes, issued_at, expires_at }))
}

/// The statements that read, in one round trip, the grant behind a live access token and
/// the account it is for ([`access_from`] and `kapu_clients::account::account_from` read
/// their rows).
pub fn access_statements(token: &str, now: DateTime<Utc>) -> [Statement; 2] {
    let h = hash(token);
    let grant = Statement::new(
        "SELECT g.account_id, g.client_id, t.scopes, t.issued_at, t.expires_at FROM oidc_access_token t JOIN oidc_grant g ON g.id = t.grant_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND g.revoked_at IS NULL AND t.expires_at > $2",
        [h.clone().into(), now.into()],
    );
    let (t, g) = (Alias::new("t"), Alias::new("g"));
    let account_of = Query::select()
        .column((g.clone(), Alias::new("account_id")))
        .from_as(Alias::new("oidc_access_token"), t.clone())
        .join_as(
            JoinType::InnerJoin,
            Alias::new("oidc_grant"),
            g.clone(),
            Expr::col((g.clone(), Alias::new("id"))).equals((t.clone(), Alias::new("grant_id"))),
        )
        .and_where(Expr::col((t.clone(), Alias::new("token_hash"))).eq(h))
        .and_where(Expr::col((t.clone(), Alias::new("revoked_at"))).is_null())
        .and_where(Expr::col((g, Alias::new("revoked_at"))).is_null())
        .and_where(Expr::col((t, Alias::new("expires_at"))).gt(now))
        .to_owned();
    [grant, kapu_clients::account::account_statement(account_of)]
}

/// The grant in the rows of the first of [`access_statements`].
pub fn access_from(rows: &[PgRow]) -> Result<Option<AccessGrant>, OidcError> {
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some(AccessGrant {
        account: r.try_get(0)?,
        client_id: r.try_get(1)?,
        scopes: r.try_get(2)?,
        issued_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
    }))
}

/// Revokes a token issued to `party` (RFC 7009): an access token alone, a refresh token
/// with its whole grant. Unknown tokens and other clients' tokens are ignored, as the RFC
/// asks (the answer is the same).
pub async fn revoke(tx: &mut TenantTx, party: &RelyingParty, token: &str, now: DateTime<Utc>) -> Result<(), OidcError> {
    let h = hash(token);
    let n = sqlx::query(
        "UPDATE oidc_access_token t SET revoked_at = COALESCE(t.revoked_at, $3) FROM oidc_grant g
         WHERE t.token_hash = $1 AND g.id = t.grant_id AND g.client_id = $2",
    )
    .bind(&h)
    .bind(&party.client_id)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        sqlx::query(
            "WITH r AS (UPDATE oidc_refresh_token r SET revoked_at = COALESCE(r.revoked_at, $3) FROM oidc_grant g
                        WHERE r.token_hash = $1 AND g.id = r.grant_id AND g.client_id = $2 RETURNING r.grant_id)
             UPDATE oidc_grant SET revoked_at = COALESCE(revoked_at, $3) WHERE id IN (SELECT grant_id FROM r)",
        )
        .bind(&h)
        .bind(&party.client_id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Introspects a token for the authenticated client `party` (RFC 7662): only the tokens
/// issued to that client are described; another client's token, like an unknown one,
/// answers `{"active": false}`, so one relying party learns nothing of another's users.
/// (Kapu registers no separate resource servers; a relying party introspects its own.)
pub async fn introspect(tx: &mut TenantTx, party: &RelyingParty, issuer: &str, token: &str, now: DateTime<Utc>) -> Result<Json, OidcError> {
    let inactive = json!({ "active": false });
    if let Some(a) = access(tx, token, now).await? {
        if a.client_id != party.client_id {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "token_type": "Bearer",
            "scope": a.scopes.join(" "),
            "client_id": a.client_id,
            "aud": a.client_id,
            "sub": a.account.to_string(),
            "iss": issuer,
            "iat": a.issued_at.timestamp(),
            "exp": a.expires_at.timestamp(),
        }));
    }
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT g.account_id, g.client_id, r.scopes, r.issued_at, r.expires_at FROM oidc_refresh_token r JOIN oidc_grant g ON g.id = r.grant_id
         WHERE r.token_hash = $1 AND r.revoked_at IS NULL AND r.rotated_at IS NULL AND g.revoked_at IS NULL AND r.expires_at > $2
           AND g.client_id = $3",
    )
    .bind(hash(token))
    .bind(now)
    .bind(&party.client_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(match row {
        Some((account, client_id, scopes, iat, exp)) => json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": scopes.join(" "),
            "client_id": client_id,
            "aud": client_id,
            "sub": account.to_string(),
            "iss": issuer,
            "iat": iat.timestamp(),
            "exp": exp.timestamp(),
        }),
        None => inactive,
    })
}
