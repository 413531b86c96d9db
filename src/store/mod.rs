//! Diesel queries, one file per aggregate. Every query is scoped by
//! `business_id`; multi-statement writes run in one transaction here.

pub mod businesses;
pub mod locations;
pub mod resources;
pub mod services;

use chrono::NaiveDateTime;

use crate::error::AppError;

/// The current instant as stored: UTC without an offset.
pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// 412 when the caller's `If-Match` version is not the stored one.
pub fn check_version(stored: i32, expected: Option<i32>) -> Result<(), AppError> {
    match expected {
        Some(v) if v != stored => Err(AppError::version_mismatch(Some(stored))),
        _ => Ok(()),
    }
}

/// Fails with 412 when an optimistic `UPDATE … WHERE version = ?` touched no
/// row: someone else wrote between our read and our write.
pub fn expect_one_row(updated: usize, stored: i32) -> Result<(), AppError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(AppError::version_mismatch(Some(stored + 1)))
    }
}
