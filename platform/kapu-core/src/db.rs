use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::read::{ReadPool, Statement};
use crate::{CoreResult, Tenant, TenantSlug};

/// The deployment's database: a connection pool plus the prefix of tenant role names.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    reads: ReadPool,
    role_prefix: String,
}

impl Db {
    /// Wraps a pool. `role_prefix` keeps the tenant roles of several deployments (or test
    /// databases) in one PostgreSQL cluster apart, since roles are cluster-wide.
    pub fn new(pool: PgPool, role_prefix: impl Into<String>) -> Self {
        let reads = ReadPool::new((*pool.connect_options()).clone(), pool.options().get_max_connections() as usize);
        Self { pool, reads, role_prefix: role_prefix.into() }
    }

    /// The prefix of tenant role names.
    pub fn role_prefix(&self) -> &str {
        &self.role_prefix
    }

    /// The underlying pool, for health checks and the platform schema.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Opens a transaction on the platform schema (tenant registry, operators).
    pub async fn platform_tx(&self) -> CoreResult<PlatformTx> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('search_path', 'kapu', true)").execute(&mut *tx).await?;
        Ok(PlatformTx { tx })
    }

    /// Opens a transaction that acts as the tenant: `SET LOCAL ROLE` to the tenant's role
    /// and `search_path` to its schema, so the database refuses anything outside it.
    pub async fn tenant_tx(&self, tenant: &Tenant) -> CoreResult<TenantTx> {
        self.tenant_tx_for(&tenant.slug).await
    }

    /// Like [`Db::tenant_tx`] when only the slug is at hand.
    pub async fn tenant_tx_for(&self, slug: &TenantSlug) -> CoreResult<TenantTx> {
        // One round trip for BEGIN and the switch. Role and schema names come from a checked
        // slug (lowercase letters, digits, underscores), so quoting them is safe.
        let sql = format!(
            "BEGIN; SET LOCAL ROLE \"{}\"; SET LOCAL search_path TO \"{}\"; SET LOCAL kapu.tenant TO '{}'",
            slug.role(&self.role_prefix),
            slug.schema(),
            slug.as_str()
        );
        let tx = self.pool.begin_with(sql).await?;
        Ok(TenantTx::from_parts(tx, slug.clone()))
    }
}

impl Db {
    /// Runs one `SELECT` as the tenant in a single round trip: the tenant switch and the
    /// statement travel in one message that PostgreSQL runs as one read-only transaction
    /// (see the `read` module). Rows come in text format, which `sqlx::FromRow` decodes.
    /// For reads that need more than one statement, or that write, use [`Db::tenant_tx`].
    pub async fn tenant_read(&self, slug: &TenantSlug, query: &sea_query::SelectStatement) -> CoreResult<Vec<PgRow>> {
        self.reads.read(slug, &self.role_prefix, query).await
    }

    /// Like [`Db::tenant_read`] for several statements in the same message (one read-only
    /// transaction, one round trip). Returns each statement's rows, in order.
    pub async fn tenant_read_all(&self, slug: &TenantSlug, statements: &[Statement]) -> CoreResult<Vec<Vec<PgRow>>> {
        self.reads.run(slug, &self.role_prefix, statements, true).await
    }

    /// Runs `statements` as the tenant in one message: one implicit transaction that
    /// commits when the last statement succeeds and changes nothing when any fails, in one
    /// round trip. For writes that fit in a few statements (a CTE for several tables).
    /// Returns each statement's rows (`RETURNING`), in order.
    pub async fn tenant_write(&self, slug: &TenantSlug, statements: &[Statement]) -> CoreResult<Vec<Vec<PgRow>>> {
        self.reads.run(slug, &self.role_prefix, statements, false).await
    }
}

