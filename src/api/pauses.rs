//! `POST /v1/{services,resources,locations}/{id}/pause` and `…/resume`
//! (manager, admin), and `GET …/{id}/affected-bookings`: when unsure, stop
//! taking bookings at once on every channel, and see who is affected.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Principal;
use super::bookings::{booking_view, BookingView};
use super::catalog::optional_instant;
use super::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::domain::catalog::parse_time_zone;
use crate::domain::pauses::{check_pause, in_force, Paused};
use crate::error::AppError;
use crate::store::pauses::PauseState;
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/{kind}/{id}/pause", web::post().to(pause))
        .route("/v1/{kind}/{id}/resume", web::post().to(resume))
        .route(
            "/v1/{kind}/{id}/affected-bookings",
            web::get().to(affected_bookings),
        );
}

/// The collection in the path: `services`, `resources` or `locations`.
fn kind(path: &str) -> Result<Paused, AppError> {
    match path {
        "services" => Ok(Paused::Service),
        "resources" => Ok(Paused::Resource),
        "locations" => Ok(Paused::Location),
        _ => Err(AppError::route_not_found()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// Why: shown on every channel (availability, holds, bookings, the public page).
    #[schema(example = "Stylist off sick")]
    pub reason: String,
    /// When it ends by itself; absent: when someone resumes it.
    #[schema(format = DateTime, example = "2026-03-08T14:00:00Z")]
    pub until: Option<DateTime<Utc>>,
}

/// Where a pause stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PauseStateView {
    /// `service`, `resource` or `location`.
    pub paused_object: String,
    pub id: String,
    /// In force now: nothing it covers can be held or booked.
    pub paused: bool,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub since: Option<String>,
    #[schema(format = DateTime)]
    pub until: Option<String>,
    /// Confirmed bookings still to come (before `until`) that it touches:
    /// they are kept, not cancelled; `GET …/affected-bookings` lists them.
    pub affected_bookings: i64,
    /// The object's version (its ETag) after the change.
    pub version: i32,
}

fn view(p: PauseState) -> PauseStateView {
    PauseStateView {
        paused_object: p.what.as_str().to_owned(),
        paused: in_force(p.paused_at, p.until, Utc::now()),
        id: p.id,
        reason: p.reason,
        since: optional_instant(p.paused_at),
        until: optional_instant(p.until),
        affected_bookings: p.affected_bookings,
        version: p.version,
    }
}

/// Pause a service, resource or location (manager, admin), at once and for
/// every channel: availability, holds and bookings answer 409 `paused` with
/// the reason. Pausing again replaces the reason and end. Bookings already
/// made are kept and counted; `….paused` event.
#[utoipa::path(
    post, path = "/v1/{kind}/{id}/pause", tag = "catalog",
    params(
        ("kind" = String, Path, description = "`services`, `resources` or `locations`"),
        ("id" = String, Path, description = "Its id"),
    ),
    request_body = PauseRequest,
    responses(
        (status = 200, body = PauseStateView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn pause(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    body: super::input::Json<PauseRequest>,
) -> Result<HttpResponse, AppError> {
    let (what, id) = path.into_inner();
    let what = kind(&what)?;
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    let now = Utc::now();
    let reason = check_pause(&body.reason, body.until, now)
        .map_err(|(field, message)| AppError::invalid_field(field, message))?;
    let paused = blocking(&pool, move |conn| {
        store::pauses::pause(
            conn,
            what,
            &principal.business_id,
            &id,
            &reason,
            body.until,
            now,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(paused)))
}

/// End a pause now (manager, admin); 409 `not_paused` when none is in
/// force. `….resumed` event.
#[utoipa::path(
    post, path = "/v1/{kind}/{id}/resume", tag = "catalog",
    params(
        ("kind" = String, Path, description = "`services`, `resources` or `locations`"),
        ("id" = String, Path, description = "Its id"),
    ),
    responses(
        (status = 200, body = PauseStateView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
    ),
    security(("bearer" = []))
)]
pub async fn resume(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (what, id) = path.into_inner();
    let what = kind(&what)?;
    principal.require(Principal::MANAGERS)?;
    let resumed = blocking(&pool, move |conn| {
        store::pauses::resume(conn, what, &principal.business_id, &id, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(resumed)))
}

/// The confirmed bookings a pause in force touches, still to come and
/// before its end (staff): who to tell. Empty when it is not paused.
#[utoipa::path(
    get, path = "/v1/{kind}/{id}/affected-bookings", tag = "catalog",
    params(
        ("kind" = String, Path, description = "`services`, `resources` or `locations`"),
        ("id" = String, Path, description = "Its id"),
        PageQuery,
    ),
    responses(
        (status = 200, body = super::Page<BookingView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn affected_bookings(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    let (what, id) = path.into_inner();
    let what = kind(&what)?;
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let request = page.clone();
    let (rows, zone) = blocking(&pool, move |conn| {
        let (paused, rows) = store::pauses::affected_bookings(
            conn,
            what,
            &principal.business_id,
            &id,
            Utc::now(),
            &request,
        )?;
        let location = store::locations::find(conn, &principal.business_id, &paused.location_id)?;
        Ok((rows, location.timezone))
    })
    .await?;
    let tz = parse_time_zone(&zone).map_err(AppError::internal)?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |b| &b.id,
        |b| booking_view(b, tz),
    ))
}
