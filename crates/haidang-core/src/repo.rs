//! The repository traits the store implements, one per capability. Every method that changes
//! something takes the audit event that records it, and the store writes both in one transaction:
//! a change is never kept without its audit record, nor the record without the change.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::accounts::{
    AccountStatus, ApiToken, Credential, Delegation, LifecycleEvent, Session, SessionStage, User,
};
use crate::audit::{AuditEvent, AuditQuery, AuditRecord, ChainHead};
use crate::error::CoreResult;
use crate::orgs::Organisation;
use crate::units::{AdminUnit, UnitKind, UnitSuccession};

#[async_trait]
pub trait UnitRepository: Send + Sync {
    /// Inserts or replaces the given units (by code) and successions, all or nothing.
    async fn upsert_units(
        &self,
        units: &[AdminUnit],
        successions: &[UnitSuccession],
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn list_units(
        &self,
        kind: Option<UnitKind>,
        parent: Option<&str>,
        with_geometry: bool,
    ) -> CoreResult<Vec<AdminUnit>>;
    async fn get_unit(&self, code: &str) -> CoreResult<Option<AdminUnit>>;
    /// Successions where the unit is the new or the old one.
    async fn successions_of(&self, code: &str) -> CoreResult<Vec<UnitSuccession>>;
}

#[async_trait]
pub trait OrgRepository: Send + Sync {
    async fn create_org(&self, org: &Organisation, audit: &AuditEvent) -> CoreResult<()>;
    async fn list_orgs(&self) -> CoreResult<Vec<Organisation>>;
    async fn get_org(&self, id: &str) -> CoreResult<Option<Organisation>>;
    async fn get_org_by_code(&self, code: &str) -> CoreResult<Option<Organisation>>;
}

#[async_trait]
pub trait AccountRepository: Send + Sync {
    async fn create_user(&self, user: &User, event: &LifecycleEvent, audit: &AuditEvent) -> CoreResult<()>;
    async fn get_user(&self, id: &str) -> CoreResult<Option<User>>;
    async fn get_user_by_username(&self, username: &str) -> CoreResult<Option<User>>;
    async fn list_users(&self) -> CoreResult<Vec<User>>;
    /// Records a sign-in attempt's effect on the account together with its audit record.
    async fn record_login(
        &self,
        user_id: &str,
        failed_logins: i64,
        locked_until: Option<Timestamp>,
        last_login_at: Option<Timestamp>,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// Lock, unlock or revoke. Any status but active also ends the user's sessions and tokens.
    async fn set_status(
        &self,
        user_id: &str,
        status: AccountStatus,
        event: &LifecycleEvent,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change: bool,
        event: Option<&LifecycleEvent>,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn set_totp(
        &self,
        user_id: &str,
        secret: Option<&str>,
        enabled: bool,
        audit: Option<&AuditEvent>,
    ) -> CoreResult<()>;
    async fn set_totp_last_step(&self, user_id: &str, step: i64) -> CoreResult<()>;
    async fn lifecycle_events(&self, user_id: &str) -> CoreResult<Vec<LifecycleEvent>>;

    async fn create_session(&self, session: &Session) -> CoreResult<()>;
    /// The session with its user, in one read: it is resolved on every request.
    async fn session_with_user(&self, token_hash: &str) -> CoreResult<Option<Credential<Session>>>;
    async fn touch_session(&self, id: &str, at: Timestamp) -> CoreResult<()>;
    async fn set_session_stage(&self, id: &str, stage: SessionStage) -> CoreResult<()>;
    async fn revoke_session(&self, id: &str, at: Timestamp) -> CoreResult<()>;

    async fn create_token(&self, token: &ApiToken, audit: &AuditEvent) -> CoreResult<()>;
    /// The token with its user, in one read: it is resolved on every request.
    async fn token_with_user(&self, token_hash: &str) -> CoreResult<Option<Credential<ApiToken>>>;
    async fn get_token(&self, id: &str) -> CoreResult<Option<ApiToken>>;
    async fn list_tokens(&self, user_id: Option<&str>) -> CoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, id: &str, at: Timestamp, audit: &AuditEvent) -> CoreResult<()>;
    async fn touch_token(&self, id: &str, at: Timestamp) -> CoreResult<()>;

    async fn create_delegation(&self, delegation: &Delegation, audit: &AuditEvent) -> CoreResult<()>;
    async fn list_delegations(&self) -> CoreResult<Vec<Delegation>>;
    async fn delegations_for(&self, acting_id: &str) -> CoreResult<Vec<Delegation>>;
}

#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// Appends one record (sealed and chained by the store) in its own transaction.
    async fn append_audit(&self, event: &AuditEvent) -> CoreResult<AuditRecord>;
    async fn query_audit(&self, query: &AuditQuery) -> CoreResult<Vec<AuditRecord>>;
    /// Records in sequence order from `after_seq` (exclusive), at most `limit`; for verification.
    async fn audit_page(&self, after_seq: i64, limit: i64) -> CoreResult<Vec<AuditRecord>>;
    async fn audit_record(&self, seq: i64) -> CoreResult<Option<AuditRecord>>;
    /// The head as the database sees it.
    async fn audit_db_head(&self) -> CoreResult<Option<ChainHead>>;
}

/// Where each consumer of the audit trail (the event relay) has got to.
#[async_trait]
pub trait CursorRepository: Send + Sync {
    /// The last audit sequence number handled; 0 before the first.
    async fn event_cursor(&self, name: &str) -> CoreResult<i64>;
    async fn set_event_cursor(&self, name: &str, seq: i64) -> CoreResult<()>;
}

/// The data hub's entities, kept as rows: the body is the normalized entity with expanded names.
#[async_trait]
pub trait EntityRepository: Send + Sync {
    async fn load_entities(&self, ids: &[String]) -> CoreResult<Vec<EntityRow>>;
    /// An entity deleted with its history kept: its id, types and owner (body `{}`), with the
    /// time it was deleted as `modified_at`.
    async fn deleted_entity(&self, id: &str) -> CoreResult<Option<EntityRow>>;
    /// Every entity deleted with its history kept (as `deleted_entity` answers each).
    async fn deleted_entities(&self) -> CoreResult<Vec<EntityRow>>;
    /// Entities in creation order after (created_at, id), at most `limit`: for rebuilding indexes.
    async fn scan_entities(&self, after: Option<(i64, &str)>, limit: i64) -> CoreResult<Vec<EntityRow>>;
    /// Writes a group's rows in one transaction: entity rows, their change records, the
    /// attribute instances they add to the history (the temporal API), the requests' audit
    /// records, the datasets' write counts and the forms the group took in.
    async fn write_entities(&self, set: &WriteSet) -> CoreResult<()>;
    /// Removes the history of entities of `type_iri` older than `before`; answers how many went.
    async fn prune_history(&self, type_iri: &str, before: Timestamp) -> CoreResult<u64>;
    /// One entity's history: instances in time order (newest `last_n` per attribute when set).
    async fn entity_history(&self, filter: &HistoryFilter<'_>) -> CoreResult<Vec<InstanceRow>>;
    /// The instances of one attribute of one entity at exactly this time.
    async fn instances_at(&self, entity_id: &str, attr: &str, at: Timestamp) -> CoreResult<Vec<InstanceRow>>;
    /// Change records after `after_seq`, in order, at most `limit` (the entity outbox).
    async fn entity_changes(&self, after_seq: i64, limit: i64) -> CoreResult<Vec<EntityChangeRecord>>;

    async fn list_entity_schemas(&self) -> CoreResult<Vec<StoredDocument>>;
    async fn put_entity_schema(&self, doc: &StoredDocument, audit: &AuditEvent) -> CoreResult<()>;
    async fn delete_entity_schema(&self, key: &str, audit: &AuditEvent) -> CoreResult<bool>;

    async fn list_jsonld_contexts(&self) -> CoreResult<Vec<StoredDocument>>;
    async fn put_jsonld_context(&self, doc: &StoredDocument, audit: Option<&AuditEvent>) -> CoreResult<()>;
    async fn delete_jsonld_context(&self, key: &str, audit: &AuditEvent) -> CoreResult<bool>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    pub id: String,
    /// Expanded type IRIs.
    pub types: Vec<String>,
    /// The organisation whose account created the entity; only it (and the centre) may change it.
    pub owner_org: Option<String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    /// JSON text of the normalized entity (expanded names, attribute system attributes included).
    pub body: String,
}

/// One instance of an attribute as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    /// Set by the store; its order is the order of writing.
    pub seq: i64,
    pub entity_id: String,
    /// Expanded attribute IRI.
    pub attr: String,
    pub dataset_id: Option<String>,
    /// The instance's time: its observedAt, else when it was written.
    pub at: Timestamp,
    pub created_at: Timestamp,
    /// JSON text of the normalized instance.
    pub body: String,
}

/// Which part of an entity's history to read.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter<'a> {
    pub entity_id: &'a str,
    /// Expanded attribute IRIs; None for all.
    pub attrs: Option<&'a [String]>,
    /// Instances at or after this time.
    pub from: Option<Timestamp>,
    /// Instances before this time.
    pub to: Option<Timestamp>,
    /// Only the newest N of each attribute.
    pub last_n: Option<i64>,
}

