//! Moving sealed data to the active data key and to the current binding: what
//! `kapu tenant rotate-key` and `kapu keys rewrap` run in each scope's transaction.

use anyhow::Result;
use kapu_core::{PlatformTx, TenantTx};
use kapu_crypto::{Column, Crypto, Keyring};

/// Every column sealed in a tenant's schema, from the crates that own the tables.
pub fn tenant_columns() -> Vec<Column> {
    [
        kapu_staff::SEALED,
        kapu_clients::SEALED,
        kapu_cases::SEALED,
        kapu_delivery::SEALED,
        kapu_oidc::SEALED,
        kapu_kau::SEALED,
        kapu_plugins::SEALED,
    ]
    .concat()
}

/// Every column sealed in the platform schema.
pub fn platform_columns() -> Vec<Column> {
    kapu_staff::SEALED.to_vec()
}

/// Seals again every stale value of the tenant (sealed under an older data key, or not yet
/// bound to its place) and every queued e-mail not yet sealed or sealed under an older
/// key, in `tx`. Returns how many values were re-sealed.
pub async fn reseal_tenant(tx: &mut TenantTx, ring: &Keyring) -> Result<usize> {
    let mut n = 0;
    for column in tenant_columns() {
        n += kapu_crypto::reseal_column(tx.conn(), ring, &column).await?;
    }
    Ok(n + reseal_mail_jobs(tx, ring).await?)
}

/// Seals again every stale value of the platform schema. Returns how many.
pub async fn reseal_platform(tx: &mut PlatformTx, ring: &Keyring) -> Result<usize> {
    let mut n = 0;
    for column in platform_columns() {
        n += kapu_crypto::reseal_column(tx.conn(), ring, &column).await?;
    }
    Ok(n)
}

/// Seals the `mail.send` payloads written before mails were sealed, and those sealed under
/// an older data key.
async fn reseal_mail_jobs(tx: &mut TenantTx, ring: &Keyring) -> Result<usize> {
    let mut n = 0;
    for (id, payload) in kapu_jobs::payloads_for_update(tx, kapu_mail::SEND_JOB).await? {
        let sealed = payload.get("sealed").and_then(|s| s.as_str()).map(|s| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default()
        });
        if sealed.is_some_and(|blob| !ring.is_stale(&blob)) {
            continue;
        }
        let mail = kapu_mail::MailJob::open(ring, &payload)?;
        kapu_jobs::set_payload(tx, id, &serde_json::to_value(kapu_mail::MailJob::seal(ring, &mail)?)?).await?;
        n += 1;
    }
    Ok(n)
}

/// `kapu tenant rotate-key`: a new active data key for the tenant, its keys bound to it, and
/// every sealed value moved to the new key and binding, in `tx`. Returns the new key's
/// version and how many values were re-sealed.
pub async fn rotate_tenant(crypto: &Crypto, tx: &mut TenantTx) -> Result<(u32, usize)> {
    let scope = tx.slug().as_str().to_owned();
    let v = crypto.rotate_data_key(tx.conn(), &scope).await?;
    crypto.rewrap(tx.conn(), &scope).await?;
    let ring = crypto.keyring(tx.conn(), &scope).await?;
    let n = reseal_tenant(tx, &ring).await?;
    Ok((v, n))
}
