//! The walk-in desk: `POST /v1/walk-ins` (a booking now, or a queue ticket),
//! the location's board, the desk's ticket steps, the customer's own view of
//! their ticket (`/queue/{ticket}` and its token), and broadcasts.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{MaybePrincipal, Principal, Role, TokenKeys};
use super::availability::utc_text;
use super::bookings::{booking_view, BookingView, CustomerDetails};
use super::caller::{optional_body, Caller};
use super::customers::{context_view, CallerContextView};
use super::idempotency::KeyInHand;
use super::input::reason_field;
use super::{blocking, if_match, versioned};
use crate::booking::{self, Requester};
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::Channel;
use crate::domain::queue::{describe, ticket_lifetime, EstimateReason, TicketStatus, TicketStep};
use crate::domain::texts::Reason;
use crate::error::{AppError, FieldErrors};
use crate::ids::ServiceId;
use crate::store::bookings::{Booking, CustomerRef};
use crate::store::idempotency::StoredResponse;
use crate::store::queue::{Board, QueuedTicket, Ticket, WalkIn, WalkInOutcome};
use crate::store::{self, timeline};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/walk-ins", web::post().to(create_walk_in))
        .route("/v1/locations/{id}/queue", web::get().to(get_queue))
        .route("/v1/queue-tickets/{id}", web::get().to(get_ticket))
        .route("/v1/queue-tickets/{id}/call", web::post().to(call_ticket))
        .route("/v1/queue-tickets/{id}/seat", web::post().to(seat_ticket))
        .route(
            "/v1/queue-tickets/{id}/cancel",
            web::post().to(cancel_ticket),
        )
        .route(
            "/v1/queue-tickets/{id}/no-show",
            web::post().to(no_show_ticket),
        )
        .route("/queue/{ticket}", web::get().to(ticket_page));
}

/// Who may take walk-ins and read the board: the desk and the staff behind it.
const DESK_STAFF: &[Role] = &[Role::Desk, Role::Agent, Role::Manager, Role::Admin];
/// Who runs the queue (calls, seats, no-shows).
const QUEUE_STAFF: &[Role] = &[Role::Desk, Role::Manager, Role::Admin];
/// The scope of a ticket token: that one ticket, read only.
const TICKET_SCOPE: &str = "queue:ticket";
/// The largest party one ticket may stand for.
const MAX_PARTY: i32 = 20;

const QUEUE_HTML: &str = include_str!("../../assets/queue.html");

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

/// A ticket as the desk and its holder see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    #[schema(example = "qtk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    /// What the desk calls out.
    #[schema(example = "A014")]
    pub code: String,
    pub status: TicketStatus,
    /// 1 for the next to be served; absent once served or gone.
    pub position: Option<u32>,
    pub location_id: String,
    pub service_id: String,
    pub customer_id: Option<String>,
    pub customer_name: String,
    pub party_size: i32,
    pub resource_id: Option<String>,
    /// The booking made when seated.
    pub booking_id: Option<String>,
    /// The estimated start as a range; absent when nothing can take them
    /// before the end of the day, or once they are served.
    #[schema(format = DateTime)]
    pub estimated_start_earliest: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_latest: Option<String>,
    /// Why, in words: "2 ahead · 0 of 2 free now; first from 10:40".
    pub estimate_reason: Option<String>,
    /// The same reasons, as numbers.
    pub estimate: Option<EstimateReason>,
    /// The resources the estimate expects to take them.
    pub expected_resource_ids: Vec<String>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub called_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// On creation only: a token for `GET /v1/queue-tickets/{id}` and the
    /// page at `page_url`, for the customer to follow their place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/queue/qtk_01JD3V6Q8M2X4Z7C9B1N5R3T6W#token=…")]
    pub page_url: Option<String>,
}

