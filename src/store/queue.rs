//! The walk-in queue: taking people in (a booking at once when a slot is
//! free now, else a ticket), the desk's steps on tickets, and the board —
//! in service, arrived appointments and tickets, each with its estimate.
//!
//! Every change runs in one write transaction that locks what it competes
//! for (the resources of the service, and the ticket), recomputes the
//! location's estimates, and writes an event when a ticket's promised range
//! moves by more than [`ESTIMATE_THRESHOLD`](crate::domain::queue::ESTIMATE_THRESHOLD).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::bookings::{self, Actor, Arrival, Booking, CustomerRef, NewBooking, SlotSource, Waiver};
use super::calendar::{self, Except, ServiceContext};
use super::customers::Customer;
use super::locations::{self, Location};
use super::resources::Resource;
use super::services::Service;
use super::{events, holds, services, with_retries, TxError};
use crate::db::{lock_resources, lock_ticket, DbConnection, ResourceLock};
use crate::domain::availability::{self, resolve_wall_clock, working_time, Edge};
use crate::domain::catalog::parse_time_zone;
use crate::domain::lifecycle::BookingStatus;
use crate::domain::queue::{
    self, appointment_estimate, moved_enough, next_ticket_status, ticket_code, typical_and_long,
    Estimate, Lane, Taken, TicketStatus, TicketStep, Visit,
};
use crate::error::AppError;
use crate::schema::{
    allocations, booking_history, bookings as booking_rows, queue_tickets, resources,
};

