//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>), the format layer only: the
//! view structs a handler fills from the domain model, their rendering as JSON or XML, the
//! Open311 error list, and the parsing of the requests query and of the POST form. No HTTP
//! routing and no database here, so every rule of the standard is testable without a server.
//!
//! Choices a handler author must know:
//! - The format comes from the path's last segment (`requests.json`, `123.xml`), as v2 demands;
//!   [`split_format`] refuses a segment without `.json`/`.xml`. Its error has no format to be
//!   written in: answer it in [`Format::Json`].
//! - Content types: `application/json; charset=utf-8` and `text/xml; charset=utf-8`.
//! - Optional fields keep their key, as in v2's examples: JSON `null`, XML an empty element
//!   (`<address></address>`). An empty `datatype_description` is written as `null` likewise.
//!   Only `extended_attributes` is left out when absent (it exists only with `extensions=true`).
//! - Identifiers and codes are JSON strings (v2's examples show bare numbers, but ids here are
//!   not numbers, and a client must treat them as opaque anyway).
//! - Times are written W3C/ISO 8601 in Asia/Ho_Chi_Minh (`2026-12-03T09:30:00+07:00`), to the
//!   second. Times read (`start_date`, datetime attributes) need an offset or `Z`; a date alone
//!   means the start of that day in Vietnam; a `+` turned into a space by URL decoding is mended.
//! - Errors leave as [`Open311Failure`], a newtype (axum already gives tuples a meaning): the HTTP
//!   status is the first error's. The router's problem+json middleware rewrites error answers
//!   under `/api/v1`, so mount Open311 outside it (for example `/open311/v2`).
//! - The parsers take the fields as decoded `(name, value)` pairs, trim values, treat an empty
//!   value as absent, ignore unknown names, and refuse a single-valued field given twice (two
//!   values for one field would otherwise be silently chosen between).

mod form;
mod format;
pub mod handlers;
mod xml;

#[cfg(test)]
mod tests_form;
#[cfg(test)]
mod tests_render;
#[cfg(test)]
mod xml_check;

use std::sync::LazyLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

pub use form::{
    parse_new_request, parse_requests_query, service_code_of, NewRequestForm, RequestsQuery,
    DEFAULT_PAGE_SIZE, DEFAULT_WINDOW_DAYS, MAX_DESCRIPTION_CHARS, MAX_PAGE_SIZE,
};
pub use format::{
    render_created, render_discovery, render_errors, render_requests, render_service_definition,
    render_services, render_tokens, AttributeView, CreatedView, Datatype, Discovery, Endpoint, Extended,
    NoteView, RequestView, ServiceDefinition, ServiceType, ServiceView, Status, TokenView, SPECIFICATION_URL,
};

/// The two representations v2 defines; chosen by the extension of the path's last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            // text/* defaults to US-ASCII for some clients: say UTF-8 (Vietnamese text).
            Format::Xml => "text/xml; charset=utf-8",
        }
    }

    /// The media type as listed in discovery's `formats`.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "text/xml",
        }
    }

    /// The path extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }
}

/// Splits the last path segment (`requests.json`, `123.xml`, `discovery.json`) into its stem
/// and format. v2 requires the extension, so a segment without `.json`/`.xml` is refused (400).
pub fn split_format(segment: &str) -> Result<(String, Format), Open311Error> {
    let refused =
        || Open311Error::bad_request(format!("\"{segment}\": the format must be given as .json or .xml"));
    let (stem, ext) = segment.rsplit_once('.').ok_or_else(refused)?;
    let format = if ext.eq_ignore_ascii_case("json") {
        Format::Json
    } else if ext.eq_ignore_ascii_case("xml") {
        Format::Xml
    } else {
        return Err(refused());
    };
    if stem.is_empty() {
        return Err(refused());
    }
    Ok((stem.to_string(), format))
}

/// One entry of Open311's error list: `status` is the HTTP status of the answer, `code` the
/// Open311 error code written in the body (usually the same number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{description} (Open311 error {code})")]
pub struct Open311Error {
    #[serde(skip)]
    pub status: u16,
    pub code: u16,
    pub description: String,
}

impl Open311Error {
    /// An error whose Open311 code is its HTTP status.
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        Open311Error { status, code: status, description: description.into() }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }

    /// v2's answer to a missing or invalid `api_key`.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(403, description)
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, description)
    }
}

/// An Open311 error answer: the list rendered in the request's format, with the HTTP status of
/// the first error (500 when the list is empty or the status is not a valid one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Failure(pub Format, pub Vec<Open311Error>);

impl Open311Failure {
    pub fn one(format: Format, error: Open311Error) -> Self {
        Open311Failure(format, vec![error])
    }
}

impl IntoResponse for Open311Failure {
    fn into_response(self) -> Response {
        let Open311Failure(format, mut errors) = self;
        if errors.is_empty() {
            errors.push(Open311Error::new(500, "internal error"));
        }
        let status = errors
            .first()
            .and_then(|e| StatusCode::from_u16(e.status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = render_errors(&errors, format);
        (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
    }
}

/// Vietnam's zone; the fixed +07:00 only if the bundled database somehow lacks it (Vietnam has
/// kept +07:00 since 1975, so the answer is the same).
static LOCAL: LazyLock<TimeZone> = LazyLock::new(|| {
    TimeZone::get("Asia/Ho_Chi_Minh").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(7)))
});

/// The province's time zone, for callers that turn dates into instants the same way.
pub fn local_zone() -> TimeZone {
    LOCAL.clone()
}

/// A time as v2 writes it: W3C/ISO 8601 with the Vietnam offset, to the second
/// (`2026-12-03T09:30:00+07:00`). Use it for discovery's `changeset` too.
pub fn w3c_datetime(ts: Timestamp) -> String {
    ts.to_zoned(local_zone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}
