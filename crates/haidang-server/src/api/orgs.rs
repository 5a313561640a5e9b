//! Organisations.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use haidang_core::orgs::{NewOrganisation, Organisation};

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// All organisations.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", responses((status = 200, body = serde_json::Value)))]
pub async fn list_orgs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<Organisation>>> {
    state.orgs.list(&caller.subject).await.map(Json).map_err(|e| ApiError::from_core(e, caller.lang))
}

/// Creates an organisation (administrators).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn create_org(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewOrganisation>,
) -> ApiResult<(StatusCode, Json<Organisation>)> {
    let org =
        state.orgs.create(&caller.subject, body).await.map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation, by code or id.
#[utoipa::path(get, path = "/api/v1/orgs/{code}", tag = "orgs", params(("code" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get_org(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<Organisation>> {
    state.orgs.get(&caller.subject, &code).await.map(Json).map_err(|e| ApiError::from_core(e, caller.lang))
}
