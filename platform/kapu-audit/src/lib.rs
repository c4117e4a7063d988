//! The audit log: an append-only, hash-chained record of every staff read or change of a
//! client's personal data (who, whom, what, why, when).
//!
//! Each record's hash is SHA-256 over the previous record's hash and the record's own
//! canonical content, so removing, reordering or editing any record breaks every hash
//! after it. Writers serialise on the one-row `audit_head` table, which also lets a
//! verifier notice a truncated tail. A trigger refuses UPDATE, DELETE and TRUNCATE.

use chrono::{DateTime, SubsecRound, Utc};
use kapu_core::{Statement, TenantTx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::postgres::PgRow;
use thiserror::Error;
use uuid::Uuid;

/// Errors of the audit log.
#[derive(Debug, Error)]
pub enum AuditError {
    /// Database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Database error, from a statement sent in one message.
    #[error("database error: {0}")]
    Core(#[from] kapu_core::CoreError),
    /// The tenant's schema has no audit chain head (not provisioned).
    #[error("the audit chain head is missing")]
    NoHead,
}

/// Who acted: a staff member (id and e-mail) or the system itself.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Staff id, `None` for the system.
    pub id: Option<Uuid>,
    /// Human-readable label, e.g. the staff member's e-mail or `system`.
    pub label: String,
}

/// One thing to record.
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    /// Who.
    pub actor: &'a Actor,
    /// What, e.g. `client.read`, `client.create`.
    pub action: &'a str,
    /// Whom: the client whose data was touched.
    pub subject_client_id: Option<Uuid>,
    /// Why: the purpose the staff member gave.
    pub reason: &'a str,
    /// Which fields or other specifics, never the personal data itself.
    pub details: serde_json::Value,
}

/// A stored record.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Staff id.
    pub actor_id: Option<Uuid>,
    /// Staff label.
    pub actor: String,
    /// What.
    pub action: String,
    /// Whom.
    pub subject_client_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// Specifics.
    pub details: serde_json::Value,
    /// Hash of the previous record (hex in JSON).
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Vec<u8>,
    /// This record's hash.
    #[serde(serialize_with = "as_hex")]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(v))
}

/// Appends a record in the caller's transaction, so it commits or rolls back with the
/// access it describes.
pub async fn record(tx: &mut TenantTx, event: AuditEvent<'_>, now: DateTime<Utc>) -> Result<i64, AuditError> {
    let mut rows = tx.run(&[lock_head()]).await?;
    let mut head = Head::from_rows(&rows.pop().unwrap_or_default())?;
    let record = head.record(event, now);
    tx.run(&[record]).await?;
    Ok(head.seq)
}

/// The statement that locks the tenant's audit chain head until the transaction ends and
/// reads it ([`Head::from_rows`]). Writers serialise on it, so a caller that also takes
/// other locks takes this one first, as late as it can.
pub fn lock_head() -> Statement {
    Statement::new("SELECT seq, hash FROM audit_head FOR UPDATE", [])
}

/// The locked head of the audit chain: the records' statements are made from it without a
/// round trip of their own, so they can travel with the transaction's other writes.
#[derive(Debug)]
pub struct Head {
    seq: i64,
    hash: Vec<u8>,
}

impl Head {
    /// The head in the rows of [`lock_head`].
    pub fn from_rows(rows: &[PgRow]) -> Result<Self, AuditError> {
        let row = rows.first().ok_or(AuditError::NoHead)?;
        Ok(Self { seq: row.try_get(0)?, hash: row.try_get(1)? })
    }

