//! The public warning service: drafts by operators, approval by a supervisor (nothing goes out
//! without one), updates and cancellations as CAP Update and Cancel messages that reference
//! every earlier message, and the list of what is current for the portal and the feed.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Deserialize;

use super::cap::{self, CapArea, CapInfo, CapMessage, MsgType, Reference};
use super::model::{PublicWarning, Sent, WarningChange, WarningContent, WarningState};
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;
use crate::time::now;
use crate::units::UnitDirectory;

/// Who the warnings come from, as CAP names the sender.
#[derive(Debug, Clone)]
pub struct WarningSettings {
    /// CAP `sender`: no spaces or commas, e.g. "ioc.laichau.gov.vn".
    pub sender: String,
    pub sender_name: String,
    /// Where the portal shows a warning (its id appended), for CAP `web`.
    pub web_base: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WarningStep {
    /// submit, approve, send_back, cancel.
    pub action: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub version: Option<i64>,
}

pub struct WarningService {
    repo: Arc<dyn Repositories>,
    units: Arc<UnitDirectory>,
    settings: WarningSettings,
}

/// The CAP geocode name of a commune code.
pub const COMMUNE_GEOCODE: &str = "VN-COMMUNE";

impl WarningService {
    pub fn new(
        repo: Arc<dyn Repositories>,
        units: Arc<UnitDirectory>,
        settings: WarningSettings,
    ) -> WarningService {
        WarningService { repo, units, settings }
    }

    pub fn settings(&self) -> &WarningSettings {
        &self.settings
    }

    /// Checks what a warning says, naming the field.
    fn check(&self, c: &WarningContent) -> CoreResult<()> {
        for (field, text) in [
            ("event_vi", &c.event_vi),
            ("headline_vi", &c.headline_vi),
            ("description_vi", &c.description_vi),
        ] {
            if text.trim().is_empty() {
                return Err(CoreError::validation(field, "is required"));
            }
        }
        if c.categories.is_empty() {
            return Err(CoreError::validation("categories", "give at least one"));
        }
        if c.communes.is_empty() && c.polygon.is_none() {
            return Err(CoreError::validation("communes", "name the communes warned or draw the area"));
        }
        let index = self.units.current();
        for code in &c.communes {
            if index.unit(code).is_none() {
                return Err(CoreError::validation("communes", format!("no commune '{code}'")));
            }
        }
        if c.onset.is_some_and(|o| o >= c.expires) {
            return Err(CoreError::validation("expires", "must be after the onset"));
        }
        // The CAP checks (polygon closed with four points, coordinates in range) on a trial message.
        let probe = self.message(c, "probe", now(), MsgType::Alert, Vec::new(), None);
        cap::check(&probe).map_err(|e| {
            let field = if e.field.contains("polygon") { "polygon".to_string() } else { e.field.clone() };
            CoreError::validation(field, e.message)
        })
    }

    /// The CAP message for `c`.
    fn message(
        &self,
        c: &WarningContent,
        identifier: &str,
        sent: Timestamp,
        msg_type: MsgType,
        references: Vec<Reference>,
        id: Option<&str>,
    ) -> CapMessage {
        let index = self.units.current();
        let names: Vec<String> = c
            .communes
            .iter()
            .map(|code| index.unit(code).map(|u| u.full_name_vi.clone()).unwrap_or_else(|| code.clone()))
            .collect();
        let area = CapArea {
            area_desc: if names.is_empty() {
                "Vùng khoanh trên bản đồ".into()
            } else {
                names.join(", ")
            },
            polygons: c.polygon.iter().cloned().collect(),
            geocodes: c.communes.iter().map(|code| (COMMUNE_GEOCODE.to_string(), code.clone())).collect(),
        };
        let web = match (&self.settings.web_base, id) {
            (Some(base), Some(id)) => Some(format!("{base}{id}")),
            _ => None,
        };
        let info =
            |language: &str, event: &str, headline: &str, description: &str, instruction: &str| CapInfo {
                language: language.into(),
                categories: c.categories.clone(),
                event: event.to_string(),
                urgency: c.urgency,
                severity: c.severity,
                certainty: c.certainty,
                onset: c.onset,
                expires: Some(c.expires),
                sender_name: Some(self.settings.sender_name.clone()),
                headline: Some(headline.to_string()).filter(|h| !h.is_empty()),
                description: Some(description.to_string()).filter(|d| !d.is_empty()),
                instruction: Some(instruction.to_string()).filter(|i| !i.is_empty()),
                web: web.clone(),
                contact: None,
                areas: vec![area.clone()],
            };
        let mut infos =
            vec![info("vi-VN", &c.event_vi, &c.headline_vi, &c.description_vi, &c.instruction_vi)];
        if !c.headline_en.trim().is_empty() {
            let event = if c.event_en.trim().is_empty() { &c.event_vi } else { &c.event_en };
            infos.push(info("en-US", event, &c.headline_en, &c.description_en, &c.instruction_en));
        }
        CapMessage {
            identifier: identifier.to_string(),
            sender: self.settings.sender.clone(),
            sent,
            status: c.status,
            msg_type,
            note: None,
            references,
            infos,
        }
    }

