//! NGSI-LD geo-queries (ETSI GS CIM 009 v1.8 §4.10): `georel`, `geometry`, `coordinates` and
//! `geoproperty`, parsed and checked, then evaluated against an entity's GeoProperty.
//!
//! Relations read "entity REL query-geometry" and follow the OGC Simple Features (DE-9IM)
//! definitions, computed in the lon/lat plane: RFC 7946 draws a GeoJSON line as a straight line
//! in coordinate space, so the plane is the model the data was written in. Only `near` measures
//! metres, as WGS84 geodesic distances.

use geo::{
    BoundingRect, Closest, ClosestPoint, Coord, CoordsIter, Distance, Geodesic, Geometry, Intersects,
    LineString, MapCoords, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Relate,
};
use rstar::AABB;
use serde_json::{json, Value};

use super::entity::check_geometry;

/// A rejected geo-query parameter. `position` is the 0-based character index in the georel text
/// where its syntax goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoQueryError {
    /// "georel", "geometry" or "coordinates".
    pub param: &'static str,
    pub position: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for GeoQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.param, self.message)?;
        if let Some(p) = self.position {
            write!(f, " (at character {p})")?;
        }
        Ok(())
    }
}

impl std::error::Error for GeoQueryError {}

fn fail(param: &'static str, position: Option<usize>, message: impl Into<String>) -> GeoQueryError {
    GeoQueryError { param, position, message: message.into() }
}

/// How the entity's geometry must stand to the query geometry. Distances are metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoRel {
    /// At least one bound is set; `min ≤ max` when both are.
    Near {
        max: Option<f64>,
        min: Option<f64>,
    },
    Within,
    Contains,
    Intersects,
    Disjoint,
    Equals,
    Overlaps,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeoQuery {
    pub rel: GeoRel,
    /// Always a Point for `near`.
    pub geometry: Geometry<f64>,
    /// As the caller wrote it (default `location`); the caller expands it.
    pub geoproperty: String,
}

const GEOMETRIES: [&str; 6] =
    ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"];

impl GeoQuery {
    /// Reads the parameters. An empty `georel`/`geometry` or a null `coordinates` counts as missing.
    /// `coordinates` may also be a string of JSON text, as some clients send it in a query body.
    pub fn parse(
        georel: &str,
        geometry: &str,
        coordinates: &Value,
        geoproperty: Option<&str>,
    ) -> Result<GeoQuery, GeoQueryError> {
        for (param, missing) in [
            ("georel", georel.is_empty()),
            ("geometry", geometry.is_empty()),
            ("coordinates", coordinates.is_null()),
        ] {
            if missing {
                return Err(fail(param, None, "missing; georel, geometry and coordinates go together"));
            }
        }
        let rel = parse_georel(georel)?;
        if !GEOMETRIES.contains(&geometry) {
            return Err(fail(
                "geometry",
                None,
                format!("'{geometry}' is not one of {}", GEOMETRIES.join(", ")),
            ));
        }
        let parsed;
        let coordinates = match coordinates {
            Value::String(text) => {
                parsed = Self::parse_coordinates_text(text)?;
                &parsed
            }
            other => other,
        };
        let value = json!({ "type": geometry, "coordinates": coordinates });
        check_geometry("", &value).map_err(|e| {
            // check_geometry names the member as ".coordinates[i][j]"; keep only the index part.
            let at = e.path.strip_prefix(".coordinates").unwrap_or(&e.path);
            let message = if at.is_empty() { e.message } else { format!("{}, at {at}", e.message) };
            fail("coordinates", None, message)
        })?;
        let geometry = to_geometry(&value)
            .ok_or_else(|| fail("coordinates", None, format!("cannot be read as a {geometry}")))?;
        if matches!(rel, GeoRel::Near { .. }) && !matches!(geometry, Geometry::Point(_)) {
            return Err(fail("geometry", None, "near measures from a Point; use geometry=Point"));
        }
        let geoproperty = geoproperty.filter(|g| !g.is_empty()).unwrap_or("location").to_string();
        Ok(GeoQuery { rel, geometry, geoproperty })
    }

    /// The `coordinates` query-string parameter (already URL-decoded) as JSON.
    pub fn parse_coordinates_text(text: &str) -> Result<Value, GeoQueryError> {
        if text.trim().is_empty() {
            return Err(fail("coordinates", None, "missing; georel, geometry and coordinates go together"));
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| fail("coordinates", None, format!("'{text}' is not JSON: {e}")))?;
        if !v.is_array() {
            return Err(fail("coordinates", None, format!("'{text}' is not a JSON array of coordinates")));
        }
        Ok(v)
    }

