//! `GET /v1/customers/{id}/notifications`: what slotwise told a customer, or
//! decided not to, and why (staff). The rows are planned from events and
//! sent by the notification worker (`workers::notifications`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::catalog::{instant, optional_instant};
use super::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store::notifications::Notification;
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/customers/{id}/notifications",
        web::get().to(list_notifications),
    );
}

/// One message to a customer, with its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    #[schema(example = "ntf_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub booking_id: Option<String>,
    /// `confirmation`, `change`, `cancellation`, `reminder`, `follow_up` or `notice` (a broadcast).
    pub kind: String,
    /// For a reminder: how long before the start its rule sends it.
    pub before_minutes: Option<i32>,
    /// The booking's version it was planned for: a reschedule plans anew.
    pub booking_version: Option<i32>,
    /// `scheduled`, `sent`, `skipped` or `failed`.
    pub state: String,
    /// Why it was skipped or failed: `cancelled`, `moved`, `superseded`,
    /// `already_arrived`, `too_late`, `not_completed`, `no_longer_cancelled`,
    /// `no_sender`, `no_address`, or the sender's error.
    pub reason: Option<String>,
    /// `email`, `sms` or `whatsapp`, once chosen.
    pub channel: Option<String>,
    pub recipient: Option<String>,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Notification> for NotificationView {
    // The row's `detail` (a survey token) is the customer's capability and
    // stays out of the view.
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            booking_id: n.booking_id,
            kind: n.kind,
            before_minutes: n.rule_minutes,
            booking_version: n.booking_version,
            state: n.state,
            reason: n.reason,
            channel: n.channel,
            recipient: n.recipient,
            due_at: instant(n.due_at),
            attempts: n.attempts,
            sent_at: optional_instant(n.sent_at),
            created_at: instant(n.created_at),
            updated_at: instant(n.updated_at),
        }
    }
}

/// A customer's notifications, oldest first (staff).
#[utoipa::path(
    get, path = "/v1/customers/{id}/notifications", tag = "customers",
    params(("id" = String, Path, description = "Customer id"), PageQuery),
    responses(
        (status = 200, body = super::Page<NotificationView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::notifications::list_for_customer(conn, &principal.business_id, &id, &request)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |n| &n.id,
        NotificationView::from,
    ))
}
