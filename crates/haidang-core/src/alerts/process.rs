//! Which step an operator may take on an alert in which state. A step the process does not
//! allow is a conflict (HTTP 409) naming the state the alert is in, as for citizen reports.

use serde::{Deserialize, Serialize};

use super::model::AlertState;
use crate::error::CoreError;

/// The steps people take; the engine's own (raise, clear, auto-resolve) are not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    Acknowledge,
    Verify,
    /// A false alarm: the reason is required.
    Dismiss,
    /// To the competent agency, with a deadline (the timed process).
    Forward,
    /// Into an incident the centre coordinates (the immediate process).
    Incident,
    Resolve,
    /// A remark on the timeline; the state stays.
    Note,
}

impl AlertAction {
    pub const ALL: [AlertAction; 7] = [
        AlertAction::Acknowledge,
        AlertAction::Verify,
        AlertAction::Dismiss,
        AlertAction::Forward,
        AlertAction::Incident,
        AlertAction::Resolve,
        AlertAction::Note,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "acknowledge",
            AlertAction::Verify => "verify",
            AlertAction::Dismiss => "dismiss",
            AlertAction::Forward => "forward",
            AlertAction::Incident => "incident",
            AlertAction::Resolve => "resolve",
            AlertAction::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Option<AlertAction> {
        AlertAction::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The state the step leads to from `from`, or a conflict naming both.
    pub fn next(&self, from: AlertState) -> Result<AlertState, CoreError> {
        use AlertState::*;
        let to = match (self, from) {
            (AlertAction::Acknowledge, New) => Some(Acknowledged),
            // Verifying is looking: an alert nobody acknowledged is acknowledged by it.
            (AlertAction::Verify, New | Acknowledged) => Some(Verified),
            (AlertAction::Dismiss, New | Acknowledged | Verified) => Some(Dismissed),
            (AlertAction::Forward, Verified) => Some(Forwarded),
            (AlertAction::Incident, Verified | Forwarded) => Some(Incident),
            (AlertAction::Resolve, s) if s.is_open() => Some(Resolved),
            (AlertAction::Note, s) => Some(s),
            _ => None,
        };
        to.ok_or_else(|| {
            CoreError::Conflict(format!(
                "an alert that is {} cannot take the step '{}'",
                from.as_str(),
                self.as_str()
            ))
        })
    }

    /// The steps open to an alert in `state` (the console shows these buttons).
    pub fn allowed(state: AlertState) -> Vec<AlertAction> {
        AlertAction::ALL.into_iter().filter(|a| a.next(state).is_ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_runs_acknowledge_verify_then_forward_or_incident() {
        let mut s = AlertState::New;
        for (a, want) in [
            (AlertAction::Acknowledge, AlertState::Acknowledged),
            (AlertAction::Verify, AlertState::Verified),
            (AlertAction::Forward, AlertState::Forwarded),
            (AlertAction::Incident, AlertState::Incident),
            (AlertAction::Resolve, AlertState::Resolved),
        ] {
            s = a.next(s).unwrap();
            assert_eq!(s, want);
        }
    }

    #[test]
    fn a_step_out_of_order_is_a_conflict_naming_the_state() {
        let e = AlertAction::Forward.next(AlertState::New).unwrap_err();
        assert!(matches!(&e, CoreError::Conflict(m) if m.contains("new") && m.contains("forward")), "{e}");
        assert!(AlertAction::Dismiss.next(AlertState::Resolved).is_err());
        assert!(AlertAction::Acknowledge.next(AlertState::Verified).is_err());
        assert!(AlertAction::Resolve.next(AlertState::Dismissed).is_err());
        assert_eq!(
            AlertAction::allowed(AlertState::Dismissed),
            vec![AlertAction::Note],
            "a dismissed alert only takes remarks"
        );
    }
}
