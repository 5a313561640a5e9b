//! The citizen-report service: intake from every channel, reading with the right to see, and the
//! shared pieces the steps (`steps.rs`), the reporter's own actions (`reporter.rs`) and the
//! settings (`settings.rs`) use.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::model::{
    Assignment, Channel, CitizenReport, Consent, Contact, ExtensionRequest, ReportCategory, ReportState,
    ReportStep, Route, Urgency,
};
use super::privacy::{self, ContactVault};
use super::process::Step;
use crate::accounts::{secret, Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::calendar::{WorkingCalendar, WorkingHours};
use crate::error::{CoreError, CoreResult};
use crate::repo::{ReportChange, ReportFilter, Repositories};
use crate::units::UnitDirectory;

/// What the service is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The province's unit code: a point outside it is refused.
    pub province: String,
    /// Days after closing in which the reporter may reopen.
    pub reopen_days: i64,
    /// Days after closing after which the reporter's identity is erased.
    pub retention_days: i64,
    /// Intake refuses descriptions longer than this (characters).
    pub max_description: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { province: "12".into(), reopen_days: 7, retention_days: 730, max_description: 4000 }
    }
}

pub struct ReportService {
    pub(super) repo: Arc<dyn Repositories>,
    pub(super) vault: ContactVault,
    pub(super) units: Arc<UnitDirectory>,
    pub(super) calendar: RwLock<Arc<WorkingCalendar>>,
    pub(super) hours: WorkingHours,
    /// A fixed time for the demo's back-dated history and for tests; None: the clock.
    fixed_time: RwLock<Option<Timestamp>>,
    pub settings: Settings,
}

/// A report as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewReport {
    pub category: String,
    pub description: String,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    /// The commune picked when the reporter cannot place it on the map.
    #[serde(default)]
    pub unit_code: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub urgency: Urgency,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub contact: Option<Contact>,
    /// The purpose the reporter agreed to, as shown on the form; required with a contact.
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Photos or videos kept elsewhere (Open311's media_url), http(s) only.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Uploads made just before (POST /api/v1/public/media), attached to this report.
    #[serde(default)]
    pub media_ids: Vec<String>,
}

/// What intake answers: the report and the tracking code, shown to the reporter once.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub report: CitizenReport,
    pub tracking_code: String,
}

/// A report with everything the console shows about it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDetail {
    pub report: CitizenReport,
    pub steps: Vec<ReportStep>,
    pub assignments: Vec<Assignment>,
    pub extensions: Vec<ExtensionRequest>,
    /// The routing table's suggestion (an organisation code), for reports not yet assigned.
    pub suggested_agency: Option<String>,
    pub overdue: bool,
    pub media: Vec<super::model::ReportMedia>,
}

impl ReportService {
    pub fn new(
        repo: Arc<dyn Repositories>,
        vault: ContactVault,
        units: Arc<UnitDirectory>,
        hours: WorkingHours,
        settings: Settings,
    ) -> ReportService {
        let calendar = WorkingCalendar::new(hours.clone(), &BTreeMap::new());
        ReportService {
            repo,
            vault,
            units,
            calendar: RwLock::new(Arc::new(calendar)),
            hours,
            fixed_time: RwLock::new(None),
            settings,
        }
    }

    /// Reads the edited calendar years from the store; call at start and after an edit.
    pub async fn load_calendar(&self) -> CoreResult<()> {
        let mut edited = BTreeMap::new();
        for (year, doc) in self.repo.calendar_years().await? {
            let days = serde_json::from_str(&doc)
                .map_err(|e| CoreError::Storage(format!("calendar year {year}: {e}")))?;
            edited.insert(year, days);
        }
        let calendar = Arc::new(WorkingCalendar::new(self.hours.clone(), &edited));
        if let Ok(mut slot) = self.calendar.write() {
            *slot = calendar;
        }
        Ok(())
    }

    /// The time steps are recorded at.
    pub fn now(&self) -> Timestamp {
        match self.fixed_time.read() {
            Ok(t) => t.unwrap_or_else(crate::time::now),
            Err(_) => crate::time::now(),
        }
    }

