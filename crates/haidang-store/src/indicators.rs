//! Monitoring indicators: versioned definitions (JSON per version), targets, figures with every
//! revision, data requests with their threads, and the reminders sent.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::indicators::model::{
    DataRequest, Definition, RequestMessage, RequestState, Revision, Target, Value, ValueKey, ValueKind,
    ValueState,
};
use haidang_core::indicators::period::Period;
use haidang_core::repo::{IndicatorRepository, ValueFilter};
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{flag, int, opt_float, opt_int, opt_text, opt_ts, opt_us, text, ts, us};
use crate::{db_err, Store};

const VALUE_COLUMNS: &str = "code, unit_code, period, kind, org_id, version, value, state, revision, comment, \
                             approved_value, approved_revision, approved_at, updated_at, updated_by, computed";
const REVISION_COLUMNS: &str =
    "code, unit_code, period, kind, revision, value, state, comment, reason, at, by_user";

/// Statements that bind an optional number are not kept prepared: PostgreSQL keeps the type a
/// first NULL was sent with, and the same statement with a number then fails ("incorrect binary
/// data format in bind parameter").
const KEEP_PREPARED: bool = false;

fn broken(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Storage(format!("{what}: {e}"))
}

fn float(row: &AnyRow, col: &str) -> CoreResult<f64> {
    opt_float(row, col)?.ok_or_else(|| broken(col, "null"))
}

fn key_from_row(row: &AnyRow) -> CoreResult<ValueKey> {
    let period = text(row, "period")?;
    let kind = text(row, "kind")?;
    Ok(ValueKey {
        code: text(row, "code")?,
        unit_code: text(row, "unit_code")?,
        period: Period::parse(&period).ok_or_else(|| broken("period", &period))?,
        kind: ValueKind::parse(&kind).ok_or_else(|| broken("kind", &kind))?,
    })
}

fn state_of(row: &AnyRow) -> CoreResult<ValueState> {
    let state = text(row, "state")?;
    ValueState::parse(&state).ok_or_else(|| broken("state", &state))
}

fn value_from_row(row: &AnyRow) -> CoreResult<Value> {
    Ok(Value {
        key: key_from_row(row)?,
        org_id: text(row, "org_id")?,
        version: int(row, "version")? as u32,
        value: float(row, "value")?,
        state: state_of(row)?,
        revision: int(row, "revision")? as u32,
        comment: text(row, "comment")?,
        approved_value: opt_float(row, "approved_value")?,
        approved_revision: opt_int(row, "approved_revision")?.map(|r| r as u32),
        approved_at: opt_ts(row, "approved_at")?,
        updated_at: ts(row, "updated_at")?,
        updated_by: text(row, "updated_by")?,
        computed: flag(row, "computed")?,
    })
}

fn revision_from_row(row: &AnyRow) -> CoreResult<Revision> {
    Ok(Revision {
        key: key_from_row(row)?,
        revision: int(row, "revision")? as u32,
        value: float(row, "value")?,
        state: state_of(row)?,
        comment: text(row, "comment")?,
        reason: text(row, "reason")?,
        at: ts(row, "at")?,
        by: text(row, "by_user")?,
    })
}

fn request_from_row(row: &AnyRow) -> CoreResult<DataRequest> {
    let id = text(row, "id")?;
    let due = text(row, "due_on")?;
    let state = text(row, "state")?;
    Ok(DataRequest {
        from_user: text(row, "from_user")?,
        from_org: text(row, "from_org")?,
        to_org: text(row, "to_org")?,
        code: opt_text(row, "code")?,
        unit_code: opt_text(row, "unit_code")?,
        period: opt_text(row, "period")?.and_then(|p| Period::parse(&p)),
        question: text(row, "question")?,
        due_on: due.parse().map_err(|e| broken(&id, e))?,
        state: RequestState::parse(&state).ok_or_else(|| broken(&id, &state))?,
        answer_value: opt_float(row, "answer_value")?,
        created_at: ts(row, "created_at")?,
        answered_at: opt_ts(row, "answered_at")?,
        messages: Vec::new(),
        id,
    })
}

