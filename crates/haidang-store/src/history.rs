//! The history of the data hub's attributes: one row per attribute instance written, read back
//! by time range or as the newest N of each attribute (the NGSI-LD temporal API).

use haidang_core::repo::{HistoryFilter, InstanceRow};
use haidang_core::CoreResult;
use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{int, opt_text, text, ts, us};
use crate::{db_err, Store};

const INSTANCE_COLUMNS: &str = "seq, entity_id, attr, dataset_id, at, created_at, body";

pub(crate) fn instance_from_row(row: &AnyRow) -> CoreResult<InstanceRow> {
    Ok(InstanceRow {
        seq: int(row, "seq")?,
        entity_id: text(row, "entity_id")?,
        attr: text(row, "attr")?,
        dataset_id: opt_text(row, "dataset_id")?,
        at: ts(row, "at")?,
        created_at: ts(row, "created_at")?,
        body: text(row, "body")?,
    })
}

impl Store {
    /// Inside the writer's transaction, so an instance is kept exactly when its write is.
    pub(crate) async fn insert_instances(
        &self,
        tx: &mut Transaction<'static, Any>,
        rows: &[InstanceRow],
    ) -> CoreResult<()> {
        for chunk in rows.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO attribute_instances (entity_id, attr, dataset_id, at, created_at, body) VALUES {}",
                self.placeholders(chunk.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.entity_id.clone())
                    .bind(r.attr.clone())
                    .bind(r.dataset_id.clone())
                    .bind(us(r.at))
                    .bind(us(r.created_at))
                    .bind(r.body.clone());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    pub(crate) async fn history_at(
        &self,
        entity_id: &str,
        attr: &str,
        at: Timestamp,
    ) -> CoreResult<Vec<InstanceRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM attribute_instances WHERE entity_id = $1 AND attr = $2 AND at = $3"
        ))
        .bind(entity_id.to_string())
        .bind(attr.to_string())
        .bind(us(at))
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(instance_from_row).collect()
    }

    pub(crate) async fn history(&self, f: &HistoryFilter<'_>) -> CoreResult<Vec<InstanceRow>> {
        let attrs = match f.attrs {
            Some(a) => a.to_vec(),
            None => self.history_attributes(f.entity_id).await?,
        };
        let mut out = Vec::new();
        // One read per attribute: each is a range of the (entity, attribute, time) index, and
        // lastN is then a LIMIT on it, however long the history.
        for attr in &attrs {
            let (order, limit) = match f.last_n {
                Some(n) => ("DESC", format!(" LIMIT {}", n.max(0))),
                None => ("ASC", String::new()),
            };
            let sql = format!(
                "SELECT {INSTANCE_COLUMNS} FROM attribute_instances WHERE entity_id = $1 AND attr = $2 \
                 AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) ORDER BY at {order}, seq {order}{limit}"
            );
            let rows = sqlx::query(&sql)
                .bind(f.entity_id.to_string())
                .bind(attr.clone())
                .bind(f.from.map(us))
                .bind(f.to.map(us))
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
            let mut instances = rows.iter().map(instance_from_row).collect::<CoreResult<Vec<_>>>()?;
            if f.last_n.is_some() {
                instances.reverse();
            }
            out.extend(instances);
        }
        Ok(out)
    }

    pub(crate) async fn forget_history(
        &self,
        tx: &mut Transaction<'static, Any>,
        entity_id: &str,
    ) -> CoreResult<()> {
        for table in ["attribute_instances WHERE entity_id", "deleted_entities WHERE id"] {
            sqlx::query(&format!("DELETE FROM {table} = $1"))
                .bind(entity_id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Retention: a thousand rows per transaction, so the writer of live data never waits long
    /// behind the job.
    pub(crate) async fn prune(&self, type_iri: &str, before: Timestamp) -> CoreResult<u64> {
        // Types are stored as a JSON list; the quoted IRI finds it, with LIKE's wildcards escaped.
        let escaped = type_iri.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%\"{escaped}\"%");
        let mut removed = 0u64;
        loop {
            let _guard = self.write_lock.lock().await;
            // An entity deleted with its history kept is found by the types it had.
            let done = sqlx::query(
                "DELETE FROM attribute_instances WHERE seq IN (SELECT a.seq FROM attribute_instances a \
                 JOIN (SELECT id, types FROM entities UNION ALL SELECT id, types FROM deleted_entities d \
                 WHERE NOT EXISTS (SELECT 1 FROM entities n WHERE n.id = d.id)) e ON e.id = a.entity_id \
                 WHERE a.at < $1 AND e.types LIKE $2 ESCAPE '\\' LIMIT 1000)",
            )
            .bind(us(before))
            .bind(pattern.clone())
            .execute(self.pool())
            .await
            .map_err(db_err)?
            .rows_affected();
            removed += done;
            if done < 1000 {
                // A deleted entity whose whole history has gone is forgotten.
                sqlx::query(
                    "DELETE FROM deleted_entities WHERE NOT EXISTS \
                     (SELECT 1 FROM attribute_instances a WHERE a.entity_id = deleted_entities.id)",
                )
                .execute(self.pool())
                .await
                .map_err(db_err)?;
                return Ok(removed);
            }
        }
    }

    async fn history_attributes(&self, entity_id: &str) -> CoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT DISTINCT attr FROM attribute_instances WHERE entity_id = $1 ORDER BY attr")
                .bind(entity_id.to_string())
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        rows.iter().map(|r| text(r, "attr")).collect()
    }
}
