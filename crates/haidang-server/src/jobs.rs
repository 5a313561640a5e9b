//! Background work on a timer: the history's retention.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// How often retention runs: old history may outlive its term by up to this much.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Removes history past each type's retention, at start and then every hour, until aborted.
pub async fn run_retention(state: Arc<AppState>) {
    if state.hub.options().retention.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tick.tick().await;
        match state.hub.prune_history().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "history past its retention removed"),
            Err(e) => tracing::warn!(error = %e, "history retention failed; it runs again within the hour"),
        }
    }
}
