//! The audit trail in the store: appends sealed and chained inside the caller's transaction, the
//! head file written after each commit, and queries for auditors.

use std::path::Path;

use async_trait::async_trait;
use haidang_core::audit::{AuditEvent, AuditQuery, AuditRecord, ChainHead, Outcome, GENESIS};
use haidang_core::repo::AuditRepository;
use haidang_core::time::now;
use haidang_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{int, opt_text, text, ts, us};
use crate::{db_err, Backend, Store};

/// Key of the PostgreSQL advisory lock that orders audit appends across processes.
const AUDIT_LOCK_KEY: i64 = 0x0048_4149_4441_4e47;

const COLUMNS: &str =
    "seq, at, user_id, username, org_id, role, action, target, source_ip, outcome, detail, prev_mac, mac";

fn record_from_row(row: &AnyRow) -> CoreResult<AuditRecord> {
    Ok(AuditRecord {
        seq: int(row, "seq")?,
        at: ts(row, "at")?,
        user_id: opt_text(row, "user_id")?,
        username: opt_text(row, "username")?,
        org_id: opt_text(row, "org_id")?,
        role: opt_text(row, "role")?,
        action: text(row, "action")?,
        target: opt_text(row, "target")?,
        source_ip: opt_text(row, "source_ip")?,
        outcome: Outcome::parse(&text(row, "outcome")?)
            .ok_or_else(|| CoreError::Storage("audit_log.outcome: unknown value".into()))?,
        detail: text(row, "detail")?,
        prev_mac: text(row, "prev_mac")?,
        mac: text(row, "mac")?,
    })
}

