//! The spine of Kapu: tenants, the tenant transaction, migrations and provisioning.
//!
//! Every domain crate depends on this one and on nothing above it. Domain code reaches
//! the database only through a [`TenantTx`], which has already switched to the tenant's
//! role and schema, so no query can forget which municipality it works for.

mod db;
mod error;
mod literal;
mod login_role;
mod migrate;
mod origin;
mod provision;
mod read;
mod refusal;
mod tenant;

pub use db::{Db, PLATFORM_SCOPE, PlatformTx, ScopedTx, TenantTx};
pub use error::{CoreError, CoreResult};
pub use login_role::{LoginRole, login_role_setup_sql};
pub use migrate::{MigrationReport, TenantMigrationOutcome, migrate_platform, migrate_tenant};
pub use origin::{Origin, OriginError};
pub use provision::{NewTenant, SeedError, Seeder, check_domain, delete_tenant, provision_tenant};
pub use read::{QUERY_TEXTS, Statement, text_array};
pub use refusal::Refusal;
pub use tenant::{Tenant, TenantSlug, TenantStatus, find_tenant_by_domain, find_tenant_by_slug, list_tenants, update_tenant};

/// The current instant, passed into domain functions instead of being read inside them.
pub type Now = chrono::DateTime<chrono::Utc>;
