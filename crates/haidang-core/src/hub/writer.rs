//! The one writer of entities: requests queue here, and the writer takes all that are waiting,
//! applies them in order and commits them in one transaction (group commit). A request is
//! answered only after that commit; the in-memory index moves only after it too.
//!
//! One writer also makes read-modify-write safe without row locks: nobody else changes an entity
//! between the read and the write.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::context::ActiveContext;
use super::entity::{parse_entity, Entity, Instance, Render};
use super::error::{ErrorType, HubError, HubResult};
use super::index::{EntityIndex, Placement};
use super::ops::{apply, EntityOp, OpOutcome, HISTORY_ONLY};
use super::placement::{location_value, Placer, Tally};
use super::schema::{check_observed_at, to_key_values, TypeSchema};
use crate::accounts::Subject;
use crate::audit::{AuditEvent, Outcome};
use crate::datasets::catalog::{Catalog, Visibility, WriteRight};
use crate::datasets::model::Submission;
use crate::error::{CoreError, CoreResult};
use crate::repo::{EntityChange, EntityRow, EntityWrite, InstanceRow, Repositories, WriteSet};
use crate::time::now;

/// Upper bound of operations in one transaction: big enough to amortise the commit, small
/// enough that one group does not hold readers of the index for long.
const MAX_GROUP_OPS: usize = 20_000;

pub type Schemas = Arc<RwLock<HashMap<String, Arc<TypeSchema>>>>;

pub(crate) struct Job {
    pub subject: Subject,
    /// The audit action of the request, e.g. "entity.update".
    pub action: &'static str,
    /// Each operation with the context its entity was written in: schemas use short names, so
    /// the entity is compacted with that context before it is checked.
    pub ops: Vec<(EntityOp, Arc<ActiveContext>)>,
    pub reply: oneshot::Sender<CoreResult<Vec<HubResult<OpOutcome>>>>,
    /// All the operations or none (a form's rows): one refused refuses the others.
    pub atomic: bool,
    /// A form this job takes in, recorded in the same transaction as its rows; the entities it
    /// creates are its dataset's provider's.
    pub submission: Option<Submission>,
    /// Not a write: the catalog of datasets changed; entities of these types are filed again.
    pub recatalog: Option<(Arc<Catalog>, Vec<String>)>,
    /// Keep each written attribute instance in the history. Off for views derived from records
    /// kept elsewhere (the indicators' entities: their history is the figures' revisions), which
    /// would otherwise fill the history with copies.
    pub history: bool,
}

impl Job {
    pub fn new(
        subject: Subject,
        action: &'static str,
        ops: Vec<(EntityOp, Arc<ActiveContext>)>,
        reply: oneshot::Sender<CoreResult<Vec<HubResult<OpOutcome>>>>,
    ) -> Job {
        Job { subject, action, ops, reply, atomic: false, submission: None, recatalog: None, history: true }
    }
}

pub(crate) struct Writer {
    pub repo: Arc<dyn Repositories>,
    pub index: Arc<RwLock<EntityIndex>>,
    pub schemas: Schemas,
    /// A deleted entity's history goes with it.
    pub delete_history: bool,
    /// The entities this writer committed last, as committed: an update of a sensor that
    /// reported a moment ago needs no read and no parse of its body. Only this writer changes
    /// entities, so what it holds is what the store holds.
    pub recent: Recent,
    /// Files entities under units and datasets.
    pub placer: Placer,
}

/// The writer's last committed entities, shared with the readers that want an entity as it is
/// now (the notifier), so they need not read and parse its body either.
pub(crate) type Recent = Arc<std::sync::Mutex<HashMap<String, Entity>>>;

/// Entities the writer keeps (a few kilobytes each); past this, it starts over.
const RECENT_CAPACITY: usize = 20_000;

/// An entity as the group sees it: the state, its owner, and whether the group changed it.
#[derive(Clone)]
struct Current {
    entity: Option<Entity>,
    owner: Option<String>,
    changed: bool,
    place: Placement,
}

