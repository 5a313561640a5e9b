//! The temporal representation of entities (NGSI-LD GS CIM 009 v1.8, clause 4.5.9 and the
//! temporal query parameters): which instances a request admits (`timerel`, `lastN`) and how they
//! are answered — as instances, as simplified `[value, time]` pairs (`temporalValues`) or
//! aggregated per period (`aggregatedValues`). Pure: the store reads, this decides and renders.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Map, Value};

use super::entity::{AttrKind, Instance};

/// One stored instance of an attribute in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct TemporalInstance {
    /// The attribute's name as the caller should see it (the caller compacts it).
    pub attr: String,
    pub instance_id: String,
    /// The instance's time on the requested time property.
    pub at: Timestamp,
    pub instance: Instance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRel {
    Before(Timestamp),
    After(Timestamp),
    Between(Timestamp, Timestamp),
}

/// `timeproperty`: which time the interval applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeProperty {
    #[default]
    ObservedAt,
    CreatedAt,
    ModifiedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggrMethod {
    TotalCount,
    DistinctCount,
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    Sumsq,
}

impl AggrMethod {
    fn parse(name: &str) -> Option<AggrMethod> {
        Some(match name {
            "totalCount" => AggrMethod::TotalCount,
            "distinctCount" => AggrMethod::DistinctCount,
            "sum" => AggrMethod::Sum,
            "avg" => AggrMethod::Avg,
            "min" => AggrMethod::Min,
            "max" => AggrMethod::Max,
            "stddev" => AggrMethod::Stddev,
            "sumsq" => AggrMethod::Sumsq,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            AggrMethod::TotalCount => "totalCount",
            AggrMethod::DistinctCount => "distinctCount",
            AggrMethod::Sum => "sum",
            AggrMethod::Avg => "avg",
            AggrMethod::Min => "min",
            AggrMethod::Max => "max",
            AggrMethod::Stddev => "stddev",
            AggrMethod::Sumsq => "sumsq",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    pub methods: Vec<AggrMethod>,
    /// None: one period over the whole range (the standard's PT0S).
    pub period: Option<SignedDuration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalFormat {
    Normalized,
    TemporalValues,
    Aggregated,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TemporalParams {
    pub timerel: Option<TimeRel>,
    pub time_property: TimeProperty,
    pub last_n: Option<usize>,
    pub aggregation: Option<Aggregation>,
}

/// A wrong parameter: the API answers BadRequestData naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub parameter: String,
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.parameter, self.message)
    }
}

fn bad(parameter: &str, message: impl Into<String>) -> ParamError {
    ParamError { parameter: parameter.into(), message: message.into() }
}

/// An RFC 3339 time with its zone; a time without one is ambiguous and refused.
fn time_param(p: &HashMap<String, String>, name: &str) -> Result<Option<Timestamp>, ParamError> {
    p.get(name)
        .map(|text| {
            text.parse::<Timestamp>().map_err(|_| {
                bad(name, format!("'{text}' is not a date-time with a time zone, e.g. 2026-11-23T08:00:00Z"))
            })
        })
        .transpose()
}

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (PT1H, P1D, P1DT12H, PT0.5S).
/// Years and months are refused: their length varies, so periods of them are not comparable.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let rest =
        text.strip_prefix('P').ok_or_else(|| format!("'{text}' is not an ISO 8601 duration such as PT1H"))?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(format!("'{text}' has nothing after T")),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(format!("'{text}' is an empty duration"));
    }
    let mut seconds = 0f64;
    for (part, units) in [
        (date, &[('W', 604_800f64), ('D', 86_400f64)][..]),
        (time.unwrap_or(""), &[('H', 3_600f64), ('M', 60f64), ('S', 1f64)][..]),
    ] {
        let mut number = String::new();
        let mut last = 0usize;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            if part == date && (c == 'Y' || c == 'M') {
                return Err(format!("'{text}': years and months have no fixed length; use days (P30D)"));
            }
            let Some(pos) = units.iter().position(|(u, _)| *u == c) else {
                return Err(format!("'{text}' has an unknown unit '{c}'"));
            };
            if pos < last || number.is_empty() {
                return Err(format!("'{text}' is not an ISO 8601 duration such as PT1H"));
            }
            let n: f64 = number.parse().map_err(|_| format!("'{text}' has a bad number '{number}'"))?;
            seconds += n * units[pos].1;
            number.clear();
            last = pos + 1;
        }
        if !number.is_empty() {
            return Err(format!("'{text}' ends with a number without a unit"));
        }
    }
    SignedDuration::try_from_secs_f64(seconds).map_err(|_| format!("'{text}' is too long"))
}

