//! The MQTT connector: subscribes to its topics at QoS 1 in a persistent session, hands each
//! batch of messages to the hub's ingestor, and acknowledges them only once the ingestor has
//! committed them (readings and dead letters alike). A crash before that leaves the messages
//! unacknowledged, and the broker sends them again when the connector is back.
//!
//! MQTT 5, because its client says how many messages the broker may send before the first
//! acknowledgement (receive maximum): with MQTT 3.1.1 the broker's own limit (20 in Mosquitto)
//! would cap ingestion at 20 messages a commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::collections::VecDeque;

use haidang_core::hub::ingestor::{Ingestor, Message, Taken};
use haidang_core::CoreResult;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{next_backoff, Broker};

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub name: String,
    pub broker: Broker,
    /// Stable across restarts: the broker keeps the session (and the unacknowledged messages)
    /// under it.
    pub client_id: String,
    pub filters: Vec<String>,
    /// Messages the broker may send before they are acknowledged.
    pub receive_maximum: u16,
    /// Messages handed to the hub at once, at most.
    pub max_batch: usize,
}

/// How long the broker keeps the session while the connector is away (a week: longer than
/// any maintenance window).
const SESSION_EXPIRY_SECS: u32 = 7 * 24 * 3600;
/// After the hub failed a batch, the wait before trying the same batch again.
const RETRY: Duration = Duration::from_secs(2);
/// Batches handed to the hub and not yet committed, at most.
const BATCHES_IN_FLIGHT: usize = 3;

/// A batch handed to the hub: the messages to acknowledge, what was handed, the hub's answer.
type InFlight = (Vec<(u64, Publish)>, Arc<Vec<Message>>, JoinHandle<CoreResult<Taken>>);

/// Hands a batch to the hub again (after `wait`) on a task of its own.
fn take(
    ingestor: Arc<Ingestor>,
    messages: Arc<Vec<Message>>,
    wait: Duration,
) -> JoinHandle<CoreResult<Taken>> {
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        ingestor.take(&messages).await
    })
}

fn mqtt_options(o: &IngestOptions) -> MqttOptions {
    let mut m = MqttOptions::new(o.client_id.clone(), o.broker.host.clone(), o.broker.port);
    m.set_clean_start(false);
    m.set_session_expiry_interval(Some(SESSION_EXPIRY_SECS));
    m.set_manual_acks(true);
    m.set_receive_maximum(Some(o.receive_maximum.max(1)));
    m.set_keep_alive(Duration::from_secs(30));
    m.set_transport(o.broker.transport());
    m.set_max_packet_size(Some(1024 * 1024));
    if let Some(user) = &o.broker.username {
        m.set_credentials(user.clone(), o.broker.password.clone().unwrap_or_default());
    }
    m
}

