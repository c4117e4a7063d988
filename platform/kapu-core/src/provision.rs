//! Creating and deleting tenants: registry row, role, schema, migrations and seed, all in
//! one transaction, so a failure leaves nothing behind.

use std::future::Future;
use std::pin::Pin;

use uuid::Uuid;

use crate::db::enter_tenant;
use crate::migrate::apply_tenant_migrations;
use crate::tenant::insert_domains;
use crate::{CoreError, CoreResult, Db, LoginRole, Tenant, TenantSlug, TenantStatus, TenantTx, find_tenant_by_slug};

/// What a new tenant is made from.
#[derive(Clone, Debug)]
pub struct NewTenant {
    /// Slug.
    pub slug: TenantSlug,
    /// Display name.
    pub name: String,
    /// Host names.
    pub domains: Vec<String>,
    /// Branding and presentation settings.
    pub settings: serde_json::Value,
}

/// Why a seeder failed: whatever error its steps gave, with its chain of causes.
pub type SeedError = Box<dyn std::error::Error + Send + Sync>;

/// Fills a freshly migrated tenant with its initial data, inside the provisioning
/// transaction. An error rolls the whole tenant back.
pub type Seeder<'a> =
    Box<dyn for<'t> FnOnce(&'t mut TenantTx) -> Pin<Box<dyn Future<Output = Result<(), SeedError>> + Send + 't>> + Send + 'a>;

/// Creates a tenant: registry row, NOLOGIN role, schema owned by that role, tenant
/// migrations and the seed, in one transaction.
pub async fn provision_tenant(db: &Db, new: NewTenant, seed: Option<Seeder<'_>>) -> CoreResult<Tenant> {
    for d in &new.domains {
        check_domain(d)?;
    }
    let mut tx = db.pool().begin().await?;
    let id = Uuid::now_v7();
    let role = new.slug.role(db.role_prefix());
    let schema = new.slug.schema();
    let inserted = sqlx::query("INSERT INTO kapu.tenant (id, slug, name, status, settings) VALUES ($1, $2, $3, 'active', $4)")
        .bind(id)
        .bind(new.slug.as_str())
        .bind(&new.name)
        .bind(&new.settings)
        .execute(&mut *tx)
        .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("tenant_slug_key") => {
            return Err(CoreError::DuplicateSlug(new.slug.to_string()));
        }
        other => {
            other?;
        }
    }
    insert_domains(&mut tx, id, &new.domains).await?;
    // Role and schema names come from a checked slug, so quoting them is enough.
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)").bind(&role).fetch_one(&mut *tx).await?;
    if !exists {
        sqlx::query(&format!("CREATE ROLE \"{role}\" NOLOGIN NOINHERIT")).execute(&mut *tx).await?;
    }
    // The login role becomes a member that can `SET ROLE` to the tenant's role but does not
    // inherit its privileges (see the `login_role` module).
    let version: i32 = sqlx::query_scalar("SELECT current_setting('server_version_num')::int").fetch_one(&mut *tx).await?;
    sqlx::query(&format!("GRANT \"{role}\" TO CURRENT_USER{}", LoginRole::grant_clause(version))).execute(&mut *tx).await?;
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{role}\"")).execute(&mut *tx).await?;
    enter_tenant(&mut tx, &new.slug, db.role_prefix()).await?;
    // As the owner: the login role holds no privilege on the schema to revoke with.
    sqlx::query(&format!("REVOKE ALL ON SCHEMA \"{schema}\" FROM PUBLIC")).execute(&mut *tx).await?;
    apply_tenant_migrations(&mut tx).await?;
    let mut ttx = TenantTx::from_parts(tx, new.slug.clone());
    if let Some(seed) = seed {
        seed(&mut ttx).await.map_err(CoreError::Seed)?;
    }
    let mut tx = ttx.into_inner();
    sqlx::query("RESET ROLE").execute(&mut *tx).await?;
    sqlx::query("SELECT pg_notify('kapu_tenants', $1)").bind(new.slug.as_str()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Tenant { id, slug: new.slug, name: new.name, domains: new.domains, status: TenantStatus::Active, settings: new.settings })
}

/// Deletes a tenant with all its data: schema, role and registry row.
pub async fn delete_tenant(db: &Db, slug: &TenantSlug) -> CoreResult<()> {
    let mut tx = db.pool().begin().await?;
    if find_tenant_by_slug(&mut tx, slug.as_str()).await?.is_none() {
        return Err(CoreError::UnknownTenant(slug.to_string()));
    }
    let role = slug.role(db.role_prefix());
    // The schema and what the role owns are dropped as the tenant's role (the login role
    // holds none of its privileges); the role itself by the login role (CREATEROLE).
    enter_tenant(&mut tx, slug, db.role_prefix()).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", slug.schema())).execute(&mut *tx).await?;
    sqlx::query(&format!("DROP OWNED BY \"{role}\"")).execute(&mut *tx).await?;
    sqlx::query("RESET ROLE").execute(&mut *tx).await?;
    sqlx::query(&format!("DROP ROLE IF EXISTS \"{role}\"")).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM kapu.tenant WHERE slug = $1").bind(slug.as_str()).execute(&mut *tx).await?;
    sqlx::query("SELECT pg_notify('kapu_tenants', $1)").bind(slug.as_str()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks that a tenant domain is a plain host name (letters, digits, hyphens, dots).
pub fn check_domain(d: &str) -> CoreResult<()> {
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok { Ok(()) } else { Err(CoreError::InvalidDomain(d.to_owned())) }
}
