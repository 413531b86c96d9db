-- Tenants and the catalog they book from: locations, resources, services.
CREATE TABLE businesses (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE locations (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    name TEXT NOT NULL,
    address TEXT,
    phone TEXT,
    email TEXT,
    timezone TEXT NOT NULL,
    paused_at TIMESTAMP,
    pause_reason TEXT,
    archived_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX locations_business_idx ON locations (business_id, id);

CREATE TABLE location_closures (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX location_closures_location_idx ON location_closures (location_id, starts_on);

CREATE TABLE resources (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'room', 'equipment')),
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    paused_at TIMESTAMP,
    pause_reason TEXT,
    archived_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX resources_business_idx ON resources (business_id, id);
CREATE INDEX resources_location_idx ON resources (location_id);

CREATE TABLE resource_hours (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    CHECK (end_minute > start_minute)
);
CREATE INDEX resource_hours_resource_idx ON resource_hours (resource_id, weekday);

CREATE TABLE resource_time_off (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX resource_time_off_resource_idx ON resource_time_off (resource_id, starts_at);

CREATE TABLE services (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    location_id TEXT NOT NULL REFERENCES locations(id),
    name TEXT NOT NULL,
    description TEXT,
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    buffer_before_minutes INTEGER NOT NULL CHECK (buffer_before_minutes >= 0),
    buffer_after_minutes INTEGER NOT NULL CHECK (buffer_after_minutes >= 0),
    slot_step_minutes INTEGER NOT NULL CHECK (slot_step_minutes > 0),
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    price_cents BIGINT,
    currency TEXT,
    min_notice_minutes INTEGER NOT NULL CHECK (min_notice_minutes >= 0),
    max_advance_minutes INTEGER NOT NULL CHECK (max_advance_minutes > 0),
    cancel_cutoff_minutes INTEGER NOT NULL CHECK (cancel_cutoff_minutes >= 0),
    reschedule_cutoff_minutes INTEGER NOT NULL CHECK (reschedule_cutoff_minutes >= 0),
    channels TEXT NOT NULL,
    paused_at TIMESTAMP,
    pause_reason TEXT,
    archived_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX services_business_idx ON services (business_id, id);

-- A service needs one resource from each requirement group ("one of these
-- staff", "one of these rooms").
CREATE TABLE service_requirements (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    group_no INTEGER NOT NULL CHECK (group_no >= 0),
    resource_id TEXT NOT NULL REFERENCES resources(id),
    business_id TEXT NOT NULL REFERENCES businesses(id),
    PRIMARY KEY (service_id, group_no, resource_id)
);
CREATE INDEX service_requirements_resource_idx ON service_requirements (resource_id);
