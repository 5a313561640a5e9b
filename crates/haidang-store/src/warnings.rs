//! Public warnings and the CAP messages that went out (kept as the XML they were).

use async_trait::async_trait;
use haidang_core::repo::WarningRepository;
use haidang_core::warnings::model::{PublicWarning, WarningChange};
use haidang_core::{CoreError, CoreResult};

use crate::alerts::{decode, encode};
use crate::rows::{int, text, us};
use crate::{db_err, Store};

fn warning_of(row: &sqlx::any::AnyRow) -> CoreResult<PublicWarning> {
    decode("public warning", &text(row, "doc")?)
}

#[async_trait]
impl WarningRepository for Store {
    async fn write_warning(&self, change: &WarningChange) -> CoreResult<PublicWarning> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let mut w = change.warning.clone();
        if change.new {
            let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM public_warnings")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            w.number = int(&row, "n")? + 1;
            w.version = 1;
            sqlx::query(
                "INSERT INTO public_warnings (id, number, state, updated_at, version, doc) VALUES ($1,$2,$3,$4,$5,$6)",
            )
            .bind(w.id.clone())
            .bind(w.number)
            .bind(w.state.as_str())
            .bind(us(w.updated_at))
            .bind(w.version)
            .bind(encode(&w)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        } else {
            let done = sqlx::query(
                "UPDATE public_warnings SET state = $1, updated_at = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6",
            )
            .bind(w.state.as_str())
            .bind(us(w.updated_at))
            .bind(w.version)
            .bind(encode(&w)?)
            .bind(w.id.clone())
            .bind(w.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict(format!(
                    "warning CB-{} was changed by someone else meanwhile; reload it",
                    w.number
                )));
            }
        }
        if let Some((sent, xml)) = &change.message {
            sqlx::query(
                "INSERT INTO cap_messages (identifier, warning_id, sent, msg_type, xml) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(sent.identifier.clone())
            .bind(w.id.clone())
            .bind(us(sent.sent))
            .bind(sent.msg_type.as_str())
            .bind(xml.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.commit_audited(tx, &change.audit).await?;
        Ok(w)
    }

    async fn get_warning(&self, id: &str) -> CoreResult<Option<PublicWarning>> {
        let row = sqlx::query("SELECT doc FROM public_warnings WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(warning_of).transpose()
    }

    async fn warning_by_number(&self, number: i64) -> CoreResult<Option<PublicWarning>> {
        let row = sqlx::query("SELECT doc FROM public_warnings WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(warning_of).transpose()
    }

    async fn list_warnings(&self, published_only: bool) -> CoreResult<Vec<PublicWarning>> {
        let sql = if published_only {
            "SELECT doc FROM public_warnings WHERE state IN ('published', 'pending') ORDER BY number DESC"
        } else {
            "SELECT doc FROM public_warnings ORDER BY number DESC LIMIT 500"
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(warning_of).collect()
    }

    async fn cap_message(&self, identifier: &str) -> CoreResult<Option<String>> {
        let row = sqlx::query("SELECT xml FROM cap_messages WHERE identifier = $1")
            .bind(identifier.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| text(r, "xml")).transpose()
    }
}
