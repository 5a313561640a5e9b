//! The indicators as the console and the API manage them. The catalog and targets are kept by
//! the centre's supervisors; figures come from the owning organisations and are reviewed by the
//! centre; every change is audited, the in-memory book rebuilt, the statuses compared (an
//! indicator that falls off track is announced on the bus) and the NGSI-LD view refreshed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use jiff::civil::Date;
use serde_json::json;

use super::achievement::Status;
use super::book::{Book, Contents};
use super::catalog::{self, DefinitionSpec};
use super::evaluate::{Evaluation, Evaluator};
use super::model::{Definition, Indicator, Level, Target};
use super::period::Period;
use crate::accounts::{Action, Subject};
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::hub::HubService;
use crate::repo::Repositories;
use crate::time::{local_tz, now};
use crate::units::UnitKind;

/// When figures are due and when a period closes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Day of the month figures are due: an estimate in the period's last month, an actual in
    /// the month after (monthly, quarterly, half-yearly, yearly).
    pub due_day: [i8; 4],
    /// Days after the actual's due date after which a period takes no more figures.
    pub close_after_days: i64,
    /// Days before a due date the owing organisation is reminded.
    pub remind_days: i64,
    pub province: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { due_day: [20, 20, 20, 20], close_after_days: 90, remind_days: 3, province: "12".into() }
    }
}

pub struct IndicatorService {
    pub(crate) repo: Arc<dyn Repositories>,
    pub(crate) hub: Arc<HubService>,
    pub settings: Settings,
    book: RwLock<Arc<Book>>,
    /// A hash of what each published entity last carried, so unchanged ones are not written
    /// again (a hash, not the body: a full catalog has hundreds of thousands of entities).
    pub(crate) published: std::sync::Mutex<HashMap<String, u64>>,
    /// The indicators and years whose NGSI-LD view is waiting to be refreshed by the publisher
    /// job (a change answers at once; a target for 500 indicators touches 200,000 entities).
    pub(crate) pending: std::sync::Mutex<(BTreeSet<String>, BTreeSet<i16>)>,
    pub(crate) pending_ready: tokio::sync::Notify,
}

pub(crate) fn audit(by: &Subject, action: &str, target: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent::new(&by.actor(), action, Some(target), Outcome::Success).with_detail(detail.to_string())
}

/// Today in Vietnam.
pub fn today() -> Date {
    now().to_zoned(local_tz()).date()
}

impl IndicatorService {
    pub async fn start(
        repo: Arc<dyn Repositories>,
        hub: Arc<HubService>,
        settings: Settings,
    ) -> CoreResult<Self> {
        let empty = Book::new(Contents {
            province: settings.province.clone(),
            communes: vec![],
            indicators: vec![],
            targets: vec![],
            figures: vec![],
            successions: vec![],
            this_year: today().year(),
        });
        let service = IndicatorService {
            repo,
            hub,
            settings,
            book: RwLock::new(Arc::new(empty)),
            published: std::sync::Mutex::new(HashMap::new()),
            pending: std::sync::Mutex::new((BTreeSet::new(), BTreeSet::new())),
            pending_ready: tokio::sync::Notify::new(),
        };
        service.reload().await?;
        Ok(service)
    }

