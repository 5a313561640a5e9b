//! What a subscription wants, compiled from its document: names expanded in the context it was
//! made in, `q` and `geoQ` parsed, id patterns built. The registry keeps the active ones by
//! entity type, so a change is checked only against the subscriptions that could want it.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::model::{NotifyFormat, SubscriptionSpec, Trigger};
use crate::hub::context::ActiveContext;
use crate::hub::entity::{Entity, Render};
use crate::hub::geoquery::{to_geometry, GeoQuery};
use crate::hub::ops::NGSI_LD_NULL;
use crate::hub::query::Query;
use crate::repo::EntityChangeRecord;

#[derive(Debug, Clone)]
struct Selector {
    type_iri: String,
    id: Option<String>,
    pattern: Option<regex::Regex>,
}

/// A subscription ready to be matched: its spec, who made it, and its compiled filters.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub spec: SubscriptionSpec,
    pub owner_user: String,
    pub owner_org: String,
    /// Set after `new` from the stored row: the token the subscription was made with.
    pub owner_token: Option<String>,
    pub created_at: Timestamp,
    /// The context notifications are compacted with, and the value that names it.
    pub context: Arc<ActiveContext>,
    pub context_value: Value,
    selectors: Vec<Selector>,
    watched: Option<Vec<String>>,
    attributes: Option<Vec<String>>,
    q: Option<Query>,
    geo: Option<GeoQuery>,
}

/// One change from the entity outbox, as a subscription reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeView {
    pub seq: i64,
    pub entity_id: String,
    pub types: Vec<String>,
    pub op: String,
    pub at: Timestamp,
    /// Attributes written (created or updated).
    pub written: Vec<String>,
    /// Attributes removed.
    pub removed: Vec<String>,
}

impl ChangeView {
    /// None for a change that tells nothing to subscribers (history only, unreadable body).
    pub fn of(record: &EntityChangeRecord) -> Option<ChangeView> {
        let body: Value = serde_json::from_str(&record.change.body).ok()?;
        let Value::Object(o) = body else { return None };
        let types = match o.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let mut written = Vec::new();
        let mut removed = Vec::new();
        for (k, v) in &o {
            match k.as_str() {
                "id" | "type" => {}
                "deletedAttribute" => removed.extend(v.as_str().map(str::to_string)),
                _ if v.as_str() == Some(NGSI_LD_NULL) => removed.push(k.clone()),
                _ => written.push(k.clone()),
            }
        }
        Some(ChangeView {
            seq: record.seq,
            entity_id: record.change.entity_id.clone(),
            types,
            op: record.change.op.clone(),
            at: record.change.at,
            written,
            removed,
        })
    }
}

/// What a subscription sends of a change it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The entity as it is now (it must still match q and geoQ).
    State,
    /// That the entity is gone.
    Deleted,
}