impl TemporalParams {
    /// From the URL's parameters (already decoded). The format comes from `options` (a list that
    /// may hold other words, e.g. sysAttrs) or `format`.
    pub fn from_query(p: &HashMap<String, String>) -> Result<(TemporalParams, TemporalFormat), ParamError> {
        let words: Vec<&str> = ["options", "format"]
            .iter()
            .filter_map(|k| p.get(*k))
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let format = if words.contains(&"aggregatedValues") {
            TemporalFormat::Aggregated
        } else if words.contains(&"temporalValues")
            || words.contains(&"simplified")
            || words.contains(&"keyValues")
        {
            TemporalFormat::TemporalValues
        } else {
            TemporalFormat::Normalized
        };
        let time_at = time_param(p, "timeAt")?;
        let end_time_at = time_param(p, "endTimeAt")?;
        let timerel = match (p.get("timerel").map(String::as_str), time_at) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(bad("timerel", "is required with timeAt (before, after or between)"))
            }
            (Some(_), None) => return Err(bad("timeAt", "is required with timerel")),
            (Some("before"), Some(t)) => Some(TimeRel::Before(t)),
            (Some("after"), Some(t)) => Some(TimeRel::After(t)),
            (Some("between"), Some(t)) => {
                let end = end_time_at.ok_or_else(|| bad("endTimeAt", "is required with timerel=between"))?;
                if end <= t {
                    return Err(bad("endTimeAt", format!("{end} is not after timeAt {t}")));
                }
                Some(TimeRel::Between(t, end))
            }
            (Some(other), Some(_)) => {
                return Err(bad("timerel", format!("'{other}' is not one of before, after, between")))
            }
        };
        let time_property = match p.get("timeproperty").map(String::as_str) {
            None | Some("observedAt") => TimeProperty::ObservedAt,
            Some("createdAt") => TimeProperty::CreatedAt,
            Some("modifiedAt") => TimeProperty::ModifiedAt,
            Some(other) => {
                return Err(bad(
                    "timeproperty",
                    format!("'{other}' is not one of observedAt, createdAt, modifiedAt"),
                ))
            }
        };
        let last_n = match p.get("lastN") {
            None => None,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(bad("lastN", format!("'{text}' is not a whole number above 0"))),
            },
        };
        let aggregation = match p.get("aggrMethods") {
            None if format == TemporalFormat::Aggregated => {
                return Err(bad("aggrMethods", "is required with options=aggregatedValues"))
            }
            None => None,
            Some(list) => {
                let mut methods = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let m = AggrMethod::parse(name).ok_or_else(|| {
                        bad("aggrMethods", format!("'{name}' is not one of totalCount, distinctCount, sum, avg, min, max, stddev, sumsq"))
                    })?;
                    methods.push(m);
                }
                if methods.is_empty() {
                    return Err(bad("aggrMethods", "names no method"));
                }
                let period = match p.get("aggrPeriodDuration") {
                    None => None,
                    Some(text) => {
                        let d = parse_duration(text).map_err(|m| bad("aggrPeriodDuration", m))?;
                        (!d.is_zero()).then_some(d)
                    }
                };
                Some(Aggregation { methods, period })
            }
        };
        Ok((TemporalParams { timerel, time_property, last_n, aggregation }, format))
    }

    /// Whether a time falls in the requested interval: before is `< t`, after is `>= t`,
    /// between is `[t1, t2)`.
    pub fn admits(&self, at: Timestamp) -> bool {
        match self.timerel {
            None => true,
            Some(TimeRel::Before(t)) => at < t,
            Some(TimeRel::After(t)) => at >= t,
            Some(TimeRel::Between(a, b)) => a <= at && at < b,
        }
    }
}