fn ticket_view(
    ticket: Ticket,
    entry: Option<&QueuedTicket>,
    tz: Tz,
) -> Result<TicketView, AppError> {
    let status = ticket.status()?;
    let estimate = entry.map(|e| &e.estimate);
    Ok(TicketView {
        status,
        position: entry.map(|e| e.position),
        estimated_start_earliest: estimate.and_then(|e| e.earliest).map(utc_text),
        estimated_start_latest: estimate.and_then(|e| e.latest).map(utc_text),
        estimate_reason: estimate.map(|e| describe(e, tz)),
        estimate: estimate.map(|e| e.reason.clone()),
        expected_resource_ids: estimate.map(|e| e.resource_ids.clone()).unwrap_or_default(),
        id: ticket.id,
        code: ticket.code,
        location_id: ticket.location_id,
        service_id: ticket.service_id,
        customer_id: ticket.customer_id,
        customer_name: ticket.customer_name,
        party_size: ticket.party_size,
        resource_id: ticket.resource_id,
        booking_id: ticket.booking_id,
        cancel_reason: ticket.cancel_reason,
        version: ticket.version,
        created_at: utc_text(ticket.created_at.and_utc()),
        called_at: ticket.called_at.map(|t| utc_text(t.and_utc())),
        updated_at: utc_text(ticket.updated_at.and_utc()),
        ticket_token: None,
        page_url: None,
    })
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

/// The desk: whoever holds the token, through the walk-in door.
fn at_the_desk(principal: &Principal) -> Requester {
    Caller(Some(principal.clone()))
        .requester()
        .through(Channel::WalkIn)
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
    body: super::input::Json<CreateWalkIn>,
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
            super::idempotency::created(
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
            super::idempotency::created(
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

/// One line of the board, in serve order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardEntry {
    pub kind: BoardEntryKind,
    /// Tickets: their id, code and position.
    pub ticket_id: Option<String>,
    #[schema(example = "A014")]
    pub code: Option<String>,
    pub position: Option<u32>,
    /// Appointments and people in service: the booking.
    pub booking_id: Option<String>,
    pub reference: Option<String>,
    pub customer_name: String,
    pub service_id: String,
    pub party_size: i32,
    /// In service / arrived: the booked resources; tickets: where the
    /// estimate expects them (or the one they asked for).
    pub resource_ids: Vec<String>,
    /// In service: since when; arrived: the appointment's time.
    #[schema(format = DateTime)]
    pub booked_start: Option<String>,
    /// In service: when it is due to end.
    #[schema(format = DateTime)]
    pub booked_end: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_earliest: Option<String>,
    #[schema(format = DateTime)]
    pub estimated_start_latest: Option<String>,
    pub estimate_reason: Option<String>,
    pub version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardEntryKind {
    InService,
    /// A checked-in appointment.
    Arrived,
    Called,
    Waiting,
}

/// A location's queue: who is in service, then everyone waiting — arrived
/// appointments and tickets together — in the order they are expected to be served.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueBoard {
    pub location_id: String,
    pub timezone: String,
    #[schema(format = DateTime)]
    pub as_of: String,
    pub entries: Vec<BoardEntry>,
    /// Tickets waiting or called.
    pub waiting_count: u32,
}

fn board_view(board: Board) -> QueueBoard {
    let mut entries: Vec<BoardEntry> = board
        .in_service
        .iter()
        .map(|(b, name)| BoardEntry::of_booking(BoardEntryKind::InService, b, name, None))
        .collect();
    let arrived = board.arrived.iter().map(|a| {
        let kind = BoardEntryKind::Arrived;
        let entry = BoardEntry::of_booking(kind, &a.booking, &a.customer_name, Some(a.estimate));
        (Some(a.estimate.0), 0, entry)
    });
    let queued = board
        .tickets
        .iter()
        .map(|q| (q.estimate.earliest, 1, BoardEntry::of_ticket(q, board.tz)));
    let mut waiting: Vec<(Option<DateTime<Utc>>, u8, BoardEntry)> = arrived.chain(queued).collect();
    // Soonest expected first; nothing expected today goes last; on a tie an
    // appointment goes before a walk-in.
    waiting.sort_by_key(|(at, kind, _)| (at.is_none(), *at, *kind));
    entries.extend(waiting.into_iter().map(|(_, _, e)| e));
    QueueBoard {
        location_id: board.location.id.clone(),
        timezone: board.tz.name().to_owned(),
        as_of: utc_text(board.as_of),
        waiting_count: board.tickets.len() as u32,
        entries,
    }
}

impl BoardEntry {
    /// A booking on the board: in service, or arrived and expected to start
    /// within `estimate`.
    fn of_booking(
        kind: BoardEntryKind,
        b: &Booking,
        customer_name: &str,
        estimate: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Self {
        BoardEntry {
            kind,
            ticket_id: None,
            code: None,
            position: None,
            booking_id: Some(b.id.to_string()),
            reference: Some(b.reference.clone()),
            customer_name: customer_name.to_owned(),
            service_id: b.service_id.to_string(),
            party_size: 1,
            resource_ids: b.resources(),
            booked_start: Some(utc_text(b.starts_at.and_utc())),
            booked_end: Some(utc_text(b.ends_at.and_utc())),
            estimated_start_earliest: estimate.map(|e| utc_text(e.0)),
            estimated_start_latest: estimate.map(|e| utc_text(e.1)),
            estimate_reason: estimate.map(|_| "appointment".into()),
            version: b.version,
        }
    }

    /// A queued walk-in: waiting or called, with its place and estimate.
    fn of_ticket(q: &QueuedTicket, tz: Tz) -> Self {
        let (t, e) = (&q.ticket, &q.estimate);
        BoardEntry {
            kind: if t.status == TicketStatus::Called.as_str() {
                BoardEntryKind::Called
            } else {
                BoardEntryKind::Waiting
            },
            ticket_id: Some(t.id.clone()),
            code: Some(t.code.clone()),
            position: Some(q.position),
            booking_id: None,
            reference: None,
            customer_name: t.customer_name.clone(),
            service_id: t.service_id.clone(),
            party_size: t.party_size,
            resource_ids: if e.resource_ids.is_empty() {
                t.resource_id.iter().cloned().collect()
            } else {
                e.resource_ids.clone()
            },
            booked_start: None,
            booked_end: None,
            estimated_start_earliest: e.earliest.map(utc_text),
            estimated_start_latest: e.latest.map(utc_text),
            estimate_reason: Some(describe(e, tz)),
            version: t.version,
        }
    }
}

/// The board of a location, recomputed on every read.
#[utoipa::path(
    get, path = "/v1/locations/{id}/queue", tag = "walk-ins",
    params(("id" = String, Path, description = "Location id")),
    responses(
        (status = 200, body = QueueBoard),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_queue(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(DESK_STAFF)?;
    let id = id.into_inner();
    let board = blocking(&pool, move |conn| {
        store::queue::board(conn, &principal.business_id, &id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(board_view(board)))
}

/// A ticket: for staff of the business, or for its holder with the ticket
/// token the walk-in answer gave (any other token: 404, so ids leak nothing).
#[utoipa::path(
    get, path = "/v1/queue-tickets/{id}", tag = "walk-ins",
    params(("id" = String, Path, description = "Ticket id")),
    responses(
        (status = 200, body = TicketView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_ticket(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let caller = Caller(maybe.0);
    let principal = caller.require_token()?.clone();
    let id = id.into_inner();
    match principal.role {
        Role::Customer if principal.subject == id && principal.has_scope(TICKET_SCOPE) => {}
        Role::Customer | Role::Partner => return Err(AppError::not_found("queue ticket")),
        _ => principal.require(Principal::STAFF)?,
    }
    let view = blocking(&pool, move |conn| {
        let ticket = store::queue::find(conn, &principal.business_id, &id)?;
        let board = store::queue::board(
            conn,
            &principal.business_id,
            &ticket.location_id,
            Utc::now(),
        )?;
        let entry = board.entry(&ticket.id).cloned();
        ticket_view(ticket, entry.as_ref(), board.tz)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

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

/// The page a ticket token opens (`/queue/{ticket}#token=…`): code, place
/// and estimate, kept fresh. The token stays in the fragment, never in a log.
pub async fn ticket_page(ticket: web::Path<String>) -> HttpResponse {
    let id: String = ticket
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(QUEUE_HTML.replace("__TICKET__", &id))
}
