//! Pausing and resuming a service, resource or location, the bookings a
//! pause affects, and the end of pauses that named one. Each change writes
//! its event in the same transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::bookings::Booking;
use super::events;
use super::PageRequest;
use crate::db::{lock_resources, write_transaction, DbConnection};
use crate::domain::pauses::Paused;
use crate::error::AppError;
use crate::schema::{allocations, bookings, locations, resources, service_requirements, services};

/// A pause as it now stands.
#[derive(Debug, Clone)]
pub struct PauseState {
    pub what: Paused,
    pub id: String,
    pub paused_at: Option<NaiveDateTime>,
    pub reason: Option<String>,
    pub until: Option<NaiveDateTime>,
    /// Where it is: its own id for a location.
    pub location_id: String,
    /// Confirmed bookings from now (to `until`) that it touches.
    pub affected_bookings: i64,
    pub version: i32,
}

type PauseColumns = (
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
    String,
    i32,
);

/// The pause columns of one live (not archived) object of the business.
fn current(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
) -> Result<PauseColumns, AppError> {
    macro_rules! read {
        ($table:ident, $location:expr) => {
            $table::table
                .filter($table::business_id.eq(business))
                .filter($table::id.eq(id))
                .filter($table::archived_at.is_null())
                .select((
                    $table::paused_at,
                    $table::pause_reason,
                    $table::paused_until,
                    $location,
                    $table::version,
                ))
                .first::<PauseColumns>(conn)
                .optional()?
        };
    }
    let found = match what {
        Paused::Service => read!(services, services::location_id),
        Paused::Resource => read!(resources, resources::location_id),
        Paused::Location => read!(locations, locations::id),
    };
    found.ok_or_else(|| AppError::not_found(what.as_str()))
}

fn write(
    conn: &mut DbConnection,
    what: Paused,
    id: &str,
    pause: (Option<NaiveDateTime>, Option<&str>, Option<NaiveDateTime>),
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let (paused_at, reason, until) = pause;
    macro_rules! set {
        ($table:ident) => {
            diesel::update($table::table.filter($table::id.eq(id)))
                .set((
                    $table::paused_at.eq(paused_at),
                    $table::pause_reason.eq(reason),
                    $table::paused_until.eq(until),
                    $table::version.eq($table::version + 1),
                    $table::updated_at.eq(at),
                ))
                .execute(conn)
        };
    }
    match what {
        Paused::Service => set!(services),
        Paused::Resource => set!(resources),
        Paused::Location => set!(locations),
    }
}

/// The resources whose bookings a pause of `what` stops.
fn resources_under(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
) -> QueryResult<Vec<String>> {
    match what {
        Paused::Resource => Ok(vec![id.to_owned()]),
        Paused::Location => resources::table
            .filter(resources::business_id.eq(business))
            .filter(resources::location_id.eq(id))
            .select(resources::id)
            .load(conn),
        Paused::Service => service_requirements::table
            .filter(service_requirements::service_id.eq(id))
            .select(service_requirements::resource_id)
            .load(conn),
    }
}

/// The confirmed bookings a pause of `what` touches: those still to end,
/// starting before `until` when it has one.
fn affected_query<'a>(
    what: Paused,
    id: &'a str,
    now: NaiveDateTime,
    until: Option<NaiveDateTime>,
) -> bookings::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut query = bookings::table
        .filter(bookings::status.eq("confirmed"))
        .filter(bookings::ends_at.gt(now))
        .into_boxed();
    if let Some(until) = until {
        query = query.filter(bookings::starts_at.lt(until));
    }
    match what {
        Paused::Service => query.filter(bookings::service_id.eq(id)),
        Paused::Location => query.filter(bookings::location_id.eq(id)),
        Paused::Resource => query.filter(
            bookings::id.nullable().eq_any(
                allocations::table
                    .filter(allocations::resource_id.eq(id))
                    .select(allocations::booking_id),
            ),
        ),
    }
}

fn count_affected(
    conn: &mut DbConnection,
    what: Paused,
    id: &str,
    now: NaiveDateTime,
    until: Option<NaiveDateTime>,
) -> QueryResult<i64> {
    affected_query(what, id, now, until)
        .count()
        .get_result(conn)
}

fn state(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
    at: NaiveDateTime,
) -> Result<PauseState, AppError> {
    let (paused_at, reason, until, location_id, version) = current(conn, what, business, id)?;
    let affected_bookings = match paused_at {
        Some(_) => count_affected(conn, what, id, at, until)?,
        None => 0,
    };
    Ok(PauseState {
        what,
        id: id.to_owned(),
        paused_at,
        reason,
        until,
        location_id,
        affected_bookings,
        version,
    })
}

