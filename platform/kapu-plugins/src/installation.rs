//! Plugins installed per tenant: the component and manifest, the configuration (secret
//! settings sealed by `kapu-crypto`), the key-value store and the record of failed calls.
//! Everything lives in the tenant's schema and is reached only through its transaction, so one
//! tenant's plugin never sees another tenant's configuration or data.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kapu_core::{Db, Now, TenantSlug, TenantTx};
use kapu_crypto::{Crypto, Keyring};
use serde::Serialize;
use sqlx::Row;

use crate::registry::{Address, AddressCheck, PersonAnswer, PersonQuery, Vehicle};
use crate::{CallContext, Called, HttpMode, KV_MAX_KEYS, KvError, KvStore, Manifest, Plugin, PluginConfig, PluginError, Runtime, World};

/// Associated data of the sealed secret settings.
/// An installation's secret settings, sealed.
pub const SECRETS: kapu_crypto::Column =
    kapu_crypto::Column::new("plugin_installation", "name", "secrets_enc").legacy("plugin_installation.secrets_enc");

/// A plugin as installed for a tenant (never its secrets).
#[derive(Clone, Debug, Serialize)]
pub struct Installation {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The contract version it was built against.
    pub sdk: String,
    /// Its world.
    pub world: World,
    /// Its component's SHA-256, hex.
    pub digest: String,
    /// Whether a configuration that satisfies its schema is stored.
    pub configured: bool,
    /// Its non-secret settings.
    pub config: BTreeMap<String, String>,
    /// The names of its secret settings that are set.
    pub secrets_set: Vec<String>,
    /// When it was first installed.
    pub installed_at: Now,
    /// When it was last installed or configured.
    pub updated_at: Now,
    /// Its manifest (description, allowed hosts, configuration schema).
    pub manifest: Manifest,
}

/// A failed call, as recorded for the admin.
#[derive(Clone, Debug, Serialize)]
pub struct CallErrorRecord {
    /// When.
    pub at: Now,
    /// The plugin function, e.g. `check-person`.
    pub function: String,
    /// The stable code, e.g. `plugin-timeout`.
    pub code: String,
    /// What happened.
    pub message: String,
}

fn installation(row: &sqlx::postgres::PgRow) -> Result<Installation, PluginError> {
    let world: String = row.try_get("world")?;
    let config: serde_json::Value = row.try_get("config")?;
    // The non-secret settings are the stored object's text values; `_secret_names` is ours.
    let config: BTreeMap<String, String> = config
        .as_object()
        .map(|m| m.iter().filter(|(k, _)| !k.starts_with('_')).filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let secret_names: serde_json::Value = row.try_get("secret_names")?;
    Ok(Installation {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        sdk: row.try_get("sdk")?,
        world: World::parse(&world).ok_or_else(|| PluginError::Host(format!("stored world {world:?}")))?,
        digest: row.try_get("digest")?,
        configured: row.try_get("configured")?,
        config,
        secrets_set: serde_json::from_value(secret_names).map_err(|e| PluginError::Host(format!("stored secret names: {e}")))?,
        installed_at: row.try_get("installed_at")?,
        updated_at: row.try_get("updated_at")?,
        manifest: Manifest::parse(&row.try_get::<String, _>("manifest")?)?,
    })
}

const COLUMNS: &str = "name, version, sdk, world, digest, configured, config, installed_at, updated_at, manifest, \
    coalesce(config -> '_secret_names', '[]'::jsonb) AS secret_names";

/// Installs (or upgrades) a plugin: the manifest must be valid (IP addresses and `localhost`
/// in its allowed hosts only where the operator's network policy allows them) and the component must load
/// (a component, of the manifest's world and SDK version, importing only what the host
/// offers). `expected_digest` is the SHA-256 the admin was given with the plugin; when set,
/// a different component is refused. An upgrade keeps the configuration if the new schema
/// accepts it.
pub async fn install(
    tx: &mut TenantTx,
    runtime: &Runtime,
    manifest_text: &str,
    component: &[u8],
    expected_digest: Option<&str>,
    now: Now,
) -> Result<Installation, PluginError> {
    let manifest = Manifest::parse(manifest_text)?;
    runtime.check_manifest(&manifest)?;
    let plugin = runtime.load(&manifest, component, expected_digest)?;
    let row = sqlx::query(&format!(
        "INSERT INTO plugin_installation (name, version, sdk, world, manifest, component, digest, installed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (name) DO UPDATE SET version = $2, sdk = $3, world = $4, manifest = $5, component = $6,
             digest = $7, updated_at = $8
         RETURNING {COLUMNS}"
    ))
    .bind(&manifest.name)
    .bind(&manifest.version)
    .bind(&manifest.sdk)
    .bind(manifest.world.as_str())
    .bind(manifest_text)
    .bind(component)
    .bind(plugin.digest())
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    let mut inst = installation(&row)?;
    let mut present: HashMap<String, String> = inst.config.clone().into_iter().collect();
    present.extend(inst.secrets_set.iter().map(|k| (k.clone(), "set".to_owned())));
    let configured = manifest.check_config(&present).is_ok();
    if configured != inst.configured {
        sqlx::query("UPDATE plugin_installation SET configured = $2 WHERE name = $1")
            .bind(&manifest.name)
            .bind(configured)
            .execute(tx.conn())
            .await?;
        inst.configured = configured;
    }
    Ok(inst)
}

/// The tenant's plugins, by name.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Installation>, PluginError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM plugin_installation ORDER BY name")).fetch_all(tx.conn()).await?;
    rows.iter().map(installation).collect()
}

