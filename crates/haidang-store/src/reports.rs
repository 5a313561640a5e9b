//! Citizen reports in the store: the columns lists filter on beside a JSON document of the rest;
//! steps, assignments and extension requests as documents; categories, routes and the
//! working-time calendar's edited years.

use async_trait::async_trait;
use haidang_core::audit::AuditEvent;
use haidang_core::repo::{ReportChange, ReportFilter, ReportRepository};
use haidang_core::reports::model::{
    Assignment, CitizenReport, ExtensionRequest, ReportCategory, ReportMedia, ReportStep, Route,
};
use haidang_core::{CoreError, CoreResult};
use std::collections::BTreeMap;

use haidang_core::audit::AuditRecord;
use haidang_core::reports::tally::{add_change, TallyFacts};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use tokio::sync::oneshot;

use crate::rows::{int, opt_text, text};
use crate::{db_err, Store};

const REPORT_COLUMNS: &str = "number, tracking_hash, contact_sealed, doc";

fn decode<T: serde::de::DeserializeOwned>(what: &str, doc: &str) -> CoreResult<T> {
    serde_json::from_str(doc).map_err(|e| CoreError::Storage(format!("{what}: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> CoreResult<String> {
    serde_json::to_string(value).map_err(|e| CoreError::Internal(e.to_string()))
}

fn report_from_row(row: &AnyRow) -> CoreResult<CitizenReport> {
    let mut report: CitizenReport = decode("citizen report", &text(row, "doc")?)?;
    report.number = int(row, "number")?;
    report.tracking_hash = text(row, "tracking_hash")?;
    report.contact_sealed = opt_text(row, "contact_sealed")?;
    Ok(report)
}

fn docs<T: serde::de::DeserializeOwned>(what: &str, rows: &[AnyRow]) -> CoreResult<Vec<T>> {
    rows.iter().map(|r| decode(what, &text(r, "doc")?)).collect()
}

impl Store {
    async fn write_report_parts(
        &self,
        tx: &mut Transaction<'static, Any>,
        change: &ReportChange,
    ) -> CoreResult<()> {
        let id = change.report.id.clone();
        // A step may be recorded on another report too (the original a duplicate was merged into).
        for step in &change.steps {
            let pos: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(pos), 0) + 1 FROM citizen_report_steps WHERE report_id = $1",
            )
            .bind(step.report_id.clone())
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO citizen_report_steps (report_id, pos, at, action, doc) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(step.report_id.clone())
            .bind(pos)
            .bind(step.at.as_microsecond())
            .bind(step.action.clone())
            .bind(encode(step)?)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        self.attach_media_in(tx, &id, &change.attach_media).await?;
        self.insert_notices_in(tx, &change.notices).await?;
        for a in &change.assignments {
            sqlx::query("DELETE FROM citizen_report_assignments WHERE report_id = $1 AND org_id = $2")
                .bind(id.clone())
                .bind(a.org_id.clone())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO citizen_report_assignments (report_id, org_id, ended, doc) VALUES ($1,$2,$3,$4)",
            )
            .bind(id.clone())
            .bind(a.org_id.clone())
            .bind(i64::from(a.ended_at.is_some()))
            .bind(encode(a)?)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        for e in &change.extensions {
            sqlx::query("DELETE FROM citizen_report_extensions WHERE id = $1")
                .bind(e.id.clone())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO citizen_report_extensions (id, report_id, state, doc) VALUES ($1,$2,$3,$4)",
            )
            .bind(e.id.clone())
            .bind(id.clone())
            .bind(e.state.as_str())
            .bind(encode(e)?)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn finish(&self, tx: Transaction<'static, Any>, audit: Option<&AuditEvent>) -> CoreResult<()> {
        match audit {
            Some(audit) => self.commit_audited(tx, audit).await,
            None => {
                tx.commit().await.map_err(db_err)?;
                self.notify_committed();
                Ok(())
            }
        }
    }
}

/// Changes waiting for the intake's group commit, each with where its answer goes.
pub(crate) type PendingReports = std::sync::Mutex<Vec<(ReportChange, oneshot::Sender<CoreResult<i64>>)>>;

/// The line is only pushed to and emptied whole, never left half-changed: poisoning is ignored.
fn lock_pending(
    pending: &PendingReports,
) -> std::sync::MutexGuard<'_, Vec<(ReportChange, oneshot::Sender<CoreResult<i64>>)>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// A report's place in the intake line, given up when its request is dropped before a writer
/// took it (once taken, the entry is gone and this does nothing).
struct InLine<'a> {
    pending: &'a PendingReports,
    id: &'a str,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        lock_pending(self.pending).retain(|(c, _)| c.report.id != self.id);
    }
}

/// Reports in one transaction of the intake, at most: a larger line is written in several.
const MAX_INTAKE_GROUP: usize = 500;

impl Store {
    /// Writes a line of new reports, holding the write lock: each chunk in one transaction; a
    /// chunk that fails is written again report by report, so one bad report (a photo already
    /// taken, say) fails alone.
    async fn write_intake_group(&self, waiting: Vec<(ReportChange, oneshot::Sender<CoreResult<i64>>)>) {
        let mut waiting = waiting.into_iter().peekable();
        while waiting.peek().is_some() {
            let chunk: Vec<_> = waiting.by_ref().take(MAX_INTAKE_GROUP).collect();
            let changes: Vec<&ReportChange> = chunk.iter().map(|(c, _)| c).collect();
            match self.insert_reports_in_one(&changes).await {
                Ok((numbers, record)) => {
                    for ((_, done), number) in chunk.into_iter().zip(numbers) {
                        let _ = done.send(Ok(number));
                    }
                    self.after_insert(record.as_ref()).await;
                }
                Err(e) if chunk.len() == 1 => {
                    if let Some((_, done)) = chunk.into_iter().next() {
                        let _ = done.send(Err(e));
                    }
                }
                Err(_) => {
                    for (change, done) in chunk {
                        let result = self.insert_reports_in_one(&[&change]).await;
                        let record = result.as_ref().ok().and_then(|(_, r)| r.clone());
                        let _ = done.send(result.map(|(numbers, _)| numbers.first().copied().unwrap_or(0)));
                        self.after_insert(record.as_ref()).await;
                    }
                }
            }
        }
    }

    /// The number of the report with this id if it is written, read on the writing connection
    /// (after whatever was last sent on it has finished).
    async fn written_number(&self, id: &str) -> CoreResult<Option<i64>> {
        let mut tx = self.begin().await?;
        let number: Option<i64> = sqlx::query_scalar("SELECT number FROM citizen_reports WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.rollback().await.map_err(db_err)?;
        Ok(number)
    }

    async fn after_insert(&self, record: Option<&AuditRecord>) {
        match record {
            Some(r) => self.after_commit(r).await,
            None => self.notify_committed(),
        }
    }

    /// Inserts the reports, their parts, tallies and audit records in one transaction; answers
    /// their numbers and the last audit record written.
    async fn insert_reports_in_one(
        &self,
        changes: &[&ReportChange],
    ) -> CoreResult<(Vec<i64>, Option<AuditRecord>)> {
        let mut tx = self.begin().await?;
        let mut number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM citizen_reports")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut numbers = Vec::with_capacity(changes.len());
        let mut cells = BTreeMap::new();
        let mut audits = Vec::new();
        for change in changes {
            let r = &change.report;
            let q = sqlx::query(
                "INSERT INTO citizen_reports (id, number, tracking_hash, category, state, agency_id, unit_code, \
                 channel, urgency, lon, lat, received_at, updated_at, deadline_at, paused_at, published_at, \
                 answered_at, closed_at, rating, version, contact_sealed, doc) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)",
            )
            .bind(r.id.clone())
            .bind(number)
            .bind(r.tracking_hash.clone());
            bind_report(q, r, encode(r)?).execute(&mut *tx).await.map_err(db_err)?;
            self.write_report_parts(&mut tx, change).await?;
            add_change(&mut cells, None, Some(&TallyFacts::of(r)));
            audits.extend(change.audit.clone());
            numbers.push(number);
            number += 1;
        }
        self.move_tallies(&mut tx, &cells).await?;
        let records = self.append_many_in_tx(&mut tx, &audits).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((numbers, records.last().cloned()))
    }
}

/// The columns of a report row besides its id and number, in the order the statements bind them.
pub(crate) fn bind_report<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    r: &CitizenReport,
    doc: String,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(r.category.clone())
        .bind(r.state.as_str())
        .bind(r.agency_id.clone())
        .bind(r.unit_code.clone())
        .bind(r.channel.as_str())
        .bind(r.urgency.as_str())
        .bind(r.lon)
        .bind(r.lat)
        .bind(r.received_at.as_microsecond())
        .bind(r.updated_at.as_microsecond())
        .bind(r.deadline_at.map(|t| t.as_microsecond()))
        .bind(r.paused_at.map(|t| t.as_microsecond()))
        .bind(r.published_at.map(|t| t.as_microsecond()))
        .bind(r.answered_at.map(|t| t.as_microsecond()))
        .bind(r.closed_at.map(|t| t.as_microsecond()))
        .bind(r.rating.map(i64::from))
        .bind(r.version)
        .bind(r.contact_sealed.clone())
        .bind(doc)
}

#[async_trait]
impl ReportRepository for Store {
    async fn list_report_categories(&self) -> CoreResult<Vec<ReportCategory>> {
        let rows = sqlx::query("SELECT doc FROM report_categories ORDER BY code")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        docs("report category", &rows)
    }

    async fn put_report_categories(
        &self,
        categories: &[ReportCategory],
        audit: &AuditEvent,
    ) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        for c in categories {
            sqlx::query("DELETE FROM report_categories WHERE code = $1")
                .bind(c.code.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query("INSERT INTO report_categories (code, doc) VALUES ($1, $2)")
                .bind(c.code.clone())
                .bind(encode(c)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn list_report_routes(&self) -> CoreResult<Vec<Route>> {
        let rows = sqlx::query(
            "SELECT category, unit_code, org_code FROM report_routes ORDER BY category, unit_code",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let unit = text(r, "unit_code")?;
                Ok(Route {
                    category: text(r, "category")?,
                    unit_code: (!unit.is_empty()).then_some(unit),
                    org_code: text(r, "org_code")?,
                })
            })
            .collect()
    }

    async fn replace_report_routes(&self, routes: &[Route], audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM report_routes").execute(&mut *tx).await.map_err(db_err)?;
        for r in routes {
            sqlx::query("INSERT INTO report_routes (category, unit_code, org_code) VALUES ($1, $2, $3)")
                .bind(r.category.clone())
                .bind(r.unit_code.clone().unwrap_or_default())
                .bind(r.org_code.clone())
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    CoreError::Conflict(_) => CoreError::validation(
                        "routes",
                        format!(
                            "category '{}' has two rows for '{}'",
                            r.category,
                            r.unit_code.as_deref().unwrap_or("*")
                        ),
                    ),
                    other => other,
                })?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn calendar_years(&self) -> CoreResult<Vec<(i16, String)>> {
        let rows = sqlx::query("SELECT year, doc FROM calendar_years ORDER BY year")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok((int(r, "year")? as i16, text(r, "doc")?))).collect()
    }

    async fn put_calendar_year(&self, year: i16, doc: Option<&str>, audit: &AuditEvent) -> CoreResult<()> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM calendar_years WHERE year = $1")
            .bind(i64::from(year))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(doc) = doc {
            sqlx::query("INSERT INTO calendar_years (year, doc) VALUES ($1, $2)")
                .bind(i64::from(year))
                .bind(doc.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.commit_audited(tx, audit).await
    }

    async fn insert_report(&self, change: &ReportChange) -> CoreResult<i64> {
        // Group commit: the change waits in line; whoever takes the write lock first writes all
        // that wait, in one transaction, and answers each. Intake is many small reports at once,
        // and a commit (a sync to disk) per report was the ceiling.
        loop {
            let (done, mut answer) = tokio::sync::oneshot::channel();
            lock_pending(&self.pending_reports).push((change.clone(), done));
            // A request dropped while it waits (the client gone, a timeout) takes its report out
            // of the line: it must not be written later, unanswered.
            let _in_line = InLine { pending: &self.pending_reports, id: &change.report.id };
            let _guard = self.write_lock.lock().await;
            match answer.try_recv() {
                Ok(result) => return result,
                // The writer that took this change was stopped before it answered. Its commit
                // may have landed: this transaction waits for the one writing connection, so it
                // sees the outcome, and the report is not written twice.
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                    if let Some(number) = self.written_number(&change.report.id).await? {
                        return Ok(number);
                    }
                    continue;
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
            }
            let waiting = std::mem::take(&mut *lock_pending(&self.pending_reports));
            self.write_intake_group(waiting).await;
            return answer.await.unwrap_or_else(|_| {
                Err(CoreError::Internal("the report's group was written without an answer".into()))
            });
        }
    }

    async fn update_report(&self, change: &ReportChange) -> CoreResult<()> {
        let r = &change.report;
        let doc = encode(r)?;
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        let old = self.facts_in(&mut tx, &r.id).await?;
        let q = sqlx::query(
            "UPDATE citizen_reports SET category = $1, state = $2, agency_id = $3, unit_code = $4, channel = $5, \
             urgency = $6, lon = $7, lat = $8, received_at = $9, updated_at = $10, deadline_at = $11, \
             paused_at = $12, published_at = $13, answered_at = $14, closed_at = $15, rating = $16, version = $17, \
             contact_sealed = $18, doc = $19 WHERE id = $20 AND version = $21",
        )
        .persistent(false);
        let done = bind_report(q, r, doc)
            .bind(r.id.clone())
            .bind(r.version - 1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Err(CoreError::Conflict(format!(
                "report {} was changed by someone else meanwhile; reload it and try again",
                r.number
            )));
        }
        let mut cells = BTreeMap::new();
        add_change(&mut cells, old.as_ref(), Some(&TallyFacts::of(r)));
        self.move_tallies(&mut tx, &cells).await?;
        self.write_report_parts(&mut tx, change).await?;
        self.finish(tx, change.audit.as_ref()).await
    }

    async fn get_report(&self, id: &str) -> CoreResult<Option<CitizenReport>> {
        let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM citizen_reports WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(report_from_row).transpose()
    }

    async fn report_by_number(&self, number: i64) -> CoreResult<Option<CitizenReport>> {
        let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM citizen_reports WHERE number = $1"))
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(report_from_row).transpose()
    }

    async fn report_by_tracking(&self, hash: &str) -> CoreResult<Option<CitizenReport>> {
        let row =
            sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM citizen_reports WHERE tracking_hash = $1"))
                .bind(hash.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        row.as_ref().map(report_from_row).transpose()
    }

    async fn list_reports(&self, f: &ReportFilter) -> CoreResult<Vec<CitizenReport>> {
        // Conditions are added only when given, so no statement binds a typed NULL.
        let mut sql = format!("SELECT {REPORT_COLUMNS} FROM citizen_reports WHERE 1 = 1");
        let mut n = 0;
        let mut arg = || {
            n += 1;
            format!("${n}")
        };
        let states: Vec<String> = f.states.iter().map(|_| arg()).collect();
        if !states.is_empty() {
            sql += &format!(" AND state IN ({})", states.join(","));
        }
        if f.agency_id.is_some() {
            let (a, b) = (arg(), arg());
            sql += &format!(
                " AND (agency_id = {a} OR id IN (SELECT report_id FROM citizen_report_assignments \
                 WHERE org_id = {b} AND ended = 0))"
            );
        }
        let categories: Vec<String> = f.categories.iter().map(|_| arg()).collect();
        if !categories.is_empty() {
            sql += &format!(" AND category IN ({})", categories.join(","));
        }
        if f.unit_code.is_some() {
            sql += &format!(" AND unit_code = {}", arg());
        }
        if f.channel.is_some() {
            sql += &format!(" AND channel = {}", arg());
        }
        let numbers: Vec<String> = f.numbers.iter().map(|_| arg()).collect();
        if !numbers.is_empty() {
            sql += &format!(" AND number IN ({})", numbers.join(","));
        }
        if f.published_only {
            sql += " AND published_at IS NOT NULL";
        }
        if f.received_from.is_some() {
            sql += &format!(" AND received_at >= {}", arg());
        }
        if f.received_to.is_some() {
            sql += &format!(" AND received_at < {}", arg());
        }
        if f.deadline_before.is_some() {
            sql += &format!(" AND deadline_at < {} AND paused_at IS NULL", arg());
        }
        if f.within.is_some() {
            let (a, b, c, d) = (arg(), arg(), arg(), arg());
            sql += &format!(" AND lon >= {a} AND lat >= {b} AND lon <= {c} AND lat <= {d}");
        }
        sql += if f.oldest_first {
            " ORDER BY received_at, number"
        } else {
            " ORDER BY received_at DESC, number DESC"
        };
        sql += &format!(" LIMIT {} OFFSET {}", f.limit.clamp(1, 100_000), f.offset.max(0));

        let mut q = sqlx::query(&sql).persistent(false);
        for s in &f.states {
            q = q.bind(s.as_str());
        }
        if let Some(a) = &f.agency_id {
            q = q.bind(a.clone()).bind(a.clone());
        }
        for c in &f.categories {
            q = q.bind(c.clone());
        }
        if let Some(u) = &f.unit_code {
            q = q.bind(u.clone());
        }
        if let Some(c) = f.channel {
            q = q.bind(c.as_str());
        }
        for number in &f.numbers {
            q = q.bind(*number);
        }
        if let Some(t) = f.received_from {
            q = q.bind(t.as_microsecond());
        }
        if let Some(t) = f.received_to {
            q = q.bind(t.as_microsecond());
        }
        if let Some(t) = f.deadline_before {
            q = q.bind(t.as_microsecond());
        }
        if let Some((a, b, c, d)) = f.within {
            q = q.bind(a).bind(b).bind(c).bind(d);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(report_from_row).collect()
    }

    async fn report_steps(&self, id: &str) -> CoreResult<Vec<ReportStep>> {
        let rows = sqlx::query("SELECT doc FROM citizen_report_steps WHERE report_id = $1 ORDER BY pos")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        docs("report step", &rows)
    }

    async fn report_assignments(&self, id: &str) -> CoreResult<Vec<Assignment>> {
        let rows =
            sqlx::query("SELECT doc FROM citizen_report_assignments WHERE report_id = $1 ORDER BY org_id")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        docs("report assignment", &rows)
    }

    async fn insert_media(&self, media: &ReportMedia, original: &[u8], public: &[u8]) -> CoreResult<()> {
        self.insert_media_row(media, original, public).await
    }

    async fn list_media(&self, report_id: &str) -> CoreResult<Vec<ReportMedia>> {
        self.list_media_rows(report_id).await
    }

    async fn get_media(&self, id: &str) -> CoreResult<Option<ReportMedia>> {
        self.get_media_row(id).await
    }

    async fn media_bytes(&self, id: &str, original: bool) -> CoreResult<Option<Vec<u8>>> {
        self.media_bytes_of(id, original).await
    }

    async fn replace_public_media(&self, id: &str, public: &[u8], audit: &AuditEvent) -> CoreResult<()> {
        self.replace_public_copy(id, public, audit).await
    }

    async fn delete_orphan_media(&self, before: jiff::Timestamp) -> CoreResult<u64> {
        self.delete_orphans(before).await
    }

    async fn report_counts(
        &self,
        group: haidang_core::reports::stats::Group,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        at: jiff::Timestamp,
    ) -> CoreResult<Vec<haidang_core::reports::stats::Counts>> {
        self.count_reports(group, from, to, at).await
    }

    async fn due_report_notices(
        &self,
        at: jiff::Timestamp,
        limit: i64,
    ) -> CoreResult<Vec<haidang_core::reports::notices::ReportNotice>> {
        self.due_notices(at, limit).await
    }

    async fn update_report_notice(
        &self,
        notice: &haidang_core::reports::notices::ReportNotice,
    ) -> CoreResult<()> {
        self.update_notice(notice).await
    }

    async fn report_notices(
        &self,
        report_id: &str,
    ) -> CoreResult<Vec<haidang_core::reports::notices::ReportNotice>> {
        self.notices_of(report_id).await
    }

    async fn report_extensions(&self, id: &str) -> CoreResult<Vec<ExtensionRequest>> {
        let rows = sqlx::query("SELECT doc FROM citizen_report_extensions WHERE report_id = $1 ORDER BY id")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        docs("extension request", &rows)
    }
}
