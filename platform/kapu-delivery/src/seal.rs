//! The tenant's seal (elektronikus bélyegző): the key that seals its documents, stored with
//! the private key sealed by `kapu-crypto`, handed out behind the [`Signer`] trait so that a
//! PKCS#11 token can replace it.
//!
//! The demo and the tests install a seal made by the local test CA
//! (`kapu_documents::pki::TestPki`); a real deployment installs its qualified seal.

use chrono::{DateTime, Utc};
use kapu_core::{Refusal, TenantTx};
use kapu_crypto::Keyring;
use kapu_documents::signer::pem_blocks;
use kapu_documents::{Signer, SoftwareSigner};

use crate::{DeliveryError, invalid};

/// The tenant seal's private key, sealed (one row, `id` true).
pub const PRIVATE_KEY: kapu_crypto::Column =
    kapu_crypto::Column::new("tenant_seal", "id", "private_key_enc").legacy("tenant_seal.private_key");

/// Installs (or replaces) the tenant's seal: a PKCS#8 ECDSA P-256 key in PEM and its
/// certificate chain in PEM, own certificate first. Returns the certificate's subject.
pub async fn install(
    tx: &mut TenantTx,
    ring: &Keyring,
    key_pem: &str,
    chain_pem: &str,
    now: DateTime<Utc>,
) -> Result<String, DeliveryError> {
    let key = pem_blocks(key_pem, "PRIVATE KEY").into_iter().next().ok_or_else(|| invalid("key", Refusal::NoPrivateKey))?;
    let signer = SoftwareSigner::from_der(&key, &pem_blocks(chain_pem, "CERTIFICATE"))
        .map_err(|e| invalid("certificate", Refusal::InvalidCertificate { detail: e.to_string() }))?;
    let subject = signer.certificate().tbs_certificate.subject.to_string();
    sqlx::query(
        "INSERT INTO tenant_seal (id, private_key_enc, certificate_chain_pem, subject, installed_at) VALUES (true, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET private_key_enc = EXCLUDED.private_key_enc,
             certificate_chain_pem = EXCLUDED.certificate_chain_pem, subject = EXCLUDED.subject, installed_at = EXCLUDED.installed_at",
    )
    .bind(ring.seal(&PRIVATE_KEY.at(true), &key)?)
    .bind(chain_pem)
    .bind(&subject)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(subject)
}

/// The subject of the installed seal's certificate, if one is installed.
pub async fn installed(tx: &mut TenantTx) -> Result<Option<String>, DeliveryError> {
    Ok(sqlx::query_scalar("SELECT subject FROM tenant_seal").fetch_optional(tx.conn()).await?)
}

/// The tenant's seal as a signer.
pub async fn signer(tx: &mut TenantTx, ring: &Keyring) -> Result<Box<dyn Signer>, DeliveryError> {
    let row: Option<(Vec<u8>, String)> =
        sqlx::query_as("SELECT private_key_enc, certificate_chain_pem FROM tenant_seal").fetch_optional(tx.conn()).await?;
    let (enc, chain) = row.ok_or(DeliveryError::NoSeal)?;
    let key = zeroize::Zeroizing::new(ring.open(&PRIVATE_KEY.at(true), &enc)?);
    let signer = SoftwareSigner::from_der(&key, &pem_blocks(&chain, "CERTIFICATE")).map_err(|e| DeliveryError::Seal(e.to_string()))?;
    Ok(Box::new(signer))
}
