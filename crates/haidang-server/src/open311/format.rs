//! The v2 view structs and their rendering. Each struct serializes to exactly v2's JSON (field
//! names and order as in the specification's examples); the XML twin is written in `xml.rs`
//! from the same structs, so the two formats cannot drift apart in what they carry.

use jiff::Timestamp;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use super::{w3c_datetime, xml, Format, Open311Error};

/// The specification URL discovery names for a v2 endpoint.
pub const SPECIFICATION_URL: &str = "http://wiki.open311.org/GeoReport_v2";

/// `discovery.json`: where the endpoints are and whom to ask.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    /// When this document last changed (see [`super::w3c_datetime`]).
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    /// Normally [`SPECIFICATION_URL`].
    pub specification: String,
    pub url: String,
    pub changeset: String,
    /// `production` or `test`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Media types: `application/json`, `text/xml` (see [`Format::media_type`]).
    pub formats: Vec<String>,
}

/// How a service's requests are handled, as v2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    Realtime,
    Batch,
    Blackbox,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Realtime => "realtime",
            ServiceType::Batch => "batch",
            ServiceType::Blackbox => "blackbox",
        }
    }
}

/// One entry of `services.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Whether a service definition (attributes) exists for this service.
    pub metadata: bool,
    #[serde(rename = "type")]
    pub type_: ServiceType,
    /// Written as one comma separated string, as v2 does.
    #[serde(serialize_with = "keywords_string")]
    pub keywords: Vec<String>,
    pub group: String,
}

/// The datatype of a service attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }

    /// Whether the value must be one of the attribute's keys.
    pub fn is_list(self) -> bool {
        matches!(self, Datatype::Singlevaluelist | Datatype::Multivaluelist)
    }
}

/// `services/{code}.json`: the extra attributes a request of this service carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<AttributeView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeView {
    /// `false`: the attribute only informs the user, no input is expected.
    pub variable: bool,
    pub code: String,
    pub datatype: Datatype,
    pub required: bool,
    /// Empty is written as `null` (v2's examples do so).
    #[serde(serialize_with = "empty_as_null")]
    pub datatype_description: String,
    pub order: u32,
    pub description: String,
    /// `(key, name)` pairs of a list datatype; written as `[{"key":…,"name":…}]`.
    #[serde(serialize_with = "key_name_list")]
    pub values: Vec<(String, String)>,
}

/// The public status of a request: v2 knows only these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

/// One service request as `requests.json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestView {
    pub service_request_id: String,
    pub status: Status,
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    #[serde(serialize_with = "time")]
    pub requested_datetime: Timestamp,
    #[serde(serialize_with = "optional_time")]
    pub updated_datetime: Option<Timestamp>,
    #[serde(serialize_with = "optional_time")]
    pub expected_datetime: Option<Timestamp>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
    /// Present only when the client asked extensions=true: detailed state and the notes history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_attributes: Option<Extended>,
}

/// The `extensions=true` block: the platform's own state, finer than open/closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extended {
    pub detailed_status: String,
    pub detailed_status_label: String,
    pub notes: Vec<NoteView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteView {
    #[serde(serialize_with = "time")]
    pub datetime: Timestamp,
    pub description: String,
    pub kind: String,
}

/// The answer to POST requests: an id when the request was created at once, or a token to
/// exchange later (`tokens/{token}`). Serialized by hand: see [`CreatedView::shown`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatedView {
    pub token: Option<String>,
    pub service_request_id: Option<String>,
    pub service_notice: Option<String>,
    pub account_id: Option<String>,
    /// The common extension: where the metadata-stripped copy of an uploaded `media` file is.
    /// Written only when a file came with the request.
    pub media_url: Option<String>,
}

impl CreatedView {
    /// Which of `token` and `service_request_id` are written: each one that is set, and
    /// `service_request_id` (empty) when neither is, so the answer always has one of v2's two shapes.
    pub(super) fn shown(&self) -> (bool, bool) {
        let token = self.token.is_some();
        (token, self.service_request_id.is_some() || !token)
    }
}

impl Serialize for CreatedView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (show_token, show_id) = self.shown();
        let mut st = s.serialize_struct("CreatedView", 5)?;
        if show_token {
            st.serialize_field("token", &self.token)?;
        }
        if show_id {
            st.serialize_field("service_request_id", &self.service_request_id)?;
        }
        st.serialize_field("service_notice", &self.service_notice)?;
        st.serialize_field("account_id", &self.account_id)?;
        if self.media_url.is_some() {
            st.serialize_field("media_url", &self.media_url)?;
        }
        st.end()
    }
}

/// `tokens/{token}`: the request a token became, once it exists (`null` until then).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenView {
    pub token: String,
    pub service_request_id: Option<String>,
}

fn keywords_string<S: Serializer>(keywords: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&keywords.join(", "))
}

fn empty_as_null<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    if text.is_empty() {
        s.serialize_none()
    } else {
        s.serialize_str(text)
    }
}

fn key_name_list<S: Serializer>(values: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct KeyName<'a> {
        key: &'a str,
        name: &'a str,
    }
    let mut seq = s.serialize_seq(Some(values.len()))?;
    for (key, name) in values {
        seq.serialize_element(&KeyName { key, name })?;
    }
    seq.end()
}

fn time<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&w3c_datetime(*ts))
}

fn optional_time<S: Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => time(ts, s),
        None => s.serialize_none(),
    }
}

/// Serializes with serde_json. The structs above cannot fail to serialize; should one ever,
/// the client still gets a well-formed Open311 error instead of a half body.
fn json<T: Serialize + ?Sized>(value: &T) -> (&'static str, String) {
    let body = serde_json::to_string(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "open311: JSON rendering failed");
        r#"[{"code":500,"description":"internal error"}]"#.to_string()
    });
    (Format::Json.content_type(), body)
}

pub fn render_discovery(d: &Discovery, f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(d),
        Format::Xml => (f.content_type(), xml::discovery(d)),
    }
}

pub fn render_services(s: &[ServiceView], f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(s),
        Format::Xml => (f.content_type(), xml::services(s)),
    }
}

pub fn render_service_definition(d: &ServiceDefinition, f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(d),
        Format::Xml => (f.content_type(), xml::service_definition(d)),
    }
}

pub fn render_requests(r: &[RequestView], f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(r),
        Format::Xml => (f.content_type(), xml::requests(r)),
    }
}

pub fn render_created(c: &[CreatedView], f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(c),
        Format::Xml => (f.content_type(), xml::created(c)),
    }
}

pub fn render_tokens(t: &[TokenView], f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(t),
        Format::Xml => (f.content_type(), xml::tokens(t)),
    }
}

pub fn render_errors(e: &[Open311Error], f: Format) -> (&'static str, String) {
    match f {
        Format::Json => json(e),
        Format::Xml => (f.content_type(), xml::errors(e)),
    }
}