    /// Whether `entity_geometry` stands in the relation to the query geometry.
    pub fn matches(&self, entity_geometry: &Geometry<f64>) -> bool {
        match self.rel {
            GeoRel::Near { max, min } => {
                let Geometry::Point(from) = &self.geometry else { return false };
                let Some(d) = distance_m(*from, entity_geometry) else { return false };
                max.is_none_or(|m| d <= m) && min.is_none_or(|m| d >= m)
            }
            GeoRel::Intersects => entity_geometry.intersects(&self.geometry),
            GeoRel::Disjoint => !entity_geometry.intersects(&self.geometry),
            GeoRel::Within => entity_geometry.relate(&self.geometry).is_within(),
            GeoRel::Contains => entity_geometry.relate(&self.geometry).is_contains(),
            GeoRel::Equals => entity_geometry.relate(&self.geometry).is_equal_topo(),
            GeoRel::Overlaps => entity_geometry.relate(&self.geometry).is_overlaps(),
        }
    }

    /// A lon/lat box that every matching geometry's bounding box intersects (for an R-tree
    /// lookup). None when no box bounds the answer: disjoint, and near with only minDistance.
    pub fn search_box(&self) -> Option<AABB<[f64; 2]>> {
        match (self.rel, &self.geometry) {
            (GeoRel::Disjoint | GeoRel::Near { max: None, .. }, _) => None,
            (GeoRel::Near { max: Some(m), .. }, Geometry::Point(p)) => Some(near_box(*p, m)),
            (GeoRel::Near { .. }, _) => None,
            // within, contains, intersects, equals, overlaps: a match shares at least one point
            // with the query geometry, so its box meets the query's box.
            (_, g) => {
                let r = g.bounding_rect()?;
                Some(AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
            }
        }
    }
}

fn parse_georel(text: &str) -> Result<GeoRel, GeoQueryError> {
    // Positions are reported in characters, offsets are walked in bytes.
    let at = |byte: usize| Some(text.get(..byte).map_or(byte, |s| s.chars().count()));
    let err = |byte: usize, message: String| fail("georel", at(byte), message);
    let (name, rest) = match text.find(';') {
        Some(i) => (&text[..i], Some(i)),
        None => (text, None),
    };
    let rel = match name {
        "near" => GeoRel::Near { max: None, min: None },
        "within" => GeoRel::Within,
        "contains" => GeoRel::Contains,
        "intersects" => GeoRel::Intersects,
        "disjoint" => GeoRel::Disjoint,
        "equals" => GeoRel::Equals,
        "overlaps" => GeoRel::Overlaps,
        other => {
            return Err(err(
                0,
                format!(
                    "'{other}' is not a relation; expected near;maxDistance==N, near;minDistance==N, \
                     within, contains, intersects, disjoint, equals or overlaps"
                ),
            ))
        }
    };
    let GeoRel::Near { .. } = rel else {
        return match rest {
            Some(i) => Err(err(i, format!("'{name}' takes no modifiers"))),
            None => Ok(rel),
        };
    };
    let Some(semi) = rest else {
        return Err(err(text.len(), "near needs ;maxDistance==N or ;minDistance==N (metres)".into()));
    };
    let (mut max, mut min) = (None, None);
    let mut start = semi + 1;
    for part in text[start..].split(';') {
        let Some(eq) = part.find("==") else {
            let message = match part.find('=') {
                Some(i) => {
                    return Err(err(
                        start + i,
                        "a distance is written with '==', as maxDistance==1000".into(),
                    ))
                }
                None => format!("'{part}' is not maxDistance==N or minDistance==N"),
            };
            return Err(err(start, message));
        };
        let (key, number) = (&part[..eq], &part[eq + 2..]);
        let slot = match key {
            "maxDistance" => &mut max,
            "minDistance" => &mut min,
            _ => return Err(err(start, format!("'{key}' is not maxDistance or minDistance"))),
        };
        if slot.is_some() {
            return Err(err(start, format!("{key} is given twice")));
        }
        match number.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => *slot = Some(n),
            _ => return Err(err(start + eq + 2, format!("{key} '{number}' is not a number of metres ≥ 0"))),
        }
        start += part.len() + 1;
    }
    if let (Some(hi), Some(lo)) = (max, min) {
        if lo > hi {
            return Err(err(semi + 1, format!("minDistance {lo} is greater than maxDistance {hi}")));
        }
    }
    Ok(GeoRel::Near { max, min })
}

