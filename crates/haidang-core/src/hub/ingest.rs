//! Messages from field devices and agency systems into entities: a mapping per topic says how
//! a JSON payload names the entity (its id and type) and its attributes. What cannot be mapped
//! is refused with the reason, for the dead-letter list, never half-written.
//!
//! Two payload shapes: `keyValues`, the common `{"id": .., "type": .., "pm25": 41.2}` (with the
//! id, the type, the reading time and the location found where the mapping says), and
//! `normalized`, an NGSI-LD entity as the API takes it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::entity::{parse_entity, Entity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    KeyValues,
    Normalized,
}

/// One piece of an id template: text, a topic level, or a payload member.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Level(usize),
    Member(String),
}

/// "urn:ngsi-ld:AirQualityObserved:{2}" (the topic's third level) or "...:{station}" (a
/// payload member).
#[derive(Debug, Clone, PartialEq)]
pub struct IdTemplate {
    pieces: Vec<Piece>,
}

impl IdTemplate {
    pub fn parse(text: &str) -> Result<IdTemplate, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (before, after) = rest.split_at(open);
            if !before.is_empty() {
                pieces.push(Piece::Text(before.to_string()));
            }
            let close = after.find('}').ok_or_else(|| format!("'{text}': a '{{' is not closed"))?;
            let name = after.get(1..close).unwrap_or_default().trim();
            if name.is_empty() {
                return Err(format!("'{text}': an empty {{}}"));
            }
            pieces.push(match name.parse::<usize>() {
                Ok(n) => Piece::Level(n),
                Err(_) => Piece::Member(name.to_string()),
            });
            rest = after.get(close + 1..).unwrap_or_default();
        }
        if rest.contains('}') {
            return Err(format!("'{text}': a '}}' without its '{{'"));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(IdTemplate { pieces })
    }

    fn render(&self, topic: &str, payload: &Map<String, Value>) -> Result<String, String> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Level(n) => match levels.get(*n) {
                    Some(l) if !l.is_empty() => out.push_str(l),
                    _ => return Err(format!("the topic {topic} has no level {n} for the entity id")),
                },
                Piece::Member(m) => match payload.get(m) {
                    Some(Value::String(s)) if !s.is_empty() => out.push_str(s),
                    Some(Value::Number(n)) => out.push_str(&n.to_string()),
                    _ => return Err(format!("the payload has no \"{m}\" for the entity id")),
                },
            }
        }
        Ok(out)
    }
}

/// How the messages of one topic filter become entities.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// An MQTT topic filter (`+` one level, `#` the rest).
    pub filter: String,
    pub format: PayloadFormat,
    /// The type when the payload gives none.
    pub entity_type: Option<String>,
    /// The id when the payload gives none (or always, when set).
    pub id: Option<IdTemplate>,
    /// The payload member holding the reading time (RFC 3339, or seconds or milliseconds
    /// since 1970); every attribute gets it as observedAt.
    pub observed_at: Option<String>,
    /// Payload member → attribute name; empty: every member, under its own name.
    pub attributes: BTreeMap<String, String>,
    /// Attribute → unit code (UN/CEFACT, e.g. GQ for µg/m³, CEL for °C, MTR for metres).
    pub units: BTreeMap<String, String>,
    /// Payload members (longitude, latitude) that make the `location` Point.
    pub location: Option<(String, String)>,
    /// The reading time kept as this attribute too (Smart Data Models call it dateObserved).
    pub time_attribute: Option<String>,
}

/// Whether `topic` matches an MQTT topic filter.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A topic filter as a broker takes it: `#` only last, wildcards alone in their level.
pub fn check_filter(filter: &str) -> Result<(), String> {
    if filter.is_empty() {
        return Err("a topic filter is empty".into());
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains(['+', '#']) && level.len() > 1 {
            return Err(format!("'{filter}': + and # stand alone in their level"));
        }
        if *level == "#" && i + 1 != levels.len() {
            return Err(format!("'{filter}': # goes last"));
        }
    }
    Ok(())
}

fn reading_time(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::String(s) => s.parse::<Timestamp>().map_err(|e| format!("'{s}' is not a date and time: {e}")),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            // Seconds until the year 5138, milliseconds after: devices send either.
            let micros = if x.abs() < 1e11 { x * 1e6 } else { x * 1e3 };
            if !micros.is_finite() {
                return Err(format!("{n} is not a time"));
            }
            Timestamp::from_microsecond(micros as i64).map_err(|e| format!("{n} is not a time: {e}"))
        }
        _ => Err("must be a date and time or a number of seconds since 1970".into()),
    }
}

impl Mapping {
    /// The entity a message describes (names as the payload writes them), or why not.
    pub fn entity(&self, topic: &str, payload: &[u8]) -> Result<Entity, String> {
        let value: Value =
            serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
        match self.format {
            PayloadFormat::Normalized => parse_entity(&value).map_err(|e| e.to_string()),
            PayloadFormat::KeyValues => {
                let Value::Object(o) = value else { return Err("the payload is not a JSON object".into()) };
                parse_entity(&self.normalized(topic, &o)?).map_err(|e| e.to_string())
            }
        }
    }

