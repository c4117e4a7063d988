//! A handler gets its time and its tenant from the worker: the worker's clock (here a fixed
//! one) and the tenant whose jobs it runs, never another's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use kapu_core::{Db, NewTenant, TenantSlug, TenantTx};
use kapu_jobs::{Clock, Job, JobContext, JobFailure, JobHandler, JobsError, NewJob, Worker, WorkerConfig};
use sqlx::postgres::PgPoolOptions;

/// What a handler was told: the time, the tenant's slug and name, and its transaction's tenant.
type Seen = (DateTime<Utc>, String, String, String);

#[derive(Default)]
struct Probe {
    seen: Mutex<Vec<Seen>>,
}

#[async_trait::async_trait]
impl JobHandler for Probe {
    async fn run(&self, _job: &Job, ctx: &JobContext<'_>, tx: &mut TenantTx) -> Result<(), JobFailure> {
        let seen = (ctx.now, ctx.tenant.slug.to_string(), ctx.tenant.name.clone(), tx.slug().to_string());
        self.seen.lock().unwrap().push(seen);
        Ok(())
    }
}

async fn provision(db: &Db, slug: &str, name: &str) -> TenantSlug {
    let slug = TenantSlug::parse(slug).unwrap();
    let new = NewTenant { slug: slug.clone(), name: name.into(), domains: vec![], settings: serde_json::json!({}) };
    kapu_core::provision_tenant(db, new, None).await.unwrap();
    slug
}

async fn enqueue_probe(db: &Db, slug: &TenantSlug) {
    let mut tx = db.tenant_tx_for(slug).await.unwrap();
    kapu_jobs::enqueue(&mut tx, NewJob::new("probe", &serde_json::json!({}))).await.unwrap();
    tx.commit().await.unwrap();
}

#[test]
fn a_handler_gets_the_workers_time_and_its_own_tenant() {
    let dir = tempfile::Builder::new().prefix("kapu-jobs-pg-").tempdir().unwrap();
    let cluster = kapu_pgcluster::PgCluster::start(dir.path(), 0).expect("starting a private PostgreSQL");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let admin = sqlx::PgPool::connect(&cluster.url("postgres")).await.unwrap();
        for statement in kapu_core::login_role_setup_sql("kj_app", None, "kapu_jobs_test").lines() {
            sqlx::query(statement.trim_end_matches(';')).execute(&admin).await.unwrap();
        }
        admin.close().await;
        let pool = PgPoolOptions::new().max_connections(4).connect(&cluster.url_as("kj_app", "kapu_jobs_test")).await.unwrap();
        let db = Db::new(pool, "kj");
        kapu_core::migrate_platform(&db).await.unwrap();
        let north = provision(&db, "eszak", "Északi Önkormányzat").await;
        let south = provision(&db, "del", "Déli Önkormányzat").await;
        enqueue_probe(&db, &north).await;
        enqueue_probe(&db, &south).await;

        // A time far from the real one, so a handler given the system's clock would show it.
        let fixed = Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap();
        let probe = Arc::new(Probe::default());
        let worker = Worker::new(db.clone(), WorkerConfig::default()).with_clock(Clock::Fixed(fixed)).handle("probe", probe.clone());
        assert_eq!(worker.drain("eszak").await.unwrap(), 1);
        assert_eq!(worker.drain("del").await.unwrap(), 1);

        let seen = probe.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (fixed, "eszak".into(), "Északi Önkormányzat".into(), "eszak".into()),
                (fixed, "del".into(), "Déli Önkormányzat".into(), "del".into()),
            ]
        );

        // A tenant the registry does not know gets no jobs run, and says so.
        let unknown = worker.drain("nincs").await.unwrap_err();
        assert!(matches!(unknown, JobsError::UnknownTenant(ref s) if s == "nincs"), "{unknown:?}");
    });
}
