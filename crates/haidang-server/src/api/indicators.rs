//! Monitoring indicators: the catalog and its versions, the year's targets, figures (sent,
//! reviewed, revised), evaluation and the group overview, the on-demand query, the XLSX form per
//! organisation and period, exports, the overdue list, and ad hoc data requests.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::indicators::catalog::DefinitionSpec;
use haidang_core::indicators::model::{Indicator, ValueKey, ValueKind, ValueState};
use haidang_core::indicators::period::Period;
use haidang_core::indicators::requests::RequestSpec;
use haidang_core::indicators::service::{today, RangeQuery, TargetSpec};
use haidang_core::indicators::values::SubmitOutcome;
use haidang_core::repo::ValueFilter;
use haidang_core::CoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::indicator_files;
use crate::state::AppState;

fn core_err(caller: &Caller) -> impl Fn(CoreError) -> ApiError + '_ {
    move |e| ApiError::from_core(e, caller.lang)
}

/// A formula's syntax error or cycle is a bad request (400), naming the position or the cycle.
fn definition_err(caller: &Caller) -> impl Fn(CoreError) -> ApiError + '_ {
    move |e| {
        let formula = matches!(&e, CoreError::Validation { field, .. } if field.ends_with("formula"));
        let mut err = ApiError::from_core(e, caller.lang);
        if formula {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    }
}

/// The organisation a query names (by id or code), or a validation error naming it.
async fn org_param(state: &AppState, caller: &Caller, org: Option<&str>) -> ApiResult<Option<String>> {
    let Some(o) = org else { return Ok(None) };
    haidang_core::orgs::resolve_org(state.store.as_ref(), o)
        .await
        .map_err(core_err(caller))?
        .map(|org| Some(org.id))
        .ok_or_else(|| {
            ApiError::from_core(
                CoreError::validation("org", format!("unknown organisation '{o}'")),
                caller.lang,
            )
        })
}

fn period_param(field: &str, text: &str) -> Result<Period, CoreError> {
    Period::parse(text).ok_or_else(|| {
        CoreError::validation(field, format!("'{text}' is not a period (2026-11, 2026-Q3, 2026-H1, 2026)"))
    })
}

pub fn indicator_json(i: &Indicator) -> Value {
    let current = i.current();
    json!({
        "code": i.code,
        "retired": i.retired,
        "current": current,
        "versions": i.versions,
    })
}

/// The catalog: every indicator with its definitions.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators", responses((status = 200, body = serde_json::Value)))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Vec<Value>>> {
    let list = state.indicators.list(&caller.subject).map_err(core_err(&caller))?;
    Ok(Json(list.iter().map(|i| indicator_json(i)).collect()))
}

/// Adds one indicator (an object) or several (an array), all or nothing.
#[utoipa::path(post, path = "/api/v1/indicators", tag = "indicators", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let specs: Vec<DefinitionSpec> = match body {
        Value::Array(items) => items.into_iter().map(serde_json::from_value).collect::<Result<_, _>>(),
        other => serde_json::from_value(other).map(|s| vec![s]),
    }
    .map_err(|e| ApiError::from_core(CoreError::validation("body", e.to_string()), caller.lang))?;
    let defs = state.indicators.create(&caller.subject, &specs).await.map_err(definition_err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(defs))))
}

#[derive(Deserialize, IntoParams)]
pub struct DayQuery {
    /// The day the standing is read on (yyyy-mm-dd); today by default.
    pub date: Option<String>,
    /// A unit (the province by default).
    pub unit: Option<String>,
}

fn day_of(caller: &Caller, date: Option<&str>) -> ApiResult<jiff::civil::Date> {
    match date {
        None => Ok(today()),
        Some(d) => d.parse().map_err(|_| {
            ApiError::from_core(
                CoreError::validation("date", format!("'{d}' is not a date (yyyy-mm-dd)")),
                caller.lang,
            )
        }),
    }
}

