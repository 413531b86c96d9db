//! Booking a slot, from a live hold or directly by service and start.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Requester;
use crate::db::DbConnection;
use crate::domain::holds::HoldStatus;
use crate::domain::policy::Override;
use crate::domain::texts::Notes;
use crate::error::AppError;
use crate::ids::{HoldId, ServiceId};
use crate::store::bookings::{Arrival, Booking, CustomerRef, NewBooking, SlotSource};
use crate::store::calendar::{self, ServiceContext};
use crate::store::customers::Customer;
use crate::store::{self, holds};

/// Which slot: the one a live hold keeps, or a start for a service.
#[derive(Debug, Clone)]
pub enum Slot {
    Hold(HoldId),
    At {
        service_id: ServiceId,
        start: DateTime<Utc>,
        /// Pinned resources (a chosen stylist); other groups are picked.
        resources: Vec<String>,
    },
}

/// A booking asked for, already read and checked at the edge.
#[derive(Debug, Clone)]
pub struct BookRequest {
    pub slot: Slot,
    pub customer: CustomerRef,
    pub notes: Option<Notes>,
    pub override_rules: Option<Override>,
}

/// A booking made, with its customer and the zone of its location.
#[derive(Debug)]
pub struct Booked {
    pub booking: Booking,
    pub customer: Customer,
    pub tz: Tz,
}

/// Books the slot for the customer under the service's rules for the
/// requester's door. `answer` renders the reply inside the booking's own
/// transaction, so a reply kept for an `Idempotency-Key` commits with the
/// booking or not at all: a retry after a crash between commit and reply
/// replays it instead of booking twice.
pub fn book<A>(
    conn: &mut DbConnection,
    who: &Requester,
    request: &BookRequest,
    now: DateTime<Utc>,
    mut answer: impl FnMut(&mut DbConnection, &Booked) -> Result<A, AppError>,
) -> Result<A, AppError> {
    let (ctx, source) = slot_of(conn, who, &request.slot, now)?;
    let policy = ctx.policy();
    who.ensure_offered(&policy)?;
    let start = match &source {
        SlotSource::Hold(hold) => hold.starts_at.and_utc(),
        SlotSource::Direct { start, .. } => *start,
    };
    let waiver = who.weigh(
        policy.check_new_slot(who.channel(), start, now),
        request.override_rules.as_ref(),
    )?;
    let new = NewBooking {
        source,
        customer: request.customer.clone(),
        notes: request.notes.clone().map(Notes::into_string),
        waiver,
        arrival: Arrival::Booked,
    };
    let actor = who.actor();
    store::with_retries(conn, |conn| {
        let (booking, customer) = store::bookings::create_in(conn, &ctx, &new, &actor, now)?;
        let booked = Booked {
            booking,
            customer,
            tz: ctx.tz,
        };
        Ok(answer(conn, &booked)?)
    })
}

/// The service and slot a request names. A hold must still be live and not
/// yet booked (409 with the booking it became, 410 once lapsed).
fn slot_of(
    conn: &mut DbConnection,
    who: &Requester,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Result<(ServiceContext, SlotSource), AppError> {
    match slot {
        Slot::Hold(hold_id) => {
            let hold = holds::find(conn, who.business(), hold_id)?;
            if hold.status.is(HoldStatus::Booked) {
                return Err(AppError::hold_booked(hold.booking_id.as_deref()));
            }
            if !hold.is_live(now) {
                return Err(AppError::hold_expired());
            }
            let ctx = calendar::service_context(conn, Some(&hold.business_id), &hold.service_id)?;
            Ok((ctx, SlotSource::Hold(Box::new(hold))))
        }
        Slot::At {
            service_id,
            start,
            resources,
        } => {
            let ctx = calendar::service_context(conn, who.business(), service_id)?;
            let source = SlotSource::Direct {
                start: *start,
                wanted: resources.clone(),
            };
            Ok((ctx, source))
        }
    }
}
