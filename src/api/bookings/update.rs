//! PATCH /v1/bookings/{id}: staff change a booking's notes.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::BookingView;
use super::with_tz;
use crate::api::auth::Principal;
use crate::api::caller::Caller;
use crate::api::{blocking, if_match, versioned};
use crate::db::DbPool;
use crate::error::AppError;
use crate::ids::BookingId;
use crate::store;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBooking {
    /// Free-text notes; `null` clears them.
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// Change a booking's notes (staff). Send `If-Match`.
#[utoipa::path(
    patch, path = "/v1/bookings/{id}", tag = "bookings",
    params(
        ("id" = String, Path, description = "Booking id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateBooking,
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_booking(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<BookingId>,
    body: crate::api::input::Json<UpdateBooking>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let expected = if_match(req.headers())?;
    let notes = body.into_inner().notes;
    // Counted as sent, as the OpenAPI `maxLength` counts it.
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::invalid_field(
            "notes",
            "must be at most 2000 characters",
        ));
    }
    let business = principal.business_id.clone();
    let notes = notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let caller = Caller(Some(principal));
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::update_notes(
            conn,
            &business,
            &id,
            notes,
            expected,
            &caller.actor(),
            Utc::now(),
        )?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}