pub(crate) async fn enter_tenant(conn: &mut PgConnection, slug: &TenantSlug, role_prefix: &str) -> CoreResult<()> {
    // One round trip: `set_config('role', …, true)` is `SET LOCAL ROLE`.
    sqlx::query("SELECT set_config('role', $1, true), set_config('search_path', $2, true), set_config('kapu.tenant', $3, true)")
        .bind(slug.role(role_prefix))
        .bind(slug.schema())
        .bind(slug.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A transaction that runs as one tenant. Domain crates take this type for every query on
/// tenant data; it cannot be built without switching role and schema first.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    slug: TenantSlug,
    /// Writes that travel with the next message: [`TenantTx::run`]'s or the commit's.
    deferred: Vec<Statement>,
}

impl TenantTx {
    pub(crate) fn from_parts(tx: Transaction<'static, Postgres>, slug: TenantSlug) -> Self {
        Self { tx, slug, deferred: Vec::new() }
    }

    pub(crate) fn into_inner(self) -> Transaction<'static, Postgres> {
        debug_assert!(self.deferred.is_empty(), "deferred writes would be lost");
        self.tx
    }

    /// The tenant this transaction acts for.
    pub fn slug(&self) -> &TenantSlug {
        &self.slug
    }

    /// The connection, to run queries on. Writes [deferred](TenantTx::defer) are not on it
    /// yet: a transaction that defers sends nothing else but through [`TenantTx::run`].
    pub fn conn(&mut self) -> &mut PgConnection {
        debug_assert!(self.deferred.is_empty(), "a query on the connection would not see the deferred writes");
        &mut self.tx
    }

    /// Commits the transaction, with the deferred writes in the same message.
    pub async fn commit(mut self) -> CoreResult<()> {
        if self.deferred.is_empty() {
            return Ok(self.tx.commit().await?);
        }
        // The `BEGIN` after the `COMMIT` opens an empty transaction for sqlx's bookkeeping,
        // which still counts one open: dropping it queues its `ROLLBACK`, which travels with
        // the check the pool makes when the connection comes back.
        let sql = format!("{};\nCOMMIT;\nBEGIN", crate::read::message(&std::mem::take(&mut self.deferred))?);
        crate::read::run_message(&mut self.tx, &sql, 0).await?;
        Ok(())
    }

    /// Holds `statements` back to send them with the next message, [`TenantTx::run`]'s or
    /// the commit's: for writes that follow a lock this transaction took and whose rows no
    /// one reads, so that the lock is held for as few round trips as can be. A deferred
    /// write that fails makes that message fail, and the transaction changes nothing.
    pub fn defer(&mut self, statements: impl IntoIterator<Item = Statement>) {
        self.deferred.extend(statements);
    }

    /// Runs `statements` in this transaction as one message (one round trip), after the
    /// writes [deferred](TenantTx::defer) so far, and returns each statement's rows, in
    /// order and in text format. Their values travel inlined as exact literals, so
    /// PostgreSQL plans them on every run. A value that cannot be stored exactly
    /// ([`CoreError::UnstorableValue`](crate::CoreError::UnstorableValue)) fails the call
    /// before anything is sent, and the deferred writes with it: roll back. When one fails, the rest do not run and the
    /// transaction can only roll back.
    pub async fn run(&mut self, statements: &[Statement]) -> CoreResult<Vec<Vec<PgRow>>> {
        let deferred = std::mem::take(&mut self.deferred);
        let sql = crate::read::message(deferred.iter().chain(statements))?;
        let mut results = crate::read::run_message(&mut self.tx, &sql, deferred.len() + statements.len()).await?;
        Ok(results.split_off(deferred.len().min(results.len())))
    }

    /// Rolls the transaction back (dropping it does the same).
    pub async fn rollback(self) -> CoreResult<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// A transaction on the platform schema `kapu`.
#[derive(Debug)]
pub struct PlatformTx {
    tx: Transaction<'static, Postgres>,
}

impl PlatformTx {
    /// The connection, to run queries on.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits the transaction.
    pub async fn commit(self) -> CoreResult<()> {
        Ok(self.tx.commit().await?)
    }
}

/// A transaction bound to one scope: a tenant's schema or the platform schema. Code that
/// works the same in both (staff accounts, data keys) takes this instead of a bare connection.
pub trait ScopedTx: Send {
    /// The connection, to run queries on.
    fn conn(&mut self) -> &mut PgConnection;
    /// The scope's name: the tenant slug, or `platform`.
    fn scope(&self) -> &str;
}

impl ScopedTx for TenantTx {
    fn conn(&mut self) -> &mut PgConnection {
        TenantTx::conn(self)
    }
    fn scope(&self) -> &str {
        self.slug.as_str()
    }
}

impl ScopedTx for PlatformTx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
    fn scope(&self) -> &str {
        PLATFORM_SCOPE
    }
}

/// The scope name of the platform schema. No tenant slug can take it (slugs are checked and
/// `platform` is reserved).
pub const PLATFORM_SCOPE: &str = "platform";
