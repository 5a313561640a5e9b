//! Citizen reports for the console (the centre's queue, the agencies' work, settings) and for the
//! public (anonymous intake, following by tracking code, published reports). The public side is
//! limited per address and never answers with personal data.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::calendar::CalendarDay;
use haidang_core::repo::ReportFilter;
use haidang_core::reports::model::{Channel, ReportCategory, ReportState, Route};
use haidang_core::reports::{NewReport, ReporterRequest, StepRequest};
use haidang_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::{time_param, JsonBody};
use crate::auth::{Caller, RequestLang, SourceIp};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// A point outside the province or no place at all is a bad request (400) naming the location;
/// other refusals keep their usual status.
pub(crate) fn report_err(lang: Lang) -> impl Fn(CoreError) -> ApiError {
    move |e| {
        let location =
            matches!(&e, CoreError::Validation { field, .. } if field == "location" || field == "unit_code");
        let mut err = ApiError::from_core(e, lang);
        if location {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    }
}

fn too_many(lang: Lang, retry_after: u64) -> Response {
    let text = crate::i18n::Translations::get(lang).text("error.too_many_requests").to_string();
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", text).into_response();
    if let Ok(v) = retry_after.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

#[derive(Deserialize, IntoParams, Default)]
pub struct ListQuery {
    /// States, comma separated (received, verified, assigned, ...).
    pub state: Option<String>,
    /// An agency's code or id (the centre only; an agency always sees its own).
    pub agency: Option<String>,
    pub category: Option<String>,
    /// A commune's code.
    pub unit: Option<String>,
    pub channel: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
    /// Oldest first (the intake queue's order).
    pub oldest_first: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub(crate) async fn filter_of(state: &AppState, q: &ListQuery) -> Result<ReportFilter, CoreError> {
    let mut f = ReportFilter {
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0).max(0),
        ..ReportFilter::default()
    };
    if let Some(states) = q.state.as_deref().filter(|s| !s.is_empty()) {
        for s in states.split(',') {
            f.states.push(
                ReportState::parse(s.trim())
                    .ok_or_else(|| CoreError::validation("state", format!("no state '{s}'")))?,
            );
        }
    }
    if let Some(a) = q.agency.as_deref().filter(|a| !a.is_empty()) {
        let org = haidang_core::orgs::resolve_org(state.store.as_ref(), a)
            .await?
            .ok_or_else(|| CoreError::validation("agency", format!("no organisation '{a}'")))?;
        f.agency_id = Some(org.id);
    }
    f.categories = q
        .category
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    f.unit_code = q.unit.clone().filter(|c| !c.is_empty());
    if let Some(c) = q.channel.as_deref().filter(|c| !c.is_empty()) {
        f.channel = Some(
            Channel::parse(c).ok_or_else(|| CoreError::validation("channel", format!("no channel '{c}'")))?,
        );
    }
    f.received_from = q.from.as_deref().map(|t| time_param("from", t)).transpose()?;
    f.received_to = q.to.as_deref().map(|t| time_param("to", t)).transpose()?;
    f.oldest_first = q.oldest_first.unwrap_or(false);
    Ok(f)
}

/// Reports the caller may see: the centre all, an agency those it holds or has a part in.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ListQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let filter = filter_of(&state, &q).await.map_err(report_err(caller.lang))?;
    let reports = state.reports.list(&caller.subject, filter).await.map_err(report_err(caller.lang))?;
    let at = haidang_core::time::now();
    let items: Vec<Value> = reports
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["overdue"] = json!(r.is_overdue(at));
            v
        })
        .collect();
    Ok(Json(json!(items)))
}

/// A report taken by the centre's staff (hotline call, email, social media, patrol), or sent by
/// an app with an account. The tracking code in the answer is shown once: give it to the reporter.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(new): JsonBody<NewReport>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let receipt = state.reports.intake(Some(&caller.subject), new).await.map_err(report_err(caller.lang))?;
    Ok((StatusCode::CREATED, Json(json!(receipt))))
}

