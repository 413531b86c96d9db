//! The walk-in queue: taking people in (a booking at once when a slot is
//! free now, else a ticket), the desk's steps on tickets, and the board —
//! in service, arrived appointments and tickets, each with its estimate.
//!
//! Every change runs in one write transaction that locks what it competes
//! for (the resources of the service, and the ticket), recomputes the
//! location's estimates, and writes an event when a ticket's promised range
//! moves by more than [`ESTIMATE_THRESHOLD`](crate::domain::queue::ESTIMATE_THRESHOLD).
//! The board itself is computed in `board`.

mod board;

use board::board_of;
pub use board::{board, ArrivedVisit, Board, QueuedTicket};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::bookings::{self, Actor, Arrival, Booking, CustomerRef, NewBooking, SlotSource, Waiver};
use super::calendar::{self, Except, ServiceContext};
use super::customers::Customer;
use super::locations::{self, Location};
use super::{events, holds, with_retries, TxError};
use crate::db::{lock_resources, lock_ticket, DbConnection};
use crate::domain::availability::{self, resolve_wall_clock, Edge};
use crate::domain::queue::{
    moved_enough, next_ticket_status, ticket_code, TicketStatus, TicketStep,
};
use crate::error::AppError;
use crate::schema::queue_tickets;

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
    lock_resources(conn, &involved)?;
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
        (None, CustomerRef::Existing(id)) => id.to_string(),
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
        lock_resources(conn, &ctx.involved_resources(&wanted))?;
        let (mut ticket, next) =
            load_for_step(conn, &business, id, expected_version, TicketStep::Seat)?;
        let customer = match &ticket.customer_id {
            Some(id) => CustomerRef::Existing(id.as_str().into()),
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
        ticket.booking_id = Some(booking.id.to_string());
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
