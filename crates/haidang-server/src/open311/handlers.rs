//! Open311 GeoReport v2 at `/open311/v2`: discovery, services and their definitions, posting a
//! request (an app's `api_key` required), following a token, and the published requests. The
//! last path segment carries the format (`requests.json`, `123.xml`); axum cannot route a
//! suffix after a parameter, so each handler splits it. Only published reports are listed, and
//! never with personal data.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use haidang_core::repo::ReportFilter;
use haidang_core::reports::model::{Contact, ReportCategory, ReportState};
use haidang_core::reports::{NewReport, PublicReport};
use haidang_core::CoreError;

use super::{
    parse_new_request, parse_requests_query, render_created, render_discovery, render_requests,
    render_service_definition, render_services, render_tokens, service_code_of, split_format, AttributeView,
    CreatedView, Datatype, Discovery, Endpoint, Extended, Format, NoteView, Open311Error, Open311Failure,
    RequestView, ServiceDefinition, ServiceType, ServiceView, Status, TokenView, DEFAULT_WINDOW_DAYS,
    SPECIFICATION_URL,
};
use crate::auth::SourceIp;
use crate::state::AppState;

type Pairs = Vec<(String, String)>;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/open311/v2/{segment}",
            get(top_level)
                .post(post_request)
                .layer(axum::extract::DefaultBodyLimit::max(crate::api::reports::UPLOAD_LIMIT)),
        )
        .route("/open311/v2/services/{segment}", get(service_definition))
        .route("/open311/v2/requests/{segment}", get(one_request))
        .route("/open311/v2/tokens/{segment}", get(token))
}

