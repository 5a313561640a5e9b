//! What each NGSI-LD write does to an entity, as pure functions of (operation, current state,
//! time): the writer applies them, the tests check them without a store.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::entity::{AttrKind, Entity, Instance};
use super::error::{ErrorType, HubError};

/// The value that deletes an attribute in a merge (NGSI-LD's null).
pub const NGSI_LD_NULL: &str = "urn:ngsi-ld:null";

#[derive(Debug, Clone, PartialEq)]
pub enum EntityOp {
    /// POST /entities, batch create.
    Create(Entity),
    /// PUT /entities/{id}: every attribute replaced.
    Replace(Entity),
    /// Batch upsert: create, or else replace (`update: false`) or update (`update: true`).
    Upsert {
        entity: Entity,
        update: bool,
    },
    /// PATCH /entities/{id}: merge-patch.
    Merge(Entity),
    /// PATCH /entities/{id}/attrs (only existing attributes), or with `only` the partial update of
    /// one attribute (PATCH /entities/{id}/attrs/{attr}).
    UpdateAttrs {
        entity: Entity,
        only: Option<String>,
    },
    /// POST /entities/{id}/attrs and batch update: add or replace attributes.
    Append {
        entity: Entity,
        no_overwrite: bool,
    },
    DeleteAttr {
        id: String,
        attr: String,
        dataset_id: Option<String>,
        all: bool,
    },
    Delete(String),
    /// POST /temporal/entities/{id}/attrs: past instances added to the history only (each
    /// attribute may have many, told apart by observedAt); the current state is left as it is.
    AddHistory(Entity),
    /// A reading from a connector (MQTT): created if new, else its attributes put, except that
    /// a reading the entity already has (same observedAt and value: a message delivered again
    /// after a crash; or an unchanged value without a time) is written once, and one older
    /// than the current reading goes to the history without overwriting the newer state
    /// (messages out of order).
    Ingest(Entity),
    /// Not a change: the entity as it is, published again as an update (data held back in a
    /// draft dataset, released by its approval).
    Announce(String),
}

impl EntityOp {
    pub fn entity_id(&self) -> &str {
        match self {
            EntityOp::Create(e) | EntityOp::Replace(e) | EntityOp::Merge(e) => &e.id,
            EntityOp::Upsert { entity, .. }
            | EntityOp::UpdateAttrs { entity, .. }
            | EntityOp::Append { entity, .. } => &entity.id,
            EntityOp::AddHistory(e) | EntityOp::Ingest(e) => &e.id,
            EntityOp::DeleteAttr { id, .. } | EntityOp::Delete(id) | EntityOp::Announce(id) => id,
        }
    }

    /// The types of the entity it would create (empty for operations that create nothing).
    pub fn new_types(&self) -> &[String] {
        match self {
            EntityOp::Create(e) | EntityOp::Replace(e) | EntityOp::Merge(e) => &e.types,
            EntityOp::Upsert { entity, .. }
            | EntityOp::UpdateAttrs { entity, .. }
            | EntityOp::Append { entity, .. } => &entity.types,
            EntityOp::AddHistory(e) | EntityOp::Ingest(e) => &e.types,
            EntityOp::DeleteAttr { .. } | EntityOp::Delete(_) | EntityOp::Announce(_) => &[],
        }
    }

