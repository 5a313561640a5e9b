//! Alerts and the rules that raise them (issue 8, part 1). So far: the rule model with its
//! checks, and the watch that follows one rule's condition for one entity (threshold or range
//! with hysteresis and a minimum duration, rate of change, missing data), and the engine that
//! holds the rules in force and routes each observation to the ones that scope it. Feeding it
//! the hub's events, storing alerts and their steps, and the API come next.

pub mod engine;
pub mod rule;
pub mod watch;

pub use engine::{Engine, Observation, Signal};
pub use rule::{Condition, Rule, Scope, Severity};
pub use watch::{Outcome, Watch};