fn answer((content_type, body): (&'static str, String), status: StatusCode) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn fail(format: Format, error: Open311Error) -> Response {
    Open311Failure::one(format, error).into_response()
}

/// A domain refusal in Open311's terms: bad input 400 naming the field, not found 404.
fn from_core(format: Format, e: CoreError) -> Response {
    let error = match e {
        CoreError::Validation { field, message } => Open311Error::bad_request(format!("{field}: {message}")),
        CoreError::NotFound { what } => Open311Error::not_found(format!("{what} not found")),
        CoreError::Conflict(m) => Open311Error::new(409, m),
        CoreError::Forbidden(_) | CoreError::TokenInvalid | CoreError::Unauthenticated => {
            Open311Error::forbidden("api_key is not valid")
        }
        other => {
            tracing::error!(error = %other, "open311");
            Open311Error::new(500, "internal error")
        }
    };
    fail(format, error)
}

fn check_jurisdiction(state: &AppState, pairs: &Pairs) -> Result<(), Open311Error> {
    match pairs.iter().find(|(k, _)| k == "jurisdiction_id").map(|(_, v)| v.trim()) {
        Some(j) if !j.is_empty() && j != state.config.reports.jurisdiction_id => {
            Err(Open311Error::not_found(format!("jurisdiction_id '{j}' is not served here")))
        }
        _ => Ok(()),
    }
}

async fn top_level(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    Query(pairs): Query<Pairs>,
) -> Response {
    let (stem, format) = match split_format(&segment) {
        Ok(split) => split,
        Err(e) => return fail(Format::Json, e),
    };
    if let Err(e) = check_jurisdiction(&state, &pairs) {
        return fail(format, e);
    }
    match stem.as_str() {
        "discovery" => answer(render_discovery(&discovery(&state), format), StatusCode::OK),
        "services" => match state.reports.categories().await {
            Ok(list) => {
                let views: Vec<ServiceView> = list.iter().filter(|c| c.active).map(service_view).collect();
                answer(render_services(&views, format), StatusCode::OK)
            }
            Err(e) => from_core(format, e),
        },
        "requests" => list_requests(&state, format, &pairs).await,
        other => fail(format, Open311Error::not_found(format!("no resource '{other}'"))),
    }
}

fn discovery(state: &AppState) -> Discovery {
    let base = state.config.server.public_url.trim_end_matches('/');
    let changeset = super::w3c_datetime(
        jiff::Timestamp::from_second(1_764_547_200).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    );
    Discovery {
        changeset: changeset.clone(),
        contact: "Trung tâm Giám sát, điều hành thông minh tỉnh Lai Châu".into(),
        key_service: format!("{base}/console/admin/tokens"),
        endpoints: vec![Endpoint {
            specification: SPECIFICATION_URL.into(),
            url: format!("{base}/open311/v2"),
            changeset,
            type_: "production".into(),
            formats: vec![Format::Json.media_type().into(), Format::Xml.media_type().into()],
        }],
    }
}

fn service_view(c: &ReportCategory) -> ServiceView {
    ServiceView {
        service_code: c.code.clone(),
        service_name: c.name_vi.clone(),
        description: if c.description_vi.is_empty() { c.name_en.clone() } else { c.description_vi.clone() },
        metadata: !c.attributes.is_empty(),
        type_: ServiceType::Realtime,
        keywords: c.keywords.clone(),
        group: c.group_vi.clone(),
    }
}

fn definition_of(c: &ReportCategory) -> ServiceDefinition {
    let datatype = |d: &str| match d {
        "number" => Datatype::Number,
        "datetime" => Datatype::Datetime,
        "text" => Datatype::Text,
        "singlevaluelist" => Datatype::Singlevaluelist,
        "multivaluelist" => Datatype::Multivaluelist,
        _ => Datatype::String,
    };
    ServiceDefinition {
        service_code: c.code.clone(),
        attributes: c
            .attributes
            .iter()
            .enumerate()
            .map(|(i, a)| AttributeView {
                variable: true,
                code: a.code.clone(),
                datatype: datatype(&a.datatype),
                required: a.required,
                datatype_description: String::new(),
                order: i as u32 + 1,
                description: a.description_vi.clone(),
                values: a.values.clone(),
            })
            .collect(),
    }
}

async fn service_definition(State(state): State<Arc<AppState>>, Path(segment): Path<String>) -> Response {
    let (code, format) = match split_format(&segment) {
        Ok(split) => split,
        Err(e) => return fail(Format::Json, e),
    };
    match state.reports.categories().await {
        Ok(list) => match list.iter().find(|c| c.code == code && c.active) {
            Some(c) => answer(render_service_definition(&definition_of(c), format), StatusCode::OK),
            None => fail(format, Open311Error::not_found(format!("service_code '{code}' does not exist"))),
        },
        Err(e) => from_core(format, e),
    }
}

async fn post_request(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    SourceIp(ip): SourceIp,
    req: axum::extract::Request,
) -> Response {
    let (stem, format) = match split_format(&segment) {
        Ok(split) => split,
        Err(e) => return fail(Format::Json, e),
    };
    if stem != "requests" {
        return fail(format, Open311Error::new(405, format!("'{stem}' takes no POST")));
    }
    let (pairs, file) = match read_form(&state, req).await {
        Ok(read) => read,
        Err(e) => return fail(format, e),
    };
    if let Err(e) = check_jurisdiction(&state, &pairs) {
        return fail(format, e);
    }
    // Every POST needs an app's key (an API token issued by the centre).
    let Some(key) =
        pairs.iter().find(|(k, _)| k == "api_key").map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    else {
        return fail(format, Open311Error::forbidden("api_key is required"));
    };
    let subject = match state.accounts.authenticate_token(key).await {
        Ok((_, mut subject)) => {
            subject.source_ip = ip.clone();
            subject
        }
        Err(_) => return fail(format, Open311Error::forbidden("api_key is not valid")),
    };
    let limit_key = format!("open311:{}", ip.unwrap_or_default());
    if !state.public_limits.intake.allow(&limit_key) {
        return fail(format, Open311Error::new(429, "too many requests from this address; try again later"));
    }
    let categories = match state.reports.categories().await {
        Ok(list) => list,
        Err(e) => return from_core(format, e),
    };
    let Some(code) = service_code_of(&pairs) else {
        return fail(format, Open311Error::bad_request("service_code is required"));
    };
    let Some(category) = categories.iter().find(|c| c.code == code && c.active) else {
        return fail(format, Open311Error::not_found(format!("service_code '{code}' does not exist")));
    };
    let form = match parse_new_request(&pairs, Some(&definition_of(category))) {
        Ok(form) => form,
        Err(e) => return fail(format, e),
    };
    let name = [form.first_name.as_deref(), form.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let contact = Contact {
        name: Some(name).filter(|n| !n.is_empty()),
        phone: form.phone.clone(),
        email: form.email.clone(),
        id_number: None,
    };
    let has_contact = !contact.is_empty();
    let new = NewReport {
        category: form.service_code.clone(),
        description: form.description.clone().unwrap_or_default(),
        lon: form.long,
        lat: form.lat,
        address: form.address_string.clone(),
        unit_code: None,
        channel: Some(haidang_core::reports::model::Channel::App),
        urgency: Default::default(),
        public: true,
        contact: has_contact.then_some(contact),
        // The app collected the contact and is answerable for the reporter's consent.
        consent: has_contact.then(|| "Liên hệ về phản ánh gửi qua ứng dụng (Open311)".to_string()),
        attributes: form.attributes.iter().cloned().collect(),
        media_urls: form.media_url.iter().cloned().collect(),
        media_ids: vec![],
    };
    // The `media` file extension: kept without its metadata, then attached to the request.
    let mut new = new;
    let mut media_url = None;
    if let Some(bytes) = file {
        match state.reports.upload(Some(&subject), &bytes).await {
            Ok(m) => {
                let base = state.config.server.public_url.trim_end_matches('/');
                media_url = Some(format!("{base}/api/v1/public/media/{}", m.id));
                new.media_ids.push(m.id);
            }
            Err(CoreError::TooLarge { max_bytes }) => {
                return fail(
                    format,
                    Open311Error::new(413, format!("media: at most {} MB", max_bytes / (1024 * 1024))),
                )
            }
            Err(CoreError::UnsupportedType(_)) => {
                return fail(format, Open311Error::new(415, "media: JPEG, PNG, WebP or MP4 only"))
            }
            Err(e) => return from_core(format, e),
        }
    }
    match state.reports.intake(Some(&subject), new).await {
        Ok(receipt) => {
            let created = CreatedView {
                token: Some(receipt.tracking_code),
                service_request_id: None,
                service_notice: Some(format!(
                    "Đã tiếp nhận. Thời hạn xử lý: {} ngày làm việc kể từ khi chuyển đơn vị xử lý.",
                    category.time_limit_days
                )),
                account_id: None,
                media_url,
            };
            answer(render_created(&[created], format), StatusCode::CREATED)
        }
        Err(e) => from_core(format, e),
    }
}

/// The POST's fields as (name, value) pairs, form-encoded or multipart; a multipart body may
/// carry one file in a field named `media` (the common extension to v2).
async fn read_form(
    state: &Arc<AppState>,
    req: axum::extract::Request,
) -> Result<(Pairs, Option<axum::body::Bytes>), Open311Error> {
    use axum::extract::FromRequest;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| Open311Error::bad_request(format!("the multipart body could not be read: {e}")))?;
        let mut pairs = Vec::new();
        let mut file = None;
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(Open311Error::new(413, "the request is too large"))
                }
                Err(e) => {
                    return Err(Open311Error::bad_request(format!(
                        "the multipart body could not be read: {e}"
                    )))
                }
            };
            let name = field.name().unwrap_or_default().to_string();
            if name == "media" {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| Open311Error::new(e.status().as_u16(), format!("media: {e}")))?;
                file = Some(bytes);
            } else {
                let value =
                    field.text().await.map_err(|e| Open311Error::bad_request(format!("{name}: {e}")))?;
                pairs.push((name, value));
            }
        }
        return Ok((pairs, file));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Open311Error::new(
            415,
            "send the request as application/x-www-form-urlencoded or multipart/form-data",
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), crate::api::reports::UPLOAD_LIMIT)
        .await
        .map_err(|_| Open311Error::new(413, "the request is too large"))?;
    let pairs = serde_urlencoded::from_bytes::<Pairs>(&body)
        .map_err(|_| Open311Error::bad_request("the form could not be read"))?;
    Ok((pairs, None))
}

