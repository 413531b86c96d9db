//! `/v1/holds`: reserve a slot for a few minutes while the customer fills in
//! the form; it blocks the slot for every channel until booked, released or
//! expired.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::MaybePrincipal;
use super::availability::{local_text, utc_text};
use super::blocking;
use super::caller::{caller, BookingSettings};
use super::strangers::StrangerLimits;
use crate::booking::{self, HoldSlot};
use crate::db::DbPool;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::ids::{HoldId, ServiceId};
use crate::store;
use crate::store::holds::{Hold, StrangerCap};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/holds", web::post().to(create_hold))
        .route("/v1/holds/{id}", web::delete().to(release_hold));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHold {
    pub service_id: String,
    /// A slot start from `GET /v1/availability`.
    #[schema(format = DateTime, example = "2026-03-08T14:00:00Z")]
    pub start: DateTime<Utc>,
    /// Pin resources (e.g. a chosen stylist); other groups are picked for you.
    #[serde(default)]
    pub resource_ids: Vec<String>,
    /// Staff only: set named service rules aside, with a reason.
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: String,
    pub service_id: String,
    pub location_id: String,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub local_start: String,
    pub resource_ids: Vec<String>,
    /// After this instant the slot is free again unless booked.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// `active`, `released`, `expired` or `booked`.
    pub status: String,
    /// The partner client that took it, if one did.
    pub client_id: Option<String>,
}

fn hold_view(hold: &Hold, tz: chrono_tz::Tz) -> HoldView {
    HoldView {
        id: hold.id.to_string(),
        service_id: hold.service_id.to_string(),
        location_id: hold.location_id.to_string(),
        start: utc_text(hold.starts_at.and_utc()),
        end: utc_text(hold.ends_at.and_utc()),
        local_start: local_text(hold.starts_at.and_utc(), tz),
        resource_ids: hold.resources(),
        expires_at: utc_text(hold.expires_at.and_utc()),
        status: hold.status.as_str().to_owned(),
        client_id: hold.client_id.clone(),
    }
}

/// Hold a slot for a few minutes (default 10).
///
/// Anonymous callers may hold slots of services that allow `online`.
#[utoipa::path(
    post, path = "/v1/holds", tag = "bookings",
    request_body = CreateHold,
    responses(
        (status = 201, body = HoldView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
        (status = 429, response = crate::error::TooManyRequests),
    ),
    security((), ("bearer" = []))
)]
pub async fn create_hold(
    req: HttpRequest,
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    settings: web::Data<BookingSettings>,
    limits: web::Data<StrangerLimits>,
    body: super::input::Json<CreateHold>,
) -> Result<HttpResponse, AppError> {
    let caller = caller(maybe);
    caller.require_may_book()?;
    let body = body.into_inner();
    let ttl = settings.hold_ttl;
    let cap = limits.settings.holds_per_address;
    let stranger = match limits.client_address(&req) {
        Some(address) if caller.is_anonymous() && cap > 0 => Some(StrangerCap {
            address: address.to_string(),
            live_holds: cap,
        }),
        _ => None,
    };
    let request = HoldSlot {
        service_id: ServiceId::from(body.service_id),
        start: body.start,
        resources: body.resource_ids,
        override_rules: body.override_rules,
        ttl,
        stranger,
    };
    let who = caller.requester();
    let (hold, tz) = blocking(&pool, move |conn| {
        booking::hold(conn, &who, request, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/holds/{}", hold.id)))
        .json(hold_view(&hold, tz)))
}

/// Release a hold so its slot is free again at once.
#[utoipa::path(
    delete, path = "/v1/holds/{id}", tag = "bookings",
    params(("id" = String, Path, description = "Hold id")),
    responses(
        (status = 204, description = "Released (or already expired)"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
    ),
    security((), ("bearer" = []))
)]
pub async fn release_hold(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    id: web::Path<HoldId>,
) -> Result<HttpResponse, AppError> {
    let caller = caller(maybe);
    blocking(&pool, move |conn| {
        store::holds::release(conn, caller.business(), &id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
