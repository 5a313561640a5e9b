//! Point → unit lookup in memory: an R-tree over bounding boxes narrows the candidates, then an
//! exact point-in-polygon test decides. Rebuilt whole after every import (a few hundred units).

use geo::{BoundingRect, Contains, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::{AdminUnit, UnitImportError};

struct Entry {
    /// The unit without its boundary, so a lookup answers without touching the store.
    unit: AdminUnit,
    shape: MultiPolygon<f64>,
}

pub struct UnitIndex {
    entries: Vec<Entry>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl UnitIndex {
    /// Units without geometry are left out.
    pub fn build(units: &[AdminUnit]) -> Result<UnitIndex, UnitImportError> {
        let mut entries = Vec::new();
        let mut boxes = Vec::new();
        for unit in units {
            let Some(text) = &unit.geometry else { continue };
            let fail =
                |message: String| UnitImportError { feature: Some(format!("unit {}", unit.code)), message };
            let geometry: geojson::Geometry = text.parse().map_err(|e| fail(format!("geometry: {e}")))?;
            let shape: MultiPolygon<f64> = match geo::Geometry::<f64>::try_from(geometry) {
                Ok(geo::Geometry::Polygon(p)) => MultiPolygon(vec![p]),
                Ok(geo::Geometry::MultiPolygon(mp)) => mp,
                Ok(_) => return Err(fail("geometry is not a Polygon or MultiPolygon".into())),
                Err(e) => return Err(fail(format!("geometry: {e}"))),
            };
            let Some(rect) = shape.bounding_rect() else { continue };
            boxes.push(GeomWithData::new(
                Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]),
                entries.len(),
            ));
            entries.push(Entry { unit: AdminUnit { geometry: None, ..unit.clone() }, shape });
        }
        Ok(UnitIndex { entries, tree: RTree::bulk_load(boxes) })
    }

    /// Every unit containing the point, most specific first (commune, district, province).
    pub fn lookup_all(&self, lon: f64, lat: f64) -> Vec<&str> {
        let point = Point::new(lon, lat);
        let mut hits: Vec<&Entry> = self
            .tree
            .locate_all_at_point(&[lon, lat])
            .map(|b| &self.entries[b.data])
            .filter(|e| e.shape.contains(&point))
            .collect();
        hits.sort_by(|a, b| {
            a.unit
                .kind
                .depth_rank()
                .cmp(&b.unit.kind.depth_rank())
                .then_with(|| a.unit.code.cmp(&b.unit.code))
        });
        hits.into_iter().map(|e| e.unit.code.as_str()).collect()
    }

    /// The most specific unit containing the point.
    pub fn lookup(&self, lon: f64, lat: f64) -> Option<&str> {
        self.lookup_all(lon, lat).into_iter().next()
    }

    /// An indexed unit (without its boundary).
    pub fn unit(&self, code: &str) -> Option<&AdminUnit> {
        self.entries.iter().find(|e| e.unit.code == code).map(|e| &e.unit)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::UnitKind;

    fn unit(code: &str, kind: UnitKind, ring: &str) -> AdminUnit {
        AdminUnit {
            code: code.into(),
            parent_code: None,
            kind,
            name_vi: code.into(),
            name_en: code.into(),
            full_name_vi: code.into(),
            full_name_en: code.into(),
            area_km2: None,
            geometry: Some(format!(r#"{{"type":"Polygon","coordinates":[{ring}]}}"#)),
            valid_from: jiff::civil::date(2025, 7, 1),
            valid_to: None,
        }
    }

    #[test]
    fn the_commune_comes_before_its_province_and_outside_points_find_nothing() {
        let index = UnitIndex::build(&[
            unit("12", UnitKind::Province, "[[0,0],[10,0],[10,10],[0,10],[0,0]]"),
            unit("03388", UnitKind::Ward, "[[1,1],[3,1],[3,3],[1,3],[1,1]]"),
            // A triangle: its bounding box holds (4.5, 1.5) but the shape does not.
            unit("03430", UnitKind::Commune, "[[4,1],[5,1],[4,2],[4,1]]"),
        ])
        .unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(index.lookup_all(2.0, 2.0), vec!["03388", "12"]);
        assert_eq!(index.lookup(4.7, 1.6), Some("12"));
        assert_eq!(index.lookup(20.0, 20.0), None);
        assert_eq!(index.unit("03388").map(|u| u.geometry.is_none()), Some(true));
    }
}
