//! `kapu bench cases`: applications submitted per second, for one tenant and across many,
//! then a check that every tenant's case numbers are gapless.
//!
//! Each submission is what the portal does after reading the form: one tenant transaction
//! with `kapu_cases::submit` (form version, validation, the applicant's record, the rules,
//! a case number from the year's locked counter row, the automated decision with its
//! `case.decided` job and the acknowledgement e-mail in the outbox) and its commit.
//! `--clients` tasks submit back to back for `--seconds`, spread over the tenants.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use kapu_cases::{FixedFacts, Identification, Notice, Once, Submission};
use kapu_core::{Db, NewTenant, TenantSlug};
use serde_json::json;
use uuid::Uuid;

use crate::settings::Settings;

/// Options of `kapu bench cases`.
#[derive(Clone, Debug, clap::Args)]
pub struct CasesBenchOpts {
    /// Tenants in the many-tenant run.
    #[arg(long, default_value_t = 100)]
    pub tenants: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent submitters. On 2 cores 4 keep the machine busy; more only queue on the
    /// tenant's locks and on the CPU, and every submission waits longer.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds of the same load before each run, not counted: until each connection has
    /// met each tenant's tables (PostgreSQL caches their descriptions per connection).
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// The case type folder the tenants get.
    #[arg(long, default_value = "tenants/hegyvidek/case-types")]
    pub case_types: PathBuf,
    /// Where to put the private PostgreSQL cluster (when KAPU_DATABASE_URL is unset).
    #[arg(long, default_value = "/var/tmp/kapu-bench")]
    pub dir: PathBuf,
}

struct Applicant {
    slug: TenantSlug,
    filer: kapu_cases::Filer,
}

/// Runs the benchmark and prints its figures.
pub async fn run(mut settings: Settings, opts: CasesBenchOpts) -> Result<()> {
    let (db, crypto, cluster) = crate::bench::bench_database(&mut settings, &opts.dir, opts.clients, &[]).await?;
    let loaded = kapu_cases::load_folder(&opts.case_types, Utc::now().date_naive())
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", opts.case_types.display()))?;
    let mut facts = FixedFacts::default();
    println!("Provisioning {} tenants with the case types of {} …", opts.tenants, opts.case_types.display());
    let mut applicants = Vec::new();
    for i in 0..opts.tenants.max(1) {
        let slug = TenantSlug::parse(&format!("ugy-{i:04}"))?;
        let t = kapu_core::provision_tenant(
            &db,
            NewTenant { slug: slug.clone(), name: format!("Bench {i}"), domains: vec![], settings: json!({}) },
            None,
        )
        .await?;
        facts.insert(
            slug.as_str(),
            "parking-permit",
            json!({ "existing_permits": 0, "parking": { "eligible": true, "zone": "XII-1", "reasons": "" }, "vehicle": { "owner_is_applicant": true, "keeper_is_applicant": true, "max_mass_kg": 1800 } }),
        );
        let mut tx = db.tenant_tx(&t).await?;
        for ct in &loaded {
            kapu_cases::save_version(&mut tx, &ct.case_type, "kapu bench cases", Utc::now()).await?;
        }
        kapu_cases::set_number_prefix(&mut tx, "BN").await?;
        let ring = crypto.keyring(tx.conn(), slug.as_str()).await?;
        let filer = resident(&mut tx, &ring).await?;
        tx.commit().await?;
        applicants.push(Applicant { slug, filer });
    }
    let applicants = Arc::new(applicants);
    let facts = Arc::new(facts);
    let seconds = Duration::from_secs(opts.seconds);

    let warmup = Duration::from_secs(opts.warmup);
    println!("Submitting to 1 tenant with {} clients for {} s (after {} s of warm-up) …", opts.clients, opts.seconds, opts.warmup);
    submit_for(&db, &crypto, &facts, applicants.clone(), 1, opts.clients, warmup).await?;
    let one = submit_for(&db, &crypto, &facts, applicants.clone(), 1, opts.clients, seconds).await?;
    println!(
        "Submitting across {} tenants with {} clients for {} s (after {} s of warm-up) …",
        applicants.len(),
        opts.clients,
        opts.seconds,
        opts.warmup
    );
    submit_for(&db, &crypto, &facts, applicants.clone(), applicants.len(), opts.clients, warmup).await?;
    let many = submit_for(&db, &crypto, &facts, applicants.clone(), applicants.len(), opts.clients, seconds).await?;

    let mut total = 0i64;
    for a in applicants.iter() {
        let mut tx = db.tenant_tx_for(&a.slug).await?;
        let (count, max, last): (i64, Option<i32>, Option<i32>) = sqlx::query_as(
            r#"SELECT count(*), max(number_seq), (SELECT max(last_number) FROM case_number_counter) FROM "case" WHERE number IS NOT NULL"#,
        )
        .fetch_one(tx.conn())
        .await?;
        let distinct: i64 = sqlx::query_scalar(r#"SELECT count(DISTINCT (number_year, number_seq)) FROM "case" WHERE number IS NOT NULL"#)
            .fetch_one(tx.conn())
            .await?;
        tx.commit().await?;
        let max = i64::from(max.unwrap_or(0));
        if count != max || distinct != count || i64::from(last.unwrap_or(0)) != count {
            bail!("tenant {}: {count} cases, {distinct} distinct numbers, highest {max}, counter {last:?}: numbers have gaps", a.slug);
        }
        total += count;
    }

    println!();
    println!("Applications submitted (validate, rules, number, decide, outbox; one transaction each), {} clients:", opts.clients);
    println!("  1 tenant:     {:>8.1} /s  ({} in {} s, p50 {:.1} ms, p99 {:.1} ms)", one.rate, one.count, opts.seconds, one.p50, one.p99);
    println!(
        "  {} tenants: {:>8.1} /s  ({} in {} s, p50 {:.1} ms, p99 {:.1} ms)",
        applicants.len(),
        many.rate,
        many.count,
        opts.seconds,
        many.p50,
        many.p99
    );
    println!("  Case numbers: {total} cases in {} tenants, every tenant's numbers 1..n without gaps or repeats.", applicants.len());
    db.pool().close().await;
    drop(cluster);
    Ok(())
}

/// A resident of district XII identified through KAÜ, with a portal account.
async fn resident(tx: &mut kapu_core::TenantTx, ring: &kapu_crypto::Keyring) -> Result<kapu_cases::Filer> {
    let actor = kapu_audit::Actor { id: None, label: "kapu bench cases".into() };
    let client = kapu_clients::create_person(
        tx,
        ring,
        kapu_clients::Access { actor: &actor, reason: "benchmark data" },
        kapu_clients::NewPerson {
            email: None,
            identity: kapu_clients::NaturalIdentity {
                family_name: "Teszt".into(),
                given_name: "Elek".into(),
                birth_name: None,
                mother_birth_name: "Minta Mária".into(),
                birth_place: "Budapest".into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).context("date")?,
            },
            id_document: None,
            addresses: vec![kapu_clients::organisation::Address {
                kind: kapu_clients::organisation::AddressKind::Permanent,
                postcode: "1126".into(),
                city: "Budapest".into(),
                street: "Böszörményi út 23.".into(),
            }],
            phone: None,
            resident_card: None,
        },
        Utc::now(),
    )
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO client_account (id, client_id, email, display_name, password_hash, email_verified_at, identification_level, created_at)
         VALUES ($1, $2, 'elek@example.hu', 'Teszt Elek', 'x', now(), 'kau', now())",
    )
    .bind(id)
    .bind(client.id)
    .execute(tx.conn())
    .await?;
    Ok(kapu_cases::Filer {
        account_id: id,
        email: "elek@example.hu".into(),
        display_name: "Teszt Elek".into(),
        level: Identification::Kau,
        client_id: Some(client.id),
        acting_for: None,
    })
}

