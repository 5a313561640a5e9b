//! The history side of the hub (NGSI-LD temporal API): which stored instances a temporal request
//! reads, turned back into the model for [`super::temporal`] to select and render.
//!
//! Entities are picked by their current state (type, id, idPattern, q, geo), as the entity query
//! picks them; their history is then read per attribute from the store's time index.

use serde_json::Value;

use super::entity::{parse_attribute, parse_entity, parse_fragment, Entity, EntityError, Instance};
use super::error::{HubError, HubResult};
use super::temporal::{TemporalInstance, TemporalParams, TimeProperty, TimeRel};
use crate::error::CoreError;
use crate::repo::{HistoryFilter, InstanceRow, Repositories};

/// One entity's current state (for its id and types) and the instances of its history that a
/// temporal request asked for, names expanded.
#[derive(Debug, Clone)]
pub struct EntityHistory {
    pub entity: Entity,
    pub instances: Vec<TemporalInstance>,
}

/// The instance id the temporal API shows: stable, as the row's sequence number is.
fn instance_id(seq: i64) -> String {
    format!("urn:ngsi-ld:attribute-instance:{seq}")
}

/// A stored row that does not read back is the store's fault, logged and answered as internal.
fn broken(row: &InstanceRow, e: impl std::fmt::Display) -> HubError {
    CoreError::Storage(format!("history row {} of {}: {e}", row.seq, row.entity_id)).into()
}

fn instance_of(row: InstanceRow, by_write_time: bool) -> HubResult<TemporalInstance> {
    let body: Value = serde_json::from_str(&row.body).map_err(|e| broken(&row, e))?;
    let mut parsed = parse_attribute(&row.attr, &row.attr, &body).map_err(|e| broken(&row, e))?;
    let instance = parsed.pop().ok_or_else(|| broken(&row, "no instance"))?;
    Ok(TemporalInstance {
        attr: row.attr,
        instance_id: instance_id(row.seq),
        at: if by_write_time { row.created_at } else { row.at },
        instance,
    })
}

/// Reads what `params` asks of one entity's history. The store filters by observedAt (its time
/// index); for createdAt or modifiedAt every instance is read and `temporal::select` filters.
pub async fn read_history(
    repo: &dyn Repositories,
    entity: Entity,
    attrs: Option<&[String]>,
    params: &TemporalParams,
) -> HubResult<EntityHistory> {
    let by_observed = matches!(params.time_property, TimeProperty::ObservedAt);
    let (from, to) = match (&params.timerel, by_observed) {
        (Some(TimeRel::Before(t)), true) => (None, Some(*t)),
        (Some(TimeRel::After(t)), true) => (Some(*t), None),
        (Some(TimeRel::Between(a, b)), true) => (Some(*a), Some(*b)),
        _ => (None, None),
    };
    let filter = HistoryFilter {
        entity_id: &entity.id,
        attrs,
        from,
        to,
        last_n: if by_observed { params.last_n.map(|n| n as i64) } else { None },
    };
    let rows = repo.entity_history(&filter).await?;
    let instances = rows.into_iter().map(|r| instance_of(r, !by_observed)).collect::<HubResult<Vec<_>>>()?;
    let instances = super::temporal::select(instances, params);
    Ok(EntityHistory { entity, instances })
}

/// A temporal representation sent to be kept (POST /temporal/entities, or with `id` from the
/// URL POST /temporal/entities/{id}/attrs): each attribute an instance or a list of them,
/// several instances of one attribute told apart by observedAt. Bad input names its member.
pub fn parse_temporal(payload: &Value, id: Option<&str>) -> Result<Entity, EntityError> {
    let Value::Object(o) = payload else { return Err(EntityError::at("", "the body must be a JSON object")) };
    let skeleton: serde_json::Map<String, Value> =
        o.iter().filter(|(k, _)| is_entity_member(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut entity = match id {
        Some(id) => parse_fragment(&Value::Object(skeleton), id)?,
        None => parse_entity(&Value::Object(skeleton))?,
    };
    for (name, value) in o.iter().filter(|(k, _)| !is_entity_member(k)) {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        if items.is_empty() {
            return Err(EntityError::at(name, "needs at least one instance"));
        }
        let mut instances = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            instances.extend(parse_attribute(&format!("{name}[{i}]"), name, item)?);
        }
        entity.attrs.insert(name.clone(), instances);
    }
    Ok(entity)
}

fn is_entity_member(name: &str) -> bool {
    matches!(name, "id" | "@id" | "type" | "@type" | "@context" | "createdAt" | "modifiedAt")
}

/// For a temporal representation of an entity not yet in the hub: the newest instance of each
/// attribute (and datasetId) becomes the current state, the others go to the history only.
pub fn split_latest(entity: Entity) -> (Entity, Entity) {
    let mut latest = Entity { attrs: Default::default(), ..entity.clone() };
    let mut past = Entity { attrs: Default::default(), types: Vec::new(), ..entity.clone() };
    for (name, mut instances) in entity.attrs {
        // Oldest first; the last of each datasetId is its current value.
        instances.sort_by_key(|i| i.observed_at);
        let mut current: Vec<Instance> = Vec::new();
        let mut older: Vec<Instance> = Vec::new();
        for i in instances.into_iter().rev() {
            if current.iter().any(|c| c.dataset_id == i.dataset_id) {
                older.push(i);
            } else {
                current.push(i);
            }
        }
        latest.attrs.insert(name.clone(), current);
        if !older.is_empty() {
            older.reverse();
            past.attrs.insert(name, older);
        }
    }
    (latest, past)
}
