ALTER TABLE bookings DROP COLUMN expected_start;
DROP TABLE broadcasts;
DROP TABLE queue_tickets;
