//! Datasets, their grants, maintenance windows, the forms taken in and the write counts that
//! "đúng" is judged by.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::datasets::model::{
    Consumer, CountRow, Dataset, DatasetState, Grant, MaintenanceWindow, Submission, WriteCounts,
};
use haidang_core::repo::{DatasetRepository, InstanceRow};
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{bool_int, flag, int, list, list_json, opt_text, opt_ts, opt_us, text, ts, us};
use crate::{db_err, Store};

const DATASET_COLUMNS: &str =
    "id, seq, type_iri, provider_org, state, doc, created_at, created_by, modified_at, approved_at, approved_by";
const GRANT_COLUMNS: &str = "id, dataset_id, consumer_kind, consumer_id, can_read, can_write, expires_at, \
                             agreement_ref, granted_by, granted_at, revoked_at";

fn broken(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Storage(format!("{what}: {e}"))
}

fn doc_of(d: &Dataset) -> String {
    json!({
        "name": d.name,
        "description": d.description,
        "units": d.units,
        "q": d.q,
        "expected": d.expected,
        "frequency": d.frequency,
        "sharing": d.sharing,
        "rules": d.rules,
    })
    .to_string()
}

fn dataset_from_row(row: &AnyRow) -> CoreResult<Dataset> {
    let id = text(row, "id")?;
    let doc: Value = serde_json::from_str(&text(row, "doc")?).map_err(|e| broken(&id, e))?;
    let field = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
    let state = text(row, "state")?;
    Ok(Dataset {
        name: field("name").as_str().unwrap_or_default().to_string(),
        description: field("description").as_str().unwrap_or_default().to_string(),
        type_iri: text(row, "type_iri")?,
        provider_org: text(row, "provider_org")?,
        units: serde_json::from_value(field("units")).map_err(|e| broken(&id, e))?,
        q: field("q").as_str().map(str::to_string),
        expected: serde_json::from_value(field("expected")).map_err(|e| broken(&id, e))?,
        frequency: serde_json::from_value(field("frequency")).map_err(|e| broken(&id, e))?,
        sharing: serde_json::from_value(field("sharing")).map_err(|e| broken(&id, e))?,
        rules: serde_json::from_value(field("rules")).map_err(|e| broken(&id, e))?,
        state: DatasetState::parse(&state).ok_or_else(|| broken(&id, format!("state '{state}'")))?,
        created_at: ts(row, "created_at")?,
        created_by: text(row, "created_by")?,
        modified_at: ts(row, "modified_at")?,
        approved_at: opt_ts(row, "approved_at")?,
        approved_by: opt_text(row, "approved_by")?,
        id,
    })
}

