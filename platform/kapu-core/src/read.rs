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
//! The statement comes as a [`Statement`]: SQL text fixed at compile time (`&'static
//! str`, so nothing a request sends can become SQL) with `$n` parameters, or built by
//! sea-query (whose text is kept once per shape, its values apart). Each
//! connection prepares such a text once (`PREPARE`, in the message that first needs it)
//! and then sends `EXECUTE` with the values as exact literals (the `literal` module), so PostgreSQL
//! plans it once per connection and tenant rather than on every read: planning was most
//! of a session check's database time. A prepared statement is bound to the tenant it was
//! prepared for (its name says which), since PostgreSQL keeps one plan per statement and
//! re-plans it whenever the `search_path` differs; each connection keeps the
//! [`PREPARED_PER_CONNECTION`] it used last and deallocates the rest. Several statements
//! can travel in the same message; a write ([`Db::tenant_write`](crate::Db::tenant_write))
//! is the same message without the read-only switch, so its statements commit together or not at all. The
//! connections come from a small pool of their own that never pings: a connection is
//! returned only when its last message was read to the end, and otherwise closed.

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use futures_util::TryStreamExt;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SelectStatement};
use sqlx::Either;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, Executor, PgConnection};

use crate::{CoreError, CoreResult, TenantSlug, literal};

/// One statement of a single-message read or write.
#[derive(Clone, Debug)]
pub struct Statement {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// Sent with its values inlined, never prepared.
    Text { sql: String, values: Vec<sea_query::Value> },
    /// Prepared once per connection and tenant (by a read or a single-message write).
    Prepared { sql: &'static str, values: Vec<sea_query::Value> },
}

/// How many prepared statements a read connection keeps.
pub const PREPARED_PER_CONNECTION: usize = 512;

/// How many texts of sea-query statements [`Statement::query`] keeps for preparing. The
/// program builds a fixed set of shapes; a shape that varies with its input (an `IN` list)
/// may add a text per length, and this bounds what that can cost.
pub const QUERY_TEXTS: usize = 1024;

/// A statement text, kept for the life of the process or handed back.
enum Interned {
    /// The `'static` copy: the same text gets the same copy, made once.
    Kept(&'static str),
    /// The text itself, when [`QUERY_TEXTS`] texts are kept already (not an error: the
    /// statement then travels with its values inlined).
    Full(String),
}

/// The `'static` copy of a statement text, or the text back when the store is full.
fn intern(sql: String) -> Interned {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = texts.get(sql.as_str()) {
        return Interned::Kept(kept);
    }
    if texts.len() >= QUERY_TEXTS {
        return Interned::Full(sql);
    }
    let kept: &'static str = Box::leak(sql.into_boxed_str());
    texts.insert(kept);
    Interned::Kept(kept)
}

impl Statement {
    /// SQL text of one statement (no transaction control: the message is the transaction)
    /// with `$1`, `$2`, … parameters, and their values, which travel as exact literals (see
    /// the `literal` module; a text holding NUL is refused). The text is `'static`: it is part of the program, never input. The
    /// one-message paths prepare it on each connection once, so every parameter's type must
    /// follow from the text (a column it is compared with or stored in, or a cast); inside a
    /// `TenantTx` it travels with its values inlined.
    ///
    /// # Panics
    /// When the text names a placeholder with no value (a programming error).
    pub fn new(sql: &'static str, values: impl IntoIterator<Item = sea_query::Value>) -> Self {
        Self { kind: Kind::Prepared { sql, values: values.into_iter().collect() } }
    }

    /// A sea-query statement. Its text with `$n` placeholders is kept for the life of the
    /// process, so that it is prepared like [`Statement::new`]'s; only a bounded number of
    /// texts are kept ([`QUERY_TEXTS`]), and past it a statement travels with its values
    /// inlined (planned on every run).
    pub fn query(q: &impl QueryStatementWriter) -> Self {
        let (sql, values) = q.build(PostgresQueryBuilder);
        match intern(sql) {
            Interned::Kept(sql) => Self { kind: Kind::Prepared { sql, values: values.0 } },
            Interned::Full(sql) => Self { kind: Kind::Text { sql, values: values.0 } },
        }
    }