/// The instances the request admits, oldest first within each attribute and datasetId; with
/// lastN only the newest N of each.
pub fn select(mut instances: Vec<TemporalInstance>, params: &TemporalParams) -> Vec<TemporalInstance> {
    instances.retain(|i| params.admits(i.at));
    instances.sort_by(|a, b| {
        (a.attr.as_str(), a.instance.dataset_id.as_deref(), a.at).cmp(&(
            b.attr.as_str(),
            b.instance.dataset_id.as_deref(),
            b.at,
        ))
    });
    let Some(n) = params.last_n else { return instances };
    let mut out: Vec<TemporalInstance> = Vec::with_capacity(instances.len());
    let mut groups: BTreeMap<(String, Option<String>), Vec<TemporalInstance>> = BTreeMap::new();
    for i in instances {
        groups.entry((i.attr.clone(), i.instance.dataset_id.clone())).or_default().push(i);
    }
    for (_, mut group) in groups {
        let skip = group.len().saturating_sub(n);
        out.extend(group.drain(skip..));
    }
    out
}

fn time_text(t: Timestamp) -> String {
    t.to_string()
}

/// Instances grouped by attribute, then by datasetId, in time order.
fn grouped(instances: &[TemporalInstance]) -> BTreeMap<&str, BTreeMap<Option<&str>, Vec<&TemporalInstance>>> {
    let mut out: BTreeMap<&str, BTreeMap<Option<&str>, Vec<&TemporalInstance>>> = BTreeMap::new();
    for i in instances {
        out.entry(i.attr.as_str()).or_default().entry(i.instance.dataset_id.as_deref()).or_default().push(i);
    }
    for per_dataset in out.values_mut() {
        for list in per_dataset.values_mut() {
            list.sort_by_key(|i| i.at);
        }
    }
    out
}

/// One value or a list: several datasetIds give several objects, as the standard writes them.
fn one_or_many(mut items: Vec<Value>) -> Value {
    if items.len() == 1 {
        items.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(items)
    }
}

fn normalized(i: &TemporalInstance, sys_attrs: bool) -> Value {
    let mut v = i.instance.to_normalized();
    if let Value::Object(m) = &mut v {
        m.insert("instanceId".into(), Value::String(i.instance_id.clone()));
        if sys_attrs {
            if let Some(t) = i.instance.created_at {
                m.insert("createdAt".into(), Value::String(time_text(t)));
            }
            if let Some(t) = i.instance.modified_at {
                m.insert("modifiedAt".into(), Value::String(time_text(t)));
            }
        }
    }
    v
}

/// The member that holds the pairs in the simplified form.
fn values_member(kind: AttrKind) -> &'static str {
    match kind {
        AttrKind::Relationship => "objects",
        AttrKind::LanguageProperty => "languageMaps",
        AttrKind::Property | AttrKind::GeoProperty => "values",
    }
}

fn temporal_values(list: &[&TemporalInstance], dataset: Option<&str>) -> Value {
    let kind = list.first().map(|i| i.instance.kind).unwrap_or(AttrKind::Property);
    let pairs: Vec<Value> =
        list.iter().map(|i| json!([i.instance.content.clone(), time_text(i.at)])).collect();
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.as_str().into()));
    m.insert(values_member(kind).into(), Value::Array(pairs));
    if let Some(d) = dataset {
        m.insert("datasetId".into(), Value::String(d.into()));
    }
    Value::Object(m)
}

/// The periods the instances fall in: from timeAt (after, between) or the first instance, each
/// `period` long; the whole range as one period when there is no period.
/// One period: its start, its end and its instances.
type Period<'a> = (Timestamp, Timestamp, Vec<&'a TemporalInstance>);

