//! `PATCH /v1/resources/{id}`: the fields given change, checked as on create.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::ResourceView;
use super::{check_capacity, check_kind};
use crate::api::auth::Principal;
use crate::api::catalog::check_name;
use crate::api::{blocking, if_match, versioned};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::store::{self, resources::ResourceChanges};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub kind: Option<String>,
    /// Simultaneous bookings, 1 to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i64>,
}

/// Change a resource's name, kind or capacity (`If-Match` honoured).
#[utoipa::path(
    patch, path = "/v1/resources/{id}", tag = "catalog",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateResource,
    responses(
        (status = 200, body = ResourceView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_resource(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<UpdateResource>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let changes = ResourceChanges {
        name: body.name.map(|n| check_name(&mut errors, "name", &n)),
        kind: body.kind.map(|k| check_kind(&mut errors, &k)),
        capacity: body.capacity.map(|c| check_capacity(&mut errors, c)),
    };
    errors.finish()?;
    let resource = blocking(&pool, move |conn| {
        store::resources::update(conn, &principal.business_id, &id, expected, changes)
    })
    .await?;
    Ok(versioned(resource.version, &ResourceView::from(resource)))
}