fn grant_from_row(row: &AnyRow) -> CoreResult<Grant> {
    let id = text(row, "id")?;
    let consumer_id = text(row, "consumer_id")?;
    let consumer = match text(row, "consumer_kind")?.as_str() {
        "org" => Consumer::Org(consumer_id),
        "token" => Consumer::Token(consumer_id),
        other => return Err(broken(&id, format!("consumer kind '{other}'"))),
    };
    Ok(Grant {
        dataset_id: text(row, "dataset_id")?,
        consumer,
        read: flag(row, "can_read")?,
        write: flag(row, "can_write")?,
        expires_at: opt_ts(row, "expires_at")?,
        agreement_ref: text(row, "agreement_ref")?,
        granted_by: text(row, "granted_by")?,
        granted_at: ts(row, "granted_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
        id,
    })
}

fn window_from_row(row: &AnyRow) -> CoreResult<MaintenanceWindow> {
    Ok(MaintenanceWindow {
        id: text(row, "id")?,
        dataset_id: text(row, "dataset_id")?,
        entity_ids: list(row, "entity_ids")?,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        reason: text(row, "reason")?,
        declared_by: text(row, "declared_by")?,
    })
}

fn submission_from_row(row: &AnyRow) -> CoreResult<Submission> {
    Ok(Submission {
        id: text(row, "id")?,
        dataset_id: text(row, "dataset_id")?,
        org_id: text(row, "org_id")?,
        period: text(row, "period")?,
        rows: int(row, "row_count")?,
        file_name: text(row, "file_name")?,
        submitted_by: text(row, "submitted_by")?,
        submitted_at: ts(row, "submitted_at")?,
    })
}

impl Store {
    /// Inside the hub writer's transaction: the group's write counts added to each hour's.
    pub(crate) async fn add_write_counts(
        &self,
        tx: &mut Transaction<'static, Any>,
        rows: &[CountRow],
    ) -> CoreResult<()> {
        for chunk in rows.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO dataset_write_counts (dataset_id, hour, accepted, out_of_range, refused) VALUES {} \
                 ON CONFLICT (dataset_id, hour) DO UPDATE SET accepted = dataset_write_counts.accepted + excluded.accepted, \
                 out_of_range = dataset_write_counts.out_of_range + excluded.out_of_range, \
                 refused = dataset_write_counts.refused + excluded.refused",
                self.placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.dataset_id.clone())
                    .bind(r.hour)
                    .bind(r.counts.accepted)
                    .bind(r.counts.out_of_range)
                    .bind(r.counts.refused);
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// Inside the hub writer's transaction: a form is recorded exactly when its rows are.
    pub(crate) async fn insert_submissions(
        &self,
        tx: &mut Transaction<'static, Any>,
        rows: &[Submission],
    ) -> CoreResult<()> {
        for s in rows {
            sqlx::query(
                "INSERT INTO form_submissions (id, dataset_id, org_id, period, row_count, file_name, submitted_by, \
                 submitted_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            )
            .bind(s.id.clone())
            .bind(s.dataset_id.clone())
            .bind(s.org_id.clone())
            .bind(s.period.clone())
            .bind(s.rows)
            .bind(s.file_name.clone())
            .bind(s.submitted_by.clone())
            .bind(us(s.submitted_at))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl DatasetRepository for Store {
    async fn list_datasets(&self) -> CoreResult<Vec<Dataset>> {
        let rows = sqlx::query(&format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY seq"))
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(dataset_from_row).collect()
    }

    async fn save_dataset(&self, d: &Dataset, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO datasets ({DATASET_COLUMNS}) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM datasets), \
             $2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO UPDATE SET type_iri = excluded.type_iri, \
             provider_org = excluded.provider_org, state = excluded.state, doc = excluded.doc, \
             modified_at = excluded.modified_at, approved_at = excluded.approved_at, approved_by = excluded.approved_by"
        ))
        .bind(d.id.clone())
        .bind(d.type_iri.clone())
        .bind(d.provider_org.clone())
        .bind(d.state.as_str())
        .bind(doc_of(d))
        .bind(us(d.created_at))
        .bind(d.created_by.clone())
        .bind(us(d.modified_at))
        .bind(opt_us(d.approved_at))
        .bind(d.approved_by.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    async fn list_grants(&self) -> CoreResult<Vec<Grant>> {
        let rows =
            sqlx::query(&format!("SELECT {GRANT_COLUMNS} FROM dataset_grants ORDER BY granted_at, id"))
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        rows.iter().map(grant_from_row).collect()
    }

    async fn save_grant(&self, g: &Grant, audit: &AuditEvent) -> CoreResult<()> {
        let (kind, consumer) = match &g.consumer {
            Consumer::Org(id) => ("org", id.clone()),
            Consumer::Token(id) => ("token", id.clone()),
        };
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO dataset_grants ({GRANT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) \
             ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at"
        ))
        .bind(g.id.clone())
        .bind(g.dataset_id.clone())
        .bind(kind)
        .bind(consumer)
        .bind(bool_int(g.read))
        .bind(bool_int(g.write))
        .bind(opt_us(g.expires_at))
        .bind(g.agreement_ref.clone())
        .bind(g.granted_by.clone())
        .bind(us(g.granted_at))
        .bind(opt_us(g.revoked_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    async fn list_windows(&self, dataset_id: Option<&str>) -> CoreResult<Vec<MaintenanceWindow>> {
        let rows = sqlx::query(
            "SELECT id, dataset_id, entity_ids, starts_at, ends_at, reason, declared_by FROM maintenance_windows \
             WHERE ($1 IS NULL OR dataset_id = $1) ORDER BY starts_at, id",
        )
        .bind(dataset_id.map(str::to_string))
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(window_from_row).collect()
    }

    async fn save_window(&self, w: &MaintenanceWindow, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO maintenance_windows (id, dataset_id, entity_ids, starts_at, ends_at, reason, declared_by) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(w.id.clone())
        .bind(w.dataset_id.clone())
        .bind(list_json(&w.entity_ids))
        .bind(us(w.starts_at))
        .bind(us(w.ends_at))
        .bind(w.reason.clone())
        .bind(w.declared_by.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    async fn list_submissions(&self, dataset_id: Option<&str>, limit: i64) -> CoreResult<Vec<Submission>> {
        let rows = sqlx::query(
            "SELECT id, dataset_id, org_id, period, row_count, file_name, submitted_by, submitted_at \
             FROM form_submissions WHERE ($1 IS NULL OR dataset_id = $1) ORDER BY submitted_at DESC, id LIMIT $2",
        )
        .bind(dataset_id.map(str::to_string))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(submission_from_row).collect()
    }

    async fn write_counts(
        &self,
        dataset_ids: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Vec<CountRow>> {
        let mut out = Vec::new();
        for chunk in dataset_ids.chunks(100) {
            let marks = self.list_marks_from(chunk.len(), 3);
            let sql = format!(
                "SELECT dataset_id, hour, accepted, out_of_range, refused FROM dataset_write_counts \
                 WHERE hour >= {} AND hour < {} AND dataset_id IN ({marks}) ORDER BY dataset_id, hour",
                self.list_marks_from(1, 1),
                self.list_marks_from(1, 2)
            );
            let mut q = sqlx::query(&sql).bind(us(from)).bind(us(to));
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(self.pool()).await.map_err(db_err)? {
                out.push(CountRow {
                    dataset_id: text(&row, "dataset_id")?,
                    hour: int(&row, "hour")?,
                    counts: WriteCounts {
                        accepted: int(&row, "accepted")?,
                        out_of_range: int(&row, "out_of_range")?,
                        refused: int(&row, "refused")?,
                    },
                });
            }
        }
        Ok(out)
    }

    async fn instances_between(
        &self,
        entity_ids: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Vec<InstanceRow>> {
        let mut out = Vec::new();
        for chunk in entity_ids.chunks(200) {
            let marks = self.list_marks_from(chunk.len(), 3);
            let sql = format!(
                "SELECT seq, entity_id, attr, dataset_id, at, created_at, body FROM attribute_instances \
                 WHERE at >= {} AND at < {} AND entity_id IN ({marks}) ORDER BY entity_id, attr, at, seq",
                self.list_marks_from(1, 1),
                self.list_marks_from(1, 2)
            );
            let mut q = sqlx::query(&sql).bind(us(from)).bind(us(to));
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(self.pool()).await.map_err(db_err)? {
                out.push(crate::history::instance_from_row(&row)?);
            }
        }
        Ok(out)
    }
}
