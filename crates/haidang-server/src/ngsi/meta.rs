//! What the hub holds: entity types, attributes, and the JSON-LD contexts it serves.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::hub::context::is_core_url;
use haidang_core::hub::contexts::{Contexts, HeldContext};
use haidang_core::hub::{ErrorType, HubError};
use serde_json::{json, Value};

use super::entities::Params;
use super::{read_body, Answer, LdCaller, LdResult, CORE_URL};
use crate::state::AppState;

fn details(p: &Params) -> bool {
    p.get("details").is_some_and(|d| d == "true")
}

pub async fn types(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    p: Params,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let types = state.hub.types(&caller.subject)?;
    let body = if details(&p) {
        Value::Array(
            types
                .iter()
                .map(|t| {
                    json!({"id": t.name, "type": "EntityType", "typeName": answer.ctx.compact(&t.name),
                           "attributeNames": t.attrs.iter().map(|a| answer.ctx.compact(a)).collect::<Vec<_>>()})
                })
                .collect(),
        )
    } else {
        json!({
            "id": format!("urn:ngsi-ld:EntityTypeList:{}", uuid::Uuid::new_v4()),
            "type": "EntityTypeList",
            "typeList": types.iter().map(|t| answer.ctx.compact(&t.name)).collect::<Vec<_>>(),
        })
    };
    Ok(answer.respond(StatusCode::OK, body, &[]))
}

pub async fn type_info(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let iri = answer.expand(&name);
    let types = state.hub.types(&caller.subject)?;
    let t = types.iter().find(|t| t.name == iri).ok_or_else(|| {
        HubError::new(ErrorType::ResourceNotFound, format!("no entity has the type {name}"))
    })?;
    let attrs = state.hub.attributes(&caller.subject)?;
    let details: Vec<Value> = attrs
        .iter()
        .filter(|a| t.attrs.contains(&a.name))
        .map(|a| json!({"id": a.name, "type": "Attribute", "attributeName": answer.ctx.compact(&a.name)}))
        .collect();
    let body = json!({
        "id": t.name, "type": "EntityTypeInfo", "typeName": answer.ctx.compact(&t.name),
        "entityCount": t.count, "attributeDetails": details,
    });
    Ok(answer.respond(StatusCode::OK, body, &[]))
}

pub async fn attributes(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    p: Params,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let attrs = state.hub.attributes(&caller.subject)?;
    let body = if details(&p) {
        Value::Array(attrs.iter().map(|a| attribute_body(a, &answer)).collect())
    } else {
        json!({
            "id": format!("urn:ngsi-ld:AttributeList:{}", uuid::Uuid::new_v4()),
            "type": "AttributeList",
            "attributeList": attrs.iter().map(|a| answer.ctx.compact(&a.name)).collect::<Vec<_>>(),
        })
    };
    Ok(answer.respond(StatusCode::OK, body, &[]))
}

fn attribute_body(a: &haidang_core::hub::index::AttributeInfo, answer: &Answer) -> Value {
    json!({
        "id": a.name, "type": "Attribute", "attributeName": answer.ctx.compact(&a.name),
        "attributeCount": a.count,
        "typeNames": a.types.iter().map(|t| answer.ctx.compact(t)).collect::<Vec<_>>(),
    })
}

pub async fn attribute_info(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> LdResult<Response> {
    let answer = Answer::for_request(&state, &headers, super::link_context(&headers)?).await?;
    let iri = answer.expand(&name);
    let attrs = state.hub.attributes(&caller.subject)?;
    let a = attrs.iter().find(|a| a.name == iri).ok_or_else(|| {
        HubError::new(ErrorType::ResourceNotFound, format!("no entity has the attribute {name}"))
    })?;
    Ok(answer.respond(StatusCode::OK, attribute_body(a, &answer), &[]))
}

/// This server's address for the URL of a hosted context: the configured public URL, never the
/// request's Host header (which a caller chooses).
fn base_url(state: &AppState) -> String {
    if !state.config.server.public_url.is_empty() {
        return state.config.server.public_url.trim_end_matches('/').to_string();
    }
    let scheme = if state.config.tls_enabled() { "https" } else { "http" };
    format!("{scheme}://{}", state.config.server.listen)
}

pub async fn add_context(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    headers: HeaderMap,
    body: Bytes,
) -> LdResult<Response> {
    let body = read_body(&headers, &body).or_else(|e| {
        // A context document is JSON-LD by nature: its @context is its content, not a framing.
        if e.0.kind == ErrorType::BadRequestData {
            serde_json::from_slice::<Value>(&body)
                .map(|value| super::LdBody { value, context: None })
                .map_err(|_| e)
        } else {
            Err(e)
        }
    })?;
    let held = state.hub.add_context(&caller.subject, body.value, &base_url(&state)).await?;
    let location = format!("/ngsi-ld/v1/jsonldContexts/{}", held.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

fn context_summary(h: &HeldContext) -> Value {
    json!({
        "URL": h.url, "localId": h.id, "kind": h.kind,
        "createdAt": h.created_at.to_string(),
    })
}

pub async fn list_contexts(
    State(state): State<Arc<AppState>>,
    LdCaller(_caller): LdCaller,
    p: Params,
) -> LdResult<Response> {
    let held = state.hub.contexts.list();
    let core = json!({"URL": CORE_URL, "localId": "core", "kind": "Cached"});
    let body = if details(&p) {
        let mut all = vec![core];
        all.extend(held.iter().map(context_summary));
        Value::Array(all)
    } else {
        let mut urls = vec![Value::String(CORE_URL.into())];
        urls.extend(held.iter().map(|h| Value::String(h.url.clone())));
        Value::Array(urls)
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// The context document itself; `core` (or a core URL) is the embedded core context. Readable
/// without signing in: JSON-LD processors fetch contexts anonymously.
pub async fn get_context(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> LdResult<Response> {
    let doc = if id == "core" || is_core_url(&id) {
        Contexts::core_document().to_string()
    } else {
        let held = state
            .hub
            .contexts
            .get(&id)
            .ok_or_else(|| HubError::new(ErrorType::ResourceNotFound, format!("no context {id}")))?;
        held.document.to_string()
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, super::LD_JSON)], doc).into_response())
}

pub async fn delete_context(
    State(state): State<Arc<AppState>>,
    LdCaller(caller): LdCaller,
    Path(id): Path<String>,
) -> LdResult<Response> {
    if id == "core" {
        return Err(HubError::bad_data("the core context cannot be deleted").into());
    }
    state.hub.delete_context(&caller.subject, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
