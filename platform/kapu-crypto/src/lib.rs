//! Personal data at rest: envelope encryption and blind indexes.
//!
//! Each scope (a tenant's schema, or the platform schema) has its own random AES-256 data
//! keys, stored in its `data_key` table wrapped (AES-256-GCM) by the deployment's master
//! key, which comes from configuration and never touches the database. Sensitive fields are
//! sealed with the active data key; the ciphertext names the key version, so rotation only
//! adds a key and re-encrypts at leisure. Equality search uses a keyed blind index (HMAC-SHA256
//! under a separate index key), which reveals equality but not the value.
//!
//! Every ciphertext is bound to its place as associated data: the scope (tenant), table, row
//! (primary key) and column ([`Place`]), so a value copied to another row, column or tenant
//! does not open. Each wrapped data key is bound to its scope, purpose and version, so a key
//! row copied into another tenant's `data_key` does not unwrap. Values and keys written
//! before that binding (format 1, bound only to a context string such as `client.identity`)
//! still open; `kapu tenant rotate-key` and `kapu keys rewrap` move them to the new binding
//! ([`reseal_column`], [`Crypto::rewrap`]).

pub mod password;
mod place;
mod reseal;

pub use place::{Column, Place};
pub use reseal::reseal_column;

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

/// Format 1: associated data is a context string (`client.identity`, `kapu.data_key`).
const FORMAT_V1: u8 = 1;
/// Format 2: associated data names the value's place, or the wrapped key's scope.
const FORMAT_V2: u8 = 2;
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
    /// The ciphertext was altered, truncated, or moved from another tenant, table, row or
    /// column.
    #[error("ciphertext failed authentication: it was altered, or moved from another tenant, table, row or column")]
    Tampered,
    /// A wrapped data key does not open in this scope: it was altered, or copied from
    /// another tenant's `data_key` table.
    #[error("data key {version} does not open in scope {scope:?}: it was altered or copied from another tenant")]
    ForeignDataKey { scope: String, version: i32 },
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
    scope: String,
    active: u32,
    data: HashMap<u32, Aes256Gcm>,
    index: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("scope", &self.scope).field("active", &self.active).finish_non_exhaustive()
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
        let ring = Arc::new(self.load(conn, scope).await?);
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

    async fn load(&self, conn: &mut PgConnection, scope: &str) -> Result<Keyring, CryptoError> {
        let mut rows = self.rows(conn).await?;
        if !rows.iter().any(|r| r.purpose == "index") || !rows.iter().any(|r| r.purpose == "data") {
            // First use: one data key and one index key. Concurrent first uses race on the
            // primary key; the loser reads the winner's keys.
            for (version, purpose) in [(0, "index"), (1, "data")] {
                let wrapped = self.wrap(scope, purpose, version, &random_key())?;
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
        let mut ring = Keyring { scope: scope.to_owned(), active: 0, data: HashMap::new(), index: Zeroizing::new(Vec::new()) };
        for row in rows {
            let key = self.unwrap(scope, &row)?;
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

    /// Wraps a data key under the current master key, bound to its scope, purpose and version.
    fn wrap(&self, scope: &str, purpose: &str, version: i32, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(self.current.key.as_ref()).map_err(|_| CryptoError::Tampered)?;
        seal(&cipher, FORMAT_V2, 0, &key_aad(scope, purpose, version), key)
    }

    fn unwrap(&self, scope: &str, row: &DataKeyRow) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let master = self
            .master(&row.master_key_id)
            .ok_or_else(|| CryptoError::UnknownMasterKey { version: row.version, master_key_id: row.master_key_id.clone() })?;
        let cipher = Aes256Gcm::new_from_slice(master.key.as_ref()).map_err(|_| CryptoError::Tampered)?;
        let key = match row.wrapped.first() {
            Some(&FORMAT_V1) => open(&cipher, b"kapu.data_key", &row.wrapped)?,
            _ => open(&cipher, &key_aad(scope, &row.purpose, row.version), &row.wrapped)
                .map_err(|_| CryptoError::ForeignDataKey { scope: scope.to_owned(), version: row.version })?,
        };
        Ok(Zeroizing::new(key))
    }

    /// Wraps `key` the way keys were wrapped before they were bound to their scope (format
    /// 1), for tests of the migration.
    #[doc(hidden)]
    pub fn wrap_v1(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(self.current.key.as_ref()).map_err(|_| CryptoError::Tampered)?;
        seal(&cipher, FORMAT_V1, 0, b"kapu.data_key", key)
    }

    /// Rewrites the scope's wrapped keys in format 1 (bound to nothing but `kapu.data_key`),
    /// as they were before keys were bound to their scope: for tests of the migration.
    #[doc(hidden)]
    pub async fn downgrade_keys_v1(&self, conn: &mut PgConnection, scope: &str) -> Result<usize, CryptoError> {
        let rows = self.rows(conn).await?;
        for row in &rows {
            let key = self.unwrap(scope, row)?;
            sqlx::query("UPDATE data_key SET wrapped = $2, master_key_id = $3 WHERE version = $1")
                .bind(row.version)
                .bind(self.wrap_v1(&key)?)
                .bind(self.current.id())
                .execute(&mut *conn)
                .await?;
        }
        self.forget(scope);
        Ok(rows.len())
    }

    /// Adds a new data key and makes it the active one; older keys stay for decryption.
    /// Returns the new version. Callers re-encrypt their rows afterwards.
    pub async fn rotate_data_key(&self, conn: &mut PgConnection, scope: &str) -> Result<u32, CryptoError> {
        self.load(conn, scope).await?;
        let next: i32 =
            sqlx::query_scalar("SELECT COALESCE(max(version), 0) + 1 FROM data_key WHERE purpose = 'data'").fetch_one(&mut *conn).await?;
        sqlx::query("UPDATE data_key SET active = false WHERE purpose = 'data'").execute(&mut *conn).await?;
        sqlx::query("INSERT INTO data_key (version, purpose, master_key_id, wrapped) VALUES ($1, 'data', $2, $3)")
            .bind(next)
            .bind(self.current.id())
            .bind(self.wrap(scope, "data", next, &random_key())?)
            .execute(&mut *conn)
            .await?;
        self.forget(scope);
        u32::try_from(next).map_err(|_| CryptoError::UnknownDataKey(0))
    }

    /// Re-wraps every key of the scope under the current master key (master-key rotation),
    /// and every key still in format 1 bound to its scope. Returns how many keys were
    /// re-wrapped.
    pub async fn rewrap(&self, conn: &mut PgConnection, scope: &str) -> Result<usize, CryptoError> {
        let rows = self.rows(conn).await?;
        let mut n = 0;
        for row in rows.iter().filter(|r| r.master_key_id != self.current.id || r.wrapped.first() == Some(&FORMAT_V1)) {
            let key = self.unwrap(scope, row)?;
            sqlx::query("UPDATE data_key SET wrapped = $2, master_key_id = $3 WHERE version = $1")
                .bind(row.version)
                .bind(self.wrap(scope, &row.purpose, row.version, &key)?)
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

/// The associated data of a wrapped data key: its scope, purpose and version.
fn key_aad(scope: &str, purpose: &str, version: i32) -> Vec<u8> {
    place::bound(b"kapu.data_key", &[scope.as_bytes(), purpose.as_bytes(), &version.to_be_bytes()])
}

const HEADER_LEN: usize = 1 + 4;

/// `format`, the key `version` and a random nonce, then the ciphertext of `plaintext` with
/// the header and `bound` as associated data.
fn seal(cipher: &Aes256Gcm, format: u8, version: u32, bound: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut header = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + 16);
    header.push(format);
    header.extend_from_slice(&version.to_be_bytes());
    header.extend_from_slice(&nonce);
    let aad = [&header[..HEADER_LEN], bound].concat();
    let ct = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad }).map_err(|_| CryptoError::Tampered)?;
    header.extend_from_slice(&ct);
    Ok(header)
}

/// The format and key version of a ciphertext.
fn header(blob: &[u8]) -> Result<(u8, u32), CryptoError> {
    if blob.len() < HEADER_LEN + NONCE_LEN + 16 || !matches!(blob[0], FORMAT_V1 | FORMAT_V2) {
        return Err(CryptoError::Tampered);
    }
    Ok((blob[0], u32::from_be_bytes([blob[1], blob[2], blob[3], blob[4]])))
}

fn open(cipher: &Aes256Gcm, bound: &[u8], blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
    header(blob)?;
    let aad = [&blob[..HEADER_LEN], bound].concat();
    cipher
        .decrypt(Nonce::from_slice(&blob[HEADER_LEN..HEADER_LEN + NONCE_LEN]), Payload { msg: &blob[HEADER_LEN + NONCE_LEN..], aad: &aad })
        .map_err(|_| CryptoError::Tampered)
}

impl Keyring {
    /// The scope (tenant slug, or the platform) whose keys these are.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Seals `plaintext` under the active data key, bound to this scope and `place`.
    pub fn seal(&self, place: &Place, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.data.get(&self.active).ok_or(CryptoError::UnknownDataKey(self.active))?;
        seal(cipher, FORMAT_V2, self.active, &place.aad(&self.scope), plaintext)
    }

    /// Opens a value sealed at `place` in this scope, under any of the scope's data keys. A
    /// format-1 value opens with the place's former context string.
    pub fn open(&self, place: &Place, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (format, version) = header(blob)?;
        let cipher = self.data.get(&version).ok_or(CryptoError::UnknownDataKey(version))?;
        match format {
            FORMAT_V1 => open(cipher, place.legacy().ok_or(CryptoError::Tampered)?.as_bytes(), blob),
            _ => open(cipher, &place.aad(&self.scope), blob),
        }
    }

    /// Whether a ciphertext needs sealing again: it is in format 1 (not bound to its place),
    /// or sealed with an older key than the active one.
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        header(blob).is_ok_and(|(format, v)| format != FORMAT_V2 || v != self.active)
    }

    /// [`Keyring::is_stale`] from a ciphertext's first bytes (its format and key version).
    pub(crate) fn is_stale_head(&self, head: &[u8]) -> bool {
        match head {
            [FORMAT_V1, ..] => true,
            [FORMAT_V2, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]) != self.active,
            _ => false,
        }
    }

    /// Whether a ciphertext is in the current format, bound to its place.
    pub fn is_bound(blob: &[u8]) -> bool {
        header(blob).is_ok_and(|(format, _)| format == FORMAT_V2)
    }

    /// Seals the way values were sealed before they were bound to their place (format 1,
    /// bound to `context` only), for tests of the migration.
    #[doc(hidden)]
    pub fn seal_v1(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = self.data.get(&self.active).ok_or(CryptoError::UnknownDataKey(self.active))?;
        seal(cipher, FORMAT_V1, self.active, context.as_bytes(), plaintext)
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
mod tests;