/// Geodesic metres from `from` to the closest point of `g`, 0 when `from` lies on or inside it.
///
/// The closest point is found in a local equirectangular view around `from` (longitudes scaled by
/// cos(latitude)), which is affine and so keeps GeoJSON's straight lon/lat edges straight: the
/// point found lies on the geometry as drawn. Its WGS84 distance is then exact, and never below
/// the true minimum, so it is right to well under a metre at city scale and only errs towards
/// "farther" over hundreds of kilometres. That same property keeps `near_box` sound.
fn distance_m(from: Point<f64>, g: &Geometry<f64>) -> Option<f64> {
    if let Geometry::Point(p) = g {
        return Some(Geodesic.distance(from, *p));
    }
    let k = from.y().to_radians().cos().max(1e-12);
    let (x0, y0) = (from.x(), from.y());
    let local = g.map_coords(|c| Coord { x: (c.x - x0) * k, y: c.y - y0 });
    match local.closest_point(&Point::new(0.0, 0.0)) {
        Closest::Intersection(_) => Some(0.0),
        Closest::SinglePoint(p) => Some(Geodesic.distance(from, Point::new(p.x() / k + x0, p.y() + y0))),
        // Only when every edge has length zero: the vertices are then the whole geometry.
        Closest::Indeterminate => {
            g.coords_iter().map(|c| Geodesic.distance(from, Point::from(c))).min_by(f64::total_cmp)
        }
    }
}

/// Fewest WGS84 metres per degree of latitude (at the equator) and per degree of longitude at the
/// equator (a·π/180), rounded down so the box errs wide.
const M_PER_DEG_LAT_MIN: f64 = 110_574.0;
const M_PER_DEG_LON_EQUATOR: f64 = 111_319.0;
const MARGIN: f64 = 1.01;
const EPS_DEG: f64 = 1e-7;

/// Every point within `max` geodesic metres of `p`. A path of length ≤ max stays within the
/// latitude band found first; in that band a degree of longitude is at least a·cos(extreme
/// latitude) long, which bounds the longitude span.
fn near_box(p: Point<f64>, max: f64) -> AABB<[f64; 2]> {
    let dlat = max * MARGIN / M_PER_DEG_LAT_MIN + EPS_DEG;
    let (lat_lo, lat_hi) = ((p.y() - dlat).max(-90.0), (p.y() + dlat).min(90.0));
    let cos = lat_lo.abs().max(lat_hi.abs()).to_radians().cos();
    let dlon =
        if cos > 1e-9 { max * MARGIN / (M_PER_DEG_LON_EQUATOR * cos) + EPS_DEG } else { f64::INFINITY };
    // Near a pole or across the antimeridian, every longitude is a candidate.
    let (lon_lo, lon_hi) = if p.x() - dlon < -180.0 || p.x() + dlon > 180.0 {
        (-180.0, 180.0)
    } else {
        (p.x() - dlon, p.x() + dlon)
    };
    AABB::from_corners([lon_lo, lat_lo], [lon_hi, lat_hi])
}

/// A GeoJSON geometry object (already validated) as a `geo` geometry; altitudes are dropped.
/// None for anything that is not one of the six NGSI-LD geometry types with enough positions.
pub fn to_geometry(value: &Value) -> Option<Geometry<f64>> {
    let coords = value.get("coordinates")?;
    Some(match value.get("type")?.as_str()? {
        "Point" => Geometry::Point(Point::from(position(coords)?)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint::new(
            positions(coords, 1)?.into_iter().map(Point::from).collect(),
        )),
        "LineString" => Geometry::LineString(line(coords)?),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString::new(
            list(coords, 1)?.iter().map(line).collect::<Option<_>>()?,
        )),
        "Polygon" => Geometry::Polygon(polygon(coords)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon::new(
            list(coords, 1)?.iter().map(polygon).collect::<Option<_>>()?,
        )),
        _ => return None,
    })
}

fn list(v: &Value, min: usize) -> Option<&Vec<Value>> {
    v.as_array().filter(|a| a.len() >= min)
}

