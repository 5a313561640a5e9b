//! From the entity outbox to the notification outbox: every committed change after the
//! notifier's cursor is matched against the subscriptions, and what they want is queued with
//! the cursor's move in one transaction. A crash before that commit matches the same changes
//! again; after it, the delivery has them. Nothing here runs on the write path.
//!
//! Each notified entity carries its state at the change: the attributes the change wrote (as
//! the outbox keeps them) over the entity as it is now. So a lagging notifier still sends the
//! flood gauge's peak, not only the level that followed it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::matcher::{ChangeView, Compiled, Wanted};
use super::service::SubscriptionService;
use crate::accounts::{AccountStatus, Action, Subject};
use crate::error::CoreResult;
use crate::hub::entity::{parse_entity, Entity};
use crate::hub::ops::NGSI_LD_NULL;
use crate::hub::writer::read;
use crate::hub::EntityQuery;
use crate::repo::{EntityChangeRecord, NewNotification};
use crate::time::now;

/// The notifier's position in the entity outbox (in event_cursors).
pub const CURSOR: &str = "subscriptions";
const PAGE: i64 = 2000;
/// Pages matched in one run, at most.
const PAGES_PER_RUN: usize = 10;
/// A cursor moved past changes nobody wanted is saved at most this often.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// A throttled notification takes more entities only while it is this far from due, so the
/// delivery never sends a row while it is being rewritten (and a rewrite it missed is resent).
const MERGE_MARGIN: SignedDuration = SignedDuration::from_millis(500);
/// How long an owner's account status is trusted before it is read again.
const OWNER_TTL: Duration = Duration::from_secs(10);
/// A periodic notification holds at most this many entities.
const PERIODIC_CAP: usize = 10_000;

/// A throttled subscription's notification that waits for its time.
struct Throttled {
    seq: i64,
    due_at: Timestamp,
    entities: Vec<(String, Value)>,
}

pub struct Notifier {
    svc: Arc<SubscriptionService>,
    cursor: Option<i64>,
    unsaved: bool,
    saved: Option<Instant>,
    throttled: HashMap<String, Throttled>,
    periodic_next: HashMap<String, Timestamp>,
    /// When each throttled subscription's last notification was due: the next waits its time.
    last_due: HashMap<String, Timestamp>,
    owners: HashMap<String, (Option<Subject>, Instant)>,
}

/// What one page of changes gives one subscription: batches of entities, each entity at most
/// once a batch (a second state of the same entity starts the next batch, so order holds).
struct Found {
    sub: Arc<Compiled>,
    batches: Vec<Vec<(String, Value)>>,
}

impl Found {
    fn add(&mut self, id: &str, body: Value) {
        match self.batches.last_mut() {
            Some(last) if !last.iter().any(|(i, _)| i == id) => last.push((id.to_string(), body)),
            _ => self.batches.push(vec![(id.to_string(), body)]),
        }
    }
}

fn data_text(entities: &[(String, Value)]) -> String {
    Value::Array(entities.iter().map(|(_, v)| v.clone()).collect()).to_string()
}

/// The entity a change left: what it wrote over the entity as it is now (or alone, when the
/// entity has gone since).
fn state_at_change(record: &EntityChangeRecord, current: Option<&Entity>) -> Option<Entity> {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(&record.change.body) else { return None };
    let removed: Vec<String> = body
        .iter()
        .filter(|(k, v)| k.as_str() != "id" && v.as_str() == Some(NGSI_LD_NULL))
        .map(|(k, _)| k.clone())
        .chain(body.get("deletedAttribute").and_then(Value::as_str).map(str::to_string))
        .collect();
    body.retain(|k, v| k != "deletedAttribute" && v.as_str() != Some(NGSI_LD_NULL));
    if !body.contains_key("type") {
        let types = current.map(|c| c.types.clone()).unwrap_or_default();
        if types.is_empty() {
            return None;
        }
        body.insert("type".into(), Value::Array(types.into_iter().map(Value::String).collect()));
    }
    let written = parse_entity(&Value::Object(body)).ok()?;
    let whole = matches!(record.change.op.as_str(), "create" | "replace");
    let mut state = match current {
        Some(c) if !whole => c.clone(),
        Some(c) => Entity { attrs: Default::default(), ..c.clone() },
        None => Entity { attrs: Default::default(), ..written.clone() },
    };
    if state.types.is_empty() {
        state.types = written.types.clone();
    }
    for (name, mut instances) in written.attrs {
        let before = state.attrs.get(&name);
        for i in instances.iter_mut() {
            let prev = before.and_then(|b| b.iter().find(|o| o.dataset_id == i.dataset_id));
            i.created_at = prev.and_then(|p| p.created_at).or(Some(record.change.at));
            i.modified_at = Some(record.change.at);
        }
        state.attrs.insert(name, instances);
    }
    for name in removed {
        state.attrs.remove(&name);
    }
    state.modified_at = Some(record.change.at);
    Some(state)
}

