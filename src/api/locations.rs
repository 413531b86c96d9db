//! `/v1/locations`: where the business receives customers, in which time zone,
//! and the days it is closed.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::catalog::{
    check_email, check_name, check_optional_text, check_phone, check_time_zone, instant,
    optional_instant, pause_view, ArchivedFilter, PauseView,
};
use super::{blocking, created, if_match, page_response, patch_field, versioned, PageQuery};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, locations::Closure, locations::Location, locations::LocationChanges};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/locations", web::get().to(list_locations))
        .route("/v1/locations", web::post().to(create_location))
        .route("/v1/locations/{id}", web::get().to(get_location))
        .route("/v1/locations/{id}", web::patch().to(update_location))
        .route("/v1/locations/{id}", web::delete().to(delete_location))
        .route("/v1/locations/{id}/closures", web::get().to(list_closures))
        .route(
            "/v1/locations/{id}/closures",
            web::post().to(create_closure),
        )
        .route(
            "/v1/locations/{id}/closures/{closure_id}",
            web::delete().to(delete_closure),
        );
}

/// A place where customers are received.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView {
    #[schema(example = "loc_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// IANA time zone in which hours are kept.
    #[schema(example = "Europe/London", max_length = 64)]
    pub timezone: String,
    pub paused: Option<PauseView>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Location> for LocationView {
    fn from(l: Location) -> Self {
        Self {
            id: l.id,
            name: l.name,
            address: l.address,
            phone: l.phone,
            email: l.email,
            timezone: l.timezone,
            paused: pause_view(l.paused_at, l.pause_reason, l.paused_until),
            archived_at: optional_instant(l.archived_at),
            version: l.version,
            created_at: instant(l.created_at),
            updated_at: instant(l.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocation {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[schema(max_length = 40)]
    pub phone: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(example = "Europe/London", max_length = 64)]
    pub timezone: String,
}

impl CreateLocation {
    fn into_location(self, business_id: &str) -> Result<Location, AppError> {
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &self.name);
        let address = check_optional_text(&mut errors, "address", self.address, 500);
        let phone = check_phone(&mut errors, "phone", self.phone);
        let email = check_email(&mut errors, "email", self.email);
        let timezone = check_time_zone(&mut errors, "timezone", &self.timezone);
        errors.finish()?;
        let now = store::now();
        Ok(Location {
            id: new_id("loc"),
            business_id: business_id.to_owned(),
            name,
            address,
            phone,
            email,
            timezone,
            paused_at: None,
            pause_reason: None,
            paused_until: None,
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }
}

/// PATCH body: send only what changes; `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocation {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 500)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 40)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    #[schema(example = "Europe/London", max_length = 64)]
    pub timezone: Option<String>,
}

impl UpdateLocation {
    fn into_changes(self) -> Result<LocationChanges, AppError> {
        let mut errors = FieldErrors::default();
        let changes = LocationChanges {
            name: self.name.map(|n| check_name(&mut errors, "name", &n)),
            address: self
                .address
                .map(|a| check_optional_text(&mut errors, "address", a, 500)),
            phone: self.phone.map(|p| check_phone(&mut errors, "phone", p)),
            email: self.email.map(|e| check_email(&mut errors, "email", e)),
            timezone: self
                .timezone
                .map(|z| check_time_zone(&mut errors, "timezone", &z)),
        };
        errors.finish()?;
        Ok(changes)
    }
}

/// List the business's locations.
#[utoipa::path(
    get, path = "/v1/locations", tag = "catalog",
    params(PageQuery, ArchivedFilter),
    responses(
        (status = 200, body = super::Page<LocationView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_locations(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: super::PageParams,
    filter: super::input::Query<ArchivedFilter>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let page = page.validate()?;
    let include_archived = filter.include_archived;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::locations::list(conn, &principal.business_id, &request, include_archived)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |l| &l.id,
        LocationView::from,
    ))
}

/// Create a location.
#[utoipa::path(
    post, path = "/v1/locations", tag = "catalog",
    request_body = CreateLocation,
    responses(
        (status = 201, body = LocationView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_location(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<CreateLocation>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let location = body.into_inner().into_location(&principal.business_id)?;
    let location = blocking(&pool, move |conn| {
        store::locations::insert(conn, &location)?;
        Ok(location)
    })
    .await?;
    Ok(created(
        format!("/v1/locations/{}", location.id),
        location.version,
        &LocationView::from(location),
    ))
}

/// Get one location.
#[utoipa::path(
    get, path = "/v1/locations/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Location id")),
    responses(
        (status = 200, body = LocationView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_location(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let location = blocking(&pool, move |conn| {
        store::locations::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(location.version, &LocationView::from(location)))
}

/// Change a location. Send `If-Match` with the ETag you read to avoid
/// overwriting someone else's change.
#[utoipa::path(
    patch, path = "/v1/locations/{id}", tag = "catalog",
    params(
        ("id" = String, Path, description = "Location id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateLocation,
    responses(
        (status = 200, body = LocationView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_location(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<UpdateLocation>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let expected = if_match(req.headers())?;
    let changes = body.into_inner().into_changes()?;
    let location = blocking(&pool, move |conn| {
        store::locations::update(conn, &principal.business_id, &id, expected, changes)
    })
    .await?;
    Ok(versioned(location.version, &LocationView::from(location)))
}

/// Remove a location: archived when resources or services refer to it, deleted otherwise.
#[utoipa::path(
    delete, path = "/v1/locations/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Location id")),
    responses(
        (status = 204, description = "Archived or deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_location(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::locations::archive_or_delete(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A span of local dates (inclusive) on which the location is closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureView {
    pub id: String,
    pub location_id: String,
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends_on: NaiveDate,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Closure> for ClosureView {
    fn from(c: Closure) -> Self {
        Self {
            id: c.id,
            location_id: c.location_id,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            reason: c.reason,
            created_at: instant(c.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClosure {
    /// First closed day, in the location's calendar.
    #[schema(value_type = String, format = Date, example = "2026-12-25")]
    pub starts_on: NaiveDate,
    /// Last closed day (inclusive).
    #[schema(value_type = String, format = Date, example = "2026-12-26")]
    pub ends_on: NaiveDate,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// Only closures ending on or after this date.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Only closures starting on or before this date.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// List a location's closures in date order.
#[utoipa::path(
    get, path = "/v1/locations/{id}/closures", tag = "catalog",
    params(("id" = String, Path, description = "Location id"), DateRange),
    responses(
        (status = 200, body = Vec<ClosureView>),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_closures(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    range: super::input::Query<DateRange>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let DateRange { from, to } = range.into_inner();
    super::check_range(from.as_ref(), to.as_ref())?;
    let closures = blocking(&pool, move |conn| {
        store::locations::find(conn, &principal.business_id, &id)?;
        store::locations::list_closures(conn, &principal.business_id, &id, from, to)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        closures
            .into_iter()
            .map(ClosureView::from)
            .collect::<Vec<_>>(),
    ))
}

/// Close a location for a span of days.
#[utoipa::path(
    post, path = "/v1/locations/{id}/closures", tag = "catalog",
    params(("id" = String, Path, description = "Location id")),
    request_body = CreateClosure,
    responses(
        (status = 201, body = ClosureView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_closure(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<CreateClosure>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    errors.check(
        body.ends_on >= body.starts_on,
        "ends_on",
        "must not be before starts_on",
    );
    let reason = check_optional_text(&mut errors, "reason", body.reason, 500);
    errors.finish()?;
    let location_id = id.into_inner();
    let closure = Closure {
        id: new_id("clo"),
        business_id: principal.business_id.clone(),
        location_id,
        starts_on: body.starts_on,
        ends_on: body.ends_on,
        reason,
        created_at: store::now(),
    };
    let closure = blocking(&pool, move |conn| {
        store::locations::find(conn, &principal.business_id, &closure.location_id)?;
        store::locations::insert_closure(conn, &closure)?;
        Ok(closure)
    })
    .await?;
    let location = format!(
        "/v1/locations/{}/closures/{}",
        closure.location_id, closure.id
    );
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(ClosureView::from(closure)))
}

/// Remove a closure.
#[utoipa::path(
    delete, path = "/v1/locations/{id}/closures/{closure_id}", tag = "catalog",
    params(("id" = String, Path, description = "Location id"), ("closure_id" = String, Path, description = "Closure id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_closure(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let (location_id, closure_id) = path.into_inner();
    blocking(&pool, move |conn| {
        store::locations::delete_closure(conn, &principal.business_id, &location_id, &closure_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
