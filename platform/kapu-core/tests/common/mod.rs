//! A private PostgreSQL with one tenant and a table of every kind of value, and the paths
//! that write to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use kapu_core::{CoreError, CoreResult, Db, NewTenant, Statement, TenantSlug, text_array};
use sea_query::{Alias, Query, Value};
use sqlx::postgres::PgPoolOptions;

/// The test process's database, its runtime and the cluster they live in.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub db: Db,
    _cluster: kapu_pgcluster::PgCluster,
    _dir: tempfile::TempDir,
}

static ENV: OnceLock<Env> = OnceLock::new();

pub fn slug() -> TenantSlug {
    TenantSlug::parse("exakt").unwrap()
}

/// Starts the cluster, makes the application's login role as an operator would (not a
/// superuser, NOINHERIT, CREATEROLE, owning the database), connects as it and provisions
/// the tenant `exakt` with the table `exact`.
pub fn setup() -> &'static Env {
    ENV.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("kapu-core-pg-").tempdir().unwrap();
        let cluster = kapu_pgcluster::PgCluster::start(dir.path(), 0).expect("starting a private PostgreSQL");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let db = rt.block_on(async {
            let admin = sqlx::PgPool::connect(&cluster.url("postgres")).await.unwrap();
            for statement in kapu_core::login_role_setup_sql("kc_app", None, "kapu_core_test").lines() {
                sqlx::query(statement.trim_end_matches(';')).execute(&admin).await.unwrap();
            }
            admin.close().await;
            let pool = PgPoolOptions::new().max_connections(4).connect(&cluster.url_as("kc_app", "kapu_core_test")).await.unwrap();
            let db = Db::new(pool, "kc");
            db.login_role().await.unwrap().require_safe().unwrap();
            kapu_core::migrate_platform(&db).await.unwrap();
            let new = NewTenant { slug: slug(), name: "Exakt".into(), domains: vec![], settings: serde_json::json!({}) };
            kapu_core::provision_tenant(&db, new, None).await.unwrap();
            let mut tx = db.tenant_tx_for(&slug()).await.unwrap();
            sqlx::query(
                "CREATE TABLE exact (id bigint PRIMARY KEY, t text NOT NULL, j jsonb NOT NULL, a text[] NOT NULL, b bytea NOT NULL)",
            )
            .execute(tx.conn())
            .await
            .unwrap();
            tx.commit().await.unwrap();
            db
        });
        Env { rt, db, _cluster: cluster, _dir: dir }
    })
}

/// One row of `exact`.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: i64,
    pub t: String,
    pub j: serde_json::Value,
    pub a: Vec<Option<String>>,
    pub b: Vec<u8>,
}

impl Row {
    /// A row that holds `s` in every column it can: as text, as a JSON key and strings at
    /// several depths, and as array elements beside a NULL.
    pub fn from_text(id: i64, s: &str, b: Vec<u8>) -> Self {
        let mut obj = serde_json::Map::new();
        obj.insert(s.to_owned(), serde_json::json!([s, { "k": s }, null, 1.5]));
        Self { id, t: s.to_owned(), j: serde_json::Value::Object(obj), a: vec![Some(s.to_owned()), None, Some(format!("{s}x"))], b }
    }

    fn values(&self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.t.clone().into(),
            self.j.clone().into(),
            text_array(self.a.iter().cloned()),
            Value::Bytes(Some(Box::new(self.b.clone()))),
        ]
    }
}

const INSERT: &str = "INSERT INTO exact (id, t, j, a, b) VALUES ($1, $2, $3, $4, $5)";

/// How a row is written.
#[derive(Clone, Copy, Debug)]
pub enum Path {
    /// `Db::tenant_write` with `Statement::new` (prepared, values in `EXECUTE`).
    Write,
    /// `Db::tenant_write` with a sea-query insert (`Statement::query`).
    Query,
    /// `TenantTx::run` (values inlined).
    Run,
    /// `TenantTx::defer`, sent with the commit (values inlined).
    Defer,
    /// sqlx with bound parameters in a `TenantTx`.
    Bind,
}

impl Path {
    pub const ALL: [Path; 5] = [Path::Write, Path::Query, Path::Run, Path::Defer, Path::Bind];
}

/// The sea-query insert of `row`.
pub fn query_insert(row: &Row) -> Statement {
    Statement::query(
        &Query::insert()
            .into_table(Alias::new("exact"))
            .columns(["id", "t", "j", "a", "b"].map(Alias::new))
            .values_panic(row.values().into_iter().map(Into::into))
            .to_owned(),
    )
}

/// Writes `row` by `path`.
pub async fn write(db: &Db, slug: &TenantSlug, path: Path, row: &Row) -> CoreResult<()> {
    match path {
        Path::Write => db.tenant_write(slug, &[Statement::new(INSERT, row.values())]).await.map(drop),
        Path::Query => db.tenant_write(slug, &[query_insert(row)]).await.map(drop),
        Path::Run => {
            let mut tx = db.tenant_tx_for(slug).await?;
            tx.run(&[Statement::new(INSERT, row.values())]).await?;
            tx.commit().await
        }
        Path::Defer => {
            let mut tx = db.tenant_tx_for(slug).await?;
            tx.defer([Statement::new(INSERT, row.values())]);
            tx.commit().await
        }
        Path::Bind => {
            let mut tx = db.tenant_tx_for(slug).await?;
            sqlx::query(INSERT)
                .bind(row.id)
                .bind(&row.t)
                .bind(&row.j)
                .bind(&row.a)
                .bind(&row.b)
                .execute(tx.conn())
                .await
                .map_err(CoreError::Database)?;
            tx.commit().await
        }
    }
}

/// A row's columns as read back: text, jsonb, text[] and bytea.
type Columns = (String, serde_json::Value, Vec<Option<String>>, Vec<u8>);

/// The row `id` as PostgreSQL holds it, read with bound parameters in binary format.
pub async fn read_back(db: &Db, slug: &TenantSlug, id: i64) -> CoreResult<Option<Row>> {
    let mut tx = db.tenant_tx_for(slug).await?;
    let row: Option<Columns> = sqlx::query_as("SELECT t, j, a, b FROM exact WHERE id = $1").bind(id).fetch_optional(tx.conn()).await?;
    tx.commit().await?;
    Ok(row.map(|(t, j, a, b)| Row { id, t, j, a, b }))
}