/// Runs the connector until `stop` turns true, reconnecting with back-off.
pub async fn run_ingest(options: IngestOptions, ingestor: Arc<Ingestor>, mut stop: watch::Receiver<bool>) {
    let status = ingestor.status.clone();
    let capacity = usize::from(options.receive_maximum).max(64) * 2;
    let (client, mut eventloop) = AsyncClient::new(mqtt_options(&options), capacity);
    // Each message carries the connection it came on: after a reconnect the broker sends again
    // what was not acknowledged, under packet ids it may since give to other messages, so an
    // acknowledgement for an earlier connection is not sent (its message comes again).
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Publish)>();
    let connection = Arc::new(AtomicU64::new(0));
    let wire_connection = connection.clone();
    let subscriber = client.clone();
    let filters = options.filters.clone();
    let wire_status = status.clone();
    let name = options.name.clone();
    // The event loop runs on its own so acknowledgements go out while a batch is written.
    let wire = tokio::spawn(async move {
        let mut backoff = Duration::ZERO;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send((wire_connection.load(Ordering::Acquire), p)).is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    wire_connection.fetch_add(1, Ordering::AcqRel);
                    wire_status.connected.store(true, Ordering::Relaxed);
                    backoff = Duration::ZERO;
                    tracing::info!(
                        connector = name,
                        session_present = ack.session_present,
                        "connected to the MQTT broker"
                    );
                    // Every time, not only for a new session: the configured topics may have
                    // changed since the session began (subscribing again is harmless).
                    let topics = filters.iter().map(|f| Filter::new(f.clone(), QoS::AtLeastOnce));
                    if let Err(e) = subscriber.try_subscribe_many(topics) {
                        wire_status.failed(format!("cannot subscribe: {e}"));
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let refused = ack
                        .return_codes
                        .iter()
                        .zip(&filters)
                        .filter(|(c, _)| {
                            !matches!(c, rumqttc::v5::mqttbytes::v5::SubscribeReasonCode::Success(_))
                        })
                        .map(|(c, f)| format!("{f}: {c:?}"))
                        .collect::<Vec<_>>();
                    if !refused.is_empty() {
                        wire_status
                            .failed(format!("the broker refused the subscription to {}", refused.join(", ")));
                        tracing::error!(
                            connector = name,
                            refused = refused.join(", "),
                            "subscription refused"
                        );
                    }
                }
                // Sent after every acknowledgement queued before it: the run is over.
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    wire_status.connected.store(false, Ordering::Relaxed);
                    wire_status.failed(format!("MQTT connection: {e}"));
                    backoff = next_backoff(backoff);
                    tracing::warn!(connector = name, error = %e, retry_in = ?backoff, "MQTT connection lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    });
    // Batches in flight, oldest first: the hub works out the next while the one before
    // commits, so a connector keeps a few going. Each is acknowledged, in order, once written.
    let mut pending: VecDeque<InFlight> = VecDeque::new();
    let mut stopping = false;
    // Once a batch is left unacknowledged at stop, those after it are too: acknowledgements go
    // in the order the messages came.
    let mut held = false;
    loop {
        if stopping && pending.is_empty() {
            break;
        }
        tokio::select! {
            first = rx.recv(), if !stopping && pending.len() < BATCHES_IN_FLIGHT => {
                let Some(first) = first else { stopping = true; continue };
                let mut batch = vec![first];
                while batch.len() < options.max_batch {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let messages: Arc<Vec<Message>> = Arc::new(
                    batch
                        .iter()
                        .map(|(_, p)| Message {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.to_vec(),
                        })
                        .collect(),
                );
                status.received.fetch_add(messages.len() as u64, Ordering::Relaxed);
                *status.last_message_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(haidang_core::time::now());
                // Queued with the writer here, in order; only the wait for the commit is
                // left to a task.
                let task = match ingestor.begin(&messages).await {
                    Ok(begun) => {
                        let (ingestor, messages) = (ingestor.clone(), messages.clone());
                        tokio::spawn(async move { begun.finish(&ingestor, &messages).await })
                    }
                    Err(e) => tokio::spawn(async move { Err(e) }),
                };
                pending.push_back((batch, messages, task));
            }
            done = async { match pending.front_mut() { Some((_, _, task)) => task.await, None => std::future::pending().await } } => {
                let Some((batch, messages, _)) = pending.pop_front() else { continue };
                match done {
                    Ok(Ok(_)) if held => {}
                    Ok(Ok(_)) => {
                        let current = connection.load(Ordering::Acquire);
                        for (_, p) in batch.iter().filter(|(c, _)| *c == current) {
                            if let Err(e) = client.ack(p).await {
                                tracing::warn!(connector = options.name, error = %e, "cannot acknowledge; the broker will send it again");
                            }
                        }
                    }
                    outcome => {
                        let why = match outcome {
                            Ok(Err(e)) => e.to_string(),
                            Err(e) => e.to_string(),
                            Ok(Ok(_)) => String::new(),
                        };
                        status.failed(why.clone());
                        tracing::warn!(connector = options.name, error = why, "the hub did not take a batch; trying it again");
                        if stopping {
                            // Unacknowledged: the broker sends them again to the next run.
                            held = true;
                            continue;
                        }
                        let task = take(ingestor.clone(), messages.clone(), RETRY);
                        pending.push_front((batch, messages, task));
                    }
                }
            }
            _ = stop.changed(), if !stopping => stopping = true,
        }
    }
    // The acknowledgements queued above go out before the connection closes.
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while !wire.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    wire.abort();
    status.connected.store(false, Ordering::Relaxed);
}
