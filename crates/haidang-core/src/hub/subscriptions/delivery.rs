//! From the notification outbox to the endpoints. Each subscription is a lane: one
//! notification of it in flight at a time, in order, so a slow or dead endpoint holds up only
//! its own subscription, never another one and never a write. A failure waits for its retry
//! (back-off doubling up to a ceiling) with everything after it in its lane; a notification
//! that could not be delivered for `give_up_after` is dropped and counted as failed.
//!
//! Outcomes are written a batch at a time; a crash before that sends the same notification
//! again (at least once), under the same notification id so a receiver can drop the repeat.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

use super::matcher::Compiled;
use super::model::Endpoint;
use super::service::SubscriptionService;
use crate::hub::writer::read;
use crate::repo::{DeliveryOutcome, DeliveryRecord, PendingNotification};
use crate::time::now;

/// A notification ready to go: the endpoint, the body and how it is typed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub subscription_id: String,
    /// "urn:ngsi-ld:Notification:<n>", the same on every attempt.
    pub notification_id: String,
    pub endpoint: Endpoint,
    /// The JSON of the Notification.
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// The Link header naming the context (application/json only).
    pub link: Option<String>,
}

/// Sends one notification to its endpoint; an error says why (shown as lastFailureReason).
#[async_trait]
pub trait NotificationTransport: Send + Sync {
    async fn send(&self, out: &Outgoing) -> Result<(), String>;
}

#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Notifications in flight at once (one per subscription).
    pub concurrency: usize,
    /// An attempt taking longer counts as failed.
    pub timeout: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: SignedDuration,
    /// A notification not delivered by then is dropped.
    pub give_up_after: SignedDuration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            concurrency: 32,
            timeout: Duration::from_secs(10),
            max_backoff: SignedDuration::from_mins(10),
            give_up_after: SignedDuration::from_hours(24),
        }
    }
}

/// How long to wait after the `attempts`-th failure: 1 s, 2 s, 4 s, ... up to `max`.
pub fn backoff(attempts: i64, max: SignedDuration) -> SignedDuration {
    let exp = attempts.clamp(1, 30) - 1;
    let secs = 1i64.checked_shl(exp as u32).unwrap_or(i64::MAX);
    SignedDuration::from_secs(secs).min(max)
}

const CONTEXT_REL: &str = "http://www.w3.org/ns/json-ld#context";
/// Outcomes are written at most this often (or sooner when many have gathered).
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const FLUSH_AT: usize = 256;
/// With little room free, the outbox is still read this often.
const FETCH_AT_LEAST: Duration = Duration::from_millis(20);
/// The outbox is looked at this often even when nothing wakes the delivery (changes written by
/// another process, a retry falling due).
const POLL: Duration = Duration::from_secs(1);

/// The Notification a row becomes: its stable id, the subscription, when, and the entities.
pub fn outgoing(sub: &Compiled, row: &PendingNotification, at: Timestamp) -> Outgoing {
    let data: Value = serde_json::from_str(&row.data).unwrap_or(Value::Array(Vec::new()));
    let notification_id = format!("urn:ngsi-ld:Notification:{}", row.seq);
    let mut m = Map::new();
    m.insert("id".into(), Value::String(notification_id.clone()));
    m.insert("type".into(), Value::String("Notification".into()));
    m.insert("subscriptionId".into(), Value::String(sub.id().to_string()));
    m.insert("notifiedAt".into(), Value::String(at.to_string()));
    m.insert("data".into(), data);
    let ld = sub.spec.endpoint.accept_ld;
    if ld {
        m.insert("@context".into(), sub.context_value.clone());
    }
    let link = match (&sub.context_value, ld) {
        (Value::String(url), false) => {
            Some(format!("<{url}>; rel=\"{CONTEXT_REL}\"; type=\"application/ld+json\""))
        }
        _ => None,
    };
    Outgoing {
        subscription_id: sub.id().to_string(),
        notification_id,
        endpoint: sub.spec.endpoint.clone(),
        body: Value::Object(m).to_string().into_bytes(),
        content_type: if ld { "application/ld+json" } else { "application/json" },
        link,
    }
}

pub struct Delivery {
    svc: Arc<SubscriptionService>,
    transport: Arc<dyn NotificationTransport>,
    options: DeliveryOptions,
}

impl Delivery {
    pub fn new(
        svc: Arc<SubscriptionService>,
        transport: Arc<dyn NotificationTransport>,
        options: DeliveryOptions,
    ) -> Delivery {
        Delivery { svc, transport, options }
    }