#[async_trait]
impl IndicatorRepository for Store {
    async fn list_definitions(&self) -> CoreResult<(Vec<Definition>, Vec<String>)> {
        let rows = sqlx::query("SELECT code, version, doc FROM indicator_versions ORDER BY code, version")
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        let mut defs = Vec::with_capacity(rows.len());
        for row in &rows {
            let code = text(row, "code")?;
            defs.push(serde_json::from_str(&text(row, "doc")?).map_err(|e| broken(&code, e))?);
        }
        let retired = sqlx::query("SELECT code FROM indicators WHERE retired_at IS NOT NULL ORDER BY code")
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| text(r, "code"))
            .collect::<CoreResult<Vec<_>>>()?;
        Ok((defs, retired))
    }

    async fn save_definitions(&self, defs: &[Definition], audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for d in defs {
            sqlx::query(
                "INSERT INTO indicators (code, created_at) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
            )
            .bind(d.code.clone())
            .bind(us(d.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let doc = serde_json::to_string(d).map_err(|e| broken(&d.code, e))?;
            sqlx::query(
                "INSERT INTO indicator_versions (code, version, valid_from, doc, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(d.code.clone())
            .bind(i64::from(d.version))
            .bind(d.valid_from.to_string())
            .bind(doc)
            .bind(us(d.created_at))
            .bind(d.created_by.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn set_retired(&self, code: &str, at: Option<Timestamp>, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE indicators SET retired_at = $1 WHERE code = $2")
            .bind(opt_us(at))
            .bind(code.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    async fn list_targets(&self) -> CoreResult<Vec<Target>> {
        let rows = sqlx::query(
            "SELECT code, year, unit_code, value, baseline, source, set_by, set_at FROM indicator_targets \
             ORDER BY code, year, unit_code",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(Target {
                    code: text(row, "code")?,
                    year: int(row, "year")? as i16,
                    unit_code: text(row, "unit_code")?,
                    value: float(row, "value")?,
                    baseline: opt_float(row, "baseline")?,
                    source: text(row, "source")?,
                    set_by: text(row, "set_by")?,
                    set_at: ts(row, "set_at")?,
                })
            })
            .collect()
    }

    async fn save_targets(&self, targets: &[Target], audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for chunk in targets.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO indicator_targets (code, year, unit_code, value, baseline, source, set_by, set_at) \
                 VALUES {} ON CONFLICT (code, year, unit_code) DO UPDATE SET value = excluded.value, \
                 baseline = excluded.baseline, source = excluded.source, set_by = excluded.set_by, \
                 set_at = excluded.set_at",
                self.placeholders(chunk.len(), 8)
            );
            let mut q = sqlx::query(&sql).persistent(KEEP_PREPARED);
            for t in chunk {
                q = q
                    .bind(t.code.clone())
                    .bind(i64::from(t.year))
                    .bind(t.unit_code.clone())
                    .bind(t.value)
                    .bind(t.baseline)
                    .bind(t.source.clone())
                    .bind(t.set_by.clone())
                    .bind(us(t.set_at));
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn approved_figures(&self) -> CoreResult<Vec<(ValueKey, f64)>> {
        let rows = sqlx::query(
            "SELECT code, unit_code, period, kind, approved_value FROM indicator_values \
             WHERE approved_value IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(|row| Ok((key_from_row(row)?, float(row, "approved_value")?))).collect()
    }

    async fn list_values(&self, f: &ValueFilter) -> CoreResult<Vec<Value>> {
        let mut sql = format!("SELECT {VALUE_COLUMNS} FROM indicator_values WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        for (col, v) in [
            ("code", f.code.clone()),
            ("unit_code", f.unit_code.clone()),
            ("org_id", f.org_id.clone()),
            ("period", f.period.clone()),
            ("state", f.state.map(|s| s.as_str().to_string())),
        ] {
            if let Some(v) = v {
                binds.push(v);
                sql.push_str(&format!(" AND {col} = ${}", binds.len()));
            }
        }
        sql.push_str(" ORDER BY code, unit_code, period, kind");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.pool()).await.map_err(db_err)?;
        rows.iter().map(value_from_row).collect()
    }

    async fn save_values(
        &self,
        values: &[Value],
        revisions: &[Revision],
        audit: Option<&AuditEvent>,
    ) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for chunk in values.chunks(self.rows_per_statement() / 2) {
            let sql = format!(
                "INSERT INTO indicator_values ({VALUE_COLUMNS}) VALUES {} ON CONFLICT (code, unit_code, period, kind) \
                 DO UPDATE SET org_id = excluded.org_id, version = excluded.version, value = excluded.value, \
                 state = excluded.state, revision = excluded.revision, comment = excluded.comment, \
                 approved_value = excluded.approved_value, approved_revision = excluded.approved_revision, \
                 approved_at = excluded.approved_at, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by, computed = excluded.computed",
                self.placeholders(chunk.len(), 16)
            );
            let mut q = sqlx::query(&sql).persistent(KEEP_PREPARED);
            for v in chunk {
                q = q
                    .bind(v.key.code.clone())
                    .bind(v.key.unit_code.clone())
                    .bind(v.key.period.to_string())
                    .bind(v.key.kind.as_str())
                    .bind(v.org_id.clone())
                    .bind(i64::from(v.version))
                    .bind(v.value)
                    .bind(v.state.as_str())
                    .bind(i64::from(v.revision))
                    .bind(v.comment.clone())
                    .bind(v.approved_value)
                    .bind(v.approved_revision.map(i64::from))
                    .bind(opt_us(v.approved_at))
                    .bind(us(v.updated_at))
                    .bind(v.updated_by.clone())
                    .bind(i64::from(v.computed));
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        for chunk in revisions.chunks(self.rows_per_statement() / 2) {
            let sql = format!(
                "INSERT INTO indicator_revisions ({REVISION_COLUMNS}) VALUES {}",
                self.placeholders(chunk.len(), 11)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.key.code.clone())
                    .bind(r.key.unit_code.clone())
                    .bind(r.key.period.to_string())
                    .bind(r.key.kind.as_str())
                    .bind(i64::from(r.revision))
                    .bind(r.value)
                    .bind(r.state.as_str())
                    .bind(r.comment.clone())
                    .bind(r.reason.clone())
                    .bind(us(r.at))
                    .bind(r.by.clone());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        match audit {
            Some(audit) => self.commit_audited(tx, audit).await,
            None => tx.commit().await.map_err(db_err),
        }
    }

    async fn revisions_of(&self, key: &ValueKey) -> CoreResult<Vec<Revision>> {
        let rows = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS} FROM indicator_revisions WHERE code = $1 AND unit_code = $2 \
             AND period = $3 AND kind = $4 ORDER BY at, revision"
        ))
        .bind(key.code.clone())
        .bind(key.unit_code.clone())
        .bind(key.period.to_string())
        .bind(key.kind.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(revision_from_row).collect()
    }

    async fn save_request(&self, r: &DataRequest, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO data_requests (id, from_user, from_org, to_org, code, unit_code, period, question, due_on, \
             state, answer_value, created_at, answered_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, answer_value = excluded.answer_value, \
             answered_at = excluded.answered_at",
        )
        .persistent(KEEP_PREPARED)
        .bind(r.id.clone())
        .bind(r.from_user.clone())
        .bind(r.from_org.clone())
        .bind(r.to_org.clone())
        .bind(r.code.clone())
        .bind(r.unit_code.clone())
        .bind(r.period.map(|p| p.to_string()))
        .bind(r.question.clone())
        .bind(r.due_on.to_string())
        .bind(r.state.as_str())
        .bind(r.answer_value)
        .bind(us(r.created_at))
        .bind(opt_us(r.answered_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for (seq, m) in r.messages.iter().enumerate() {
            sqlx::query(
                "INSERT INTO data_request_messages (request_id, seq, by_user, org_id, at, body) \
                 VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (request_id, seq) DO NOTHING",
            )
            .bind(r.id.clone())
            .bind(seq as i64)
            .bind(m.by.clone())
            .bind(m.org_id.clone())
            .bind(us(m.at))
            .bind(m.body.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn list_requests(&self) -> CoreResult<Vec<DataRequest>> {
        let rows = sqlx::query(
            "SELECT id, from_user, from_org, to_org, code, unit_code, period, question, due_on, state, answer_value, \
             created_at, answered_at FROM data_requests ORDER BY created_at DESC, id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        let mut requests = rows.iter().map(request_from_row).collect::<CoreResult<Vec<_>>>()?;
        let messages = sqlx::query(
            "SELECT request_id, by_user, org_id, at, body FROM data_request_messages ORDER BY request_id, seq",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        for row in &messages {
            let id = text(row, "request_id")?;
            if let Some(r) = requests.iter_mut().find(|r| r.id == id) {
                r.messages.push(RequestMessage {
                    by: text(row, "by_user")?,
                    org_id: text(row, "org_id")?,
                    at: ts(row, "at")?,
                    body: text(row, "body")?,
                });
            }
        }
        Ok(requests)
    }

    async fn record_reminder(
        &self,
        org_id: &str,
        period: &str,
        kind: &str,
        at: Timestamp,
    ) -> CoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO indicator_reminders (org_id, period, kind, sent_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (org_id, period, kind) DO NOTHING",
        )
        .bind(org_id.to_string())
        .bind(period.to_string())
        .bind(kind.to_string())
        .bind(us(at))
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
