DROP TABLE idempotency_records;
DROP TABLE booking_history;
DROP TABLE events;
DROP TABLE allocations;
DROP TABLE bookings;
DROP TABLE holds;
DROP TABLE customers;
