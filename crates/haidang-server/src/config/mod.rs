//! Configuration: defaults, then a TOML file, then `HAIDANG__SECTION__KEY` environment variables.
//! Every item is documented where it is declared (this is what `print-default-config` shows).
//! Unknown keys and bad values stop the start with an error naming the key. Secrets (database
//! passwords) are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod mqtt;

pub use mqtt::{ConnectorConfig, MqttConfig, TopicConfig};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub map: MapConfig,
    pub bus: BusConfig,
    pub hub: HubConfig,
    pub mqtt: MqttConfig,
    pub log: LogConfig,
    pub demo: DemoConfig,
    pub indicators: IndicatorsConfig,
    pub reports: ReportsConfig,
    pub warnings: WarningsConfig,
    pub alerts: AlertsConfig,
}

/// Alerts: the gateway (SMS, apps) each new alert is posted to. Emails to the organisations a
/// rule names go through `reports.smtp_url`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// http(s) URL; empty: none.
    pub webhook_url: String,
}

/// Public warnings: who they come from in CAP, and the gateway (SMS, apps) told of each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WarningsConfig {
    /// CAP `sender`: the centre's address, without spaces or commas.
    pub sender: String,
    /// CAP `senderName`, as the people warned read it.
    pub sender_name: String,
}

impl Default for WarningsConfig {
    fn default() -> Self {
        WarningsConfig {
            sender: "ioc.laichau.gov.vn".into(),
            sender_name: "Trung tâm Giám sát, điều hành thông minh tỉnh Lai Châu".into(),
        }
    }
}

/// Citizen reports: the reporter's privacy, deadlines and what the public may do.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Keys that seal reporters' contacts, written "id:base64 of 32 bytes", newest first: the
    /// first seals, all open, and rows under an older key are re-sealed at start (rotation).
    /// Empty: a key kept in `contact.key` in the data folder, made on first start. Secret:
    /// better given as HAIDANG__REPORTS__CONTACT_KEYS than in a file.
    pub contact_keys: Vec<String>,
    /// Days after closing in which a reporter may reopen a report.
    pub reopen_days: i64,
    /// Days after closing after which the reporter's identity is erased (Decree 13/2023).
    pub retention_days: i64,
    /// Working hours, "HH:MM-HH:MM" each, for deadlines in working time.
    pub working_hours: Vec<String>,
    /// Seconds between two rounds of escalation (reports past their deadline) and erasure.
    pub upkeep_every_secs: u64,
    /// The Open311 jurisdiction_id this server answers for.
    pub jurisdiction_id: String,
    /// Tracking-code look-ups one address may make per minute.
    pub lookups_per_minute: u32,
    /// Reports one address may send per hour without an account (web, Open311 apps).
    pub intake_per_hour: u32,
    /// The SMS/Zalo/email gateway's webhook: notices to reporters are POSTed there as JSON
    /// (event, number, name, phone, email, text, sms_text without diacritics). Empty: notices
    /// are recorded as skipped.
    pub notify_webhook: String,
    /// A folder where the mail system drops citizens' emails as .eml files; each becomes a
    /// report and moves to done/ (or failed/, with the reason beside it). Empty: off.
    pub email_drop_dir: String,
    /// The centre's mailbox citizens write to, read every 30 seconds:
    /// `imaps://user:password@host:993/INBOX` (TLS), or `imap://...:143/INBOX` on a trusted
    /// network; user and password percent-encoded. Each message becomes a report and moves to
    /// the folder HaiDang-Done (or HaiDang-Failed). Empty: off.
    pub imap_url: String,
    /// The category emailed reports are filed under until the operator classifies them.
    pub email_category: String,
    /// The mail server notices to reporters who left an email address are sent through:
    /// `smtps://user:password@host:465` (TLS), `smtp://user:password@host:587?tls=required`
    /// (STARTTLS), or plain `smtp://host:25` on a trusted network. Empty: no email notices
    /// (the webhook gateway may still send them).
    pub smtp_url: String,
    /// The sender of those emails, e.g. "Trung tâm IOC Lai Châu <phananh@laichau.gov.vn>".
    pub smtp_from: String,
}

