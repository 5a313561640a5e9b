//! Monitoring rules, alerts with their steps, and the live events journal. An alert is a JSON
//! document beside the columns its lists filter on; its steps and its live event are written in
//! the same transaction, so the stream never tells of a change that did not commit.

use async_trait::async_trait;
use haidang_core::alerts::model::{Alert, AlertChange, AlertFilter, AlertStep, LiveEvent, StoredRule};
use haidang_core::audit::AuditEvent;
use haidang_core::repo::AlertRepository;
use haidang_core::{CoreError, CoreResult};
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::rows::{int, list, text, ts, us};
use crate::{db_err, Store};

pub(crate) fn decode<T: DeserializeOwned>(what: &str, doc: &str) -> CoreResult<T> {
    serde_json::from_str(doc).map_err(|e| CoreError::Storage(format!("{what}: {e}")))
}

pub(crate) fn encode<T: serde::Serialize>(v: &T) -> CoreResult<String> {
    serde_json::to_string(v).map_err(|e| CoreError::Internal(e.to_string()))
}

fn alert_of(row: &AnyRow) -> CoreResult<Alert> {
    decode("alert", &text(row, "doc")?)
}

fn live_of(row: &AnyRow) -> CoreResult<LiveEvent> {
    let mut e: LiveEvent = decode("live event", &text(row, "doc")?)?;
    e.seq = int(row, "seq")?;
    e.at = ts(row, "at")?;
    e.org_ids = list(row, "org_ids")?;
    Ok(e)
}

/// A live event to record with the change it tells of.
pub(crate) struct NewLive<'a> {
    pub at: jiff::Timestamp,
    pub kind: &'a str,
    pub subject_id: &'a str,
    pub org_ids: Vec<String>,
    pub severity: Option<haidang_core::alerts::Severity>,
    pub data: serde_json::Value,
}

impl Store {
    /// Appends to the live journal inside `tx` (the caller holds the write lock): its number
    /// follows the last, so a client resuming after an id misses nothing.
    pub(crate) async fn insert_live_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        new: NewLive<'_>,
    ) -> CoreResult<LiveEvent> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM live_events")
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
        let event = LiveEvent {
            seq: int(&row, "n")? + 1,
            at: new.at,
            kind: new.kind.to_string(),
            subject_id: new.subject_id.to_string(),
            org_ids: new.org_ids,
            severity: new.severity,
            data: new.data,
        };
        sqlx::query(
            "INSERT INTO live_events (seq, at, kind, subject_id, org_ids, doc) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(event.seq)
        .bind(us(event.at))
        .bind(event.kind.clone())
        .bind(event.subject_id.clone())
        .bind(crate::rows::list_json(&event.org_ids))
        .bind(encode(&event)?)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
        Ok(event)
    }
}

