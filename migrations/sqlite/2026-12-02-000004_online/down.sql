DROP INDEX holds_client_idx;
ALTER TABLE holds DROP COLUMN booking_id;
ALTER TABLE holds DROP COLUMN client_address;
DROP INDEX businesses_slug_idx;
ALTER TABLE businesses DROP COLUMN slug;
