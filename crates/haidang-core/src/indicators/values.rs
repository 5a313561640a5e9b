//! Figures as the owning organisations send them and the centre reviews them: draft →
//! submitted → approved or returned with a reason. A batch (a form, an XLSX file) is checked in
//! full and written all or nothing, every error named by its row. An approved figure changes only
//! through a new revision, with its reason; the approved one stays in force until the new one is.

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{Level, Revision, Value, ValueKey, ValueKind, ValueState};
use super::period::Period;
use super::service::{audit, today, IndicatorService};
use crate::accounts::{Action, Subject};
use crate::error::{CoreError, CoreResult};
use crate::repo::ValueFilter;
use crate::time::now;

/// One figure as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct FigureSpec {
    pub code: String,
    #[serde(default)]
    pub unit_code: Option<String>,
    pub period: String,
    #[serde(default = "actual")]
    pub kind: String,
    pub value: f64,
    #[serde(default)]
    pub comment: String,
    /// The unit of measure the sender wrote, checked against the indicator's.
    #[serde(default)]
    pub unit_of_measure: Option<String>,
    /// Why an approved figure is revised.
    #[serde(default)]
    pub reason: String,
    /// Where it came from (a row of a file), named in errors.
    #[serde(default)]
    pub row: Option<usize>,
}

fn actual() -> String {
    "actual".into()
}

/// One refused figure: its row (or place in the list), the column and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureError {
    pub row: usize,
    pub field: String,
    /// In English; the API words it in the caller's language from `code` and `args`.
    pub message: String,
    /// Stable name of the refusal ("unknown_indicator"); empty for messages already worded.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub code: &'static str,
    /// The values the message names, for its translation.
    #[serde(skip)]
    pub args: Vec<(&'static str, String)>,
}

