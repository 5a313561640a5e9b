//! A subscription as the caller writes it (NGSI-LD §5.2.12): read from its JSON with every rule
//! checked and the offending member named, and rendered back with its delivery status.
//!
//! The document is kept as the caller sent it (short names, in the caller's context); what the
//! notifier works with is compiled from it in [`super::matcher`].

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::hub::entity::is_uri;
use crate::hub::geoquery::GeoQuery;
use crate::hub::query::Query;

/// When a change is notified (v1.8 `notificationTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    EntityCreated,
    EntityUpdated,
    EntityDeleted,
    AttributeCreated,
    AttributeUpdated,
    AttributeDeleted,
}

impl Trigger {
    pub const ALL: [Trigger; 6] = [
        Trigger::EntityCreated,
        Trigger::EntityUpdated,
        Trigger::EntityDeleted,
        Trigger::AttributeCreated,
        Trigger::AttributeUpdated,
        Trigger::AttributeDeleted,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Trigger::EntityCreated => "entityCreated",
            Trigger::EntityUpdated => "entityUpdated",
            Trigger::EntityDeleted => "entityDeleted",
            Trigger::AttributeCreated => "attributeCreated",
            Trigger::AttributeUpdated => "attributeUpdated",
            Trigger::AttributeDeleted => "attributeDeleted",
        }
    }

    fn parse(text: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.name() == text)
    }
}

/// The standard's default: an attribute created or updated (so a new entity is notified too).
pub const DEFAULT_TRIGGERS: [Trigger; 2] = [Trigger::AttributeCreated, Trigger::AttributeUpdated];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    Normalized,
    KeyValues,
    Concise,
}

impl NotifyFormat {
    fn parse(text: &str) -> Option<NotifyFormat> {
        match text {
            "normalized" => Some(NotifyFormat::Normalized),
            "keyValues" | "simplified" => Some(NotifyFormat::KeyValues),
            "concise" => Some(NotifyFormat::Concise),
            _ => None,
        }
    }
}

/// Which entities: a type, narrowed by an id or an id pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectorSpec {
    pub type_name: String,
    pub id: Option<String>,
    pub id_pattern: Option<String>,
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub uri: String,
    pub target: Target,
    /// `application/ld+json`: the @context rides in the body; else in a Link header.
    pub accept_ld: bool,
    /// Sent as HTTP headers (or MQTT metadata) with every notification.
    pub receiver_info: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Http,
    Mqtt(MqttTarget),
}

/// An MQTT endpoint: `mqtt[s]://[user:password@]host[:port]/topic`.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttTarget {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub topic: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// 0 or 1 (`MQTT-QoS` in notifierInfo). The standard's default is 0; ours is 1, so a
    /// notification counts as sent only once the broker has it.
    pub qos: u8,
}

impl MqttTarget {
    /// One connection per broker and credentials: a subscription with a wrong password must
    /// not publish over another one's connection.
    pub fn broker_key(&self) -> String {
        use sha2::Digest;
        let secret = hex::encode(sha2::Sha256::digest(self.password.as_deref().unwrap_or("").as_bytes()));
        format!(
            "{}://{}:{}@{}:{}",
            if self.tls { "mqtts" } else { "mqtt" },
            self.username.as_deref().unwrap_or(""),
            secret.get(..16).unwrap_or_default(),
            self.host,
            self.port
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeoQSpec {
    pub georel: String,
    pub geometry: String,
    pub coordinates: Value,
    pub geoproperty: Option<String>,
}

/// A subscription's content, names as the caller wrote them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSpec {
    pub id: String,
    pub entities: Vec<SelectorSpec>,
    pub watched: Option<Vec<String>>,
    pub triggers: Vec<Trigger>,
    /// Between periodic notifications of every matching entity.
    pub time_interval: Option<jiff::SignedDuration>,
    pub q: Option<String>,
    pub geo_q: Option<GeoQSpec>,
    pub active: bool,
    pub expires_at: Option<Timestamp>,
    /// At least this between two notifications; changes in between are sent together after.
    pub throttling: Option<jiff::SignedDuration>,
    /// Only these attributes in each notified entity.
    pub attributes: Option<Vec<String>>,
    pub sys_attrs: bool,
    pub format: NotifyFormat,
    pub endpoint: Endpoint,
    pub lang: Option<String>,
}

/// A member that breaks a rule: `member` is its path ("notification.endpoint.uri").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionError {
    pub member: String,
    pub message: String,
    /// The standard answers a feature it does not require with OperationNotSupported.
    pub unsupported: bool,
}

impl std::fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.member, self.message)
    }
}

