//! Playbooks, incidents, their tasks and timelines. An incident's change (its tasks, timeline
//! lines and live events) is one transaction, so the command page never shows a task without
//! the line that says who gave it.

use async_trait::async_trait;
use haidang_core::alerts::model::LiveEvent;
use haidang_core::audit::AuditEvent;
use haidang_core::incidents::handover::Handover;
use haidang_core::incidents::model::{
    Incident, IncidentChange, IncidentFilter, Playbook, Task, TimelineEntry,
};
use haidang_core::repo::IncidentRepository;
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;

use crate::alerts::{decode, encode, NewLive};
use crate::rows::{bool_int, int, text, us};
use crate::{db_err, Store};

fn incident_of(row: &sqlx::any::AnyRow) -> CoreResult<Incident> {
    decode("incident", &text(row, "doc")?)
}

fn task_of(row: &sqlx::any::AnyRow) -> CoreResult<Task> {
    decode("task", &text(row, "doc")?)
}

impl Store {
    async fn put_task_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        task: &Task,
    ) -> CoreResult<()> {
        let doc = encode(task)?;
        let escalated = bool_int(task.escalated_at.is_some());
        if task.version <= 1 {
            sqlx::query(
                "INSERT INTO incident_tasks (id, incident_id, org_id, state, due_at, escalated, version, doc) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            )
            .bind(task.id.clone())
            .bind(task.incident_id.clone())
            .bind(task.org_id.clone())
            .bind(task.state.as_str())
            .bind(us(task.due_at))
            .bind(escalated)
            .bind(task.version)
            .bind(doc)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            return Ok(());
        }
        let done = sqlx::query(
            "UPDATE incident_tasks SET org_id = $1, state = $2, due_at = $3, escalated = $4, version = $5, doc = $6 \
             WHERE id = $7 AND version = $8",
        )
        .bind(task.org_id.clone())
        .bind(task.state.as_str())
        .bind(us(task.due_at))
        .bind(escalated)
        .bind(task.version)
        .bind(doc)
        .bind(task.id.clone())
        .bind(task.version - 1)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::Conflict(format!(
                "task '{}' was changed meanwhile; reload it",
                task.title
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl IncidentRepository for Store {
    async fn list_playbooks(&self) -> CoreResult<Vec<Playbook>> {
        let rows = sqlx::query("SELECT doc FROM playbooks ORDER BY incident_type, id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("playbook", &text(r, "doc")?)).collect()
    }

    async fn put_playbook(&self, p: &Playbook, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        if p.version <= 1 {
            sqlx::query("INSERT INTO playbooks (id, incident_type, version, doc) VALUES ($1,$2,$3,$4)")
                .bind(p.id.clone())
                .bind(p.incident_type.as_str())
                .bind(p.version)
                .bind(encode(p)?)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    CoreError::Conflict(_) => {
                        CoreError::Conflict(format!("a playbook '{}' exists already", p.id))
                    }
                    other => other,
                })?;
        } else {
            let done = sqlx::query(
                "UPDATE playbooks SET incident_type = $1, version = $2, doc = $3 WHERE id = $4 AND version = $5",
            )
            .bind(p.incident_type.as_str())
            .bind(p.version)
            .bind(encode(p)?)
            .bind(p.id.clone())
            .bind(p.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict(format!(
                    "playbook '{}' was changed by someone else meanwhile; reload it",
                    p.id
                )));
            }
        }
        self.commit_audited(tx, audit).await
    }

    async fn write_incident(&self, change: &IncidentChange) -> CoreResult<(Incident, Vec<LiveEvent>)> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let mut incident = change.incident.clone();
        if change.new {
            let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM incidents")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            incident.number = int(&row, "n")? + 1;
            incident.version = 1;
            sqlx::query(
                "INSERT INTO incidents (id, number, state, opened_at, version, doc) VALUES ($1,$2,$3,$4,$5,$6)",
            )
            .bind(incident.id.clone())
            .bind(incident.number)
            .bind(if incident.closed_at.is_some() { "closed" } else { "open" })
            .bind(us(incident.opened_at))
            .bind(incident.version)
            .bind(encode(&incident)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        } else {
            let done = sqlx::query(
                "UPDATE incidents SET state = $1, version = $2, doc = $3 WHERE id = $4 AND version = $5",
            )
            .bind(if incident.closed_at.is_some() { "closed" } else { "open" })
            .bind(incident.version)
            .bind(encode(&incident)?)
            .bind(incident.id.clone())
            .bind(incident.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict(format!(
                    "incident SC-{} was changed by someone else meanwhile; reload it",
                    incident.number
                )));
            }
        }
        for task in &change.tasks {
            self.put_task_in(&mut tx, task).await?;
        }
        if !change.timeline.is_empty() {
            let row = sqlx::query(
                "SELECT COALESCE(MAX(pos), 0) AS n FROM incident_timeline WHERE incident_id = $1",
            )
            .bind(incident.id.clone())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut pos = int(&row, "n")?;
            for entry in &change.timeline {
                pos += 1;
                let entry = TimelineEntry { pos, incident_id: incident.id.clone(), ..entry.clone() };
                sqlx::query("INSERT INTO incident_timeline (incident_id, pos, doc) VALUES ($1,$2,$3)")
                    .bind(incident.id.clone())
                    .bind(pos)
                    .bind(encode(&entry)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        let mut events = Vec::new();
        for (kind, subject, orgs, data) in &change.live {
            let new = NewLive {
                at: incident.updated_at,
                kind,
                subject_id: subject,
                org_ids: orgs.clone(),
                severity: Some(incident.severity),
                data: data.clone(),
            };
            events.push(self.insert_live_in(&mut tx, new).await?);
        }
        match &change.audit {
            Some(audit) => self.commit_audited(tx, audit).await?,
            None => {
                tx.commit().await.map_err(db_err)?;
                self.notify_committed();
            }
        }
        Ok((incident, events))
    }

    async fn get_incident(&self, id: &str) -> CoreResult<Option<Incident>> {
        let row = sqlx::query("SELECT doc FROM incidents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(incident_of).transpose()
    }

    async fn incident_by_number(&self, number: i64) -> CoreResult<Option<Incident>> {
        let row = sqlx::query("SELECT doc FROM incidents WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(incident_of).transpose()
    }

    async fn list_incidents(&self, f: &IncidentFilter) -> CoreResult<Vec<Incident>> {
        let limit = if f.limit > 0 { f.limit } else { 100 };
        let rows = match &f.org_id {
            Some(org) => sqlx::query(
                "SELECT doc FROM incidents WHERE ($1 = 0 OR state = 'open') AND id IN \
                 (SELECT incident_id FROM incident_tasks WHERE org_id = $2) ORDER BY number DESC LIMIT $3",
            )
            .bind(bool_int(f.open_only))
            .bind(org.clone())
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?,
            None => sqlx::query(
                "SELECT doc FROM incidents WHERE ($1 = 0 OR state = 'open') ORDER BY number DESC LIMIT $2",
            )
            .bind(bool_int(f.open_only))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?,
        };
        rows.iter().map(incident_of).collect()
    }

    async fn incident_tasks(&self, incident_id: &str) -> CoreResult<Vec<Task>> {
        let rows = sqlx::query("SELECT doc FROM incident_tasks WHERE incident_id = $1 ORDER BY due_at, id")
            .bind(incident_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(task_of).collect()
    }

    async fn get_task(&self, id: &str) -> CoreResult<Option<Task>> {
        let row = sqlx::query("SELECT doc FROM incident_tasks WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(task_of).transpose()
    }

    async fn org_tasks(&self, org_id: Option<&str>, open_only: bool) -> CoreResult<Vec<Task>> {
        let rows = sqlx::query(
            "SELECT doc FROM incident_tasks WHERE ($1 IS NULL OR org_id = $1) \
             AND ($2 = 0 OR state IN ('assigned', 'accepted')) ORDER BY due_at, id",
        )
        .bind(org_id.map(str::to_string))
        .bind(bool_int(open_only))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(task_of).collect()
    }

    async fn unescalated_overdue_tasks(&self, at: Timestamp) -> CoreResult<Vec<Task>> {
        let rows = sqlx::query(
            "SELECT doc FROM incident_tasks WHERE state IN ('assigned', 'accepted') AND escalated = 0 \
             AND due_at < $1 ORDER BY due_at",
        )
        .bind(us(at))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(task_of).collect()
    }

    async fn put_handover(&self, h: &Handover, new: bool, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        if new {
            sqlx::query("INSERT INTO shift_handovers (id, at, acknowledged, doc) VALUES ($1,$2,0,$3)")
                .bind(h.id.clone())
                .bind(us(h.at))
                .bind(encode(h)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        } else {
            let done = sqlx::query(
                "UPDATE shift_handovers SET acknowledged = 1, doc = $1 WHERE id = $2 AND acknowledged = 0",
            )
            .bind(encode(h)?)
            .bind(h.id.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict("this handover was acknowledged already".into()));
            }
        }
        self.commit_audited(tx, audit).await
    }

    async fn list_handovers(&self, limit: i64) -> CoreResult<Vec<Handover>> {
        let rows = sqlx::query("SELECT doc FROM shift_handovers ORDER BY at DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("handover", &text(r, "doc")?)).collect()
    }

    async fn incident_timeline(&self, id: &str) -> CoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query("SELECT doc FROM incident_timeline WHERE incident_id = $1 ORDER BY pos")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("timeline entry", &text(r, "doc")?)).collect()
    }
}