impl FigureError {
    /// A refusal already worded for the reader (a file's own errors).
    pub fn worded(row: usize, field: &str, message: String) -> FigureError {
        FigureError { row, field: field.into(), message, code: "", args: Vec::new() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum SubmitOutcome {
    Accepted { count: usize },
    Refused { errors: Vec<FigureError> },
}

impl IndicatorService {
    /// The day an estimate and an actual of `period` are due.
    pub fn due_dates(&self, period: &Period) -> (Date, Date) {
        let day = self.settings.due_day[match period.kind {
            super::period::PeriodKind::Month => 0,
            super::period::PeriodKind::Quarter => 1,
            super::period::PeriodKind::Half => 2,
            super::period::PeriodKind::Year => 3,
        }]
        .clamp(1, 28);
        let last_month = period.last_day();
        let estimate = last_month.first_of_month().saturating_add(jiff::Span::new().days(i64::from(day) - 1));
        let next = period.end();
        let actual = next.saturating_add(jiff::Span::new().days(i64::from(day) - 1));
        (estimate, actual)
    }

    /// The day after which `period` takes no more figures.
    pub fn closes_on(&self, period: &Period) -> Date {
        self.due_dates(period).1.saturating_add(jiff::Span::new().days(self.settings.close_after_days))
    }

    /// Checks and writes figures, all or nothing; `submit` sends them for review, else they stay
    /// drafts.
    /// `prior`: errors found before (cells of an upload that did not read), reported with these.
    pub async fn submit(
        &self,
        by: &Subject,
        figures: &[FigureSpec],
        submit: bool,
        prior: Vec<FigureError>,
    ) -> CoreResult<SubmitOutcome> {
        by.require(Action::SubmitData, None)?;
        if figures.is_empty() && prior.is_empty() {
            return Err(CoreError::validation("values", "no figures were sent"));
        }
        let book = self.book();
        let mut errors = prior;
        let mut checked: Vec<(ValueKey, &FigureSpec, String, u32)> = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, f) in figures.iter().enumerate() {
            let row = f.row.unwrap_or(i + 1);
            let mut refuse =
                |field: &str, code: &'static str, args: Vec<(&'static str, String)>, message: String| {
                    errors.push(FigureError { row, field: field.into(), message, code, args })
                };
            let checked_row = match self.check_figure(&book, by, f, row, Rules::Submission) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let Checked { key, org, version, change_share } = checked_row;
            let period = key.period;
            let kind = key.kind;
            if !seen.insert(key.clone()) {
                refuse(
                    "period",
                    "twice",
                    vec![("code", f.code.clone()), ("period", period.label_vi())],
                    format!("'{}' for {} appears twice in this batch", f.code, period.label_vi()),
                );
                continue;
            }
            // A large move from the previous period needs a word of explanation.
            if f.comment.trim().is_empty() {
                let prev = book.cell(&key.code, &key.unit_code, &period.previous());
                let prev = prev.and_then(|c| match kind {
                    ValueKind::Plan => c.plan,
                    _ => c.actual.or(c.estimate),
                });
                if let Some(p) = prev.filter(|p| *p != 0.0) {
                    let moved = (f.value - p).abs() / p.abs();
                    if moved > change_share {
                        refuse("comment", "comment_required", vec![
                            ("moved", format!("{:.0}", moved * 100.0)),
                            ("previous", p.to_string()),
                            ("share", format!("{:.0}", change_share * 100.0))], format!(
                            "the figure moves {:.0}% from the previous period ({p}): a comment is required above {:.0}%",
                            moved * 100.0, change_share * 100.0));
                        continue;
                    }
                }
            }
            checked.push((key, f, org, version));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Ok(SubmitOutcome::Refused { errors });
        }
        let current = self.current_values(checked.iter().map(|(k, ..)| k)).await?;
        let at = now();
        let state = if submit { ValueState::Submitted } else { ValueState::Draft };
        let mut values = Vec::new();
        let mut revisions = Vec::new();
        for (key, f, org, version) in checked {
            let old = current.get(&key);
            if old.is_some_and(|o| o.approved_value.is_some()) && f.reason.trim().is_empty() {
                errors.push(FigureError {
                    row: f.row.unwrap_or(values.len() + 1),
                    field: "reason".into(),
                    message: "an approved figure changes only through a revision with its reason".into(),
                    code: "reason_required",
                    args: Vec::new(),
                });
                continue;
            }
            let revision = old.map(|o| o.revision + 1).unwrap_or(1);
            values.push(Value {
                key: key.clone(),
                org_id: org,
                version,
                value: f.value,
                state,
                revision,
                comment: f.comment.trim().to_string(),
                approved_value: old.and_then(|o| o.approved_value),
                approved_revision: old.and_then(|o| o.approved_revision),
                approved_at: old.and_then(|o| o.approved_at),
                updated_at: at,
                updated_by: by.username.clone(),
                computed: false,
            });
            revisions.push(Revision {
                key,
                revision,
                value: f.value,
                state,
                comment: f.comment.trim().to_string(),
                reason: f.reason.trim().to_string(),
                at,
                by: by.username.clone(),
            });
        }
        if !errors.is_empty() {
            return Ok(SubmitOutcome::Refused { errors });
        }
        let action = if submit { "indicator.submit" } else { "indicator.draft" };
        let codes: BTreeSet<&str> = values.iter().map(|v| v.key.code.as_str()).collect();
        let event = audit(
            by,
            action,
            &codes.into_iter().collect::<Vec<_>>().join(","),
            json!({"count": values.len()}),
        );
        self.repo.save_values(&values, &revisions, Some(&event)).await?;
        Ok(SubmitOutcome::Accepted { count: values.len() })
    }

    async fn current_values<'a>(
        &self,
        keys: impl Iterator<Item = &'a ValueKey>,
    ) -> CoreResult<HashMap<ValueKey, Value>> {
        let mut out = HashMap::new();
        // A set: an import checks tens of thousands of keys against every figure of their codes.
        let keys: std::collections::HashSet<&ValueKey> = keys.collect();
        let codes: BTreeSet<&str> = keys.iter().map(|k| k.code.as_str()).collect();
        for code in codes {
            let filter = ValueFilter { code: Some(code.to_string()), ..Default::default() };
            for v in self.repo.list_values(&filter).await? {
                if keys.contains(&v.key) {
                    out.insert(v.key.clone(), v);
                }
            }
        }
        Ok(out)
    }

    pub async fn list_values(&self, by: &Subject, filter: &ValueFilter) -> CoreResult<Vec<Value>> {
        by.require(Action::ReadData, None)?;
        self.repo.list_values(filter).await
    }

