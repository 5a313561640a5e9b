//! Publishes committed changes from the audit trail (the outbox) to the bus, after a cursor kept
//! in the store, so a restart or a bus outage loses nothing.

use std::sync::Arc;

use super::{DomainEvent, EventBus};
use crate::error::CoreResult;
use crate::repo::Repositories;

/// Name of the cursor this relay keeps in the audit trail.
const CURSOR: &str = "bus";
/// And in the entity outbox (entity changes are too many for the audit trail's one-per-request).
const ENTITY_CURSOR: &str = "entities";
const PAGE: i64 = 500;

pub struct Relay {
    repo: Arc<dyn Repositories>,
    bus: Arc<dyn EventBus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayOutcome {
    /// Audit records read past the cursor.
    pub read: usize,
    /// Of those, changes published.
    pub published: usize,
}

impl Relay {
    pub fn new(repo: Arc<dyn Repositories>, bus: Arc<dyn EventBus>) -> Self {
        Relay { repo, bus }
    }

    /// Publishes everything committed since the cursor, page by page, moving the cursor after
    /// each page the bus has taken. On a bus error the cursor stays where the last page ended.
    pub async fn catch_up(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = self.catch_up_audit().await?;
        let entities = self.catch_up_entities().await?;
        outcome.read += entities.read;
        outcome.published += entities.published;
        Ok(outcome)
    }

    async fn catch_up_entities(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = RelayOutcome::default();
        let mut cursor = self.repo.event_cursor(ENTITY_CURSOR).await?;
        loop {
            let page = self.repo.entity_changes(cursor, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else { return Ok(outcome) };
            for record in &page {
                self.bus.publish(&DomainEvent::from_entity_change(record)).await?;
            }
            outcome.read += page.len();
            outcome.published += page.len();
            self.repo.set_event_cursor(ENTITY_CURSOR, last).await?;
            cursor = last;
        }
    }

    async fn catch_up_audit(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = RelayOutcome::default();
        let mut cursor = self.repo.event_cursor(CURSOR).await?;
        loop {
            let page = self.repo.audit_page(cursor, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else { return Ok(outcome) };
            for record in &page {
                if let Some(event) = DomainEvent::from_audit(record) {
                    self.bus.publish(&event).await?;
                    outcome.published += 1;
                }
            }
            outcome.read += page.len();
            self.repo.set_event_cursor(CURSOR, last).await?;
            cursor = last;
        }
    }
}
