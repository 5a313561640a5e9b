//! The data hub's service: entity reads and queries over the in-memory index and the store,
//! writes through the group-commit writer, and the exchange data structures (schemas) and JSON-LD
//! contexts the hub holds. Names arrive expanded (the HTTP layer applies the request's context).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::context::ActiveContext;
use super::contexts::{ContextFetcher, Contexts, HeldContext};
use super::entity::Entity;
use super::error::{ErrorType, HubError, HubResult};
use super::geoquery::GeoQuery;
use super::history::{read_history, split_latest, EntityHistory};
use super::index::{AttributeInfo, EntityIndex, Filter, TypeInfo};
use super::ops::{EntityOp, OpOutcome};
use super::placement::Placer;
use super::query::Query;
use super::schema::{check_observed_at, SharedDefinitions, TypeSchema};
use super::shipped;
use super::temporal::TemporalParams;
use super::writer::{entity_from_row, history_times, read, write, Job, Schemas, Writer};
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::datasets::catalog::Catalog;
use crate::error::{CoreError, CoreResult};
use crate::repo::{Repositories, StoredDocument};
use crate::time::now;
use crate::units::UnitLocator;

/// The vocabulary short names fall back to (the core context's @vocab).
pub const DEFAULT_VOCAB: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

/// Bodies read from the store per round trip while a query filters them.
const QUERY_CHUNK: usize = 256;
const WRITER_QUEUE: usize = 4096;

#[derive(Debug, Clone)]
pub struct HubOptions {
    pub default_limit: usize,
    /// A larger `limit` is TooManyResults.
    pub max_limit: usize,
    /// Hosts (host or host:port) whose contexts may be fetched.
    pub context_hosts: Vec<String>,
    /// Deleting an entity deletes its history in the same transaction.
    pub delete_history: bool,
    /// How long each type's history is kept (expanded type IRI); others are kept for ever.
    pub retention: Vec<(String, jiff::SignedDuration)>,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            default_limit: 20,
            max_limit: 1000,
            context_hosts: Vec::new(),
            delete_history: false,
            retention: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    pub ids: Option<Vec<String>>,
    pub id_pattern: Option<regex::Regex>,
    /// Expanded type IRIs.
    pub types: Option<Vec<String>>,
    /// Expanded attribute IRIs.
    pub attrs: Option<Vec<String>>,
    pub q: Option<Query>,
    pub geo: Option<GeoQuery>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub count: bool,
    /// Only entities lying in this unit (the console's commune filter).
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryAnswer {
    pub entities: Vec<Entity>,
    pub count: Option<usize>,
}

/// Operations queued with the writer: their outcomes once committed.
pub struct Submitted {
    answer: oneshot::Receiver<CoreResult<Vec<HubResult<OpOutcome>>>>,
}

impl Submitted {
    pub async fn outcome(self) -> HubResult<Vec<HubResult<OpOutcome>>> {
        let results = self
            .answer
            .await
            .map_err(|_| HubError::new(ErrorType::InternalError, "the entity writer has stopped"))??;
        Ok(results)
    }
}

/// Where an entity type's schema comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchemaInfo {
    #[serde(rename = "type")]
    pub type_iri: String,
    /// "shipped" (a Smart Data Model) or "custom" (set through the API).
    pub source: &'static str,
}

pub struct HubService {
    pub(crate) repo: Arc<dyn Repositories>,
    pub(crate) index: Arc<RwLock<EntityIndex>>,
    recent: super::writer::Recent,
    pub(crate) writer: mpsc::Sender<Job>,
    /// The datasets and grants every read and write consults (shared with the writer).
    pub(crate) catalog: Arc<RwLock<Arc<Catalog>>>,
    schemas: Schemas,
    custom: RwLock<HashMap<String, Value>>,
    shared: SharedDefinitions,
    pub contexts: Contexts,
    options: HubOptions,
}

/// A type named in configuration as its IRI: a short name is in the core context's default
/// vocabulary, as an entity written without a context of its own names it.
pub fn type_iri(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{DEFAULT_VOCAB}{name}")
    }
}

fn schema_key(type_iri: &str) -> String {
    format!("schema:{type_iri}")
}

fn shipped_schema(type_iri: &str) -> Option<&'static str> {
    let name = type_iri.strip_prefix(DEFAULT_VOCAB)?;
    shipped::TYPES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

