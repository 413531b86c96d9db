//! The desk's steps on a ticket: call, seat (a booking from now), cancel and
//! no-show.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{ticket_view, TicketView};
use super::{at_the_desk, QUEUE_STAFF};
use crate::api::auth::Principal;
use crate::api::bookings::{booking_view, BookingView};
use crate::api::caller::optional_body;
use crate::api::input::reason_field;
use crate::api::{blocking, if_match, versioned};
use crate::booking::{self, Requester};
use crate::db::{DbConnection, DbPool};
use crate::domain::queue::TicketStep;
use crate::domain::texts::Reason;
use crate::error::AppError;
use crate::store;

/// Body of `call`, `cancel` and `no-show`; all optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketStepBody {
    /// Why (kept with a cancellation).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Body of `seat`; optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatBody {
    /// The resource that takes them; default: the one they asked for, else any free one.
    pub resource_id: Option<String>,
}

/// A ticket after a step, with the booking when seated.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStepView {
    pub ticket: TicketView,
    pub booking: Option<BookingView>,
}

async fn apply_ticket_step(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: String,
    body: web::Bytes,
    step: TicketStep,
) -> Result<HttpResponse, AppError> {
    principal.require(QUEUE_STAFF)?;
    let change = TicketChange::read(step, &body)?;
    // Compared after the body is read: a malformed body is 400/422 whatever version it names.
    let expected = if_match(req.headers())?;
    let business = principal.business_id.clone();
    let who = at_the_desk(&principal);
    let view = blocking(&pool, move |conn| {
        change.apply(conn, &who, &business, &id, expected, Utc::now())
    })
    .await?;
    Ok(versioned(view.ticket.version, &view))
}

/// A step on a ticket as its body asks: seating books them (on a resource
/// they may name); the other steps may carry a reason.
enum TicketChange {
    Seat {
        resource_id: Option<String>,
    },
    Step {
        step: TicketStep,
        reason: Option<String>,
    },
}

impl TicketChange {
    fn read(step: TicketStep, body: &web::Bytes) -> Result<Self, AppError> {
        if step == TicketStep::Seat {
            let body: SeatBody = optional_body(body)?;
            return Ok(Self::Seat {
                resource_id: body.resource_id,
            });
        }
        let body: TicketStepBody = optional_body(body)?;
        let reason = reason_field(body.reason.as_deref())?;
        Ok(Self::Step {
            step,
            reason: reason.map(Reason::into_string),
        })
    }

    /// Takes the step on the ticket, with the board as it stands after it.
    fn apply(
        self,
        conn: &mut DbConnection,
        who: &Requester,
        business: &str,
        id: &str,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<TicketStepView, AppError> {
        let (ticket, booking, board) = match self {
            Self::Seat { resource_id } => {
                let (ticket, booking, board) =
                    booking::seat(conn, who, id, resource_id.as_deref(), expected, now)?;
                (ticket, Some(booking), board)
            }
            Self::Step { step, reason } => {
                let (ticket, board) =
                    store::queue::step(conn, business, id, step, expected, reason.as_deref(), now)?;
                (ticket, None, board)
            }
        };
        let entry = board.entry(&ticket.id).cloned();
        Ok(TicketStepView {
            ticket: ticket_view(ticket, entry.as_ref(), board.tz)?,
            booking: booking.map(|b| booking_view(b, board.tz)),
        })
    }
}

macro_rules! ticket_step_endpoint {
    ($name:ident, $path:literal, $step:expr, $body:ty, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, path = $path, tag = "walk-ins",
            params(
                ("id" = String, Path, description = "Ticket id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
            ),
            request_body(content = Option<$body>, description = "Optional"),
            responses(
                (status = 200, body = TicketStepView, headers(("ETag" = String))),
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
            apply_ticket_step(req, principal, pool, id.into_inner(), body, $step).await
        }
    };
}

ticket_step_endpoint!(
    call_ticket,
    "/v1/queue-tickets/{id}/call",
    TicketStep::Call,
    TicketStepBody,
    "Call a waiting ticket to the desk (waiting → called)."
);
ticket_step_endpoint!(
    seat_ticket,
    "/v1/queue-tickets/{id}/seat",
    TicketStep::Seat,
    SeatBody,
    "Seat a called ticket: books them in service from now on the resource that takes them (called → seated). 409 `slot_unavailable` when that resource is busy or an appointment needs it before the visit would end."
);
ticket_step_endpoint!(
    cancel_ticket,
    "/v1/queue-tickets/{id}/cancel",
    TicketStep::Cancel,
    TicketStepBody,
    "Take a ticket out of the queue (waiting or called → cancelled)."
);
ticket_step_endpoint!(
    no_show_ticket,
    "/v1/queue-tickets/{id}/no-show",
    TicketStep::NoShow,
    TicketStepBody,
    "Record that a called ticket did not come (called → no_show)."
);