/// The Open311 view of a published report; with `extended`, the detailed state and its notes.
fn request_view(
    r: &PublicReport,
    categories: &[ReportCategory],
    agencies: &[(String, String)],
    extended: bool,
    base: &str,
) -> RequestView {
    let category = categories.iter().find(|c| c.code == r.category);
    let last_note = r.history.iter().rev().find(|s| !s.note.is_empty()).map(|s| s.note.clone());
    RequestView {
        service_request_id: r.number.to_string(),
        status: if r.open { Status::Open } else { Status::Closed },
        status_notes: r.answer.clone().or(last_note),
        service_name: category.map(|c| c.name_vi.clone()).unwrap_or_else(|| r.category.clone()),
        service_code: r.category.clone(),
        description: Some(r.description.clone()),
        agency_responsible: r
            .agency_id
            .as_ref()
            .and_then(|id| agencies.iter().find(|(i, _)| i == id).map(|(_, name)| name.clone())),
        service_notice: None,
        requested_datetime: r.received_at,
        updated_datetime: Some(r.updated_at),
        expected_datetime: if r.open { r.deadline_at } else { None },
        address: r.address.clone(),
        address_id: None,
        zipcode: None,
        lat: r.lat,
        long: r.lon,
        media_url: r.media.iter().find(|m| m.stage == "intake").map(|m| format!("{base}{}", m.url)),
        extended_attributes: extended.then(|| Extended {
            detailed_status: r.state.as_str().to_string(),
            detailed_status_label: state_label(r.state).to_string(),
            notes: r
                .history
                .iter()
                .map(|s| NoteView { datetime: s.at, description: s.note.clone(), kind: s.action.clone() })
                .collect(),
        }),
    }
}

/// The detailed state as officials say it (the console's labels come from the translation files).
fn state_label(s: ReportState) -> &'static str {
    match s {
        ReportState::Received => "Đã tiếp nhận",
        ReportState::Verified => "Đã xác minh",
        ReportState::Rejected => "Không tiếp nhận",
        ReportState::Merged => "Đã gộp với phản ánh trùng",
        ReportState::Assigned => "Đã chuyển đơn vị xử lý",
        ReportState::Accepted => "Đơn vị đã nhận xử lý",
        ReportState::Returned => "Đơn vị trả lại",
        ReportState::InProgress => "Đang xử lý",
        ReportState::AwaitingInfo => "Chờ bổ sung thông tin",
        ReportState::Answered => "Đã có kết quả, chờ duyệt",
        ReportState::Closed => "Đã hoàn thành",
    }
}

