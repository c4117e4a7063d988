//! Why a tenant's case settings (`documents`, `uploads`) are refused.

/// A refused `documents` or `uploads` setting; the message starts with the setting's name
/// inside its section (e.g. `place: …`).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The section is not an object of the known settings (an unknown key, a value of the
    /// wrong type).
    #[error("{0}")]
    Malformed(#[from] serde_json::Error),
    /// A text that is blank, too long or holds control characters.
    #[error("{field}: must be 1 to {max} characters without control characters (or left out)")]
    BadText {
        /// The setting.
        field: &'static str,
        /// Its longest length, in characters.
        max: usize,
    },
    /// A storage quota that is not a whole number of MiB in range.
    #[error("quota_mib: must be a whole number of MiB from 1 to {max}")]
    BadQuota {
        /// The largest quota, in MiB.
        max: u64,
    },
}
