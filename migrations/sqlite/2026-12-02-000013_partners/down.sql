ALTER TABLE events DROP COLUMN client_id;
ALTER TABLE booking_history DROP COLUMN client_id;
DROP INDEX bookings_client_idx;
ALTER TABLE bookings DROP COLUMN client_id;
DROP TABLE partner_clients;