/// One indicator: its definitions and its standing (latest evaluation and forecast).
#[utoipa::path(get, path = "/api/v1/indicators/{code}", tag = "indicators", params(("code" = String, Path), DayQuery),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json<Value>> {
    let ind = state.indicators.get(&caller.subject, &code).map_err(core_err(&caller))?;
    let day = day_of(&caller, q.date.as_deref())?;
    let standing = state
        .indicators
        .standing(&caller.subject, &code, q.unit.as_deref(), day)
        .map_err(core_err(&caller))?;
    let mut out = indicator_json(&ind);
    out["standing"] = json!(standing);
    Ok(Json(out))
}

/// A new version of the definition, in force from `valid_from`.
#[utoipa::path(post, path = "/api/v1/indicators/{code}/versions", tag = "indicators", params(("code" = String, Path)),
    request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 400, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn new_version(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
    JsonBody(spec): JsonBody<DefinitionSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let def =
        state.indicators.new_version(&caller.subject, &code, &spec).await.map_err(definition_err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(def))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RetireBody {
    pub retired: bool,
}

/// Retires an indicator (its figures stay) or restores it.
#[utoipa::path(post, path = "/api/v1/indicators/{code}/retire", tag = "indicators", params(("code" = String, Path)),
    request_body = RetireBody, responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn retire(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<RetireBody>,
) -> ApiResult<StatusCode> {
    state.indicators.set_retired(&caller.subject, &code, body.retired).await.map_err(core_err(&caller))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct YearQuery {
    pub year: Option<i16>,
}

/// The targets, of a year or all.
#[utoipa::path(get, path = "/api/v1/indicators/targets", tag = "indicators", params(YearQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_targets(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<YearQuery>,
) -> ApiResult<Json<Value>> {
    state.indicators.list(&caller.subject).map_err(core_err(&caller))?;
    let book = state.indicators.book();
    let mut targets: Vec<_> =
        book.targets().filter(|t| q.year.is_none_or(|y| t.year == y)).cloned().collect();
    targets.sort_by(|a, b| (&a.code, a.year, &a.unit_code).cmp(&(&b.code, b.year, &b.unit_code)));
    Ok(Json(json!(targets)))
}

/// Sets targets (by indicator, year and unit; the province when no unit), all or nothing.
#[utoipa::path(put, path = "/api/v1/indicators/targets", tag = "indicators", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn set_targets(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(targets): JsonBody<Vec<TargetSpec>>,
) -> ApiResult<Json<Value>> {
    let n = state.indicators.set_targets(&caller.subject, targets).await.map_err(core_err(&caller))?;
    Ok(Json(json!({"saved": n})))
}

/// The groups with their indicators' standing at the province and counts by status.
#[utoipa::path(get, path = "/api/v1/indicators/overview", tag = "indicators", params(DayQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn overview(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json<Value>> {
    let day = day_of(&caller, q.date.as_deref())?;
    let groups = state.indicators.overview(&caller.subject, day).map_err(core_err(&caller))?;
    Ok(Json(json!({"date": day.to_string(), "groups": groups})))
}

#[derive(Deserialize, IntoParams)]
pub struct EvalQuery {
    pub period: String,
    pub unit: Option<String>,
}

/// One evaluation (with the year-end forecast from the figures up to the period).
#[utoipa::path(get, path = "/api/v1/indicators/{code}/evaluation", tag = "indicators",
    params(("code" = String, Path), EvalQuery),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn evaluation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<EvalQuery>,
) -> ApiResult<Json<Value>> {
    let period = period_param("period", &q.period).map_err(core_err(&caller))?;
    let e = state
        .indicators
        .evaluate(&caller.subject, &code, q.unit.as_deref(), &period)
        .map_err(core_err(&caller))?;
    let book = state.indicators.book();
    let forecast =
        haidang_core::indicators::evaluate::Evaluator::new(&book).forecast(&code, &e.unit_code, &period);
    let mut out = json!(e);
    out["forecast"] = json!(forecast);
    Ok(Json(out))
}

#[derive(Deserialize, IntoParams)]
pub struct RangeParams {
    /// Indicator codes, comma-separated (all when absent).
    pub codes: Option<String>,
    /// Unit codes, comma-separated (the province when absent).
    pub units: Option<String>,
    /// Every commune as well, for commune-level indicators.
    pub communes: Option<bool>,
    pub from: String,
    pub to: String,
}

