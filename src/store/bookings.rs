//! Bookings: the write path that never double-books, the lifecycle, history,
//! and the lookups staff and customers use.
//!
//! Every write is one transaction (see [`with_retries`]): find or create the
//! customer, lock the resources that can deliver the service (PostgreSQL:
//! `SELECT … FOR UPDATE` in id order; SQLite: the transaction is `BEGIN
//! IMMEDIATE`, one writer of the process at a time), settle lapsed holds, check
//! the slot against hours, occupants and capacity, then write the booking, its
//! allocations, its history entry and its event together.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::calendar::{self, Except, Occupier, ServiceContext};
use super::customers::{self, Customer};
use super::holds::{self, split_ids, Hold};
use super::stored::Stored;
use super::PageRequest;
use super::{events, with_retries, TxError};
use crate::db::{lock_resources, DbConnection};
use crate::domain::catalog::Channel;
use crate::domain::holds::HoldStatus;
use crate::domain::lifecycle::{next_status, BookingStatus, Step};
use crate::domain::reference::new_reference;
use crate::error::AppError;
use crate::ids::{BookingId, BusinessId, CustomerId, HoldId, LocationId, ResourceId, ServiceId};
use crate::schema::{allocations, booking_history, bookings, holds as holds_table};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bookings)]
#[diesel(treat_none_as_default_value = false)]
pub struct Booking {
    pub id: BookingId,
    pub business_id: BusinessId,
    pub service_id: ServiceId,
    pub location_id: LocationId,
    pub customer_id: CustomerId,
    pub reference: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub resource_ids: String,
    pub status: Stored<BookingStatus>,
    /// The door it came through.
    pub channel: Stored<Channel>,
    pub created_by: String,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The partner client that made it (through an access token), if any.
    pub client_id: Option<String>,
    /// When a running-late notice expects it to start; `None`: on time.
    pub expected_start: Option<NaiveDateTime>,
}

impl Booking {
    pub fn resources(&self) -> Vec<String> {
        split_ids(&self.resource_ids)
    }

    /// The snapshot carried by events: the status and channel as stored, so
    /// a subscriber sees what the row says even when this build cannot read it.
    fn payload(&self) -> Value {
        json!({
            "booking_id": self.id,
            "reference": self.reference,
            "status": self.status.as_str(),
            "service_id": self.service_id,
            "location_id": self.location_id,
            "customer_id": self.customer_id,
            "resource_ids": self.resources(),
            "start": self.starts_at.and_utc(),
            "end": self.ends_at.and_utc(),
            "channel": self.channel.as_str(),
            "client_id": self.client_id,
            "version": self.version,
        })
    }

    /// Whether `partner` made this booking: by its client when the token
    /// names one, else (a token minted by hand) by its subject among the
    /// bookings no client made.
    pub fn made_by(&self, partner: &MadeBy) -> bool {
        match partner {
            MadeBy::Client(client) => self.client_id.as_deref() == Some(client.as_str()),
            MadeBy::Subject(subject) => self.client_id.is_none() && &self.created_by == subject,
        }
    }
}

/// The partner whose own bookings a caller is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MadeBy {
    Client(String),
    Subject(String),
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = booking_history)]
#[diesel(treat_none_as_default_value = false)]
pub struct HistoryEntry {
    pub id: String,
    pub business_id: String,
    pub booking_id: String,
    pub action: String,
    pub actor: String,
    pub actor_role: String,
    /// The door the change came through.
    pub channel: Stored<Channel>,
    pub details: String,
    pub override_rules: Option<String>,
    pub override_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub client_id: Option<String>,
}

/// Who is making a change, for history and `created_by`.
#[derive(Debug, Clone)]
pub struct Actor {
    pub subject: String,
    /// `anonymous` or a token role.
    pub role: String,
    /// The door the change came through.
    pub channel: Channel,
    /// The partner client acting, for attribution.
    pub client_id: Option<String>,
}

/// Rules a staff member set aside for this change, and why.
#[derive(Debug, Clone, Default)]
pub struct Waiver {
    pub rules: Vec<String>,
    pub reason: Option<String>,
}

