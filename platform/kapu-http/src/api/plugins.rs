//! The tenant admin's plugins: list with manifest and status, install an uploaded component,
//! configure against the manifest's schema (secrets are never returned), remove, and the
//! recorded errors of failed calls. Every change is audited.

use kapu_core::Refusal;
use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use chrono::{DateTime, Utc};
use kapu_plugins::installation::{self, CallErrorRecord, Installation};
use kapu_plugins::manifest::SettingKind;
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

const PJ: &str = "application/problem+json";
/// Why plugin administration is recorded in the audit log.
const REASON: &str = "plugin administration";

/// One setting of a plugin's configuration schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingView {
    /// Its name, e.g. `base-url`.
    pub name: String,
    /// `string`, `url`, `integer`, `boolean` or `secret`.
    pub kind: String,
    /// Whether the plugin cannot work without it.
    pub required: bool,
    /// What it is.
    pub description: String,
    /// Its value; never given for secrets.
    pub value: Option<String>,
    /// For secrets: whether one is stored.
    pub set: bool,
}

/// A failed plugin call, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallErrorView {
    /// When.
    pub at: DateTime<Utc>,
    /// The plugin function, e.g. `check-person`.
    pub function: String,
    /// The stable code, e.g. `plugin-failed-unavailable`.
    pub code: String,
    /// What happened.
    pub message: String,
}

impl From<CallErrorRecord> for CallErrorView {
    fn from(e: CallErrorRecord) -> Self {
        Self { at: e.at, function: e.function, code: e.code, message: e.message }
    }
}

/// An installed plugin with its manifest and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    /// Its name, e.g. `registry`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The contract (SDK) version it was built against.
    pub sdk: String,
    /// `parking`, `records`, `finance`, `registry` or `queue`.
    pub world: String,
    /// What it does.
    pub description: String,
    /// The hosts it may reach.
    pub allowed_hosts: Vec<String>,
    /// Its component's SHA-256, hex.
    pub sha256: String,
    /// `configured`, or `not_configured` until a configuration its schema accepts is stored.
    pub status: String,
    /// Its configuration schema with the current values (secrets only as set or not).
    pub settings: Vec<SettingView>,
    /// The latest failed call, if any.
    pub last_error: Option<CallErrorView>,
    /// When it was installed.
    pub installed_at: DateTime<Utc>,
    /// When it was last installed or configured.
    pub updated_at: DateTime<Utc>,
}

fn view(i: Installation, last_error: Option<CallErrorRecord>) -> PluginView {
    let settings = i
        .manifest
        .config
        .iter()
        .map(|(name, s)| {
            let secret = s.kind == SettingKind::Secret;
            SettingView {
                name: name.clone(),
                kind: serde_json::to_value(s.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                required: s.required,
                description: s.description.clone(),
                value: if secret { None } else { i.config.get(name).cloned() },
                set: if secret { i.secrets_set.contains(name) } else { i.config.contains_key(name) },
            }
        })
        .collect();
    PluginView {
        name: i.name,
        version: i.version,
        sdk: i.sdk,
        world: i.world.as_str().to_owned(),
        description: i.manifest.description.clone(),
        allowed_hosts: i.manifest.allowed_hosts.clone(),
        sha256: i.digest,
        status: if i.configured { "configured" } else { "not_configured" }.to_owned(),
        settings,
        last_error: last_error.map(Into::into),
        installed_at: i.installed_at,
        updated_at: i.updated_at,
    }
}

/// The tenant's plugins.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginList {
    /// By name.
    pub plugins: Vec<PluginView>,
}

/// A plugin to install (or upgrade): its manifest and its component.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InstallRequest {
    /// The text of its `plugin.toml`.
    pub manifest: String,
    /// The component (`.wasm`, built for wasm32-wasip2), base64. The request may be at most
    /// 1 MiB, so a component up to about 750 KiB.
    pub component: String,
    /// The SHA-256 (hex) its vendor published; a different component is refused.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// A configuration: every setting's value by name. A secret left out keeps its stored value;
/// an empty one clears it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfigureRequest {
    /// Values by setting name.
    pub values: BTreeMap<String, String>,
}

/// The recorded failed calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallErrorList {
    /// Newest first, at most 100.
    pub errors: Vec<CallErrorView>,
}

fn plugins(state: &AppState) -> Result<&kapu_plugins::installation::Plugins, ApiError> {
    state.plugins.as_ref().ok_or_else(|| ApiError::NotConfigured("this deployment runs no plugins".into()))
}

