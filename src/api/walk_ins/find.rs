//! Reading the queue: a location's board, and one ticket for the staff or
//! for its holder.

use actix_web::{web, HttpResponse};
use chrono::Utc;

use super::views::{board_view, ticket_view, QueueBoard, TicketView};
use super::{DESK_STAFF, TICKET_SCOPE};
use crate::api::auth::{MaybePrincipal, Principal, Role};
use crate::api::caller::Caller;
use crate::api::{blocking, versioned};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store;

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
