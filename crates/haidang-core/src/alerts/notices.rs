//! Who is told of an alert, and how each telling went: an email to each organisation the rule
//! names (its address from the directory) and a post to the centre's gateway (SMS, apps),
//! written with the alert and sent by a job that records every attempt with its outcome.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Attempts before a notice is given up (the last waits about half an hour).
pub const MAX_ATTEMPTS: usize = 6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    /// "sent" or "error".
    pub outcome: String,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertNotice {
    pub id: String,
    pub alert_id: String,
    /// "email" or "webhook".
    pub channel: String,
    /// The organisation told (email), if any.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The address written to (email).
    #[serde(default)]
    pub address: Option<String>,
    pub subject: String,
    pub text: String,
    /// "pending", "sent", "failed".
    pub state: String,
    pub next_at: Timestamp,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl AlertNotice {
    /// Records an attempt: sent, or tried again later (30 s, 1, 2, 4, 8 minutes), then given up.
    pub fn record(&mut self, at: Timestamp, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.attempts.push(Attempt { at, outcome: "sent".into(), detail: String::new() });
                self.state = "sent".into();
            }
            Err(detail) => {
                self.attempts.push(Attempt { at, outcome: "error".into(), detail });
                if self.attempts.len() >= MAX_ATTEMPTS {
                    self.state = "failed".into();
                } else {
                    let wait = 30_i64 << (self.attempts.len() - 1).min(5);
                    self.next_at = at + SignedDuration::from_secs(wait);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_notice_is_tried_again_later_then_given_up() {
        let at = Timestamp::from_second(1_767_225_600).unwrap();
        let mut n = AlertNotice {
            id: "n".into(),
            alert_id: "a".into(),
            channel: "email".into(),
            org_id: None,
            address: Some("pctt@laichau.gov.vn".into()),
            subject: "s".into(),
            text: "t".into(),
            state: "pending".into(),
            next_at: at,
            attempts: vec![],
        };
        n.record(at, Err("451 busy".into()));
        assert_eq!((n.state.as_str(), n.next_at), ("pending", at + SignedDuration::from_secs(30)));
        n.record(at, Err("451 busy".into()));
        assert_eq!(n.next_at, at + SignedDuration::from_secs(60));
        n.record(at, Ok(()));
        assert_eq!((n.state.as_str(), n.attempts.len()), ("sent", 3));
        for _ in 0..MAX_ATTEMPTS {
            n.state = "pending".into();
            n.record(at, Err("down".into()));
        }
        assert_eq!(n.state, "failed");
    }
}
