//! Consumers' positions in the audit trail.

use async_trait::async_trait;
use haidang_core::repo::CursorRepository;
use haidang_core::CoreResult;

use crate::rows::int;
use crate::{db_err, Store};

#[async_trait]
impl CursorRepository for Store {
    async fn event_cursor(&self, name: &str) -> CoreResult<i64> {
        let row = sqlx::query("SELECT seq FROM event_cursors WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| int(r, "seq")).transpose().map(|s| s.unwrap_or(0))
    }

    async fn set_event_cursor(&self, name: &str, seq: i64) -> CoreResult<()> {
        // Every write in this process goes through the one writer lock (SQLite has one writer).
        let _guard = self.write_lock.lock().await;
        sqlx::query(
            "INSERT INTO event_cursors (name, seq) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
        )
        .bind(name.to_string())
        .bind(seq)
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