impl std::fmt::Debug for ReportsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportsConfig")
            .field("contact_keys", &format!("[{} hidden]", self.contact_keys.len()))
            .field("reopen_days", &self.reopen_days)
            .field("retention_days", &self.retention_days)
            .field("working_hours", &self.working_hours)
            .field("jurisdiction_id", &self.jurisdiction_id)
            .finish_non_exhaustive()
    }
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            contact_keys: vec![],
            reopen_days: 7,
            retention_days: 730,
            working_hours: vec!["07:30-11:30".into(), "13:30-17:00".into()],
            upkeep_every_secs: 300,
            jurisdiction_id: "laichau.gov.vn".into(),
            lookups_per_minute: 10,
            intake_per_hour: 20,
            notify_webhook: String::new(),
            email_drop_dir: String::new(),
            email_category: "khac".into(),
            imap_url: String::new(),
            smtp_url: String::new(),
            smtp_from: "Trung tâm giám sát, điều hành thông minh <no-reply@localhost>".into(),
        }
    }
}

impl ReportsConfig {
    /// The working hours as minutes of the day, or the message naming the bad entry.
    pub fn working_intervals(&self) -> Result<Vec<(u16, u16)>, String> {
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let mut out: Vec<(u16, u16)> = Vec::new();
        for entry in &self.working_hours {
            let parsed = entry.split_once('-').and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)));
            match parsed {
                Some((a, b)) if a < b && out.last().is_none_or(|(_, end)| *end <= a) => out.push((a, b)),
                _ => return Err(format!("'{entry}' is not HH:MM-HH:MM after the previous interval")),
            }
        }
        if out.is_empty() {
            return Err("at least one interval is needed".into());
        }
        Ok(out)
    }
}

/// When monitoring indicators' figures are due and when a period closes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorsConfig {
    /// Day of the month figures are due (estimate: in the period's last month; actual: in the
    /// month after), for monthly, quarterly, half-yearly and yearly indicators.
    pub due_day_month: i8,
    pub due_day_quarter: i8,
    pub due_day_half_year: i8,
    pub due_day_year: i8,
    /// Days after an actual's due date after which the period takes no more figures.
    pub close_after_days: i64,
    /// Days before a due date the owing organisation is reminded (on the event bus).
    pub remind_days: i64,
    /// Seconds between two computations of the real-time indicators from the hub.
    pub realtime_every_secs: u64,
    /// Seconds between two rounds of reminders (each reminder still goes out once).
    pub remind_every_secs: u64,
}

impl Default for IndicatorsConfig {
    fn default() -> Self {
        IndicatorsConfig {
            due_day_month: 20,
            due_day_quarter: 20,
            due_day_half_year: 20,
            due_day_year: 20,
            close_after_days: 90,
            remind_days: 3,
            realtime_every_secs: 600,
            remind_every_secs: 3600,
        }
    }
}

/// The demo province's live stations (only with `serve --demo`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Stations send readings (daily cycles, storms, a river rising past its alert level).
    pub simulator: bool,
    /// Seconds between two rounds of readings.
    pub interval_secs: u64,
    /// A broker to send them through (the real MQTT path, with a connector the demo adds);
    /// empty: straight to the hub.
    pub mqtt_url: String,
    /// Load the demo's indicator catalog, three years of figures and this year's targets.
    pub indicators: bool,
    /// How many citizen reports the demo walks through the process (categories and routing
    /// are always loaded).
    pub reports: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            simulator: true,
            interval_secs: 60,
            mqtt_url: String::new(),
            indicators: true,
            reports: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// A request taking longer than this is answered 408.
    pub request_timeout_secs: u64,
    /// On shutdown, requests in flight get this long to finish.
    pub shutdown_grace_secs: u64,
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS (rustls) and cookies are Secure.
    pub tls_cert: String,
    /// PEM private key for `tls_cert`.
    pub tls_key: String,
    /// The address clients reach this server at (behind a proxy, the proxy's), e.g.
    /// https://ioc.laichau.gov.vn; names hosted JSON-LD contexts. Empty: http(s)://<listen>.
    pub public_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Folder for the embedded database, the audit key and chain head.
    pub data_dir: String,
    /// Empty: SQLite in data_dir. Otherwise sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    pub database_url: String,
    /// Connections in the pool.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A console session ends after this many minutes without a request.
    pub idle_timeout_minutes: i64,
    /// A console session ends after this many hours in any case.
    pub session_lifetime_hours: i64,
    /// Failed sign-ins in a row before sign-in is locked.
    pub max_failed_logins: i64,
    /// How long sign-in stays locked after too many failures.
    pub lockout_minutes: i64,
    /// Name shown in authenticator apps.
    pub totp_issuer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// File with the HMAC key that seals the audit trail (created on first start). Keep it outside
    /// the database and its backups. Empty: data_dir/audit.key.
    pub key_file: String,
    /// File holding the chain head, so deleting the last records is detected. Empty:
    /// data_dir/audit-head.json.
    pub head_file: String,
}

