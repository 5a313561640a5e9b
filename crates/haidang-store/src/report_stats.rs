//! The statistics of citizen reports: the running tallies (`reports::tally`) moved with each
//! write of a report, and the figures for a period added up from them; the part of a period that
//! does not cover whole days, and overdue (which depends on the hour of asking), counted from the
//! reports themselves.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use haidang_core::reports::model::ReportState;
use haidang_core::reports::stats::{Counts, Group};
use haidang_core::reports::tally::{
    add_change, day_of, day_start, CellKey, Tally, TallyFacts, HOUR_BUCKETS, MEASURE_COLUMNS,
};
use haidang_core::{CoreError, CoreResult};
use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::rows::{int, opt_text, opt_ts, text, ts};
use crate::{db_err, Store};

/// The columns of a report the figures depend on.
pub(crate) const FACT_COLUMNS: &str =
    "state, agency_id, category, unit_code, channel, received_at, answered_at, deadline_at, rating";

/// The PostgreSQL advisory lock a recount of the tallies holds ("HDTALLY").
const TALLY_REBUILD_LOCK: i64 = 0x0048_4454_414c_4c59;

/// Cells written per statement: 28 values each, well under both backends' limits (SQLite's
/// anonymous `?` marks, see `Store::placeholders`, keep its prepare linear in them).
const CELLS_PER_STATEMENT: usize = 200;

pub(crate) fn facts_from_row(row: &AnyRow) -> CoreResult<TallyFacts> {
    let state = text(row, "state")?;
    Ok(TallyFacts {
        state: ReportState::parse(&state)
            .ok_or_else(|| CoreError::Storage(format!("citizen report: unknown state '{state}'")))?,
        agency_id: opt_text(row, "agency_id")?,
        category: text(row, "category")?,
        unit_code: opt_text(row, "unit_code")?,
        channel: text(row, "channel")?,
        received_at: ts(row, "received_at")?,
        answered_at: opt_ts(row, "answered_at")?,
        deadline_at: opt_ts(row, "deadline_at")?,
        rating: crate::rows::opt_int(row, "rating")?,
    })
}

/// The tallies' counted columns: the measures, then the histogram's buckets.
fn counted_columns() -> Vec<String> {
    MEASURE_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain((0..HOUR_BUCKETS.len()).map(|i| format!("h{i}")))
        .collect()
}

fn tally_from_row(row: &AnyRow) -> CoreResult<Tally> {
    let mut measures = [0; MEASURE_COLUMNS.len()];
    for (m, c) in measures.iter_mut().zip(MEASURE_COLUMNS) {
        *m = int(row, c)?;
    }
    let mut hours = [0; HOUR_BUCKETS.len()];
    for (i, h) in hours.iter_mut().enumerate() {
        *h = int(row, &format!("h{i}"))?;
    }
    Ok(Tally::from_measures(measures, hours))
}

