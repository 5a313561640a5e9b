-- Datasets: one organisation's data of one entity type, approved before it goes live, shared by
-- default or on request. The definition (name, units, q, what is expected, how often, the quality
-- rules) is kept as JSON in doc; what lists and checks filter on has columns.
CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    type_iri TEXT NOT NULL,
    provider_org TEXT NOT NULL REFERENCES orgs(id),
    state TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_at BIGINT NOT NULL,
    approved_at BIGINT,
    approved_by TEXT
);
CREATE UNIQUE INDEX datasets_by_seq ON datasets (seq);

-- Who else may read or write a dataset, on what agreement, until when.
CREATE TABLE dataset_grants (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    consumer_kind TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    can_read BIGINT NOT NULL,
    can_write BIGINT NOT NULL,
    expires_at BIGINT,
    agreement_ref TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX dataset_grants_by_dataset ON dataset_grants (dataset_id);

-- A provider's declared maintenance (entity_ids: a JSON list; empty for the whole dataset).
CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    entity_ids TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    declared_by TEXT NOT NULL
);
CREATE INDEX maintenance_windows_by_dataset ON maintenance_windows (dataset_id, starts_at);

-- Forms taken in, each as the organisation's submission for a period (a due date).
CREATE TABLE form_submissions (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets(id),
    org_id TEXT NOT NULL,
    period TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at BIGINT NOT NULL
);
CREATE INDEX form_submissions_by_dataset ON form_submissions (dataset_id, submitted_at);

-- Writes per dataset and hour, for "đúng" (correct): written in the writer's transaction.
CREATE TABLE dataset_write_counts (
    dataset_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    out_of_range BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    PRIMARY KEY (dataset_id, hour)
);

-- A subscription made with an API token keeps it: a grant to that token reaches its notifications.
ALTER TABLE subscriptions ADD COLUMN owner_token TEXT;
