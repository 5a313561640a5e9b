//! Which agency handles a report: the routing table (category + commune → agency) the admins
//! keep, then the category's default agency. The operator sees the suggestion and confirms it.

use super::model::{ReportCategory, Route};

/// The agency's organisation code for a report of `category` in `unit_code`: a row for that
/// commune first, then the category's row for anywhere, then the category's default.
pub fn suggest<'a>(
    routes: &'a [Route],
    category: &'a ReportCategory,
    unit_code: Option<&str>,
) -> Option<&'a str> {
    let of_category = || routes.iter().filter(|r| r.category == category.code);
    unit_code
        .and_then(|unit| of_category().find(|r| r.unit_code.as_deref() == Some(unit)))
        .or_else(|| of_category().find(|r| r.unit_code.is_none()))
        .map(|r| r.org_code.as_str())
        .or(category.default_org.as_deref())
}

/// Metres between two points (haversine on a sphere of the Earth's mean radius): ample for
/// "within 100 m" at a province's scale.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h =
        ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// A box around a point that holds every point within `radius_m` (for the store's coarse
/// filter before `distance_m`): (min lon, min lat, max lon, max lat).
pub fn bounding_box(lon: f64, lat: f64, radius_m: f64) -> (f64, f64, f64, f64) {
    let dlat = radius_m / 111_000.0;
    let dlon = radius_m / (111_000.0 * lat.to_radians().cos().abs().max(0.01));
    (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category() -> ReportCategory {
        serde_json::from_value(serde_json::json!({
            "code": "chieu-sang", "name_vi": "Chiếu sáng công cộng", "name_en": "Street lighting",
            "group_vi": "Hạ tầng đô thị", "time_limit_days": 5, "urgent_hours": 8,
            "default_org": "so-xay-dung"
        }))
        .unwrap()
    }

    fn route(unit: Option<&str>, org: &str) -> Route {
        Route { category: "chieu-sang".into(), unit_code: unit.map(String::from), org_code: org.into() }
    }

    #[test]
    fn a_commune_row_wins_over_the_provincial_row_and_the_default() {
        let routes = vec![route(None, "so-cong-thuong"), route(Some("03391"), "ubnd-03391")];
        let c = category();
        assert_eq!(suggest(&routes, &c, Some("03391")), Some("ubnd-03391"));
        assert_eq!(suggest(&routes, &c, Some("03394")), Some("so-cong-thuong"));
        assert_eq!(suggest(&[], &c, Some("03394")), Some("so-xay-dung"));
    }

    #[test]
    fn distances_match_a_known_pair_of_points() {
        // One thousandth of a degree of latitude is about 111 m anywhere.
        let d = distance_m((103.45, 22.4), (103.45, 22.401));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        let (min_lon, min_lat, max_lon, max_lat) = bounding_box(103.45, 22.4, 100.0);
        assert!(min_lon < 103.45 && max_lon > 103.45 && min_lat < 22.4 && max_lat > 22.4);
        assert!(distance_m((103.45, 22.4), (max_lon, 22.4)) >= 100.0);
    }
}
