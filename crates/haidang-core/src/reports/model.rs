//! The records of citizen reports ("phản ánh, kiến nghị"): the report, each step of its process,
//! the agencies it is assigned to, extension requests, categories and the routing table.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How a report reached the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    /// A mobile app or another system, through the API or Open311.
    App,
    Email,
    Hotline,
    Social,
    /// Seen by the centre's own staff (cameras, patrols).
    Operator,
}

impl Channel {
    pub const ALL: [Channel; 6] =
        [Channel::Web, Channel::App, Channel::Email, Channel::Hotline, Channel::Social, Channel::Operator];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Email => "email",
            Channel::Hotline => "hotline",
            Channel::Social => "social",
            Channel::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Ordinary,
    /// Counted in working hours instead of working days.
    Urgent,
}

impl Urgency {
    pub fn as_str(&self) -> &'static str {
        match self {
            Urgency::Ordinary => "ordinary",
            Urgency::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Urgency> {
        match text {
            "ordinary" => Some(Urgency::Ordinary),
            "urgent" => Some(Urgency::Urgent),
            _ => None,
        }
    }
}

/// Where a report stands. `process::next` says which step leads where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    Received,
    Verified,
    /// Spam, duplicate, out of scope or not enough information; the reporter is told why.
    Rejected,
    /// Joined to an earlier report of the same problem; it follows that one.
    Merged,
    Assigned,
    Accepted,
    /// Sent back to the centre by the agency as not its responsibility.
    Returned,
    InProgress,
    /// The agency asked the reporter for more ("yêu cầu bổ sung"); the deadline clock stops.
    AwaitingInfo,
    Answered,
    Closed,
}

impl ReportState {
    pub const ALL: [ReportState; 11] = [
        ReportState::Received,
        ReportState::Verified,
        ReportState::Rejected,
        ReportState::Merged,
        ReportState::Assigned,
        ReportState::Accepted,
        ReportState::Returned,
        ReportState::InProgress,
        ReportState::AwaitingInfo,
        ReportState::Answered,
        ReportState::Closed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ReportState::Received => "received",
            ReportState::Verified => "verified",
            ReportState::Rejected => "rejected",
            ReportState::Merged => "merged",
            ReportState::Assigned => "assigned",
            ReportState::Accepted => "accepted",
            ReportState::Returned => "returned",
            ReportState::InProgress => "in_progress",
            ReportState::AwaitingInfo => "awaiting_info",
            ReportState::Answered => "answered",
            ReportState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<ReportState> {
        ReportState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Open311 knows only open and closed.
    pub fn is_open(&self) -> bool {
        !matches!(self, ReportState::Rejected | ReportState::Merged | ReportState::Closed)
    }

    /// An agency holds it and its deadline runs (or is paused, while awaiting information).
    pub fn with_agency(&self) -> bool {
        matches!(
            self,
            ReportState::Assigned
                | ReportState::Accepted
                | ReportState::InProgress
                | ReportState::AwaitingInfo
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Spam,
    Duplicate,
    OutOfScope,
    NotEnoughInformation,
}

impl RejectReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::Spam => "spam",
            RejectReason::Duplicate => "duplicate",
            RejectReason::OutOfScope => "out_of_scope",
            RejectReason::NotEnoughInformation => "not_enough_information",
        }
    }

    pub fn parse(text: &str) -> Option<RejectReason> {
        [
            RejectReason::Spam,
            RejectReason::Duplicate,
            RejectReason::OutOfScope,
            RejectReason::NotEnoughInformation,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// The reporter's personal data. Only ever stored sealed (`privacy::ContactVault`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Citizen ID number (CCCD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
}

impl Contact {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none() && self.email.is_none() && self.id_number.is_none()
    }
}

/// What the reporter agreed to at intake (Decree 13/2023): the purpose and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub purpose: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitizenReport {
    pub id: String,
    /// The public number (Open311 `service_request_id`), given by the store; shown to the
    /// public only once the report is published.
    pub number: i64,
    /// SHA-256 of the reporter's tracking code; the code itself is never kept.
    #[serde(skip)]
    pub tracking_hash: String,
    pub category: String,
    pub description: String,
    /// The text published, after the operator has taken out names (defaults to the description).
    pub public_description: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    /// The commune (or ward) found from the point, or picked by the reporter.
    pub unit_code: Option<String>,
    pub channel: Channel,
    pub urgency: Urgency,
    /// The reporter agreed that the report (never their identity) may be published.
    pub public: bool,
    /// The category's extra fields as answered (Open311 attributes): (code, value).
    #[serde(default)]
    pub attributes: Vec<(String, String)>,
    /// Photos or videos kept elsewhere, as the reporter's app sent them.
    #[serde(default)]
    pub media_urls: Vec<String>,
    pub state: ReportState,
    /// The sealed contact ("key id:base64"); None for anonymous reports and once erased.
    #[serde(skip)]
    pub contact_sealed: Option<String>,
    /// The contact masked for display ("Ng*** V** A", "09******89").
    pub contact_masked: Option<Contact>,
    pub consent: Option<Consent>,
    /// The lead agency (organisation id) while one holds it, and the last one after.
    pub agency_id: Option<String>,
    pub deadline_at: Option<Timestamp>,
    /// Set while the clock is stopped for more information.
    pub paused_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
    pub reject_reason: Option<RejectReason>,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    pub merged_into: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    pub personal_erased_at: Option<Timestamp>,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped by every change; a write with a stale version is refused (two operators at once).
    pub version: i64,
}

impl CitizenReport {
    pub fn is_overdue(&self, at: Timestamp) -> bool {
        self.state.with_agency() && self.paused_at.is_none() && self.deadline_at.is_some_and(|d| d < at)
    }
}

/// One step of the process: who, when, what and a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportStep {
    pub report_id: String,
    pub at: Timestamp,
    /// A stable code ("verify", "assign", ...), also the translation key.
    pub action: String,
    pub from_state: ReportState,
    pub to_state: ReportState,
    pub actor_user: Option<String>,
    /// "operator", an organisation's name, "reporter" or "system".
    pub actor_name: String,
    pub actor_org: Option<String>,
    pub note: String,
    /// Shown to the reporter and, once published, to the public.
    pub public: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentRole {
    /// "chủ trì": answers for the whole report.
    Lead,
    /// "phối hợp": answers for its part.
    Support,
}

impl AssignmentRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssignmentRole::Lead => "lead",
            AssignmentRole::Support => "support",
        }
    }

    pub fn parse(text: &str) -> Option<AssignmentRole> {
        match text {
            "lead" => Some(AssignmentRole::Lead),
            "support" => Some(AssignmentRole::Support),
            _ => None,
        }
    }
}

