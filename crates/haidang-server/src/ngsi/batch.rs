//! Batch operations: many entities in one request, each with its own verdict. What the answer
//! lists as written is exactly what was committed (one transaction for all that passed).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::hub::entity::parse_entity;
use haidang_core::hub::ops::{EntityOp, OpOutcome};
use haidang_core::hub::{HubError, HubResult};
use serde_json::{json, Value};

use super::entities::{entity_error, Params};
use super::{check_id, expand_entity, problem_body, read_body, Answer, LdCaller, LdResult};
use crate::state::AppState;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Create,
    Upsert,
    Update,
    Delete,
}

/// The id an item names, for its verdict even when the item is broken.
fn item_id(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => other.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
    }
}

async fn run(
    state: Arc<AppState>,
    caller: crate::auth::Caller,
    headers: HeaderMap,
    options: Option<String>,
    body: Bytes,
    kind: Kind,
) -> LdResult<Response> {
    let body = read_body(&headers, &body)?;
    let Value::Array(items) = &body.value else {
        return Err(HubError::bad_data("a batch body is a JSON array").into());
    };
    if items.is_empty() {
        return Err(HubError::bad_data("the batch is empty").into());
    }
    let ld = super::media_type(&headers, header::CONTENT_TYPE).as_deref() == Some(super::LD_JSON);
    let option = |w: &str| options.as_deref().is_some_and(|o| o.split(',').any(|x| x == w));
    let shared = Answer::for_request(&state, &headers, if ld { None } else { body.context.clone() }).await?;
    // One verdict per item, in order: parse errors now, the writer's verdicts later.
    let mut verdicts: Vec<Option<HubResult<OpOutcome>>> = Vec::with_capacity(items.len());
    let mut ops = Vec::new();
    let mut slots = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let op = match kind {
            Kind::Delete => match item.as_str() {
                Some(id) => check_id(id)
                    .map(|_| (EntityOp::Delete(id.to_string()), shared.ctx.clone()))
                    .map_err(|e| e.0),
                None => {
                    Err(HubError::bad_data(format!("item {i}: a batch delete lists entity ids (strings)")))
                }
            },
            _ => {
                let parsed = parse_entity(item).map_err(entity_error);
                match parsed {
                    Err(e) => Err(e),
                    Ok(entity) => {
                        let ctx = match (ld, item.get("@context")) {
                            (false, _) => Ok(shared.ctx.clone()),
                            (true, Some(local)) => state.hub.active_context(Some(local)).await,
                            (true, None) => Err(HubError::bad_data(
                                "with application/ld+json every entity carries its @context",
                            )),
                        };
                        ctx.map(|ctx| {
                            let e = expand_entity(&entity, &ctx);
                            let op = match kind {
                                Kind::Create => EntityOp::Create(e),
                                Kind::Upsert => EntityOp::Upsert { entity: e, update: option("update") },
                                Kind::Update => {
                                    EntityOp::Append { entity: e, no_overwrite: option("noOverwrite") }
                                }
                                Kind::Delete => EntityOp::Delete(e.id),
                            };
                            (op, ctx)
                        })
                    }
                }
            }
        };
        match op {
            Ok(op) => {
                verdicts.push(None);
                slots.push(i);
                ops.push(op);
            }
            Err(e) => verdicts.push(Some(Err(e))),
        }
    }
    let results = state.hub.write_each(&caller.subject, "entity.batch", ops).await?;
    for (slot, result) in slots.into_iter().zip(results) {
        if let Some(v) = verdicts.get_mut(slot) {
            *v = Some(result);
        }
    }
    let mut success = Vec::new();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for (item, verdict) in items.iter().zip(verdicts) {
        let id = item_id(item);
        match verdict {
            Some(Ok(outcome)) => {
                if outcome == OpOutcome::Created {
                    created.push(id.clone());
                }
                success.push(id);
            }
            Some(Err(e)) => errors.push(json!({"entityId": id, "error": problem_body(&e)})),
            None => errors.push(json!({"entityId": id, "error": {"type": "https://uri.etsi.org/ngsi-ld/errors/InternalError", "title": "InternalError", "status": 500, "detail": "no verdict"}})),
        }
    }
    let json_answer = |status: StatusCode, body: Value| {
        (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    };
    if !errors.is_empty() {
        return Ok(json_answer(StatusCode::MULTI_STATUS, json!({"success": success, "errors": errors})));
    }
    Ok(match kind {
        Kind::Create => json_answer(StatusCode::CREATED, json!(success)),
        Kind::Upsert if !created.is_empty() => json_answer(StatusCode::CREATED, json!(created)),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    run(state, caller, headers, p.get("options").cloned(), body, Kind::Create).await
}

pub async fn upsert(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    run(state, caller, headers, p.get("options").cloned(), body, Kind::Upsert).await
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    run(state, caller, headers, p.get("options").cloned(), body, Kind::Update).await
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Query(p): Params,
    body: Bytes,
) -> LdResult<Response> {
    run(state, caller, headers, p.get("options").cloned(), body, Kind::Delete).await
}
