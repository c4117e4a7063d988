//! Provisioning is all-or-nothing; migrations run per tenant, report failures and resume.

use anyhow::Result;
use kapu_core::{CoreError, NewTenant, TenantSlug};
use kapu_testkit::Kit;

async fn leftovers(kit: &Kit, slug: &str) -> Result<(bool, bool, bool)> {
    let su = kit.superuser().await?;
    let s = TenantSlug::parse(slug)?;
    let schema: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)").bind(s.schema()).fetch_one(&su).await?;
    let role: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(s.role(&kit.role_prefix))
        .fetch_one(&su)
        .await?;
    let row: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM kapu.tenant WHERE slug = $1)").bind(slug).fetch_one(&su).await?;
    Ok((schema, role, row))
}

fn new(slug: &str, domains: &[&str]) -> NewTenant {
    NewTenant {
        slug: TenantSlug::parse(slug).unwrap(),
        name: slug.to_uppercase(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        settings: serde_json::json!({}),
    }
}

#[tokio::test]
async fn a_failed_provisioning_leaves_nothing_behind() -> Result<()> {
    let kit = Kit::start().await?;
    let failing: kapu_core::Seeder<'static> = Box::new(|tx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO staff (id) VALUES (gen_random_uuid())").execute(tx.conn()).await?;
            Ok(())
        })
    });
    let err = kapu_core::provision_tenant(&kit.db, new("felemas", &["felemas.test"]), Some(failing)).await.unwrap_err();
    assert!(matches!(err, CoreError::Seed(_)), "{err}");
    assert_eq!(leftovers(&kit, "felemas").await?, (false, false, false), "no schema, role or registry row");

    kit.tenant("foglalt", "Foglalt").await?;
    let err = kapu_core::provision_tenant(&kit.db, new("foglalt", &[]), None).await.unwrap_err();
    assert!(matches!(err, CoreError::DuplicateSlug(_)), "{err}");
    let err = kapu_core::provision_tenant(&kit.db, new("masik", &["FOGLALT.test"]), None).await.unwrap_err();
    assert!(matches!(err, CoreError::DuplicateDomain(_)), "{err}");
    assert_eq!(leftovers(&kit, "masik").await?, (false, false, false));
    // The slug and domain rules are enforced before anything is touched.
    assert!(TenantSlug::parse("Rossz_Slug").is_err());
    let err = kapu_core::provision_tenant(&kit.db, new("rossz-domain", &["nem jó/host"]), None).await.unwrap_err();
    assert!(matches!(err, CoreError::InvalidDomain(_)), "{err}");
    assert_eq!(leftovers(&kit, "rossz-domain").await?, (false, false, false));
    // A deleted tenant is gone entirely.
    kapu_core::delete_tenant(&kit.db, &TenantSlug::parse("foglalt")?).await?;
    assert_eq!(leftovers(&kit, "foglalt").await?, (false, false, false));
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn migrations_report_failed_tenants_and_resume() -> Result<()> {
    let kit = Kit::start().await?;
    let a = kit.tenant("mig-a", "A").await?;
    let b = kit.tenant("mig-b", "B").await?;
    let c = kit.tenant("mig-c", "C").await?;
    let su = kit.superuser().await?;
    // B is broken: its record of migration 1 is gone, so migration 1 runs again and fails
    // on the tables it already has. C is empty: its schema lost everything and needs all.
    sqlx::query(&format!("DELETE FROM {}.schema_migration", b.tenant.slug.schema())).execute(&su).await?;
    let (cs, cr) = (c.tenant.slug.schema(), c.tenant.slug.role(&kit.role_prefix));
    sqlx::raw_sql(&format!("DROP SCHEMA {cs} CASCADE; CREATE SCHEMA {cs} AUTHORIZATION \"{cr}\";")).execute(&su).await?;

    let mut seen = Vec::new();
    let report = kit.db.migrate_all_tenants(|o| seen.push(o.slug.to_string())).await?;
    assert_eq!(seen, ["mig-a", "mig-b", "mig-c"], "progress is reported per tenant");
    let by = |slug: &str| report.tenants.iter().find(|t| t.slug.as_str() == slug).unwrap();
    assert_eq!(by("mig-a").result.as_ref().ok(), Some(&0));
    let err = by("mig-b").result.as_ref().unwrap_err().to_string();
    assert!(err.contains("migration 1") && err.contains("already exists"), "{err}");
    assert!(by("mig-c").result.as_ref().is_ok_and(|n| *n >= 1), "C went on after B failed");
    // B's failed transaction left B as it was.
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}.staff", b.tenant.slug.schema())).fetch_one(&su).await?;
    assert_eq!(n, 2);

    // The CLI says the same, and fails.
    let out = kit.kapu_command().arg("migrate").output().await?;
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tenant mig-b: FAILED") && stdout.contains("1 failed"), "{stdout}");

    // Fix B by restoring its records; re-running continues where it stopped: nothing is redone.
    sqlx::query(&format!(
        "INSERT INTO {}.schema_migration SELECT * FROM {}.schema_migration",
        b.tenant.slug.schema(),
        a.tenant.slug.schema()
    ))
    .execute(&su)
    .await?;
    let report = kit.db.migrate_all_tenants(|_| {}).await?;
    assert!(report.tenants.iter().all(|t| matches!(t.result, Ok(0))), "{report:?}");
    let out = kit.kapu_command().arg("migrate").output().await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // An applied migration whose file changed is refused by name.
    sqlx::query(&format!("UPDATE {}.schema_migration SET checksum = '\\x00' WHERE version = 1", a.tenant.slug.schema()))
        .execute(&su)
        .await?;
    let err = kapu_core::migrate_tenant(&kit.db, &a.tenant.slug).await.unwrap_err().to_string();
    assert!(err.contains("was changed after it was applied"), "{err}");
    kit.stop().await;
    Ok(())
}
