//! The lifecycle steps: cancel, check-in, start, complete, no-show.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::BookingView;
use super::{may_change, with_tz};
use crate::api::auth::Principal;
use crate::api::caller::{optional_body, Caller};
use crate::api::input::reason_field;
use crate::api::{blocking, if_match, versioned};
use crate::booking::{self, StepChange};
use crate::db::DbPool;
use crate::domain::lifecycle::Step;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::ids::BookingId;

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

impl StepBody {
    /// Reads the body into the step asked for.
    fn read(self, step: Step, expected_version: Option<i32>) -> Result<StepChange, AppError> {
        Ok(StepChange {
            step,
            expected_version,
            reason: reason_field(self.reason.as_deref())?,
            override_rules: self.override_rules,
        })
    }
}

async fn apply_step(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: BookingId,
    body: web::Bytes,
    step: Step,
) -> Result<HttpResponse, AppError> {
    let caller = Caller(Some(principal));
    may_change(&caller, step)?;
    // The body is read before `If-Match` is compared: a malformed request is
    // 400/422 whatever version it names.
    let body: StepBody = optional_body(&body)?;
    let change = body.read(step, if_match(req.headers())?)?;
    let who = caller.requester();
    let view = blocking(&pool, move |conn| {
        let booking = booking::step(conn, &who, &id, &change, Utc::now())?;
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
            id: web::Path<BookingId>,
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
