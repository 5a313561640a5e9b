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

/// Which datasets a caller may read, by number, and which are drafts (held back from all).
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    readable: Vec<bool>,
    held: Vec<bool>,
}

impl Visibility {
    /// An entity belonging to `datasets` is seen when none of them is a draft (a draft holds
    /// its data back even where another dataset would show it) and it is ungoverned or one of
    /// them is readable.
    pub fn sees(&self, datasets: &[u32]) -> bool {
        let flag = |v: &Vec<bool>, d: &u32| v.get(*d as usize).copied().unwrap_or(false);
        !datasets.iter().any(|d| flag(&self.held, d))
            && (datasets.is_empty() || datasets.iter().any(|d| flag(&self.readable, d)))
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
        Visibility {
            readable: self.datasets.iter().map(|d| self.may_read(subject, d, at)).collect(),
            held: self.datasets.iter().map(|d| d.state == DatasetState::Draft).collect(),
        }
    }

    /// Every dataset of one of `types`, whoever provides it.
    pub fn of_types(&self, types: &[String]) -> Vec<u32> {
        types.iter().flat_map(|t| self.by_type.get(t).into_iter().flatten()).copied().collect()
    }

    /// The datasets of `types` provided by `owner` (narrowing by units or `q` aside): where a
    /// deleted entity's history and its deletion belong.
    pub fn of_owner(&self, types: &[String], owner: Option<&str>) -> Vec<u32> {
        self.of_types(types)
            .into_iter()
            .filter(|n| {
                self.datasets.get(*n as usize).is_some_and(|d| Some(d.provider_org.as_str()) == owner)
            })
            .collect()
    }

    /// May `subject` write entities of dataset `d`: its provider's own accounts, the centre's
    /// accounts that submit data everywhere, and the consumers granted write.
    pub fn may_write(&self, subject: &Subject, d: &Dataset, at: Timestamp) -> bool {
        subject.can(Action::SubmitData, Some(&d.provider_org)) || self.granted(subject, &d.id, at, true)
    }

