//! What the admins keep for citizen reports (categories, the routing table, the working-time
//! calendar), and the upkeep jobs: escalation at the deadline, erasing identities after the
//! retention period, re-sealing contacts after a key rotation.

use jiff::Timestamp;
use serde::Serialize;
use tracing::instrument;

use super::model::{CitizenReport, ReportCategory, ReportState, ReportStep, Route};
use super::service::ReportService;
use crate::accounts::{Action, Subject};
use crate::audit::{Actor, AuditEvent, Outcome};
use crate::calendar::{self, CalendarDay};
use crate::error::{CoreError, CoreResult};
use crate::orgs::resolve_org;
use crate::repo::{ReportChange, ReportFilter};

const DATATYPES: [&str; 6] = ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"];

/// An overdue report as the overdue list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueReport {
    pub report: CitizenReport,
    /// Hours past the deadline.
    pub hours_late: i64,
}

impl ReportService {
    pub async fn categories(&self) -> CoreResult<Vec<ReportCategory>> {
        self.repo.list_report_categories().await
    }

    /// Adds or replaces categories, all or nothing; the error names the category and field.
    #[instrument(skip_all, fields(count = categories.len()))]
    pub async fn put_categories(&self, by: &Subject, categories: Vec<ReportCategory>) -> CoreResult<()> {
        by.require(Action::ManageReportSettings, None)?;
        for c in &categories {
            let field = |f: &str| format!("categories.{}.{f}", c.code);
            if c.code.is_empty()
                || !c.code.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                return Err(CoreError::validation(
                    "categories.code",
                    format!("'{}': letters, digits, - and _ only", c.code),
                ));
            }
            if c.name_vi.trim().is_empty() {
                return Err(CoreError::validation(field("name_vi"), "the Vietnamese name is required"));
            }
            if c.time_limit_days == 0 || c.time_limit_days > 90 {
                return Err(CoreError::validation(field("time_limit_days"), "from 1 to 90 working days"));
            }
            if c.urgent_hours == 0 || c.urgent_hours > 240 {
                return Err(CoreError::validation(field("urgent_hours"), "from 1 to 240 working hours"));
            }
            if let Some(org) = &c.default_org {
                if resolve_org(self.repo.as_ref(), org).await?.is_none() {
                    return Err(CoreError::validation(
                        field("default_org"),
                        format!("no organisation '{org}'"),
                    ));
                }
            }
            for a in &c.attributes {
                if !DATATYPES.contains(&a.datatype.as_str()) {
                    return Err(CoreError::validation(
                        field("attributes"),
                        format!("'{}' has an unknown datatype '{}'", a.code, a.datatype),
                    ));
                }
                if a.datatype.ends_with("valuelist") && a.values.is_empty() {
                    return Err(CoreError::validation(
                        field("attributes"),
                        format!("'{}' lists no values", a.code),
                    ));
                }
            }
        }
        let codes: Vec<&str> = categories.iter().map(|c| c.code.as_str()).collect();
        let audit = AuditEvent::new(&by.actor(), "report.settings", None, Outcome::Success)
            .with_detail(format!("categories={}", codes.join(",")));
        self.repo.put_report_categories(&categories, &audit).await
    }

    pub async fn routes(&self) -> CoreResult<Vec<Route>> {
        self.repo.list_report_routes().await
    }

    /// Replaces the routing table, all or nothing; every category, commune and agency must exist.
    pub async fn put_routes(&self, by: &Subject, routes: Vec<Route>) -> CoreResult<()> {
        by.require(Action::ManageReportSettings, None)?;
        let categories = self.repo.list_report_categories().await?;
        let index = self.units.current();
        for (i, r) in routes.iter().enumerate() {
            let field = format!("routes[{i}]");
            if !categories.iter().any(|c| c.code == r.category) {
                return Err(CoreError::validation(field, format!("no report category '{}'", r.category)));
            }
            if let Some(unit) = &r.unit_code {
                if index.unit(unit).is_none() {
                    return Err(CoreError::validation(field, format!("no administrative unit '{unit}'")));
                }
            }
            if resolve_org(self.repo.as_ref(), &r.org_code).await?.is_none() {
                return Err(CoreError::validation(field, format!("no organisation '{}'", r.org_code)));
            }
        }
        let audit = AuditEvent::new(&by.actor(), "report.settings", None, Outcome::Success)
            .with_detail(format!("routes={}", routes.len()));
        self.repo.replace_report_routes(&routes, &audit).await
    }

    /// One year of the calendar as it applies (edited, or the statutory list).
    pub async fn calendar_year(&self, year: i16) -> CoreResult<(bool, Vec<CalendarDay>)> {
        for (y, doc) in self.repo.calendar_years().await? {
            if y == year {
                let days = serde_json::from_str(&doc)
                    .map_err(|e| CoreError::Storage(format!("calendar {year}: {e}")))?;
                return Ok((true, days));
            }
        }
        Ok((false, calendar::statutory_holidays(year)))
    }

    /// Replaces a year's list (the Government's swaps, a province's own days); None restores
    /// the statutory list. Deadlines set from now on use it.
    pub async fn put_calendar_year(
        &self,
        by: &Subject,
        year: i16,
        days: Option<Vec<CalendarDay>>,
    ) -> CoreResult<()> {
        by.require(Action::ManageReportSettings, None)?;
        if !(2000..=2100).contains(&year) {
            return Err(CoreError::validation("year", "from 2000 to 2100"));
        }
        let doc = match &days {
            Some(days) => {
                calendar::validate_year(year, days)?;
                Some(serde_json::to_string(days).map_err(|e| CoreError::Internal(e.to_string()))?)
            }
            None => None,
        };
        let audit = AuditEvent::new(&by.actor(), "report.settings", None, Outcome::Success)
            .with_detail(format!("calendar={year}; days={}", days.as_ref().map_or(0, Vec::len)));
        self.repo.put_calendar_year(year, doc.as_deref(), &audit).await?;
        self.load_calendar().await
    }

    /// Reports with an agency past their deadline (clock running), the longest late first.
    pub async fn overdue(&self, by: &Subject, at: Timestamp) -> CoreResult<Vec<OverdueReport>> {
        let filter = ReportFilter {
            states: vec![ReportState::Assigned, ReportState::Accepted, ReportState::InProgress],
            deadline_before: Some(at),
            oldest_first: true,
            limit: 10_000,
            ..ReportFilter::default()
        };
        let mut out: Vec<OverdueReport> = self
            .list(by, filter)
            .await?
            .into_iter()
            .map(|r| {
                let late = r.deadline_at.map_or(0, |d| at.duration_since(d).as_secs() / 3600);
                OverdueReport { report: r, hours_late: late }
            })
            .collect();
        out.sort_by_key(|o| std::cmp::Reverse(o.hours_late));
        Ok(out)
    }

    /// Marks every report newly past its deadline as escalated (to the agency head and the
    /// centre's supervisor); answers the reports escalated, for the notifier.
    pub async fn escalate_overdue(&self, at: Timestamp) -> CoreResult<Vec<CitizenReport>> {
        let filter = ReportFilter {
            states: vec![ReportState::Assigned, ReportState::Accepted, ReportState::InProgress],
            deadline_before: Some(at),
            oldest_first: true,
            limit: 1000,
            ..ReportFilter::default()
        };
        let mut done = Vec::new();
        for mut report in self.repo.list_reports(&filter).await? {
            if report.escalated_at.is_some() {
                continue;
            }
            report.escalated_at = Some(at);
            report.updated_at = at;
            report.version += 1;
            let step = system_step(&report, "escalate", at, "quá hạn xử lý / past its deadline");
            // The audit record is also the event on the bus the notifiers and the console read.
            let audit =
                AuditEvent::new(&Actor::system(), "report.escalate", Some(&report.id), Outcome::Success)
                    .with_detail(format!(
                        "number={}; agency={}; deadline={}",
                        report.number,
                        report.agency_id.as_deref().unwrap_or(""),
                        report.deadline_at.map(crate::time::format_local).unwrap_or_default()
                    ));
            let change = ReportChange {
                report: report.clone(),
                steps: vec![step],
                assignments: vec![],
                extensions: vec![],
                notices: vec![],
                attach_media: vec![],
                audit: Some(audit),
            };
            match self.repo.update_report(&change).await {
                Ok(()) => done.push(report),
                // Someone acted on it meanwhile: the next round looks again.
                Err(CoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Erases the identity of reporters whose report closed more than the retention period ago.
    pub async fn erase_expired(&self, at: Timestamp) -> CoreResult<usize> {
        let cutoff = at - jiff::SignedDuration::from_hours(24 * self.settings.retention_days);
        let filter = ReportFilter {
            states: vec![ReportState::Closed, ReportState::Rejected, ReportState::Merged],
            limit: 1000,
            oldest_first: true,
            ..ReportFilter::default()
        };
        let mut erased = 0;
        for mut report in self.repo.list_reports(&filter).await? {
            let ended = report.closed_at.unwrap_or(report.updated_at);
            if report.contact_sealed.is_none() || ended > cutoff {
                continue;
            }
            report.contact_sealed = None;
            report.contact_masked = None;
            report.personal_erased_at = Some(at);
            report.updated_at = at;
            report.version += 1;
            let step =
                system_step(&report, "erase_identity", at, "hết thời hạn lưu trữ / retention period over");
            let audit = AuditEvent::new(&Actor::system(), "report.erase", Some(&report.id), Outcome::Success)
                .with_detail(format!("number={}", report.number));
            let change = ReportChange {
                report,
                steps: vec![step],
                assignments: vec![],
                extensions: vec![],
                notices: vec![],
                attach_media: vec![],
                audit: Some(audit),
            };
            match self.repo.update_report(&change).await {
                Ok(()) => erased += 1,
                Err(CoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(erased)
    }

    /// Re-seals contacts sealed under an older key with the current one; answers how many.
    pub async fn reseal_contacts(&self) -> CoreResult<usize> {
        let mut count = 0;
        let mut offset = 0;
        loop {
            let page = self
                .repo
                .list_reports(&ReportFilter {
                    limit: 500,
                    offset,
                    oldest_first: true,
                    ..ReportFilter::default()
                })
                .await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            for mut report in page {
                let Some(sealed) = report.contact_sealed.clone() else { continue };
                if !self.vault.needs_reseal(&sealed) {
                    continue;
                }
                let contact = self.vault.open(&report.id, &sealed)?;
                report.contact_sealed = Some(self.vault.seal(&report.id, &contact)?);
                report.version += 1;
                let change = ReportChange {
                    report,
                    steps: vec![],
                    assignments: vec![],
                    extensions: vec![],
                    notices: vec![],
                    attach_media: vec![],
                    audit: None,
                };
                match self.repo.update_report(&change).await {
                    Ok(()) => count += 1,
                    Err(CoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(count)
    }
}

fn system_step(report: &CitizenReport, action: &str, at: Timestamp, note: &str) -> ReportStep {
    ReportStep {
        report_id: report.id.clone(),
        at,
        action: action.into(),
        from_state: report.state,
        to_state: report.state,
        actor_user: None,
        actor_name: "system".into(),
        actor_org: None,
        note: note.into(),
        public: false,
    }
}
