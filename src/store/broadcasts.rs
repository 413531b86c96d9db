//! Broadcasts: the business tells everyone a change touches — running late,
//! a disruption, a closure — once each, and a running-late notice shifts the
//! queue's estimates and the affected bookings' expected start.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::json;

use super::bookings::Booking;
use super::{events, locations, notifications, queue, with_retries};
use crate::db::DbConnection;
use crate::domain::catalog::parse_time_zone;
use crate::domain::notifications::notice_line;
use crate::error::AppError;
use crate::schema::{allocations, bookings, broadcasts, queue_tickets, resources};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = broadcasts)]
pub struct Broadcast {
    pub id: String,
    pub business_id: String,
    /// `running_late`, `disruption` or `closure`.
    pub kind: String,
    pub location_id: String,
    pub resource_id: Option<String>,
    pub service_id: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub minutes: Option<i32>,
    pub message: String,
    pub bookings_affected: i32,
    pub tickets_affected: i32,
    pub notifications_planned: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

/// Whom a broadcast is about.
#[derive(Debug, Clone)]
pub enum Audience {
    Resource(String),
    Location(String),
    Service(String),
}

#[derive(Debug, Clone)]
pub struct NewBroadcast {
    pub kind: String,
    pub audience: Audience,
    /// Bookings starting in `[from, to)` are affected.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub minutes: Option<i32>,
    pub message: String,
}

/// Sends a broadcast: finds every live booking starting in the span for its
/// audience and every live ticket that could be served there, plans one
/// notice per booking, marks running-late bookings' expected start, and
/// recomputes the location's queue — one transaction, one `broadcast.sent`.
pub fn send(
    conn: &mut DbConnection,
    business: &str,
    request: &NewBroadcast,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<Broadcast, AppError> {
    let at = now.naive_utc();
    with_retries(conn, |conn| {
        let (location_id, resource_ids) = audience_resources(conn, business, &request.audience)?;
        crate::db::lock_resources(conn, &resource_ids)?;
        let affected = affected_bookings(conn, business, request)?;
        let id = crate::ids::new_id("brd");
        let planned = tell_affected(conn, business, &id, request, &affected, at)?;
        let tickets_affected = tickets_affected(conn, &location_id, &request.audience)?;
        let (resource_id, service_id) = match &request.audience {
            Audience::Resource(id) => (Some(id.clone()), None),
            Audience::Service(id) => (None, Some(id.clone())),
            Audience::Location(_) => (None, None),
        };
        let broadcast = Broadcast {
            id,
            business_id: business.to_owned(),
            kind: request.kind.clone(),
            location_id: location_id.clone(),
            resource_id,
            service_id,
            starts_at: request.from.naive_utc(),
            ends_at: request.to.naive_utc(),
            minutes: request.minutes,
            message: request.message.clone(),
            bookings_affected: affected.len() as i32,
            tickets_affected: tickets_affected as i32,
            notifications_planned: planned,
            created_by: created_by.to_owned(),
            created_at: at,
        };
        diesel::insert_into(broadcasts::table)
            .values(&broadcast)
            .execute(conn)?;
        let location = locations::find(conn, business, &location_id)?;
        queue::refresh(conn, &location, now, None)?;
        record_sent(conn, &broadcast, at)?;
        Ok(broadcast)
    })
}

/// The live bookings starting in the span for the audience, soonest first.
fn affected_bookings(
    conn: &mut DbConnection,
    business: &str,
    request: &NewBroadcast,
) -> QueryResult<Vec<Booking>> {
    let affected = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::status.eq_any(["confirmed", "checked_in"]))
        .filter(bookings::starts_at.ge(request.from.naive_utc()))
        .filter(bookings::starts_at.lt(request.to.naive_utc()))
        .select(Booking::as_select())
        .order(bookings::starts_at.asc())
        .into_boxed();
    match &request.audience {
        Audience::Resource(id) => {
            let booked = allocations::table
                .filter(allocations::resource_id.eq(id.clone()))
                .filter(allocations::active.eq(true))
                .filter(allocations::booking_id.is_not_null())
                .select(allocations::booking_id.assume_not_null());
            affected.filter(bookings::id.eq_any(booked))
        }
        Audience::Location(id) => affected.filter(bookings::location_id.eq(id.clone())),
        Audience::Service(id) => affected.filter(bookings::service_id.eq(id.clone())),
    }
    .load(conn)
}

/// Plans one notice per affected booking and, when running late, marks
/// each one's expected start; says how many notices were planned.
fn tell_affected(
    conn: &mut DbConnection,
    business: &str,
    broadcast_id: &str,
    request: &NewBroadcast,
    affected: &[Booking],
    at: NaiveDateTime,
) -> QueryResult<i32> {
    let late = (request.kind == "running_late").then_some(request.minutes.unwrap_or(0));
    let notice = notice_line(late.map(i64::from), &request.message);
    let mut planned = 0;
    for booking in affected {
        if let Some(minutes) = late {
            let expected = booking.starts_at + Duration::minutes(minutes.into());
            diesel::update(bookings::table.filter(bookings::id.eq(&booking.id)))
                .set(bookings::expected_start.eq(Some(expected)))
                .execute(conn)?;
        }
        if notifications::plan_notice(
            conn,
            business,
            &booking.id,
            &booking.customer_id,
            broadcast_id,
            &notice,
            at,
        )? {
            planned += 1;
        }
    }
    Ok(planned)
}

/// How many live queue tickets at the location the audience could serve.
fn tickets_affected(
    conn: &mut DbConnection,
    location_id: &str,
    audience: &Audience,
) -> QueryResult<i64> {
    let mut tickets = queue_tickets::table
        .filter(queue_tickets::location_id.eq(location_id))
        .filter(queue_tickets::status.eq_any(["waiting", "called"]))
        .into_boxed();
    match audience {
        Audience::Service(id) => {
            tickets = tickets.filter(queue_tickets::service_id.eq(id.clone()));
        }
        Audience::Resource(id) => {
            use crate::schema::service_requirements as reqs;
            let served = reqs::table
                .filter(reqs::resource_id.eq(id.clone()))
                .select(reqs::service_id);
            tickets = tickets.filter(queue_tickets::service_id.eq_any(served));
        }
        Audience::Location(_) => {}
    }
    tickets.count().get_result(conn)
}

/// The `broadcast.sent` event, with the counts.
fn record_sent(
    conn: &mut DbConnection,
    broadcast: &Broadcast,
    at: NaiveDateTime,
) -> QueryResult<()> {
    events::append(
        conn,
        &broadcast.business_id,
        "broadcast.sent",
        &broadcast.id,
        &json!({
            "broadcast_id": broadcast.id,
            "kind": broadcast.kind,
            "location_id": broadcast.location_id,
            "resource_id": broadcast.resource_id,
            "service_id": broadcast.service_id,
            "minutes": broadcast.minutes,
            "message": broadcast.message,
            "bookings_affected": broadcast.bookings_affected,
            "tickets_affected": broadcast.tickets_affected,
            "notifications_planned": broadcast.notifications_planned,
        }),
        at,
    )
}

/// The time zone of the location a broadcast is about (404 for an audience
/// the business does not have): the day a broadcast's span defaults to is
/// that location's.
pub fn audience_zone(
    conn: &mut DbConnection,
    business: &str,
    audience: &Audience,
) -> Result<Tz, AppError> {
    let location_id = match audience {
        Audience::Resource(id) => super::resources::find(conn, business, id)?.location_id,
        Audience::Location(id) => id.clone(),
        Audience::Service(id) => super::services::find(conn, business, id)?.row.location_id,
    };
    let location = locations::find(conn, business, &location_id)?;
    parse_time_zone(&location.timezone).map_err(AppError::internal)
}

/// The location a broadcast is about, and the resources whose queue it moves.
fn audience_resources(
    conn: &mut DbConnection,
    business: &str,
    audience: &Audience,
) -> Result<(String, Vec<String>), AppError> {
    match audience {
        Audience::Resource(id) => {
            let resource = super::resources::find(conn, business, id)?;
            Ok((resource.location_id, vec![resource.id]))
        }
        Audience::Location(id) => {
            let location = locations::find(conn, business, id)?;
            let ids = resources::table
                .filter(resources::location_id.eq(&location.id))
                .select(resources::id)
                .load(conn)?;
            Ok((location.id, ids))
        }
        Audience::Service(id) => {
            let service = super::services::find(conn, business, id)?;
            let ids = service.requirements.into_iter().flatten().collect();
            Ok((service.row.location_id, ids))
        }
    }
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Broadcast, AppError> {
    broadcasts::table
        .filter(broadcasts::business_id.eq(business))
        .filter(broadcasts::id.eq(id))
        .select(Broadcast::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("broadcast"))
}

/// The running-late delay in force now on each resource: the latest notice
/// about it (or its location) whose span has not ended. A newer notice
/// replaces an older one ("now 20 minutes late"), rather than adding to it.
pub fn delays(
    conn: &mut DbConnection,
    resource_ids: &[String],
    now: DateTime<Utc>,
) -> QueryResult<HashMap<String, Duration>> {
    let located: Vec<(String, String)> = resources::table
        .filter(resources::id.eq_any(resource_ids))
        .select((resources::id, resources::location_id))
        .load(conn)?;
    let locations: Vec<&str> = located.iter().map(|(_, l)| l.as_str()).collect();
    let notices: Vec<(Option<String>, String, Option<i32>)> = broadcasts::table
        .filter(broadcasts::kind.eq("running_late"))
        .filter(broadcasts::service_id.is_null())
        .filter(broadcasts::location_id.eq_any(locations))
        .filter(broadcasts::starts_at.le(now.naive_utc()))
        .filter(broadcasts::ends_at.gt(now.naive_utc()))
        .order(broadcasts::id.asc())
        .select((
            broadcasts::resource_id,
            broadcasts::location_id,
            broadcasts::minutes,
        ))
        .load(conn)?;
    let mut delays = HashMap::new();
    for (resource, location, minutes) in notices {
        let minutes = Duration::minutes(minutes.unwrap_or(0).into());
        for (id, at) in &located {
            if resource.as_deref() == Some(id.as_str()) || (resource.is_none() && at == &location) {
                delays.insert(id.clone(), minutes);
            }
        }
    }
    Ok(delays)
}
