//! Incidents, playbooks and the agencies' tasks for the console. A playbook naming an unknown
//! organisation is refused on save naming the step; a step out of order answers 409.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::incidents::{IncidentAction, NewIncident, Playbook, TaskStep};
use haidang_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn err(caller: &Caller) -> impl Fn(CoreError) -> ApiError + '_ {
    move |e| ApiError::from_core(e, caller.lang)
}

/// A body that does not read as the type wanted is named in the refusal (422, as every form).
fn body_of<T: serde::de::DeserializeOwned>(what: &str, body: Value) -> Result<T, CoreError> {
    serde_json::from_value(body).map_err(|e| CoreError::validation(what, e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/playbooks", tag = "incidents",
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_playbooks(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.incidents.playbooks(&caller.subject).await.map_err(err(&caller))?)))
}

/// A new playbook (supervisors). Every agency it names must exist.
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "incidents", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn create_playbook(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let p: Playbook = body_of("playbook", body).map_err(err(&caller))?;
    let saved = state.incidents.save_playbook(&caller.subject, p, None).await.map_err(err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(saved))).into_response())
}

/// Replaces a playbook; the body carries the `version` it was read at.
#[utoipa::path(put, path = "/api/v1/playbooks/{id}", tag = "incidents", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn put_playbook(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let version = body.get("version").and_then(Value::as_i64);
    let mut p: Playbook = body_of("playbook", body).map_err(err(&caller))?;
    p.id = id;
    let version = version
        .ok_or_else(|| CoreError::validation("version", "the version the playbook was read at is required"))
        .map_err(err(&caller))?;
    let saved =
        state.incidents.save_playbook(&caller.subject, p, Some(version)).await.map_err(err(&caller))?;
    Ok(Json(json!(saved)))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct IncidentQuery {
    /// Only open incidents (the board).
    pub open: Option<bool>,
}

/// Incidents, newest first: the centre sees all, an agency those it has tasks in.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<IncidentQuery>,
) -> ApiResult<Json<Value>> {
    let list = state.incidents.list(&caller.subject, q.open.unwrap_or(false)).await.map_err(err(&caller))?;
    Ok(Json(json!(list)))
}

/// Opens an incident, from a verified alert (`alert_id`) or a call. The immediate process
/// activates the type's playbook: its checklist, agencies, messages and tasks.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn open(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let new: NewIncident = body_of("incident", body).map_err(err(&caller))?;
    let detail = state.incidents.open(&caller.subject, new).await.map_err(err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(detail))).into_response())
}

/// One incident (by id or number, "SC-7") with its tasks and timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.incidents.get(&caller.subject, &id).await.map_err(err(&caller))?)))
}

/// Something done on an incident: `{"kind": "note" | "check" | "task" | "playbook" | "close", ...}`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/actions", tag = "incidents", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let action: IncidentAction = body_of("kind", body).map_err(err(&caller))?;
    Ok(Json(json!(state.incidents.act(&caller.subject, &id, action).await.map_err(err(&caller))?)))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct MeasureQuery {
    /// From (RFC 3339), inclusive.
    pub from: Option<String>,
    /// To (RFC 3339), exclusive.
    pub to: Option<String>,
}

/// Response measures: time to acknowledge, verify and close alerts (median and 90th
/// percentile), alerts by rule, false alarms, and each agency's on-time share of tasks.
#[utoipa::path(get, path = "/api/v1/measures/response", tag = "incidents", params(MeasureQuery),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::Problem)))]
pub async fn measures(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<MeasureQuery>,
) -> ApiResult<Json<Value>> {
    let from = q.from.as_deref().map(|t| super::time_param("from", t)).transpose().map_err(err(&caller))?;
    let to = q.to.as_deref().map(|t| super::time_param("to", t)).transpose().map_err(err(&caller))?;
    Ok(Json(json!(state.incidents.measures(&caller.subject, from, to).await.map_err(err(&caller))?)))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct SituationQuery {
    /// Metres around the incident's place (3000 by default, at most 50000).
    pub radius_m: Option<f64>,
}

/// The situation view: cameras, sensors with their latest readings, shelters, health stations
/// and fire posts near the incident, nearest first, and the communes affected.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/situation", tag = "incidents", params(("id" = String, Path), SituationQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn situation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<SituationQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state
        .incidents
        .situation(&caller.subject, &id, q.radius_m)
        .await
        .map_err(err(&caller))?)))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct TaskQuery {
    /// Open tasks only.
    pub open: Option<bool>,
}

/// The caller's agency's tasks (the centre: all), by deadline, each marked when overdue.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "incidents", params(TaskQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn tasks(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<TaskQuery>,
) -> ApiResult<Json<Value>> {
    let at = haidang_core::time::now();
    let list = state.incidents.tasks(&caller.subject, q.open.unwrap_or(true)).await.map_err(err(&caller))?;
    let items: Vec<Value> = list
        .iter()
        .map(|t| {
            let mut v = json!(t);
            v["overdue"] = json!(t.is_overdue(at));
            v
        })
        .collect();
    Ok(Json(json!(items)))
}

/// The agency accepts, reports progress on, or finishes its task; the centre may cancel it.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/steps", tag = "incidents", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn task_step(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(step): JsonBody<TaskStep>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.incidents.task_step(&caller.subject, &id, step).await.map_err(err(&caller))?)))
}

#[derive(Deserialize)]
pub struct HandoverBody {
    #[serde(default)]
    pub note: String,
}

/// The shift handover log, newest first.
#[utoipa::path(get, path = "/api/v1/handovers", tag = "incidents", responses((status = 200, body = serde_json::Value)))]
pub async fn list_handovers(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let repo: &dyn haidang_core::repo::Repositories = state.store.as_ref();
    Ok(Json(json!(haidang_core::incidents::handover::list(repo, &caller.subject)
        .await
        .map_err(err(&caller))?)))
}

/// The outgoing operator hands over: the open alerts, incidents and overdue tasks are recorded
/// as they are now, with the note.
#[utoipa::path(post, path = "/api/v1/handovers", tag = "incidents", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn hand_over(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<HandoverBody>,
) -> ApiResult<Response> {
    let repo: &dyn haidang_core::repo::Repositories = state.store.as_ref();
    let h = haidang_core::incidents::handover::hand_over(repo, &caller.subject, &body.note)
        .await
        .map_err(err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(h))).into_response())
}

/// The incoming operator acknowledges the handover (not the one who wrote it; once).
#[utoipa::path(post, path = "/api/v1/handovers/{id}/acknowledge", tag = "incidents", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn acknowledge_handover(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let repo: &dyn haidang_core::repo::Repositories = state.store.as_ref();
    Ok(Json(json!(haidang_core::incidents::handover::acknowledge(repo, &caller.subject, &id)
        .await
        .map_err(err(&caller))?)))
}