struct Figures {
    count: usize,
    rate: f64,
    p50: f64,
    p99: f64,
}

async fn submit_for(
    db: &Db,
    crypto: &Arc<kapu_crypto::Crypto>,
    facts: &Arc<FixedFacts>,
    applicants: Arc<Vec<Applicant>>,
    tenants: usize,
    clients: usize,
    run_for: Duration,
) -> Result<Figures> {
    let next = Arc::new(AtomicUsize::new(0));
    let calendar = Arc::new(kapu_calendar::Calendar::hungary());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (db, crypto, facts, applicants, next, calendar) =
            (db.clone(), crypto.clone(), facts.clone(), applicants.clone(), next.clone(), calendar.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < run_for {
                let a = &applicants[next.fetch_add(1, Ordering::Relaxed) % tenants];
                let began = Instant::now();
                let mut tx = db.tenant_tx_for(&a.slug).await?;
                let ring = crypto.keyring(tx.conn(), a.slug.as_str()).await?;
                let sub = Submission {
                    code: "parking-permit".into(),
                    form_version: 1,
                    values: json!({ "vehicle": "ABC-123", "address": { "postcode": "1126", "city": "Budapest", "street": "Böszörményi út 23." },
                                    "valid_from": (Utc::now() + chrono::Duration::hours(1)).date_naive().to_string(), "declaration": true }),
                    once: Once::Key(Uuid::now_v7().to_string()),
                };
                let notice = Notice { tenant_name: "Bench", cases_link: "http://bench.localhost/ugyeim" };
                kapu_cases::submit(&mut tx, &ring, &calendar, facts.as_ref(), &a.filer, &sub, &notice, Utc::now()).await?;
                tx.commit().await?;
                latencies.push(began.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    Ok(Figures { count: all.len(), rate: all.len() as f64 / elapsed, p50: at(0.5), p99: at(0.99) })
}