    /// Records the steps that follow as taken at `at` (None: the clock again). Only for loading
    /// history (the demo's) and for tests that walk past a deadline; never from a request.
    pub fn set_time(&self, at: Option<Timestamp>) {
        if let Ok(mut t) = self.fixed_time.write() {
            *t = at;
        }
    }

    pub fn calendar(&self) -> Arc<WorkingCalendar> {
        match self.calendar.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(super) async fn category(&self, code: &str) -> CoreResult<ReportCategory> {
        self.repo
            .list_report_categories()
            .await?
            .into_iter()
            .find(|c| c.code == code)
            .ok_or_else(|| CoreError::validation("category", format!("no report category '{code}'")))
    }

    #[instrument(skip_all, fields(category = %new.category))]
    pub async fn intake(&self, by: Option<&Subject>, new: NewReport) -> CoreResult<Receipt> {
        let channel = new.channel.unwrap_or(if by.is_some() { Channel::App } else { Channel::Web });
        // Only the centre's staff take reports on someone's behalf (hotline, email, social media).
        if !matches!(channel, Channel::Web | Channel::App) {
            match by {
                Some(s) => s.require(Action::ManageCitizenReports, None)?,
                None => return Err(CoreError::Unauthenticated),
            }
        }
        let category = self.category(new.category.trim()).await?;
        if !category.active {
            return Err(CoreError::validation(
                "category",
                format!("category '{}' no longer takes reports", category.code),
            ));
        }
        let description = new.description.trim().to_string();
        if description.is_empty() {
            return Err(CoreError::validation("description", "describe the problem"));
        }
        if description.chars().count() > self.settings.max_description {
            return Err(CoreError::validation(
                "description",
                format!("at most {} characters", self.settings.max_description),
            ));
        }
        // Reports from anyone without staff rights are checked for the marks of automated spam.
        let from_public = by.is_none_or(|s| !s.can_everywhere(Action::ManageCitizenReports));
        if from_public {
            if let Some(why) = spam_reason(&description) {
                return Err(CoreError::validation("description", format!("looks like spam: {why}")));
            }
        }
        let media_urls = check_media_urls(&new.media_urls)?;
        if new.media_ids.len() > super::uploads::MAX_MEDIA_PER_REPORT {
            return Err(CoreError::validation(
                "media_ids",
                format!("at most {}", super::uploads::MAX_MEDIA_PER_REPORT),
            ));
        }
        let unit_code = self.place(&new)?;
        let address = new.address.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(String::from);
        // A citizen places the report; a report taken by staff (a call, an email) may come without
        // a place, which the operator adds when verifying it.
        let placed_by_staff = !matches!(channel, Channel::Web | Channel::App);
        if !placed_by_staff && new.lon.is_none() && unit_code.is_none() && address.is_none() {
            return Err(CoreError::validation(
                "location",
                "give a point on the map, a commune or an address",
            ));
        }
        let attributes = check_attributes(&category, &new.attributes)?;
        let contact = new.contact.clone().map(trim_contact).filter(|c| !c.is_empty());
        let consent = match (&contact, new.consent.as_deref().map(str::trim).filter(|c| !c.is_empty())) {
            (Some(_), None) => {
                return Err(CoreError::validation(
                    "consent",
                    "a reporter who leaves contact details must agree to their use (Decree 13/2023)",
                ))
            }
            (_, purpose) => purpose.map(|p| Consent { purpose: p.to_string(), at: self.now() }),
        };
        if let Some(c) = &contact {
            check_contact(c)?;
        }

        let at = self.now();
        let id = secret::new_id();
        let tracking_code = privacy::new_tracking_code();
        let tracking_hash = privacy::tracking_hash(&tracking_code)
            .ok_or_else(|| CoreError::Internal("a fresh tracking code did not parse".into()))?;
        let contact_sealed = contact.as_ref().map(|c| self.vault.seal(&id, c)).transpose()?;
        let mut report = CitizenReport {
            id: id.clone(),
            number: 0,
            tracking_hash,
            category: category.code.clone(),
            description,
            public_description: None,
            lon: new.lon,
            lat: new.lat,
            address,
            unit_code,
            channel,
            urgency: new.urgency,
            public: new.public,
            attributes,
            media_urls,
            state: ReportState::Received,
            contact_sealed,
            contact_masked: contact.as_ref().map(privacy::mask),
            consent,
            agency_id: None,
            deadline_at: None,
            paused_at: None,
            escalated_at: None,
            reject_reason: None,
            answer: None,
            answered_at: None,
            closed_at: None,
            published_at: None,
            merged_into: None,
            rating: None,
            rating_comment: None,
            personal_erased_at: None,
            received_at: at,
            updated_at: at,
            version: 1,
        };
        let (actor_name, actor_user, actor_org) = match by {
            Some(s) => (s.username.clone(), Some(s.user_id.clone()), Some(s.org_id.clone())),
            None => ("reporter".to_string(), None, None),
        };
        let step = ReportStep {
            report_id: id.clone(),
            at,
            action: Step::Receive.as_str().into(),
            from_state: ReportState::Received,
            to_state: ReportState::Received,
            actor_user,
            actor_name,
            actor_org,
            note: format!("channel={}", channel.as_str()),
            public: true,
        };
        // Staff intake is an action of an account, and audited; a citizen's is not (it would
        // put the audit trail on the path of every anonymous submission).
        let audit =
            by.map(|s| {
                AuditEvent::new(&s.actor(), "report.intake", Some(&id), Outcome::Success)
                    .with_detail(format!("category={}; channel={}", category.code, channel.as_str()))
            });
        let notices = self.notice(&report, "receive", "", Some(&tracking_code)).into_iter().collect();
        let change = ReportChange {
            report: report.clone(),
            steps: vec![step],
            assignments: vec![],
            extensions: vec![],
            notices,
            attach_media: new.media_ids.clone(),
            audit,
        };
        report.number = self.repo.insert_report(&change).await?;
        metrics::counter!("haidang_citizen_reports_received_total", "channel" => channel.as_str())
            .increment(1);
        Ok(Receipt { report, tracking_code })
    }

    /// The commune of the report: from the point (which must be in the province), else the
    /// commune picked, which must be one of the province's.
    pub(super) fn place(&self, new: &NewReport) -> CoreResult<Option<String>> {
        let index = self.units.current();
        match (new.lon, new.lat) {
            (Some(lon), Some(lat)) => {
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(CoreError::validation("location", "longitude or latitude out of range"));
                }
                let hits = index.lookup_all(lon, lat);
                if !hits.iter().any(|code| *code == self.settings.province) {
                    return Err(CoreError::validation(
                        "location",
                        format!("the point ({lat:.5}, {lon:.5}) is outside the province"),
                    ));
                }
                let commune = hits
                    .into_iter()
                    .find(|code| index.unit(code).is_some_and(|u| u.kind.is_local()))
                    .map(String::from);
                Ok(commune.or_else(|| new.unit_code.clone()))
            }
            (None, None) => match new.unit_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => Ok(None),
                Some(code) => match index.unit(code) {
                    Some(u)
                        if u.kind.is_local()
                            && u.parent_code.as_deref() == Some(self.settings.province.as_str()) =>
                    {
                        Ok(Some(code.to_string()))
                    }
                    _ => Err(CoreError::validation(
                        "unit_code",
                        format!("'{code}' is not a commune of the province"),
                    )),
                },
            },
            _ => Err(CoreError::validation("location", "give both longitude and latitude")),
        }
    }

    /// A report the subject may see, with its steps, parts and extension requests.
    pub async fn get(&self, by: &Subject, id: &str) -> CoreResult<ReportDetail> {
        let report = self.load(id).await?;
        let assignments = self.repo.report_assignments(&report.id).await?;
        self.require_view(by, &report, &assignments)?;
        let suggested_agency = if matches!(
            report.state,
            ReportState::Received | ReportState::Verified | ReportState::Returned
        ) {
            self.suggest_agency(&report).await?
        } else {
            None
        };
        Ok(ReportDetail {
            steps: self.repo.report_steps(&report.id).await?,
            media: self.repo.list_media(&report.id).await?,
            extensions: self.repo.report_extensions(&report.id).await?,
            overdue: report.is_overdue(self.now()),
            report,
            assignments,
            suggested_agency,
        })
    }

    /// By id or by public number.
    pub(super) async fn load(&self, id: &str) -> CoreResult<CitizenReport> {
        let found = match id.parse::<i64>() {
            Ok(number) => self.repo.report_by_number(number).await?,
            Err(_) => self.repo.get_report(id).await?,
        };
        found.ok_or_else(|| CoreError::not_found(format!("report '{id}'")))
    }

    /// The centre sees every report; an agency those it holds or has a part in.
    pub(super) fn require_view(
        &self,
        by: &Subject,
        report: &CitizenReport,
        parts: &[Assignment],
    ) -> CoreResult<()> {
        if by.can_everywhere(Action::ViewCitizenReports) {
            return Ok(());
        }
        let involved = report
            .agency_id
            .iter()
            .chain(parts.iter().map(|a| &a.org_id))
            .any(|org| by.can(Action::ViewCitizenReports, Some(org)));
        if involved {
            Ok(())
        } else {
            Err(CoreError::Forbidden("ViewCitizenReports".into()))
        }
    }

    /// Reports the subject may see; an agency's list is limited to its own whatever it asks.
    pub async fn list(&self, by: &Subject, mut filter: ReportFilter) -> CoreResult<Vec<CitizenReport>> {
        if !by.can_everywhere(Action::ViewCitizenReports) {
            by.require(Action::ViewCitizenReports, Some(&by.org_id))?;
            filter.agency_id = Some(by.org_id.clone());
        }
        if filter.limit == 0 {
            filter.limit = 100;
        }
        self.repo.list_reports(&filter).await
    }

    /// The reporter's contact in clear, for those allowed; every look is audited.
    pub async fn contact(&self, by: &Subject, id: &str) -> CoreResult<Option<Contact>> {
        let report = self.load(id).await?;
        let org = report.agency_id.clone().unwrap_or_default();
        let allowed =
            by.can_everywhere(Action::ViewPersonalData) || by.can(Action::ViewPersonalData, Some(&org));
        if !allowed {
            let audit =
                AuditEvent::new(&by.actor(), "report.contact.view", Some(&report.id), Outcome::Denied);
            self.repo.append_audit(&audit).await?;
            return Err(CoreError::Forbidden("ViewPersonalData".into()));
        }
        let Some(sealed) = &report.contact_sealed else { return Ok(None) };
        let contact = self.vault.open(&report.id, sealed)?;
        let audit = AuditEvent::new(&by.actor(), "report.contact.view", Some(&report.id), Outcome::Success)
            .with_detail(format!("number={}", report.number));
        self.repo.append_audit(&audit).await?;
        Ok(Some(contact))
    }

    pub(super) async fn suggest_agency(&self, report: &CitizenReport) -> CoreResult<Option<String>> {
        let routes: Vec<Route> = self.repo.list_report_routes().await?;
        let category = self.category(&report.category).await?;
        Ok(super::routing::suggest(&routes, &category, report.unit_code.as_deref()).map(String::from))
    }

    /// Open reports of the same category near this one in the 14 days before it: the
    /// duplicates the operator is offered to merge.
    pub async fn duplicates(&self, by: &Subject, id: &str) -> CoreResult<Vec<CitizenReport>> {
        by.require(Action::ManageCitizenReports, None)?;
        let report = self.load(id).await?;
        let (Some(lon), Some(lat)) = (report.lon, report.lat) else { return Ok(vec![]) };
        let category = self.category(&report.category).await?;
        let radius = f64::from(category.duplicate_radius_m.max(1));
        let filter = ReportFilter {
            categories: vec![report.category.clone()],
            received_from: Some(report.received_at - jiff::SignedDuration::from_hours(14 * 24)),
            within: Some(super::routing::bounding_box(lon, lat, radius)),
            limit: 50,
            ..ReportFilter::default()
        };
        let mut near: Vec<(f64, CitizenReport)> = self
            .repo
            .list_reports(&filter)
            .await?
            .into_iter()
            .filter(|r| {
                r.id != report.id && r.state.is_open() && r.received_at <= report.received_at.max(self.now())
            })
            .filter_map(|r| {
                let d = super::routing::distance_m((lon, lat), (r.lon?, r.lat?));
                (d <= radius).then_some((d, r))
            })
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(near.into_iter().map(|(_, r)| r).collect())
    }

    /// The deadline an agency gets from `at` for a report of this category.
    pub(super) fn deadline_from(
        &self,
        category: &ReportCategory,
        urgency: Urgency,
        at: Timestamp,
    ) -> Timestamp {
        let calendar = self.calendar();
        match urgency {
            Urgency::Urgent => {
                calendar.add_working_seconds(at, i64::from(category.urgent_hours.max(1)) * 3600)
            }
            Urgency::Ordinary => calendar.add_working_days(at, category.time_limit_days.max(1)),
        }
    }
}

