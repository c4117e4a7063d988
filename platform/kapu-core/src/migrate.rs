//! Platform and tenant migrations.
//!
//! SQL files live in `migrations/platform/` and `migrations/tenant/` at the workspace root,
//! named `<version>_<description>.sql`, and are embedded at build time. Each schema keeps a
//! `schema_migration` table of what it has applied, with checksums, so re-running continues
//! where it stopped and an edited, already-applied file is refused.

use sqlx::PgConnection;
use sqlx::migrate::{Migration, Migrator};

use crate::db::enter_tenant;
use crate::{CoreError, CoreResult, Db, TenantSlug};

static PLATFORM: Migrator = sqlx::migrate!("../../migrations/platform");
static TENANT: Migrator = sqlx::migrate!("../../migrations/tenant");

/// Applies the platform migrations (schema `kapu`), all in one transaction.
pub async fn migrate_platform(db: &Db) -> CoreResult<usize> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('kapu.migrate.platform'))").execute(&mut *tx).await?;
    sqlx::query("CREATE SCHEMA IF NOT EXISTS kapu").execute(&mut *tx).await?;
    sqlx::query("SELECT set_config('search_path', 'kapu', true)").execute(&mut *tx).await?;
    let applied = apply(&mut tx, &PLATFORM).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Applies the pending tenant migrations to one tenant inside the caller's transaction,
/// which must already act as the tenant. Returns how many were applied.
pub(crate) async fn apply_tenant_migrations(conn: &mut PgConnection) -> CoreResult<usize> {
    apply(conn, &TENANT).await
}

/// Migrates one tenant in a transaction of its own.
pub async fn migrate_tenant(db: &Db, slug: &TenantSlug) -> CoreResult<usize> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('kapu.migrate.' || $1))").bind(slug.schema()).execute(&mut *tx).await?;
    enter_tenant(&mut tx, slug, db.role_prefix()).await?;
    let applied = apply(&mut tx, &TENANT).await?;
    tx.commit().await?;
    Ok(applied)
}

/// The outcome of migrating one tenant.
#[derive(Debug)]
pub struct TenantMigrationOutcome {
    /// Which tenant.
    pub slug: TenantSlug,
    /// Migrations applied, or why the tenant failed (its transaction was rolled back).
    pub result: CoreResult<usize>,
}

/// What a run over all tenants did.
#[derive(Debug, Default)]
pub struct MigrationReport {
    /// One entry per tenant, in the order they ran.
    pub tenants: Vec<TenantMigrationOutcome>,
}

impl MigrationReport {
    /// The tenants that failed.
    pub fn failures(&self) -> impl Iterator<Item = &TenantMigrationOutcome> {
        self.tenants.iter().filter(|t| t.result.is_err())
    }
}

impl Db {
    /// Migrates every tenant, each in its own transaction; a failing tenant is reported and
    /// the others go on. `progress` is called after each tenant.
    pub async fn migrate_all_tenants(&self, mut progress: impl FnMut(&TenantMigrationOutcome)) -> CoreResult<MigrationReport> {
        let mut conn = self.pool().acquire().await?;
        let slugs: Vec<String> = sqlx::query_scalar("SELECT slug FROM kapu.tenant ORDER BY slug").fetch_all(&mut *conn).await?;
        drop(conn);
        let mut report = MigrationReport::default();
        for slug in slugs {
            let slug = TenantSlug::parse(&slug)?;
            let result = migrate_tenant(self, &slug).await;
            let outcome = TenantMigrationOutcome { slug, result };
            progress(&outcome);
            report.tenants.push(outcome);
        }
        Ok(report)
    }
}

async fn ensure_table(conn: &mut PgConnection) -> CoreResult<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migration (
            version bigint PRIMARY KEY,
            description text NOT NULL,
            checksum bytea NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn apply(conn: &mut PgConnection, migrator: &Migrator) -> CoreResult<usize> {
    ensure_table(conn).await?;
    let done: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT version, checksum FROM schema_migration").fetch_all(&mut *conn).await?;
    let mut applied = 0;
    for m in migrator.iter().filter(|m| m.migration_type.is_up_migration()) {
        if let Some((_, sum)) = done.iter().find(|(v, _)| *v == m.version) {
            if sum.as_slice() != &*m.checksum {
                return Err(CoreError::MigrationChanged { version: m.version, description: m.description.to_string() });
            }
            continue;
        }
        run_one(conn, m).await?;
        applied += 1;
    }
    Ok(applied)
}

async fn run_one(conn: &mut PgConnection, m: &Migration) -> CoreResult<()> {
    let failed = |source| CoreError::MigrationFailed { version: m.version, description: m.description.to_string(), source };
    sqlx::raw_sql(&m.sql).execute(&mut *conn).await.map_err(failed)?;
    sqlx::query("INSERT INTO schema_migration (version, description, checksum) VALUES ($1, $2, $3)")
        .bind(m.version)
        .bind(&*m.description)
        .bind(&*m.checksum)
        .execute(conn)
        .await
        .map_err(failed)?;
    Ok(())
}
