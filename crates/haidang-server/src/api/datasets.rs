//! Datasets ("bộ dữ liệu"): their definitions and states, grants, maintenance windows, quality
//! scores, the overdue list and forms (template download, upload).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::datasets::model::{Consumer, Dataset, Grant, MaintenanceWindow};
use haidang_core::datasets::{GrantSpec, WindowSpec};
use haidang_core::hub::context::ActiveContext;
use haidang_core::CoreError;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::forms;
use crate::state::AppState;

pub fn dataset_json(d: &Dataset) -> Value {
    let core = ActiveContext::core();
    d.to_json(&|n| core.compact(n))
}

pub fn grant_json(g: &Grant) -> Value {
    json!({
        "id": g.id, "dataset": g.dataset_id, "consumer": g.consumer, "read": g.read, "write": g.write,
        "expires_at": g.expires_at.map(|t| t.to_string()), "agreement_ref": g.agreement_ref,
        "granted_by": g.granted_by, "granted_at": g.granted_at.to_string(),
        "revoked_at": g.revoked_at.map(|t| t.to_string()),
    })
}

fn window_json(w: &MaintenanceWindow) -> Value {
    json!({"id": w.id, "dataset": w.dataset_id, "entities": w.entity_ids, "starts_at": w.starts_at.to_string(),
           "ends_at": w.ends_at.to_string(), "reason": w.reason, "declared_by": w.declared_by})
}

fn core_err(caller: &Caller) -> impl Fn(CoreError) -> ApiError + '_ {
    move |e| ApiError::from_core(e, caller.lang)
}

/// The datasets the caller may see.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "datasets", responses((status = 200, body = serde_json::Value)))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Vec<Value>> {
    Json(state.datasets.list(&caller.subject).iter().map(|d| dataset_json(d)).collect())
}

/// Defines a dataset (in draft until an IOC supervisor approves it).
#[utoipa::path(post, path = "/api/v1/datasets", tag = "datasets", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let d = state.datasets.create(&caller.subject, &body).await.map_err(core_err(&caller))?;
    Ok((StatusCode::CREATED, Json(dataset_json(&d))))
}

#[utoipa::path(get, path = "/api/v1/datasets/{id}", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = state.datasets.get(&caller.subject, &id).map_err(core_err(&caller))?;
    let mut v = dataset_json(&d);
    v["members"] = Value::from(state.hub.members(&id).len());
    Ok(Json(v))
}

/// Changes a dataset's definition (not its state).
#[utoipa::path(put, path = "/api/v1/datasets/{id}", tag = "datasets", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let d = state.datasets.update(&caller.subject, &id, &body).await.map_err(core_err(&caller))?;
    Ok(Json(dataset_json(&d)))
}

/// Approval by an IOC supervisor: the data goes live (refused without a schema for the type).
#[utoipa::path(post, path = "/api/v1/datasets/{id}/approve", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = state.datasets.approve(&caller.subject, &id).await.map_err(core_err(&caller))?;
    Ok(Json(dataset_json(&d)))
}

#[derive(Deserialize)]
pub struct ReasonBody {
    pub reason: Option<String>,
}

/// Retires a dataset: it takes no more data; what it holds stays readable.
#[utoipa::path(post, path = "/api/v1/datasets/{id}/retire", tag = "datasets", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn retire(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Value>> {
    let reason = body.reason.unwrap_or_default();
    let d = state.datasets.retire(&caller.subject, &id, &reason).await.map_err(core_err(&caller))?;
    Ok(Json(dataset_json(&d)))
}

#[utoipa::path(get, path = "/api/v1/datasets/{id}/grants", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_grants(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let grants = state.datasets.grants(&caller.subject, &id).map_err(core_err(&caller))?;
    Ok(Json(grants.iter().map(grant_json).collect()))
}

#[derive(Deserialize)]
pub struct GrantBody {
    /// An organisation id...
    pub org: Option<String>,
    /// ...or an API token id.
    pub token: Option<String>,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
    pub expires_at: Option<String>,
    pub agreement_ref: Option<String>,
}