/// One report with its steps, the agencies' parts, extension requests and the routing suggestion.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports", params(("id" = String, Path, description = "id or number")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let detail = state.reports.get(&caller.subject, &id).await.map_err(report_err(caller.lang))?;
    Ok(Json(json!(detail)))
}

/// Takes one step of the process (verify, reject, merge, assign, accept, return, start,
/// request_info, provide_info, answer, approve, send_back, reopen, transfer,
/// request_extension, decide_extension, redact, erase_identity, note). A step the process does
/// not allow from the report's state answers 409.
#[utoipa::path(post, path = "/api/v1/reports/{id}/steps", tag = "reports", params(("id" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn step(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<StepRequest>,
) -> ApiResult<Json<Value>> {
    let detail = state.reports.act(&caller.subject, &id, request).await.map_err(report_err(caller.lang))?;
    Ok(Json(json!(detail)))
}

/// The reporter's contact in clear, for roles allowed to see it; every look is in the audit trail.
#[utoipa::path(get, path = "/api/v1/reports/{id}/contact", tag = "reports", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 403, body = crate::error::Problem)))]
pub async fn contact(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let contact = state.reports.contact(&caller.subject, &id).await.map_err(report_err(caller.lang))?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(json!({ "contact": contact }))).into_response())
}

/// Open reports of the same category nearby in the 14 days before: candidates to merge.
#[utoipa::path(get, path = "/api/v1/reports/{id}/duplicates", tag = "reports", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value)))]
pub async fn duplicates(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = state.reports.duplicates(&caller.subject, &id).await.map_err(report_err(caller.lang))?;
    Ok(Json(json!(list)))
}

/// Reports past their deadline with the clock running, the longest late first.
#[utoipa::path(get, path = "/api/v1/reports/overdue", tag = "reports", responses((status = 200, body = serde_json::Value)))]
pub async fn overdue(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let list = state
        .reports
        .overdue(&caller.subject, haidang_core::time::now())
        .await
        .map_err(report_err(caller.lang))?;
    Ok(Json(json!(list)))
}

/// The categories citizens choose from, with their time limits (public).
#[utoipa::path(get, path = "/api/v1/report-categories", tag = "reports", responses((status = 200, body = serde_json::Value)))]
pub async fn categories(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
) -> ApiResult<Json<Value>> {
    let list = state.reports.categories().await.map_err(report_err(lang))?;
    Ok(Json(json!(list.into_iter().filter(|c| c.active).collect::<Vec<_>>())))
}

/// Adds or replaces categories (an array), all or nothing.
#[utoipa::path(put, path = "/api/v1/report-categories", tag = "reports", request_body = serde_json::Value,
    responses((status = 204), (status = 422, body = crate::error::Problem)))]
pub async fn put_categories(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(list): JsonBody<Vec<ReportCategory>>,
) -> ApiResult<StatusCode> {
    state.reports.put_categories(&caller.subject, list).await.map_err(report_err(caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routing table: category + commune → agency.
#[utoipa::path(get, path = "/api/v1/report-routes", tag = "reports", responses((status = 200, body = serde_json::Value)))]
pub async fn routes(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let list = state.reports.routes().await.map_err(report_err(caller.lang))?;
    Ok(Json(json!(list)))
}

/// Replaces the routing table, all or nothing.
#[utoipa::path(put, path = "/api/v1/report-routes", tag = "reports", request_body = serde_json::Value,
    responses((status = 204), (status = 422, body = crate::error::Problem)))]
pub async fn put_routes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(list): JsonBody<Vec<Route>>,
) -> ApiResult<StatusCode> {
    state.reports.put_routes(&caller.subject, list).await.map_err(report_err(caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

fn year_of(lang: Lang, year: &str) -> ApiResult<i16> {
    year.parse().map_err(|_| {
        ApiError::from_core(CoreError::validation("year", format!("'{year}' is not a year")), lang)
    })
}

/// One year of the working-time calendar: holidays and swapped working days, and whether the
/// year was edited or is the statutory list.
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "reports", params(("year" = i16, Path)),
    responses((status = 200, body = serde_json::Value)))]
pub async fn calendar_year(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(year): Path<String>,
) -> ApiResult<Json<Value>> {
    let year = year_of(caller.lang, &year)?;
    let (edited, days) = state.reports.calendar_year(year).await.map_err(report_err(caller.lang))?;
    Ok(Json(json!({ "year": year, "edited": edited, "days": days })))
}

/// Replaces one year's list (the Government's swaps, extra days off).
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "reports", params(("year" = i16, Path)),
    request_body = serde_json::Value, responses((status = 204), (status = 422, body = crate::error::Problem)))]
