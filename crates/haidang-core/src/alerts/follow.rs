//! From the entity outbox to the rules: every change committed after the follower's cursor is
//! read (only the entities some rule watches have their bodies parsed), judged, and what the
//! rules answer is written as alerts. The clock raises silent stations; the maintenance windows
//! are read again every half minute. Nothing here runs on the hub's write path.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::service::AlertService;
use crate::error::CoreResult;
use crate::time::now;

/// The follower's position in the entity outbox (in event_cursors).
pub const CURSOR: &str = "alerts";
const PAGE: i64 = 2000;
const PAGES_PER_RUN: usize = 10;
const WINDOWS_EVERY: Duration = Duration::from_secs(30);
const TICK_EVERY: Duration = Duration::from_secs(5);
/// The cursor is saved at most this often: each save is a commit, and under a busy hub a save
/// per wake-up would take the writer's turn hundreds of times a second. After a crash up to
/// this much is judged again, which moves nothing (an open alert's key takes a raise as news).
const SAVE_EVERY: Duration = Duration::from_secs(1);

pub struct Follower {
    svc: Arc<AlertService>,
    cursor: Option<i64>,
    windows_read: Option<Instant>,
    ticked: Option<Instant>,
    /// The IRI of the Smart Data Models `Alert` type.
    alert_type: String,
    /// The cursor moved since it was last saved.
    unsaved: bool,
    saved: Option<Instant>,
}

impl Follower {
    pub fn new(svc: Arc<AlertService>) -> Follower {
        Follower {
            svc,
            cursor: None,
            windows_read: None,
            ticked: None,
            alert_type: crate::hub::service::type_iri("Alert"),
            unsaved: false,
            saved: None,
        }
    }

    /// Judges what was committed since the last run (a few pages at most) and, when due, reads
    /// the maintenance windows and runs the clock. Answers how many signals were applied.
    pub async fn run_once(&mut self) -> CoreResult<usize> {
        let stale = self.svc.windows_stale.swap(false, std::sync::atomic::Ordering::AcqRel);
        if stale || self.windows_read.is_none_or(|t| t.elapsed() >= WINDOWS_EVERY) {
            self.read_windows().await?;
            self.windows_read = Some(Instant::now());
        }
        let repo = self.svc.repo().clone();
        let mut cursor = match self.cursor {
            Some(c) => c,
            None => {
                self.svc.prime_all().await?;
                // A first start judges from now on: history is not replayed into alerts.
                let saved = repo.event_cursor(CURSOR).await?;
                if saved == 0 {
                    let head = repo.entity_change_head().await?;
                    repo.set_event_cursor(CURSOR, head).await?;
                    head
                } else {
                    saved
                }
            }
        };
        self.cursor = Some(cursor);
        let mut applied = 0;
        for _ in 0..PAGES_PER_RUN {
            let page = repo.entity_changes(cursor, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else { break };
            for r in page.iter().filter(|r| r.change.op == "delete") {
                self.svc.entity_gone(&r.change.entity_id).await?;
            }
            // Other systems' alerts, as SDM `Alert` entities, become alerts of their own.
            for r in page.iter().filter(|r| r.change.op != "delete") {
                if self
                    .svc
                    .hub()
                    .summary_of(&r.change.entity_id)
                    .map(|s| s.types)
                    .unwrap_or_else(|| super::service::types_in(&r.change.body))
                    .contains(&self.alert_type)
                {
                    self.svc.external(&r.change.entity_id).await?;
                }
            }
            let observations: Vec<_> = page
                .iter()
                .filter(|r| r.change.op != "delete")
                .filter_map(|r| {
                    self.svc.observation_of_change(&r.change.entity_id, &r.change.body, r.change.at)
                })
                .collect();
            applied += self.svc.judge(&observations).await?;
            cursor = last;
            self.cursor = Some(last);
            self.unsaved = true;
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        self.save_cursor(false).await?;
        if self.ticked.is_none_or(|t| t.elapsed() >= TICK_EVERY) {
            applied += self.svc.tick().await?;
            self.ticked = Some(Instant::now());
        }
        Ok(applied)
    }

    /// Saves a moved cursor when due (at once with `force`, as at shutdown).
    pub async fn save_cursor(&mut self, force: bool) -> CoreResult<()> {
        let due = force || self.saved.is_none_or(|t| t.elapsed() >= SAVE_EVERY);
        if let (true, true, Some(seq)) = (self.unsaved, due, self.cursor) {
            self.svc.repo().set_event_cursor(CURSOR, seq).await?;
            self.unsaved = false;
            self.saved = Some(Instant::now());
        }
        Ok(())
    }

    /// Whether changes are left after the last run (the caller runs again at once).
    pub async fn behind(&self) -> CoreResult<bool> {
        let head = self.svc.repo().entity_change_head().await?;
        Ok(self.cursor.is_some_and(|c| c < head))
    }

    async fn read_windows(&self) -> CoreResult<()> {
        let at = now();
        let mut silenced = HashSet::new();
        for w in self.svc.repo().list_windows(None).await? {
            if w.starts_at <= at && at < w.ends_at {
                if w.entity_ids.is_empty() {
                    silenced.insert(format!("dataset:{}", w.dataset_id));
                } else {
                    silenced.extend(w.entity_ids.iter().cloned());
                }
            }
        }
        *self.svc.silenced.write().unwrap_or_else(|p| p.into_inner()) = silenced;
        Ok(())
    }
}
