//! What a connector hands the hub: a batch of messages, each mapped to an entity reading and
//! written in one group (or kept as a dead letter with the reason). `take` answers only once
//! every reading and every dead letter of the batch is committed, so the connector may then
//! acknowledge the messages; when it fails, nothing may be acknowledged and the batch is taken
//! again later (a repeat is written once: see `EntityOp::Ingest`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::Serialize;

use super::ingest::{topic_matches, DeadLetter, Mapping};
use super::ops::EntityOp;
use super::HubService;
use crate::accounts::{AccountStatus, Action, Subject};
use crate::error::{CoreError, CoreResult};
use crate::repo::Repositories;
use crate::time::now;

/// One message as a connector received it.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// What a connector has done, for the console and the metrics.
#[derive(Debug, Default)]
pub struct ConnectorStatus {
    pub name: String,
    /// The broker, password hidden.
    pub broker: String,
    pub topics: Vec<String>,
    pub connected: AtomicBool,
    pub received: AtomicU64,
    pub stored: AtomicU64,
    pub dead_letters: AtomicU64,
    pub last_message_at: Mutex<Option<Timestamp>>,
    pub last_error: Mutex<Option<(Timestamp, String)>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectorReport {
    pub name: String,
    pub broker: String,
    pub topics: Vec<String>,
    pub connected: bool,
    pub received: u64,
    pub stored: u64,
    pub dead_letters: u64,
    pub last_message_at: Option<Timestamp>,
    pub last_error_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

fn locked<T: Clone>(m: &Mutex<T>) -> T {
    m.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl ConnectorStatus {
    pub fn new(name: &str, broker: &str, topics: Vec<String>) -> ConnectorStatus {
        ConnectorStatus { name: name.to_string(), broker: broker.to_string(), topics, ..Default::default() }
    }

    pub fn failed(&self, message: impl Into<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some((now(), message.into()));
    }

    pub fn report(&self) -> ConnectorReport {
        let error = locked(&self.last_error);
        ConnectorReport {
            name: self.name.clone(),
            broker: self.broker.clone(),
            topics: self.topics.clone(),
            connected: self.connected.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            last_message_at: locked(&self.last_message_at),
            last_error_at: error.as_ref().map(|(t, _)| *t),
            last_error: error.map(|(_, m)| m),
        }
    }
}

/// What a batch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Taken {
    pub stored: usize,
    pub dead_letters: usize,
}

pub struct Ingestor {
    hub: Arc<HubService>,
    repo: Arc<dyn Repositories>,
    mappings: Vec<Mapping>,
    /// The account whose organisation owns what this connector writes.
    account: String,
    subject: Mutex<Option<(Subject, std::time::Instant)>>,
    pub status: Arc<ConnectorStatus>,
}

/// How long the account's state is trusted before it is read again (a locked account stops
/// the connector's writes within this time).
const ACCOUNT_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Ingestor {
    pub fn new(
        hub: Arc<HubService>,
        repo: Arc<dyn Repositories>,
        mappings: Vec<Mapping>,
        account: String,
        status: Arc<ConnectorStatus>,
    ) -> Ingestor {
        Ingestor { hub, repo, mappings, account, subject: Mutex::new(None), status }
    }

    /// The connector's account, as it stands: active and allowed to submit data.
    async fn subject(&self) -> CoreResult<Subject> {
        if let Some((s, at)) = locked(&self.subject) {
            if at.elapsed() < ACCOUNT_TTL {
                return Ok(s);
            }
        }
        let user = self
            .repo
            .get_user_by_username(&self.account)
            .await?
            .filter(|u| u.status == AccountStatus::Active)
            .ok_or_else(|| {
                CoreError::Forbidden(format!("the connector's account {} is not active", self.account))
            })?;
        let subject = Subject::of_user(&user);
        if !subject.can(Action::SubmitData, Some(&subject.org_id)) {
            return Err(CoreError::Forbidden(format!(
                "the connector's account {} may not submit data",
                self.account
            )));
        }
        *self.subject.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((subject.clone(), std::time::Instant::now()));
        Ok(subject)
    }

    fn mapping(&self, topic: &str) -> Option<&Mapping> {
        self.mappings.iter().find(|m| topic_matches(&m.filter, topic))
    }

    /// Writes the batch: each message a reading, or a dead letter saying why not. Answers once
    /// all of it is committed; an error means none of it may be acknowledged.
    pub async fn take(&self, batch: &[Message]) -> CoreResult<Taken> {
        self.begin(batch).await?.finish(self, batch).await
    }

    /// Maps the batch and queues its readings with the hub's writer, in the order of the calls:
    /// batches begun one after another are written in that order, however their answers are
    /// awaited.
    pub async fn begin(&self, batch: &[Message]) -> CoreResult<Begun> {
        let at = now();
        let subject = self.subject().await?;
        let context = super::contexts::core_arc();
        let mut ops = Vec::new();
        let mut sources = Vec::new();
        let mut dead = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            let mapped = match self.mapping(&m.topic) {
                None => Err(format!("no mapping takes the topic {}", m.topic)),
                Some(mapping) => mapping.entity(&m.topic, &m.payload),
            };
            match mapped {
                Ok(e) => {
                    ops.push((EntityOp::Ingest(e.map_names(&|n| context.expand(n))), context.clone()));
                    sources.push(i);
                }
                Err(why) => dead.push(DeadLetter::new(&self.status.name, &m.topic, &m.payload, why, at)),
            }
        }
        let submitted = self
            .hub
            .submit(&subject, "entity.ingest", ops)
            .await
            .map_err(|e| CoreError::Storage(format!("the hub did not take the batch: {e}")))?;
        Ok(Begun { submitted, sources, dead, at })
    }
}

/// A batch queued with the writer: which message each reading came from, and the dead letters
/// its mapping made.
pub struct Begun {
    submitted: super::service::Submitted,
    sources: Vec<usize>,
    dead: Vec<DeadLetter>,
    at: Timestamp,
}

impl Begun {
    /// Waits for the batch's commit, keeps the refused readings as dead letters, and answers
    /// once those are committed too.
    pub async fn finish(self, ingestor: &Ingestor, batch: &[Message]) -> CoreResult<Taken> {
        let Begun { submitted, sources, mut dead, at } = self;
        let results = submitted
            .outcome()
            .await
            .map_err(|e| CoreError::Storage(format!("the hub did not take the batch: {e}")))?;
        let mut stored = 0;
        for (result, i) in results.into_iter().zip(sources) {
            match (result, batch.get(i)) {
                (Ok(_), _) => stored += 1,
                (Err(e), Some(m)) => {
                    dead.push(DeadLetter::new(&ingestor.status.name, &m.topic, &m.payload, e.detail, at))
                }
                (Err(_), None) => {}
            }
        }
        ingestor.repo.add_dead_letters(&dead).await?;
        let taken = Taken { stored, dead_letters: dead.len() };
        let status = &ingestor.status;
        status.stored.fetch_add(stored as u64, Ordering::Relaxed);
        status.dead_letters.fetch_add(dead.len() as u64, Ordering::Relaxed);
        metrics::counter!("haidang_ingest_messages_total", "connector" => status.name.clone(), "result" => "stored")
            .increment(stored as u64);
        metrics::counter!("haidang_ingest_messages_total", "connector" => status.name.clone(), "result" => "dead_letter")
            .increment(dead.len() as u64);
        Ok(taken)
    }
}

/// The connectors as the console sees them: their state and what they could not take.
pub struct IngestService {
    repo: Arc<dyn Repositories>,
    connectors: Vec<Arc<ConnectorStatus>>,
}

/// Reading the edge's state needs the console (people, not machines) and the right to read
/// the hub: a dead letter holds an agency's data.
/// The raw messages of every feed (drafts and special-request ones among them) are the
/// centre's to see, as the datasets they feed would be.
fn may_watch(by: &Subject) -> CoreResult<()> {
    by.require(Action::ViewConsole, None)?;
    by.require(Action::ReadAllData, None)
}

impl IngestService {
    pub fn new(repo: Arc<dyn Repositories>, connectors: Vec<Arc<ConnectorStatus>>) -> IngestService {
        IngestService { repo, connectors }
    }

    /// Each connector's state, with how many dead letters it has kept.
    pub async fn connectors(&self, by: &Subject) -> CoreResult<Vec<(ConnectorReport, i64)>> {
        may_watch(by)?;
        let counts = self.repo.dead_letter_counts().await?;
        Ok(self
            .connectors
            .iter()
            .map(|c| {
                let kept = counts.iter().find(|(n, _)| *n == c.name).map(|(_, k)| *k).unwrap_or(0);
                (c.report(), kept)
            })
            .collect())
    }

    /// Dead letters, newest first, of one connector or all, before a sequence number.
    pub async fn dead_letters(
        &self,
        by: &Subject,
        source: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> CoreResult<Vec<DeadLetter>> {
        may_watch(by)?;
        self.repo.dead_letters(source, before, limit).await
    }

    /// Removes dead letters older than `keep` (the daily job).
    pub async fn prune(&self, keep: jiff::SignedDuration) -> CoreResult<u64> {
        let before = now().checked_sub(keep).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.repo.prune_dead_letters(before).await
    }
}
