//! The official code list (GSO codes after 1 July 2025), which gives each code its kind and names.
//! GeoJSON boundaries carry no kind, so an import joins them to this list.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::Deserialize;

use super::{AdminUnit, UnitKind};

#[derive(Debug, Clone, PartialEq)]
pub struct CodeEntry {
    pub code: String,
    pub parent_code: Option<String>,
    pub kind: UnitKind,
    pub name_vi: String,
    pub name_en: String,
    pub full_name_vi: String,
    pub full_name_en: String,
}

impl CodeEntry {
    /// The unit as the code list describes it, without boundary or area.
    pub fn to_unit(&self, valid_from: Date) -> AdminUnit {
        AdminUnit {
            code: self.code.clone(),
            parent_code: self.parent_code.clone(),
            kind: self.kind,
            name_vi: self.name_vi.clone(),
            name_en: self.name_en.clone(),
            full_name_vi: self.full_name_vi.clone(),
            full_name_en: self.full_name_en.clone(),
            area_km2: None,
            geometry: None,
            valid_from,
            valid_to: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct CodeList {
    entries: HashMap<String, CodeEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawUnit {
    code: String,
    name: String,
    name_en: String,
    full_name: String,
    full_name_en: String,
    administrative_unit_id: i64,
    #[serde(default)]
    wards: Vec<RawUnit>,
}

/// The list calls every commune a "ward"; its AdministrativeUnitId says what it really is
/// (3 phường, 4 xã, 5 đặc khu; 1 and 2 are the two kinds of province).
fn kind_of(id: i64) -> Option<UnitKind> {
    match id {
        1 | 2 => Some(UnitKind::Province),
        3 => Some(UnitKind::Ward),
        4 => Some(UnitKind::Commune),
        5 => Some(UnitKind::SpecialZone),
        _ => None,
    }
}

impl CodeList {
    pub fn parse(json: &str) -> Result<CodeList, String> {
        let raw: Vec<RawUnit> = serde_json::from_str(json).map_err(|e| format!("code list: {e}"))?;
        let mut entries = HashMap::new();
        for province in raw {
            for (unit, parent) in std::iter::once((&province, None))
                .chain(province.wards.iter().map(|w| (w, Some(province.code.clone()))))
            {
                let kind = kind_of(unit.administrative_unit_id).ok_or_else(|| {
                    format!(
                        "code list: unit {} has unknown AdministrativeUnitId {}",
                        unit.code, unit.administrative_unit_id
                    )
                })?;
                entries.insert(
                    unit.code.clone(),
                    CodeEntry {
                        code: unit.code.clone(),
                        parent_code: parent,
                        kind,
                        name_vi: unit.name.clone(),
                        name_en: unit.name_en.clone(),
                        full_name_vi: unit.full_name.clone(),
                        full_name_en: unit.full_name_en.clone(),
                    },
                );
            }
        }
        Ok(CodeList { entries })
    }

    pub fn get(&self, code: &str) -> Option<&CodeEntry> {
        self.entries.get(code)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every province, as units without boundaries, in code order.
    pub fn province_units(&self, valid_from: Date) -> Vec<AdminUnit> {
        let mut out: Vec<AdminUnit> = self
            .entries
            .values()
            .filter(|e| e.kind == UnitKind::Province)
            .map(|e| e.to_unit(valid_from))
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"[{"Code":"12","Name":"Lai Châu","NameEn":"Lai Chau","FullName":"Tỉnh Lai Châu",
        "FullNameEn":"Lai Chau Province","AdministrativeUnitId":2,"Wards":[
        {"Code":"03388","Name":"Đoàn Kết","NameEn":"Doan Ket","FullName":"Phường Đoàn Kết","FullNameEn":"Doan Ket Ward","AdministrativeUnitId":3},
        {"Code":"03430","Name":"Bình Lư","NameEn":"Binh Lu","FullName":"Xã Bình Lư","FullNameEn":"Binh Lu Commune","AdministrativeUnitId":4}]}]"#;

    #[test]
    fn kinds_come_from_the_unit_id_not_the_type_field() {
        let list = CodeList::parse(SAMPLE).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.get("12").unwrap().kind, UnitKind::Province);
        assert_eq!(list.get("03388").unwrap().kind, UnitKind::Ward);
        assert_eq!(list.get("03430").unwrap().kind, UnitKind::Commune);
        assert_eq!(list.get("03430").unwrap().parent_code.as_deref(), Some("12"));
    }

    #[test]
    fn the_real_list_has_34_provinces_and_38_communes_in_lai_chau() {
        let list = CodeList::parse(include_str!("../../../../data/admin-units/vn-units-2026.json")).unwrap();
        assert_eq!(list.province_units(jiff::civil::date(2025, 7, 1)).len(), 34);
        let lai_chau = list.entries.values().filter(|e| e.parent_code.as_deref() == Some("12")).count();
        assert_eq!(lai_chau, 38);
        assert_eq!(list.get("03388").unwrap().full_name_vi, "Phường Đoàn Kết");
    }
}
