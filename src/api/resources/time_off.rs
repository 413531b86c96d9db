//! A resource's time off: listed, added and removed.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::Principal;
use crate::api::blocking;
use crate::api::catalog::{check_optional_text, instant};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, resources::TimeOff};

/// A span when the resource cannot be booked (holiday, sick leave, maintenance).
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffView {
    pub id: String,
    pub resource_id: String,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<TimeOff> for TimeOffView {
    fn from(t: TimeOff) -> Self {
        Self {
            id: t.id,
            resource_id: t.resource_id,
            starts_at: instant(t.starts_at),
            ends_at: instant(t.ends_at),
            reason: t.reason,
            created_at: instant(t.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTimeOff {
    /// RFC 3339 instant (any offset; stored as UTC).
    #[schema(value_type = String, format = DateTime, example = "2026-12-24T12:00:00Z")]
    pub starts_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime, example = "2026-12-27T00:00:00Z")]
    pub ends_at: DateTime<Utc>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstantRange {
    /// Only time off ending after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Only time off starting before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// List a resource's time off.
#[utoipa::path(
    get, path = "/v1/resources/{id}/time-off", tag = "catalog",
    params(("id" = String, Path, description = "Resource id"), InstantRange),
    responses(
        (status = 200, body = Vec<TimeOffView>),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    range: crate::api::input::Query<InstantRange>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let InstantRange { from, to } = range.into_inner();
    crate::api::check_range(from.as_ref(), to.as_ref())?;
    let rows = blocking(&pool, move |conn| {
        store::resources::find(conn, &principal.business_id, &id)?;
        store::resources::list_time_off(
            conn,
            &principal.business_id,
            &id,
            from.map(|f| f.naive_utc()),
            to.map(|t| t.naive_utc()),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(TimeOffView::from).collect::<Vec<_>>()))
}

/// Block a span of a resource's time.
#[utoipa::path(
    post, path = "/v1/resources/{id}/time-off", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    request_body = CreateTimeOff,
    responses(
        (status = 201, body = TimeOffView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<CreateTimeOff>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    errors.check(
        body.ends_at > body.starts_at,
        "ends_at",
        "must be after starts_at",
    );
    let reason = check_optional_text(&mut errors, "reason", body.reason, 500);
    errors.finish()?;
    let time_off = TimeOff {
        id: new_id("off"),
        business_id: principal.business_id.clone(),
        resource_id: id.into_inner(),
        starts_at: body.starts_at.naive_utc(),
        ends_at: body.ends_at.naive_utc(),
        reason,
        created_at: store::now(),
    };
    let time_off = blocking(&pool, move |conn| {
        store::resources::find(conn, &time_off.business_id, &time_off.resource_id)?;
        store::resources::insert_time_off(conn, &time_off)?;
        Ok(time_off)
    })
    .await?;
    let location = format!(
        "/v1/resources/{}/time-off/{}",
        time_off.resource_id, time_off.id
    );
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(TimeOffView::from(time_off)))
}

/// Remove a time-off entry.
#[utoipa::path(
    delete, path = "/v1/resources/{id}/time-off/{time_off_id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id"), ("time_off_id" = String, Path, description = "Time-off id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let (resource_id, time_off_id) = path.into_inner();
    blocking(&pool, move |conn| {
        store::resources::delete_time_off(conn, &principal.business_id, &resource_id, &time_off_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
