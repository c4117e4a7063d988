//! Personal data at rest: envelope encryption and blind indexes.
//!
//! Each scope (a tenant's schema, or the platform schema) has its own random AES-256 data
//! keys, stored in its `data_key` table wrapped (AES-256-GCM) by the deployment's master
//! key, which comes from configuration and never touches the database. Sensitive fields are
//! sealed with the active data key; the ciphertext names the key version, so rotation only
//! adds a key and re-encrypts at leisure. Equality search uses a keyed blind index (HMAC-SHA256
//! under a separate index key), which reveals equality but not the value.
//!
//! Every ciphertext is bound to a context string (e.g. `client.identity`) as associated
//! data, so a value cannot be moved to another column or tenant unnoticed.

pub mod password;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use thiserror::Error;
use zeroize::Zeroizing;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Errors of key handling and decryption.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// The configured master key is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64-encoded ({0})")]
    BadMasterKey(&'static str),
    /// A data key is wrapped under a master key that is not configured.
    #[error("data key {version} is wrapped by master key {master_key_id}, which is not configured; add it to the old master keys")]
    UnknownMasterKey { version: i32, master_key_id: String },
    /// A ciphertext names a data key version that does not exist.
    #[error("no data key version {0}")]
    UnknownDataKey(u32),
    /// The ciphertext was altered, truncated, or moved from another context.
    #[error("ciphertext failed authentication")]
    Tampered,
    /// Database error while loading or storing keys.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A 256-bit master key with a short public id (the first bytes of its SHA-256).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Parses a base64-encoded 32-byte key.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(B64.decode(s.trim()).map_err(|_| CryptoError::BadMasterKey("not valid base64"))?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::BadMasterKey("wrong length"))?;
        let id = hex_prefix(&Sha256::digest(key));
        Ok(Self { id, key: Zeroizing::new(key) })
    }

    /// A fresh random key, base64-encoded, for `kapu keys generate` and the demo.
    pub fn generate_base64() -> String {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        B64.encode(key.as_ref())
    }

    /// The key's public id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn hex_prefix(d: &[u8]) -> String {
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The deployment's keys and the cache of unwrapped per-scope keyrings.
#[derive(Debug)]
pub struct Crypto {
    current: MasterKey,
    old: Vec<MasterKey>,
    keyrings: Mutex<HashMap<String, Arc<Keyring>>>,
}

/// The unwrapped keys of one scope.
pub struct Keyring {
    active: u32,
    data: HashMap<u32, Aes256Gcm>,
    index: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("active", &self.active).finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct DataKeyRow {
    version: i32,
    purpose: String,
    master_key_id: String,
    wrapped: Vec<u8>,
    active: bool,
}

impl Crypto {
    /// Uses `current` to wrap new keys; `old` master keys still unwrap keys made before a
    /// master-key rotation (until `rewrap` has run everywhere).
    pub fn new(current: MasterKey, old: Vec<MasterKey>) -> Self {
        Self { current, old, keyrings: Mutex::new(HashMap::new()) }
    }

    /// The current master key's id.
    pub fn master_key_id(&self) -> &str {
        self.current.id()
    }

    fn master(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current).chain(&self.old).find(|k| k.id == id)
    }

    /// The keyring of the scope the connection is in (its `search_path`), named `scope` in
    /// the cache. Creates the scope's first keys when it has none.
    pub async fn keyring(&self, conn: &mut PgConnection, scope: &str) -> Result<Arc<Keyring>, CryptoError> {
        if let Some(k) = self.cached(scope) {
            return Ok(k);
        }
        let ring = Arc::new(self.load(conn).await?);
        self.lock().insert(scope.to_owned(), ring.clone());
        Ok(ring)
    }

    /// Drops a scope's cached keyring, e.g. after rotation or deletion.
    pub fn forget(&self, scope: &str) {
        self.lock().remove(scope);
    }