    /// Whether the operation needs the stored entity (a create or a plain replace does not).
    pub fn needs_current(&self) -> bool {
        !matches!(self, EntityOp::Create(_) | EntityOp::Upsert { update: false, .. } | EntityOp::Delete(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotUpdated {
    pub attr: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpOutcome {
    Created,
    Updated { updated: Vec<String>, not_updated: Vec<NotUpdated> },
    Deleted,
}

/// The `op` of an operation that adds to the history and changes nothing else.
pub const HISTORY_ONLY: &str = "history";

/// The result of an operation: the new state (None: deleted) and the change to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub state: Option<Entity>,
    pub outcome: OpOutcome,
    /// "create", "update", "replace" or "delete".
    pub op: &'static str,
    /// The attributes written, normalized (what consumers of the event see).
    pub change: Value,
    /// The attributes written (each with all its instances; those written now carry this
    /// write's modifiedAt): what the history keeps.
    pub written: BTreeMap<String, Vec<Instance>>,
}

fn stamp(instances: &mut [Instance], previous: Option<&[Instance]>, now: Timestamp) {
    for i in instances.iter_mut() {
        let before = previous.and_then(|p| p.iter().find(|o| o.dataset_id == i.dataset_id));
        i.created_at = Some(before.and_then(|b| b.created_at).unwrap_or(now));
        i.modified_at = Some(now);
        for (name, sub) in i.sub.iter_mut() {
            let prev_sub = before.and_then(|b| b.sub.get(name)).map(Vec::as_slice);
            stamp(sub, prev_sub, now);
        }
    }
}

fn fresh(mut entity: Entity, created_at: Timestamp, now: Timestamp) -> Entity {
    for instances in entity.attrs.values_mut() {
        stamp(instances, None, now);
    }
    entity.created_at = Some(created_at);
    entity.modified_at = Some(now);
    entity
}

fn change_of(id: &str, types: &[String], attrs: &BTreeMap<String, Vec<Instance>>) -> Value {
    let e = Entity {
        id: id.to_string(),
        types: types.to_vec(),
        attrs: attrs.clone(),
        created_at: None,
        modified_at: None,
    };
    e.to_normalized()
}

/// The id and types of a change that carries no attributes (a delete): consumers that select
/// by type (subscriptions) still know whose change it is.
fn head_of(id: &str, types: &[String]) -> Map<String, Value> {
    let mut change = Map::new();
    change.insert("id".into(), Value::String(id.to_string()));
    if !types.is_empty() {
        let t = match types {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        change.insert("type".into(), t);
    }
    change
}

fn add_types(current: &mut Entity, more: &[String]) {
    for t in more {
        if !current.types.contains(t) {
            current.types.push(t.clone());
        }
    }
}

/// RFC 7396 merge patch, for compound values in a merge.
fn merge_json(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_json(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// A body without "type" is read as a Property unless its form says otherwise; for an attribute
/// that is a GeoProperty and gets a geometry again, the standard takes the type it has.
fn kind_for(old: &Instance, new: &Instance) -> AttrKind {
    if old.kind == AttrKind::GeoProperty
        && new.kind == AttrKind::Property
        && super::entity::check_geometry("", &new.content).is_ok()
    {
        AttrKind::GeoProperty
    } else {
        new.kind
    }
}

/// One instance patched by another: content replaced (objects merged), members given replace
/// those kept, sub-attributes merged by name.
fn merge_instance(old: &Instance, new: &Instance, now: Timestamp) -> Instance {
    let mut out = old.clone();
    let new = &Instance { kind: kind_for(old, new), ..new.clone() };
    if old.kind == AttrKind::Property && new.kind == AttrKind::Property {
        if let (Value::Object(_), Value::Object(_)) = (&old.content, &new.content) {
            merge_json(&mut out.content, &new.content);
        } else {
            out.content = new.content.clone();
        }
    } else {
        out.kind = new.kind;
        out.content = new.content.clone();
    }
    if new.observed_at.is_some() {
        out.observed_at = new.observed_at;
    }
    if new.unit_code.is_some() {
        out.unit_code = new.unit_code.clone();
    }
    for (name, sub) in &new.sub {
        let mut sub = sub.clone();
        stamp(&mut sub, old.sub.get(name).map(Vec::as_slice), now);
        out.sub.insert(name.clone(), sub);
    }
    out.modified_at = Some(now);
    out
}

fn is_null_value(instances: &[Instance]) -> bool {
    instances.iter().all(|i| i.content.as_str() == Some(NGSI_LD_NULL))
}

/// Replaces the instances of `attr` that have the same datasetIds as `new`, keeping the others.
fn put_instances(current: &mut Entity, attr: &str, mut new: Vec<Instance>, now: Timestamp) {
    let previous = current.attrs.get(attr).cloned().unwrap_or_default();
    for n in new.iter_mut() {
        if let Some(old) = previous.iter().find(|o| o.dataset_id == n.dataset_id) {
            n.kind = kind_for(old, n);
        }
    }
    stamp(&mut new, Some(&previous), now);
    let mut merged: Vec<Instance> =
        previous.into_iter().filter(|p| !new.iter().any(|n| n.dataset_id == p.dataset_id)).collect();
    merged.extend(new);
    current.attrs.insert(attr.to_string(), merged);
}

/// Puts each attribute the `refuse` check lets through (it names why it refuses one), and reports
/// what was updated and what was not: the shared shape of an attribute update and an append.
fn put_attributes(
    mut cur: Entity,
    attrs: BTreeMap<String, Vec<Instance>>,
    now: Timestamp,
    refuse: impl Fn(&Entity, &str, &[Instance]) -> Option<String>,
) -> Applied {
    let mut updated = Vec::new();
    let mut not_updated = Vec::new();
    let mut written = BTreeMap::new();
    for (name, instances) in attrs {
        if let Some(reason) = refuse(&cur, &name, &instances) {
            not_updated.push(NotUpdated { attr: name, reason });
            continue;
        }
        put_instances(&mut cur, &name, instances, now);
        written.insert(name.clone(), cur.attrs.get(&name).cloned().unwrap_or_default());
        updated.push(name);
    }
    if !updated.is_empty() {
        cur.modified_at = Some(now);
    }
    let change = change_of(&cur.id, &cur.types, &written);
    Applied {
        state: Some(cur),
        outcome: OpOutcome::Updated { updated, not_updated },
        op: "update",
        change,
        written,
    }
}

pub fn apply(op: EntityOp, current: Option<Entity>, now: Timestamp) -> Result<Applied, HubError> {
    let exists_err = |id: &str| HubError::new(ErrorType::AlreadyExists, format!("{id} already exists"));
    match (op, current) {
        (EntityOp::Create(e), Some(_)) => Err(exists_err(&e.id)),
        (EntityOp::Create(e), None) | (EntityOp::Upsert { entity: e, .. }, None) => {
            let e = fresh(e, now, now);
            let change = e.to_normalized();
            let written = e.attrs.clone();
            Ok(Applied { state: Some(e), outcome: OpOutcome::Created, op: "create", change, written })
        }
        (EntityOp::Replace(e), Some(old)) | (EntityOp::Upsert { entity: e, update: false }, Some(old)) => {
            let mut e = fresh(e, old.created_at.unwrap_or(now), now);
            if e.types.is_empty() {
                e.types = old.types;
            }
            let change = e.to_normalized();
            let updated = e.attrs.keys().cloned().collect();
            let written = e.attrs.clone();
            Ok(Applied {
                state: Some(e),
                outcome: OpOutcome::Updated { updated, not_updated: Vec::new() },
                op: "replace",
                change,
                written,
            })
        }
        (EntityOp::Upsert { entity, update: true }, Some(old)) => {
            apply(EntityOp::Append { entity, no_overwrite: false }, Some(old), now)
        }
        (EntityOp::Merge(fragment), Some(mut cur)) => {
            add_types(&mut cur, &fragment.types);
            let mut written = BTreeMap::new();
            let mut deleted = Vec::new();
            for (name, instances) in fragment.attrs {
                if is_null_value(&instances) {
                    if cur.attrs.remove(&name).is_some() {
                        deleted.push(name);
                    }
                    continue;
                }
                let old = cur.attrs.get(&name).cloned().unwrap_or_default();
                let mut out: Vec<Instance> = Vec::new();
                for new in &instances {
                    match old.iter().find(|o| o.dataset_id == new.dataset_id) {
                        Some(o) => out.push(merge_instance(o, new, now)),
                        None => {
                            let mut n = vec![new.clone()];
                            stamp(&mut n, None, now);
                            out.extend(n);
                        }
                    }
                }
                let keep: Vec<Instance> = old
                    .into_iter()
                    .filter(|o| !instances.iter().any(|n| n.dataset_id == o.dataset_id))
                    .collect();
                written.insert(name.clone(), out.clone());
                out.extend(keep);
                cur.attrs.insert(name, out);
            }
            cur.modified_at = Some(now);
            let mut change = change_of(&cur.id, &cur.types, &written);
            // Consumers learn of a removed attribute as the standard writes it: NGSI-LD null.
            if let Value::Object(m) = &mut change {
                for name in &deleted {
                    m.insert(name.clone(), Value::String(NGSI_LD_NULL.into()));
                }
            }
            let mut updated: Vec<String> = written.keys().cloned().collect();
            updated.extend(deleted);
            Ok(Applied {
                state: Some(cur),
                outcome: OpOutcome::Updated { updated, not_updated: Vec::new() },
                op: "update",
                change,
                written,
            })
        }
        (EntityOp::UpdateAttrs { entity, only: Some(attr) }, Some(cur)) => {
            if !entity.attrs.contains_key(&attr) {
                return Err(HubError::bad_data(format!("the body does not hold the attribute {attr}")));
            }
            if !cur.attrs.contains_key(&attr) {
                return Err(HubError::new(
                    ErrorType::ResourceNotFound,
                    format!("{} has no attribute {attr}", cur.id),
                ));
            }
            let mut fragment = entity;
            fragment.attrs.retain(|k, _| k == &attr);
            apply(EntityOp::Merge(fragment), Some(cur), now)
        }
        (EntityOp::UpdateAttrs { entity, only: None }, Some(cur)) => {
            // Only attributes (and datasetId instances) that exist are updated.
            Ok(put_attributes(cur, entity.attrs, now, |cur, name, instances| {
                let Some(old) = cur.attrs.get(name) else {
                    return Some("the attribute does not exist".into());
                };
                instances.iter().find(|n| !old.iter().any(|o| o.dataset_id == n.dataset_id)).map(|missing| {
                    format!(
                        "no instance with datasetId {}",
                        missing.dataset_id.as_deref().unwrap_or("default")
                    )
                })
            }))
        }
        (EntityOp::Append { entity, no_overwrite }, Some(mut cur)) => {
            add_types(&mut cur, &entity.types);
            Ok(put_attributes(cur, entity.attrs, now, |cur, name, _| {
                (no_overwrite && cur.attrs.contains_key(name))
                    .then(|| "the attribute exists (noOverwrite)".to_string())
            }))
        }
        (EntityOp::DeleteAttr { id, attr, dataset_id, all }, Some(mut cur)) => {
            let Some(instances) = cur.attrs.get_mut(&attr) else {
                return Err(HubError::new(
                    ErrorType::ResourceNotFound,
                    format!("{id} has no attribute {attr}"),
                ));
            };
            if all {
                cur.attrs.remove(&attr);
            } else {
                let before = instances.len();
                instances.retain(|i| i.dataset_id != dataset_id);
                if instances.len() == before {
                    let which = dataset_id.as_deref().unwrap_or("default");
                    return Err(HubError::new(
                        ErrorType::ResourceNotFound,
                        format!("{attr} of {id} has no instance with datasetId {which}"),
                    ));
                }
                if instances.is_empty() {
                    cur.attrs.remove(&attr);
                }
            }
            cur.modified_at = Some(now);
            let mut change = head_of(&id, &cur.types);
            change.insert("deletedAttribute".into(), Value::String(attr.clone()));
            Ok(Applied {
                state: Some(cur),
                outcome: OpOutcome::Updated { updated: vec![attr], not_updated: Vec::new() },
                op: "update",
                change: Value::Object(change),
                written: BTreeMap::new(),
            })
        }
        (EntityOp::Delete(id), Some(old)) => {
            let change = head_of(&id, &old.types);
            Ok(Applied {
                state: None,
                outcome: OpOutcome::Deleted,
                op: "delete",
                change: Value::Object(change),
                written: BTreeMap::new(),
            })
        }
        (EntityOp::Ingest(e), None) => apply(EntityOp::Create(e), None, now),
        (EntityOp::Ingest(reading), Some(mut cur)) => {
            add_types(&mut cur, &reading.types);
            let mut current = BTreeMap::new();
            let mut late: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
            for (name, instances) in reading.attrs {
                let old = cur.attrs.get(&name);
                for n in instances {
                    let o = old.and_then(|o| o.iter().find(|o| o.dataset_id == n.dataset_id));
                    // The same reading (or, without a time, the same value, such as a
                    // station's fixed location sent with every message) is not written again.
                    let repeat = o.is_some_and(|o| {
                        o.observed_at == n.observed_at && o.content == n.content && o.unit_code == n.unit_code
                    });
                    let older = o.is_some_and(
                        |o| matches!((o.observed_at, n.observed_at), (Some(a), Some(b)) if b < a),
                    );
                    if repeat {
                        continue;
                    }
                    if older {
                        late.entry(name.clone()).or_default().push(n);
                    } else {
                        current.entry(name.clone()).or_insert_with(Vec::new).push(n);
                    }
                }
            }
            let only_late = current.is_empty() && !late.is_empty();
            let mut applied = put_attributes(cur, current, now, |_, _, _| None);
            if let OpOutcome::Updated { updated, .. } = &mut applied.outcome {
                updated.extend(late.keys().filter(|k| !updated.contains(k)).cloned().collect::<Vec<_>>());
            }
            for (name, mut instances) in late {
                stamp(&mut instances, None, now);
                applied.written.entry(name).or_default().extend(instances);
            }
            if only_late {
                applied.op = HISTORY_ONLY;
                applied.change = Value::Null;
            }
            Ok(applied)
        }
        (EntityOp::AddHistory(past), Some(cur)) => {
            let mut written = past.attrs;
            for instances in written.values_mut() {
                stamp(instances, None, now);
            }
            let updated = written.keys().cloned().collect();
            Ok(Applied {
                state: Some(cur),
                outcome: OpOutcome::Updated { updated, not_updated: Vec::new() },
                op: HISTORY_ONLY,
                change: Value::Null,
                written,
            })
        }
        (EntityOp::Announce(_), Some(cur)) => Ok(Applied {
            outcome: OpOutcome::Updated {
                updated: cur.attrs.keys().cloned().collect(),
                not_updated: Vec::new(),
            },
            op: "update",
            change: cur.to_normalized(),
            written: BTreeMap::new(),
            state: Some(cur),
        }),
        (op, None) => Err(HubError::not_found(op.entity_id())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::entity::{parse_entity, parse_fragment};
    use serde_json::json;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn lamp() -> Entity {
        let e = parse_entity(&json!({
            "id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight",
            "status": "ok",
            "power": {"type": "Property", "value": 60, "unitCode": "WTT"},
            "address": {"type": "Property", "value": {"street": "19/5", "ward": "Tân Phong"}},
            "rain": [{"type": "Property", "value": 1, "datasetId": "urn:ds:a"}, {"type": "Property", "value": 2}]
        }))
        .unwrap();
        apply(EntityOp::Create(e), None, t("2026-11-23T01:00:00Z")).unwrap().state.unwrap()
    }

    fn frag(v: Value) -> Entity {
        parse_fragment(&v, "urn:ngsi-ld:Streetlight:1").unwrap()
    }

    #[test]
    fn a_reading_delivered_twice_is_kept_once_and_a_late_one_goes_to_the_history_only() {
        let reading = |v: f64, at: &str| {
            frag(json!({"type": "Streetlight", "power": {"type": "Property", "value": v, "observedAt": at}}))
        };
        let now = t("2026-11-23T03:00:00Z");
        let first =
            apply(EntityOp::Ingest(reading(61.0, "2026-11-23T02:00:00Z")), Some(lamp()), now).unwrap();
        assert_eq!(first.op, "update");
        let state = first.state.unwrap();
        assert_eq!(state.attrs["power"][0].content, json!(61.0));

        // The same message again: nothing to write.
        let again =
            apply(EntityOp::Ingest(reading(61.0, "2026-11-23T02:00:00Z")), Some(state.clone()), now).unwrap();
        assert_eq!(again.outcome, OpOutcome::Updated { updated: vec![], not_updated: vec![] });

        // An older reading arriving late: kept in the history, the newer state stays.
        let late =
            apply(EntityOp::Ingest(reading(58.0, "2026-11-23T01:30:00Z")), Some(state.clone()), now).unwrap();
        assert_eq!(late.op, HISTORY_ONLY);
        assert_eq!(late.state.unwrap().attrs["power"][0].content, json!(61.0));
        assert_eq!(late.written["power"][0].content, json!(58.0));
        assert_eq!(late.written["power"][0].modified_at, Some(now));

        // A new entity is created from its first reading.
        let e = parse_entity(&json!({"id": "urn:ngsi-ld:Streetlight:9", "type": "Streetlight", "power": 5}))
            .unwrap();
        assert_eq!(apply(EntityOp::Ingest(e), None, now).unwrap().op, "create");
    }

    #[test]
    fn create_stamps_times_and_refuses_a_second_time() {
        let e = lamp();
        assert_eq!(e.created_at, Some(t("2026-11-23T01:00:00Z")));
        assert_eq!(e.attrs["power"][0].created_at, Some(t("2026-11-23T01:00:00Z")));
        let again = apply(EntityOp::Create(e.clone()), Some(e), t("2026-11-23T02:00:00Z")).unwrap_err();
        assert_eq!(again.kind, ErrorType::AlreadyExists);
    }

    #[test]
    fn merge_keeps_what_it_does_not_name_and_deletes_with_null() {
        let now = t("2026-11-23T02:00:00Z");
        let a = apply(
            EntityOp::Merge(frag(json!({"power": {"type": "Property", "value": 80}, "address": {"type": "Property", "value": {"ward": "Đoàn Kết"}}, "status": "urn:ngsi-ld:null"}))),
            Some(lamp()),
            now,
        )
        .unwrap();
        let e = a.state.unwrap();
        assert_eq!(e.attrs["power"][0].content, json!(80));
        assert_eq!(e.attrs["power"][0].unit_code.as_deref(), Some("WTT"), "unitCode kept");
        assert_eq!(e.attrs["power"][0].created_at, Some(t("2026-11-23T01:00:00Z")));
        assert_eq!(e.attrs["power"][0].modified_at, Some(now));
        assert_eq!(e.attrs["address"][0].content, json!({"street": "19/5", "ward": "Đoàn Kết"}));
        assert!(!e.attrs.contains_key("status"));
        assert_eq!(e.attrs["rain"].len(), 2);
    }

    #[test]
    fn update_attrs_reports_what_it_could_not_update() {
        let a = apply(
            EntityOp::UpdateAttrs { entity: frag(json!({"power": 70, "colour": "red"})), only: None },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap();
        let OpOutcome::Updated { updated, not_updated } = a.outcome else { panic!() };
        assert_eq!(updated, vec!["power"]);
        assert_eq!(not_updated[0].attr, "colour");
        let e = a.state.unwrap();
        assert_eq!(e.attrs["power"][0].content, json!(70));
        assert_eq!(e.attrs["power"][0].unit_code, None, "an update replaces the instance");
        assert!(!e.attrs.contains_key("colour"));
    }

    #[test]
    fn partial_update_of_one_attribute_needs_it_to_exist() {
        let e = apply(
            EntityOp::UpdateAttrs {
                entity: frag(json!({"power": {"value": 75}})),
                only: Some("power".into()),
            },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap()
        .state
        .unwrap();
        assert_eq!(e.attrs["power"][0].content, json!(75));
        assert_eq!(e.attrs["power"][0].unit_code.as_deref(), Some("WTT"));
        let missing = apply(
            EntityOp::UpdateAttrs { entity: frag(json!({"colour": "red"})), only: Some("colour".into()) },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(missing.kind, ErrorType::ResourceNotFound);
    }

    #[test]
    fn append_with_no_overwrite_keeps_existing_attributes() {
        let a = apply(
            EntityOp::Append { entity: frag(json!({"power": 10, "colour": "red"})), no_overwrite: true },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap();
        let e = a.state.unwrap();
        assert_eq!(e.attrs["power"][0].content, json!(60));
        assert_eq!(e.attrs["colour"][0].content, json!("red"));
        let OpOutcome::Updated { not_updated, .. } = a.outcome else { panic!() };
        assert_eq!(not_updated[0].attr, "power");
    }

    #[test]
    fn deleting_one_instance_keeps_the_others() {
        let e = apply(
            EntityOp::DeleteAttr {
                id: "urn:ngsi-ld:Streetlight:1".into(),
                attr: "rain".into(),
                dataset_id: Some("urn:ds:a".into()),
                all: false,
            },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap()
        .state
        .unwrap();
        assert_eq!(e.attrs["rain"].len(), 1);
        assert_eq!(e.attrs["rain"][0].content, json!(2));
        let gone = apply(
            EntityOp::DeleteAttr {
                id: "urn:ngsi-ld:Streetlight:1".into(),
                attr: "nope".into(),
                dataset_id: None,
                all: false,
            },
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(gone.kind, ErrorType::ResourceNotFound);
    }

    #[test]
    fn replace_keeps_creation_time_and_drops_other_attributes() {
        let new =
            parse_entity(&json!({"id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight", "status": "off"}))
                .unwrap();
        let e =
            apply(EntityOp::Replace(new), Some(lamp()), t("2026-11-23T03:00:00Z")).unwrap().state.unwrap();
        assert_eq!(e.created_at, Some(t("2026-11-23T01:00:00Z")));
        assert_eq!(e.attrs.keys().collect::<Vec<_>>(), vec!["status"]);
    }

    #[test]
    fn a_geometry_sent_without_its_type_keeps_the_attribute_a_geoproperty() {
        let e = parse_entity(&json!({"id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight",
            "area": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.4, 22.3]}}}))
        .unwrap();
        let fragment = frag(json!({"area": {"value": {"type": "Point", "coordinates": [103.5, 22.4]}}}));
        for op in [
            EntityOp::Merge(fragment.clone()),
            EntityOp::UpdateAttrs { entity: fragment.clone(), only: None },
            EntityOp::Append { entity: fragment.clone(), no_overwrite: false },
        ] {
            let e = apply(op, Some(e.clone()), t("2026-11-23T02:00:00Z")).unwrap().state.unwrap();
            assert_eq!(e.attrs["area"][0].kind, AttrKind::GeoProperty);
            assert_eq!(e.attrs["area"][0].content["coordinates"], json!([103.5, 22.4]));
        }
    }

    #[test]
    fn a_merge_tells_consumers_which_attributes_it_removed() {
        let a = apply(
            EntityOp::Merge(frag(json!({"status": "urn:ngsi-ld:null"}))),
            Some(lamp()),
            t("2026-11-23T02:00:00Z"),
        )
        .unwrap();
        assert_eq!(a.change["status"], json!(NGSI_LD_NULL));
        let OpOutcome::Updated { updated, .. } = a.outcome else { panic!() };
        assert_eq!(updated, vec!["status"]);
    }

    #[test]
    fn operations_on_a_missing_entity_are_not_found() {
        let err = apply(EntityOp::Delete("urn:x:1".into()), None, t("2026-11-23T03:00:00Z")).unwrap_err();
        assert_eq!(err.kind, ErrorType::ResourceNotFound);
    }
}
