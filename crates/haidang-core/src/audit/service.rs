//! Reading the trail (auditors, with filters) and verifying the chain end to end.

use std::sync::Arc;

use super::chain::{ChainHead, ChainProblem, Verifier};
use super::model::{AuditQuery, AuditRecord};
use super::AuditKey;
use crate::accounts::{Action, Subject};
use crate::error::CoreResult;
use crate::repo::Repositories;

/// Records read at a time while verifying, so a long trail never sits in memory whole.
const PAGE: i64 = 5_000;

pub struct AuditService {
    repo: Arc<dyn Repositories>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VerifyReport {
    Intact { records: i64 },
    Broken(ChainProblem),
}

impl AuditService {
    pub fn new(repo: Arc<dyn Repositories>) -> Self {
        AuditService { repo }
    }

    pub async fn query(&self, by: &Subject, query: &AuditQuery) -> CoreResult<Vec<AuditRecord>> {
        by.require(Action::ViewAudit, None)?;
        self.repo.query_audit(query).await
    }

    /// Walks the whole chain in order and compares its end with the head file.
    pub async fn verify(&self, key: &AuditKey, head: Option<&ChainHead>) -> CoreResult<VerifyReport> {
        let mut verifier = Verifier::new(key);
        // From the very bottom: a record forged with a sequence number below 1 is found too.
        let mut after = i64::MIN;
        loop {
            let page = self.repo.audit_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                if let Err(problem) = verifier.push(record) {
                    return Ok(VerifyReport::Broken(problem));
                }
            }
        }
        let head_mac = match head {
            Some(h) => self.repo.audit_record(h.seq).await?.map(|r| r.mac),
            None => None,
        };
        Ok(match verifier.finish(head, head_mac.as_deref()) {
            Ok(records) => VerifyReport::Intact { records },
            Err(problem) => VerifyReport::Broken(problem),
        })
    }
}
