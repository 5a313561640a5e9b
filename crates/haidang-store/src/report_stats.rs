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