/// Reads the head file; Ok(None) when there is none yet.
pub fn read_head_file(path: &Path) -> std::io::Result<Option<ChainHead>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the head atomically (temporary file, then rename), never moving it backwards: another
/// process may have appended after us.
pub(crate) fn write_head_file(path: &Path, head: &ChainHead) -> std::io::Result<()> {
    if let Ok(Some(current)) = read_head_file(path) {
        if current.seq >= head.seq {
            return Ok(());
        }
    }
    let tmp = path.with_extension("tmp");
    let body =
        serde_json::to_vec(head).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

impl Store {
    /// Seals and inserts one record inside `tx`. The caller holds the write lock and commits.
    pub(crate) async fn append_in_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &AuditEvent,
    ) -> CoreResult<AuditRecord> {
        let mut records = self.append_many_in_tx(tx, std::slice::from_ref(event)).await?;
        records.pop().ok_or_else(|| CoreError::Internal("no audit record appended".into()))
    }

    /// Seals and inserts records in order inside `tx` (a group commit has one per request).
    pub(crate) async fn append_many_in_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        events: &[AuditEvent],
    ) -> CoreResult<Vec<AuditRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_LOCK_KEY)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        let last = sqlx::query("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
        let (mut seq, mut prev_mac) = match last {
            Some(row) => (int(&row, "seq")? + 1, text(&row, "mac")?),
            None => (1, GENESIS.to_string()),
        };
        // Sealed in order in memory, then inserted many rows per statement.
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let mut record = AuditRecord::from_event(event, seq, now(), prev_mac);
            record.mac = self.audit_key.seal(&record);
            seq += 1;
            prev_mac = record.mac.clone();
            out.push(record);
        }
        for chunk in out.chunks(self.rows_per_statement() / 2) {
            let sql =
                format!("INSERT INTO audit_log ({COLUMNS}) VALUES {}", self.placeholders(chunk.len(), 13));
            let mut q = sqlx::query(&sql);
            for record in chunk {
                q = q
                    .bind(record.seq)
                    .bind(us(record.at))
                    .bind(record.user_id.clone())
                    .bind(record.username.clone())
                    .bind(record.org_id.clone())
                    .bind(record.role.clone())
                    .bind(record.action.clone())
                    .bind(record.target.clone())
                    .bind(record.source_ip.clone())
                    .bind(record.outcome.as_str())
                    .bind(record.detail.clone())
                    .bind(record.prev_mac.clone())
                    .bind(record.mac.clone());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(out)
    }

    /// After a commit: move the head file forward.
    /// Seals `audit` into the transaction, commits both, then moves the head file forward: the
    /// ending of every audited write.
    pub(crate) async fn commit_audited(
        &self,
        mut tx: Transaction<'static, Any>,
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let record = self.append_in_tx(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        self.after_commit(&record).await;
        Ok(())
    }

    /// Moves the head file forward to `record`, unless the file names a record the database no
    /// longer has as sealed then: records were deleted (and others written in their place) or
    /// altered. The file is then kept as the evidence `audit verify` reports, and an error is
    /// logged; writes go on, so the centre keeps working while someone looks.
    pub(crate) async fn after_commit(&self, record: &AuditRecord) {
        self.notify_committed();
        let Some(path) = &self.audit_head_file else { return };
        if let Ok(Some(head)) = read_head_file(path) {
            if head.seq >= record.seq {
                return; // another process is ahead, or the check below has already fired
            }
            let sealed: Option<String> = match sqlx::query("SELECT mac FROM audit_log WHERE seq = $1")
                .bind(head.seq)
                .fetch_optional(&self.pool)
                .await
            {
                Ok(row) => row.and_then(|r| text(&r, "mac").ok()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot check the audit chain head; the file is left as it is");
                    return;
                }
            };
            if sealed.as_deref() != Some(head.mac.as_str()) {
                tracing::error!(
                    head_seq = head.seq,
                    path = %path.display(),
                    "the audit chain head file names a record the database no longer has as sealed: \
                     records were deleted or altered; the file is kept as evidence; run `haidang audit verify`"
                );
                return;
            }
        }
        let head = ChainHead { seq: record.seq, mac: record.mac.clone() };
        if let Err(e) = write_head_file(path, &head) {
            tracing::error!(error = %e, path = %path.display(), "cannot write the audit chain head file");
        }
    }

    /// Rewrites the head file from the database (after a restore).
    pub async fn reset_head_file(&self) -> CoreResult<()> {
        let Some(path) = &self.audit_head_file else { return Ok(()) };
        let _ = std::fs::remove_file(path);
        if let Some(head) = self.audit_db_head().await? {
            write_head_file(path, &head)
                .map_err(|e| CoreError::Internal(format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }

    pub(crate) async fn begin(&self) -> CoreResult<Transaction<'static, Any>> {
        self.writes.begin().await.map_err(db_err)
    }
}

#[async_trait]
impl AuditRepository for Store {
    async fn append_audit(&self, event: &AuditEvent) -> CoreResult<AuditRecord> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let record = self.append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        self.after_commit(&record).await;
        Ok(record)
    }

    async fn query_audit(&self, q: &AuditQuery) -> CoreResult<Vec<AuditRecord>> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE ($1 IS NULL OR username = $1) AND ($2 IS NULL OR action = $2) \
             AND ($3 IS NULL OR outcome = $3) AND ($4 IS NULL OR target = $4) AND ($5 IS NULL OR at >= $5) \
             AND ($6 IS NULL OR at < $6) AND ($7 IS NULL OR seq < $7) ORDER BY seq DESC LIMIT $8"
        );
        let rows = sqlx::query(&sql)
            .bind(q.username.clone().filter(|s| !s.is_empty()))
            .bind(q.action.clone().filter(|s| !s.is_empty()))
            .bind(q.outcome.clone().filter(|s| !s.is_empty()))
            .bind(q.target.clone().filter(|s| !s.is_empty()))
            .bind(q.from.map(us))
            .bind(q.to.map(us))
            .bind(q.before_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn audit_page(&self, after_seq: i64, limit: i64) -> CoreResult<Vec<AuditRecord>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"))
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn audit_record(&self, seq: i64) -> CoreResult<Option<AuditRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq = $1"))
            .bind(seq)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn audit_db_head(&self) -> CoreResult<Option<ChainHead>> {
        let row = sqlx::query("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => Ok(Some(ChainHead { seq: int(&row, "seq")?, mac: text(&row, "mac")? })),
            None => Ok(None),
        }
    }
}
