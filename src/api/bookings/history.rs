//! GET /v1/bookings/{id}/history: every change of a booking.

use actix_web::{web, HttpResponse};

use super::may_see;
use super::views::{history_view, HistoryList};
use crate::api::auth::Principal;
use crate::api::blocking;
use crate::api::caller::Caller;
use crate::db::DbPool;
use crate::error::AppError;
use crate::ids::BookingId;
use crate::store;

/// Every change of a booking, oldest first: who, when, through which channel, what.
#[utoipa::path(
    get, path = "/v1/bookings/{id}/history", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, body = HistoryList),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_history(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<BookingId>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let entries = blocking(&pool, move |conn| {
        let booking = store::bookings::find(conn, &business, &id, None)?;
        may_see(&caller, &booking)?;
        store::bookings::history_of(conn, &business, &booking.id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(HistoryList {
        data: entries.into_iter().map(history_view).collect(),
    }))
}
