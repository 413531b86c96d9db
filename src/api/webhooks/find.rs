//! Reading subscriptions: the caller's list and one by id.

use actix_web::{web, HttpRequest, HttpResponse};

use super::views::WebhookView;
use super::webhook_owner;
use crate::api::auth::Principal;
use crate::api::{blocking, page_response, versioned, PageQuery};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store;

/// List the business's webhook subscriptions (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, body = crate::api::Page<WebhookView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_webhooks(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: crate::api::PageParams,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let page = page.validate()?;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::webhooks::list(conn, &principal.business_id, owner.as_deref(), &request)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |s| &s.id,
        |s| WebhookView::from(&s),
    ))
}

/// Get one subscription (manager, admin; a partner client with `webhooks:manage`: its own); never its secret.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id")),
    responses(
        (status = 200, body = WebhookView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_webhook(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let sub = blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())
    })
    .await?;
    Ok(versioned(sub.version, &WebhookView::from(&sub)))
}
