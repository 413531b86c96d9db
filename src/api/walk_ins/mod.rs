//! The walk-in desk: `POST /v1/walk-ins` (a booking now, or a queue ticket),
//! the location's board, the desk's ticket steps, the customer's own view of
//! their ticket (`/queue/{ticket}` and its token), and broadcasts. This file
//! holds the routes, who may do what at the desk, and the ticket's page; each
//! action has its own file.

pub mod create;
pub mod find;
pub mod step;
pub mod views;

use actix_web::{web, HttpResponse};

use super::auth::{Principal, Role};
use super::caller::Caller;
use crate::booking::Requester;
use crate::domain::catalog::Channel;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, find::*, step::*};
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

const QUEUE_HTML: &str = include_str!("../../../assets/queue.html");

/// The desk: whoever holds the token, through the walk-in door.
fn at_the_desk(principal: &Principal) -> Requester {
    Caller(Some(principal.clone()))
        .requester()
        .through(Channel::WalkIn)
}

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
