//! HTTP-level tests of the running service, each on SQLite and on PostgreSQL.

mod harness;

mod catalog;
mod cli;
mod foundation;
mod schema;
