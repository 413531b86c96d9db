//! slotwise: one appointment booking API behind every channel a customer uses.

pub mod api;
pub mod app;
pub mod booking;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod faults;
pub mod ids;
pub mod schema;
pub mod store;
pub mod telemetry;
pub mod workers;
