//! The steps staff take on a report: the centre verifies, rejects, merges, routes, reviews and
//! closes; the agency accepts, returns, works, asks for more information, answers and asks for
//! more time; a supervisor decides extensions. Each step is checked against the process, the
//! actor's rights and the report's version, and written with its record in one transaction.

use jiff::Timestamp;
use serde::Deserialize;
use tracing::instrument;

use super::model::{
    Assignment, AssignmentRole, CitizenReport, ExtensionRequest, ExtensionState, RejectReason, ReportState,
    ReportStep, Urgency,
};
use super::process::{self, Step};
use super::service::{ReportDetail, ReportService};
use crate::accounts::{secret, Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::orgs::resolve_org;
use crate::repo::ReportChange;

/// One step asked for, with what that step needs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepRequest {
    pub step: String,
    #[serde(default)]
    pub note: String,
    /// The version the actor saw; a step on a report changed since is refused.
    #[serde(default)]
    pub version: Option<i64>,
    /// Reject: spam, duplicate, out_of_scope, not_enough_information.
    #[serde(default)]
    pub reason: Option<String>,
    /// Assign, transfer: the lead agency's code or id (default: the routing table's suggestion).
    #[serde(default)]
    pub agency: Option<String>,
    /// Assign, transfer: supporting agencies ("phối hợp") with their part.
    #[serde(default)]
    pub supporting: Vec<SupportingPart>,
    /// Assign, transfer: a deadline other than the category's; extension: the one asked for.
    #[serde(default)]
    pub deadline: Option<Timestamp>,
    /// Merge: the report this one duplicates (id or number).
    #[serde(default)]
    pub into: Option<String>,
    /// Answer: the result.
    #[serde(default)]
    pub answer: Option<String>,
    /// Decide an extension: which, and whether it is granted.
    #[serde(default)]
    pub extension_id: Option<String>,
    #[serde(default)]
    pub approve: Option<bool>,
    /// Verify (classify): a corrected category or urgency.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// Redact: the text to publish instead of the description.
    #[serde(default)]
    pub public_description: Option<String>,
    /// Verify: the place, when the report came without one (a call, an email) or a wrong one.
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub unit_code: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SupportingPart {
    pub agency: String,
    #[serde(default)]
    pub part: String,
}

/// What a step changes, gathered before it is written.
struct Draft {
    report: CitizenReport,
    steps: Vec<ReportStep>,
    assignments: Vec<Assignment>,
    extensions: Vec<ExtensionRequest>,
}

impl Draft {
    fn record(&mut self, by: &Subject, action: &str, from: ReportState, note: &str, public: bool) {
        self.steps.push(ReportStep {
            report_id: self.report.id.clone(),
            at: self.report.updated_at,
            action: action.to_string(),
            from_state: from,
            to_state: self.report.state,
            actor_user: (!by.user_id.is_empty()).then(|| by.user_id.clone()),
            actor_name: by.username.clone(),
            actor_org: (!by.org_id.is_empty()).then(|| by.org_id.clone()),
            note: note.to_string(),
            public,
        });
    }
}

fn required(text: &str, field: &str, what: &str) -> CoreResult<String> {
    let t = text.trim();
    if t.is_empty() {
        Err(CoreError::validation(field, what))
    } else {
        Ok(t.to_string())
    }
}

impl ReportService {
    #[instrument(skip_all, fields(report = %id, step = %request.step))]
    pub async fn act(&self, by: &Subject, id: &str, request: StepRequest) -> CoreResult<ReportDetail> {
        let step = Step::parse(request.step.trim())
            .ok_or_else(|| CoreError::validation("step", format!("no step '{}'", request.step)))?;
        if matches!(step, Step::Receive | Step::Escalate | Step::Rate) {
            return Err(CoreError::validation("step", format!("'{}' is not taken by staff", step.as_str())));
        }
        let report = self.load(id).await?;
        let parts = self.repo.report_assignments(&report.id).await?;
        self.require_view(by, &report, &parts)?;
        if let Some(v) = request.version {
            if v != report.version {
                return Err(CoreError::Conflict(format!(
                    "report {} was changed by someone else meanwhile; reload it and try again",
                    report.number
                )));
            }
        }
        // Assigning an unverified report verifies it in the same step: one action for the operator.
        let mut state = report.state;
        let verify_first = step == Step::Assign && state == ReportState::Received;
        if verify_first {
            state = process::require(state, Step::Verify)?;
        }
        let to = process::require(state, step)?;
        self.require_step_right(by, step, &report, &parts)?;

        let at = self.now();
        let from = report.state;
        let mut d = Draft { report, steps: vec![], assignments: vec![], extensions: vec![] };
        d.report.updated_at = at;
        if verify_first {
            d.report.state = ReportState::Verified;
            d.record(by, Step::Verify.as_str(), from, "", true);
        }
        let before = d.report.state;
        d.report.state = to;
        let note = request.note.trim().to_string();
        match step {
            Step::Verify => {
                if let Some(code) = request.category.as_deref().filter(|c| *c != d.report.category) {
                    d.report.category = self.category(code).await?.code;
                }
                if let Some(urgency) = request.urgency {
                    d.report.urgency = urgency;
                }
                if request.lon.is_some() || request.lat.is_some() || request.unit_code.is_some() {
                    let place = super::service::NewReport {
                        lon: request.lon,
                        lat: request.lat,
                        unit_code: request.unit_code.clone(),
                        ..Default::default()
                    };
                    d.report.unit_code = self.place(&place)?;
                    d.report.lon = request.lon;
                    d.report.lat = request.lat;
                }
                if let Some(address) = request.address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                    d.report.address = Some(address.to_string());
                }
                d.record(by, "verify", before, &note, true);
            }
            Step::Reject => {
                let reason = request.reason.as_deref().and_then(RejectReason::parse).ok_or_else(|| {
                    CoreError::validation("reason", "spam, duplicate, out_of_scope or not_enough_information")
                })?;
                d.report.reject_reason = Some(reason);
                d.record(by, "reject", before, &format!("{}: {note}", reason.as_str()), true);
            }
            Step::Merge => self.merge(by, &mut d, before, request.into.as_deref(), &note).await?,
            Step::Assign | Step::Transfer => {
                self.assign(by, &mut d, before, step, &request, parts, at).await?
            }
            Step::Accept | Step::Start => d.record(by, step.as_str(), before, &note, true),
            Step::Return => {
                let reason = required(&note, "note", "say why it is not this agency's responsibility")?;
                end_parts(&mut d, &parts, at);
                d.report.agency_id = None;
                d.report.deadline_at = None;
                d.record(by, "return", before, &reason, false);
            }
            Step::RequestInfo => {
                let asked = required(&note, "note", "say what the reporter should add")?;
                d.report.paused_at = Some(at);
                d.record(by, "request_info", before, &asked, true);
            }
            Step::ProvideInfo => {
                let info = required(&note, "note", "the information the reporter gave")?;
                self.resume_clock(&mut d.report, at);
                d.record(by, "provide_info", before, &info, true);
            }
            Step::Answer => self.answer(by, &mut d, before, &request, &parts, at)?,
            Step::Approve => {
                d.report.closed_at = Some(at);
                if d.report.public {
                    d.report.published_at = Some(at);
                }
                end_parts(&mut d, &parts, at);
                d.record(by, "approve", before, &note, true);
            }
            Step::SendBack => {
                let why = required(&note, "note", "say what the answer lacks")?;
                d.report.answer = None;
                d.report.answered_at = None;
                d.record(by, "send_back", before, &why, false);
            }
            Step::Reopen => {
                let why = required(&note, "note", "say why the report is reopened")?;
                self.check_reopen_window(&d.report, at)?;
                d.report.closed_at = None;
                d.record(by, "reopen", before, &why, true);
            }
            Step::RequestExtension => self.request_extension(by, &mut d, &request, at).await?,
            Step::DecideExtension => self.decide_extension(by, &mut d, &request, at).await?,
            Step::Redact => {
                let text = required(
                    request.public_description.as_deref().unwrap_or(""),
                    "public_description",
                    "the text to publish",
                )?;
                d.report.public_description = Some(text);
                d.record(by, "redact", before, &note, false);
            }
            Step::EraseIdentity => {
                d.report.contact_sealed = None;
                d.report.contact_masked = None;
                d.report.personal_erased_at = Some(at);
                d.record(by, "erase_identity", before, &note, false);
            }
            Step::Note => {
                let text = required(&note, "note", "the note is empty")?;
                d.record(by, "note", before, &text, false);
            }
            Step::Receive | Step::Escalate | Step::Rate => {}
        }
        d.report.version += 1;
        let audit = AuditEvent::new(&by.actor(), "report.step", Some(&d.report.id), Outcome::Success)
            .with_detail(format!(
                "number={}; step={}; state={}",
                d.report.number,
                step.as_str(),
                d.report.state.as_str()
            ));
        let id = d.report.id.clone();
        let notices: Vec<_> = d
            .steps
            .iter()
            .filter(|s| s.public && s.report_id == d.report.id)
            .filter_map(|s| self.notice(&d.report, &s.action, &s.note, None))
            .collect();
        self.repo
            .update_report(&ReportChange {
                report: d.report,
                steps: d.steps,
                assignments: d.assignments,
                extensions: d.extensions,
                notices,
                attach_media: vec![],
                audit: Some(audit),
            })
            .await?;
        self.get(by, &id).await
    }

    /// Who may take which step: the centre its own, the lead agency the handling ones (a
    /// supporting agency may answer its part), a supervisor the extension decisions.
    fn require_step_right(
        &self,
        by: &Subject,
        step: Step,
        report: &CitizenReport,
        parts: &[Assignment],
    ) -> CoreResult<()> {
        let lead = report.agency_id.as_deref();
        let holds = |org: Option<&str>| org.is_some_and(|o| by.can(Action::HandleAssignedWork, Some(o)));
        let supports = parts
            .iter()
            .any(|p| p.role == AssignmentRole::Support && p.ended_at.is_none() && holds(Some(&p.org_id)));
        let centre = by.can_everywhere(Action::ManageCitizenReports);
        let ok = match step {
            Step::Verify
            | Step::Reject
            | Step::Merge
            | Step::Assign
            | Step::Approve
            | Step::SendBack
            | Step::Transfer
            | Step::Redact
            | Step::Reopen
            | Step::EraseIdentity => centre,
            Step::Accept | Step::Return | Step::Start | Step::RequestInfo | Step::RequestExtension => {
                holds(lead)
            }
            Step::Answer => holds(lead) || supports,
            Step::ProvideInfo => centre || holds(lead),
            Step::DecideExtension => by.can_everywhere(Action::ApproveDeadlineExtension),
            Step::Note => true,
            Step::Receive | Step::Escalate | Step::Rate => false,
        };
        if ok {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!("step {}", step.as_str())))
        }
    }

    async fn merge(
        &self,
        by: &Subject,
        d: &mut Draft,
        before: ReportState,
        into: Option<&str>,
        note: &str,
    ) -> CoreResult<()> {
        let into =
            into.ok_or_else(|| CoreError::validation("into", "name the report this one duplicates"))?;
        let original = self.load(into).await?;
        if original.id == d.report.id || original.merged_into.is_some() || !original.state.is_open() {
            return Err(CoreError::validation(
                "into",
                format!("report {} is not an open original", original.number),
            ));
        }
        if original.category != d.report.category {
            return Err(CoreError::validation("into", "a duplicate must be of the same category"));
        }
        d.report.merged_into = Some(original.id.clone());
        d.report.reject_reason = Some(RejectReason::Duplicate);
        d.record(by, "merge", before, &format!("#{} {note}", original.number), true);
        // The original's history says so too, written with the duplicate in one transaction.
        d.steps.push(ReportStep {
            report_id: original.id.clone(),
            at: d.report.updated_at,
            action: "merged_duplicate".into(),
            from_state: original.state,
            to_state: original.state,
            actor_user: (!by.user_id.is_empty()).then(|| by.user_id.clone()),
            actor_name: by.username.clone(),
            actor_org: (!by.org_id.is_empty()).then(|| by.org_id.clone()),
            note: format!("#{}", d.report.number),
            public: false,
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn assign(
        &self,
        by: &Subject,
        d: &mut Draft,
        before: ReportState,
        step: Step,
        request: &StepRequest,
        parts: Vec<Assignment>,
        at: Timestamp,
    ) -> CoreResult<()> {
        let code = match request.agency.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(code) => code.to_string(),
            None => self.suggest_agency(&d.report).await?.ok_or_else(|| {
                CoreError::validation(
                    "agency",
                    "no routing row matches this category and commune: choose an agency",
                )
            })?,
        };
        let lead = resolve_org(self.repo.as_ref(), &code)
            .await?
            .ok_or_else(|| CoreError::validation("agency", format!("no organisation '{code}'")))?;
        if step == Step::Transfer && d.report.agency_id.as_deref() == Some(lead.id.as_str()) {
            return Err(CoreError::validation("agency", "the report is already with this agency"));
        }
        let category = self.category(&d.report.category).await?;
        let deadline = match request.deadline {
            Some(t) if t <= at => {
                return Err(CoreError::validation("deadline", "the deadline is in the past"))
            }
            Some(t) => t,
            None => self.deadline_from(&category, d.report.urgency, at),
        };
        end_parts(d, &parts, at);
        let mut named = vec![lead.name_vi.clone()];
        d.assignments.push(Assignment {
            report_id: d.report.id.clone(),
            org_id: lead.id.clone(),
            role: AssignmentRole::Lead,
            part: String::new(),
            deadline_at: deadline,
            assigned_at: at,
            answer: None,
            answered_at: None,
            ended_at: None,
        });
        for s in &request.supporting {
            let org = resolve_org(self.repo.as_ref(), s.agency.trim()).await?.ok_or_else(|| {
                CoreError::validation("supporting", format!("no organisation '{}'", s.agency))
            })?;
            if org.id == lead.id || d.assignments.iter().any(|a| a.org_id == org.id && a.ended_at.is_none()) {
                return Err(CoreError::validation("supporting", format!("'{}' is named twice", org.code)));
            }
            named.push(org.name_vi.clone());
            d.assignments.push(Assignment {
                report_id: d.report.id.clone(),
                org_id: org.id,
                role: AssignmentRole::Support,
                part: s.part.trim().to_string(),
                deadline_at: deadline,
                assigned_at: at,
                answer: None,
                answered_at: None,
                ended_at: None,
            });
        }
        d.report.agency_id = Some(lead.id);
        d.report.deadline_at = Some(deadline);
        d.report.paused_at = None;
        d.report.escalated_at = None;
        let note = format!("{}; {}", named.join(", "), request.note.trim());
        d.record(by, step.as_str(), before, note.trim_end_matches("; "), true);
        Ok(())
    }

    fn answer(
        &self,
        by: &Subject,
        d: &mut Draft,
        before: ReportState,
        request: &StepRequest,
        parts: &[Assignment],
        at: Timestamp,
    ) -> CoreResult<()> {
        let text = required(request.answer.as_deref().unwrap_or(""), "answer", "write the result")?;
        let is_lead =
            d.report.agency_id.as_deref().is_some_and(|o| by.can(Action::HandleAssignedWork, Some(o)));
        if !is_lead {
            // A supporting agency answers its part; the report stays where it is.
            let part = parts
                .iter()
                .find(|p| {
                    p.role == AssignmentRole::Support
                        && p.ended_at.is_none()
                        && by.can(Action::HandleAssignedWork, Some(&p.org_id))
                })
                .ok_or_else(|| CoreError::Forbidden("step answer".into()))?;
            d.report.state = before;
            d.assignments.push(Assignment {
                answer: Some(text.clone()),
                answered_at: Some(at),
                ..part.clone()
            });
            d.record(by, "answer_part", before, &text, false);
            return Ok(());
        }
        d.report.answer = Some(text.clone());
        d.report.answered_at = Some(at);
        d.record(by, "answer", before, &text, false);
        Ok(())
    }

    async fn request_extension(
        &self,
        by: &Subject,
        d: &mut Draft,
        request: &StepRequest,
        at: Timestamp,
    ) -> CoreResult<()> {
        let reason = required(&request.note, "note", "give the reason for more time")?;
        let wanted =
            request.deadline.ok_or_else(|| CoreError::validation("deadline", "the deadline asked for"))?;
        if d.report.deadline_at.is_some_and(|current| wanted <= current) {
            return Err(CoreError::validation(
                "deadline",
                "the deadline asked for is not later than the current one",
            ));
        }
        let pending = self.repo.report_extensions(&d.report.id).await?;
        if pending.iter().any(|e| e.state == ExtensionState::Pending) {
            return Err(CoreError::Conflict("an extension request is already waiting for a decision".into()));
        }
        let org_id = d.report.agency_id.clone().unwrap_or_default();
        d.extensions.push(ExtensionRequest {
            id: secret::new_id(),
            report_id: d.report.id.clone(),
            org_id,
            reason: reason.clone(),
            requested_deadline: wanted,
            state: ExtensionState::Pending,
            requested_by: by.username.clone(),
            requested_at: at,
            decided_by: None,
            decided_at: None,
            decision_note: None,
        });
        let state = d.report.state;
        d.record(
            by,
            "request_extension",
            state,
            &format!("{}: {reason}", crate::time::format_local(wanted)),
            false,
        );
        Ok(())
    }

    async fn decide_extension(
        &self,
        by: &Subject,
        d: &mut Draft,
        request: &StepRequest,
        at: Timestamp,
    ) -> CoreResult<()> {
        let id = request
            .extension_id
            .as_deref()
            .ok_or_else(|| CoreError::validation("extension_id", "which request"))?;
        let approve = request.approve.ok_or_else(|| CoreError::validation("approve", "true or false"))?;
        let mut ext = self
            .repo
            .report_extensions(&d.report.id)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| CoreError::not_found(format!("extension request '{id}'")))?;
        if ext.state != ExtensionState::Pending {
            return Err(CoreError::Conflict("this extension request has been decided".into()));
        }
        ext.state = if approve { ExtensionState::Approved } else { ExtensionState::Refused };
        ext.decided_by = Some(by.username.clone());
        ext.decided_at = Some(at);
        ext.decision_note = Some(request.note.trim().to_string()).filter(|n| !n.is_empty());
        if approve {
            d.report.deadline_at = Some(ext.requested_deadline);
            d.report.escalated_at = None;
        }
        let note = format!("{}: {}", ext.state.as_str(), request.note.trim());
        d.extensions.push(ext);
        let state = d.report.state;
        d.record(by, "decide_extension", state, note.trim_end_matches(": "), false);
        Ok(())
    }

    /// The clock stopped while the reporter was asked; the deadline moves by the working time
    /// that passed meanwhile.
    pub(super) fn resume_clock(&self, report: &mut CitizenReport, at: Timestamp) {
        if let (Some(paused), Some(deadline)) = (report.paused_at, report.deadline_at) {
            let calendar = self.calendar();
            let lost = calendar.working_seconds_between(paused, at);
            report.deadline_at = Some(calendar.add_working_seconds(deadline, lost));
        }
        report.paused_at = None;
    }

    pub(super) fn check_reopen_window(&self, report: &CitizenReport, at: Timestamp) -> CoreResult<()> {
        let closed = report.closed_at.unwrap_or(report.updated_at);
        if at.duration_since(closed) > jiff::SignedDuration::from_hours(24 * self.settings.reopen_days) {
            return Err(CoreError::Conflict(format!(
                "a report can be reopened within {} days of closing",
                self.settings.reopen_days
            )));
        }
        Ok(())
    }
}

/// Ends every open part of the report (a return, a transfer, a new assignment, closing).
fn end_parts(d: &mut Draft, parts: &[Assignment], at: Timestamp) {
    for p in parts.iter().filter(|p| p.ended_at.is_none()) {
        if !d.assignments.iter().any(|a| a.org_id == p.org_id) {
            d.assignments.push(Assignment { ended_at: Some(at), ..p.clone() });
        }
    }
}
