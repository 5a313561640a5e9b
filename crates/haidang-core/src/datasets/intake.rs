//! Taking in a filled-in form: checked whole against the dataset's form, written all or nothing
//! (the writer refuses every row if it refuses one), and recorded as the organisation's
//! submission for the period in the same transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo::InteriorPoint;
use serde::Serialize;

use super::forms::{columns, example_row, read_rows, FormColumn, FormContext, FormError, FormKey};
use super::model::{Dataset, DatasetState, Submission};
use super::schedule::form_period;
use super::service::{from_hub, DatasetService};
use crate::accounts::Subject;
use crate::error::{CoreError, CoreResult};
use crate::hub::context::ActiveContext;
use crate::hub::ops::EntityOp;
use crate::time::now;
use crate::units::UnitKind;

/// A file's table, as the report crate read it (row numbers as the user sees them).
pub struct FormTable {
    pub marker: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormOutcome {
    pub accepted: bool,
    pub rows: usize,
    pub period: Option<String>,
    pub errors: Vec<FormError>,
}

/// A unit's point inside it (for a new entity reported by commune).
fn inside(geometry: &str) -> Option<(f64, f64)> {
    let g: geojson::Geometry = geometry.parse().ok()?;
    let shape = geo::Geometry::<f64>::try_from(g).ok()?;
    let p = shape.interior_point()?;
    Some((p.x(), p.y()))
}

impl DatasetService {
    /// The dataset and its form's columns, with the example row.
    pub async fn form(
        &self,
        by: &Subject,
        id: &str,
    ) -> CoreResult<(Arc<Dataset>, Vec<FormColumn>, Vec<String>)> {
        let d = self.get(by, id)?;
        let (schema, _) = self.hub.schema(&Subject::cli(), &d.type_iri).map_err(|_| {
            CoreError::validation("schema", "the dataset's type has no exchange data structure (schema)")
        })?;
        let mut required: Vec<String> = d.rules.required.clone();
        if required.is_empty() {
            let mut r = Vec::new();
            if let Some(serde_json::Value::Array(list)) = schema.get("required") {
                r.extend(list.iter().filter_map(|v| v.as_str()).map(|n| ActiveContext::core().expand(n)));
            }
            required = r;
        }
        let ids: Vec<String> = self.hub.members(&d.id).into_iter().map(|(m, _)| m).take(200).collect();
        let present: HashSet<String> =
            self.hub.entities_now(&ids).await?.values().flat_map(|e| e.attrs.keys().cloned()).collect();
        let communes = self.repo.list_units(None, None, false).await?;
        let units: Vec<String> = communes
            .iter()
            .filter(|u| matches!(u.kind, UnitKind::Commune | UnitKind::Ward | UnitKind::SpecialZone))
            .filter(|u| {
                d.units.is_empty()
                    || d.units.contains(&u.code)
                    || u.parent_code.as_ref().is_some_and(|p| d.units.contains(p))
            })
            .map(|u| format!("{} - {}", u.code, u.name_vi))
            .collect();
        let cols = columns(&d, &schema, &required, &present, units);
        let example = example_row(&cols, now());
        Ok((d, cols, example))
    }

    /// The schema's attribute for the time of the figures, if it has one.
    fn time_attribute(&self, d: &Dataset) -> Option<String> {
        let (schema, _) = self.hub.schema(&Subject::cli(), &d.type_iri).ok()?;
        let mut names = HashSet::new();
        super::assess::schema_properties(&schema, &mut names);
        names.contains("dateObserved").then(|| ActiveContext::core().expand("dateObserved"))
    }

