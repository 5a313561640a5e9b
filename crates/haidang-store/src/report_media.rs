//! Photos and videos of citizen reports: metadata as a JSON document, the original and the
//! public copy as base64 text.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use haidang_core::audit::AuditEvent;
use haidang_core::reports::model::ReportMedia;
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::{Any, Transaction};

use crate::rows::text;
use crate::{db_err, Store};

fn decode_doc(doc: &str) -> CoreResult<ReportMedia> {
    serde_json::from_str(doc).map_err(|e| CoreError::Storage(format!("report media: {e}")))
}

impl Store {
    pub(crate) async fn insert_media_row(
        &self,
        m: &ReportMedia,
        original: &[u8],
        public: &[u8],
    ) -> CoreResult<()> {
        let doc = serde_json::to_string(m).map_err(|e| CoreError::Internal(e.to_string()))?;
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO report_media (id, report_id, created_at, doc, original, public_copy) VALUES ($1,$2,$3,$4,$5,$6)")
            .persistent(false)
            .bind(m.id.clone())
            .bind(m.report_id.clone())
            .bind(m.created_at.as_microsecond())
            .bind(doc)
            .bind(B64.encode(original))
            .bind(B64.encode(public))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.notify_committed();
        Ok(())
    }

    /// Attaches uploads to a report inside its change's transaction; each must be unattached.
    pub(crate) async fn attach_media_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        report_id: &str,
        ids: &[String],
    ) -> CoreResult<()> {
        for id in ids {
            let row = sqlx::query("SELECT doc FROM report_media WHERE id = $1 AND report_id IS NULL")
                .bind(id.clone())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
            let Some(row) = row else {
                return Err(CoreError::validation(
                    "media_ids",
                    format!("'{id}' is not an upload waiting for its report"),
                ));
            };
            let mut m = decode_doc(&text(&row, "doc")?)?;
            m.report_id = Some(report_id.to_string());
            let doc = serde_json::to_string(&m).map_err(|e| CoreError::Internal(e.to_string()))?;
            sqlx::query("UPDATE report_media SET report_id = $1, doc = $2 WHERE id = $3")
                .bind(report_id.to_string())
                .bind(doc)
                .bind(id.clone())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub(crate) async fn list_media_rows(&self, report_id: &str) -> CoreResult<Vec<ReportMedia>> {
        let rows = sqlx::query("SELECT doc FROM report_media WHERE report_id = $1 ORDER BY created_at, id")
            .bind(report_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode_doc(&text(r, "doc")?)).collect()
    }

    pub(crate) async fn get_media_row(&self, id: &str) -> CoreResult<Option<ReportMedia>> {
        let row = sqlx::query("SELECT doc FROM report_media WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| decode_doc(&text(&r, "doc")?)).transpose()
    }

    pub(crate) async fn media_bytes_of(&self, id: &str, original: bool) -> CoreResult<Option<Vec<u8>>> {
        let column = if original { "original" } else { "public_copy" };
        let row = sqlx::query(&format!("SELECT {column} AS body FROM report_media WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(r) => B64
                .decode(text(&r, "body")?)
                .map(Some)
                .map_err(|e| CoreError::Storage(format!("media {id}: {e}"))),
        }
    }

    pub(crate) async fn replace_public_copy(
        &self,
        id: &str,
        public: &[u8],
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let Some(mut m) = self.get_media_row(id).await? else {
            return Err(CoreError::not_found(format!("media '{id}'")));
        };
        m.redacted = true;
        m.size = public.len() as i64;
        let doc = serde_json::to_string(&m).map_err(|e| CoreError::Internal(e.to_string()))?;
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE report_media SET public_copy = $1, doc = $2 WHERE id = $3")
            .bind(B64.encode(public))
            .bind(doc)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    pub(crate) async fn delete_orphans(&self, before: Timestamp) -> CoreResult<u64> {
        let _guard = self.write_lock.lock().await;
        let done = sqlx::query("DELETE FROM report_media WHERE report_id IS NULL AND created_at < $1")
            .bind(before.as_microsecond())
            .execute(&self.writes)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
