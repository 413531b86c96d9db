//! GET /v1/bookings/{id}/ics: the booking as a calendar file.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::may_see;
use crate::api::auth::Principal;
use crate::api::blocking;
use crate::api::caller::Caller;
use crate::config::NotifySettings;
use crate::db::{DbConnection, DbPool};
use crate::domain::ics::{self, CalendarEntry, Organizer};
use crate::domain::lifecycle::BookingStatus;
use crate::error::AppError;
use crate::ids::BookingId;
use crate::store;

/// The booking as an iCalendar (RFC 5545) file.
///
/// One `VEVENT` with the business as `ORGANIZER`, `METHOD:PUBLISH` while the
/// booking stands and `METHOD:CANCEL` once it is cancelled, the method repeated
/// in the `Content-Type` (`text/calendar; charset=utf-8; method=…`). `SEQUENCE`
/// counts the reschedules and the cancellation, so a calendar app replaces its
/// copy only when the time or the status changed (a notes edit keeps it).
#[utoipa::path(
    get, path = "/v1/bookings/{id}/ics", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_ics(
    principal: Principal,
    pool: web::Data<DbPool>,
    notify: web::Data<NotifySettings>,
    id: web::Path<BookingId>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let sender = sender_address(&notify.email_from);
    let (text, content_type, reference) = blocking(&pool, move |conn| {
        calendar_file(conn, &caller, &business, &id, &sender)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"booking-{reference}.ics\""),
        ))
        .body(text))
}

/// The booking's calendar file, its content type and the booking's
/// reference (for the file name).
fn calendar_file(
    conn: &mut DbConnection,
    caller: &Caller,
    business: &str,
    id: &BookingId,
    sender: &str,
) -> Result<(String, String, String), AppError> {
    let booking = store::bookings::find(conn, business, id, None)?;
    may_see(caller, &booking)?;
    let service = store::services::find(conn, business, &booking.service_id)?;
    let location = store::locations::find(conn, business, &booking.location_id)?;
    let organizer_name = store::businesses::find(conn, business)?
        .map(|b| b.name)
        .unwrap_or_else(|| location.name.clone());
    let sequence = store::bookings::calendar_sequence(conn, business, &booking.id)?;
    let place = match &location.address {
        Some(address) => format!("{}, {}", location.name, address),
        None => location.name.clone(),
    };
    let entry = CalendarEntry {
        uid: &format!("{}@slotwise", booking.id),
        sequence,
        // The business organises the visit; replies go where its location
        // takes email, else to the address customer email comes from.
        organizer: Organizer {
            name: &organizer_name,
            email: location.email.as_deref().unwrap_or(sender),
        },
        stamp: booking.updated_at.and_utc(),
        start: booking.starts_at.and_utc(),
        end: booking.ends_at.and_utc(),
        summary: &service.row.name,
        location: Some(&place),
        description: &format!("Booking reference {}", booking.reference),
        cancelled: booking.status.is(BookingStatus::Cancelled),
    };
    Ok((
        ics::render(&entry),
        ics::content_type(&entry),
        booking.reference,
    ))
}

/// The bare address of `SLOTWISE_EMAIL_FROM` (`name <address>` or just the address).
fn sender_address(from: &str) -> String {
    match (from.find('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim().to_owned(),
        _ => from.trim().to_owned(),
    }
}