impl Notifier {
    pub fn new(svc: Arc<SubscriptionService>) -> Notifier {
        Notifier {
            svc,
            cursor: None,
            unsaved: false,
            saved: None,
            throttled: HashMap::new(),
            periodic_next: HashMap::new(),
            last_due: HashMap::new(),
            owners: HashMap::new(),
        }
    }

    /// Matches every change committed since the cursor and the periodic subscriptions due;
    /// answers how many notifications were queued.
    pub async fn run_once(&mut self) -> CoreResult<usize> {
        self.svc.retry_broken().await;
        let queued = self.catch_up().await? + self.periodic().await?;
        if queued > 0 {
            self.svc.queued.notify_one();
        }
        self.save_cursor(false).await?;
        Ok(queued)
    }

    /// Saves a cursor moved past unwanted changes (at once with `force`, as at shutdown).
    pub async fn save_cursor(&mut self, force: bool) -> CoreResult<()> {
        let due = self.saved.is_none_or(|t| t.elapsed() >= SAVE_EVERY);
        if let (true, true, Some(seq)) = (self.unsaved, force || due, self.cursor) {
            self.svc.repo.set_event_cursor(CURSOR, seq).await?;
            self.unsaved = false;
            self.saved = Some(Instant::now());
        }
        Ok(())
    }

