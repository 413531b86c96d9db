//! Moving a booking to another slot, atomically: if the new slot is taken
//! the booking keeps its old one.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Requester;
use crate::db::DbConnection;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::ids::BookingId;
use crate::store::bookings::{self, Booking, RescheduleRequest, Waiver};
use crate::store::calendar;

/// Where to move a booking to, and which version is being moved.
#[derive(Debug, Clone)]
pub struct Move {
    pub start: DateTime<Utc>,
    pub resources: Vec<String>,
    /// From `If-Match`: 412 when the booking has changed since.
    pub expected_version: Option<i32>,
    pub override_rules: Option<Override>,
}

/// Moves the booking under the service's reschedule cutoff and booking
/// rules for the requester's door; returns it with its location's zone.
pub fn reschedule(
    conn: &mut DbConnection,
    who: &Requester,
    id: &BookingId,
    request: &Move,
    now: DateTime<Utc>,
) -> Result<(Booking, Tz), AppError> {
    let business = who
        .business()
        .ok_or_else(|| AppError::not_found("booking"))?;
    let current = bookings::find(conn, business, id, None)?;
    who.may_touch(&current)?;
    let ctx = calendar::service_context(conn, Some(business), &current.service_id)?;
    let policy = ctx.policy();
    let rules = |booking: &Booking| -> Result<Waiver, AppError> {
        who.weigh(
            policy.check_reschedule(
                who.channel(),
                booking.starts_at.and_utc(),
                request.start,
                now,
            ),
            request.override_rules.as_ref(),
        )
    };
    let booking = bookings::reschedule(
        conn,
        &ctx,
        id,
        &RescheduleRequest {
            start: request.start,
            wanted: request.resources.clone(),
            expected_version: request.expected_version,
            customer: who.own_customer().cloned(),
        },
        &who.actor(),
        now,
        &rules,
    )?;
    Ok((booking, ctx.tz))
}
