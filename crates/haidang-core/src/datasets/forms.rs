//! Forms ("biểu mẫu") for agencies without an automatic connection: the columns a dataset's form
//! has (from its schema), and the rows of a filled-in form read back into entities, every
//! problem named by row and column. Reading and writing the spreadsheet file is the report
//! crate's; this is what the cells mean.

use std::collections::{BTreeMap, HashSet};

use jiff::civil::DateTime;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

use super::model::Dataset;
use crate::hub::context::ActiveContext;
use crate::hub::entity::{is_uri, AttrKind, Entity, Instance};
use crate::hub::placement::LOCATION;
use crate::time::local_tz;

/// What a column holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    Text,
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Decimal {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// "dd/mm/yyyy hh:mm", Vietnam time.
    DateTime,
    Choice(Vec<String>),
}

/// What a column is for: the entity, its commune, the time of the figures, or an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum FormKey {
    Id,
    Unit,
    ObservedAt,
    /// Expanded attribute name.
    Attr(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormColumn {
    pub key: FormKey,
    /// The short name in the header's brackets: "id", "unit", "observedAt", "pm25".
    pub short: String,
    pub kind: FormKind,
    pub required: bool,
}

/// The marker a template carries, so a form of another dataset is told apart.
pub fn marker(dataset_id: &str) -> String {
    format!("haidang-form:{dataset_id}:v1")
}

/// Most forms are filled in by hand: past this many attributes, a form keeps the required ones,
/// those with rules and those the dataset's entities have.
const MAX_ATTRIBUTE_COLUMNS: usize = 25;

/// A schema property that fits in one cell, as a column kind.
fn cell_kind(p: &Value) -> Option<FormKind> {
    if let Some(Value::Array(options)) = p.get("enum") {
        return Some(FormKind::Choice(
            options.iter().map(|o| o.as_str().map(str::to_string).unwrap_or_else(|| o.to_string())).collect(),
        ));
    }
    let num = |k: &str| p.get(k).and_then(Value::as_f64);
    match p.get("type").and_then(Value::as_str) {
        Some("number") => Some(FormKind::Decimal { min: num("minimum"), max: num("maximum") }),
        Some("integer") => Some(FormKind::Integer {
            min: p.get("minimum").and_then(Value::as_i64),
            max: p.get("maximum").and_then(Value::as_i64),
        }),
        Some("boolean") => Some(FormKind::Choice(vec!["true".into(), "false".into()])),
        Some("string") if p.get("format").and_then(Value::as_str) == Some("date-time") => {
            Some(FormKind::DateTime)
        }
        Some("string") => Some(FormKind::Text),
        _ => None,
    }
}

fn scalar_properties(schema: &Value, out: &mut BTreeMap<String, FormKind>) {
    if let Some(Value::Object(p)) = schema.get("properties") {
        for (name, prop) in p {
            if let Some(kind) = cell_kind(prop) {
                out.entry(name.clone()).or_insert(kind);
            }
        }
    }
    if let Some(Value::Array(parts)) = schema.get("allOf") {
        for part in parts {
            scalar_properties(part, out);
        }
    }
}

/// The form's columns: id, commune, time, then the attributes. `required` and `present` are
/// expanded names (the required attributes; those the dataset's entities have).
pub fn columns(
    d: &Dataset,
    schema: &Value,
    required: &[String],
    present: &HashSet<String>,
    units: Vec<String>,
) -> Vec<FormColumn> {
    let core = ActiveContext::core();
    let mut props = BTreeMap::new();
    scalar_properties(schema, &mut props);
    for skip in [
        "id",
        "type",
        "dateCreated",
        "dateModified",
        "dateObserved",
        "source",
        "dataProvider",
        "owner",
        "seeAlso",
    ] {
        props.remove(skip);
    }
    let many = props.len() > MAX_ATTRIBUTE_COLUMNS;
    let mut out = vec![
        FormColumn { key: FormKey::Id, short: "id".into(), kind: FormKind::Text, required: true },
        FormColumn {
            key: FormKey::Unit,
            short: "unit".into(),
            kind: FormKind::Choice(units),
            required: true,
        },
        FormColumn {
            key: FormKey::ObservedAt,
            short: "observedAt".into(),
            kind: FormKind::DateTime,
            required: true,
        },
    ];
    for (name, mut kind) in props {
        let iri = core.expand(&name);
        let is_required = required.contains(&iri);
        if many && !is_required && !present.contains(&iri) && !d.rules.ranges.contains_key(&iri) {
            continue;
        }
        if let (Some(r), FormKind::Decimal { min, max }) = (d.rules.ranges.get(&iri), &mut kind) {
            *min = r.min.or(*min);
            *max = r.max.or(*max);
        }
        out.push(FormColumn { key: FormKey::Attr(iri), short: name, kind, required: is_required });
    }
    out
}

/// A problem with an upload: where (row as the user sees it, column's short name) and what.
/// `code` picks the translated message, which may show `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormError {
    pub row: Option<usize>,
    pub column: Option<String>,
    pub code: &'static str,
    pub value: String,
}

