//! What a dataset is: one organisation's data of one entity type (optionally narrowed to some
//! communes or by a `q`), with what is expected of it (which entities, how often), how it is
//! shared, the rules its quality is judged by, and where it stands (draft, approved, retired).
//! Parsed from the API's JSON with the offending member named.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetState {
    /// Writes are kept but held back from every read and notification.
    Draft,
    Approved,
    /// No longer fed: writes are refused, what was written stays readable.
    Retired,
}

impl DatasetState {
    pub fn as_str(&self) -> &'static str {
        match self {
            DatasetState::Draft => "draft",
            DatasetState::Approved => "approved",
            DatasetState::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<DatasetState> {
        [DatasetState::Draft, DatasetState::Approved, DatasetState::Retired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The two sharing modes of the regulations: standardised data open to every authorised agency,
/// and data given only to the agencies that asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    Default,
    SpecialRequest,
}

/// How often the provider must update the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Frequency {
    EveryMinutes {
        minutes: u32,
    },
    Hourly,
    Daily,
    Weekly,
    /// A form sent twice a week, by the end of each Monday and Thursday (Vietnam time).
    MondayThursday,
}

impl Frequency {
    /// "PT15M", "hourly", "daily", "weekly", "monday_thursday".
    pub fn parse(text: &str) -> Option<Frequency> {
        match text {
            "hourly" => Some(Frequency::Hourly),
            "daily" => Some(Frequency::Daily),
            "weekly" => Some(Frequency::Weekly),
            "monday_thursday" => Some(Frequency::MondayThursday),
            other => {
                let minutes = other.strip_prefix("PT")?.strip_suffix('M')?.parse::<u32>().ok()?;
                (1..=7 * 24 * 60).contains(&minutes).then_some(Frequency::EveryMinutes { minutes })
            }
        }
    }

    pub fn as_text(&self) -> String {
        match self {
            Frequency::EveryMinutes { minutes } => format!("PT{minutes}M"),
            Frequency::Hourly => "hourly".into(),
            Frequency::Daily => "daily".into(),
            Frequency::Weekly => "weekly".into(),
            Frequency::MondayThursday => "monday_thursday".into(),
        }
    }
}

/// Which entities the provider owes: named ones, or a number in each commune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    Entities(Vec<String>),
    PerUnit(BTreeMap<String, u32>),
}

impl Expected {
    pub fn total(&self) -> usize {
        match self {
            Expected::Entities(ids) => ids.len(),
            Expected::PerUnit(counts) => counts.values().map(|n| *n as usize).sum(),
        }
    }
}

/// A value an attribute may take ("đúng": a reading outside it is wrong), or beyond which it is
/// an outlier ("sạch").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Range {
    pub fn contains(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// How an outlier is told: outside a range, or further than `threshold` standard deviations from
/// the window's mean of that attribute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum OutlierRule {
    Range { min: Option<f64>, max: Option<f64> },
    Zscore { threshold: f64 },
}

/// The rules quality is judged by; attribute names are expanded IRIs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityRules {
    /// Plausible values: a write with a value outside is counted as not correct.
    pub ranges: BTreeMap<String, Range>,
    pub outliers: BTreeMap<String, OutlierRule>,
    /// Attributes every entity must have; empty takes the schema's `required`.
    pub required: Vec<String>,
}

/// A dataset as the API and the console show it (names expanded; the API compacts them).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub description: String,
    pub type_iri: String,
    pub provider_org: String,
    /// Only entities located in these units (commune or province codes) belong; empty: all.
    pub units: Vec<String>,
    /// Only entities matching this NGSI-LD `q` (written with the core context) belong.
    pub q: Option<String>,
    pub expected: Option<Expected>,
    pub frequency: Frequency,
    pub sharing: Sharing,
    pub rules: QualityRules,
    pub state: DatasetState,
    pub created_at: Timestamp,
    pub created_by: String,
    pub modified_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub approved_by: Option<String>,
}

/// Who a grant is for: an organisation (all its accounts) or one API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Consumer {
    Org(String),
    Token(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: String,
    pub dataset_id: String,
    pub consumer: Consumer,
    pub read: bool,
    pub write: bool,
    pub expires_at: Option<Timestamp>,
    /// The agreement it rests on ("số văn bản thỏa thuận").
    pub agreement_ref: String,
    pub granted_by: String,
    pub granted_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Grant {
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| at < e)
    }
}

