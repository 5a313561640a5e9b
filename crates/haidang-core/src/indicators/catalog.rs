//! Checking an indicator definition as it is sent (the API and the console), field by field,
//! with errors that name the field: a formula's syntax error names its position, a formula that
//! would refer to itself through others names the cycle.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

use super::formula::{find_cycle, Formula};
use super::model::{
    Accumulation, Aggregate, Bands, Definition, Direction, Indicator, Level, Realtime, Rollup, TargetKind,
    GROUPS,
};
use super::period::{Frequency, Period};
use crate::error::{CoreError, CoreResult};

/// A definition as sent: everything optional, so a missing field is named, not a parse error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DefinitionSpec {
    pub code: Option<String>,
    pub valid_from: Option<String>,
    pub name_vi: Option<String>,
    pub name_en: Option<String>,
    pub group: Option<String>,
    pub unit: Option<String>,
    pub owner_org: Option<String>,
    pub frequency: Option<String>,
    pub level: Option<String>,
    /// "sum", "mean", "min", "max", "none" or "weighted_mean:CODE".
    pub rollup: Option<String>,
    pub accumulation: Option<String>,
    pub direction: Option<String>,
    pub target_kind: Option<String>,
    pub on_track: Option<f64>,
    pub at_risk: Option<f64>,
    pub formula: Option<String>,
    pub realtime: Option<Json>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub change_share: Option<f64>,
    pub description: Option<String>,
    pub change_note: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> CoreError {
    CoreError::validation(field, message)
}

pub fn required<'a>(field: &str, v: &'a Option<String>) -> CoreResult<&'a str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| bad(field, "is required"))
}

fn pick<T>(
    field: &str,
    v: &Option<String>,
    default: Option<T>,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> CoreResult<T> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => default.ok_or_else(|| bad(field, format!("is required ({allowed})"))),
        Some(s) => parse(s).ok_or_else(|| bad(field, format!("'{s}' is not one of {allowed}"))),
    }
}

pub fn parse_rollup(s: &str) -> Option<Rollup> {
    Some(match s {
        "sum" => Rollup::Sum,
        "mean" => Rollup::Mean,
        "min" => Rollup::Min,
        "max" => Rollup::Max,
        "none" => Rollup::None,
        _ => Rollup::WeightedMean { by: s.strip_prefix("weighted_mean:")?.trim().to_string() },
    })
}

pub fn rollup_text(r: &Rollup) -> String {
    match r {
        Rollup::Sum => "sum".into(),
        Rollup::Mean => "mean".into(),
        Rollup::Min => "min".into(),
        Rollup::Max => "max".into(),
        Rollup::None => "none".into(),
        Rollup::WeightedMean { by } => format!("weighted_mean:{by}"),
    }
}

fn parse_level(s: &str) -> Option<Level> {
    serde_json::from_value(Json::String(s.into())).ok()
}
fn parse_accumulation(s: &str) -> Option<Accumulation> {
    serde_json::from_value(Json::String(s.into())).ok()
}
fn parse_direction(s: &str) -> Option<Direction> {
    serde_json::from_value(Json::String(s.into())).ok()
}
fn parse_target_kind(s: &str) -> Option<TargetKind> {
    serde_json::from_value(Json::String(s.into())).ok()
}

fn valid_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

