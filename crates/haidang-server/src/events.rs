//! Runs the event relay beside the server: it publishes committed changes to the bus as soon as
//! they commit (woken by the store), every second as a fallback (changes made by `haidang`
//! commands in another process), and once more at shutdown.

use std::sync::Arc;
use std::time::Duration;

use haidang_core::events::Relay;
use haidang_core::repo::Repositories;

use crate::state::AppState;

/// How long to wait after the bus failed before trying again.
const RETRY: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_secs(1);

pub async fn run_relay(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let repo: Arc<dyn Repositories> = state.store.clone();
    let relay = Relay::new(repo, state.bus.clone());
    let bus = state.bus.kind();
    let mut commits = state.store.commits();
    loop {
        let wait = match relay.catch_up().await {
            Ok(done) => {
                if done.published > 0 {
                    tracing::debug!(bus, published = done.published, "events published");
                    metrics::counter!("haidang_events_published_total").increment(done.published as u64);
                }
                POLL
            }
            Err(e) => {
                tracing::warn!(bus, error = %e, "cannot publish events yet; will retry");
                RETRY
            }
        };
        if *stop.borrow() {
            // What was published is saved before the process ends, so nothing goes out twice.
            if let Err(e) = relay.flush(true).await {
                tracing::warn!(bus, error = %e, "cannot save the event cursors; some events will be published again");
            }
            return;
        }
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}