impl HubService {
    /// Loads schemas and contexts, rebuilds the index from the store and starts the writer.
    pub async fn start(
        repo: Arc<dyn Repositories>,
        options: HubOptions,
        fetcher: Arc<dyn ContextFetcher>,
        units: Arc<dyn UnitLocator>,
    ) -> CoreResult<HubService> {
        let shared = SharedDefinitions::shipped().map_err(CoreError::Internal)?;
        let mut compiled = HashMap::new();
        for (name, text) in shipped::TYPES {
            let schema: Value =
                serde_json::from_str(text).map_err(|e| CoreError::Internal(format!("{name}: {e}")))?;
            let ts = TypeSchema::compile(&schema, &shared)
                .map_err(|e| CoreError::Internal(format!("{name}: {e}")))?;
            compiled.insert(format!("{DEFAULT_VOCAB}{name}"), Arc::new(ts));
        }
        let mut custom = HashMap::new();
        for doc in repo.list_entity_schemas().await? {
            let type_iri = doc.key.trim_start_matches("schema:").to_string();
            let schema: Value =
                serde_json::from_str(&doc.body).map_err(|e| CoreError::Storage(e.to_string()))?;
            match TypeSchema::compile(&schema, &shared) {
                Ok(ts) => {
                    compiled.insert(type_iri.clone(), Arc::new(ts));
                    custom.insert(type_iri, schema);
                }
                Err(e) => {
                    tracing::error!(type_iri, error = %e, "a stored schema no longer compiles; it is not applied")
                }
            }
        }
        let contexts = Contexts::new(options.context_hosts.clone(), fetcher);
        for doc in repo.list_jsonld_contexts().await? {
            let document: Value =
                serde_json::from_str(&doc.body).map_err(|e| CoreError::Storage(e.to_string()))?;
            contexts.hold(HeldContext {
                id: doc.key.clone(),
                url: doc.url.clone(),
                kind: if doc.kind == "hosted" { "Hosted" } else { "Cached" },
                document: Arc::new(document),
                created_at: doc.created_at,
            });
        }
        let catalog = Arc::new(Catalog::new(repo.list_datasets().await?, repo.list_grants().await?));
        let placer = Placer { catalog: Arc::new(RwLock::new(catalog)), units };
        let index = Arc::new(RwLock::new(rebuild(repo.as_ref(), &placer).await?));
        let catalog = placer.catalog.clone();
        let schemas: Schemas = Arc::new(RwLock::new(compiled));
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let recent: super::writer::Recent = Default::default();
        let writer = Writer {
            repo: repo.clone(),
            index: index.clone(),
            schemas: schemas.clone(),
            delete_history: options.delete_history,
            recent: recent.clone(),
            placer,
        };
        spawn_writer(writer, rx)?;
        Ok(HubService {
            repo,
            index,
            recent,
            writer: tx,
            catalog,
            schemas,
            custom: RwLock::new(custom),
            shared,
            contexts,
            options,
        })
    }

    pub fn options(&self) -> &HubOptions {
        &self.options
    }

    pub fn entity_count(&self) -> usize {
        read(&self.index).len()
    }

    pub async fn get(&self, by: &Subject, id: &str) -> HubResult<Entity> {
        by.require(Action::ReadData, None)?;
        // What the caller may not read is not there for it (a special-request dataset does
        // not even show that it exists).
        if !read(&self.index).sees(id, &self.visibility(by)) {
            return Err(HubError::not_found(id));
        }
        let rows = self.repo.load_entities(&[id.to_string()]).await?;
        let row = rows.first().ok_or_else(|| HubError::not_found(id))?;
        Ok(entity_from_row(row)?)
    }

