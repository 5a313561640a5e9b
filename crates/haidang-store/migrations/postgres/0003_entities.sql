-- The data hub's entities (NGSI-LD). The body is the normalized entity with expanded attribute
-- names; id, types and times are columns for the index rebuild and for backups.
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    types TEXT NOT NULL,
    owner_org TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX entities_created ON entities (created_at, id);

-- The entity outbox: one row per accepted change, published on the bus after the cursor
-- "entities" in event_cursors.
CREATE TABLE entity_changes (
    seq BIGSERIAL PRIMARY KEY,
    entity_id TEXT NOT NULL,
    op TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT,
    body TEXT NOT NULL
);

-- Exchange data structures: a JSON Schema per entity type (by expanded type IRI), and the
-- JSON-LD contexts the server holds (added through the API or fetched from allowed hosts).
CREATE TABLE hub_documents (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
