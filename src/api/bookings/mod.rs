//! `/v1/bookings`: one booking flow for every channel — create (from a hold or
//! a slot), find (by id, by reference, by filters), the lifecycle steps,
//! history and an iCalendar file. This file holds the routes and who may see
//! or change which booking; each action has its own file.

pub mod create;
pub mod find;
pub mod history;
pub mod ics;
pub mod reschedule;
pub mod step;
pub mod update;
pub mod views;

pub use create::CustomerDetails;
pub(crate) use views::booking_view;
pub use views::BookingView;

use actix_web::web;
use chrono_tz::Tz;

use super::auth::{Principal, Role};
use super::caller::Caller;
use crate::db::DbConnection;
use crate::domain::catalog::parse_time_zone;
use crate::domain::lifecycle::Step;
use crate::error::AppError;
use crate::ids::LocationId;
use crate::store;
use crate::store::bookings::Booking;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, find::*, history::*, ics::*, reschedule::*, step::*, update::*};
    cfg.route("/v1/bookings", web::post().to(create_booking))
        .route("/v1/bookings", web::get().to(list_bookings))
        .route(
            "/v1/bookings/by-reference/{code}",
            web::get().to(get_booking_by_reference),
        )
        .route("/v1/bookings/{id}", web::get().to(get_booking))
        .route("/v1/bookings/{id}", web::patch().to(update_booking))
        .route("/v1/bookings/{id}/ics", web::get().to(get_booking_ics))
        .route(
            "/v1/bookings/{id}/history",
            web::get().to(get_booking_history),
        )
        .route(
            "/v1/bookings/{id}/reschedule",
            web::post().to(reschedule_booking),
        )
        .route("/v1/bookings/{id}/cancel", web::post().to(cancel_booking))
        .route(
            "/v1/bookings/{id}/check-in",
            web::post().to(check_in_booking),
        )
        .route("/v1/bookings/{id}/start", web::post().to(start_booking))
        .route(
            "/v1/bookings/{id}/complete",
            web::post().to(complete_booking),
        )
        .route("/v1/bookings/{id}/no-show", web::post().to(no_show_booking));
}

pub(super) fn location_tz(
    conn: &mut DbConnection,
    business: &str,
    location_id: &LocationId,
) -> Result<Tz, AppError> {
    let location = store::locations::find(conn, business, location_id)?;
    parse_time_zone(&location.timezone).map_err(AppError::internal)
}

pub(super) fn with_tz(conn: &mut DbConnection, booking: Booking) -> Result<BookingView, AppError> {
    let tz = location_tz(conn, &booking.business_id, &booking.location_id)?;
    Ok(booking_view(booking, tz))
}

/// Whose bookings a caller may act on (see [`Requester::may_touch`]);
/// anonymous callers need a token first (401).
///
/// [`Requester::may_touch`]: crate::booking::Requester::may_touch
pub(super) fn may_touch(caller: &Caller, booking: &Booking) -> Result<(), AppError> {
    caller.require_token()?;
    caller.requester().may_touch(booking)
}

/// As [`may_touch`], and partners need `bookings:read` to read.
pub(super) fn may_see(caller: &Caller, booking: &Booking) -> Result<(), AppError> {
    let principal = caller.require_token()?;
    if principal.role == Role::Partner {
        principal.require_staff_or_partner_scope("bookings:read")?;
    }
    may_touch(caller, booking)
}

/// Who may change a booking through `step`, and on whose bookings.
pub(super) fn may_change(caller: &Caller, step: Step) -> Result<(), AppError> {
    let principal = caller.require_token()?;
    match (principal.role, step) {
        (Role::Customer, Step::Cancel | Step::Reschedule) => Ok(()),
        (Role::Partner, Step::Cancel | Step::Reschedule) => {
            principal.require_staff_or_partner_scope("bookings:write")
        }
        _ => principal.require(Principal::STAFF),
    }
}