pub(crate) fn entity_from_row(row: &EntityRow) -> CoreResult<Entity> {
    let body: Value =
        serde_json::from_str(&row.body).map_err(|e| CoreError::Storage(format!("entity {}: {e}", row.id)))?;
    parse_entity(&body).map_err(|e| CoreError::Storage(format!("entity {}: {e}", row.id)))
}

/// The index and schema locks are never held across an await, and a panic while one is held
/// leaves data that is still consistent (each change is applied whole), so poisoning is ignored.
pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// A group's rows, written in one transaction.
/// The rows and where to say how their commit went.
pub(crate) struct Commit {
    rows: WriteSet,
    done: oneshot::Sender<CoreResult<()>>,
}

/// A group worked out and waiting for its commit: its jobs' answers, and the entities it
/// changed (in first-touch order: new entities take index slots in the order they were sent).
struct Prepared {
    jobs: Vec<Job>,
    results: Vec<Vec<HubResult<OpOutcome>>>,
    touched: Vec<(String, Current)>,
    /// Entities read for the group that it left as they were: back to the recent ones.
    untouched: Vec<(String, Entity)>,
    at: Timestamp,
}

struct InFlight {
    group: Prepared,
    done: oneshot::Receiver<CoreResult<()>>,
}

// One lives at a time, on the writer's stack: boxing the job would cost an allocation per job.
#[allow(clippy::large_enum_variant)]
enum Next {
    Job(Option<Job>),
    Committed(CoreResult<()>),
}

fn committed(r: Result<CoreResult<()>, oneshot::error::RecvError>) -> CoreResult<()> {
    r.unwrap_or_else(|_| Err(CoreError::Internal("the entity committer has stopped".into())))
}

/// Runs the committer: each group's rows in one transaction, one group at a time, in order.
pub(crate) async fn run_committer(repo: Arc<dyn Repositories>, mut rx: mpsc::Receiver<Commit>) {
    while let Some(Commit { rows, done }) = rx.recv().await {
        let started = std::time::Instant::now();
        let r = repo.write_entities(&rows).await;
        metrics::histogram!("haidang_hub_commit_seconds").record(started.elapsed().as_secs_f64());
        let _ = done.send(r);
    }
}

