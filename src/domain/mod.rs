//! Pure business rules: no I/O, no actix, no diesel. Everything here is a plain
//! function over plain values, tested next to its code.

pub mod availability;
pub mod broadcasts;
pub mod catalog;
pub mod contact;
pub mod customer;
pub mod holds;
pub mod hours;
pub mod ics;
pub mod interactions;
pub mod lifecycle;
pub mod notifications;
pub mod partners;
pub mod pauses;
pub mod policy;
pub mod queue;
pub mod reference;
pub mod reports;
pub mod roles;
pub mod texts;
pub mod webhooks;
pub mod zones;