/// Pauses `what` at once, for every channel; pausing again replaces the
/// reason and end. Existing bookings stay: the answer counts them.
pub fn pause(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
    reason: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<PauseState, AppError> {
    let at = now.naive_utc();
    let until = until.map(|u| u.naive_utc());
    write_transaction(conn, |conn| {
        let (paused_at, ..) = current(conn, what, business, id)?;
        // The locks every booking and hold takes on its resources: one on its
        // way finishes first (and is counted as affected); the next one waits,
        // then sees the pause.
        let under = resources_under(conn, what, business, id)?;
        lock_resources(conn, &under)?;
        // A pause that is replaced keeps when it began.
        let since = paused_at.unwrap_or(at);
        write(conn, what, id, (Some(since), Some(reason), until), at)?;
        let paused = state(conn, what, business, id, at)?;
        events::append(
            conn,
            business,
            &format!("{}.paused", what.as_str()),
            id,
            &json!({
                format!("{}_id", what.as_str()): id,
                "location_id": paused.location_id,
                "reason": reason,
                "until": until.map(|u| u.and_utc()),
                "affected_bookings": paused.affected_bookings,
            }),
            at,
        )?;
        Ok(paused)
    })
}

/// Ends a pause now; 409 `not_paused` when there is none in force.
pub fn resume(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<PauseState, AppError> {
    let at = now.naive_utc();
    write_transaction(conn, |conn| {
        let (paused_at, _, until, location_id, _) = current(conn, what, business, id)?;
        if !crate::domain::pauses::in_force(paused_at, until, now) {
            return Err(AppError::conflict(
                "not_paused",
                "Not paused",
                format!("The {} is not paused.", what.as_str()),
            ));
        }
        end_pause(
            conn,
            what,
            (business, id, &location_id),
            "resumed by staff",
            at,
        )?;
        state(conn, what, business, id, at)
    })
}

/// Clears a pause of `(business, id, location)` and writes its `….resumed`.
fn end_pause(
    conn: &mut DbConnection,
    what: Paused,
    (business, id, location_id): (&str, &str, &str),
    how: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    write(conn, what, id, (None, None, None), at)?;
    events::append(
        conn,
        business,
        &format!("{}.resumed", what.as_str()),
        id,
        &json!({
            format!("{}_id", what.as_str()): id,
            "location_id": location_id,
            "how": how,
        }),
        at,
    )?;
    Ok(())
}

/// Where a pause stands, with its affected bookings counted.
pub fn find(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<PauseState, AppError> {
    state(conn, what, business, id, now.naive_utc())
}

/// The bookings a pause in force touches, soonest first (none when not paused).
pub fn affected_bookings(
    conn: &mut DbConnection,
    what: Paused,
    business: &str,
    id: &str,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> Result<(PauseState, Vec<Booking>), AppError> {
    let paused = state(conn, what, business, id, now.naive_utc())?;
    if paused.paused_at.is_none() {
        return Ok((paused, Vec::new()));
    }
    let mut query = affected_query(what, id, now.naive_utc(), paused.until)
        .filter(bookings::business_id.eq(business))
        .order(bookings::id.asc())
        .limit(page.limit + 1);
    if let Some(after) = &page.after {
        query = query.filter(bookings::id.gt(after.clone()));
    }
    let found = query.select(Booking::as_select()).load(conn)?;
    Ok((paused, found))
}

/// Ends every pause whose `until` has passed, each with its `….resumed`
/// event (the rules already treat them as over). Returns how many.
pub fn end_lapsed(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    let at = now.naive_utc();
    macro_rules! lapsed {
        ($table:ident) => {
            $table::table
                .filter($table::paused_at.is_not_null())
                .filter($table::paused_until.le(at))
                .select(($table::business_id, $table::id))
                .load::<(String, String)>(conn)?
        };
    }
    let mut ended = 0;
    for (what, found) in [
        (Paused::Service, lapsed!(services)),
        (Paused::Resource, lapsed!(resources)),
        (Paused::Location, lapsed!(locations)),
    ] {
        for (business, id) in found {
            write_transaction(conn, |conn| {
                // Looked at again inside the transaction: staff may have
                // resumed or extended it meanwhile.
                let (paused_at, _, until, location_id, _) = current(conn, what, &business, &id)?;
                if paused_at.is_some() && until.is_some_and(|u| u <= at) {
                    end_pause(
                        conn,
                        what,
                        (&business, &id, &location_id),
                        "its time ran out",
                        at,
                    )?;
                    ended += 1;
                }
                Ok::<_, AppError>(())
            })?;
        }
    }
    Ok(ended)
}
