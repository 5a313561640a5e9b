//! The indicators as NGSI-LD entities of type KeyPerformanceIndicator (Smart Data Models), one
//! per indicator, unit and period, written into the hub so every NGSI-LD reader sees the same
//! numbers as the console, under the hub's datasets and grants. The mapping is in
//! docs/INDICATORS.md: the model has no target, so the target, achievement and status are added
//! as properties of their own; its calculationFrequency has no six-month value, so a half-year
//! indicator leaves it out and says "P6M" in `reportingFrequency`, which every entity carries.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value as Json};

use super::achievement::Status;
use super::book::Book;
use super::catalog::rollup_text;
use super::evaluate::{Evaluation, Evaluator};
use super::model::{Definition, Level};
use super::period::{Period, PeriodKind};
use super::service::{today, IndicatorService};
use crate::accounts::{Role, Subject};
use crate::error::{CoreError, CoreResult};
use crate::hub::contexts::core_arc;
use crate::hub::ops::EntityOp;

pub fn entity_id(code: &str, unit: &str, period: &Period) -> String {
    format!("urn:ngsi-ld:KeyPerformanceIndicator:{code}:{unit}:{period}")
}

fn prop(value: impl Into<Json>) -> Json {
    json!({"type": "Property", "value": value.into()})
}

/// The model's standing for a status: on track is "good" ("veryGood" at 120% or more), at
/// risk "fair", off track "bad".
pub fn standing_of(status: Status, achievement: Option<f64>) -> Option<&'static str> {
    match status {
        Status::OnTrack if achievement.is_some_and(|a| a >= 120.0) => Some("veryGood"),
        Status::OnTrack => Some("good"),
        Status::AtRisk => Some("fair"),
        Status::OffTrack => Some("bad"),
        Status::NoTarget | Status::NoData => None,
    }
}

/// The entity for one evaluation, in normalized NGSI-LD with the core context's short names.
pub fn to_entity(def: &Definition, e: &Evaluation, org_name: &str, unit_name: &str) -> Json {
    let mut body = json!({
        "id": entity_id(&e.code, &e.unit_code, &e.period),
        "type": "KeyPerformanceIndicator",
        "name": prop(def.name_vi.clone()),
        "category": prop(json!(["quantitative"])),
        "organization": prop(org_name),
        "calculatedBy": prop("Trung tâm giám sát, điều hành thông minh"),
        "calculationMethod": prop(if def.formula.is_some() || def.realtime.is_some() { "automatic" }
            else if def.level == Level::Commune && e.basis == Some(super::evaluate::Basis::Rollup) { "semiautomatic" }
            else { "manual" }),
        "calculationPeriod": prop(json!({"from": e.period.first_day().to_string(), "to": e.period.last_day().to_string()})),
        "area": prop(unit_name),
        "indicatorCode": prop(e.code.clone()),
        "indicatorVersion": prop(e.version),
        "indicatorGroup": prop(def.group.clone()),
        "unitOfMeasure": prop(def.unit.clone()),
        "refAdministrativeUnit": prop(e.unit_code.clone()),
        "reportingPeriod": prop(e.period.to_string()),
        "reportingFrequency": prop(match e.period.kind {
            PeriodKind::Month => "P1M", PeriodKind::Quarter => "P3M", PeriodKind::Half => "P6M", PeriodKind::Year => "P1Y" }),
        "status": prop(e.status.as_str()),
    });
    let freq = match e.period.kind {
        PeriodKind::Month => Some("monthly"),
        PeriodKind::Quarter => Some("quarterly"),
        PeriodKind::Year => Some("yearly"),
        PeriodKind::Half => None,
    };
    let set = |body: &mut Json, k: &str, v: Option<Json>| {
        if let Some(v) = v {
            body[k] = prop(v);
        }
    };
    set(&mut body, "calculationFrequency", freq.map(Json::from));
    set(
        &mut body,
        "calculationFormula",
        def.formula.clone().map(Json::from).or_else(|| {
            (def.level == Level::Commune && e.unit_code.len() == 2)
                .then(|| Json::from(rollup_text(&def.rollup)))
        }),
    );
    set(&mut body, "description", (!def.description.is_empty()).then(|| Json::from(def.description.clone())));
    set(&mut body, "kpiValue", e.value.map(Json::from));
    set(&mut body, "valueBasis", e.basis.and_then(|b| serde_json::to_value(b).ok()));
    set(&mut body, "toDate", e.to_date.map(Json::from));
    set(&mut body, "samePeriodLastYear", e.same_period_last_year.map(Json::from));
    set(&mut body, "changePercent", e.change_pct.map(|v| Json::from((v * 100.0).round() / 100.0)));
    set(&mut body, "target", e.target.map(Json::from));
    set(&mut body, "expected", e.expected.map(Json::from));
    set(&mut body, "achievement", e.achievement.map(|v| Json::from((v * 100.0).round() / 100.0)));
    set(&mut body, "currentStanding", standing_of(e.status, e.achievement).map(Json::from));
    body
}

