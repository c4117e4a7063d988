//! Relying parties of the tenant's OpenID Provider, and its signing-key rotation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kapu_oidc::keys::Alg;
use kapu_oidc::registry::{ClientKind, NewRelyingParty, RelyingParty};
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// Confidential (server-side, with a secret) or public (browser or app; PKCE only).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientKindView {
    /// Has a client secret.
    Confidential,
    /// No secret; PKCE required.
    Public,
}

/// ID token signature algorithm.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub enum IdTokenAlg {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

/// A registered relying party.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelyingPartyView {
    /// The `client_id`.
    pub client_id: String,
    /// Name shown on the consent screen.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKindView,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes it may ask for.
    pub allowed_scopes: Vec<String>,
    /// ID token algorithm.
    pub id_token_alg: IdTokenAlg,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

impl From<RelyingParty> for RelyingPartyView {
    fn from(p: RelyingParty) -> Self {
        Self {
            client_id: p.client_id,
            name: p.name,
            kind: match p.kind {
                ClientKind::Confidential => ClientKindView::Confidential,
                ClientKind::Public => ClientKindView::Public,
            },
            redirect_uris: p.redirect_uris,
            post_logout_redirect_uris: p.post_logout_redirect_uris,
            allowed_scopes: p.allowed_scopes,
            id_token_alg: match p.id_token_alg {
                Alg::RS256 => IdTokenAlg::RS256,
                Alg::ES256 => IdTokenAlg::ES256,
            },
            created_at: p.created_at,
        }
    }
}

/// The relying parties.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelyingPartyList {
    /// Oldest first.
    pub relying_parties: Vec<RelyingPartyView>,
}

/// A registration.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRelyingPartyRequest {
    /// Name shown to people (1 to 100 characters).
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKindView,
    /// Exact redirect URIs (https, or http on 127.0.0.1/localhost/[::1]); 1 to 10.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes among `openid profile email address phone kapu_identity`; must include `openid`.
    pub allowed_scopes: Vec<String>,
    /// ID token algorithm; RS256 when absent.
    #[serde(default)]
    pub id_token_alg: Option<IdTokenAlg>,
}

/// A new relying party with its secret, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredRelyingParty {
    /// The relying party.
    #[serde(flatten)]
    pub party: RelyingPartyView,
    /// The client secret of a confidential client; it cannot be shown again.
    pub client_secret: Option<String>,
}

/// New signing keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKeys {
    /// The key ids now signing (RS256, ES256); the old keys stay published until their tokens expire.
    pub active_kids: Vec<String>,
}

const P401: &str = "application/problem+json";

/// The tenant's relying parties.
#[utoipa::path(get, path = "/oidc/clients", tag = "oidc",
    responses((status = 200, body = RelyingPartyList), (status = 401, body = Problem, content_type = P401), (status = 403, body = Problem, content_type = P401)))]
pub async fn list_relying_parties(s: SignedIn) -> Result<Json<RelyingPartyList>, ApiError> {
    s.require(Permission::ManageRelyingParties)?;
    let SignedIn(mut a) = s;
    let parties = kapu_oidc::registry::list(a.tx.tenant()?).await?;
    a.tx.commit().await?;
    Ok(Json(RelyingPartyList { relying_parties: parties.into_iter().map(Into::into).collect() }))
}

/// Register a relying party.
#[utoipa::path(post, path = "/oidc/clients", tag = "oidc", request_body = NewRelyingPartyRequest,
    responses((status = 201, body = RegisteredRelyingParty), (status = 401, body = Problem, content_type = P401), (status = 403, body = Problem, content_type = P401), (status = 422, body = Problem, content_type = P401)))]
pub async fn create_relying_party(
    s: SignedIn,
    Json(req): Json<NewRelyingPartyRequest>,
) -> Result<(StatusCode, Json<RegisteredRelyingParty>), ApiError> {
    s.require(Permission::ManageRelyingParties)?;
    let SignedIn(mut a) = s;
    let new = NewRelyingParty {
        name: req.name,
        kind: match req.kind {
            ClientKindView::Confidential => ClientKind::Confidential,
            ClientKindView::Public => ClientKind::Public,
        },
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        allowed_scopes: req.allowed_scopes,
        id_token_alg: req.id_token_alg.map(|a| match a {
            IdTokenAlg::RS256 => Alg::RS256,
            IdTokenAlg::ES256 => Alg::ES256,
        }),
    };
    let (party, client_secret) = kapu_oidc::registry::register(a.tx.tenant()?, new, Utc::now()).await?;
    a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(RegisteredRelyingParty { party: party.into(), client_secret })))
}

/// One relying party.
#[utoipa::path(get, path = "/oidc/clients/{client_id}", tag = "oidc", params(("client_id" = String, Path)),
    responses((status = 200, body = RelyingPartyView), (status = 401, body = Problem, content_type = P401), (status = 403, body = Problem, content_type = P401), (status = 404, body = Problem, content_type = P401)))]
pub async fn get_relying_party(s: SignedIn, Path(client_id): Path<String>) -> Result<Json<RelyingPartyView>, ApiError> {
    s.require(Permission::ManageRelyingParties)?;
    let SignedIn(mut a) = s;
    let party = kapu_oidc::registry::get(a.tx.tenant()?, &client_id).await?;
    a.tx.commit().await?;
    party.map(|p| Json(p.into())).ok_or_else(|| ApiError::NotFound(format!("no relying party {client_id:?}")))
}

/// Remove a relying party with its consents and tokens.
#[utoipa::path(delete, path = "/oidc/clients/{client_id}", tag = "oidc", params(("client_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem, content_type = P401), (status = 403, body = Problem, content_type = P401), (status = 404, body = Problem, content_type = P401)))]
pub async fn delete_relying_party(
    State(state): State<AppState>,
    s: SignedIn,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.require(Permission::ManageRelyingParties)?;
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    let slug = tx.slug().as_str().to_owned();
    if !kapu_oidc::registry::delete(tx, &client_id).await? {
        return Err(ApiError::NotFound(format!("no relying party {client_id:?}")));
    }
    a.tx.commit().await?;
    state.oidc_parties.forget(&slug, &client_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate the ID-token signing keys.
#[utoipa::path(post, path = "/oidc/keys/rotate", tag = "oidc",
    responses((status = 200, body = RotatedKeys), (status = 401, body = Problem, content_type = P401), (status = 403, body = Problem, content_type = P401)))]
pub async fn rotate_keys(State(state): State<AppState>, s: SignedIn) -> Result<Json<RotatedKeys>, ApiError> {
    s.require(Permission::ManageRelyingParties)?;
    let SignedIn(mut a) = s;
    let ring = a.tx.keyring(&state).await?;
    let tx = a.tx.tenant()?;
    let slug = tx.slug().as_str().to_owned();
    let active_kids = kapu_oidc::keys::rotate(tx, &ring, &state.oidc_keys, Utc::now()).await?;
    a.tx.commit().await?;
    state.oidc_keys.forget(&slug);
    Ok(Json(RotatedKeys { active_kids }))
}
