//! The command line. Every command takes `--data-dir` and `--config` like `serve`, so it works
//! on the same store as a running server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "haidang", version, about = "Hải Đăng: the province's Intelligent Operations Centre")]
pub struct Cli {
    /// Folder for the embedded database, audit key and chain head (overrides storage.data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Load the demo province (Lai Châu) and one account per role, printing their passwords once.
        #[arg(long)]
        demo: bool,
        /// Address to listen on (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent, portable backup of a (possibly running) store.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Load a backup into a new, empty store (SQLite or PostgreSQL).
    Restore { file: PathBuf },
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for machines.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Administrative units.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the default configuration (TOML, documented).
    PrintDefaultConfig,
    /// Measure point → unit lookups against a running server.
    Bench(BenchArgs),
    /// Load generator for the data hub (NGSI-LD writes and queries) against a running server.
    BenchIngest(IngestArgs),
    /// Load generator for MQTT ingestion (and notification fan-out) against a running server.
    BenchMqtt(MqttBenchArgs),
    /// Benchmark of the monitoring indicators (in process, then against a running server).
    BenchIndicators(IndicatorBenchArgs),
    /// Load test of citizen reports: intake through the API, statistics at full size.
    BenchReports(ReportBenchArgs),
    /// Load test of the alert path: rules in force, updates, alerts on the live stream.
    BenchAlerts(AlertBenchArgs),
}

#[derive(Debug, Args)]
pub struct Reasoned {
    /// Why (recorded with the change).
    #[arg(long)]
    pub reason: String,
    /// Reference of the written request ("số văn bản đề nghị").
    #[arg(long)]
    pub request_ref: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Issue an account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Organisation code.
        #[arg(long)]
        org: String,
        /// admin, supervisor, operator, leader, officer, data_provider or auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long, default_value = "")]
        request_ref: String,
    },
    List,
    Lock {
        username: String,
        #[command(flatten)]
        why: Reasoned,
    },
    Unlock {
        username: String,
        #[command(flatten)]
        why: Reasoned,
    },
    Revoke {
        username: String,
        #[command(flatten)]
        why: Reasoned,
    },
    /// Set a new password (read from standard input); the owner must change it at next sign-in.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        why: Reasoned,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token and print it once.
    Issue {
        #[arg(long)]
        user: String,
        /// read, write, hub:read, hub:write (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// Lifetime: 90d, 12h, 30m.
        #[arg(long, default_value = "90d")]
        expires_in: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    List {
        #[arg(long)]
        user: Option<String>,
    },
    Revoke {
        id: String,
    },
}

// Parsed once per run, so the size of the Create variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    Create {
        #[arg(long)]
        code: String,
        /// Name in Vietnamese.
        #[arg(long)]
        name: String,
        #[arg(long)]
        name_en: Option<String>,
        /// provincial_committee, department, commune_committee, operating_unit, police, utility, service_provider, other
        #[arg(long)]
        kind: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long = "sector", value_delimiter = ',')]
        sectors: Vec<String>,
        #[arg(long = "unit", value_delimiter = ',')]
        units: Vec<String>,
        #[arg(long)]
        head: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        duty_phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Import a GeoJSON FeatureCollection joined to the official code list (all or nothing).
    Import {
        file: PathBuf,
        /// Date the units are valid from (YYYY-MM-DD).
        #[arg(long, default_value = "2025-07-01")]
        valid_from: String,
    },
    /// Import successions from CSV: new_code,old_code,effective_on,note.
    Successions { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain and the head file; names the first broken or missing record.
    Verify,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Base URL of a running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with.
    #[arg(long, default_value = "operator")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// Lookups to send.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Base URL of a running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with (one that may submit data).
    #[arg(long, default_value = "operator")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// Sensors to seed (then update) with batch upserts.
    #[arg(long, default_value_t = 100_000)]
    pub entities: usize,
    /// Entities per batch request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent connections for the batches.
    #[arg(long, default_value_t = 4)]
    pub batch_connections: usize,
    /// Single-attribute PATCH requests to send.
    #[arg(long, default_value_t = 100_000)]
    pub patches: usize,
    /// Concurrent keep-alive connections for the PATCHes.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Queries of each kind (near, q).
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// Concurrent connections for the queries.
    #[arg(long, default_value_t = 8)]
    pub query_connections: usize,
    /// The server's process id, to report its peak memory (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// A scratch database (empty) for the ceiling run: rows written without HTTP or validation.
    #[arg(long)]
    pub ceiling_url: Option<String>,
    /// Only the queries, against entities an earlier run seeded (`--entities` must match it).
    #[arg(long)]
    pub queries_only: bool,
    /// Past readings of one attribute to backfill per entity through the temporal API (then
    /// time lastN=100 and a 24-hour hourly average over 100 entities); 0 for none.
    #[arg(long, default_value_t = 0)]
    pub history_per_entity: usize,
}

