//! The in-memory indexes over the store's entities: id → slot, types, which attributes each entity
//! has, a sorted value index per attribute (for `q`) and an R-tree per GeoProperty (for geo-queries).
//!
//! Bodies stay in the store; the index keeps what picks candidates, in compact form (a slot is
//! a few hundred bytes), so a million entities fit well inside the memory budget. It is rebuilt
//! from the store at start and updated by the writer after each commit, never before.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use geo::{BoundingRect, Geometry};
use rstar::{RTree, RTreeObject, AABB};

use super::entity::{AttrKind, Entity};
use super::geoquery::{to_geometry, GeoQuery};
use super::query::{index_scalars, IndexHint, Scalar};
use crate::datasets::catalog::Visibility;

/// Names (types, attributes) as small numbers: an entity keeps u32s, not IRIs.
#[derive(Default)]
struct Interner {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map(|n| &**n).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
struct GeoEntry {
    slot: u32,
    envelope: AABB<[f64; 2]>,
    geometry: Arc<Geometry<f64>>,
}

impl PartialEq for GeoEntry {
    fn eq(&self, other: &Self) -> bool {
        self.slot == other.slot && self.envelope == other.envelope
    }
}

impl RTreeObject for GeoEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

struct Slot {
    id: Box<str>,
    types: Box<[u32]>,
    attrs: Box<[u32]>,
    owner: Option<Box<str>>,
    /// The units its location lies in, most specific first (interned codes).
    units: Box<[u32]>,
    /// The datasets it belongs to (the catalog's numbers).
    datasets: Box<[u32]>,
    created_at: i64,
    /// What this entity put in the value indexes, to take it out again.
    values: Box<[(u32, Scalar)]>,
    geo: Box<[(u32, GeoEntry)]>,
}

/// What the index knows of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub owner: Option<String>,
    /// Microseconds, for keeping createdAt on a replace.
    pub created_at: i64,
    /// Expanded type IRIs: a delete's change names them, so subscriptions by type hear of it.
    pub types: Vec<String>,
    pub place: Placement,
}

/// Where an entity is filed: the units its location lies in (most specific first) and the
/// datasets it belongs to. Worked out by the writer, which knows the catalog and the units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    pub units: Vec<String>,
    pub datasets: Vec<u32>,
}

#[derive(Default)]
pub struct EntityIndex {
    slots: Vec<Option<Slot>>,
    by_id: HashMap<Box<str>, u32>,
    types: Interner,
    attrs: Interner,
    units: Interner,
    values: HashMap<u32, BTreeSet<(Scalar, u32)>>,
    geo: HashMap<u32, RTree<GeoEntry>>,
    live: usize,
    /// Entities deleted with their history kept: id → (owner, types). Their id is not given to
    /// another organisation, which would read that history as its own.
    deleted: HashMap<Box<str>, Deleted>,
}

/// What is kept of a deleted entity: its owner and types.
type Deleted = (Option<Box<str>>, Vec<String>);

/// Where a query's candidates come from, in creation order.
pub struct Selection {
    pub slots: Vec<u32>,
}

/// The filters the index can apply without the bodies.
#[derive(Default)]
pub struct Filter<'a> {
    pub ids: Option<&'a [String]>,
    pub id_pattern: Option<&'a regex::Regex>,
    /// Expanded type IRIs; an entity matches if it has any.
    pub types: Option<&'a [String]>,
    /// Expanded attribute IRIs; an entity matches if it has any.
    pub attrs: Option<&'a [String]>,
    /// Expanded geoproperty already in `geo.geoproperty`.
    pub geo: Option<&'a GeoQuery>,
    pub hint: Option<&'a IndexHint>,
    /// Only entities lying in this unit (a commune or province code).
    pub unit: Option<&'a str>,
    /// Only what the caller may read (datasets held back or not shared are left out).
    pub visible: Option<&'a Visibility>,
}

/// What the value index keys an entity by: the values `q` compares, as the query module says.
fn scalars(entity: &Entity) -> Vec<(String, Scalar)> {
    let mut out = Vec::new();
    for (name, instances) in &entity.attrs {
        for i in instances.iter().filter(|i| i.kind != AttrKind::GeoProperty) {
            out.extend(index_scalars(i).into_iter().map(|s| (name.clone(), s)));
        }
    }
    out
}

