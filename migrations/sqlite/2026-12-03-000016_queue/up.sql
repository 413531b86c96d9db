-- The walk-in desk: people waiting for a service at a location, in the order
-- they arrived, until they are seated (a booking in service), leave or do not
-- answer their call.
CREATE TABLE queue_tickets (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    -- the short code the desk calls out (`A014`), unique per location and local day
    code TEXT NOT NULL,
    local_day TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id),
    customer_name TEXT NOT NULL,
    party_size INTEGER NOT NULL DEFAULT 1,
    -- the resource asked for (a chosen stylist), if any
    resource_id TEXT REFERENCES resources(id),
    -- waiting, called, seated, cancelled or no_show
    status TEXT NOT NULL,
    booking_id TEXT REFERENCES bookings(id),
    -- the range last promised, to tell when it moves enough to say so
    estimated_earliest TIMESTAMP,
    estimated_latest TIMESTAMP,
    cancel_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    called_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX queue_tickets_code_idx ON queue_tickets (location_id, local_day, code);
CREATE INDEX queue_tickets_live_idx ON queue_tickets (location_id, status, id);

-- What the business announced (running late, a disruption, a closure), whom it
-- reached, and for how long a running-late delay shifts estimates.
CREATE TABLE broadcasts (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    kind TEXT NOT NULL,
    location_id TEXT NOT NULL REFERENCES locations(id),
    resource_id TEXT REFERENCES resources(id),
    service_id TEXT REFERENCES services(id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    minutes INTEGER,
    message TEXT NOT NULL,
    bookings_affected INTEGER NOT NULL,
    tickets_affected INTEGER NOT NULL,
    notifications_planned INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX broadcasts_resource_idx ON broadcasts (resource_id, ends_at);

-- When a running-late notice expects the visit to start; null: on time.
ALTER TABLE bookings ADD COLUMN expected_start TIMESTAMP;
