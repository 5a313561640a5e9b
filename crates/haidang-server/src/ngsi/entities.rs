//! Entities one at a time, and queries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::hub::entity::{parse_entity, parse_fragment, EntityError};
use haidang_core::hub::geoquery::GeoQuery;
use haidang_core::hub::ops::{EntityOp, OpOutcome};
use haidang_core::hub::query::Query as QExpr;
use haidang_core::hub::{EntityQuery, HubError, HubResult};
use serde_json::{json, Value};

use super::{check_id, expand_entity, read_body, split_list, Answer, Format, LdCaller, LdResult};
use crate::state::AppState;

pub type Params = Query<HashMap<String, String>>;

pub fn entity_error(e: EntityError) -> HubError {
    HubError::bad_data(e.to_string())
}

/// The first (only) result of a one-operation write.
fn single(results: Vec<HubResult<OpOutcome>>) -> LdResult<OpOutcome> {
    match results.into_iter().next() {
        Some(r) => Ok(r?),
        None => Err(HubError::new(haidang_core::hub::ErrorType::InternalError, "no result").into()),
    }
}

/// 204, or 207 with what was not updated (attribute updates and appends).
fn update_answer(outcome: OpOutcome, answer: &Answer) -> Response {
    match outcome {
        OpOutcome::Updated { updated, not_updated } if !not_updated.is_empty() => {
            let body = json!({
                "updated": updated.iter().map(|a| answer.ctx.compact(a)).collect::<Vec<_>>(),
                "notUpdated": not_updated
                    .iter()
                    .map(|n| json!({"attributeName": answer.ctx.compact(&n.attr), "reason": n.reason}))
                    .collect::<Vec<_>>(),
            });
            (StatusCode::MULTI_STATUS, [(header::CONTENT_TYPE, "application/json")], body.to_string())
                .into_response()
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    body: Bytes,
) -> LdResult<Response> {
    let body = read_body(&headers, &body)?;
    let entity = parse_entity(&body.value).map_err(entity_error)?;
    let answer = Answer::for_request(&state, &headers, body.context).await?;
    let id = entity.id.clone();
    let op = EntityOp::Create(expand_entity(&entity, &answer.ctx));
    single(state.hub.write(&caller.subject, "entity.create", vec![op], answer.ctx.clone()).await?)?;
    let location = format!("/ngsi-ld/v1/entities/{id}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
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
    let format = Format::from_params(&p)?;
    let entity = state.hub.get(&caller.subject, &id).await?;
    Ok(answer.respond(StatusCode::OK, format.render(&entity, &answer), &[]))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    Path(id): Path<String>,
) -> LdResult<Response> {
    check_id(&id)?;
    let ctx = haidang_core::hub::contexts::core_arc();
    single(state.hub.write(&caller.subject, "entity.delete", vec![EntityOp::Delete(id)], ctx).await?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A body for an entity already named by the URL: its id (when given) must match.
async fn fragment(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    id: &str,
) -> LdResult<(haidang_core::hub::entity::Entity, Answer)> {
    check_id(id)?;
    let body = read_body(headers, body)?;
    let e = parse_fragment(&body.value, id).map_err(entity_error)?;
    let answer = Answer::for_request(state, headers, body.context).await?;
    Ok((expand_entity(&e, &answer.ctx), answer))
}

pub async fn replace(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> LdResult<Response> {
    let (e, answer) = fragment(&state, &headers, &body, &id).await?;
    single(
        state.hub.write(&caller.subject, "entity.replace", vec![EntityOp::Replace(e)], answer.ctx).await?,
    )?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn merge(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> LdResult<Response> {
    let (e, answer) = fragment(&state, &headers, &body, &id).await?;
    single(state.hub.write(&caller.subject, "entity.update", vec![EntityOp::Merge(e)], answer.ctx).await?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn append(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    let (e, answer) = fragment(&state, &headers, &body, &id).await?;
    let no_overwrite = p.get("options").is_some_and(|o| o.split(',').any(|w| w == "noOverwrite"));
    let op = EntityOp::Append { entity: e, no_overwrite };
    let outcome =
        single(state.hub.write(&caller.subject, "entity.update", vec![op], answer.ctx.clone()).await?)?;
    Ok(update_answer(outcome, &answer))
}

pub async fn update_attrs(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> LdResult<Response> {
    let (e, answer) = fragment(&state, &headers, &body, &id).await?;
    let op = EntityOp::UpdateAttrs { entity: e, only: None };
    let outcome =
        single(state.hub.write(&caller.subject, "entity.update", vec![op], answer.ctx.clone()).await?)?;
    Ok(update_answer(outcome, &answer))
}

pub async fn update_attr(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path((id, attr)): Path<(String, String)>,
    body: Bytes,
) -> LdResult<Response> {
    check_id(&id)?;
    let mut body = read_body(&headers, &body)?;
    // The body is the attribute itself: wrap it under its name to parse it like any other (its
    // @context, with application/ld+json, is the request's, not a member).
    if let Value::Object(o) = &mut body.value {
        o.remove("@context");
    }
    let mut wrapped = serde_json::Map::new();
    wrapped.insert(attr.clone(), body.value);
    let e = parse_fragment(&Value::Object(wrapped), &id).map_err(entity_error)?;
    let answer = Answer::for_request(&state, &headers, body.context).await?;
    let only = Some(answer.expand(&attr));
    let op = EntityOp::UpdateAttrs { entity: expand_entity(&e, &answer.ctx), only };
    single(state.hub.write(&caller.subject, "entity.update", vec![op], answer.ctx).await?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete_attr(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path((id, attr)): Path<(String, String)>,
    Query(p): Params,
) -> LdResult<Response> {
    check_id(&id)?;
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let op = EntityOp::DeleteAttr {
        id,
        attr: answer.expand(&attr),
        dataset_id: p.get("datasetId").cloned(),
        all: p.get("deleteAll").is_some_and(|v| v == "true"),
    };
    single(state.hub.write(&caller.subject, "entity.update", vec![op], answer.ctx).await?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query parameters (from the query string, or from a POST /entityOperations/query body).
#[derive(Default)]
struct QueryParams {
    id: Option<String>,
    id_pattern: Option<String>,
    types: Option<String>,
    attrs: Option<String>,
    q: Option<String>,
    georel: Option<String>,
    geometry: Option<String>,
    coordinates: Option<Value>,
    geoproperty: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    count: bool,
}

fn build_query(p: QueryParams, answer: &Answer) -> LdResult<EntityQuery> {
    let mut query = EntityQuery {
        ids: p.id.as_deref().map(split_list),
        types: p.types.as_deref().map(|t| split_list(t).iter().map(|t| answer.expand(t)).collect()),
        attrs: p.attrs.as_deref().map(|a| split_list(a).iter().map(|a| answer.expand(a)).collect()),
        count: p.count,
        ..EntityQuery::default()
    };
    if let Some(ids) = &query.ids {
        for id in ids {
            check_id(id)?;
        }
    }
    if let Some(pattern) = &p.id_pattern {
        query.id_pattern =
            Some(regex::Regex::new(pattern).map_err(|e| {
                HubError::bad_data(format!("idPattern is not a valid regular expression: {e}"))
            })?);
    }
    if let Some(text) = &p.q {
        let parsed = QExpr::parse(text).map_err(|e| HubError::bad_data(format!("q: {e}")))?;
        query.q = Some(parsed.expand(&|n| answer.expand(n)));
    }
    if p.georel.is_some() || p.geometry.is_some() || p.coordinates.is_some() {
        let coordinates = p.coordinates.unwrap_or(Value::Null);
        let mut g = GeoQuery::parse(
            p.georel.as_deref().unwrap_or_default(),
            p.geometry.as_deref().unwrap_or_default(),
            &coordinates,
            p.geoproperty.as_deref(),
        )
        .map_err(|e| HubError::bad_data(e.to_string()))?;
        g.geoproperty = answer.expand(&g.geoproperty);
        query.geo = Some(g);
    }
    let number = |name: &str, v: &Option<String>| -> LdResult<Option<usize>> {
        v.as_deref()
            .map(|s| {
                s.parse::<usize>()
                    .map_err(|_| HubError::bad_data(format!("{name} '{s}' is not a whole number ≥ 0")).into())
            })
            .transpose()
    };
    query.limit = number("limit", &p.limit)?;
    query.offset = number("offset", &p.offset)?.unwrap_or(0);
    if query.ids.is_none()
        && query.id_pattern.is_none()
        && query.types.is_none()
        && query.attrs.is_none()
        && query.q.is_none()
        && query.geo.is_none()
    {
        return Err(HubError::bad_data(
            "a query needs at least one of type, id, idPattern, attrs, q or a geo-query",
        )
        .into());
    }
    Ok(query)
}

async fn run_query(
    state: &AppState,
    caller: &crate::auth::Caller,
    query: &EntityQuery,
    answer: &Answer,
    format: Format,
) -> LdResult<Response> {
    let found = state.hub.query(&caller.subject, query).await?;
    let body: Vec<Value> = found.entities.iter().map(|e| format.render(e, answer)).collect();
    Ok(answer.respond(StatusCode::OK, Value::Array(body), &super::results_count(found.count)))
}

pub async fn query(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let format = Format::from_params(&p)?;
    let query = query_of_params(&p, &answer)?;
    run_query(&state, &caller, &query, &answer, format).await
}

/// The entity query of a URL's parameters (GET /entities, GET /temporal/entities).
pub fn query_of_params(p: &HashMap<String, String>, answer: &Answer) -> LdResult<EntityQuery> {
    let coordinates = match p.get("coordinates") {
        Some(text) => {
            Some(GeoQuery::parse_coordinates_text(text).map_err(|e| HubError::bad_data(e.to_string()))?)
        }
        None => None,
    };
    let params = QueryParams {
        id: p.get("id").cloned(),
        id_pattern: p.get("idPattern").cloned(),
        types: p.get("type").cloned(),
        attrs: p.get("attrs").cloned(),
        q: p.get("q").cloned(),
        georel: p.get("georel").cloned(),
        geometry: p.get("geometry").cloned(),
        coordinates,
        geoproperty: p.get("geoproperty").cloned(),
        limit: p.get("limit").cloned(),
        offset: p.get("offset").cloned(),
        count: p.get("count").is_some_and(|c| c == "true"),
    };
    build_query(params, answer)
}

/// POST /entityOperations/query: the same query as a Query object in the body.
pub async fn query_post(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    let body = read_body(&headers, &body)?;
    let answer = Answer::for_request(&state, &headers, body.context).await?;
    let v = &body.value;
    if v.get("type").and_then(Value::as_str) != Some("Query") {
        return Err(HubError::bad_data("the body must be a Query object: {\"type\": \"Query\", ...}").into());
    }
    let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
    let list_or_text = |name: &str| match v.get(name) {
        Some(Value::Array(items)) => {
            Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
        }
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let entities = v.get("entities").and_then(Value::as_array);
    let first = entities.and_then(|e| e.first());
    // Several selectors are a union; with types alone that is a type list, with ids or patterns
    // it is not what one query here can say, so it is refused rather than half answered.
    if entities.is_some_and(|es| {
        es.len() > 1 && es.iter().any(|e| e.get("id").is_some() || e.get("idPattern").is_some())
    }) {
        return Err(HubError::new(
            haidang_core::hub::ErrorType::OperationNotSupported,
            "several entity selectors with id or idPattern: send one query per selector",
        )
        .into());
    }
    let geo = v.get("geoQ");
    let format = Format::parse(
        p.get("options").map(String::as_str),
        p.get("format").map(String::as_str),
        list_or_text("attrs").as_deref(),
        text("lang").as_deref(),
    )?;
    let params = QueryParams {
        id: first.and_then(|f| f.get("id")).and_then(Value::as_str).map(str::to_string),
        id_pattern: first.and_then(|f| f.get("idPattern")).and_then(Value::as_str).map(str::to_string),
        types: entities
            .map(|es| {
                es.iter().filter_map(|e| e.get("type").and_then(Value::as_str)).collect::<Vec<_>>().join(",")
            })
            .filter(|t| !t.is_empty()),
        attrs: list_or_text("attrs"),
        q: text("q"),
        georel: geo.and_then(|g| g.get("georel")).and_then(Value::as_str).map(str::to_string),
        geometry: geo.and_then(|g| g.get("geometry")).and_then(Value::as_str).map(str::to_string),
        coordinates: geo.and_then(|g| g.get("coordinates")).map(|c| match c {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        }),
        geoproperty: geo.and_then(|g| g.get("geoproperty")).and_then(Value::as_str).map(str::to_string),
        limit: p.get("limit").cloned(),
        offset: p.get("offset").cloned(),
        count: p.get("count").is_some_and(|c| c == "true"),
    };
    let query = build_query(params, &answer)?;
    run_query(&state, &caller, &query, &answer, format).await
}
