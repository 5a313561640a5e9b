-- The statistics' running counts of citizen reports: for each split (agency, category, unit,
-- channel), member of it and local day of receipt, how many reports were received, verified,
-- rejected, answered (and on time), closed and rated, and how many answers took each bucket of
-- hours (h0..h16, the buckets of reports::tally::HOUR_BUCKETS). The store moves a row in the
-- same transaction as the report it counts. Reports written before this table are counted into
-- it by the server at its next start (Store::migrate).
CREATE TABLE citizen_report_tallies (
    split TEXT NOT NULL,
    local_day BIGINT NOT NULL,
    member TEXT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    verified BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    answered BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    h0 BIGINT NOT NULL DEFAULT 0,
    h1 BIGINT NOT NULL DEFAULT 0,
    h2 BIGINT NOT NULL DEFAULT 0,
    h3 BIGINT NOT NULL DEFAULT 0,
    h4 BIGINT NOT NULL DEFAULT 0,
    h5 BIGINT NOT NULL DEFAULT 0,
    h6 BIGINT NOT NULL DEFAULT 0,
    h7 BIGINT NOT NULL DEFAULT 0,
    h8 BIGINT NOT NULL DEFAULT 0,
    h9 BIGINT NOT NULL DEFAULT 0,
    h10 BIGINT NOT NULL DEFAULT 0,
    h11 BIGINT NOT NULL DEFAULT 0,
    h12 BIGINT NOT NULL DEFAULT 0,
    h13 BIGINT NOT NULL DEFAULT 0,
    h14 BIGINT NOT NULL DEFAULT 0,
    h15 BIGINT NOT NULL DEFAULT 0,
    h16 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (split, local_day, member)
);

-- Overdue depends on the hour of asking, so it is counted when asked, from the open reports
-- with their clock running: this index holds just those, with what the count reads.
CREATE INDEX citizen_reports_open_deadlines ON citizen_reports
    (deadline_at, received_at, agency_id, category, unit_code, channel)
    WHERE state IN ('assigned', 'accepted', 'in_progress') AND paused_at IS NULL;
