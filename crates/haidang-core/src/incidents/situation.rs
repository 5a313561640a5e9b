//! The situation around an incident's place: the hub's cameras, sensors with their latest
//! readings, shelters, health stations and fire posts within a radius, nearest first, and the
//! communes affected. What the command page's map and list show.

use serde::Serialize;
use serde_json::Value;

use crate::accounts::Subject;
use crate::alerts::service::point_of;
use crate::error::{CoreError, CoreResult};
use crate::hub::context::ActiveContext;
use crate::hub::entity::{AttrKind, Entity};
use crate::hub::service::type_iri;
use crate::hub::HubService;

/// The entity types the situation reads, and what each is to the operator.
const TYPES: [(&str, &str); 6] = [
    ("Camera", "camera"),
    ("FloodMonitoring", "sensor"),
    ("WeatherObserved", "sensor"),
    ("AirQualityObserved", "sensor"),
    ("TrafficFlowObserved", "sensor"),
    ("PointOfInterest", "poi"),
];
/// At most this many entities of a type are read.
const PER_TYPE: usize = 5_000;
pub const MAX_RADIUS_M: f64 = 50_000.0;

#[derive(Debug, Clone, Serialize)]
pub struct Nearby {
    pub id: String,
    pub name: String,
    /// camera, sensor, shelter, health, fire, other.
    pub kind: String,
    pub entity_type: String,
    pub location: [f64; 2],
    pub distance_m: f64,
    /// The latest numeric readings, "currentLevel 188.9" (sensors only).
    pub reading: Option<String>,
    pub units: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Situation {
    pub location: [f64; 2],
    pub radius_m: f64,
    pub nearby: Vec<Nearby>,
    /// Communes of the incident and of what lies within the radius.
    pub communes: Vec<String>,
}

/// Great-circle distance in metres.
pub fn distance_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let (dlat, dlon) = ((b[1] - a[1]).to_radians(), (b[0] - a[0]).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

fn text_of(e: &Entity, iri: &str) -> Option<String> {
    e.attrs.get(iri)?.first()?.content.as_str().map(str::to_string)
}

fn poi_kind(e: &Entity) -> &'static str {
    let iri = ActiveContext::core().expand("category");
    let cats: Vec<String> = e
        .attrs
        .get(&iri)
        .and_then(|i| i.first())
        .map(|i| match &i.content {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        })
        .unwrap_or_default();
    if cats.iter().any(|c| c == "shelter") {
        "shelter"
    } else if cats.iter().any(|c| c.starts_with("health") || c == "hospital") {
        "health"
    } else if cats.iter().any(|c| c.starts_with("fire")) {
        "fire"
    } else {
        "other"
    }
}

fn reading_of(e: &Entity) -> Option<String> {
    let core = ActiveContext::core();
    let parts: Vec<String> = e
        .attrs
        .iter()
        .filter_map(|(name, instances)| {
            let i = instances.first()?;
            (i.kind == AttrKind::Property).then_some(())?;
            let v = i.content.as_f64()?;
            Some(format!("{} {v}", core.compact(name)))
        })
        .take(3)
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// What lies within `radius_m` of `at`, that `by` may read.
pub async fn around(
    hub: &HubService,
    by: &Subject,
    at: [f64; 2],
    radius_m: f64,
    incident_units: &[String],
) -> CoreResult<Situation> {
    if !(radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
        return Err(CoreError::validation("radius_m", "from 1 to 50000 metres"));
    }
    let name_iri = ActiveContext::core().expand("name");
    let mut nearby = Vec::new();
    for (type_name, kind) in TYPES {
        let mut ids: Vec<String> =
            hub.placed_of_type(&type_iri(type_name)).into_iter().map(|(id, _)| id).collect();
        ids.retain(|id| hub.sees(by, id));
        ids.truncate(PER_TYPE);
        if ids.is_empty() {
            continue;
        }
        for e in hub.entities_now(&ids).await?.into_values() {
            let Some(point) = point_of(&e) else { continue };
            let d = distance_m(at, point);
            if d > radius_m {
                continue;
            }
            let kind = if kind == "poi" { poi_kind(&e) } else { kind };
            nearby.push(Nearby {
                name: text_of(&e, &name_iri).unwrap_or_else(|| e.id.clone()),
                reading: if kind == "sensor" { reading_of(&e) } else { None },
                units: hub.place_of(&e.id).map(|p| p.units).unwrap_or_default(),
                id: e.id,
                kind: kind.to_string(),
                entity_type: type_name.to_string(),
                location: point,
                distance_m: d.round(),
            });
        }
    }
    nearby.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    // Communes are the five-digit codes (the province has two).
    let mut communes: Vec<String> = incident_units
        .iter()
        .chain(nearby.iter().flat_map(|n| n.units.iter()))
        .filter(|u| u.len() == 5)
        .cloned()
        .collect();
    communes.sort();
    communes.dedup();
    Ok(Situation { location: at, radius_m, nearby, communes })
}

#[cfg(test)]
mod tests {
    use super::distance_m;

    #[test]
    fn distances_are_great_circle_metres() {
        // Lai Châu city to Pa Tần, about 54 km.
        let d = distance_m([103.4582, 22.3964], [103.0833, 22.7167]);
        assert!((52_000.0..56_000.0).contains(&d), "{d}");
        assert_eq!(distance_m([103.0, 22.0], [103.0, 22.0]), 0.0);
    }
}
