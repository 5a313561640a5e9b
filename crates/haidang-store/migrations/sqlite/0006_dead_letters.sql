-- Messages a connector could not take (not JSON, unmapped, refused by the hub), with why: the
-- operators' list of what went wrong at the edge. Written before the message is acknowledged.
CREATE TABLE dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX dead_letters_by_source ON dead_letters (source, seq);
CREATE INDEX dead_letters_by_time ON dead_letters (at);
