//! The statistics of citizen reports, counted by the database over the indexed columns.

use haidang_core::reports::stats::{Counts, Group};
use haidang_core::CoreResult;
use jiff::Timestamp;

use crate::rows::{int, text};
use crate::{db_err, Store};

impl Store {
    pub(crate) async fn count_reports(
        &self,
        group: Group,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> CoreResult<Vec<Counts>> {
        let key = group.column();
        // Every SUM is over 0/1 or a BIGINT cast back to BIGINT: PostgreSQL would answer NUMERIC.
        let sql = format!(
            "SELECT COALESCE({key}, '') AS k, COUNT(*) AS received, \
             CAST(SUM(CASE WHEN state NOT IN ('received', 'rejected', 'merged') THEN 1 ELSE 0 END) AS BIGINT) AS verified, \
             CAST(SUM(CASE WHEN state IN ('rejected', 'merged') THEN 1 ELSE 0 END) AS BIGINT) AS rejected, \
             CAST(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
             CAST(SUM(CASE WHEN answered_at IS NOT NULL AND deadline_at IS NOT NULL AND answered_at <= deadline_at \
                  THEN 1 ELSE 0 END) AS BIGINT) AS on_time, \
             CAST(SUM(CASE WHEN state IN ('assigned', 'accepted', 'in_progress') AND paused_at IS NULL \
                  AND deadline_at < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue, \
             CAST(SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS closed, \
             COUNT(rating) AS rated, CAST(COALESCE(SUM(rating), 0) AS BIGINT) AS rating_sum \
             FROM citizen_reports WHERE received_at >= $1 AND received_at < $2 GROUP BY COALESCE({key}, '')"
        );
        let rows = sqlx::query(&sql)
            .bind(from.as_microsecond())
            .bind(to.as_microsecond())
            .bind(at.as_microsecond())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Counts {
                    key: text(r, "k")?,
                    received: int(r, "received")?,
                    verified: int(r, "verified")?,
                    rejected: int(r, "rejected")?,
                    answered: int(r, "answered")?,
                    answered_on_time: int(r, "on_time")?,
                    overdue: int(r, "overdue")?,
                    closed: int(r, "closed")?,
                    rated: int(r, "rated")?,
                    rating_sum: int(r, "rating_sum")?,
                })
            })
            .collect()
    }

    pub(crate) async fn handling_hours(
        &self,
        group: Group,
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Vec<(String, i64, i64)>> {
        let key = group.column();
        let sql = format!(
            "SELECT COALESCE({key}, '') AS k, (answered_at - received_at) / 3600000000 AS h, COUNT(*) AS n \
             FROM citizen_reports WHERE answered_at IS NOT NULL AND received_at >= $1 AND received_at < $2 \
             GROUP BY COALESCE({key}, ''), (answered_at - received_at) / 3600000000"
        );
        let rows = sqlx::query(&sql)
            .bind(from.as_microsecond())
            .bind(to.as_microsecond())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok((text(r, "k")?, int(r, "h")?, int(r, "n")?))).collect()
    }
}

impl Store {
    /// For loading history and for benchmarks: the next report number, the organisations' ids
    /// and the province's communes.
    pub async fn bulk_context(&self, province: &str) -> CoreResult<(i64, Vec<String>, Vec<String>)> {
        let first: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM citizen_reports")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let orgs: Vec<String> =
            sqlx::query_scalar("SELECT id FROM orgs").fetch_all(&self.pool).await.map_err(db_err)?;
        let units: Vec<String> = sqlx::query_scalar("SELECT code FROM units WHERE parent_code = $1")
            .bind(province.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok((first, orgs, units))
    }

    /// Writes reports straight into their table in one statement, with no steps, no audit and
    /// no checks: for loading history and for benchmarks only (the service's path is
    /// `insert_report`).
    pub async fn bulk_insert_reports(
        &self,
        rows: &[haidang_core::reports::model::CitizenReport],
    ) -> CoreResult<()> {
        const COLUMNS: usize = 22;
        if rows.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..rows.len())
            .map(|r| {
                let cells: Vec<String> = (1..=COLUMNS).map(|c| format!("${}", r * COLUMNS + c)).collect();
                format!("({})", cells.join(","))
            })
            .collect();
        let sql = format!(
            "INSERT INTO citizen_reports (id, number, tracking_hash, category, state, agency_id, unit_code, channel, \
             urgency, lon, lat, received_at, updated_at, deadline_at, paused_at, published_at, answered_at, closed_at, \
             rating, version, contact_sealed, doc) VALUES {}",
            placeholders.join(",")
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for r in rows {
            let doc =
                serde_json::to_string(r).map_err(|e| haidang_core::CoreError::Internal(e.to_string()))?;
            // The same columns, in the same order, as the service's insert.
            q = crate::reports::bind_report(
                q.bind(r.id.clone()).bind(r.number).bind(r.tracking_hash.clone()),
                r,
                doc,
            );
        }
        let _guard = self.write_lock.lock().await;
        q.execute(&self.writes).await.map_err(db_err)?;
        Ok(())
    }
}
