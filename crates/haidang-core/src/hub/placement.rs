//! Where the writer files each entity it writes (the units its location lies in, the datasets it
//! belongs to) and the tally of writes each dataset's "đúng" (correct) score is judged by.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use geo::Centroid;
use jiff::Timestamp;
use serde_json::Value;

use super::entity::{AttrKind, Entity, Instance};
use super::geoquery::to_geometry;
use super::index::Placement;
use super::writer::read;
use crate::datasets::catalog::Catalog;
use crate::datasets::model::{CountRow, WriteCounts};
use crate::repo::InstanceRow;
use crate::units::UnitLocator;

/// The expanded name of the attribute whose place files an entity under a unit.
pub const LOCATION: &str = "https://uri.etsi.org/ngsi-ld/location";

pub struct Placer {
    pub catalog: Arc<RwLock<Arc<Catalog>>>,
    pub units: Arc<dyn UnitLocator>,
}

/// The location GeoProperty of an entity (its first instance).
fn location(entity: &Entity) -> Option<&Instance> {
    entity.attrs.get(LOCATION)?.iter().find(|i| i.kind == AttrKind::GeoProperty)
}

/// A point standing for the entity's location: the point itself, or a shape's centroid.
pub fn location_point(entity: &Entity) -> Option<(f64, f64)> {
    let g = to_geometry(&location(entity)?.content)?;
    let p = g.centroid()?;
    Some((p.x(), p.y()))
}

impl Placer {
    pub fn catalog(&self) -> Arc<Catalog> {
        read(&self.catalog).clone()
    }

    pub fn locate(&self, entity: &Entity) -> Vec<String> {
        location_point(entity).map(|(lon, lat)| self.units.units_at(lon, lat)).unwrap_or_default()
    }

    /// Files `entity`; the units of `previous` are kept when the location did not move, since
    /// finding the commune costs more than the rest of a sensor's update.
    pub fn place(
        &self,
        catalog: &Catalog,
        entity: &Entity,
        owner: Option<&str>,
        previous: Option<(Option<&Value>, &Placement)>,
    ) -> Placement {
        let now_at = location(entity).map(|i| &i.content);
        let units = match previous {
            Some((before, place)) if before == now_at => place.units.clone(),
            _ => self.locate(entity),
        };
        let datasets = catalog.membership(entity, owner, &units);
        Placement { units, datasets }
    }
}

/// The previous location's value, to tell whether an update moved the entity.
pub fn location_value(entity: Option<&Entity>) -> Option<Value> {
    entity.and_then(location).map(|i| i.content.clone())
}

const HOUR_US: i64 = 3_600_000_000;

/// Counts per dataset and hour, for one group of writes.
#[derive(Default, Clone)]
pub struct Tally {
    counts: HashMap<(u32, i64), WriteCounts>,
}

impl Tally {
    fn bump(&mut self, dataset: u32, at: Timestamp, add: WriteCounts) {
        let hour = at.as_microsecond().div_euclid(HOUR_US) * HOUR_US;
        self.counts.entry((dataset, hour)).or_default().add(add);
    }

    /// An accepted write of `history` (the instances it wrote) into `datasets`: in range, or
    /// with a value outside a dataset's plausible range.
    pub fn accepted(&mut self, catalog: &Catalog, datasets: &[u32], history: &[InstanceRow], at: Timestamp) {
        for n in datasets {
            let Some(d) = catalog.get(*n) else { continue };
            let out = history.iter().any(|row| {
                d.rules.ranges.get(&row.attr).is_some_and(|range| match numeric_value(&row.body) {
                    Some(v) => !range.contains(v),
                    None => false,
                })
            });
            let add = if out {
                WriteCounts { out_of_range: 1, ..Default::default() }
            } else {
                WriteCounts { accepted: 1, ..Default::default() }
            };
            self.bump(*n, at, add);
        }
    }

    /// A write refused by the exchange data structure.
    pub fn refused(&mut self, datasets: &[u32], at: Timestamp) {
        for n in datasets {
            self.bump(*n, at, WriteCounts { refused: 1, ..Default::default() });
        }
    }

    /// The refusals counted since `before` (a snapshot of this tally): an atomic job undone
    /// keeps them, since a refused form is still a refused write.
    pub fn refusals_since(&self, before: &Tally) -> Vec<((u32, i64), i64)> {
        self.counts
            .iter()
            .map(|(k, c)| (*k, c.refused - before.counts.get(k).map(|b| b.refused).unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub fn add_refusals(&mut self, refusals: Vec<((u32, i64), i64)>) {
        for (k, n) in refusals {
            self.counts.entry(k).or_default().refused += n;
        }
    }

    pub fn rows(&self, catalog: &Catalog) -> Vec<CountRow> {
        let mut out: Vec<CountRow> = self
            .counts
            .iter()
            .filter_map(|((n, hour), counts)| {
                catalog.get(*n).map(|d| CountRow { dataset_id: d.id.clone(), hour: *hour, counts: *counts })
            })
            .collect();
        out.sort_by(|a, b| (&a.dataset_id, a.hour).cmp(&(&b.dataset_id, b.hour)));
        out
    }
}

/// The number an instance body holds, if it holds one.
pub fn numeric_value(body: &str) -> Option<f64> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("value").and_then(Value::as_f64)
}
