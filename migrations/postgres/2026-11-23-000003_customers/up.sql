-- Customer memory, contact tracking and feedback: richer customer profiles,
-- staff notes, contact reasons (intents) and assisted contacts
-- (interactions), feedback requests and answers, an audit trail, and what a
-- business needs for them (its country for phone numbers, what a minute of
-- each contact channel costs).

-- ISO 3166-1 alpha-2; NULL means "the country of the business's time zone".
ALTER TABLE businesses ADD COLUMN country TEXT;

CREATE TABLE business_contact_costs (
    business_id TEXT NOT NULL REFERENCES businesses(id),
    channel TEXT NOT NULL,
    cents_per_minute INTEGER NOT NULL CHECK (cents_per_minute >= 0),
    PRIMARY KEY (business_id, channel)
);

ALTER TABLE customers ADD COLUMN preferred_language TEXT;
ALTER TABLE customers ADD COLUMN preferred_channel TEXT;
ALTER TABLE customers ADD COLUMN marketing_consent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN marketing_consent_at TIMESTAMP;
-- JSON array of strings
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE customer_notes (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    author TEXT NOT NULL,
    author_role TEXT NOT NULL,
    body TEXT NOT NULL,
    pinned BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customer_notes_customer_idx ON customer_notes (customer_id, created_at);

CREATE TABLE intents (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT,
    archived_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX intents_code_idx ON intents (business_id, code);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    channel TEXT NOT NULL,
    intent_id TEXT NOT NULL REFERENCES intents(id),
    -- intent codes never change, so the code is kept for grouping and filters
    intent_code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds >= 0),
    customer_id TEXT REFERENCES customers(id),
    booking_id TEXT REFERENCES bookings(id),
    location_id TEXT REFERENCES locations(id),
    agent TEXT NOT NULL,
    agent_role TEXT NOT NULL,
    note TEXT,
    occurred_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX interactions_business_time_idx ON interactions (business_id, occurred_at);
CREATE INDEX interactions_customer_idx ON interactions (customer_id, occurred_at);

-- One per completed booking; the token lets the customer answer without an account.
CREATE TABLE feedback_requests (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    responded_at TIMESTAMP
);
CREATE UNIQUE INDEX feedback_requests_booking_idx ON feedback_requests (booking_id);
CREATE UNIQUE INDEX feedback_requests_token_idx ON feedback_requests (token);
CREATE INDEX feedback_requests_business_idx ON feedback_requests (business_id, created_at);

CREATE TABLE feedback (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    request_id TEXT NOT NULL REFERENCES feedback_requests(id),
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    nps INTEGER NOT NULL CHECK (nps BETWEEN 0 AND 10),
    effort INTEGER NOT NULL CHECK (effort BETWEEN 1 AND 7),
    comment TEXT,
    created_at TIMESTAMP NOT NULL
);
-- Once per booking, whatever races.
CREATE UNIQUE INDEX feedback_booking_idx ON feedback (booking_id);
CREATE INDEX feedback_customer_idx ON feedback (customer_id, created_at);

-- Who did what that is not a booking change (customer merges so far).
CREATE TABLE audit_entries (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_entries_business_idx ON audit_entries (business_id, id);
