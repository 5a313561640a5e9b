//! Notices to reporters: the outbox rows the notifier job reads and updates.

use haidang_core::reports::notices::ReportNotice;
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::{Any, Transaction};

use crate::rows::text;
use crate::{db_err, Store};

fn decode(doc: &str) -> CoreResult<ReportNotice> {
    serde_json::from_str(doc).map_err(|e| CoreError::Storage(format!("report notice: {e}")))
}

fn encode(n: &ReportNotice) -> CoreResult<String> {
    serde_json::to_string(n).map_err(|e| CoreError::Internal(e.to_string()))
}

impl Store {
    pub(crate) async fn insert_notices_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        notices: &[ReportNotice],
    ) -> CoreResult<()> {
        for n in notices {
            sqlx::query(
                "INSERT INTO report_notices (id, report_id, state, next_at, doc) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(n.id.clone())
            .bind(n.report_id.clone())
            .bind(n.state.clone())
            .bind(n.next_at.as_microsecond())
            .bind(encode(n)?)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    pub(crate) async fn due_notices(&self, at: Timestamp, limit: i64) -> CoreResult<Vec<ReportNotice>> {
        let rows = sqlx::query("SELECT doc FROM report_notices WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2")
            .bind(at.as_microsecond())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode(&text(r, "doc")?)).collect()
    }

    pub(crate) async fn update_notice(&self, n: &ReportNotice) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        sqlx::query("UPDATE report_notices SET state = $1, next_at = $2, doc = $3 WHERE id = $4")
            .bind(n.state.clone())
            .bind(n.next_at.as_microsecond())
            .bind(encode(n)?)
            .bind(n.id.clone())
            .execute(&self.writes)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn notices_of(&self, report_id: &str) -> CoreResult<Vec<ReportNotice>> {
        let rows = sqlx::query("SELECT doc FROM report_notices WHERE report_id = $1 ORDER BY id")
            .bind(report_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode(&text(r, "doc")?)).collect()
    }
}
