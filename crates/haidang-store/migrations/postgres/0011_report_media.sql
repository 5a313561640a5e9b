-- Photos and videos of citizen reports: the original (for the roles allowed to see it) and the
-- public copy without metadata, pixelated where the operator marked; both base64 text so a
-- backup moves them like every other column.
CREATE TABLE report_media (
    id TEXT PRIMARY KEY,
    report_id TEXT REFERENCES citizen_reports(id),
    created_at BIGINT NOT NULL,
    doc TEXT NOT NULL,
    original TEXT NOT NULL,
    public_copy TEXT NOT NULL
);
CREATE INDEX report_media_by_report ON report_media (report_id);

-- Notices to reporters, written with the step that causes them and sent by a job (an outbox).
CREATE TABLE report_notices (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES citizen_reports(id),
    state TEXT NOT NULL,
    next_at BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX report_notices_due ON report_notices (state, next_at);
CREATE INDEX report_notices_by_report ON report_notices (report_id);
