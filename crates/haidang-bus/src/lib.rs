//! The event bus behind `haidang_core::events::EventBus`: in-process for one server, NATS
//! JetStream when replicas must share events. Chosen by `[bus] kind` in the configuration.

mod memory;
mod nats;

pub use memory::MemoryBus;
pub use nats::{NatsBus, NatsOptions};

#[cfg(test)]
mod tests;