#[async_trait]
impl AlertRepository for Store {
    async fn list_alert_rules(&self) -> CoreResult<Vec<StoredRule>> {
        let rows = sqlx::query("SELECT doc FROM alert_rules ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("alert rule", &text(r, "doc")?)).collect()
    }

    async fn put_alert_rule(&self, rule: &StoredRule, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let doc = encode(rule)?;
        if rule.version <= 1 {
            sqlx::query(
                "INSERT INTO alert_rules (id, version, updated_at, updated_by, doc) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(rule.rule.id.clone())
            .bind(rule.version)
            .bind(us(rule.updated_at))
            .bind(rule.updated_by.clone())
            .bind(doc)
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                CoreError::Conflict(_) => {
                    CoreError::Conflict(format!("a rule '{}' exists already", rule.rule.id))
                }
                other => other,
            })?;
        } else {
            let done = sqlx::query(
                "UPDATE alert_rules SET version = $1, updated_at = $2, updated_by = $3, doc = $4 \
                 WHERE id = $5 AND version = $6",
            )
            .bind(rule.version)
            .bind(us(rule.updated_at))
            .bind(rule.updated_by.clone())
            .bind(doc)
            .bind(rule.rule.id.clone())
            .bind(rule.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict(format!(
                    "rule '{}' was changed by someone else meanwhile; reload it",
                    rule.rule.id
                )));
            }
        }
        self.commit_audited(tx, audit).await
    }

    async fn delete_alert_rule(&self, id: &str, audit: &AuditEvent) -> CoreResult<bool> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    async fn write_alert(&self, change: &AlertChange) -> CoreResult<(Alert, Option<LiveEvent>)> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let mut alert = change.alert.clone();
        let open_key = alert.state.is_open().then(|| alert.dedup_key.clone());
        if change.new {
            let row = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM alerts")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            alert.number = int(&row, "n")? + 1;
            alert.version = 1;
            sqlx::query(
                "INSERT INTO alerts (id, number, dedup_key, open_key, rule_id, state, severity, raised_at, \
                 updated_at, version, doc, forwarded_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            )
            .bind(alert.id.clone())
            .bind(alert.number)
            .bind(alert.dedup_key.clone())
            .bind(open_key)
            .bind(alert.rule_id.clone())
            .bind(alert.state.as_str())
            .bind(alert.severity.as_str())
            .bind(us(alert.raised_at))
            .bind(us(alert.updated_at))
            .bind(alert.version)
            .bind(encode(&alert)?)
            .bind(alert.forwarded_to.clone())
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                CoreError::Conflict(_) => {
                    CoreError::Conflict(format!("an alert for '{}' is open already", alert.dedup_key))
                }
                other => other,
            })?;
        } else {
            let done = sqlx::query(
                "UPDATE alerts SET open_key = $1, state = $2, severity = $3, updated_at = $4, version = $5, \
                 doc = $6, forwarded_to = $9 WHERE id = $7 AND version = $8",
            )
            .bind(open_key)
            .bind(alert.state.as_str())
            .bind(alert.severity.as_str())
            .bind(us(alert.updated_at))
            .bind(alert.version)
            .bind(encode(&alert)?)
            .bind(alert.id.clone())
            .bind(alert.version - 1)
            .bind(alert.forwarded_to.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(CoreError::Conflict(format!(
                    "alert A-{} was changed by someone else meanwhile; reload it",
                    alert.number
                )));
            }
        }
        if !change.steps.is_empty() {
            let row = sqlx::query("SELECT COALESCE(MAX(pos), 0) AS n FROM alert_steps WHERE alert_id = $1")
                .bind(alert.id.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            let mut pos = int(&row, "n")?;
            for step in &change.steps {
                pos += 1;
                let step = AlertStep { pos, alert_id: alert.id.clone(), ..step.clone() };
                sqlx::query("INSERT INTO alert_steps (alert_id, pos, doc) VALUES ($1,$2,$3)")
                    .bind(alert.id.clone())
                    .bind(pos)
                    .bind(encode(&step)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        for n in &change.notices {
            let n = haidang_core::alerts::notices::AlertNotice { alert_id: alert.id.clone(), ..n.clone() };
            sqlx::query(
                "INSERT INTO alert_notices (id, alert_id, state, next_at, doc) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(n.id.clone())
            .bind(n.alert_id.clone())
            .bind(n.state.clone())
            .bind(us(n.next_at))
            .bind(encode(&n)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let live = match &change.live {
            Some(kind) => Some(
                self.insert_live_in(
                    &mut tx,
                    NewLive {
                        at: alert.updated_at,
                        kind,
                        subject_id: &alert.id,
                        org_ids: alert.org_ids(),
                        severity: Some(alert.severity),
                        data: json!(alert),
                    },
                )
                .await?,
            ),
            None => None,
        };
        match &change.audit {
            Some(audit) => self.commit_audited(tx, audit).await?,
            None => {
                tx.commit().await.map_err(db_err)?;
                self.notify_committed();
            }
        }
        Ok((alert, live))
    }

    async fn get_alert(&self, id: &str) -> CoreResult<Option<Alert>> {
        let row = sqlx::query("SELECT doc FROM alerts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(alert_of).transpose()
    }

    async fn alert_by_number(&self, number: i64) -> CoreResult<Option<Alert>> {
        let row = sqlx::query("SELECT doc FROM alerts WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(alert_of).transpose()
    }

    async fn open_alerts(&self) -> CoreResult<Vec<Alert>> {
        let rows = sqlx::query("SELECT doc FROM alerts WHERE open_key IS NOT NULL ORDER BY number")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(alert_of).collect()
    }

    async fn list_alerts(&self, f: &AlertFilter) -> CoreResult<Vec<Alert>> {
        // The states are the enum's own words, never the caller's text: written into the SQL.
        let states: Vec<String> = f.states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "SELECT doc FROM alerts WHERE {} ($1 IS NULL OR rule_id = $1) AND ($2 IS NULL OR raised_at >= $2) \
             AND ($3 IS NULL OR raised_at < $3) AND ($6 IS NULL OR forwarded_to = $6) \
             ORDER BY number DESC LIMIT $4 OFFSET $5",
            if states.is_empty() { String::new() } else { format!("state IN ({}) AND", states.join(",")) }
        );
        let q = sqlx::query(&sql)
            .bind(f.rule_id.clone())
            .bind(f.raised_from.map(us))
            .bind(f.raised_to.map(us))
            .bind(if f.limit > 0 { f.limit } else { 100 })
            .bind(f.offset.max(0))
            .bind(f.forwarded_to.clone());
        let rows = q.fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(alert_of).collect()
    }

    async fn alert_steps(&self, id: &str) -> CoreResult<Vec<AlertStep>> {
        let rows = sqlx::query("SELECT doc FROM alert_steps WHERE alert_id = $1 ORDER BY pos")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("alert step", &text(r, "doc")?)).collect()
    }

    async fn live_events(&self, after: i64, limit: i64) -> CoreResult<Vec<LiveEvent>> {
        let rows =
            sqlx::query("SELECT seq, at, org_ids, doc FROM live_events WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after)
                .bind(limit.clamp(1, 10_000))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter().map(live_of).collect()
    }

    async fn prune_live_events(&self, before: jiff::Timestamp) -> CoreResult<u64> {
        let _guard = self.write_lock.lock().await;
        let done = sqlx::query(
            "DELETE FROM live_events WHERE at < $1 AND seq < (SELECT COALESCE(MAX(seq), 0) FROM live_events)",
        )
        .bind(us(before))
        .execute(&self.writes)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn due_alert_notices(
        &self,
        at: jiff::Timestamp,
        limit: i64,
    ) -> CoreResult<Vec<haidang_core::alerts::notices::AlertNotice>> {
        let rows = sqlx::query(
            "SELECT doc FROM alert_notices WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2",
        )
        .bind(us(at))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| decode("alert notice", &text(r, "doc")?)).collect()
    }

    async fn update_alert_notice(&self, n: &haidang_core::alerts::notices::AlertNotice) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        sqlx::query("UPDATE alert_notices SET state = $1, next_at = $2, doc = $3 WHERE id = $4")
            .bind(n.state.clone())
            .bind(us(n.next_at))
            .bind(encode(n)?)
            .bind(n.id.clone())
            .execute(&self.writes)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn alert_notices(
        &self,
        alert_id: &str,
    ) -> CoreResult<Vec<haidang_core::alerts::notices::AlertNotice>> {
        let rows = sqlx::query("SELECT doc FROM alert_notices WHERE alert_id = $1 ORDER BY id")
            .bind(alert_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| decode("alert notice", &text(r, "doc")?)).collect()
    }

    async fn live_head(&self) -> CoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM live_events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        int(&row, "n")
    }
}
