//! NATS JetStream bus: events are stored in a stream, so every replica's subscribers see every
//! change and a publish returns only once JetStream has stored it.

use async_nats::jetstream::{self, consumer::DeliverPolicy, message::PublishMessage};
use async_trait::async_trait;
use futures_util::StreamExt;
use haidang_core::events::{DomainEvent, EventBus, EventReceiver};
use haidang_core::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// nats://host:port
    pub url: String,
    /// JetStream stream that keeps the events, e.g. "HAIDANG".
    pub stream: String,
    /// Subjects are `<prefix>.<kind>`, e.g. "haidang.events.org.create".
    pub subject_prefix: String,
}

pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    options: NatsOptions,
}

/// The URL without a user name or password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***@{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn bus_err(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(format!("event bus (NATS): {what}: {e}"))
}

impl NatsBus {
    /// Connects and makes sure the stream exists (created on first use).
    pub async fn connect(options: NatsOptions) -> CoreResult<NatsBus> {
        let client = async_nats::ConnectOptions::new()
            .name("haidang")
            .connect(options.url.as_str())
            .await
            .map_err(|e| bus_err(&format!("cannot connect to {}", redact(&options.url)), e))?;
        let jetstream = jetstream::new(client.clone());
        jetstream
            .get_or_create_stream(jetstream::stream::Config {
                name: options.stream.clone(),
                subjects: vec![format!("{}.>", options.subject_prefix)],
                ..Default::default()
            })
            .await
            .map_err(|e| bus_err(&format!("stream {}", options.stream), e))?;
        Ok(NatsBus { client, jetstream, options })
    }

    /// Removes the stream and its events (tests clean up with it).
    pub async fn delete_stream(&self) -> CoreResult<()> {
        self.jetstream.delete_stream(&self.options.stream).await.map_err(|e| bus_err("delete stream", e))?;
        Ok(())
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish(&self, event: &DomainEvent) -> CoreResult<()> {
        let payload = serde_json::to_vec(event).map_err(|e| bus_err("encode", e))?;
        let subject = format!("{}.{}", self.options.subject_prefix, event.kind);
        // The event id as Nats-Msg-Id: a relay that publishes again after a crash is deduplicated.
        let ack = self
            .jetstream
            .send_publish(
                subject,
                PublishMessage::build().payload(payload.into()).message_id(event.id.clone()),
            )
            .await
            .map_err(|e| bus_err("publish", e))?;
        ack.await.map_err(|e| bus_err("publish acknowledgement", e))?;
        Ok(())
    }

    async fn subscribe(&self) -> CoreResult<EventReceiver> {
        let stream = self
            .jetstream
            .get_stream(&self.options.stream)
            .await
            .map_err(|e| bus_err(&format!("stream {}", self.options.stream), e))?;
        let consumer = stream
            .create_consumer(jetstream::consumer::push::OrderedConfig {
                deliver_subject: self.client.new_inbox(),
                deliver_policy: DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(|e| bus_err("consumer", e))?;
        let mut messages = consumer.messages().await.map_err(|e| bus_err("messages", e))?;
        let (tx, out) = tokio::sync::mpsc::channel(256);
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let message = match message {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "event bus (NATS): a message could not be read");
                        continue;
                    }
                };
                match serde_json::from_slice::<DomainEvent>(&message.payload) {
                    Ok(event) => {
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, subject = %message.subject, "event bus (NATS): not an event")
                    }
                }
            }
        });
        Ok(out)
    }

    fn kind(&self) -> &'static str {
        "nats"
    }
}
