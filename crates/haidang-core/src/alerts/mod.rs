//! Alerts and the rules that raise them (issue 8). The rule model with its checks; the watch
//! that follows one rule's condition for one entity (threshold or range with hysteresis and a
//! minimum duration, rate of change, missing data); the engine that holds the rules in force and
//! routes each observation to the ones that scope it; the follower that feeds it the hub's
//! committed changes; and the service that turns its signals into alerts, takes the operators'
//! steps through the process and tells the live stream.

pub mod engine;
pub mod follow;
pub mod model;
pub mod notices;
pub mod process;
pub mod rule;
pub mod service;
pub mod watch;

pub use engine::{Engine, Observation, Signal};
pub use follow::Follower;
pub use model::{Alert, AlertFilter, AlertState, AlertStep, LiveEvent, StoredRule};
pub use process::AlertAction;
pub use rule::{Condition, Rule, Scope, Severity};
pub use service::{AlertService, StepRequest};
pub use watch::{Outcome, Watch};
