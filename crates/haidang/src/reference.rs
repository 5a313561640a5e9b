//! Reference data shipped inside the binary (see data/admin-units/README.md for sources and
//! licence): the official code list of provinces and communes after 1 July 2025, province
//! boundaries, and the demo province's communes.

pub const UNIT_CODES_JSON: &str = include_str!("../../../data/admin-units/vn-units-2026.json");
pub const PROVINCES_GEOJSON: &str = include_str!("../../../data/admin-units/vn-provinces-2026.geojson");
pub const LAI_CHAU_PROVINCE_GEOJSON: &str =
    include_str!("../../../data/admin-units/lai-chau-province-2026.geojson");
pub const LAI_CHAU_COMMUNES_GEOJSON: &str =
    include_str!("../../../data/admin-units/lai-chau-communes-2026.geojson");

/// Date the current units took effect (the two-level local government).
pub fn reorganisation_date() -> jiff::civil::Date {
    jiff::civil::date(2025, 7, 1)
}