    pub fn book(&self) -> Arc<Book> {
        self.book.read().map(|b| b.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Rebuilds the book from the store.
    pub async fn reload(&self) -> CoreResult<()> {
        let (defs, retired) = self.repo.list_definitions().await?;
        let mut indicators: Vec<Indicator> = Vec::new();
        for d in defs {
            match indicators.last_mut() {
                Some(last) if last.code == d.code => last.versions.push(d),
                _ => indicators.push(Indicator {
                    code: d.code.clone(),
                    retired: retired.contains(&d.code),
                    versions: vec![d],
                }),
            }
        }
        let province = self.settings.province.clone();
        let communes: Vec<String> = self
            .repo
            .list_units(Some(UnitKind::Commune), Some(&province), false)
            .await?
            .into_iter()
            .chain(self.repo.list_units(Some(UnitKind::Ward), Some(&province), false).await?)
            .chain(self.repo.list_units(Some(UnitKind::SpecialZone), Some(&province), false).await?)
            .map(|u| u.code)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut successions = Vec::new();
        for c in &communes {
            for s in self.repo.successions_of(c).await? {
                if s.new_code == *c {
                    successions.push((s.old_code, s.new_code));
                }
            }
        }
        let book = Book::new(Contents {
            province,
            communes,
            indicators,
            targets: self.repo.list_targets().await?,
            figures: self.repo.approved_figures().await?,
            successions,
            this_year: today().year(),
        });
        match self.book.write() {
            Ok(mut b) => *b = Arc::new(book),
            Err(e) => *e.into_inner() = Arc::new(book),
        }
        Ok(())
    }

    pub fn list(&self, by: &Subject) -> CoreResult<Vec<Arc<Indicator>>> {
        by.require(Action::ReadData, None)?;
        Ok(self.book().indicators().cloned().collect())
    }

    pub fn get(&self, by: &Subject, code: &str) -> CoreResult<Arc<Indicator>> {
        by.require(Action::ReadData, None)?;
        self.book()
            .indicator(code)
            .cloned()
            .ok_or_else(|| CoreError::not_found(format!("indicator '{code}'")))
    }

    async fn org_id(&self, text: &str) -> CoreResult<String> {
        crate::orgs::resolve_org(self.repo.as_ref(), text)
            .await?
            .map(|o| o.id)
            .ok_or_else(|| CoreError::validation("owner_org", format!("unknown organisation '{text}'")))
    }

    /// Adds indicators to the catalog, all or nothing (a formula may read one defined in the
    /// same call, in any order).
    pub async fn create(&self, by: &Subject, specs: &[DefinitionSpec]) -> CoreResult<Vec<Definition>> {
        by.require(Action::ManageIndicators, None)?;
        let book = self.book();
        let mut defs = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let at = |e: CoreError| prefix(e, specs.len(), i);
            let owner = self
                .org_id(catalog::required("owner_org", &spec.owner_org).map_err(at)?)
                .await
                .map_err(at)?;
            let def = catalog::build(spec, None, owner, 1, &by.username).map_err(at)?;
            if book.indicator(&def.code).is_some() || defs.iter().any(|d: &Definition| d.code == def.code) {
                return Err(at(CoreError::Conflict(format!("indicator '{}' already exists", def.code))));
            }
            defs.push(def);
        }
        let mut catalog: Vec<Indicator> = book.indicators().map(|i| (**i).clone()).collect();
        catalog.extend(defs.iter().map(|d| Indicator {
            code: d.code.clone(),
            versions: vec![d.clone()],
            retired: false,
        }));
        let refs: Vec<&Indicator> = catalog.iter().collect();
        for (i, d) in defs.iter().enumerate() {
            catalog::check_in_catalog(d, &refs).map_err(|e| prefix(e, defs.len(), i))?;
        }
        let codes: Vec<&str> = defs.iter().map(|d| d.code.as_str()).collect();
        let event = audit(by, "indicator.define", &codes.join(","), json!({"codes": codes}));
        self.repo.save_definitions(&defs, &event).await?;
        self.reload().await?;
        Ok(defs)
    }

    /// A new version of a definition, in force from the period the spec names; figures of
    /// earlier periods keep the version they were made under.
    pub async fn new_version(
        &self,
        by: &Subject,
        code: &str,
        spec: &DefinitionSpec,
    ) -> CoreResult<Definition> {
        by.require(Action::ManageIndicators, None)?;
        let book = self.book();
        let ind = book.indicator(code).ok_or_else(|| CoreError::not_found(format!("indicator '{code}'")))?;
        let current = ind.current().ok_or_else(|| CoreError::not_found(format!("indicator '{code}'")))?;
        let owner = match &spec.owner_org {
            Some(o) => self.org_id(o).await?,
            None => current.owner_org.clone(),
        };
        let def = catalog::build(spec, Some(current), owner, current.version + 1, &by.username)?;
        if def.valid_from.first_day() <= current.valid_from.first_day() {
            return Err(CoreError::validation(
                "valid_from",
                format!("must be after version {}'s start ({})", current.version, current.valid_from),
            ));
        }
        let refs: Vec<&Indicator> = book.indicators().map(|i| i.as_ref()).collect();
        catalog::check_in_catalog(&def, &refs)?;
        let event = audit(
            by,
            "indicator.version",
            code,
            json!({"version": def.version, "valid_from": def.valid_from, "note": def.change_note}),
        );
        self.repo.save_definitions(std::slice::from_ref(&def), &event).await?;
        self.reload().await?;
        Ok(def)
    }

    pub async fn set_retired(&self, by: &Subject, code: &str, retired: bool) -> CoreResult<()> {
        by.require(Action::ManageIndicators, None)?;
        self.get(by, code)?;
        let action = if retired { "indicator.retire" } else { "indicator.restore" };
        self.repo.set_retired(code, retired.then(now), &audit(by, action, code, json!({}))).await?;
        self.reload().await
    }

    /// Sets targets (by indicator, year and unit), all or nothing.
    pub async fn set_targets(&self, by: &Subject, targets: Vec<TargetSpec>) -> CoreResult<usize> {
        by.require(Action::ManageIndicators, None)?;
        let book = self.book();
        let before =
            self.statuses(&book, &targets.iter().map(|t| (t.code.clone(), t.year)).collect::<Vec<_>>());
        let mut rows = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let at = |e: CoreError| prefix(e, targets.len(), i);
            let ind = book.indicator(&t.code).ok_or_else(|| {
                at(CoreError::validation("code", format!("unknown indicator '{}'", t.code)))
            })?;
            let unit = t.unit_code.clone().unwrap_or_else(|| book.province.clone());
            if !book.has_unit(&unit) {
                return Err(at(CoreError::validation("unit_code", format!("unknown unit '{unit}'"))));
            }
            if !(2000..=2100).contains(&t.year) {
                return Err(at(CoreError::validation("year", format!("{} is not a plausible year", t.year))));
            }
            if !t.value.is_finite() {
                return Err(at(CoreError::validation("value", "must be a number")));
            }
            let def = ind.current().ok_or_else(|| at(CoreError::not_found("definition")))?;
            if def.target_kind == super::model::TargetKind::YesNo && t.value != 0.0 && t.value != 1.0 {
                return Err(at(CoreError::validation("value", "a yes/no target is 1 (yes) or 0 (no)")));
            }
            rows.push(Target {
                code: t.code.clone(),
                year: t.year,
                unit_code: unit,
                value: t.value,
                baseline: t.baseline,
                source: t.source.clone().unwrap_or_default(),
                set_by: by.username.clone(),
                set_at: now(),
            });
        }
        let event = audit(by, "indicator.targets", "", json!({"count": rows.len()}));
        self.repo.save_targets(&rows, &event).await?;
        self.after_change(by, before).await?;
        Ok(rows.len())
    }