    /// Takes in a form: every row checked and written, or none with every error listed.
    pub async fn submit_form(
        &self,
        by: &Subject,
        id: &str,
        file_name: &str,
        table: FormTable,
    ) -> CoreResult<FormOutcome> {
        let (d, cols, example) = self.form(by, id).await?;
        if d.state == DatasetState::Retired {
            return Err(CoreError::Conflict(format!("dataset '{id}' is retired; it takes no more data")));
        }
        let at = now();
        let time_attr = self.time_attribute(&d);
        let catalog = self.hub.catalog();
        // A form is this dataset's: its provider's accounts, the centre, or a write grant on it.
        if !catalog.may_write(by, &d, at) {
            return Err(CoreError::Forbidden(format!("a form of dataset '{id}'")));
        }
        // The points of the units the file names, read once.
        let unit_col = cols.iter().position(|c| c.key == FormKey::Unit);
        let unit_header =
            table.headers.iter().position(|h| super::forms::header_key(h).eq_ignore_ascii_case("unit"));
        let mut points: HashMap<String, (f64, f64)> = HashMap::new();
        if let (Some(_), Some(h)) = (unit_col, unit_header) {
            let codes: HashSet<String> = table
                .rows
                .iter()
                .filter_map(|(_, cells)| cells.get(h))
                .map(|c| super::forms::unit_code(c).to_string())
                .filter(|c| !c.is_empty())
                .collect();
            for code in codes {
                if let Some(u) = self.repo.get_unit(&code).await? {
                    let p = u.geometry.as_deref().and_then(inside).unwrap_or((0.0, 0.0));
                    points.insert(code, p);
                }
            }
        }
        // The checks borrow closures that are not Send: they end before the first await.
        let read = {
            let unit_point = |code: &str| points.get(code).copied();
            let hub = self.hub.clone();
            let exists = move |entity: &str| hub.place_of(entity).is_some();
            let ctx = FormContext {
                dataset: &d,
                columns: &cols,
                example: &example,
                unit_point: &unit_point,
                exists: &exists,
                now: at,
                time_attr: time_attr.clone(),
            };
            read_rows(&ctx, table.marker.as_deref(), &table.headers, &table.rows)
        };
        let entities = match read {
            Ok(e) => e,
            Err(errors) => return Ok(FormOutcome { accepted: false, rows: 0, period: None, errors }),
        };
        let period = form_period(at);
        let submission = Submission {
            id: uuid::Uuid::now_v7().to_string(),
            dataset_id: d.id.clone(),
            org_id: d.provider_org.clone(),
            period: period.clone(),
            rows: entities.len() as i64,
            file_name: file_name.chars().take(200).collect(),
            submitted_by: by.username.clone(),
            submitted_at: at,
        };
        let numbers: Vec<usize> = entities.iter().map(|(n, _)| *n).collect();
        let ops = entities.into_iter().map(|(_, e)| EntityOp::Upsert { entity: e, update: true }).collect();
        let context = self.hub.active_context(None).await.map_err(from_hub)?;
        let results = self
            .hub
            .write_all_or_nothing(by, "dataset.form", ops, context, Some(submission))
            .await
            .map_err(from_hub)?;
        let core = ActiveContext::core();
        let mut errors = Vec::new();
        for (row, r) in numbers.iter().zip(&results) {
            let Err(e) = r else { continue };
            if e.detail.starts_with("not written:") {
                continue;
            }
            if e.violations.is_empty() {
                errors.push(FormError {
                    row: Some(*row),
                    column: None,
                    code: "refused",
                    value: e.detail.clone(),
                });
            }
            for v in &e.violations {
                let attr = v.pointer.trim_start_matches('/').split('/').next().unwrap_or("");
                errors.push(FormError {
                    row: Some(*row),
                    column: (!attr.is_empty()).then(|| core.compact(&core.expand(attr))),
                    code: "schema",
                    value: v.message.clone(),
                });
            }
        }
        if errors.is_empty() {
            Ok(FormOutcome { accepted: true, rows: numbers.len(), period: Some(period), errors })
        } else {
            Ok(FormOutcome { accepted: false, rows: 0, period: None, errors })
        }
    }
}
