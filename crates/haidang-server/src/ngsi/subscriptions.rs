//! Subscriptions (`/ngsi-ld/v1/subscriptions`): create, list, retrieve, update, delete. The
//! subscription keeps the context it was made in; its notifications are compacted with it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::hub::{ErrorType, HubError};
use serde_json::Value;

use super::entities::Params;
use super::{check_id, read_body, results_count, Answer, LdCaller, LdResult};
use crate::state::AppState;

pub async fn create(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    body: Bytes,
) -> LdResult<Response> {
    let body = read_body(&headers, &body)?;
    let id = state.subscriptions.create(&caller.subject, &body.value, body.context).await?;
    let location = format!("/ngsi-ld/v1/subscriptions/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

fn whole_number(p: &std::collections::HashMap<String, String>, name: &str) -> LdResult<Option<usize>> {
    p.get(name)
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| HubError::bad_data(format!("{name} '{s}' is not a whole number ≥ 0")).into())
        })
        .transpose()
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, None).await?;
    let max = state.hub.options().max_limit;
    let limit = whole_number(&p, "limit")?.unwrap_or(state.hub.options().default_limit);
    if limit > max {
        return Err(HubError::new(
            ErrorType::TooManyResults,
            format!("limit {limit} is more than the {max} this server answers at once"),
        )
        .into());
    }
    let offset = whole_number(&p, "offset")?.unwrap_or(0);
    let (page, count) = state.subscriptions.list(&caller.subject, limit, offset).await?;
    let counted = p.get("count").is_some_and(|c| c == "true").then_some(count);
    Ok(answer.respond(StatusCode::OK, Value::Array(page), &results_count(counted)))
}

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> LdResult<Response> {
    check_id(&id)?;
    let answer = Answer::for_request(&state, &headers, None).await?;
    let sub = state.subscriptions.get(&caller.subject, &id).await?;
    Ok(answer.respond(StatusCode::OK, sub, &[]))
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> LdResult<Response> {
    check_id(&id)?;
    let body = read_body(&headers, &body)?;
    state.subscriptions.update(&caller.subject, &id, &body.value).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    Path(id): Path<String>,
) -> LdResult<Response> {
    check_id(&id)?;
    state.subscriptions.delete(&caller.subject, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
