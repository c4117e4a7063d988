//! How each domain crate's errors become problems: every variant mapped by name, so a new
//! one does not compile until it is given its status.

use kapu_core::Refusal;

use super::{ApiError, FieldError};

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::Internal(e.to_string())
            }
        }
    )*};
}
internal_from!(kapu_crypto::CryptoError, kapu_local_systems::LocalSystemsError);

/// What the client is told when PostgreSQL refused a bound value it cannot store.
const UNSTORABLE: &str =
    "a value cannot be stored exactly: text holds the NUL character (U+0000), which the database cannot store; remove it and send again";

/// An error with no specific problem: `internal`, unless somewhere in its chain the database
/// refused a value it cannot store exactly, which is the client's to fix.
fn internal(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(core @ kapu_core::CoreError::UnstorableValue(_)) = c.downcast_ref::<kapu_core::CoreError>() {
            return ApiError::UnstorableValue(core.to_string());
        }
        if c.downcast_ref::<sqlx::Error>().is_some_and(kapu_core::CoreError::is_unstorable) {
            return ApiError::UnstorableValue(UNSTORABLE.to_owned());
        }
        cause = c.source();
    }
    ApiError::Internal(e.to_string())
}

impl From<kapu_audit::AuditError> for ApiError {
    fn from(e: kapu_audit::AuditError) -> Self {
        match e {
            kapu_audit::AuditError::Database(e) => e.into(),
            kapu_audit::AuditError::Core(e) => e.into(),
            other @ kapu_audit::AuditError::NoHead => internal(&other),
        }
    }
}

