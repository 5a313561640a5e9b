//! How an entity stands now, as the map shows it: live, in alert (a reading past its dataset's
//! outlier limit, or a river past its own alert level) or stale (no reading within what its
//! dataset's frequency allows; a day for an entity of no dataset).

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::model::{Dataset, OutlierRule};
use crate::hub::context::ActiveContext;
use crate::hub::entity::Entity;

/// Its newest reading: the latest observedAt, else when it was last written.
pub fn last_update(e: &Entity) -> Option<Timestamp> {
    e.attrs.values().flatten().filter_map(|i| i.observed_at).max().or(e.modified_at)
}

fn number(e: &Entity, short: &str) -> Option<f64> {
    let iri = ActiveContext::core().expand(short);
    e.attrs.get(&iri)?.first()?.content.as_f64()
}

pub fn live_state(e: &Entity, datasets: &[&Dataset], now: Timestamp) -> &'static str {
    let gap = datasets.iter().map(|d| d.allowed_gap()).max().unwrap_or(SignedDuration::from_hours(24));
    if last_update(e).is_none_or(|t| t < now - gap) {
        return "stale";
    }
    let past_rule = datasets.iter().any(|d| {
        d.rules.outliers.iter().any(|(attr, rule)| {
            let v = e.attrs.get(attr).and_then(|i| i.first()).and_then(|i| i.content.as_f64());
            matches!((rule, v), (OutlierRule::Range { min, max }, Some(v))
                if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m))
        })
    });
    // A flood gauge carries its own alert level (FloodMonitoring, RiverGauge).
    let level = number(e, "currentLevel").or_else(|| number(e, "waterLevel"));
    let alert_level = number(e, "alertLevel").or_else(|| number(e, "alarmLevel1"));
    let past_level = matches!((level, alert_level), (Some(l), Some(a)) if l >= a);
    if past_rule || past_level {
        "alert"
    } else {
        "ok"
    }
}

/// An entity's name for people: its `name` (a text or a language map), else its id.
pub fn display_name(e: &Entity, lang: &str) -> String {
    let iri = ActiveContext::core().expand("name");
    match e.attrs.get(&iri).and_then(|i| i.first()).map(|i| &i.content) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .get(lang)
            .or_else(|| map.get("vi"))
            .or_else(|| map.values().next())
            .and_then(Value::as_str)
            .unwrap_or(&e.id)
            .to_string(),
        _ => e.id.rsplit(':').next().unwrap_or(&e.id).to_string(),
    }
}