    /// The entities as they are now, those the writer wrote last from memory, the others from
    /// the store (for components that act for the system, such as the notifier: no access
    /// check here).
    pub async fn entities_now(&self, ids: &[String]) -> CoreResult<HashMap<String, Entity>> {
        let mut out = HashMap::with_capacity(ids.len());
        let missing: Vec<String> = {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            ids.iter()
                .filter(|id| match recent.get(*id) {
                    Some(e) => {
                        out.insert((*id).clone(), e.clone());
                        false
                    }
                    None => true,
                })
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            for row in self.repo.load_entities(&missing).await? {
                out.insert(row.id.clone(), entity_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// One entity's history (the temporal API); 404 when the entity is not there.
    pub async fn history(
        &self,
        by: &Subject,
        id: &str,
        attrs: Option<&[String]>,
        params: &TemporalParams,
    ) -> HubResult<EntityHistory> {
        by.require(Action::ReadData, None)?;
        let visible = self.visibility(by);
        let entity = match self.repo.load_entities(&[id.to_string()]).await?.first() {
            Some(_) if !read(&self.index).sees(id, &visible) => return Err(HubError::not_found(id)),
            Some(row) => entity_from_row(row)?,
            // Deleted with its history kept: the history is still the province's record.
            None => match self.repo.deleted_entity(id).await? {
                Some(row) if !self.deleted_visible(&visible, &row) => return Err(HubError::not_found(id)),
                Some(row) => Entity {
                    id: row.id,
                    types: row.types,
                    attrs: Default::default(),
                    created_at: None,
                    modified_at: Some(row.modified_at),
                },
                None => return Err(HubError::not_found(id)),
            },
        };
        read_history(self.repo.as_ref(), entity, attrs, params).await
    }

    /// The histories of one page of the entities a query picks by their current state, with
    /// the count when asked.
    pub async fn history_query(
        &self,
        by: &Subject,
        q: &EntityQuery,
        params: &TemporalParams,
    ) -> HubResult<(Vec<EntityHistory>, Option<usize>)> {
        let found = self.query(by, q).await?;
        let mut out = Vec::with_capacity(found.entities.len());
        for e in found.entities {
            out.push(read_history(self.repo.as_ref(), e, q.attrs.as_deref(), params).await?);
        }
        Ok((out, found.count))
    }

    /// Keeps past instances (names expanded). An entity not yet in the hub is created from the
    /// newest instance of each attribute (`create` allowed: POST /temporal/entities); answers
    /// whether it was created.
    pub async fn add_history(
        &self,
        by: &Subject,
        entity: Entity,
        create: bool,
        context: Arc<ActiveContext>,
    ) -> HubResult<bool> {
        let exists = read(&self.index).contains(&entity.id);
        // Checked here for the whole body, so a create is never left without the history
        // that came with it (the writer checks each operation again).
        let violations = check_observed_at(&history_times(&entity.attrs, &context), now());
        if !violations.is_empty() {
            return Err(HubError::schema(violations));
        }
        let ops = if exists || !create {
            vec![EntityOp::AddHistory(entity)]
        } else {
            let (latest, past) = split_latest(entity);
            let mut ops = vec![EntityOp::Create(latest)];
            if !past.attrs.is_empty() {
                ops.push(EntityOp::AddHistory(past));
            }
            ops
        };
        for result in self.write(by, "entity.history", ops, context).await? {
            result?;
        }
        Ok(!exists && create)
    }

    /// Removes the history older than each type's retention (the background job's work);
    /// answers how many instances went. One audit record names what was removed.
    pub async fn prune_history(&self) -> HubResult<u64> {
        let at = now();
        let mut removed = 0;
        let mut per_type = serde_json::Map::new();
        for (type_iri, keep) in &self.options.retention {
            let Ok(before) = at.checked_sub(*keep) else { continue };
            let n = self.repo.prune_history(type_iri, before).await?;
            if n > 0 {
                per_type.insert(type_iri.clone(), Value::from(n));
            }
            removed += n;
        }
        if removed > 0 {
            let detail = serde_json::json!({ "removed": per_type }).to_string();
            let event =
                AuditEvent::new(&crate::audit::Actor::system(), "hub.history_pruned", None, Outcome::Success)
                    .with_detail(detail);
            self.repo.append_audit(&event).await?;
        }
        Ok(removed)
    }

    /// Queues the operations, all written in `context`; answers after they are committed (or
    /// refused), one result each.
    pub async fn write(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<EntityOp>,
        context: Arc<ActiveContext>,
    ) -> HubResult<Vec<HubResult<OpOutcome>>> {
        self.write_each(by, action, in_context(ops, &context)).await
    }

    /// As `write`, each operation with its own context (a batch in application/ld+json).
    pub async fn write_each(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<(EntityOp, Arc<ActiveContext>)>,
    ) -> HubResult<Vec<HubResult<OpOutcome>>> {
        self.submit(by, action, ops).await?.outcome().await
    }

    /// Queues the operations and answers at once with what to wait on: a producer that must
    /// keep its order (a connector's batches) queues them one after another and waits for the
    /// answers together.
    pub async fn submit(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<(EntityOp, Arc<ActiveContext>)>,
    ) -> HubResult<Submitted> {
        self.submit_job(by, action, ops, true).await
    }

    /// Writes the entities of a view derived from records kept elsewhere (the indicators'
    /// KeyPerformanceIndicator entities): as `write`, without copying each attribute into the
    /// history.
    pub async fn write_view(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<EntityOp>,
        context: Arc<ActiveContext>,
    ) -> HubResult<Vec<HubResult<OpOutcome>>> {
        self.submit_job(by, action, in_context(ops, &context), false).await?.outcome().await
    }

    async fn submit_job(
        &self,
        by: &Subject,
        action: &'static str,
        ops: Vec<(EntityOp, Arc<ActiveContext>)>,
        history: bool,
    ) -> HubResult<Submitted> {
        let (reply, answer) = oneshot::channel();
        if ops.is_empty() {
            let _ = reply.send(Ok(Vec::new()));
            return Ok(Submitted { answer });
        }
        let mut job = Job::new(by.clone(), action, ops, reply);
        job.history = history;
        self.writer
            .send(job)
            .await
            .map_err(|_| HubError::new(ErrorType::InternalError, "the entity writer has stopped"))?;
        Ok(Submitted { answer })
    }

    pub async fn query(&self, by: &Subject, q: &EntityQuery) -> HubResult<QueryAnswer> {
        by.require(Action::ReadData, None)?;
        let limit = q.limit.unwrap_or(self.options.default_limit);
        if limit > self.options.max_limit {
            return Err(HubError::new(
                ErrorType::TooManyResults,
                format!(
                    "limit {limit} is more than the {} this server answers at once",
                    self.options.max_limit
                ),
            ));
        }
        let hint = q.q.as_ref().and_then(Query::index_hint);
        let visible = self.visibility(by);
        // The index lock is held only while the candidates are picked, never across a read.
        let (slots, page_only) = {
            let index = read(&self.index);
            let filter = Filter {
                ids: q.ids.as_deref(),
                id_pattern: q.id_pattern.as_ref(),
                types: q.types.as_deref(),
                attrs: q.attrs.as_deref(),
                geo: q.geo.as_ref(),
                hint: hint.as_ref(),
                unit: q.unit.as_deref(),
                visible: Some(&visible),
            };
            let slots = index.select(&filter).slots;
            if q.q.is_none() {
                let count = slots.len();
                let page: Vec<u32> = slots.into_iter().skip(q.offset).take(limit).collect();
                (page, Some(count))
            } else {
                (slots, None)
            }
        };
        if let Some(count) = page_only {
            let ids = read(&self.index).entity_ids(&slots);
            let entities = self.load_in_order(&ids).await?;
            return Ok(QueryAnswer { entities, count: q.count.then_some(count) });
        }
        // With q, bodies decide: read them chunk by chunk, stop once the page is full (unless
        // the caller asked for the count).
        let Some(filter_q) = &q.q else { return Ok(QueryAnswer { entities: Vec::new(), count: None }) };
        let mut matched = 0usize;
        let mut page = Vec::new();
        // The first read is just what the page needs (usually every candidate matches, as the
        // index picked them); later reads grow, for a q that most candidates fail.
        let mut chunk = (q.offset + limit).clamp(16, QUERY_CHUNK);
        // Ids are looked up a chunk at a time: a q matching a third of a million entities must
        // not make a third of a million strings to answer twenty.
        let mut rest: &[u32] = &slots;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(chunk.min(rest.len()));
            rest = later;
            let ids = read(&self.index).entity_ids(now);
            for e in self.load_in_order(&ids).await? {
                if !filter_q.matches(&e) {
                    continue;
                }
                if matched >= q.offset && page.len() < limit {
                    page.push(e);
                }
                matched += 1;
            }
            if !q.count && page.len() >= limit {
                break;
            }
            chunk = (chunk * 2).min(QUERY_CHUNK * 4);
        }
        Ok(QueryAnswer { entities: page, count: q.count.then_some(matched) })
    }

    async fn load_in_order(&self, ids: &[String]) -> HubResult<Vec<Entity>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.repo.load_entities(ids).await?;
        let mut by_id: HashMap<&str, &crate::repo::EntityRow> =
            rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = by_id.remove(id.as_str()) {
                out.push(entity_from_row(row)?);
            }
        }
        Ok(out)
    }

    pub fn types(&self, by: &Subject) -> HubResult<Vec<TypeInfo>> {
        by.require(Action::ReadData, None)?;
        let visible = self.visibility(by);
        Ok(read(&self.index).types(Some(&visible)))
    }

    pub fn attributes(&self, by: &Subject) -> HubResult<Vec<AttributeInfo>> {
        by.require(Action::ReadData, None)?;
        let visible = self.visibility(by);
        Ok(read(&self.index).attributes(Some(&visible)))
    }

    // --- Exchange data structures -------------------------------------------------------------

    pub fn list_schemas(&self, by: &Subject) -> HubResult<Vec<SchemaInfo>> {
        by.require(Action::ReadData, None)?;
        let custom = read(&self.custom);
        let mut out: Vec<SchemaInfo> = shipped::TYPES
            .iter()
            .map(|(name, _)| format!("{DEFAULT_VOCAB}{name}"))
            .filter(|iri| !custom.contains_key(iri))
            .map(|type_iri| SchemaInfo { type_iri, source: "shipped" })
            .collect();
        out.extend(custom.keys().map(|k| SchemaInfo { type_iri: k.clone(), source: "custom" }));
        out.sort_by(|a, b| a.type_iri.cmp(&b.type_iri));
        Ok(out)
    }

    pub fn schema(&self, by: &Subject, type_iri: &str) -> HubResult<(Value, SchemaInfo)> {
        by.require(Action::ReadData, None)?;
        if let Some(v) = read(&self.custom).get(type_iri) {
            return Ok((v.clone(), SchemaInfo { type_iri: type_iri.to_string(), source: "custom" }));
        }
        let text = shipped_schema(type_iri)
            .ok_or_else(|| HubError::new(ErrorType::ResourceNotFound, format!("no schema for {type_iri}")))?;
        let v: Value =
            serde_json::from_str(text).map_err(|e| HubError::new(ErrorType::InternalError, e.to_string()))?;
        Ok((v, SchemaInfo { type_iri: type_iri.to_string(), source: "shipped" }))
    }

    /// Sets the schema of a type (administrators): it is compiled first, so a broken schema is
    /// refused with the reason and the old one stays.
    pub async fn put_schema(&self, by: &Subject, type_iri: &str, schema: Value) -> HubResult<bool> {
        by.require(Action::ChangeConfiguration, None)?;
        let compiled = TypeSchema::compile(&schema, &self.shared)
            .map_err(|e| HubError::bad_data(format!("the schema is not valid JSON Schema 2020-12: {e}")))?;
        let doc = StoredDocument {
            key: schema_key(type_iri),
            url: String::new(),
            kind: "schema".into(),
            body: schema.to_string(),
            created_at: now(),
        };
        let audit = AuditEvent::new(&by.actor(), "schema.put", Some(type_iri), Outcome::Success);
        self.repo.put_entity_schema(&doc, &audit).await?;
        let created = write(&self.custom).insert(type_iri.to_string(), schema).is_none();
        write(&self.schemas).insert(type_iri.to_string(), Arc::new(compiled));
        Ok(created)
    }

    /// Removes a custom schema; a Smart Data Model's shipped schema applies again.
    pub async fn delete_schema(&self, by: &Subject, type_iri: &str) -> HubResult<()> {
        by.require(Action::ChangeConfiguration, None)?;
        let audit = AuditEvent::new(&by.actor(), "schema.delete", Some(type_iri), Outcome::Success);
        if !self.repo.delete_entity_schema(&schema_key(type_iri), &audit).await? {
            return Err(HubError::new(
                ErrorType::ResourceNotFound,
                format!("no custom schema for {type_iri}"),
            ));
        }
        write(&self.custom).remove(type_iri);
        let shipped = match shipped_schema(type_iri) {
            Some(text) => serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| TypeSchema::compile(&v, &self.shared).ok()),
            None => None,
        };
        let mut schemas = write(&self.schemas);
        match shipped {
            Some(ts) => schemas.insert(type_iri.to_string(), Arc::new(ts)),
            None => schemas.remove(type_iri),
        };
        Ok(())
    }