    fn normalized(&self, topic: &str, o: &Map<String, Value>) -> Result<Value, String> {
        let id = match (&self.id, o.get("id")) {
            (Some(t), _) => t.render(topic, o)?,
            (None, Some(Value::String(id))) => id.clone(),
            (None, Some(_)) => return Err("\"id\" must be a string".into()),
            (None, None) => {
                return Err("no entity id: the payload has no \"id\" and the mapping names none".into())
            }
        };
        let kind = match (o.get("type"), &self.entity_type) {
            (Some(Value::String(t)), _) => t.clone(),
            (None, Some(t)) => t.clone(),
            (Some(_), _) => return Err("\"type\" must be a string".into()),
            (None, None) => {
                return Err("no entity type: the payload has no \"type\" and the mapping names none".into())
            }
        };
        let observed = match &self.observed_at {
            Some(member) => match o.get(member) {
                Some(v) => Some(reading_time(v).map_err(|e| format!("\"{member}\": {e}"))?),
                None => None,
            },
            None => None,
        };
        let mut skip: Vec<&str> = vec!["id", "type", "@context"];
        skip.extend(self.observed_at.as_deref());
        if let Some((lon, lat)) = &self.location {
            skip.push(lon);
            skip.push(lat);
        }
        let mut out = Map::new();
        out.insert("id".into(), Value::String(id));
        out.insert("type".into(), Value::String(kind));
        for (member, value) in o {
            if skip.contains(&member.as_str()) || value.is_null() {
                continue;
            }
            let name = if self.attributes.is_empty() {
                member.clone()
            } else {
                match self.attributes.get(member) {
                    Some(n) => n.clone(),
                    None => continue,
                }
            };
            let mut attr = Map::new();
            attr.insert("type".into(), Value::String("Property".into()));
            attr.insert("value".into(), value.clone());
            if let Some(t) = observed {
                attr.insert("observedAt".into(), Value::String(t.to_string()));
            }
            if let Some(unit) = self.units.get(&name) {
                attr.insert("unitCode".into(), Value::String(unit.clone()));
            }
            out.insert(name, Value::Object(attr));
        }
        if let (Some(name), Some(t)) = (&self.time_attribute, observed) {
            let attr =
                serde_json::json!({"type": "Property", "value": t.to_string(), "observedAt": t.to_string()});
            out.insert(name.clone(), attr);
        }
        if let Some((lon, lat)) = &self.location {
            match (o.get(lon).and_then(Value::as_f64), o.get(lat).and_then(Value::as_f64)) {
                (Some(x), Some(y)) => {
                    let point = serde_json::json!({"type": "GeoProperty", "value": {"type": "Point", "coordinates": [x, y]}});
                    out.insert("location".into(), point);
                }
                (None, None) => {}
                _ => return Err(format!("the location needs both \"{lon}\" and \"{lat}\" as numbers")),
            }
        }
        let written = out.keys().filter(|k| Some(k.as_str()) != self.time_attribute.as_deref()).count();
        if written <= 2 {
            return Err("no attribute to write: the payload holds none the mapping takes".into());
        }
        Ok(Value::Object(out))
    }
}

/// A message that could not be taken: kept with its reason, visible in the API.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Set by the store.
    pub seq: i64,
    /// The connector it came through.
    pub source: String,
    pub topic: String,
    /// The payload as text (invalid UTF-8 replaced), at most `MAX_PAYLOAD` bytes of it.
    pub payload: String,
    pub error: String,
    pub at: Timestamp,
}

/// Bytes of a payload a dead letter keeps: enough to see what was wrong.
pub const MAX_PAYLOAD: usize = 16 * 1024;

impl DeadLetter {
    pub fn new(source: &str, topic: &str, payload: &[u8], error: String, at: Timestamp) -> DeadLetter {
        let cut = payload.get(..MAX_PAYLOAD).unwrap_or(payload);
        DeadLetter {
            seq: 0,
            source: source.to_string(),
            topic: no_nul(topic),
            payload: no_nul(&String::from_utf8_lossy(cut)),
            error: no_nul(&error),
            at,
        }
    }
}