/// A provider's declared maintenance: these entities (all of the dataset's when empty) are not
/// counted against "sống" while it lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindow {
    pub id: String,
    pub dataset_id: String,
    pub entity_ids: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
    pub declared_by: String,
}

impl MaintenanceWindow {
    pub fn covers(&self, entity_id: &str, at: Timestamp) -> bool {
        self.starts_at <= at
            && at < self.ends_at
            && (self.entity_ids.is_empty() || self.entity_ids.iter().any(|e| e == entity_id))
    }
}

/// A form ("biểu mẫu") an organisation sent for a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub id: String,
    pub dataset_id: String,
    pub org_id: String,
    /// The due date (Vietnam) the submission counts for, "2026-12-03".
    pub period: String,
    pub rows: i64,
    pub file_name: String,
    pub submitted_by: String,
    pub submitted_at: Timestamp,
}

/// Writes counted for "đúng", per dataset and hour: accepted in range, accepted with a value out
/// of range, refused by the exchange data structure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub accepted: i64,
    pub out_of_range: i64,
    pub refused: i64,
}

impl WriteCounts {
    pub fn add(&mut self, other: WriteCounts) {
        self.accepted += other.accepted;
        self.out_of_range += other.out_of_range;
        self.refused += other.refused;
    }

    pub fn total(&self) -> i64 {
        self.accepted + self.out_of_range + self.refused
    }
}

/// One row of the counters: the dataset, the hour (µs of its start) and the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub dataset_id: String,
    pub hour: i64,
    pub counts: WriteCounts,
}

fn invalid(field: &str, message: impl Into<String>) -> CoreError {
    CoreError::Validation { field: field.into(), message: message.into() }
}

fn text_of(body: &Value, field: &str) -> CoreResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(invalid(field, "must be text")),
    }
}

fn number_of(v: &Value, field: &str) -> CoreResult<Option<f64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| invalid(field, "must be a number")),
        _ => Err(invalid(field, "must be a number")),
    }
}

/// What a caller sends to create or change a dataset (names still as written).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    pub id: Option<String>,
    pub name: String,
    pub description: String,
    pub type_name: String,
    pub provider_org: Option<String>,
    pub units: Vec<String>,
    pub q: Option<String>,
    pub expected: Option<Expected>,
    pub frequency: Frequency,
    /// None when the body does not say: default for a new dataset, unchanged for an update.
    pub sharing: Option<Sharing>,
    /// Attribute names as written; the service expands them.
    pub ranges: BTreeMap<String, Range>,
    pub outliers: BTreeMap<String, OutlierRule>,
    pub required: Vec<String>,
}

const KNOWN: [&str; 12] = [
    "id",
    "name",
    "description",
    "type",
    "provider",
    "units",
    "q",
    "expected",
    "frequency",
    "sharing",
    "rules",
    "state",
];

/// Reads a dataset from the API's JSON; every error names its member.
pub fn parse_spec(body: &Value) -> CoreResult<DatasetSpec> {
    let Value::Object(o) = body else { return Err(invalid("", "the body must be a JSON object")) };
    if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(k, "is not a member of a dataset"));
    }
    let id = text_of(body, "id")?;
    if let Some(id) = &id {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(invalid("id", "use 1 to 64 lower-case letters, digits and hyphens"));
        }
    }
    let name =
        text_of(body, "name")?.filter(|n| !n.is_empty()).ok_or_else(|| invalid("name", "is required"))?;
    let type_name =
        text_of(body, "type")?.filter(|t| !t.is_empty()).ok_or_else(|| invalid("type", "is required"))?;
    let units = match body.get("units") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, u)| {
                u.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(&format!("units[{i}]"), "must be a unit code"))
            })
            .collect::<CoreResult<_>>()?,
        Some(_) => return Err(invalid("units", "must be a list of unit codes")),
    };
    let frequency = match text_of(body, "frequency")? {
        None => {
            return Err(invalid(
                "frequency",
                "is required: PT<minutes>M, hourly, daily, weekly or monday_thursday",
            ))
        }
        Some(f) => Frequency::parse(&f).ok_or_else(|| {
            invalid(
                "frequency",
                format!("'{f}' is not PT<minutes>M, hourly, daily, weekly or monday_thursday"),
            )
        })?,
    };
    let sharing = match text_of(body, "sharing")?.as_deref() {
        None => None,
        Some("default") => Some(Sharing::Default),
        Some("special_request") => Some(Sharing::SpecialRequest),
        Some(other) => {
            return Err(invalid("sharing", format!("'{other}' is not default or special_request")))
        }
    };
    let expected = parse_expected(body.get("expected"))?;
    let (ranges, outliers, required) = parse_rules(body.get("rules"))?;
    Ok(DatasetSpec {
        id,
        name,
        description: text_of(body, "description")?.unwrap_or_default(),
        type_name,
        provider_org: text_of(body, "provider")?,
        units,
        q: text_of(body, "q")?.filter(|q| !q.is_empty()),
        expected,
        frequency,
        sharing,
        ranges,
        outliers,
        required,
    })
}

