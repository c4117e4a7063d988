//! Tenant reads in one round trip.
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
//! inlined and quoted by sea-query: there is no way to pass SQL text in. The connections
//! come from a small pool of their own that never pings: a connection is returned only when
//! its last message was read to the end, and otherwise closed.

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use sea_query::{PostgresQueryBuilder, SelectStatement};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, Executor, PgConnection};

use crate::{CoreError, CoreResult, TenantSlug};

/// The pool of connections for one-round-trip reads.
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
        // Role and schema names come from a checked slug, so quoting them is safe; the
        // statement's values are quoted by sea-query.
        let sql = format!(
            "SET LOCAL ROLE \"{}\"; SET LOCAL search_path TO \"{}\"; SET LOCAL kapu.tenant TO '{}'; \
             SET LOCAL transaction_read_only TO on; {}",
            slug.role(role_prefix),
            slug.schema(),
            slug.as_str(),
            query.to_string(PostgresQueryBuilder)
        );
        let mut c: Object<Manager> = self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => CoreError::Database(e),
            managed::PoolError::Timeout(_) => CoreError::Database(sqlx::Error::PoolTimedOut),
            other => CoreError::Database(sqlx::Error::Protocol(other.to_string())),
        })?;
        c.idle = false;
        let conn: &mut PgConnection = &mut c.conn;
        let rows = conn.fetch_all(sqlx::raw_sql(&sql)).await?;
        c.idle = true;
        Ok(rows)
    }
}