impl Compiled {
    pub fn new(
        spec: SubscriptionSpec,
        owner_user: String,
        owner_org: String,
        created_at: Timestamp,
        context: Arc<ActiveContext>,
        context_value: Value,
    ) -> Result<Compiled, String> {
        let ex = |n: &str| context.expand(n);
        let selectors = spec
            .entities
            .iter()
            .map(|s| {
                let pattern = match (&s.id, &s.id_pattern) {
                    // As in queries: the pattern may match anywhere in the id (anchor it with ^ and $).
                    (None, Some(p)) => Some(regex::Regex::new(p).map_err(|e| e.to_string())?),
                    _ => None,
                };
                Ok(Selector { type_iri: ex(&s.type_name), id: s.id.clone(), pattern })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let q = match &spec.q {
            Some(text) => Some(Query::parse(text).map_err(|e| e.to_string())?.expand(&ex)),
            None => None,
        };
        let geo = match &spec.geo_q {
            Some(g) => {
                let mut parsed =
                    GeoQuery::parse(&g.georel, &g.geometry, &g.coordinates, g.geoproperty.as_deref())
                        .map_err(|e| e.to_string())?;
                parsed.geoproperty = ex(&parsed.geoproperty);
                Some(parsed)
            }
            None => None,
        };
        let names = |list: &Option<Vec<String>>| list.as_ref().map(|l| l.iter().map(|n| ex(n)).collect());
        Ok(Compiled {
            watched: names(&spec.watched),
            attributes: names(&spec.attributes),
            selectors,
            q,
            geo,
            spec,
            owner_user,
            owner_org,
            owner_token: None,
            created_at,
            context,
            context_value,
        })
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Active, not expired, and told of changes (not periodic).
    pub fn listens(&self, now: Timestamp) -> bool {
        self.spec.active && self.spec.expires_at.is_none_or(|t| t > now)
    }

    pub fn is_periodic(&self) -> bool {
        self.spec.time_interval.is_some()
    }

    /// The expanded types this subscription selects; empty when it selects by attributes only.
    pub fn type_iris(&self) -> Vec<String> {
        self.selectors.iter().map(|s| s.type_iri.clone()).collect()
    }

    /// The entity ids it selects, when every selector names one (else None).
    fn entity_ids(&self) -> Option<Vec<String>> {
        if self.selectors.is_empty() {
            return None;
        }
        self.selectors.iter().map(|s| s.id.clone()).collect()
    }

    fn selects(&self, entity_id: &str, types: &[String]) -> bool {
        self.selectors.is_empty()
            || self.selectors.iter().any(|s| {
                types.contains(&s.type_iri)
                    && match (&s.id, &s.pattern) {
                        (Some(id), _) => id == entity_id,
                        (None, Some(p)) => p.is_match(entity_id),
                        (None, None) => true,
                    }
            })
    }

    fn watches(&self, attrs: &[String]) -> bool {
        match &self.watched {
            None => !attrs.is_empty(),
            Some(w) => attrs.iter().any(|a| w.contains(a)),
        }
    }

    /// Whether this change is one to notify, and with what. Changes made before the
    /// subscription existed are not its business.
    pub fn wants(&self, change: &ChangeView) -> Option<Wanted> {
        if change.at < self.created_at
            || self.is_periodic()
            || !self.selects(&change.entity_id, &change.types)
        {
            return None;
        }
        let has = |t: Trigger| self.spec.triggers.contains(&t);
        match change.op.as_str() {
            "delete" => has(Trigger::EntityDeleted).then_some(Wanted::Deleted),
            "create" => (has(Trigger::EntityCreated)
                || (has(Trigger::AttributeCreated) && self.watches(&change.written)))
            .then_some(Wanted::State),
            // An update cannot tell a new attribute from a changed one without the state before
            // it: both count as updated (attributeUpdated), as every attribute of a new entity
            // counts as created.
            "update" | "replace" => {
                let changed: Vec<String> = change.written.iter().chain(&change.removed).cloned().collect();
                let fires = has(Trigger::EntityUpdated) && self.watches(&changed)
                    || has(Trigger::AttributeUpdated) && self.watches(&change.written)
                    || has(Trigger::AttributeDeleted) && self.watches(&change.removed);
                fires.then_some(Wanted::State)
            }
            _ => None,
        }
    }

    /// The queries that pick what a periodic notification holds: one per entity selector.
    pub fn entity_queries(&self) -> Vec<crate::hub::EntityQuery> {
        self.selectors
            .iter()
            .map(|s| crate::hub::EntityQuery {
                types: Some(vec![s.type_iri.clone()]),
                ids: s.id.clone().map(|id| vec![id]),
                id_pattern: s.pattern.clone(),
                q: self.q.clone(),
                geo: self.geo.clone(),
                ..Default::default()
            })
            .collect()
    }

    /// `q` and `geoQ` on the entity as it is now.
    pub fn matches(&self, entity: &Entity) -> bool {
        if self.q.as_ref().is_some_and(|q| !q.matches(entity)) {
            return false;
        }
        match &self.geo {
            None => true,
            Some(g) => entity.attrs.get(&g.geoproperty).is_some_and(|instances| {
                instances.iter().filter_map(|i| to_geometry(&i.content)).any(|geom| g.matches(&geom))
            }),
        }
    }

    /// The entity as this subscription's notifications carry it: its attributes, its format,
    /// compacted in its context.
    pub fn render_entity(&self, entity: &Entity) -> Value {
        let mut e = entity.clone();
        if let Some(only) = &self.attributes {
            e.attrs.retain(|k, _| only.contains(k));
        }
        let e = e.map_names(&|n| self.context.compact(n));
        let render = Render { attrs: None, sys_attrs: self.spec.sys_attrs };
        match self.spec.format {
            NotifyFormat::Normalized => e.render_normalized(render),
            NotifyFormat::Concise => e.render_concise(render),
            NotifyFormat::KeyValues => e.render_key_values(render, self.spec.lang.as_deref()),
        }
    }

    /// A deleted entity: its id, types and when (as NGSI-LD notifies an entityDeleted).
    pub fn render_deleted(&self, change: &ChangeView) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(change.entity_id.clone()));
        let types: Vec<Value> = change.types.iter().map(|t| Value::String(self.context.compact(t))).collect();
        if let [one] = types.as_slice() {
            m.insert("type".into(), one.clone());
        } else if !types.is_empty() {
            m.insert("type".into(), Value::Array(types));
        }
        m.insert("deletedAt".into(), Value::String(change.at.to_string()));
        Value::Object(m)
    }
}

/// The subscriptions in force, by the entities or types they select: a change is checked only
/// against those that could want it (a thousand subscriptions each on one station cost a
/// lookup per change, not a thousand checks).
#[derive(Default)]
pub struct Registry {
    subs: HashMap<String, Arc<Compiled>>,
    /// Those whose every selector names an entity id.
    by_id: HashMap<String, Vec<Arc<Compiled>>>,
    by_type: HashMap<String, Vec<Arc<Compiled>>>,
    /// Those that select by watched attributes alone (any type).
    any_type: Vec<Arc<Compiled>>,
}

impl Registry {
    pub fn put(&mut self, sub: Compiled) {
        self.subs.insert(sub.id().to_string(), Arc::new(sub));
        self.reindex();
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let gone = self.subs.remove(id).is_some();
        self.reindex();
        gone
    }

