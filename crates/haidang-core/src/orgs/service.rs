//! Creating and reading organisations.

use std::sync::Arc;

use tracing::instrument;

use super::{NewOrganisation, Organisation};
use crate::accounts::{secret, Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;
use crate::time::now;

pub struct OrgService {
    repo: Arc<dyn Repositories>,
}

impl OrgService {
    pub fn new(repo: Arc<dyn Repositories>) -> Self {
        OrgService { repo }
    }

    #[instrument(skip_all, fields(code = %new.code))]
    pub async fn create(&self, by: &Subject, new: NewOrganisation) -> CoreResult<Organisation> {
        by.require(Action::ManageOrgs, None)?;
        let kind = new.validate()?;
        let code = new.code.trim().to_string();
        if self.repo.get_org_by_code(&code).await?.is_some() {
            return Err(CoreError::Conflict(format!("organisation code '{code}' is taken")));
        }
        let parent_id = match new.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(parent) => Some(
                self.resolve(parent)
                    .await?
                    .ok_or_else(|| CoreError::validation("parent", format!("no organisation '{parent}'")))?
                    .id,
            ),
        };
        for unit in &new.unit_codes {
            if self.repo.get_unit(unit).await?.is_none() {
                return Err(CoreError::validation("unit_codes", format!("no administrative unit '{unit}'")));
            }
        }
        let at = now();
        let org = Organisation {
            id: secret::new_id(),
            code: code.clone(),
            parent_id,
            kind,
            name_vi: new.name_vi.trim().to_string(),
            name_en: new.name_en.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_default(),
            sectors: new.sectors,
            unit_codes: new.unit_codes,
            head_name: new.head_name.filter(|h| !h.trim().is_empty()),
            email: new.email.filter(|e| !e.trim().is_empty()),
            phone: new.phone.filter(|p| !p.trim().is_empty()),
            duty_phone: new.duty_phone.filter(|p| !p.trim().is_empty()),
            created_at: at,
            updated_at: at,
        };
        let audit = AuditEvent::new(&by.actor(), "org.create", Some(&code), Outcome::Success)
            .with_detail(format!("kind={}; name={}", kind.as_str(), org.name_vi));
        self.repo.create_org(&org, &audit).await?;
        Ok(org)
    }

    /// By code first, then by id.
    pub async fn resolve(&self, code_or_id: &str) -> CoreResult<Option<Organisation>> {
        resolve_org(self.repo.as_ref(), code_or_id).await
    }

    pub async fn get(&self, by: &Subject, code_or_id: &str) -> CoreResult<Organisation> {
        by.require(Action::ViewOrgs, None)?;
        self.resolve(code_or_id)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("organisation '{code_or_id}'")))
    }

    pub async fn list(&self, by: &Subject) -> CoreResult<Vec<Organisation>> {
        by.require(Action::ViewOrgs, None)?;
        let mut orgs = self.repo.list_orgs().await?;
        orgs.sort_by(|a, b| a.kind.rank().cmp(&b.kind.rank()).then_with(|| a.name_vi.cmp(&b.name_vi)));
        Ok(orgs)
    }
}

/// An organisation named by its code or its id (what people and machines send), by code first.
pub async fn resolve_org(repo: &dyn Repositories, code_or_id: &str) -> CoreResult<Option<Organisation>> {
    match repo.get_org_by_code(code_or_id).await? {
        Some(org) => Ok(Some(org)),
        None => repo.get_org(code_or_id).await,
    }
}