/// The customer a booking is for.
#[derive(Debug, Clone)]
pub enum CustomerRef {
    Existing(CustomerId),
    /// Matched to an existing customer by normalised email, then phone, before
    /// a new one is created.
    Details {
        name: String,
        email: Option<String>,
        phone: Option<String>,
    },
}

/// Where the booked slot comes from.
#[derive(Debug, Clone)]
pub enum SlotSource {
    Hold(Box<Hold>),
    Direct {
        start: DateTime<Utc>,
        wanted: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct NewBooking {
    pub source: SlotSource,
    pub customer: CustomerRef,
    pub notes: Option<String>,
    pub waiver: Waiver,
    pub arrival: Arrival,
}

/// Where the customer is when the booking is made: the walk-in desk books
/// people who are already here, so their booking starts checked in, or in
/// service when they are seated at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arrival {
    #[default]
    Booked,
    Arrived,
    Seated,
}

impl Arrival {
    fn status(self) -> BookingStatus {
        match self {
            Arrival::Booked => BookingStatus::Confirmed,
            Arrival::Arrived => BookingStatus::CheckedIn,
            Arrival::Seated => BookingStatus::InService,
        }
    }

    /// The lifecycle steps the booking has in effect taken on creation, for
    /// history and events (subscribers see the same sequence as for any visit).
    fn steps(self) -> &'static [Step] {
        match self {
            Arrival::Booked => &[],
            Arrival::Arrived => &[Step::CheckIn],
            Arrival::Seated => &[Step::CheckIn, Step::Start],
        }
    }
}

fn history(
    conn: &mut DbConnection,
    booking: &Booking,
    action: &str,
    actor: &Actor,
    details: Value,
    waiver: &Waiver,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let entry = HistoryEntry {
        id: crate::ids::new_id("bkh"),
        business_id: booking.business_id.to_string(),
        booking_id: booking.id.to_string(),
        action: action.to_owned(),
        actor: actor.subject.clone(),
        actor_role: actor.role.clone(),
        channel: actor.channel.into(),
        details: details.to_string(),
        override_rules: (!waiver.rules.is_empty()).then(|| waiver.rules.join(",")),
        override_reason: if waiver.rules.is_empty() {
            None
        } else {
            waiver.reason.clone()
        },
        created_at: at,
        client_id: actor.client_id.clone(),
    };
    diesel::insert_into(booking_history::table)
        .values(&entry)
        .execute(conn)?;
    Ok(())
}

/// Finds or creates the customer (see [`customers::resolve_for_booking`]).
pub fn resolve_customer(
    conn: &mut DbConnection,
    business: &str,
    customer: &CustomerRef,
    actor: &Actor,
    at: NaiveDateTime,
) -> Result<Customer, TxError> {
    match customer {
        CustomerRef::Existing(id) => Ok(customers::find(conn, business, id)?),
        CustomerRef::Details { name, email, phone } => customers::resolve_for_booking(
            conn,
            business,
            name,
            email.as_deref(),
            phone.as_deref(),
            actor.client_id.as_deref(),
            at,
        ),
    }
}

/// Books a slot (from a live hold or directly), for the customer named.
/// Policy has been weighed by the caller; paused and capacity are checked here.
pub fn create(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &NewBooking,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Booking, Customer), AppError> {
    with_retries(conn, |conn| create_in(conn, ctx, request, actor, now))
}

