//! NGSI-LD subscriptions and the notification outbox. A notification row lives from the
//! transaction that matched its change (with the notifier's cursor) to the one that records its
//! delivery, so a crash anywhere in between sends it again rather than never.

use std::collections::HashMap;

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::hub::subscriptions::DeliveryStatus;
use haidang_core::repo::{
    DeliveryOutcome, DeliveryRecord, NewNotification, PendingNotification, SubscriptionRepository,
    SubscriptionRow,
};
use haidang_core::CoreResult;
use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_text, opt_ts, text, ts, us};
use crate::{db_err, Store};

const COLUMNS: &str =
    "id, owner_user, owner_org, owner_token, doc, context, created_at, modified_at, times_sent, \
     times_failed, last_notification, last_success, last_failure, last_failure_reason";

fn subscription_from_row(row: &AnyRow) -> CoreResult<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: text(row, "id")?,
        owner_user: text(row, "owner_user")?,
        owner_org: text(row, "owner_org")?,
        owner_token: opt_text(row, "owner_token")?,
        doc: text(row, "doc")?,
        context: text(row, "context")?,
        created_at: ts(row, "created_at")?,
        modified_at: ts(row, "modified_at")?,
        status: DeliveryStatus {
            times_sent: int(row, "times_sent")?,
            times_failed: int(row, "times_failed")?,
            last_notification: opt_ts(row, "last_notification")?,
            last_success: opt_ts(row, "last_success")?,
            last_failure: opt_ts(row, "last_failure")?,
            last_failure_reason: opt_text(row, "last_failure_reason")?,
        },
    })
}

fn pending_from_row(row: &AnyRow) -> CoreResult<PendingNotification> {
    Ok(PendingNotification {
        seq: int(row, "seq")?,
        subscription_id: text(row, "subscription_id")?,
        data: text(row, "data")?,
        created_at: ts(row, "created_at")?,
        due_at: ts(row, "due_at")?,
        attempts: int(row, "attempts")?,
        revision: int(row, "revision")?,
    })
}

/// What a batch of outcomes does to one subscription's status.
#[derive(Default)]
struct StatusChange {
    sent: i64,
    failed: i64,
    last_notification: Option<Timestamp>,
    last_success: Option<Timestamp>,
    last_failure: Option<(Timestamp, String)>,
}

