-- NGSI-LD subscriptions: the document as the caller wrote it, the context it was written in,
-- and the delivery status the API shows (timesSent, lastSuccess, ...).
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    owner_user TEXT NOT NULL,
    owner_org TEXT NOT NULL,
    doc TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    times_sent BIGINT NOT NULL DEFAULT 0,
    times_failed BIGINT NOT NULL DEFAULT 0,
    last_notification BIGINT,
    last_success BIGINT,
    last_failure BIGINT,
    last_failure_reason TEXT
);

-- The notification outbox: a notification waits here from the moment a change is matched until
-- its endpoint has taken it. due_at moves on with each failed attempt (back-off); revision moves
-- when a throttled notification takes more entities while it waits.
CREATE TABLE notifications (
    seq BIGSERIAL PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    data TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications (due_at, seq);
CREATE INDEX notifications_by_subscription ON notifications (subscription_id, seq);