fn bad(member: &str, message: impl Into<String>) -> SubscriptionError {
    SubscriptionError { member: member.to_string(), message: message.into(), unsupported: false }
}

fn unsupported(member: &str, message: impl Into<String>) -> SubscriptionError {
    SubscriptionError { member: member.to_string(), message: message.into(), unsupported: true }
}

/// Members the server sets; a client that sends back what it read has them dropped, not refused.
pub const READ_ONLY: [&str; 5] = ["status", "jsonldContext", "createdAt", "modifiedAt", "@context"];
const NOTIFICATION_READ_ONLY: [&str; 7] = [
    "status",
    "timesSent",
    "timesFailed",
    "lastNotification",
    "lastFailure",
    "lastSuccess",
    "lastFailureReason",
];
const MEMBERS: [&str; 15] = [
    "id",
    "type",
    "subscriptionName",
    "description",
    "entities",
    "watchedAttributes",
    "notificationTrigger",
    "timeInterval",
    "q",
    "geoQ",
    "isActive",
    "notification",
    "expiresAt",
    "throttling",
    "lang",
];
const NOT_SUPPORTED: [&str; 4] = ["csf", "temporalQ", "scopeQ", "showChanges"];

/// The document to keep: the caller's members without the read-only ones.
pub fn stored_document(body: &Value) -> Value {
    let Value::Object(o) = body else { return body.clone() };
    let mut out: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !READ_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(Value::Object(n)) = out.get_mut("notification") {
        n.retain(|k, _| !NOTIFICATION_READ_ONLY.contains(&k.as_str()));
    }
    Value::Object(out)
}

