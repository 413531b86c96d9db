//! Pure business rules: no I/O, no actix, no diesel. Everything here is a plain
//! function over plain values, tested next to its code.

pub mod catalog;
pub mod hours;
pub mod availability;
