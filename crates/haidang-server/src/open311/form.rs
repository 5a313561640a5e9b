//! Reading what a v2 client sends: the POST requests form and the GET requests query, both as
//! already decoded `(name, value)` pairs. Each refusal is a 400 whose description names the
//! field, so the client's developer can fix the call from the message alone.

use jiff::civil::Date;
use jiff::Timestamp;

use super::format::{Datatype, ServiceDefinition, Status};
use super::{local_zone, Open311Error};

/// v2: without `start_date`/`end_date`, the requests of the last 90 days. The caller applies it.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;
/// v2 caps a request's description at 4,000 characters (counted as Unicode characters).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// A POST requests form, checked: a service code, a location, and (given the service
/// definition) attributes that fit it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewRequestForm {
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub service_code: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `(code, value)` in the order sent, from `attribute[CODE]` and, one pair per value,
    /// `attribute[CODE][]` (multivaluelist).
    pub attributes: Vec<(String, String)>,
}

/// The `service_code` of a form, to look its definition up before [`parse_new_request`].
pub fn service_code_of(pairs: &[(String, String)]) -> Option<&str> {
    pairs.iter().find(|(n, v)| n == "service_code" && !v.trim().is_empty()).map(|(_, v)| v.trim())
}

/// Checks a POST requests form. With `definition` (the service's, when it has `metadata`), the
/// attributes are checked against it: required ones present, list values among the keys,
/// numbers and datetimes readable, no attribute the service does not define.
pub fn parse_new_request(
    pairs: &[(String, String)],
    definition: Option<&ServiceDefinition>,
) -> Result<NewRequestForm, Open311Error> {
    let mut form = NewRequestForm::default();
    let (mut service_code, mut lat, mut long) = (None, None, None);
    for (name, value) in pairs {
        let value = value.trim();
        if let Some(code) = attribute_code(name)? {
            if !value.is_empty() {
                form.attributes.push((code.to_string(), value.to_string()));
            }
            continue;
        }
        let slot = match name.as_str() {
            "service_code" => &mut service_code,
            "lat" => &mut lat,
            "long" => &mut long,
            "api_key" => &mut form.api_key,
            "jurisdiction_id" => &mut form.jurisdiction_id,
            "address_string" => &mut form.address_string,
            "address_id" => &mut form.address_id,
            "email" => &mut form.email,
            "device_id" => &mut form.device_id,
            "account_id" => &mut form.account_id,
            "first_name" => &mut form.first_name,
            "last_name" => &mut form.last_name,
            "phone" => &mut form.phone,
            "description" => &mut form.description,
            "media_url" => &mut form.media_url,
            // v2 lets jurisdictions add fields; what this one does not know is not an error.
            _ => continue,
        };
        set_once(slot, name, value)?;
    }
    form.service_code = service_code.ok_or_else(|| Open311Error::bad_request("service_code is required"))?;
    match (lat, long) {
        (Some(lat), Some(long)) => {
            form.lat = Some(coordinate("lat", &lat, 90.0)?);
            form.long = Some(coordinate("long", &long, 180.0)?);
        }
        (Some(_), None) => return Err(Open311Error::bad_request("lat is given without long")),
        (None, Some(_)) => return Err(Open311Error::bad_request("long is given without lat")),
        (None, None) => {}
    }
    if form.lat.is_none() && form.address_string.is_none() && form.address_id.is_none() {
        return Err(Open311Error::bad_request(
            "a location is required: lat and long, address_string or address_id",
        ));
    }
    if form.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(Open311Error::bad_request(format!(
            "description is longer than {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    if let Some(definition) = definition {
        check_attributes(&form.attributes, definition)?;
    }
    Ok(form)
}

/// `attribute[CODE]` or `attribute[CODE][]` → `Some(CODE)`; any other name → `None`.
fn attribute_code(name: &str) -> Result<Option<&str>, Open311Error> {
    let Some(rest) = name.strip_prefix("attribute[") else {
        return Ok(None);
    };
    let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
    match code {
        Some(code) if !code.is_empty() && !code.contains(['[', ']']) => Ok(Some(code)),
        _ => Err(Open311Error::bad_request(format!(
            "{name}: attribute fields are named attribute[CODE] or attribute[CODE][]"
        ))),
    }
}

/// Keeps a non-empty value; a second non-empty value for the same field is refused rather than
/// silently choosing one.
fn set_once(slot: &mut Option<String>, name: &str, value: &str) -> Result<(), Open311Error> {
    if value.is_empty() {
        return Ok(());
    }
    if slot.is_some() {
        return Err(Open311Error::bad_request(format!("{name} is given more than once")));
    }
    *slot = Some(value.to_string());
    Ok(())
}

fn coordinate(name: &str, text: &str, limit: f64) -> Result<f64, Open311Error> {
    text.parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= limit).ok_or_else(|| {
        Open311Error::bad_request(format!("{name} must be a number between -{limit} and {limit}"))
    })
}

fn check_attributes(given: &[(String, String)], definition: &ServiceDefinition) -> Result<(), Open311Error> {
    if let Some((code, _)) =
        given.iter().find(|(code, _)| !definition.attributes.iter().any(|a| a.code == *code))
    {
        return Err(Open311Error::bad_request(format!(
            "attribute {code} is not defined for service {}",
            definition.service_code
        )));
    }
    for a in &definition.attributes {
        let values: Vec<&str> = given.iter().filter(|(c, _)| *c == a.code).map(|(_, v)| v.as_str()).collect();
        if values.is_empty() {
            // A non-variable attribute only informs; nothing is asked of the client.
            if a.variable && a.required {
                return Err(Open311Error::bad_request(format!("attribute {} is required", a.code)));
            }
            continue;
        }
        if values.len() > 1 && a.datatype != Datatype::Multivaluelist {
            return Err(Open311Error::bad_request(format!("attribute {} takes a single value", a.code)));
        }
        for value in values {
            let fits = match a.datatype {
                Datatype::String | Datatype::Text => true,
                Datatype::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
                Datatype::Datetime => parse_w3c(value).is_some(),
                Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                    a.values.iter().any(|(key, _)| key == value)
                }
            };
            if !fits {
                return Err(attribute_refused(a.code.as_str(), a.datatype, value, &a.values));
            }
        }
    }
    Ok(())
}

