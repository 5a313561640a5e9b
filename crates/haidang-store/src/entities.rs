//! The data hub's tables: entities, their change outbox, schemas and JSON-LD contexts.
//!
//! Writes come from the hub's single writer task, many requests at a time (group commit), so the
//! statements here insert many rows per statement: the per-statement cost of the driver, not the
//! disk, is what limits a single connection.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::repo::{
    EntityChange, EntityChangeRecord, EntityRepository, EntityRow, EntityWrite, HistoryFilter, InstanceRow,
    StoredDocument, WriteSet,
};
use haidang_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{int, list, list_json, opt_text, text, ts, us};
use crate::{db_err, Store};

/// Rows per multi-row statement on PostgreSQL; on SQLite see `Store::rows_per_statement`.
pub(crate) const ROWS_PER_STATEMENT: usize = 200;

const ENTITY_COLUMNS: &str = "id, types, owner_org, created_at, modified_at, body";

fn entity_from_row(row: &AnyRow) -> CoreResult<EntityRow> {
    Ok(EntityRow {
        id: text(row, "id")?,
        types: list(row, "types")?,
        owner_org: opt_text(row, "owner_org")?,
        created_at: ts(row, "created_at")?,
        modified_at: ts(row, "modified_at")?,
        body: text(row, "body")?,
    })
}

const DELETED_COLUMNS: &str = "id, types, owner_org, deleted_at";

/// A deleted entity as the repository answers it: id, types and owner, `{}` for a body, the
/// time it was deleted as its times.
fn deleted_from_row(row: &AnyRow) -> CoreResult<EntityRow> {
    let deleted_at = ts(row, "deleted_at")?;
    Ok(EntityRow {
        id: text(row, "id")?,
        types: list(row, "types")?,
        owner_org: opt_text(row, "owner_org")?,
        created_at: deleted_at,
        modified_at: deleted_at,
        body: "{}".into(),
    })
}

fn document_from_row(row: &AnyRow) -> CoreResult<StoredDocument> {
    Ok(StoredDocument {
        key: text(row, "key")?,
        url: text(row, "url")?,
        kind: text(row, "kind")?,
        body: text(row, "body")?,
        created_at: ts(row, "created_at")?,
    })
}

impl Store {
    /// Rows per multi-row statement. SQLite takes many (its limit is 32,766 parameters), and
    /// with anonymous `?` parameters its binding stays linear; named `$n` ones cost the square
    /// of their number there (sqlx looks each one up by name), which was the largest item in an
    /// ingest profile at 50 rows a statement.
    pub(crate) fn rows_per_statement(&self) -> usize {
        match self.backend {
            crate::Backend::Sqlite => 500,
            crate::Backend::Postgres => ROWS_PER_STATEMENT,
        }
    }

