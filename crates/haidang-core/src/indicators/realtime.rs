//! Real-time indicators: an aggregate of one attribute of the hub's entities of a type, over the
//! last hours, in each unit (the mean PM2.5 of a commune's stations over 24 h). A job computes
//! them every few minutes and keeps the latest as the current month's figure, marked computed;
//! when the month ends the last one computed stays as the month's figure.
//!
//! A computed figure is written over in place, without a revision: it is recomputed every few
//! minutes from readings the hub keeps, and a revision each time would bury the revisions people
//! make. Who and when are on the figure itself (`updated_by`, `updated_at`, `computed`).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value as Json;

use super::model::{Aggregate, Definition, Level, Realtime, Value, ValueKey, ValueKind, ValueState};
use super::period::Period;
use super::service::{today, IndicatorService};
use crate::accounts::{Role, Subject};
use crate::error::CoreResult;
use crate::hub::contexts::core_arc;

/// The readings of one entity in the window, in one unit.
type Readings = Vec<f64>;

/// The number an instance carries: a Property's value, numeric or a numeric text.
fn reading(body: &str) -> Option<f64> {
    let v: Json = serde_json::from_str(body).ok()?;
    match v.get("value")? {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

/// The aggregate over one unit's entities. A mean counts each entity once (its own mean), so a
/// station that reports every minute does not outweigh one that reports every hour; sums,
/// extremes and counts are over every reading.
pub fn aggregate(how: Aggregate, entities: &[Readings]) -> Option<f64> {
    let all = entities.iter().flatten().copied();
    let value = match how {
        Aggregate::Mean => {
            let means: Vec<f64> = entities
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| r.iter().sum::<f64>() / r.len() as f64)
                .collect();
            if means.is_empty() {
                return None;
            }
            means.iter().sum::<f64>() / means.len() as f64
        }
        Aggregate::Sum => {
            if entities.iter().all(|r| r.is_empty()) {
                return None;
            }
            all.sum()
        }
        Aggregate::Min => all.reduce(f64::min)?,
        Aggregate::Max => all.reduce(f64::max)?,
        Aggregate::Count => all.count() as f64,
    };
    Some((value * 100.0).round() / 100.0)
}

impl IndicatorService {
    /// Computes every real-time indicator in force at `at` and stores the figures; answers how
    /// many figures were written. Units with no reading in the window keep what they had.
    pub async fn compute_realtime(&self, at: Timestamp) -> CoreResult<usize> {
        let book = self.book();
        let day = today();
        let defs: Vec<Definition> = book
            .indicators()
            .filter(|i| !i.retired)
            .filter_map(|i| i.current().filter(|d| d.realtime.is_some()).cloned())
            .collect();
        if defs.is_empty() {
            return Ok(0);
        }
        let system = Subject { role: Role::Supervisor, username: "system".into(), ..Subject::cli() };
        let mut values = Vec::new();
        for def in &defs {
            let Some(rt) = &def.realtime else { continue };
            let period = Period::containing(def.frequency.period_kind(), day);
            for (unit, v) in self.realtime_by_unit(def, rt, at, &book.units, &book.province).await? {
                values.push(Value {
                    key: ValueKey {
                        code: def.code.clone(),
                        unit_code: unit,
                        period,
                        kind: ValueKind::Actual,
                    },
                    org_id: def.owner_org.clone(),
                    version: def.version,
                    value: v,
                    state: ValueState::Approved,
                    revision: 1,
                    comment: format!("Tính tự động từ dữ liệu {} giờ qua", rt.window_hours),
                    approved_value: Some(v),
                    approved_revision: Some(1),
                    approved_at: Some(at),
                    updated_at: at,
                    updated_by: system.username.clone(),
                    computed: true,
                });
            }
        }
        if values.is_empty() {
            return Ok(0);
        }
        let scope: Vec<(String, i16)> = defs.iter().map(|d| (d.code.clone(), day.year())).collect();
        let before = self.statuses(&book, &scope);
        self.repo.save_values(&values, &[], None).await?;
        self.after_change(&system, before).await?;
        Ok(values.len())
    }

    /// The aggregate of `rt` in each unit the indicator is kept for (the communes, or the
    /// province), over the window ending at `at`.
    async fn realtime_by_unit(
        &self,
        def: &Definition,
        rt: &Realtime,
        at: Timestamp,
        units: &[String],
        province: &str,
    ) -> CoreResult<BTreeMap<String, f64>> {
        let ctx = core_arc();
        let placed = self.hub.placed_of_type(&ctx.expand(&rt.entity_type));
        if placed.is_empty() {
            return Ok(BTreeMap::new());
        }
        let attr = ctx.expand(&rt.attribute);
        let ids: Vec<String> = placed.iter().map(|(id, _)| id.clone()).collect();
        let from = at - jiff::SignedDuration::from_hours(i64::from(rt.window_hours));
        let mut per_entity: BTreeMap<String, Readings> = BTreeMap::new();
        // A reading outside the indicator's range is a sensor fault, not the province's air: it
        // is left out rather than let move a leader's figure.
        let plausible = |x: &f64| def.min.is_none_or(|m| *x >= m) && def.max.is_none_or(|m| *x <= m);
        for row in self.repo.instances_between(&ids, from, at).await? {
            if row.attr == attr {
                if let Some(x) = reading(&row.body).filter(plausible) {
                    per_entity.entry(row.entity_id).or_default().push(x);
                }
            }
        }
        let kept: BTreeSet<&str> = match def.level {
            Level::Province => [province].into_iter().collect(),
            Level::Commune => units.iter().skip(1).map(String::as_str).collect(),
        };
        let mut by_unit: BTreeMap<String, Vec<Readings>> = BTreeMap::new();
        for (id, entity_units) in placed {
            let Some(readings) = per_entity.remove(&id) else { continue };
            for u in entity_units.iter().filter(|u| kept.contains(u.as_str())) {
                by_unit.entry(u.clone()).or_default().push(readings.clone());
            }
        }
        Ok(by_unit.into_iter().filter_map(|(u, r)| Some((u, aggregate(rt.aggregate, &r)?))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_counts_each_station_once() {
        // One station reporting often at 10, one reporting once at 40: the commune's mean is 25.
        let readings = vec![vec![10.0; 24], vec![40.0]];
        assert_eq!(aggregate(Aggregate::Mean, &readings), Some(25.0));
        assert_eq!(aggregate(Aggregate::Sum, &readings), Some(280.0));
        assert_eq!(aggregate(Aggregate::Max, &readings), Some(40.0));
        assert_eq!(aggregate(Aggregate::Min, &readings), Some(10.0));
        assert_eq!(aggregate(Aggregate::Count, &readings), Some(25.0));
    }

    #[test]
    fn no_reading_gives_no_figure_rather_than_zero() {
        assert_eq!(aggregate(Aggregate::Mean, &[vec![]]), None);
        assert_eq!(aggregate(Aggregate::Sum, &[]), None);
        assert_eq!(aggregate(Aggregate::Max, &[vec![]]), None);
    }

    #[test]
    fn readings_are_read_from_numbers_and_numeric_text() {
        assert_eq!(reading(r#"{"type":"Property","value":35.5}"#), Some(35.5));
        assert_eq!(reading(r#"{"type":"Property","value":"12,5"}"#), Some(12.5));
        assert_eq!(reading(r#"{"type":"Property","value":"cao"}"#), None);
        assert_eq!(reading(r#"{"type":"Relationship","object":"urn:x"}"#), None);
    }
}
