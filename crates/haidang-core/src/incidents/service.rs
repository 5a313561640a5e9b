//! The incident service: opens incidents (from a verified alert or from a call), activates the
//! type's playbook for the immediate process (its checklist, the agencies to mobilise with
//! their duty phones, the message templates, a task for each step that falls to an agency),
//! gives timed tasks with deadlines, takes the agencies' progress, escalates what is overdue,
//! and closes with a report. Everything done is a line on the incident's timeline.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::model::*;
use crate::accounts::{Action, Subject};
use crate::alerts::{AlertService, AlertState, Severity, StepRequest};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::orgs::resolve_org;
use crate::repo::Repositories;
use crate::time::now;
use crate::units::UnitDirectory;

/// What opens an incident.
#[derive(Debug, Clone, Deserialize)]
pub struct NewIncident {
    pub title: String,
    pub incident_type: IncidentType,
    pub mode: HandlingMode,
    #[serde(default = "moderate")]
    pub severity: Severity,
    #[serde(default)]
    pub description: String,
    /// [longitude, latitude]; taken from the alert when one is given.
    #[serde(default)]
    pub location: Option<[f64; 2]>,
    #[serde(default)]
    pub address: String,
    /// A verified alert this incident handles (it moves to "incident").
    #[serde(default)]
    pub alert_id: Option<String>,
    /// The playbook to activate; by default the type's own, for the immediate process.
    #[serde(default)]
    pub playbook_id: Option<String>,
}

fn moderate() -> Severity {
    Severity::Moderate
}

/// Something done on an incident.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentAction {
    Note {
        text: String,
    },
    /// Ticks (or unticks) a line of the checklist.
    Check {
        index: usize,
        #[serde(default = "yes")]
        done: bool,
    },
    /// A task for an agency with its deadline.
    Task {
        org: String,
        title: String,
        #[serde(default)]
        instructions: String,
        due_at: Timestamp,
    },
    /// Activates a playbook on an incident that has none yet.
    Playbook {
        playbook_id: String,
    },
    Close {
        report: String,
    },
}

fn yes() -> bool {
    true
}

/// What an agency (or the centre) does on a task.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskStep {
    /// accept, progress, done, cancel.
    pub action: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub version: Option<i64>,
}

/// An incident with what hangs on it, as the command page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub tasks: Vec<Task>,
    pub timeline: Vec<TimelineEntry>,
}

pub struct IncidentService {
    repo: Arc<dyn Repositories>,
    alerts: Arc<AlertService>,
    units: Arc<UnitDirectory>,
}

fn entry(actor: &str, kind: &str, text: impl Into<String>, data: serde_json::Value) -> TimelineEntry {
    TimelineEntry {
        incident_id: String::new(),
        pos: 0,
        at: now(),
        actor: actor.to_string(),
        kind: kind.into(),
        text: text.into(),
        data,
    }
}

const MAX_DUE_MINUTES: u32 = 7 * 24 * 60;

impl IncidentService {
    pub fn new(
        repo: Arc<dyn Repositories>,
        alerts: Arc<AlertService>,
        units: Arc<UnitDirectory>,
    ) -> IncidentService {
        IncidentService { repo, alerts, units }
    }

    fn centre(by: &Subject) -> bool {
        by.can(Action::DirectIncident, None) || by.can(Action::HandleAlerts, None)
    }

    // ---- playbooks --------------------------------------------------------------------------

    pub async fn playbooks(&self, by: &Subject) -> CoreResult<Vec<Playbook>> {
        by.require(Action::ViewAlerts, Some(&by.org_id))?;
        self.repo.list_playbooks().await
    }

