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
    /// Where the relay has got to (name → seq), and what of it the store does not know yet. The
    /// cursors are saved at most once per `SAVE_EVERY` and at `flush`: a crash in between
    /// publishes some events again, which event ids let consumers drop; saving after every
    /// page would cost a commit for each commit of the writers.
    cursors: tokio::sync::Mutex<CursorState>,
}

#[derive(Default)]
struct CursorState {
    at: std::collections::HashMap<&'static str, i64>,
    unsaved: bool,
    saved: Option<std::time::Instant>,
}

const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayOutcome {
    /// Audit records read past the cursor.
    pub read: usize,
    /// Of those, changes published.
    pub published: usize,
}

impl Relay {
    pub fn new(repo: Arc<dyn Repositories>, bus: Arc<dyn EventBus>) -> Self {
        Relay { repo, bus, cursors: tokio::sync::Mutex::default() }
    }

    async fn cursor(&self, name: &'static str) -> CoreResult<i64> {
        let mut state = self.cursors.lock().await;
        if let Some(seq) = state.at.get(name) {
            return Ok(*seq);
        }
        let seq = self.repo.event_cursor(name).await?;
        state.at.insert(name, seq);
        Ok(seq)
    }

    async fn advance(&self, name: &'static str, seq: i64) {
        let mut state = self.cursors.lock().await;
        state.at.insert(name, seq);
        state.unsaved = true;
    }

    /// Saves the cursors if they moved (at once with `force`, else when a save is due).
    pub async fn flush(&self, force: bool) -> CoreResult<()> {
        let mut state = self.cursors.lock().await;
        let due = state.saved.is_none_or(|t| t.elapsed() >= SAVE_EVERY);
        if !state.unsaved || !(force || due) {
            return Ok(());
        }
        for (name, seq) in &state.at {
            self.repo.set_event_cursor(name, *seq).await?;
        }
        state.unsaved = false;
        state.saved = Some(std::time::Instant::now());
        Ok(())
    }

    /// Publishes everything committed since the cursor, page by page, moving the cursor after
    /// each page the bus has taken. On a bus error the cursor stays where the last page ended.
    pub async fn catch_up(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = self.catch_up_audit().await?;
        let entities = self.catch_up_entities().await?;
        outcome.read += entities.read;
        outcome.published += entities.published;
        self.flush(false).await?;
        Ok(outcome)
    }

    async fn catch_up_entities(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = RelayOutcome::default();
        let mut cursor = self.cursor(ENTITY_CURSOR).await?;
        loop {
            let page = self.repo.entity_changes(cursor, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else { return Ok(outcome) };
            for record in &page {
                self.bus.publish(&DomainEvent::from_entity_change(record)).await?;
            }
            outcome.read += page.len();
            outcome.published += page.len();
            self.advance(ENTITY_CURSOR, last).await;
            cursor = last;
        }
    }

    async fn catch_up_audit(&self) -> CoreResult<RelayOutcome> {
        let mut outcome = RelayOutcome::default();
        let mut cursor = self.cursor(CURSOR).await?;
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
            self.advance(CURSOR, last).await;
            cursor = last;
        }
    }
}
