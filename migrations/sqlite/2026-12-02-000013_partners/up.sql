-- Partner apps: registered OAuth clients of a business (client credentials),
-- and the client that made each booking, history row and event.
CREATE TABLE partner_clients (
    id TEXT PRIMARY KEY NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    previous_secret_hash TEXT,
    previous_secret_until TIMESTAMP,
    disabled BOOLEAN NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX partner_clients_business_idx ON partner_clients (business_id, id);

ALTER TABLE bookings ADD COLUMN client_id TEXT;
CREATE INDEX bookings_client_idx ON bookings (business_id, client_id);
ALTER TABLE booking_history ADD COLUMN client_id TEXT;
ALTER TABLE events ADD COLUMN client_id TEXT;
