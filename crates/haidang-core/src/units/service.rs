//! Importing and reading administrative units.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::civil::Date;
use serde::Serialize;
use tracing::instrument;

use super::{import_features, AdminUnit, CodeList, UnitKind, UnitSuccession};
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Units read from the file.
    pub units: usize,
    /// Provinces added from the code list because a commune in the file needed its parent.
    pub parents_added: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitDetail {
    #[serde(flatten)]
    pub unit: AdminUnit,
    pub parent: Option<AdminUnit>,
    /// Older units this one replaced.
    pub replaced: Vec<UnitSuccession>,
    /// Newer units that replaced this one.
    pub replaced_by: Vec<UnitSuccession>,
}

pub struct UnitService {
    repo: Arc<dyn Repositories>,
    codes: Arc<CodeList>,
}

impl UnitService {
    pub fn new(repo: Arc<dyn Repositories>, codes: Arc<CodeList>) -> Self {
        UnitService { repo, codes }
    }

    /// Imports a FeatureCollection, all or nothing; the error names the first bad feature.
    #[instrument(skip_all)]
    pub async fn import_geojson(
        &self,
        by: &Subject,
        text: &str,
        valid_from: Date,
    ) -> CoreResult<ImportSummary> {
        by.require(Action::ManageUnits, None)?;
        let mut units =
            import_features(text, &self.codes, valid_from).map_err(|e| CoreError::Validation {
                field: e.feature.clone().unwrap_or_else(|| "file".into()),
                message: e.message,
            })?;
        let read = units.len();
        let in_file: HashSet<String> = units.iter().map(|u| u.code.clone()).collect();
        let mut parents = Vec::new();
        let mut wanted: Vec<String> = units.iter().filter_map(|u| u.parent_code.clone()).collect();
        wanted.sort();
        wanted.dedup();
        for code in wanted.into_iter().filter(|c| !in_file.contains(c)) {
            if self.repo.get_unit(&code).await?.is_none() {
                if let Some(entry) = self.codes.get(&code) {
                    parents.push(entry.to_unit(valid_from));
                }
            }
        }
        let parents_added = parents.len();
        // Parents first so a commune never points at a unit that is not there yet.
        parents.append(&mut units);
        let audit = AuditEvent::new(&by.actor(), "units.import", None, Outcome::Success)
            .with_detail(format!("units={read}; parents_added={parents_added}; valid_from={valid_from}"));
        self.repo.upsert_units(&parents, &[], &audit).await?;
        Ok(ImportSummary { units: read, parents_added })
    }

    /// Imports successions from CSV with the header `new_code,old_code,effective_on,note`. The new
    /// unit must exist; the old one usually does not (it was dissolved), so it is not checked.
    pub async fn import_successions(&self, by: &Subject, text: &str) -> CoreResult<usize> {
        by.require(Action::ManageUnits, None)?;
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, header))
                if header.trim().trim_start_matches('\u{feff}') == "new_code,old_code,effective_on,note" => {}
            _ => {
                return Err(CoreError::validation(
                    "line 1",
                    "the header must be new_code,old_code,effective_on,note",
                ))
            }
        }
        let mut successions = Vec::new();
        for (i, line) in lines {
            let field = format!("line {}", i + 1);
            let cols: Vec<&str> = line.splitn(4, ',').map(str::trim).collect();
            let [new_code, old_code, date, note] = cols.as_slice() else {
                return Err(CoreError::validation(field, "expected 4 columns"));
            };
            if new_code.is_empty() || old_code.is_empty() {
                return Err(CoreError::validation(field, "new_code and old_code are required"));
            }
            let effective_on: Date = date.parse().map_err(|_| {
                CoreError::validation(field.clone(), format!("'{date}' is not a date (YYYY-MM-DD)"))
            })?;
            if self.repo.get_unit(new_code).await?.is_none() {
                return Err(CoreError::validation(field, format!("no administrative unit '{new_code}'")));
            }
            successions.push(UnitSuccession {
                new_code: new_code.to_string(),
                old_code: old_code.to_string(),
                effective_on,
                note: note.trim_matches('"').to_string(),
            });
        }
        let audit = AuditEvent::new(&by.actor(), "units.successions", None, Outcome::Success)
            .with_detail(format!("successions={}", successions.len()));
        self.repo.upsert_units(&[], &successions, &audit).await?;
        Ok(successions.len())
    }

    pub async fn list(
        &self,
        by: &Subject,
        kind: Option<UnitKind>,
        parent: Option<&str>,
        with_geometry: bool,
    ) -> CoreResult<Vec<AdminUnit>> {
        by.require(Action::ViewUnits, None)?;
        self.repo.list_units(kind, parent, with_geometry).await
    }

    /// Every unit with its boundary, for the point index (no caller: the server itself).
    pub async fn all_with_geometry(&self) -> CoreResult<Vec<AdminUnit>> {
        self.repo.list_units(None, None, true).await
    }

    pub async fn detail(&self, by: &Subject, code: &str) -> CoreResult<UnitDetail> {
        by.require(Action::ViewUnits, None)?;
        let unit =
            self.repo.get_unit(code).await?.ok_or_else(|| CoreError::not_found(format!("unit '{code}'")))?;
        let parent = match &unit.parent_code {
            Some(p) => self.repo.get_unit(p).await?.map(|u| AdminUnit { geometry: None, ..u }),
            None => None,
        };
        let (replaced, replaced_by) =
            self.repo.successions_of(code).await?.into_iter().partition(|s| s.new_code == code);
        Ok(UnitDetail { unit, parent, replaced, replaced_by })
    }
}
