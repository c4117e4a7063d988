//! The throttles of `kapu-throttle` over HTTP: the client's network from the connection, the
//! scope's keys, the problem a refusal becomes, and the operator's record of it (a log line
//! and a metric, without address or network).

use chrono::{DateTime, Utc};
use kapu_core::ScopedTx;
use kapu_throttle::{Network, Refused, SignInTicket};

use crate::AppState;
use crate::auth::{ClientIp, Scope};
use crate::problem::ApiError;

/// What the operator sees of a refusal: which throttle, which limit, how long; never whose.
fn record(what: &'static str, purpose: &str, r: &Refused, now: DateTime<Utc>) {
    tracing::warn!(throttle = what, purpose, limit = r.limit, wait_s = (r.until - now).num_seconds(), "throttled");
    metrics::counter!("kapu_throttled_total", "throttle" => what, "purpose" => purpose.to_owned(), "limit" => r.limit).increment(1);
}

/// Admits a sign-in attempt of `purpose` (`staff`, `client`, `totp`) for `account` from
/// the client's network, in a transaction of its own (committed before the password is
/// checked, so no row stays locked while it is hashed), or refuses it with
/// `too-many-attempts` and `Retry-After`. The answer is the same for every limit and
/// whether or not the account exists.
pub(crate) async fn admit_sign_in(
    state: &AppState,
    scope: &Scope,
    purpose: &'static str,
    account: &str,
    ip: ClientIp,
    now: DateTime<Utc>,
) -> Result<SignInTicket, ApiError> {
    let mut tx = scope.tx(state).await?;
    let ring = tx.keyring(state).await?;
    let policy = &state.config.throttle.sign_in;
    let admitted = kapu_throttle::admit_sign_in(&mut tx, &ring, policy, purpose, account, &Network::of(ip.0), now).await?;
    tx.commit().await?;
    admitted.map_err(|r| {
        record("sign-in", purpose, &r, now);
        ApiError::TooManyAttempts(r.until.to_rfc3339())
    })
}

/// Takes back the failure an admitted attempt was counted as, in the caller's transaction.
pub(crate) async fn sign_in_succeeded(
    state: &AppState,
    tx: &mut impl ScopedTx,
    ticket: SignInTicket,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    Ok(ticket.succeeded(tx, &state.config.throttle.sign_in, now).await?)
}

/// Counts an e-mail a visitor asked for (`purpose`: `register`, `reset`, …) against the
/// address's and the network's budgets, in the caller's transaction, which also queues the
/// e-mail (or, for an unknown address, queues nothing: the count is the same, and so is the
/// answer). A refusal is `too-many-emails` with `Retry-After`; the caller then drops its
/// transaction, so nothing is sent or stored.
pub(crate) async fn admit_mail(
    state: &AppState,
    tx: &mut impl ScopedTx,
    purpose: &'static str,
    address: &str,
    ip: ClientIp,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let scope = tx.scope().to_owned();
    let ring = state.crypto.keyring(tx.conn(), &scope).await?;
    let address = kapu_throttle::normalise_email(address);
    let admitted = kapu_throttle::admit_mail(tx, &ring, &state.config.throttle.mail, &address, &Network::of(ip.0), now).await?;
    admitted.map_err(|r| {
        record("mail", purpose, &r, now);
        ApiError::TooManyEmails(r.until.to_rfc3339())
    })
}
