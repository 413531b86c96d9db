//! Finding bookings: the filtered list, one by id, one by its reference.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{booking_view, BookingView};
use super::{location_tz, may_see, with_tz};
use crate::api::auth::{Principal, Role};
use crate::api::availability::parse_bound;
use crate::api::caller::Caller;
use crate::api::{blocking, page_response, versioned, PageQuery};
use crate::booking::Requester;
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::{parse_time_zone, Channel};
use crate::domain::lifecycle::BookingStatus;
use crate::domain::reference::normalise_reference;
use crate::error::AppError;
use crate::ids::{BookingId, CustomerId, LocationId, ResourceId, ServiceId};
use crate::store;
use crate::store::bookings::{Booking, BookingFilter};

/// Filters of the booking list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingQuery {
    /// Bookings starting at or after this date (business zone) or instant.
    pub from: Option<String>,
    /// Bookings starting before this instant, or on or before this date.
    pub to: Option<String>,
    pub location_id: Option<String>,
    pub resource_id: Option<String>,
    pub service_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<BookingStatus>,
    pub channel: Option<Channel>,
}

impl BookingQuery {
    /// The store's filter: dates read in the business's zone `tz`, and
    /// narrowed to what `who` may see (a customer's own bookings, a limited
    /// partner's own).
    fn filter(self, tz: Tz, who: &Requester) -> Result<BookingFilter, AppError> {
        let bound = |name, text: Option<String>, end| {
            text.map(|t| parse_bound(name, &t, tz, end)).transpose()
        };
        let (from, to) = (
            bound("from", self.from, false)?,
            bound("to", self.to, true)?,
        );
        // `to` is exclusive here (a date means the end of that day), so an
        // equal bound is already an empty range.
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                return Err(AppError::bad_parameter("to", "must be after `from`"));
            }
        }
        Ok(BookingFilter {
            from,
            to,
            location_id: self.location_id.map(LocationId::from),
            resource_id: self.resource_id.map(ResourceId::from),
            service_id: self.service_id.map(ServiceId::from),
            customer_id: who
                .own_customer()
                .cloned()
                .or(self.customer_id.map(CustomerId::from)),
            status: self.status,
            channel: self.channel,
            made_by: who.own_partner().cloned(),
        })
    }
}

/// The zone of each location the bookings are at, each looked up once.
fn zones_of(
    conn: &mut DbConnection,
    rows: &[Booking],
) -> Result<HashMap<LocationId, Tz>, AppError> {
    let mut zones: HashMap<LocationId, Tz> = HashMap::new();
    for row in rows {
        if !zones.contains_key(&row.location_id) {
            let tz = location_tz(conn, &row.business_id, &row.location_id)?;
            zones.insert(row.location_id.clone(), tz);
        }
    }
    Ok(zones)
}

/// List bookings, oldest created first.
#[utoipa::path(
    get, path = "/v1/bookings", tag = "bookings",
    params(PageQuery, BookingQuery),
    responses(
        (status = 200, body = crate::api::Page<BookingView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_bookings(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: crate::api::PageParams,
    query: crate::api::input::Query<BookingQuery>,
) -> Result<HttpResponse, AppError> {
    if principal.role == Role::Partner {
        principal.require_staff_or_partner_scope("bookings:read")?;
    }
    let page = page.validate()?;
    let request = page.clone();
    let query = query.into_inner();
    let business = principal.business_id.clone();
    let who = Caller(Some(principal)).requester();
    let (rows, zones) = blocking(&pool, move |conn| {
        let found = store::businesses::find(conn, &business)?
            .ok_or_else(|| AppError::not_found("business"))?;
        let tz = parse_time_zone(&found.timezone).map_err(AppError::internal)?;
        let filter = query.filter(tz, &who)?;
        let rows = store::bookings::list(conn, &business, &filter, &request)?;
        let zones = zones_of(conn, &rows)?;
        Ok((rows, zones))
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |b| &b.id,
        |b| {
            let tz = zones.get(&b.location_id).copied().unwrap_or(Tz::UTC);
            booking_view(b, tz)
        },
    ))
}

/// Get one booking.
#[utoipa::path(
    get, path = "/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<BookingId>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::find(conn, &business, &id, None)?;
        may_see(&caller, &booking)?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

/// Find a booking by the reference a caller reads out (`K7M-4QX`, any case,
/// with or without the dash). Staff only.
#[utoipa::path(
    get, path = "/v1/bookings/by-reference/{code}", tag = "bookings",
    params(("code" = String, Path, description = "Booking reference")),
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_by_reference(
    principal: Principal,
    pool: web::Data<DbPool>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let reference = normalise_reference(&code);
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::find_by_reference(conn, &principal.business_id, &reference)?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}