    // --- JSON-LD contexts ---------------------------------------------------------------------

    /// The active context of a request; contexts fetched on the way are kept (cached).
    pub async fn active_context(&self, local: Option<&Value>) -> HubResult<Arc<ActiveContext>> {
        let (ctx, fetched) = self.contexts.active(local).await?;
        for held in fetched {
            let doc = StoredDocument {
                key: held.id.clone(),
                url: held.url.clone(),
                kind: "cached".into(),
                body: held.document.to_string(),
                created_at: held.created_at,
            };
            self.repo.put_jsonld_context(&doc, None).await?;
        }
        Ok(ctx)
    }

    /// Adds a context document (anyone who may submit data); `base` is this server's URL.
    pub async fn add_context(&self, by: &Subject, document: Value, base: &str) -> HubResult<HeldContext> {
        if !by.can(Action::SubmitData, Some(&by.org_id)) {
            return Err(HubError::new(
                ErrorType::Forbidden,
                "adding contexts needs the right to submit data",
            ));
        }
        let Some(inner) = document.get("@context") else {
            return Err(HubError::bad_data("a context document needs an @context member"));
        };
        ActiveContext::for_request(Some(inner), &super::context::NoRemoteContexts)
            .map_err(|e| HubError::bad_data(e.to_string()))?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let held = HeldContext {
            url: format!("{}{}{id}", base.trim_end_matches('/'), super::contexts::HOSTED_PATH),
            id,
            kind: "Hosted",
            document: Arc::new(document),
            created_at: now(),
        };
        let doc = StoredDocument {
            key: held.id.clone(),
            url: held.url.clone(),
            kind: "hosted".into(),
            body: held.document.to_string(),
            created_at: held.created_at,
        };
        let audit = AuditEvent::new(&by.actor(), "context.add", Some(&held.url), Outcome::Success);
        self.repo.put_jsonld_context(&doc, Some(&audit)).await?;
        self.contexts.hold(held.clone());
        Ok(held)
    }