/// A PATCH: each member of the fragment replaces the stored one, the members of
/// `notification` one by one; null (or NGSI-LD's null) removes it. An endpoint sent back with
/// its password hidden (as a GET shows it) keeps the stored password. The result is checked
/// whole, as a create is.
pub fn merge_fragment(stored: &Value, fragment: &Value) -> Result<Value, SubscriptionError> {
    let (Value::Object(base), Value::Object(patch)) = (stored, stored_document(fragment)) else {
        return Err(bad("", "the body must be a JSON object"));
    };
    let is_null = |v: &Value| v.is_null() || v.as_str() == Some(crate::hub::ops::NGSI_LD_NULL);
    let mut out = base.clone();
    for (k, v) in patch {
        if k == "id" {
            if Some(&v) != base.get("id") {
                return Err(bad("id", "a subscription's id cannot change"));
            }
            continue;
        }
        if is_null(&v) {
            out.remove(&k);
            continue;
        }
        match (k.as_str(), v, out.get_mut("notification")) {
            ("notification", Value::Object(members), Some(Value::Object(current))) => {
                for (m, mv) in members {
                    if is_null(&mv) {
                        current.remove(&m);
                    } else if m == "endpoint" {
                        let kept = current
                            .get("endpoint")
                            .and_then(|e| e.get("uri"))
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        current.insert(m, keep_password(mv, kept.as_deref()));
                    } else {
                        current.insert(m, mv);
                    }
                }
            }
            (_, v, _) => {
                out.insert(k, v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// An endpoint whose URI hides its password (`***`, as shown) gets the stored one back.
fn keep_password(mut endpoint: Value, stored_uri: Option<&str>) -> Value {
    let (Some(stored), Some(uri)) = (stored_uri, endpoint.get("uri").and_then(Value::as_str)) else {
        return endpoint;
    };
    let (Ok(mut sent), Ok(old)) = (url::Url::parse(uri), url::Url::parse(stored)) else { return endpoint };
    if sent.password() == Some("***")
        && sent.username() == old.username()
        && sent.host_str() == old.host_str()
    {
        let _ = sent.set_password(old.password());
        endpoint["uri"] = Value::String(sent.to_string());
    }
    endpoint
}

fn string(member: &str, v: &Value) -> Result<String, SubscriptionError> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::String(_) => Err(bad(member, "must not be empty")),
        _ => Err(bad(member, "must be a string")),
    }
}

fn strings(member: &str, v: &Value) -> Result<Vec<String>, SubscriptionError> {
    let Value::Array(items) = v else { return Err(bad(member, "must be an array of names")) };
    if items.is_empty() {
        return Err(bad(member, "must name at least one attribute"));
    }
    items.iter().enumerate().map(|(i, item)| string(&format!("{member}[{i}]"), item)).collect()
}

/// A number of seconds (the standard's Number: fractions allowed), from a millisecond to a year.
fn seconds(member: &str, v: &Value) -> Result<jiff::SignedDuration, SubscriptionError> {
    match v.as_f64() {
        Some(n) if (0.001..=31_536_000.0).contains(&n) => {
            Ok(jiff::SignedDuration::from_millis((n * 1000.0).round() as i64))
        }
        Some(_) => Err(bad(member, "must be a number of seconds from 0.001 to 31536000")),
        None => Err(bad(member, "must be a number of seconds")),
    }
}

fn key_values(member: &str, v: &Value) -> Result<Vec<(String, String)>, SubscriptionError> {
    let Value::Array(items) = v else { return Err(bad(member, "must be an array of {\"key\", \"value\"}")) };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{member}[{i}]");
            let key = string(&format!("{at}.key"), item.get("key").unwrap_or(&Value::Null))?;
            let value = string(&format!("{at}.value"), item.get("value").unwrap_or(&Value::Null))?;
            Ok((key, value))
        })
        .collect()
}

/// Reads a subscription document (the stored form or a request body). `now` decides whether
/// `expiresAt` is in the past, which a new or changed subscription may not be.
pub fn parse_subscription(
    doc: &Value,
    now: Option<Timestamp>,
) -> Result<SubscriptionSpec, SubscriptionError> {
    let Value::Object(o) = doc else { return Err(bad("", "the body must be a JSON object")) };
    for k in o.keys() {
        if NOT_SUPPORTED.contains(&k.as_str()) {
            return Err(unsupported(k, "is not supported by this server"));
        }
        if !MEMBERS.contains(&k.as_str()) && !READ_ONLY.contains(&k.as_str()) {
            return Err(bad(
                k,
                format!("is not a member of a Subscription (members: {})", MEMBERS.join(", ")),
            ));
        }
    }
    match o.get("type") {
        Some(Value::String(t)) if t == "Subscription" => {}
        Some(_) => return Err(bad("type", "must be \"Subscription\"")),
        None => return Err(bad("type", "is missing; a subscription has \"type\": \"Subscription\"")),
    }
    let id = match o.get("id") {
        Some(v) => {
            let id = string("id", v)?;
            if !is_uri(&id) {
                return Err(bad("id", format!("'{id}' is not a URI, such as urn:ngsi-ld:Subscription:1")));
            }
            id
        }
        None => return Err(bad("id", "is missing")),
    };
    for member in ["subscriptionName", "description", "lang"] {
        if let Some(v) = o.get(member) {
            string(member, v)?;
        }
    }
    let entities = match o.get("entities") {
        Some(v) => selectors(v)?,
        None => Vec::new(),
    };
    let watched = o.get("watchedAttributes").map(|v| strings("watchedAttributes", v)).transpose()?;
    if entities.is_empty() && watched.is_none() {
        return Err(bad("entities", "a subscription needs entities or watchedAttributes (or both)"));
    }
    let triggers = match o.get("notificationTrigger") {
        None => DEFAULT_TRIGGERS.to_vec(),
        Some(v) => {
            let names = strings("notificationTrigger", v)?;
            names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    Trigger::parse(n).ok_or_else(|| {
                        let all: Vec<&str> = Trigger::ALL.iter().map(Trigger::name).collect();
                        bad(
                            &format!("notificationTrigger[{i}]"),
                            format!("'{n}' is not one of {}", all.join(", ")),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let time_interval = o.get("timeInterval").map(|v| seconds("timeInterval", v)).transpose()?;
    let throttling = o.get("throttling").map(|v| seconds("throttling", v)).transpose()?;
    if time_interval.is_some() && watched.is_some() {
        return Err(bad("timeInterval", "a periodic subscription has no watchedAttributes"));
    }
    if time_interval.is_some() && throttling.is_some() {
        return Err(bad("timeInterval", "a periodic subscription has no throttling"));
    }
    if time_interval.is_some() && entities.is_empty() {
        return Err(bad("entities", "a periodic subscription (timeInterval) needs entities"));
    }
    let q = match o.get("q") {
        Some(v) => {
            let text = string("q", v)?;
            Query::parse(&text).map_err(|e| bad("q", e.to_string()))?;
            Some(text)
        }
        None => None,
    };
    let geo_q = o.get("geoQ").map(geo_q).transpose()?;
    let active = match o.get("isActive") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isActive", "must be true or false")),
    };
    let expires_at = match o.get("expiresAt") {
        None => None,
        Some(v) => {
            let text = string("expiresAt", v)?;
            let at: Timestamp = text
                .parse()
                .map_err(|e| bad("expiresAt", format!("'{text}' is not a date and time (RFC 3339): {e}")))?;
            if now.is_some_and(|n| at <= n) {
                return Err(bad("expiresAt", format!("{text} is in the past")));
            }
            Some(at)
        }
    };
    let n = o.get("notification").ok_or_else(|| bad("notification", "is missing"))?;
    let Value::Object(n) = n else { return Err(bad("notification", "must be an object")) };
    for k in n.keys() {
        let known = ["attributes", "sysAttrs", "format", "endpoint"].contains(&k.as_str())
            || NOTIFICATION_READ_ONLY.contains(&k.as_str());
        if !known {
            return Err(bad(&format!("notification.{k}"), "is not a member of notification parameters"));
        }
    }
    let attributes = n.get("attributes").map(|v| strings("notification.attributes", v)).transpose()?;
    let sys_attrs = match n.get("sysAttrs") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("notification.sysAttrs", "must be true or false")),
    };
    let format = match n.get("format") {
        None => NotifyFormat::Normalized,
        Some(v) => {
            let text = string("notification.format", v)?;
            NotifyFormat::parse(&text).ok_or_else(|| {
                bad("notification.format", format!("'{text}' is not one of normalized, keyValues, concise"))
            })?
        }
    };
    let endpoint = endpoint(n.get("endpoint").ok_or_else(|| bad("notification.endpoint", "is missing"))?)?;
    Ok(SubscriptionSpec {
        id,
        entities,
        watched,
        triggers,
        time_interval,
        q,
        geo_q,
        active,
        expires_at,
        throttling,
        attributes,
        sys_attrs,
        format,
        endpoint,
        lang: o.get("lang").and_then(Value::as_str).map(str::to_string),
    })
}

fn selectors(v: &Value) -> Result<Vec<SelectorSpec>, SubscriptionError> {
    let Value::Array(items) = v else { return Err(bad("entities", "must be an array of entity selectors")) };
    if items.is_empty() {
        return Err(bad("entities", "must hold at least one selector"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("entities[{i}]");
        let Value::Object(s) = item else { return Err(bad(&at, "must be an object")) };
        for k in s.keys() {
            if !["type", "id", "idPattern"].contains(&k.as_str()) {
                return Err(bad(
                    &format!("{at}.{k}"),
                    "is not a member of an entity selector (type, id, idPattern)",
                ));
            }
        }
        let type_name = string(
            &format!("{at}.type"),
            s.get("type").ok_or_else(|| bad(&format!("{at}.type"), "is missing"))?,
        )?;
        let id = s.get("id").map(|v| string(&format!("{at}.id"), v)).transpose()?;
        if let Some(id) = &id {
            if !is_uri(id) {
                return Err(bad(&format!("{at}.id"), format!("'{id}' is not a URI")));
            }
        }
        let id_pattern = s.get("idPattern").map(|v| string(&format!("{at}.idPattern"), v)).transpose()?;
        if let Some(p) = &id_pattern {
            regex::Regex::new(p)
                .map_err(|e| bad(&format!("{at}.idPattern"), format!("is not a regular expression: {e}")))?;
        }
        out.push(SelectorSpec { type_name, id, id_pattern });
    }
    Ok(out)
}

fn geo_q(v: &Value) -> Result<GeoQSpec, SubscriptionError> {
    let Value::Object(g) = v else { return Err(bad("geoQ", "must be an object")) };
    let text = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let spec = GeoQSpec {
        georel: text("georel"),
        geometry: text("geometry"),
        coordinates: g.get("coordinates").cloned().unwrap_or(Value::Null),
        geoproperty: g.get("geoproperty").and_then(Value::as_str).map(str::to_string),
    };
    GeoQuery::parse(&spec.georel, &spec.geometry, &spec.coordinates, spec.geoproperty.as_deref())
        .map_err(|e| bad(&format!("geoQ.{}", e.param), e.to_string()))?;
    Ok(spec)
}

/// Headers of a notification the server sets itself.
const RESERVED_HEADERS: [&str; 7] = [
    "Content-Type",
    "Content-Length",
    "Host",
    "Link",
    "Transfer-Encoding",
    "Connection",
    "NGSILD-Notification-Id",
];

fn endpoint(v: &Value) -> Result<Endpoint, SubscriptionError> {
    let Value::Object(e) = v else { return Err(bad("notification.endpoint", "must be an object")) };
    let uri = string(
        "notification.endpoint.uri",
        e.get("uri").ok_or_else(|| bad("notification.endpoint.uri", "is missing"))?,
    )?;
    let accept_ld = match e.get("accept").map(|a| string("notification.endpoint.accept", a)).transpose()? {
        None => false,
        Some(a) if a == "application/json" => false,
        Some(a) if a == "application/ld+json" => true,
        Some(a) => {
            return Err(bad(
                "notification.endpoint.accept",
                format!("'{a}' is not one of application/json, application/ld+json"),
            ))
        }
    };
    let receiver_info = match e.get("receiverInfo") {
        Some(v) => key_values("notification.endpoint.receiverInfo", v)?,
        None => Vec::new(),
    };
    for (i, (k, v)) in receiver_info.iter().enumerate() {
        let at = format!("notification.endpoint.receiverInfo[{i}]");
        let token = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !token {
            return Err(bad(&format!("{at}.key"), format!("'{k}' is not a header name")));
        }
        if RESERVED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(k)) {
            return Err(bad(&format!("{at}.key"), format!("{k} is set by the server, not by receiverInfo")));
        }
        if v.bytes().any(|b| b.is_ascii_control()) {
            return Err(bad(
                &format!("{at}.value"),
                "a header value cannot hold control characters (line breaks)",
            ));
        }
    }
    let notifier_info = match e.get("notifierInfo") {
        Some(v) => key_values("notification.endpoint.notifierInfo", v)?,
        None => Vec::new(),
    };
    let target = target(&uri, &notifier_info)?;
    Ok(Endpoint { uri, target, accept_ld, receiver_info })
}

/// The endpoint URI: http(s) with a host, or mqtt(s) with a host and a topic.
fn target(uri: &str, notifier_info: &[(String, String)]) -> Result<Target, SubscriptionError> {
    const MEMBER: &str = "notification.endpoint.uri";
    let scheme = uri.split_once("://").map(|(s, _)| s.to_ascii_lowercase()).unwrap_or_default();
    if matches!(scheme.as_str(), "mqtt" | "mqtts") {
        return mqtt_target(uri, notifier_info);
    }
    let url = url::Url::parse(uri)
        .map_err(|e| bad(MEMBER, format!("'{}' is not a URL: {e}", hide_password(uri))))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(MEMBER, format!("'{}' has no host", hide_password(uri))));
    }
    match url.scheme() {
        "http" | "https" => Ok(Target::Http),
        other => Err(bad(MEMBER, format!("the scheme '{other}' is not one of http, https, mqtt, mqtts"))),
    }
}

fn mqtt_target(uri: &str, notifier_info: &[(String, String)]) -> Result<Target, SubscriptionError> {
    const MEMBER: &str = "notification.endpoint.uri";
    let u = crate::hub::mqtt_url::parse(uri).map_err(|m| bad(MEMBER, m))?;
    if u.topic.is_empty() {
        return Err(bad(MEMBER, format!("'{}' names no topic (mqtt://host:port/topic)", hide_password(uri))));
    }
    // A '#' starts the URL's fragment, so it is looked for there too.
    if u.topic.contains(['+', '#']) || u.has_fragment {
        return Err(bad(MEMBER, "a notification topic cannot hold the wildcards + or #"));
    }
    if u.has_query {
        return Err(bad(MEMBER, "an MQTT endpoint takes no query string; set MQTT-QoS in notifierInfo"));
    }
    let mut qos = 1;
    for (k, v) in notifier_info {
        match (k.as_str(), v.as_str()) {
            ("MQTT-QoS", "0") => qos = 0,
            ("MQTT-QoS", "1") => qos = 1,
            ("MQTT-QoS", "2") => {
                return Err(unsupported(
                    "notification.endpoint.notifierInfo",
                    "MQTT-QoS 2 is not supported; use 0 or 1",
                ))
            }
            ("MQTT-QoS", other) => {
                return Err(bad(
                    "notification.endpoint.notifierInfo",
                    format!("MQTT-QoS '{other}' is not 0 or 1"),
                ))
            }
            ("MQTT-Version", "mqtt3.1.1") => {}
            ("MQTT-Version", other) => {
                return Err(unsupported(
                    "notification.endpoint.notifierInfo",
                    format!("MQTT-Version '{other}' is not supported; this server speaks mqtt3.1.1"),
                ))
            }
            _ => {}
        }
    }
    Ok(Target::Mqtt(MqttTarget {
        host: u.host,
        port: u.port,
        tls: u.tls,
        topic: u.topic,
        username: u.username,
        password: u.password,
        qos,
    }))
}

/// The endpoint's host (without brackets), for the rule on endpoints on the server's own
/// machine or network link.
pub fn endpoint_host(endpoint: &Endpoint) -> Option<String> {
    match &endpoint.target {
        Target::Mqtt(m) => Some(m.host.clone()),
        Target::Http => url::Url::parse(&endpoint.uri)
            .ok()?
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()),
    }
}

/// Whether a host names this machine or its link: `localhost`, a loopback, link-local or
/// unspecified address (where the server's own services and a cloud's metadata live).
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => is_local_ip(&ip),
        Err(_) => false,
    }
}

