//! Diesel queries, one file per aggregate. Every query is scoped by
//! `business_id`; multi-statement writes run in one transaction here.
//!
//! Rows written on the booking path derive `Insertable` with
//! `treat_none_as_default_value = false`: a `None` binds NULL instead of
//! writing `DEFAULT` into the SQL, so each insert has one SQL text and both
//! databases keep it prepared (with `DEFAULT`, diesel parses it every time).

pub mod audit;
pub mod bookings;
pub mod broadcasts;
pub mod businesses;
pub mod calendar;
pub mod clients;
pub mod customers;
pub mod events;
pub mod feedback;
pub mod holds;
pub mod idempotency;
pub mod intents;
pub mod interactions;
pub mod locations;
pub mod notes;
pub mod notifications;
pub mod pauses;
pub mod public;
pub mod queue;
pub mod reports;
pub mod resources;
pub mod services;
pub mod stored;
pub mod timeline;
pub mod webhooks;

use chrono::NaiveDateTime;

use crate::db::{DbConnection, Failure};
use crate::error::AppError;

/// One page of a list: `limit` rows whose id sorts after `after`. The API
/// turns (and signs) cursors into this; the store only ever sees ids.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

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

/// An error inside a write transaction: a rule said no (final), or the
/// database did (maybe worth another attempt; see [`with_retries`]).
#[derive(Debug)]
pub enum TxError {
    App(AppError),
    Db(diesel::result::Error),
}

impl From<AppError> for TxError {
    fn from(error: AppError) -> Self {
        TxError::App(error)
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(error: diesel::result::Error) -> Self {
        TxError::Db(error)
    }
}

/// Runs `work` in a write transaction and runs it again when the database
/// reports a deadlock, a serialization failure, a busy file or a unique-index
/// race (a reference code or a customer created twice at once): those are
/// never the caller's fault and never reach them as a 500. An exclusion
/// violation on allocations means the slot was taken: 409 `slot_unavailable`.
pub fn with_retries<T>(
    conn: &mut DbConnection,
    mut work: impl FnMut(&mut DbConnection) -> Result<T, TxError>,
) -> Result<T, AppError> {
    const ATTEMPTS: u32 = 12;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match crate::db::write_transaction(conn, &mut work) {
            Ok(value) => return Ok(value),
            Err(TxError::App(error)) => return Err(error),
            Err(TxError::Db(error)) => error,
        };
        match crate::db::classify(&error) {
            Failure::Overlap => {
                return Err(AppError::slot_unavailable(
                    "That slot has just been taken; pick another.",
                ))
            }
            Failure::Retry | Failure::Duplicate(_) if attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "retrying write transaction");
                // Back off a little, with jitter, so retries do not collide again.
                let millis = rand::random_range(1..=5u64 * u64::from(attempt));
                std::thread::sleep(std::time::Duration::from_millis(millis));
            }
            Failure::Retry => {
                // Still contended after every attempt: not the caller's
                // fault, and nothing was written, so 503 and "retry", not 500.
                tracing::warn!(%error, attempts = ATTEMPTS, "write still contended after every retry");
                return Err(AppError::unavailable(
                    "Other writes keep contending with this one; nothing was saved, retry shortly.",
                ));
            }
            _ => return Err(AppError::from(error)),
        }
    }
}
