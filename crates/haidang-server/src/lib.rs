//! The HTTP side of Hải Đăng: the console JSON API, the web console, operations endpoints, and
//! `launch`, which serves them on a listener until told to stop (so tests run many servers).

pub mod api;
pub mod auth;
pub mod config;
pub mod connectors;
pub mod error;
mod events;
pub mod forms;
pub mod i18n;
pub mod indicator_files;
pub mod jobs;
pub mod limits;
pub mod mailer;
pub mod messages;
pub mod ngsi;
pub mod notify;
pub mod open311;
mod ops;
pub mod report_files;
pub mod state;
pub(crate) mod web;

pub(crate) use api::audit as api_audit;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use haidang_core::CoreResult;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use ops::metrics_handle;
use state::AppState;

/// Builds the whole application router.
pub fn app(state: Arc<AppState>) -> Router {
    let (api_router, openapi) = api::router();
    let openapi = Arc::new(openapi);
    let body_limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs);
    Router::new()
        .merge(api_router)
        .merge(ngsi::router())
        .merge(open311::handlers::router())
        .merge(api::warnings::cap_router())
        .merge(web::router())
        .merge(ops::router(openapi))
        .route_layer(middleware::from_fn(ops::track_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        // Photo and video uploads raise the extractors' limit on their own routes; this outer
        // limit is the larger of the two so it does not cut them short.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit.max(api::reports::UPLOAD_LIMIT)))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        // Outside the limits and the timeout, so their plain-text answers become problem+json too.
        .layer(middleware::from_fn(problem_for_api_errors))
        // A bug in one handler answers 500 for that request instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(security_headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                // One access-log line per request, carrying the span's request id.
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Errors from the router itself (404, 405, 413 from a body limit) become problem+json too.
async fn problem_for_api_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/v1");
    let lang = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(i18n::Lang::from_accept_language)
        .unwrap_or_default();
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/problem+json"));
    if !is_api || !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "invalid_request",
        _ => "http_error",
    };
    let detail = i18n::Translations::get(lang).text(&format!("error.{code}")).to_string();
    error::ApiError::new(status, code, detail).into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

/// Rebuilds the point → unit index from the store (at start and after an import).
pub async fn rebuild_unit_index(state: &AppState) -> CoreResult<usize> {
    let units = state.units.all_with_geometry().await?;
    let index = haidang_core::units::UnitIndex::build(&units)
        .map_err(|e| haidang_core::CoreError::Internal(format!("unit index: {e}")))?;
    let n = index.len();
    state.set_unit_index(index);
    // Entities are filed under the commune they lie in: the new boundaries may move some.
    state.hub.refile_all().await.map_err(|e| haidang_core::CoreError::Internal(e.to_string()))?;
    // The indicators' communes are today's units of the province: new ones take figures and
    // targets from now on.
    state.indicators.reload().await?;
    Ok(n)
}

/// Installs the rustls crypto provider (ring) once per process, before anything uses TLS.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Serves until `shutdown` completes, then lets requests in flight finish (up to the configured
/// grace period) before returning.
pub async fn launch(
    state: Arc<AppState>,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    install_crypto_provider();
    listener.set_nonblocking(true)?;
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let tls = state
        .config
        .tls_enabled()
        .then(|| (state.config.server.tls_cert.clone(), state.config.server.tls_key.clone()));
    let (stop_relay, relay_stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(events::run_relay(state.clone(), relay_stopped.clone()));
    let notifier = tokio::spawn(jobs::run_notifier(state.clone(), relay_stopped.clone()));
    let delivery = tokio::spawn(jobs::run_delivery(state.clone(), relay_stopped.clone()));
    let alert_follower = tokio::spawn(jobs::run_alert_follower(state.clone(), relay_stopped.clone()));
    let connectors = connectors::spawn(&state.connectors, &relay_stopped);
    let dead_letters = tokio::spawn(jobs::run_dead_letter_pruning(state.clone()));
    let checkpoints = tokio::spawn(jobs::run_checkpoints(state.clone()));
    let retention = tokio::spawn(jobs::run_retention(state.clone()));
    let reminders = tokio::spawn(jobs::run_indicator_reminders(state.clone()));
    let realtime = tokio::spawn(jobs::run_realtime_indicators(state.clone()));
    let publisher = tokio::spawn(jobs::run_indicator_publisher(state.clone()));
    let report_upkeep = tokio::spawn(jobs::run_report_upkeep(state.clone()));
    let report_notifier = tokio::spawn(jobs::run_report_notifier(state.clone()));
    let email_intake = tokio::spawn(jobs::run_email_intake(state.clone()));
    let incident_upkeep = tokio::spawn(jobs::run_incident_upkeep(state.clone()));
    let alert_notifier = tokio::spawn(jobs::run_alert_notifier(state.clone()));
    let indicators = state.indicators.clone();
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let watcher = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        watcher.graceful_shutdown(Some(grace));
    });
    let served = match tls {
        Some((cert, key)) => match axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await {
            Ok(rustls) => axum_server::from_tcp_rustls(listener, rustls).handle(handle).serve(service).await,
            Err(e) => Err(e),
        },
        None => axum_server::from_tcp(listener).handle(handle).serve(service).await,
    };
    retention.abort();
    reminders.abort();
    realtime.abort();
    publisher.abort();
    report_upkeep.abort();
    report_notifier.abort();
    email_intake.abort();
    incident_upkeep.abort();
    alert_notifier.abort();
    // A refresh of the indicators' view still waiting is written before the process ends.
    if let Err(e) = indicators.publish_pending().await {
        tracing::warn!(error = %e, "indicator view not refreshed before stopping");
    }
    dead_letters.abort();
    checkpoints.abort();
    // Requests are done: publish and match what they committed, then stop the relay, the
    // notifier and the delivery (which records what its attempts in flight came to).
    let _ = stop_relay.send(true);
    // Connectors finish the batch in hand (written and acknowledged) first.
    for c in connectors {
        let _ = c.await;
    }
    let _ = relay.await;
    let _ = notifier.await;
    let _ = delivery.await;
    let _ = alert_follower.await;
    served
}
