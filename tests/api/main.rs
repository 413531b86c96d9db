//! HTTP-level tests of the running service, each on SQLite and on PostgreSQL.

mod harness;

mod bookings;
mod catalog;
mod cli;
mod foundation;
mod idempotency;
mod races;
mod schema;
mod shop;
