//! Opening the store and building the application state from the configuration, the same way
//! for `serve` and for every operator command.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use haidang_core::accounts::service::AuthSettings;
use haidang_core::accounts::AccountService;
use haidang_core::audit::{AuditKey, AuditService};
use haidang_core::hub::contexts::HeldContext;
use haidang_core::hub::{HubOptions, HubService};
use haidang_core::orgs::OrgService;
use haidang_core::repo::Repositories;
use haidang_core::units::{CodeList, UnitDirectory, UnitIndex, UnitLocator, UnitService};
use haidang_server::config::Config;
use haidang_server::state::AppState;
use haidang_store::{Store, StoreOptions};
use jiff::SignedDuration;
use rand::RngCore;

use crate::reference;

/// Defaults → file → environment, with `--data-dir` on top.
pub fn load_config(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("HAIDANG__")).collect();
    let mut config = Config::load(file, &env)?;
    if let Some(dir) = data_dir {
        config.storage.data_dir = dir.display().to_string();
    }
    Ok(config)
}

/// Reads the audit key, creating it (readable by the owner only) on first start.
pub fn audit_key(path: &Path) -> anyhow::Result<AuditKey> {
    if !path.exists() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        write_private(path, hex::encode(bytes).as_bytes())?;
        tracing::info!(path = %path.display(), "created a new audit key");
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading audit key {}", path.display()))?;
    let bytes = hex::decode(text.trim()).map_err(|_| anyhow!("audit key {} is not hex", path.display()))?;
    AuditKey::new(bytes).ok_or_else(|| anyhow!("audit key {} is shorter than 32 bytes", path.display()))
}

fn write_private(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(body)?;
    f.sync_all()?;
    Ok(())
}

/// Connects and migrates.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<Store>> {
    std::fs::create_dir_all(config.data_dir())
        .with_context(|| format!("creating data folder {}", config.data_dir().display()))?;
    let key = audit_key(&config.audit_key_file())?;
    let store = Store::connect(
        &config.database_url(),
        StoreOptions {
            max_connections: config.storage.max_connections,
            audit_key: key,
            audit_head_file: Some(config.audit_head_file()),
        },
    )
    .await?;
    store.migrate().await?;
    Ok(Arc::new(store))
}

pub struct Opened {
    pub state: Arc<AppState>,
}

/// Everything `serve` needs; operator commands use the same services.
pub async fn build_state(config: Config) -> anyhow::Result<Arc<AppState>> {
    let store = open_store(&config).await?;
    let repo: Arc<dyn Repositories> = store.clone();
    let codes =
        CodeList::parse(reference::UNIT_CODES_JSON).map_err(|e| anyhow!("embedded code list: {e}"))?;
    let settings = AuthSettings {
        idle_timeout: SignedDuration::from_mins(config.auth.idle_timeout_minutes),
        session_lifetime: SignedDuration::from_hours(config.auth.session_lifetime_hours),
        max_failed_logins: config.auth.max_failed_logins,
        lockout: SignedDuration::from_mins(config.auth.lockout_minutes),
        totp_issuer: config.auth.totp_issuer.clone(),
    };
    let bus = open_bus(&config).await?;
    let units = UnitService::new(repo.clone(), Arc::new(codes));
    // Built before the hub, which files every entity under the commune it lies in.
    let unit_index = UnitIndex::build(&units.all_with_geometry().await.map_err(|e| anyhow!("units: {e}"))?)
        .map_err(|e| anyhow!("unit index: {e}"))?;
    let unit_directory = Arc::new(UnitDirectory::new(unit_index));
    let hub = open_hub(&config, repo.clone(), unit_directory.clone()).await?;
    let local = config.hub.notification_local_endpoints;
    let subscriptions =
        haidang_core::hub::subscriptions::SubscriptionService::start(repo.clone(), hub.clone(), local)
            .await
            .map_err(|e| anyhow!("subscriptions: {e}"))?;
    let mqtt_notifier: Arc<dyn haidang_core::hub::subscriptions::NotificationTransport> =
        Arc::new(haidang_connect::mqtt::MqttNotifier::new(local));
    let notifications = Arc::new(
        haidang_server::notify::EndpointTransport::new(
            std::time::Duration::from_secs(config.hub.notification_timeout_secs),
            Some(mqtt_notifier),
            local,
        )
        .map_err(|e| anyhow!("HTTP client: {e}"))?,
    );
    let connectors =
        haidang_server::connectors::from_config(&config, &hub, &repo).map_err(|e| anyhow!("{e}"))?;
    let statuses = connectors.iter().map(|c| c.ingestor.status.clone()).collect();
    let ic = &config.indicators;
    let indicators = haidang_core::indicators::IndicatorService::start(
        repo.clone(),
        hub.clone(),
        haidang_core::indicators::Settings {
            due_day: [ic.due_day_month, ic.due_day_quarter, ic.due_day_half_year, ic.due_day_year],
            close_after_days: ic.close_after_days,
            remind_days: ic.remind_days,
            province: config.map.province_code.clone(),
        },
    )
    .await
    .map_err(|e| anyhow!("indicators: {e}"))?;
    let reports = open_reports(&config, repo.clone(), unit_directory.clone()).await?;
    let alerts = haidang_core::alerts::AlertService::start(repo.clone(), hub.clone())
        .await
        .map_err(|e| anyhow!("alerts: {e}"))?;
    alerts.set_webhook(!config.alerts.webhook_url.is_empty());
    let incidents = Arc::new(haidang_core::incidents::IncidentService::new(
        repo.clone(),
        alerts.clone(),
        unit_directory.clone(),
    ));
    let warnings = Arc::new(haidang_core::warnings::WarningService::new(
        repo.clone(),
        unit_directory.clone(),
        haidang_core::warnings::WarningSettings {
            sender: config.warnings.sender.clone(),
            sender_name: config.warnings.sender_name.clone(),
            web_base: (!config.server.public_url.is_empty())
                .then(|| format!("{}/portal/warnings/", config.server.public_url.trim_end_matches('/'))),
        },
    ));
    let state = Arc::new(AppState {
        warnings,
        alerts,
        incidents,
        indicators: Arc::new(indicators),
        reports,
        public_limits: haidang_server::limits::PublicLimits::new(
            config.reports.lookups_per_minute,
            config.reports.intake_per_hour,
        ),
        accounts: AccountService::new(repo.clone(), settings),
        orgs: OrgService::new(repo.clone()),
        units,
        audit: AuditService::new(repo.clone()),
        datasets: haidang_core::datasets::DatasetService::new(repo.clone(), hub.clone()),
        hub,
        subscriptions,
        notifications,
        ingest: haidang_core::hub::ingestor::IngestService::new(repo.clone(), statuses),
        connectors,
        bus,
        unit_directory,
        metrics: haidang_server::metrics_handle(),
        store,
        config,
    });
    Ok(state)
}

