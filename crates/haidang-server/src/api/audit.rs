//! The audit trail for auditors.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use haidang_core::audit::{AuditQuery, AuditRecord};
use haidang_core::CoreError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, IntoParams, Default)]
pub struct AuditFilter {
    pub username: Option<String>,
    /// e.g. auth.login, user.lock, token.issue
    pub action: Option<String>,
    /// success, failure or denied
    pub outcome: Option<String>,
    pub target: Option<String>,
    /// From this day (YYYY-MM-DD, Vietnam time) or RFC 3339 time.
    pub from: Option<String>,
    /// Until this day inclusive (YYYY-MM-DD) or RFC 3339 time.
    pub to: Option<String>,
    /// For paging: records before this sequence number.
    pub before_seq: Option<i64>,
    pub limit: Option<i64>,
}

/// Parses a day in Vietnam time or an RFC 3339 time; `end` moves a day to the next midnight.
pub(crate) fn parse_bound(field: &str, text: &str, end: bool) -> Result<jiff::Timestamp, CoreError> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        CoreError::validation(field, format!("'{text}' is not a date (YYYY-MM-DD) or RFC 3339 time"))
    })?;
    let date =
        if end { date.tomorrow().map_err(|e| CoreError::validation(field, e.to_string()))? } else { date };
    date.to_zoned(haidang_core::time::local_tz())
        .map(|z| z.timestamp())
        .map_err(|e| CoreError::validation(field, e.to_string()))
}

impl AuditFilter {
    pub(crate) fn to_query(&self) -> Result<AuditQuery, CoreError> {
        let bound =
            |field: &str, v: &Option<String>, end: bool| -> Result<Option<jiff::Timestamp>, CoreError> {
                v.as_deref().filter(|s| !s.is_empty()).map(|s| parse_bound(field, s, end)).transpose()
            };
        if let Some(o) = self.outcome.as_deref().filter(|o| !o.is_empty()) {
            if haidang_core::audit::Outcome::parse(o).is_none() {
                return Err(CoreError::validation(
                    "outcome",
                    format!("'{o}' is not one of success, failure, denied"),
                ));
            }
        }
        Ok(AuditQuery {
            username: self.username.clone(),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            target: self.target.clone(),
            from: bound("from", &self.from, false)?,
            to: bound("to", &self.to, true)?,
            before_seq: self.before_seq,
            limit: self.limit,
        })
    }
}

/// Audit records, newest first, filtered (auditors and administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::Problem)))]
pub async fn query_audit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<Json<Vec<AuditRecord>>> {
    let q = filter.to_query().map_err(|e| ApiError::from_core(e, caller.lang))?;
    state.audit.query(&caller.subject, &q).await.map(Json).map_err(|e| ApiError::from_core(e, caller.lang))
}