fn parse_expected(v: Option<&Value>) -> CoreResult<Option<Expected>> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
    let Value::Object(o) = v else {
        return Err(invalid("expected", "must be {\"entities\": [...]} or {\"per_unit\": {...}}"));
    };
    match (o.get("entities"), o.get("per_unit")) {
        (Some(Value::Array(ids)), None) => {
            let ids = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    id.as_str().filter(|s| s.contains(':')).map(str::to_string).ok_or_else(|| {
                        invalid(&format!("expected.entities[{i}]"), "must be an entity id (a URI)")
                    })
                })
                .collect::<CoreResult<Vec<_>>>()?;
            Ok(Some(Expected::Entities(ids)))
        }
        (None, Some(Value::Object(counts))) => {
            let mut out = BTreeMap::new();
            for (unit, n) in counts {
                let n = n
                    .as_u64()
                    .filter(|n| *n <= 100_000)
                    .ok_or_else(|| invalid(&format!("expected.per_unit.{unit}"), "must be a whole number"))?;
                out.insert(unit.clone(), n as u32);
            }
            Ok(Some(Expected::PerUnit(out)))
        }
        _ => Err(invalid("expected", "must be {\"entities\": [...]} or {\"per_unit\": {...}}")),
    }
}

type Rules = (BTreeMap<String, Range>, BTreeMap<String, OutlierRule>, Vec<String>);

fn parse_rules(v: Option<&Value>) -> CoreResult<Rules> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Default::default()) };
    let Value::Object(o) = v else { return Err(invalid("rules", "must be an object")) };
    if let Some(k) = o.keys().find(|k| !["ranges", "outliers", "required"].contains(&k.as_str())) {
        return Err(invalid(&format!("rules.{k}"), "is not ranges, outliers or required"));
    }
    let mut ranges = BTreeMap::new();
    if let Some(r) = o.get("ranges") {
        let Value::Object(r) = r else { return Err(invalid("rules.ranges", "must be an object")) };
        for (attr, range) in r {
            let field = format!("rules.ranges.{attr}");
            let min = number_of(range.get("min").unwrap_or(&Value::Null), &format!("{field}.min"))?;
            let max = number_of(range.get("max").unwrap_or(&Value::Null), &format!("{field}.max"))?;
            if matches!((min, max), (Some(a), Some(b)) if a > b) {
                return Err(invalid(&field, "min is above max"));
            }
            ranges.insert(attr.clone(), Range { min, max });
        }
    }
    let mut outliers = BTreeMap::new();
    if let Some(r) = o.get("outliers") {
        let Value::Object(r) = r else { return Err(invalid("rules.outliers", "must be an object")) };
        for (attr, rule) in r {
            let field = format!("rules.outliers.{attr}");
            let parsed = match rule.get("method").and_then(Value::as_str) {
                Some("range") => OutlierRule::Range {
                    min: number_of(rule.get("min").unwrap_or(&Value::Null), &format!("{field}.min"))?,
                    max: number_of(rule.get("max").unwrap_or(&Value::Null), &format!("{field}.max"))?,
                },
                Some("zscore") => {
                    let t = number_of(
                        rule.get("threshold").unwrap_or(&Value::Null),
                        &format!("{field}.threshold"),
                    )?
                    .filter(|t| *t > 0.0)
                    .ok_or_else(|| invalid(&format!("{field}.threshold"), "must be a number above 0"))?;
                    OutlierRule::Zscore { threshold: t }
                }
                _ => return Err(invalid(&format!("{field}.method"), "must be range or zscore")),
            };
            outliers.insert(attr.clone(), parsed);
        }
    }
    let required = match o.get("required") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(&format!("rules.required[{i}]"), "must be an attribute name"))
            })
            .collect::<CoreResult<_>>()?,
        Some(_) => return Err(invalid("rules.required", "must be a list of attribute names")),
    };
    Ok((ranges, outliers, required))
}