impl From<kapu_jobs::JobsError> for ApiError {
    fn from(e: kapu_jobs::JobsError) -> Self {
        match e {
            kapu_jobs::JobsError::Database(e) => e.into(),
            kapu_jobs::JobsError::Core(e) => e.into(),
            other @ (kapu_jobs::JobsError::Payload(_) | kapu_jobs::JobsError::NotDead(_) | kapu_jobs::JobsError::UnknownTenant(_)) => {
                internal(&other)
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            e if kapu_core::CoreError::is_unstorable(&e) => ApiError::UnstorableValue(UNSTORABLE.to_owned()),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => ApiError::Unavailable(e.to_string()),
            other => internal(&other),
        }
    }
}

impl From<kapu_core::CoreError> for ApiError {
    fn from(e: kapu_core::CoreError) -> Self {
        use kapu_core::CoreError::*;
        match e {
            InvalidSlug { .. } => ApiError::field("slug", Refusal::InvalidSlug),
            InvalidDomain(_) => ApiError::field("domains", Refusal::InvalidDomain),
            UnknownTenant(s) => ApiError::UnknownTenant(format!("{s:?}")),
            DuplicateSlug(_) | DuplicateDomain(_) => ApiError::Conflict(e.to_string()),
            Database(e) => e.into(),
            UnstorableValue(_) => ApiError::UnstorableValue(e.to_string()),
            other @ (MigrationChanged { .. } | MigrationFailed { .. } | Seed(_) | UnsafeLoginRole(_)) => internal(&other),
        }
    }
}

impl From<kapu_staff::StaffError> for ApiError {
    fn from(e: kapu_staff::StaffError) -> Self {
        use kapu_staff::StaffError::*;
        match e {
            DuplicateEmail(_) => ApiError::Conflict(e.to_string()),
            WeakPassword(p) => ApiError::field(
                "password",
                match p {
                    kapu_staff::PasswordPolicyError::TooShort => Refusal::TooShort { min: kapu_staff::PASSWORD_MIN_CHARS },
                    kapu_staff::PasswordPolicyError::TooLong => Refusal::TooLong { max: kapu_staff::PASSWORD_MAX_CHARS },
                    kapu_staff::PasswordPolicyError::Guessable => Refusal::WeakPassword,
                },
            ),
            InvalidEmail(_) => ApiError::field("email", Refusal::InvalidEmail),
            WrongRole(_) => ApiError::field("role", Refusal::NotInList { allowed: vec!["clerk".into(), "admin".into()] }),
            InvalidResetToken => ApiError::field("token", Refusal::InvalidLink),
            InvalidTotp => ApiError::InvalidTotp,
            NoEnrolment => ApiError::Conflict(e.to_string()),
            Database(e) => e.into(),
            Core(e) => e.into(),
            other @ (PasswordHash(_) | Crypto(_) | Jobs(_)) => internal(&other),
        }
    }
}

impl From<kapu_clients::ClientError> for ApiError {
    fn from(e: kapu_clients::ClientError) -> Self {
        match e {
            kapu_clients::ClientError::Invalid { field, reason } => ApiError::field(field, reason),
            kapu_clients::ClientError::Database(e) => e.into(),
            kapu_clients::ClientError::Registry(e) => ApiError::Unavailable(format!("central registry: {e}")),
            kapu_clients::ClientError::NoRegistry(e) => ApiError::NotConfigured(e),
            other @ (kapu_clients::ClientError::PasswordHash(_)
            | kapu_clients::ClientError::Crypto(_)
            | kapu_clients::ClientError::Audit(_)
            | kapu_clients::ClientError::Jobs(_)
            | kapu_clients::ClientError::Decode(_)) => internal(&other),
        }
    }
}

impl From<kapu_kau::KauError> for ApiError {
    fn from(e: kapu_kau::KauError) -> Self {
        use kapu_kau::KauError::*;
        match e {
            NotConfigured => ApiError::NotFound(e.to_string()),
            Database(e) => e.into(),
            Client(e) => e.into(),
            other @ (Config(_)
            | Refused(_)
            | UnknownRequest
            | OtherBrowser
            | Replayed
            | Attribute(_)
            | InsufficientAssurance(_)
            | Crypto(_)) => internal(&other),
        }
    }
}

impl From<kapu_oidc::OidcError> for ApiError {
    fn from(e: kapu_oidc::OidcError) -> Self {
        use kapu_oidc::OidcError::*;
        match e {
            Invalid { field, reason } => ApiError::field(field, reason),
            Duplicate(_) => ApiError::Conflict(e.to_string()),
            OAuth { .. } | BadAuthorizationRequest(_) => ApiError::field("request", Refusal::InvalidRequest { detail: e.to_string() }),
            Database(e) => e.into(),
            Core(e) => e.into(),
            Clients(e) => e.into(),
            other @ (Crypto(_) | Signing(_)) => internal(&other),
        }
    }
}

impl From<kapu_plugins::PluginError> for ApiError {
    fn from(e: kapu_plugins::PluginError) -> Self {
        use kapu_plugins::PluginError::*;
        match e {
            Manifest(_) | UnsupportedSdk { .. } => ApiError::field("manifest", Refusal::InvalidPlugin { detail: e.to_string() }),
            Malformed(_) | WorldMismatch(_) => ApiError::field("component", Refusal::InvalidPlugin { detail: e.to_string() }),
            Digest { .. } => ApiError::field("sha256", Refusal::DigestMismatch),
            InvalidConfig(problems) => ApiError::Validation(
                problems
                    .into_iter()
                    .map(|p| FieldError { message: p.message.clone(), ..FieldError::new(format!("values.{}", p.setting), &p.reason) })
                    .collect(),
            ),
            NotInstalled(_) => ApiError::NotFound(e.to_string()),
            Db(e) => e.into(),
            Core(e) => e.into(),
            other @ (Config(_)
            | Timeout(_)
            | Memory(_)
            | Trap(_)
            | ForbiddenHost(_)
            | NetworkDenied { .. }
            | Garbage(_)
            | Failed(_)
            | WrongWorld { .. }
            | Busy
            | Host(_)
            | Crypto(_)) => internal(&other),
        }
    }
}

impl From<kapu_queue::QueueError> for ApiError {
    fn from(e: kapu_queue::QueueError) -> Self {
        use kapu_queue::QueueError::*;
        match e {
            NoPlugin(m) => ApiError::NotConfigured(m),
            Invalid { field, reason } => ApiError::field(field, reason),
            NoCounter => ApiError::NotConfigured(e.to_string()),
            NoSuchCall(_) => ApiError::NotFound(e.to_string()),
            QueueSystem(_) => ApiError::LocalSystem(e.to_string()),
            Plugin(e) => e.into(),
            Clients(e) => e.into(),
            Cases(e) => e.into(),
            Jobs(e) => e.into(),
            Audit(e) => e.into(),
            Database(e) => e.into(),
        }
    }
}

impl From<kapu_cases::CaseTypeError> for ApiError {
    fn from(e: kapu_cases::CaseTypeError) -> Self {
        use kapu_cases::CaseTypeError::*;
        match e {
            NotFound(m) => ApiError::NotFound(m),
            StaleVersion { .. } => ApiError::Conflict(e.to_string()),
            Database(e) => e.into(),
            other @ Corrupt { .. } => internal(&other),
        }
    }
}

impl From<kapu_delivery::DeliveryError> for ApiError {
    fn from(e: kapu_delivery::DeliveryError) -> Self {
        use kapu_delivery::DeliveryError::*;
        match e {
            Invalid { field, reason } => ApiError::field(field, reason),
            NotFound => ApiError::NotFound(e.to_string()),
            NotDownloaded => ApiError::Conflict(e.to_string()),
            Database(e) => e.into(),
            Clients(e) => e.into(),
            other @ (NoSeal | Seal(_) | Crypto(_) | Jobs(_) | Audit(_) | Corrupt(_) | FollowUp(_)) => internal(&other),
        }
    }
}

impl From<kapu_cases::CaseError> for ApiError {
    fn from(e: kapu_cases::CaseError) -> Self {
        use kapu_cases::CaseError::*;
        match e {
            NotFound => ApiError::NotFound(e.to_string()),
            Invalid(problems) => ApiError::Validation(problems.iter().map(|p| FieldError::new(p.path.clone(), &p.reason)).collect()),
            Ineligible { rule, message } => ApiError::field("application", Refusal::Ineligible { rule, message }),
            NoMandate { .. } => ApiError::Forbidden,
            BadInput { field: f, reason } => ApiError::field(f, reason),
            WrongAmount { due, paid } => ApiError::field("amount", Refusal::WrongAmount { due: due.to_string(), paid: paid.to_string() }),
            Template { .. } => ApiError::field("template", Refusal::InvalidTemplate { detail: e.to_string() }),
            NotAllowed { .. } | AlreadyPaid(_) | FourEyes => ApiError::Conflict(e.to_string()),
            OverQuota { .. } => ApiError::QuotaExceeded(e.to_string()),
            CaseType(e) => e.into(),
            Clients(e) => e.into(),
            Delivery(e) => e.into(),
            Database(e) => e.into(),
            Core(e) => e.into(),
            other @ (NoSignatory | Calendar(_) | Crypto(_) | Audit(_) | Jobs(_) | Decode(_) | Store(_)) => internal(&other),
        }
    }
}

impl From<Vec<kapu_cases::DefinitionError>> for ApiError {
    fn from(errors: Vec<kapu_cases::DefinitionError>) -> Self {
        ApiError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError {
                    file: Some(e.file),
                    line: e.line,
                    ..FieldError::new(
                        if e.path.is_empty() { "source".to_owned() } else { e.path },
                        &Refusal::InvalidDefinition { detail: e.message },
                    )
                })
                .collect(),
        )
    }
}