/// [`create`] inside a transaction the caller runs (the walk-in desk seats a
/// ticket and books it as one change).
pub fn create_in(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &NewBooking,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Booking, Customer), TxError> {
    let at = now.naive_utc();
    let business = ctx.business_id().to_owned();
    {
        let (start, wanted, hold_id) = match &request.source {
            SlotSource::Hold(hold) => (hold.starts_at.and_utc(), hold.resources(), Some(&hold.id)),
            SlotSource::Direct { start, wanted } => (*start, wanted.clone(), None),
        };
        let involved = ctx.involved_resources(&wanted);
        // What does not depend on the slot is settled before the locks are
        // taken: other bookings for these resources wait on them until this
        // one commits, so they cover as few statements as possible. (A
        // refusal further down still rolls the customer back with the rest.)
        let customer = resolve_customer(conn, &business, &request.customer, actor, at)?;
        let booking_id = BookingId::new();
        let reference = new_reference();
        lock_resources(conn, &involved)?;
        calendar::ensure_not_paused_now(conn, ctx, &wanted, now)?;
        holds::expire_lapsed(conn, &involved, now)?;
        if let Some(hold_id) = hold_id {
            use_hold(conn, &business, hold_id, &booking_id, now)?;
        }
        let slot = calendar::check_slot(conn, ctx, start, &wanted, now, Except::default())?;
        let booking = Booking {
            id: booking_id,
            business_id: BusinessId::from(business.as_str()),
            service_id: ServiceId::from(ctx.service.row.id.as_str()),
            location_id: LocationId::from(ctx.location.id.as_str()),
            customer_id: CustomerId::from(customer.id.as_str()),
            reference,
            starts_at: slot.start.naive_utc(),
            ends_at: slot.end.naive_utc(),
            resource_ids: slot.resource_ids.join(","),
            status: request.arrival.status().into(),
            channel: actor.channel.into(),
            created_by: actor.subject.clone(),
            notes: request.notes.clone(),
            cancel_reason: None,
            version: 1,
            created_at: at,
            updated_at: at,
            client_id: actor.client_id.clone(),
            expected_start: None,
        };
        diesel::insert_into(bookings::table)
            .values(&booking)
            .execute(conn)?;
        calendar::occupy(
            conn,
            ctx,
            slot.start,
            &slot.resource_ids,
            Occupier::Booking(&booking.id),
        )?;
        let details = json!({
            "start": slot.start,
            "end": slot.end,
            "resource_ids": slot.resource_ids,
            "hold_id": hold_id,
        });
        record_creation(conn, &booking, request, actor, details, at)?;
        Ok((booking, customer))
    }
}

/// Turns the hold into the booking `booking_id`, under the resources'
/// locks: re-read, since it may have lapsed or been used meanwhile.
fn use_hold(
    conn: &mut DbConnection,
    business: &str,
    hold_id: &HoldId,
    booking_id: &BookingId,
    now: DateTime<Utc>,
) -> Result<(), TxError> {
    let hold = holds::find(conn, Some(business), hold_id)?;
    if hold.status.is(HoldStatus::Booked) {
        return Err(AppError::hold_booked(hold.booking_id.as_deref()).into());
    }
    if !hold.is_live(now) {
        return Err(AppError::hold_expired().into());
    }
    diesel::update(holds_table::table.filter(holds_table::id.eq(hold_id)))
        .set((
            holds_table::status.eq(HoldStatus::Booked.as_str()),
            holds_table::booking_id.eq(booking_id),
        ))
        .execute(conn)?;
    calendar::vacate(
        conn,
        Occupier::Hold {
            id: hold_id,
            expires_at: now,
        },
    )?;
    Ok(())
}

/// The history and events of a new booking: `created` (with the waiver),
/// then each step its arrival already took (a walk-in is checked in, a
/// seated one in service).
fn record_creation(
    conn: &mut DbConnection,
    booking: &Booking,
    request: &NewBooking,
    actor: &Actor,
    details: serde_json::Value,
    at: NaiveDateTime,
) -> Result<(), TxError> {
    let client = actor.client_id.as_deref();
    let business = &booking.business_id;
    history(
        conn,
        booking,
        "created",
        actor,
        details,
        &request.waiver,
        at,
    )?;
    let payload = booking.payload();
    events::append_by(
        conn,
        business,
        client,
        "booking.created",
        &booking.id,
        &payload,
        at,
    )?;
    for step in request.arrival.steps() {
        let on_arrival = json!({"on_arrival": true});
        history(
            conn,
            booking,
            step.as_str(),
            actor,
            on_arrival,
            &Waiver::default(),
            at,
        )?;
        events::append_by(
            conn,
            business,
            client,
            step.event_type(),
            &booking.id,
            &payload,
            at,
        )?;
    }
    Ok(())
}

/// A booking of the business; `customer` narrows it to that customer's own
/// (anything else is "not found", so ids leak nothing).
pub fn find(
    conn: &mut DbConnection,
    business: &str,
    id: &BookingId,
    customer: Option<&CustomerId>,
) -> Result<Booking, AppError> {
    let mut query = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::id.eq(id))
        .select(Booking::as_select())
        .into_boxed();
    if let Some(customer) = customer {
        query = query.filter(bookings::customer_id.eq(customer.clone()));
    }
    query
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("booking"))
}