/// Why a public description looks like automated spam, if it does: a wall of links, one
/// character hammered, or no words at all.
pub(super) fn spam_reason(text: &str) -> Option<&'static str> {
    let links =
        text.matches("http://").count() + text.matches("https://").count() + text.matches("www.").count();
    if links > 2 {
        return Some("too many links");
    }
    let mut run = 1;
    let mut prev = None;
    for c in text.chars() {
        if Some(c) == prev && !c.is_whitespace() {
            run += 1;
            if run > 20 {
                return Some("a character repeated");
            }
        } else {
            run = 1;
        }
        prev = Some(c);
    }
    if text.chars().filter(|c| c.is_alphabetic()).count() < 3 {
        return Some("no words");
    }
    None
}

fn check_media_urls(urls: &[String]) -> CoreResult<Vec<String>> {
    if urls.len() > 5 {
        return Err(CoreError::validation("media_urls", "at most 5"));
    }
    urls.iter()
        .map(|u| {
            let u = u.trim();
            let ok = url::Url::parse(u)
                .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
            if ok && u.len() <= 2000 {
                Ok(u.to_string())
            } else {
                Err(CoreError::validation("media_urls", format!("'{u}' is not an http(s) address")))
            }
        })
        .collect()
}

fn trim_contact(c: Contact) -> Contact {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Contact {
        name: clean(c.name),
        phone: clean(c.phone),
        email: clean(c.email),
        id_number: clean(c.id_number),
    }
}