    pub fn get(&self, id: &str) -> Option<Arc<Compiled>> {
        self.subs.get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Compiled>> {
        self.subs.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Whether any subscription is told of changes (else the notifier skips the outbox).
    pub fn has_listeners(&self, now: Timestamp) -> bool {
        self.subs.values().any(|s| !s.is_periodic() && s.listens(now))
    }

    fn reindex(&mut self) {
        self.by_id.clear();
        self.by_type.clear();
        self.any_type.clear();
        for sub in self.subs.values() {
            if let Some(mut ids) = sub.entity_ids() {
                ids.sort();
                ids.dedup();
                for id in ids {
                    self.by_id.entry(id).or_default().push(sub.clone());
                }
                continue;
            }
            let mut types = sub.type_iris();
            types.sort();
            types.dedup();
            if types.is_empty() {
                self.any_type.push(sub.clone());
            }
            for t in types {
                self.by_type.entry(t).or_default().push(sub.clone());
            }
        }
    }

    /// The subscriptions that could want a change to this entity (of these types).
    pub fn candidates(&self, entity_id: &str, types: &[String]) -> Vec<Arc<Compiled>> {
        let mut out: Vec<Arc<Compiled>> = self.any_type.clone();
        out.extend(self.by_id.get(entity_id).into_iter().flatten().cloned());
        for t in types {
            for s in self.by_type.get(t).into_iter().flatten() {
                if !out.iter().any(|o| Arc::ptr_eq(o, s)) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}