    async fn catch_up(&mut self) -> CoreResult<usize> {
        let mut cursor = match self.cursor {
            Some(c) => c,
            None => self.svc.repo.event_cursor(CURSOR).await?,
        };
        self.cursor = Some(cursor);
        // The head is read before the subscriptions are looked at: a subscription made after
        // that look hears of changes after it, which are past the head.
        let head = self.svc.repo.entity_change_head().await?;
        if !read(&self.svc.registry).has_listeners(now()) {
            // Nobody listens: skip what was written (a subscription made later hears only of
            // changes after it anyway).
            if head > cursor {
                self.cursor = Some(head);
                self.unsaved = true;
            }
            return Ok(0);
        }
        let mut queued = 0;
        // A run ends after a few pages, so periodic subscriptions and the cursor's save are
        // not held up behind a long backlog.
        for _ in 0..PAGES_PER_RUN {
            let at = now();
            let page = self.svc.repo.entity_changes(cursor, PAGE).await?;
            let Some(last) = page.last().map(|r| r.seq) else { break };
            let found = self.match_page(&page, at).await?;
            let items = self.notifications_of(found, at);
            if items.is_empty() {
                self.unsaved = true;
            } else {
                let rows: Vec<NewNotification> = items.iter().map(|(_, n)| n.clone()).collect();
                let seqs = self.svc.repo.enqueue_notifications(&rows, Some((CURSOR, last))).await?;
                self.remember_throttled(&items, &seqs);
                queued += rows.len();
                self.unsaved = false;
                self.saved = Some(Instant::now());
            }
            cursor = last;
            self.cursor = Some(last);
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        Ok(queued)
    }

    /// Whether the last run stopped with changes left (the caller runs again at once).
    pub async fn behind(&self) -> CoreResult<bool> {
        let head = self.svc.repo.entity_change_head().await?;
        Ok(self.cursor.is_some_and(|c| c < head))
    }

    /// The subscriptions that want each change of the page, with the entities to send.
    async fn match_page(&mut self, page: &[EntityChangeRecord], at: Timestamp) -> CoreResult<Vec<Found>> {
        let mut hits: Vec<(usize, ChangeView, Arc<Compiled>, Wanted)> = Vec::new();
        {
            let registry = read(&self.svc.registry);
            for (i, record) in page.iter().enumerate() {
                let Some(view) = ChangeView::of(record) else { continue };
                for sub in registry.candidates(&view.entity_id, &view.types) {
                    if !sub.listens(at) {
                        continue;
                    }
                    if let Some(w) = sub.wants(&view) {
                        hits.push((i, view.clone(), sub, w));
                    }
                }
            }
        }
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        // The entities as they are now, for the attributes an update did not write.
        let mut ids: Vec<String> = hits
            .iter()
            .filter(|(_, v, _, w)| *w == Wanted::State && v.op == "update")
            .map(|(_, v, _, _)| v.entity_id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let current = if ids.is_empty() { HashMap::new() } else { self.svc.hub.entities_now(&ids).await? };
        let mut found: Vec<Found> = Vec::new();
        let mut states: HashMap<usize, Option<Entity>> = HashMap::new();
        for (i, view, sub, wanted) in hits {
            let Some(owner) = self.owner(&sub).await? else { continue };
            // Only what the owner may read: nothing of a draft dataset (held back until it is
            // approved) nor of a special-request one the owner was not granted.
            if !self.svc.hub.may_hear_of(&owner, &view.entity_id, &view.types) {
                continue;
            }
            let body = match wanted {
                Wanted::Deleted => sub.render_deleted(&view),
                Wanted::State => {
                    let state = states.entry(i).or_insert_with(|| {
                        page.get(i).and_then(|r| state_at_change(r, current.get(&view.entity_id)))
                    });
                    match state {
                        Some(e) if sub.matches(e) => sub.render_entity(e),
                        _ => continue,
                    }
                }
            };
            match found.iter_mut().find(|f| Arc::ptr_eq(&f.sub, &sub)) {
                Some(f) => f.add(&view.entity_id, body),
                None => {
                    let mut f = Found { sub, batches: Vec::new() };
                    f.add(&view.entity_id, body);
                    found.push(f);
                }
            }
        }
        Ok(found)
    }

    /// The rows to queue: one per batch, or for a throttled subscription one that waits for
    /// its time (rewritten with what else arrives meanwhile).
    fn notifications_of(&mut self, found: Vec<Found>, at: Timestamp) -> Vec<(String, NewNotification)> {
        let mut out = Vec::new();
        self.throttled.retain(|_, t| t.due_at > at);
        for f in found {
            let id = f.sub.id().to_string();
            let Some(every) = f.sub.spec.throttling else {
                for batch in f.batches {
                    let n = NewNotification {
                        subscription_id: id.clone(),
                        data: data_text(&batch),
                        due_at: at,
                        replace_seq: None,
                        track: false,
                    };
                    out.push((id.clone(), n));
                }
                continue;
            };
            let waiting = self.throttled.get(&id).filter(|t| at + MERGE_MARGIN < t.due_at);
            let (mut entities, due_at, replace_seq) = match waiting {
                Some(t) => (t.entities.clone(), t.due_at, Some(t.seq)),
                None => {
                    let last = self.last_due.get(&id);
                    let due = last.map(|l| *l + every).filter(|d| *d > at).unwrap_or(at);
                    (Vec::new(), due, None)
                }
            };
            for (eid, body) in f.batches.into_iter().flatten() {
                match entities.iter_mut().find(|(i, _)| *i == eid) {
                    Some(slot) => slot.1 = body,
                    None => entities.push((eid, body)),
                }
            }
            self.last_due.insert(id.clone(), due_at);
            let n = NewNotification {
                subscription_id: id.clone(),
                data: data_text(&entities),
                due_at,
                replace_seq,
                track: true,
            };
            self.throttled.insert(id.clone(), Throttled { seq: replace_seq.unwrap_or(0), due_at, entities });
            out.push((id, n));
        }
        out
    }

    fn remember_throttled(&mut self, items: &[(String, NewNotification)], seqs: &[i64]) {
        for ((id, _), seq) in items.iter().zip(seqs) {
            if let Some(t) = self.throttled.get_mut(id) {
                t.seq = *seq;
            }
        }
    }

    /// A subscription notifies only while its owner's account is active and may read the hub.
    async fn owner(&mut self, sub: &Compiled) -> CoreResult<Option<Subject>> {
        let key = format!("{}/{}", sub.owner_user, sub.owner_token.as_deref().unwrap_or(""));
        if let Some((subject, at)) = self.owners.get(&key) {
            if at.elapsed() < OWNER_TTL {
                return Ok(subject.clone());
            }
        }
        let user = self.svc.repo.get_user(&sub.owner_user).await?;
        // Made with a token: that token must still be valid, or its grants would outlive it.
        if let Some(token) = &sub.owner_token {
            let at = now();
            let valid = self
                .svc
                .repo
                .get_token(token)
                .await?
                .is_some_and(|t| t.revoked_at.is_none() && at < t.expires_at);
            if !valid {
                tracing::warn!(
                    subscription = sub.id(),
                    "the token it was made with is revoked or expired; nothing is notified"
                );
                self.owners.insert(key, (None, Instant::now()));
                return Ok(None);
            }
        }
        let subject = user
            .filter(|u| u.status == AccountStatus::Active)
            .map(|u| Subject { token_id: sub.owner_token.clone(), ..Subject::of_user(&u) });
        let subject = subject.filter(|s| s.can(Action::ReadData, None));
        if subject.is_none() {
            tracing::warn!(subscription = sub.id(), "the owner's account is not active; nothing is notified");
        }
        self.owners.insert(key, (subject.clone(), Instant::now()));
        Ok(subject)
    }

    /// Periodic subscriptions (timeInterval): every matching entity, once per interval, the
    /// first at once.
    async fn periodic(&mut self) -> CoreResult<usize> {
        let at = now();
        let due: Vec<Arc<Compiled>> = read(&self.svc.registry)
            .all()
            .into_iter()
            .filter(|s| s.is_periodic() && s.listens(at))
            .filter(|s| self.periodic_next.get(s.id()).is_none_or(|next| *next <= at))
            .collect();
        self.periodic_next.retain(|id, _| read(&self.svc.registry).get(id).is_some());
        let mut items = Vec::new();
        for sub in due {
            let every = sub.spec.time_interval.unwrap_or(SignedDuration::from_secs(60));
            self.periodic_next.insert(sub.id().to_string(), at + every);
            let Some(owner) = self.owner(&sub).await? else { continue };
            let entities = self.matching_now(&sub, &owner).await;
            if entities.is_empty() {
                continue;
            }
            let body: Vec<(String, Value)> =
                entities.iter().map(|e| (e.id.clone(), sub.render_entity(e))).collect();
            items.push(NewNotification {
                subscription_id: sub.id().to_string(),
                data: data_text(&body),
                due_at: at,
                replace_seq: None,
                track: false,
            });
        }
        if items.is_empty() {
            return Ok(0);
        }
        self.svc.repo.enqueue_notifications(&items, None).await?;
        Ok(items.len())
    }

    /// Every entity a periodic subscription selects now, as its owner may read them.
    async fn matching_now(&self, sub: &Compiled, owner: &Subject) -> Vec<Entity> {
        let limit = self.svc.hub.options().max_limit;
        let mut out: Vec<Entity> = Vec::new();
        for q in sub.entity_queries() {
            let mut offset = 0;
            loop {
                let query = EntityQuery { limit: Some(limit), offset, ..q.clone() };
                let page = match self.svc.hub.query(owner, &query).await {
                    Ok(p) => p.entities,
                    Err(e) => {
                        tracing::warn!(subscription = sub.id(), error = %e, "a periodic notification's query failed");
                        break;
                    }
                };
                let n = page.len();
                for e in page {
                    if !out.iter().any(|o| o.id == e.id) && sub.matches(&e) {
                        out.push(e);
                    }
                }
                offset += n;
                if n < limit || out.len() >= PERIODIC_CAP {
                    break;
                }
            }
        }
        out.truncate(PERIODIC_CAP);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::EntityChange;
    use serde_json::json;

    const V: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

    fn record(op: &str, body: Value) -> EntityChangeRecord {
        EntityChangeRecord {
            seq: 9,
            change: EntityChange {
                entity_id: "urn:ngsi-ld:RiverGauge:1".into(),
                op: op.into(),
                at: "2026-12-02T01:00:00Z".parse().unwrap(),
                actor: None,
                body: body.to_string(),
            },
        }
    }

    #[test]
    fn a_change_is_notified_as_it_left_the_entity_not_as_the_entity_is_now() {
        let now = parse_entity(&json!({
            "id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
            format!("{V}waterLevel"): {"type": "Property", "value": 2.5},
            format!("{V}status"): {"type": "Property", "value": "normal"}
        }))
        .unwrap();
        // The peak an earlier update wrote, read after a later one.
        let peak = record(
            "update",
            json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
                                           format!("{V}waterLevel"): {"type": "Property", "value": 6.5}}),
        );
        let state = state_at_change(&peak, Some(&now)).unwrap();
        assert_eq!(state.attrs[&format!("{V}waterLevel")][0].content, json!(6.5));
        assert_eq!(state.attrs[&format!("{V}status")][0].content, json!("normal"), "the rest as it is now");

        // A removed attribute is gone from the notified entity.
        let removed = record(
            "update",
            json!({"id": "urn:ngsi-ld:RiverGauge:1", format!("{V}status"): "urn:ngsi-ld:null"}),
        );
        let state = state_at_change(&removed, Some(&now)).unwrap();
        assert!(!state.attrs.contains_key(&format!("{V}status")));
        assert_eq!(state.types, vec![format!("{V}RiverGauge")]);

        // An entity created and deleted since is notified from its change alone.
        let created = record(
            "create",
            json!({"id": "urn:ngsi-ld:RiverGauge:1", "type": format!("{V}RiverGauge"),
                                              format!("{V}waterLevel"): {"type": "Property", "value": 1.0}}),
        );
        let state = state_at_change(&created, None).unwrap();
        assert_eq!(state.attrs.len(), 1);
    }
}
