//! What an audit record holds: who, organisation, role, when, action, target, source IP, outcome.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

/// Who did it, as known when it happened (kept by value: a later rename must not rewrite history).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub org_id: Option<String>,
    pub role: Option<String>,
    pub source_ip: Option<String>,
}

impl Actor {
    /// The operator at the terminal running a `haidang` command.
    pub fn cli() -> Actor {
        Actor { username: Some("cli".into()), role: Some("system".into()), ..Actor::default() }
    }

    pub fn system() -> Actor {
        Actor { username: Some("system".into()), role: Some("system".into()), ..Actor::default() }
    }
}

/// A record to append; the store gives it its sequence number, time and seal.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    /// Short free text or JSON: the reason, the request reference, the count of a batch.
    pub detail: String,
}

impl AuditEvent {
    pub fn new(actor: &Actor, action: &str, target: Option<&str>, outcome: Outcome) -> Self {
        AuditEvent {
            actor: actor.clone(),
            action: action.to_string(),
            target: target.map(str::to_string),
            outcome,
            detail: String::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: Timestamp,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub org_id: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub source_ip: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    pub prev_mac: String,
    pub mac: String,
}

impl AuditRecord {
    pub fn from_event(event: &AuditEvent, seq: i64, at: Timestamp, prev_mac: String) -> AuditRecord {
        AuditRecord {
            seq,
            at,
            user_id: event.actor.user_id.clone(),
            username: event.actor.username.clone(),
            org_id: event.actor.org_id.clone(),
            role: event.actor.role.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            source_ip: event.actor.source_ip.clone(),
            outcome: event.outcome,
            detail: event.detail.clone(),
            prev_mac,
            mac: String::new(),
        }
    }
}

/// What an auditor filters by.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    pub username: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub target: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub before_seq: Option<i64>,
    pub limit: Option<i64>,
}

/// Every action code the services record, for filters and their labels. A test checks that each
/// code a service writes is listed here.
pub const ACTIONS: [&str; 93] = [
    "auth.login",
    "auth.logout",
    "auth.password_change",
    "auth.totp_enrol",
    "user.create",
    "user.lock",
    "user.unlock",
    "user.revoke",
    "user.password_reset",
    "token.issue",
    "token.revoke",
    "org.create",
    "delegation.create",
    "units.import",
    "units.successions",
    "entity.create",
    "entity.update",
    "entity.replace",
    "entity.delete",
    "entity.batch",
    "entity.history",
    "entity.ingest",
    "hub.history_pruned",
    "schema.put",
    "schema.delete",
    "context.add",
    "context.delete",
    "subscription.create",
    "subscription.update",
    "subscription.delete",
    "dataset.create",
    "dataset.update",
    "dataset.approve",
    "dataset.retire",
    "dataset.grant",
    "dataset.revoke",
    "dataset.maintenance",
    "dataset.form",
    "dataset.release",
    "indicator.define",
    "indicator.version",
    "indicator.retire",
    "indicator.restore",
    "indicator.targets",
    "indicator.off_track",
    "indicator.submit",
    "indicator.draft",
    "indicator.approve",
    "indicator.return",
    "indicator.load_history",
    "indicator.reminder",
    "data_request.create",
    "data_request.answer",
    "data_request.message",
    "data_request.close",
    "report.intake",
    "report.step",
    "report.contact.view",
    "report.settings",
    "report.erase",
    "report.escalate",
    "report.media.original",
    "report.media.redact",
    "alert_rule.create",
    "alert_rule.update",
    "alert_rule.delete",
    "alert.acknowledge",
    "alert.verify",
    "alert.dismiss",
    "alert.forward",
    "alert.incident",
    "alert.resolve",
    "alert.note",
    "playbook.create",
    "playbook.update",
    "incident.open",
    "incident.note",
    "incident.check",
    "incident.task",
    "incident.playbook",
    "incident.close",
    "task.accept",
    "task.progress",
    "task.done",
    "task.cancel",
    "warning.draft",
    "warning.edit",
    "warning.submit",
    "warning.approve",
    "warning.send_back",
    "warning.cancel",
    "handover.create",
    "handover.acknowledge",
];

#[cfg(test)]
mod tests {
    use super::ACTIONS;

    /// Every literal action a service passes to `AuditEvent::new` is in `ACTIONS`, so the
    /// auditor's filter offers it.
    #[test]
    fn every_recorded_action_is_listed() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        let mut found = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for call in text.split("AuditEvent::new(").skip(1) {
                    let Some(literal) = call.split('"').nth(1) else { continue };
                    if literal.contains('{') || !literal.contains('.') {
                        continue;
                    }
                    found += 1;
                    assert!(
                        ACTIONS.contains(&literal),
                        "{} records {literal}, not in ACTIONS",
                        path.display()
                    );
                }
            }
        }
        assert!(found >= 10, "found only {found} recorded actions");
        for kind in ["lock", "unlock", "revoke"] {
            assert!(ACTIONS.contains(&format!("user.{kind}").as_str()));
        }
    }
}
