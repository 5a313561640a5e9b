//! The store: the repository traits of `haidang-core` implemented once over sqlx's `Any` driver,
//! for SQLite (the embedded default) and PostgreSQL (production), chosen by the URL's scheme.
//! Both backends run the same SQL (`$1` placeholders work on both); only the migrations differ.
//! Times are BIGINT microseconds, booleans 0/1, lists JSON text, so a backup moves between the two.

mod accounts;
mod alerts;
mod audit;
pub mod backup;
mod cursors;
mod datasets;
mod dead_letters;
mod entities;
mod history;
mod incidents;
mod indicators;
mod orgs;
mod report_media;
mod report_notices;
mod report_stats;
mod reports;
mod rows;
mod subscriptions;
mod units;
mod warnings;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use haidang_core::audit::{AuditKey, ChainHead};
use haidang_core::CoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};
use tokio::sync::Mutex;

pub use audit::read_head_file;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres://, got '{0}'")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migrate(String),
}

/// What the store needs besides the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// Seals audit records; kept outside the database.
    pub audit_key: AuditKey,
    /// Where the chain head is written after each append; None only in tools that never append.
    pub audit_head_file: Option<PathBuf>,
}

pub struct Store {
    pool: AnyPool,
    /// The one connection writes use (see `connect`).
    writes: AnyPool,
    backend: Backend,
    audit_key: AuditKey,
    audit_head_file: Option<PathBuf>,
    /// One writer at a time inside this process: SQLite allows one anyway, and the audit chain
    /// needs its appends in order. PostgreSQL adds an advisory lock for other processes.
    write_lock: Mutex<()>,
    /// Counts commits of this process, so the event relay and the notifier (each with a
    /// receiver of its own) need not poll hard.
    committed: tokio::sync::watch::Sender<u64>,
    /// New reports waiting for the intake's group commit (`reports.rs`).
    pending_reports: reports::PendingReports,
}

/// Page cache of a reading connection and of the writing one, in KiB.
const READER_CACHE_KIB: i64 = 8 * 1024;
const WRITER_CACHE_KIB: i64 = 128 * 1024;

/// Pool options; on SQLite each connection is set up as the store needs it.
fn pool_options(backend: Backend, connections: u32, cache_kib: i64) -> AnyPoolOptions {
    AnyPoolOptions::new().max_connections(connections).acquire_timeout(Duration::from_secs(10)).after_connect(
        move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL for concurrent readers; FULL so a commit survives power loss; foreign
                    // keys are off by default in SQLite. For ingestion: the page cache above (the
                    // default 2 MiB sent every index page through pread), 2 KiB pages for a new
                    // database (a commit writes each page it touched whole, and a sensor's
                    // history index touches one page per sensor). Checkpoints run beside the
                    // writer (`checkpoint`, from the server's jobs) rather than inside its
                    // commits, where they took a quarter of an ingestion run; a commit
                    // checkpoints itself only if the WAL has passed 50,000 pages (the job fell
                    // behind).
                    let pragmas = format!(
                        "PRAGMA page_size = 2048; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -{cache_kib}; \
                         PRAGMA wal_autocheckpoint = 50000; PRAGMA temp_store = MEMORY;"
                    );
                    conn.execute(pragmas.as_str()).await?;
                }
                Ok(())
            })
        },
    )
}

pub(crate) fn db_err(e: sqlx::Error) -> CoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return CoreError::Conflict(db.message().to_string());
        }
        if db.is_foreign_key_violation() {
            return CoreError::validation("reference", db.message().to_string());
        }
    }
    CoreError::Storage(e.to_string())
}

impl Store {
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
        if backend == Backend::Sqlite {
            ensure_sqlite_parent(url)?;
        }
        let connect_options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Connect(e.to_string()))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        // Readers share a pool with small page caches; writes (always one at a time, under the
        // write lock) have a connection of their own with a large one, so the memory a busy
        // writer wants is spent once, not in every connection.
        let pool = pool_options(backend, options.max_connections.max(1), READER_CACHE_KIB)
            .connect_with(connect_options.clone())
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let writes = pool_options(backend, 1, WRITER_CACHE_KIB)
            .connect_with(connect_options)
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        Ok(Store {
            pool,
            writes,
            backend,
            audit_key: options.audit_key,
            audit_head_file: options.audit_head_file,
            write_lock: Mutex::new(()),
            committed: tokio::sync::watch::Sender::new(0),
            pending_reports: Default::default(),
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        // Reports written before the statistics' tallies existed are counted into them once.
        if self.tallies_missing().await.map_err(|e| StoreError::Migrate(e.to_string()))? {
            let n = self.rebuild_report_tallies().await.map_err(|e| StoreError::Migrate(e.to_string()))?;
            tracing::info!(reports = n, "counted the existing citizen reports into the statistics' tallies");
        }
        Ok(())
    }

    /// The newest migration this binary knows; a backup records it.
    pub fn schema_version(&self) -> i64 {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn audit_key(&self) -> &AuditKey {
        &self.audit_key
    }

    /// The chain head as the head file says, if there is one.
    pub fn head_file_head(&self) -> Option<ChainHead> {
        self.audit_head_file.as_deref().and_then(|p| read_head_file(p).ok().flatten())
    }

    pub fn audit_head_file(&self) -> Option<&Path> {
        self.audit_head_file.as_deref()
    }

    /// A receiver whose `changed()` resolves after the next commit in this process (or at once
    /// if one happened since it last looked): the wake-up of the outbox readers.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }

    pub(crate) fn notify_committed(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Copies what the WAL holds into the database (SQLite; nothing on PostgreSQL) without
    /// waiting for readers or the writer: run every half second beside the writer, so its
    /// commits need not. Answers the WAL's frames and how many are now in the database.
    pub async fn checkpoint(&self) -> Result<(i64, i64), CoreError> {
        use sqlx::Row;
        if self.backend != Backend::Sqlite {
            return Ok((0, 0));
        }
        let row =
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&self.pool).await.map_err(db_err)?;
        Ok((row.try_get(1).map_err(db_err)?, row.try_get(2).map_err(db_err)?))
    }

    /// For /readyz.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writes.close().await;
        self.pool.close().await;
    }
}

/// Never print a password from a URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

fn ensure_sqlite_parent(url: &str) -> Result<(), StoreError> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/ioc"), "postgres://app:***@db:5432/ioc");
        assert_eq!(redact("sqlite://data/haidang.db"), "sqlite://data/haidang.db");
    }

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db?mode=rwc"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgresql://h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://h/db"), None);
    }
}