/// How far ahead a free slot counts as "now" for someone at the desk.
pub const WALK_IN_WINDOW: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = queue_tickets)]
#[diesel(treat_none_as_default_value = false)]
pub struct Ticket {
    pub id: String,
    pub business_id: String,
    pub location_id: String,
    pub service_id: String,
    pub code: String,
    /// The location's local date the ticket was taken on (`YYYY-MM-DD`).
    pub local_day: String,
    pub customer_id: Option<String>,
    pub customer_name: String,
    pub party_size: i32,
    pub resource_id: Option<String>,
    pub status: String,
    pub booking_id: Option<String>,
    pub estimated_earliest: Option<NaiveDateTime>,
    pub estimated_latest: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub called_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl Ticket {
    /// The stored status; a value we never write is a logged error, not a guess.
    pub fn status(&self) -> Result<TicketStatus, AppError> {
        TicketStatus::parse(&self.status).ok_or_else(|| {
            AppError::internal(format!(
                "ticket {} has unknown status {:?}",
                self.id, self.status
            ))
        })
    }

    fn payload(&self) -> Value {
        json!({
            "ticket_id": self.id,
            "code": self.code,
            "status": self.status,
            "location_id": self.location_id,
            "service_id": self.service_id,
            "customer_id": self.customer_id,
            "party_size": self.party_size,
            "resource_id": self.resource_id,
            "booking_id": self.booking_id,
            "estimated_start_earliest": self.estimated_earliest.map(|t| t.and_utc()),
            "estimated_start_latest": self.estimated_latest.map(|t| t.and_utc()),
            "version": self.version,
        })
    }

    fn promised(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((
            self.estimated_earliest?.and_utc(),
            self.estimated_latest?.and_utc(),
        ))
    }
}

/// Someone at the desk.
#[derive(Debug, Clone)]
pub struct WalkIn {
    /// `Details` with neither email nor phone is a name only: kept on the
    /// ticket, and a customer record made when they are served.
    pub customer: CustomerRef,
    pub party_size: i32,
    /// A resource asked for by name ("I'd like Ana").
    pub resource_id: Option<String>,
}

/// What the desk gets back.
#[derive(Debug, Clone)]
pub enum WalkInOutcome {
    /// A slot was free within the walk-in window: booked, checked in.
    Booked {
        booking: Booking,
        customer: Customer,
    },
    /// Otherwise in the queue.
    Queued {
        ticket: Ticket,
        customer: Option<Customer>,
        board: Box<Board>,
    },
}

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

fn text_day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// The end of the location's local day: estimates look no further.
pub fn end_of_day(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let tomorrow = at.with_timezone(&tz).date_naive() + Duration::days(1);
    resolve_wall_clock(tz, tomorrow, 0, Edge::Opening)
}

/// Live tickets of other services compete for a resource of this one.
fn queue_competes(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    involved: &[String],
) -> QueryResult<bool> {
    use crate::schema::service_requirements as reqs;
    let live: Vec<String> = queue_tickets::table
        .filter(queue_tickets::location_id.eq(&ctx.location.id))
        .filter(queue_tickets::status.eq_any(["waiting", "called"]))
        .select(queue_tickets::service_id)
        .load(conn)?;
    if live.is_empty() {
        return Ok(false);
    }
    let shared: i64 = reqs::table
        .filter(reqs::service_id.eq_any(&live))
        .filter(reqs::resource_id.eq_any(involved))
        .count()
        .get_result(conn)?;
    Ok(shared > 0)
}

/// Takes a walk-in: a booking (checked in) when a slot of the service starts
/// within [`WALK_IN_WINDOW`] and nobody already queueing would be jumped;
/// otherwise a ticket with a code and an estimate.
pub fn walk_in(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &WalkIn,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<WalkInOutcome, AppError> {
    with_retries(conn, |conn| walk_in_in(conn, ctx, request, actor, now))
}

/// [`walk_in`] inside a transaction the caller runs (the desk stores its
/// answer to an `Idempotency-Key` in the same one).
pub fn walk_in_in(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &WalkIn,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<WalkInOutcome, TxError> {
    let wanted: Vec<String> = request.resource_id.iter().cloned().collect();
    let involved = ctx.involved_resources(&wanted);
    // The queue's order is decided under the lock: one desk at a time.
    lock_resources(conn, &involved, ResourceLock::Exclusive)?;
    calendar::ensure_not_paused_now(conn, ctx, &wanted, now)?;
    holds::expire_lapsed(conn, &involved, now)?;
    if !queue_competes(conn, ctx, &involved)? {
        if let Some(booked) = book_if_free(conn, ctx, request, &wanted, actor, now)? {
            return Ok(booked);
        }
    }
    queue_ticket(conn, ctx, request, actor, now)
}

/// Books the walk-in at once when a slot on the resources they want starts
/// within the walk-in window.
fn book_if_free(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &WalkIn,
    wanted: &[String],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<WalkInOutcome>, TxError> {
    let to = now + WALK_IN_WINDOW + Duration::seconds(1);
    let window = calendar::window(conn, ctx, now, to, None, None)?;
    let calendars = calendar::calendars(conn, ctx, now, to, now, Except::default())?;
    let free = availability::slots(&ctx.spec(), &calendars, &window)
        .into_iter()
        .find(|slot| {
            wanted
                .iter()
                .all(|w| slot.choices.iter().any(|c| c.contains(w)))
        });
    if let Some(slot) = free {
        let booking = NewBooking {
            source: SlotSource::Direct {
                start: slot.start,
                wanted: wanted.to_vec(),
            },
            customer: request.customer.clone(),
            notes: None,
            waiver: Waiver::default(),
            arrival: Arrival::Arrived,
        };
        let (booking, customer) = bookings::create_in(conn, ctx, &booking, actor, now)?;
        return Ok(Some(WalkInOutcome::Booked { booking, customer }));
    }
    Ok(None)
}

/// Gives the walk-in a ticket with the day's next code, and the board as
/// it stands with them on it.
fn queue_ticket(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &WalkIn,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<WalkInOutcome, TxError> {
    let at = now.naive_utc();
    let customer = customer_on_file(conn, ctx, &request.customer, actor, at)?;
    let name = match (&customer, &request.customer) {
        (Some(c), _) => c.name.clone(),
        (None, CustomerRef::Details { name, .. }) => name.clone(),
        (None, CustomerRef::Existing(id)) => id.clone(),
    };
    let day = text_day(now, ctx.tz);
    let code = next_code(conn, &ctx.location.id, &day)?;
    let ticket = Ticket {
        id: crate::ids::new_id("qtk"),
        business_id: ctx.business_id().to_owned(),
        location_id: ctx.location.id.clone(),
        service_id: ctx.service.row.id.clone(),
        code,
        local_day: day,
        customer_id: customer.as_ref().map(|c| c.id.clone()),
        customer_name: name,
        party_size: request.party_size,
        resource_id: request.resource_id.clone(),
        status: TicketStatus::Waiting.as_str().to_owned(),
        booking_id: None,
        estimated_earliest: None,
        estimated_latest: None,
        cancel_reason: None,
        version: 1,
        created_by: actor.subject.clone(),
        created_at: at,
        called_at: None,
        updated_at: at,
    };
    diesel::insert_into(queue_tickets::table)
        .values(&ticket)
        .execute(conn)?;
    let board = refresh(conn, &ctx.location, now, Some(&ticket.id))?;
    let ticket = board
        .entry(&ticket.id)
        .map(|e| e.ticket.clone())
        .unwrap_or(ticket);
    events::append(
        conn,
        &ticket.business_id,
        "queue.ticket_created",
        &ticket.id,
        &ticket.payload(),
        at,
    )?;
    Ok(WalkInOutcome::Queued {
        ticket,
        customer,
        board: Box::new(board),
    })
}

/// The customer record a ticket names: none for a name alone (one is made
/// when they are served), else the one the details find or make.
fn customer_on_file(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    customer: &CustomerRef,
    actor: &Actor,
    at: NaiveDateTime,
) -> Result<Option<Customer>, TxError> {
    Ok(match customer {
        CustomerRef::Details {
            email: None,
            phone: None,
            ..
        } => None,
        other => Some(bookings::resolve_customer(
            conn,
            ctx.business_id(),
            other,
            actor,
            at,
        )?),
    })
}

/// The next code of the location's day. A unique index backs the count:
/// two desks taking the same number at once collide, and the retry takes
/// the next one.
fn next_code(conn: &mut DbConnection, location_id: &str, day: &str) -> QueryResult<String> {
    let taken_today: i64 = queue_tickets::table
        .filter(queue_tickets::location_id.eq(location_id))
        .filter(queue_tickets::local_day.eq(day))
        .count()
        .get_result(conn)?;
    Ok(ticket_code(taken_today as u32 + 1))
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Ticket, AppError> {
    queue_tickets::table
        .filter(queue_tickets::business_id.eq(business))
        .filter(queue_tickets::id.eq(id))
        .select(Ticket::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("queue ticket"))
}

/// A ticket for any business (the customer's own ticket token names it).
pub fn find_anywhere(conn: &mut DbConnection, id: &str) -> Result<Ticket, AppError> {
    queue_tickets::table
        .filter(queue_tickets::id.eq(id))
        .select(Ticket::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("queue ticket"))
}

/// Loads the ticket under its lock and checks `If-Match` and the step.
fn load_for_step(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected_version: Option<i32>,
    step: TicketStep,
) -> Result<(Ticket, TicketStatus), TxError> {
    lock_ticket(conn, id)?;
    let ticket = find(conn, business, id)?;
    super::check_version(ticket.version, expected_version)?;
    let next = next_ticket_status(ticket.status()?, step)
        .ok_or_else(|| AppError::invalid_transition(&ticket.status, step.as_str()))?;
    Ok((ticket, next))
}

fn save(conn: &mut DbConnection, ticket: &Ticket) -> Result<(), TxError> {
    let updated = diesel::update(
        queue_tickets::table
            .filter(queue_tickets::id.eq(&ticket.id))
            .filter(queue_tickets::version.eq(ticket.version - 1)),
    )
    .set((
        queue_tickets::status.eq(&ticket.status),
        queue_tickets::booking_id.eq(&ticket.booking_id),
        queue_tickets::customer_id.eq(&ticket.customer_id),
        queue_tickets::cancel_reason.eq(&ticket.cancel_reason),
        queue_tickets::called_at.eq(ticket.called_at),
        queue_tickets::version.eq(ticket.version),
        queue_tickets::updated_at.eq(ticket.updated_at),
    ))
    .execute(conn)?;
    Ok(super::expect_one_row(updated, ticket.version - 1)?)
}

/// Calls, cancels or marks a no-show (seating is [`seat`]).
pub fn step(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    step: TicketStep,
    expected_version: Option<i32>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Ticket, Board), AppError> {
    let at = now.naive_utc();
    with_retries(conn, |conn| {
        let (mut ticket, next) = load_for_step(conn, business, id, expected_version, step)?;
        ticket.status = next.as_str().to_owned();
        if step == TicketStep::Call {
            ticket.called_at = Some(at);
        }
        if step == TicketStep::Cancel {
            ticket.cancel_reason = reason.map(str::to_owned);
        }
        ticket.version += 1;
        ticket.updated_at = at;
        save(conn, &ticket)?;
        let mut payload = ticket.payload();
        if let Some(reason) = reason {
            payload["reason"] = Value::from(reason);
        }
        events::append(conn, business, step.event_type(), &ticket.id, &payload, at)?;
        let location = locations::find(conn, business, &ticket.location_id)?;
        let board = refresh(conn, &location, now, None)?;
        Ok((ticket, board))
    })
}

/// Seats a called ticket: one change that books them in service from this
/// minute on the resource that takes them (the one asked for, the one the
/// desk names, or any free one) and marks the ticket seated. A resource an
/// appointment needs before the visit would end cannot take them: 409
/// `slot_unavailable`, and the ticket stays called.
pub fn seat(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    id: &str,
    resource_id: Option<&str>,
    expected_version: Option<i32>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Ticket, Booking, Board), AppError> {
    let at = now.naive_utc();
    let business = ctx.business_id().to_owned();
    // From the next whole minute, on a one-minute grid: a walk-in starts
    // when they sit down, not at the next slot of the online grid.
    let mut seated_ctx = ctx.clone();
    seated_ctx.service.row.slot_step_minutes = 1;
    let start =
        DateTime::from_timestamp((now.timestamp() + 59).div_euclid(60) * 60, 0).unwrap_or(now);
    with_retries(conn, |conn| {
        let peek = find(conn, &business, id)?;
        let wanted: Vec<String> = resource_id
            .map(str::to_owned)
            .or(peek.resource_id.clone())
            .into_iter()
            .collect();
        lock_resources(
            conn,
            &ctx.involved_resources(&wanted),
            ResourceLock::Exclusive,
        )?;
        let (mut ticket, next) =
            load_for_step(conn, &business, id, expected_version, TicketStep::Seat)?;
        let customer = match &ticket.customer_id {
            Some(id) => CustomerRef::Existing(id.clone()),
            None => CustomerRef::Details {
                name: ticket.customer_name.clone(),
                email: None,
                phone: None,
            },
        };
        let request = NewBooking {
            source: SlotSource::Direct { start, wanted },
            customer,
            notes: None,
            waiver: Waiver::default(),
            arrival: Arrival::Seated,
        };
        let (booking, customer) = bookings::create_in(conn, &seated_ctx, &request, actor, now)?;
        ticket.status = next.as_str().to_owned();
        ticket.booking_id = Some(booking.id.clone());
        ticket.customer_id = Some(customer.id.clone());
        ticket.version += 1;
        ticket.updated_at = at;
        save(conn, &ticket)?;
        events::append(
            conn,
            &business,
            TicketStep::Seat.event_type(),
            &ticket.id,
            &ticket.payload(),
            at,
        )?;
        let board = refresh(conn, &ctx.location, now, None)?;
        Ok((ticket, booking, board))
    })
}

/// Recomputes the location's board and stores each ticket's range; a range
/// that moved past the threshold is an event (`quiet`: the ticket being
/// created, whose first range is its `queue.ticket_created`).
pub fn refresh(
    conn: &mut DbConnection,
    location: &Location,
    now: DateTime<Utc>,
    quiet: Option<&str>,
) -> Result<Board, TxError> {
    let mut board = board_of(conn, location, now)?;
    let at = now.naive_utc();
    for entry in &mut board.tickets {
        let new = entry.estimate.range();
        let old = entry.ticket.promised();
        if !moved_enough(old, new) && old.is_some() {
            continue;
        }
        diesel::update(queue_tickets::table.filter(queue_tickets::id.eq(&entry.ticket.id)))
            .set((
                queue_tickets::estimated_earliest.eq(new.map(|r| r.0.naive_utc())),
                queue_tickets::estimated_latest.eq(new.map(|r| r.1.naive_utc())),
            ))
            .execute(conn)?;
        entry.ticket.estimated_earliest = new.map(|r| r.0.naive_utc());
        entry.ticket.estimated_latest = new.map(|r| r.1.naive_utc());
        if old.is_some() && quiet != Some(entry.ticket.id.as_str()) {
            let mut payload = entry.ticket.payload();
            payload["previous"] = json!({
                "estimated_start_earliest": old.map(|r| r.0),
                "estimated_start_latest": old.map(|r| r.1),
            });
            events::append(
                conn,
                &entry.ticket.business_id,
                "queue.estimate_changed",
                &entry.ticket.id,
                &payload,
                at,
            )?;
        }
    }
    Ok(board)
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

fn board_of(
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
    let name_of = |b: &Booking| names.get(&b.customer_id).cloned().unwrap_or_default();
    let in_service = visits_today
        .iter()
        .filter(|b| b.status == BookingStatus::InService.as_str())
        .map(|b| (b.clone(), name_of(b)))
        .collect();
    let arrived = visits_today
        .iter()
        .filter(|b| b.status == BookingStatus::CheckedIn.as_str())
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
    service_ids.extend(visits_today.iter().map(|b| b.service_id.clone()));
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
        .filter(|b| b.status == BookingStatus::InService.as_str())
        .map(|b| (b.id.as_str(), b))
        .collect();
    let delays = super::broadcasts::delays(conn, &ids, now)?;
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
    let late_end = match visit.and_then(|b| plans.get(&b.service_id)) {
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