/// The name of the tenant's plugin of `world` (the first by name, if several are installed).
pub async fn of_world(tx: &mut TenantTx, world: World) -> Result<Option<String>, PluginError> {
    Ok(sqlx::query_scalar("SELECT name FROM plugin_installation WHERE world = $1 ORDER BY name LIMIT 1")
        .bind(world.as_str())
        .fetch_optional(tx.conn())
        .await?)
}

async fn manifest_of(tx: &mut TenantTx, name: &str) -> Result<Manifest, PluginError> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT manifest FROM plugin_installation WHERE name = $1").bind(name).fetch_optional(tx.conn()).await?;
    Manifest::parse(&text.ok_or_else(|| PluginError::NotInstalled(name.to_owned()))?)
}

/// Replaces a plugin's configuration with `values`, which must satisfy the manifest's schema.
/// Secret settings are sealed; the others are stored as they are.
pub async fn configure(
    tx: &mut TenantTx,
    ring: &Keyring,
    name: &str,
    values: HashMap<String, String>,
    now: Now,
) -> Result<Installation, PluginError> {
    store_config(tx, ring, name, values, false, now).await
}

/// Like [`configure`], except that a secret setting left out of `values` keeps its stored
/// value (an admin edits settings without seeing, or retyping, the secrets); an empty value
/// clears it.
pub async fn update_config(
    tx: &mut TenantTx,
    ring: &Keyring,
    name: &str,
    values: HashMap<String, String>,
    now: Now,
) -> Result<Installation, PluginError> {
    store_config(tx, ring, name, values, true, now).await
}

async fn store_config(
    tx: &mut TenantTx,
    ring: &Keyring,
    name: &str,
    mut values: HashMap<String, String>,
    keep_secrets: bool,
    now: Now,
) -> Result<Installation, PluginError> {
    let manifest = manifest_of(tx, name).await?;
    if keep_secrets {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secrets_enc FROM plugin_installation WHERE name = $1").bind(name).fetch_one(tx.conn()).await?;
        if let Some(blob) = sealed {
            let stored: HashMap<String, String> =
                serde_json::from_slice(&ring.open(&SECRETS.at(name), &blob)?).map_err(|e| PluginError::Host(e.to_string()))?;
            for (k, v) in stored {
                if manifest.is_secret(&k) {
                    values.entry(k).or_insert(v);
                }
            }
        }
    }
    values.retain(|k, v| !(manifest.is_secret(k) && v.is_empty()));
    manifest.check_config(&values)?;
    let (secrets, plain): (HashMap<_, _>, HashMap<_, _>) = values.into_iter().partition(|(k, _)| manifest.is_secret(k));
    let mut secret_names: Vec<&String> = secrets.keys().collect();
    secret_names.sort();
    let mut config = serde_json::to_value(&plain).map_err(|e| PluginError::Host(e.to_string()))?;
    if let Some(map) = config.as_object_mut() {
        map.insert("_secret_names".into(), serde_json::json!(secret_names));
    }
    let sealed = if secrets.is_empty() {
        None
    } else {
        Some(ring.seal(&SECRETS.at(name), &serde_json::to_vec(&secrets).map_err(|e| PluginError::Host(e.to_string()))?)?)
    };
    let row = sqlx::query(&format!(
        "UPDATE plugin_installation SET config = $2, secrets_enc = $3, configured = true, updated_at = $4
         WHERE name = $1 RETURNING {COLUMNS}"
    ))
    .bind(name)
    .bind(&config)
    .bind(sealed)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    installation(&row)
}

