//! Exchange data structures ("cấu trúc dữ liệu trao đổi"): the JSON Schema each entity type's
//! writes must pass. The Smart Data Models ship with the server; administrators add or replace
//! schemas here. A type is named short ("WeatherObserved", by the core context) or by full IRI.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use haidang_core::hub::context::ActiveContext;
use haidang_core::hub::service::SchemaInfo;
use haidang_core::hub::{ErrorType, HubError};
use serde_json::{json, Value};

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A hub error in the console API's problem form.
pub fn hub_error(e: HubError) -> ApiError {
    let status = StatusCode::from_u16(e.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match e.kind {
        ErrorType::BadRequestData | ErrorType::InvalidRequest => "invalid_request",
        ErrorType::ResourceNotFound => "not_found",
        ErrorType::AlreadyExists => "conflict",
        ErrorType::Forbidden => "forbidden",
        ErrorType::Unauthenticated => "unauthenticated",
        ErrorType::TooManyResults => "too_many_results",
        ErrorType::OperationNotSupported => "operation_not_supported",
        ErrorType::LdContextNotAvailable => "context_not_available",
        ErrorType::InternalError => "internal",
    };
    ApiError::new(status, code, e.detail)
}

fn type_iri(name: &str) -> String {
    ActiveContext::core().expand(name)
}

/// Every entity type that has a schema, and where it comes from.
#[utoipa::path(get, path = "/api/v1/hub/schemas", tag = "hub",
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_schemas(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<SchemaInfo>>> {
    state.hub.list_schemas(&caller.subject).map(Json).map_err(hub_error)
}

/// The schema of one type.
#[utoipa::path(get, path = "/api/v1/hub/schemas/{type}", tag = "hub", params(("type" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get_schema(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let (schema, info) = state.hub.schema(&caller.subject, &type_iri(&name)).map_err(hub_error)?;
    Ok(Json(json!({"type": info.type_iri, "source": info.source, "schema": schema})))
}

/// Sets a type's schema (administrators). A schema that does not compile is refused, naming why.
#[utoipa::path(put, path = "/api/v1/hub/schemas/{type}", tag = "hub", params(("type" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 200, body = serde_json::Value),
              (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn put_schema(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(schema): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let iri = type_iri(&name);
    let created = state.hub.put_schema(&caller.subject, &iri, schema).await.map_err(hub_error)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({"type": iri, "source": "custom"}))))
}

/// Removes a custom schema; a shipped Smart Data Model applies again.
#[utoipa::path(delete, path = "/api/v1/hub/schemas/{type}", tag = "hub", params(("type" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete_schema(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.hub.delete_schema(&caller.subject, &type_iri(&name)).await.map_err(hub_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct PlacesQuery {
    /// Only this entity type (short name or IRI).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only entities lying in this unit (commune or province code).
    pub unit: Option<String>,
}

/// Located entities the caller may read, with their state now (live, alert, stale): the map's
/// stations layer.
#[utoipa::path(get, path = "/api/v1/hub/places", tag = "hub", params(PlacesQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn places(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<PlacesQuery>,
) -> ApiResult<Json<Value>> {
    let query = haidang_core::hub::EntityQuery {
        types: q.kind.filter(|k| !k.is_empty()).map(|k| vec![type_iri(&k)]),
        unit: q.unit.filter(|u| !u.is_empty()),
        limit: Some(state.hub.options().max_limit),
        ..Default::default()
    };
    let rows = crate::web::entities::place_rows(&state, &caller.subject, &query, caller.lang)
        .await
        .map_err(hub_error)?;
    Ok(Json(json!({"entities": rows})))
}
