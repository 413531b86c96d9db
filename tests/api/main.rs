//! HTTP-level tests of the running service, each on SQLite and on PostgreSQL.

mod harness;

mod audit;
mod availability_forms;
mod bookings;
mod browser;
mod catalog;
mod cli;
mod contacts;
mod customers;
mod durability;
mod edges;
mod feedback;
mod foundation;
mod freshness;
mod hardening;
mod idempotency;
mod layers;
mod memory;
mod memory_access;
mod notifications;
mod online;
mod partners;
mod pauses;
mod races;
mod receiver;
mod schema;
mod shop;
mod verified_elsewhere;
mod walk_ins;
mod webhooks;
mod workers;
