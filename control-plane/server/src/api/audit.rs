//! The audit log: every change made through the API is recorded (who, what, when, from where),
//! and administrators can query it.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use warden_storage::{AuditEntry, AuditFilter, NewAuditEntry};

use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiQuery, ClientIp};
use super::page::{page_of, PageParams};
use super::state::AppState;

/// Appends an entry; a failure is logged, never returned (the change itself is done).
pub(crate) async fn record(
    state: &AppState,
    actor: &str,
    ip: ClientIp,
    action: &str,
    target: Option<String>,
    detail: serde_json::Value,
) {
    let entry = NewAuditEntry {
        target,
        detail,
        source_ip: ip.text(),
        ..NewAuditEntry::new(actor, action)
    };
    if let Err(e) = state.store().append_audit(&entry).await {
        tracing::error!(error = %e, action, "cannot write the audit log");
    }
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditDto {
    pub(crate) id: i64,
    /// When it happened.
    pub(crate) at: DateTime<Utc>,
    /// The account (or `system`).
    #[schema(example = "admin")]
    pub(crate) actor: String,
    /// What was done, e.g. `extension.create`, `auth.login_failed`.
    #[schema(example = "extension.create")]
    pub(crate) action: String,
    /// What it was done to, e.g. an extension number.
    pub(crate) target: Option<String>,
    /// Details (changed fields; never secrets).
    #[schema(value_type = Object)]
    pub(crate) detail: serde_json::Value,
    /// The client address.
    pub(crate) source_ip: Option<String>,
}

impl From<AuditEntry> for AuditDto {
    fn from(e: AuditEntry) -> Self {
        AuditDto {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            source_ip: e.source_ip,
        }
    }
}

page_of!(AuditPage, AuditDto);

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Entries at or after this time (RFC 3339).
    pub(crate) from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    pub(crate) to: Option<DateTime<Utc>>,
    /// Only this actor.
    pub(crate) actor: Option<String>,
    /// Only this action.
    pub(crate) action: Option<String>,
    /// Only this target.
    pub(crate) target: Option<String>,
    /// Rows per page (1 to 1000, default 100).
    pub(crate) limit: Option<u32>,
    /// Rows to skip.
    pub(crate) offset: Option<u32>,
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    ))]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (limit, offset) = PageParams {
        limit: q.limit,
        offset: q.offset,
    }
    .bounds()?;
    let filter = AuditFilter {
        from: q.from,
        to: q.to,
        actor: q.actor.filter(|s| !s.is_empty()),
        action: q.action.filter(|s| !s.is_empty()),
        target: q.target.filter(|s| !s.is_empty()),
        limit: Some(limit),
        offset,
    };
    let page = state.store().list_audit(&filter).await?;
    Ok(Json(AuditPage {
        items: page.items.into_iter().map(AuditDto::from).collect(),
        total: page.total,
        limit,
        offset,
    }))
}
