-- Monitoring indicators ("bộ chỉ số giám sát"): versioned definitions, the year's targets, the
-- figures in their three kinds with every revision kept, and ad hoc data requests.
CREATE TABLE indicators (
    code TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- One row per version of a definition; doc holds the definition as JSON.
CREATE TABLE indicator_versions (
    code TEXT NOT NULL REFERENCES indicators(code),
    version BIGINT NOT NULL,
    valid_from TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE indicator_targets (
    code TEXT NOT NULL REFERENCES indicators(code),
    year BIGINT NOT NULL,
    unit_code TEXT NOT NULL,
    value REAL NOT NULL,
    baseline REAL,
    source TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (code, year, unit_code)
);

-- A figure as it stands: the revision worked on and the one last approved (what evaluations read).
CREATE TABLE indicator_values (
    code TEXT NOT NULL REFERENCES indicators(code),
    unit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    org_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    value REAL NOT NULL,
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    comment TEXT NOT NULL,
    approved_value REAL,
    approved_revision BIGINT,
    approved_at BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    computed BIGINT NOT NULL,
    PRIMARY KEY (code, unit_code, period, kind)
);
CREATE INDEX indicator_values_by_org ON indicator_values (org_id, period);
CREATE INDEX indicator_values_by_state ON indicator_values (state);

-- Every revision and decision, never changed.
CREATE TABLE indicator_revisions (
    code TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    value REAL NOT NULL,
    state TEXT NOT NULL,
    comment TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL
);
CREATE INDEX indicator_revisions_by_key ON indicator_revisions (code, unit_code, period, kind, at);

CREATE TABLE data_requests (
    id TEXT PRIMARY KEY,
    from_user TEXT NOT NULL,
    from_org TEXT NOT NULL,
    to_org TEXT NOT NULL,
    code TEXT,
    unit_code TEXT,
    period TEXT,
    question TEXT NOT NULL,
    due_on TEXT NOT NULL,
    state TEXT NOT NULL,
    answer_value REAL,
    created_at BIGINT NOT NULL,
    answered_at BIGINT
);
CREATE INDEX data_requests_by_org ON data_requests (to_org, state);

CREATE TABLE data_request_messages (
    request_id TEXT NOT NULL REFERENCES data_requests(id),
    seq BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    org_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- Reminders sent, so each due date is reminded once per organisation.
CREATE TABLE indicator_reminders (
    org_id TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, period, kind)
);
