//! A subscription's deliveries: listed with their attempts, a test sent, past
//! events replayed, a failed delivery retried.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{delivery_view, DeliveryView};
use super::webhook_owner;
use crate::api::auth::Principal;
use crate::api::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store;

/// A subscription's deliveries, oldest first, each with its attempts
/// (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id"), PageQuery),
    responses(
        (status = 200, body = crate::api::Page<DeliveryView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_deliveries(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    page: crate::api::PageParams,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let page = page.validate()?;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())?;
        store::webhooks::deliveries(conn, &principal.business_id, &id, &request)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |(d, _)| &d.id,
        |(d, attempts)| delivery_view(d, attempts),
    ))
}

/// Queue a `webhook.test` event for this subscription alone (manager,
/// admin): 202 with the delivery, whose attempts show what the endpoint said.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id")),
    responses(
        (status = 202, body = DeliveryView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn test_webhook(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let delivery = blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())?;
        store::webhooks::queue_test(conn, &principal.business_id, &id, store::now())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(delivery_view(delivery, Vec::new())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayWebhook {
    /// Events written at or after this instant…
    #[schema(format = DateTime, example = "2026-03-08T00:00:00Z")]
    pub from: DateTime<Utc>,
    /// …and before this one.
    #[schema(format = DateTime, example = "2026-03-09T00:00:00Z")]
    pub to: DateTime<Utc>,
}

/// How many deliveries a replay queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    pub queued: usize,
}

/// Send again every event of the subscription's types written in
/// `[from, to)` (manager, admin; a partner client with `webhooks:manage`: its own), delivered before or not, with the same
/// `webhook-id`s. At most 10,000 events; a longer range is 422.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/replay", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id")),
    request_body = ReplayWebhook,
    responses(
        (status = 202, body = ReplayView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn replay_webhook(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<ReplayWebhook>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let ReplayWebhook { from, to } = body.into_inner();
    if from >= to {
        return Err(AppError::invalid_field("to", "must be after `from`"));
    }
    let queued = blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())?;
        store::webhooks::replay(
            conn,
            &principal.business_id,
            &id,
            from.naive_utc(),
            to.naive_utc(),
            store::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Accepted().json(ReplayView { queued }))
}

/// Send one delivery's event again, as a new delivery with the same
/// `webhook-id` (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    post, path = "/v1/webhooks/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("delivery_id" = String, Path, description = "Delivery id")),
    responses(
        (status = 202, body = DeliveryView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn retry_delivery(
    principal: Principal,
    pool: web::Data<DbPool>,
    delivery_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let delivery = blocking(&pool, move |conn| {
        let original = store::webhooks::find_delivery(conn, &principal.business_id, &delivery_id)?;
        store::webhooks::find_owned(
            conn,
            &principal.business_id,
            &original.subscription_id,
            owner.as_deref(),
        )
        .map_err(|_| AppError::not_found("delivery"))?;
        store::webhooks::retry_delivery(conn, &principal.business_id, &delivery_id, store::now())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(delivery_view(delivery, Vec::new())))
}
