//! Datasets as the console and the API manage them: defined by their provider (or the centre),
//! approved and retired by an IOC supervisor, shared through grants, with maintenance declared
//! by the provider. Every change is audited and then handed to the hub as a new catalog.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;

use super::catalog::{reads_everything, Catalog};
use super::model::{
    parse_spec, Consumer, Dataset, DatasetSpec, DatasetState, Grant, MaintenanceWindow, QualityRules,
    Submission,
};
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::hub::context::ActiveContext;
use crate::hub::query::Query;
use crate::hub::{HubError, HubService};
use crate::repo::Repositories;
use crate::time::now;

pub struct DatasetService {
    pub(crate) repo: Arc<dyn Repositories>,
    pub(crate) hub: Arc<HubService>,
}

/// A hub error as the console API answers it.
pub(crate) fn from_hub(e: HubError) -> CoreError {
    use crate::hub::ErrorType::*;
    match e.kind {
        BadRequestData | InvalidRequest => CoreError::validation("", e.detail),
        ResourceNotFound => CoreError::not_found(e.detail),
        AlreadyExists => CoreError::Conflict(e.detail),
        Forbidden => CoreError::Forbidden(e.detail),
        Unauthenticated => CoreError::Unauthenticated,
        _ => CoreError::Internal(e.detail),
    }
}

/// What a supervisor grants: to an organisation or one token, read and/or write, until when, on
/// which agreement.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub consumer: Consumer,
    pub read: bool,
    pub write: bool,
    pub expires_at: Option<Timestamp>,
    pub agreement_ref: String,
}

#[derive(Debug, Clone)]
pub struct WindowSpec {
    pub entity_ids: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
}

fn expand(name: &str) -> String {
    ActiveContext::core().expand(name)
}

fn audit(by: &Subject, action: &str, target: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent::new(&by.actor(), action, Some(target), Outcome::Success).with_detail(detail.to_string())
}

impl DatasetService {
    pub fn new(repo: Arc<dyn Repositories>, hub: Arc<HubService>) -> DatasetService {
        DatasetService { repo, hub }
    }

    /// The store's datasets and grants become the hub's catalog; entities of `types` are filed
    /// again (a dataset's type, provider, units or q changed).
    async fn reload(&self, types: Vec<String>) -> CoreResult<()> {
        let catalog = Catalog::new(self.repo.list_datasets().await?, self.repo.list_grants().await?);
        self.hub.set_catalog(catalog, types).await.map_err(from_hub)
    }

    /// Whether `by` may see dataset `d` listed: the centre sees all; an agency its own, the
    /// default ones once approved and the special-request ones it was granted.
    pub fn listed_for(&self, catalog: &Catalog, by: &Subject, d: &Dataset) -> bool {
        reads_everything(by) || by.org_id == d.provider_org || catalog.may_read(by, d, now())
    }

    pub fn list(&self, by: &Subject) -> Vec<Arc<Dataset>> {
        let catalog = self.hub.catalog();
        catalog.datasets().iter().filter(|d| self.listed_for(&catalog, by, d)).cloned().collect()
    }

    pub fn get(&self, by: &Subject, id: &str) -> CoreResult<Arc<Dataset>> {
        let catalog = self.hub.catalog();
        catalog
            .by_id(id)
            .filter(|d| self.listed_for(&catalog, by, d))
            .cloned()
            .ok_or_else(|| CoreError::not_found(format!("dataset '{id}'")))
    }

    /// An organisation named by its id or its code.
    async fn org_id(&self, text: &str) -> CoreResult<Option<String>> {
        Ok(crate::orgs::resolve_org(self.repo.as_ref(), text).await?.map(|o| o.id))
    }

