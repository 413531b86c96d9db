//! The lapse worker: settles what time alone has ended, holds past their
//! expiry and pauses past their `until`, with their events. Reads already
//! ignore both, so a pass only makes the record complete. `run_once` is one
//! pass, for `serve`'s loop and for tests.

use chrono::{DateTime, Utc};

use crate::db::DbConnection;
use crate::error::AppError;
use crate::store::{holds, pauses};

/// What one pass settled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Holds marked expired, each with its `hold.expired` event.
    pub holds_expired: usize,
    /// Pauses ended, each with its `….resumed` event.
    pub pauses_ended: usize,
}

/// One pass over what has lapsed by `now`. The holds are settled first and
/// in their own transaction, so a failing pause sweep keeps them settled.
pub fn run_once(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Pass, AppError> {
    let holds_expired = holds::expire_all_lapsed(conn, now)?;
    let pauses_ended = pauses::end_lapsed(conn, now)?;
    Ok(Pass {
        holds_expired,
        pauses_ended,
    })
}