impl Store {
    /// What the report with this id counts for now, read inside the writing transaction.
    pub(crate) async fn facts_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
    ) -> CoreResult<Option<TallyFacts>> {
        let row = sqlx::query(&format!("SELECT {FACT_COLUMNS} FROM citizen_reports WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
        row.as_ref().map(facts_from_row).transpose()
    }

    /// Adds each cell's change to its row of the tallies, creating the rows not there yet.
    pub(crate) async fn move_tallies(
        &self,
        tx: &mut Transaction<'static, Any>,
        cells: &BTreeMap<CellKey, Tally>,
    ) -> CoreResult<()> {
        let columns = counted_columns();
        let width = 3 + columns.len();
        let cells: Vec<(&CellKey, &Tally)> = cells.iter().collect();
        for chunk in cells.chunks(CELLS_PER_STATEMENT) {
            let sets: Vec<String> =
                columns.iter().map(|c| format!("{c} = citizen_report_tallies.{c} + excluded.{c}")).collect();
            let sql = format!(
                "INSERT INTO citizen_report_tallies (split, local_day, member, {}) VALUES {} \
                 ON CONFLICT (split, local_day, member) DO UPDATE SET {}",
                columns.join(", "),
                self.placeholders(chunk.len(), width),
                sets.join(", ")
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (key, t) in chunk {
                q = q.bind(key.split).bind(key.day).bind(key.member.clone());
                for m in t.measures() {
                    q = q.bind(m);
                }
                for h in t.hours {
                    q = q.bind(h);
                }
            }
            q.execute(&mut **tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// Counts every report into the tallies afresh: for a database whose reports were written
    /// before the tallies existed. Answers how many reports were counted.
    pub async fn rebuild_report_tallies(&self) -> CoreResult<u64> {
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        // Two servers starting together on one PostgreSQL database would both count; the
        // second waits here, then deletes the first's count and makes its own, so the result
        // is one count. (SQLite has one writer at a time already.)
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(TALLY_REBUILD_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query("DELETE FROM citizen_report_tallies").execute(&mut *tx).await.map_err(db_err)?;
        let mut cells = BTreeMap::new();
        let mut counted = 0;
        {
            let sql = format!("SELECT {FACT_COLUMNS} FROM citizen_reports");
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                add_change(&mut cells, None, Some(&facts_from_row(&row)?));
                counted += 1;
            }
        }
        self.move_tallies(&mut tx, &cells).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(counted)
    }

    /// True when reports exist but no tallies: a database from before the tallies.
    pub(crate) async fn tallies_missing(&self) -> CoreResult<bool> {
        let reports: Option<i64> = sqlx::query_scalar("SELECT 1 FROM citizen_reports LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let tallies: Option<i64> = sqlx::query_scalar("SELECT 1 FROM citizen_report_tallies LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(reports.is_some() && tallies.is_none())
    }

    /// The figures of the reports received in [from, to): whole local days from the tallies, the
    /// ends of the period that are not whole days from the reports, overdue as of `at`.
    pub(crate) async fn count_reports(
        &self,
        group: Group,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> CoreResult<Vec<Counts>> {
        let mut by_key: BTreeMap<String, Tally> = BTreeMap::new();
        let first_whole = day_of(from) + i64::from(day_start(day_of(from)) != from);
        // A period up to now (the usual one) has no reports after its end: then the last day's
        // tally is whole, and a busy day's intake is not counted one by one.
        let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(received_at) FROM citizen_reports")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let nothing_after = latest.is_none_or(|l| l < to.as_microsecond());
        let end_whole = day_of(to) + i64::from(nothing_after);
        if first_whole < end_whole {
            self.add_tallied(group, first_whole, end_whole, &mut by_key).await?;
            self.add_counted(group, from, day_start(first_whole), &mut by_key).await?;
            self.add_counted(group, day_start(end_whole), to, &mut by_key).await?;
        } else {
            self.add_counted(group, from, to, &mut by_key).await?;
        }
        let overdue = self.count_overdue(group, from, to, at).await?;
        Ok(by_key
            .into_iter()
            .filter(|(_, t)| t.received > 0)
            .map(|(key, t)| {
                let late = overdue.get(&key).copied().unwrap_or(0);
                Counts::new(key, &t, late)
            })
            .collect())
    }

    /// Adds the tallies of local days [first, end).
    async fn add_tallied(
        &self,
        group: Group,
        first: i64,
        end: i64,
        by_key: &mut BTreeMap<String, Tally>,
    ) -> CoreResult<()> {
        // Every split counts every report once: the total is any split's sum.
        let split = if group == Group::All { Group::Channel } else { group };
        // PostgreSQL answers SUM of BIGINT as NUMERIC: each is cast back.
        let sums: Vec<String> =
            counted_columns().iter().map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}")).collect();
        let sql = format!(
            "SELECT member, {} FROM citizen_report_tallies WHERE split = $1 AND local_day >= $2 AND local_day < $3 \
             GROUP BY member",
            sums.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(split.as_str())
            .bind(first)
            .bind(end)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        for row in &rows {
            let key = if group == Group::All { "all".to_string() } else { text(row, "member")? };
            by_key.entry(key).or_default().add(&tally_from_row(row)?, 1);
        }
        Ok(())
    }

    /// Adds the reports received in [from, to), counted one by one (less than a day's worth).
    async fn add_counted(
        &self,
        group: Group,
        from: Timestamp,
        to: Timestamp,
        by_key: &mut BTreeMap<String, Tally>,
    ) -> CoreResult<()> {
        if to <= from {
            return Ok(());
        }
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM citizen_reports WHERE received_at >= $1 AND received_at < $2"
        );
        let rows = sqlx::query(&sql)
            .bind(from.as_microsecond())
            .bind(to.as_microsecond())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        for row in &rows {
            let facts = facts_from_row(row)?;
            by_key.entry(facts.member(group).to_string()).or_default().add(&facts.tally(), 1);
        }
        Ok(())
    }

    /// Reports with an agency, past their deadline at `at`, with the clock running.
    async fn count_overdue(
        &self,
        group: Group,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> CoreResult<BTreeMap<String, i64>> {
        let key = group.column();
        // The conditions repeat the open-deadlines index's, so the database reads only it.
        // SQLite, without statistics, prefers the index by state and then reads every open
        // report's row (0.6 s at a million reports, against 10 ms): it is told which index.
        let hint = match self.backend {
            crate::Backend::Sqlite => " INDEXED BY citizen_reports_open_deadlines",
            crate::Backend::Postgres => "",
        };
        let sql = format!(
            "SELECT COALESCE({key}, '') AS k, COUNT(*) AS n FROM citizen_reports{hint} \
             WHERE state IN ('assigned', 'accepted', 'in_progress') AND paused_at IS NULL \
             AND deadline_at < $3 AND received_at >= $1 AND received_at < $2 GROUP BY COALESCE({key}, '')"
        );
        let rows = sqlx::query(&sql)
            .bind(from.as_microsecond())
            .bind(to.as_microsecond())
            .bind(at.as_microsecond())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok((text(r, "k")?, int(r, "n")?))).collect()
    }
}

impl Store {
    /// For loading history and for benchmarks: the next report number, the organisations' ids
    /// and the province's communes.
    pub async fn bulk_context(&self, province: &str) -> CoreResult<(i64, Vec<String>, Vec<String>)> {
        let first: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM citizen_reports")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let orgs: Vec<String> =
            sqlx::query_scalar("SELECT id FROM orgs").fetch_all(&self.pool).await.map_err(db_err)?;
        let units: Vec<String> = sqlx::query_scalar("SELECT code FROM units WHERE parent_code = $1")
            .bind(province.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok((first, orgs, units))
    }

    /// Writes reports straight into their table in one statement (and their tallies), with no
    /// steps, no audit and no checks: for loading history and for benchmarks only (the service's path is
    /// `insert_report`).
    pub async fn bulk_insert_reports(
        &self,
        rows: &[haidang_core::reports::model::CitizenReport],
    ) -> CoreResult<()> {
        const COLUMNS: usize = 22;
        if rows.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO citizen_reports (id, number, tracking_hash, category, state, agency_id, unit_code, channel, \
             urgency, lon, lat, received_at, updated_at, deadline_at, paused_at, published_at, answered_at, closed_at, \
             rating, version, contact_sealed, doc) VALUES {}",
            self.placeholders(rows.len(), COLUMNS)
        );
        let mut cells = BTreeMap::new();
        let mut q = sqlx::query(&sql).persistent(false);
        for r in rows {
            add_change(&mut cells, None, Some(&TallyFacts::of(r)));
            let doc =
                serde_json::to_string(r).map_err(|e| haidang_core::CoreError::Internal(e.to_string()))?;
            // The same columns, in the same order, as the service's insert.
            q = crate::reports::bind_report(
                q.bind(r.id.clone()).bind(r.number).bind(r.tracking_hash.clone()),
                r,
                doc,
            );
        }
        let _guard = self.write_lock.lock().await;
        let mut tx = self.begin().await?;
        q.execute(&mut *tx).await.map_err(db_err)?;
        self.move_tallies(&mut tx, &cells).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