/// Builds a definition from a spec. `previous` is the version in force before (a new version
/// keeps what the spec leaves out); `owner_org` is the organisation's id, resolved by the caller.
pub fn build(
    spec: &DefinitionSpec,
    previous: Option<&Definition>,
    owner_org: String,
    version: u32,
    by: &str,
) -> CoreResult<Definition> {
    let code = match previous {
        Some(p) => p.code.clone(),
        None => required("code", &spec.code)?.to_string(),
    };
    if !valid_code(&code) {
        return Err(bad(
            "code",
            "1 to 64 characters: lowercase letters, digits, '_' or '.', starting with a letter",
        ));
    }
    let text = |field: &str, v: &Option<String>, prev: Option<&String>| -> CoreResult<String> {
        match (v.as_deref().map(str::trim).filter(|s| !s.is_empty()), prev) {
            (Some(s), _) => Ok(s.to_string()),
            (None, Some(p)) => Ok(p.clone()),
            (None, None) => Err(bad(field, "is required")),
        }
    };
    let valid_from = match spec.valid_from.as_deref() {
        Some(s) => Period::parse(s).ok_or_else(|| {
            bad("valid_from", format!("'{s}' is not a period (2026-11, 2026-Q3, 2026-H1, 2026)"))
        })?,
        None if previous.is_some() => {
            return Err(bad("valid_from", "a new version names the period it starts from"))
        }
        None => Period::year_of(2000),
    };
    let group = text("group", &spec.group, previous.map(|p| &p.group))?;
    if !GROUPS.contains(&group.as_str()) {
        return Err(bad("group", format!("'{group}' is not one of {}", GROUPS.join(", "))));
    }
    let frequency = pick(
        "frequency",
        &spec.frequency,
        previous.map(|p| p.frequency),
        Frequency::parse,
        "month, quarter, half_year, year, real_time",
    )?;
    if let Some(p) = previous {
        if p.frequency.period_kind() != frequency.period_kind() {
            return Err(bad("frequency", "cannot change between versions: define a new indicator"));
        }
    }
    let rollup = pick(
        "rollup",
        &spec.rollup,
        previous.map(|p| p.rollup.clone()).or(Some(Rollup::Sum)),
        parse_rollup,
        "sum, mean, weighted_mean:CODE, min, max, none",
    )?;
    let formula = match spec.formula.as_deref().map(str::trim) {
        Some("") => None,
        Some(f) => Some(Formula::parse(f).map_err(|e| bad("formula", e.to_string()))?.source().to_string()),
        None => previous.and_then(|p| p.formula.clone()),
    };
    let realtime = match &spec.realtime {
        Some(Json::Null) => None,
        Some(v) => Some(parse_realtime(v)?),
        None => previous.and_then(|p| p.realtime.clone()),
    };
    if formula.is_some() && realtime.is_some() {
        return Err(bad(
            "formula",
            "an indicator is derived by a formula or computed from the hub, not both",
        ));
    }
    if (frequency == Frequency::RealTime) != realtime.is_some() {
        return Err(bad(
            "realtime",
            "a real-time indicator (frequency real_time) needs its hub source, and only it",
        ));
    }
    let bands = Bands {
        on_track: spec.on_track.or(previous.map(|p| p.bands.on_track)).unwrap_or(100.0),
        at_risk: spec.at_risk.or(previous.map(|p| p.bands.at_risk)).unwrap_or(90.0),
    };
    if bands.at_risk > bands.on_track {
        return Err(bad("at_risk", "the at-risk band must not be above the on-track band"));
    }
    let (min, max) = (spec.min.or(previous.and_then(|p| p.min)), spec.max.or(previous.and_then(|p| p.max)));
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            return Err(bad("min", "is above max"));
        }
    }
    let change_share = spec.change_share.or(previous.map(|p| p.change_share)).unwrap_or(0.3);
    if !(change_share > 0.0 && change_share.is_finite()) {
        return Err(bad("change_share", "must be a positive share, e.g. 0.3 for 30%"));
    }
    Ok(Definition {
        version,
        valid_from,
        name_vi: text("name_vi", &spec.name_vi, previous.map(|p| &p.name_vi))?,
        name_en: spec.name_en.clone().or(previous.map(|p| p.name_en.clone())).unwrap_or_default(),
        group,
        unit: text("unit", &spec.unit, previous.map(|p| &p.unit))?,
        owner_org,
        frequency,
        level: pick("level", &spec.level, previous.map(|p| p.level), parse_level, "province, commune")?,
        rollup,
        accumulation: pick(
            "accumulation",
            &spec.accumulation,
            previous.map(|p| p.accumulation),
            parse_accumulation,
            "cumulative, point_in_time",
        )?,
        direction: pick(
            "direction",
            &spec.direction,
            previous.map(|p| p.direction),
            parse_direction,
            "higher_is_better, lower_is_better",
        )?,
        target_kind: pick(
            "target_kind",
            &spec.target_kind,
            previous.map(|p| p.target_kind).or(Some(TargetKind::Level)),
            parse_target_kind,
            "level, reduction, growth, yes_no",
        )?,
        bands,
        formula,
        realtime,
        min,
        max,
        change_share,
        description: spec.description.clone().or(previous.map(|p| p.description.clone())).unwrap_or_default(),
        change_note: spec.change_note.clone().unwrap_or_default(),
        created_at: crate::time::now(),
        created_by: by.to_string(),
        code,
    })
}