fn envelope_of(g: &Geometry<f64>) -> Option<AABB<[f64; 2]>> {
    let r = g.bounding_rect()?;
    Some(AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

impl EntityIndex {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn summary(&self, id: &str) -> Option<Summary> {
        let slot = self.slot(id)?;
        Some(Summary {
            owner: slot.owner.as_deref().map(str::to_string),
            created_at: slot.created_at,
            types: slot.types.iter().map(|t| self.types.name(*t).to_string()).collect(),
            place: Placement {
                units: slot.units.iter().map(|u| self.units.name(*u).to_string()).collect(),
                datasets: slot.datasets.to_vec(),
            },
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    fn slot(&self, id: &str) -> Option<&Slot> {
        let n = *self.by_id.get(id)?;
        self.slots.get(n as usize)?.as_ref()
    }

    /// Adds or replaces an entity (names expanded). A replaced entity's index entries are
    /// changed only where they differ: most updates change one reading, and taking a point out
    /// of the R-tree and back costs more than all the rest of an update.
    pub fn put(&mut self, entity: &Entity, owner: Option<&str>, created_at: i64, place: &Placement) {
        let existing = self.by_id.get(entity.id.as_str()).copied();
        let n = existing.unwrap_or(self.slots.len() as u32);
        let types: Box<[u32]> = entity.types.iter().map(|t| self.types.intern(t)).collect();
        let attrs: Box<[u32]> = entity.attrs.keys().map(|a| self.attrs.intern(a)).collect();
        let values: Vec<(u32, Scalar)> =
            scalars(entity).into_iter().map(|(name, scalar)| (self.attrs.intern(&name), scalar)).collect();
        let mut geo: Vec<(u32, GeoEntry)> = Vec::new();
        for (name, instances) in &entity.attrs {
            for i in instances.iter().filter(|i| i.kind == AttrKind::GeoProperty) {
                let Some(g) = to_geometry(&i.content) else { continue };
                let Some(envelope) = envelope_of(&g) else { continue };
                let a = self.attrs.intern(name);
                geo.push((a, GeoEntry { slot: n, envelope, geometry: Arc::new(g) }));
            }
        }
        let old = existing.and_then(|n| self.slots.get_mut(n as usize).and_then(Option::take));
        let (old_values, old_geo) = match old {
            Some(slot) => (slot.values.into_vec(), slot.geo.into_vec()),
            None => (Vec::new(), Vec::new()),
        };
        self.relink_values(n, &old_values, &values);
        let geo = self.relink_geo(old_geo, geo);
        if existing.is_none() {
            self.slots.push(None);
            self.by_id.insert(entity.id.clone().into_boxed_str(), n);
            self.live += 1;
        }
        let units: Box<[u32]> = place.units.iter().map(|u| self.units.intern(u)).collect();
        if let Some(spot) = self.slots.get_mut(n as usize) {
            *spot = Some(Slot {
                id: entity.id.clone().into_boxed_str(),
                types,
                attrs,
                owner: owner.map(Into::into),
                units,
                datasets: place.datasets.clone().into_boxed_slice(),
                created_at,
                values: values.into_boxed_slice(),
                geo: geo.into_boxed_slice(),
            });
        }
    }

    /// Moves slot `n` in the value indexes from `old` to `new`, touching only what differs.
    fn relink_values(&mut self, n: u32, old: &[(u32, Scalar)], new: &[(u32, Scalar)]) {
        let kept_old: BTreeSet<&(u32, Scalar)> = old.iter().collect();
        let wanted: BTreeSet<&(u32, Scalar)> = new.iter().collect();
        for (a, scalar) in old.iter().filter(|e| !wanted.contains(e)) {
            if let Some(set) = self.values.get_mut(a) {
                set.remove(&(scalar.clone(), n));
            }
        }
        for (a, scalar) in new.iter().filter(|e| !kept_old.contains(e)) {
            self.values.entry(*a).or_default().insert((scalar.clone(), n));
        }
    }

    /// Moves a slot in the R-trees from `old` to `new`; an unchanged geometry keeps its entry.
    fn relink_geo(&mut self, old: Vec<(u32, GeoEntry)>, new: Vec<(u32, GeoEntry)>) -> Vec<(u32, GeoEntry)> {
        let same = |(a, e): &(u32, GeoEntry), (b, f): &(u32, GeoEntry)| {
            a == b && e.envelope == f.envelope && e.geometry == f.geometry
        };
        for entry in old.iter().filter(|o| !new.iter().any(|n| same(o, n))) {
            if let Some(tree) = self.geo.get_mut(&entry.0) {
                tree.remove(&entry.1);
            }
        }
        for entry in new.iter().filter(|n| !old.iter().any(|o| same(o, n))) {
            self.geo.entry(entry.0).or_default().insert(entry.1.clone());
        }
        new
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(n) = self.by_id.remove(id) {
            self.unlink(n);
            if let Some(place) = self.slots.get_mut(n as usize) {
                *place = None;
            }
            self.live -= 1;
        }
    }

    /// Takes a slot's entries out of the value and geo indexes.
    fn unlink(&mut self, n: u32) {
        let Some(Some(slot)) = self.slots.get(n as usize) else { return };
        for (a, scalar) in slot.values.iter() {
            if let Some(set) = self.values.get_mut(a) {
                set.remove(&(scalar.clone(), n));
            }
        }
        for (a, entry) in slot.geo.iter() {
            if let Some(tree) = self.geo.get_mut(a) {
                tree.remove(entry);
            }
        }
    }

    fn ids_of(&self, slots: &[u32]) -> Vec<String> {
        slots.iter().filter_map(|n| self.slots.get(*n as usize)?.as_ref().map(|s| s.id.to_string())).collect()
    }

    /// Files an entity again (after the catalog or the units changed), keeping the rest.
    pub fn set_place(&mut self, id: &str, place: &Placement) {
        let Some(n) = self.by_id.get(id).copied() else { return };
        let units: Box<[u32]> = place.units.iter().map(|u| self.units.intern(u)).collect();
        if let Some(Some(slot)) = self.slots.get_mut(n as usize) {
            slot.units = units;
            slot.datasets = place.datasets.clone().into_boxed_slice();
        }
    }

    pub fn remember_deleted(&mut self, id: &str, owner: Option<&str>, types: Vec<String>) {
        self.deleted.insert(id.into(), (owner.map(Into::into), types));
    }

    /// The owner and types of an entity deleted with its history kept.
    pub fn deleted(&self, id: &str) -> Option<(Option<&str>, &[String])> {
        self.deleted.get(id).map(|(o, t)| (o.as_deref(), t.as_slice()))
    }

    /// Every type the index holds.
    pub fn type_names(&self) -> Vec<String> {
        self.types.names.iter().map(|n| n.to_string()).collect()
    }

    /// The ids of entities having one of `type_iris`, in creation order.
    pub fn ids_of_types(&self, type_iris: &[String]) -> Vec<String> {
        let wanted: Vec<u32> = type_iris.iter().filter_map(|t| self.types.get(t)).collect();
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.types.iter().any(|t| wanted.contains(t)))
            .map(|s| s.id.to_string())
            .collect()
    }

    /// The ids of the entities belonging to dataset `n`, with their units, in creation order.
    pub fn members_of(&self, n: u32) -> Vec<(String, Vec<String>)> {
        self.placed(|s| s.datasets.contains(&n))
    }

    /// The ids of the entities of type `type_iri`, with their units, in creation order.
    pub fn placed_of_type(&self, type_iri: &str) -> Vec<(String, Vec<String>)> {
        match self.types.get(type_iri) {
            Some(t) => self.placed(|s| s.types.contains(&t)),
            None => Vec::new(),
        }
    }

    fn placed(&self, keep: impl Fn(&Slot) -> bool) -> Vec<(String, Vec<String>)> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| keep(s))
            .map(|s| (s.id.to_string(), s.units.iter().map(|u| self.units.name(*u).to_string()).collect()))
            .collect()
    }

    /// Whether the entity is there and `visible` sees it.
    pub fn sees(&self, id: &str, visible: &Visibility) -> bool {
        self.slot(id).is_some_and(|s| visible.sees(&s.datasets))
    }

    /// The ids of `slots`, in that order (slots deleted meanwhile are skipped).
    pub fn entity_ids(&self, slots: &[u32]) -> Vec<String> {
        self.ids_of(slots)
    }

    /// Candidates in creation order, with every filter the index can decide applied. The `q`
    /// hint only narrows: the caller still evaluates `q` on the bodies.
    pub fn select(&self, f: &Filter) -> Selection {
        let type_ids: Option<Vec<u32>> =
            f.types.map(|ts| ts.iter().filter_map(|t| self.types.get(t)).collect());
        let attr_ids: Option<Vec<u32>> =
            f.attrs.map(|a| a.iter().filter_map(|name| self.attrs.get(name)).collect());
        let geo_attr = f.geo.map(|g| self.attrs.get(&g.geoproperty));
        let unit = match f.unit {
            Some(code) => match self.units.get(code) {
                Some(u) => Some(u),
                None => return Selection { slots: Vec::new() },
            },
            None => None,
        };
        let mut from_geo = false;
        let mut slots: Vec<u32> = if let Some(ids) = f.ids {
            ids.iter().filter_map(|id| self.by_id.get(id.as_str()).copied()).collect()
        } else if let (Some(g), Some(boxed)) = (f.geo, f.geo.and_then(GeoQuery::search_box)) {
            from_geo = true;
            let Some(Some(tree)) = geo_attr.map(|a| a.and_then(|a| self.geo.get(&a))) else {
                return Selection { slots: Vec::new() };
            };
            tree.locate_in_envelope_intersecting(&boxed)
                .filter(|e| g.matches(&e.geometry))
                .map(|e| e.slot)
                .collect()
        } else if let Some(hint) = f.hint {
            let Some(set) = self.attrs.get(&hint.attr).and_then(|a| self.values.get(&a)) else {
                return Selection { slots: Vec::new() };
            };
            let mut out = Vec::new();
            for (lo, hi) in &hint.bounds {
                let lo = match lo {
                    Bound::Included(s) => Bound::Included((s.clone(), 0)),
                    Bound::Excluded(s) => Bound::Excluded((s.clone(), u32::MAX)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                let hi = match hi {
                    Bound::Included(s) => Bound::Included((s.clone(), u32::MAX)),
                    Bound::Excluded(s) => Bound::Excluded((s.clone(), 0)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                if matches!((&lo, &hi), (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) if a > b)
                {
                    continue;
                }
                out.extend(set.range((lo, hi)).map(|(_, n)| *n));
            }
            out
        } else {
            (0..self.slots.len() as u32).collect()
        };
        if f.ids.is_some() || f.hint.is_some() || from_geo {
            slots.sort_unstable();
            slots.dedup();
        }
        slots.retain(|n| {
            let Some(Some(slot)) = self.slots.get(*n as usize) else { return false };
            if let Some(t) = &type_ids {
                if !slot.types.iter().any(|x| t.contains(x)) {
                    return false;
                }
            }
            if let Some(a) = &attr_ids {
                if !slot.attrs.iter().any(|x| a.contains(x)) {
                    return false;
                }
            }
            if let Some(p) = f.id_pattern {
                if !p.is_match(&slot.id) {
                    return false;
                }
            }
            if let Some(u) = unit {
                if !slot.units.contains(&u) {
                    return false;
                }
            }
            if let Some(v) = f.visible {
                if !v.sees(&slot.datasets) {
                    return false;
                }
            }
            if let (Some(g), false) = (f.geo, from_geo) {
                let attr = geo_attr.flatten();
                if !slot.geo.iter().any(|(a, e)| Some(*a) == attr && g.matches(&e.geometry)) {
                    return false;
                }
            }
            true
        });
        Selection { slots }
    }

    /// Entity types with how many entities have each, and the attributes seen on them.
    pub fn types(&self, visible: Option<&Visibility>) -> Vec<TypeInfo> {
        let mut by_type: HashMap<u32, (usize, BTreeSet<u32>)> = HashMap::new();
        for slot in self.slots.iter().flatten().filter(|s| visible.is_none_or(|v| v.sees(&s.datasets))) {
            for t in slot.types.iter() {
                let e = by_type.entry(*t).or_default();
                e.0 += 1;
                e.1.extend(slot.attrs.iter().copied());
            }
        }
        let mut out: Vec<TypeInfo> = by_type
            .into_iter()
            .map(|(t, (count, attrs))| TypeInfo {
                name: self.types.name(t).to_string(),
                count,
                attrs: attrs.into_iter().map(|a| self.attrs.name(a).to_string()).collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Attributes with how many entities have each, and the types that use them.
    pub fn attributes(&self, visible: Option<&Visibility>) -> Vec<AttributeInfo> {
        let mut by_attr: HashMap<u32, (usize, BTreeSet<u32>)> = HashMap::new();
        for slot in self.slots.iter().flatten().filter(|s| visible.is_none_or(|v| v.sees(&s.datasets))) {
            for a in slot.attrs.iter() {
                let e = by_attr.entry(*a).or_default();
                e.0 += 1;
                e.1.extend(slot.types.iter().copied());
            }
        }
        let mut out: Vec<AttributeInfo> = by_attr
            .into_iter()
            .map(|(a, (count, types))| AttributeInfo {
                name: self.attrs.name(a).to_string(),
                count,
                types: types.into_iter().map(|t| self.types.name(t).to_string()).collect(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeInfo {
    pub name: String,
    pub count: usize,
    pub attrs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeInfo {
    pub name: String,
    pub count: usize,
    pub types: Vec<String>,
}
