//! The lifecycle steps: cancel, check-in, start, complete, no-show.

use chrono::{DateTime, Utc};

use super::Requester;
use crate::db::DbConnection;
use crate::domain::lifecycle::{too_early_for_no_show, Step};
use crate::domain::policy::Override;
use crate::domain::texts::Reason;
use crate::error::AppError;
use crate::ids::BookingId;
use crate::store::bookings::{self, Booking, StepRequest, Waiver};
use crate::store::services;

/// One step asked for, already read at the edge.
#[derive(Debug, Clone)]
pub struct StepChange {
    pub step: Step,
    /// From `If-Match`: 412 when the booking has changed since.
    pub expected_version: Option<i32>,
    pub reason: Option<Reason>,
    pub override_rules: Option<Override>,
}

/// Applies the step to a booking the requester may touch. A cancellation
/// meets the service's cancel cutoff; a no-show waits out the grace after
/// the start; any step may carry a staff override.
pub fn step(
    conn: &mut DbConnection,
    who: &Requester,
    id: &BookingId,
    change: &StepChange,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let business = who
        .business()
        .ok_or_else(|| AppError::not_found("booking"))?;
    let current = bookings::find(conn, business, id, None)?;
    who.may_touch(&current)?;
    let policy = services::find(conn, business, &current.service_id)?
        .row
        .policy();
    let asked = change.override_rules.as_ref();
    let rules = |booking: &Booking| -> Result<Waiver, AppError> {
        let start = booking.starts_at.and_utc();
        match change.step {
            Step::Cancel => who.weigh(policy.check_cancel(start, now), asked),
            Step::NoShow => match too_early_for_no_show(start, now) {
                Some(why) => {
                    Err(
                        AppError::conflict("invalid_transition", "Invalid transition", why)
                            .with("booking_status", booking.status.as_str()),
                    )
                }
                None => who.weigh(Vec::new(), asked),
            },
            _ => who.weigh(Vec::new(), asked),
        }
    };
    bookings::step(
        conn,
        business,
        id,
        &StepRequest {
            step: change.step,
            expected_version: change.expected_version,
            customer: who.own_customer().cloned(),
            reason: change.reason.clone().map(Reason::into_string),
            waiver: Waiver::default(),
        },
        &who.actor(),
        now,
        &rules,
    )
}
