//! POST /v1/bookings/{id}/reschedule: move a booking to another slot.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::may_change;
use super::views::{booking_view, BookingView};
use crate::api::auth::Principal;
use crate::api::caller::Caller;
use crate::api::{blocking, if_match, versioned};
use crate::booking::{self, Move};
use crate::db::DbPool;
use crate::domain::lifecycle::Step;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::ids::BookingId;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBooking {
    #[schema(format = DateTime, example = "2026-03-09T10:00:00Z")]
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub resource_ids: Vec<String>,
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

/// Move a booking to another slot, atomically: if the new slot is taken the
/// booking keeps its old one. Send `If-Match`.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/reschedule", tag = "bookings",
    params(
        ("id" = String, Path, description = "Booking id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = RescheduleBooking,
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn reschedule_booking(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<BookingId>,
    body: crate::api::input::Json<RescheduleBooking>,
) -> Result<HttpResponse, AppError> {
    let caller = Caller(Some(principal));
    may_change(&caller, Step::Reschedule)?;
    let expected_version = if_match(req.headers())?;
    let body = body.into_inner();
    let request = Move {
        start: body.start,
        resources: body.resource_ids,
        expected_version,
        override_rules: body.override_rules,
    };
    let who = caller.requester();
    let view = blocking(&pool, move |conn| {
        let (booking, tz) = booking::reschedule(conn, &who, &id, &request, Utc::now())?;
        Ok(booking_view(booking, tz))
    })
    .await?;
    Ok(versioned(view.version, &view))
}
