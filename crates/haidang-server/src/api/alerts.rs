//! Monitoring rules, alerts and the live stream for the console. A rule that cannot be evaluated
//! (an unknown attribute, a malformed condition) is a bad request (400) naming the field; a step
//! the process does not allow is a conflict (409).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::accounts::Subject;
use haidang_core::alerts::{
    AlertAction, AlertFilter, AlertService, AlertState, LiveEvent, Rule, StepRequest,
};
use haidang_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::{time_param, JsonBody};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// A rule refused is a bad request: the body is well-formed JSON that says something wrong.
fn rule_err(lang: Lang) -> impl Fn(CoreError) -> ApiError {
    move |e| {
        let validation = matches!(e, CoreError::Validation { .. });
        let mut err = ApiError::from_core(e, lang);
        if validation {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    }
}

/// A rule from a request body: a member of the wrong shape (an unknown condition kind, a word
/// where a number goes) is named in the refusal.
fn rule_of(body: Value) -> Result<(Rule, Option<i64>), CoreError> {
    let version = body.get("version").and_then(Value::as_i64);
    let rule =
        serde_json::from_value::<Rule>(body).map_err(|e| CoreError::validation("rule", e.to_string()))?;
    Ok((rule, version))
}

/// The monitoring rules in force.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alerts",
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_rules(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let rules = state.alerts.rules(&caller.subject).map_err(rule_err(caller.lang))?;
    Ok(Json(json!(rules)))
}

/// A new rule, in force as soon as it is saved (entities already past its line raise at once).
#[utoipa::path(post, path = "/api/v1/alert-rules", tag = "alerts", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)))]
pub async fn create_rule(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let (rule, _) = rule_of(body).map_err(rule_err(caller.lang))?;
    let saved = state.alerts.save_rule(&caller.subject, rule, None).await.map_err(rule_err(caller.lang))?;
    Ok((StatusCode::CREATED, Json(json!(saved))).into_response())
}

#[utoipa::path(get, path = "/api/v1/alert-rules/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get_rule(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let rule = state.alerts.rule(&caller.subject, &id).map_err(rule_err(caller.lang))?;
    Ok(Json(json!(rule)))
}

/// Replaces a rule; the body carries the `version` it was read at (409 when it moved since).
#[utoipa::path(put, path = "/api/v1/alert-rules/{id}", tag = "alerts", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)))]
pub async fn put_rule(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let (mut rule, version) = rule_of(body).map_err(rule_err(caller.lang))?;
    let version = version
        .ok_or_else(|| CoreError::validation("version", "the version the rule was read at is required"))
        .map_err(rule_err(caller.lang))?;
    rule.id = id;
    let saved =
        state.alerts.save_rule(&caller.subject, rule, Some(version)).await.map_err(rule_err(caller.lang))?;
    Ok(Json(json!(saved)))
}

#[utoipa::path(delete, path = "/api/v1/alert-rules/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn delete_rule(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.alerts.delete_rule(&caller.subject, &id).await.map_err(rule_err(caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams, Default)]
pub struct AlertQuery {
    /// States, comma separated (new, acknowledged, verified, forwarded, incident, dismissed,
    /// resolved); "open" for all but the last two.
    pub state: Option<String>,
    pub rule: Option<String>,
    /// Raised at or after (RFC 3339).
    pub from: Option<String>,
    /// Raised before (RFC 3339).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn filter_of(q: &AlertQuery) -> Result<AlertFilter, CoreError> {
    let mut f = AlertFilter {
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0).max(0),
        rule_id: q.rule.clone().filter(|r| !r.is_empty()),
        ..AlertFilter::default()
    };
    for s in q.state.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        if s == "open" {
            f.states.extend(AlertState::ALL.into_iter().filter(AlertState::is_open));
        } else {
            f.states.push(
                AlertState::parse(s)
                    .ok_or_else(|| CoreError::validation("state", format!("no state '{s}'")))?,
            );
        }
    }
    f.raised_from = q.from.as_deref().map(|t| time_param("from", t)).transpose()?;
    f.raised_to = q.to.as_deref().map(|t| time_param("to", t)).transpose()?;
    Ok(f)
}

/// Alerts, newest first: the centre sees all, an agency those forwarded to it.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> ApiResult<Json<Value>> {
    let filter = filter_of(&q).map_err(|e| ApiError::from_core(e, caller.lang))?;
    let alerts =
        state.alerts.list(&caller.subject, filter).await.map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(json!(alerts)))
}

