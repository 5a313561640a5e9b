-- Where each consumer of the audit trail (the event relay) has got to: the last audit sequence
-- number it handled.
CREATE TABLE event_cursors (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