#[derive(Debug, Args)]
pub struct IndicatorBenchArgs {
    /// Base URL of a running server (with the demo's units, no indicator named bench.*).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with (one that manages the catalog).
    #[arg(long, default_value = "supervisor")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// Indicators in the catalog (every tenth derived by a formula).
    #[arg(long, default_value_t = 500)]
    pub indicators: usize,
    /// Units for the in-process book (the province and its communes).
    #[arg(long, default_value_t = 39)]
    pub units: usize,
    /// Months of figures, to the last one ended.
    #[arg(long, default_value_t = 36)]
    pub months: usize,
    /// Requests of each kind to time.
    #[arg(long, default_value_t = 20)]
    pub queries: usize,
    /// Only the in-process book; no server.
    #[arg(long)]
    pub ceiling_only: bool,
    /// Only the timed requests, against a server an earlier run seeded.
    #[arg(long)]
    pub queries_only: bool,
    /// The server's process id, to report its peak memory (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

#[derive(Debug, Args)]
pub struct MqttBenchArgs {
    /// Base URL of a running server with a connector on `--topic-prefix` (see docs/BENCHMARKS.md).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with (reads the connector's counters, makes the subscriptions).
    #[arg(long, default_value = "operator")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// The broker the connector takes from.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub broker: String,
    /// The connector's name in the server's configuration.
    #[arg(long, default_value = "bench")]
    pub connector: String,
    /// Readings go to <prefix>/air/station-NNNNN/data.
    #[arg(long, default_value = "bench")]
    pub topic_prefix: String,
    /// Readings to publish.
    #[arg(long, default_value_t = 200_000)]
    pub messages: usize,
    /// Stations (entities) they come from.
    #[arg(long, default_value_t = 1000)]
    pub stations: usize,
    /// Publishing connections.
    #[arg(long, default_value_t = 2)]
    pub publishers: usize,
    /// Readings per second over all publishers; 0: as fast as the broker takes them.
    #[arg(long, default_value_t = 0)]
    pub rate: usize,
    /// Subscriptions to make first, each on one station (the fan-out figure); 0 for none.
    #[arg(long, default_value_t = 0)]
    pub subscriptions: usize,
    /// How long to wait for the connector to have taken every reading.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
}

#[derive(Debug, Args)]
pub struct ReportBenchArgs {
    /// Base URL of a running server started with --demo.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with (one that takes reports: operator or supervisor).
    #[arg(long, default_value = "operator")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// Reports to send through the API (0 for none).
    #[arg(long, default_value_t = 20_000)]
    pub reports: usize,
    /// Connections sending at once.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// The server's database URL, to write `--seed` reports straight into it first.
    #[arg(long)]
    pub seed_url: Option<String>,
    /// Reports of the past year to write straight into the database.
    #[arg(long, default_value_t = 1_000_000)]
    pub seed: usize,
    /// Statistics requests of each grouping to time (0 for none).
    #[arg(long, default_value_t = 20)]
    pub stats_queries: usize,
    /// The server's process id, to report its peak memory (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

#[derive(Debug, Args)]
pub struct AlertBenchArgs {
    /// Base URL of a running server started with --demo.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account to sign in with (one that writes data and rules: supervisor).
    #[arg(long, default_value = "supervisor")]
    pub username: String,
    /// Password (read from standard input when absent).
    #[arg(long)]
    pub password: Option<String>,
    /// Sensors to seed and update.
    #[arg(long, default_value_t = 10_000)]
    pub sensors: usize,
    /// Rules to put in force, one per sensor.
    #[arg(long, default_value_t = 10_000)]
    pub rules: usize,
    /// Single-attribute updates to send while the probe runs.
    #[arg(long, default_value_t = 200_000)]
    pub updates: usize,
    /// Connections sending updates.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// The server's process id, to report its peak memory (Linux /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
}