/// Where domain events go: every committed change is published for the consumers that must not sit
/// on the write path (and for other replicas).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// "memory" (one server) or "nats" (NATS JetStream, shared by replicas).
    pub kind: String,
    /// NATS server, e.g. nats://127.0.0.1:4222 (kind = "nats").
    pub nats_url: String,
    /// JetStream stream that keeps the events (created when missing).
    pub stream: String,
    /// Events go to subjects `<subject_prefix>.<kind>`, e.g. haidang.events.org.create.
    pub subject_prefix: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            kind: "memory".into(),
            nats_url: "nats://127.0.0.1:4222".into(),
            stream: "HAIDANG_EVENTS".into(),
            subject_prefix: "haidang.events".into(),
        }
    }
}

/// The data hub (NGSI-LD API at /ngsi-ld/v1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HubConfig {
    /// Entities per answer when the request gives no `limit`.
    pub default_limit: usize,
    /// The most entities one answer may hold; a larger `limit` is answered TooManyResults.
    pub max_limit: usize,
    /// Hosts (host or host:port) whose JSON-LD contexts the server may fetch. Empty: none; a
    /// context URL the server does not hold is then answered LdContextNotAvailable (503).
    pub context_hosts: Vec<String>,
    /// Contexts served from files, as "URL=path" (e.g. an agency's context kept on the intranet).
    pub contexts: Vec<String>,
    /// Deleting an entity deletes its history too. Off: the history outlives the entity (a
    /// removed sensor's readings stay for the reports); retention, which goes by the current
    /// entity's type, then no longer applies to it.
    pub delete_history: bool,
    /// How long the history of a type is kept, as "Type=duration" (ISO 8601 days or less, e.g.
    /// "WeatherObserved=P730D"); types not listed are kept for ever.
    pub retention: Vec<String>,
    /// A subscription's endpoint must take a notification within this many seconds, or the
    /// attempt counts as failed and is retried later.
    pub notification_timeout_secs: u64,
    /// Notifications in flight at once, over all subscriptions (each subscription sends one at
    /// a time, in order, so a slow endpoint holds up only its own).
    pub notification_concurrency: usize,
    /// A notification still not delivered after this many hours of retries is dropped and
    /// counted as failed (at most 720: 30 days).
    pub notification_retry_hours: u64,
    /// Subscriptions may notify endpoints on this server's own machine or its network link
    /// (localhost, 127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10). Off: refused, so a subscription
    /// cannot make the server call its own database or a cloud's metadata service. Intranet
    /// addresses (10.x, 192.168.x) are allowed either way.
    pub notification_local_endpoints: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            default_limit: 20,
            max_limit: 1000,
            context_hosts: Vec::new(),
            contexts: Vec::new(),
            delete_history: false,
            retention: Vec::new(),
            notification_timeout_secs: 10,
            notification_concurrency: 32,
            notification_retry_hours: 24,
            notification_local_endpoints: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MapConfig {
    /// Tile URL template of an intranet basemap, e.g. https://tiles.tinh.gov.vn/{z}/{x}/{y}.png.
    /// Empty: no basemap, the map shows the administrative boundaries only (works offline).
    pub tile_url: String,
    /// Attribution shown for the basemap.
    pub tile_attribution: String,
    /// Province whose communes the map shows (official 2-digit code).
    pub province_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// "text" for people, "json" for log collectors.
    pub format: String,
    /// Filter in tracing's syntax, e.g. "info" or "haidang=debug,info".
    pub level: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            tls_cert: String::new(),
            tls_key: String::new(),
            public_url: String::new(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: "haidang-data".into(), database_url: String::new(), max_connections: 8 }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            idle_timeout_minutes: 30,
            session_lifetime_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
            totp_issuer: "Hai Dang IOC".into(),
        }
    }
}

impl Default for MapConfig {
    fn default() -> Self {
        MapConfig { tile_url: String::new(), tile_attribution: String::new(), province_code: "12".into() }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "text".into(), level: "info".into() }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {message}")]
    File { path: String, message: String },
    #[error("config file {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("config key {key}: {message}")]
    Key { key: String, message: String },
}