/// One of the tenant's plugins.
pub async fn get(tx: &mut TenantTx, name: &str) -> Result<Installation, PluginError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM plugin_installation WHERE name = $1"))
        .bind(name)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| PluginError::NotInstalled(name.to_owned()))?;
    installation(&row)
}

/// Removes a plugin with its configuration, stored values and error record.
pub async fn remove(tx: &mut TenantTx, name: &str) -> Result<(), PluginError> {
    let n = sqlx::query("DELETE FROM plugin_installation WHERE name = $1").bind(name).execute(tx.conn()).await?.rows_affected();
    if n == 0 {
        return Err(PluginError::NotInstalled(name.to_owned()));
    }
    Ok(())
}

/// The latest failed calls of a plugin, newest first.
pub async fn errors(tx: &mut TenantTx, name: &str, limit: i64) -> Result<Vec<CallErrorRecord>, PluginError> {
    let rows =
        sqlx::query("SELECT at, function, code, message FROM plugin_call_error WHERE plugin = $1 ORDER BY at DESC, id DESC LIMIT $2")
            .bind(name)
            .bind(limit)
            .fetch_all(tx.conn())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(CallErrorRecord {
                at: r.try_get("at")?,
                function: r.try_get("function")?,
                code: r.try_get("code")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}

/// Records a failed call for the admin.
pub async fn record_error(tx: &mut TenantTx, name: &str, function: &str, error: &PluginError, now: Now) -> Result<(), PluginError> {
    sqlx::query("INSERT INTO plugin_call_error (plugin, at, function, code, message) VALUES ($1, $2, $3, $4, $5)")
        .bind(name)
        .bind(now)
        .bind(function)
        .bind(error.code())
        .bind(error.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Loads an installed plugin (compiled once per component and kept by the runtime) and its
/// decrypted configuration. Refuses a plugin whose configuration its schema does not accept.
pub async fn prepare(tx: &mut TenantTx, ring: &Keyring, runtime: &Runtime, name: &str) -> Result<(Plugin, PluginConfig), PluginError> {
    let row = sqlx::query("SELECT manifest, component, digest, config, secrets_enc, configured FROM plugin_installation WHERE name = $1")
        .bind(name)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| PluginError::NotInstalled(name.to_owned()))?;
    let manifest = Manifest::parse(&row.try_get::<String, _>("manifest")?)?;
    let digest: String = row.try_get("digest")?;
    let component: Vec<u8> = row.try_get("component")?;
    let plugin = runtime.load(&manifest, &component, Some(&digest))?;
    let config: serde_json::Value = row.try_get("config")?;
    let mut values: HashMap<String, String> = HashMap::new();
    if let Some(map) = config.as_object() {
        for (k, v) in map {
            if let Some(s) = v.as_str() {
                values.insert(k.clone(), s.to_owned());
            }
        }
    }
    let secrets: HashMap<String, String> = match row.try_get::<Option<Vec<u8>>, _>("secrets_enc")? {
        Some(blob) => serde_json::from_slice(&ring.open(&SECRETS.at(name), &blob)?).map_err(|e| PluginError::Host(e.to_string()))?,
        None => HashMap::new(),
    };
    let mut all = values.clone();
    all.extend(secrets.clone());
    let problems = manifest.config_problems(&all);
    if !problems.is_empty() {
        let what: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        return Err(PluginError::Config(format!("{name} is not configured: {}", what.join("; "))));
    }
    Ok((plugin, PluginConfig { values, secrets }))
}

/// The key-value store in a tenant's schema; each operation is its own short transaction.
pub struct DbKv {
    db: Db,
    slug: TenantSlug,
}

impl DbKv {
    /// The store of tenant `slug`.
    pub fn new(db: Db, slug: TenantSlug) -> Self {
        Self { db, slug }
    }
}

#[async_trait::async_trait]
impl KvStore for DbKv {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let mut tx = self.db.tenant_tx_for(&self.slug).await?;
        let v = sqlx::query_scalar("SELECT value FROM plugin_kv WHERE plugin = $1 AND key = $2")
            .bind(plugin)
            .bind(key)
            .fetch_optional(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        let mut tx = self.db.tenant_tx_for(&self.slug).await?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM plugin_kv WHERE plugin = $1 AND key <> $2")
            .bind(plugin)
            .bind(key)
            .fetch_one(tx.conn())
            .await?;
        if count >= KV_MAX_KEYS {
            return Err(KvError::Full);
        }
        sqlx::query(
            "INSERT INTO plugin_kv (plugin, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (plugin, key) DO UPDATE SET value = $3",
        )
        .bind(plugin)
        .bind(key)
        .bind(value)
        .execute(tx.conn())
        .await?;
        Ok(tx.commit().await?)
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        let mut tx = self.db.tenant_tx_for(&self.slug).await?;
        sqlx::query("DELETE FROM plugin_kv WHERE plugin = $1 AND key = $2").bind(plugin).bind(key).execute(tx.conn()).await?;
        Ok(tx.commit().await?)
    }
}

/// The platform's side of plugin calls: the database, the keys and the host.
#[derive(Clone)]
pub struct Plugins {
    db: Db,
    crypto: Arc<Crypto>,
    runtime: Arc<Runtime>,
}

impl Plugins {
    /// The plugin service.
    pub fn new(db: Db, crypto: Arc<Crypto>, runtime: Arc<Runtime>) -> Self {
        Self { db, crypto, runtime }
    }

    /// The host.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The name of tenant `slug`'s plugin of `world`, if one is installed.
    pub async fn of_world(&self, slug: &TenantSlug, world: World) -> Result<Option<String>, PluginError> {
        let mut tx = self.db.tenant_tx_for(slug).await?;
        let name = of_world(&mut tx, world).await?;
        tx.commit().await?;
        Ok(name)
    }

    /// The loaded plugin `name` of tenant `slug` and the context to call it in (its own
    /// configuration and store, real HTTP). The transaction is closed before the call runs.
    pub async fn context(&self, slug: &TenantSlug, name: &str) -> Result<(Plugin, CallContext), PluginError> {
        let mut tx = self.db.tenant_tx_for(slug).await?;
        let ring = self.crypto.keyring(tx.conn(), slug.as_str()).await?;
        let (plugin, config) = prepare(&mut tx, &ring, &self.runtime, name).await?;
        tx.commit().await?;
        let ctx = CallContext {
            tenant: slug.as_str().to_owned(),
            config: Arc::new(config),
            kv: Arc::new(DbKv::new(self.db.clone(), slug.clone())),
            http: HttpMode::Network,
        };
        Ok((plugin, ctx))
    }

    /// Runs one call of plugin `name` for tenant `slug` and records a failure for the admin.
    async fn recorded<R>(
        &self,
        slug: &TenantSlug,
        name: &str,
        function: &str,
        now: Now,
        call: impl AsyncFnOnce(&Runtime, &Plugin, CallContext) -> Called<R>,
    ) -> Result<R, PluginError> {
        let result = match self.context(slug, name).await {
            Ok((plugin, ctx)) => call(&self.runtime, &plugin, ctx).await.result,
            Err(e) => Err(e),
        };
        if let Err(e) = &result
            && !matches!(e, PluginError::NotInstalled(_))
        {
            self.record_failure(slug, name, function, e, now).await;
        }
        result
    }

    /// Checks a person with tenant `slug`'s registry plugin `name`; a failure is recorded.
    pub async fn check_person(&self, slug: &TenantSlug, name: &str, query: PersonQuery, now: Now) -> Result<PersonAnswer, PluginError> {
        self.recorded(slug, name, "check-person", now, async |rt, p, ctx| rt.check_person(p, ctx, query).await).await
    }

    /// Checks an address with tenant `slug`'s registry plugin `name`; a failure is recorded.
    pub async fn check_address(&self, slug: &TenantSlug, name: &str, address: Address, now: Now) -> Result<AddressCheck, PluginError> {
        self.recorded(slug, name, "check-address", now, async |rt, p, ctx| rt.check_address(p, ctx, address).await).await
    }

    /// Looks a vehicle up with tenant `slug`'s registry plugin `name`; a failure is recorded.
    pub async fn find_vehicle(
        &self,
        slug: &TenantSlug,
        name: &str,
        plate: String,
        holder_address: Option<Address>,
        now: Now,
    ) -> Result<Option<Vehicle>, PluginError> {
        self.recorded(slug, name, "find-vehicle", now, async |rt, p, ctx| rt.find_vehicle(p, ctx, plate, holder_address).await).await
    }

    /// Records a failed call of `name` for tenant `slug`'s admin (logging, not failing, if
    /// the record cannot be written).
    pub async fn record_failure(&self, slug: &TenantSlug, name: &str, function: &str, error: &PluginError, now: Now) {
        let result = async {
            let mut tx = self.db.tenant_tx_for(slug).await?;
            record_error(&mut tx, name, function, error, now).await?;
            tx.commit().await?;
            Ok::<(), PluginError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(tenant = %slug.as_str(), plugin = %name, error = %e, "could not record a failed plugin call");
        }
    }
}
