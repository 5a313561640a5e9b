//! What the reporter does with the secret tracking code (follow, add information, rate, reopen,
//! have their identity erased), and what the public sees of published reports. Neither view
//! ever carries personal data; a code that is wrong, forged or guessed finds nothing and says
//! nothing more than "not found".

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::model::{Channel, CitizenReport, RejectReason, ReportState, ReportStep, Urgency};
use super::privacy;
use super::process::{self, Step};
use super::service::ReportService;
use crate::error::{CoreError, CoreResult};
use crate::repo::{ReportChange, ReportFilter};

/// A report as its reporter (with the code) or the public (once published) sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicReport {
    pub number: i64,
    pub category: String,
    pub state: ReportState,
    pub open: bool,
    pub description: String,
    pub address: Option<String>,
    pub unit_code: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub channel: Channel,
    pub urgency: Urgency,
    pub agency_id: Option<String>,
    pub deadline_at: Option<Timestamp>,
    /// The answer, once the centre has approved it.
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
    pub reject_reason: Option<RejectReason>,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub rating: Option<u8>,
    /// The steps meant for the reporter: what happened and when, never who by name.
    pub history: Vec<PublicStep>,
    /// When this report was merged into an earlier one, that report's number: what is shown
    /// is the original's progress.
    pub merged_into: Option<i64>,
    /// Photos and videos: the reporter's and the agency's result, as their public copies.
    pub media: Vec<PublicMedia>,
    /// What the reporter may do now.
    pub can_rate: bool,
    pub can_reopen: bool,
    pub can_provide_info: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicMedia {
    pub id: String,
    /// Relative to the server: /api/v1/public/media/{id}.
    pub url: String,
    pub content_type: &'static str,
    /// "intake" (the reporter's) or "answer" (the agency's result).
    pub stage: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicStep {
    pub at: Timestamp,
    pub action: String,
    pub state: ReportState,
    pub note: String,
}

/// The reporter's own steps.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReporterRequest {
    /// provide_info, rate, reopen, erase_identity
    pub step: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub rating: Option<u8>,
}

/// The steps meant for the reporter. The public sees the same steps without what the reporter
/// wrote (it may say who they are) or the receipt's details.
fn public_history(steps: &[ReportStep], for_reporter: bool) -> Vec<PublicStep> {
    steps
        .iter()
        .filter(|s| s.public)
        .map(|s| {
            let written_by_reporter = s.actor_user.is_none() || s.action == "receive";
            PublicStep {
                at: s.at,
                action: s.action.clone(),
                state: s.to_state,
                note: if for_reporter || !written_by_reporter { s.note.clone() } else { String::new() },
            }
        })
        .collect()
}

impl ReportService {
    async fn by_code(&self, code: &str) -> CoreResult<CitizenReport> {
        let not_found = || CoreError::not_found("report");
        let hash = privacy::tracking_hash(code).ok_or_else(not_found)?;
        self.repo.report_by_tracking(&hash).await?.ok_or_else(not_found)
    }

    async fn public_view(&self, report: &CitizenReport, for_reporter: bool) -> CoreResult<PublicReport> {
        // A merged report follows its original.
        let (shown, merged_into) = match &report.merged_into {
            Some(id) => match self.repo.get_report(id).await? {
                Some(original) => {
                    let number = original.number;
                    (original, Some(number))
                }
                None => (report.clone(), None),
            },
            None => (report.clone(), None),
        };
        let steps = self.repo.report_steps(&shown.id).await?;
        let media = self
            .repo
            .list_media(&shown.id)
            .await?
            .into_iter()
            // The agency's result photos are shown with the answer, once it is approved.
            .filter(|m| {
                m.stage == "intake" || shown.state == ReportState::Closed || shown.published_at.is_some()
            })
            .map(|m| PublicMedia {
                url: format!("/api/v1/public/media/{}", m.id),
                id: m.id,
                content_type: m.media_type.content_type(),
                stage: m.stage,
            })
            .collect();
        let approved = shown.state == ReportState::Closed || shown.published_at.is_some();
        let at = self.now();
        let reopen_ok = shown.state == ReportState::Closed && self.check_reopen_window(&shown, at).is_ok();
        let description = if for_reporter {
            report.description.clone()
        } else {
            shown.public_description.clone().unwrap_or_else(|| shown.description.clone())
        };
        Ok(PublicReport {
            number: shown.number,
            category: shown.category.clone(),
            state: shown.state,
            open: shown.state.is_open(),
            description,
            address: shown.address.clone(),
            unit_code: shown.unit_code.clone(),
            lon: shown.lon,
            lat: shown.lat,
            channel: shown.channel,
            urgency: shown.urgency,
            agency_id: shown.agency_id.clone(),
            deadline_at: shown.deadline_at,
            answer: if approved { shown.answer.clone() } else { None },
            answered_at: if approved { shown.answered_at } else { None },
            reject_reason: report.reject_reason,
            received_at: report.received_at,
            updated_at: shown.updated_at,
            closed_at: shown.closed_at,
            rating: if for_reporter { report.rating } else { None },
            history: public_history(&steps, for_reporter),
            media,
            merged_into,
            can_rate: for_reporter && merged_into.is_none() && approved && report.rating.is_none(),
            can_reopen: for_reporter && merged_into.is_none() && reopen_ok,
            can_provide_info: for_reporter
                && merged_into.is_none()
                && shown.state == ReportState::AwaitingInfo,
        })
    }

