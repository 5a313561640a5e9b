//! Backups that move between backends: a gzip-compressed stream of JSON lines, one header line,
//! then for each table an object line naming it and its columns followed by one array line per
//! row, in primary-key order, then an end line. Read inside one snapshot transaction, so a backup
//! of a running server is consistent. A restore goes into a new, empty database in one
//! transaction: all or nothing.

use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Backend, Store};

pub const FORMAT: &str = "haidang-backup";
pub const FORMAT_VERSION: i64 = 1;

/// Every table, parents before children, with the columns that order its rows.
pub const TABLES: &[(&str, &str)] = &[
    ("units", "code"),
    ("unit_successions", "new_code, old_code"),
    ("orgs", "id"),
    ("users", "id"),
    ("account_events", "id"),
    ("sessions", "id"),
    ("api_tokens", "id"),
    ("delegations", "id"),
    ("audit_log", "seq"),
    ("event_cursors", "name"),
    ("entities", "id"),
    ("entity_changes", "seq"),
    ("attribute_instances", "seq"),
    ("deleted_entities", "id"),
    ("hub_documents", "key"),
    ("subscriptions", "id"),
    ("notifications", "seq"),
    ("dead_letters", "seq"),
    ("datasets", "seq"),
    ("dataset_grants", "id"),
    ("maintenance_windows", "id"),
    ("form_submissions", "id"),
    ("dataset_write_counts", "dataset_id, hour"),
    ("indicators", "code"),
    ("indicator_versions", "code, version"),
    ("indicator_targets", "code, year, unit_code"),
    ("indicator_values", "code, unit_code, period, kind"),
    ("indicator_revisions", "code, unit_code, period, kind, at, revision"),
    ("data_requests", "id"),
    ("data_request_messages", "request_id, seq"),
    ("indicator_reminders", "org_id, period, kind"),
    ("report_categories", "code"),
    ("report_routes", "category, unit_code"),
    ("calendar_years", "year"),
    ("citizen_reports", "id"),
    ("citizen_report_steps", "report_id, pos"),
    ("citizen_report_assignments", "report_id, org_id"),
    ("citizen_report_extensions", "id"),
    ("report_media", "id"),
    ("report_notices", "id"),
    ("alert_rules", "id"),
    ("alerts", "id"),
    ("alert_steps", "alert_id, pos"),
    ("alert_notices", "id"),
    ("live_events", "seq"),
    ("playbooks", "id"),
    ("incidents", "id"),
    ("incident_tasks", "id"),
    ("incident_timeline", "incident_id, pos"),
    ("shift_handovers", "id"),
    ("public_warnings", "id"),
    ("cap_messages", "identifier"),
    ("citizen_report_tallies", "split, local_day, member"),
];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the archive is not valid: {0}")]
    Invalid(String),
    #[error("the target database is not empty (table {0} has rows); restore needs a new, empty database")]
    NotEmpty(String),
    #[error("the archive has schema version {archive}, this binary {binary}: restore with the matching release, then upgrade")]
    SchemaMismatch { archive: i64, binary: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: i64,
    pub schema_version: i64,
    pub source_backend: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableLine {
    table: String,
    columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EndLine {
    end: bool,
    rows: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnKind {
    Int,
    Float,
    Text,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupSummary {
    pub tables: usize,
    pub rows: u64,
}

async fn columns_of(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    table: &str,
) -> Result<Vec<(String, ColumnKind)>, BackupError> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name AS column_name, type AS data_type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS column_name, data_type::text AS data_type FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql).bind(table.to_string()).fetch_all(&mut **tx).await?;
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.try_get("column_name")?;
        let ty: String = row.try_get::<String, _>("data_type")?.to_uppercase();
        let kind = if ty.contains("INT") {
            ColumnKind::Int
        } else if ty.contains("REAL") || ty.contains("DOUBLE") || ty.contains("FLOAT") {
            ColumnKind::Float
        } else {
            ColumnKind::Text
        };
        out.push((name, kind));
    }
    if out.is_empty() {
        return Err(BackupError::Invalid(format!("table {table} does not exist in the database")));
    }
    Ok(out)
}

fn value_of(row: &AnyRow, index: usize, kind: ColumnKind) -> Result<Value, BackupError> {
    Ok(match kind {
        ColumnKind::Int => row.try_get::<Option<i64>, _>(index)?.map(Value::from).unwrap_or(Value::Null),
        ColumnKind::Float => row.try_get::<Option<f64>, _>(index)?.map(Value::from).unwrap_or(Value::Null),
        ColumnKind::Text => row.try_get::<Option<String>, _>(index)?.map(Value::from).unwrap_or(Value::Null),
    })
}

/// Writes every table's lines (no header) from one snapshot; the body of a backup and the
/// canonical dump the tests compare.
async fn write_tables<W: Write>(store: &Store, out: &mut W) -> Result<BackupSummary, BackupError> {
    let mut tx = store.pool().begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    }
    let mut summary = BackupSummary::default();
    for (table, order) in TABLES {
        let columns = columns_of(&mut tx, store.backend(), table).await?;
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        serde_json::to_writer(&mut *out, &TableLine { table: table.to_string(), columns: names.clone() })
            .map_err(|e| BackupError::Invalid(e.to_string()))?;
        out.write_all(b"\n")?;
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
        let mut stream = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = stream.try_next().await? {
            let values = columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| value_of(&row, i, *kind))
                .collect::<Result<Vec<_>, _>>()?;
            serde_json::to_writer(&mut *out, &values).map_err(|e| BackupError::Invalid(e.to_string()))?;
            out.write_all(b"\n")?;
            summary.rows += 1;
        }
        drop(stream);
        summary.tables += 1;
    }
    tx.commit().await?;
    Ok(summary)
}

