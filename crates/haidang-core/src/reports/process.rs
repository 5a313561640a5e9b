//! The process a citizen report goes through: which step may follow which state. A step the
//! process does not allow is a conflict (HTTP 409), named with the state the report is in.

use serde::Serialize;

use super::model::ReportState;
use crate::error::CoreError;

/// Every step that moves a report (or records something on it without moving it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Receive,
    Verify,
    Reject,
    Merge,
    Assign,
    Accept,
    Return,
    Start,
    RequestInfo,
    ProvideInfo,
    Answer,
    Approve,
    SendBack,
    Reopen,
    Transfer,
    // Steps that leave the state where it is.
    RequestExtension,
    DecideExtension,
    Escalate,
    Rate,
    EraseIdentity,
    Redact,
    Note,
}

impl Step {
    pub const ALL: [Step; 22] = [
        Step::Receive,
        Step::Verify,
        Step::Reject,
        Step::Merge,
        Step::Assign,
        Step::Accept,
        Step::Return,
        Step::Start,
        Step::RequestInfo,
        Step::ProvideInfo,
        Step::Answer,
        Step::Approve,
        Step::SendBack,
        Step::Reopen,
        Step::Transfer,
        Step::RequestExtension,
        Step::DecideExtension,
        Step::Escalate,
        Step::Rate,
        Step::EraseIdentity,
        Step::Redact,
        Step::Note,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Receive => "receive",
            Step::Verify => "verify",
            Step::Reject => "reject",
            Step::Merge => "merge",
            Step::Assign => "assign",
            Step::Accept => "accept",
            Step::Return => "return",
            Step::Start => "start",
            Step::RequestInfo => "request_info",
            Step::ProvideInfo => "provide_info",
            Step::Answer => "answer",
            Step::Approve => "approve",
            Step::SendBack => "send_back",
            Step::Reopen => "reopen",
            Step::Transfer => "transfer",
            Step::RequestExtension => "request_extension",
            Step::DecideExtension => "decide_extension",
            Step::Escalate => "escalate",
            Step::Rate => "rate",
            Step::EraseIdentity => "erase_identity",
            Step::Redact => "redact",
            Step::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The state `step` leads to from `state`, or None when the process does not allow it.
pub fn next(state: ReportState, step: Step) -> Option<ReportState> {
    use ReportState::*;
    let to = match (state, step) {
        (Received, Step::Verify) => Verified,
        (Received | Verified, Step::Reject) => Rejected,
        (Received | Verified, Step::Merge) => Merged,
        (Verified | Returned, Step::Assign) => Assigned,
        (Assigned, Step::Accept) => Accepted,
        (Assigned | Accepted, Step::Return) => Returned,
        (Accepted, Step::Start) => InProgress,
        (Accepted | InProgress, Step::RequestInfo) => AwaitingInfo,
        (AwaitingInfo, Step::ProvideInfo) => InProgress,
        (Accepted | InProgress, Step::Answer) => Answered,
        (Answered, Step::Approve) => Closed,
        (Answered, Step::SendBack) => InProgress,
        (Closed, Step::Reopen) => Verified,
        (Assigned | Accepted | InProgress | AwaitingInfo, Step::Transfer) => Assigned,
        (Assigned | Accepted | InProgress | AwaitingInfo, Step::RequestExtension | Step::DecideExtension) => {
            state
        }
        (Assigned | Accepted | InProgress, Step::Escalate) => state,
        (Closed, Step::Rate) => state,
        (_, Step::EraseIdentity | Step::Note | Step::Redact) => state,
        _ => return None,
    };
    Some(to)
}

/// `next`, or the 409 naming the step and the state.
pub fn require(state: ReportState, step: Step) -> Result<ReportState, CoreError> {
    next(state, step).ok_or_else(|| {
        CoreError::Conflict(format!(
            "a report that is '{}' cannot take the step '{}'",
            state.as_str(),
            step.as_str()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The happy path from intake to closing, as the centre and an agency walk it.
    #[test]
    fn a_report_walks_from_receipt_to_closing() {
        let mut state = ReportState::Received;
        for (step, expect) in [
            (Step::Verify, ReportState::Verified),
            (Step::Assign, ReportState::Assigned),
            (Step::Accept, ReportState::Accepted),
            (Step::Start, ReportState::InProgress),
            (Step::RequestInfo, ReportState::AwaitingInfo),
            (Step::ProvideInfo, ReportState::InProgress),
            (Step::Answer, ReportState::Answered),
            (Step::SendBack, ReportState::InProgress),
            (Step::Answer, ReportState::Answered),
            (Step::Approve, ReportState::Closed),
            (Step::Reopen, ReportState::Verified),
        ] {
            state = next(state, step).unwrap_or(ReportState::Rejected);
            assert_eq!(state, expect, "after {step:?}");
        }
    }

    #[test]
    fn steps_out_of_order_are_conflicts_naming_the_state() {
        for (state, step) in [
            (ReportState::Received, Step::Answer),
            (ReportState::Received, Step::Assign),
            (ReportState::Closed, Step::Verify),
            (ReportState::Rejected, Step::Assign),
            (ReportState::Answered, Step::Accept),
            (ReportState::Merged, Step::Reopen),
            (ReportState::AwaitingInfo, Step::Answer),
            (ReportState::InProgress, Step::Rate),
        ] {
            match require(state, step) {
                Err(CoreError::Conflict(message)) => {
                    assert!(message.contains(state.as_str()) && message.contains(step.as_str()), "{message}")
                }
                other => {
                    assert!(matches!(other, Err(CoreError::Conflict(_))), "{state:?} {step:?}: {other:?}")
                }
            }
        }
    }

    #[test]
    fn a_returned_report_goes_back_to_the_centre_and_is_routed_again() {
        assert_eq!(next(ReportState::Assigned, Step::Return), Some(ReportState::Returned));
        assert_eq!(next(ReportState::Returned, Step::Assign), Some(ReportState::Assigned));
        assert_eq!(next(ReportState::Returned, Step::Accept), None);
    }

    #[test]
    fn every_step_has_a_stable_code() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        for state in ReportState::ALL {
            assert_eq!(ReportState::parse(state.as_str()), Some(state));
        }
    }
}
