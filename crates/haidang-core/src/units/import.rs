//! GeoJSON → units, joined to the code list. Every feature is checked before anything is kept, so
//! one bad feature rejects the whole file and the error names it.

use std::collections::HashSet;
use std::fmt;

use jiff::civil::Date;

use super::{AdminUnit, CodeList};

#[derive(Debug, Clone, PartialEq)]
pub struct UnitImportError {
    /// "feature 3 (code 03388)", or None when the file as a whole is wrong.
    pub feature: Option<String>,
    pub message: String,
}

impl fmt::Display for UnitImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.feature {
            Some(feature) => write!(f, "{feature}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for UnitImportError {}

fn whole(message: impl Into<String>) -> UnitImportError {
    UnitImportError { feature: None, message: message.into() }
}

/// Parses a FeatureCollection of unit boundaries. Names and kinds come from the code list; the
/// file supplies the boundary and the area (`areaKm2`).
pub fn import_features(
    text: &str,
    codes: &CodeList,
    valid_from: Date,
) -> Result<Vec<AdminUnit>, UnitImportError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| whole(format!("not valid JSON: {e}")))?;
    if value.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(whole("expected a GeoJSON FeatureCollection"));
    }
    let features = value
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| whole("the FeatureCollection has no \"features\" array"))?;
    if features.is_empty() {
        return Err(whole("the FeatureCollection has no features"));
    }
    let mut seen = HashSet::new();
    let mut units = Vec::with_capacity(features.len());
    for (i, feature) in features.iter().enumerate() {
        let code = feature.pointer("/properties/code").and_then(|c| c.as_str()).map(str::to_string);
        let label = match &code {
            Some(code) => format!("feature {} (code {code})", i + 1),
            None => format!("feature {}", i + 1),
        };
        let fail = |message: String| UnitImportError { feature: Some(label.clone()), message };
        let code = code.ok_or_else(|| fail("properties.code is missing or not a string".into()))?;
        let entry =
            codes.get(&code).ok_or_else(|| fail(format!("code {code} is not in the official code list")))?;
        if !seen.insert(code.clone()) {
            return Err(fail(format!("code {code} appears twice in the file")));
        }
        let geometry =
            feature.get("geometry").filter(|g| !g.is_null()).ok_or_else(|| fail("no geometry".into()))?;
        check_geometry(geometry).map_err(fail)?;
        let area_km2 = match feature.pointer("/properties/areaKm2") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(a) if a.is_finite() && a >= 0.0 => Some(a),
                _ => return Err(fail(format!("areaKm2 {v} is not a non-negative number"))),
            },
        };
        let mut unit = entry.to_unit(valid_from);
        unit.area_km2 = area_km2;
        unit.geometry = Some(geometry.to_string());
        units.push(unit);
    }
    Ok(units)
}

/// A boundary must be a Polygon or MultiPolygon of closed rings with WGS84 coordinates.
fn check_geometry(geometry: &serde_json::Value) -> Result<(), String> {
    let parsed =
        geojson::Geometry::from_json_value(geometry.clone()).map_err(|e| format!("geometry: {e}"))?;
    let polygons: Vec<&Vec<Vec<Vec<f64>>>> = match &parsed.value {
        geojson::Value::Polygon(p) => vec![p],
        geojson::Value::MultiPolygon(mp) => mp.iter().collect(),
        other => {
            return Err(format!("geometry is a {}, expected Polygon or MultiPolygon", other.type_name()))
        }
    };
    if polygons.is_empty() {
        return Err("geometry has no polygons".into());
    }
    for polygon in polygons {
        let Some(outer) = polygon.first() else { return Err("a polygon has no rings".into()) };
        if outer.len() < 4 {
            return Err("a polygon ring has fewer than 4 positions".into());
        }
        for ring in polygon {
            if ring.first() != ring.last() {
                return Err("a polygon ring is not closed".into());
            }
            for position in ring {
                let (Some(lon), Some(lat)) = (position.first(), position.get(1)) else {
                    return Err("a position has fewer than 2 numbers".into());
                };
                if !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
                    return Err(format!("position [{lon}, {lat}] is outside WGS84 longitude/latitude"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> CodeList {
        CodeList::parse(
            r#"[{"Code":"12","Name":"Lai Châu","NameEn":"Lai Chau","FullName":"Tỉnh Lai Châu","FullNameEn":"Lai Chau Province",
            "AdministrativeUnitId":2,"Wards":[{"Code":"03388","Name":"Đoàn Kết","NameEn":"Doan Ket","FullName":"Phường Đoàn Kết",
            "FullNameEn":"Doan Ket Ward","AdministrativeUnitId":3}]}]"#,
        )
        .unwrap()
    }

    const SQUARE: &str =
        r#"{"type":"Polygon","coordinates":[[[103,22],[104,22],[104,23],[103,23],[103,22]]]}"#;

    fn feature(code: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","areaKm2":12.5}},"geometry":{geometry}}}"#
        )
    }

    #[test]
    fn names_and_kind_come_from_the_code_list() {
        let text = format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, feature("03388", SQUARE));
        let units = import_features(&text, &codes(), jiff::civil::date(2025, 7, 1)).unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].full_name_vi, "Phường Đoàn Kết");
        assert_eq!(units[0].parent_code.as_deref(), Some("12"));
        assert_eq!(units[0].area_km2, Some(12.5));
    }

    #[test]
    fn a_bad_feature_is_named() {
        let line = r#"{"type":"LineString","coordinates":[[103,22],[104,22]]}"#;
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            feature("12", SQUARE),
            feature("03388", line)
        );
        let err = import_features(&text, &codes(), jiff::civil::date(2025, 7, 1)).unwrap_err();
        assert_eq!(err.feature.as_deref(), Some("feature 2 (code 03388)"));
        assert!(err.message.contains("LineString"), "{err}");
    }

    #[test]
    fn unknown_codes_and_unclosed_rings_are_rejected() {
        let text = format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, feature("99999", SQUARE));
        let err = import_features(&text, &codes(), jiff::civil::date(2025, 7, 1)).unwrap_err();
        assert!(err.to_string().contains("99999 is not in the official code list"), "{err}");
        let open = r#"{"type":"Polygon","coordinates":[[[103,22],[104,22],[104,23],[103,23],[103,22.5]]]}"#;
        let text = format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, feature("12", open));
        let err = import_features(&text, &codes(), jiff::civil::date(2025, 7, 1)).unwrap_err();
        assert!(err.message.contains("not closed"), "{err}");
    }
}