impl Dataset {
    /// How long an entity may go without an update before it is stale ("sống").
    pub fn allowed_gap(&self) -> SignedDuration {
        match self.frequency {
            Frequency::EveryMinutes { minutes } => SignedDuration::from_mins(minutes as i64),
            Frequency::Hourly => SignedDuration::from_hours(1),
            Frequency::Daily => SignedDuration::from_hours(24),
            Frequency::Weekly => SignedDuration::from_hours(24 * 7),
            // At most from the end of one due day to the end of the next: Thursday to Monday.
            Frequency::MondayThursday => SignedDuration::from_hours(24 * 4),
        }
    }

    /// The JSON the API answers, names compacted by `compact`.
    pub fn to_json(&self, compact: &dyn Fn(&str) -> String) -> Value {
        let expected = match &self.expected {
            None => Value::Null,
            Some(Expected::Entities(ids)) => json!({"entities": ids}),
            Some(Expected::PerUnit(counts)) => json!({"per_unit": counts}),
        };
        let ranges: serde_json::Map<String, Value> = self
            .rules
            .ranges
            .iter()
            .map(|(a, r)| (compact(a), json!({"min": r.min, "max": r.max})))
            .collect();
        let outliers: serde_json::Map<String, Value> = self
            .rules
            .outliers
            .iter()
            .map(|(a, r)| (compact(a), serde_json::to_value(r).unwrap_or(Value::Null)))
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "type": compact(&self.type_iri),
            "provider": self.provider_org,
            "units": self.units,
            "q": self.q,
            "expected": expected,
            "frequency": self.frequency.as_text(),
            "sharing": match self.sharing { Sharing::Default => "default", Sharing::SpecialRequest => "special_request" },
            "rules": {
                "ranges": ranges,
                "outliers": outliers,
                "required": self.rules.required.iter().map(|a| compact(a)).collect::<Vec<_>>(),
            },
            "state": self.state.as_str(),
            "createdAt": self.created_at.to_string(),
            "createdBy": self.created_by,
            "modifiedAt": self.modified_at.to_string(),
            "approvedAt": self.approved_at.map(|t| t.to_string()),
            "approvedBy": self.approved_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_read_as_written() {
        assert_eq!(Frequency::parse("PT15M"), Some(Frequency::EveryMinutes { minutes: 15 }));
        assert_eq!(Frequency::parse("monday_thursday"), Some(Frequency::MondayThursday));
        assert_eq!(Frequency::parse("PT0M"), None);
        assert_eq!(Frequency::parse("often"), None);
        assert_eq!(Frequency::EveryMinutes { minutes: 10 }.as_text(), "PT10M");
    }

    #[test]
    fn a_spec_names_its_bad_member() {
        let field = |body: Value| match parse_spec(&body) {
            Err(CoreError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let base = json!({"name": "Trạm", "type": "AirQualityObserved", "frequency": "hourly"});
        assert!(parse_spec(&base).is_ok());
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        assert_eq!(field(with("frequency", json!("often"))), "frequency");
        assert_eq!(field(with("sharing", json!("open"))), "sharing");
        assert_eq!(field(with("id", json!("Bad Id"))), "id");
        assert_eq!(field(with("colour", json!("red"))), "colour");
        assert_eq!(field(with("expected", json!({"per_unit": {"12001": -1}}))), "expected.per_unit.12001");
        assert_eq!(field(with("expected", json!({"entities": ["nope"]}))), "expected.entities[0]");
        assert_eq!(
            field(with("rules", json!({"ranges": {"pm25": {"min": 5, "max": 1}}}))),
            "rules.ranges.pm25"
        );
        assert_eq!(
            field(with("rules", json!({"outliers": {"pm25": {"method": "zscore"}}}))),
            "rules.outliers.pm25.threshold"
        );
        assert_eq!(field(json!({"type": "X", "frequency": "daily"})), "name");
    }
}
