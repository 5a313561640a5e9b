//! The `haidang` command: wiring of store, services and server, the demo province, and the
//! operator commands. `main.rs` only parses arguments and calls in here, so tests drive the same
//! code.

pub mod bench;
pub mod bench_alerts;
pub mod bench_indicators;
pub mod bench_ingest;
pub mod bench_mqtt;
pub mod bench_reports;
pub mod bench_temporal;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod demo_alerts;
pub mod demo_indicators;
pub mod demo_playbooks;
pub mod demo_reports;
pub mod demo_stations;
pub mod reference;
pub mod serve;
pub mod setup;
pub mod simulator;

pub use setup::{build_state, load_config, open_store, Opened};
