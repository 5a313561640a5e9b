//! Subscriptions as the API manages them: create, read, list, change, delete, each checked
//! and audited; the registry the notifier matches against moves with every change.
//!
//! Who sees what: a subscription belongs to the organisation of the account that made it.
//! Its organisation's accounts see and change it; an administrator sees every one.

use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::Notify;

use super::matcher::{Compiled, Registry};
use super::model::{merge_fragment, parse_subscription, render, stored_document, SubscriptionError};
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome};
use crate::error::CoreError;
use crate::hub::context::CORE_URL;
use crate::hub::error::{ErrorType, HubError, HubResult};
use crate::hub::writer::{read, write};
use crate::hub::HubService;
use crate::repo::{Repositories, SubscriptionRow};
use crate::time::now;

pub struct SubscriptionService {
    pub(crate) repo: Arc<dyn Repositories>,
    pub(crate) hub: Arc<HubService>,
    pub(crate) registry: RwLock<Registry>,
    /// Wakes the delivery when notifications were queued.
    pub(crate) queued: Notify,
    /// Stored subscriptions that could not be compiled at start (their context could not be
    /// had): tried again now and then.
    broken: std::sync::Mutex<(Vec<SubscriptionRow>, Option<std::time::Instant>)>,
    /// Endpoints on this machine or its link (loopback, link-local) are taken: off, a
    /// subscription cannot make the server call its own services or a cloud's metadata.
    allow_local: bool,
}

/// How often subscriptions that could not be compiled are tried again.
const RETRY_BROKEN: std::time::Duration = std::time::Duration::from_secs(60);

fn refused(e: SubscriptionError) -> HubError {
    let kind = if e.unsupported { ErrorType::OperationNotSupported } else { ErrorType::BadRequestData };
    HubError::new(kind, e.to_string())
}

impl SubscriptionService {
    /// Loads and compiles every stored subscription. One that no longer compiles (its context
    /// cannot be had) is logged and tried again every minute.
    pub async fn start(
        repo: Arc<dyn Repositories>,
        hub: Arc<HubService>,
        allow_local: bool,
    ) -> HubResult<Arc<SubscriptionService>> {
        let svc = Arc::new(SubscriptionService {
            repo: repo.clone(),
            hub,
            registry: RwLock::new(Registry::default()),
            queued: Notify::new(),
            broken: std::sync::Mutex::new((Vec::new(), None)),
            allow_local,
        });
        let mut broken = Vec::new();
        for row in repo.list_subscriptions().await? {
            match svc.compile(&row).await {
                Ok(c) => write(&svc.registry).put(c),
                Err(e) => {
                    tracing::error!(subscription = row.id, error = %e, "a stored subscription cannot be used yet; it is tried again every minute");
                    broken.push(row);
                }
            }
        }
        *svc.broken.lock().unwrap_or_else(|p| p.into_inner()) = (broken, Some(std::time::Instant::now()));
        Ok(svc)
    }

    /// Compiles again the stored subscriptions that could not be used (at most once a minute).
    pub async fn retry_broken(&self) {
        let rows = {
            let mut b = self.broken.lock().unwrap_or_else(|p| p.into_inner());
            if b.0.is_empty() || b.1.is_some_and(|t| t.elapsed() < RETRY_BROKEN) {
                return;
            }
            b.1 = Some(std::time::Instant::now());
            std::mem::take(&mut b.0)
        };
        let mut still = Vec::new();
        for row in rows {
            match self.compile(&row).await {
                Ok(c) => {
                    tracing::info!(subscription = row.id, "a stored subscription can be used again");
                    write(&self.registry).put(c);
                }
                Err(_) => still.push(row),
            }
        }
        self.broken.lock().unwrap_or_else(|p| p.into_inner()).0.extend(still);
    }

    /// Refuses an endpoint on the server's own machine or link unless configured to allow it.
    fn check_endpoint(&self, spec: &super::model::SubscriptionSpec) -> HubResult<()> {
        let host = super::model::endpoint_host(&spec.endpoint).unwrap_or_default();
        if !self.allow_local && super::model::is_local_host(&host) {
            return Err(HubError::bad_data(format!(
                "notification.endpoint.uri: {host} is this server's own machine or link; such endpoints are refused (hub.notification_local_endpoints)"
            )));
        }
        Ok(())
    }

    /// Wakes the delivery (notifications were queued by another component).
    pub fn wake_delivery(&self) {
        self.queued.notify_one();
    }

    pub fn count(&self) -> usize {
        read(&self.registry).len()
    }

    async fn compile(&self, row: &SubscriptionRow) -> HubResult<Compiled> {
        let doc: Value = serde_json::from_str(&row.doc)
            .map_err(|e| CoreError::Storage(format!("subscription {}: {e}", row.id)))?;
        let spec = parse_subscription(&doc, None).map_err(refused)?;
        let context: Value = serde_json::from_str(&row.context).unwrap_or(Value::Null);
        let local = (!context.is_null()).then_some(&context);
        let active = self.hub.active_context(local).await?;
        let named = if context.is_null() { Value::String(CORE_URL.into()) } else { context.clone() };
        let mut compiled =
            Compiled::new(spec, row.owner_user.clone(), row.owner_org.clone(), row.created_at, active, named)
                .map_err(HubError::bad_data)?;
        compiled.owner_token = row.owner_token.clone();
        Ok(compiled)
    }

    fn visible(by: &Subject, row: &SubscriptionRow) -> bool {
        by.can_everywhere(Action::ChangeConfiguration) || row.owner_org == by.org_id
    }

