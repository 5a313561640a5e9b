//! The NGSI-LD API at `/ngsi-ld/v1` (ETSI GS CIM 009 v1.8): entities, queries, batch operations,
//! types, attributes and JSON-LD contexts. It follows the standard's rules rather than the console
//! API's: payloads in `application/json` (context in a Link header) or `application/ld+json`
//! (context in the body), errors as the standard's ProblemDetails types.
//!
//! Its reference is ETSI's own OpenAPI document, so these routes are not in ours.

mod batch;
mod entities;
mod meta;
mod subscriptions;
mod temporal;

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use haidang_core::hub::context::ActiveContext;
use haidang_core::hub::entity::{Entity, Render};
use haidang_core::hub::{ErrorType, HubError};
use serde_json::{Map, Value};

use crate::state::AppState;

pub const LD_JSON: &str = "application/ld+json";
const UNSUPPORTED_MEDIA: &str = "Content-Type";
const CONTEXT_REL: &str = "http://www.w3.org/ns/json-ld#context";
/// The core context URL answers name when the caller gave none.
pub use haidang_core::hub::context::CORE_URL;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ngsi-ld/v1/entities", post(entities::create).get(entities::query))
        .route(
            "/ngsi-ld/v1/entities/{id}",
            get(entities::retrieve).delete(entities::delete).put(entities::replace).patch(entities::merge),
        )
        .route("/ngsi-ld/v1/entities/{id}/attrs", post(entities::append).patch(entities::update_attrs))
        .route(
            "/ngsi-ld/v1/entities/{id}/attrs/{attr}",
            axum::routing::patch(entities::update_attr).delete(entities::delete_attr),
        )
        .route("/ngsi-ld/v1/entityOperations/create", post(batch::create))
        .route("/ngsi-ld/v1/entityOperations/upsert", post(batch::upsert))
        .route("/ngsi-ld/v1/entityOperations/update", post(batch::update))
        .route("/ngsi-ld/v1/entityOperations/delete", post(batch::delete))
        .route("/ngsi-ld/v1/entityOperations/query", post(entities::query_post))
        .route("/ngsi-ld/v1/temporal/entities", get(temporal::query).post(temporal::create))
        .route("/ngsi-ld/v1/temporal/entities/{id}", get(temporal::retrieve))
        .route("/ngsi-ld/v1/temporal/entities/{id}/attrs", post(temporal::add_attrs))
        .route("/ngsi-ld/v1/subscriptions", post(subscriptions::create).get(subscriptions::list))
        .route(
            "/ngsi-ld/v1/subscriptions/{id}",
            get(subscriptions::retrieve).patch(subscriptions::update).delete(subscriptions::delete),
        )
        .route("/ngsi-ld/v1/types", get(meta::types))
        .route("/ngsi-ld/v1/types/{type}", get(meta::type_info))
        .route("/ngsi-ld/v1/attributes", get(meta::attributes))
        .route("/ngsi-ld/v1/attributes/{attr}", get(meta::attribute_info))
        .route("/ngsi-ld/v1/jsonldContexts", post(meta::add_context).get(meta::list_contexts))
        .route("/ngsi-ld/v1/jsonldContexts/{id}", get(meta::get_context).delete(meta::delete_context))
        .route_layer(axum::middleware::from_fn(media_type_first))
}

/// A body in a media type the API does not take is 415 before anything else is looked at
/// (signing in included), as the standard orders it.
async fn media_type_first(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let has_body = matches!(
        *req.method(),
        axum::http::Method::POST | axum::http::Method::PATCH | axum::http::Method::PUT
    );
    if has_body {
        let ct = media_type(req.headers(), header::CONTENT_TYPE);
        if !matches!(ct.as_deref(), Some("application/json") | Some(LD_JSON)) {
            return LdError(HubError::invalid(format!(
                "{UNSUPPORTED_MEDIA} {} is not supported: send application/json or application/ld+json",
                ct.as_deref().unwrap_or("(none)")
            )))
            .into_response();
        }
    }
    next.run(req).await
}

/// Fetches contexts over HTTP(S) for the hosts the configuration allows (the hub checks the host).
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    pub fn new() -> Result<HttpFetcher, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpFetcher { client })
    }
}

