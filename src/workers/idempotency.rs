//! The idempotency worker: deletes records past their day. Claims already
//! ignore such records; a pass only keeps the table small. `run_once` is one
//! pass, for `serve`'s loop and for tests.

use chrono::{DateTime, Utc};

use crate::db::DbConnection;
use crate::error::AppError;
use crate::store::idempotency;

/// One pass at `now`: how many records it pruned.
pub fn run_once(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    Ok(idempotency::prune(conn, now.naive_utc())?)
}
