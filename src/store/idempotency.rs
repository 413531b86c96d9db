//! Idempotency records: the first answer to a POST sent with an
//! `Idempotency-Key`, kept per caller so a retry gets that answer again
//! instead of doing the work twice.
//!
//! The primary key (business, principal, key) is the lock: whoever inserts the
//! in-flight row (no status yet) runs the request; everyone else reads the
//! row and learns whether to replay it, wait, or refuse a reused key. Plain
//! INSERT / SELECT / UPDATE / DELETE only, so the same statements run on both
//! backends (no `ON CONFLICT`, no `RETURNING`).

use chrono::{Duration, NaiveDateTime, SubsecRound};
use diesel::prelude::*;

use crate::db::{classify, DbConnection, Failure};
use crate::error::AppError;
use crate::schema::idempotency_records;

/// How long a key is remembered; an older record is as good as absent.
pub const RETENTION: Duration = Duration::hours(24);

/// An in-flight record older than this belongs to a request that died
/// (a crash, a panic past our guard, a lost connection) and no longer
/// blocks its key. Far above any real request's duration.
pub const ABANDONED_AFTER: Duration = Duration::minutes(1);

/// Whose keys these are: a key means something only to the caller who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub business_id: String,
    pub principal: String,
}

/// The parts of a response a replay must reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What the caller of [`claim`] should do with its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run the request, then [`complete`] or [`release`] the record created at `started`.
    Granted { started: NaiveDateTime },
    /// The same request already ran: send its response again.
    Replay(StoredResponse),
    /// The same request is running right now.
    InFlight,
    /// The key was first used for a different request.
    Reused,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_records)]
#[diesel(treat_none_as_default_value = false)]
struct IdempotencyRecord {
    business_id: String,
    principal: String,
    idempotency_key: String,
    request_hash: String,
    status_code: Option<i32>,
    response_body: Option<String>,
    response_headers: Option<String>,
    created_at: NaiveDateTime,
}

/// Claims `key` for the request whose fingerprint is `request_hash`, or says
/// why not. A stale record (past [`RETENTION`]) or an abandoned in-flight one
/// (past [`ABANDONED_AFTER`]) is deleted and the claim tried again; when two
/// callers race for it, the primary key lets exactly one insert.
pub fn claim(
    conn: &mut DbConnection,
    scope: &KeyScope,
    key: &str,
    request_hash: &str,
    now: NaiveDateTime,
) -> Result<Claim, AppError> {
    // Whole microseconds: what PostgreSQL keeps, so the value we remember
    // compares equal to the stored one in `complete` and `release`.
    let started = now.trunc_subsecs(6);
    const ATTEMPTS: u32 = 12;
    for attempt in 1..=ATTEMPTS {
        let record = IdempotencyRecord {
            business_id: scope.business_id.clone(),
            principal: scope.principal.clone(),
            idempotency_key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            status_code: None,
            response_body: None,
            response_headers: None,
            created_at: started,
        };
        let inserted = diesel::insert_into(idempotency_records::table)
            .values(&record)
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(Claim::Granted { started }),
            Err(error) => match classify(&error) {
                Failure::Duplicate(_) => {}
                Failure::Lost => return Err(AppError::from(error)),
                Failure::Retry => {
                    back_off(attempt);
                    continue;
                }
                _ => return Err(AppError::internal(format!("idempotency claim: {error}"))),
            },
        }
        let Some(existing) = find(conn, scope, key)? else {
            // Deleted between our insert and our read: try again.
            continue;
        };
        if existing.created_at < now - RETENTION {
            forget_older_than(conn, scope, key, now - RETENTION, false)?;
            continue;
        }
        if existing.request_hash != request_hash {
            return Ok(Claim::Reused);
        }
        let Some(status) = existing.status_code else {
            if existing.created_at < now - ABANDONED_AFTER {
                tracing::warn!(key, "taking over an abandoned idempotency key");
                forget_older_than(conn, scope, key, now - ABANDONED_AFTER, true)?;
                continue;
            }
            return Ok(Claim::InFlight);
        };
        return Ok(Claim::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: existing
                .response_headers
                .as_deref()
                .and_then(|h| serde_json::from_str(h).ok())
                .unwrap_or_default(),
            body: existing.response_body.unwrap_or_default(),
        }));
    }
    // Someone keeps re-creating the record as fast as we clear it: the key is busy.
    Ok(Claim::InFlight)
}

/// Stores the response of the request that claimed the key at `started`.
/// Returns `false` when the claim was lost meanwhile (taken over as
/// abandoned): the newer request's answer is the one that counts then.
pub fn complete(
    conn: &mut DbConnection,
    scope: &KeyScope,
    key: &str,
    started: NaiveDateTime,
    response: &StoredResponse,
) -> Result<bool, AppError> {
    let headers = serde_json::to_string(&response.headers)
        .map_err(|e| AppError::internal(format!("idempotency headers: {e}")))?;
    let updated = diesel::update(
        idempotency_records::table
            .find(id(scope, key))
            .filter(idempotency_records::created_at.eq(started))
            .filter(idempotency_records::status_code.is_null()),
    )
    .set((
        idempotency_records::status_code.eq(i32::from(response.status)),
        idempotency_records::response_body.eq(&response.body),
        idempotency_records::response_headers.eq(headers),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Drops the in-flight record claimed at `started`, so the key may be used
/// again: for answers that are not worth replaying (a server error) and for
/// requests that never finished.
pub fn release(
    conn: &mut DbConnection,
    scope: &KeyScope,
    key: &str,
    started: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::delete(
        idempotency_records::table
            .find(id(scope, key))
            .filter(idempotency_records::created_at.eq(started))
            .filter(idempotency_records::status_code.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes every record past [`RETENTION`] at `now`; returns how many.
pub fn prune(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        idempotency_records::table.filter(idempotency_records::created_at.lt(now - RETENTION)),
    )
    .execute(conn)
}

/// The primary key of the caller's record for `key`.
fn id<'a>(scope: &'a KeyScope, key: &'a str) -> (&'a str, &'a str, &'a str) {
    (&scope.business_id, &scope.principal, key)
}

fn find(
    conn: &mut DbConnection,
    scope: &KeyScope,
    key: &str,
) -> Result<Option<IdempotencyRecord>, AppError> {
    Ok(idempotency_records::table
        .find(id(scope, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes the record if it is older than `cutoff` (and, with
/// `only_in_flight`, still unanswered): the condition is re-checked in the
/// statement, so a record someone renewed meanwhile survives.
fn forget_older_than(
    conn: &mut DbConnection,
    scope: &KeyScope,
    key: &str,
    cutoff: NaiveDateTime,
    only_in_flight: bool,
) -> Result<(), AppError> {
    let stale = idempotency_records::table
        .find(id(scope, key))
        .filter(idempotency_records::created_at.lt(cutoff));
    if only_in_flight {
        diesel::delete(stale.filter(idempotency_records::status_code.is_null())).execute(conn)?;
    } else {
        diesel::delete(stale).execute(conn)?;
    }
    Ok(())
}

fn back_off(attempt: u32) {
    let millis = rand::random_range(1..=5u64 * u64::from(attempt));
    std::thread::sleep(std::time::Duration::from_millis(millis));
}
