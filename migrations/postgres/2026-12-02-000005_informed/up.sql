-- Keeping people informed: webhook subscriptions with their deliveries and
-- every attempt, customer notifications as rows with a state, and the
-- reminder rules of a service.
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    location_id TEXT REFERENCES locations (id),
    description TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    failing_since TIMESTAMP,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_subscriptions_business_idx ON webhook_subscriptions (business_id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP,
    claimed_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, id);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    business_id TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_snippet TEXT
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    booking_id TEXT,
    kind TEXT NOT NULL,
    rule_minutes INTEGER,
    booking_version INTEGER,
    dedupe_key TEXT NOT NULL,
    detail TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    channel TEXT,
    recipient TEXT,
    due_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX notifications_dedupe_idx ON notifications (dedupe_key);
CREATE INDEX notifications_due_idx ON notifications (state, due_at);
CREATE INDEX notifications_customer_idx ON notifications (business_id, customer_id, id);
CREATE INDEX notifications_booking_idx ON notifications (booking_id);

-- Minutes before the start, comma-separated (e.g. "1440,120"); empty: none.
ALTER TABLE services ADD COLUMN reminders TEXT NOT NULL DEFAULT '';
