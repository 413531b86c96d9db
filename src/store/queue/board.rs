//! The board: who is in service, the appointments that have arrived and the
//! tickets in serve order, each with its estimate, computed from the
//! location's lanes and how long its services' visits really take.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::Ticket;
use crate::db::DbConnection;
use crate::domain::availability::{self, working_time};
use crate::domain::catalog::parse_time_zone;
use crate::domain::lifecycle::BookingStatus;
use crate::domain::queue::{
    self, appointment_estimate, typical_and_long, Estimate, Lane, Taken, Visit,
};
use crate::error::AppError;
use crate::schema::{
    allocations, booking_history, bookings as booking_rows, queue_tickets, resources,
};
use crate::store::bookings::Booking;
use crate::store::calendar::{self, Except};
use crate::store::locations::{self, Location};
use crate::store::resources::Resource;
use crate::store::services::{self, Service};

/// One line of the board: a ticket with its estimate.
#[derive(Debug, Clone)]
pub struct QueuedTicket {
    pub ticket: Ticket,
    /// 1 for the next to be served.
    pub position: u32,
    pub estimate: Estimate,
}

/// An appointment that has arrived, with when it is likely to start.
#[derive(Debug, Clone)]
pub struct ArrivedVisit {
    pub booking: Booking,
    pub customer_name: String,
    pub estimate: (DateTime<Utc>, DateTime<Utc>),
}

/// A location's queue as the desk sees it.
#[derive(Debug, Clone)]
pub struct Board {
    pub location: Location,
    pub tz: Tz,
    pub as_of: DateTime<Utc>,
    pub in_service: Vec<(Booking, String)>,
    pub arrived: Vec<ArrivedVisit>,
    pub tickets: Vec<QueuedTicket>,
}

impl Board {
    pub fn entry(&self, ticket_id: &str) -> Option<&QueuedTicket> {
        self.tickets.iter().find(|t| t.ticket.id == ticket_id)
    }
}

/// The board of a location, computed fresh (reads write nothing).
pub fn board(
    conn: &mut DbConnection,
    business: &str,
    location_id: &str,
    now: DateTime<Utc>,
) -> Result<Board, AppError> {
    let location = locations::find(conn, business, location_id)?;
    board_of(conn, &location, now)
}

#[derive(Debug, Queryable)]
struct Allocated {
    resource_id: String,
    booking_id: Option<String>,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
}

/// A service as the board plans with it: how long its visits typically
/// take, and how long a long one runs.
struct Planned {
    service: Service,
    typical: Duration,
    long: Duration,
}

impl Planned {
    fn buffer_before(&self) -> Duration {
        Duration::minutes(self.service.row.buffer_before_minutes.into())
    }

    fn buffer_after(&self) -> Duration {
        Duration::minutes(self.service.row.buffer_after_minutes.into())
    }
}

pub(super) fn board_of(
    conn: &mut DbConnection,
    location: &Location,
    now: DateTime<Utc>,
) -> Result<Board, AppError> {
    let tz = parse_time_zone(&location.timezone).map_err(AppError::internal)?;
    // A day ahead: far enough for any queue, and the same at any hour for a
    // business open around the clock.
    let horizon = now + Duration::days(1);
    let tickets = live_tickets(conn, &location.id)?;
    let visits_today = visits_in_house(conn, &location.id, now, horizon)?;
    let plans = plan_services(conn, &location.business_id, &tickets, &visits_today)?;
    let lanes = lanes(conn, location, tz, &visits_today, &plans, now, horizon)?;
    let visits: Vec<Visit> = tickets
        .iter()
        .map(|t| queued_visit(t, &plans[&t.service_id]))
        .collect();
    let estimates = queue::estimate(&lanes, &visits, now, horizon);
    let names = customer_names(conn, &visits_today)?;
    let name_of = |b: &Booking| names.get(&*b.customer_id).cloned().unwrap_or_default();
    let in_service = visits_today
        .iter()
        .filter(|b| b.status.is(BookingStatus::InService))
        .map(|b| (b.clone(), name_of(b)))
        .collect();
    let arrived = visits_today
        .iter()
        .filter(|b| b.status.is(BookingStatus::CheckedIn))
        .map(|b| ArrivedVisit {
            booking: b.clone(),
            customer_name: name_of(b),
            estimate: appointment_estimate(&lanes, &b.resources(), b.starts_at.and_utc(), now),
        })
        .collect();
    Ok(Board {
        location: location.clone(),
        tz,
        as_of: now,
        in_service,
        arrived,
        tickets: tickets
            .into_iter()
            .zip(estimates)
            .enumerate()
            .map(|(i, (ticket, estimate))| QueuedTicket {
                ticket,
                position: i as u32 + 1,
                estimate,
            })
            .collect(),
    })
}

