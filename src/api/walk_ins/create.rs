//! `POST /v1/walk-ins`: someone at the desk becomes a booking at once or a
//! ticket in the queue, with the token and page the holder follows it by.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{ticket_view, TicketView};
use super::{at_the_desk, DESK_STAFF, MAX_PARTY, TICKET_SCOPE};
use crate::api::auth::{Principal, Role, TokenKeys};
use crate::api::blocking;
use crate::api::bookings::{booking_view, BookingView, CustomerDetails};
use crate::api::customers::{context_view, CallerContextView};
use crate::api::idempotency::KeyInHand;
use crate::booking;
use crate::db::DbPool;
use crate::domain::queue::ticket_lifetime;
use crate::error::{AppError, FieldErrors};
use crate::ids::ServiceId;
use crate::store::bookings::CustomerRef;
use crate::store::idempotency::StoredResponse;
use crate::store::queue::{Board, WalkIn, WalkInOutcome};
use crate::store::timeline;

/// Someone at the desk. Without `customer` or `customer_id` the visit is
/// anonymous ("Walk-in"); a name alone is enough, and an email or phone
/// finds the customer's record as a booking would.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWalkIn {
    pub service_id: String,
    pub customer_id: Option<String>,
    pub customer: Option<WalkInCustomer>,
    /// People in the party, shown to the desk (1–20; default 1).
    #[schema(minimum = 1, maximum = 20)]
    pub party_size: Option<i32>,
    /// Ask for one resource (a named stylist); otherwise whoever is free.
    pub resource_id: Option<String>,
}

/// A walk-in's details: the name is required, contact details optional.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInCustomer {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl CreateWalkIn {
    fn into_request(self) -> Result<(ServiceId, WalkIn), AppError> {
        let mut errors = FieldErrors::default();
        let party_size = self.party_size.unwrap_or(1);
        errors.check(
            (1..=MAX_PARTY).contains(&party_size),
            "party_size",
            "must be between 1 and 20",
        );
        let customer = match (self.customer_id, self.customer) {
            (Some(_), Some(_)) => {
                errors.add("customer", "give customer_id or customer, not both");
                None
            }
            (Some(id), None) => Some(CustomerRef::Existing(id.into())),
            (None, Some(c)) => {
                let details = CustomerDetails {
                    name: c.name,
                    email: c.email,
                    phone: c.phone,
                };
                Some(details.read(&mut errors))
            }
            (None, None) => Some(CustomerRef::Details {
                name: "Walk-in".into(),
                email: None,
                phone: None,
            }),
        };
        errors.finish()?;
        Ok((
            self.service_id.into(),
            WalkIn {
                customer: customer.expect("no errors, so a customer"),
                party_size,
                resource_id: self.resource_id,
            },
        ))
    }
}

/// What the desk gets: a booking now, or a place in the queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalkInResult {
    Booked,
    Queued,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalkInView {
    pub outcome: WalkInResult,
    /// When `booked`: checked in already, starting within the walk-in window.
    pub booking: Option<BookingView>,
    /// When `queued`.
    pub ticket: Option<TicketView>,
    /// The customer's history, notes and upcoming visits, when they were
    /// recognised (by id, email or phone) or are now on record.
    pub context: Option<CallerContextView>,
}

/// Take someone who walked in: a booking at once (channel `walk_in`, checked
/// in) when a slot starts within the walk-in window (10 minutes) and nobody
/// already queueing for those resources would be jumped; otherwise a queue
/// ticket with its code, position and estimated start. 409 `paused` when the
/// service, its location or every resource that could take them is paused.
#[utoipa::path(
    post, path = "/v1/walk-ins", tag = "walk-ins",
    request_body = CreateWalkIn,
    responses(
        (status = 201, body = WalkInView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_walk_in(
    principal: Principal,
    pool: web::Data<DbPool>,
    keys: web::Data<TokenKeys>,
    held: KeyInHand,
    body: crate::api::input::Json<CreateWalkIn>,
) -> Result<HttpResponse, AppError> {
    principal.require(DESK_STAFF)?;
    let (service_id, request) = body.into_inner().into_request()?;
    let business = principal.business_id.clone();
    let who = at_the_desk(&principal);
    let key = held.clone();
    let answer = blocking(&pool, move |conn| {
        let now = Utc::now();
        booking::walk_in(
            conn,
            &who,
            &service_id,
            &request,
            now,
            |conn, outcome, tz| {
                let customer_id = match &outcome {
                    WalkInOutcome::Booked { customer, .. } => Some(customer.id.clone()),
                    WalkInOutcome::Queued { customer, .. } => {
                        customer.as_ref().map(|c| c.id.clone())
                    }
                };
                let context = customer_id
                    .map(|id| timeline::caller_context(conn, &business, &id, now.naive_utc()))
                    .transpose()?;
                let answer = walk_in_answer(outcome, tz, context.map(context_view), &keys)?;
                key.store_in(conn, &answer)?;
                Ok(answer)
            },
        )
    })
    .await?;
    Ok(held.committed(answer))
}

/// The 201 answer to a walk-in: the booking made at once, or the ticket
/// with its place, estimate and the holder's token and page.
fn walk_in_answer(
    outcome: WalkInOutcome,
    tz: Tz,
    context: Option<CallerContextView>,
    keys: &TokenKeys,
) -> Result<StoredResponse, AppError> {
    match outcome {
        WalkInOutcome::Booked { booking, .. } => {
            let view = booking_view(booking, tz);
            crate::api::idempotency::created(
                format!("/v1/bookings/{}", view.id),
                view.version,
                &WalkInView {
                    outcome: WalkInResult::Booked,
                    booking: Some(view),
                    ticket: None,
                    context,
                },
            )
        }
        WalkInOutcome::Queued { ticket, board, .. } => {
            let entry = board.entry(&ticket.id).cloned();
            let mut view = ticket_view(ticket, entry.as_ref(), tz)?;
            let token = mint_ticket_token(keys, &board, &view.id)?;
            view.page_url = Some(format!("/queue/{}#token={token}", view.id));
            view.ticket_token = Some(token);
            crate::api::idempotency::created(
                format!("/v1/queue-tickets/{}", view.id),
                view.version,
                &WalkInView {
                    outcome: WalkInResult::Queued,
                    booking: None,
                    ticket: Some(view),
                    context,
                },
            )
        }
    }
}

/// A token for this one ticket, valid to the end of the location's day and
/// a little beyond (a ticket is for today).
fn mint_ticket_token(keys: &TokenKeys, board: &Board, ticket_id: &str) -> Result<String, AppError> {
    let ttl = ticket_lifetime(board.as_of, board.tz).num_minutes();
    keys.mint(
        &board.location.business_id,
        Role::Customer,
        ticket_id,
        TICKET_SCOPE,
        ttl.max(60),
    )
    .map_err(AppError::internal)
}