async fn lookups(state: &AppState) -> Result<(Vec<ReportCategory>, Vec<(String, String)>), CoreError> {
    let categories = state.reports.categories().await?;
    let agencies = haidang_core::repo::OrgRepository::list_orgs(state.store.as_ref())
        .await?
        .into_iter()
        .map(|o| (o.id, o.name_vi))
        .collect();
    Ok((categories, agencies))
}

async fn list_requests(state: &AppState, format: Format, pairs: &Pairs) -> Response {
    let q = match parse_requests_query(pairs) {
        Ok(q) => q,
        Err(e) => return fail(format, e),
    };
    let mut filter = ReportFilter {
        categories: q.service_codes.clone(),
        limit: i64::from(q.page_size),
        offset: i64::from(q.page.saturating_sub(1)) * i64::from(q.page_size),
        ..ReportFilter::default()
    };
    if q.ids.is_empty() {
        // v2: without dates, the last 90 days.
        let end = q.end.unwrap_or_else(haidang_core::time::now);
        filter.received_to = q.end;
        filter.received_from =
            Some(q.start.unwrap_or(end - jiff::SignedDuration::from_hours(24 * DEFAULT_WINDOW_DAYS)));
        if filter.received_from.zip(filter.received_to).is_some_and(|(a, b)| b < a) {
            return fail(format, Open311Error::bad_request("end_date is before start_date"));
        }
        let open = q.statuses.contains(&Status::Open);
        let closed = q.statuses.contains(&Status::Closed);
        if open != closed {
            filter.states = ReportState::ALL.into_iter().filter(|s| s.is_open() == open).collect();
        }
    } else {
        // v2: service_request_id overrides every other filter.
        filter.categories.clear();
        filter.numbers = q.ids.iter().filter_map(|id| id.parse().ok()).collect();
        if filter.numbers.is_empty() {
            return answer(render_requests(&[], format), StatusCode::OK);
        }
    }
    let (categories, agencies) = match lookups(state).await {
        Ok(l) => l,
        Err(e) => return from_core(format, e),
    };
    let base = state.config.server.public_url.trim_end_matches('/');
    match state.reports.published(filter).await {
        Ok(list) => {
            let views: Vec<RequestView> =
                list.iter().map(|r| request_view(r, &categories, &agencies, q.extensions, base)).collect();
            answer(render_requests(&views, format), StatusCode::OK)
        }
        Err(e) => from_core(format, e),
    }
}

async fn one_request(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    Query(pairs): Query<Pairs>,
) -> Response {
    let (id, format) = match split_format(&segment) {
        Ok(split) => split,
        Err(e) => return fail(Format::Json, e),
    };
    let extended = pairs.iter().any(|(k, v)| k == "extensions" && v == "true");
    let not_found =
        || fail(format, Open311Error::not_found(format!("service_request_id '{id}' does not exist")));
    let Ok(number) = id.parse::<i64>() else { return not_found() };
    let (categories, agencies) = match lookups(&state).await {
        Ok(l) => l,
        Err(e) => return from_core(format, e),
    };
    let base = state.config.server.public_url.trim_end_matches('/');
    match state.reports.published_one(number).await {
        Ok(r) => answer(
            render_requests(&[request_view(&r, &categories, &agencies, extended, base)], format),
            StatusCode::OK,
        ),
        Err(CoreError::NotFound { .. }) => not_found(),
        Err(e) => from_core(format, e),
    }
}

/// A token (the tracking code the POST answered) to its service_request_id, once the report is
/// published; before that the id stays empty. Look-ups are limited per address.
async fn token(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    SourceIp(ip): SourceIp,
) -> Response {
    let (code, format) = match split_format(&segment) {
        Ok(split) => split,
        Err(e) => return fail(Format::Json, e),
    };
    let key = ip.unwrap_or_default();
    if !state.public_limits.lookups.allow(&key) {
        return fail(format, Open311Error::new(429, "too many look-ups from this address; try again later"));
    }
    match state.reports.track(&code).await {
        Ok(r) => {
            let published = state.reports.published_one(r.number).await.is_ok();
            let view = TokenView { token: code, service_request_id: published.then(|| r.number.to_string()) };
            answer(render_tokens(&[view], format), StatusCode::OK)
        }
        Err(CoreError::NotFound { .. }) => fail(format, Open311Error::not_found("token not found")),
        Err(e) => from_core(format, e),
    }
}