impl Writer {
    /// Takes groups of jobs and works each out while the one before commits (on the committer's
    /// thread): the next group reads the committing one's entities from it, not from the store,
    /// and is answered only after that commit. Should it fail, the group worked out on top of it
    /// fails too, as nothing of either was kept.
    pub async fn run(self, mut rx: mpsc::Receiver<Job>, commits: mpsc::Sender<Commit>) {
        let mut inflight: Option<InFlight> = None;
        // A catalog change that came while a group was being gathered: it waits for that
        // group, so the groups before it are filed under the old catalog, those after under
        // the new.
        let mut held: Option<Job> = None;
        loop {
            let next = match (held.take(), inflight.as_mut()) {
                (Some(job), _) => Next::Job(Some(job)),
                (None, Some(f)) => tokio::select! {
                    job = rx.recv() => Next::Job(job),
                    r = &mut f.done => Next::Committed(committed(r)),
                },
                (None, None) => Next::Job(rx.recv().await),
            };
            let first = match next {
                Next::Committed(r) => {
                    if let Some(f) = inflight.take() {
                        self.finish(f.group, r);
                    }
                    continue;
                }
                Next::Job(None) => break,
                Next::Job(Some(job)) => job,
            };
            if first.recatalog.is_some() {
                if let Some(f) = inflight.take() {
                    let r = committed(f.done.await);
                    self.finish(f.group, r);
                }
                self.recatalog(first).await;
                continue;
            }
            let mut ops = first.ops.len();
            let mut jobs = vec![first];
            while ops < MAX_GROUP_OPS {
                match rx.try_recv() {
                    Ok(job) if job.recatalog.is_some() => {
                        held = Some(job);
                        break;
                    }
                    Ok(job) => {
                        ops += job.ops.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            metrics::histogram!("haidang_hub_group_ops").record(ops as f64);
            let overlay: HashMap<String, Current> = inflight
                .as_ref()
                .map(|f| {
                    f.group
                        .touched
                        .iter()
                        .map(|(id, c)| (id.clone(), Current { changed: false, ..c.clone() }))
                        .collect()
                })
                .unwrap_or_default();
            let started = std::time::Instant::now();
            let prepared = self.prepare(jobs, &overlay).await;
            metrics::histogram!("haidang_hub_prepare_seconds").record(started.elapsed().as_secs_f64());
            if let Some(f) = inflight.take() {
                let waited = std::time::Instant::now();
                let r = committed(f.done.await);
                metrics::histogram!("haidang_hub_commit_wait_seconds").record(waited.elapsed().as_secs_f64());
                let failure = r.as_ref().err().map(|e| CoreError::Storage(e.to_string()));
                self.finish(f.group, r);
                if let Some(e) = failure {
                    match prepared {
                        Ok((group, _)) => fail_all(group.jobs, e),
                        Err((jobs, _)) => fail_all(jobs, e),
                    }
                    continue;
                }
            }
            match prepared {
                Err((jobs, e)) => fail_all(jobs, e),
                Ok((group, None)) => self.finish(group, Ok(())),
                Ok((group, Some(rows))) => {
                    let (done_tx, done) = oneshot::channel();
                    if commits.send(Commit { rows, done: done_tx }).await.is_err() {
                        fail_all(group.jobs, CoreError::Internal("the entity committer has stopped".into()));
                        continue;
                    }
                    inflight = Some(InFlight { group, done });
                }
            }
        }
        if let Some(f) = inflight.take() {
            let r = committed(f.done.await);
            self.finish(f.group, r);
        }
    }

    /// Applies the group's operations, in order, on the entities as `overlay` (the committing
    /// group) or the store has them; answers the group and the rows to commit (None: nothing
    /// to write).
    async fn prepare(
        &self,
        mut jobs: Vec<Job>,
        overlay: &HashMap<String, Current>,
    ) -> Result<(Prepared, Option<WriteSet>), (Vec<Job>, CoreError)> {
        let at = now();
        let catalog = self.placer.catalog();
        let mut group: HashMap<String, Current> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let loaded = match self.load_needed(&jobs, overlay).await {
            Ok(l) => l,
            Err(e) => return Err((jobs, e)),
        };
        let mut changes = Vec::new();
        let mut history = Vec::new();
        let mut late: Vec<usize> = Vec::new();
        let mut audits = Vec::new();
        let mut tally = Tally::default();
        let mut submissions = Vec::new();
        let mut results: Vec<Vec<HubResult<OpOutcome>>> = Vec::with_capacity(jobs.len());
        for job in jobs.iter_mut() {
            let ops = std::mem::take(&mut job.ops);
            let count = ops.len();
            let target = match ops.as_slice() {
                [(one, _)] => Some(one.entity_id().to_string()),
                _ => None,
            };
            // What an atomic job undoes if one of its operations is refused.
            let marks =
                (changes.len(), history.len(), late.len(), order.len(), job.atomic.then(|| tally.clone()));
            let mut saved: Vec<(String, Option<Current>)> = Vec::new();
            let visible = catalog.visibility(&job.subject, at);
            let mut out = Vec::with_capacity(count);
            let mut ok = 0usize;
            for (op, context) in ops {
                let id = op.entity_id().to_string();
                // One copy per operation; a refused operation leaves the group's state as it was.
                let known = group.contains_key(&id);
                let current = match group.get(&id).or_else(|| overlay.get(&id)) {
                    Some(c) => c.clone(),
                    None => self.current_of(&id, &op, &loaded),
                };
                let announce = matches!(op, EntityOp::Announce(_));
                match self.apply_one(
                    &job.subject,
                    op,
                    current,
                    &context,
                    at,
                    (&catalog, &mut tally, &visible, job.submission.as_ref()),
                ) {
                    Ok((next, outcome, written)) => {
                        if let Some(w) = written {
                            // Releasing a dataset's entities on approval writes nothing new.
                            if !announce {
                                tally.accepted(&catalog, &next.place.datasets, &w.history, at);
                            }
                            changes.extend(w.change);
                            if job.history {
                                late.extend(w.late.iter().map(|n| history.len() + n));
                                history.extend(w.history);
                            }
                        }
                        if !known {
                            order.push(id.clone());
                        }
                        if job.atomic {
                            saved.push((id.clone(), group.get(&id).cloned()));
                        }
                        group.insert(id, next);
                        out.push(Ok(outcome));
                        ok += 1;
                    }
                    Err(e) => out.push(Err(e)),
                }
            }
            if job.atomic && ok < count {
                // Undo in reverse, so an entity touched twice gets its first state back.
                for (id, prior) in saved.into_iter().rev() {
                    match prior {
                        Some(c) => group.insert(id, c),
                        None => group.remove(&id),
                    };
                }
                changes.truncate(marks.0);
                history.truncate(marks.1);
                late.truncate(marks.2);
                order.truncate(marks.3);
                if let Some(t) = marks.4 {
                    let refused = tally.refusals_since(&t);
                    tally = t;
                    tally.add_refusals(refused);
                }
                out = out
                    .into_iter()
                    .map(|r| match r {
                        Ok(_) => Err(HubError::new(
                            ErrorType::BadRequestData,
                            "not written: another part of the same submission was refused",
                        )),
                        Err(e) => Err(e),
                    })
                    .collect();
                ok = 0;
            }
            if ok > 0 {
                let detail = serde_json::json!({"operations": count, "succeeded": ok}).to_string();
                audits.push(
                    AuditEvent::new(&job.subject.actor(), job.action, target.as_deref(), Outcome::Success)
                        .with_detail(detail),
                );
                submissions.extend(job.submission.take());
            }
            results.push(out);
        }
        if !late.is_empty() {
            match self.without_repeats(history, &late).await {
                Ok(kept) => history = kept,
                Err(e) => return Err((jobs, e)),
            }
        }
        let touched: Vec<(String, Current)> = order
            .into_iter()
            .filter_map(|id| group.remove(&id).map(|c| (id, c)))
            .filter(|(_, c)| c.changed)
            .collect();
        let mut writes = Vec::with_capacity(touched.len());
        for (id, cur) in &touched {
            match &cur.entity {
                Some(e) => match row_of(e, cur.owner.clone()) {
                    Ok(row) => writes.push(EntityWrite::Put(row)),
                    Err(err) => return Err((jobs, err)),
                },
                None => {
                    writes.push(EntityWrite::Delete(id.clone()));
                    if self.delete_history {
                        writes.push(EntityWrite::ForgetHistory(id.clone()));
                    }
                }
            }
        }
        let counts = tally.rows(&catalog);
        let rows = (!writes.is_empty() || !audits.is_empty() || !counts.is_empty()).then_some(WriteSet {
            writes,
            changes,
            history,
            audits,
            counts,
            submissions,
        });
        let changed: std::collections::HashSet<&str> = touched.iter().map(|(id, _)| id.as_str()).collect();
        let untouched: Vec<(String, Entity)> =
            loaded.into_iter().filter(|(id, _)| !changed.contains(id.as_str())).collect();
        Ok((Prepared { jobs, results, touched, untouched, at }, rows))
    }

    /// The history rows without the late readings the history already has (or that came twice
    /// in this group): a message delivered again after a crash is kept once.
    async fn without_repeats(
        &self,
        history: Vec<InstanceRow>,
        late: &[usize],
    ) -> CoreResult<Vec<InstanceRow>> {
        let late: std::collections::HashSet<usize> = late.iter().copied().collect();
        let mut seen: std::collections::HashSet<(String, String, Option<String>, i64, String)> =
            Default::default();
        let mut kept = Vec::with_capacity(history.len());
        for (n, row) in history.into_iter().enumerate() {
            if late.contains(&n) {
                let key = (
                    row.entity_id.clone(),
                    row.attr.clone(),
                    row.dataset_id.clone(),
                    row.at.as_microsecond(),
                    row.body.clone(),
                );
                if !seen.insert(key) {
                    continue;
                }
                let stored = self.repo.instances_at(&row.entity_id, &row.attr, row.at).await?;
                if stored.iter().any(|s| s.dataset_id == row.dataset_id && same_reading(&s.body, &row.body)) {
                    continue;
                }
            }
            kept.push(row);
        }
        Ok(kept)
    }

    /// Takes a new catalog and files the entities of the types it changed again (their bodies
    /// read from the store, a thousand at a time, for the datasets narrowed by `q`, and their
    /// units found again, as this also follows an import of units).
    async fn recatalog(&self, job: Job) {
        let Some((catalog, types)) = job.recatalog else { return };
        *write(&self.placer.catalog) = catalog.clone();
        let ids = read(&self.index).ids_of_types(&types);
        let mut result = Ok(Vec::new());
        for chunk in ids.chunks(1000) {
            let rows = match self.repo.load_entities(chunk).await {
                Ok(rows) => rows,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            let mut index = write(&self.index);
            for row in rows {
                let Ok(entity) = entity_from_row(&row) else { continue };
                let Some(summary) = index.summary(&row.id) else { continue };
                let place = self.placer.place(&catalog, &entity, summary.owner.as_deref(), None);
                index.set_place(&row.id, &place);
            }
        }
        let _ = job.reply.send(result);
    }

    /// After the group's commit: the index and the recent entities move, and every job is
    /// answered (refused whole when the commit failed).
    fn finish(&self, group: Prepared, committed: CoreResult<()>) {
        if let Err(e) = committed {
            return fail_all(group.jobs, e);
        }
        if !group.touched.is_empty() || !group.untouched.is_empty() {
            let mut index = write(&self.index);
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() + group.touched.len() + group.untouched.len() > RECENT_CAPACITY {
                recent.clear();
            }
            recent.extend(group.untouched);
            for (id, cur) in group.touched {
                match cur.entity {
                    Some(e) => {
                        let created = e.created_at.unwrap_or(group.at).as_microsecond();
                        index.put(&e, cur.owner.as_deref(), created, &cur.place);
                        recent.insert(id, e);
                    }
                    None => {
                        if !self.delete_history {
                            if let Some(gone) = index.summary(&id) {
                                index.remember_deleted(&id, gone.owner.as_deref(), gone.types);
                            }
                        }
                        index.remove(&id);
                        recent.remove(&id);
                    }
                }
            }
        }
        for (job, out) in group.jobs.into_iter().zip(group.results) {
            let _ = job.reply.send(Ok(out));
        }
    }

    /// The bodies the group's operations need, in one read.
    async fn load_needed(
        &self,
        jobs: &[Job],
        overlay: &HashMap<String, Current>,
    ) -> CoreResult<HashMap<String, Entity>> {
        let ids: Vec<String> = {
            let index = read(&self.index);
            let mut ids: Vec<String> = jobs
                .iter()
                .flat_map(|j| j.ops.iter())
                .filter(|(op, _)| {
                    op.needs_current()
                        && !overlay.contains_key(op.entity_id())
                        && index.contains(op.entity_id())
                })
                .map(|(op, _)| op.entity_id().to_string())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut found = HashMap::with_capacity(ids.len());
        let missing: Vec<String> = {
            // Taken out, not copied: the group puts back what it commits.
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            ids.into_iter()
                .filter(|id| match recent.remove(id) {
                    Some(e) => {
                        found.insert(id.clone(), e);
                        false
                    }
                    None => true,
                })
                .collect()
        };
        if !missing.is_empty() {
            for r in self.repo.load_entities(&missing).await? {
                found.insert(r.id.clone(), entity_from_row(&r)?);
            }
        }
        Ok(found)
    }

    fn current_of(&self, id: &str, op: &EntityOp, loaded: &HashMap<String, Entity>) -> Current {
        let index = read(&self.index);
        let Some(summary) = index.summary(id) else {
            return Current { entity: None, owner: None, changed: false, place: Placement::default() };
        };
        let entity = match loaded.get(id) {
            Some(e) => e.clone(),
            // The operation needs no body (create, replace, delete): what the index knows is enough.
            None if !op.needs_current() => Entity {
                id: id.to_string(),
                types: summary.types.clone(),
                attrs: Default::default(),
                created_at: Some(crate::time::micros_to_ts(summary.created_at)),
                modified_at: None,
            },
            None => {
                return Current { entity: None, owner: None, changed: false, place: Placement::default() }
            }
        };
        Current { entity: Some(entity), owner: summary.owner, changed: false, place: summary.place }
    }

    /// One operation on the group's state of its entity: the next state, the outcome, and the
    /// change to publish (None when nothing changed, e.g. every attribute refused by noOverwrite).
    #[allow(clippy::too_many_arguments)]
    fn apply_one(
        &self,
        subject: &Subject,
        op: EntityOp,
        current: Current,
        context: &ActiveContext,
        at: Timestamp,
        (catalog, tally, visible, form): (&Catalog, &mut Tally, &Visibility, Option<&Submission>),
    ) -> HubResult<(Current, OpOutcome, Option<Written>)> {
        let exists = current.entity.is_some();
        // An agency changes only what its organisation created (or a dataset it was granted
        // write on); an entity without an owner (written by a tool) is the centre's, so it
        // takes a grant over every organisation. The catalog decides.
        let existing = exists.then_some(current.owner.as_deref());
        let current_types = current.entity.as_ref().map(|e| e.types.clone()).unwrap_or_default();
        let right = catalog.write_right_with(
            subject,
            op.new_types(),
            existing,
            &current.place.datasets,
            &current_types,
            at,
        );
        let owner = match right {
            // A form's new entities are its dataset's (the upload was checked against it).
            WriteRight::Allowed { .. } if !exists && form.is_some() => form.map(|f| f.org_id.clone()),
            WriteRight::Allowed { owner } => owner,
            // What the caller may not read is not there for it, in a refusal too.
            WriteRight::Refused(_) if exists && !visible.sees(&current.place.datasets) => {
                return Err(HubError::not_found(op.entity_id()))
            }
            WriteRight::Refused(reason) => {
                return Err(HubError::new(ErrorType::Forbidden, format!("{} {reason}", op.entity_id())))
            }
        };
        if !exists && read(&self.index).deleted(op.entity_id()).is_some_and(|(o, _)| o != owner.as_deref()) {
            return Err(HubError::new(
                ErrorType::AlreadyExists,
                format!(
                    "{} was the id of another organisation's entity, whose history is kept; choose another id",
                    op.entity_id()
                ),
            ));
        }
        let ingest = matches!(op, EntityOp::Ingest(_));
        let before = location_value(current.entity.as_ref());
        let previous_place = current.place;
        let applied = apply(op, current.entity, at)?;
        let place = match &applied.state {
            Some(e) => {
                self.placer.place(catalog, e, owner.as_deref(), Some((before.as_ref(), &previous_place)))
            }
            None => Placement::default(),
        };
        if applied.op == HISTORY_ONLY {
            let entity_id = applied.state.as_ref().map(|e| e.id.clone()).unwrap_or_default();
            let violations = check_observed_at(&history_times(&applied.written, context), at);
            if !violations.is_empty() {
                tally.refused(&place.datasets, at);
                return Err(HubError::schema(violations));
            }
            let history = history_of(&entity_id, &applied.written, at);
            let late = if ingest { late_rows(&history, applied.state.as_ref()) } else { Vec::new() };
            let next = Current { entity: applied.state, owner, changed: current.changed, place };
            return Ok((next, applied.outcome, Some(Written { change: None, history, late })));
        }
        let nothing_changed =
            matches!(&applied.outcome, OpOutcome::Updated { updated, .. } if updated.is_empty());
        if nothing_changed {
            let next = Current { entity: applied.state, owner, changed: current.changed, place };
            return Ok((next, applied.outcome, None));
        }
        if let Some(state) = &applied.state {
            let violations = check_observed_at(&compact_keys(&applied.change, context), at);
            if !violations.is_empty() {
                tally.refused(&place.datasets, at);
                return Err(HubError::schema(violations));
            }
            if let Err(e) = self.check_schema(state, context) {
                tally.refused(&place.datasets, at);
                return Err(e);
            }
        }
        let entity_id = applied.change.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let history = history_of(&entity_id, &applied.written, at);
        let change = EntityChange {
            entity_id,
            op: applied.op.to_string(),
            at,
            actor: Some(subject.username.clone()),
            body: applied.change.to_string(),
        };
        let late = if ingest { late_rows(&history, applied.state.as_ref()) } else { Vec::new() };
        let written = Written { change: Some(change), history, late };
        Ok((Current { entity: applied.state, owner, changed: true, place }, applied.outcome, Some(written)))
    }

    /// The exchange data structure of each of the entity's types that has one.
    fn check_schema(&self, state: &Entity, context: &ActiveContext) -> HubResult<()> {
        let schemas: Vec<Arc<TypeSchema>> = {
            let held = read(&self.schemas);
            state.types.iter().filter_map(|t| held.get(t).cloned()).collect()
        };
        if schemas.is_empty() {
            return Ok(());
        }
        let compact = state.map_names(&|n| context.compact(n));
        let simplified = to_key_values(&compact.render_normalized(Render::default()));
        let mut violations = Vec::new();
        for schema in schemas {
            violations.extend(schema.check(&simplified));
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(HubError::schema(violations))
        }
    }
}

/// The top-level names of a normalized entity in the caller's terms, so a violation's pointer
/// names the attribute as the caller wrote it.
fn compact_keys(v: &Value, context: &ActiveContext) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (context.compact(k), v.clone())).collect()),
        other => other.clone(),
    }
}

/// What one accepted operation adds to the outbox and to the history.
struct Written {
    /// None when only the history grows (nothing to publish).
    change: Option<EntityChange>,
    history: Vec<InstanceRow>,
    /// Which of `history` are readings older than the entity's own (a connector's late or
    /// redelivered messages): kept only if the history does not have them already.
    late: Vec<usize>,
}

/// The history rows of a reading older than the entity's newest of the same attribute.
fn late_rows(history: &[InstanceRow], state: Option<&Entity>) -> Vec<usize> {
    let Some(state) = state else { return Vec::new() };
    history
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            state.attrs.get(&r.attr).is_some_and(|instances| {
                instances
                    .iter()
                    .any(|i| i.dataset_id == r.dataset_id && i.observed_at.is_some_and(|t| t > r.at))
            })
        })
        .map(|(n, _)| n)
        .collect()
}