pub async fn put_calendar_year(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(year): Path<String>,
    JsonBody(days): JsonBody<Vec<CalendarDay>>,
) -> ApiResult<StatusCode> {
    let year = year_of(caller.lang, &year)?;
    state
        .reports
        .put_calendar_year(&caller.subject, year, Some(days))
        .await
        .map_err(report_err(caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Goes back to the statutory list for the year.
#[utoipa::path(delete, path = "/api/v1/calendar/{year}", tag = "reports", params(("year" = i16, Path)),
    responses((status = 204)))]
pub async fn reset_calendar_year(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(year): Path<String>,
) -> ApiResult<StatusCode> {
    let year = year_of(caller.lang, &year)?;
    state.reports.put_calendar_year(&caller.subject, year, None).await.map_err(report_err(caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A citizen's report without an account (the portal). Limited per address and checked for
/// spam; the answer carries the tracking code, shown once.
#[utoipa::path(post, path = "/api/v1/public/reports", tag = "reports", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 429, body = crate::error::Problem)))]
pub async fn public_create(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    SourceIp(ip): SourceIp,
    JsonBody(mut new): JsonBody<NewReport>,
) -> Response {
    let key = ip.unwrap_or_default();
    if !state.public_limits.intake.allow(&key) {
        return too_many(lang, state.public_limits.intake.retry_after(&key));
    }
    new.channel = Some(Channel::Web);
    match state.reports.intake(None, new).await {
        Ok(receipt) => (
            StatusCode::CREATED,
            Json(json!({
                "tracking_code": receipt.tracking_code,
                "received_at": receipt.report.received_at,
                "category": receipt.report.category,
                "unit_code": receipt.report.unit_code,
            })),
        )
            .into_response(),
        Err(e) => report_err(lang)(e).into_response(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TrackBody {
    pub code: String,
}

/// Follows a report by its tracking code (sent in the body, so it never sits in a URL or a log).
/// A wrong code answers 404 and nothing else; look-ups are limited per address.
#[utoipa::path(post, path = "/api/v1/public/track", tag = "reports", request_body = TrackBody,
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem),
              (status = 429, body = crate::error::Problem)))]
pub async fn track(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    SourceIp(ip): SourceIp,
    JsonBody(body): JsonBody<TrackBody>,
) -> Response {
    let key = ip.unwrap_or_default();
    if !state.public_limits.lookups.allow(&key) {
        return too_many(lang, state.public_limits.lookups.retry_after(&key));
    }
    match state.reports.track(&body.code).await {
        Ok(view) => ([(header::CACHE_CONTROL, "no-store")], Json(json!(view))).into_response(),
        Err(e) => report_err(lang)(e).into_response(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReporterBody {
    pub code: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub request: ReporterRequest,
}

/// The reporter's own steps, by tracking code: provide_info, rate (1-5), reopen, erase_identity.
#[utoipa::path(post, path = "/api/v1/public/track/steps", tag = "reports", request_body = ReporterBody,
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn reporter_step(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    SourceIp(ip): SourceIp,
    JsonBody(body): JsonBody<ReporterBody>,
) -> Response {
    let key = ip.unwrap_or_default();
    if !state.public_limits.lookups.allow(&key) {
        return too_many(lang, state.public_limits.lookups.retry_after(&key));
    }
    match state.reports.reporter_act(&body.code, body.request).await {
        Ok(view) => ([(header::CACHE_CONTROL, "no-store")], Json(json!(view))).into_response(),
        Err(e) => report_err(lang)(e).into_response(),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct PublishedQuery {
    pub category: Option<String>,
    pub unit: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Published reports, without any personal data: for the portal's map and list.
#[utoipa::path(get, path = "/api/v1/public/reports", tag = "reports", params(PublishedQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn published(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    Query(q): Query<PublishedQuery>,
) -> ApiResult<Json<Value>> {
    let filter = ReportFilter {
        categories: q.category.into_iter().filter(|c| !c.is_empty()).collect(),
        unit_code: q.unit.filter(|c| !c.is_empty()),
        limit: q.limit.unwrap_or(50).clamp(1, 200),
        offset: q.offset.unwrap_or(0).max(0),
        ..ReportFilter::default()
    };
    let list = state.reports.published(filter).await.map_err(report_err(lang))?;
    Ok(Json(json!(list)))
}

/// The body limit of the upload routes: the largest video, with room for a form around it.
pub(crate) const UPLOAD_LIMIT: usize = haidang_core::reports::media::MAX_VIDEO_BYTES + 64 * 1024;

fn media_answer(
    kind: haidang_core::reports::media::MediaType,
    bytes: Vec<u8>,
    cache: &'static str,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.content_type()),
            (header::CACHE_CONTROL, cache),
            (header::CONTENT_DISPOSITION, "inline"),
        ],
        bytes,
    )
        .into_response()
}

/// A photo or short video for a report about to be sent (the portal uploads first, then sends
/// the report with the ids). The type is read from the bytes: JPEG, PNG, WebP (8 MB) or MP4
/// (30 MB); anything else is 415, too large 413, and nothing is kept. Limited per address.
#[utoipa::path(post, path = "/api/v1/public/media", tag = "reports", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = serde_json::Value), (status = 413, body = crate::error::Problem),
              (status = 415, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn public_upload(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    SourceIp(ip): SourceIp,
    body: axum::body::Bytes,
) -> Response {
    let key = ip.unwrap_or_default();
    if !state.public_limits.uploads.allow(&key) {
        return too_many(lang, state.public_limits.uploads.retry_after(&key));
    }
    match state.reports.upload(None, &body).await {
        Ok(m) => (
            StatusCode::CREATED,
            Json(json!({
                "id": m.id,
                "url": format!("/api/v1/public/media/{}", m.id),
                "content_type": m.media_type.content_type(),
                "size": m.size,
            })),
        )
            .into_response(),
        Err(e) => report_err(lang)(e).into_response(),
    }
}

/// The public copy of a report's photo: no position, no camera data, pixelated where the centre
/// marked. Uploads not yet sent with a report are not served.
#[utoipa::path(get, path = "/api/v1/public/media/{id}", tag = "reports", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = crate::error::Problem)))]
pub async fn public_media(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    Path(id): Path<String>,
) -> Response {
    match state.reports.public_media(&id).await {
        Ok((kind, bytes)) => media_answer(kind, bytes, "public, max-age=300"),
        Err(e) => report_err(lang)(e).into_response(),
    }
}

/// Staff add a photo to a report they handle (the agency's result, or the centre's own).
#[utoipa::path(post, path = "/api/v1/reports/{id}/media", tag = "reports", params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = serde_json::Value), (status = 413, body = crate::error::Problem),
              (status = 415, body = crate::error::Problem)))]
pub async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = state
        .reports
        .upload_for_report(&caller.subject, &id, &body)
        .await
        .map_err(report_err(caller.lang))?;
    Ok((StatusCode::CREATED, Json(json!(m))))
}

#[derive(Deserialize, IntoParams)]
pub struct MediaQuery {
    /// The upload as it came, with its metadata (personal data: audited).
    pub original: Option<bool>,
}

/// A report's photo for staff: the public copy, or the original for roles allowed to see it.
#[utoipa::path(get, path = "/api/v1/reports/{id}/media/{media}", tag = "reports",
    params(("id" = String, Path), ("media" = String, Path), MediaQuery),
    responses((status = 200, content_type = "image/jpeg"), (status = 403, body = crate::error::Problem)))]
pub async fn media(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, media)): Path<(String, String)>,
    Query(q): Query<MediaQuery>,
) -> ApiResult<Response> {
    let (kind, bytes) = state
        .reports
        .staff_media(&caller.subject, &id, &media, q.original.unwrap_or(false))
        .await
        .map_err(report_err(caller.lang))?;
    Ok(media_answer(kind, bytes, "private, no-store"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RedactBody {
    #[schema(value_type = Vec<Object>)]
    pub rects: Vec<haidang_core::reports::media::Rect>,
}

/// Pixelates faces, plates or names on a photo's public copy before it is published; the
/// original is kept for the roles allowed to see it.
#[utoipa::path(post, path = "/api/v1/reports/{id}/media/{media}/redact", tag = "reports",
    params(("id" = String, Path), ("media" = String, Path)), request_body = RedactBody,
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn redact(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, media)): Path<(String, String)>,
    JsonBody(body): JsonBody<RedactBody>,
) -> ApiResult<Json<Value>> {
    let m = state
        .reports
        .redact_media(&caller.subject, &id, &media, &body.rects)
        .await
        .map_err(report_err(caller.lang))?;
    Ok(Json(json!(m)))
}

#[derive(Deserialize, IntoParams)]
pub struct StatsQuery {
    /// Start of the period (RFC 3339 or yyyy-mm-dd, Vietnam time); default the 1st of this month.
    pub from: Option<String>,
    /// End of the period, exclusive; default now.
    pub to: Option<String>,
    /// all, agency, category, unit (commune) or channel.
    pub by: Option<String>,
    /// json (default), csv or xlsx.
    pub format: Option<String>,
}

fn stats_time(field: &str, text: &str) -> Result<jiff::Timestamp, CoreError> {
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(haidang_core::time::local_tz())
            .map(|z| z.timestamp())
            .map_err(|e| CoreError::validation(field, e.to_string()));
    }
    time_param(field, text)
}