/// One alert (by id or number, "A-12") with its steps, the steps open to it now, and who was
/// told of it (each attempt with its outcome).
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let err = |e| ApiError::from_core(e, caller.lang);
    let alert = state.alerts.get(&caller.subject, &id).await.map_err(err)?;
    let steps = state.alerts.steps(&caller.subject, &alert.id).await.map_err(err)?;
    let notices = state.alerts.notices(&caller.subject, &alert.id).await.map_err(err)?;
    let allowed: Vec<&str> = AlertAction::allowed(alert.state).iter().map(AlertAction::as_str).collect();
    Ok(Json(json!({ "alert": alert, "steps": steps, "allowed": allowed, "notices": notices })))
}

/// Takes a step: acknowledge, verify, dismiss (with the reason), forward (org, due),
/// incident (incident_id), resolve, note. A step out of order answers 409.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/steps", tag = "alerts", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn step(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<StepRequest>,
) -> ApiResult<Json<Value>> {
    let alert = state
        .alerts
        .step(&caller.subject, &id, request)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(json!(alert)))
}

#[derive(Deserialize, IntoParams, Default)]
pub struct LiveQuery {
    /// Resume after this event (as the Last-Event-ID header does); without either, from now.
    pub after: Option<i64>,
}

/// Journal rows read at once when a client catches up.
const CATCH_UP: i64 = 1000;

/// What the stream has left to send one client. `last` is the newest event considered (sent,
/// or not the client's to see): the journal numbers every event, so a gap after it means an
/// event was published out of order or missed, and the journal is read to fill it.
struct Feed {
    svc: Arc<AlertService>,
    subject: Subject,
    rx: tokio::sync::broadcast::Receiver<LiveEvent>,
    queue: VecDeque<LiveEvent>,
    last: i64,
    /// The journal had more than one read gave.
    behind: bool,
    /// A first event naming where the stream starts, so a reconnecting browser resumes there.
    ready: Option<i64>,
}

impl Feed {
    async fn read_journal(&mut self) -> Option<()> {
        let rows = self.svc.repo().live_events(self.last, CATCH_UP).await.ok()?;
        self.behind = rows.len() as i64 >= CATCH_UP;
        let rest = std::mem::take(&mut self.queue);
        self.queue = rows.into_iter().chain(rest).collect();
        Some(())
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        if let Some(head) = self.ready.take() {
            return Some((Ok(Event::default().id(head.to_string()).event("ready").data("{}")), self));
        }
        loop {
            if let Some(e) = self.queue.pop_front() {
                if e.seq <= self.last {
                    continue;
                }
                if e.seq > self.last + 1 {
                    self.queue.push_front(e);
                    self.read_journal().await?;
                    match self.queue.front() {
                        // The journal has nothing between: go on from the event in hand.
                        Some(first) if first.seq > self.last + 1 => {
                            self.last = first.seq - 1;
                        }
                        _ => {}
                    }
                    continue;
                }
                self.last = e.seq;
                if !AlertService::may_see_event(&self.subject, &e) {
                    continue;
                }
                let event =
                    Event::default().id(e.seq.to_string()).event(e.kind.clone()).json_data(&e).ok()?;
                return Some((Ok(event), self));
            }
            if self.behind {
                self.read_journal().await?;
                continue;
            }
            match self.rx.recv().await {
                Ok(e) => self.queue.push_back(e),
                // Fell behind the channel: the journal has what was missed.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.read_journal().await?,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The live stream (server-sent events) of alerts and their steps that the caller may see. A
/// client that reconnects with `Last-Event-ID` receives what it missed, then the live events.
#[utoipa::path(get, path = "/api/v1/live", tag = "alerts", params(LiveQuery),
    responses((status = 200, description = "text/event-stream")))]
pub async fn live(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
) -> ApiResult<Response> {
    let err = |e| ApiError::from_core(e, caller.lang);
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after);
    caller
        .subject
        .require(haidang_core::accounts::Action::ViewAlerts, Some(&caller.subject.org_id))
        .map_err(err)?;
    // Subscribed before the journal is read, so nothing falls between the two.
    let rx = state.alerts.subscribe();
    let mut feed = Feed {
        svc: state.alerts.clone(),
        subject: caller.subject.clone(),
        rx,
        queue: VecDeque::new(),
        last: 0,
        behind: false,
        ready: None,
    };
    match resume {
        Some(after) => {
            feed.last = after.max(0);
            feed.read_journal().await.ok_or_else(|| err(CoreError::Storage("live journal".into())))?;
        }
        None => {
            let head = state.alerts.repo().live_head().await.map_err(err)?;
            feed.last = head;
            feed.ready = Some(head);
        }
    }
    let stream = futures_util::stream::unfold(feed, Feed::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}