fn split(list: &Option<String>) -> Vec<String> {
    list.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The on-demand query ("theo yêu cầu"): evaluations of any indicators, units and periods.
#[utoipa::path(get, path = "/api/v1/indicators/query", tag = "indicators", params(RangeParams),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn query(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<RangeParams>,
) -> ApiResult<Json<Vec<haidang_core::indicators::evaluate::Evaluation>>> {
    let from = period_param("from", &q.from).map_err(core_err(&caller))?;
    let to = period_param("to", &q.to).map_err(core_err(&caller))?;
    let range = RangeQuery {
        codes: split(&q.codes),
        units: split(&q.units),
        communes: q.communes.unwrap_or(false),
        from,
        to,
    };
    let list = state.indicators.query(&caller.subject, &range).map_err(core_err(&caller))?;
    // Serialized straight from the evaluations: a Value tree of 200,000 of them would
    // take gigabytes for a moment.
    Ok(Json(list))
}

#[derive(Deserialize, IntoParams)]
pub struct ValuesQuery {
    pub code: Option<String>,
    pub unit: Option<String>,
    /// An organisation's id or code.
    pub org: Option<String>,
    pub period: Option<String>,
    pub state: Option<String>,
}

/// Figures as they stand (the revision worked on and the one approved).
#[utoipa::path(get, path = "/api/v1/indicators/values", tag = "indicators", params(ValuesQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_values(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ValuesQuery>,
) -> ApiResult<Json<Value>> {
    let org = org_param(&state, &caller, q.org.as_deref()).await?;
    let filter = ValueFilter {
        code: q.code.clone(),
        unit_code: q.unit.clone(),
        org_id: org,
        period: q.period.clone(),
        state: match &q.state {
            Some(s) => Some(ValueState::parse(s).ok_or_else(|| {
                ApiError::from_core(
                    CoreError::validation(
                        "state",
                        format!("'{s}' is not one of draft, submitted, approved, returned"),
                    ),
                    caller.lang,
                )
            })?),
            None => None,
        },
    };
    let list = state.indicators.list_values(&caller.subject, &filter).await.map_err(core_err(&caller))?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SubmitBody {
    #[schema(value_type = Vec<Object>)]
    pub values: Vec<haidang_core::indicators::values::FigureSpec>,
    /// Send for review (default); false keeps them as drafts.
    #[serde(default = "yes")]
    pub submit: bool,
}

fn yes() -> bool {
    true
}

/// A refused batch: a problem whose `errors` member names every row, field and reason.
pub fn refused(caller: &Caller, errors: &[haidang_core::indicators::values::FigureError]) -> Response {
    let t = crate::i18n::Translations::get(caller.lang);
    let errors: Vec<_> = errors.iter().map(|e| worded(t, e)).collect();
    let problem = json!({
        "type": "https://haidang.dev/problems/values_rejected",
        "title": "Unprocessable Entity",
        "status": 422,
        "code": "values_rejected",
        "detail": t.text("error.values_rejected").replace("{count}", &errors.len().to_string()),
        "errors": errors,
    });
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/problem+json")], Json(problem))
        .into_response()
}

/// A row's refusal in the reader's language, from its code and the values it names (the
/// English message stays when the code has no translation).
fn worded(
    t: &crate::i18n::Translations,
    e: &haidang_core::indicators::values::FigureError,
) -> haidang_core::indicators::values::FigureError {
    let mut out = e.clone();
    let key = format!("figure_error.{}", e.code);
    let text = t.text(&key);
    if !e.code.is_empty() && text != key {
        out.message =
            e.args.iter().fold(text.to_string(), |m, (name, v)| m.replace(&format!("{{{name}}}"), v));
    }
    out
}

/// 201 with the count taken, or 422 naming every refused row.
fn answer(caller: &Caller, outcome: SubmitOutcome) -> Response {
    match outcome {
        SubmitOutcome::Accepted { count } => {
            (StatusCode::CREATED, Json(json!({"accepted": count}))).into_response()
        }
        SubmitOutcome::Refused { errors } => refused(caller, &errors),
    }
}

/// Sends figures, all or nothing: every error is named by its row.
#[utoipa::path(post, path = "/api/v1/indicators/values", tag = "indicators", request_body = SubmitBody,
    responses((status = 201, body = serde_json::Value), (status = 422, body = serde_json::Value)))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<SubmitBody>,
) -> ApiResult<Response> {
    let outcome = state
        .indicators
        .submit(&caller.subject, &body.values, body.submit, vec![])
        .await
        .map_err(core_err(&caller))?;
    Ok(answer(&caller, outcome))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HistoryBody {
    #[schema(value_type = Vec<Object>)]
    pub values: Vec<haidang_core::indicators::values::FigureSpec>,
    /// Where the figures come from ("Hệ thống báo cáo cũ, xuất ngày …"), kept as their reason.
    pub source: String,
}

/// Imports figures of closed periods from an old reporting system (catalog managers only): all or
/// nothing, every error named by its row; a figure already kept is refused (revise it instead).
#[utoipa::path(post, path = "/api/v1/indicators/history", tag = "indicators", request_body = HistoryBody,
    responses((status = 201, body = serde_json::Value), (status = 422, body = serde_json::Value)))]