/// Grants an organisation or a token read and/or write on a dataset.
#[utoipa::path(post, path = "/api/v1/datasets/{id}/grants", tag = "datasets", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn grant(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<GrantBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let invalid = |field: &str, m: &str| ApiError::from_core(CoreError::validation(field, m), caller.lang);
    let consumer = match (body.org.filter(|o| !o.is_empty()), body.token.filter(|t| !t.is_empty())) {
        (Some(org), None) => Consumer::Org(org),
        (None, Some(token)) => Consumer::Token(token),
        _ => return Err(invalid("consumer", "name one organisation (org) or one token (token)")),
    };
    let expires_at = match body.expires_at.filter(|e| !e.is_empty()) {
        Some(text) => Some(super::time_param("expires_at", &text).map_err(core_err(&caller))?),
        None => None,
    };
    let spec = GrantSpec {
        consumer,
        read: body.read,
        write: body.write,
        expires_at,
        agreement_ref: body.agreement_ref.unwrap_or_default(),
    };
    let g = state.datasets.grant(&caller.subject, &id, spec).await.map_err(core_err(&caller))?;
    Ok((StatusCode::CREATED, Json(grant_json(&g))))
}

/// Revokes a grant at once.
#[utoipa::path(post, path = "/api/v1/grants/{id}/revoke", tag = "datasets", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Value>> {
    let reason = body.reason.unwrap_or_default();
    let g = state.datasets.revoke(&caller.subject, &id, &reason).await.map_err(core_err(&caller))?;
    Ok(Json(grant_json(&g)))
}

#[utoipa::path(get, path = "/api/v1/datasets/{id}/maintenance", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_windows(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let windows = state.datasets.windows(&caller.subject, &id).await.map_err(core_err(&caller))?;
    Ok(Json(windows.iter().map(window_json).collect()))
}

#[derive(Deserialize)]
pub struct WindowBody {
    #[serde(default)]
    pub entities: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub reason: Option<String>,
}

/// The provider declares a maintenance window (not counted against "sống").
#[utoipa::path(post, path = "/api/v1/datasets/{id}/maintenance", tag = "datasets", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn declare_window(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WindowBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let time = |field: &str, text: &str| super::time_param(field, text).map_err(core_err(&caller));
    let spec = WindowSpec {
        entity_ids: body.entities,
        starts_at: time("starts_at", &body.starts_at)?,
        ends_at: time("ends_at", &body.ends_at)?,
        reason: body.reason.unwrap_or_default(),
    };
    let w = state.datasets.declare_window(&caller.subject, &id, spec).await.map_err(core_err(&caller))?;
    // The monitoring rules silence the window's stations from their next reading.
    state.alerts.windows_changed();
    Ok((StatusCode::CREATED, Json(window_json(&w))))
}

#[derive(Deserialize, IntoParams)]
pub struct WindowQuery {
    /// Start of the window (RFC 3339); default 24 hours before `to`.
    pub from: Option<String>,
    /// End of the window (RFC 3339); default now.
    pub to: Option<String>,
}

/// The window a quality request asks about: 400-style errors name `from` or `to`.
pub fn window_of(q: &WindowQuery) -> Result<(Timestamp, Timestamp), CoreError> {
    let parse = |field: &str, v: &Option<String>| -> Result<Option<Timestamp>, CoreError> {
        v.as_deref().filter(|s| !s.is_empty()).map(|t| super::time_param(field, t)).transpose()
    };
    let to = parse("to", &q.to)?.unwrap_or_else(haidang_core::time::now);
    let from = parse("from", &q.from)?.unwrap_or(to - jiff::SignedDuration::from_hours(24));
    if from >= to {
        return Err(CoreError::validation("from", "must be before to"));
    }
    Ok((from, to))
}

/// A dataset's four scores ("đúng, đủ, sạch, sống") over a window, with their inputs and the
/// stale entities.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/quality", tag = "datasets", params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn quality(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Json<Value>> {
    let (from, to) = window_of(&q).map_err(core_err(&caller))?;
    let report = state.datasets.quality(&caller.subject, &id, from, to).await.map_err(core_err(&caller))?;
    Ok(Json(json!({"dataset": id, "from": from.to_string(), "to": to.to_string(), "quality": report})))
}