    pub async fn revisions(&self, by: &Subject, key: &ValueKey) -> CoreResult<Vec<super::model::Revision>> {
        by.require(Action::ReadData, None)?;
        self.repo.revisions_of(key).await
    }

    /// Approves (or, with a reason, returns) submitted figures, all or nothing.
    pub async fn review(
        &self,
        by: &Subject,
        keys: &[ValueKey],
        approve: bool,
        reason: &str,
    ) -> CoreResult<usize> {
        by.require(Action::ManageIndicators, None)?;
        if keys.is_empty() {
            return Err(CoreError::validation("keys", "no figures named"));
        }
        if !approve && reason.trim().is_empty() {
            return Err(CoreError::validation("reason", "a figure is returned with its reason"));
        }
        let current = self.current_values(keys.iter()).await?;
        let at = now();
        let mut values = Vec::new();
        let mut revisions = Vec::new();
        for key in keys {
            let mut v = current.get(key).cloned().ok_or_else(|| {
                CoreError::not_found(format!(
                    "figure {} {} {} {}",
                    key.code,
                    key.unit_code,
                    key.period,
                    key.kind.as_str()
                ))
            })?;
            if v.state != ValueState::Submitted {
                return Err(CoreError::Conflict(format!(
                    "figure {} {} {} is {}, not submitted",
                    key.code,
                    key.unit_code,
                    key.period,
                    v.state.as_str()
                )));
            }
            if approve {
                v.state = ValueState::Approved;
                v.approved_value = Some(v.value);
                v.approved_revision = Some(v.revision);
                v.approved_at = Some(at);
            } else {
                v.state = ValueState::Returned;
            }
            v.updated_at = at;
            v.updated_by = by.username.clone();
            revisions.push(Revision {
                key: key.clone(),
                revision: v.revision,
                value: v.value,
                state: v.state,
                comment: v.comment.clone(),
                reason: reason.trim().to_string(),
                at,
                by: by.username.clone(),
            });
            values.push(v);
        }
        let action = if approve { "indicator.approve" } else { "indicator.return" };
        let codes: BTreeSet<&str> = keys.iter().map(|k| k.code.as_str()).collect();
        let scope: Vec<(String, i16)> = keys
            .iter()
            .map(|k| (k.code.clone(), k.period.year))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let before = self.statuses(&self.book(), &scope);
        let event = audit(
            by,
            action,
            &codes.into_iter().collect::<Vec<_>>().join(","),
            json!({"count": values.len(), "reason": reason}),
        );
        self.repo.save_values(&values, &revisions, Some(&event)).await?;
        if approve {
            self.after_change(by, before).await?;
        }
        Ok(values.len())
    }