fn position(v: &Value) -> Option<Coord<f64>> {
    let a = v.as_array()?;
    let (x, y) = (a.first()?.as_f64()?, a.get(1)?.as_f64()?);
    (x.is_finite() && y.is_finite()).then_some(Coord { x, y })
}

fn positions(v: &Value, min: usize) -> Option<Vec<Coord<f64>>> {
    list(v, min)?.iter().map(position).collect()
}

fn line(v: &Value) -> Option<LineString<f64>> {
    positions(v, 2).map(LineString::new)
}

fn polygon(v: &Value) -> Option<Polygon<f64>> {
    let mut rings = list(v, 1)?.iter().map(|r| positions(r, 4).map(LineString::new));
    let exterior = rings.next()??;
    Some(Polygon::new(exterior, rings.collect::<Option<_>>()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Destination;
    use rstar::Envelope;

    const LON: f64 = 103.4;
    const LAT: f64 = 22.4;

    fn q(georel: &str, geometry: &str, coordinates: Value) -> GeoQuery {
        match GeoQuery::parse(georel, geometry, &coordinates, None) {
            Ok(g) => g,
            Err(e) => panic!("{georel} {geometry} {coordinates}: {e}"),
        }
    }

    fn err(georel: &str, geometry: &str, coordinates: Value) -> GeoQueryError {
        match GeoQuery::parse(georel, geometry, &coordinates, None) {
            Ok(g) => panic!("{georel} {geometry} {coordinates} was accepted as {g:?}"),
            Err(e) => e,
        }
    }

    fn pt(x: f64, y: f64) -> Geometry<f64> {
        Geometry::Point(Point::new(x, y))
    }

    /// Axis-aligned square as GeoJSON Polygon coordinates.
    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
        json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]])
    }

    fn poly(coords: Value) -> Geometry<f64> {
        match to_geometry(&json!({"type": "Polygon", "coordinates": coords})) {
            Some(g) => g,
            None => panic!("not a polygon"),
        }
    }

    /// The query square around Lai Châu.
    fn lai_chau() -> Value {
        square(103.3, 22.3, 103.5, 22.5)
    }

    fn away(metres: f64, bearing: f64) -> Point<f64> {
        Geodesic.destination(Point::new(LON, LAT), bearing, metres)
    }

    #[test]
    fn within_and_contains_read_entity_first() {
        let within = q("within", "Polygon", lai_chau());
        assert!(within.matches(&pt(LON, LAT)));
        assert!(within.matches(&poly(square(103.35, 22.35, 103.45, 22.45))));
        assert!(!within.matches(&pt(103.6, LAT)));
        assert!(!within.matches(&poly(square(103.0, 22.0, 104.0, 23.0))));

        let contains = q("contains", "Polygon", lai_chau());
        assert!(contains.matches(&poly(square(103.0, 22.0, 104.0, 23.0))));
        assert!(!contains.matches(&poly(square(103.35, 22.35, 103.45, 22.45))));
        let contains_point = q("contains", "Point", json!([LON, LAT]));
        assert!(contains_point.matches(&poly(lai_chau())));
        assert!(!contains_point.matches(&poly(square(104.0, 22.0, 104.5, 22.5))));
    }

    #[test]
    fn intersects_disjoint_equals_overlaps() {
        let partly = poly(square(103.45, 22.45, 103.6, 22.6));
        let far = poly(square(105.0, 21.0, 105.1, 21.1));
        let inside = poly(square(103.35, 22.35, 103.45, 22.45));

        let intersects = q("intersects", "Polygon", lai_chau());
        assert!(intersects.matches(&partly));
        assert!(intersects.matches(&pt(103.5, LAT)), "a point on the edge touches");
        assert!(!intersects.matches(&far));

        let disjoint = q("disjoint", "Polygon", lai_chau());
        assert!(disjoint.matches(&far));
        assert!(!disjoint.matches(&partly));

        let equals = q("equals", "Polygon", lai_chau());
        let same_from_other_corner =
            json!([[[103.5, 22.5], [103.3, 22.5], [103.3, 22.3], [103.5, 22.3], [103.5, 22.5]]]);
        assert!(equals.matches(&poly(same_from_other_corner)));
        assert!(!equals.matches(&inside));
        assert!(q("equals", "Point", json!([LON, LAT])).matches(&pt(LON, LAT)));

        let overlaps = q("overlaps", "Polygon", lai_chau());
        assert!(overlaps.matches(&partly));
        assert!(!overlaps.matches(&inside), "lying inside is not overlapping");
        assert!(!overlaps.matches(&far));
    }

    #[test]
    fn near_max_and_min_distance_in_metres() {
        let near = q("near;maxDistance==1000", "Point", json!([LON, LAT]));
        let far = q("near;minDistance==1000", "Point", json!([LON, LAT]));
        for bearing in [0.0, 45.0, 90.0, 135.0, 180.0, 270.0] {
            let (p900, p1100) = (away(900.0, bearing), away(1100.0, bearing));
            assert!(near.matches(&Geometry::Point(p900)), "900 m at {bearing}°");
            assert!(!near.matches(&Geometry::Point(p1100)), "1100 m at {bearing}°");
            assert!(!far.matches(&Geometry::Point(p900)));
            assert!(far.matches(&Geometry::Point(p1100)));
        }
        // To a polygon, the distance is to its nearest edge; from inside it is 0.
        let east = |m: f64| away(m, 90.0).x();
        let block = |m: f64| poly(square(east(m), LAT - 0.01, east(m) + 0.02, LAT + 0.01));
        assert!(near.matches(&block(900.0)));
        assert!(!near.matches(&block(1100.0)));
        assert!(far.matches(&block(1100.0)));
        assert!(near.matches(&poly(lai_chau())));
        assert!(!far.matches(&poly(lai_chau())));
        let road = Geometry::LineString(LineString::from(vec![(east(900.0), 22.0), (east(900.0), 23.0)]));
        assert!(near.matches(&road));

        let band = q("near;minDistance==500;maxDistance==1000", "Point", json!([LON, LAT]));
        assert!(band.matches(&Geometry::Point(away(900.0, 10.0))));
        assert!(!band.matches(&Geometry::Point(away(400.0, 10.0))));
        assert!(!band.matches(&Geometry::Point(away(1100.0, 10.0))));
    }

    fn inside(b: &AABB<[f64; 2]>, g: &Geometry<f64>) -> bool {
        g.bounding_rect().is_some_and(|r| {
            let e = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            b.intersects(&e)
        })
    }

    #[test]
    fn search_box_holds_every_match() {
        for lat in [8.6, LAT, 23.4] {
            for georel in ["near;maxDistance==3000", "near;maxDistance==3000;minDistance==1000"] {
                let query = q(georel, "Point", json!([LON, lat]));
                let Some(b) = query.search_box() else { panic!("near;maxDistance has a box") };
                let mut hits = 0;
                for i in -60..=60 {
                    for j in -60..=60 {
                        let (x, y) = (LON + f64::from(i) * 0.0005, lat + f64::from(j) * 0.0005);
                        let candidates = [pt(x, y), poly(square(x, y, x + 0.0004, y + 0.0004))];
                        for g in candidates.iter().filter(|g| query.matches(g)) {
                            hits += 1;
                            assert!(inside(&b, g), "{georel} at {lat}: {g:?} matches outside {b:?}");
                        }
                    }
                }
                assert!(hits > 100, "the grid must exercise the box");
                // Generous, yet still narrow enough to be worth an index.
                let [x0, y0] = b.lower();
                let [x1, y1] = b.upper();
                assert!(x1 - x0 < 0.1 && y1 - y0 < 0.1, "{b:?}");
            }
        }
        for georel in ["within", "contains", "intersects", "equals", "overlaps"] {
            let query = q(georel, "Polygon", square(103.38, 22.38, 103.42, 22.42));
            let Some(b) = query.search_box() else { panic!("{georel} has a box") };
            for i in -20..=20 {
                for j in -20..=20 {
                    let (x, y) = (LON + f64::from(i) * 0.005, LAT + f64::from(j) * 0.005);
                    for g in [pt(x, y), poly(square(x - 0.03, y - 0.03, x + 0.03, y + 0.03))] {
                        assert!(!query.matches(&g) || inside(&b, &g), "{georel}: {g:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn no_box_where_none_bounds_the_answer() {
        assert!(q("disjoint", "Polygon", lai_chau()).search_box().is_none());
        assert!(q("near;minDistance==10", "Point", json!([LON, LAT])).search_box().is_none());
        // Close to a pole the box spans every longitude rather than miss one.
        let polar = q("near;maxDistance==50000", "Point", json!([10.0, 89.9]));
        let Some(b) = polar.search_box() else { panic!("box expected") };
        assert!(b.contains_point(&[-170.0, 89.9]));
    }

    #[test]
    fn parses_parameters() {
        let g = q("near;maxDistance==1500.5", "Point", json!([LON, LAT]));
        assert_eq!(g.rel, GeoRel::Near { max: Some(1500.5), min: None });
        assert_eq!(g.geometry, pt(LON, LAT));
        assert_eq!(g.geoproperty, "location");
        let g = GeoQuery::parse("within", "Polygon", &lai_chau(), Some("observationSpace"));
        assert_eq!(g.map(|g| (g.rel, g.geoproperty)), Ok((GeoRel::Within, "observationSpace".into())));
        // The query-string form, and coordinates given as text in a body.
        let text = GeoQuery::parse_coordinates_text("[103.45,22.39]");
        assert_eq!(text, Ok(json!([103.45, 22.39])));
        assert_eq!(q("intersects", "Point", json!("[103.45,22.39]")).geometry, pt(103.45, 22.39));
        let multi = q("intersects", "MultiPolygon", json!([[[[103, 22], [104, 22], [104, 23], [103, 22]]]]));
        assert!(multi.matches(&pt(103.9, 22.5)));
        let with_altitude = q("intersects", "LineString", json!([[103, 22, 500], [104, 23, 600]]));
        assert!(with_altitude.matches(&pt(103.5, 22.5)));
    }

    #[test]
    fn malformed_georel_is_named_with_its_position() {
        let point = json!([LON, LAT]);
        let cases = [
            ("nearby", 0),
            ("near", 4),
            ("near;", 5),
            ("near;maxDistance==abc", 18),
            ("near;maxDistance=1000", 16),
            ("near;maxDistance==-5", 18),
            ("near;maxDistance==NaN", 18),
            ("near;distance==10", 5),
            ("near;maxDistance==10;maxDistance==20", 21),
            ("near;maxDistance==10;minDistance==20", 5),
            ("within;maxDistance==10", 6),
            ("Within", 0),
        ];
        for (georel, position) in cases {
            let e = err(georel, "Point", point.clone());
            assert_eq!((e.param, e.position), ("georel", Some(position)), "{georel}: {e}");
        }
        assert!(err("near;maxDistance==abc", "Point", point.clone()).message.contains("maxDistance"));
        assert!(err("near;minDistance==x", "Point", point).message.contains("minDistance"));
    }

    #[test]
    fn malformed_geometry_and_coordinates_are_named() {
        let ring = lai_chau();
        let cases: [(&str, &str, Value, &str); 10] = [
            ("", "Point", json!([LON, LAT]), "georel"),
            ("within", "", ring.clone(), "geometry"),
            ("within", "Polygon", Value::Null, "coordinates"),
            ("within", "Circle", ring.clone(), "geometry"),
            ("within", "polygon", ring.clone(), "geometry"),
            ("near;maxDistance==10", "Polygon", ring, "geometry"),
            ("within", "Polygon", json!([[[103, 22], [104, 22], [104, 23], [103, 23]]]), "coordinates"),
            ("within", "Polygon", json!([[[103, 22], [104, 22], [103, 22]]]), "coordinates"),
            ("intersects", "Point", json!([LON, 95]), "coordinates"),
            ("intersects", "LineString", json!([[LON, LAT]]), "coordinates"),
        ];
        for (georel, geometry, coordinates, param) in cases {
            let e = err(georel, geometry, coordinates.clone());
            assert_eq!(e.param, param, "{georel} {geometry} {coordinates}: {e}");
        }
        assert_eq!(err("intersects", "Point", json!("[103.4,")).param, "coordinates");
        for text in ["[103.4,", "103.4,22.4", "", "{\"a\":1}"] {
            let e = GeoQuery::parse_coordinates_text(text).map(|_| ()).map_err(|e| e.param);
            assert_eq!(e, Err("coordinates"), "{text}");
        }
        let open = err("within", "Polygon", json!([[[103, 22], [104, 22], [104, 23], [103, 23]]]));
        assert!(open.to_string().starts_with("coordinates: "), "{open}");
    }

    #[test]
    fn to_geometry_rejects_what_it_cannot_represent() {
        assert!(to_geometry(&json!({"type": "Point", "coordinates": [1.0]})).is_none());
        assert!(to_geometry(&json!({"type": "GeometryCollection", "geometries": []})).is_none());
        assert!(to_geometry(&json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})).is_none());
        assert!(to_geometry(&json!({"type": "MultiPoint", "coordinates": []})).is_none());
    }
}