/// The tenant's plugins with their manifests, configuration status and latest error.
#[utoipa::path(get, path = "/plugins", tag = "plugins",
    responses((status = 200, body = PluginList), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
pub async fn list_plugins(s: SignedIn) -> Result<Json<PluginList>, ApiError> {
    s.require(Permission::ManagePlugins)?;
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    let mut out = Vec::new();
    for i in installation::list(tx).await? {
        let last = installation::errors(tx, &i.name, 1).await?.into_iter().next();
        out.push(view(i, last));
    }
    a.tx.commit().await?;
    Ok(Json(PluginList { plugins: out }))
}

/// One plugin.
#[utoipa::path(get, path = "/plugins/{name}", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = PluginView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
pub async fn get_plugin(s: SignedIn, Path(name): Path<String>) -> Result<Json<PluginView>, ApiError> {
    s.require(Permission::ManagePlugins)?;
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    let i = installation::get(tx, &name).await?;
    let last = installation::errors(tx, &name, 1).await?.into_iter().next();
    a.tx.commit().await?;
    Ok(Json(view(i, last)))
}

/// Install (or upgrade) a plugin from its manifest and component. The component must be a
/// WebAssembly component of the manifest's world and SDK version that imports only what the
/// platform offers; an upgrade keeps the configuration if the new schema accepts it.
#[utoipa::path(post, path = "/plugins", tag = "plugins", request_body = InstallRequest,
    responses((status = 201, body = PluginView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 413, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
pub async fn install_plugin(
    State(state): State<AppState>,
    s: SignedIn,
    Json(req): Json<InstallRequest>,
) -> Result<(StatusCode, Json<PluginView>), ApiError> {
    s.require(Permission::ManagePlugins)?;
    let runtime = plugins(&state)?.runtime();
    let component = base64::engine::general_purpose::STANDARD
        .decode(req.component.trim())
        .map_err(|e| ApiError::field("component", Refusal::Unreadable { detail: format!("the component is not base64: {e}") }))?;
    let actor = s.actor();
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    let now = Utc::now();
    let i = installation::install(tx, runtime, &req.manifest, &component, req.sha256.as_deref(), now).await?;
    let details =
        serde_json::json!({ "plugin": i.name, "version": i.version, "world": i.world.as_str(), "sdk": i.sdk, "sha256": i.digest });
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent { actor: &actor, action: "plugin.install", subject_client_id: None, reason: REASON, details },
        now,
    )
    .await?;
    a.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view(i, None))))
}

/// Configure a plugin. The values must satisfy the manifest's schema; each setting that does
/// not is named in the problem's `errors` (field `values.<setting>`). Secrets are sealed and
/// never returned.
#[utoipa::path(put, path = "/plugins/{name}/config", tag = "plugins", params(("name" = String, Path)), request_body = ConfigureRequest,
    responses((status = 200, body = PluginView), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
        (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
pub async fn configure_plugin(
    State(state): State<AppState>,
    s: SignedIn,
    Path(name): Path<String>,
    Json(req): Json<ConfigureRequest>,
) -> Result<Json<PluginView>, ApiError> {
    s.require(Permission::ManagePlugins)?;
    let actor = s.actor();
    let SignedIn(mut a) = s;
    let ring = a.tx.keyring(&state).await?;
    let tx = a.tx.tenant()?;
    let now = Utc::now();
    let values: HashMap<String, String> = req.values.into_iter().collect();
    let i = installation::update_config(tx, &ring, &name, values, now).await?;
    let details = serde_json::json!({ "plugin": i.name, "settings": i.config.keys().collect::<Vec<_>>(), "secrets_set": i.secrets_set });
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent { actor: &actor, action: "plugin.configure", subject_client_id: None, reason: REASON, details },
        now,
    )
    .await?;
    let last = installation::errors(tx, &name, 1).await?.into_iter().next();
    a.tx.commit().await?;
    Ok(Json(view(i, last)))
}

/// Remove a plugin with its configuration, stored values and error record.
#[utoipa::path(delete, path = "/plugins/{name}", tag = "plugins", params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
pub async fn remove_plugin(s: SignedIn, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    s.require(Permission::ManagePlugins)?;
    let actor = s.actor();
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    let now = Utc::now();
    installation::remove(tx, &name).await?;
    let details = serde_json::json!({ "plugin": name });
    kapu_audit::record(
        tx,
        kapu_audit::AuditEvent { actor: &actor, action: "plugin.remove", subject_client_id: None, reason: REASON, details },
        now,
    )
    .await?;
    a.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The recorded failed calls of a plugin, newest first.
#[utoipa::path(get, path = "/plugins/{name}/errors", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = CallErrorList), (status = 401, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
pub async fn plugin_errors(s: SignedIn, Path(name): Path<String>) -> Result<Json<CallErrorList>, ApiError> {
    s.require(Permission::ManagePlugins)?;
    let SignedIn(mut a) = s;
    let tx = a.tx.tenant()?;
    installation::get(tx, &name).await?;
    let errors = installation::errors(tx, &name, 100).await?;
    a.tx.commit().await?;
    Ok(Json(CallErrorList { errors: errors.into_iter().map(Into::into).collect() }))
}
