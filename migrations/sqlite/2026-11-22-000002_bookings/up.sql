-- Customers, holds, bookings and the resource time they occupy, the event
-- outbox, booking history and idempotency records.
CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Emails and phones are stored normalised, so these find a returning customer.
CREATE UNIQUE INDEX customers_email_idx ON customers (business_id, email);
CREATE UNIQUE INDEX customers_phone_idx ON customers (business_id, phone);

CREATE TABLE holds (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- comma list, one per requirement group, as chosen when the hold was taken
    resource_ids TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- active, released, expired or booked
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX holds_expiry_idx ON holds (status, expires_at);

CREATE TABLE bookings (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    reference TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- comma list of the allocated resources, one per requirement group
    resource_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_by TEXT NOT NULL,
    notes TEXT,
    cancel_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX bookings_reference_idx ON bookings (business_id, reference);
CREATE INDEX bookings_business_start_idx ON bookings (business_id, starts_at, id);
CREATE INDEX bookings_customer_idx ON bookings (customer_id, starts_at);

-- One row per resource a booking or a live hold occupies, over its blocked
-- window (service time widened by the service's buffers). A hold's rows become
-- the booking's rows when it is booked, so the slot is never free in between.
CREATE TABLE allocations (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    resource_id TEXT NOT NULL REFERENCES resources(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    booking_id TEXT REFERENCES bookings(id),
    hold_id TEXT REFERENCES holds(id),
    session_start TIMESTAMP NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- set while the row belongs to a hold
    expires_at TIMESTAMP,
    -- one seat of a group session (shares a capacity unit with its session)
    seat BOOLEAN NOT NULL,
    -- takes the whole of a capacity-1 resource: guarded by a constraint on PostgreSQL
    exclusive BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK ((booking_id IS NULL) <> (hold_id IS NULL))
);
CREATE INDEX allocations_resource_time_idx ON allocations (resource_id, starts_at);
CREATE INDEX allocations_booking_idx ON allocations (booking_id);
CREATE INDEX allocations_hold_idx ON allocations (hold_id);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    event_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_business_idx ON events (business_id, id);

CREATE TABLE booking_history (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    channel TEXT NOT NULL,
    details TEXT NOT NULL,
    override_rules TEXT,
    override_reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX booking_history_booking_idx ON booking_history (booking_id, id);

-- Stored responses of POSTs sent with an Idempotency-Key; a row without a
-- status is a request still in flight.
CREATE TABLE idempotency_records (
    business_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER,
    response_body TEXT,
    response_headers TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (business_id, principal, idempotency_key)
);
CREATE INDEX idempotency_records_created_idx ON idempotency_records (created_at);