/// "Type=duration" of `hub.retention`.
pub fn retention_entry(entry: &str) -> Result<(String, jiff::SignedDuration), String> {
    let Some((kind, keep)) = entry.split_once('=') else {
        return Err(format!("'{entry}' is not Type=duration, e.g. WeatherObserved=P730D"));
    };
    let keep =
        haidang_core::hub::temporal::parse_duration(keep.trim()).map_err(|m| format!("{kind}: {m}"))?;
    if !keep.is_positive() {
        return Err(format!("{kind}: the history must be kept for some time"));
    }
    Ok((kind.trim().to_string(), keep))
}

fn key_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key { key: key.into(), message: message.into() }
}

/// Merges `overlay` into `base`, table by table.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Turns `HAIDANG__SERVER__LISTEN=…` pairs into a table; values that parse as TOML (numbers,
/// booleans) keep their type, anything else is a string.
fn env_table(vars: &[(String, String)]) -> Result<toml::Table, ConfigError> {
    let mut table = toml::Table::new();
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix("HAIDANG__") else { continue };
        let parts: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        let [section, key] = parts.as_slice() else {
            return Err(key_error(name, "environment variables take the form HAIDANG__SECTION__KEY"));
        };
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_table() && !v.is_array())
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = entry {
            t.insert(key.clone(), value);
        }
    }
    Ok(table)
}