    /// The centre's warnings, drafts included (agencies read what is out on the portal).
    fn centre(by: &Subject) -> CoreResult<()> {
        if by.can_everywhere(Action::ViewAlerts) {
            Ok(())
        } else {
            Err(CoreError::Forbidden("public warnings before they go out".into()))
        }
    }

    pub async fn list(&self, by: &Subject) -> CoreResult<Vec<PublicWarning>> {
        Self::centre(by)?;
        self.repo.list_warnings(false).await
    }

    /// What is out now (the portal and the feed): anyone may read it.
    pub async fn current(&self) -> CoreResult<Vec<PublicWarning>> {
        let at = now();
        Ok(self.repo.list_warnings(true).await?.into_iter().filter(|w| w.is_current(at)).collect())
    }

    pub async fn get(&self, by: &Subject, key: &str) -> CoreResult<PublicWarning> {
        Self::centre(by)?;
        let found = match key.trim_start_matches("CB-").parse::<i64>() {
            Ok(n) => self.repo.warning_by_number(n).await?,
            Err(_) => self.repo.get_warning(key).await?,
        };
        found.ok_or_else(|| CoreError::NotFound { what: format!("warning '{key}'") })
    }

    /// A CAP document that went out, by its identifier.
    pub async fn cap_document(&self, identifier: &str) -> CoreResult<String> {
        self.repo
            .cap_message(identifier)
            .await?
            .ok_or_else(|| CoreError::NotFound { what: format!("CAP message '{identifier}'") })
    }

