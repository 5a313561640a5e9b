//! In-process bus: a broadcast channel. Events live only in memory; the relay's cursor in the
//! store is what makes delivery survive a restart.

use async_trait::async_trait;
use haidang_core::events::{DomainEvent, EventBus, EventReceiver};
use haidang_core::CoreResult;
use tokio::sync::broadcast;

/// Events a slow subscriber may fall behind by before it misses some (and is told in the log).
const CAPACITY: usize = 4096;

pub struct MemoryBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        MemoryBus { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, event: &DomainEvent) -> CoreResult<()> {
        // No subscriber is not an error: the event is in the audit trail either way.
        let _ = self.sender.send(event.clone());
        Ok(())
    }

    async fn subscribe(&self) -> CoreResult<EventReceiver> {
        let mut rx = self.sender.subscribe();
        let (tx, out) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "an event subscriber fell behind and missed events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(out)
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}
