//! Browsing and verifying the audit log (tenant admins).

use axum::extract::Query;
use chrono::{DateTime, Utc};
use kapu_staff::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{ApiError, Json, Problem};

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordView {
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Staff id.
    pub actor_id: Option<Uuid>,
    /// Staff name and e-mail.
    pub actor: String,
    /// What, e.g. `client.read`.
    pub action: String,
    /// Whom.
    pub subject_client_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// Specifics (field names, never values).
    pub details: serde_json::Value,
    /// Hex SHA-256 of the previous record.
    pub prev_hash: String,
    /// Hex SHA-256 of this record.
    pub hash: String,
}

/// Audit records.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub records: Vec<AuditRecordView>,
}

/// Filter and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only records about this client.
    pub client: Option<Uuid>,
    /// Only records before this sequence number (for paging).
    pub before: Option<i64>,
    /// At most this many (default 100; less than 1 counts as 1, more than 500 as 500).
    pub limit: Option<i64>,
}

/// Browse the audit log.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_audit(s: SignedIn, Query(q): Query<AuditQuery>) -> Result<Json<AuditList>, ApiError> {
    s.require(Permission::ViewAudit)?;
    let SignedIn(mut a) = s;
    let records = kapu_audit::list(a.tx.tenant()?, q.client, q.before, q.limit.unwrap_or(100)).await?;
    a.tx.commit().await?;
    Ok(Json(AuditList {
        records: records
            .into_iter()
            .map(|r| AuditRecordView {
                seq: r.seq,
                at: r.at,
                actor_id: r.actor_id,
                actor: r.actor,
                action: r.action,
                subject_client_id: r.subject_client_id,
                reason: r.reason,
                details: r.details,
                prev_hash: hex_of(&r.prev_hash),
                hash: hex_of(&r.hash),
            })
            .collect(),
    }))
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The result of verifying the chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerification {
    /// Whether the whole chain is intact.
    pub intact: bool,
    /// Records checked.
    pub records: i64,
    /// Where it breaks.
    pub broken_at: Option<i64>,
    /// What is wrong there.
    pub problem: Option<String>,
}

/// Recompute the audit chain and report the first break.
#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn verify_audit(s: SignedIn) -> Result<Json<AuditVerification>, ApiError> {
    s.require(Permission::ViewAudit)?;
    let SignedIn(mut a) = s;
    let v = kapu_audit::verify(a.tx.tenant()?).await?;
    a.tx.commit().await?;
    Ok(Json(AuditVerification {
        intact: v.broken.is_none(),
        records: v.records,
        broken_at: v.broken.as_ref().map(|b| b.seq),
        problem: v.broken.map(|b| b.problem),
    }))
}
