//! A public warning: drafted by an operator for communes or a drawn area, approved by a
//! supervisor before it goes out, updated, cancelled, and expired by its time. Each version that
//! went out is kept as the CAP message it was, so a gateway that fetched it reads it unchanged.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::cap::{CapSeverity, Category, Certainty, MsgType, Status, Urgency};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningState {
    /// Being written; nothing is out.
    Draft,
    /// Waiting for a supervisor's approval (a first version, or an update of one that is out).
    Pending,
    /// Out, as `published` says.
    Published,
    Cancelled,
}

impl WarningState {
    pub fn as_str(&self) -> &'static str {
        match self {
            WarningState::Draft => "draft",
            WarningState::Pending => "pending",
            WarningState::Published => "published",
            WarningState::Cancelled => "cancelled",
        }
    }
}

/// What the warning says, in Vietnamese first and English second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningContent {
    pub event_vi: String,
    #[serde(default)]
    pub event_en: String,
    pub headline_vi: String,
    #[serde(default)]
    pub headline_en: String,
    pub description_vi: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub instruction_vi: String,
    #[serde(default)]
    pub instruction_en: String,
    pub categories: Vec<Category>,
    pub urgency: Urgency,
    pub severity: CapSeverity,
    pub certainty: Certainty,
    /// The communes warned (their codes); their names make the area's description.
    #[serde(default)]
    pub communes: Vec<String>,
    /// A drawn area, [longitude, latitude] points as GeoJSON has them.
    #[serde(default)]
    pub polygon: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    pub onset: Option<Timestamp>,
    pub expires: Timestamp,
    #[serde(default = "actual")]
    pub status: Status,
}

fn actual() -> Status {
    Status::Actual
}

/// A CAP message that went out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub identifier: String,
    pub sent: Timestamp,
    pub msg_type: MsgType,
    pub approved_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicWarning {
    pub id: String,
    /// CB-3.
    pub number: i64,
    pub state: WarningState,
    /// What is being written (or waits for approval).
    pub draft: WarningContent,
    /// What is out now.
    #[serde(default)]
    pub published: Option<WarningContent>,
    #[serde(default)]
    pub sent: Vec<Sent>,
    #[serde(default)]
    pub incident_id: Option<String>,
    pub drafted_by: String,
    /// Why a supervisor sent it back, or why it was cancelled.
    #[serde(default)]
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl PublicWarning {
    /// Out and not expired at `at`: on the portal and in the feed (an update waiting for its
    /// approval leaves the version that is out where it is).
    pub fn is_current(&self, at: Timestamp) -> bool {
        // An exercise or a test is never shown to the public as if it were real.
        self.state != WarningState::Cancelled
            && self
                .published
                .as_ref()
                .is_some_and(|p| p.expires > at && p.status == super::cap::Status::Actual)
    }
}

/// What one change to a warning writes together.
#[derive(Debug, Clone)]
pub struct WarningChange {
    pub warning: PublicWarning,
    pub new: bool,
    /// A CAP message that goes out with this change: its identifier and XML.
    pub message: Option<(Sent, String)>,
    pub audit: crate::audit::AuditEvent,
}
