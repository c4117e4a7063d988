use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{CoreError, CoreResult, Origin};

/// A tenant's slug: lowercase ASCII letters, digits and single hyphens, 2 to 40 characters,
/// starting with a letter. It names the tenant's schema and role, so it is checked strictly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

const RESERVED: &[&str] = &["platform", "admin", "api", "kapu", "public", "static"];

impl TenantSlug {
    /// Checks and wraps a slug.
    pub fn parse(s: &str) -> CoreResult<Self> {
        let err = |reason| CoreError::InvalidSlug { slug: s.to_owned(), reason };
        if s.len() < 2 || s.len() > 40 {
            return Err(err("it must be 2 to 40 characters long"));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(err("it must start with a lowercase letter"));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(err("it may hold only lowercase letters a-z, digits and hyphens"));
        }
        if RESERVED.contains(&s) {
            return Err(err("that name is reserved"));
        }
        if s.ends_with('-') || s.contains("--") {
            return Err(err("hyphens must stand between letters or digits"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PostgreSQL schema that holds this tenant's data.
    pub fn schema(&self) -> String {
        format!("t_{}", self.0.replace('-', "_"))
    }

    /// The NOLOGIN role that owns the schema, given the deployment's role prefix.
    pub fn role(&self, role_prefix: &str) -> String {
        format!("{role_prefix}_t_{}", self.0.replace('-', "_"))
    }
}

impl TryFrom<String> for TenantSlug {
    type Error = CoreError;
    fn try_from(s: String) -> CoreResult<Self> {
        Self::parse(&s)
    }
}

impl From<TenantSlug> for String {
    fn from(s: TenantSlug) -> Self {
        s.0
    }
}

impl std::fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a tenant serves requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Serving.
    Active,
    /// Kept, but serves nothing.
    Suspended,
}

impl TenantStatus {
    fn from_db(s: &str) -> Self {
        if s == "suspended" { Self::Suspended } else { Self::Active }
    }

    /// The value stored in the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// One municipality in the tenant registry.
#[derive(Clone, Debug, Serialize)]
pub struct Tenant {
    /// Registry id.
    pub id: Uuid,
    /// Slug, naming the schema, the role and the `/t/{slug}/` prefix.
    pub slug: TenantSlug,
    /// Display name, e.g. "Budapest XII. kerület Hegyvidéki Önkormányzat".
    pub name: String,
    /// Host names that resolve to this tenant, e.g. `hegyvidek.localhost`.
    pub domains: Vec<String>,
    /// Serving or suspended.
    pub status: TenantStatus,
    /// Branding and other presentation settings from `tenants/<slug>/tenant.toml`.
    pub settings: serde_json::Value,
}

impl Tenant {
    /// The tenant's own origin (`origin` in its settings, from `tenant.toml`), if it has one.
    pub fn origin(&self) -> Option<Origin> {
        self.settings.get("origin").and_then(serde_json::Value::as_str).and_then(|s| Origin::parse(s).ok())
    }

    /// The base of every absolute link to this tenant, without a trailing slash: its own
    /// origin, or else the deployment's public URL followed by `/t/{slug}`. Never derived
    /// from a request.
    pub fn base_url(&self, public_url: &Origin) -> String {
        match self.origin() {
            Some(o) => o.to_string(),
            None => format!("{public_url}/t/{}", self.slug),
        }
    }
}

#[derive(FromRow)]
struct TenantRow {
    id: Uuid,
    slug: String,
    name: String,
    status: String,
    settings: serde_json::Value,
    domains: Vec<String>,
}

impl TenantRow {
    fn into_tenant(self) -> CoreResult<Tenant> {
        Ok(Tenant {
            id: self.id,
            slug: TenantSlug::parse(&self.slug)?,
            name: self.name,
            domains: self.domains,
            status: TenantStatus::from_db(&self.status),
            settings: self.settings,
        })
    }
}

const SELECT_TENANT: &str = "SELECT t.id, t.slug, t.name, t.status, t.settings, \
     COALESCE(array_agg(d.domain ORDER BY d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}') AS domains \
     FROM kapu.tenant t LEFT JOIN kapu.tenant_domain d ON d.tenant_id = t.id";

/// All tenants, ordered by slug.
pub async fn list_tenants(conn: &mut PgConnection) -> CoreResult<Vec<Tenant>> {
    let rows: Vec<TenantRow> = sqlx::query_as(&format!("{SELECT_TENANT} GROUP BY t.id ORDER BY t.slug")).fetch_all(conn).await?;
    rows.into_iter().map(TenantRow::into_tenant).collect()
}

/// The tenant with this slug, if any.
pub async fn find_tenant_by_slug(conn: &mut PgConnection, slug: &str) -> CoreResult<Option<Tenant>> {
    let row: Option<TenantRow> =
        sqlx::query_as(&format!("{SELECT_TENANT} WHERE t.slug = $1 GROUP BY t.id")).bind(slug).fetch_optional(conn).await?;
    row.map(TenantRow::into_tenant).transpose()
}

/// The tenant that serves this host name, if any.
pub async fn find_tenant_by_domain(conn: &mut PgConnection, domain: &str) -> CoreResult<Option<Tenant>> {
    let row: Option<TenantRow> = sqlx::query_as(&format!(
        "{SELECT_TENANT} WHERE t.id = (SELECT tenant_id FROM kapu.tenant_domain WHERE domain = lower($1)) GROUP BY t.id"
    ))
    .bind(domain)
    .fetch_optional(conn)
    .await?;
    row.map(TenantRow::into_tenant).transpose()
}

/// Replaces a tenant's name, domains, status and settings.
pub async fn update_tenant(conn: &mut PgConnection, tenant: &Tenant) -> CoreResult<()> {
    sqlx::query("UPDATE kapu.tenant SET name = $2, status = $3, settings = $4 WHERE id = $1")
        .bind(tenant.id)
        .bind(&tenant.name)
        .bind(tenant.status.as_str())
        .bind(&tenant.settings)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM kapu.tenant_domain WHERE tenant_id = $1").bind(tenant.id).execute(&mut *conn).await?;
    insert_domains(conn, tenant.id, &tenant.domains).await?;
    sqlx::query("SELECT pg_notify('kapu_tenants', $1)").bind(tenant.slug.as_str()).execute(conn).await?;
    Ok(())
}

pub(crate) async fn insert_domains(conn: &mut PgConnection, tenant_id: Uuid, domains: &[String]) -> CoreResult<()> {
    for domain in domains {
        let res = sqlx::query("INSERT INTO kapu.tenant_domain (domain, tenant_id) VALUES (lower($1), $2)")
            .bind(domain)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await;
        match res {
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("tenant_domain_pkey") => {
                return Err(CoreError::DuplicateDomain(domain.clone()));
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["hegyvidek", "xii-ker", "b2"] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "Hegyvidek", "1abc", "a_b", "ab-", "a--b", "tér", &"a".repeat(41)] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
        let s = TenantSlug::parse("xii-ker").unwrap();
        assert_eq!(s.schema(), "t_xii_ker");
        assert_eq!(s.role("kapu"), "kapu_t_xii_ker");
    }
}