#[async_trait::async_trait]
impl haidang_core::hub::contexts::ContextFetcher for HttpFetcher {
    async fn fetch(&self, url: &str) -> Result<Value, String> {
        let res = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/ld+json, application/json")
            .send()
            .await
            .map_err(|e| format!("cannot fetch it: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("fetching it answered {}", res.status()));
        }
        // A context is a few kilobytes; a host that sends more is not sending a context.
        const LIMIT: usize = 1024 * 1024;
        if res.content_length().is_some_and(|n| n > LIMIT as u64) {
            return Err(format!("it is larger than {LIMIT} bytes"));
        }
        let mut body = Vec::new();
        let mut res = res;
        while let Some(chunk) = res.chunk().await.map_err(|e| format!("cannot read it: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > LIMIT {
                return Err(format!("it is larger than {LIMIT} bytes"));
            }
        }
        serde_json::from_slice(&body).map_err(|e| format!("it is not JSON: {e}"))
    }
}

/// An NGSI-LD error answered as the standard's ProblemDetails.
pub struct LdError(pub HubError);

impl From<HubError> for LdError {
    fn from(e: HubError) -> Self {
        LdError(e)
    }
}

impl From<crate::error::ApiError> for LdError {
    fn from(e: crate::error::ApiError) -> Self {
        let kind = match e.status {
            StatusCode::UNAUTHORIZED => ErrorType::Unauthenticated,
            StatusCode::FORBIDDEN => ErrorType::Forbidden,
            StatusCode::NOT_FOUND => ErrorType::ResourceNotFound,
            s if s.is_server_error() => ErrorType::InternalError,
            _ => ErrorType::BadRequestData,
        };
        LdError(HubError::new(kind, e.detail))
    }
}

pub fn problem_body(e: &HubError) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(e.kind.uri()));
    m.insert("title".into(), Value::String(e.kind.name().into()));
    m.insert("status".into(), Value::from(e.kind.status()));
    m.insert("detail".into(), Value::String(e.detail.clone()));
    if !e.violations.is_empty() {
        m.insert("violations".into(), serde_json::to_value(&e.violations).unwrap_or_default());
    }
    Value::Object(m)
}

impl IntoResponse for LdError {
    fn into_response(self) -> Response {
        let mut status =
            StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // The standard answers a body in an unsupported media type with 415.
        if self.0.kind == ErrorType::InvalidRequest && self.0.detail.starts_with(UNSUPPORTED_MEDIA) {
            status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        }
        let body = serde_json::to_vec(&problem_body(&self.0)).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

pub type LdResult<T> = Result<T, LdError>;

/// A signed-in caller (session or token), refused in NGSI-LD's error form.
pub struct LdCaller(pub crate::auth::Caller);

impl axum::extract::FromRequestParts<Arc<AppState>> for LdCaller {
    type Rejection = LdError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        crate::auth::Caller::from_request_parts(parts, state).await.map(LdCaller).map_err(LdError::from)
    }
}

pub(super) fn media_type(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// The context a Link header names, if any.
pub(super) fn link_context(headers: &HeaderMap) -> LdResult<Option<Value>> {
    let mut found = None;
    for value in headers.get_all(header::LINK) {
        let text = value.to_str().map_err(|_| HubError::bad_data("the Link header is not text"))?;
        for link in text.split(',') {
            if !link.contains(CONTEXT_REL) {
                continue;
            }
            let url = link
                .trim()
                .strip_prefix('<')
                .and_then(|rest| rest.split_once('>'))
                .map(|(url, _)| url.to_string())
                .ok_or_else(|| {
                    HubError::bad_data(format!("the Link header '{}' has no <URL>", link.trim()))
                })?;
            if found.is_some() {
                return Err(HubError::bad_data("more than one JSON-LD context in Link headers").into());
            }
            found = Some(Value::String(url));
        }
    }
    Ok(found)
}

/// The parsed body and the @context that applies to it.
pub struct LdBody {
    pub value: Value,
    pub context: Option<Value>,
}

/// Checks the content type and parses the body; invalid JSON is named by line and column.
pub fn read_body(headers: &HeaderMap, bytes: &[u8]) -> LdResult<LdBody> {
    let ct = media_type(headers, header::CONTENT_TYPE);
    let ld = match ct.as_deref() {
        Some("application/json") => false,
        Some(LD_JSON) => true,
        other => {
            return Err(HubError::new(
                ErrorType::InvalidRequest,
                format!(
                    "{UNSUPPORTED_MEDIA} {} is not supported: send application/json or application/ld+json",
                    other.unwrap_or("(none)")
                ),
            )
            .into())
        }
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        HubError::invalid(format!(
            "the body is not valid JSON: line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let link = link_context(headers)?;
    let in_body = |v: &Value| match v {
        Value::Object(o) => o.get("@context").cloned(),
        Value::Array(items) => items.iter().find_map(|i| i.get("@context").cloned()),
        _ => None,
    };
    let context = if ld {
        if link.is_some() {
            return Err(HubError::bad_data(
                "with application/ld+json the @context goes in the body, not a Link header",
            )
            .into());
        }
        in_body(&value)
    } else {
        if in_body(&value).is_some() {
            return Err(HubError::bad_data(
                "with application/json the @context goes in a Link header; send application/ld+json to put it in the body",
            )
            .into());
        }
        link
    };
    Ok(LdBody { value, context })
}

/// How the caller wants answers: the context to compact with and the media type.
pub struct Answer {
    pub ctx: Arc<ActiveContext>,
    /// What to name as the context: the caller's (a URL or the inline value) or the core URL.
    pub context: Value,
    pub ld: bool,
}

impl Answer {
    pub async fn for_request(
        state: &AppState,
        headers: &HeaderMap,
        local: Option<Value>,
    ) -> LdResult<Answer> {
        let ctx = state.hub.active_context(local.as_ref()).await?;
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
        let ld = accept.contains(LD_JSON);
        Ok(Answer { ctx, context: local.unwrap_or_else(|| Value::String(CORE_URL.into())), ld })
    }

    pub fn expand(&self, name: &str) -> String {
        self.ctx.expand(name)
    }

    /// A JSON answer: with application/ld+json the context rides in the body (in each entity of
    /// a list), else in a Link header when it is a URL.
    pub fn respond(
        &self,
        status: StatusCode,
        mut body: Value,
        extra: &[(header::HeaderName, String)],
    ) -> Response {
        if self.ld {
            match &mut body {
                Value::Object(o) => {
                    o.insert("@context".into(), self.context.clone());
                }
                Value::Array(items) => items.iter_mut().for_each(|i| {
                    if let Value::Object(o) = i {
                        o.insert("@context".into(), self.context.clone());
                    }
                }),
                _ => {}
            }
        }
        let mut res = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if self.ld { LD_JSON } else { "application/json" }),
        );
        if !self.ld {
            if let Some(url) = self.context.as_str() {
                if let Ok(v) =
                    HeaderValue::from_str(&format!("<{url}>; rel=\"{CONTEXT_REL}\"; type=\"{LD_JSON}\""))
                {
                    h.insert(header::LINK, v);
                }
            }
        }
        for (name, value) in extra {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name.clone(), v);
            }
        }
        res
    }
}

/// The representation options of a retrieve or query.
#[derive(Debug, Clone, Default)]
pub struct Format {
    pub key_values: bool,
    pub concise: bool,
    pub sys_attrs: bool,
    pub lang: Option<String>,
    /// Short names as the caller wrote them.
    pub attrs: Option<Vec<String>>,
}

impl Format {
    pub fn parse(
        options: Option<&str>,
        format: Option<&str>,
        attrs: Option<&str>,
        lang: Option<&str>,
    ) -> LdResult<Format> {
        let mut f = Format { lang: lang.map(str::to_string), ..Format::default() };
        let words = options.into_iter().chain(format).flat_map(|s| s.split(','));
        for word in words.map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "keyValues" | "simplified" => f.key_values = true,
                "concise" => f.concise = true,
                "normalized" => {}
                "sysAttrs" => f.sys_attrs = true,
                other => {
                    return Err(HubError::bad_data(format!(
                    "options: '{other}' is not one of keyValues, simplified, concise, normalized, sysAttrs"
                ))
                    .into())
                }
            }
        }
        if f.key_values && f.concise {
            return Err(HubError::bad_data("options: keyValues and concise exclude each other").into());
        }
        f.attrs = attrs.map(split_list).filter(|a| !a.is_empty());
        Ok(f)
    }

    /// From a retrieve's or a query's query string.
    pub fn from_params(p: &std::collections::HashMap<String, String>) -> LdResult<Format> {
        let get = |k: &str| p.get(k).map(String::as_str);
        Format::parse(get("options"), get("format"), get("attrs"), get("lang"))
    }

    /// The entity (expanded names) in the caller's terms and form.
    pub fn render(&self, entity: &Entity, answer: &Answer) -> Value {
        let compact = entity.map_names(&|n| answer.ctx.compact(n));
        let render = Render { attrs: self.attrs.as_deref(), sys_attrs: self.sys_attrs };
        let mut out = if self.key_values {
            compact.render_key_values(render, self.lang.as_deref())
        } else if self.concise {
            compact.render_concise(render)
        } else {
            compact.render_normalized(render)
        };
        if let (Some(lang), false) = (&self.lang, self.key_values) {
            pick_languages(&mut out, lang);
        }
        out
    }
}