    fn cached(&self, scope: &str) -> Option<Arc<Keyring>> {
        self.lock().get(scope).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Keyring>>> {
        self.keyrings.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn load(&self, conn: &mut PgConnection) -> Result<Keyring, CryptoError> {
        let mut rows = self.rows(conn).await?;
        if !rows.iter().any(|r| r.purpose == "index") || !rows.iter().any(|r| r.purpose == "data") {
            // First use: one data key and one index key. Concurrent first uses race on the
            // primary key; the loser reads the winner's keys.
            for (version, purpose) in [(0, "index"), (1, "data")] {
                let wrapped = self.wrap(&random_key())?;
                sqlx::query(
                    "INSERT INTO data_key (version, purpose, master_key_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
                )
                .bind(version)
                .bind(purpose)
                .bind(self.current.id())
                .bind(wrapped)
                .execute(&mut *conn)
                .await?;
            }
            rows = self.rows(conn).await?;
        }
        let mut ring = Keyring { active: 0, data: HashMap::new(), index: Zeroizing::new(Vec::new()) };
        for row in rows {
            let key = self.unwrap(&row)?;
            if row.purpose == "index" {
                ring.index = key;
            } else {
                let version = u32::try_from(row.version).map_err(|_| CryptoError::UnknownDataKey(0))?;
                let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| CryptoError::Tampered)?;
                ring.data.insert(version, cipher);
                if row.active && version > ring.active {
                    ring.active = version;
                }
            }
        }
        Ok(ring)
    }

    async fn rows(&self, conn: &mut PgConnection) -> Result<Vec<DataKeyRow>, CryptoError> {
        Ok(sqlx::query_as("SELECT version, purpose, master_key_id, wrapped, active FROM data_key ORDER BY version").fetch_all(conn).await?)
    }

    fn wrap(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&Aes256Gcm::new_from_slice(self.current.key.as_ref()).map_err(|_| CryptoError::Tampered)?, 0, "kapu.data_key", key)
    }

    fn unwrap(&self, row: &DataKeyRow) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let master = self
            .master(&row.master_key_id)
            .ok_or_else(|| CryptoError::UnknownMasterKey { version: row.version, master_key_id: row.master_key_id.clone() })?;
        let cipher = Aes256Gcm::new_from_slice(master.key.as_ref()).map_err(|_| CryptoError::Tampered)?;
        Ok(Zeroizing::new(open(&cipher, "kapu.data_key", &row.wrapped)?.1))
    }

    /// Adds a new data key and makes it the active one; older keys stay for decryption.
    /// Returns the new version. Callers re-encrypt their rows afterwards.
    pub async fn rotate_data_key(&self, conn: &mut PgConnection, scope: &str) -> Result<u32, CryptoError> {
        self.load(conn).await?;
        let next: i32 =
            sqlx::query_scalar("SELECT COALESCE(max(version), 0) + 1 FROM data_key WHERE purpose = 'data'").fetch_one(&mut *conn).await?;
        sqlx::query("UPDATE data_key SET active = false WHERE purpose = 'data'").execute(&mut *conn).await?;
        sqlx::query("INSERT INTO data_key (version, purpose, master_key_id, wrapped) VALUES ($1, 'data', $2, $3)")
            .bind(next)
            .bind(self.current.id())
            .bind(self.wrap(&random_key())?)
            .execute(&mut *conn)
            .await?;
        self.forget(scope);
        u32::try_from(next).map_err(|_| CryptoError::UnknownDataKey(0))
    }

    /// Re-wraps every key of the scope under the current master key (master-key rotation).
    /// Returns how many keys were re-wrapped.
    pub async fn rewrap(&self, conn: &mut PgConnection, scope: &str) -> Result<usize, CryptoError> {
        let rows = self.rows(conn).await?;
        let mut n = 0;
        for row in rows.iter().filter(|r| r.master_key_id != self.current.id) {
            let key = self.unwrap(row)?;
            sqlx::query("UPDATE data_key SET wrapped = $2, master_key_id = $3 WHERE version = $1")
                .bind(row.version)
                .bind(self.wrap(&key)?)
                .bind(self.current.id())
                .execute(&mut *conn)
                .await?;
            n += 1;
        }
        self.forget(scope);
        Ok(n)
    }
}