    /// The rule for a write that brings `types` into the hub (a new entity, or types added to
    /// one): the caller's own dataset of the type, one it was granted write on, or (for the
    /// centre) the type's only provider; answers the owner a new entity gets. A refusal names
    /// no dataset the caller may not read.
    fn claim(&self, subject: &Subject, types: &[String], at: Timestamp) -> WriteRight {
        let governing: Vec<&Arc<Dataset>> = types
            .iter()
            .flat_map(|t| self.by_type.get(t).into_iter().flatten())
            .filter_map(|n| self.datasets.get(*n as usize))
            .collect();
        if governing.is_empty() {
            return if subject.can(Action::SubmitData, Some(&subject.org_id)) {
                WriteRight::Allowed { owner: Some(subject.org_id.clone()) }
            } else {
                WriteRight::Refused("may not be written by this account".into())
            };
        }
        let live = || governing.iter().filter(|d| d.state != DatasetState::Retired);
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
            let owner = if providers.len() == 1 { providers[0].to_string() } else { subject.org_id.clone() };
            return WriteRight::Allowed { owner: Some(owner) };
        }
        let readable: Vec<&str> =
            governing.iter().filter(|d| self.may_read(subject, d, at)).map(|d| d.id.as_str()).collect();
        if readable.is_empty() {
            return WriteRight::Refused("may not be written by this account".into());
        }
        if live().next().is_none() {
            return WriteRight::Refused(format!("is of dataset {}, which is retired", readable.join(", ")));
        }
        WriteRight::Refused(format!(
            "is of a type provided through dataset {}; writing it needs the provider's account or a write grant",
            readable.join(", ")
        ))
    }

    /// Decides a write of an entity with `types`: `existing` is the current owner when the
    /// entity exists (None inside for an ownerless one), `None` for a new entity. `datasets` are
    /// those the entity belongs to now, `current_types` the types it has.
    pub fn write_right(
        &self,
        subject: &Subject,
        types: &[String],
        existing: Option<Option<&str>>,
        datasets: &[u32],
        at: Timestamp,
    ) -> WriteRight {
        self.write_right_with(subject, types, existing, datasets, &[], at)
    }

    pub fn write_right_with(
        &self,
        subject: &Subject,
        types: &[String],
        existing: Option<Option<&str>>,
        datasets: &[u32],
        current_types: &[String],
        at: Timestamp,
    ) -> WriteRight {
        let Some(owner) = existing else { return self.claim(subject, types, at) };
        let own = match owner {
            Some(o) => subject.can(Action::SubmitData, Some(o)),
            None => subject.can_everywhere(Action::SubmitData),
        };
        let member: Vec<&Arc<Dataset>> =
            datasets.iter().filter_map(|n| self.datasets.get(*n as usize)).collect();
        if let Some(d) = member.first().filter(|_| member.iter().all(|d| d.state == DatasetState::Retired)) {
            return WriteRight::Refused(format!(
                "is of dataset {}, which is retired; it takes no more data",
                d.id
            ));
        }
        if !(own || member.iter().any(|d| self.may_write(subject, d, at))) {
            return WriteRight::Refused(
                "belongs to another organisation; this account may not change it".into(),
            );
        }
        // Types added to an existing entity are claimed as a new entity's would be, so a
        // governed type cannot be slipped in under another name first.
        let added: Vec<String> = types.iter().filter(|t| !current_types.contains(t)).cloned().collect();
        if !added.is_empty() && added.iter().any(|t| self.governs(t)) {
            if let WriteRight::Refused(reason) = self.claim(subject, &added, at) {
                return WriteRight::Refused(reason);
            }
        }
        WriteRight::Allowed { owner: owner.map(str::to_string) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::datasets::model::{Frequency, QualityRules};
    use crate::hub::entity::parse_entity;
    use serde_json::json;

    fn dataset(
        id: &str,
        provider: &str,
        units: &[&str],
        q: Option<&str>,
        state: DatasetState,
        sharing: Sharing,
    ) -> Dataset {
        let t: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        Dataset {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            type_iri: ActiveContext::core().expand("Streetlight"),
            provider_org: provider.into(),
            units: units.iter().map(|u| u.to_string()).collect(),
            q: q.map(str::to_string),
            expected: None,
            frequency: Frequency::Hourly,
            sharing,
            rules: QualityRules::default(),
            state,
            created_at: t,
            created_by: "x".into(),
            modified_at: t,
            approved_at: None,
            approved_by: None,
        }
    }

    fn lamp(status: &str) -> Entity {
        let e = parse_entity(
            &json!({"id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight", "status": status}),
        )
        .unwrap();
        let core = ActiveContext::core();
        e.map_names(&|n| core.expand(n))
    }

    fn subject(role: Role, org: &str) -> Subject {
        Subject {
            user_id: "u".into(),
            username: "u".into(),
            role,
            org_id: org.into(),
            acting_for: vec![],
            token_scopes: None,
            token_id: None,
            source_ip: None,
        }
    }

    #[test]
    fn an_entity_belongs_by_type_provider_units_and_q() {
        let c = Catalog::new(
            vec![
                dataset("tan-phong", "ubnd-a", &["03408"], None, DatasetState::Approved, Sharing::Default),
                dataset(
                    "hong",
                    "ubnd-a",
                    &[],
                    Some("status==defectiveLamp"),
                    DatasetState::Approved,
                    Sharing::Default,
                ),
                dataset("khac", "ubnd-b", &[], None, DatasetState::Approved, Sharing::Default),
            ],
            vec![],
        );
        let here = ["03408".to_string(), "12".to_string()];
        assert_eq!(c.membership(&lamp("ok"), Some("ubnd-a"), &here), vec![0]);
        assert_eq!(c.membership(&lamp("defectiveLamp"), Some("ubnd-a"), &here), vec![0, 1]);
        // Elsewhere, only the q-narrowed one; another owner, only its own.
        assert_eq!(c.membership(&lamp("defectiveLamp"), Some("ubnd-a"), &["03388".to_string()]), vec![1]);
        assert_eq!(c.membership(&lamp("ok"), Some("ubnd-b"), &here), vec![2]);
        // A province code in `units` takes every commune of it.
        let province = Catalog::new(
            vec![dataset("tinh", "ubnd-a", &["12"], None, DatasetState::Approved, Sharing::Default)],
            vec![],
        );
        assert_eq!(province.membership(&lamp("ok"), Some("ubnd-a"), &here), vec![0]);
    }

    #[test]
    fn drafts_are_held_back_from_all_and_special_requests_open_only_to_grants() {
        let at: Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        let grant = |consumer: Consumer, expires: Option<&str>| Grant {
            id: "g".into(),
            dataset_id: "dac-thu".into(),
            consumer,
            read: true,
            write: false,
            expires_at: expires.map(|e| e.parse().unwrap()),
            agreement_ref: "1/TT".into(),
            granted_by: "sup".into(),
            granted_at: at,
            revoked_at: None,
        };
        let c = Catalog::new(
            vec![
                dataset("nhap", "so-a", &[], None, DatasetState::Draft, Sharing::Default),
                dataset("dac-thu", "so-a", &[], None, DatasetState::Approved, Sharing::SpecialRequest),
            ],
            vec![grant(Consumer::Org("so-b".into()), Some("2026-12-01T00:00:00Z"))],
        );
        let provider = c.visibility(&subject(Role::Officer, "so-a"), at);
        assert!(!provider.sees(&[0]), "a draft is held back from its own provider too");
        assert!(!provider.sees(&[0, 1]), "and where another dataset would show the entity");
        assert!(provider.sees(&[1]));
        assert!(!c.visibility(&subject(Role::Officer, "so-b"), at).sees(&[1]), "an expired grant");
        assert!(
            c.visibility(&subject(Role::Leader, "ubnd"), at).sees(&[1]),
            "the centre reads everything approved"
        );
        let mut token = subject(Role::DataProvider, "so-c");
        token.token_id = Some("t1".into());
        let granted = Catalog { grants: vec![grant(Consumer::Token("t1".into()), None)], ..c.clone() };
        assert!(granted.visibility(&token, at).sees(&[1]));
        token.token_id = Some("t2".into());
        assert!(!granted.visibility(&token, at).sees(&[1]), "another token of the same organisation");
    }
}