fn err(row: Option<usize>, column: Option<&str>, code: &'static str, value: impl Into<String>) -> FormError {
    FormError { row, column: column.map(str::to_string), code, value: value.into() }
}

/// The key in a header's last brackets ("Bụi mịn PM2.5 (pm25)" → "pm25"), else the header.
pub fn header_key(header: &str) -> &str {
    let h = header.trim();
    match (h.rfind('('), h.ends_with(')')) {
        (Some(open), true) => h[open + 1..h.len() - 1].trim(),
        _ => h,
    }
}

/// What an upload is checked against.
pub struct FormContext<'a> {
    pub dataset: &'a Dataset,
    pub columns: &'a [FormColumn],
    /// The template's example row: left in by mistake, it is skipped, not imported.
    pub example: &'a [String],
    /// A representative point of a unit (None: no such unit).
    pub unit_point: &'a dyn Fn(&str) -> Option<(f64, f64)>,
    /// Whether an entity exists already (a new one is placed in its commune).
    pub exists: &'a dyn Fn(&str) -> bool,
    pub now: Timestamp,
    /// The attribute holding the time of the figures, when the schema has one (Smart Data
    /// Models' `dateObserved`): filled from the time column.
    pub time_attr: Option<String>,
}

/// The unit code of a unit cell: "03408" or the template's choice "03408 - Tân Phong".
pub fn unit_code(cell: &str) -> &str {
    let t = cell.trim();
    t.split([' ', '-', '–']).next().unwrap_or(t)
}

/// A cell as a number: "12.5", "12,5" (decimal comma) or "1 234,5" with spaces between groups.
pub fn parse_decimal(cell: &str) -> Option<f64> {
    let t: String = cell.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let t = if t.contains(',') && !t.contains('.') { t.replace(',', ".") } else { t };
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// "dd/mm/yyyy hh:mm" (or "dd/mm/yyyy", or ISO 8601) in Vietnam time.
pub fn parse_local_time(cell: &str) -> Option<Timestamp> {
    let t = cell.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some(ts);
    }
    let with_time = if t.len() <= 10 { format!("{t} 00:00") } else { t.to_string() };
    let dt = DateTime::strptime("%d/%m/%Y %H:%M", &with_time).ok()?;
    dt.to_zoned(local_tz()).ok().map(|z| z.timestamp())
}

