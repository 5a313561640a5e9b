//! An alert as the centre handles it: raised by a rule (or sent by another system), deduplicated
//! by its key, and taken through acknowledge → verify or dismiss → forward, an incident, or
//! resolved; each step kept. And the live events the console's stream carries.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::rule::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, nobody has looked yet.
    New,
    Acknowledged,
    /// Confirmed real by the operator (a camera, a call to the commune).
    Verified,
    /// Sent to the competent agency to handle by a deadline (the timed process).
    Forwarded,
    /// Turned into an incident the centre coordinates (the immediate process).
    Incident,
    /// A false alarm, with the reason.
    Dismissed,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 7] = [
        AlertState::New,
        AlertState::Acknowledged,
        AlertState::Verified,
        AlertState::Forwarded,
        AlertState::Incident,
        AlertState::Dismissed,
        AlertState::Resolved,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::New => "new",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Verified => "verified",
            AlertState::Forwarded => "forwarded",
            AlertState::Incident => "incident",
            AlertState::Dismissed => "dismissed",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Open alerts take the signals of their key; closed ones are history.
    pub fn is_open(&self) -> bool {
        !matches!(self, AlertState::Dismissed | AlertState::Resolved)
    }
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
            Severity::Extreme => "extreme",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Minor, Severity::Moderate, Severity::Severe, Severity::Extreme]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    /// The number operators say on the radio: A-12.
    pub number: i64,
    pub dedup_key: String,
    pub rule_id: Option<String>,
    /// What the operator reads: the rule's name, or the external alert's description.
    pub title: String,
    pub kind: String,
    pub severity: Severity,
    pub state: AlertState,
    /// "rule" or "external" (an Alert entity from another system).
    pub source: String,
    pub entity_id: Option<String>,
    pub entity_type: Option<String>,
    /// The units the entity lies in, most specific first.
    #[serde(default)]
    pub units: Vec<String>,
    /// [longitude, latitude] of the entity, when it has a point.
    #[serde(default)]
    pub location: Option<[f64; 2]>,
    pub attribute: Option<String>,
    /// The latest value the condition read (the peak is in `peak`).
    pub value: Option<f64>,
    pub peak: Option<f64>,
    pub raised_at: Timestamp,
    pub updated_at: Timestamp,
    /// How many times the condition came back while the alert stayed open.
    pub occurrences: u32,
    /// False once the condition cleared (an alert without auto-resolve stays open for the
    /// operator to close).
    pub condition_active: bool,
    /// Organisations told when it was raised (the rule's list).
    #[serde(default)]
    pub notify: Vec<String>,
    pub forwarded_to: Option<String>,
    pub forward_due: Option<Timestamp>,
    pub incident_id: Option<String>,
    pub reason: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub verified_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub version: i64,
}

impl Alert {
    /// The organisations besides the centre that may see it: the agency it was forwarded to.
    pub fn org_ids(&self) -> Vec<String> {
        self.forwarded_to.iter().cloned().collect()
    }
}

/// One step in an alert's life, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStep {
    pub alert_id: String,
    pub pos: i64,
    pub at: Timestamp,
    /// "raise", "reraise", "clear", "auto_resolve", "acknowledge", "verify", "dismiss",
    /// "forward", "incident", "resolve", "note".
    pub action: String,
    /// Who: a username, or "system" for the engine.
    pub actor: String,
    pub from: AlertState,
    pub to: AlertState,
    #[serde(default)]
    pub note: String,
    pub value: Option<f64>,
}

/// An event the live stream sends: its sequence number is the SSE id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub seq: i64,
    pub at: Timestamp,
    /// "alert.raised", "alert.updated", "alert.step", ...
    pub kind: String,
    pub subject_id: String,
    /// Besides the centre, the organisations that may see it.
    pub org_ids: Vec<String>,
    /// Severe alerts ring the console's bell.
    #[serde(default)]
    pub severity: Option<Severity>,
    pub data: serde_json::Value,
}

/// Which alerts to list; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub states: Vec<AlertState>,
    pub rule_id: Option<String>,
    /// Only those forwarded to this organisation.
    pub forwarded_to: Option<String>,
    pub raised_from: Option<Timestamp>,
    pub raised_to: Option<Timestamp>,
    pub limit: i64,
    pub offset: i64,
}

/// What one change to an alert writes together.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub alert: Alert,
    /// Inserted (given a number by the store) rather than updated.
    pub new: bool,
    pub steps: Vec<AlertStep>,
    /// Kind of the live event to record with it, if any.
    pub live: Option<String>,
    /// Who is told of it (the notifier job sends them).
    pub notices: Vec<super::notices::AlertNotice>,
    pub audit: Option<crate::audit::AuditEvent>,
}

/// A rule as stored: the rule with who changed it last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRule {
    #[serde(flatten)]
    pub rule: super::rule::Rule,
    pub version: i64,
    pub updated_at: Timestamp,
    pub updated_by: String,
}
