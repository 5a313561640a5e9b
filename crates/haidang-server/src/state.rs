//! What every handler shares: configuration, the services, the in-memory unit index and the
//! metrics registry.

use std::sync::Arc;

use haidang_core::accounts::AccountService;
use haidang_core::audit::AuditService;
use haidang_core::orgs::OrgService;
use haidang_core::units::{UnitDirectory, UnitIndex, UnitService};
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
    /// Datasets: approval, grants, quality, forms.
    pub datasets: haidang_core::datasets::DatasetService,
    /// Monitoring indicators: catalog, targets, figures, evaluation.
    pub indicators: Arc<haidang_core::indicators::IndicatorService>,
    /// Citizen reports: intake, process, privacy, routing, the calendar.
    pub reports: Arc<haidang_core::reports::ReportService>,
    /// Monitoring rules, alerts and the live stream.
    pub alerts: Arc<haidang_core::alerts::AlertService>,
    /// Incidents, playbooks and the agencies' tasks.
    pub incidents: Arc<haidang_core::incidents::IncidentService>,
    /// Public warnings and their CAP messages.
    pub warnings: Arc<haidang_core::warnings::WarningService>,
    /// Per-address limits on the public side of citizen reports.
    pub public_limits: crate::limits::PublicLimits,
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
    /// Point → unit lookups; replaced whole after an import (shared with the hub).
    pub unit_directory: Arc<UnitDirectory>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn unit_index(&self) -> Arc<UnitIndex> {
        self.unit_directory.current()
    }

    pub fn set_unit_index(&self, index: UnitIndex) {
        self.unit_directory.replace(index);
    }
}

impl AppState {
    /// Everything late at `at`: the hub's datasets and the organisations' indicator figures,
    /// longest late first. The quality page and `/api/v1/quality/overdue` show the same list.
    pub async fn overdue(
        &self,
        by: &haidang_core::accounts::Subject,
        at: jiff::Timestamp,
    ) -> haidang_core::error::CoreResult<Vec<haidang_core::datasets::assess::Overdue>> {
        let mut list = self.datasets.overdue(by, at).await?;
        list.extend(self.indicators.overdue(by, at).await?);
        list.sort_by_key(|o| o.since);
        Ok(list)
    }
}