pub async fn import_history(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<HistoryBody>,
) -> ApiResult<Response> {
    let outcome = state
        .indicators
        .import_history(&caller.subject, &body.values, &body.source)
        .await
        .map_err(core_err(&caller))?;
    Ok(answer(&caller, outcome))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReviewBody {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<ValueKey>,
    pub approve: bool,
    #[serde(default)]
    pub reason: String,
}

/// Approves submitted figures, or returns them with a reason.
#[utoipa::path(post, path = "/api/v1/indicators/values/review", tag = "indicators", request_body = ReviewBody,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn review(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<Json<Value>> {
    let n = state
        .indicators
        .review(&caller.subject, &body.keys, body.approve, &body.reason)
        .await
        .map_err(core_err(&caller))?;
    Ok(Json(json!({"reviewed": n})))
}

#[derive(Deserialize, IntoParams)]
pub struct KeyQuery {
    pub code: String,
    pub unit: String,
    pub period: String,
    pub kind: String,
}

/// Every revision and decision of one figure.
#[utoipa::path(get, path = "/api/v1/indicators/values/revisions", tag = "indicators", params(KeyQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn revisions(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<KeyQuery>,
) -> ApiResult<Json<Value>> {
    let key = ValueKey {
        code: q.code,
        unit_code: q.unit,
        period: period_param("period", &q.period).map_err(core_err(&caller))?,
        kind: ValueKind::parse(&q.kind).ok_or_else(|| {
            ApiError::from_core(CoreError::validation("kind", "one of plan, estimate, actual"), caller.lang)
        })?,
    };
    let list = state.indicators.revisions(&caller.subject, &key).await.map_err(core_err(&caller))?;
    Ok(Json(json!(list)))
}

#[derive(Deserialize, IntoParams)]
pub struct FormQuery {
    /// The organisation (id or code); the caller's own by default.
    pub org: Option<String>,
    pub period: Option<String>,
    /// The uploaded file's name.
    pub file_name: Option<String>,
}

/// The XLSX form of every figure an organisation owes for a period, filled in ahead.
#[utoipa::path(get, path = "/api/v1/indicators/form", tag = "indicators", params(FormQuery),
    responses((status = 200, description = "XLSX file"), (status = 422, body = crate::error::Problem)))]
pub async fn form_template(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<FormQuery>,
) -> ApiResult<Response> {
    let (org, period) =
        indicator_files::org_and_period(&state, &caller, q.org.as_deref(), q.period.as_deref()).await?;
    let bytes = indicator_files::template(&state, &caller, &org, &period)?;
    Ok(indicator_files::xlsx_response(bytes, &format!("chi-tieu-{}-{}.xlsx", org.code, period)))
}

