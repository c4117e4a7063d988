//! Each tenant as an OpenID Provider (OIDC Core 1.0, OAuth 2.0 with PKCE).
//!
//! The tenant's citizens sign in to third-party applications (relying parties) with their
//! portal account. This crate holds the relying-party registry ([`registry`]), the ID-token
//! signing keys with rotation ([`keys`]), the authorization-code flow with consent, codes,
//! grants, rotating refresh tokens, revocation and introspection ([`flow`]) and the claims
//! released by scope ([`claims`]). Everything lives in the tenant's schema and goes through
//! its [`kapu_core::TenantTx`]; codes and tokens are stored only as SHA-256 hashes, signing
//! keys sealed by `kapu-crypto`. Nothing here reads the clock or knows HTTP.

pub mod claims;
pub mod flow;
pub mod keys;

/// The columns this crate seals.
pub const SEALED: &[kapu_crypto::Column] = &[keys::PRIVATE_KEY];
pub mod registry;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Duration;
use kapu_core::Refusal;
use rand::RngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// How long an authorization code may be exchanged.
pub const CODE_TTL: Duration = Duration::seconds(60);
/// How long an access token (and an ID token) is valid.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(10);
/// How long a refresh token is valid.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);

/// The scopes a relying party may be allowed: the standard ones and `kapu_identity`
/// (natural identity data and the identification level).
pub const SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone", "kapu_identity"];

/// An OAuth 2.0 / OIDC error code (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthCode {
    /// Missing, repeated or malformed parameter.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code or refresh token is invalid, expired, revoked, used, or bound elsewhere.
    InvalidGrant,
    /// The client may not use this grant type or flow.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// A requested scope is unknown or not allowed for the client.
    InvalidScope,
    /// The person refused.
    AccessDenied,
    /// `prompt=none` and nobody is signed in.
    LoginRequired,
    /// `prompt=none` and the person has not consented yet.
    ConsentRequired,
    /// The access token is invalid, expired or revoked.
    InvalidToken,
}

impl OAuthCode {
    /// The code as the specifications spell it.
    pub fn as_str(self) -> &'static str {
        use OAuthCode::*;
        match self {
            InvalidRequest => "invalid_request",
            InvalidClient => "invalid_client",
            InvalidGrant => "invalid_grant",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope => "invalid_scope",
            AccessDenied => "access_denied",
            LoginRequired => "login_required",
            ConsentRequired => "consent_required",
            InvalidToken => "invalid_token",
        }
    }
}

/// Errors of the provider.
#[derive(Debug, Error)]
pub enum OidcError {
    /// A protocol error to answer with its OAuth code.
    #[error("{}: {description}", code.as_str())]
    OAuth {
        /// The code.
        code: OAuthCode,
        /// What exactly is wrong, for the developer of the relying party.
        description: String,
        /// Whether the transaction must still commit: a replayed code or a reused refresh
        /// token revokes the grant it belongs to before the request is refused.
        commit: bool,
    },
    /// The authorization request cannot be answered by redirecting to the relying party
    /// (unknown client, unregistered redirect URI): the person gets a page instead.
    #[error("{0}")]
    BadAuthorizationRequest(AuthPageError),
    /// A field of a management request failed validation.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: Refusal,
    },
    /// A relying party with this client id already exists.
    #[error("a relying party with client id {0:?} already exists")]
    Duplicate(String),
    /// Key handling failed.
    #[error("key error: {0}")]
    Crypto(#[from] kapu_crypto::CryptoError),
    /// Signing or key parsing failed.
    #[error("signing error: {0}")]
    Signing(String),
    /// Reading the client record for claims failed.
    #[error("client error: {0}")]
    Clients(#[from] kapu_clients::ClientError),
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A one-round-trip read or write failed.
    #[error(transparent)]
    Core(#[from] kapu_core::CoreError),
}

/// Why an authorization request gets a page rather than a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum AuthPageError {
    /// No `client_id`, or no relying party registered with it.
    #[error("the application is not registered with this municipality")]
    UnknownClient,
    /// The `redirect_uri` is missing or not exactly one of the registered ones.
    #[error("the application's return address is not one it registered")]
    RedirectMismatch,
}

pub(crate) fn oauth(code: OAuthCode, description: impl Into<String>) -> OidcError {
    OidcError::OAuth { code, description: description.into(), commit: false }
}

pub(crate) fn invalid(field: &'static str, reason: Refusal) -> OidcError {
    OidcError::Invalid { field, reason }
}

/// A fresh random token (256 bits, base64url) and its SHA-256, which is what is stored.
pub(crate) fn new_token() -> (String, Vec<u8>) {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let t = B64URL.encode(b);
    let h = hash(&t);
    (t, h)
}

pub(crate) fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}