fn attribute_refused(
    code: &str,
    datatype: Datatype,
    value: &str,
    values: &[(String, String)],
) -> Open311Error {
    let description = match datatype {
        Datatype::Number => format!("attribute {code} must be a number"),
        Datatype::Datetime => {
            format!("attribute {code} must be a W3C datetime such as 2026-12-03T09:30:00+07:00")
        }
        _ => {
            // The value is echoed so the client sees what arrived, but not at any length.
            let shown: String = value.chars().take(100).collect();
            let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
            format!("attribute {code}: \"{shown}\" is not one of its keys ({})", keys.join(", "))
        }
    };
    Open311Error::bad_request(description)
}

/// A W3C datetime: with an offset or `Z` (`2026-12-03T09:30:00+07:00`), or a date alone, read
/// as the start of that day in Vietnam. A time without an offset is refused: its instant would
/// be a guess. A `+` that URL decoding turned into a space (a common client slip) is mended.
pub(super) fn parse_w3c(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Some(t) = text.find('T') {
        let (date, time) = text.split_at(t);
        if time.contains(' ') {
            return format!("{date}{}", time.replacen(' ', "+", 1)).parse::<Timestamp>().ok();
        }
    }
    if text.len() == 10 {
        let date: Date = text.parse().ok()?;
        return date.to_zoned(local_zone()).ok().map(|z| z.timestamp());
    }
    None
}

/// The GET requests query, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestsQuery {
    /// From `service_request_id` (comma separated). v2: when given, the other filters are ignored.
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    /// Empty: both.
    pub statuses: Vec<Status>,
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
    pub extensions: bool,
    pub jurisdiction_id: Option<String>,
}

impl Default for RequestsQuery {
    fn default() -> Self {
        RequestsQuery {
            ids: Vec::new(),
            service_codes: Vec::new(),
            start: None,
            end: None,
            statuses: Vec::new(),
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
            extensions: false,
            jurisdiction_id: None,
        }
    }
}

/// Checks the GET requests query. List parameters may be comma separated and repeated; the others
/// may be given once. The 90-day default window ([`DEFAULT_WINDOW_DAYS`]) is left to the caller.
pub fn parse_requests_query(pairs: &[(String, String)]) -> Result<RequestsQuery, Open311Error> {
    let mut q = RequestsQuery::default();
    let (mut start, mut end, mut page, mut page_size, mut extensions) = (None, None, None, None, None);
    for (name, value) in pairs {
        let value = value.trim();
        let items = || value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        match name.as_str() {
            "service_request_id" => q.ids.extend(items()),
            "service_code" => q.service_codes.extend(items()),
            "status" => {
                for item in items() {
                    let status = match item.to_ascii_lowercase().as_str() {
                        "open" => Status::Open,
                        "closed" => Status::Closed,
                        _ => return Err(Open311Error::bad_request("status must be open or closed")),
                    };
                    if !q.statuses.contains(&status) {
                        q.statuses.push(status);
                    }
                }
            }
            "start_date" => set_once(&mut start, name, value)?,
            "end_date" => set_once(&mut end, name, value)?,
            "page" => set_once(&mut page, name, value)?,
            "page_size" => set_once(&mut page_size, name, value)?,
            "extensions" => set_once(&mut extensions, name, value)?,
            "jurisdiction_id" => set_once(&mut q.jurisdiction_id, name, value)?,
            _ => {}
        }
    }
    q.start = start.map(|s| datetime_param("start_date", &s)).transpose()?;
    q.end = end.map(|s| datetime_param("end_date", &s)).transpose()?;
    if let (Some(start), Some(end)) = (q.start, q.end) {
        if end < start {
            return Err(Open311Error::bad_request("end_date is before start_date"));
        }
    }
    if let Some(page) = page {
        q.page = page
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| Open311Error::bad_request("page must be a whole number from 1"))?;
    }
    if let Some(size) = page_size {
        q.page_size = size.parse().ok().filter(|s| (1..=MAX_PAGE_SIZE).contains(s)).ok_or_else(|| {
            Open311Error::bad_request(format!("page_size must be a whole number from 1 to {MAX_PAGE_SIZE}"))
        })?;
    }
    if let Some(ext) = extensions {
        q.extensions = match ext.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(Open311Error::bad_request("extensions must be true or false")),
        };
    }
    Ok(q)
}

fn datetime_param(name: &str, text: &str) -> Result<Timestamp, Open311Error> {
    parse_w3c(text).ok_or_else(|| {
        Open311Error::bad_request(format!(
            "{name} must be a W3C datetime such as 2026-12-03T09:30:00+07:00 (or a date, 2026-12-03)"
        ))
    })
}
