//! Connectors of Hải Đăng: how the hub hears from field devices and agency systems that do not
//! speak its API (MQTT brokers), and how it tells MQTT receivers of changes. The domain side
//! (mapping, dead letters, the write) is in `haidang_core::hub::ingestor`; here is the wire.

pub mod email;
pub mod imap;
pub mod mqtt;