/// An agency's part in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub report_id: String,
    pub org_id: String,
    pub role: AssignmentRole,
    pub part: String,
    pub deadline_at: Timestamp,
    pub assigned_at: Timestamp,
    /// None while open; the supporting agency's answer to its part.
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
    /// Set when the assignment ended (returned, transferred, or the report closed).
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionState {
    Pending,
    Approved,
    Refused,
}

impl ExtensionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ExtensionState::Pending => "pending",
            ExtensionState::Approved => "approved",
            ExtensionState::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<ExtensionState> {
        match text {
            "pending" => Some(ExtensionState::Pending),
            "approved" => Some(ExtensionState::Approved),
            "refused" => Some(ExtensionState::Refused),
            _ => None,
        }
    }
}

/// An agency's request for more time, which a supervisor decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub id: String,
    pub report_id: String,
    pub org_id: String,
    pub reason: String,
    pub requested_deadline: Timestamp,
    pub state: ExtensionState,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub decision_note: Option<String>,
}

/// An extra field a category asks for (an Open311 service definition attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryAttribute {
    pub code: String,
    /// string, number, datetime, text, singlevaluelist, multivaluelist
    pub datatype: String,
    pub required: bool,
    pub description_vi: String,
    #[serde(default)]
    pub description_en: String,
    /// (key, name) for the list types.
    #[serde(default)]
    pub values: Vec<(String, String)>,
}

/// A kind of problem citizens report (an Open311 service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCategory {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// The group it is listed under ("Môi trường", "Giao thông"...).
    pub group_vi: String,
    #[serde(default)]
    pub group_en: String,
    #[serde(default)]
    pub description_vi: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Handling time for ordinary reports, in working days.
    pub time_limit_days: u32,
    /// Handling time for urgent ones, in working hours.
    pub urgent_hours: u32,
    /// Open reports of this category nearer than this are suggested as duplicates.
    #[serde(default = "default_radius")]
    pub duplicate_radius_m: u32,
    /// The agency (organisation code) when no routing row matches.
    #[serde(default)]
    pub default_org: Option<String>,
    #[serde(default)]
    pub attributes: Vec<CategoryAttribute>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_radius() -> u32 {
    100
}

fn yes() -> bool {
    true
}

/// One row of the routing table: a category in a commune (or anywhere) goes to an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub category: String,
    /// None: any commune without a row of its own.
    #[serde(default)]
    pub unit_code: Option<String>,
    /// The agency's organisation code.
    pub org_code: String,
}

/// A photo or video of a report: the reporter's (stage "intake") or the agency's result
/// ("answer"). The bytes are kept twice by the store: the original, for the roles allowed, and
/// the public copy without metadata (and pixelated where the operator marked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMedia {
    pub id: String,
    /// None until the report it was uploaded for is sent.
    pub report_id: Option<String>,
    pub stage: String,
    pub media_type: super::media::MediaType,
    pub size: i64,
    pub redacted: bool,
    pub uploaded_by: Option<String>,
    pub created_at: Timestamp,
}