/// Reads the rows into entities, all of them or none: every error in the file is listed.
pub fn read_rows(
    ctx: &FormContext,
    marker_found: Option<&str>,
    headers: &[String],
    rows: &[(usize, Vec<String>)],
) -> Result<Vec<(usize, Entity)>, Vec<FormError>> {
    let mut errors = Vec::new();
    if let Some(m) = marker_found {
        if m != marker(&ctx.dataset.id) {
            let other = m.strip_prefix("haidang-form:").and_then(|r| r.split(':').next()).unwrap_or(m);
            return Err(vec![err(None, None, "wrong_template", other)]);
        }
    }
    // Which column of the file each form column is in.
    let mut at: Vec<Option<usize>> = vec![None; ctx.columns.len()];
    for (i, h) in headers.iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        let key = header_key(h);
        match ctx.columns.iter().position(|c| c.short.eq_ignore_ascii_case(key)) {
            Some(c) if at[c].is_some() => errors.push(err(Some(1), Some(key), "duplicate_column", h.clone())),
            Some(c) => at[c] = Some(i),
            None => errors.push(err(Some(1), Some(key), "unknown_column", h.clone())),
        }
    }
    for (c, col) in ctx.columns.iter().enumerate() {
        if at[c].is_none() && col.required {
            errors.push(err(Some(1), Some(&col.short), "missing_column", col.short.clone()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let type_short = ActiveContext::core().compact(&ctx.dataset.type_iri);
    let mut out = Vec::new();
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    for (number, cells) in rows {
        let cell = |c: usize| at[c].and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("");
        let example = !ctx.example.is_empty()
            && ctx
                .columns
                .iter()
                .enumerate()
                .all(|(c, _)| ctx.example.get(c).map(|e| e.trim()) == Some(cell(c)));
        if example {
            continue;
        }
        match read_row(ctx, &type_short, *number, &cell) {
            Ok(e) => {
                let when = e
                    .attrs
                    .values()
                    .flatten()
                    .filter_map(|i| i.observed_at)
                    .next()
                    .map(|t| t.as_microsecond());
                if !seen.insert((e.id.clone(), when.unwrap_or(0))) {
                    errors.push(err(Some(*number), Some("id"), "duplicate_row", e.id.clone()));
                }
                out.push((*number, e));
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(err(None, None, "no_rows", ""));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn read_row<'c>(
    ctx: &FormContext,
    type_short: &str,
    row: usize,
    cell: &dyn Fn(usize) -> &'c str,
) -> Result<Entity, Vec<FormError>> {
    let mut errors = Vec::new();
    let mut id = None;
    let mut unit = None;
    let mut observed = None;
    let mut attrs = BTreeMap::new();
    for (c, col) in ctx.columns.iter().enumerate() {
        let text = cell(c);
        let here = Some(col.short.as_str());
        if text.is_empty() {
            if col.required {
                errors.push(err(Some(row), here, "required", ""));
            }
            continue;
        }
        match &col.key {
            FormKey::Id => {
                let full = if text.contains(':') {
                    text.to_string()
                } else {
                    format!("urn:ngsi-ld:{type_short}:{text}")
                };
                let plain = text.contains(':')
                    || text.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
                if plain && is_uri(&full) {
                    id = Some(full);
                } else {
                    errors.push(err(Some(row), here, "bad_id", text));
                }
            }
            FormKey::Unit => {
                let code = unit_code(text);
                match (ctx.unit_point)(code) {
                    Some(p) => unit = Some(p),
                    None => errors.push(err(Some(row), here, "unknown_unit", text)),
                }
            }
            FormKey::ObservedAt => match parse_local_time(text) {
                Some(t) if t > ctx.now + jiff::SignedDuration::from_mins(5) => {
                    errors.push(err(Some(row), here, "future_datetime", text))
                }
                Some(t) => observed = Some(t),
                None => errors.push(err(Some(row), here, "bad_datetime", text)),
            },
            FormKey::Attr(iri) => match cell_value(&col.kind, text) {
                Ok(v) => {
                    attrs.insert(iri.clone(), v);
                }
                Err(code) => errors.push(err(Some(row), here, code, text)),
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(id), Some(observed)) = (id, observed) else {
        return Err(vec![err(Some(row), None, "required", "")]);
    };
    let instance = |content: Value, kind: AttrKind, observed_at: Option<Timestamp>| Instance {
        kind,
        content,
        dataset_id: None,
        observed_at,
        unit_code: None,
        sub: BTreeMap::new(),
        created_at: None,
        modified_at: None,
    };
    let mut entity = Entity {
        attrs: attrs
            .into_iter()
            .map(|(k, v)| (k, vec![instance(v, AttrKind::Property, Some(observed))]))
            .collect(),
        id,
        types: vec![ctx.dataset.type_iri.clone()],
        created_at: None,
        modified_at: None,
    };
    if let Some(attr) = &ctx.time_attr {
        let when = Value::from(observed.to_string());
        entity.attrs.insert(attr.clone(), vec![instance(when, AttrKind::Property, Some(observed))]);
    }
    // A new entity is placed in its commune; an existing one keeps the place it has.
    if let (Some((lon, lat)), false) = (unit, (ctx.exists)(&entity.id)) {
        let point = json!({"type": "Point", "coordinates": [lon, lat]});
        entity.attrs.insert(LOCATION.into(), vec![instance(point, AttrKind::GeoProperty, None)]);
    }
    Ok(entity)
}

fn cell_value(kind: &FormKind, text: &str) -> Result<Value, &'static str> {
    match kind {
        FormKind::Text => Ok(Value::from(text)),
        FormKind::Decimal { min, max } => {
            let v = parse_decimal(text).ok_or("not_a_number")?;
            bounded(v, *min, *max).map(Value::from)
        }
        FormKind::Integer { min, max } => {
            let v = parse_decimal(text).filter(|v| v.fract() == 0.0).ok_or("not_an_integer")?;
            bounded(v, min.map(|m| m as f64), max.map(|m| m as f64)).map(|v| Value::from(v as i64))
        }
        FormKind::DateTime => {
            parse_local_time(text).map(|t| Value::from(t.to_string())).ok_or("bad_datetime")
        }
        FormKind::Choice(options) => match options.iter().find(|o| o.as_str() == text) {
            Some(o) if o == "true" || o == "false" => Ok(Value::from(o == "true")),
            Some(o) => Ok(Value::from(o.as_str())),
            None => Err("not_in_list"),
        },
    }
}

fn bounded(v: f64, min: Option<f64>, max: Option<f64>) -> Result<f64, &'static str> {
    if min.is_some_and(|m| v < m) {
        Err("below_min")
    } else if max.is_some_and(|m| v > m) {
        Err("above_max")
    } else {
        Ok(v)
    }
}

/// An example row for the template: a made-up station in the first commune, now.
pub fn example_row(columns: &[FormColumn], now: Timestamp) -> Vec<String> {
    columns
        .iter()
        .map(|c| match (&c.key, &c.kind) {
            (FormKey::Id, _) => "TRAM-01".to_string(),
            (FormKey::ObservedAt, _) | (_, FormKind::DateTime) => {
                now.to_zoned(local_tz()).strftime("%d/%m/%Y %H:00").to_string()
            }
            (_, FormKind::Choice(options)) => options.first().cloned().unwrap_or_default(),
            (_, FormKind::Decimal { min, max }) => {
                let v = match (min, max) {
                    (Some(a), Some(b)) => (a + b) / 2.0,
                    (Some(a), None) => *a,
                    (None, Some(b)) => b.min(1.0),
                    (None, None) => 1.5,
                };
                format!("{}", (v * 10.0).round() / 10.0)
            }
            (_, FormKind::Integer { min, .. }) => min.unwrap_or(1).max(1).to_string(),
            (_, FormKind::Text) => String::new(),
        })
        .collect()
}

#[cfg(test)]
#[path = "forms_tests.rs"]
mod tests;
