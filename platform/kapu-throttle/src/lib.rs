//! Throttles kept in the database, so every server process sees the same counts.
//!
//! **Sign-in** (staff, operators, portal accounts, the second factor) is slowed per
//! (account, client network), per network and, much more leniently, per account, with a
//! delay that doubles past a few free failures ([`SignInPolicy`]). No account is ever
//! locked: an attacker's network waits while the same account still signs in from
//! another, and the account-wide slow-down skips networks the account signed in from
//! before. Buckets are keyed by the submitted e-mail address whether or not an account has
//! it, so the answer tells nothing about which accounts exist.
//!
//! **E-mails** a visitor can trigger (registration, confirmation, password reset) have a
//! budget per address and per network ([`MailPolicy`]).
//!
//! A bucket's key is a keyed HMAC (the scope's blind-index key) of what it counts, so the
//! table holds neither addresses nor networks. The table is `throttle`, in each tenant's
//! schema and in the platform's (for operators).

mod network;
mod rule;
mod store;

use chrono::Duration;

pub use network::Network;
pub use rule::{Bucket, Limit, Rule};
pub use store::{Refused, SignInTicket, admit_mail, admit_sign_in};

/// How sign-in attempts are slowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Failures for one account from one network.
    pub account_network: Rule,
    /// Failures from one network, whatever the account (password spraying).
    pub network: Rule,
    /// Failures for one account from anywhere (a guess spread over many networks); not
    /// applied to networks the account signed in from within `trusted_for`.
    pub account: Rule,
    /// How long a network the account signed in from is spared the account-wide slow-down.
    pub trusted_for: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            // Five tries, then 15 s, 30 s, … up to 15 minutes; one failure forgiven per half hour.
            account_network: Rule {
                free: 5,
                leak_every: Duration::minutes(30),
                limit: Limit::Backoff { first: Duration::seconds(15), max: Duration::minutes(15) },
            },
            // An office behind one address may fail a good many times an hour without noticing.
            network: Rule {
                free: 30,
                leak_every: Duration::minutes(1),
                limit: Limit::Backoff { first: Duration::seconds(15), max: Duration::minutes(5) },
            },
            // Lenient: at most half a minute's wait, so nobody can keep an account out.
            account: Rule {
                free: 50,
                leak_every: Duration::minutes(1),
                limit: Limit::Backoff { first: Duration::seconds(1), max: Duration::seconds(30) },
            },
            trusted_for: Duration::days(30),
        }
    }
}

/// How many e-mails a visitor can have sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailPolicy {
    /// Per e-mail address: three, then one per 20 minutes (at most about three an hour).
    pub address: Rule,
    /// Per client network: twenty, then one per 3 minutes.
    pub network: Rule,
}

impl Default for MailPolicy {
    fn default() -> Self {
        Self {
            address: Rule { free: 3, leak_every: Duration::minutes(20), limit: Limit::Cap },
            network: Rule { free: 20, leak_every: Duration::minutes(3), limit: Limit::Cap },
        }
    }
}

/// Both policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Sign-in.
    pub sign_in: SignInPolicy,
    /// E-mails.
    pub mail: MailPolicy,
}

/// The form of an e-mail address the buckets count: trimmed and lower-case, as the
/// account tables compare them.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}
