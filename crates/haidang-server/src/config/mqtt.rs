//! The MQTT connectors: which brokers the hub takes readings from, and how each topic's
//! messages become entities. Checked at start like every other key, each error naming the
//! connector and topic.

use std::collections::BTreeMap;

use haidang_core::hub::ingest::{check_filter, IdTemplate, Mapping, PayloadFormat};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// One entry per broker connection, e.g.
    /// `[[mqtt.connectors]] name = "quan-trac-moi-truong"  url = "mqtt://127.0.0.1:1883"`.
    pub connectors: Vec<ConnectorConfig>,
    /// Dead letters older than this many days are removed (daily).
    pub dead_letter_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorConfig {
    /// Names the connector in logs, metrics and the dead-letter list (letters, digits, '-').
    pub name: String,
    /// The broker: mqtt://host:port or mqtts://host:port (TLS), with user:password@ if it asks.
    pub url: String,
    /// The MQTT client id; keep it stable, the broker keeps the session (and what is not yet
    /// acknowledged) under it. Empty: haidang-<name>.
    pub client_id: String,
    /// The account (a data provider) whose organisation owns the entities this connector
    /// writes; it must be active and allowed to submit data.
    pub account: String,
    /// Messages the broker may send before the first is acknowledged (MQTT 5 receive maximum).
    pub receive_maximum: u16,
    /// How each topic's messages become entities.
    pub topics: Vec<TopicConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TopicConfig {
    /// Topic filter, e.g. "laichau/air/+/data" (+ one level, # the rest).
    pub filter: String,
    /// "keyValues": {"id": .., "type": .., "pm25": 41.2}; "normalized": an NGSI-LD entity.
    pub format: String,
    /// The entity type when the payload has no "type".
    #[serde(rename = "type")]
    pub entity_type: String,
    /// The entity id when the payload has no "id": a template with {N} for the topic's level N
    /// (from 0) and {member} for a payload member, e.g. "urn:ngsi-ld:AirQualityObserved:{2}".
    pub id: String,
    /// The payload member with the reading's time (RFC 3339, or seconds or milliseconds since
    /// 1970), kept as each attribute's observedAt.
    pub observed_at: String,
    /// Payload member = attribute name; empty: every member under its own name.
    pub attributes: BTreeMap<String, String>,
    /// Attribute = unit code (UN/CEFACT), e.g. pm25 = "GQ", temperature = "CEL".
    pub units: BTreeMap<String, String>,
    /// The payload members [longitude, latitude] that make the entity's location.
    pub location: Vec<String>,
    /// The reading time (observed_at) kept as this attribute too, for the data models that
    /// require it, e.g. "dateObserved".
    pub time_attribute: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig { connectors: Vec::new(), dead_letter_days: 30 }
    }
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        ConnectorConfig {
            name: String::new(),
            url: "mqtt://127.0.0.1:1883".into(),
            client_id: String::new(),
            account: String::new(),
            receive_maximum: 1000,
            topics: Vec::new(),
        }
    }
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            filter: String::new(),
            format: "keyValues".into(),
            entity_type: String::new(),
            id: String::new(),
            observed_at: String::new(),
            attributes: BTreeMap::new(),
            units: BTreeMap::new(),
            location: Vec::new(),
            time_attribute: String::new(),
        }
    }
}

impl ConnectorConfig {
    pub fn client_id(&self) -> String {
        if self.client_id.is_empty() {
            format!("haidang-{}", self.name)
        } else {
            self.client_id.clone()
        }
    }
}

impl TopicConfig {
    /// The mapping the ingestor applies; an error says what is wrong.
    pub fn mapping(&self) -> Result<Mapping, String> {
        check_filter(&self.filter)?;
        let format = match self.format.as_str() {
            "keyValues" => PayloadFormat::KeyValues,
            "normalized" => PayloadFormat::Normalized,
            other => return Err(format!("format '{other}' is not one of keyValues, normalized")),
        };
        if !self.time_attribute.is_empty() && self.observed_at.is_empty() {
            return Err("time_attribute keeps the reading time: set observed_at too".into());
        }
        let location = match self.location.as_slice() {
            [] => None,
            [lon, lat] => Some((lon.clone(), lat.clone())),
            _ => return Err("location names two members: [longitude, latitude]".into()),
        };
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
        Ok(Mapping {
            filter: self.filter.clone(),
            format,
            entity_type: text(&self.entity_type),
            id: text(&self.id).map(|t| IdTemplate::parse(&t)).transpose()?,
            observed_at: text(&self.observed_at),
            attributes: self.attributes.clone(),
            units: self.units.clone(),
            location,
            time_attribute: text(&self.time_attribute),
        })
    }
}

impl MqttConfig {
    /// Every connector checked; the error is (key, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let mut names = Vec::new();
        for (i, c) in self.connectors.iter().enumerate() {
            let at = |k: &str| format!("mqtt.connectors[{i}].{k}");
            let good_name = !c.name.is_empty()
                && c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
            if !good_name {
                return Err((at("name"), "must be letters, digits, '-' or '_'".into()));
            }
            if names.contains(&c.name) {
                return Err((at("name"), format!("'{}' names two connectors", c.name)));
            }
            names.push(c.name.clone());
            haidang_connect::mqtt::Broker::parse(&c.url).map_err(|m| (at("url"), m))?;
            if c.account.is_empty() {
                return Err((
                    at("account"),
                    "names the account whose organisation owns what the connector writes".into(),
                ));
            }
            if c.receive_maximum == 0 {
                return Err((at("receive_maximum"), "must be more than 0".into()));
            }
            if c.topics.is_empty() {
                return Err((at("topics"), "a connector needs at least one topic".into()));
            }
            for (j, t) in c.topics.iter().enumerate() {
                t.mapping().map_err(|m| (format!("mqtt.connectors[{i}].topics[{j}]"), m))?;
            }
        }
        Ok(())
    }
}
