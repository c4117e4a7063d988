//! Tenant reads, and single-message writes, in one round trip.
//!
//! A [`TenantTx`](crate::TenantTx) costs three round trips before any work is done twice
//! over: `BEGIN` with the tenant switch, the query, `COMMIT` (and the pool's check when the
//! connection goes back). A read that needs one `SELECT` sends instead a single simple-query
//! message: `SET LOCAL ROLE`, `SET LOCAL search_path`, `SET LOCAL transaction_read_only`
//! and the statement. PostgreSQL runs the statements of one message as one implicit
//! transaction, so the tenant switch ends with the message, whatever happens to the
//! caller, and the read cannot write.
//!
//! The statement comes as a sea-query [`SelectStatement`], rendered with its values
//! inlined and quoted by sea-query, or as a [`Statement`]: SQL text fixed at compile time
//! (`&'static str`, so nothing a request sends can become SQL) whose `$n` placeholders
//! sea-query replaces by its quoted literals. Several statements can travel in the same
//! message; a write ([`Db::tenant_write`](crate::Db::tenant_write)) is the same message
//! without the read-only switch, so its statements commit together or not at all. The
//! connections come from a small pool of their own that never pings: a connection is
//! returned only when its last message was read to the end, and otherwise closed.

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use futures_util::TryStreamExt;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SelectStatement};
use sqlx::Either;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, Executor, PgConnection};

use crate::{CoreError, CoreResult, TenantSlug};

/// One statement of a single-message read or write.
#[derive(Clone, Debug)]
pub struct Statement {
    text: String,
}

impl Statement {
    /// SQL text of one statement (no transaction control: the message is the transaction)
    /// with `$1`, `$2`, … placeholders, and their values, which sea-query renders as quoted
    /// literals. The text is `'static`: it is part of the program, never input.
    ///
    /// # Panics
    /// When the text names a placeholder with no value (a programming error).
    pub fn new(sql: &'static str, values: impl IntoIterator<Item = sea_query::Value>) -> Self {
        Self { text: sea_query::inject_parameters(sql, values, &PostgresQueryBuilder) }
    }

    /// A sea-query statement, with its values inlined.
    pub fn query(q: &impl QueryStatementWriter) -> Self {
        Self { text: q.to_string(PostgresQueryBuilder) }
    }
}

/// The pool of connections for one-round-trip reads and writes.
#[derive(Clone, Debug)]
pub(crate) struct ReadPool {
    pool: managed::Pool<Manager>,
}

#[derive(Debug)]
pub(crate) struct Manager {
    options: PgConnectOptions,
}

/// A connection and whether its last message was read to the end.
#[derive(Debug)]
pub(crate) struct ReadConn {
    conn: PgConnection,
    idle: bool,
}

impl managed::Manager for Manager {
    type Type = ReadConn;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<ReadConn, sqlx::Error> {
        Ok(ReadConn { conn: PgConnection::connect_with(&self.options).await?, idle: true })
    }

    async fn recycle(&self, c: &mut ReadConn, _: &Metrics) -> RecycleResult<sqlx::Error> {
        if c.idle { Ok(()) } else { Err(RecycleError::message("the last read did not finish")) }
    }
}

impl ReadPool {
    #[allow(clippy::expect_used)]
    pub(crate) fn new(options: PgConnectOptions, size: usize) -> Self {
        let pool = managed::Pool::builder(Manager { options })
            .max_size(size.max(1))
            .build()
            .expect("a pool without timeouts needs no runtime, so building it cannot fail");
        Self { pool }
    }

    /// Runs `query` as `slug` in one round trip and returns its rows (in text format).
    pub(crate) async fn read(&self, slug: &TenantSlug, role_prefix: &str, query: &SelectStatement) -> CoreResult<Vec<PgRow>> {
        let mut all = self.run(slug, role_prefix, &[Statement::query(query)], true).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Runs `statements` as `slug` in one message, one implicit transaction (read-only when
    /// `read_only`), and returns each statement's rows (in text format).
    pub(crate) async fn run(
        &self,
        slug: &TenantSlug,
        role_prefix: &str,
        statements: &[Statement],
        read_only: bool,
    ) -> CoreResult<Vec<Vec<PgRow>>> {
        // Role and schema names come from a checked slug, so quoting them is safe; the
        // statements' values are quoted by sea-query.
        let mut sql = format!(
            "SET LOCAL ROLE \"{}\"; SET LOCAL search_path TO \"{}\"; SET LOCAL kapu.tenant TO '{}';",
            slug.role(role_prefix),
            slug.schema(),
            slug.as_str(),
        );
        let mut skip = 3;
        if read_only {
            sql.push_str(" SET LOCAL transaction_read_only TO on;");
            skip += 1;
        }
        for s in statements {
            sql.push(' ');
            sql.push_str(&s.text);
            sql.push(';');
        }
        let mut c: Object<Manager> = self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => CoreError::Database(e),
            managed::PoolError::Timeout(_) => CoreError::Database(sqlx::Error::PoolTimedOut),
            other => CoreError::Database(sqlx::Error::Protocol(other.to_string())),
        })?;
        c.idle = false;
        let conn: &mut PgConnection = &mut c.conn;
        // Each statement's rows end with its CommandComplete (the `Left`).
        let mut results: Vec<Vec<PgRow>> = Vec::with_capacity(statements.len() + skip);
        let mut current = Vec::new();
        let mut stream = conn.fetch_many(sqlx::raw_sql(&sql));
        while let Some(item) = stream.try_next().await? {
            match item {
                Either::Left(_) => results.push(std::mem::take(&mut current)),
                Either::Right(row) => current.push(row),
            }
        }
        drop(stream);
        c.idle = true;
        Ok(results.into_iter().skip(skip).collect())
    }
}