    /// The statuses of the province (and every unit with a target) for the periods of `years`
    /// that have figures, for the indicators named: compared before and after a change.
    pub(crate) fn statuses(
        &self,
        book: &Book,
        scope: &[(String, i16)],
    ) -> HashMap<(String, String, Period), Status> {
        let ev = Evaluator::new(book);
        let mut out = HashMap::new();
        let codes: BTreeSet<&str> = scope.iter().map(|(c, _)| c.as_str()).collect();
        // Derived indicators change with what they read.
        let dependents: Vec<String> = book
            .indicators()
            .filter(|i| {
                i.current()
                    .and_then(|d| d.formula.as_deref())
                    .and_then(|f| super::formula::Formula::parse(f).ok())
                    .is_some_and(|f| f.references().iter().any(|r| codes.contains(r.as_str())))
            })
            .map(|i| i.code.clone())
            .collect();
        let years: BTreeSet<i16> = scope.iter().map(|(_, y)| *y).collect();
        for code in codes.iter().map(|c| c.to_string()).chain(dependents) {
            let Some(def) = book.indicator(&code).and_then(|i| i.current()) else { continue };
            for year in &years {
                for period in Period::of_year(*year, def.frequency.period_kind()) {
                    if period.first_day() > today() {
                        break;
                    }
                    for unit in &book.units {
                        if unit != &book.province && book.target(&code, *year, unit).is_none() {
                            continue;
                        }
                        if let Some(e) = ev.evaluate(&code, unit, &period) {
                            out.insert((code.clone(), unit.clone(), period), e.status);
                        }
                    }
                }
            }
        }
        out
    }

