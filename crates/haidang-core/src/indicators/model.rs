//! The monitoring indicators ("bộ chỉ số giám sát") as the province approves them: each with a
//! group, a unit of measure, the organisation that owes its figures, how often, at which level,
//! how communes add up to the province, and which way is better. Definitions are versioned: a
//! change of formula, unit or method starts a new version from a given period, and a figure is
//! always read under the version of its period.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::period::{Frequency, Period};

/// The sectors leaders read the indicators by.
pub const GROUPS: &[&str] = &[
    "economy",
    "budget_finance",
    "investment",
    "agriculture",
    "industry",
    "trade_tourism",
    "health",
    "education",
    "transport",
    "environment",
    "public_order",
    "social_welfare",
    "public_administration",
    "digital_transformation",
    "culture",
    "labour",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// One figure for the province.
    Province,
    /// Each commune reports; the province figure is their rollup.
    Commune,
}

/// How communes add up to the province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rollup {
    Sum,
    Mean,
    /// Mean weighted by another indicator of the same unit and period (e.g. a rate by population).
    WeightedMean {
        by: String,
    },
    Min,
    Max,
    /// The province figure is reported on its own.
    None,
}

/// Whether a year's figure is the sum of its periods (revenue) or the level at the end (a rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accumulation {
    Cumulative,
    PointInTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// How a target is met, which decides how achievement is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Achievement = actual ÷ target (or target ÷ actual when lower is better).
    Level,
    /// A planned reduction from a baseline (poverty rate 20% → 17%): the share of the planned
    /// reduction achieved.
    Reduction,
    /// A growth rate against the same period of last year (GRDP grows 8%).
    Growth,
    /// Done or not (1 or 0).
    YesNo,
}

/// Where achievement turns a status: on track at `on_track` % of target or better, at risk from
/// `at_risk` %, off track below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    pub on_track: f64,
    pub at_risk: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands { on_track: 100.0, at_risk: 90.0 }
    }
}

/// A real-time indicator: an aggregate of an attribute of hub entities of a type in each unit
/// over the last `window_hours` (mean air-quality index of a commune's stations over 24 h).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Realtime {
    pub entity_type: String,
    pub attribute: String,
    pub window_hours: u32,
    pub aggregate: Aggregate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Mean,
    Sum,
    Min,
    Max,
    Count,
}

/// One version of an indicator's definition, in force from `valid_from` (a period) on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub code: String,
    pub version: u32,
    /// In force for periods starting on or after this period's first day.
    pub valid_from: Period,
    pub name_vi: String,
    pub name_en: String,
    pub group: String,
    /// Unit of measure as reports write it: "tỷ đồng", "%", "người".
    pub unit: String,
    /// The organisation (id) that owes the figures.
    pub owner_org: String,
    pub frequency: Frequency,
    pub level: Level,
    pub rollup: Rollup,
    pub accumulation: Accumulation,
    pub direction: Direction,
    pub target_kind: TargetKind,
    #[serde(default)]
    pub bands: Bands,
    /// Derived indicators: a formula over other indicators' codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime: Option<Realtime>,
    /// Values outside [min, max] are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A value moving more than this share from the previous period needs a comment.
    #[serde(default = "default_change_share")]
    pub change_share: f64,
    #[serde(default)]
    pub description: String,
    /// Why this version was made (a new formula, a new method).
    #[serde(default)]
    pub change_note: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

fn default_change_share() -> f64 {
    0.3
}

impl Definition {
    /// Figures are entered by people (not derived, not computed from the hub).
    pub fn is_entered(&self) -> bool {
        self.formula.is_none() && self.realtime.is_none()
    }

    pub fn name(&self, lang: &str) -> &str {
        if lang == "en" && !self.name_en.is_empty() {
            &self.name_en
        } else {
            &self.name_vi
        }
    }
}

/// An indicator with every version of its definition, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub code: String,
    pub versions: Vec<Definition>,
    pub retired: bool,
}