/// The location's waiting and called tickets in the order they are served.
fn live_tickets(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<Ticket>> {
    let mut tickets: Vec<Ticket> = queue_tickets::table
        .filter(queue_tickets::location_id.eq(location_id))
        .filter(queue_tickets::status.eq_any(["waiting", "called"]))
        .select(Ticket::as_select())
        .order(queue_tickets::id.asc())
        .load(conn)?;
    // Called first (they are on their way to the chair), then by arrival.
    tickets.sort_by_key(|t| (t.status != "called", t.id.clone()));
    Ok(tickets)
}

/// Bookings of the location that have arrived or are being served, from a
/// day back to the horizon.
fn visits_in_house(
    conn: &mut DbConnection,
    location_id: &str,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> QueryResult<Vec<Booking>> {
    booking_rows::table
        .filter(booking_rows::location_id.eq(location_id))
        .filter(booking_rows::status.eq_any(["checked_in", "in_service"]))
        .filter(booking_rows::starts_at.lt(horizon.naive_utc()))
        .filter(booking_rows::ends_at.gt((now - Duration::days(1)).naive_utc()))
        .select(Booking::as_select())
        .order(booking_rows::starts_at.asc())
        .load(conn)
}

/// Durations per service of the tickets and visits: what completed visits
/// took, else the service's own.
fn plan_services(
    conn: &mut DbConnection,
    business: &str,
    tickets: &[Ticket],
    visits_today: &[Booking],
) -> Result<HashMap<String, Planned>, AppError> {
    let mut service_ids: BTreeSet<String> = tickets.iter().map(|t| t.service_id.clone()).collect();
    service_ids.extend(visits_today.iter().map(|b| b.service_id.to_string()));
    let service_ids: Vec<String> = service_ids.into_iter().collect();
    let found = services::find_many(conn, business, &service_ids)?;
    let found_ids: Vec<String> = found.iter().map(|s| s.row.id.clone()).collect();
    let mut observed = observed_durations(conn, &found_ids)?;
    let mut plans = HashMap::new();
    for service in found {
        let planned = Duration::minutes(service.row.duration_minutes.into());
        let (typical, long) =
            typical_and_long(observed.remove(&service.row.id).unwrap_or_default())
                .map(|(t, l)| (t, l.max(t)))
                .unwrap_or((planned, planned));
        plans.insert(
            service.row.id.clone(),
            Planned {
                service,
                typical,
                long,
            },
        );
    }
    if let Some(missing) = service_ids.iter().find(|id| !plans.contains_key(*id)) {
        // A ticket or visit of this business names a service it no longer has.
        return Err(AppError::internal(format!(
            "queue names unknown service {missing}"
        )));
    }
    Ok(plans)
}

/// One lane per active resource of the location: its open time, what it
/// already holds and the delay announced on it.
fn lanes(
    conn: &mut DbConnection,
    location: &Location,
    tz: Tz,
    visits_today: &[Booking],
    plans: &HashMap<String, Planned>,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> Result<Vec<Lane>, AppError> {
    let lane_resources: Vec<Resource> = resources::table
        .filter(resources::location_id.eq(&location.id))
        .filter(resources::archived_at.is_null())
        .select(Resource::as_select())
        .order(resources::id.asc())
        .load(conn)?;
    let calendars =
        calendar::calendars_of(conn, &lane_resources, now, horizon, now, Except::default())?;
    let window = calendar::window_of(conn, &location.id, tz, now, horizon, None, None)?;
    let ids: Vec<String> = lane_resources.iter().map(|r| r.id.clone()).collect();
    let allocated = allocated_to(conn, &ids, now, horizon)?;
    let running: HashMap<&str, &Booking> = visits_today
        .iter()
        .filter(|b| b.status.is(BookingStatus::InService))
        .map(|b| (b.id.as_str(), b))
        .collect();
    let delays = crate::store::broadcasts::delays(conn, &ids, now)?;
    Ok(lane_resources
        .iter()
        .zip(&calendars)
        .map(|(resource, cal)| Lane {
            resource_id: resource.id.clone(),
            // A paused resource takes nobody new.
            open: if cal.paused {
                Vec::new()
            } else {
                working_time(cal, &window)
            },
            taken: allocated
                .iter()
                .filter(|a| a.resource_id == resource.id)
                .map(|a| taken(a, &running, plans))
                .collect(),
            delay: delays.get(&resource.id).copied().unwrap_or_default(),
        })
        .collect())
}

/// The live allocations of the resources between a day back and the horizon.
fn allocated_to(
    conn: &mut DbConnection,
    resource_ids: &[String],
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> QueryResult<Vec<Allocated>> {
    allocations::table
        .filter(allocations::resource_id.eq_any(resource_ids))
        .filter(allocations::active.eq(true))
        .filter(allocations::starts_at.lt(horizon.naive_utc()))
        .filter(allocations::ends_at.gt((now - Duration::days(1)).naive_utc()))
        .filter(
            allocations::expires_at
                .is_null()
                .or(allocations::expires_at.gt(now.naive_utc())),
        )
        .select((
            allocations::resource_id,
            allocations::booking_id,
            allocations::starts_at,
            allocations::ends_at,
        ))
        .load(conn)
}

/// What an allocation takes of its lane: a visit already running may last
/// as long as a long one of its service, past its booked end.
fn taken(
    allocation: &Allocated,
    running: &HashMap<&str, &Booking>,
    plans: &HashMap<String, Planned>,
) -> Taken {
    let start = allocation.starts_at.and_utc();
    let end = allocation.ends_at.and_utc();
    let visit = allocation
        .booking_id
        .as_deref()
        .and_then(|id| running.get(id));
    let late_end = match visit.and_then(|b| plans.get(&*b.service_id)) {
        Some(plan) => (start + plan.buffer_before() + plan.long + plan.buffer_after()).max(end),
        None => end,
    };
    Taken {
        start,
        end,
        late_end,
        running: visit.is_some(),
    }
}

/// A ticket as the estimate sees it: the resources it may take (the one
/// asked for, when that fits the service) and how long it lasts.
fn queued_visit(ticket: &Ticket, plan: &Planned) -> Visit {
    let requirements = &plan.service.requirements;
    let groups = match &ticket.resource_id {
        Some(wanted) => availability::pin(requirements, std::slice::from_ref(wanted))
            .unwrap_or_else(|_| requirements.clone()),
        None => requirements.clone(),
    };
    Visit {
        groups,
        typical: plan.typical,
        long: plan.long,
        buffer_before: plan.buffer_before(),
        buffer_after: plan.buffer_after(),
    }
}

fn customer_names(
    conn: &mut DbConnection,
    visits: &[Booking],
) -> QueryResult<HashMap<String, String>> {
    use crate::schema::customers;
    let ids: Vec<&str> = visits.iter().map(|b| b.customer_id.as_str()).collect();
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .select((customers::id, customers::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// How long the latest completed visits of each service took, from their
/// `start` (or booking start, for walk-ins seated at once) to `complete`.
/// A service with fewer than five has no entry: too few to say.
fn observed_durations(
    conn: &mut DbConnection,
    service_ids: &[String],
) -> QueryResult<HashMap<String, Vec<Duration>>> {
    // The latest 200 of each service, one query each: a limit across them
    // all would let a busy service crowd out a quiet one.
    let mut recent: Vec<(&str, String, NaiveDateTime)> = Vec::new();
    for service_id in service_ids {
        let latest: Vec<(String, NaiveDateTime)> = booking_rows::table
            .filter(booking_rows::service_id.eq(service_id))
            .filter(booking_rows::status.eq("completed"))
            .select((booking_rows::id, booking_rows::starts_at))
            .order(booking_rows::updated_at.desc())
            .limit(200)
            .load(conn)?;
        if latest.len() >= 5 {
            recent.extend(
                latest
                    .into_iter()
                    .map(|(id, at)| (service_id.as_str(), id, at)),
            );
        }
    }
    let mut last_step: HashMap<(String, String), NaiveDateTime> = HashMap::new();
    // Their steps in one query per thousand visits (SQLite binds each id).
    for visits in recent.chunks(1000) {
        let ids: Vec<&str> = visits.iter().map(|(_, id, _)| id.as_str()).collect();
        let steps: Vec<(String, String, NaiveDateTime)> = booking_history::table
            .filter(booking_history::booking_id.eq_any(ids))
            .filter(booking_history::action.eq_any(["start", "complete"]))
            .select((
                booking_history::booking_id,
                booking_history::action,
                booking_history::created_at,
            ))
            .load(conn)?;
        for (booking_id, action, at) in steps {
            let last = last_step.entry((booking_id, action)).or_insert(at);
            *last = (*last).max(at);
        }
    }
    let when = |id: &str, action: &str| last_step.get(&(id.to_owned(), action.to_owned())).copied();
    let mut observed: HashMap<String, Vec<Duration>> = HashMap::new();
    for (service_id, id, booked_start) in &recent {
        let started = when(id, "start").unwrap_or(*booked_start);
        let Some(done) = when(id, "complete") else {
            continue;
        };
        let took = done - started;
        if took > Duration::zero() {
            observed
                .entry((*service_id).to_owned())
                .or_default()
                .push(took);
        }
    }
    Ok(observed)
}
