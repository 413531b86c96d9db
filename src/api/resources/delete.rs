//! `DELETE /v1/resources/{id}`.

use actix_web::{web, HttpResponse};

use crate::api::auth::Principal;
use crate::api::blocking;
use crate::db::DbPool;
use crate::error::AppError;
use crate::store::{self};

/// Remove a resource: archived when a service requires it, deleted otherwise.
#[utoipa::path(
    delete, path = "/v1/resources/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    responses(
        (status = 204, description = "Archived or deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_resource(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::resources::archive_or_delete(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
