//! The shift handover log ("sổ giao ca"): the outgoing operator records the open matters (the
//! open alerts, incidents and overdue tasks are taken as they are at that moment, with a note)
//! and the incoming one acknowledges them. A handover nobody acknowledged stays on top.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::accounts::{Action, Subject};
use crate::alerts::AlertFilter;
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;
use crate::time::now;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenMatter {
    /// "alert", "incident", "task".
    pub kind: String,
    pub id: String,
    /// A-12, SC-3, or the task's title.
    pub label: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handover {
    pub id: String,
    pub at: Timestamp,
    pub outgoing: String,
    pub note: String,
    pub matters: Vec<OpenMatter>,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
}

/// What is open now, as the outgoing shift hands it over.
async fn open_matters(repo: &dyn Repositories) -> CoreResult<Vec<OpenMatter>> {
    let mut out = Vec::new();
    let filter = AlertFilter {
        states: crate::alerts::AlertState::ALL.into_iter().filter(|s| s.is_open()).collect(),
        limit: 500,
        ..AlertFilter::default()
    };
    for a in repo.list_alerts(&filter).await? {
        out.push(OpenMatter {
            kind: "alert".into(),
            id: a.id,
            label: format!("A-{}", a.number),
            title: a.title,
        });
    }
    let incidents = super::model::IncidentFilter { open_only: true, org_id: None, limit: 200 };
    for i in repo.list_incidents(&incidents).await? {
        out.push(OpenMatter {
            kind: "incident".into(),
            id: i.id,
            label: format!("SC-{}", i.number),
            title: i.title,
        });
    }
    let at = now();
    for t in repo.org_tasks(None, true).await?.into_iter().filter(|t| t.is_overdue(at)) {
        out.push(OpenMatter { kind: "task".into(), id: t.id, label: t.title.clone(), title: t.title });
    }
    Ok(out)
}

fn centre(by: &Subject) -> CoreResult<()> {
    if by.can(Action::HandleAlerts, None) {
        Ok(())
    } else {
        Err(CoreError::Forbidden("the shift handover log".into()))
    }
}

/// The outgoing operator hands over, with a note.
pub async fn hand_over(repo: &dyn Repositories, by: &Subject, note: &str) -> CoreResult<Handover> {
    centre(by)?;
    let h = Handover {
        id: uuid::Uuid::new_v4().to_string(),
        at: now(),
        outgoing: by.username.clone(),
        note: note.trim().to_string(),
        matters: open_matters(repo).await?,
        acknowledged_by: None,
        acknowledged_at: None,
    };
    if h.note.is_empty() && h.matters.is_empty() {
        return Err(CoreError::validation("note", "nothing is open: say how the shift went"));
    }
    let audit = AuditEvent::new(&by.actor(), "handover.create", Some(&h.id), Outcome::Success)
        .with_detail(format!("{} open matters", h.matters.len()));
    repo.put_handover(&h, true, &audit).await?;
    Ok(h)
}

/// The incoming operator acknowledges: someone other than the one who handed over, once.
pub async fn acknowledge(repo: &dyn Repositories, by: &Subject, id: &str) -> CoreResult<Handover> {
    centre(by)?;
    let mut h = repo
        .list_handovers(500)
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or_else(|| CoreError::NotFound { what: format!("handover '{id}'") })?;
    if h.acknowledged_at.is_some() {
        return Err(CoreError::Conflict("this handover was acknowledged already".into()));
    }
    if h.outgoing == by.username {
        return Err(CoreError::Conflict(
            "the incoming operator acknowledges, not the one handing over".into(),
        ));
    }
    h.acknowledged_by = Some(by.username.clone());
    h.acknowledged_at = Some(now());
    let audit = AuditEvent::new(&by.actor(), "handover.acknowledge", Some(&h.id), Outcome::Success);
    repo.put_handover(&h, false, &audit).await?;
    Ok(h)
}

pub async fn list(repo: &dyn Repositories, by: &Subject) -> CoreResult<Vec<Handover>> {
    centre(by)?;
    repo.list_handovers(100).await
}
