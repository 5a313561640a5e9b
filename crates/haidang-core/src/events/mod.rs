//! Domain events: every accepted change, published on the event bus for the consumers that must
//! not sit on the write path (subscriptions, rules, the live console, other replicas).
//!
//! The audit trail doubles as the outbox. A change and its audit record commit in one
//! transaction, and a relay publishes the records after a cursor kept in the store. A change is
//! therefore never published unless committed, and never lost when the bus is down: the relay
//! catches up (at least once; event ids let consumers and JetStream drop repeats).

mod relay;

pub use relay::{Relay, RelayOutcome};

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditRecord, Outcome};
use crate::error::CoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Stable across retries: "audit-<seq>".
    pub id: String,
    /// Order of the changes (the audit sequence number).
    pub seq: i64,
    pub at: Timestamp,
    /// What happened, e.g. "org.create", "user.lock".
    pub kind: String,
    /// What it happened to (a code, a username), when there is one.
    pub target: Option<String>,
    pub actor: Option<String>,
    pub org_id: Option<String>,
    pub detail: String,
}

impl DomainEvent {
    /// The change an audit record describes, or None when the record is not a change (a sign-in,
    /// a refused or failed attempt).
    pub fn from_audit(record: &AuditRecord) -> Option<DomainEvent> {
        // Entity writes are published from the entity outbox, one event per entity changed.
        if record.outcome != Outcome::Success
            || NOT_CHANGES.contains(&record.action.as_str())
            || record.action.starts_with("entity.")
        {
            return None;
        }
        Some(DomainEvent {
            id: format!("audit-{}", record.seq),
            seq: record.seq,
            at: record.at,
            kind: record.action.clone(),
            target: record.target.clone(),
            actor: record.username.clone(),
            org_id: record.org_id.clone(),
            detail: record.detail.clone(),
        })
    }
}

impl DomainEvent {
    /// An entity change from the hub's outbox: kind "entity.create|update|replace|delete", the
    /// entity id as target, the attributes written (normalized, expanded names) as detail.
    pub fn from_entity_change(record: &crate::repo::EntityChangeRecord) -> DomainEvent {
        DomainEvent {
            id: format!("entity-{}", record.seq),
            seq: record.seq,
            at: record.change.at,
            kind: format!("entity.{}", record.change.op),
            target: Some(record.change.entity_id.clone()),
            actor: record.change.actor.clone(),
            org_id: None,
            detail: record.change.body.clone(),
        }
    }
}

/// Audited actions that change nothing other consumers care about.
const NOT_CHANGES: [&str; 2] = ["auth.login", "auth.logout"];

pub type EventReceiver = tokio::sync::mpsc::Receiver<DomainEvent>;

/// One interface, two transports: in-process (one server) and NATS JetStream (replicas).
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Returns once the bus has taken the event (JetStream: stored and acknowledged).
    async fn publish(&self, event: &DomainEvent) -> CoreResult<()>;
    /// Events published from now on, in order.
    async fn subscribe(&self) -> CoreResult<EventReceiver>;
    /// "memory" or "nats", for logs and health.
    fn kind(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, outcome: Outcome) -> AuditRecord {
        AuditRecord {
            seq: 7,
            at: Timestamp::UNIX_EPOCH,
            user_id: None,
            username: Some("admin".into()),
            org_id: None,
            role: None,
            action: action.into(),
            target: Some("so-y-te".into()),
            source_ip: None,
            outcome,
            detail: String::new(),
            prev_mac: String::new(),
            mac: String::new(),
        }
    }

    #[test]
    fn only_successful_changes_become_events() {
        let e = DomainEvent::from_audit(&record("org.create", Outcome::Success)).unwrap();
        assert_eq!(
            (e.id.as_str(), e.kind.as_str(), e.target.as_deref()),
            ("audit-7", "org.create", Some("so-y-te"))
        );
        assert!(DomainEvent::from_audit(&record("org.create", Outcome::Denied)).is_none());
        assert!(DomainEvent::from_audit(&record("auth.login", Outcome::Success)).is_none());
    }
}
