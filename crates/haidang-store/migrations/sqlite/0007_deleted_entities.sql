-- What an entity was when it was deleted with its history kept (hub.delete_history off): its
-- types and owner, so its history can still be read through the temporal API and the type's
-- retention still reaches it.
CREATE TABLE deleted_entities (
    id TEXT PRIMARY KEY,
    types TEXT NOT NULL,
    owner_org TEXT,
    deleted_at BIGINT NOT NULL
);