    /// Delivers until `stop` turns true; then waits a moment for the attempts in flight and
    /// records what they came to.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let (done_tx, mut done_rx) = mpsc::channel::<DeliveryRecord>(1024);
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut outcomes: Vec<DeliveryRecord> = Vec::new();
        let mut flushed = std::time::Instant::now();
        let mut fetched = std::time::Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            // The outbox is read when a quarter of the room is free (or a while has passed),
            // not after every single answer.
            let room = self.options.concurrency.saturating_sub(in_flight.len());
            if room > 0 && (room * 4 >= self.options.concurrency || fetched.elapsed() >= FETCH_AT_LEAST) {
                self.start_due(&mut in_flight, &mut outcomes, &done_tx).await;
                fetched = std::time::Instant::now();
            }
            let wait = if outcomes.is_empty() { POLL } else { FLUSH_EVERY };
            tokio::select! {
                Some(record) = done_rx.recv() => {
                    in_flight.remove(&record.subscription_id);
                    outcomes.push(record);
                }
                _ = self.svc.queued.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
            while let Ok(record) = done_rx.try_recv() {
                in_flight.remove(&record.subscription_id);
                outcomes.push(record);
            }
            if !outcomes.is_empty() && (outcomes.len() >= FLUSH_AT || flushed.elapsed() >= FLUSH_EVERY) {
                self.flush(&mut outcomes).await;
                flushed = std::time::Instant::now();
            }
        }
        // Attempts in flight get a moment to finish; what does not is sent again after restart.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, done_rx.recv()).await {
                Ok(Some(record)) => {
                    in_flight.remove(&record.subscription_id);
                    outcomes.push(record);
                }
                _ => break,
            }
        }
        self.flush(&mut outcomes).await;
    }

    async fn flush(&self, outcomes: &mut Vec<DeliveryRecord>) {
        if outcomes.is_empty() {
            return;
        }
        match self.svc.repo.record_deliveries(outcomes).await {
            Ok(()) => {
                for o in outcomes.iter() {
                    let result = match o.outcome {
                        DeliveryOutcome::Delivered => "delivered",
                        DeliveryOutcome::Failed { .. } => "failed",
                        DeliveryOutcome::Orphaned => "orphaned",
                    };
                    metrics::counter!("haidang_notifications_total", "result" => result).increment(1);
                }
                outcomes.clear();
            }
            // Kept for the next flush; the rows stay in the outbox meanwhile.
            Err(e) => tracing::warn!(error = %e, "cannot record notification deliveries yet; will retry"),
        }
    }

    /// Starts the oldest due notification of each subscription not already in flight.
    async fn start_due(
        &self,
        in_flight: &mut HashSet<String>,
        outcomes: &mut Vec<DeliveryRecord>,
        done: &mpsc::Sender<DeliveryRecord>,
    ) {
        // A row delivered but not yet recorded must not go again, though the rest of its lane
        // may; a lane whose last attempt failed waits until that failure is recorded (with its
        // retry time).
        let recorded_soon: HashSet<i64> = outcomes
            .iter()
            .filter(|o| !matches!(o.outcome, DeliveryOutcome::Failed { retry_at: Some(_), .. }))
            .map(|o| o.seq)
            .collect();
        let mut skip: Vec<String> = in_flight.iter().cloned().collect();
        skip.extend(
            outcomes
                .iter()
                .filter(|o| matches!(o.outcome, DeliveryOutcome::Failed { retry_at: Some(_), .. }))
                .map(|o| o.subscription_id.clone()),
        );
        skip.sort_unstable();
        skip.dedup();
        let room = self.options.concurrency.saturating_sub(in_flight.len());
        let limit = (room * 4 + recorded_soon.len()) as i64;
        let rows = match self.svc.repo.due_notifications(now(), &skip, limit).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the notification outbox; will retry");
                return;
            }
        };
        let mut started: HashSet<String> = HashSet::new();
        for row in rows {
            if in_flight.len() >= self.options.concurrency {
                break;
            }
            let busy = in_flight.contains(&row.subscription_id) || started.contains(&row.subscription_id);
            if busy || recorded_soon.contains(&row.seq) {
                continue;
            }
            started.insert(row.subscription_id.clone());
            let sub = read(&self.svc.registry).get(&row.subscription_id);
            let Some(sub) = sub else {
                outcomes.push(DeliveryRecord {
                    seq: row.seq,
                    revision: row.revision,
                    subscription_id: row.subscription_id.clone(),
                    at: now(),
                    outcome: DeliveryOutcome::Orphaned,
                });
                continue;
            };
            in_flight.insert(row.subscription_id.clone());
            let transport = self.transport.clone();
            let options = self.options.clone();
            let done = done.clone();
            // The attempt on a task of its own, watched: should it panic, its lane is freed as
            // failed, not held for ever.
            tokio::spawn(async move {
                let (seq, revision, lane) = (row.seq, row.revision, row.subscription_id.clone());
                let attempt =
                    tokio::spawn(async move { attempt(transport.as_ref(), &sub, &row, &options).await });
                let record = attempt.await.unwrap_or_else(|e| DeliveryRecord {
                    seq,
                    revision,
                    subscription_id: lane,
                    at: now(),
                    outcome: DeliveryOutcome::Failed {
                        reason: format!("the attempt failed inside the server: {e}"),
                        retry_at: Some(now() + SignedDuration::from_secs(60)),
                    },
                });
                let _ = done.send(record).await;
            });
        }
    }
}

/// One attempt, with its outcome: delivered, or failed with when to try again.
async fn attempt(
    transport: &dyn NotificationTransport,
    sub: &Compiled,
    row: &PendingNotification,
    options: &DeliveryOptions,
) -> DeliveryRecord {
    let at = now();
    let out = outgoing(sub, row, at);
    let result = match tokio::time::timeout(options.timeout, transport.send(&out)).await {
        Ok(r) => r,
        Err(_) => Err(format!("the endpoint did not answer in time ({} s)", options.timeout.as_secs())),
    };
    let outcome = match result {
        Ok(()) => DeliveryOutcome::Delivered,
        Err(reason) => {
            let finished = now();
            let retry_at = finished + backoff(row.attempts + 1, options.max_backoff);
            let give_up = row.created_at + options.give_up_after;
            tracing::debug!(subscription = sub.id(), reason, "a notification failed; it will be retried");
            DeliveryOutcome::Failed { reason, retry_at: (retry_at < give_up).then_some(retry_at) }
        }
    };
    DeliveryRecord {
        seq: row.seq,
        revision: row.revision,
        subscription_id: row.subscription_id.clone(),
        at,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let max = SignedDuration::from_mins(10);
        let secs: Vec<i64> = (1..=12).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(backoff(1000, max).as_secs(), 600);
    }
}
