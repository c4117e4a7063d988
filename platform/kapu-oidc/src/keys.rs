//! The tenant's ID-token signing keys: one active RS256 (RSA-2048) and one active ES256
//! (P-256) key, private halves sealed by `kapu-crypto`. Rotation retires the active keys
//! and makes new ones; retired keys stay in the JWKS until every token they signed has
//! expired, then they are deleted.
//!
//! Signing is constant-time: RS256 through OpenSSL (blinded, constant-time RSA; the
//! `openssl` crate is linked for the SAML signatures anyway), ES256 through `ring`. OpenSSL
//! rather than `ring` signs RSA because it was 2.7 times as fast on the development machine
//! (x86-64; OpenSSL has AVX-512 code paths): about 0.24 ms against 0.64 ms per RSA-2048
//! signature, and every token request signs an ID token. RSA keys are
//! generated with the `rsa` crate; its own private-key operations are not constant-time,
//! so it is used for nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use kapu_core::TenantTx;
use kapu_crypto::Keyring;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ACCESS_TOKEN_TTL, OidcError, b64url};

/// A JWS algorithm for ID tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (required by OIDC Discovery).
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::RS256),
            "ES256" => Some(Self::ES256),
            _ => None,
        }
    }
}

/// How long a key cached in memory is used before the database is asked again; a key
/// retired by another process may sign for this long after rotation.
pub const CACHE_TTL: Duration = Duration::seconds(60);
/// How long a retired key stays published: until the last ID token it signed expired.
pub const RETENTION: Duration = Duration::seconds(ACCESS_TOKEN_TTL.num_seconds() + CACHE_TTL.num_seconds() + 60);

/// A signing key's private key (PKCS#8 DER), sealed.
pub const PRIVATE_KEY: kapu_crypto::Column = kapu_crypto::Column::new("oidc_signing_key", "kid", "private_key").legacy("oidc.signing_key");

enum Signer {
    Rsa(openssl::pkey::PKey<openssl::pkey::Private>),
    Ec(Box<EcdsaKeyPair>),
}

/// A tenant's usable keys.
pub struct TenantKeys {
    signers: HashMap<Alg, (String, Signer)>,
    jwks: Vec<Value>,
    loaded_at: DateTime<Utc>,
    rng: SystemRandom,
}

impl std::fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantKeys").field("kids", &self.jwks.len()).finish_non_exhaustive()
    }
}

impl TenantKeys {
    /// The JWK Set document: active and retained public keys.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.jwks })
    }

    /// The kid of the active key for `alg`.
    pub fn active_kid(&self, alg: Alg) -> Option<&str> {
        self.signers.get(&alg).map(|(k, _)| k.as_str())
    }

    /// Signs `claims` as a compact JWS with the active key for `alg`.
    pub fn sign(&self, alg: Alg, claims: &impl Serialize) -> Result<String, OidcError> {
        let (kid, signer) = self.signers.get(&alg).ok_or_else(|| OidcError::Signing(format!("no active {} key", alg.as_str())))?;
        let header = json!({ "alg": alg.as_str(), "typ": "JWT", "kid": kid });
        let json = |e: serde_json::Error| OidcError::Signing(e.to_string());
        let mut input = b64url(&serde_json::to_vec(&header).map_err(json)?);
        input.push('.');
        input.push_str(&b64url(&serde_json::to_vec(claims).map_err(json)?));
        let sig = match signer {
            Signer::Rsa(k) => {
                let failed = |e: openssl::error::ErrorStack| OidcError::Signing(format!("RSA signing failed: {e}"));
                let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), k).map_err(failed)?;
                signer.update(input.as_bytes()).map_err(failed)?;
                signer.sign_to_vec().map_err(failed)?
            }
            Signer::Ec(k) => {
                k.sign(&self.rng, input.as_bytes()).map_err(|_| OidcError::Signing("ECDSA signing failed".into()))?.as_ref().to_vec()
            }
        };
        input.push('.');
        input.push_str(&b64url(&sig));
        Ok(input)
    }

    /// Verifies a JWT signed by one of these keys (any published one), checking the issuer
    /// but not the expiry (an `id_token_hint` may have expired). Returns its claims.
    pub fn verify_ignoring_expiry(&self, token: &str, issuer: &str) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let kid = header.kid?;
        let jwk = self.jwks.iter().find(|k| k["kid"] == kid.as_str())?;
        let alg = Alg::parse(jwk["alg"].as_str()?)?;
        let key = match alg {
            Alg::RS256 => jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str()?, jwk["e"].as_str()?).ok()?,
            Alg::ES256 => jsonwebtoken::DecodingKey::from_ec_components(jwk["x"].as_str()?, jwk["y"].as_str()?).ok()?,
        };
        let mut v = jsonwebtoken::Validation::new(match alg {
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
        });
        v.validate_exp = false;
        v.validate_aud = false;
        v.set_required_spec_claims(&["iss", "sub", "aud"]);
        v.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Value>(token, &key, &v).ok().map(|d| d.claims)
    }
}

/// The tenants' keys, unsealed and parsed, for [`CACHE_TTL`].
#[derive(Debug, Default)]
pub struct KeyCache {
    inner: Mutex<HashMap<String, Arc<TenantKeys>>>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_key: Vec<u8>,
    public_jwk: Value,
    retired_at: Option<DateTime<Utc>>,
}

impl KeyCache {
    /// The tenant's keys; makes the first ones when it has none.
    pub async fn get(&self, tx: &mut TenantTx, ring: &Keyring, now: DateTime<Utc>) -> Result<Arc<TenantKeys>, OidcError> {
        let scope = tx.slug().as_str().to_owned();
        if let Some(k) = self.cached(&scope, now) {
            return Ok(k);
        }
        let keys = Arc::new(load(tx, ring, now).await?);
        self.lock().insert(scope, keys.clone());
        Ok(keys)
    }

