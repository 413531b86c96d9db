//! The notification worker: claims due notifications and sends each one that
//! is still true. `run_once` is one pass, for `serve`'s loop and for tests.

use chrono::{DateTime, Utc};

use crate::db::DbConnection;
use crate::domain::notifications::Sender;
use crate::error::AppError;
use crate::store::notifications::{self, Sent};

/// Notifications one pass claims.
pub const BATCH: i64 = 50;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Pass {
    pub fn total(&self) -> usize {
        self.sent + self.skipped + self.retried + self.failed
    }
}

/// One pass over what is due at `now`.
pub fn run_once(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    sender: &dyn Sender,
) -> Result<Pass, AppError> {
    let mut pass = Pass::default();
    for id in notifications::claim_due(conn, now, BATCH)? {
        match notifications::send_one(conn, &id, now, sender)? {
            Sent::Sent => pass.sent += 1,
            Sent::Skipped(_) => pass.skipped += 1,
            Sent::Retried => pass.retried += 1,
            Sent::Failed => pass.failed += 1,
            Sent::Gone => {}
        }
    }
    Ok(pass)
}