/// Citizen reports: the contact keys (configured, or the data folder's own), the working hours
/// and the edited calendar years.
pub async fn open_reports(
    config: &Config,
    repo: Arc<dyn Repositories>,
    units: Arc<UnitDirectory>,
) -> anyhow::Result<Arc<haidang_core::reports::ReportService>> {
    use haidang_core::reports::privacy::ContactVault;
    let rc = &config.reports;
    let keys = if rc.contact_keys.is_empty() {
        let path = config.contact_key_file();
        if !path.exists() {
            let id = format!("k{}", jiff::Timestamp::now().strftime("%Y%m%d"));
            write_private(&path, ContactVault::generate_key(&id).as_bytes())?;
            tracing::info!(path = %path.display(), "created a new contact key");
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
    } else {
        rc.contact_keys.clone()
    };
    let vault = ContactVault::from_keys(&keys).map_err(|e| anyhow!("{e}"))?;
    let intervals = rc.working_intervals().map_err(|m| anyhow!("reports.working_hours: {m}"))?;
    let service = haidang_core::reports::ReportService::new(
        repo,
        vault,
        units,
        haidang_core::calendar::WorkingHours { intervals },
        haidang_core::reports::Settings {
            province: config.map.province_code.clone(),
            reopen_days: rc.reopen_days,
            retention_days: rc.retention_days,
            ..haidang_core::reports::Settings::default()
        },
    );
    service.load_calendar().await.map_err(|e| anyhow!("calendar: {e}"))?;
    Ok(Arc::new(service))
}

/// The data hub: schemas and contexts loaded, the index rebuilt, the writer started.
pub async fn open_hub(
    config: &Config,
    repo: Arc<dyn Repositories>,
    units: Arc<dyn UnitLocator>,
) -> anyhow::Result<Arc<HubService>> {
    let options = HubOptions {
        default_limit: config.hub.default_limit,
        max_limit: config.hub.max_limit,
        context_hosts: config.hub.context_hosts.clone(),
        delete_history: config.hub.delete_history,
        retention: config
            .hub
            .retention
            .iter()
            .map(|entry| {
                let (kind, keep) = haidang_server::config::retention_entry(entry)
                    .map_err(|m| anyhow!("hub.retention: {m}"))?;
                Ok((haidang_core::hub::service::type_iri(&kind), keep))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let fetcher = haidang_server::ngsi::HttpFetcher::new().map_err(|e| anyhow!("HTTP client: {e}"))?;
    let hub = HubService::start(repo, options, Arc::new(fetcher), units).await?;
    for entry in &config.hub.contexts {
        let (url, path) =
            entry.split_once('=').ok_or_else(|| anyhow!("hub.contexts: '{entry}' is not URL=path"))?;
        let text = std::fs::read_to_string(path).with_context(|| format!("hub.contexts: reading {path}"))?;
        let document: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("hub.contexts: {path} is not JSON"))?;
        hub.contexts.hold(HeldContext {
            id: format!("configured-{}", hub.contexts.list().len() + 1),
            url: url.to_string(),
            kind: "Configured",
            document: Arc::new(document),
            created_at: haidang_core::time::now(),
        });
    }
    Ok(Arc::new(hub))
}

/// The event bus the configuration names.
pub async fn open_bus(config: &Config) -> anyhow::Result<Arc<dyn haidang_core::events::EventBus>> {
    Ok(match config.bus.kind.as_str() {
        "nats" => Arc::new(
            haidang_bus::NatsBus::connect(haidang_bus::NatsOptions {
                url: config.bus.nats_url.clone(),
                stream: config.bus.stream.clone(),
                subject_prefix: config.bus.subject_prefix.clone(),
            })
            .await?,
        ),
        _ => Arc::new(haidang_bus::MemoryBus::new()),
    })
}

/// The default configuration with each item's documentation, for `print-default-config`.
pub fn default_config_text() -> String {
    let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
    format!(
        "# Hải Đăng configuration. Every key can also be set as HAIDANG__SECTION__KEY in the environment.\n\
         # See README.md (Configuration) for what each key does.\n\n{body}"
    )
}