    /// The statement as one SQL text with its values inlined (exactly, see the `literal`
    /// module), for a message inside an open transaction
    /// ([`TenantTx::run`](crate::TenantTx::run)), where nothing is prepared.
    ///
    /// # Errors
    /// [`CoreError::UnstorableValue`] for a value PostgreSQL cannot store exactly.
    pub(crate) fn inline(&self) -> CoreResult<String> {
        match &self.kind {
            Kind::Text { sql, values } => literal::inline(sql, values),
            Kind::Prepared { sql, values } if values.is_empty() => Ok((*sql).to_owned()),
            Kind::Prepared { sql, values } => literal::inline(sql, values),
        }
    }
}

/// A `text[]` value (`NULL` elements for `None`), for statements that `unnest` rows.
pub fn text_array<S: Into<String>>(items: impl IntoIterator<Item = Option<S>>) -> sea_query::Value {
    let items: Vec<sea_query::Value> = items.into_iter().map(|s| s.map(Into::into).into()).collect();
    sea_query::Value::Array(sea_query::ArrayType::String, Some(Box::new(items)))
}

/// `statements` as the text of one message, values inlined, or the first value that
/// cannot be stored exactly (then nothing is sent).
pub(crate) fn message<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> CoreResult<String> {
    Ok(statements.into_iter().map(Statement::inline).collect::<CoreResult<Vec<_>>>()?.join(";\n"))
}

/// Sends `sql` (several statements) as one simple-query message and returns the rows of its
/// first `keep` statements: each statement's rows end with its CommandComplete.
pub(crate) async fn run_message(conn: &mut PgConnection, sql: &str, keep: usize) -> CoreResult<Vec<Vec<PgRow>>> {
    let mut results: Vec<Vec<PgRow>> = Vec::with_capacity(keep);
    let mut current = Vec::new();
    let mut stream = conn.fetch_many(sqlx::raw_sql(sql));
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Left(_) => results.push(std::mem::take(&mut current)),
            Either::Right(row) => current.push(row),
        }
    }
    results.truncate(keep);
    Ok(results)
}

/// The name a statement's text is prepared under for a tenant: the same text and tenant
/// always get the same name.
fn prepared_name(sql: &str, slug: &TenantSlug) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: stable within the process, which is all a connection needs.
    let mut h = std::hash::DefaultHasher::new();
    sql.hash(&mut h);
    slug.as_str().hash(&mut h);
    format!("kapu_{:016x}", h.finish())
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

/// A connection, whether its last message was read to the end, and the statements it has
/// prepared.
#[derive(Debug)]
pub(crate) struct ReadConn {
    conn: PgConnection,
    idle: bool,
    /// Prepared statement names, with when each was last used (a counter).
    prepared: std::collections::HashMap<String, u64>,
    uses: u64,
}

impl managed::Manager for Manager {
    type Type = ReadConn;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<ReadConn, sqlx::Error> {
        Ok(ReadConn { conn: PgConnection::connect_with(&self.options).await?, idle: true, prepared: Default::default(), uses: 0 })
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
        // statements' values are written as exact literals (the `literal` module).
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
        let mut c: Object<Manager> = self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => CoreError::Database(e),
            managed::PoolError::Timeout(_) => CoreError::Database(sqlx::Error::PoolTimedOut),
            other => CoreError::Database(sqlx::Error::Protocol(other.to_string())),
        })?;
        // Statements this connection has not prepared yet are prepared after the tenant
        // switch (their table names resolve in the tenant's schema). A PREPARE outlives a
        // failed message, so a connection whose message fails is closed, never reused.
        // The names of the message's prepared statements, each computed once.
        let mut used: Vec<String> = Vec::new();
        let mut preparing = 0;
        let mut calls = String::new();
        for s in statements {
            calls.push(' ');
            match &s.kind {
                Kind::Text { .. } => calls.push_str(&s.inline()?),
                Kind::Prepared { sql: text, values } => {
                    let name = prepared_name(text, slug);
                    if !c.prepared.contains_key(&name) && !used.contains(&name) {
                        sql.push_str(&format!(" PREPARE {name} AS {text};"));
                        preparing += 1;
                    }
                    calls.push_str("EXECUTE ");
                    calls.push_str(&name);
                    calls.push_str(&literal::arguments(values)?);
                    used.push(name);
                }
            }
            calls.push(';');
        }
        skip += preparing;
        // Over the limit, the least recently used go (their DEALLOCATE ends the message).
        let mut evicting = Vec::new();
        let over = (c.prepared.len() + preparing).saturating_sub(PREPARED_PER_CONNECTION);
        if over > 0 {
            let mut by_age: Vec<(&String, &u64)> = c.prepared.iter().filter(|(n, _)| !used.contains(n)).collect();
            by_age.sort_unstable_by_key(|(_, used)| **used);
            evicting = by_age.into_iter().take(over).map(|(n, _)| n.clone()).collect();
        }
        sql.push_str(&calls);
        for name in &evicting {
            sql.push_str(&format!(" DEALLOCATE {name};"));
        }
        c.idle = false;
        let results = run_message(&mut c.conn, &sql, statements.len() + skip).await?;
        c.uses += 1;
        let now = c.uses;
        for name in &evicting {
            c.prepared.remove(name);
        }
        for name in used {
            c.prepared.insert(name, now);
        }
        c.idle = true;
        let mut results: Vec<Vec<PgRow>> = results.into_iter().skip(skip).collect();
        results.truncate(statements.len());
        Ok(results)
    }
}