    /// The statement that appends `event` after this head and moves the head to it. It
    /// must run in the transaction that locked the head.
    pub fn record(&mut self, event: AuditEvent<'_>, now: DateTime<Utc>) -> Statement {
        let now = now.trunc_subsecs(6);
        let seq = self.seq + 1;
        let hash = chain_hash(
            &self.hash,
            seq,
            now,
            event.actor.id,
            &event.actor.label,
            event.action,
            event.subject_client_id,
            event.reason,
            &event.details,
        );
        let prev = std::mem::replace(&mut self.hash, hash.clone());
        self.seq = seq;
        // The record and the new head in one statement.
        Statement::new(
            "WITH r AS (INSERT INTO audit_record (seq, at, actor_id, actor, action, subject_client_id, reason, details, prev_hash, hash)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq, hash)
             UPDATE audit_head SET seq = r.seq, hash = r.hash FROM r",
            [
                seq.into(),
                now.into(),
                event.actor.id.into(),
                event.actor.label.as_str().into(),
                event.action.into(),
                event.subject_client_id.into(),
                event.reason.into(),
                event.details.into(),
                prev.into(),
                hash.into(),
            ],
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn chain_hash(
    prev: &[u8],
    seq: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor: &str,
    action: &str,
    subject: Option<Uuid>,
    reason: &str,
    details: &serde_json::Value,
) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    // Length-prefixed fields, so no two different records hash alike.
    let fields: [String; 7] = [
        seq.to_string(),
        at.timestamp_micros().to_string(),
        actor_id.map(|u| u.to_string()).unwrap_or_default(),
        actor.to_owned(),
        action.to_owned(),
        subject.map(|u| u.to_string()).unwrap_or_default(),
        reason.to_owned(),
    ];
    for f in fields.iter().map(String::as_bytes).chain([canonical_json(details).as_bytes()]) {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f);
    }
    h.finalize().to_vec()
}

/// JSON with object keys sorted, so a round trip through `jsonb` hashes the same.
fn canonical_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), canonical_json(&m[k]))).collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Records, newest first, optionally only those about one client.
pub async fn list(tx: &mut TenantTx, subject: Option<Uuid>, before_seq: Option<i64>, limit: i64) -> Result<Vec<AuditRecord>, AuditError> {
    Ok(sqlx::query_as(
        "SELECT seq, at, actor_id, actor, action, subject_client_id, reason, details, prev_hash, hash FROM audit_record
         WHERE ($1::uuid IS NULL OR subject_client_id = $1) AND ($2::bigint IS NULL OR seq < $2)
         ORDER BY seq DESC LIMIT $3",
    )
    .bind(subject)
    .bind(before_seq)
    .bind(limit.clamp(1, 500))
    .fetch_all(tx.conn())
    .await?)
}

/// The result of checking the chain.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verification {
    /// How many records were checked.
    pub records: i64,
    /// The first broken record and what is wrong with it, if any.
    pub broken: Option<Broken>,
}

/// Where and how the chain breaks.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Broken {
    /// The sequence number at which the chain breaks.
    pub seq: i64,
    /// What is wrong.
    pub problem: String,
}

/// Recomputes every hash from the first record and checks the head.
pub async fn verify(tx: &mut TenantTx) -> Result<Verification, AuditError> {
    let mut prev = vec![0u8; 32];
    let mut expected_seq = 1;
    let mut checked = 0;
    let mut after = 0i64;
    loop {
        let batch: Vec<AuditRecord> = sqlx::query_as(
            "SELECT seq, at, actor_id, actor, action, subject_client_id, reason, details, prev_hash, hash FROM audit_record
             WHERE seq > $1 ORDER BY seq LIMIT 5000",
        )
        .bind(after)
        .fetch_all(tx.conn())
        .await?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            let broken =
                |problem: &str| Verification { records: checked, broken: Some(Broken { seq: r.seq, problem: problem.to_owned() }) };
            if r.seq != expected_seq {
                return Ok(broken(&format!("record {expected_seq} is missing")));
            }
            if r.prev_hash != prev {
                return Ok(broken("its previous-hash does not match the record before it"));
            }
            let h = chain_hash(&prev, r.seq, r.at, r.actor_id, &r.actor, &r.action, r.subject_client_id, &r.reason, &r.details);
            if h != r.hash {
                return Ok(broken("its content does not match its hash: it was altered"));
            }
            prev = r.hash.clone();
            expected_seq += 1;
            checked += 1;
        }
        after = batch.last().map_or(after, |r| r.seq);
    }
    let (head_seq, head_hash): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM audit_head").fetch_one(tx.conn()).await?;
    if head_seq != checked || head_hash != prev {
        return Ok(Verification {
            records: checked,
            broken: Some(Broken {
                seq: checked + 1,
                problem: format!("the chain ends at {checked} but its head says {head_seq}: records were removed"),
            }),
        });
    }
    Ok(Verification { records: checked, broken: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":1,"y":2}],"c":"é"}}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"c":"é","d":[1,{"y":2,"z":1}]},"b":1}"#);
    }

    #[test]
    fn hash_depends_on_every_field() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let base = chain_hash(&[0; 32], 1, at, None, "a", "client.read", None, "r", &serde_json::json!({}));
        assert_ne!(base, chain_hash(&[1; 32], 1, at, None, "a", "client.read", None, "r", &serde_json::json!({})));
        assert_ne!(base, chain_hash(&[0; 32], 1, at, None, "a", "client.read", None, "s", &serde_json::json!({})));
        assert_ne!(base, chain_hash(&[0; 32], 1, at, None, "ab", "client.read", None, "", &serde_json::json!({})));
    }
}
