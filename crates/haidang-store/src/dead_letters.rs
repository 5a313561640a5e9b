//! The connectors' dead letters: messages kept with the reason they could not be taken.

use async_trait::async_trait;
use haidang_core::hub::ingest::DeadLetter;
use haidang_core::repo::DeadLetterRepository;
use haidang_core::CoreResult;
use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{int, text, ts, us};
use crate::{db_err, Store};

fn letter_from_row(row: &AnyRow) -> CoreResult<DeadLetter> {
    Ok(DeadLetter {
        seq: int(row, "seq")?,
        source: text(row, "source")?,
        topic: text(row, "topic")?,
        payload: text(row, "payload")?,
        error: text(row, "error")?,
        at: ts(row, "at")?,
    })
}

#[async_trait]
impl DeadLetterRepository for Store {
    async fn add_dead_letters(&self, letters: &[DeadLetter]) -> CoreResult<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for chunk in letters.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO dead_letters (source, topic, payload, error, at) VALUES {}",
                self.placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for l in chunk {
                q = q
                    .bind(l.source.clone())
                    .bind(l.topic.clone())
                    .bind(l.payload.clone())
                    .bind(l.error.clone())
                    .bind(us(l.at));
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn dead_letters(
        &self,
        source: Option<&str>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> CoreResult<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT seq, source, topic, payload, error, at FROM dead_letters \
             WHERE ($1 IS NULL OR source = $1) AND ($2 IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3",
        )
        .bind(source.map(str::to_string))
        .bind(before_seq)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(letter_from_row).collect()
    }

    async fn dead_letter_counts(&self) -> CoreResult<Vec<(String, i64)>> {
        let rows =
            sqlx::query("SELECT source, COUNT(*) AS n FROM dead_letters GROUP BY source ORDER BY source")
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        rows.iter().map(|r| Ok((text(r, "source")?, int(r, "n")?))).collect()
    }

    async fn prune_dead_letters(&self, before: Timestamp) -> CoreResult<u64> {
        let _guard = self.write_lock.lock().await;
        let n = sqlx::query("DELETE FROM dead_letters WHERE at < $1")
            .bind(us(before))
            .execute(self.pool())
            .await
            .map_err(db_err)?
            .rows_affected();
        Ok(n)
    }
}