    /// Checks a spec against the store (organisation, units, q) and turns it into a dataset.
    async fn build(
        &self,
        by: &Subject,
        spec: DatasetSpec,
        previous: Option<&Dataset>,
    ) -> CoreResult<Dataset> {
        let named = spec
            .provider_org
            .clone()
            .or_else(|| previous.map(|p| p.provider_org.clone()))
            .unwrap_or_else(|| by.org_id.clone());
        let provider = self
            .org_id(&named)
            .await?
            .ok_or_else(|| CoreError::validation("provider", format!("no organisation '{named}'")))?;
        if !by.can(Action::ManageDatasets, Some(&provider)) {
            return Err(CoreError::Forbidden("defining a dataset of this organisation".into()));
        }
        for (i, code) in spec.units.iter().enumerate() {
            if self.repo.get_unit(code).await?.is_none() {
                return Err(CoreError::validation(format!("units[{i}]"), format!("no unit '{code}'")));
            }
        }
        if let Some(q) = &spec.q {
            Query::parse(q).map_err(|e| CoreError::validation("q", e.to_string()))?;
        }
        let at = now();
        let id = match (&spec.id, previous) {
            (_, Some(p)) => p.id.clone(),
            (Some(id), None) => id.clone(),
            (None, None) => format!("ds-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]),
        };
        let rules = QualityRules {
            ranges: spec.ranges.into_iter().map(|(a, r)| (expand(&a), r)).collect(),
            outliers: spec.outliers.into_iter().map(|(a, r)| (expand(&a), r)).collect(),
            required: spec.required.iter().map(|a| expand(a)).collect(),
        };
        Ok(Dataset {
            id,
            name: spec.name,
            description: spec.description,
            type_iri: expand(&spec.type_name),
            provider_org: provider,
            units: spec.units,
            q: spec.q,
            expected: spec.expected,
            frequency: spec.frequency,
            sharing: spec.sharing.or(previous.map(|p| p.sharing)).unwrap_or(super::model::Sharing::Default),
            rules,
            state: previous.map(|p| p.state).unwrap_or(DatasetState::Draft),
            created_at: previous.map(|p| p.created_at).unwrap_or(at),
            created_by: previous.map(|p| p.created_by.clone()).unwrap_or_else(|| by.username.clone()),
            modified_at: at,
            approved_at: previous.and_then(|p| p.approved_at),
            approved_by: previous.and_then(|p| p.approved_by.clone()),
        })
    }

    /// A new dataset, in draft: what its provider writes is held back until it is approved.
    pub async fn create(&self, by: &Subject, body: &serde_json::Value) -> CoreResult<Dataset> {
        let spec = parse_spec(body)?;
        if let Some(id) = &spec.id {
            if self.hub.catalog().by_id(id).is_some() {
                return Err(CoreError::Conflict(format!("dataset '{id}' exists")));
            }
        }
        let d = self.build(by, spec, None).await?;
        let detail = json!({"type": d.type_iri, "provider": d.provider_org, "sharing": d.sharing});
        self.repo.save_dataset(&d, &audit(by, "dataset.create", &d.id, detail)).await?;
        self.reload(vec![d.type_iri.clone()]).await?;
        Ok(d)
    }

    /// A changed definition; its state stays.
    pub async fn update(&self, by: &Subject, id: &str, body: &serde_json::Value) -> CoreResult<Dataset> {
        let old = self.get(by, id)?;
        if old.state == DatasetState::Retired {
            return Err(CoreError::Conflict(format!("dataset '{id}' is retired")));
        }
        let mut d = self.build(by, parse_spec(body)?, Some(&old)).await?;
        // What decides who reads the data and which entities it holds was approved as it was: a
        // change to it by anyone but a supervisor sends the dataset back for approval.
        let governed = (&d.type_iri, &d.provider_org, &d.units, &d.q, d.sharing)
            != (&old.type_iri, &old.provider_org, &old.units, &old.q, old.sharing);
        if governed && old.state == DatasetState::Approved && !by.can(Action::ApproveData, None) {
            d.state = DatasetState::Draft;
            d.approved_at = None;
            d.approved_by = None;
        }
        let detail = json!({
            "before": {"type": old.type_iri, "provider": old.provider_org, "units": old.units, "q": old.q,
                       "sharing": old.sharing, "state": old.state.as_str()},
            "after": {"type": d.type_iri, "provider": d.provider_org, "units": d.units, "q": d.q,
                      "sharing": d.sharing, "state": d.state.as_str()},
        });
        self.repo.save_dataset(&d, &audit(by, "dataset.update", id, detail)).await?;
        let mut types = vec![old.type_iri.clone()];
        if d.type_iri != old.type_iri {
            types.push(d.type_iri.clone());
        }
        self.reload(types).await?;
        Ok(d)
    }

    /// Approval by an IOC supervisor: the data goes live. A dataset without an exchange data
    /// structure (a schema for its type) cannot be judged "đúng" and is refused.
    pub async fn approve(&self, by: &Subject, id: &str) -> CoreResult<Dataset> {
        by.require(Action::ApproveData, None)?;
        let old = self.get(by, id)?;
        if old.state != DatasetState::Draft {
            return Err(CoreError::Conflict(format!(
                "dataset '{id}' is {}, only a draft is approved",
                old.state.as_str()
            )));
        }
        if self.hub.schema(&Subject::cli(), &old.type_iri).is_err() {
            return Err(CoreError::validation(
                "schema",
                format!(
                    "type {} has no exchange data structure (schema); set one before approving",
                    ActiveContext::core().compact(&old.type_iri)
                ),
            ));
        }
        let at = now();
        let d = Dataset {
            state: DatasetState::Approved,
            approved_at: Some(at),
            approved_by: Some(by.username.clone()),
            modified_at: at,
            ..old.as_ref().clone()
        };
        self.repo
            .save_dataset(
                &d,
                &audit(by, "dataset.approve", id, json!({"members": self.hub.members(id).len()})),
            )
            .await?;
        self.reload(Vec::new()).await?;
        // What was held back is now news to the subscribers.
        let members: Vec<String> = self.hub.members(id).into_iter().map(|(m, _)| m).collect();
        self.hub.announce(by, members).await.map_err(from_hub)?;
        Ok(d)
    }

    pub async fn retire(&self, by: &Subject, id: &str, reason: &str) -> CoreResult<Dataset> {
        by.require(Action::ApproveData, None)?;
        if reason.trim().is_empty() {
            return Err(CoreError::validation("reason", "is required"));
        }
        let old = self.get(by, id)?;
        if old.state == DatasetState::Retired {
            return Err(CoreError::Conflict(format!("dataset '{id}' is already retired")));
        }
        let d = Dataset { state: DatasetState::Retired, modified_at: now(), ..old.as_ref().clone() };
        self.repo.save_dataset(&d, &audit(by, "dataset.retire", id, json!({"reason": reason}))).await?;
        self.reload(Vec::new()).await?;
        Ok(d)
    }

    pub fn grants(&self, by: &Subject, dataset_id: &str) -> CoreResult<Vec<Grant>> {
        let d = self.get(by, dataset_id)?;
        if !(by.can(Action::ApproveData, None)
            || by.can(Action::ManageDatasets, Some(&d.provider_org))
            || reads_everything(by))
        {
            return Err(CoreError::Forbidden("the grants of this dataset".into()));
        }
        Ok(self.hub.catalog().grants().iter().filter(|g| g.dataset_id == dataset_id).cloned().collect())
    }

    pub async fn grant(&self, by: &Subject, dataset_id: &str, spec: GrantSpec) -> CoreResult<Grant> {
        by.require(Action::ApproveData, None)?;
        let d = self.get(by, dataset_id)?;
        if !spec.read && !spec.write {
            return Err(CoreError::validation("access", "grant read, write or both"));
        }
        if spec.agreement_ref.trim().is_empty() {
            return Err(CoreError::validation(
                "agreement_ref",
                "is required: the agreement the grant rests on",
            ));
        }
        let at = now();
        if spec.expires_at.is_some_and(|e| e <= at) {
            return Err(CoreError::validation("expires_at", "is in the past"));
        }
        let consumer = match spec.consumer {
            Consumer::Org(named) => {
                let org = self
                    .org_id(&named)
                    .await?
                    .ok_or_else(|| CoreError::validation("consumer", format!("no organisation '{named}'")))?;
                if org == d.provider_org {
                    return Err(CoreError::validation(
                        "consumer",
                        "the provider reads and writes its own data already",
                    ));
                }
                Consumer::Org(org)
            }
            Consumer::Token(token) => {
                if self.repo.get_token(&token).await?.is_none() {
                    return Err(CoreError::validation("consumer", format!("no token '{token}'")));
                }
                Consumer::Token(token)
            }
        };
        let g = Grant {
            id: uuid::Uuid::now_v7().to_string(),
            dataset_id: d.id.clone(),
            consumer,
            read: spec.read,
            write: spec.write,
            expires_at: spec.expires_at,
            agreement_ref: spec.agreement_ref.trim().to_string(),
            granted_by: by.username.clone(),
            granted_at: at,
            revoked_at: None,
        };
        let detail = json!({"consumer": g.consumer, "read": g.read, "write": g.write,
                            "expires_at": g.expires_at.map(|t| t.to_string()), "agreement_ref": g.agreement_ref});
        self.repo.save_grant(&g, &audit(by, "dataset.grant", &d.id, detail)).await?;
        self.reload(Vec::new()).await?;
        Ok(g)
    }

    pub async fn revoke(&self, by: &Subject, grant_id: &str, reason: &str) -> CoreResult<Grant> {
        by.require(Action::ApproveData, None)?;
        if reason.trim().is_empty() {
            return Err(CoreError::validation("reason", "is required"));
        }
        let catalog = self.hub.catalog();
        let old = catalog
            .grants()
            .iter()
            .find(|g| g.id == grant_id)
            .ok_or_else(|| CoreError::not_found(format!("grant '{grant_id}'")))?;
        if old.revoked_at.is_some() {
            return Err(CoreError::Conflict("the grant is already revoked".into()));
        }
        let g = Grant { revoked_at: Some(now()), ..old.clone() };
        let detail = json!({"grant": grant_id, "reason": reason});
        self.repo.save_grant(&g, &audit(by, "dataset.revoke", &g.dataset_id, detail)).await?;
        self.reload(Vec::new()).await?;
        Ok(g)
    }

    pub async fn windows(&self, by: &Subject, dataset_id: &str) -> CoreResult<Vec<MaintenanceWindow>> {
        self.get(by, dataset_id)?;
        self.repo.list_windows(Some(dataset_id)).await
    }

    /// The provider declares a maintenance: its entities are not counted against "sống" then.
    pub async fn declare_window(
        &self,
        by: &Subject,
        dataset_id: &str,
        spec: WindowSpec,
    ) -> CoreResult<MaintenanceWindow> {
        let d = self.get(by, dataset_id)?;
        if !by.can(Action::SubmitData, Some(&d.provider_org))
            && !by.can(Action::ManageDatasets, Some(&d.provider_org))
        {
            return Err(CoreError::Forbidden("declaring maintenance of another organisation's data".into()));
        }
        if spec.ends_at <= spec.starts_at {
            return Err(CoreError::validation("ends_at", "must be after starts_at"));
        }
        if spec.reason.trim().is_empty() {
            return Err(CoreError::validation("reason", "is required"));
        }
        let w = MaintenanceWindow {
            id: uuid::Uuid::now_v7().to_string(),
            dataset_id: d.id.clone(),
            entity_ids: spec.entity_ids,
            starts_at: spec.starts_at,
            ends_at: spec.ends_at,
            reason: spec.reason.trim().to_string(),
            declared_by: by.username.clone(),
        };
        let detail = json!({"entities": w.entity_ids, "starts_at": w.starts_at.to_string(), "ends_at": w.ends_at.to_string()});
        self.repo.save_window(&w, &audit(by, "dataset.maintenance", &d.id, detail)).await?;
        Ok(w)
    }

    pub async fn submissions(&self, by: &Subject, dataset_id: Option<&str>) -> CoreResult<Vec<Submission>> {
        if let Some(id) = dataset_id {
            self.get(by, id)?;
        }
        let all = self.repo.list_submissions(dataset_id, 500).await?;
        let visible: Vec<String> = self.list(by).iter().map(|d| d.id.clone()).collect();
        Ok(all.into_iter().filter(|s| visible.contains(&s.dataset_id)).collect())
    }
}