    /// After a change: the book rebuilt, every indicator that fell off track announced (an
    /// audit record, which the relay publishes on the bus), the NGSI-LD view refreshed.
    pub(crate) async fn after_change(
        &self,
        by: &Subject,
        before: HashMap<(String, String, Period), Status>,
    ) -> CoreResult<()> {
        self.reload().await?;
        let book = self.book();
        let scope: Vec<(String, i16)> =
            before.keys().map(|(c, _, p)| (c.clone(), p.year)).collect::<BTreeSet<_>>().into_iter().collect();
        let after = self.statuses(&book, &scope);
        // Worked out before any await: the evaluator is not Send.
        let fallen: Vec<AuditEvent> = {
            let ev = Evaluator::new(&book);
            after
                .iter()
                .filter(|(k, status)| {
                    **status == Status::OffTrack && before.get(*k) != Some(&Status::OffTrack)
                })
                .map(|((code, unit, period), _)| {
                    let was = before.get(&(code.clone(), unit.clone(), *period)).copied();
                    let e = ev.evaluate(code, unit, period);
                    let name =
                        book.indicator(code).and_then(|i| i.for_period(period)).map(|d| d.name_vi.clone());
                    AuditEvent::new(&Actor::system(), "indicator.off_track", Some(code), Outcome::Success)
                        .with_detail(
                            json!({"code": code, "name": name, "unit": unit, "period": period,
                               "achievement": e.as_ref().and_then(|e| e.achievement),
                               "was": was.map(|s| s.as_str()), "after_change_by": by.username})
                            .to_string(),
                        )
                })
                .collect()
        };
        for event in &fallen {
            self.repo.append_audit(event).await?;
        }
        let codes: BTreeSet<String> = after.keys().map(|(c, _, _)| c.clone()).collect();
        let years: BTreeSet<i16> = scope.iter().map(|(_, y)| *y).collect();
        self.queue_publish(codes, years);
        Ok(())
    }

    /// One evaluation; the unit defaults to the province.
    pub fn evaluate(
        &self,
        by: &Subject,
        code: &str,
        unit: Option<&str>,
        period: &Period,
    ) -> CoreResult<Evaluation> {
        by.require(Action::ReadData, None)?;
        let book = self.book();
        let unit = unit.unwrap_or(&book.province);
        Evaluator::new(&book)
            .evaluate(code, unit, period)
            .ok_or_else(|| CoreError::not_found(format!("indicator '{code}' in unit '{unit}' for {period}")))
    }

    /// Evaluations over a range of periods, for any indicators and units (the on-demand query).
    pub fn query(&self, by: &Subject, q: &RangeQuery) -> CoreResult<Vec<Evaluation>> {
        by.require(Action::ReadData, None)?;
        let book = self.book();
        let ev = Evaluator::new(&book);
        let codes: Vec<String> = if q.codes.is_empty() {
            book.indicators().map(|i| i.code.clone()).collect()
        } else {
            q.codes.clone()
        };
        let mut out = Vec::new();
        for code in &codes {
            let ind = book
                .indicator(code)
                .ok_or_else(|| CoreError::validation("code", format!("unknown indicator '{code}'")))?;
            let Some(def) = ind.current() else { continue };
            let kind = def.frequency.period_kind();
            let from = Period::containing(kind, q.from.first_day());
            let to = Period::containing(kind, q.to.last_day());
            let units: Vec<String> = if q.units.is_empty() {
                if q.communes && def.level == Level::Commune {
                    book.units.clone()
                } else {
                    vec![book.province.clone()]
                }
            } else {
                q.units.clone()
            };
            for unit in &units {
                if !book.has_unit(unit) {
                    return Err(CoreError::validation("unit", format!("unknown unit '{unit}'")));
                }
                for p in from.through(to) {
                    if let Some(e) = ev.evaluate(code, unit, &p) {
                        out.push(e);
                    }
                }
            }
            if out.len() > 200_000 {
                return Err(CoreError::validation("range", "more than 200,000 figures: narrow the query"));
            }
        }
        Ok(out)
    }
}

/// A target as sent.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TargetSpec {
    pub code: String,
    pub year: i16,
    #[serde(default)]
    pub unit_code: Option<String>,
    pub value: f64,
    #[serde(default)]
    pub baseline: Option<f64>,
    #[serde(default)]
    pub source: Option<String>,
}

/// Indicators, units and a span of periods (any kind: each indicator is read by its own).
#[derive(Debug, Clone)]
pub struct RangeQuery {
    pub codes: Vec<String>,
    pub units: Vec<String>,
    /// Every commune too (commune-level indicators), when no units are named.
    pub communes: bool,
    pub from: Period,
    pub to: Period,
}

/// An error about the `i`th of several items names it.
pub(crate) fn prefix(e: CoreError, n: usize, i: usize) -> CoreError {
    if n <= 1 {
        return e;
    }
    match e {
        CoreError::Validation { field, message } => {
            CoreError::Validation { field: format!("[{i}].{field}"), message }
        }
        other => other,
    }
}
