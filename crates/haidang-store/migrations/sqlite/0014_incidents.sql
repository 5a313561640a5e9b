-- Incidents (issue 8): the playbooks for each type, the incidents the centre responds to, the
-- tasks given to agencies (with their deadlines, for escalation and the on-time share), and
-- each incident's timeline. Documents are JSON beside the columns their lists filter on.

CREATE TABLE playbooks (
    id TEXT PRIMARY KEY,
    incident_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX incidents_by_state ON incidents (state, opened_at);

CREATE TABLE incident_tasks (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    org_id TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    escalated BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX incident_tasks_by_incident ON incident_tasks (incident_id);
CREATE INDEX incident_tasks_by_org ON incident_tasks (org_id, state);
CREATE INDEX incident_tasks_due ON incident_tasks (state, escalated, due_at);

CREATE TABLE incident_timeline (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    pos BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (incident_id, pos)
);

-- The shift handover log: what the outgoing operator handed over, and who took it.
CREATE TABLE shift_handovers (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    acknowledged BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX shift_handovers_by_at ON shift_handovers (at);