/// What one group of the hub's writer commits together.
#[derive(Debug, Clone, Default)]
pub struct WriteSet {
    pub writes: Vec<EntityWrite>,
    pub changes: Vec<EntityChange>,
    pub history: Vec<InstanceRow>,
    pub audits: Vec<AuditEvent>,
    pub counts: Vec<crate::datasets::model::CountRow>,
    pub submissions: Vec<crate::datasets::model::Submission>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntityWrite {
    Put(EntityRow),
    Delete(String),
    /// The entity's history, when deleting an entity deletes it (`hub.delete_history`).
    ForgetHistory(String),
}

/// One accepted change to one entity, published on the bus by the relay.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityChange {
    pub entity_id: String,
    /// "create", "update", "replace", "delete".
    pub op: String,
    pub at: Timestamp,
    pub actor: Option<String>,
    /// JSON text: the attributes written (normalized, expanded names), or "{}" for a delete.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntityChangeRecord {
    pub seq: i64,
    pub change: EntityChange,
}

/// A JSON document kept by key: an entity type's schema or a JSON-LD context.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub key: String,
    /// For contexts, the URL it is known by; for schemas, empty.
    pub url: String,
    /// "hosted" (added through the API), "cached" (fetched), "schema".
    pub kind: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// NGSI-LD subscriptions and the notification outbox: notifications are kept from the moment a