fn parse_realtime(v: &Json) -> CoreResult<Realtime> {
    let field = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    let entity_type = field("entity_type").ok_or_else(|| bad("realtime.entity_type", "is required"))?;
    let attribute = field("attribute").ok_or_else(|| bad("realtime.attribute", "is required"))?;
    let window_hours = v.get("window_hours").and_then(Json::as_u64).unwrap_or(24);
    if !(1..=24 * 31).contains(&window_hours) {
        return Err(bad("realtime.window_hours", "must be 1 to 744 hours"));
    }
    let aggregate = match field("aggregate").as_deref().unwrap_or("mean") {
        "mean" => Aggregate::Mean,
        "sum" => Aggregate::Sum,
        "min" => Aggregate::Min,
        "max" => Aggregate::Max,
        "count" => Aggregate::Count,
        other => {
            return Err(bad(
                "realtime.aggregate",
                format!("'{other}' is not one of mean, sum, min, max, count"),
            ))
        }
    };
    Ok(Realtime { entity_type, attribute, window_hours: window_hours as u32, aggregate })
}

/// Checks a definition against the rest of the catalog: every code a formula or a weighted
/// mean reads exists with the same kind of period, and no formula reaches itself.
pub fn check_in_catalog(def: &Definition, catalog: &[&Indicator]) -> CoreResult<()> {
    let find = |code: &str| catalog.iter().find(|i| i.code == code).and_then(|i| i.current());
    let kind = def.frequency.period_kind();
    let mut reads: Vec<(String, &str)> = Vec::new();
    if let Some(f) = &def.formula {
        let parsed = Formula::parse(f).map_err(|e| bad("formula", e.to_string()))?;
        reads.extend(parsed.references().into_iter().map(|c| (c, "formula")));
    }
    if let Rollup::WeightedMean { by } = &def.rollup {
        reads.push((by.clone(), "rollup"));
    }
    for (code, field) in &reads {
        if *code == def.code && *field == "rollup" {
            return Err(bad(field, "an indicator cannot be weighted by itself"));
        }
        if *code == def.code {
            continue; // found as a cycle below, with its path
        }
        let other = find(code).ok_or_else(|| bad(field, format!("unknown indicator '{code}'")))?;
        if other.frequency.period_kind() != kind {
            return Err(bad(
                field,
                format!(
                    "'{code}' is reported by {}, this indicator by {}",
                    other.frequency.as_str(),
                    def.frequency.as_str()
                ),
            ));
        }
    }
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ind in catalog {
        if let Some(f) = ind.current().and_then(|d| d.formula.as_deref()).and_then(|f| Formula::parse(f).ok())
        {
            graph.insert(ind.code.clone(), f.references());
        }
    }
    match def.formula.as_deref().and_then(|f| Formula::parse(f).ok()) {
        Some(f) => graph.insert(def.code.clone(), f.references()),
        None => graph.remove(&def.code),
    };
    if let Some(cycle) = find_cycle(&graph) {
        return Err(bad(
            "formula",
            format!("the formulas refer to each other in a cycle: {}", cycle.join(" → ")),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(code: &str, formula: Option<&str>) -> DefinitionSpec {
        DefinitionSpec {
            code: Some(code.into()),
            name_vi: Some(format!("Chỉ số {code}")),
            group: Some("economy".into()),
            unit: Some("%".into()),
            frequency: Some("month".into()),
            level: Some("province".into()),
            accumulation: Some("point_in_time".into()),
            direction: Some("higher_is_better".into()),
            formula: formula.map(str::to_string),
            ..Default::default()
        }
    }

    fn indicator(def: Definition) -> Indicator {
        Indicator { code: def.code.clone(), versions: vec![def], retired: false }
    }

    #[test]
    fn a_missing_or_wrong_field_is_named() {
        let mut s = spec("thu_ngan_sach", None);
        s.group = Some("weather".into());
        let err = build(&s, None, "org".into(), 1, "u").unwrap_err();
        assert!(matches!(err, CoreError::Validation { ref field, .. } if field == "group"), "{err}");
        let mut s = spec("thu_ngan_sach", None);
        s.direction = None;
        let err = build(&s, None, "org".into(), 1, "u").unwrap_err();
        assert!(matches!(err, CoreError::Validation { ref field, .. } if field == "direction"), "{err}");
        let err = build(&spec("Bad Code", None), None, "org".into(), 1, "u").unwrap_err();
        assert!(matches!(err, CoreError::Validation { ref field, .. } if field == "code"), "{err}");
    }

    #[test]
    fn a_formula_error_names_its_position() {
        let err = build(&spec("ty_le", Some("thu / * 100")), None, "org".into(), 1, "u").unwrap_err();
        let CoreError::Validation { field, message } = err else { panic!("not a validation error") };
        assert_eq!(field, "formula");
        assert!(message.contains("position 7"), "{message}");
    }

    #[test]
    fn formulas_that_refer_to_each_other_are_refused_with_the_cycle() {
        let a = build(&spec("a", Some("b + 1")), None, "org".into(), 1, "u");
        // b does not exist yet: named.
        let b0 = build(&spec("b", None), None, "org".into(), 1, "u").unwrap();
        let a = a.unwrap();
        let err = check_in_catalog(&a, &[]).unwrap_err();
        assert!(err.to_string().contains("unknown indicator 'b'"), "{err}");
        let catalog = [indicator(b0), indicator(a.clone())];
        let refs: Vec<&Indicator> = catalog.iter().collect();
        check_in_catalog(&a, &refs).unwrap();
        // b becomes a + 1: a → b → a.
        let b1 = build(&spec("b", Some("a * 2")), None, "org".into(), 1, "u").unwrap();
        let err = check_in_catalog(&b1, &refs).unwrap_err();
        assert!(err.to_string().contains("a → b → a") || err.to_string().contains("b → a → b"), "{err}");
        let own = build(&spec("c", Some("c + 1")), None, "org".into(), 1, "u").unwrap();
        assert!(check_in_catalog(&own, &refs).unwrap_err().to_string().contains("c → c"));
    }

    #[test]
    fn a_new_version_keeps_what_it_does_not_change_and_names_its_start() {
        let v1 = build(&spec("ty_le", None), None, "org".into(), 1, "u").unwrap();
        let change = DefinitionSpec { unit: Some("‰".into()), ..Default::default() };
        let err = build(&change, Some(&v1), "org".into(), 2, "u").unwrap_err();
        assert!(matches!(err, CoreError::Validation { ref field, .. } if field == "valid_from"));
        let change = DefinitionSpec { valid_from: Some("2026-07".into()), ..change };
        let v2 = build(&change, Some(&v1), "org".into(), 2, "u").unwrap();
        assert_eq!((v2.unit.as_str(), v2.name_vi.as_str(), v2.version), ("‰", v1.name_vi.as_str(), 2));
        let ind = Indicator { code: "ty_le".into(), versions: vec![v1, v2], retired: false };
        assert_eq!(ind.for_period(&Period::parse("2026-06").unwrap()).unwrap().unit, "%");
        assert_eq!(ind.for_period(&Period::parse("2026-07").unwrap()).unwrap().unit, "‰");
    }
}