    pub async fn draft(
        &self,
        by: &Subject,
        content: WarningContent,
        incident_id: Option<String>,
    ) -> CoreResult<PublicWarning> {
        by.require(Action::HandleAlerts, None)?;
        self.check(&content)?;
        let at = now();
        let w = PublicWarning {
            id: uuid::Uuid::new_v4().to_string(),
            number: 0,
            state: WarningState::Draft,
            draft: content,
            published: None,
            sent: Vec::new(),
            incident_id,
            drafted_by: by.username.clone(),
            note: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        let audit = AuditEvent::new(&by.actor(), "warning.draft", Some(&w.id), Outcome::Success)
            .with_detail(w.draft.headline_vi.clone());
        self.repo.write_warning(&WarningChange { warning: w, new: true, message: None, audit }).await
    }

    /// Rewrites the draft (of a new warning, or the next version of one that is out).
    pub async fn edit(
        &self,
        by: &Subject,
        key: &str,
        content: WarningContent,
        version: i64,
    ) -> CoreResult<PublicWarning> {
        by.require(Action::HandleAlerts, None)?;
        let mut w = self.get(by, key).await?;
        if w.version != version {
            return Err(CoreError::Conflict(format!(
                "warning CB-{} was changed meanwhile; reload it",
                w.number
            )));
        }
        if !matches!(w.state, WarningState::Draft | WarningState::Published) {
            return Err(CoreError::Conflict(format!(
                "a warning that is {} cannot be edited",
                w.state.as_str()
            )));
        }
        self.check(&content)?;
        w.draft = content;
        w.updated_at = now();
        w.version += 1;
        let audit = AuditEvent::new(&by.actor(), "warning.edit", Some(&w.id), Outcome::Success);
        self.repo.write_warning(&WarningChange { warning: w, new: false, message: None, audit }).await
    }

    pub async fn step(&self, by: &Subject, key: &str, step: WarningStep) -> CoreResult<PublicWarning> {
        let mut w = self.get(by, key).await?;
        if step.version.is_some_and(|v| v != w.version) {
            return Err(CoreError::Conflict(format!(
                "warning CB-{} was changed meanwhile; reload it",
                w.number
            )));
        }
        let at = now();
        let note = step.note.trim().to_string();
        let conflict = |w: &PublicWarning| {
            CoreError::Conflict(format!(
                "a warning that is {} cannot take the step '{}'",
                w.state.as_str(),
                step.action
            ))
        };
        let mut message = None;
        match step.action.as_str() {
            "submit" => {
                by.require(Action::HandleAlerts, None)?;
                if !matches!(w.state, WarningState::Draft | WarningState::Published) {
                    return Err(conflict(&w));
                }
                if w.state == WarningState::Published && w.published.as_ref() == Some(&w.draft) {
                    return Err(CoreError::validation(
                        "draft",
                        "nothing was changed since the version that is out",
                    ));
                }
                self.check(&w.draft)?;
                w.state = WarningState::Pending;
                w.note = None;
            }
            "send_back" => {
                by.require(Action::ApprovePublicWarnings, None)?;
                if w.state != WarningState::Pending {
                    return Err(conflict(&w));
                }
                if note.is_empty() {
                    return Err(CoreError::validation("note", "say what to change"));
                }
                w.state = if w.published.is_some() { WarningState::Published } else { WarningState::Draft };
                w.note = Some(note);
            }
            "approve" => {
                by.require(Action::ApprovePublicWarnings, None)?;
                if w.state != WarningState::Pending {
                    return Err(conflict(&w));
                }
                // Two people: whoever wrote the warning does not approve it.
                if w.drafted_by == by.username {
                    return Err(CoreError::Conflict(
                        "a warning is approved by someone other than who drafted it".into(),
                    ));
                }
                if w.draft.expires <= at {
                    return Err(CoreError::validation("expires", "the warning would already have expired"));
                }
                let msg_type = if w.sent.is_empty() { MsgType::Alert } else { MsgType::Update };
                message = Some(self.send(&w, &w.draft, msg_type, at, &by.username, None)?);
                w.published = Some(w.draft.clone());
                w.state = WarningState::Published;
            }
            "cancel" => {
                by.require(Action::ApprovePublicWarnings, None)?;
                let Some(out) = w.published.clone().filter(|_| w.state != WarningState::Cancelled) else {
                    return Err(conflict(&w));
                };
                if note.is_empty() {
                    return Err(CoreError::validation("note", "say why the warning is cancelled"));
                }
                message = Some(self.send(&w, &out, MsgType::Cancel, at, &by.username, Some(note.clone()))?);
                w.state = WarningState::Cancelled;
                w.note = Some(note);
            }
            other => return Err(CoreError::validation("action", format!("no step '{other}'"))),
        }
        if let Some((sent, _)) = &message {
            w.sent.push(sent.clone());
        }
        w.updated_at = at;
        w.version += 1;
        let audit =
            AuditEvent::new(&by.actor(), &format!("warning.{}", step.action), Some(&w.id), Outcome::Success)
                .with_detail(format!("CB-{}", w.number));
        self.repo.write_warning(&WarningChange { warning: w, new: false, message, audit }).await
    }

    /// The CAP message that goes out now, rendered (refused by name if CAP would not take it).
    fn send(
        &self,
        w: &PublicWarning,
        content: &WarningContent,
        msg_type: MsgType,
        at: Timestamp,
        approved_by: &str,
        note: Option<String>,
    ) -> CoreResult<(Sent, String)> {
        let identifier = format!("{}.cb{}.{}", self.settings.sender, w.number, w.sent.len() + 1);
        let references = w
            .sent
            .iter()
            .map(|s| Reference {
                sender: self.settings.sender.clone(),
                identifier: s.identifier.clone(),
                sent: s.sent,
            })
            .collect();
        let mut msg = self.message(content, &identifier, at, msg_type, references, Some(&w.id));
        msg.note = note;
        let xml = cap::render(&msg).map_err(|e| CoreError::validation(e.field, e.message))?;
        Ok((Sent { identifier, sent: at, msg_type, approved_by: approved_by.to_string() }, xml))
    }
}