    pub async fn delete_context(&self, by: &Subject, id: &str) -> HubResult<()> {
        by.require(Action::ChangeConfiguration, None)?;
        let audit = AuditEvent::new(&by.actor(), "context.delete", Some(id), Outcome::Success);
        let held = self.contexts.get(id).ok_or_else(|| HubError::not_found(id))?;
        if held.kind == "Configured" {
            return Err(HubError::new(
                ErrorType::OperationNotSupported,
                "a context from the configuration is removed in the configuration",
            ));
        }
        self.repo.delete_jsonld_context(id, &audit).await?;
        self.contexts.forget(id);
        Ok(())
    }
}

/// The index from every stored entity, in creation order.
async fn rebuild(repo: &dyn Repositories, placer: &Placer) -> CoreResult<EntityIndex> {
    let catalog = placer.catalog();
    const PAGE: i64 = 5000;
    let mut index = EntityIndex::default();
    let mut after: Option<(i64, String)> = None;
    loop {
        let rows = repo.scan_entities(after.as_ref().map(|(t, id)| (*t, id.as_str())), PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at.as_microsecond(), last.id.clone()));
        for row in &rows {
            let e = entity_from_row(row)?;
            let place = placer.place(&catalog, &e, row.owner_org.as_deref(), None);
            index.put(&e, row.owner_org.as_deref(), row.created_at.as_microsecond(), &place);
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    for row in repo.deleted_entities().await? {
        index.remember_deleted(&row.id, row.owner_org.as_deref(), row.types);
    }
    tracing::info!(entities = index.len(), "entity index rebuilt");
    Ok(index)
}

/// The writer gets a thread and a runtime of its own, and so does its committer. On the shared
/// runtime every await of a group (the read, each statement, the commit) queued behind all the
/// requests in flight, so under load a group waited far longer than it worked. Two threads let
/// one group be worked out while the one before is written: on SQLite each statement is a
/// round trip to the driver's own thread, so the writer alone left the disk idle while it
/// computed, and the CPU idle while it wrote. The threads end when the service, the last
/// sender, is dropped.
fn spawn_writer(writer: Writer, rx: mpsc::Receiver<Job>) -> CoreResult<()> {
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CoreError::Internal(format!("{name} runtime: {e}")))
    };
    let (commits, committer_rx) = mpsc::channel(1);
    let repo = writer.repo.clone();
    let committer = runtime("committer")?;
    std::thread::Builder::new()
        .name("hub-committer".into())
        .spawn(move || committer.block_on(super::writer::run_committer(repo, committer_rx)))
        .map_err(|e| CoreError::Internal(format!("committer thread: {e}")))?;
    let rt = runtime("writer")?;
    std::thread::Builder::new()
        .name("hub-writer".into())
        .spawn(move || rt.block_on(writer.run(rx, commits)))
        .map_err(|e| CoreError::Internal(format!("writer thread: {e}")))?;
    Ok(())
}

/// Each operation paired with the one context they were all written in.
fn in_context(ops: Vec<EntityOp>, context: &Arc<ActiveContext>) -> Vec<(EntityOp, Arc<ActiveContext>)> {
    ops.into_iter().map(|op| (op, context.clone())).collect()
}
