//! Taking someone who walked in: a booking at once when a slot is free and
//! nobody queueing would be jumped, otherwise a place in the queue; and
//! seating them from the queue later.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Requester;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::ServiceId;
use crate::store::bookings::Booking;
use crate::store::queue::{self, Board, Ticket, WalkIn, WalkInOutcome};
use crate::store::{self, calendar};

/// Takes the walk-in for the service. They are here: notice and advance
/// rules do not apply; the channel rule does. `answer` renders the reply in
/// the walk-in's own transaction (see [`super::book`]).
pub fn walk_in<A>(
    conn: &mut DbConnection,
    who: &Requester,
    service_id: &ServiceId,
    request: &WalkIn,
    now: DateTime<Utc>,
    mut answer: impl FnMut(&mut DbConnection, WalkInOutcome, Tz) -> Result<A, AppError>,
) -> Result<A, AppError> {
    let ctx = calendar::service_context(conn, who.business(), service_id)?;
    let channel_rule = ctx.policy().check_channel(who.channel());
    who.weigh(channel_rule.into_iter().collect(), None)?;
    let actor = who.actor();
    store::with_retries(conn, |conn| {
        let outcome = queue::walk_in_in(conn, &ctx, request, &actor, now)?;
        Ok(answer(conn, outcome, ctx.tz)?)
    })
}

/// Seats a queued walk-in: books them from the next whole minute on the
/// resource named, or the one they asked for, or any free one, and takes
/// the ticket off the queue, as one change.
pub fn seat(
    conn: &mut DbConnection,
    who: &Requester,
    ticket_id: &str,
    resource_id: Option<&str>,
    expected_version: Option<i32>,
    now: DateTime<Utc>,
) -> Result<(Ticket, Booking, Board), AppError> {
    let business = who
        .business()
        .ok_or_else(|| AppError::not_found("ticket"))?;
    let ticket = queue::find(conn, business, ticket_id)?;
    let ctx = calendar::service_context(conn, Some(business), &ticket.service_id)?;
    queue::seat(
        conn,
        &ctx,
        ticket_id,
        resource_id,
        expected_version,
        &who.actor(),
        now,
    )
}