impl IndicatorService {
    /// Asks the publisher job to refresh the view of `codes` for `years`.
    pub(crate) fn queue_publish(&self, codes: BTreeSet<String>, years: BTreeSet<i16>) {
        if codes.is_empty() || years.is_empty() {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.0.extend(codes);
        pending.1.extend(years);
        drop(pending);
        self.pending_ready.notify_one();
    }

    /// Waits until a refresh is asked for (the publisher job's loop).
    pub async fn publish_wanted(&self) {
        self.pending_ready.notified().await;
    }

    /// Publishes what is waiting, all at once: changes made meanwhile are merged into one
    /// refresh. Answers how many entities were written.
    pub async fn publish_pending(&self) -> CoreResult<usize> {
        let (codes, years) = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if codes.is_empty() {
            return Ok(0);
        }
        match self.publish(&codes, &years).await {
            Ok(n) => Ok(n),
            Err(e) => {
                // Kept for the next round rather than lost: the view would stay stale.
                self.queue_publish(codes, years);
                Err(e)
            }
        }
    }

    /// Writes the entities of `codes` for the periods of `years` that have begun and have a
    /// figure or a target; entities whose content has not changed since last written are skipped.
    pub async fn publish(&self, codes: &BTreeSet<String>, years: &BTreeSet<i16>) -> CoreResult<usize> {
        let book = self.book();
        let orgs: HashMap<String, String> =
            self.repo.list_orgs().await?.into_iter().map(|o| (o.id.clone(), o.name_vi.clone())).collect();
        let units: HashMap<String, String> = self
            .repo
            .list_units(None, None, false)
            .await?
            .into_iter()
            .filter(|u| book.has_unit(&u.code))
            .map(|u| (u.code, u.full_name_vi))
            .collect();
        let mut written = 0;
        let codes: Vec<&String> = codes.iter().collect();
        // A few indicators at a time: a whole catalog's bodies held at once took gigabytes.
        for group in codes.chunks(10) {
            let group: BTreeSet<String> = group.iter().map(|c| (*c).clone()).collect();
            let bodies = self.bodies(&book, &group, years, &orgs, &units);
            written += self.write_bodies(bodies).await?;
        }
        Ok(written)
    }

    /// Writes the bodies whose content changed since last written, by owner, 1,000 at a time.
    async fn write_bodies(&self, bodies: Vec<(String, Json)>) -> CoreResult<usize> {
        let ctx = core_arc();
        let mut by_owner: HashMap<String, Vec<EntityOp>> = HashMap::new();
        let mut digests = Vec::new();
        {
            let published = self.published.lock().map_err(|_| CoreError::Internal("publish cache".into()))?;
            for (owner, body) in bodies {
                let id = body["id"].as_str().unwrap_or_default().to_string();
                let digest = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    body.to_string().hash(&mut h);
                    h.finish()
                };
                if published.get(&id) == Some(&digest) {
                    continue;
                }
                let entity = crate::hub::entity::parse_entity(&body)
                    .map_err(|e| CoreError::Internal(format!("indicator entity {id}: {e}")))?;
                by_owner
                    .entry(owner)
                    .or_default()
                    .push(EntityOp::Upsert { entity: entity.map_names(&|n| ctx.expand(n)), update: false });
                digests.push((id, digest));
            }
        }
        let mut written = 0;
        for (owner, ops) in by_owner {
            let subject = publisher(&owner);
            for chunk in ops.chunks(1000) {
                let results = self
                    .hub
                    .write_view(&subject, "entity.batch", chunk.to_vec(), ctx.clone())
                    .await
                    .map_err(crate::datasets::service::from_hub)?;
                for r in results {
                    match r {
                        Ok(_) => written += 1,
                        Err(e) => tracing::warn!(error = %e, "indicator entity refused by the hub"),
                    }
                }
            }
        }
        if let Ok(mut published) = self.published.lock() {
            published.extend(digests);
        }
        Ok(written)
    }

    /// Publishes every indicator for the book's years (at start, after loading history).
    pub async fn publish_all(&self) -> CoreResult<usize> {
        let book = self.book();
        let codes = book.indicators().map(|i| i.code.clone()).collect();
        let (a, b) = book.years();
        self.publish(&codes, &(a..=b).collect()).await
    }

    fn bodies(
        &self,
        book: &Book,
        codes: &BTreeSet<String>,
        years: &BTreeSet<i16>,
        orgs: &HashMap<String, String>,
        units: &HashMap<String, String>,
    ) -> Vec<(String, Json)> {
        let ev = Evaluator::new(book);
        let today = today();
        let mut out = Vec::new();
        for code in codes {
            let Some(ind) = book.indicator(code) else { continue };
            let Some(kind) = ind.current().map(|d| d.frequency.period_kind()) else { continue };
            for year in years {
                for period in Period::of_year(*year, kind) {
                    if period.first_day() > today {
                        break;
                    }
                    let Some(def) = ind.for_period(&period) else { continue };
                    for unit in &book.units {
                        let Some(e) = ev.evaluate(code, unit, &period) else { continue };
                        if e.value.is_none() && e.target.is_none() {
                            continue;
                        }
                        let org = orgs.get(&def.owner_org).map(String::as_str).unwrap_or(&def.owner_org);
                        let unit_name = units.get(unit).map(String::as_str).unwrap_or(unit);
                        out.push((def.owner_org.clone(), to_entity(def, &e, org, unit_name)));
                    }
                }
            }
        }
        out
    }
}

/// The owning organisation writes its indicators' entities, as a provider writes its data.
fn publisher(org_id: &str) -> Subject {
    Subject {
        username: "indicators".into(),
        role: Role::DataProvider,
        org_id: org_id.to_string(),
        ..Subject::cli()
    }
}
