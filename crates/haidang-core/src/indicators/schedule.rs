//! Who owes which figures by when: an estimate by the due day of the period's last month, the
//! actual by the due day of the month after. The overdue list per organisation feeds the hub's
//! "đủ, sống" view; reminders go out a few days before each due date, once.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;
use serde_json::json;

use super::model::{Level, ValueKind, ValueState};
use super::period::Period;
use super::service::{today, IndicatorService};
use crate::accounts::{Action, Subject};
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::datasets::assess::{Overdue, OverdueSource};
use crate::error::CoreResult;
use crate::repo::ValueFilter;
use crate::time::now;

/// Figures an organisation owes for one period and kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owed {
    pub org_id: String,
    pub period: Period,
    pub kind: ValueKind,
    pub due_on: Date,
    /// Indicators (and units) with nothing sent yet.
    pub missing: Vec<(String, String)>,
    /// How many figures are owed in all for this period and kind, sent or not.
    pub expected: usize,
    pub overdue: bool,
}

impl IndicatorService {
    /// What each organisation owes on `day`: every period whose estimate or actual is due within
    /// `ahead` days or is past due and not closed, with the figures not yet sent.
    pub async fn owed(
        &self,
        by: &Subject,
        day: Date,
        ahead: i64,
        org: Option<&str>,
    ) -> CoreResult<Vec<Owed>> {
        by.require(Action::ReadData, None)?;
        let book = self.book();
        let mut sent: BTreeMap<(String, String, String, &'static str), ValueState> = BTreeMap::new();
        for v in self
            .repo
            .list_values(&ValueFilter { org_id: org.map(str::to_string), ..Default::default() })
            .await?
        {
            sent.insert(
                (v.key.code.clone(), v.key.unit_code.clone(), v.key.period.to_string(), v.key.kind.as_str()),
                v.state,
            );
        }
        let horizon = day.saturating_add(jiff::Span::new().days(ahead));
        let mut owed: BTreeMap<(String, Period, ValueKind), Owed> = BTreeMap::new();
        for ind in book.indicators().filter(|i| !i.retired) {
            let Some(def) = ind.current().filter(|d| d.is_entered()) else { continue };
            if org.is_some_and(|o| o != def.owner_org) {
                continue;
            }
            let kind = def.frequency.period_kind();
            // This year's and last year's periods: older ones have closed.
            for period in Period::of_year(day.year() - 1, kind).chain(Period::of_year(day.year(), kind)) {
                if day > self.closes_on(&period) {
                    continue;
                }
                let (estimate_due, actual_due) = self.due_dates(&period);
                let units: Vec<&String> = match def.level {
                    Level::Province => vec![&book.province],
                    Level::Commune => book.units.iter().skip(1).collect(),
                };
                for (vk, due) in [(ValueKind::Estimate, estimate_due), (ValueKind::Actual, actual_due)] {
                    if due > horizon || (vk == ValueKind::Estimate && day > actual_due) {
                        continue;
                    }
                    let entry = owed.entry((def.owner_org.clone(), period, vk)).or_insert_with(|| Owed {
                        org_id: def.owner_org.clone(),
                        period,
                        kind: vk,
                        due_on: due,
                        missing: vec![],
                        expected: 0,
                        overdue: day > due,
                    });
                    entry.expected += units.len();
                    for unit in &units {
                        let state =
                            sent.get(&(ind.code.clone(), (*unit).clone(), period.to_string(), vk.as_str()));
                        // An actual sent covers the estimate too.
                        let actual =
                            sent.get(&(ind.code.clone(), (*unit).clone(), period.to_string(), "actual"));
                        let done = |s: Option<&ValueState>| {
                            matches!(s, Some(ValueState::Submitted | ValueState::Approved))
                        };
                        if done(state) || done(actual) {
                            continue;
                        }
                        entry.missing.push((ind.code.clone(), (*unit).clone()));
                    }
                }
            }
        }
        Ok(owed.into_values().filter(|o| !o.missing.is_empty()).collect())
    }

    /// The figures overdue at `at`, one row per organisation, period and kind, in the hub's
    /// overdue list's shape: they feed the same "đủ, sống" view as the datasets.
    pub async fn overdue(&self, by: &Subject, at: jiff::Timestamp) -> CoreResult<Vec<Overdue>> {
        let tz = crate::time::local_tz();
        let day = at.to_zoned(tz.clone()).date();
        let mut out = Vec::new();
        for o in self.owed(by, day, 0, None).await?.into_iter().filter(|o| o.overdue) {
            // Late from the first moment of the day after the due day, in Vietnam.
            let since = o
                .due_on
                .tomorrow()
                .ok()
                .and_then(|d| d.to_zoned(tz.clone()).ok())
                .map(|z| z.timestamp())
                .unwrap_or(at);
            let kind = match o.kind {
                ValueKind::Plan => "kế hoạch",
                ValueKind::Estimate => "ước thực hiện",
                ValueKind::Actual => "thực hiện",
            };
            out.push(Overdue {
                source: OverdueSource::Indicators,
                period: Some(o.period.to_string()),
                dataset_id: "indicators".into(),
                dataset_name: format!("Chỉ số giám sát: {} ({kind})", o.period.label_vi()),
                provider_org: o.org_id,
                frequency: o.period.kind.as_str().to_string(),
                since,
                last_update: None,
                late: o.missing.len(),
                expected: o.expected,
            });
        }
        Ok(out)
    }

    /// Sends each reminder due (once per organisation, period and kind) as an audit record the
    /// relay publishes on the bus; answers how many were sent.
    pub async fn send_reminders(&self) -> CoreResult<usize> {
        let day = today();
        let system = Subject { role: crate::accounts::Role::Supervisor, ..Subject::cli() };
        let mut sent = 0;
        for o in self.owed(&system, day, self.settings.remind_days, None).await? {
            if o.overdue {
                continue;
            }
            if self.repo.record_reminder(&o.org_id, &o.period.to_string(), o.kind.as_str(), now()).await? {
                let event = AuditEvent::new(&Actor::system(), "indicator.reminder", Some(&o.org_id), Outcome::Success)
                    .with_detail(json!({"org_id": o.org_id, "period": o.period, "kind": o.kind, "due_on": o.due_on.to_string(),
                                        "missing": o.missing.len()}).to_string());
                self.repo.append_audit(&event).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }
}