/// Past instances in the shape `check_observed_at` reads (attribute → instances), so a
/// backfilled reading from the future is refused like any other.
pub(crate) fn history_times(written: &BTreeMap<String, Vec<Instance>>, context: &ActiveContext) -> Value {
    let attrs: serde_json::Map<String, Value> = written
        .iter()
        .map(|(name, instances)| {
            let all: Vec<Value> = instances.iter().map(Instance::to_normalized).collect();
            (context.compact(name), Value::Array(all))
        })
        .collect();
    Value::Object(attrs)
}

/// The instances this write made (stamped with its time), as history rows: a Property's new
/// value, a Relationship's new object, each datasetId on its own.
fn history_of(entity_id: &str, written: &BTreeMap<String, Vec<Instance>>, at: Timestamp) -> Vec<InstanceRow> {
    written
        .iter()
        .flat_map(|(attr, instances)| instances.iter().map(move |i| (attr, i)))
        .filter(|(_, i)| i.modified_at == Some(at))
        .map(|(attr, i)| InstanceRow {
            seq: 0,
            entity_id: entity_id.to_string(),
            attr: attr.clone(),
            dataset_id: i.dataset_id.clone(),
            at: i.observed_at.unwrap_or(at),
            created_at: at,
            body: i.to_normalized().to_string(),
        })
        .collect()
}

pub(crate) fn row_of(e: &Entity, owner: Option<String>) -> CoreResult<EntityRow> {
    let at = now();
    let body = e.render_normalized(Render { attrs: None, sys_attrs: true });
    Ok(EntityRow {
        id: e.id.clone(),
        types: e.types.clone(),
        owner_org: owner,
        created_at: e.created_at.unwrap_or(at),
        modified_at: e.modified_at.unwrap_or(at),
        body: serde_json::to_string(&body).map_err(|err| CoreError::Internal(err.to_string()))?,
    })
}

/// Two stored instance bodies hold the same reading (their JSON equal, whatever its spelling).
fn same_reading(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn fail_all(jobs: Vec<Job>, e: CoreError) {
    tracing::error!(error = %e, "an entity write group failed; every request in it is refused");
    for job in jobs {
        let _ = job.reply.send(Err(CoreError::Storage(e.to_string())));
    }
}
