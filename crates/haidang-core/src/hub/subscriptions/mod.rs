//! NGSI-LD subscriptions (GS CIM 009 §5.8, §5.2.12): other systems are told of the hub's changes
//! by HTTP POST or on an MQTT topic. A change goes from the entity outbox to a notification
//! outbox (the notifier), and from there to its endpoint (the delivery), so ingestion never
//! waits for an endpoint, and neither a failing endpoint nor a restart loses a notification.

pub mod delivery;
pub mod matcher;
pub mod model;
pub mod notifier;
pub mod service;
#[cfg(test)]
mod tests;

pub use delivery::{Delivery, DeliveryOptions, NotificationTransport, Outgoing};
pub use model::{DeliveryStatus, Endpoint, MqttTarget, SubscriptionSpec, Target};
pub use notifier::Notifier;
pub use service::SubscriptionService;
