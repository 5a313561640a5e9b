//! Incidents and their response (issue 8, part 3): types and handling modes, playbooks, tasks
//! to agencies with deadlines and escalation, the timeline, the closing report.

pub mod handover;
pub mod measures;
pub mod model;
pub mod service;
pub mod situation;

pub use model::{HandlingMode, Incident, IncidentType, Playbook, Task, TaskState};
pub use service::{IncidentAction, IncidentDetail, IncidentService, NewIncident, TaskStep};