    /// Changing a subscription (where it sends, what) is for the account that made it, as it
    /// notifies under that account, or for an administrator.
    fn may_change(by: &Subject, row: &SubscriptionRow) -> HubResult<()> {
        if by.can_everywhere(Action::ChangeConfiguration) || row.owner_user == by.user_id {
            Ok(())
        } else {
            Err(HubError::new(
                ErrorType::Forbidden,
                format!("{} was made by another account; only it or an administrator may change it", row.id),
            ))
        }
    }

    async fn visible_row(&self, by: &Subject, id: &str) -> HubResult<SubscriptionRow> {
        by.require(Action::ReadData, None)?;
        match self.repo.get_subscription(id).await? {
            Some(row) if Self::visible(by, &row) => Ok(row),
            _ => Err(HubError::not_found(id)),
        }
    }

    /// Creates a subscription from a request body written in `context` (None: the core
    /// context); answers its id.
    pub async fn create(&self, by: &Subject, body: &Value, context: Option<Value>) -> HubResult<String> {
        by.require(Action::ReadData, None)?;
        let mut doc = stored_document(body);
        if let Value::Object(o) = &mut doc {
            if !o.contains_key("id") {
                let id = format!("urn:ngsi-ld:Subscription:{}", uuid::Uuid::new_v4().simple());
                o.insert("id".into(), Value::String(id));
            }
        }
        let at = now();
        let spec = parse_subscription(&doc, Some(at)).map_err(refused)?;
        self.check_endpoint(&spec)?;
        let row = SubscriptionRow {
            id: spec.id.clone(),
            owner_user: by.user_id.clone(),
            owner_org: by.org_id.clone(),
            owner_token: by.token_id.clone(),
            doc: doc.to_string(),
            context: context.unwrap_or(Value::Null).to_string(),
            created_at: at,
            modified_at: at,
            status: Default::default(),
        };
        let compiled = self.compile(&row).await?;
        let detail =
            serde_json::json!({ "endpoint": super::model::hide_password(&spec.endpoint.uri) }).to_string();
        let audit = AuditEvent::new(&by.actor(), "subscription.create", Some(&row.id), Outcome::Success)
            .with_detail(detail);
        match self.repo.insert_subscription(&row, &audit).await {
            Ok(()) => {}
            Err(CoreError::Conflict(_)) => {
                return Err(HubError::new(ErrorType::AlreadyExists, format!("{} already exists", row.id)))
            }
            Err(e) => return Err(e.into()),
        }
        write(&self.registry).put(compiled);
        Ok(row.id)
    }

    /// The subscription as the API shows it, with its delivery status.
    pub async fn get(&self, by: &Subject, id: &str) -> HubResult<Value> {
        let row = self.visible_row(by, id).await?;
        Self::shown(&row)
    }

    fn shown(row: &SubscriptionRow) -> HubResult<Value> {
        let doc: Value = serde_json::from_str(&row.doc)
            .map_err(|e| CoreError::Storage(format!("subscription {}: {e}", row.id)))?;
        let spec = parse_subscription(&doc, None).map_err(refused)?;
        let context: Value = serde_json::from_str(&row.context).unwrap_or(Value::Null);
        let url = match &context {
            Value::String(u) => Some(u.as_str()),
            Value::Null => Some(CORE_URL),
            _ => None,
        };
        Ok(render(&doc, &spec, &row.status, url, now()))
    }

    /// The subscriptions the caller may see, in id order: one page and the count.
    pub async fn list(&self, by: &Subject, limit: usize, offset: usize) -> HubResult<(Vec<Value>, usize)> {
        by.require(Action::ReadData, None)?;
        let mut rows: Vec<SubscriptionRow> =
            self.repo.list_subscriptions().await?.into_iter().filter(|r| Self::visible(by, r)).collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let count = rows.len();
        let page = rows.iter().skip(offset).take(limit).map(Self::shown).collect::<HubResult<Vec<_>>>()?;
        Ok((page, count))
    }

    /// Applies a fragment (members replaced, null removes); the result is checked whole and
    /// nothing changes when it fails.
    pub async fn update(&self, by: &Subject, id: &str, fragment: &Value) -> HubResult<()> {
        let row = self.visible_row(by, id).await?;
        Self::may_change(by, &row)?;
        let stored: Value = serde_json::from_str(&row.doc)
            .map_err(|e| CoreError::Storage(format!("subscription {id}: {e}")))?;
        let merged = merge_fragment(&stored, fragment).map_err(refused)?;
        let at = now();
        // expiresAt must be ahead only when the change sets it: an expired subscription can
        // still be paused or renamed.
        let new_expiry = fragment.get("expiresAt").is_some_and(|v| !v.is_null());
        let spec = parse_subscription(&merged, new_expiry.then_some(at)).map_err(refused)?;
        self.check_endpoint(&spec)?;
        let next = SubscriptionRow { doc: merged.to_string(), modified_at: at, ..row };
        let compiled = self.compile(&next).await?;
        let members: Vec<String> = match fragment {
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let detail = serde_json::json!({ "members": members }).to_string();
        let audit = AuditEvent::new(&by.actor(), "subscription.update", Some(id), Outcome::Success)
            .with_detail(detail);
        if !self.repo.update_subscription(id, &next.doc, at, &audit).await? {
            return Err(HubError::not_found(id));
        }
        write(&self.registry).put(compiled);
        Ok(())
    }

    /// Deletes a subscription and the notifications still waiting for it.
    pub async fn delete(&self, by: &Subject, id: &str) -> HubResult<()> {
        let row = self.visible_row(by, id).await?;
        Self::may_change(by, &row)?;
        let audit = AuditEvent::new(&by.actor(), "subscription.delete", Some(id), Outcome::Success);
        if !self.repo.delete_subscription(id, &audit).await? {
            return Err(HubError::not_found(id));
        }
        write(&self.registry).remove(id);
        Ok(())
    }
}