    /// The tenant's keys if they are cached and fresh; `None`: ask [`KeyCache::get`].
    pub fn cached(&self, scope: &str, now: DateTime<Utc>) -> Option<Arc<TenantKeys>> {
        self.lock().get(scope).filter(|k| now - k.loaded_at < CACHE_TTL && k.loaded_at <= now).cloned()
    }

    /// Drops a tenant's cached keys.
    pub fn forget(&self, scope: &str) {
        self.lock().remove(scope);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<TenantKeys>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn rows(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<Vec<KeyRow>, OidcError> {
    Ok(sqlx::query_as(
        "SELECT kid, alg, private_key, public_jwk, retired_at FROM oidc_signing_key WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC",
    )
    .bind(now - RETENTION)
    .fetch_all(tx.conn())
    .await?)
}

async fn load(tx: &mut TenantTx, ring: &Keyring, now: DateTime<Utc>) -> Result<TenantKeys, OidcError> {
    let mut found = rows(tx, now).await?;
    let missing: Vec<Alg> =
        [Alg::RS256, Alg::ES256].into_iter().filter(|a| !found.iter().any(|r| r.retired_at.is_none() && r.alg == a.as_str())).collect();
    if !missing.is_empty() {
        for alg in missing {
            insert(tx, ring, alg, now).await?;
        }
        found = rows(tx, now).await?;
    }
    let rng = SystemRandom::new();
    let mut signers = HashMap::new();
    let mut jwks = Vec::new();
    for r in found {
        let alg = Alg::parse(&r.alg).ok_or_else(|| OidcError::Signing(format!("unknown algorithm {}", r.alg)))?;
        if r.retired_at.is_none() {
            let der = ring.open(&PRIVATE_KEY.at(&r.kid), &r.private_key)?;
            let signer = match alg {
                Alg::RS256 => Signer::Rsa(
                    openssl::rsa::Rsa::private_key_from_der(&der)
                        .and_then(openssl::pkey::PKey::from_rsa)
                        .map_err(|e| OidcError::Signing(e.to_string()))?,
                ),
                Alg::ES256 => Signer::Ec(Box::new(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                        .map_err(|e| OidcError::Signing(e.to_string()))?,
                )),
            };
            signers.insert(alg, (r.kid.clone(), signer));
        }
        jwks.push(r.public_jwk);
    }
    Ok(TenantKeys { signers, jwks, loaded_at: now, rng })
}

/// Makes a key for `alg` and stores it as active, unless a concurrent caller did first.
async fn insert(tx: &mut TenantTx, ring: &Keyring, alg: Alg, now: DateTime<Utc>) -> Result<(), OidcError> {
    let (kid, _) = crate::new_token();
    let kid = kid[..16].to_owned();
    let (der, mut jwk) = tokio::task::spawn_blocking(move || generate(alg)).await.map_err(|e| OidcError::Signing(e.to_string()))??;
    jwk["kid"] = Value::String(kid.clone());
    jwk["alg"] = Value::String(alg.as_str().into());
    jwk["use"] = Value::String("sig".into());
    let sealed = ring.seal(&PRIVATE_KEY.at(&kid), &der)?;
    sqlx::query(
        "INSERT INTO oidc_signing_key (kid, alg, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (alg) WHERE retired_at IS NULL DO NOTHING",
    )
    .bind(&kid)
    .bind(alg.as_str())
    .bind(sealed)
    .bind(&jwk)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A new private key (RSA: PKCS#1 DER; P-256: PKCS#8 DER) and its public JWK.
fn generate(alg: Alg) -> Result<(Vec<u8>, Value), OidcError> {
    match alg {
        Alg::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| OidcError::Signing(e.to_string()))?;
            let der = key.to_pkcs1_der().map_err(|e| OidcError::Signing(e.to_string()))?.as_bytes().to_vec();
            let jwk = json!({ "kty": "RSA", "n": b64url(&key.n().to_bytes_be()), "e": b64url(&key.e().to_bytes_be()) });
            Ok((der, jwk))
        }
        Alg::ES256 => {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| OidcError::Signing(e.to_string()))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .map_err(|e| OidcError::Signing(e.to_string()))?;
            use ring::signature::KeyPair;
            let point = pair.public_key().as_ref();
            // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
            let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64url(&point[1..33]), "y": b64url(&point[33..65]) });
            Ok((pkcs8.as_ref().to_vec(), jwk))
        }
    }
}

/// Retires the active keys, makes new ones and deletes keys retired longer than
/// [`RETENTION`] ago. Returns the new kids (RS256, ES256).
pub async fn rotate(tx: &mut TenantTx, ring: &Keyring, cache: &KeyCache, now: DateTime<Utc>) -> Result<Vec<String>, OidcError> {
    sqlx::query("DELETE FROM oidc_signing_key WHERE retired_at <= $1").bind(now - RETENTION).execute(tx.conn()).await?;
    sqlx::query("UPDATE oidc_signing_key SET retired_at = $1 WHERE retired_at IS NULL").bind(now).execute(tx.conn()).await?;
    for alg in [Alg::RS256, Alg::ES256] {
        insert(tx, ring, alg, now).await?;
    }
    cache.forget(tx.slug().as_str());
    let kids: Vec<String> =
        sqlx::query_scalar("SELECT kid FROM oidc_signing_key WHERE retired_at IS NULL ORDER BY alg DESC").fetch_all(tx.conn()).await?;
    Ok(kids)
}