fn random_key() -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

fn seal(cipher: &Aes256Gcm, version: u32, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut header = Vec::with_capacity(1 + 4 + NONCE_LEN);
    header.push(FORMAT_V1);
    header.extend_from_slice(&version.to_be_bytes());
    header.extend_from_slice(&nonce);
    let aad = [&header[..5], context.as_bytes()].concat();
    let ct = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad }).map_err(|_| CryptoError::Tampered)?;
    header.extend_from_slice(&ct);
    Ok(header)
}

fn key_version(blob: &[u8]) -> Result<u32, CryptoError> {
    if blob.len() < 1 + 4 + NONCE_LEN + 16 || blob[0] != FORMAT_V1 {
        return Err(CryptoError::Tampered);
    }
    Ok(u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]]))
}

fn open(cipher: &Aes256Gcm, context: &str, blob: &[u8]) -> Result<(u32, Vec<u8>), CryptoError> {
    let version = key_version(blob)?;
    let aad = [&blob[..5], context.as_bytes()].concat();
    let pt = cipher
        .decrypt(Nonce::from_slice(&blob[5..5 + NONCE_LEN]), Payload { msg: &blob[5 + NONCE_LEN..], aad: &aad })
        .map_err(|_| CryptoError::Tampered)?;
    Ok((version, pt))
}

impl Keyring {
    /// Encrypts `plaintext` under the active data key, bound to `context`.
    pub fn encrypt(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.data.get(&self.active).ok_or(CryptoError::UnknownDataKey(self.active))?;
        seal(cipher, self.active, context, plaintext)
    }

    /// Decrypts a value sealed by [`Keyring::encrypt`] under any of the scope's data keys.
    pub fn decrypt(&self, context: &str, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let version = key_version(blob)?;
        let cipher = self.data.get(&version).ok_or(CryptoError::UnknownDataKey(version))?;
        Ok(open(cipher, context, blob)?.1)
    }

    /// Whether a ciphertext was sealed with an older key than the active one.
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        key_version(blob).is_ok_and(|v| v != self.active)
    }

    /// A keyed blind index of an already normalised value, for equality search.
    pub fn blind_index(&self, context: &str, normalized: &str) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index).unwrap_or_else(|_| unreachable!());
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        let mut data = HashMap::new();
        data.insert(1, Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap());
        data.insert(2, Aes256Gcm::new_from_slice(&[8u8; 32]).unwrap());
        Keyring { active: 2, data, index: Zeroizing::new(vec![9u8; 32]) }
    }

    #[test]
    fn round_trip_and_context_binding() {
        let r = ring();
        let blob = r.encrypt("client.identity", b"Kiss Anna").unwrap();
        assert!(!blob.windows(9).any(|w| w == b"Kiss Anna"));
        assert_eq!(r.decrypt("client.identity", &blob).unwrap(), b"Kiss Anna");
        assert!(matches!(r.decrypt("client.id_document", &blob), Err(CryptoError::Tampered)));
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(r.decrypt("client.identity", &bad), Err(CryptoError::Tampered)));
    }

    #[test]
    fn old_keys_still_decrypt() {
        let mut r = ring();
        r.active = 1;
        let old = r.encrypt("c", b"x").unwrap();
        r.active = 2;
        assert!(r.is_stale(&old));
        assert_eq!(r.decrypt("c", &old).unwrap(), b"x");
    }

    #[test]
    fn blind_index_is_keyed_and_contextual() {
        let r = ring();
        assert_eq!(r.blind_index("a", "x"), r.blind_index("a", "x"));
        assert_ne!(r.blind_index("a", "x"), r.blind_index("b", "x"));
        let mut other = ring();
        other.index = Zeroizing::new(vec![1u8; 32]);
        assert_ne!(r.blind_index("a", "x"), other.blind_index("a", "x"));
    }

    #[test]
    fn master_key_parsing() {
        assert!(MasterKey::from_base64("nope").is_err());
        let k = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert_eq!(k.id().len(), 12);
    }
}