/// Takes in a filled-in form (the file as the body): all rows or none, every error named by row.
#[utoipa::path(post, path = "/api/v1/indicators/form", tag = "indicators", params(FormQuery),
    request_body(content = String, description = "the XLSX or CSV file"),
    responses((status = 201, body = serde_json::Value), (status = 422, body = serde_json::Value)))]
pub async fn form_upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<FormQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let (figures, errors) =
        indicator_files::read_upload(caller.lang, q.file_name.as_deref().unwrap_or("form.xlsx"), &body);
    let outcome =
        state.indicators.submit(&caller.subject, &figures, true, errors).await.map_err(core_err(&caller))?;
    Ok(answer(&caller, outcome))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    pub period: String,
    /// json (default) or xlsx.
    pub format: Option<String>,
}

/// Every indicator's evaluation for a period (each indicator by its own kind of period that
/// contains it), at the province and in every commune, as JSON or XLSX.
#[utoipa::path(get, path = "/api/v1/indicators/export", tag = "indicators", params(ExportQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let period = period_param("period", &q.period).map_err(core_err(&caller))?;
    let range = RangeQuery { codes: vec![], units: vec![], communes: true, from: period, to: period };
    let list = state.indicators.query(&caller.subject, &range).map_err(core_err(&caller))?;
    match q.format.as_deref().unwrap_or("json") {
        "xlsx" => {
            let bytes = indicator_files::export(&state, &list, &period)?;
            Ok(indicator_files::xlsx_response(bytes, &format!("chi-so-giam-sat-{period}.xlsx")))
        }
        "json" => Ok(Json(json!({"period": period, "evaluations": list})).into_response()),
        other => Err(ApiError::from_core(
            CoreError::validation("format", format!("'{other}' is not json or xlsx")),
            caller.lang,
        )),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct OwedQuery {
    pub org: Option<String>,
    pub date: Option<String>,
    /// Days ahead to include figures coming due (default 0: overdue only, and due today).
    pub ahead: Option<i64>,
}

/// What each organisation owes: figures due soon or overdue, not yet sent.
#[utoipa::path(get, path = "/api/v1/indicators/owed", tag = "indicators", params(OwedQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn owed(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<OwedQuery>,
) -> ApiResult<Json<Value>> {
    let day = day_of(&caller, q.date.as_deref())?;
    let org = org_param(&state, &caller, q.org.as_deref()).await?;
    let list = state
        .indicators
        .owed(&caller.subject, day, q.ahead.unwrap_or(0).clamp(0, 366), org.as_deref())
        .await
        .map_err(core_err(&caller))?;
    Ok(Json(json!(list)))
}

/// Ad hoc requests the caller sent or must answer.
#[utoipa::path(get, path = "/api/v1/data-requests", tag = "indicators", responses((status = 200, body = serde_json::Value)))]
pub async fn list_requests(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.indicators.requests(&caller.subject).await.map_err(core_err(&caller))?)))
}

/// Asks an organisation for a figure by a deadline.
#[utoipa::path(post, path = "/api/v1/data-requests", tag = "indicators", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn ask(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(spec): JsonBody<RequestSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = state.indicators.ask(&caller.subject, &spec).await.map_err(core_err(&caller))?;
    Ok((StatusCode::CREATED, Json(json!(r))))
}

#[utoipa::path(get, path = "/api/v1/data-requests/{id}", tag = "indicators", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get_request(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(state.indicators.request(&caller.subject, &id).await.map_err(core_err(&caller))?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReplyBody {
    #[serde(default)]
    pub body: String,
    pub value: Option<f64>,
    #[serde(default)]
    pub close: bool,
}

/// A message in the request's thread: the answer (with the figure), a follow-up, or closing it.
#[utoipa::path(post, path = "/api/v1/data-requests/{id}/messages", tag = "indicators", params(("id" = String, Path)),
    request_body = ReplyBody,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn reply(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReplyBody>,
) -> ApiResult<Json<Value>> {
    let r = state
        .indicators
        .reply(&caller.subject, &id, &body.body, body.value, body.close)
        .await
        .map_err(core_err(&caller))?;
    Ok(Json(json!(r)))
}