/// change is matched until their endpoint has taken them, so neither a failing endpoint nor a
/// restart loses one.
#[async_trait]
pub trait SubscriptionRepository: Send + Sync {
    async fn list_subscriptions(&self) -> CoreResult<Vec<SubscriptionRow>>;
    async fn get_subscription(&self, id: &str) -> CoreResult<Option<SubscriptionRow>>;
    /// A Conflict when the id is taken.
    async fn insert_subscription(&self, row: &SubscriptionRow, audit: &AuditEvent) -> CoreResult<()>;
    /// Replaces the document; false when there is no such subscription.
    async fn update_subscription(
        &self,
        id: &str,
        doc: &str,
        modified_at: Timestamp,
        audit: &AuditEvent,
    ) -> CoreResult<bool>;
    /// Removes the subscription with its pending notifications; false when there is none.
    async fn delete_subscription(&self, id: &str, audit: &AuditEvent) -> CoreResult<bool>;
    /// The newest entity change's sequence number (0 when none).
    async fn entity_change_head(&self) -> CoreResult<i64>;
    /// Adds (or, with `replace_seq`, rewrites while it waits) notifications and moves the
    /// notifier's cursor, in one transaction; answers the row number of each notification
    /// with `track` (0 for the others, which are inserted many rows a statement).
    async fn enqueue_notifications(
        &self,
        items: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> CoreResult<Vec<i64>>;
    /// Notifications due at `now`, oldest first, none of the subscriptions in `skip`.
    async fn due_notifications(
        &self,
        now: Timestamp,
        skip: &[String],
        limit: i64,
    ) -> CoreResult<Vec<PendingNotification>>;
    /// What deliveries came to, in one transaction: delivered rows go, failed ones wait for
    /// their retry (with every later one of the same subscription), and the subscriptions'
    /// delivery status moves.
    async fn record_deliveries(&self, outcomes: &[DeliveryRecord]) -> CoreResult<()>;
    /// Notifications waiting, per subscription.
    async fn notification_backlog(&self) -> CoreResult<Vec<(String, i64)>>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRow {
    pub id: String,
    pub owner_user: String,
    pub owner_org: String,
    /// The API token it was made with: a grant to that token reaches its notifications.
    pub owner_token: Option<String>,
    /// JSON text of the subscription as the caller wrote it (short names).
    pub doc: String,
    /// JSON text of the @context it was written in (a URL string, or the inline value).
    pub context: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub status: crate::hub::subscriptions::DeliveryStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub subscription_id: String,
    /// JSON text: the entities to notify, as the subscription renders them.
    pub data: String,
    pub due_at: Timestamp,
    /// A throttled notification still waiting, to rewrite with more entities (a new row when
    /// it has gone meanwhile).
    pub replace_seq: Option<i64>,
    /// Its row number is wanted (a throttled one, which may take more entities later).
    pub track: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PendingNotification {
    pub seq: i64,
    pub subscription_id: String,
    pub data: String,
    pub created_at: Timestamp,
    pub due_at: Timestamp,
    pub attempts: i64,
    /// Moves on each rewrite: a delivery of an older revision does not remove the row.
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub seq: i64,
    pub revision: i64,
    pub subscription_id: String,
    pub at: Timestamp,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; tried again at `retry_at`, or dropped when None (it waited too long).
    Failed {
        reason: String,
        retry_at: Option<Timestamp>,
    },
    /// Its subscription is gone: removed without counting.
    Orphaned,
}

/// Messages a connector could not take (not JSON, unmapped, refused by the hub), kept with
/// their reason for the operators.
#[async_trait]
pub trait DeadLetterRepository: Send + Sync {
    /// Kept before the messages are acknowledged to their broker, so none is lost.
    async fn add_dead_letters(&self, letters: &[crate::hub::ingest::DeadLetter]) -> CoreResult<()>;
    /// Newest first: of one connector (or all), before `before_seq` (exclusive), at most `limit`.
    async fn dead_letters(
        &self,
        source: Option<&str>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> CoreResult<Vec<crate::hub::ingest::DeadLetter>>;
    /// How many are kept, per connector.
    async fn dead_letter_counts(&self) -> CoreResult<Vec<(String, i64)>>;
    /// Removes those older than `before`; answers how many went.
    async fn prune_dead_letters(&self, before: Timestamp) -> CoreResult<u64>;
}

/// Datasets, their grants, maintenance windows, forms taken in and write counts.
/// Filters for listing figures; None matches all.
#[derive(Debug, Clone, Default)]
pub struct ValueFilter {
    pub code: Option<String>,
    pub unit_code: Option<String>,
    pub org_id: Option<String>,
    pub period: Option<String>,
    pub state: Option<crate::indicators::model::ValueState>,
}

#[async_trait]
pub trait IndicatorRepository: Send + Sync {
    /// Every version of every definition, by code then version; with the retired codes.
    async fn list_definitions(&self) -> CoreResult<(Vec<crate::indicators::model::Definition>, Vec<String>)>;
    /// Adds a version (the indicator's row is made with its first), with its audit record.
    async fn save_definitions(
        &self,
        defs: &[crate::indicators::model::Definition],
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn set_retired(&self, code: &str, at: Option<Timestamp>, audit: &AuditEvent) -> CoreResult<()>;
    async fn list_targets(&self) -> CoreResult<Vec<crate::indicators::model::Target>>;
    /// Inserts or replaces targets by (code, year, unit), all or nothing.
    async fn save_targets(
        &self,
        targets: &[crate::indicators::model::Target],
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// Every approved figure: what the evaluation book is built from.
    async fn approved_figures(&self) -> CoreResult<Vec<(crate::indicators::model::ValueKey, f64)>>;
    async fn list_values(&self, filter: &ValueFilter) -> CoreResult<Vec<crate::indicators::model::Value>>;
    /// Writes figures (inserted or replaced by key) and their revisions, all or nothing; the
    /// audit record is written in the same transaction when given (computed figures have none).
    async fn save_values(
        &self,
        values: &[crate::indicators::model::Value],
        revisions: &[crate::indicators::model::Revision],
        audit: Option<&AuditEvent>,
    ) -> CoreResult<()>;
    async fn revisions_of(
        &self,
        key: &crate::indicators::model::ValueKey,
    ) -> CoreResult<Vec<crate::indicators::model::Revision>>;
    /// Inserts or updates a request (messages are added, never changed).
    async fn save_request(
        &self,
        request: &crate::indicators::model::DataRequest,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn list_requests(&self) -> CoreResult<Vec<crate::indicators::model::DataRequest>>;
    /// Records a reminder; false when it had already been sent.
    async fn record_reminder(
        &self,
        org_id: &str,
        period: &str,
        kind: &str,
        at: Timestamp,
    ) -> CoreResult<bool>;
}

#[async_trait]
pub trait DatasetRepository: Send + Sync {
    /// In the order they were created (the catalog numbers them so).
    async fn list_datasets(&self) -> CoreResult<Vec<crate::datasets::model::Dataset>>;
    /// Inserts or replaces, with its audit record, in one transaction.
    async fn save_dataset(
        &self,
        dataset: &crate::datasets::model::Dataset,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn list_grants(&self) -> CoreResult<Vec<crate::datasets::model::Grant>>;
    async fn save_grant(&self, grant: &crate::datasets::model::Grant, audit: &AuditEvent) -> CoreResult<()>;
    async fn list_windows(
        &self,
        dataset_id: Option<&str>,
    ) -> CoreResult<Vec<crate::datasets::model::MaintenanceWindow>>;
    async fn save_window(
        &self,
        window: &crate::datasets::model::MaintenanceWindow,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// Newest first.
    async fn list_submissions(
        &self,
        dataset_id: Option<&str>,
        limit: i64,
    ) -> CoreResult<Vec<crate::datasets::model::Submission>>;
    /// Counts of the datasets' writes in hours starting at or after `from` and before `to`.
    async fn write_counts(
        &self,
        dataset_ids: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Vec<crate::datasets::model::CountRow>>;
    /// The history rows of `entity_ids` observed in [from, to), for the quality scores.
    async fn instances_between(
        &self,
        entity_ids: &[String],
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Vec<InstanceRow>>;
}

/// Citizen reports with their steps, assignments and extension requests; the categories, the
/// routing table and the working-time calendar they use.
#[async_trait]
pub trait ReportRepository: Send + Sync {
    async fn list_report_categories(&self) -> CoreResult<Vec<crate::reports::model::ReportCategory>>;
    /// Inserts or replaces the categories (by code), all or nothing.
    async fn put_report_categories(
        &self,
        categories: &[crate::reports::model::ReportCategory],
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    async fn list_report_routes(&self) -> CoreResult<Vec<crate::reports::model::Route>>;
    /// Replaces the whole routing table.
    async fn replace_report_routes(
        &self,
        routes: &[crate::reports::model::Route],
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// The edited years of the working-time calendar: (year, JSON list of days).
    async fn calendar_years(&self) -> CoreResult<Vec<(i16, String)>>;
    /// Replaces one year's list; None goes back to the statutory one.
    async fn put_calendar_year(&self, year: i16, doc: Option<&str>, audit: &AuditEvent) -> CoreResult<()>;

    /// Inserts a new report with its first step and answers the public number it was given.
    async fn insert_report(&self, change: &ReportChange) -> CoreResult<i64>;
    /// Writes a change, all or nothing. The report is written only if the stored version is
    /// `report.version - 1`; otherwise a Conflict (someone else changed it meanwhile).
    async fn update_report(&self, change: &ReportChange) -> CoreResult<()>;
    async fn get_report(&self, id: &str) -> CoreResult<Option<crate::reports::model::CitizenReport>>;
    async fn report_by_number(&self, number: i64)
        -> CoreResult<Option<crate::reports::model::CitizenReport>>;
    async fn report_by_tracking(
        &self,
        hash: &str,
    ) -> CoreResult<Option<crate::reports::model::CitizenReport>>;
    async fn list_reports(
        &self,
        filter: &ReportFilter,
    ) -> CoreResult<Vec<crate::reports::model::CitizenReport>>;
    async fn report_steps(&self, id: &str) -> CoreResult<Vec<crate::reports::model::ReportStep>>;
    async fn report_assignments(&self, id: &str) -> CoreResult<Vec<crate::reports::model::Assignment>>;
    async fn report_extensions(&self, id: &str) -> CoreResult<Vec<crate::reports::model::ExtensionRequest>>;

    /// Keeps an upload: the original and the public copy.
    async fn insert_media(
        &self,
        media: &crate::reports::model::ReportMedia,
        original: &[u8],
        public: &[u8],
    ) -> CoreResult<()>;
    async fn list_media(&self, report_id: &str) -> CoreResult<Vec<crate::reports::model::ReportMedia>>;
    async fn get_media(&self, id: &str) -> CoreResult<Option<crate::reports::model::ReportMedia>>;
    /// The original bytes, or the public copy.
    async fn media_bytes(&self, id: &str, original: bool) -> CoreResult<Option<Vec<u8>>>;
    /// Replaces the public copy (a redaction) with its audit record.
    async fn replace_public_media(&self, id: &str, public: &[u8], audit: &AuditEvent) -> CoreResult<()>;
    /// Removes uploads never attached to a report, made before `before`; answers how many.
    async fn delete_orphan_media(&self, before: Timestamp) -> CoreResult<u64>;

    /// The statistics' counts of reports received in [from, to), grouped by `group` (or all in
    /// one row), with their handling-time histograms, overdue as of `at`.
    async fn report_counts(
        &self,
        group: crate::reports::stats::Group,
        from: Timestamp,
        to: Timestamp,
        at: Timestamp,
    ) -> CoreResult<Vec<crate::reports::stats::Counts>>;
    /// Notices to reporters waiting to be sent at `at`, oldest first.
    async fn due_report_notices(
        &self,
        at: Timestamp,
        limit: i64,
    ) -> CoreResult<Vec<crate::reports::notices::ReportNotice>>;
    async fn update_report_notice(&self, notice: &crate::reports::notices::ReportNotice) -> CoreResult<()>;
    async fn report_notices(&self, report_id: &str)
        -> CoreResult<Vec<crate::reports::notices::ReportNotice>>;
}

/// What one change to a report writes together.
#[derive(Debug, Clone)]
pub struct ReportChange {
    pub report: crate::reports::model::CitizenReport,
    pub steps: Vec<crate::reports::model::ReportStep>,
    /// Inserted or replaced by (report, organisation).
    pub assignments: Vec<crate::reports::model::Assignment>,
    /// Inserted or replaced by id.
    pub extensions: Vec<crate::reports::model::ExtensionRequest>,
    /// Uploads to attach to the report: each must exist and be attached to none yet.
    pub attach_media: Vec<String>,
    /// Notices to the reporter this change causes (the outbox the notifier reads).
    pub notices: Vec<crate::reports::notices::ReportNotice>,
    pub audit: Option<AuditEvent>,
}

/// Which reports to list; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub states: Vec<crate::reports::model::ReportState>,
    /// Held by this organisation, as lead or as a supporting agency with its part still open.
    pub agency_id: Option<String>,
    /// Any of these categories (all when empty).
    pub categories: Vec<String>,
    pub unit_code: Option<String>,
    pub channel: Option<crate::reports::model::Channel>,
    pub numbers: Vec<i64>,
    pub published_only: bool,
    pub received_from: Option<Timestamp>,
    pub received_to: Option<Timestamp>,
    /// With a running deadline before this time (and not paused).
    pub deadline_before: Option<Timestamp>,
    /// Only those with a point inside (min lon, min lat, max lon, max lat).
    pub within: Option<(f64, f64, f64, f64)>,
    /// Newest first when false.
    pub oldest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Monitoring rules, the alerts they raise with their steps, and the live events journal.
#[async_trait]
pub trait AlertRepository: Send + Sync {
    async fn list_alert_rules(&self) -> CoreResult<Vec<crate::alerts::model::StoredRule>>;
    /// Inserts a rule (version 1) or replaces the one stored at `version - 1`; a Conflict when
    /// the id is taken (a new rule) or someone changed it meanwhile.
    async fn put_alert_rule(
        &self,
        rule: &crate::alerts::model::StoredRule,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// False when there was no such rule.
    async fn delete_alert_rule(&self, id: &str, audit: &AuditEvent) -> CoreResult<bool>;
    /// Writes a change all or nothing, with its steps and live event. A new alert is given its
    /// number; an update is written only over `version - 1` (a Conflict otherwise), and a new
    /// alert whose key is open already is a Conflict too. Answers the alert as stored and the
    /// live event recorded.
    async fn write_alert(
        &self,
        change: &crate::alerts::model::AlertChange,
    ) -> CoreResult<(crate::alerts::model::Alert, Option<crate::alerts::model::LiveEvent>)>;
    async fn get_alert(&self, id: &str) -> CoreResult<Option<crate::alerts::model::Alert>>;
    async fn alert_by_number(&self, number: i64) -> CoreResult<Option<crate::alerts::model::Alert>>;
    async fn open_alerts(&self) -> CoreResult<Vec<crate::alerts::model::Alert>>;
    /// Newest first.
    async fn list_alerts(
        &self,
        filter: &crate::alerts::model::AlertFilter,
    ) -> CoreResult<Vec<crate::alerts::model::Alert>>;
    async fn alert_steps(&self, id: &str) -> CoreResult<Vec<crate::alerts::model::AlertStep>>;
    /// The journal after `after` (exclusive), oldest first.
    async fn live_events(&self, after: i64, limit: i64) -> CoreResult<Vec<crate::alerts::model::LiveEvent>>;
    /// The newest event's number (0 when none).
    async fn live_head(&self) -> CoreResult<i64>;
    /// Notices waiting to be sent at `at`, oldest first.
    async fn due_alert_notices(
        &self,
        at: jiff::Timestamp,
        limit: i64,
    ) -> CoreResult<Vec<crate::alerts::notices::AlertNotice>>;
    async fn update_alert_notice(&self, notice: &crate::alerts::notices::AlertNotice) -> CoreResult<()>;
    async fn alert_notices(&self, alert_id: &str) -> CoreResult<Vec<crate::alerts::notices::AlertNotice>>;
    /// Forgets events older than `before` (a client resuming from before them starts at the
    /// oldest kept); answers how many. The newest is always kept, so numbering goes on.
    async fn prune_live_events(&self, before: jiff::Timestamp) -> CoreResult<u64>;
}

/// Playbooks, incidents with their tasks and timelines.
#[async_trait]
pub trait IncidentRepository: Send + Sync {
    async fn list_playbooks(&self) -> CoreResult<Vec<crate::incidents::model::Playbook>>;
    /// Inserts (version 1) or replaces the playbook stored at `version - 1` (a Conflict otherwise).
    async fn put_playbook(
        &self,
        playbook: &crate::incidents::model::Playbook,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// Writes a change all or nothing: a new incident is given its number; an update is written
    /// only over `version - 1`, and each task likewise. Answers the incident as stored and the
    /// live events recorded.
    async fn write_incident(
        &self,
        change: &crate::incidents::model::IncidentChange,
    ) -> CoreResult<(crate::incidents::model::Incident, Vec<crate::alerts::model::LiveEvent>)>;
    async fn get_incident(&self, id: &str) -> CoreResult<Option<crate::incidents::model::Incident>>;
    async fn incident_by_number(&self, number: i64) -> CoreResult<Option<crate::incidents::model::Incident>>;
    /// Newest first.
    async fn list_incidents(
        &self,
        filter: &crate::incidents::model::IncidentFilter,
    ) -> CoreResult<Vec<crate::incidents::model::Incident>>;
    async fn incident_tasks(&self, incident_id: &str) -> CoreResult<Vec<crate::incidents::model::Task>>;
    async fn get_task(&self, id: &str) -> CoreResult<Option<crate::incidents::model::Task>>;
    /// Tasks of one organisation (or all), open ones only if asked, by deadline.
    async fn org_tasks(
        &self,
        org_id: Option<&str>,
        open_only: bool,
    ) -> CoreResult<Vec<crate::incidents::model::Task>>;
    /// Open tasks past their deadline not yet escalated.
    async fn unescalated_overdue_tasks(
        &self,
        at: Timestamp,
    ) -> CoreResult<Vec<crate::incidents::model::Task>>;
    async fn incident_timeline(&self, id: &str) -> CoreResult<Vec<crate::incidents::model::TimelineEntry>>;
    /// Inserts a handover (`new`) or records its acknowledgement, only once (a Conflict when
    /// someone acknowledged it meanwhile).
    async fn put_handover(
        &self,
        handover: &crate::incidents::handover::Handover,
        new: bool,
        audit: &AuditEvent,
    ) -> CoreResult<()>;
    /// Newest first.
    async fn list_handovers(&self, limit: i64) -> CoreResult<Vec<crate::incidents::handover::Handover>>;
}

/// Public warnings and the CAP messages that went out.
#[async_trait]
pub trait WarningRepository: Send + Sync {
    /// Writes a change all or nothing with its CAP message: a new warning is given its number;
    /// an update is written only over `version - 1` (a Conflict otherwise).
    async fn write_warning(
        &self,
        change: &crate::warnings::model::WarningChange,
    ) -> CoreResult<crate::warnings::model::PublicWarning>;
    async fn get_warning(&self, id: &str) -> CoreResult<Option<crate::warnings::model::PublicWarning>>;
    async fn warning_by_number(
        &self,
        number: i64,
    ) -> CoreResult<Option<crate::warnings::model::PublicWarning>>;
    /// Newest first; with `published_only`, those that may have a version out (published, or
    /// pending an update).
    async fn list_warnings(
        &self,
        published_only: bool,
    ) -> CoreResult<Vec<crate::warnings::model::PublicWarning>>;
    async fn cap_message(&self, identifier: &str) -> CoreResult<Option<String>>;
}

/// Everything the services need from the store.
pub trait Repositories:
    UnitRepository
    + OrgRepository
    + AccountRepository
    + AuditRepository
    + CursorRepository
    + EntityRepository
    + SubscriptionRepository
    + DeadLetterRepository
    + DatasetRepository
    + IndicatorRepository
    + ReportRepository
    + AlertRepository
    + IncidentRepository
    + WarningRepository
{
}

impl<
        T: UnitRepository
            + OrgRepository
            + AccountRepository
            + AuditRepository
            + CursorRepository
            + EntityRepository
            + SubscriptionRepository
            + DeadLetterRepository
            + DatasetRepository
            + IndicatorRepository
            + ReportRepository
            + AlertRepository
            + IncidentRepository
            + WarningRepository,
    > Repositories for T
{
}
