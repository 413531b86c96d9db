//! The lifecycle steps: cancel, check-in, start, complete, no-show.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::BookingView;
use super::{may_change, may_touch, with_tz};
use crate::api::auth::Principal;
use crate::api::caller::{optional_body, Caller};
use crate::api::{blocking, if_match, versioned};
use crate::db::DbPool;
use crate::domain::lifecycle::{too_early_for_no_show, Step};
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::store;
use crate::store::bookings::{Booking, StepRequest, Waiver};

/// Body of the status steps; all optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why (kept with a cancellation and in the history).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

async fn apply_step(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: String,
    body: web::Bytes,
    step: Step,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    may_change(&caller, step)?;
    // The body is read before `If-Match` is compared: a malformed request is
    // 400/422 whatever version it names.
    let body: StepBody = optional_body(&body)?;
    let expected = if_match(req.headers())?;
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(AppError::invalid_field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let view = blocking(&pool, move |conn| {
        let now = Utc::now();
        let current = store::bookings::find(conn, &business, &id, None)?;
        may_touch(&caller, &current)?;
        let service = store::services::find(conn, &business, &current.service_id)?;
        let policy = service.row.policy();
        let rules = |booking: &Booking| -> Result<Waiver, AppError> {
            let start = booking.starts_at.and_utc();
            match step {
                Step::Cancel => caller.weigh(
                    policy.check_cancel(start, now),
                    body.override_rules.as_ref(),
                ),
                Step::NoShow => match too_early_for_no_show(start, now) {
                    Some(why) => {
                        Err(
                            AppError::conflict("invalid_transition", "Invalid transition", why)
                                .with("booking_status", booking.status.clone()),
                        )
                    }
                    None => caller.weigh(Vec::new(), body.override_rules.as_ref()),
                },
                _ => caller.weigh(Vec::new(), body.override_rules.as_ref()),
            }
        };
        let booking = store::bookings::step(
            conn,
            &business,
            &id,
            &StepRequest {
                step,
                expected_version: expected,
                customer: caller.own_customer(),
                reason: reason.clone(),
                waiver: Waiver::default(),
            },
            &caller.actor(),
            now,
            &rules,
        )?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

macro_rules! step_endpoint {
    ($name:ident, $path:literal, $step:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, path = $path, tag = "bookings",
            params(
                ("id" = String, Path, description = "Booking id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
            ),
            request_body(content = Option<StepBody>, description = "Optional reason and staff override"),
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
        pub async fn $name(
            req: HttpRequest,
            principal: Principal,
            pool: web::Data<DbPool>,
            id: web::Path<String>,
            body: web::Bytes,
        ) -> Result<HttpResponse, AppError> {
            apply_step(req, principal, pool, id.into_inner(), body, $step).await
        }
    };
}

step_endpoint!(
    cancel_booking,
    "/v1/bookings/{id}/cancel",
    Step::Cancel,
    "Cancel a booking (with a reason), within the service's cancel cutoff unless staff override it."
);
step_endpoint!(
    check_in_booking,
    "/v1/bookings/{id}/check-in",
    Step::CheckIn,
    "Record that the customer has arrived (staff)."
);
step_endpoint!(
    start_booking,
    "/v1/bookings/{id}/start",
    Step::Start,
    "Record that the service has started (staff)."
);
step_endpoint!(
    complete_booking,
    "/v1/bookings/{id}/complete",
    Step::Complete,
    "Record that the service is complete (staff)."
);
step_endpoint!(
    no_show_booking,
    "/v1/bookings/{id}/no-show",
    Step::NoShow,
    "Record that the customer did not come, from 15 minutes after the start (staff)."
);
