-- The online door: a business is found by its public slug, and a hold
-- remembers the address of the stranger who took it (for the per-address cap).
ALTER TABLE businesses ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX businesses_slug_idx ON businesses (slug);
UPDATE businesses SET slug = 'northside' WHERE id = 'biz_demo';
ALTER TABLE holds ADD COLUMN client_address TEXT;
-- The booking a hold became, so a second attempt can be pointed at it.
ALTER TABLE holds ADD COLUMN booking_id TEXT;
CREATE INDEX holds_client_idx ON holds (business_id, client_address, status);
