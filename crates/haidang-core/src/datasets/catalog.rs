//! The datasets and grants in memory, as the hub consults them on every read and write: which
//! datasets an entity belongs to, which of them a caller may read, and who may write what.
//!
//! An entity belongs to a dataset when it has the dataset's type, was written for its provider
//! (its owner), lies in one of its units and matches its `q`, if it names any. An entity that
//! belongs to none is ungoverned and readable by every account that reads the hub. Datasets are
//! numbered by their place here; the index keeps those numbers per entity.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::model::{Consumer, Dataset, DatasetState, Grant, Sharing};
use crate::accounts::{Action, Subject};
use crate::hub::context::ActiveContext;
use crate::hub::entity::Entity;
use crate::hub::query::Query;

#[derive(Default, Clone)]
pub struct Catalog {
    datasets: Vec<Arc<Dataset>>,
    queries: Vec<Option<Query>>,
    by_type: HashMap<String, Vec<u32>>,
    grants: Vec<Grant>,
}

/// Which datasets a caller may read, by number.
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    readable: Vec<bool>,
}

impl Visibility {
    /// An entity belonging to `datasets` is seen when it is ungoverned or one of them is readable.
    pub fn sees(&self, datasets: &[u32]) -> bool {
        datasets.is_empty()
            || datasets.iter().any(|d| self.readable.get(*d as usize).copied().unwrap_or(false))
    }

    pub fn reads(&self, dataset: u32) -> bool {
        self.readable.get(dataset as usize).copied().unwrap_or(false)
    }
}

/// What a write may do, decided before the writer applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteRight {
    /// The write goes ahead; a new entity is owned by this organisation.
    Allowed {
        owner: Option<String>,
    },
    Refused(String),
}

/// Whether the subject is one of the centre's own roles, which read every approved dataset,
/// whatever its sharing mode: the centre runs the shared store and leaders read everything.
pub fn reads_everything(subject: &Subject) -> bool {
    subject.can_everywhere(Action::ReadAllData)
}

impl Catalog {
    pub fn new(datasets: Vec<Dataset>, grants: Vec<Grant>) -> Catalog {
        let core = ActiveContext::core();
        let mut by_type: HashMap<String, Vec<u32>> = HashMap::new();
        let mut queries = Vec::with_capacity(datasets.len());
        for (n, d) in datasets.iter().enumerate() {
            by_type.entry(d.type_iri.clone()).or_default().push(n as u32);
            // A q that no longer parses was checked when the dataset was saved; none narrows.
            queries.push(
                d.q.as_deref().and_then(|q| Query::parse(q).ok()).map(|q| q.expand(&|n| core.expand(n))),
            );
        }
        Catalog { datasets: datasets.into_iter().map(Arc::new).collect(), queries, by_type, grants }
    }