/// PostgreSQL's text holds no NUL character: a binary payload (or an error quoting one) would
/// make the dead letter, and with it the whole batch, fail for ever.
fn no_nul(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn air() -> Mapping {
        Mapping {
            filter: "laichau/air/+/data".into(),
            format: PayloadFormat::KeyValues,
            entity_type: Some("AirQualityObserved".into()),
            id: Some(IdTemplate::parse("urn:ngsi-ld:AirQualityObserved:{2}").unwrap()),
            observed_at: Some("ts".into()),
            attributes: [
                ("pm25".to_string(), "pm25".to_string()),
                ("t".to_string(), "temperature".to_string()),
            ]
            .into_iter()
            .collect(),
            units: [("pm25".to_string(), "GQ".to_string())].into_iter().collect(),
            location: Some(("lon".into(), "lat".into())),
            time_attribute: Some("dateObserved".into()),
        }
    }

    #[test]
    fn topic_filters_match_as_brokers_match_them() {
        assert!(topic_matches("laichau/air/+/data", "laichau/air/tam-duong/data"));
        assert!(!topic_matches("laichau/air/+/data", "laichau/air/tam-duong/status"));
        assert!(!topic_matches("laichau/air/+/data", "laichau/air/data"));
        assert!(topic_matches("laichau/#", "laichau/air/x/data"));
        assert!(topic_matches("laichau/#", "laichau"));
        assert!(!topic_matches("laichau/air", "laichau/air/x"));
        assert!(check_filter("a/+/b/#").is_ok());
        assert!(check_filter("a/#/b").is_err());
        assert!(check_filter("a/b+").is_err());
    }

    #[test]
    fn a_key_values_reading_becomes_an_entity_with_its_time_unit_and_place() {
        let payload =
            json!({"pm25": 41.5, "t": 24.1, "battery": 88, "ts": 1_796_200_000, "lon": 103.45, "lat": 22.40});
        let e = air().entity("laichau/air/tam-duong/data", payload.to_string().as_bytes()).unwrap();
        assert_eq!(e.id, "urn:ngsi-ld:AirQualityObserved:tam-duong");
        assert_eq!(e.types, vec!["AirQualityObserved".to_string()]);
        let keys: Vec<&str> = e.attrs.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["dateObserved", "location", "pm25", "temperature"], "battery is not mapped");
        assert_eq!(e.attrs["dateObserved"][0].content, json!("2026-12-02T08:26:40Z"));
        let pm = &e.attrs["pm25"][0];
        assert_eq!(pm.content, json!(41.5));
        assert_eq!(pm.unit_code.as_deref(), Some("GQ"));
        assert_eq!(pm.observed_at.unwrap().as_second(), 1_796_200_000);
        assert_eq!(e.attrs["location"][0].content, json!({"type": "Point", "coordinates": [103.45, 22.40]}));
        // Milliseconds are told from seconds.
        let ms = json!({"pm25": 1, "ts": 1_796_200_000_123i64});
        let e = air().entity("laichau/air/x/data", ms.to_string().as_bytes()).unwrap();
        assert_eq!(e.attrs["pm25"][0].observed_at.unwrap().as_millisecond(), 1_796_200_000_123);
    }

    #[test]
    fn the_common_id_type_shape_needs_no_mapping() {
        let m = Mapping {
            id: None,
            entity_type: None,
            attributes: BTreeMap::new(),
            units: BTreeMap::new(),
            location: None,
            observed_at: None,
            time_attribute: None,
            ..air()
        };
        let e = m
            .entity("t", br#"{"id": "urn:ngsi-ld:WaterLevel:nam-na", "type": "WaterLevel", "level": 2.4}"#)
            .unwrap();
        assert_eq!(
            (e.id.as_str(), e.attrs["level"][0].content.clone()),
            ("urn:ngsi-ld:WaterLevel:nam-na", json!(2.4))
        );
    }

    #[test]
    fn what_cannot_be_mapped_says_why() {
        let m = air();
        let cases: Vec<(&str, &[u8], &str)> = vec![
            ("laichau/air/x/data", b"not json", "not JSON"),
            ("laichau/air/x/data", b"[1,2]", "not a JSON object"),
            ("laichau/air/x/data", br#"{"battery": 80}"#, "no attribute"),
            ("laichau/air/x/data", br#"{"pm25": 3, "ts": "yesterday"}"#, "\"ts\""),
            ("laichau/air/x/data", br#"{"pm25": 3, "lon": 103.1}"#, "location"),
            ("laichau/air/x/data", br#"{"pm25": 3, "type": 7}"#, "type"),
        ];
        for (topic, payload, why) in cases {
            let e = m.entity(topic, payload).unwrap_err();
            assert!(e.contains(why), "{} → {e}", String::from_utf8_lossy(payload));
        }
        let no_level = Mapping { id: Some(IdTemplate::parse("urn:x:{5}").unwrap()), ..air() };
        assert!(no_level.entity("a/b", br#"{"pm25": 1}"#).unwrap_err().contains("level 5"));
        assert!(IdTemplate::parse("urn:x:{2").is_err());
        assert!(IdTemplate::parse("urn:x:{}").is_err());
        assert!(IdTemplate::parse("urn:x:2}").is_err());
    }

    #[test]
    fn a_dead_letter_keeps_a_bounded_readable_payload() {
        let big = vec![b'a'; MAX_PAYLOAD * 2];
        let d = DeadLetter::new("c", "t", &big, "too big".into(), Timestamp::UNIX_EPOCH);
        assert_eq!(d.payload.len(), MAX_PAYLOAD);
        let d = DeadLetter::new("c", "t", &[0xff, b'x', 0], "bad \0".into(), Timestamp::UNIX_EPOCH);
        assert_eq!(d.payload, "\u{fffd}x\u{fffd}");
        assert_eq!(d.error, "bad \u{fffd}");
    }
}
