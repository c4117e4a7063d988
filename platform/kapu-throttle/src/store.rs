//! The buckets in the `throttle` table of the transaction's scope.

use chrono::{DateTime, Utc};
use kapu_core::ScopedTx;
use kapu_crypto::Keyring;

use crate::rule::{Bucket, Rule};
use crate::{MailPolicy, Network, SignInPolicy};

/// A refused attempt: when to try again and which limit refused it (for logs and metrics;
/// never told to the client, which sees the same answer for every limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// When the next attempt may pass.
    pub until: DateTime<Utc>,
    /// `account-network`, `network`, `account`, `address`.
    pub limit: &'static str,
}

/// An admitted sign-in attempt. It was counted as a failure when admitted, so parallel
/// guesses cannot all slip through before the first is counted; [`SignInTicket::succeeded`]
/// takes it back.
#[derive(Debug)]
pub struct SignInTicket {
    account_network: (Vec<u8>, Rule),
    others: Vec<(Vec<u8>, Rule)>,
}

fn key(ring: &Keyring, purpose: &str, bucket: &str, subject: &str, network: &str) -> Vec<u8> {
    ring.blind_index("throttle", &format!("{purpose}\u{0}{bucket}\u{0}{subject}\u{0}{network}"))
}

/// Makes the rows exist and locks them (in key order, so two attempts never deadlock), then
/// reads them in the order of `keys`.
async fn lock(tx: &mut impl ScopedTx, keys: &[&[u8]], now: DateTime<Utc>) -> Result<Vec<Bucket>, sqlx::Error> {
    let mut sorted: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    sorted.sort();
    sorted.dedup();
    sqlx::query(
        "INSERT INTO throttle (key, hits, expires_at) SELECT k, 0, $2 FROM unnest($1::bytea[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING",
    )
    .bind(&sorted)
    .bind(now)
    .execute(tx.conn())
    .await?;
    type Row = (Vec<u8>, i32, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> =
        sqlx::query_as("SELECT key, hits, last_hit_at, succeeded_at FROM throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE")
            .bind(&sorted)
            .fetch_all(tx.conn())
            .await?;
    Ok(keys
        .iter()
        .map(|k| {
            rows.iter().find(|r| r.0.as_slice() == *k).map_or_else(Bucket::default, |r| Bucket {
                hits: u32::try_from(r.1).unwrap_or(0),
                last_hit_at: r.2,
                succeeded_at: r.3,
            })
        })
        .collect())
}

async fn store(tx: &mut impl ScopedTx, key: &[u8], rule: &Rule, b: &Bucket, keep_until: Option<DateTime<Utc>>) -> Result<(), sqlx::Error> {
    let expires = [rule.forgotten_at(b), keep_until].into_iter().flatten().max();
    sqlx::query("UPDATE throttle SET hits = $2, last_hit_at = $3, succeeded_at = $4, expires_at = COALESCE($5, expires_at) WHERE key = $1")
        .bind(key)
        .bind(i32::try_from(b.hits).unwrap_or(i32::MAX))
        .bind(b.last_hit_at)
        .bind(b.succeeded_at)
        .bind(expires)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Removes a few rows that no longer say anything, so the table stays as small as the
/// current attempts.
async fn sweep(tx: &mut impl ScopedTx, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE expires_at < $1 LIMIT 100 FOR UPDATE SKIP LOCKED)")
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

fn earliest_pass(refusals: impl IntoIterator<Item = Option<Refused>>) -> Option<Refused> {
    refusals.into_iter().flatten().max_by_key(|r| r.until)
}

/// Admits a sign-in attempt for `account` (a normalised e-mail address, or an account's
/// id for the second factor) from `network`, or says when to come back. `purpose` keeps
/// apart what is counted separately (`staff`, `client`, `totp`). Run it in a transaction
/// of its own and commit before checking the password, so the rows are not held locked
/// while it is hashed.
pub async fn admit_sign_in(
    tx: &mut impl ScopedTx,
    ring: &Keyring,
    policy: &SignInPolicy,
    purpose: &str,
    account: &str,
    network: &Network,
    now: DateTime<Utc>,
) -> Result<Result<SignInTicket, Refused>, sqlx::Error> {
    sweep(tx, now).await?;
    let net = network.to_string();
    let pair_key = key(ring, purpose, "account-network", account, &net);
    let net_key = key(ring, purpose, "network", "", &net);
    let account_key = key(ring, purpose, "account", account, "");
    let buckets = lock(tx, &[&pair_key, &net_key, &account_key], now).await?;
    let [pair, net_b, acc] = [buckets[0], buckets[1], buckets[2]];
    let trusted = pair.succeeded_at.is_some_and(|at| at + policy.trusted_for > now);
    let refused = earliest_pass([
        policy.account_network.refused_until(&pair, now).map(|until| Refused { until, limit: "account-network" }),
        policy.network.refused_until(&net_b, now).map(|until| Refused { until, limit: "network" }),
        (!trusted).then(|| policy.account.refused_until(&acc, now)).flatten().map(|until| Refused { until, limit: "account" }),
    ]);
    if let Some(r) = refused {
        return Ok(Err(r));
    }
    let keep = pair.succeeded_at.map(|at| at + policy.trusted_for);
    store(tx, &pair_key, &policy.account_network, &policy.account_network.hit(pair, now), keep).await?;
    store(tx, &net_key, &policy.network, &policy.network.hit(net_b, now), None).await?;
    store(tx, &account_key, &policy.account, &policy.account.hit(acc, now), None).await?;
    Ok(Ok(SignInTicket {
        account_network: (pair_key, policy.account_network),
        others: vec![(net_key, policy.network), (account_key, policy.account)],
    }))
}

impl SignInTicket {
    /// The attempt succeeded: the account's failures from this network are cleared and the
    /// network is remembered as one the account signs in from; the network's and the
    /// account's counts take back the provisional failure.
    pub async fn succeeded(self, tx: &mut impl ScopedTx, policy: &SignInPolicy, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let (pair_key, pair_rule) = &self.account_network;
        let mut keys: Vec<&[u8]> = vec![pair_key.as_slice()];
        keys.extend(self.others.iter().map(|(k, _)| k.as_slice()));
        let buckets = lock(tx, &keys, now).await?;
        let pair = Bucket { hits: 0, last_hit_at: None, succeeded_at: Some(now) };
        store(tx, pair_key, pair_rule, &pair, Some(now + policy.trusted_for)).await?;
        for ((k, rule), b) in self.others.iter().zip(&buckets[1..]) {
            store(tx, k, rule, &rule.unhit(*b), None).await?;
        }
        Ok(())
    }
}

/// Admits one e-mail a visitor asked for (registration, confirmation, password reset: one
/// budget for all, so mixing them sends no more) to `address` (normalised) from `network`,
/// counting it, or says when the next may be sent.
pub async fn admit_mail(
    tx: &mut impl ScopedTx,
    ring: &Keyring,
    policy: &MailPolicy,
    address: &str,
    network: &Network,
    now: DateTime<Utc>,
) -> Result<Result<(), Refused>, sqlx::Error> {
    sweep(tx, now).await?;
    let address_key = key(ring, "mail", "mail-address", address, "");
    let net_key = key(ring, "mail", "mail-network", "", &network.to_string());
    let buckets = lock(tx, &[&address_key, &net_key], now).await?;
    let refused = earliest_pass([
        policy.address.refused_until(&buckets[0], now).map(|until| Refused { until, limit: "address" }),
        policy.network.refused_until(&buckets[1], now).map(|until| Refused { until, limit: "network" }),
    ]);
    if let Some(r) = refused {
        return Ok(Err(r));
    }
    store(tx, &address_key, &policy.address, &policy.address.hit(buckets[0], now), None).await?;
    store(tx, &net_key, &policy.network, &policy.network.hit(buckets[1], now), None).await?;
    Ok(Ok(()))
}
