//! `DELETE /v1/webhooks/{id}`.

use actix_web::{web, HttpResponse};

use super::webhook_owner;
use crate::api::auth::Principal;
use crate::api::blocking;
use crate::db::DbPool;
use crate::error::AppError;
use crate::store;

/// Delete a subscription with its delivery log (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_webhook(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())?;
        store::webhooks::delete(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