    /// "(?,?,..),(?,..)" on SQLite, "($1,$2,..),($7,..)" on PostgreSQL, for `rows` rows of `cols`.
    pub(crate) fn placeholders(&self, rows: usize, cols: usize) -> String {
        let sqlite = self.backend == crate::Backend::Sqlite;
        (0..rows)
            .map(|r| {
                let cells: Vec<String> = (1..=cols)
                    .map(|c| if sqlite { "?".to_string() } else { format!("${}", r * cols + c) })
                    .collect();
                format!("({})", cells.join(","))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// "?,?,?" or "$1,$2,$3": an IN list of `n` parameters, nothing else in the statement.
    pub(crate) fn list_marks(&self, n: usize) -> String {
        self.list_marks_from(n, 1)
    }

    /// `n` parameter marks numbered from `first` (PostgreSQL); SQLite's are anonymous.
    pub(crate) fn list_marks_from(&self, n: usize, first: usize) -> String {
        let sqlite = self.backend == crate::Backend::Sqlite;
        (first..first + n)
            .map(|i| if sqlite { "?".to_string() } else { format!("${i}") })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Store {
    async fn put_entities(&self, tx: &mut Transaction<'static, Any>, rows: &[&EntityRow]) -> CoreResult<()> {
        for chunk in rows.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO entities ({ENTITY_COLUMNS}) VALUES {} ON CONFLICT (id) DO UPDATE SET \
                 types = excluded.types, owner_org = excluded.owner_org, created_at = excluded.created_at, \
                 modified_at = excluded.modified_at, body = excluded.body",
                self.placeholders(chunk.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for row in chunk {
                q = q
                    .bind(row.id.clone())
                    .bind(list_json(&row.types))
                    .bind(row.owner_org.clone())
                    .bind(us(row.created_at))
                    .bind(us(row.modified_at))
                    .bind(row.body.clone());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// Each deleted entity leaves its types and owner behind, so its history (kept unless
    /// `hub.delete_history`, which forgets this too) can still be read and pruned by type.
    async fn delete_entities(
        &self,
        tx: &mut Transaction<'static, Any>,
        ids: &[&str],
        at: jiff::Timestamp,
    ) -> CoreResult<()> {
        for chunk in ids.chunks(self.rows_per_statement()) {
            let (at_mark, marks) = (self.list_marks(1), self.list_marks_from(chunk.len(), 2));
            let sql = format!(
                "INSERT INTO deleted_entities (id, types, owner_org, deleted_at) \
                 SELECT id, types, owner_org, {at_mark} FROM entities WHERE id IN ({marks}) \
                 ON CONFLICT (id) DO UPDATE SET types = excluded.types, owner_org = excluded.owner_org, \
                 deleted_at = excluded.deleted_at"
            );
            let mut q = sqlx::query(&sql).bind(us(at));
            for id in chunk {
                q = q.bind(id.to_string());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
            let sql = format!("DELETE FROM entities WHERE id IN ({})", self.list_marks(chunk.len()));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn insert_changes(
        &self,
        tx: &mut Transaction<'static, Any>,
        changes: &[EntityChange],
    ) -> CoreResult<()> {
        for chunk in changes.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO entity_changes (entity_id, op, at, actor, body) VALUES {}",
                self.placeholders(chunk.len(), 5)
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind(c.entity_id.clone())
                    .bind(c.op.clone())
                    .bind(us(c.at))
                    .bind(c.actor.clone())
                    .bind(c.body.clone());
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn documents(&self, kinds: &[&str]) -> CoreResult<Vec<StoredDocument>> {
        let marks: Vec<String> = (1..=kinds.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT key, url, kind, body, created_at FROM hub_documents WHERE kind IN ({}) ORDER BY key",
            marks.join(",")
        );
        let mut q = sqlx::query(&sql);
        for k in kinds {
            q = q.bind(k.to_string());
        }
        let rows = q.fetch_all(self.pool()).await.map_err(db_err)?;
        rows.iter().map(document_from_row).collect()
    }

    async fn put_document(&self, doc: &StoredDocument, audit: Option<&AuditEvent>) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO hub_documents (key, url, kind, body, created_at) VALUES ($1,$2,$3,$4,$5) \
             ON CONFLICT (key) DO UPDATE SET url = excluded.url, kind = excluded.kind, body = excluded.body, \
             created_at = excluded.created_at",
        )
        .bind(doc.key.clone())
        .bind(doc.url.clone())
        .bind(doc.kind.clone())
        .bind(doc.body.clone())
        .bind(us(doc.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        match audit {
            Some(audit) => self.commit_audited(tx, audit).await,
            None => tx.commit().await.map_err(db_err),
        }
    }

    async fn delete_document(&self, key: &str, kinds: &[&str], audit: &AuditEvent) -> CoreResult<bool> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let marks: Vec<String> = (2..=kinds.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!("DELETE FROM hub_documents WHERE key = $1 AND kind IN ({})", marks.join(","));
        let mut q = sqlx::query(&sql).bind(key.to_string());
        for k in kinds {
            q = q.bind(k.to_string());
        }
        let gone = q.execute(&mut *tx).await.map_err(db_err)?.rows_affected() > 0;
        if !gone {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }
}

const CONTEXT_KINDS: [&str; 2] = ["hosted", "cached"];

#[async_trait]
impl EntityRepository for Store {
    async fn load_entities(&self, ids: &[String]) -> CoreResult<Vec<EntityRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.rows_per_statement()) {
            let sql = format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE id IN ({})",
                self.list_marks(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(self.pool()).await.map_err(db_err)? {
                out.push(entity_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn scan_entities(&self, after: Option<(i64, &str)>, limit: i64) -> CoreResult<Vec<EntityRow>> {
        let rows = match after {
            None => {
                sqlx::query(&format!(
                    "SELECT {ENTITY_COLUMNS} FROM entities ORDER BY created_at, id LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(self.pool())
                .await
            }
            Some((at, id)) => {
                sqlx::query(&format!(
                    "SELECT {ENTITY_COLUMNS} FROM entities WHERE created_at > $1 OR (created_at = $1 AND id > $2) \
                     ORDER BY created_at, id LIMIT $3"
                ))
                .bind(at)
                .bind(id.to_string())
                .bind(limit)
                .fetch_all(self.pool())
                .await
            }
        }
        .map_err(db_err)?;
        rows.iter().map(entity_from_row).collect()
    }

    async fn write_entities(&self, set: &WriteSet) -> CoreResult<()> {
        let writes = &set.writes;
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        // Runs of puts and deletes keep their order, so "delete then create" in one group holds.
        let mut i = 0;
        while i < writes.len() {
            let start = i;
            match &writes[start] {
                EntityWrite::Put(_) => {
                    let mut rows = Vec::new();
                    while let Some(EntityWrite::Put(row)) = writes.get(i) {
                        rows.push(row);
                        i += 1;
                    }
                    self.put_entities(&mut tx, &rows).await?;
                }
                EntityWrite::Delete(_) => {
                    let mut ids = Vec::new();
                    while let Some(EntityWrite::Delete(id)) = writes.get(i) {
                        ids.push(id.as_str());
                        i += 1;
                    }
                    self.delete_entities(&mut tx, &ids, haidang_core::time::now()).await?;
                }
                EntityWrite::ForgetHistory(id) => {
                    self.forget_history(&mut tx, id).await?;
                    i += 1;
                }
            }
        }
        self.insert_changes(&mut tx, &set.changes).await?;
        self.insert_instances(&mut tx, &set.history).await?;
        self.add_write_counts(&mut tx, &set.counts).await?;
        self.insert_submissions(&mut tx, &set.submissions).await?;
        let records = self.append_many_in_tx(&mut tx, &set.audits).await?;
        tx.commit().await.map_err(db_err)?;
        if let Some(last) = records.last() {
            self.after_commit(last).await;
        } else {
            self.notify_committed();
        }
        Ok(())
    }

    async fn deleted_entities(&self) -> CoreResult<Vec<EntityRow>> {
        let rows = sqlx::query(&format!("SELECT {DELETED_COLUMNS} FROM deleted_entities ORDER BY id"))
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(deleted_from_row).collect()
    }

    async fn deleted_entity(&self, id: &str) -> CoreResult<Option<EntityRow>> {
        let row = sqlx::query(&format!("SELECT {DELETED_COLUMNS} FROM deleted_entities WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        row.as_ref().map(deleted_from_row).transpose()
    }

    async fn entity_history(&self, filter: &HistoryFilter<'_>) -> CoreResult<Vec<InstanceRow>> {
        self.history(filter).await
    }

    async fn instances_at(
        &self,
        entity_id: &str,
        attr: &str,
        at: jiff::Timestamp,
    ) -> CoreResult<Vec<InstanceRow>> {
        self.history_at(entity_id, attr, at).await
    }

    async fn prune_history(&self, type_iri: &str, before: jiff::Timestamp) -> CoreResult<u64> {
        self.prune(type_iri, before).await
    }

    async fn entity_changes(&self, after_seq: i64, limit: i64) -> CoreResult<Vec<EntityChangeRecord>> {
        let rows = sqlx::query(
            "SELECT seq, entity_id, op, at, actor, body FROM entity_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(EntityChangeRecord {
                    seq: int(row, "seq")?,
                    change: EntityChange {
                        entity_id: text(row, "entity_id")?,
                        op: text(row, "op")?,
                        at: ts(row, "at")?,
                        actor: opt_text(row, "actor")?,
                        body: text(row, "body")?,
                    },
                })
            })
            .collect()
    }

    async fn list_entity_schemas(&self) -> CoreResult<Vec<StoredDocument>> {
        self.documents(&["schema"]).await
    }

    async fn put_entity_schema(&self, doc: &StoredDocument, audit: &AuditEvent) -> CoreResult<()> {
        if doc.kind != "schema" {
            return Err(CoreError::Internal("put_entity_schema with a document that is not a schema".into()));
        }
        self.put_document(doc, Some(audit)).await
    }

    async fn delete_entity_schema(&self, key: &str, audit: &AuditEvent) -> CoreResult<bool> {
        self.delete_document(key, &["schema"], audit).await
    }

    async fn list_jsonld_contexts(&self) -> CoreResult<Vec<StoredDocument>> {
        self.documents(&CONTEXT_KINDS).await
    }

    async fn put_jsonld_context(&self, doc: &StoredDocument, audit: Option<&AuditEvent>) -> CoreResult<()> {
        if !CONTEXT_KINDS.contains(&doc.kind.as_str()) {
            return Err(CoreError::Internal(
                "put_jsonld_context with a document that is not a context".into(),
            ));
        }
        self.put_document(doc, audit).await
    }

    async fn delete_jsonld_context(&self, key: &str, audit: &AuditEvent) -> CoreResult<bool> {
        self.delete_document(key, &CONTEXT_KINDS, audit).await
    }
}
