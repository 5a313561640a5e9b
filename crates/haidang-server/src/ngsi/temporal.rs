//! The temporal API: an entity's history (`/temporal/entities/{id}`) and the histories of the
//! entities a query picks (`/temporal/entities`), as instances, as simplified values or
//! aggregated per period.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::hub::history::{parse_temporal, EntityHistory};
use haidang_core::hub::temporal::{self, TemporalFormat, TemporalInstance, TemporalParams};
use haidang_core::hub::HubError;
use serde_json::Value;

use super::entities::{entity_error, query_of_params, Params};
use super::{check_id, expand_entity, read_body, split_list, Answer, LdCaller, LdResult};
use crate::state::AppState;

/// The temporal parameters, each error naming the parameter as the standard spells it.
fn params_of(p: &HashMap<String, String>) -> LdResult<(TemporalParams, TemporalFormat, bool)> {
    let (params, format) = TemporalParams::from_query(p)
        .map_err(|e| HubError::bad_data(format!("{}: {}", e.parameter, e.message)))?;
    let sys_attrs = p.get("options").is_some_and(|o| split_list(o).iter().any(|w| w == "sysAttrs"));
    Ok((params, format, sys_attrs))
}

/// One entity's history in the caller's terms.
fn render(
    h: &EntityHistory,
    answer: &Answer,
    params: &TemporalParams,
    format: TemporalFormat,
    sys: bool,
) -> Value {
    let types: Vec<String> = h.entity.types.iter().map(|t| answer.ctx.compact(t)).collect();
    let instances: Vec<TemporalInstance> = h
        .instances
        .iter()
        .map(|i| TemporalInstance { attr: answer.ctx.compact(&i.attr), ..i.clone() })
        .collect();
    temporal::render(&h.entity.id, &types, &instances, format, params, sys)
}

pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
) -> LdResult<Response> {
    check_id(&id)?;
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let (params, format, sys) = params_of(&p)?;
    let attrs: Option<Vec<String>> =
        p.get("attrs").map(|a| split_list(a).iter().map(|a| answer.expand(a)).collect());
    let history = state.hub.history(&caller.subject, &id, attrs.as_deref(), &params).await?;
    Ok(answer.respond(StatusCode::OK, render(&history, &answer, &params, format, sys), &[]))
}

pub async fn query(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let (params, format, sys) = params_of(&p)?;
    let query = query_of_params(&p, &answer)?;
    let (found, count) = state.hub.history_query(&caller.subject, &query, &params).await?;
    let body: Vec<Value> = found.iter().map(|h| render(h, &answer, &params, format, sys)).collect();
    Ok(answer.respond(StatusCode::OK, Value::Array(body), &super::results_count(count)))
}

/// POST /temporal/entities: a temporal representation kept; the entity is created from its
/// newest instances when the hub does not have it yet (201), else its history grows (204).
pub async fn create(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    body: Bytes,
) -> LdResult<Response> {
    let body = read_body(&headers, &body)?;
    let entity = parse_temporal(&body.value, None).map_err(entity_error)?;
    let answer = Answer::for_request(&state, &headers, body.context).await?;
    let id = entity.id.clone();
    let entity = expand_entity(&entity, &answer.ctx);
    if state.hub.add_history(&caller.subject, entity, true, answer.ctx.clone()).await? {
        let location = format!("/ngsi-ld/v1/temporal/entities/{id}");
        Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// POST /temporal/entities/{id}/attrs: past instances added to an entity's history.
pub async fn add_attrs(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> LdResult<Response> {
    check_id(&id)?;
    let body = read_body(&headers, &body)?;
    let entity = parse_temporal(&body.value, Some(&id)).map_err(entity_error)?;
    if entity.attrs.is_empty() {
        return Err(HubError::bad_data("the body holds no attribute instances").into());
    }
    let answer = Answer::for_request(&state, &headers, body.context).await?;
    let entity = expand_entity(&entity, &answer.ctx);
    state.hub.add_history(&caller.subject, entity, false, answer.ctx.clone()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
