//! Administrative units: the province → commune tree (with room for the district level of data
//! from before July 2025), the successions that link old units to new ones, the official code
//! list, GeoJSON import and the in-memory point → unit index.

mod codes;
mod directory;
mod import;
mod index;
mod service;

pub use codes::{CodeEntry, CodeList};
pub use directory::{UnitDirectory, UnitLocator};
pub use import::{import_features, UnitImportError};
pub use index::UnitIndex;
pub use service::{ImportSummary, UnitDetail, UnitService};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Province,
    /// Only in data from before 1 July 2025, when districts still existed.
    District,
    Commune,
    Ward,
    SpecialZone,
}

impl UnitKind {
    pub const ALL: [UnitKind; 5] =
        [UnitKind::Province, UnitKind::District, UnitKind::Commune, UnitKind::Ward, UnitKind::SpecialZone];

    pub fn as_str(&self) -> &'static str {
        match self {
            UnitKind::Province => "province",
            UnitKind::District => "district",
            UnitKind::Commune => "commune",
            UnitKind::Ward => "ward",
            UnitKind::SpecialZone => "special_zone",
        }
    }

    pub fn parse(text: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The grassroots level: commune, ward or special zone.
    pub fn is_local(&self) -> bool {
        matches!(self, UnitKind::Commune | UnitKind::Ward | UnitKind::SpecialZone)
    }

    /// Lower is more specific; a point lookup lists the most specific unit first.
    pub(crate) fn depth_rank(&self) -> u8 {
        match self {
            UnitKind::Commune | UnitKind::Ward | UnitKind::SpecialZone => 0,
            UnitKind::District => 1,
            UnitKind::Province => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUnit {
    /// Official GSO code: 2 digits for a province, 5 for a commune.
    pub code: String,
    pub parent_code: Option<String>,
    pub kind: UnitKind,
    pub name_vi: String,
    pub name_en: String,
    pub full_name_vi: String,
    pub full_name_en: String,
    pub area_km2: Option<f64>,
    /// GeoJSON geometry (Polygon or MultiPolygon), WGS84, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<String>,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
}

/// An old unit merged into a new one (the July 2025 reorganisation merged several communes into
/// one), so figures before and after can be compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitSuccession {
    pub new_code: String,
    pub old_code: String,
    pub effective_on: Date,
    pub note: String,
}