impl Indicator {
    /// The definition in force for `period`: the newest version that started on or before it.
    pub fn for_period(&self, period: &Period) -> Option<&Definition> {
        let day = period.first_day();
        self.versions.iter().rev().find(|d| d.valid_from.first_day() <= day).or(self.versions.first())
    }

    pub fn current(&self) -> Option<&Definition> {
        self.versions.last()
    }
}

/// The year's target for an indicator in one unit (the province or a commune).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub code: String,
    pub year: i16,
    pub unit_code: String,
    /// The target: a level, a growth rate in %, or 1 for yes.
    pub value: f64,
    /// For a reduction: the level it is reduced from (last year's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// The resolution that set it ("Nghị quyết số …").
    #[serde(default)]
    pub source: String,
    pub set_by: String,
    pub set_at: Timestamp,
}

/// The three kinds of figure Vietnamese reports carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Kế hoạch.
    Plan,
    /// Ước thực hiện: sent before the period closes.
    Estimate,
    /// Thực hiện.
    Actual,
}

impl ValueKind {
    pub const ALL: [ValueKind; 3] = [ValueKind::Plan, ValueKind::Estimate, ValueKind::Actual];

    pub fn parse(text: &str) -> Option<ValueKind> {
        Some(match text.trim().to_lowercase().as_str() {
            "plan" | "kế hoạch" | "ke hoach" | "kh" => ValueKind::Plan,
            "estimate" | "ước thực hiện" | "uoc thuc hien" | "ước" | "uth" => ValueKind::Estimate,
            "actual" | "thực hiện" | "thuc hien" | "th" => ValueKind::Actual,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ValueKind::Plan => "plan",
            ValueKind::Estimate => "estimate",
            ValueKind::Actual => "actual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueState {
    Draft,
    Submitted,
    Approved,
    Returned,
}

impl ValueState {
    pub fn parse(text: &str) -> Option<ValueState> {
        Some(match text {
            "draft" => ValueState::Draft,
            "submitted" => ValueState::Submitted,
            "approved" => ValueState::Approved,
            "returned" => ValueState::Returned,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ValueState::Draft => "draft",
            ValueState::Submitted => "submitted",
            ValueState::Approved => "approved",
            ValueState::Returned => "returned",
        }
    }
}

/// Identifies one figure: an indicator in a unit for a period, of a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueKey {
    pub code: String,
    pub unit_code: String,
    pub period: Period,
    pub kind: ValueKind,
}

/// A figure as it stands: the revision being worked on and the one last approved, which is
/// what every evaluation reads until a new revision is approved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    #[serde(flatten)]
    pub key: ValueKey,
    pub org_id: String,
    /// The definition version it was made under.
    pub version: u32,
    pub value: f64,
    pub state: ValueState,
    pub revision: u32,
    pub comment: String,
    pub approved_value: Option<f64>,
    pub approved_revision: Option<u32>,
    pub approved_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// Computed, not entered: a real-time figure from the hub.
    pub computed: bool,
}

/// One step in a figure's life: every revision and every decision is kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    #[serde(flatten)]
    pub key: ValueKey,
    pub revision: u32,
    pub value: f64,
    pub state: ValueState,
    pub comment: String,
    /// Why (a return's reason, a revision's reason).
    pub reason: String,
    pub at: Timestamp,
    pub by: String,
}

/// An ad hoc request ("yêu cầu đột xuất") from a leader to an organisation for a figure by a
/// deadline, with its thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataRequest {
    pub id: String,
    pub from_user: String,
    pub from_org: String,
    pub to_org: String,
    pub code: Option<String>,
    pub unit_code: Option<String>,
    pub period: Option<Period>,
    pub question: String,
    pub due_on: jiff::civil::Date,
    pub state: RequestState,
    pub answer_value: Option<f64>,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub messages: Vec<RequestMessage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Answered,
    Closed,
}

impl RequestState {
    pub fn parse(text: &str) -> Option<RequestState> {
        Some(match text {
            "open" => RequestState::Open,
            "answered" => RequestState::Answered,
            "closed" => RequestState::Closed,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Answered => "answered",
            RequestState::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestMessage {
    pub by: String,
    pub org_id: String,
    pub at: Timestamp,
    pub body: String,
}
