-- Alerts (issue 8): the monitoring rules the engine keeps in force, the alerts they raise with
-- every step taken on them, and the journal of live events the console's stream reads (its
-- sequence number is the SSE event id, so a client that reconnects resumes where it left off).

-- A rule as JSON (alerts::Rule), with its version for optimistic updates.
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    doc TEXT NOT NULL
);

-- An alert as JSON (alerts::Alert). `open_key` is the deduplication key while the alert is
-- open and NULL once it is resolved or dismissed: one open alert per rule and entity, so a
-- flapping sensor updates it rather than raising hundreds.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    dedup_key TEXT NOT NULL,
    open_key TEXT UNIQUE,
    rule_id TEXT,
    -- The agency it was forwarded to: the agency's list filters on it.
    forwarded_to TEXT,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX alerts_by_state ON alerts (state, raised_at);
CREATE INDEX alerts_by_rule ON alerts (rule_id, raised_at);
CREATE INDEX alerts_by_agency ON alerts (forwarded_to, raised_at);

CREATE TABLE alert_steps (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    pos BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (alert_id, pos)
);

-- What the live stream sends, written with the change it tells of. `org_ids` (JSON list) are
-- the organisations besides the centre that may see it.
CREATE TABLE live_events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    org_ids TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX live_events_by_at ON live_events (at);

-- Who is told of each alert (email to the organisations a rule names, the centre's gateway),
-- written with the alert and sent by a job; `doc` keeps every attempt with its outcome.
CREATE TABLE alert_notices (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    state TEXT NOT NULL,
    next_at BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX alert_notices_due ON alert_notices (state, next_at);
CREATE INDEX alert_notices_by_alert ON alert_notices (alert_id);
