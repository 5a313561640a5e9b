//! Public warnings: drafted and approved in the console; published for everyone as JSON for the
//! portal, as CAP 1.2 documents and as an Atom feed of what is current.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::warnings::cap::{self, FeedEntry};
use haidang_core::warnings::{WarningContent, WarningStep};
use haidang_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::JsonBody;
use crate::auth::{Caller, RequestLang};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn err(caller: &Caller) -> impl Fn(CoreError) -> ApiError + '_ {
    move |e| ApiError::from_core(e, caller.lang)
}

#[derive(Deserialize)]
pub struct NewWarning {
    #[serde(flatten)]
    pub content: WarningContent,
    #[serde(default)]
    pub incident_id: Option<String>,
}

#[derive(Deserialize)]
pub struct EditWarning {
    #[serde(flatten)]
    pub content: WarningContent,
    pub version: i64,
}

fn body_of<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, CoreError> {
    serde_json::from_value(body).map_err(|e| CoreError::validation("warning", e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings", responses((status = 200, body = serde_json::Value)))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.warnings.list(&caller.subject).await.map_err(err(&caller))?)))
}

/// A draft (operators). It goes out only when a supervisor approves it.
#[utoipa::path(post, path = "/api/v1/warnings", tag = "warnings", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let new: NewWarning = body_of(body).map_err(err(&caller))?;
    let w =
        state.warnings.draft(&caller.subject, new.content, new.incident_id).await.map_err(err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(w))).into_response())
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "warnings", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.warnings.get(&caller.subject, &id).await.map_err(err(&caller))?)))
}

/// Rewrites the draft: of a new warning, or the next version of one that is out.
#[utoipa::path(put, path = "/api/v1/warnings/{id}", tag = "warnings", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn edit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let e: EditWarning = body_of(body).map_err(err(&caller))?;
    Ok(Json(json!(state
        .warnings
        .edit(&caller.subject, &id, e.content, e.version)
        .await
        .map_err(err(&caller))?)))
}

/// submit (operators), approve, send_back (with a note), cancel (with the reason): supervisors.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/steps", tag = "warnings", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn step(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(step): JsonBody<WarningStep>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.warnings.step(&caller.subject, &id, step).await.map_err(err(&caller))?)))
}

/// The warnings out now, for the citizen portal (no account needed).
#[utoipa::path(get, path = "/api/v1/public/warnings", tag = "warnings", responses((status = 200, body = serde_json::Value)))]
pub async fn public_current(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
) -> ApiResult<Json<Value>> {
    let list = state.warnings.current().await.map_err(|e| ApiError::from_core(e, lang))?;
    let items: Vec<Value> = list
        .iter()
        .filter_map(|w| {
            let p = w.published.as_ref()?;
            Some(json!({
                "id": w.id, "number": w.number, "event": p.event_vi, "headline": p.headline_vi,
                "description": p.description_vi, "instruction": p.instruction_vi,
                "headline_en": p.headline_en, "severity": p.severity, "urgency": p.urgency,
                "communes": p.communes, "polygon": p.polygon, "onset": p.onset, "expires": p.expires,
                "cap": w.sent.last().map(|s| format!("/cap/{}", s.identifier)),
                "updated": w.sent.last().map(|s| s.sent),
            }))
        })
        .collect();
    Ok(Json(json!(items)))
}

/// The address the feed's links start with: the configured public one, else the request's.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if !state.config.server.public_url.is_empty() {
        return state.config.server.public_url.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.config.tls_enabled() { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The Atom feed of current warnings, each linking its latest CAP message.
pub async fn atom_feed(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let current = match state.warnings.current().await {
        Ok(list) => list,
        Err(e) => return ApiError::from_core(e, crate::i18n::Lang::Vi).into_response(),
    };
    let base = base_url(&state, &headers);
    let entries: Vec<FeedEntry> = current
        .iter()
        .filter_map(|w| {
            let (p, last) = (w.published.as_ref()?, w.sent.last()?);
            Some(FeedEntry {
                id: format!("urn:cap:{}", last.identifier),
                title: p.headline_vi.clone(),
                summary: p.description_vi.clone(),
                updated: last.sent,
                cap_url: format!("{base}/cap/{}", last.identifier),
                html_url: Some(format!("{base}/portal#canh-bao-{}", w.number)),
            })
        })
        .collect();
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or_else(haidang_core::time::now);
    let xml = cap::atom(
        &format!("urn:cap-feed:{}", state.warnings.settings().sender),
        "Cảnh báo công khai — Trung tâm Giám sát, điều hành thông minh",
        &format!("{base}/cap/alerts.atom"),
        updated,
        &entries,
    );
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], xml).into_response()
}

/// One CAP message as it went out.
pub async fn cap_document(State(state): State<Arc<AppState>>, Path(identifier): Path<String>) -> Response {
    match state.warnings.cap_document(&identifier).await {
        Ok(xml) => ([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], xml).into_response(),
        Err(e) => ApiError::from_core(e, crate::i18n::Lang::Vi).into_response(),
    }
}

/// The CAP feed and documents, outside the console API: gateways and aggregators read them.
pub fn cap_router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/cap/alerts.atom", axum::routing::get(atom_feed))
        .route("/cap/{identifier}", axum::routing::get(cap_document))
}
