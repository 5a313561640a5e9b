//! Publishes committed changes from the audit trail (the outbox) to the bus, after a cursor kept
//! in the store, so a restart or a bus outage loses nothing.

use std::sync::Arc;

use super::{DomainEvent, EventBus};
use crate::error::CoreResult;
use crate::repo::Repositories;

/// Name of the cursor this relay keeps.
const CURSOR: &str = "bus";
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
