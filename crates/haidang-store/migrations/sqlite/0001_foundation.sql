-- Foundation: administrative units, organisations, accounts, sessions, tokens, delegations and
-- the audit trail. Times are UTC microseconds since the Unix epoch (BIGINT); booleans are 0/1;
-- lists are JSON text. The PostgreSQL migration keeps the same columns so a backup moves between
-- the two unchanged.

CREATE TABLE units (
    code         TEXT PRIMARY KEY,
    parent_code  TEXT,
    kind         TEXT NOT NULL,
    name_vi      TEXT NOT NULL,
    name_en      TEXT NOT NULL,
    full_name_vi TEXT NOT NULL,
    full_name_en TEXT NOT NULL,
    area_km2     REAL,
    geometry     TEXT,
    valid_from   TEXT NOT NULL,
    valid_to     TEXT
);
CREATE INDEX units_parent ON units (parent_code);

CREATE TABLE unit_successions (
    new_code     TEXT NOT NULL,
    old_code     TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    note         TEXT NOT NULL,
    PRIMARY KEY (new_code, old_code)
);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    parent_id  TEXT REFERENCES orgs (id),
    kind       TEXT NOT NULL,
    name_vi    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    sectors    TEXT NOT NULL,
    unit_codes TEXT NOT NULL,
    head_name  TEXT,
    email      TEXT,
    phone      TEXT,
    duty_phone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    email                TEXT,
    phone                TEXT,
    org_id               TEXT NOT NULL REFERENCES orgs (id),
    role                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    totp_secret          TEXT,
    totp_enabled         BIGINT NOT NULL,
    totp_exempt          BIGINT NOT NULL,
    totp_last_step       BIGINT,
    failed_logins        BIGINT NOT NULL,
    login_locked_until   BIGINT,
    last_login_at        BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE account_events (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    request_ref TEXT NOT NULL,
    actor_id    TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX account_events_user ON account_events (user_id, at);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id),
    stage        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    source_ip    TEXT,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    label        TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE delegations (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES users (id),
    acting_id    TEXT NOT NULL REFERENCES users (id),
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    request_ref  TEXT NOT NULL,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX delegations_acting ON delegations (acting_id);

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    user_id   TEXT,
    username  TEXT,
    org_id    TEXT,
    role      TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    source_ip TEXT,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_mac  TEXT NOT NULL,
    mac       TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_username ON audit_log (username, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

-- Append-only: the application never updates or deletes audit records. The HMAC chain detects
-- what someone with direct database access does anyway.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