/// With `lang`, a LanguageProperty is answered as a Property holding that language's text.
fn pick_languages(entity: &mut Value, lang: &str) {
    let Value::Object(o) = entity else { return };
    for attr in o.values_mut() {
        let instances: Vec<&mut Value> = match attr {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for i in instances {
            let Value::Object(m) = i else { continue };
            if let Some(map) = m.remove("languageMap") {
                m.insert("value".into(), haidang_core::hub::entity::pick_language(&map, lang));
                m.insert("lang".into(), Value::String(lang.to_string()));
                if m.contains_key("type") {
                    m.insert("type".into(), Value::String("Property".into()));
                }
            }
        }
    }
}

/// The `NGSILD-Results-Count` header of a list answer, when the caller asked for the count.
pub fn results_count(count: Option<usize>) -> Vec<(header::HeaderName, String)> {
    count
        .map(|n| vec![(header::HeaderName::from_static("ngsild-results-count"), n.to_string())])
        .unwrap_or_default()
}

pub fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// An entity id from a URL path must be a URI.
pub fn check_id(id: &str) -> LdResult<()> {
    if haidang_core::hub::entity::is_uri(id) {
        Ok(())
    } else {
        Err(HubError::bad_data(format!(
            "'{id}' is not a URI; entity ids are URIs such as urn:ngsi-ld:Type:123"
        ))
        .into())
    }
}

/// Names from a payload to the store's IRIs, type and attribute alike.
pub fn expand_entity(e: &Entity, ctx: &ActiveContext) -> Entity {
    e.map_names(&|n| ctx.expand(n))
}
