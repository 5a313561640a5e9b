//! The alert service: keeps the rules (stored, checked, in force at once), turns the engine's
//! signals into alerts (one open alert per rule and entity; auto-resolve when the condition
//! clears), takes the operators' steps through the process, and tells the live stream.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast;

use super::engine::{Engine, Observation, Signal};
use super::model::{Alert, AlertChange, AlertFilter, AlertState, AlertStep, LiveEvent, StoredRule};
use super::process::AlertAction;
use super::rule::{Condition, Rule, Severity};
use super::watch::Outcome;
use crate::accounts::{Action, Subject};
use crate::audit::{AuditEvent, Outcome as AuditOutcome};
use crate::error::{CoreError, CoreResult};
use crate::hub::context::ActiveContext;
use crate::hub::entity::{AttrKind, Entity};
use crate::hub::service::type_iri;
use crate::hub::HubService;
use crate::repo::Repositories;
use crate::time::now;

/// A value that only moves while the alert is up is written at most this often (the stream
/// and the list show the latest; the peak is kept whatever the pace).
const STILL_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);
/// A rule saved reads at most this many entities of its type at once.
const PRIME_LIMIT: usize = 5_000;

fn poisoned<T>(p: std::sync::PoisonError<T>) -> T {
    p.into_inner()
}

/// What an operator asks of an alert.
#[derive(Debug, Clone, Deserialize)]
pub struct StepRequest {
    pub action: String,
    #[serde(default)]
    pub note: String,
    /// Forward: the agency (code or id).
    #[serde(default)]
    pub org: Option<String>,
    /// Forward: the deadline.
    #[serde(default)]
    pub due: Option<Timestamp>,
    /// Incident: the incident's id.
    #[serde(default)]
    pub incident_id: Option<String>,
    /// The version the operator saw: a step on an alert changed since is a conflict.
    #[serde(default)]
    pub version: Option<i64>,
    /// The state the operator saw: a step on an alert another operator has moved since is a
    /// conflict, while the engine's updates of its value are not (a rising river moves it
    /// every few seconds).
    #[serde(default)]
    pub expected_state: Option<AlertState>,
}

pub struct AlertService {
    repo: Arc<dyn Repositories>,
    hub: Arc<HubService>,
    pub(crate) engine: Mutex<Engine>,
    rules: RwLock<HashMap<String, StoredRule>>,
    /// Open alerts by deduplication key, as last written.
    open: Mutex<HashMap<String, Alert>>,
    /// When each open alert's moving value was last written.
    written: Mutex<HashMap<String, Timestamp>>,
    /// Entities and datasets ("dataset:<id>") in a maintenance window now.
    pub(crate) silenced: RwLock<HashSet<String>>,
    /// Set when a maintenance window is declared: the follower reads them again at once.
    pub(crate) windows_stale: std::sync::atomic::AtomicBool,
    /// A gateway (SMS, apps) is configured: every new alert is posted to it.
    notify_webhook: std::sync::atomic::AtomicBool,
    live: broadcast::Sender<LiveEvent>,
}

/// The rule as the engine reads changes: the type and the attribute as the hub stores them
/// (expanded IRIs), so a reading is matched without compacting its names.
fn expanded(rule: &Rule) -> Rule {
    let mut r = rule.clone();
    r.scope.entity_type = type_iri(&r.scope.entity_type);
    let core = ActiveContext::core();
    match &mut r.condition {
        Condition::Threshold { attribute, .. } | Condition::RateOfChange { attribute, .. } => {
            *attribute = core.expand(attribute);
        }
        Condition::Missing { .. } | Condition::Geofence { .. } => {}
    }
    r
}

/// The attribute names a type's JSON Schema declares (every `properties` map in it).
fn schema_attributes(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| schema_attributes(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| schema_attributes(v, out)),
        _ => {}
    }
}