fn periods<'a>(
    list: &[&'a TemporalInstance],
    params: &TemporalParams,
    period: Option<SignedDuration>,
) -> Vec<Period<'a>> {
    let (Some(first), Some(last)) = (list.first(), list.last()) else { return Vec::new() };
    let start = match params.timerel {
        Some(TimeRel::After(t)) | Some(TimeRel::Between(t, _)) => t,
        _ => first.at,
    };
    let range_end = match params.timerel {
        Some(TimeRel::Before(t)) | Some(TimeRel::Between(_, t)) => t,
        _ => last.at,
    };
    let Some(period) = period.filter(|p| p.is_positive()) else {
        let end = range_end.max(last.at);
        return vec![(start, end, list.to_vec())];
    };
    let mut buckets: BTreeMap<i64, Vec<&TemporalInstance>> = BTreeMap::new();
    let step = period.as_nanos();
    for i in list {
        let offset = i.at.duration_since(start).as_nanos();
        buckets.entry(offset.div_euclid(step) as i64).or_default().push(i);
    }
    buckets
        .into_iter()
        .filter_map(|(k, items)| {
            let from = start.checked_add(period.checked_mul(k as i32)?).ok()?;
            let to = from.checked_add(period).ok()?;
            Some((from, to, items))
        })
        .collect()
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// One method over one period's values; None when it does not apply (e.g. avg of texts).
fn aggregate(method: AggrMethod, items: &[&TemporalInstance]) -> Option<Value> {
    let values: Vec<&Value> = items.iter().map(|i| &i.instance.content).collect();
    let numbers: Vec<f64> = values.iter().filter_map(|v| number(v)).collect();
    let n = numbers.len() as f64;
    match method {
        AggrMethod::TotalCount => Some(json!(values.len())),
        AggrMethod::DistinctCount => {
            let mut seen: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            seen.sort();
            seen.dedup();
            Some(json!(seen.len()))
        }
        AggrMethod::Sum => (!numbers.is_empty()).then(|| json!(numbers.iter().sum::<f64>())),
        AggrMethod::Avg => (!numbers.is_empty()).then(|| json!(numbers.iter().sum::<f64>() / n)),
        AggrMethod::Sumsq => (!numbers.is_empty()).then(|| json!(numbers.iter().map(|x| x * x).sum::<f64>())),
        AggrMethod::Stddev => (!numbers.is_empty()).then(|| {
            let mean = numbers.iter().sum::<f64>() / n;
            json!((numbers.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt())
        }),
        AggrMethod::Min | AggrMethod::Max => {
            let pick_max = method == AggrMethod::Max;
            if !numbers.is_empty() {
                let folded = numbers.iter().copied().fold(None, |acc: Option<f64>, x| match acc {
                    None => Some(x),
                    Some(a) if (pick_max && x > a) || (!pick_max && x < a) => Some(x),
                    keep => keep,
                });
                return folded.map(|x| json!(x));
            }
            // Texts compare lexically, as the standard allows for strings.
            let texts = values.iter().filter_map(|v| v.as_str());
            let chosen = if pick_max { texts.max() } else { texts.min() };
            chosen.map(|t| json!(t))
        }
    }
}

fn aggregated(
    list: &[&TemporalInstance],
    dataset: Option<&str>,
    params: &TemporalParams,
    aggr: &Aggregation,
) -> Value {
    let kind = list.first().map(|i| i.instance.kind).unwrap_or(AttrKind::Property);
    let buckets = periods(list, params, aggr.period);
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.as_str().into()));
    for method in &aggr.methods {
        let triples: Vec<Value> = buckets
            .iter()
            .filter_map(|(from, to, items)| {
                aggregate(*method, items).map(|v| json!([v, time_text(*from), time_text(*to)]))
            })
            .collect();
        m.insert(method.name().into(), Value::Array(triples));
    }
    if let Some(d) = dataset {
        m.insert("datasetId".into(), Value::String(d.into()));
    }
    Value::Object(m)
}

/// The temporal representation of one entity.
pub fn render(
    id: &str,
    types: &[String],
    instances: &[TemporalInstance],
    format: TemporalFormat,
    params: &TemporalParams,
    sys_attrs: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(id.into()));
    m.insert(
        "type".into(),
        match types {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        },
    );
    for (attr, per_dataset) in grouped(instances) {
        let rendered = match (format, &params.aggregation) {
            (TemporalFormat::Normalized, _) => {
                Value::Array(per_dataset.values().flatten().map(|i| normalized(i, sys_attrs)).collect())
            }
            (TemporalFormat::TemporalValues, _) | (TemporalFormat::Aggregated, None) => {
                one_or_many(per_dataset.iter().map(|(d, list)| temporal_values(list, *d)).collect())
            }
            (TemporalFormat::Aggregated, Some(aggr)) => {
                one_or_many(per_dataset.iter().map(|(d, list)| aggregated(list, *d, params, aggr)).collect())
            }
        };
        m.insert(attr.to_string(), rendered);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests;
