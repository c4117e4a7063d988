//! Errors of the plugin host.

/// Why a plugin could not be installed, configured or called. Call errors name what the
/// plugin did, so that the tenant's admin can act on them.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The manifest does not parse or breaks a rule.
    #[error("the manifest is invalid: {0}")]
    Manifest(String),
    /// The manifest asks for a contract version this host does not run.
    #[error("the plugin needs SDK version {requested}, which this platform does not run (supported: {supported})")]
    UnsupportedSdk {
        /// The version asked for.
        requested: String,
        /// The versions this host runs.
        supported: String,
    },
    /// The bytes are not a WebAssembly component.
    #[error("the component is not a valid WebAssembly component: {0}")]
    Malformed(String),
    /// The component does not implement the world its manifest names, or imports what the
    /// host does not offer.
    #[error("the component does not fit its manifest: {0}")]
    WorldMismatch(String),
    /// The component's digest differs from the one its installer confirmed.
    #[error("the component's SHA-256 digest {actual} differs from the expected {expected}")]
    Digest {
        /// The digest the installer expected.
        expected: String,
        /// The component's actual digest.
        actual: String,
    },
    /// The plugin cannot be used as configured (e.g. it is not configured yet).
    #[error("the configuration does not match the plugin's schema: {0}")]
    Config(String),
    /// A configuration does not match the manifest's schema: what is wrong, per setting.
    #[error("the configuration does not match the plugin's schema: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidConfig(Vec<crate::manifest::ConfigProblem>),
    /// The plugin ran past its deadline.
    #[error("the plugin did not finish within {0} ms and was stopped")]
    Timeout(u64),
    /// The plugin tried to use more memory than its cap.
    #[error("the plugin tried to use more than {0} MiB of memory and was stopped")]
    Memory(u64),
    /// The plugin trapped (a panic, an unreachable instruction, a bad memory access).
    #[error("the plugin crashed: {0}")]
    Trap(String),
    /// The plugin tried to reach a host its manifest does not allow.
    #[error("the plugin tried to reach {0}, which its manifest does not allow")]
    ForbiddenHost(String),
    /// The plugin asked for a host its manifest allows, but the operator's network policy
    /// refused where it resolved to (a loopback, link-local, private or other restricted
    /// address, or the platform's own listener). Nothing was sent.
    #[error("the plugin tried to reach {host}, which the operator's network policy does not allow: {reason}")]
    NetworkDenied {
        /// `host:port` as the plugin asked for it.
        host: String,
        /// Why, e.g. `169.254.169.254 is a link-local address (such as the cloud metadata service)`.
        reason: String,
    },
    /// The plugin answered something the contract does not allow.
    #[error("the plugin returned an answer that breaks the contract: {0}")]
    Garbage(String),
    /// The plugin ran and reported an error (its own words).
    #[error("{0}")]
    Failed(CallFailure),
    /// No plugin of this name is installed for the tenant.
    #[error("no plugin named {0} is installed")]
    NotInstalled(String),
    /// The plugin implements another world (or version) than the one called.
    #[error("the plugin {name} implements {actual}, not {expected}")]
    WrongWorld {
        /// The plugin.
        name: String,
        /// The world and version it implements.
        actual: String,
        /// The world and version that was called.
        expected: String,
    },
    /// The host is busy: every instance slot of the pool is in use.
    #[error("the plugin host is at capacity; try again")]
    Busy,
    /// The host itself failed (e.g. the compile cache).
    #[error("the plugin host failed: {0}")]
    Host(String),
    /// A database error.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A core error (e.g. opening the tenant transaction).
    #[error(transparent)]
    Core(#[from] kapu_core::CoreError),
    /// An encryption error.
    #[error(transparent)]
    Crypto(#[from] kapu_crypto::CryptoError),
}

/// An error a plugin reported itself, in the contract's terms. The text is the plugin's own
/// words, kept as [`crate::words::plugin_words`] keeps them (one line, at most 2 KiB), and is
/// shown quoted after `the plugin said:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// Its configuration is missing or unusable.
    Config(String),
    /// It refused the input.
    InvalidInput(String),
    /// The remote system refused the request.
    Rejected(String),
    /// The remote system could not be reached or failed; retry later.
    Unavailable(String),
    /// The remote system answered something the plugin could not read.
    Protocol(String),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Config(m) => write!(f, "the plugin's configuration is unusable (the plugin said: {m:?})"),
            CallFailure::InvalidInput(m) => write!(f, "the plugin refused the input (the plugin said: {m:?})"),
            CallFailure::Rejected(m) => write!(f, "the remote system refused the request (the plugin said: {m:?})"),
            CallFailure::Unavailable(m) => write!(f, "the remote system is unavailable (the plugin said: {m:?})"),
            CallFailure::Protocol(m) => write!(f, "the remote system answered something unreadable (the plugin said: {m:?})"),
        }
    }
}

impl CallFailure {
    /// The plugin's words.
    pub fn words(&self) -> &str {
        match self {
            CallFailure::Config(m)
            | CallFailure::InvalidInput(m)
            | CallFailure::Rejected(m)
            | CallFailure::Unavailable(m)
            | CallFailure::Protocol(m) => m,
        }
    }
}

impl PluginError {
    /// A stable code for the API and the admin's error list, e.g. `plugin-timeout`.
    pub fn code(&self) -> &'static str {
        match self {
            PluginError::Manifest(_) => "plugin-manifest-invalid",
            PluginError::UnsupportedSdk { .. } => "plugin-sdk-unsupported",
            PluginError::Malformed(_) => "plugin-malformed",
            PluginError::WorldMismatch(_) => "plugin-world-mismatch",
            PluginError::Digest { .. } => "plugin-digest-mismatch",
            PluginError::Config(_) | PluginError::InvalidConfig(_) => "plugin-config-invalid",
            PluginError::Timeout(_) => "plugin-timeout",
            PluginError::Memory(_) => "plugin-memory",
            PluginError::Trap(_) => "plugin-trap",
            PluginError::ForbiddenHost(_) => "plugin-forbidden-host",
            PluginError::NetworkDenied { .. } => "plugin-network-denied",
            PluginError::Garbage(_) => "plugin-garbage",
            PluginError::Failed(CallFailure::Config(_)) => "plugin-failed-config",
            PluginError::Failed(CallFailure::InvalidInput(_)) => "plugin-failed-input",
            PluginError::Failed(CallFailure::Rejected(_)) => "plugin-failed-rejected",
            PluginError::Failed(CallFailure::Unavailable(_)) => "plugin-failed-unavailable",
            PluginError::Failed(CallFailure::Protocol(_)) => "plugin-failed-protocol",
            PluginError::NotInstalled(_) => "plugin-not-installed",
            PluginError::WrongWorld { .. } => "plugin-wrong-world",
            PluginError::Busy => "plugin-busy",
            PluginError::Host(_) | PluginError::Db(_) | PluginError::Core(_) | PluginError::Crypto(_) => "internal",
        }
    }
}