async fn statistics_answer(
    state: &AppState,
    by: Option<&haidang_core::accounts::Subject>,
    lang: Lang,
    q: StatsQuery,
) -> ApiResult<Response> {
    use haidang_core::reports::stats::Group;
    let err = report_err(lang);
    let now = haidang_core::time::now();
    let from = match q.from.as_deref() {
        Some(t) => stats_time("from", t).map_err(&err)?,
        None => {
            let today = now.to_zoned(haidang_core::time::local_tz()).date();
            stats_time("from", &today.first_of_month().to_string()).map_err(&err)?
        }
    };
    let to = q.to.as_deref().map(|t| stats_time("to", t)).transpose().map_err(&err)?.unwrap_or(now);
    let by_text = q.by.as_deref().unwrap_or("all");
    let group = Group::parse(by_text).ok_or_else(|| {
        err(CoreError::validation("by", format!("'{by_text}': all, agency, category, unit or channel")))
    })?;
    let stats = state.reports.statistics(by, group, from, to).await.map_err(&err)?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(json!(stats)).into_response()),
        format @ ("csv" | "xlsx") => {
            let labels = crate::report_files::labels(state, group, lang).await.map_err(&err)?;
            let name = format!("thong-ke-phan-anh-{}.{format}", by_text);
            if format == "csv" {
                Ok((
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                    ],
                    crate::report_files::csv(&stats, &labels),
                )
                    .into_response())
            } else {
                let bytes = crate::report_files::xlsx(&stats, &labels).map_err(&err)?;
                Ok(crate::indicator_files::xlsx_response(bytes, &name))
            }
        }
        other => Err(err(CoreError::validation("format", format!("'{other}' is not json, csv or xlsx")))),
    }
}

/// Received, verified, rejected, answered (on time), overdue, closed, median handling time and
/// satisfaction for a period, by agency, category, commune or channel; JSON, CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/reports/statistics", tag = "reports", params(StatsQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn statistics(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Response> {
    statistics_answer(&state, Some(&caller.subject), caller.lang, q).await
}

/// The same figures for the public: aggregates only, never a report or a person.
#[utoipa::path(get, path = "/api/v1/public/statistics", tag = "reports", params(StatsQuery),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn public_statistics(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Response> {
    statistics_answer(&state, None, lang, q).await
}