fn check_contact(c: &Contact) -> CoreResult<()> {
    if let Some(phone) = &c.phone {
        let digits = phone.chars().filter(|ch| ch.is_ascii_digit()).count();
        if !(8..=15).contains(&digits)
            || phone.chars().any(|ch| !(ch.is_ascii_digit() || " +-.()".contains(ch)))
        {
            return Err(CoreError::validation("contact.phone", "not a phone number"));
        }
    }
    if let Some(email) = &c.email {
        let ok = email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !ok {
            return Err(CoreError::validation("contact.email", "not an email address"));
        }
    }
    if let Some(id) = &c.id_number {
        if !(id.len() == 9 || id.len() == 12) || !id.chars().all(|ch| ch.is_ascii_digit()) {
            return Err(CoreError::validation("contact.id_number", "an ID number has 9 or 12 digits"));
        }
    }
    Ok(())
}

/// The category's extra fields: required ones present, list values among the keys, numbers numeric.
pub(super) fn check_attributes(
    category: &ReportCategory,
    given: &BTreeMap<String, String>,
) -> CoreResult<Vec<(String, String)>> {
    for code in given.keys() {
        if !category.attributes.iter().any(|a| &a.code == code) {
            return Err(CoreError::validation(
                format!("attributes.{code}"),
                "this category has no such field",
            ));
        }
    }
    let mut out = Vec::new();
    for attr in &category.attributes {
        let field = format!("attributes.{}", attr.code);
        match given.get(&attr.code).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None if attr.required => return Err(CoreError::validation(field, "is required")),
            None => {}
            Some(value) => {
                let ok = match attr.datatype.as_str() {
                    "number" => value.parse::<f64>().is_ok(),
                    "singlevaluelist" => attr.values.iter().any(|(k, _)| k == value),
                    "multivaluelist" => {
                        value.split(',').all(|v| attr.values.iter().any(|(k, _)| k == v.trim()))
                    }
                    "datetime" => value.parse::<Timestamp>().is_ok(),
                    _ => true,
                };
                if !ok {
                    return Err(CoreError::validation(
                        field,
                        format!("'{value}' is not a valid {}", attr.datatype),
                    ));
                }
                out.push((attr.code.clone(), value.to_string()));
            }
        }
    }
    Ok(out)
}