/// A numeric attribute's value in a stored (normalized) attribute: the Property's value, or the
/// first instance's when there are several.
fn number_of(attr: &Value) -> Option<(f64, Option<Timestamp>)> {
    let one = match attr {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let value = one.get("value")?.as_f64()?;
    let at = one.get("observedAt").and_then(Value::as_str).and_then(|t| t.parse().ok());
    Some((value, at))
}

/// The types a change's body names (expanded IRIs), for an entity the index has not filed yet.
pub(crate) fn types_in(body: &str) -> Vec<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else { return Vec::new() };
    match map.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The point an entity lies at, [lon, lat].
pub fn point_of(e: &Entity) -> Option<[f64; 2]> {
    e.attrs.values().flatten().filter(|i| i.kind == AttrKind::GeoProperty).find_map(|i| {
        let c = i.content.get("coordinates")?;
        (i.content.get("type")?.as_str()? == "Point").then_some(())?;
        Some([c.get(0)?.as_f64()?, c.get(1)?.as_f64()?])
    })
}

impl AlertService {
    pub async fn start(repo: Arc<dyn Repositories>, hub: Arc<HubService>) -> CoreResult<Arc<AlertService>> {
        let mut engine = Engine::default();
        let mut rules = HashMap::new();
        for stored in repo.list_alert_rules().await? {
            engine.put(expanded(&stored.rule));
            rules.insert(stored.rule.id.clone(), stored);
        }
        let mut open = HashMap::new();
        for alert in repo.open_alerts().await? {
            if let (Some(rule), Some(entity)) = (&alert.rule_id, &alert.entity_id) {
                if alert.condition_active {
                    engine.assume_raised(rule, entity);
                }
            }
            open.insert(alert.dedup_key.clone(), alert);
        }
        let (live, _) = broadcast::channel(1024);
        Ok(Arc::new(AlertService {
            repo,
            hub,
            engine: Mutex::new(engine),
            rules: RwLock::new(rules),
            open: Mutex::new(open),
            written: Mutex::new(HashMap::new()),
            silenced: RwLock::new(HashSet::new()),
            windows_stale: std::sync::atomic::AtomicBool::new(true),
            notify_webhook: std::sync::atomic::AtomicBool::new(false),
            live,
        }))
    }

    /// Whether new alerts are posted to the centre's gateway (`alerts.webhook_url`).
    pub fn set_webhook(&self, on: bool) {
        self.notify_webhook.store(on, std::sync::atomic::Ordering::Release);
    }

    /// The notices a new alert gives: an email to each organisation its rule names that has an
    /// address, and one post to the gateway when there is one.
    async fn notices_for(&self, a: &Alert) -> CoreResult<Vec<super::notices::AlertNotice>> {
        let when = a.raised_at.to_zoned(crate::time::local_tz()).strftime("%d/%m/%Y %H:%M").to_string();
        let severity = match a.severity {
            Severity::Minor => "Nhẹ",
            Severity::Moderate => "Trung bình",
            Severity::Severe => "Nghiêm trọng",
            Severity::Extreme => "Đặc biệt nghiêm trọng",
        };
        let value = a.value.map(|v| format!("\nGiá trị đo: {v}")).unwrap_or_default();
        let text = format!(
            "{}\nMức độ: {severity}\nĐịa bàn: {}\nThời điểm: {when}{value}\nTrạm/đối tượng: {}",
            a.title,
            a.units.first().cloned().unwrap_or_default(),
            a.entity_id.clone().unwrap_or_default()
        );
        let notice =
            |channel: &str, org_id: Option<String>, address: Option<String>| super::notices::AlertNotice {
                id: uuid::Uuid::new_v4().to_string(),
                alert_id: a.id.clone(),
                channel: channel.into(),
                org_id,
                address,
                subject: format!("Cảnh báo: {}", a.title),
                text: text.clone(),
                state: "pending".into(),
                next_at: a.raised_at,
                attempts: Vec::new(),
            };
        let mut out = Vec::new();
        for code in &a.notify {
            if let Some(org) = crate::orgs::resolve_org(self.repo.as_ref(), code).await? {
                if let Some(email) = org.email.filter(|e| !e.trim().is_empty()) {
                    out.push(notice("email", Some(org.id), Some(email)));
                }
            }
        }
        if self.notify_webhook.load(std::sync::atomic::Ordering::Acquire) {
            out.push(notice("webhook", None, None));
        }
        Ok(out)
    }

    /// An entity was deleted: its watches go, and its open alerts resolve (a station taken down,
    /// an external alert withdrawn by the system that sent it).
    pub(crate) async fn entity_gone(&self, entity_id: &str) -> CoreResult<()> {
        self.engine.lock().unwrap_or_else(poisoned).forget_entity(entity_id);
        let open: Vec<Alert> = self
            .open
            .lock()
            .unwrap_or_else(poisoned)
            .values()
            .filter(|a| a.entity_id.as_deref() == Some(entity_id))
            .cloned()
            .collect();
        for mut a in open {
            let at = now();
            let from = a.state;
            a.state = AlertState::Resolved;
            a.condition_active = false;
            a.closed_at = Some(at);
            a.updated_at = at;
            let s = step(&a, "entity_deleted", "system", from, a.value, "");
            let change = AlertChange {
                notices: Vec::new(),
                alert: a,
                new: false,
                steps: vec![s],
                live: Some("alert.resolved".into()),
                audit: None,
            };
            self.write(change).await?;
        }
        Ok(())
    }

    /// Notices waiting to go out now.
    pub async fn due_notices(&self, limit: i64) -> CoreResult<Vec<super::notices::AlertNotice>> {
        self.repo.due_alert_notices(now(), limit).await
    }

    /// Records how an attempt went.
    pub async fn record_notice(
        &self,
        mut notice: super::notices::AlertNotice,
        result: Result<(), String>,
    ) -> CoreResult<()> {
        notice.record(now(), result);
        self.repo.update_alert_notice(&notice).await
    }

    /// The notices of an alert with every attempt (the alert's page shows them).
    pub async fn notices(&self, by: &Subject, key: &str) -> CoreResult<Vec<super::notices::AlertNotice>> {
        let a = self.get(by, key).await?;
        self.repo.alert_notices(&a.id).await
    }

    /// A maintenance window was declared: the rules hear of it at the follower's next run.
    pub fn windows_changed(&self) {
        self.windows_stale.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn repo(&self) -> &Arc<dyn Repositories> {
        &self.repo
    }

    pub fn hub(&self) -> &Arc<HubService> {
        &self.hub
    }

    /// A receiver of every live event from now on (the stream filters what each user sees).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    fn told(&self, event: Option<LiveEvent>) {
        if let Some(e) = event {
            self.publish(e);
        }
    }

    /// Sends a recorded live event to the streams open now (incidents and tasks use it too).
    pub fn publish(&self, e: LiveEvent) {
        // Nobody listening is not an error: the journal keeps it for those who come back.
        let _ = self.live.send(e);
    }

    // ---- rules ------------------------------------------------------------------------------

    pub fn rules(&self, by: &Subject) -> CoreResult<Vec<StoredRule>> {
        by.require(Action::ViewAlerts, None)?;
        let mut list: Vec<StoredRule> =
            self.rules.read().unwrap_or_else(poisoned).values().cloned().collect();
        list.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        Ok(list)
    }

    pub fn rule(&self, by: &Subject, id: &str) -> CoreResult<StoredRule> {
        by.require(Action::ViewAlerts, None)?;
        self.rules
            .read()
            .unwrap_or_else(poisoned)
            .get(id)
            .cloned()
            .ok_or_else(|| CoreError::NotFound { what: format!("rule '{id}'") })
    }

    /// Creates a rule (`expected` None) or replaces the one at version `expected`; it is in
    /// force when this returns, and has read the entities of its scope as they are now.
    pub async fn save_rule(
        &self,
        by: &Subject,
        mut rule: Rule,
        expected: Option<i64>,
    ) -> CoreResult<StoredRule> {
        by.require(Action::ManageAlertRules, None)?;
        if rule.id.is_empty() && expected.is_none() {
            rule.id = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        }
        let attributes = self.attributes_of(by, &rule.scope.entity_type);
        rule.check(attributes.as_deref())?;
        for org in &rule.notify {
            if crate::orgs::resolve_org(self.repo.as_ref(), org).await?.is_none() {
                return Err(CoreError::validation("notify", format!("no organisation '{org}'")));
            }
        }
        let version = match expected {
            None => 1,
            Some(v) => {
                let current = self.rules.read().unwrap_or_else(poisoned).get(&rule.id).map(|r| r.version);
                match current {
                    None => return Err(CoreError::NotFound { what: format!("rule '{}'", rule.id) }),
                    Some(c) if c != v => {
                        return Err(CoreError::Conflict(format!(
                            "rule '{}' is at version {c}, not {v}; reload it",
                            rule.id
                        )))
                    }
                    Some(c) => c + 1,
                }
            }
        };
        let stored = StoredRule { rule, version, updated_at: now(), updated_by: by.username.clone() };
        let action = if version == 1 { "alert_rule.create" } else { "alert_rule.update" };
        let audit = AuditEvent::new(&by.actor(), action, Some(&stored.rule.id), AuditOutcome::Success)
            .with_detail(stored.rule.name.clone());
        self.repo.put_alert_rule(&stored, &audit).await?;
        {
            let mut engine = self.engine.lock().unwrap_or_else(poisoned);
            engine.put(expanded(&stored.rule));
            // The rule's alerts still open keep their watches raised, so they clear when the
            // condition does (as after a restart).
            for a in self.open.lock().unwrap_or_else(poisoned).values() {
                if let (Some(rule), Some(entity)) = (&a.rule_id, &a.entity_id) {
                    if *rule == stored.rule.id && a.condition_active {
                        engine.assume_raised(rule, entity);
                    }
                }
            }
        }
        self.rules.write().unwrap_or_else(poisoned).insert(stored.rule.id.clone(), stored.clone());
        self.prime(&stored.rule).await?;
        Ok(stored)
    }

    pub async fn delete_rule(&self, by: &Subject, id: &str) -> CoreResult<()> {
        by.require(Action::ManageAlertRules, None)?;
        let audit = AuditEvent::new(&by.actor(), "alert_rule.delete", Some(id), AuditOutcome::Success);
        if !self.repo.delete_alert_rule(id, &audit).await? {
            return Err(CoreError::NotFound { what: format!("rule '{id}'") });
        }
        self.engine.lock().unwrap_or_else(poisoned).remove(id);
        self.rules.write().unwrap_or_else(poisoned).remove(id);
        Ok(())
    }

    /// The attributes the type's schema declares, when it has one.
    fn attributes_of(&self, by: &Subject, type_name: &str) -> Option<Vec<String>> {
        let (schema, _) = self.hub.schema(by, &type_iri(type_name)).ok()?;
        let mut names = Vec::new();
        schema_attributes(&schema, &mut names);
        (!names.is_empty()).then_some(names)
    }

    /// A rule just saved reads its entities as they are now: a river already over its line
    /// raises the alert at once rather than at its next reading.
    async fn prime(&self, rule: &Rule) -> CoreResult<()> {
        if !rule.enabled {
            return Ok(());
        }
        let iri = type_iri(&rule.scope.entity_type);
        let mut ids: Vec<String> = if rule.scope.entities.is_empty() {
            self.hub.placed_of_type(&iri).into_iter().map(|(id, _)| id).collect()
        } else {
            rule.scope.entities.clone()
        };
        ids.truncate(PRIME_LIMIT);
        if ids.is_empty() {
            return Ok(());
        }
        let entities = self.hub.entities_now(&ids).await?;
        let at = now();
        let mut signals = Vec::new();
        {
            let silenced = self.silenced.read().unwrap_or_else(poisoned);
            let mut engine = self.engine.lock().unwrap_or_else(poisoned);
            for e in entities.values() {
                let o = self.observation_of_entity(e, at);
                if matches!(rule.condition, Condition::Missing { .. }) {
                    // Only the clock decides a station is silent: reading it now must not
                    // count as news from it (a restart would clear and re-raise its alert).
                    engine.hear(&rule.id, &e.id, o.at.unwrap_or(at));
                } else {
                    signals.extend(engine.observe_for(&rule.id, &o, at, &silenced));
                }
            }
        }
        self.apply(signals).await
    }

    /// Every rule reads its entities as they are (at start: watches live in memory, and a
    /// station silent since before the start must still be found silent).
    pub async fn prime_all(&self) -> CoreResult<()> {
        let rules: Vec<Rule> =
            self.rules.read().unwrap_or_else(poisoned).values().map(|r| r.rule.clone()).collect();
        for rule in rules {
            self.prime(&rule).await?;
        }
        Ok(())
    }

    // ---- from readings to alerts ------------------------------------------------------------

    /// What the rules read of an entity as a whole (a rule's first look).
    pub(crate) fn observation_of_entity(&self, e: &Entity, default_at: Timestamp) -> Observation {
        let mut values = HashMap::new();
        let mut at: Option<Timestamp> = None;
        for (name, instances) in &e.attrs {
            let Some(i) = instances.iter().find(|i| i.dataset_id.is_none()).or(instances.first()) else {
                continue;
            };
            if i.kind != AttrKind::Property {
                continue;
            }
            if let Some(v) = i.content.as_f64() {
                values.insert(name.clone(), v);
                if let Some(t) = i.observed_at {
                    at = Some(at.map_or(t, |a: Timestamp| a.max(t)));
                }
            }
        }
        let mut o = self.placed(&e.id, e.types.first().cloned().unwrap_or_default());
        o.values = values;
        o.point = point_of(e);
        o.at = Some(at.or(e.modified_at).unwrap_or(default_at));
        o
    }

    /// What the rules read of a change: the numbers it wrote and when they were observed.
    /// None when no rule watches the entity (most readings), before its body is read.
    pub(crate) fn observation_of_change(&self, id: &str, body: &str, at: Timestamp) -> Option<Observation> {
        // The store wakes the follower at the commit, and the hub files a new entity in its
        // index just after: until then its type is read from the change itself.
        let types = self.hub.summary_of(id).map(|s| s.types).unwrap_or_else(|| types_in(body));
        let entity_type = types.first()?.clone();
        if !self.engine.lock().unwrap_or_else(poisoned).watches(id, &entity_type) {
            return None;
        }
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else { return None };
        let mut o = self.placed(id, entity_type);
        let mut observed: Option<Timestamp> = None;
        for (name, attr) in &map {
            if let Some((v, t)) = number_of(attr) {
                o.values.insert(name.clone(), v);
                if let Some(t) = t {
                    observed = Some(observed.map_or(t, |a| a.max(t)));
                }
            }
        }
        o.at = Some(observed.unwrap_or(at));
        o.point = map.get(&ActiveContext::core().expand("location")).and_then(|l| {
            let c = l.get("value")?.get("coordinates")?;
            Some([c.get(0)?.as_f64()?, c.get(1)?.as_f64()?])
        });
        Some(o)
    }

    fn placed(&self, id: &str, entity_type: String) -> Observation {
        let place = self.hub.place_of(id).unwrap_or_default();
        let catalog = self.hub.catalog();
        Observation {
            entity_id: id.to_string(),
            entity_type,
            dataset: place.datasets.first().and_then(|n| catalog.get(*n)).map(|d| d.id.clone()),
            units: place.units,
            at: None,
            point: None,
            values: HashMap::new(),
        }
    }

    /// Judges observations and writes what the rules answered.
    pub(crate) async fn judge(&self, observations: &[Observation]) -> CoreResult<usize> {
        if observations.is_empty() {
            return Ok(0);
        }
        let at = now();
        let signals: Vec<Signal> = {
            let silenced = self.silenced.read().unwrap_or_else(poisoned);
            let mut engine = self.engine.lock().unwrap_or_else(poisoned);
            observations.iter().flat_map(|o| engine.observe(o, at, &silenced)).collect()
        };
        let n = signals.len();
        self.apply(signals).await?;
        Ok(n)
    }

    /// The clock: silent stations raise their alerts.
    pub(crate) async fn tick(&self) -> CoreResult<usize> {
        let signals = {
            let silenced = self.silenced.read().unwrap_or_else(poisoned);
            self.engine.lock().unwrap_or_else(poisoned).tick(now(), &silenced)
        };
        let n = signals.len();
        self.apply(signals).await?;
        Ok(n)
    }

    async fn apply(&self, signals: Vec<Signal>) -> CoreResult<()> {
        let mut first_error = None;
        for s in signals {
            // A signal whose write conflicts (an operator's step meanwhile) is applied again
            // over the alert as it is now.
            for attempt in 0..3 {
                let result = match self.apply_one(&s).await {
                    Err(CoreError::Conflict(m)) if attempt < 2 => {
                        tracing::debug!(key = %s.dedup_key, reason = %m, "alert changed meanwhile; applying again");
                        self.reload_open(&s.dedup_key).await.map(|_| false)
                    }
                    other => other.map(|_| true),
                };
                match result {
                    Ok(true) => break,
                    Ok(false) => continue,
                    Err(e) => {
                        // Not written: the watch starts afresh, so the next reading raises it
                        // again rather than finding it raised with no alert behind it.
                        self.engine.lock().unwrap_or_else(poisoned).forget(&s.rule.id, &s.entity_id);
                        tracing::warn!(key = %s.dedup_key, error = %e, "an alert could not be written; the next reading judges again");
                        first_error.get_or_insert(e);
                        break;
                    }
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn reload_open(&self, key: &str) -> CoreResult<()> {
        let current = self.repo.open_alerts().await?.into_iter().find(|a| a.dedup_key == key);
        let mut open = self.open.lock().unwrap_or_else(poisoned);
        match current {
            Some(a) => open.insert(key.to_string(), a),
            None => open.remove(key),
        };
        Ok(())
    }

    async fn apply_one(&self, s: &Signal) -> CoreResult<()> {
        let rule = self.rules.read().unwrap_or_else(poisoned).get(&s.rule.id).map(|r| r.rule.clone());
        let Some(rule) = rule else { return Ok(()) };
        let existing = self.open.lock().unwrap_or_else(poisoned).get(&s.dedup_key).cloned();
        let at = now();
        let change = match (&s.outcome, existing) {
            (Outcome::Raise(value), None) => self.new_alert(&rule, s, *value, at).await?,
            (Outcome::Raise(value), Some(mut a)) => {
                let back = !a.condition_active;
                a.condition_active = true;
                self.moved(&mut a, *value, at);
                if back {
                    a.occurrences += 1;
                    let step = step(&a, "reraise", "system", a.state, *value, "");
                    AlertChange {
                        notices: Vec::new(),
                        alert: a,
                        new: false,
                        steps: vec![step],
                        live: Some("alert.updated".into()),
                        audit: None,
                    }
                } else {
                    AlertChange {
                        notices: Vec::new(),
                        alert: a,
                        new: false,
                        steps: vec![],
                        live: Some("alert.updated".into()),
                        audit: None,
                    }
                }
            }
            (Outcome::Still(value), Some(mut a)) => {
                let last = self.written.lock().unwrap_or_else(poisoned).get(&a.id).copied();
                let peak = a.peak.is_none_or(|p| p < *value);
                self.moved(&mut a, Some(*value), at);
                if !peak && last.is_some_and(|t| at.duration_since(t) < STILL_EVERY) {
                    // Kept in memory only: the next write carries it.
                    self.open.lock().unwrap_or_else(poisoned).insert(a.dedup_key.clone(), a);
                    return Ok(());
                }
                AlertChange {
                    notices: Vec::new(),
                    alert: a,
                    new: false,
                    steps: vec![],
                    live: Some("alert.updated".into()),
                    audit: None,
                }
            }
            (Outcome::Clear, Some(mut a)) => {
                a.condition_active = false;
                a.updated_at = at;
                if rule.auto_resolve {
                    let from = a.state;
                    a.state = AlertState::Resolved;
                    a.closed_at = Some(at);
                    let step = step(&a, "auto_resolve", "system", from, a.value, "");
                    AlertChange {
                        notices: Vec::new(),
                        alert: a,
                        new: false,
                        steps: vec![step],
                        live: Some("alert.resolved".into()),
                        audit: None,
                    }
                } else {
                    let step = step(&a, "clear", "system", a.state, a.value, "");
                    AlertChange {
                        notices: Vec::new(),
                        alert: a,
                        new: false,
                        steps: vec![step],
                        live: Some("alert.updated".into()),
                        audit: None,
                    }
                }
            }
            // A dismissed alert's condition goes on or clears: nothing to tell.
            (Outcome::Still(_) | Outcome::Clear, None) | (Outcome::Quiet, _) => return Ok(()),
        };
        self.write(change).await.map(|_| ())
    }

    fn moved(&self, a: &mut Alert, value: Option<f64>, at: Timestamp) {
        if let Some(v) = value {
            a.value = Some(v);
            a.peak = Some(a.peak.map_or(v, |p| p.max(v)));
        }
        a.updated_at = at;
    }

    async fn new_alert(
        &self,
        rule: &Rule,
        s: &Signal,
        value: Option<f64>,
        at: Timestamp,
    ) -> CoreResult<AlertChange> {
        let entity = self.hub.entities_now(std::slice::from_ref(&s.entity_id)).await?;
        let entity = entity.get(&s.entity_id);
        let place = self.hub.place_of(&s.entity_id).unwrap_or_default();
        let alert = Alert {
            id: uuid::Uuid::new_v4().to_string(),
            number: 0,
            dedup_key: s.dedup_key.clone(),
            rule_id: Some(rule.id.clone()),
            title: rule.name.clone(),
            kind: rule.alert_kind.clone(),
            severity: rule.severity,
            state: AlertState::New,
            source: "rule".into(),
            entity_id: Some(s.entity_id.clone()),
            entity_type: Some(rule.scope.entity_type.clone()),
            units: place.units,
            location: entity.and_then(point_of),
            attribute: rule.condition.attribute().map(str::to_string),
            value,
            peak: value,
            raised_at: at,
            updated_at: at,
            occurrences: 1,
            condition_active: true,
            notify: rule.notify.clone(),
            forwarded_to: None,
            forward_due: None,
            incident_id: None,
            reason: None,
            acknowledged_at: None,
            verified_at: None,
            closed_at: None,
            version: 1,
        };
        let first = step(&alert, "raise", "system", AlertState::New, value, "");
        let notices = self.notices_for(&alert).await?;
        Ok(AlertChange {
            notices,
            alert,
            new: true,
            steps: vec![first],
            live: Some("alert.raised".into()),
            audit: None,
        })
    }

    /// Writes a change, keeps the open list and tells the stream.
    async fn write(&self, mut change: AlertChange) -> CoreResult<Alert> {
        if !change.new {
            change.alert.version += 1;
        }
        let (alert, event) = self.repo.write_alert(&change).await?;
        {
            let mut open = self.open.lock().unwrap_or_else(poisoned);
            if alert.state.is_open() {
                open.insert(alert.dedup_key.clone(), alert.clone());
            } else if open.get(&alert.dedup_key).is_some_and(|a| a.id == alert.id) {
                // Only this alert leaves: a note on an older, closed one leaves the open one be.
                open.remove(&alert.dedup_key);
            }
        }
        {
            let mut written = self.written.lock().unwrap_or_else(poisoned);
            if alert.state.is_open() {
                written.insert(alert.id.clone(), alert.updated_at);
            } else {
                written.remove(&alert.id);
            }
        }
        if let Some(e) = &event {
            metrics::counter!("haidang_alert_events_total", "kind" => e.kind.clone()).increment(1);
        }
        self.told(event);
        Ok(alert)
    }

    /// Alerts other systems send as Smart Data Models `Alert` entities (camera analytics, a
    /// neighbouring province's platform): each entity is one alert, updated as it changes.
    pub(crate) async fn external(&self, entity_id: &str) -> CoreResult<()> {
        let found = self.hub.entities_now(&[entity_id.to_string()]).await?;
        let Some(e) = found.get(entity_id) else { return Ok(()) };
        let core = ActiveContext::core();
        let text = |name: &str| -> Option<String> {
            let i = e.attrs.get(&core.expand(name))?.first()?;
            match &i.content {
                Value::String(s) => Some(s.clone()),
                Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_string),
                _ => None,
            }
        };
        // SDM's five levels onto CAP's four.
        let severity = match text("severity").as_deref() {
            Some("critical") => Severity::Extreme,
            Some("high") => Severity::Severe,
            Some("medium") => Severity::Moderate,
            _ => Severity::Minor,
        };
        let kind = text("subCategory").or_else(|| text("category")).unwrap_or_else(|| "external".into());
        let title = text("description").unwrap_or_else(|| kind.clone());
        let source = text("alertSource");
        let key = format!("external:{entity_id}");
        let at = now();
        let existing = self.open.lock().unwrap_or_else(poisoned).get(&key).cloned();
        let change = match existing {
            Some(mut a) => {
                if a.title == title && a.severity == severity && a.kind == kind {
                    return Ok(());
                }
                a.title = title;
                a.severity = severity;
                a.kind = kind;
                a.updated_at = at;
                AlertChange {
                    notices: Vec::new(),
                    alert: a,
                    new: false,
                    steps: vec![],
                    live: Some("alert.updated".into()),
                    audit: None,
                }
            }
            None => {
                let alert = Alert {
                    id: uuid::Uuid::new_v4().to_string(),
                    number: 0,
                    dedup_key: key,
                    rule_id: None,
                    title,
                    kind,
                    severity,
                    state: AlertState::New,
                    source: source.map_or_else(|| "external".to_string(), |s| format!("external:{s}")),
                    entity_id: Some(entity_id.to_string()),
                    entity_type: Some("Alert".into()),
                    units: self.hub.place_of(entity_id).map(|p| p.units).unwrap_or_default(),
                    location: point_of(e),
                    attribute: None,
                    value: None,
                    peak: None,
                    raised_at: at,
                    updated_at: at,
                    occurrences: 1,
                    condition_active: true,
                    notify: Vec::new(),
                    forwarded_to: None,
                    forward_due: None,
                    incident_id: None,
                    reason: None,
                    acknowledged_at: None,
                    verified_at: None,
                    closed_at: None,
                    version: 1,
                };
                let first = step(&alert, "raise", alert.source.as_str(), AlertState::New, None, "");
                AlertChange {
                    notices: Vec::new(),
                    alert,
                    new: true,
                    steps: vec![first],
                    live: Some("alert.raised".into()),
                    audit: None,
                }
            }
        };
        self.write(change).await.map(|_| ())
    }

    // ---- the operators' side ----------------------------------------------------------------

    fn may_see(by: &Subject, alert: &Alert) -> bool {
        by.can_everywhere(Action::ViewAlerts)
            || alert.forwarded_to.as_deref().is_some_and(|org| by.can(Action::ViewAlerts, Some(org)))
    }

    /// Whether `by` may see a live event.
    pub fn may_see_event(by: &Subject, e: &LiveEvent) -> bool {
        by.can_everywhere(Action::ViewAlerts)
            || e.org_ids.iter().any(|org| by.can(Action::ViewAlerts, Some(org)))
    }

    pub async fn list(&self, by: &Subject, mut filter: AlertFilter) -> CoreResult<Vec<Alert>> {
        by.require(Action::ViewAlerts, Some(&by.org_id))?;
        if !by.can_everywhere(Action::ViewAlerts) {
            filter.forwarded_to = Some(by.org_id.clone());
        }
        self.repo.list_alerts(&filter).await
    }

    /// By id, or by number ("A-12" or "12").
    pub async fn get(&self, by: &Subject, key: &str) -> CoreResult<Alert> {
        let number = key.trim_start_matches("A-").parse::<i64>().ok();
        let found = match number {
            Some(n) => self.repo.alert_by_number(n).await?,
            None => self.repo.get_alert(key).await?,
        };
        match found {
            Some(a) if Self::may_see(by, &a) => Ok(a),
            _ => Err(CoreError::NotFound { what: format!("alert '{key}'") }),
        }
    }

    pub async fn steps(&self, by: &Subject, key: &str) -> CoreResult<Vec<AlertStep>> {
        let a = self.get(by, key).await?;
        self.repo.alert_steps(&a.id).await
    }

    pub async fn step(&self, by: &Subject, key: &str, req: StepRequest) -> CoreResult<Alert> {
        let action = AlertAction::parse(&req.action)
            .ok_or_else(|| CoreError::validation("action", format!("no step '{}'", req.action)))?;
        let mut a = self.get(by, key).await?;
        match action {
            // The agency it was forwarded to may add remarks and say it is handled.
            AlertAction::Note | AlertAction::Resolve
                if a.forwarded_to.as_deref() == Some(by.org_id.as_str()) =>
            {
                by.require(Action::HandleAssignedWork, Some(&by.org_id))?
            }
            _ => by.require(Action::HandleAlerts, None)?,
        }
        if let Some(s) = req.expected_state.filter(|s| *s != a.state) {
            return Err(CoreError::Conflict(format!(
                "alert A-{} is {} now, not {}; reload it",
                a.number,
                a.state.as_str(),
                s.as_str()
            )));
        }
        if let Some(v) = req.version.filter(|v| *v != a.version) {
            return Err(CoreError::Conflict(format!(
                "alert A-{} is at version {}, not {v}; reload it",
                a.number, a.version
            )));
        }
        let from = a.state;
        let to = action.next(from)?;
        let at = now();
        let note = req.note.trim().to_string();
        match action {
            AlertAction::Dismiss | AlertAction::Note if note.is_empty() => {
                let what = if action == AlertAction::Dismiss {
                    "the reason it is a false alarm"
                } else {
                    "the remark"
                };
                return Err(CoreError::validation("note", format!("{what} is required")));
            }
            AlertAction::Acknowledge => a.acknowledged_at = Some(at),
            AlertAction::Verify => {
                a.acknowledged_at.get_or_insert(at);
                a.verified_at = Some(at);
            }
            AlertAction::Dismiss => a.reason = Some(note.clone()),
            AlertAction::Forward => {
                let org_key =
                    req.org.as_deref().filter(|o| !o.is_empty()).ok_or_else(|| {
                        CoreError::validation("org", "the agency to forward to is required")
                    })?;
                let org = crate::orgs::resolve_org(self.repo.as_ref(), org_key)
                    .await?
                    .ok_or_else(|| CoreError::validation("org", format!("no organisation '{org_key}'")))?;
                let due = req.due.ok_or_else(|| CoreError::validation("due", "the deadline is required"))?;
                if due <= at {
                    return Err(CoreError::validation("due", "the deadline must be in the future"));
                }
                a.forwarded_to = Some(org.id);
                a.forward_due = Some(due);
            }
            AlertAction::Incident => {
                let id = req
                    .incident_id
                    .clone()
                    .filter(|i| !i.is_empty())
                    .ok_or_else(|| CoreError::validation("incident_id", "the incident is required"))?;
                a.incident_id = Some(id);
            }
            _ => {}
        }
        if !to.is_open() {
            a.closed_at = Some(at);
        }
        a.state = to;
        a.updated_at = at;
        let s = step(&a, action.as_str(), &by.username, from, a.value, &note);
        let audit = AuditEvent::new(
            &by.actor(),
            &format!("alert.{}", action.as_str()),
            Some(&a.id),
            AuditOutcome::Success,
        )
        .with_detail(format!("A-{} {} → {}", a.number, from.as_str(), to.as_str()));
        self.write(AlertChange {
            notices: Vec::new(),
            alert: a,
            new: false,
            steps: vec![s],
            live: Some("alert.step".into()),
            audit: Some(audit),
        })
        .await
    }
}

fn step(a: &Alert, action: &str, actor: &str, from: AlertState, value: Option<f64>, note: &str) -> AlertStep {
    AlertStep {
        alert_id: a.id.clone(),
        pos: 0,
        at: a.updated_at,
        action: action.to_string(),
        actor: actor.to_string(),
        from,
        to: a.state,
        note: note.to_string(),
        value,
    }
}