    /// Imports the figures of closed periods from the old reporting system: every row checked as
    /// a submission's is except the period's closing date and who owes it, all or nothing;
    /// they are kept approved, as revision 1, with `source` as the reason.
    pub async fn import_history(
        &self,
        by: &Subject,
        figures: &[FigureSpec],
        source: &str,
    ) -> CoreResult<SubmitOutcome> {
        by.require(Action::ManageIndicators, None)?;
        if figures.is_empty() {
            return Err(CoreError::validation("values", "no figures were sent"));
        }
        if source.trim().is_empty() {
            return Err(CoreError::validation("source", "say where the figures come from"));
        }
        let book = self.book();
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        let mut checked = Vec::with_capacity(figures.len());
        for (i, f) in figures.iter().enumerate() {
            let row = f.row.unwrap_or(i + 1);
            match self.check_figure(&book, by, f, row, Rules::History) {
                Ok(c) if !seen.insert(c.key.clone()) => errors.push(FigureError {
                    row,
                    field: "period".into(),
                    code: "twice",
                    args: vec![("code", f.code.clone()), ("period", c.key.period.label_vi())],
                    message: format!(
                        "'{}' for {} appears twice in this batch",
                        f.code,
                        c.key.period.label_vi()
                    ),
                }),
                Ok(c) => checked.push((c.key, f.value)),
                Err(e) => errors.push(e),
            }
        }
        // An import never writes over a figure already kept: that is a revision, with its reason.
        let existing = self.current_values(checked.iter().map(|(k, _)| k)).await?;
        for (i, (key, _)) in checked.iter().enumerate() {
            if existing.contains_key(key) {
                errors.push(FigureError {
                    row: figures.get(i).and_then(|f| f.row).unwrap_or(i + 1),
                    field: "period".into(),
                    code: "already_recorded",
                    args: vec![
                        ("code", key.code.clone()),
                        ("unit", key.unit_code.clone()),
                        ("period", key.period.label_vi()),
                    ],
                    message: format!(
                        "'{}' in {} for {} is already recorded: revise it instead",
                        key.code,
                        key.unit_code,
                        key.period.label_vi()
                    ),
                });
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Ok(SubmitOutcome::Refused { errors });
        }
        let count = self.load_history(by, &checked, source.trim()).await?;
        Ok(SubmitOutcome::Accepted { count })
    }

    /// Loads approved historical figures in one step (a migration from the old reporting
    /// system, the demo): no period rule applies, every figure is kept as revision 1, approved.
    pub async fn load_history(
        &self,
        by: &Subject,
        figures: &[(ValueKey, f64)],
        source: &str,
    ) -> CoreResult<usize> {
        by.require(Action::ManageIndicators, None)?;
        let book = self.book();
        let at = now();
        let mut values = Vec::with_capacity(figures.len());
        let mut revisions = Vec::with_capacity(figures.len());
        for (key, v) in figures {
            let def = book
                .indicator(&key.code)
                .and_then(|i| i.for_period(&key.period))
                .ok_or_else(|| CoreError::validation("code", format!("unknown indicator '{}'", key.code)))?;
            values.push(Value {
                key: key.clone(),
                org_id: def.owner_org.clone(),
                version: def.version,
                value: *v,
                state: ValueState::Approved,
                revision: 1,
                comment: String::new(),
                approved_value: Some(*v),
                approved_revision: Some(1),
                approved_at: Some(at),
                updated_at: at,
                updated_by: by.username.clone(),
                computed: false,
            });
            revisions.push(Revision {
                key: key.clone(),
                revision: 1,
                value: *v,
                state: ValueState::Approved,
                comment: String::new(),
                reason: source.to_string(),
                at,
                by: by.username.clone(),
            });
        }
        let event = audit(by, "indicator.load_history", "", json!({"count": values.len(), "source": source}));
        self.repo.save_values(&values, &revisions, Some(&event)).await?;
        self.reload().await?;
        let codes: BTreeSet<String> = values.iter().map(|v| v.key.code.clone()).collect();
        let years: BTreeSet<i16> = values.iter().map(|v| v.key.period.year).collect();
        self.queue_publish(codes, years);
        Ok(values.len())
    }
}

/// Which rules a figure is checked against: a submission's, or a history import's (a migration
/// from the old reporting system, for periods long closed, by whoever manages the catalog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    Submission,
    History,
}

/// A figure that passed the checks of its own row.
pub(crate) struct Checked {
    pub key: ValueKey,
    pub org: String,
    pub version: u32,
    pub change_share: f64,
}

