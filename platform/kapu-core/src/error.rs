use thiserror::Error;

/// Errors of tenancy, migrations and provisioning.
#[derive(Debug, Error)]
pub enum CoreError {
    /// A tenant slug that does not follow the rules.
    #[error("invalid tenant slug {slug:?}: {reason}")]
    InvalidSlug { slug: String, reason: &'static str },
    /// No tenant with that slug or domain exists.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// A tenant with that slug already exists.
    #[error("a tenant with slug {0:?} already exists")]
    DuplicateSlug(String),
    /// A domain that is not a plain host name.
    #[error("{0:?} is not a host name (letters, digits, hyphens and dots)")]
    InvalidDomain(String),
    /// A domain is already claimed by another tenant.
    #[error("the domain {0:?} already belongs to another tenant")]
    DuplicateDomain(String),
    /// A migration that was already applied has changed on disk.
    #[error(
        "migration {version} ({description}) was changed after it was applied; restore the original file and add a new migration instead"
    )]
    MigrationChanged { version: i64, description: String },
    /// A migration failed to run.
    #[error("migration {version} ({description}) failed: {source}")]
    MigrationFailed {
        version: i64,
        description: String,
        #[source]
        source: sqlx::Error,
    },
    /// Seeding a new tenant failed.
    #[error("seeding the tenant failed: {0}")]
    Seed(#[source] crate::provision::SeedError),
    /// A value PostgreSQL cannot store exactly (text or JSON holding the NUL character). It
    /// is refused before anything is sent, so nothing was written.
    #[error("a value cannot be stored exactly: {0}")]
    UnstorableValue(&'static str),
    /// The application's login role would not let the tenant roles guard the tenants'
    /// data (a superuser, or one that inherits the tenant roles' privileges).
    #[error("{0}")]
    UnsafeLoginRole(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl CoreError {
    /// Whether PostgreSQL refused a bound value because it cannot store it (SQLSTATE 22021,
    /// a NUL byte in text; 22P05, `\u0000` in jsonb), so that callers that bind values
    /// answer it like [`CoreError::UnstorableValue`].
    pub fn is_unstorable(e: &sqlx::Error) -> bool {
        e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "22021" || c == "22P05")
    }
}

/// Result with [`CoreError`].
pub type CoreResult<T> = Result<T, CoreError>;