    /// The reporter follows their report by its code.
    pub async fn track(&self, code: &str) -> CoreResult<PublicReport> {
        let report = self.by_code(code).await?;
        self.public_view(&report, true).await
    }

    /// The reporter adds information, rates, reopens or has their identity erased.
    #[instrument(skip_all, fields(step = %request.step))]
    pub async fn reporter_act(&self, code: &str, request: ReporterRequest) -> CoreResult<PublicReport> {
        let mut report = self.by_code(code).await?;
        let step = match request.step.trim() {
            "provide_info" => Step::ProvideInfo,
            "rate" => Step::Rate,
            "reopen" => Step::Reopen,
            "erase_identity" => Step::EraseIdentity,
            other => {
                return Err(CoreError::validation(
                    "step",
                    format!("'{other}': a reporter may provide_info, rate, reopen or erase_identity"),
                ))
            }
        };
        if report.merged_into.is_some() && step != Step::EraseIdentity {
            return Err(CoreError::Conflict("this report was merged into another; follow that one".into()));
        }
        let from = report.state;
        let mut to = process::require(from, step)?;
        let at = self.now();
        let note = request.note.trim().to_string();
        match step {
            Step::ProvideInfo => {
                if note.is_empty() {
                    return Err(CoreError::validation("note", "write the information asked for"));
                }
                self.resume_clock(&mut report, at);
            }
            Step::Rate => {
                if report.closed_at.is_none() {
                    return Err(CoreError::Conflict("a report is rated once it has been answered".into()));
                }
                if report.rating.is_some() {
                    return Err(CoreError::Conflict("this report has been rated already".into()));
                }
                let stars = request
                    .rating
                    .filter(|r| (1..=5).contains(r))
                    .ok_or_else(|| CoreError::validation("rating", "from 1 to 5"))?;
                report.rating = Some(stars);
                report.rating_comment = Some(note.clone()).filter(|n| !n.is_empty());
            }
            Step::Reopen => {
                if note.is_empty() {
                    return Err(CoreError::validation("note", "say why the answer does not settle it"));
                }
                self.check_reopen_window(&report, at)?;
                report.closed_at = None;
            }
            Step::EraseIdentity => {
                report.contact_sealed = None;
                report.contact_masked = None;
                report.personal_erased_at = Some(at);
                to = from;
            }
            _ => {}
        }
        report.state = to;
        report.updated_at = at;
        report.version += 1;
        let shown_note = if step == Step::Rate { format!("{}/5", report.rating.unwrap_or(0)) } else { note };
        let record = ReportStep {
            report_id: report.id.clone(),
            at,
            action: step.as_str().into(),
            from_state: from,
            to_state: to,
            actor_user: None,
            actor_name: "reporter".into(),
            actor_org: None,
            note: shown_note,
            public: step != Step::EraseIdentity,
        };
        self.repo
            .update_report(&ReportChange {
                report: report.clone(),
                steps: vec![record],
                assignments: vec![],
                extensions: vec![],
                notices: vec![],
                attach_media: vec![],
                audit: None,
            })
            .await?;
        self.public_view(&report, true).await
    }

    /// Published reports for the portal's map and Open311, newest first.
    pub async fn published(&self, mut filter: ReportFilter) -> CoreResult<Vec<PublicReport>> {
        filter.published_only = true;
        if filter.limit == 0 {
            filter.limit = 50;
        }
        let mut out = Vec::new();
        for r in self.repo.list_reports(&filter).await? {
            out.push(self.public_view(&r, false).await?);
        }
        Ok(out)
    }

    /// One published report by its number; unpublished ones are not found.
    pub async fn published_one(&self, number: i64) -> CoreResult<PublicReport> {
        match self.repo.report_by_number(number).await? {
            Some(r) if r.published_at.is_some() => self.public_view(&r, false).await,
            _ => Err(CoreError::not_found(format!("report {number}"))),
        }
    }
}