/// The whole content of the store as text, identical for identical data on either backend.
pub async fn canonical_dump(store: &Store) -> Result<String, BackupError> {
    let mut buf = Vec::new();
    write_tables(store, &mut buf).await?;
    String::from_utf8(buf).map_err(|e| BackupError::Invalid(e.to_string()))
}

/// Writes a backup archive to `out`.
pub async fn backup<W: Write>(store: &Store, out: W) -> Result<BackupSummary, BackupError> {
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let header = Header {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        schema_version: store.schema_version(),
        source_backend: store.backend().as_str().into(),
        created_at: jiff::Timestamp::now().to_string(),
    };
    serde_json::to_writer(&mut gz, &header).map_err(|e| BackupError::Invalid(e.to_string()))?;
    gz.write_all(b"\n")?;
    let summary = write_tables(store, &mut gz).await?;
    serde_json::to_writer(&mut gz, &EndLine { end: true, rows: summary.rows })
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
    gz.write_all(b"\n")?;
    gz.finish()?.flush()?;
    Ok(summary)
}

/// Loads an archive into an empty, migrated store. Nothing is written unless all of it loads.
pub async fn restore<R: std::io::Read>(store: &Store, input: R) -> Result<BackupSummary, BackupError> {
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(input));
    let mut lines = reader.lines();
    let first = lines.next().ok_or_else(|| BackupError::Invalid("empty archive".into()))??;
    let header: Header = serde_json::from_str(&first)
        .map_err(|e| BackupError::Invalid(format!("line 1 is not a header: {e}")))?;
    if header.format != FORMAT || header.version != FORMAT_VERSION {
        return Err(BackupError::Invalid(format!(
            "unknown format {} version {}",
            header.format, header.version
        )));
    }
    if header.schema_version != store.schema_version() {
        return Err(BackupError::SchemaMismatch {
            archive: header.schema_version,
            binary: store.schema_version(),
        });
    }
    let mut tx = store.pool().begin().await?;
    for (table, _) in TABLES {
        let count: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count > 0 {
            return Err(BackupError::NotEmpty(table.to_string()));
        }
    }
    match store.backend() {
        Backend::Sqlite => sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await?,
        Backend::Postgres => sqlx::query("SET CONSTRAINTS ALL DEFERRED").execute(&mut *tx).await?,
    };
    let mut summary = BackupSummary::default();
    let mut current: Option<(String, Vec<ColumnKind>, String)> = None;
    let mut ended = false;
    for (n, line) in lines.enumerate() {
        let line = line?;
        let line_no = n + 2;
        let value: Value =
            serde_json::from_str(&line).map_err(|e| BackupError::Invalid(format!("line {line_no}: {e}")))?;
        match value {
            Value::Array(values) => {
                let (table, kinds, sql) = current
                    .as_ref()
                    .ok_or_else(|| BackupError::Invalid(format!("line {line_no}: a row before any table")))?;
                if values.len() != kinds.len() {
                    return Err(BackupError::Invalid(format!(
                        "line {line_no}: {table} row has {} values, expected {}",
                        values.len(),
                        kinds.len()
                    )));
                }
                let mut q = sqlx::query(sql);
                for (v, kind) in values.iter().zip(kinds) {
                    q = match (kind, v) {
                        (ColumnKind::Int, Value::Null) => q.bind(None::<i64>),
                        (ColumnKind::Float, Value::Null) => q.bind(None::<f64>),
                        (ColumnKind::Text, Value::Null) => q.bind(None::<String>),
                        (ColumnKind::Int, Value::Number(num)) if num.is_i64() => q.bind(num.as_i64()),
                        (ColumnKind::Float, Value::Number(num)) => q.bind(num.as_f64()),
                        (ColumnKind::Text, Value::String(s)) => q.bind(s.clone()),
                        (_, other) => {
                            return Err(BackupError::Invalid(format!(
                                "line {line_no}: {table}: unexpected value {other}"
                            )))
                        }
                    };
                }
                q.execute(&mut *tx).await?;
                summary.rows += 1;
            }
            Value::Object(map) if map.contains_key("end") => {
                ended = true;
                break;
            }
            Value::Object(_) => {
                let t: TableLine = serde_json::from_value(value)
                    .map_err(|e| BackupError::Invalid(format!("line {line_no}: {e}")))?;
                if !TABLES.iter().any(|(name, _)| *name == t.table) {
                    return Err(BackupError::Invalid(format!("line {line_no}: unknown table {}", t.table)));
                }
                let target = columns_of(&mut tx, store.backend(), &t.table).await?;
                let mut kinds = Vec::new();
                for c in &t.columns {
                    let kind =
                        target.iter().find(|(name, _)| name == c).map(|(_, k)| *k).ok_or_else(|| {
                            BackupError::Invalid(format!("line {line_no}: {} has no column {c}", t.table))
                        })?;
                    kinds.push(kind);
                }
                let placeholders: Vec<String> = (1..=t.columns.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.table,
                    t.columns.join(", "),
                    placeholders.join(", ")
                );
                summary.tables += 1;
                current = Some((t.table, kinds, sql));
            }
            other => return Err(BackupError::Invalid(format!("line {line_no}: unexpected {other}"))),
        }
    }
    if !ended {
        return Err(BackupError::Invalid("the archive is cut short (no end line)".into()));
    }
    if store.backend() == Backend::Postgres {
        // Rows came with their sequence numbers; the next row must be numbered after them.
        for table in ["entity_changes", "attribute_instances", "notifications", "dead_letters"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), \
                 COALESCE((SELECT MAX(seq) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(summary)
}
