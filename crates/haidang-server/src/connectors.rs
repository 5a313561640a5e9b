//! The MQTT connectors the configuration names, built once at start and run beside the server
//! until it stops.

use std::sync::Arc;

use haidang_connect::mqtt::{Broker, IngestOptions};
use haidang_core::hub::ingestor::{ConnectorStatus, Ingestor};
use haidang_core::hub::HubService;
use haidang_core::repo::Repositories;

use crate::config::Config;

/// Messages handed to the hub at once, at most: enough to amortise a commit, few enough that
/// one batch is written in a few milliseconds.
const MAX_BATCH: usize = 20_000;

pub struct Connector {
    pub options: IngestOptions,
    pub ingestor: Arc<Ingestor>,
}

/// One connector per `[[mqtt.connectors]]`; the configuration was checked at load.
pub fn from_config(
    config: &Config,
    hub: &Arc<HubService>,
    repo: &Arc<dyn Repositories>,
) -> Result<Vec<Connector>, String> {
    let mut out = Vec::new();
    for c in &config.mqtt.connectors {
        let broker = Broker::parse(&c.url).map_err(|m| format!("mqtt connector {}: {m}", c.name))?;
        let mappings = c
            .topics
            .iter()
            .map(|t| t.mapping())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| format!("mqtt connector {}: {m}", c.name))?;
        let filters: Vec<String> = mappings.iter().map(|m| m.filter.clone()).collect();
        let status = Arc::new(ConnectorStatus::new(&c.name, &broker.shown(), filters.clone()));
        let ingestor =
            Arc::new(Ingestor::new(hub.clone(), repo.clone(), mappings, c.account.clone(), status));
        let options = IngestOptions {
            name: c.name.clone(),
            broker,
            client_id: c.client_id(),
            filters,
            receive_maximum: c.receive_maximum,
            max_batch: MAX_BATCH,
        };
        out.push(Connector { options, ingestor });
    }
    Ok(out)
}

/// Starts every connector; each stops when `stop` turns true.
pub fn spawn(
    connectors: &[Connector],
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    connectors
        .iter()
        .map(|c| {
            tokio::spawn(haidang_connect::mqtt::run_ingest(
                c.options.clone(),
                c.ingestor.clone(),
                stop.clone(),
            ))
        })
        .collect()
}