    /// Saves a playbook (supervisors); every agency it names must exist, each refusal naming
    /// the step. `expected` is the version it was read at (None for a new one).
    pub async fn save_playbook(
        &self,
        by: &Subject,
        mut p: Playbook,
        expected: Option<i64>,
    ) -> CoreResult<Playbook> {
        by.require(Action::ManageAlertRules, None)?;
        if p.id.is_empty() && expected.is_none() {
            p.id = format!("kb-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        }
        if p.name.trim().is_empty() {
            return Err(CoreError::validation("name", "is required"));
        }
        if p.steps.is_empty() {
            return Err(CoreError::validation("steps", "a playbook has at least one step"));
        }
        for (i, s) in p.steps.iter().enumerate() {
            if s.text.trim().is_empty() {
                return Err(CoreError::validation(format!("steps[{i}].text"), "is required"));
            }
            if let Some(org) = &s.org {
                if resolve_org(self.repo.as_ref(), org).await?.is_none() {
                    return Err(CoreError::validation(
                        format!("steps[{i}].org"),
                        format!("no organisation '{org}'"),
                    ));
                }
            }
            if s.due_minutes.is_some_and(|m| m == 0 || m > MAX_DUE_MINUTES) {
                return Err(CoreError::validation(
                    format!("steps[{i}].due_minutes"),
                    "from 1 to 10080 (a week)",
                ));
            }
        }
        for (i, a) in p.agencies.iter().enumerate() {
            if resolve_org(self.repo.as_ref(), &a.org).await?.is_none() {
                return Err(CoreError::validation(
                    format!("agencies[{i}].org"),
                    format!("no organisation '{}'", a.org),
                ));
            }
        }
        let current = self.repo.list_playbooks().await?.into_iter().find(|x| x.id == p.id).map(|x| x.version);
        p.version = match (expected, current) {
            (None, None) => 1,
            (None, Some(_)) => {
                return Err(CoreError::Conflict(format!("a playbook '{}' exists already", p.id)))
            }
            (Some(_), None) => return Err(CoreError::NotFound { what: format!("playbook '{}'", p.id) }),
            (Some(v), Some(c)) if v != c => {
                return Err(CoreError::Conflict(format!(
                    "playbook '{}' is at version {c}, not {v}; reload it",
                    p.id
                )))
            }
            (Some(_), Some(c)) => c + 1,
        };
        p.updated_by = by.username.clone();
        p.updated_at = now();
        let action = if p.version == 1 { "playbook.create" } else { "playbook.update" };
        let audit =
            AuditEvent::new(&by.actor(), action, Some(&p.id), Outcome::Success).with_detail(p.name.clone());
        self.repo.put_playbook(&p, &audit).await?;
        Ok(p)
    }

    // ---- incidents --------------------------------------------------------------------------

    fn may_see(by: &Subject, tasks: &[Task]) -> bool {
        by.can_everywhere(Action::ViewAlerts)
            || tasks.iter().any(|t| by.can(Action::ViewAlerts, Some(&t.org_id)))
    }

    pub async fn list(&self, by: &Subject, open_only: bool) -> CoreResult<Vec<Incident>> {
        by.require(Action::ViewAlerts, Some(&by.org_id))?;
        let org_id = (!by.can_everywhere(Action::ViewAlerts)).then(|| by.org_id.clone());
        self.repo.list_incidents(&IncidentFilter { open_only, org_id, limit: 200 }).await
    }

    async fn find(&self, key: &str) -> CoreResult<Option<Incident>> {
        match key.trim_start_matches("SC-").parse::<i64>() {
            Ok(n) => self.repo.incident_by_number(n).await,
            Err(_) => self.repo.get_incident(key).await,
        }
    }

    /// By id or number ("SC-7"), with its tasks and timeline.
    pub async fn get(&self, by: &Subject, key: &str) -> CoreResult<IncidentDetail> {
        let not_found = || CoreError::NotFound { what: format!("incident '{key}'") };
        let incident = self.find(key).await?.ok_or_else(not_found)?;
        let tasks = self.repo.incident_tasks(&incident.id).await?;
        if !Self::may_see(by, &tasks) {
            return Err(not_found());
        }
        let timeline = self.repo.incident_timeline(&incident.id).await?;
        Ok(IncidentDetail { incident, tasks, timeline })
    }

    pub async fn open(&self, by: &Subject, new: NewIncident) -> CoreResult<IncidentDetail> {
        if !Self::centre(by) {
            return Err(CoreError::Forbidden("opening incidents".into()));
        }
        if new.title.trim().is_empty() {
            return Err(CoreError::validation("title", "is required"));
        }
        let at = now();
        let mut incident = Incident {
            id: uuid::Uuid::new_v4().to_string(),
            number: 0,
            title: new.title.trim().to_string(),
            incident_type: new.incident_type,
            mode: new.mode,
            severity: new.severity,
            state: IncidentState::Open,
            description: new.description.trim().to_string(),
            location: new.location,
            units: Vec::new(),
            address: new.address.trim().to_string(),
            alert_ids: Vec::new(),
            playbook_id: None,
            checklist: Vec::new(),
            mobilised: Vec::new(),
            messages: Vec::new(),
            opened_at: at,
            opened_by: by.username.clone(),
            updated_at: at,
            closed_at: None,
            closing_report: None,
            version: 1,
        };
        let alert = match &new.alert_id {
            Some(id) => {
                // The alert moves with the incident: whoever opens it must be able to move it,
                // or the incident would be written and the alert left behind.
                by.require(Action::HandleAlerts, None)?;
                let a = self.alerts.get(by, id).await?;
                if !matches!(a.state, AlertState::Verified | AlertState::Forwarded) {
                    return Err(CoreError::Conflict(format!(
                        "alert A-{} is {}: only a verified alert becomes an incident",
                        a.number,
                        a.state.as_str()
                    )));
                }
                incident.location = incident.location.or(a.location);
                incident.units = a.units.clone();
                incident.alert_ids.push(a.id.clone());
                Some(a)
            }
            None => None,
        };
        if let Some([lon, lat]) = incident.location {
            if !(lon.is_finite()
                && lat.is_finite()
                && (-180.0..=180.0).contains(&lon)
                && (-90.0..=90.0).contains(&lat))
            {
                return Err(CoreError::validation("location", "longitude and latitude out of range"));
            }
            if incident.units.is_empty() {
                incident.units =
                    self.units.current().lookup_all(lon, lat).into_iter().map(str::to_string).collect();
            }
        }
        let mut timeline = vec![entry(
            &by.username,
            "open",
            incident.title.clone(),
            json!({ "mode": incident.mode, "alert": alert.as_ref().map(|a| a.number) }),
        )];
        let mut tasks = Vec::new();
        let playbook_id = match (&new.playbook_id, incident.mode) {
            (Some(id), _) => Some(id.clone()),
            (None, HandlingMode::Immediate) => self
                .repo
                .list_playbooks()
                .await?
                .into_iter()
                .find(|p| p.incident_type == incident.incident_type)
                .map(|p| p.id),
            (None, HandlingMode::Timed) => None,
        };
        if let Some(id) = playbook_id {
            let (t, lines) = self.activate(by, &mut incident, &id).await?;
            tasks = t;
            timeline.extend(lines);
        }
        let mut live = vec![(
            "incident.opened".to_string(),
            incident.id.clone(),
            incident.org_ids(&tasks),
            json!(incident),
        )];
        live.extend(
            tasks
                .iter()
                .map(|t| ("task.assigned".to_string(), t.id.clone(), vec![t.org_id.clone()], json!(t))),
        );
        let audit = AuditEvent::new(&by.actor(), "incident.open", Some(&incident.id), Outcome::Success)
            .with_detail(format!("{} ({})", incident.title, incident.incident_type.as_str()));
        let change = IncidentChange { incident, new: true, tasks, timeline, live, audit: Some(audit) };
        let (incident, events) = self.repo.write_incident(&change).await?;
        events.into_iter().for_each(|e| self.alerts.publish(e));
        if let Some(a) = alert {
            let step = StepRequest {
                action: "incident".into(),
                note: format!("SC-{}", incident.number),
                org: None,
                due: None,
                incident_id: Some(incident.id.clone()),
                version: None,
                expected_state: None,
            };
            // The engine may move the alert's value in between: a conflict is taken again.
            let mut tries = 0;
            loop {
                match self.alerts.step(by, &a.id, step.clone()).await {
                    Err(CoreError::Conflict(_)) if tries < 3 => tries += 1,
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
        self.get(by, &incident.id).await
    }

    /// The playbook's checklist, agencies, messages and tasks on the incident.
    async fn activate(
        &self,
        by: &Subject,
        incident: &mut Incident,
        playbook_id: &str,
    ) -> CoreResult<(Vec<Task>, Vec<TimelineEntry>)> {
        let p =
            self.repo.list_playbooks().await?.into_iter().find(|p| p.id == playbook_id).ok_or_else(|| {
                CoreError::validation("playbook_id", format!("no playbook '{playbook_id}'"))
            })?;
        let at = now();
        incident.playbook_id = Some(p.id.clone());
        incident.checklist = p
            .steps
            .iter()
            .map(|s| ChecklistItem { text: s.text.clone(), org: s.org.clone(), done_at: None, done_by: None })
            .collect();
        incident.messages = p.messages.clone();
        incident.mobilised.clear();
        for a in &p.agencies {
            if let Some(org) = resolve_org(self.repo.as_ref(), &a.org).await? {
                incident.mobilised.push(Mobilised {
                    org: org.code.clone(),
                    name: org.name_vi.clone(),
                    role: a.role.clone(),
                    duty_phone: org.duty_phone.clone().or(org.phone.clone()),
                    email: org.email.clone(),
                });
            }
        }
        let mut tasks = Vec::new();
        for s in &p.steps {
            let Some(code) = &s.org else { continue };
            let org = resolve_org(self.repo.as_ref(), code).await?.ok_or_else(|| {
                CoreError::validation(
                    "playbook_id",
                    format!("the playbook names '{code}', which no longer exists"),
                )
            })?;
            let due = at + jiff::SignedDuration::from_mins(i64::from(s.due_minutes.unwrap_or(60)));
            tasks.push(self.task(by, &incident.id, &org.id, &s.text, "", due));
        }
        let line = entry(
            &by.username,
            "playbook",
            p.name.clone(),
            json!({ "playbook": p.id, "version": p.version, "tasks": tasks.len() }),
        );
        Ok((tasks, vec![line]))
    }

    fn task(
        &self,
        by: &Subject,
        incident_id: &str,
        org_id: &str,
        title: &str,
        instructions: &str,
        due_at: Timestamp,
    ) -> Task {
        Task {
            id: uuid::Uuid::new_v4().to_string(),
            incident_id: incident_id.to_string(),
            org_id: org_id.to_string(),
            title: title.to_string(),
            instructions: instructions.to_string(),
            due_at,
            state: TaskState::Assigned,
            progress: Vec::new(),
            escalated_at: None,
            created_at: now(),
            created_by: by.username.clone(),
            done_at: None,
            version: 1,
        }
    }

    /// Something done on an incident by the centre.
    pub async fn act(&self, by: &Subject, key: &str, action: IncidentAction) -> CoreResult<IncidentDetail> {
        if !Self::centre(by) {
            return Err(CoreError::Forbidden("directing incidents".into()));
        }
        let IncidentDetail { mut incident, tasks, .. } = self.get(by, key).await?;
        if incident.state == IncidentState::Closed {
            return Err(CoreError::Conflict(format!("incident SC-{} is closed", incident.number)));
        }
        let mut new_tasks = Vec::new();
        let mut timeline = Vec::new();
        let name = match &action {
            IncidentAction::Note { text } => {
                if text.trim().is_empty() {
                    return Err(CoreError::validation("text", "the note is empty"));
                }
                timeline.push(entry(&by.username, "note", text.trim(), json!({})));
                "note"
            }
            IncidentAction::Check { index, done } => {
                let item = incident.checklist.get_mut(*index).ok_or_else(|| {
                    CoreError::validation("index", format!("the checklist has no line {index}"))
                })?;
                item.done_at = done.then(now);
                item.done_by = done.then(|| by.username.clone());
                let text = item.text.clone();
                timeline.push(entry(
                    &by.username,
                    "checklist",
                    text,
                    json!({ "index": index, "done": done }),
                ));
                "check"
            }
            IncidentAction::Task { org, title, instructions, due_at } => {
                let o = resolve_org(self.repo.as_ref(), org)
                    .await?
                    .ok_or_else(|| CoreError::validation("org", format!("no organisation '{org}'")))?;
                if title.trim().is_empty() {
                    return Err(CoreError::validation("title", "is required"));
                }
                if *due_at <= now() {
                    return Err(CoreError::validation("due_at", "the deadline must be in the future"));
                }
                let t = self.task(by, &incident.id, &o.id, title.trim(), instructions.trim(), *due_at);
                timeline.push(entry(
                    &by.username,
                    "task",
                    format!("{} → {}", t.title, o.name_vi),
                    json!({ "task": t.id, "org": o.code, "due_at": due_at }),
                ));
                new_tasks.push(t);
                "task"
            }
            IncidentAction::Playbook { playbook_id } => {
                if incident.playbook_id.is_some() {
                    return Err(CoreError::Conflict("a playbook is already active on this incident".into()));
                }
                let (t, lines) = self.activate(by, &mut incident, playbook_id).await?;
                new_tasks = t;
                timeline.extend(lines);
                "playbook"
            }
            IncidentAction::Close { report } => {
                if report.trim().is_empty() {
                    return Err(CoreError::validation("report", "the closing report is required"));
                }
                let open = tasks.iter().filter(|t| t.state.is_open()).count();
                if open > 0 {
                    return Err(CoreError::Conflict(format!(
                        "{open} task(s) are still open: finish or cancel them first"
                    )));
                }
                incident.state = IncidentState::Closed;
                incident.closed_at = Some(now());
                incident.closing_report = Some(report.trim().to_string());
                timeline.push(entry(&by.username, "close", report.trim(), json!({})));
                "close"
            }
        };
        incident.updated_at = now();
        incident.version += 1;
        let all: Vec<Task> = tasks.iter().chain(&new_tasks).cloned().collect();
        let mut live = vec![(
            "incident.updated".to_string(),
            incident.id.clone(),
            incident.org_ids(&all),
            json!(incident),
        )];
        live.extend(
            new_tasks
                .iter()
                .map(|t| ("task.assigned".to_string(), t.id.clone(), vec![t.org_id.clone()], json!(t))),
        );
        let audit =
            AuditEvent::new(&by.actor(), &format!("incident.{name}"), Some(&incident.id), Outcome::Success);
        let change =
            IncidentChange { incident, new: false, tasks: new_tasks, timeline, live, audit: Some(audit) };
        let (incident, events) = self.repo.write_incident(&change).await?;
        events.into_iter().for_each(|e| self.alerts.publish(e));
        self.get(by, &incident.id).await
    }

    /// What is around the incident's place within `radius_m` (3 km by default).
    pub async fn situation(
        &self,
        by: &Subject,
        key: &str,
        radius_m: Option<f64>,
    ) -> CoreResult<super::situation::Situation> {
        let d = self.get(by, key).await?;
        let at = d
            .incident
            .location
            .ok_or_else(|| CoreError::validation("location", "the incident has no place on the map"))?;
        super::situation::around(self.alerts.hub(), by, at, radius_m.unwrap_or(3_000.0), &d.incident.units)
            .await
    }

    /// The response measures over alerts raised (and tasks given) in [from, to): the centre
    /// and leaders.
    pub async fn measures(
        &self,
        by: &Subject,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> CoreResult<super::measures::Measures> {
        if !by.can_everywhere(Action::ViewAlerts) {
            return Err(CoreError::Forbidden("the response measures".into()));
        }
        let filter = crate::alerts::AlertFilter {
            raised_from: from,
            raised_to: to,
            limit: 100_000,
            ..Default::default()
        };
        let alerts = self.repo.list_alerts(&filter).await?;
        let tasks = self.repo.org_tasks(None, false).await?;
        Ok(super::measures::measure(&alerts, &tasks, from, to, now()))
    }

    // ---- tasks ------------------------------------------------------------------------------

    /// The tasks of the caller's agency (the centre: every open task), by deadline.
    pub async fn tasks(&self, by: &Subject, open_only: bool) -> CoreResult<Vec<Task>> {
        by.require(Action::ViewAlerts, Some(&by.org_id))?;
        let org = (!by.can_everywhere(Action::ViewAlerts)).then_some(by.org_id.as_str());
        self.repo.org_tasks(org, open_only).await
    }

    /// The agency accepts, reports progress on, or finishes its task; the centre may cancel it.
    pub async fn task_step(&self, by: &Subject, task_id: &str, step: TaskStep) -> CoreResult<Task> {
        let not_found = || CoreError::NotFound { what: format!("task '{task_id}'") };
        let mut task = self.repo.get_task(task_id).await?.ok_or_else(not_found)?;
        let centre = Self::centre(by) && by.can_everywhere(Action::ViewAlerts);
        if !centre && !by.can(Action::HandleAssignedWork, Some(&task.org_id)) {
            return Err(not_found());
        }
        if step.version.is_some_and(|v| v != task.version) {
            return Err(CoreError::Conflict(format!(
                "task '{}' was changed meanwhile; reload it",
                task.title
            )));
        }
        let note = step.note.trim().to_string();
        let from = task.state;
        let (to, kind) = match (step.action.as_str(), from) {
            ("accept", TaskState::Assigned) => (TaskState::Accepted, "task_accepted"),
            ("progress", TaskState::Assigned | TaskState::Accepted) => {
                if note.is_empty() {
                    return Err(CoreError::validation("note", "the progress report is empty"));
                }
                (TaskState::Accepted, "progress")
            }
            ("done", TaskState::Assigned | TaskState::Accepted) => {
                if note.is_empty() {
                    return Err(CoreError::validation("note", "say what was done"));
                }
                (TaskState::Done, "task_done")
            }
            ("cancel", TaskState::Assigned | TaskState::Accepted) if centre => {
                (TaskState::Cancelled, "task_cancelled")
            }
            ("accept" | "progress" | "done" | "cancel", s) => {
                return Err(CoreError::Conflict(format!(
                    "a task that is {} cannot take the step '{}'",
                    s.as_str(),
                    step.action
                )))
            }
            (other, _) => return Err(CoreError::validation("action", format!("no step '{other}'"))),
        };
        let at = now();
        if !note.is_empty() {
            task.progress.push(Progress { at, by: by.username.clone(), note: note.clone() });
        }
        task.state = to;
        if to == TaskState::Done {
            task.done_at = Some(at);
        }
        task.version += 1;
        let mut incident = self.repo.get_incident(&task.incident_id).await?.ok_or_else(not_found)?;
        incident.updated_at = at;
        incident.version += 1;
        let text = if note.is_empty() { task.title.clone() } else { format!("{}: {note}", task.title) };
        let line = entry(&by.username, kind, text, json!({ "task": task.id }));
        let live =
            vec![("task.updated".to_string(), task.id.clone(), vec![task.org_id.clone()], json!(task))];
        let audit =
            AuditEvent::new(&by.actor(), &format!("task.{}", step.action), Some(&task.id), Outcome::Success);
        let change = IncidentChange {
            incident,
            new: false,
            tasks: vec![task.clone()],
            timeline: vec![line],
            live,
            audit: Some(audit),
        };
        let (_, events) = self.repo.write_incident(&change).await?;
        events.into_iter().for_each(|e| self.alerts.publish(e));
        Ok(task)
    }

    /// Tasks past their deadline and still open are escalated once: a line on the timeline and
    /// a live event the centre's supervisors see. Answers how many.
    pub async fn escalate_overdue(&self) -> CoreResult<usize> {
        let at = now();
        let due = self.repo.unescalated_overdue_tasks(at).await?;
        let n = due.len();
        for mut task in due {
            let Some(mut incident) = self.repo.get_incident(&task.incident_id).await? else { continue };
            task.escalated_at = Some(at);
            task.version += 1;
            incident.updated_at = at;
            incident.version += 1;
            let org = self
                .repo
                .get_org(&task.org_id)
                .await?
                .map(|o| o.name_vi)
                .unwrap_or_else(|| task.org_id.clone());
            let line = entry(
                "system",
                "escalation",
                format!("{} — {org}", task.title),
                json!({ "task": task.id, "due_at": task.due_at }),
            );
            let live =
                vec![("task.overdue".to_string(), task.id.clone(), vec![task.org_id.clone()], json!(task))];
            let change = IncidentChange {
                incident,
                new: false,
                tasks: vec![task],
                timeline: vec![line],
                live,
                audit: None,
            };
            match self.repo.write_incident(&change).await {
                Ok((_, events)) => events.into_iter().for_each(|e| self.alerts.publish(e)),
                // Someone moved the task or the incident meanwhile: the next round sees it again.
                Err(CoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}
