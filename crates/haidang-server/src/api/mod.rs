//! The console's JSON API under `/api/v1`. Handlers only translate HTTP to a service call and
//! back. Every route is declared with `utoipa::path`, so the OpenAPI document at
//! `/api/openapi.json` is generated from the code.

pub(crate) mod alerts;
pub mod audit;
mod auth;
pub(crate) mod datasets;
mod hub;
pub(crate) mod incidents;
pub(crate) mod indicators;
mod ingest;
mod orgs;
pub(crate) mod reports;
mod units;
mod users;
pub(crate) mod warnings;

use std::sync::Arc;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Hải Đăng API", description = "Console API of the Hải Đăng operations centre"),
    components(schemas(crate::error::Problem)),
    tags(
        (name = "auth", description = "Sign-in, sessions, second factor"),
        (name = "orgs", description = "Organisations"),
        (name = "units", description = "Administrative units"),
        (name = "users", description = "Accounts and their lifecycle"),
        (name = "tokens", description = "API tokens for machines"),
        (name = "audit", description = "Audit trail"),
        (name = "hub", description = "Data hub: exchange data structures (schemas per entity type)"),
        (name = "datasets", description = "Datasets: approval, grants, quality (đúng, đủ, sạch, sống), forms"),
        (name = "indicators", description = "Monitoring indicators: catalog, targets, figures, evaluation, data requests"),
        (name = "alerts", description = "Monitoring rules, alerts and their handling, the live stream"),
        (name = "incidents", description = "Incidents, playbooks and the agencies' tasks"),
        (name = "warnings", description = "Public warnings: drafts, approval, CAP 1.2 and the Atom feed"),
    )
)]
struct ApiDoc;

pub fn router() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::totp_enrol))
        .routes(routes!(auth::totp_confirm))
        .routes(routes!(orgs::list_orgs, orgs::create_org))
        .routes(routes!(orgs::get_org))
        .routes(routes!(units::list_units))
        .routes(routes!(units::units_geojson))
        .routes(routes!(units::lookup_unit))
        .routes(routes!(units::import_units))
        .routes(routes!(units::get_unit))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::unused_users))
        .routes(routes!(users::get_user))
        .routes(routes!(users::lock_user))
        .routes(routes!(users::unlock_user))
        .routes(routes!(users::revoke_user))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::list_tokens, users::issue_token))
        .routes(routes!(users::revoke_token))
        .routes(routes!(users::list_delegations, users::create_delegation))
        .routes(routes!(audit::query_audit))
        .routes(routes!(hub::list_schemas))
        .routes(routes!(hub::get_schema, hub::put_schema, hub::delete_schema))
        .routes(routes!(hub::places))
        .routes(routes!(ingest::list_connectors))
        .routes(routes!(ingest::list_dead_letters))
        .routes(routes!(datasets::list, datasets::create))
        .routes(routes!(datasets::get, datasets::update))
        .routes(routes!(datasets::approve))
        .routes(routes!(datasets::retire))
        .routes(routes!(datasets::list_grants, datasets::grant))
        .routes(routes!(datasets::revoke))
        .routes(routes!(datasets::list_windows, datasets::declare_window))
        .routes(routes!(datasets::quality))
        .routes(routes!(datasets::ranking))
        .routes(routes!(datasets::overdue))
        .routes(routes!(datasets::submissions))
        .routes(routes!(datasets::form_template, datasets::form_upload))
        .routes(routes!(indicators::list, indicators::create))
        .routes(routes!(indicators::list_targets, indicators::set_targets))
        .routes(routes!(indicators::overview))
        .routes(routes!(indicators::query))
        .routes(routes!(indicators::list_values, indicators::submit))
        .routes(routes!(indicators::review))
        .routes(routes!(indicators::import_history))
        .routes(routes!(indicators::revisions))
        .routes(routes!(indicators::form_template, indicators::form_upload))
        .routes(routes!(indicators::export))
        .routes(routes!(indicators::owed))
        .routes(routes!(indicators::get))
        .routes(routes!(indicators::new_version))
        .routes(routes!(indicators::retire))
        .routes(routes!(indicators::evaluation))
        .routes(routes!(indicators::list_requests, indicators::ask))
        .routes(routes!(indicators::get_request))
        .routes(routes!(indicators::reply))
        .routes(routes!(reports::list, reports::create))
        .routes(routes!(reports::overdue))
        .routes(routes!(reports::statistics))
        .routes(routes!(reports::public_statistics))
        .routes(routes!(reports::get))
        .routes(routes!(reports::step))
        .routes(routes!(reports::contact))
        .routes(routes!(reports::duplicates))
        .routes(routes!(reports::categories, reports::put_categories))
        .routes(routes!(reports::routes, reports::put_routes))
        .routes(routes!(reports::calendar_year, reports::put_calendar_year, reports::reset_calendar_year))
        .routes(routes!(reports::public_create, reports::published))
        .routes(routes!(reports::track))
        .routes(routes!(reports::reporter_step))
        .routes(with_upload_limit(routes!(reports::public_upload)))
        .routes(routes!(reports::public_media))
        .routes(with_upload_limit(routes!(reports::upload)))
        .routes(routes!(reports::media))
        .routes(routes!(reports::redact))
        .routes(routes!(alerts::list_rules, alerts::create_rule))
        .routes(routes!(alerts::get_rule, alerts::put_rule, alerts::delete_rule))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get))
        .routes(routes!(alerts::step))
        .routes(routes!(alerts::live))
        .routes(routes!(incidents::list_playbooks, incidents::create_playbook))
        .routes(routes!(incidents::put_playbook))
        .routes(routes!(incidents::list, incidents::open))
        .routes(routes!(incidents::get))
        .routes(routes!(incidents::act))
        .routes(routes!(incidents::situation))
        .routes(routes!(incidents::measures))
        .routes(routes!(incidents::list_handovers, incidents::hand_over))
        .routes(routes!(incidents::acknowledge_handover))
        .routes(routes!(incidents::tasks))
        .routes(routes!(incidents::task_step))
        .routes(routes!(warnings::list, warnings::draft))
        .routes(routes!(warnings::public_current))
        .routes(routes!(warnings::get, warnings::edit))
        .routes(routes!(warnings::step))
        .split_for_parts()
}

/// Raises the extractors' body limit on an upload route to the largest video.
fn with_upload_limit(
    (schemas, paths, router): utoipa_axum::router::UtoipaMethodRouter<Arc<AppState>>,
) -> utoipa_axum::router::UtoipaMethodRouter<Arc<AppState>> {
    (schemas, paths, router.layer(axum::extract::DefaultBodyLimit::max(reports::UPLOAD_LIMIT)))
}

/// An RFC 3339 time the caller sent as `field`, or a validation error naming the field.
pub(crate) fn time_param(field: &str, text: &str) -> Result<jiff::Timestamp, haidang_core::CoreError> {
    text.parse::<jiff::Timestamp>()
        .map_err(|_| haidang_core::CoreError::validation(field, format!("'{text}' is not an RFC 3339 time")))
}

/// JSON bodies: a malformed one gets a problem+json naming what is wrong.
pub(crate) struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = crate::error::ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    "body_too_large"
                } else if status == axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    "unsupported_media_type"
                } else {
                    "invalid_json"
                };
                Err(crate::error::ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}