impl IndicatorService {
    /// The checks of one row that need nothing but the book: the indicator, period, kind and
    /// unit exist and fit together, the value is in range, and (for a submission) the sender
    /// owes it and its period is open.
    pub(crate) fn check_figure(
        &self,
        book: &super::book::Book,
        by: &Subject,
        f: &FigureSpec,
        row: usize,
        rules: Rules,
    ) -> Result<Checked, FigureError> {
        let refuse = |field: &str, code: &'static str, args: Vec<(&'static str, String)>, message: String| {
            FigureError { row, field: field.into(), message, code, args }
        };
        let c = || ("code", f.code.clone());
        let today = today();
        let Some(ind) = book.indicator(&f.code).filter(|i| !i.retired) else {
            return Err(refuse(
                "code",
                "unknown_indicator",
                vec![c()],
                format!("unknown indicator '{}'", f.code),
            ));
        };
        let Some(period) = Period::parse(&f.period) else {
            return Err(refuse(
                "period",
                "bad_period",
                vec![("period", f.period.clone())],
                format!("'{}' is not a period (2026-11, 2026-Q3, 2026-H1, 2026)", f.period),
            ));
        };
        let Some(def) = ind.for_period(&period) else {
            return Err(refuse(
                "period",
                "not_defined_yet",
                vec![c(), ("period", period.label_vi())],
                format!("'{}' was not defined yet for {}", f.code, period.label_vi()),
            ));
        };
        let Some(kind) = ValueKind::parse(&f.kind) else {
            return Err(refuse(
                "kind",
                "bad_kind",
                vec![("kind", f.kind.clone())],
                format!("'{}' is not one of plan, estimate, actual", f.kind),
            ));
        };
        let unit = f.unit_code.clone().unwrap_or_else(|| book.province.clone());
        if !book.has_unit(&unit) {
            return Err(refuse(
                "unit_code",
                "unknown_unit",
                vec![("unit", unit.clone())],
                format!("unknown unit '{unit}'"),
            ));
        }
        if period.kind != def.frequency.period_kind() {
            return Err(refuse(
                "period",
                "wrong_period_kind",
                vec![c(), ("frequency", def.frequency.as_str().to_string())],
                format!("'{}' is reported by {}, not by this period", f.code, def.frequency.as_str()),
            ));
        }
        if !def.is_entered() {
            return Err(refuse(
                "code",
                "computed",
                vec![c()],
                format!("'{}' is computed (by formula or from the hub), not entered", f.code),
            ));
        }
        let is_province = unit == book.province;
        if def.level == Level::Province && !is_province {
            return Err(refuse(
                "unit_code",
                "province_only",
                vec![c()],
                format!("'{}' is reported for the province only", f.code),
            ));
        }
        if def.level == Level::Commune && is_province && def.rollup != super::model::Rollup::None {
            return Err(refuse(
                "unit_code",
                "communes_report",
                vec![c()],
                format!("'{}' is reported by the communes; the province figure is their total", f.code),
            ));
        }
        if rules == Rules::Submission && !by.can(Action::SubmitData, Some(&def.owner_org)) {
            return Err(refuse(
                "code",
                "other_org",
                vec![c()],
                format!("'{}' is owed by another organisation", f.code),
            ));
        }
        if let Some(u) = f.unit_of_measure.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            if !u.eq_ignore_ascii_case(&def.unit) {
                return Err(refuse(
                    "unit_of_measure",
                    "wrong_unit",
                    vec![("given", u.to_string()), ("unit", def.unit.clone())],
                    format!("'{u}' is not the indicator's unit '{}'", def.unit),
                ));
            }
        }
        // Future and closed periods. A plan may be set ahead, up to the end of next year.
        let too_early = match kind {
            ValueKind::Plan => period.year > today.year() + 1,
            ValueKind::Estimate => period.first_day() > today,
            ValueKind::Actual => period.end() > today,
        };
        if too_early {
            let (code, why) = match kind {
                ValueKind::Actual if period.first_day() <= today => (
                    "not_ended",
                    format!(
                        "{} has not ended yet: send an estimate (ước thực hiện) until it has",
                        period.label_vi()
                    ),
                ),
                _ => ("future", format!("{} is in the future", period.label_vi())),
            };
            return Err(refuse("period", code, vec![("period", period.label_vi())], why));
        }
        let closes = self.closes_on(&period);
        if rules == Rules::Submission && today > closes {
            return Err(refuse(
                "period",
                "closed",
                vec![("period", period.label_vi()), ("date", closes.strftime("%d/%m/%Y").to_string())],
                format!(
                    "{} closed on {}: figures are no longer taken",
                    period.label_vi(),
                    closes.strftime("%d/%m/%Y")
                ),
            ));
        }
        if !f.value.is_finite() {
            return Err(refuse("value", "not_a_number", vec![], "must be a number".into()));
        }
        if def.min.is_some_and(|m| f.value < m) || def.max.is_some_and(|m| f.value > m) {
            let range = format!(
                "{} – {}",
                def.min.map(|m| m.to_string()).unwrap_or("…".into()),
                def.max.map(|m| m.to_string()).unwrap_or("…".into())
            );
            return Err(refuse(
                "value",
                "out_of_range",
                vec![("value", f.value.to_string()), ("range", range.clone())],
                format!("{} is outside the indicator's range {range}", f.value),
            ));
        }
        let key = ValueKey { code: f.code.clone(), unit_code: unit, period, kind };
        Ok(Checked { key, org: def.owner_org.clone(), version: def.version, change_share: def.change_share })
    }
}
