//! Deployment settings from the environment.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use kapu_core::Db;
use kapu_crypto::{Crypto, MasterKey};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Where the database is and how to reach the keys.
#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// PostgreSQL URL. `kapu demo` starts its own cluster when this is not set.
    #[arg(long, env = "KAPU_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The master key (32 bytes, base64) that wraps the tenants' data keys.
    #[arg(long, env = "KAPU_MASTER_KEY", hide_env_values = true, global = true)]
    pub master_key: Option<String>,
    /// A file holding the master key, instead of `--master-key`.
    #[arg(long, env = "KAPU_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Earlier master keys (comma-separated), still accepted until `kapu keys rewrap` ran.
    #[arg(long, env = "KAPU_OLD_MASTER_KEYS", hide_env_values = true, global = true)]
    pub old_master_keys: Option<String>,
    /// Prefix of the tenants' PostgreSQL role names (roles are cluster-wide).
    #[arg(long, env = "KAPU_ROLE_PREFIX", default_value = "kapu", global = true)]
    pub role_prefix: String,
    /// Database connections in the pool.
    #[arg(long, env = "KAPU_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,
    /// A decree file of working-day years (format of platform/kapu-calendar/data/hu.toml)
    /// added to the shipped ones: `kapu serve`, `worker` and `demo` refuse to start when it
    /// breaks a rule (check it with `kapu calendar check`).
    #[arg(long, env = "KAPU_CALENDAR_FILE", global = true)]
    pub calendar_file: Option<PathBuf>,
}

impl Settings {
    /// Connects to the database.
    pub async fn db(&self) -> Result<Db> {
        let url = self.database_url.as_deref().context("set KAPU_DATABASE_URL (or use `kapu demo`, which starts its own PostgreSQL)")?;
        let db = connect(url, &self.role_prefix, self.db_pool).await?;
        require_safe_login_role(&db).await?;
        Ok(db)
    }

    /// The working-day calendar of the deployment (see [`crate::calendar_cmd::load`]).
    pub fn calendar(&self) -> Result<Arc<kapu_calendar::Calendar>> {
        crate::calendar_cmd::load(self.calendar_file.as_deref())
    }

    /// The master keys.
    pub fn crypto(&self) -> Result<Arc<Crypto>> {
        let current = match (&self.master_key, &self.master_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("reading the master key file {}", f.display()))?,
            (None, None) => bail!("set KAPU_MASTER_KEY or KAPU_MASTER_KEY_FILE (make one with `kapu keys generate`)"),
        };
        let current = MasterKey::from_base64(&current).context("KAPU_MASTER_KEY")?;
        let old = self
            .old_master_keys
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(MasterKey::from_base64)
            .collect::<Result<Vec<_>, _>>()
            .context("KAPU_OLD_MASTER_KEYS")?;
        Ok(Arc::new(Crypto::new(current, old)))
    }
}

/// Refuses a login role that would leave the tenants' data unguarded by the database: a
/// superuser, or a role that inherits the tenant roles' privileges (see
/// `kapu_core::LoginRole`). Every command but `kapu demo` connects through this.
pub async fn require_safe_login_role(db: &Db) -> Result<()> {
    let role = db.login_role().await.context("reading the database login role")?;
    role.require_safe().context("refusing to start")?;
    Ok(())
}

/// A pool on `url`. sqlx's statement logging is off, slow statements included: the
/// one-message paths carry their values inlined in the SQL text, so a logged statement
/// would put personal data and tokens into the logs. Slow requests show in the request
/// log's latency and the metrics instead.
pub async fn connect(url: &str, role_prefix: &str, max: u32) -> Result<Db> {
    let options = PgConnectOptions::from_str(url)
        .context("KAPU_DATABASE_URL is not a PostgreSQL URL")?
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(1));
    let pool = PgPoolOptions::new()
        .max_connections(max)
        // A ping per checkout doubles the round trips of short requests; a broken
        // connection fails its query instead, and the pool replaces it.
        .test_before_acquire(false)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    Ok(Db::new(pool, role_prefix))
}

/// Through a superuser pool `admin` on a private cluster (the demo's, the benchmark's, the
/// tests'): makes `role` the application's login role when it does not exist (see
/// `kapu_core::login_role_setup_sql`) and `database` owned by it when missing. A database
/// that exists but belongs to another role (made by an older Kapu, which connected as the
/// superuser) is refused with what to do.
pub async fn ensure_app_database(admin: &sqlx::PgPool, role: &str, password: Option<&str>, database: &str) -> Result<()> {
    let role_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)").bind(role).fetch_one(admin).await?;
    let owner: Option<String> = sqlx::query_scalar("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_optional(admin)
        .await?;
    let setup = kapu_core::login_role_setup_sql(role, password, database);
    let (create_role, create_db) = setup.split_once('\n').context("the setup SQL has two statements")?;
    if !role_exists {
        sqlx::query(create_role.trim_end_matches(';')).execute(admin).await.with_context(|| format!("creating the login role {role}"))?;
    }
    match owner {
        None => {
            sqlx::query(create_db.trim_end_matches(';'))
                .execute(admin)
                .await
                .with_context(|| format!("creating the database {database}"))?;
        }
        Some(owner) if owner == role => {}
        Some(owner) => bail!(
            "the database {database} belongs to {owner:?}, not to the application's role {role:?}: it was made by an older Kapu that connected as the superuser; remove it (or this cluster's folder) and start again"
        ),
    }
    Ok(())
}
