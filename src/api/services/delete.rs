//! `DELETE /v1/services/{id}`.

use actix_web::{web, HttpResponse};

use crate::api::auth::Principal;
use crate::api::blocking;
use crate::db::DbPool;
use crate::error::AppError;
use crate::store;

/// Archive a service: it stops being bookable but stays readable for history.
#[utoipa::path(
    delete, path = "/v1/services/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Service id")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_service(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::services::archive(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