pub fn is_local_ip(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_link_local())
        }
    }
}

/// What the store keeps of deliveries, shown in the subscription's `notification` member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryStatus {
    pub times_sent: i64,
    pub times_failed: i64,
    pub last_notification: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    pub last_failure_reason: Option<String>,
}

/// The subscription as the API shows it: the document with the server's members, the endpoint's
/// password hidden.
pub fn render(
    doc: &Value,
    spec: &SubscriptionSpec,
    status: &DeliveryStatus,
    context_url: Option<&str>,
    now: Timestamp,
) -> Value {
    let mut out = match doc {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    out.insert("isActive".into(), Value::Bool(spec.active));
    let state = if spec.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else if spec.active {
        "active"
    } else {
        "paused"
    };
    out.insert("status".into(), Value::String(state.into()));
    if let Some(url) = context_url {
        out.insert("jsonldContext".into(), Value::String(url.into()));
    }
    if let Some(Value::Object(n)) = out.get_mut("notification") {
        if let Some(Value::Object(e)) = n.get_mut("endpoint") {
            if let Some(Value::String(uri)) = e.get_mut("uri") {
                *uri = hide_password(uri);
            }
        }
        let time = |t: Option<Timestamp>| t.map(|t| Value::String(t.to_string()));
        let failing = match (status.last_failure, status.last_success) {
            (Some(f), Some(s)) => f > s,
            (Some(_), None) => true,
            _ => false,
        };
        n.insert("status".into(), Value::String(if failing { "failed" } else { "ok" }.into()));
        n.insert("timesSent".into(), Value::from(status.times_sent));
        n.insert("timesFailed".into(), Value::from(status.times_failed));
        for (k, v) in [
            ("lastNotification", time(status.last_notification)),
            ("lastSuccess", time(status.last_success)),
            ("lastFailure", time(status.last_failure)),
            ("lastFailureReason", status.last_failure_reason.clone().map(Value::String)),
        ] {
            if let Some(v) = v {
                n.insert(k.into(), v);
            }
        }
    }
    Value::Object(out)
}

/// `mqtt://user:secret@host/t` → `mqtt://user:***@host/t`: a broker password is a secret.
pub fn hide_password(uri: &str) -> String {
    crate::hub::mqtt_url::hide(uri)
}