#[async_trait]
impl SubscriptionRepository for Store {
    async fn list_subscriptions(&self) -> CoreResult<Vec<SubscriptionRow>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM subscriptions ORDER BY id"))
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn get_subscription(&self, id: &str) -> CoreResult<Option<SubscriptionRow>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM subscriptions WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        row.as_ref().map(subscription_from_row).transpose()
    }

    async fn insert_subscription(&self, row: &SubscriptionRow, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO subscriptions (id, owner_user, owner_org, owner_token, doc, context, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(row.id.clone())
        .bind(row.owner_user.clone())
        .bind(row.owner_org.clone())
        .bind(row.owner_token.clone())
        .bind(row.doc.clone())
        .bind(row.context.clone())
        .bind(us(row.created_at))
        .bind(us(row.modified_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_audited(tx, audit).await
    }

    async fn update_subscription(
        &self,
        id: &str,
        doc: &str,
        modified_at: Timestamp,
        audit: &AuditEvent,
    ) -> CoreResult<bool> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE subscriptions SET doc = $1, modified_at = $2 WHERE id = $3")
            .bind(doc.to_string())
            .bind(us(modified_at))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    async fn delete_subscription(&self, id: &str, audit: &AuditEvent) -> CoreResult<bool> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM notifications WHERE subscription_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let n = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        self.commit_audited(tx, audit).await?;
        Ok(true)
    }

    async fn entity_change_head(&self) -> CoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM entity_changes")
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        int(&row, "head")
    }

    async fn enqueue_notifications(
        &self,
        items: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> CoreResult<Vec<i64>> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let mut seqs = vec![0; items.len()];
        let now = haidang_core::time::now();
        let at = us(now);
        // A lane waiting for a retry keeps its order: a new notification is due no earlier
        // than the last one already waiting in its lane.
        let mut lane_due: HashMap<String, i64> = HashMap::new();
        let mut subs: Vec<String> = items.iter().map(|n| n.subscription_id.clone()).collect();
        subs.sort_unstable();
        subs.dedup();
        for chunk in subs.chunks(self.rows_per_statement()) {
            let sql = format!(
                "SELECT subscription_id, MAX(due_at) AS due FROM notifications WHERE subscription_id IN ({}) \
                 GROUP BY subscription_id",
                self.list_marks(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&mut *tx).await.map_err(db_err)? {
                lane_due.insert(text(&row, "subscription_id")?, int(&row, "due")?);
            }
        }
        let due_of =
            |n: &NewNotification| us(n.due_at).max(lane_due.get(&n.subscription_id).copied().unwrap_or(0));
        // A throttled notification takes more entities only while it has not been taken for
        // sending: not yet tried, and not due within half a second (by this clock, so no
        // delivery can have read it in between).
        let merge_before = us(now + jiff::SignedDuration::from_millis(500));
        for (i, item) in items.iter().enumerate().filter(|(_, n)| n.track || n.replace_seq.is_some()) {
            if let Some(seq) = item.replace_seq {
                let n = sqlx::query(
                    "UPDATE notifications SET data = $1, due_at = $2, revision = revision + 1 \
                     WHERE seq = $3 AND attempts = 0 AND due_at > $4",
                )
                .bind(item.data.clone())
                .bind(us(item.due_at))
                .bind(seq)
                .bind(merge_before)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
                if n > 0 {
                    seqs[i] = seq;
                    continue;
                }
            }
            let row = sqlx::query(
                "INSERT INTO notifications (subscription_id, created_at, due_at, data) VALUES ($1, $2, $3, $4) \
                 RETURNING seq",
            )
            .bind(item.subscription_id.clone())
            .bind(at)
            .bind(due_of(item))
            .bind(item.data.clone())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            seqs[i] = int(&row, "seq")?;
        }
        // The others many rows a statement, in their order (their numbers are their order).
        let bulk: Vec<&NewNotification> =
            items.iter().filter(|n| !n.track && n.replace_seq.is_none()).collect();
        for chunk in bulk.chunks(self.rows_per_statement()) {
            let sql = format!(
                "INSERT INTO notifications (subscription_id, created_at, due_at, data) VALUES {}",
                self.placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for n in chunk {
                q = q.bind(n.subscription_id.clone()).bind(at).bind(due_of(n)).bind(n.data.clone());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        if let Some((name, seq)) = cursor {
            sqlx::query(
                "INSERT INTO event_cursors (name, seq) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            )
            .bind(name.to_string())
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(seqs)
    }

    async fn due_notifications(
        &self,
        now: Timestamp,
        skip: &[String],
        limit: i64,
    ) -> CoreResult<Vec<PendingNotification>> {
        let not_in = if skip.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (3..skip.len() + 3).map(|i| format!("${i}")).collect();
            format!(" AND subscription_id NOT IN ({})", marks.join(","))
        };
        let sql = format!(
            "SELECT seq, subscription_id, data, created_at, due_at, attempts, revision FROM notifications \
             WHERE due_at <= $1{not_in} ORDER BY seq LIMIT $2"
        );
        let mut q = sqlx::query(&sql).bind(us(now)).bind(limit.max(1));
        for s in skip {
            q = q.bind(s.clone());
        }
        let rows = q.fetch_all(self.pool()).await.map_err(db_err)?;
        rows.iter().map(pending_from_row).collect()
    }

    async fn record_deliveries(&self, outcomes: &[DeliveryRecord]) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let mut changes: HashMap<&str, StatusChange> = HashMap::new();
        for o in outcomes {
            let remove = match &o.outcome {
                DeliveryOutcome::Delivered => {
                    // An older revision was sent: the row (with what it took meanwhile) stays due.
                    sqlx::query("DELETE FROM notifications WHERE seq = $1 AND revision = $2")
                        .bind(o.seq)
                        .bind(o.revision)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    false
                }
                DeliveryOutcome::Failed { reason, retry_at: Some(retry) } => {
                    sqlx::query(
                        "UPDATE notifications SET attempts = attempts + 1, due_at = $1, last_error = $2 WHERE seq = $3",
                    )
                    .bind(us(*retry))
                    .bind(reason.clone())
                    .bind(o.seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    // The rest of its lane waits behind it, so the order holds.
                    sqlx::query(
                        "UPDATE notifications SET due_at = $1 WHERE subscription_id = $2 AND due_at < $1",
                    )
                    .bind(us(*retry))
                    .bind(o.subscription_id.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    false
                }
                DeliveryOutcome::Failed { retry_at: None, .. } | DeliveryOutcome::Orphaned => true,
            };
            if remove {
                sqlx::query("DELETE FROM notifications WHERE seq = $1")
                    .bind(o.seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            if matches!(o.outcome, DeliveryOutcome::Orphaned) {
                continue;
            }
            let c = changes.entry(o.subscription_id.as_str()).or_default();
            c.sent += 1;
            c.last_notification = c.last_notification.max(Some(o.at));
            match &o.outcome {
                DeliveryOutcome::Delivered => c.last_success = c.last_success.max(Some(o.at)),
                DeliveryOutcome::Failed { reason, .. } => {
                    c.failed += 1;
                    if c.last_failure.as_ref().is_none_or(|(t, _)| *t <= o.at) {
                        c.last_failure = Some((o.at, reason.clone()));
                    }
                }
                DeliveryOutcome::Orphaned => {}
            }
        }
        for (id, c) in changes {
            let (failure_at, reason) = match c.last_failure {
                Some((t, r)) => (Some(us(t)), Some(r)),
                None => (None, None),
            };
            sqlx::query(
                "UPDATE subscriptions SET times_sent = times_sent + $1, times_failed = times_failed + $2, \
                 last_notification = COALESCE($3, last_notification), last_success = COALESCE($4, last_success), \
                 last_failure = COALESCE($5, last_failure), last_failure_reason = COALESCE($6, last_failure_reason) \
                 WHERE id = $7",
            )
            .bind(c.sent)
            .bind(c.failed)
            .bind(c.last_notification.map(us))
            .bind(c.last_success.map(us))
            .bind(failure_at)
            .bind(reason)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn notification_backlog(&self) -> CoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT subscription_id, COUNT(*) AS waiting FROM notifications GROUP BY subscription_id ORDER BY subscription_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| Ok((text(r, "subscription_id")?, int(r, "waiting")?))).collect()
    }
}
