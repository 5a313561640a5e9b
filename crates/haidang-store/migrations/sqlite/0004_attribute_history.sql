-- The history of the data hub's attributes (NGSI-LD temporal API): one row per instance written,
-- with its time (observedAt, else when it was written) for range and lastN reads.
CREATE TABLE attribute_instances (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    attr TEXT NOT NULL,
    dataset_id TEXT,
    at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX attribute_instances_by_time ON attribute_instances (entity_id, attr, at);
