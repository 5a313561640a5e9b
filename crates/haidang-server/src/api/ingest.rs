//! The edge of the hub: the MQTT connectors' state and the messages they could not take (dead
//! letters), for the operators on shift.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Each connector: broker, topics, connected or not, messages received, stored and refused,
/// the last error.
#[utoipa::path(get, path = "/api/v1/hub/connectors", tag = "hub",
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::Problem)))]
pub async fn list_connectors(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let list =
        state.ingest.connectors(&caller.subject).await.map_err(|e| ApiError::from_core(e, caller.lang))?;
    let body: Vec<Value> = list
        .into_iter()
        .map(|(report, kept)| {
            let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
            v["dead_letters_kept"] = json!(kept);
            v
        })
        .collect();
    Ok(Json(Value::Array(body)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeadLetterFilter {
    /// Only this connector's.
    pub connector: Option<String>,
    /// Older than this sequence number (the `seq` of the last one on the previous page).
    pub before: Option<i64>,
    /// At most this many (1-1000, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct DeadLetterOut {
    seq: i64,
    connector: String,
    topic: String,
    payload: String,
    error: String,
    at: String,
}

/// Messages the connectors could not take, newest first, with why.
#[utoipa::path(get, path = "/api/v1/hub/dead-letters", tag = "hub", params(DeadLetterFilter),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::Problem)))]
pub async fn list_dead_letters(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(f): Query<DeadLetterFilter>,
) -> ApiResult<Json<Value>> {
    let limit = f.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("limit {limit} is not between 1 and 1000"),
        ));
    }
    let letters = state
        .ingest
        .dead_letters(&caller.subject, f.connector.as_deref(), f.before, limit)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    let out: Vec<DeadLetterOut> = letters
        .into_iter()
        .map(|d| DeadLetterOut {
            seq: d.seq,
            connector: d.source,
            topic: d.topic,
            payload: d.payload,
            error: d.error,
            at: d.at.to_string(),
        })
        .collect();
    Ok(Json(serde_json::to_value(out).unwrap_or(Value::Null)))
}