    pub fn datasets(&self) -> &[Arc<Dataset>] {
        &self.datasets
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn get(&self, n: u32) -> Option<&Arc<Dataset>> {
        self.datasets.get(n as usize)
    }

    pub fn number_of(&self, id: &str) -> Option<u32> {
        self.datasets.iter().position(|d| d.id == id).map(|n| n as u32)
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<Dataset>> {
        self.datasets.iter().find(|d| d.id == id)
    }

    /// The types some dataset governs.
    pub fn governs(&self, type_iri: &str) -> bool {
        self.by_type.contains_key(type_iri)
    }

    /// The datasets `entity` (owned by `owner`, lying in `units`, most specific first) belongs to.
    pub fn membership(&self, entity: &Entity, owner: Option<&str>, units: &[String]) -> Vec<u32> {
        let mut out = Vec::new();
        for t in &entity.types {
            for n in self.by_type.get(t).into_iter().flatten() {
                let Some(d) = self.datasets.get(*n as usize) else { continue };
                if owner != Some(d.provider_org.as_str()) {
                    continue;
                }
                if !d.units.is_empty() && !units.iter().any(|u| d.units.contains(u)) {
                    continue;
                }
                if let Some(Some(q)) = self.queries.get(*n as usize) {
                    if !q.matches(entity) {
                        continue;
                    }
                }
                if !out.contains(n) {
                    out.push(*n);
                }
            }
        }
        out
    }

    fn granted(&self, subject: &Subject, dataset: &str, at: Timestamp, write: bool) -> bool {
        self.grants.iter().any(|g| {
            g.dataset_id == dataset
                && g.is_active_at(at)
                && if write { g.write } else { g.read }
                && match &g.consumer {
                    Consumer::Org(org) => {
                        *org == subject.org_id || subject.acting_for.iter().any(|a| a.org_id == *org)
                    }
                    Consumer::Token(token) => subject.token_id.as_deref() == Some(token.as_str()),
                }
        })
    }

    /// Whether `subject` may read dataset `d` at `at`: never while it is a draft (held back
    /// from everyone); a default one by anyone who reads the hub; a special-request one by
    /// its provider, the centre and the consumers granted.
    pub fn may_read(&self, subject: &Subject, d: &Dataset, at: Timestamp) -> bool {
        if d.state == DatasetState::Draft || !subject.can(Action::ReadData, None) {
            return false;
        }
        match d.sharing {
            Sharing::Default => true,
            Sharing::SpecialRequest => {
                reads_everything(subject)
                    || subject.org_id == d.provider_org
                    || subject.acting_for.iter().any(|a| a.org_id == d.provider_org)
                    || self.granted(subject, &d.id, at, false)
            }
        }
    }

    pub fn visibility(&self, subject: &Subject, at: Timestamp) -> Visibility {
        Visibility { readable: self.datasets.iter().map(|d| self.may_read(subject, d, at)).collect() }
    }

    /// May `subject` write entities of dataset `d`: its provider's own accounts, the centre's
    /// accounts that submit data everywhere, and the consumers granted write.
    fn may_write(&self, subject: &Subject, d: &Dataset, at: Timestamp) -> bool {
        subject.can(Action::SubmitData, Some(&d.provider_org)) || self.granted(subject, &d.id, at, true)
    }

    /// Decides a write of an entity with `types`: `existing` is the current owner when the
    /// entity exists (None inside for an ownerless one), `None` for a new entity. `datasets` are
    /// those the entity belongs to now (empty for a new one).
    pub fn write_right(
        &self,
        subject: &Subject,
        types: &[String],
        existing: Option<Option<&str>>,
        datasets: &[u32],
        at: Timestamp,
    ) -> WriteRight {
        let governing: Vec<&Arc<Dataset>> = types
            .iter()
            .flat_map(|t| self.by_type.get(t).into_iter().flatten())
            .filter_map(|n| self.datasets.get(*n as usize))
            .collect();
        match existing {
            Some(owner) => {
                let own = match owner {
                    Some(o) => subject.can(Action::SubmitData, Some(o)),
                    None => subject.can_everywhere(Action::SubmitData),
                };
                let member: Vec<&Arc<Dataset>> =
                    datasets.iter().filter_map(|n| self.datasets.get(*n as usize)).collect();
                if !member.is_empty() && member.iter().all(|d| d.state == DatasetState::Retired) {
                    return WriteRight::Refused(format!(
                        "dataset {} is retired; it takes no more data",
                        member[0].id
                    ));
                }
                if own || member.iter().any(|d| self.may_write(subject, d, at)) {
                    WriteRight::Allowed { owner: owner.map(str::to_string) }
                } else {
                    WriteRight::Refused(
                        "the entity belongs to another organisation; this account may not change it".into(),
                    )
                }
            }
            None => {
                let live = || governing.iter().filter(|d| d.state != DatasetState::Retired);
                if governing.is_empty() {
                    return if subject.can(Action::SubmitData, Some(&subject.org_id)) {
                        WriteRight::Allowed { owner: Some(subject.org_id.clone()) }
                    } else {
                        WriteRight::Refused("this account may not submit data".into())
                    };
                }
                // The caller's own dataset first, then one it was granted, then (for the
                // centre) the type's only provider.
                if let Some(d) = live().find(|d| {
                    d.provider_org == subject.org_id && subject.can(Action::SubmitData, Some(&d.provider_org))
                }) {
                    return WriteRight::Allowed { owner: Some(d.provider_org.clone()) };
                }
                if let Some(d) = live().find(|d| self.granted(subject, &d.id, at, true)) {
                    return WriteRight::Allowed { owner: Some(d.provider_org.clone()) };
                }
                if subject.can_everywhere(Action::SubmitData) {
                    let mut providers: Vec<&str> = live().map(|d| d.provider_org.as_str()).collect();
                    providers.dedup();
                    let owner =
                        if providers.len() == 1 { providers[0].to_string() } else { subject.org_id.clone() };
                    return WriteRight::Allowed { owner: Some(owner) };
                }
                let names: Vec<&str> = governing.iter().map(|d| d.id.as_str()).collect();
                if live().next().is_none() {
                    return WriteRight::Refused(format!(
                        "dataset {} is retired; it takes no more data",
                        names.join(", ")
                    ));
                }
                WriteRight::Refused(format!(
                    "this type is provided through dataset {}; writing it needs the provider's account or a write grant",
                    names.join(", ")
                ))
            }
        }
    }
}