/// The providing organisations ranked by their datasets' scores.
#[utoipa::path(get, path = "/api/v1/quality/organisations", tag = "datasets", params(WindowQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn ranking(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Json<Value>> {
    let (from, to) = window_of(&q).map_err(core_err(&caller))?;
    let ranking = state.datasets.ranking(&caller.subject, from, to).await.map_err(core_err(&caller))?;
    Ok(Json(json!({"from": from.to_string(), "to": to.to_string(), "organisations": ranking})))
}

/// Which organisation owes which data since when.
#[utoipa::path(get, path = "/api/v1/quality/overdue", tag = "datasets", responses((status = 200, body = serde_json::Value)))]
pub async fn overdue(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let list = state.overdue(&caller.subject, haidang_core::time::now()).await.map_err(core_err(&caller))?;
    Ok(Json(json!(list)))
}

#[utoipa::path(get, path = "/api/v1/datasets/{id}/submissions", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value)))]
pub async fn submissions(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let list = state.datasets.submissions(&caller.subject, Some(&id)).await.map_err(core_err(&caller))?;
    Ok(Json(
        list.iter()
            .map(|s| {
                json!({"id": s.id, "dataset": s.dataset_id, "org": s.org_id, "period": s.period, "rows": s.rows,
                       "file_name": s.file_name, "submitted_by": s.submitted_by, "submitted_at": s.submitted_at.to_string()})
            })
            .collect(),
    ))
}

/// The dataset's form as an XLSX template.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/form", tag = "datasets", params(("id" = String, Path)),
    responses((status = 200, description = "XLSX file"), (status = 404, body = crate::error::Problem)))]
pub async fn form_template(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (d, cols, example) = state.datasets.form(&caller.subject, &id).await.map_err(core_err(&caller))?;
    let bytes = forms::template(&d, &cols, &example)
        .map_err(|e| ApiError::from_core(CoreError::Internal(format!("form template: {e}")), caller.lang))?;
    let name = format!("bieu-mau-{}.xlsx", d.id);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The file's name (its extension tells XLSX from CSV).
    pub file_name: Option<String>,
}

/// Takes in a filled-in form (the file as the body): all rows or none, every error named by row
/// and column in the caller's language.
#[utoipa::path(post, path = "/api/v1/datasets/{id}/form", tag = "datasets", params(("id" = String, Path), UploadQuery),
    request_body(content = String, description = "the XLSX or CSV file"),
    responses((status = 201, body = serde_json::Value), (status = 422, body = serde_json::Value)))]
pub async fn form_upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let file_name = q.file_name.unwrap_or_else(|| "form".into());
    let outcome = match forms::read(&file_name, &body) {
        Ok(table) => {
            let outcome = state
                .datasets
                .submit_form(&caller.subject, &id, &file_name, table)
                .await
                .map_err(core_err(&caller))?;
            forms::outcome_json(caller.lang, &outcome)
        }
        Err(e) => json!({"accepted": false, "rows": 0, "errors": [forms::file_error(caller.lang, &e)]}),
    };
    if outcome["accepted"] == true {
        return Ok((StatusCode::CREATED, Json(outcome)).into_response());
    }
    // Refused: a problem (RFC 9457) whose `errors` member lists every row and column.
    let t = crate::i18n::Translations::get(caller.lang);
    let count = outcome["errors"].as_array().map(Vec::len).unwrap_or(0);
    let mut problem = json!({
        "type": "https://haidang.dev/problems/form_rejected",
        "title": "Unprocessable Entity",
        "status": 422,
        "code": "form_rejected",
        "detail": t.text("error.form_rejected").replace("{count}", &count.to_string()),
    });
    if let (Value::Object(p), Value::Object(o)) = (&mut problem, outcome) {
        p.extend(o);
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(problem),
    )
        .into_response())
}