pub fn find_by_reference(
    conn: &mut DbConnection,
    business: &str,
    reference: &str,
) -> Result<Booking, AppError> {
    bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::reference.eq(reference))
        .select(Booking::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("booking"))
}

/// Filters of `GET /v1/bookings`; every one optional.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    /// Bookings starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Bookings starting before.
    pub to: Option<DateTime<Utc>>,
    pub location_id: Option<LocationId>,
    pub resource_id: Option<ResourceId>,
    pub service_id: Option<ServiceId>,
    pub customer_id: Option<CustomerId>,
    pub status: Option<BookingStatus>,
    pub channel: Option<Channel>,
    /// Only bookings this partner made (partners see their own).
    pub made_by: Option<MadeBy>,
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    filter: &BookingFilter,
    page: &PageRequest,
) -> Result<Vec<Booking>, AppError> {
    let mut query = bookings::table
        .filter(bookings::business_id.eq(business))
        .select(Booking::as_select())
        .order(bookings::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(bookings::id.gt(after.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(bookings::starts_at.ge(from.naive_utc()));
    }
    if let Some(to) = filter.to {
        query = query.filter(bookings::starts_at.lt(to.naive_utc()));
    }
    if let Some(v) = &filter.location_id {
        query = query.filter(bookings::location_id.eq(v.clone()));
    }
    if let Some(v) = &filter.service_id {
        query = query.filter(bookings::service_id.eq(v.clone()));
    }
    if let Some(v) = &filter.customer_id {
        query = query.filter(bookings::customer_id.eq(v.clone()));
    }
    if let Some(v) = filter.status {
        query = query.filter(bookings::status.eq(Stored::from(v)));
    }
    if let Some(v) = filter.channel {
        query = query.filter(bookings::channel.eq(Stored::from(v)));
    }
    match &filter.made_by {
        Some(MadeBy::Client(client)) => {
            query = query.filter(bookings::client_id.eq(client.clone()));
        }
        Some(MadeBy::Subject(subject)) => {
            query = query
                .filter(bookings::client_id.is_null())
                .filter(bookings::created_by.eq(subject.clone()));
        }
        None => {}
    }
    if let Some(v) = &filter.resource_id {
        let booked = allocations::table
            .filter(allocations::resource_id.eq(v.clone()))
            .filter(allocations::booking_id.is_not_null())
            .select(allocations::booking_id.assume_not_null());
        query = query.filter(bookings::id.eq_any(booked));
    }
    Ok(query.load(conn)?)
}

/// Every change of a booking, oldest first.
pub fn history_of(
    conn: &mut DbConnection,
    business: &str,
    booking_id: &BookingId,
) -> Result<Vec<HistoryEntry>, AppError> {
    Ok(booking_history::table
        .filter(booking_history::business_id.eq(business))
        .filter(booking_history::booking_id.eq(booking_id))
        .select(HistoryEntry::as_select())
        .order(booking_history::id.asc())
        .load(conn)?)
}

/// The booking's iCalendar `SEQUENCE`: how many changes of its time or its
/// cancellation its history holds (see `ics::CALENDAR_CHANGES`), so a notes
/// edit leaves the calendar's copy current.
pub fn calendar_sequence(
    conn: &mut DbConnection,
    business: &str,
    booking_id: &BookingId,
) -> Result<i32, AppError> {
    let changes: i64 = booking_history::table
        .filter(booking_history::business_id.eq(business))
        .filter(booking_history::booking_id.eq(booking_id))
        .filter(booking_history::action.eq_any(crate::domain::ics::CALENDAR_CHANGES))
        .count()
        .get_result(conn)?;
    Ok(i32::try_from(changes).unwrap_or(i32::MAX))
}

/// Loads the booking for a change under `If-Match` and checks the step is legal.
fn load_for_step(
    conn: &mut DbConnection,
    business: &str,
    id: &BookingId,
    customer: Option<&CustomerId>,
    expected_version: Option<i32>,
    step: Step,
) -> Result<(Booking, BookingStatus), AppError> {
    let booking = find(conn, business, id, customer)?;
    super::check_version(booking.version, expected_version)?;
    // Strict: a status this build does not know is never stepped as if it were confirmed.
    let current = booking.status.known().ok_or_else(|| {
        AppError::internal(format!(
            "booking {} has unknown stored status {:?}",
            booking.id,
            booking.status.as_str()
        ))
    })?;
    let next = next_status(current, step)
        .ok_or_else(|| AppError::invalid_transition(current.as_str(), step.as_str()))?;
    Ok((booking, next))
}

/// Writes the new state with `version + 1`, guarded by the version read.
fn save(conn: &mut DbConnection, booking: &Booking) -> Result<(), TxError> {
    let updated = diesel::update(
        bookings::table
            .filter(bookings::id.eq(&booking.id))
            .filter(bookings::version.eq(booking.version - 1)),
    )
    .set((
        bookings::starts_at.eq(booking.starts_at),
        bookings::ends_at.eq(booking.ends_at),
        bookings::resource_ids.eq(&booking.resource_ids),
        bookings::status.eq(&booking.status),
        bookings::notes.eq(&booking.notes),
        bookings::cancel_reason.eq(&booking.cancel_reason),
        bookings::version.eq(booking.version),
        bookings::updated_at.eq(booking.updated_at),
    ))
    .execute(conn)?;
    Ok(super::expect_one_row(updated, booking.version - 1)?)
}

/// A change of a booking's status (everything but reschedule).
#[derive(Debug, Clone)]
pub struct StepRequest {
    pub step: Step,
    pub expected_version: Option<i32>,
    /// Only this customer's booking (customer tokens).
    pub customer: Option<CustomerId>,
    pub reason: Option<String>,
    pub waiver: Waiver,
}

/// Applies a lifecycle step; `rules` weighs policy (cutoffs) for the loaded
/// booking and returns the waiver to record, or the refusal.
pub fn step(
    conn: &mut DbConnection,
    business: &str,
    id: &BookingId,
    request: &StepRequest,
    actor: &Actor,
    now: DateTime<Utc>,
    rules: &dyn Fn(&Booking) -> Result<Waiver, AppError>,
) -> Result<Booking, AppError> {
    let at = now.naive_utc();
    with_retries(conn, |conn| {
        let (mut booking, next) = load_for_step(
            conn,
            business,
            id,
            request.customer.as_ref(),
            request.expected_version,
            request.step,
        )?;
        let waiver = rules(&booking)?;
        let from = booking.status.as_str().to_owned();
        if !next.occupies_time() {
            calendar::vacate(conn, Occupier::Booking(&booking.id))?;
        }
        if matches!(request.step, Step::Complete | Step::NoShow) {
            // Done (or not coming) early: the rest of the time is free again,
            // after the service's clean-up buffer, for the walk-in queue.
            free_the_rest(conn, &booking, now)?;
        }
        booking.status = next.into();
        if request.step == Step::Cancel {
            booking.cancel_reason = request.reason.clone();
        }
        booking.version += 1;
        booking.updated_at = at;
        save(conn, &booking)?;
        if request.step == Step::Complete {
            super::feedback::request_for_completed(conn, &booking, at)?;
        }
        history(
            conn,
            &booking,
            request.step.as_str(),
            actor,
            json!({"from": from, "to": next.as_str(), "reason": request.reason}),
            &waiver,
            at,
        )?;
        let mut payload = booking.payload();
        if let Some(reason) = &request.reason {
            payload["reason"] = Value::from(reason.clone());
        }
        events::append_by(
            conn,
            business,
            actor.client_id.as_deref(),
            request.step.event_type(),
            &booking.id,
            &payload,
            at,
        )?;
        Ok(booking)
    })
}

/// Ends a booking's occupied windows at now plus its service's buffer after,
/// where they reached further (and retires those not yet begun); what was
/// booked stays in the booking and its history.
fn free_the_rest(
    conn: &mut DbConnection,
    booking: &Booking,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    use crate::schema::services;
    let buffer: i32 = services::table
        .filter(services::id.eq(&booking.service_id))
        .select(services::buffer_after_minutes)
        .first(conn)?;
    let free_from = (now + chrono::Duration::minutes(buffer.into())).naive_utc();
    let trimmed = diesel::update(
        allocations::table
            .filter(allocations::booking_id.eq(&booking.id))
            .filter(allocations::active.eq(true))
            .filter(allocations::ends_at.gt(free_from))
            .filter(allocations::starts_at.lt(free_from)),
    )
    .set(allocations::ends_at.eq(free_from))
    .execute(conn)?;
    // Over before its booked window even began (a walk-in served early).
    let unused = diesel::update(
        allocations::table
            .filter(allocations::booking_id.eq(&booking.id))
            .filter(allocations::active.eq(true))
            .filter(allocations::starts_at.ge(free_from)),
    )
    .set(allocations::active.eq(false))
    .execute(conn)?;
    Ok(trimmed + unused)
}

/// Moves a booking to a new start atomically: if the new slot is taken the
/// transaction rolls back and the booking keeps its old slot.
#[derive(Debug, Clone)]
pub struct RescheduleRequest {
    pub start: DateTime<Utc>,
    pub wanted: Vec<String>,
    pub expected_version: Option<i32>,
    /// Only this customer's booking (customer tokens).
    pub customer: Option<CustomerId>,
}

pub fn reschedule(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    id: &BookingId,
    request: &RescheduleRequest,
    actor: &Actor,
    now: DateTime<Utc>,
    rules: &dyn Fn(&Booking) -> Result<Waiver, AppError>,
) -> Result<Booking, AppError> {
    let at = now.naive_utc();
    let business = ctx.business_id().to_owned();
    with_retries(conn, |conn| {
        let (mut booking, _) = load_for_step(
            conn,
            &business,
            id,
            request.customer.as_ref(),
            request.expected_version,
            Step::Reschedule,
        )?;
        let waiver = rules(&booking)?;
        let mut locked = ctx.involved_resources(&request.wanted);
        locked.extend(booking.resources());
        lock_resources(conn, &locked)?;
        calendar::ensure_not_paused_now(conn, ctx, &request.wanted, now)?;
        holds::expire_lapsed(conn, &locked, now)?;
        let slot = calendar::check_slot(
            conn,
            ctx,
            request.start,
            &request.wanted,
            now,
            Except {
                booking_id: Some(&booking.id),
                hold_id: None,
            },
        )?;
        let old = json!({
            "start": booking.starts_at.and_utc(),
            "end": booking.ends_at.and_utc(),
            "resource_ids": booking.resources(),
        });
        calendar::vacate(conn, Occupier::Booking(&booking.id))?;
        calendar::occupy(
            conn,
            ctx,
            slot.start,
            &slot.resource_ids,
            Occupier::Booking(&booking.id),
        )?;
        booking.starts_at = slot.start.naive_utc();
        booking.ends_at = slot.end.naive_utc();
        booking.resource_ids = slot.resource_ids.join(",");
        booking.version += 1;
        booking.updated_at = at;
        save(conn, &booking)?;
        history(
            conn,
            &booking,
            "reschedule",
            actor,
            json!({"from": old, "to": {"start": slot.start, "end": slot.end, "resource_ids": slot.resource_ids}}),
            &waiver,
            at,
        )?;
        let mut payload = booking.payload();
        payload["previous"] = old;
        events::append_by(
            conn,
            &business,
            actor.client_id.as_deref(),
            "booking.rescheduled",
            &booking.id,
            &payload,
            at,
        )?;
        Ok(booking)
    })
}

/// Changes the booking's free-text notes under `If-Match`.
pub fn update_notes(
    conn: &mut DbConnection,
    business: &str,
    id: &BookingId,
    notes: Option<String>,
    expected_version: Option<i32>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let at = now.naive_utc();
    with_retries(conn, |conn| {
        let mut booking = find(conn, business, id, None)?;
        super::check_version(booking.version, expected_version)?;
        booking.notes = notes.clone();
        booking.version += 1;
        booking.updated_at = at;
        save(conn, &booking)?;
        history(
            conn,
            &booking,
            "update",
            actor,
            json!({"notes": booking.notes}),
            &Waiver::default(),
            at,
        )?;
        Ok(booking)
    })
}
