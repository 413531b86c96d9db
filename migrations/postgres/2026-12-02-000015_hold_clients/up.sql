-- The partner client whose request took the hold, as bookings record it.
ALTER TABLE holds ADD COLUMN client_id TEXT;
