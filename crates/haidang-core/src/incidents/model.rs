//! Incidents the centre responds to, the tasks it gives agencies, the timeline of everything
//! done, and the playbooks ("kịch bản") that say what to do for each type of incident.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::alerts::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentType {
    Fire,
    FloodLandslide,
    Storm,
    Epidemic,
    Environmental,
    TrafficAccident,
    PublicOrder,
    InfrastructureFailure,
    Cyber,
    Other,
}

impl IncidentType {
    pub const ALL: [IncidentType; 10] = [
        IncidentType::Fire,
        IncidentType::FloodLandslide,
        IncidentType::Storm,
        IncidentType::Epidemic,
        IncidentType::Environmental,
        IncidentType::TrafficAccident,
        IncidentType::PublicOrder,
        IncidentType::InfrastructureFailure,
        IncidentType::Cyber,
        IncidentType::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            IncidentType::Fire => "fire",
            IncidentType::FloodLandslide => "flood_landslide",
            IncidentType::Storm => "storm",
            IncidentType::Epidemic => "epidemic",
            IncidentType::Environmental => "environmental",
            IncidentType::TrafficAccident => "traffic_accident",
            IncidentType::PublicOrder => "public_order",
            IncidentType::InfrastructureFailure => "infrastructure_failure",
            IncidentType::Cyber => "cyber",
            IncidentType::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<IncidentType> {
        IncidentType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// Timed: forwarded to the competent agencies with deadlines. Immediate: the centre coordinates
/// the forces on the scene and the leaders command from the centre, with a playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandlingMode {
    Timed,
    Immediate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Closed,
}

/// One line of the incident's checklist, from its playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub text: String,
    /// The agency the step falls to, if any (its code).
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub done_at: Option<Timestamp>,
    #[serde(default)]
    pub done_by: Option<String>,
}

/// An agency mobilised by the playbook, with how to reach it on duty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mobilised {
    pub org: String,
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub duty_phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    /// The number said on the radio: SC-7.
    pub number: i64,
    pub title: String,
    pub incident_type: IncidentType,
    pub mode: HandlingMode,
    pub severity: Severity,
    pub state: IncidentState,
    #[serde(default)]
    pub description: String,
    /// [longitude, latitude].
    #[serde(default)]
    pub location: Option<[f64; 2]>,
    /// The units it lies in, most specific first.
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default)]
    pub address: String,
    /// The alerts it came from.
    #[serde(default)]
    pub alert_ids: Vec<String>,
    #[serde(default)]
    pub playbook_id: Option<String>,
    #[serde(default)]
    pub checklist: Vec<ChecklistItem>,
    #[serde(default)]
    pub mobilised: Vec<Mobilised>,
    /// The playbook's message templates, ready to send.
    #[serde(default)]
    pub messages: Vec<MessageTemplate>,
    pub opened_at: Timestamp,
    pub opened_by: String,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub closing_report: Option<String>,
    pub version: i64,
}

impl Incident {
    /// Agencies with a task here may see the incident.
    pub fn org_ids(&self, tasks: &[Task]) -> Vec<String> {
        let mut orgs: Vec<String> = tasks.iter().map(|t| t.org_id.clone()).collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Given to the agency, not yet taken up.
    Assigned,
    /// The agency is on it.
    Accepted,
    /// The agency reported it done.
    Done,
    /// Withdrawn by the centre.
    Cancelled,
}

impl TaskState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskState::Assigned => "assigned",
            TaskState::Accepted => "accepted",
            TaskState::Done => "done",
            TaskState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<TaskState> {
        [TaskState::Assigned, TaskState::Accepted, TaskState::Done, TaskState::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn is_open(&self) -> bool {
        matches!(self, TaskState::Assigned | TaskState::Accepted)
    }
}

/// A progress report from the agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub at: Timestamp,
    pub by: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub incident_id: String,
    pub org_id: String,
    pub title: String,
    #[serde(default)]
    pub instructions: String,
    pub due_at: Timestamp,
    pub state: TaskState,
    #[serde(default)]
    pub progress: Vec<Progress>,
    /// Set when the deadline passed with the task open: the centre's supervisors were told.
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub created_by: String,
    #[serde(default)]
    pub done_at: Option<Timestamp>,
    pub version: i64,
}

impl Task {
    pub fn is_overdue(&self, at: Timestamp) -> bool {
        self.state.is_open() && self.due_at < at
    }

    /// Done by its deadline (the agency's on-time share).
    pub fn on_time(&self) -> Option<bool> {
        self.done_at.map(|d| d <= self.due_at)
    }
}

/// One thing done, as the incident's timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub incident_id: String,
    pub pos: i64,
    pub at: Timestamp,
    pub actor: String,
    /// "open", "playbook", "checklist", "task", "task_accepted", "progress", "task_done",
    /// "escalation", "note", "attachment", "close".
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// A message ready to send (to the agencies, the communes, the press).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub name: String,
    pub text: String,
}

/// A step of a playbook: done by the centre, or a task for an agency with its deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookStep {
    pub text: String,
    /// The agency it falls to (its code): a task is created for it on activation.
    #[serde(default)]
    pub org: Option<String>,
    /// Minutes from activation to the task's deadline.
    #[serde(default)]
    pub due_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookAgency {
    pub org: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playbook {
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub incident_type: IncidentType,
    #[serde(default)]
    pub description: String,
    pub steps: Vec<PlaybookStep>,
    #[serde(default)]
    pub agencies: Vec<PlaybookAgency>,
    #[serde(default)]
    pub messages: Vec<MessageTemplate>,
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub updated_by: String,
    #[serde(default = "crate::time::now")]
    pub updated_at: Timestamp,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub open_only: bool,
    /// Only those where this organisation has a task.
    pub org_id: Option<String>,
    pub limit: i64,
}

/// What one change to an incident writes together.
#[derive(Debug, Clone)]
pub struct IncidentChange {
    pub incident: Incident,
    pub new: bool,
    /// Inserted or replaced by id (a replaced one only over `version - 1`).
    pub tasks: Vec<Task>,
    pub timeline: Vec<TimelineEntry>,
    /// (kind, subject id, org ids, data) of the live events to record.
    pub live: Vec<(String, String, Vec<String>, serde_json::Value)>,
    pub audit: Option<crate::audit::AuditEvent>,
}
