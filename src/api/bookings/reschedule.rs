//! POST /v1/bookings/{id}/reschedule: move a booking to another slot.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{booking_view, BookingView};
use super::{may_change, may_touch};
use crate::api::auth::Principal;
use crate::api::caller::Caller;
use crate::api::{blocking, if_match, versioned};
use crate::db::DbPool;
use crate::domain::lifecycle::Step;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::store::bookings::{Booking, RescheduleRequest, Waiver};
use crate::store::{self, calendar};

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
    id: web::Path<String>,
    body: crate::api::input::Json<RescheduleBooking>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    may_change(&caller, Step::Reschedule)?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let view = blocking(&pool, move |conn| {
        let now = Utc::now();
        let current = store::bookings::find(conn, &business, &id, None)?;
        may_touch(&caller, &current)?;
        let ctx = calendar::service_context(conn, Some(&business), &current.service_id)?;
        let policy = ctx.policy();
        let channel = caller.channel();
        let rules = |booking: &Booking| -> Result<Waiver, AppError> {
            caller.weigh(
                policy.check_reschedule(channel, booking.starts_at.and_utc(), body.start, now),
                body.override_rules.as_ref(),
            )
        };
        let booking = store::bookings::reschedule(
            conn,
            &ctx,
            &id,
            &RescheduleRequest {
                start: body.start,
                wanted: body.resource_ids.clone(),
                expected_version: expected,
                customer: caller.own_customer(),
            },
            &caller.actor(),
            now,
            &rules,
        )?;
        Ok(booking_view(booking, ctx.tz))
    })
    .await?;
    Ok(versioned(view.version, &view))
}
