//! What every handler shares: configuration, the services, the in-memory unit index and the
//! metrics registry.

use std::sync::{Arc, RwLock};

use haidang_core::accounts::AccountService;
use haidang_core::audit::AuditService;
use haidang_core::orgs::OrgService;
use haidang_core::units::{UnitIndex, UnitService};
use haidang_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;

pub struct AppState {
    pub config: Config,
    pub store: Arc<Store>,
    pub accounts: AccountService,
    pub orgs: OrgService,
    pub units: UnitService,
    pub audit: AuditService,
    /// The data hub (NGSI-LD entities, schemas, contexts).
    pub hub: Arc<haidang_core::hub::HubService>,
    /// NGSI-LD subscriptions: the registry the notifier matches changes against.
    pub subscriptions: Arc<haidang_core::hub::subscriptions::SubscriptionService>,
    /// How notifications reach their endpoints (HTTP, MQTT).
    pub notifications: Arc<dyn haidang_core::hub::subscriptions::NotificationTransport>,
    /// The MQTT connectors, started by `launch`.
    pub connectors: Vec<crate::connectors::Connector>,
    /// The connectors' state and dead letters, for the console.
    pub ingest: haidang_core::hub::ingestor::IngestService,
    /// Where committed changes are published (by the relay that `launch` runs).
    pub bus: Arc<dyn haidang_core::events::EventBus>,
    /// Point → unit lookups; replaced whole after an import.
    pub unit_index: RwLock<Arc<UnitIndex>>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn unit_index(&self) -> Arc<UnitIndex> {
        match self.unit_index.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_unit_index(&self, index: UnitIndex) {
        match self.unit_index.write() {
            Ok(mut guard) => *guard = Arc::new(index),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(index),
        }
    }
}
