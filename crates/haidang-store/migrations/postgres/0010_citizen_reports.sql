-- Citizen reports ("phản ánh, kiến nghị"): the report with the columns lists filter on and the
-- rest as a JSON document; each step of its process; the agencies assigned; extension requests.
-- The reporter's contact is only ever kept sealed (contact_sealed); the tracking code only as
-- its SHA-256.
CREATE TABLE citizen_reports (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    tracking_hash TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL,
    state TEXT NOT NULL,
    agency_id TEXT,
    unit_code TEXT,
    channel TEXT NOT NULL,
    urgency TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    received_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deadline_at BIGINT,
    paused_at BIGINT,
    published_at BIGINT,
    answered_at BIGINT,
    closed_at BIGINT,
    rating BIGINT,
    version BIGINT NOT NULL,
    contact_sealed TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX citizen_reports_by_state ON citizen_reports (state, received_at);
CREATE INDEX citizen_reports_by_agency ON citizen_reports (agency_id, state);
CREATE INDEX citizen_reports_by_category ON citizen_reports (category, received_at);
CREATE INDEX citizen_reports_by_received ON citizen_reports (received_at);
CREATE INDEX citizen_reports_published ON citizen_reports (published_at);

CREATE TABLE citizen_report_steps (
    report_id TEXT NOT NULL REFERENCES citizen_reports(id),
    pos BIGINT NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (report_id, pos)
);

CREATE TABLE citizen_report_assignments (
    report_id TEXT NOT NULL REFERENCES citizen_reports(id),
    org_id TEXT NOT NULL,
    ended BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (report_id, org_id)
);
CREATE INDEX citizen_report_assignments_by_org ON citizen_report_assignments (org_id, ended);

CREATE TABLE citizen_report_extensions (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES citizen_reports(id),
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX citizen_report_extensions_by_report ON citizen_report_extensions (report_id);

CREATE TABLE report_categories (
    code TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

-- unit_code '' is the row for every commune without one of its own.
CREATE TABLE report_routes (
    category TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    org_code TEXT NOT NULL,
    PRIMARY KEY (category, unit_code)
);

-- A year of the working-time calendar as edited (holidays, swapped working days), JSON.
CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    doc TEXT NOT NULL
);