impl Config {
    /// Loads defaults → file → environment, then validates.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut table =
            toml::Table::try_from(Config::default()).map_err(|e| key_error("(defaults)", e.to_string()))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let parsed: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            merge(&mut table, parsed);
        }
        merge(&mut table, env_table(env)?);
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde names an unknown field in the message; put the full key in front of it.
            match inner.split('`').nth(1).filter(|_| inner.starts_with("unknown field")) {
                Some(field) if path == "." || path.is_empty() => key_error(field, "unknown key"),
                // Depending on where serde stops, the path may already end with the field.
                Some(field) if path == field || path.ends_with(&format!(".{field}")) => {
                    key_error(&path, "unknown key")
                }
                Some(field) => key_error(&format!("{path}.{field}"), "unknown key"),
                None => key_error(&path, inner),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(5..=86_400).contains(&self.demo.interval_secs) {
            return Err(key_error("demo.interval_secs", "must be between 5 and 86400"));
        }
        if !self.demo.mqtt_url.is_empty() && !self.demo.mqtt_url.starts_with("mqtt://") {
            return Err(key_error("demo.mqtt_url", "must be mqtt://host:port"));
        }
        self.server.listen.parse::<SocketAddr>().map_err(|_| {
            key_error("server.listen", format!("'{}' is not an address:port", self.server.listen))
        })?;
        if self.server.body_limit_bytes < 1024 {
            return Err(key_error("server.body_limit_bytes", "must be at least 1024"));
        }
        if self.server.request_timeout_secs == 0 {
            return Err(key_error("server.request_timeout_secs", "must be more than 0"));
        }
        if self.server.tls_cert.is_empty() != self.server.tls_key.is_empty() {
            return Err(key_error(
                "server.tls_key",
                "tls_cert and tls_key go together: give both or neither",
            ));
        }
        for (key, path) in
            [("server.tls_cert", &self.server.tls_cert), ("server.tls_key", &self.server.tls_key)]
        {
            if !path.is_empty() && !Path::new(path).is_file() {
                return Err(key_error(key, format!("no file at '{path}'")));
            }
        }
        self.reports.working_intervals().map_err(|m| key_error("reports.working_hours", m))?;
        if self.reports.reopen_days < 0 || self.reports.retention_days < 1 {
            return Err(key_error("reports.retention_days", "reopen_days ≥ 0 and retention_days ≥ 1"));
        }
        let hook = &self.reports.notify_webhook;
        if !(hook.is_empty() || hook.starts_with("http://") || hook.starts_with("https://")) {
            return Err(key_error("reports.notify_webhook", "must be an http(s) URL"));
        }
        if !self.reports.imap_url.is_empty() {
            haidang_connect::imap::ImapMailbox::parse(&self.reports.imap_url)
                .map_err(|m| key_error("reports.imap_url", m))?;
        }
        if !self.reports.smtp_url.is_empty() {
            crate::mailer::Mailer::new(&self.reports.smtp_url, &self.reports.smtp_from)
                .map_err(|m| key_error("reports.smtp_url", m))?;
        }
        if self.reports.upkeep_every_secs == 0 {
            return Err(key_error("reports.upkeep_every_secs", "must be more than 0"));
        }
        if self.storage.data_dir.trim().is_empty() {
            return Err(key_error("storage.data_dir", "must not be empty"));
        }
        let url = &self.storage.database_url;
        if !url.is_empty() && haidang_store::Backend::from_url(url).is_none() {
            return Err(key_error(
                "storage.database_url",
                format!("'{}' must start with sqlite: or postgres://", haidang_store::redact(url)),
            ));
        }
        if self.storage.max_connections == 0 {
            return Err(key_error("storage.max_connections", "must be more than 0"));
        }
        if self.hub.default_limit == 0 || self.hub.default_limit > self.hub.max_limit {
            return Err(key_error("hub.default_limit", "must be between 1 and hub.max_limit"));
        }
        for entry in &self.hub.contexts {
            let Some((url, path)) = entry.split_once('=') else {
                return Err(key_error("hub.contexts", format!("'{entry}' is not URL=path")));
            };
            if !Path::new(path).is_file() {
                return Err(key_error("hub.contexts", format!("no file at '{path}' (for {url})")));
            }
        }
        for entry in &self.hub.retention {
            retention_entry(entry).map_err(|m| key_error("hub.retention", m))?;
        }
        for (key, v) in [
            ("hub.notification_timeout_secs", self.hub.notification_timeout_secs),
            ("hub.notification_concurrency", self.hub.notification_concurrency as u64),
            ("hub.notification_retry_hours", self.hub.notification_retry_hours),
        ] {
            if v == 0 {
                return Err(key_error(key, "must be more than 0"));
            }
        }
        if self.hub.notification_retry_hours > 720 {
            return Err(key_error("hub.notification_retry_hours", "must be at most 720 (30 days)"));
        }
        for (key, v) in [
            ("auth.idle_timeout_minutes", self.auth.idle_timeout_minutes),
            ("auth.session_lifetime_hours", self.auth.session_lifetime_hours),
            ("auth.max_failed_logins", self.auth.max_failed_logins),
            ("auth.lockout_minutes", self.auth.lockout_minutes),
        ] {
            if v <= 0 {
                return Err(key_error(key, "must be more than 0"));
            }
        }
        if !matches!(self.bus.kind.as_str(), "memory" | "nats") {
            return Err(key_error("bus.kind", format!("'{}' is not one of memory, nats", self.bus.kind)));
        }
        if self.bus.kind == "nats" {
            if !self.bus.nats_url.starts_with("nats://") && !self.bus.nats_url.starts_with("tls://") {
                return Err(key_error("bus.nats_url", "must start with nats:// or tls://"));
            }
            if self.bus.stream.is_empty()
                || !self.bus.stream.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(key_error("bus.stream", "must be letters, digits, '_' or '-'"));
            }
            if self.bus.subject_prefix.is_empty() || self.bus.subject_prefix.contains(['*', '>', ' ']) {
                return Err(key_error(
                    "bus.subject_prefix",
                    "must be a plain subject such as haidang.events",
                ));
            }
        }
        self.mqtt.validate().map_err(|(key, message)| key_error(&key, message))?;
        if self.mqtt.dead_letter_days == 0 {
            return Err(key_error("mqtt.dead_letter_days", "must be more than 0"));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(key_error("log.format", format!("'{}' is not one of text, json", self.log.format)));
        }
        if self.map.province_code.len() != 2 || !self.map.province_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(key_error("map.province_code", "must be a 2-digit province code"));
        }
        if !self.map.tile_url.is_empty() && !self.map.tile_url.contains("{z}") {
            return Err(key_error("map.tile_url", "must contain {z}, {x} and {y}"));
        }
        Ok(())
    }

    pub fn data_dir(&self) -> PathBuf {
        PathBuf::from(&self.storage.data_dir)
    }

    pub fn database_url(&self) -> String {
        if self.storage.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir().join("haidang.db").display())
        } else {
            self.storage.database_url.clone()
        }
    }

    /// Where the contact key is kept when none is configured.
    pub fn contact_key_file(&self) -> PathBuf {
        self.data_dir().join("contact.key")
    }

    pub fn audit_key_file(&self) -> PathBuf {
        if self.audit.key_file.is_empty() {
            self.data_dir().join("audit.key")
        } else {
            PathBuf::from(&self.audit.key_file)
        }
    }

    pub fn audit_head_file(&self) -> PathBuf {
        if self.audit.head_file.is_empty() {
            self.data_dir().join("audit-head.json")
        } else {
            PathBuf::from(&self.audit.head_file)
        }
    }

    pub fn tls_enabled(&self) -> bool {
        !self.server.tls_cert.is_empty()
    }

    /// The configuration as TOML with secrets hidden.
    pub fn to_redacted_toml(&self) -> String {
        let mut copy = self.clone();
        copy.storage.database_url = haidang_store::redact(&copy.storage.database_url);
        copy.bus.nats_url = haidang_store::redact(&copy.bus.nats_url);
        for c in &mut copy.mqtt.connectors {
            c.url = haidang_connect::mqtt::Broker::hide(&c.url);
        }
        toml::to_string_pretty(&copy).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("hd-cfg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("c.toml");
        let _ = std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:9000\"\nbody_limit_bytes = 4096\n");
        let c = Config::load(Some(&file), &env(&[("HAIDANG__SERVER__BODY_LIMIT_BYTES", "8192")]));
        let c = c.unwrap_or_default();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.server.body_limit_bytes, 8192);
        assert_eq!(c.auth.idle_timeout_minutes, 30);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unknown_and_bad_keys_are_named() {
        let e = Config::load(None, &env(&[("HAIDANG__SERVER__LISTN", "x")]));
        assert_eq!(e, Err(key_error("server.listn", "unknown key")));
        let e = Config::load(None, &env(&[("HAIDANG__SERVER__LISTEN", "nowhere")]));
        assert!(matches!(e, Err(ConfigError::Key { key, .. }) if key == "server.listen"));
        let e = Config::load(None, &env(&[("HAIDANG__AUTH__LOCKOUT_MINUTES", "soon")]));
        assert!(matches!(e, Err(ConfigError::Key { key, .. }) if key == "auth.lockout_minutes"));
        let e = Config::load(None, &env(&[("HAIDANG__NOPE__X", "1")]));
        assert!(matches!(e, Err(ConfigError::Key { key, .. }) if key == "nope"));
    }

    #[test]
    fn a_mail_server_and_sender_that_cannot_be_used_are_named() {
        let mut c = Config::default();
        c.reports.smtp_url = "smtps://phananh:mat-khau@mail.laichau.gov.vn:465".into();
        assert_eq!(c.validate(), Ok(()));
        c.reports.smtp_url = "smtp://mail.laichau.gov.vn:587?tls=required".into();
        assert_eq!(c.validate(), Ok(()));
        for bad in ["mail.laichau.gov.vn", "http://mail.laichau.gov.vn", "smtp://"] {
            c.reports.smtp_url = bad.into();
            assert!(
                matches!(c.validate(), Err(ConfigError::Key { key, .. }) if key == "reports.smtp_url"),
                "{bad}"
            );
        }
        c.reports.smtp_url = "smtp://127.0.0.1:25".into();
        c.reports.smtp_from = "Trung tâm IOC".into();
        let e = c.validate();
        assert!(
            matches!(&e, Err(ConfigError::Key { key, message }) if key == "reports.smtp_url" && message.contains("smtp_from")),
            "{e:?}"
        );
    }

    #[test]
    fn a_retention_must_name_a_type_and_a_fixed_length() {
        let mut c = Config::default();
        c.hub.retention = vec!["WeatherObserved=P730D".into(), "RiverGauge=PT48H".into()];
        assert_eq!(c.validate(), Ok(()));
        for bad in ["WeatherObserved", "WeatherObserved=P2Y", "WeatherObserved=soon", "WeatherObserved=PT0S"]
        {
            c.hub.retention = vec![bad.into()];
            assert!(
                matches!(c.validate(), Err(ConfigError::Key { key, .. }) if key == "hub.retention"),
                "{bad}"
            );
        }
        assert_eq!(
            retention_entry("RiverGauge=P1D").map(|(t, d)| (t, d.as_secs())),
            Ok(("RiverGauge".into(), 86_400))
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let mut c = Config::default();
        c.storage.database_url = "postgres://ioc:hunter2@db/ioc".into();
        let text = c.to_redacted_toml();
        assert!(!text.contains("hunter2"));
        assert!(text.contains("ioc:***@db"));
    }
}
