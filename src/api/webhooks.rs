//! `/v1/webhooks`: subscriptions to the event outbox (managers; a partner
//! client with `webhooks:manage`, its own), their deliveries with every
//! attempt, test deliveries, replays and retries.
//! Delivery itself is the webhook worker's (`workers::webhooks`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Principal, Role};
use super::catalog::{check_optional_text, instant, optional_instant};
use super::{blocking, created, if_match, page_response, patch_field, versioned, PageQuery};
use crate::config::NotifySettings;
use crate::db::DbPool;
use crate::domain::webhooks::{
    check_event_types, new_secret, parse_destination, parse_event_types,
};
use crate::error::{AppError, FieldErrors};
use crate::store::webhooks::{Attempt, Delivery, Subscription, SubscriptionChanges};
use crate::store::{self};
use crate::workers::webhooks::check_address;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/webhooks", web::get().to(list_webhooks))
        .route("/v1/webhooks", web::post().to(create_webhook))
        .route("/v1/webhooks/{id}", web::get().to(get_webhook))
        .route("/v1/webhooks/{id}", web::patch().to(update_webhook))
        .route("/v1/webhooks/{id}", web::delete().to(delete_webhook))
        .route(
            "/v1/webhooks/{id}/rotate-secret",
            web::post().to(rotate_webhook_secret),
        )
        .route(
            "/v1/webhooks/{id}/deliveries",
            web::get().to(list_deliveries),
        )
        .route("/v1/webhooks/{id}/test", web::post().to(test_webhook))
        .route("/v1/webhooks/{id}/replay", web::post().to(replay_webhook))
        .route(
            "/v1/webhooks/deliveries/{delivery_id}/retry",
            web::post().to(retry_delivery),
        );
}

/// A subscription to the business's events. Its secret is shown only when
/// it is made and when it is rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    #[schema(example = "whk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    #[schema(example = "https://partner.example.com/hooks/slotwise")]
    pub url: String,
    /// Event type names, or `["*"]` for all.
    #[schema(example = json!(["booking.created", "booking.cancelled"]))]
    pub event_types: Vec<String>,
    /// Only events of this location, when set.
    pub location_id: Option<String>,
    pub description: Option<String>,
    /// Off subscriptions queue nothing new; their pending deliveries wait.
    pub enabled: bool,
    /// Why it is off: turned off by staff, a 410 answer, or five days of failures.
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last delivered one.
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    /// Until then the previous secret signs too (after a rotation).
    #[schema(format = DateTime)]
    pub previous_secret_until: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            url: s.url.clone(),
            event_types: parse_event_types(&s.event_types),
            location_id: s.location_id.clone(),
            description: s.description.clone(),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason.clone(),
            failing_since: optional_instant(s.failing_since),
            previous_secret_until: optional_instant(s.previous_secret_until),
            version: s.version,
            created_at: instant(s.created_at),
            updated_at: instant(s.updated_at),
        }
    }
}

/// A subscription with its signing secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and base64 key bytes, as Standard Webhooks libraries take it.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<&Subscription> for WebhookWithSecret {
    fn from(s: &Subscription) -> Self {
        Self {
            webhook: WebhookView::from(s),
            secret: s.secret.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://`; no credentials. Private and loopback
    /// addresses are refused unless the server allows them.
    pub url: String,
    /// Event type names, or `["*"]`.
    pub event_types: Vec<String>,
    pub location_id: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

impl CreateWebhook {
    /// The subscription asked for, every bad field reported at once; where
    /// its URL leads is checked later, off the request thread.
    fn read(self, business: &str, owner: Option<String>) -> Result<Subscription, AppError> {
        let mut errors = FieldErrors::default();
        let event_types = check_types(&mut errors, &self.event_types);
        let description = check_optional_text(&mut errors, "description", self.description, 500);
        if let Err(message) = parse_destination(self.url.trim()) {
            errors.add("url", message);
        }
        errors.finish()?;
        let now = store::now();
        Ok(Subscription {
            id: crate::ids::new_id("whk"),
            business_id: business.to_owned(),
            url: self.url,
            event_types,
            location_id: self.location_id,
            description,
            secret: new_secret(),
            previous_secret: None,
            previous_secret_until: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            version: 1,
            created_at: now,
            updated_at: now,
            client_id: owner,
        })
    }
}

/// Who may manage subscriptions, and whose: managers and admins all of the
/// business's (`None`); a partner client holding `webhooks:manage` its own.
fn webhook_owner(principal: &Principal) -> Result<Option<String>, AppError> {
    if principal.role == Role::Partner && principal.has_scope("webhooks:manage") {
        if let Some(client) = &principal.client_id {
            return Ok(Some(client.clone()));
        }
    }
    principal.require(Principal::MANAGERS)?;
    Ok(None)
}

/// Refuses a URL (already checked for form with the other fields) that
/// leads to an address we must not reach (422 `destination_refused`).
fn check_url(url: &str, allow_private: bool) -> Result<String, AppError> {
    let url = url.trim().to_owned();
    check_address(&url, allow_private).map_err(AppError::destination_refused)?;
    Ok(url)
}

fn check_types(errors: &mut FieldErrors, types: &[String]) -> String {
    check_event_types(types).unwrap_or_else(|message| {
        errors.add("event_types", message);
        String::new()
    })
}

/// List the business's webhook subscriptions (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, body = super::Page<WebhookView>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    page: super::PageParams,
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

/// Subscribe a URL to events (manager, admin; a partner client with `webhooks:manage`: its own). The answer carries the
/// signing secret, shown this once.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, body = WebhookWithSecret, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_webhook(
    principal: Principal,
    pool: web::Data<DbPool>,
    notify: web::Data<NotifySettings>,
    body: super::input::Json<CreateWebhook>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let sub = body.into_inner().read(&principal.business_id, owner)?;
    let allow_private = notify.webhook_allow_private;
    let sub = blocking(&pool, move |conn| {
        // Resolving the host may wait on DNS: off the request thread.
        let url = check_url(&sub.url, allow_private)?;
        let sub = Subscription { url, ..sub };
        store::webhooks::subscribe(conn, &sub)?;
        Ok(sub)
    })
    .await?;
    Ok(created(
        format!("/v1/webhooks/{}", sub.id),
        sub.version,
        &WebhookWithSecret::from(&sub),
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

/// PATCH body; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `null` lifts the limit to one location.
    #[serde(default, deserialize_with = "patch_field")]
    pub location_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 500)]
    pub description: Option<Option<String>>,
    /// `true` turns a disabled subscription back on (forgetting why it was
    /// off); its waiting deliveries go out again.
    pub enabled: Option<bool>,
}

impl UpdateWebhook {
    /// The changes, every bad field reported at once; where a new URL leads
    /// is checked later, off the request thread.
    fn read(self) -> Result<SubscriptionChanges, AppError> {
        let mut errors = FieldErrors::default();
        let event_types = self
            .event_types
            .map(|types| check_types(&mut errors, &types));
        let description = self
            .description
            .map(|d| check_optional_text(&mut errors, "description", d, 500));
        if let Some(Err(message)) = self.url.as_deref().map(|u| parse_destination(u.trim())) {
            errors.add("url", message);
        }
        errors.finish()?;
        Ok(SubscriptionChanges {
            url: self.url,
            event_types,
            location_id: self.location_id,
            description,
            enabled: self.enabled,
            ..Default::default()
        })
    }
}

/// Change a subscription (manager, admin; a partner client with `webhooks:manage`: its own) under `If-Match`.
#[utoipa::path(
    patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook subscription id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_webhook(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    notify: web::Data<NotifySettings>,
    id: web::Path<String>,
    body: super::input::Json<UpdateWebhook>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let expected = if_match(req.headers())?;
    let mut changes = body.into_inner().read()?;
    let allow_private = notify.webhook_allow_private;
    let sub = blocking(&pool, move |conn| {
        changes.url = changes
            .url
            .map(|u| check_url(&u, allow_private))
            .transpose()?;
        let business = principal.business_id.as_str();
        let owner = owner.as_deref();
        store::webhooks::update_owned(conn, business, &id, owner, changes, expected, store::now())
    })
    .await?;
    Ok(versioned(sub.version, &WebhookView::from(&sub)))
}

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

/// Replace the signing secret (manager, admin; a partner client with `webhooks:manage`: its own). For 24 hours deliveries
/// carry two signatures, by the new and the previous secret, so the
/// receiver can switch without losing one.
#[utoipa::path(
    post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id")),
    responses(
        (status = 200, body = WebhookWithSecret, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_webhook_secret(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let owner = webhook_owner(&principal)?;
    let sub = blocking(&pool, move |conn| {
        store::webhooks::find_owned(conn, &principal.business_id, &id, owner.as_deref())?;
        store::webhooks::rotate_secret(
            conn,
            &principal.business_id,
            &id,
            &new_secret(),
            store::now(),
        )
    })
    .await?;
    Ok(versioned(sub.version, &WebhookWithSecret::from(&sub)))
}

/// One try at delivering.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    #[schema(format = DateTime)]
    pub attempted_at: String,
    /// The endpoint's HTTP status; absent when it never answered.
    pub status_code: Option<i32>,
    /// Why there was no answer (refused address, timeout, connection error).
    pub error: Option<String>,
    pub duration_ms: i32,
    /// The first 512 bytes of the endpoint's answer.
    pub response_snippet: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            attempted_at: instant(a.attempted_at),
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            response_snippet: a.response_snippet,
        }
    }
}

/// One event on its way to one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(example = "dlv_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub webhook_id: String,
    /// The `webhook-id` header: the event's id, the same on every retry and
    /// replay, so receivers can drop duplicates.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (the retry schedule is spent, or
    /// the endpoint answered 410).
    pub state: String,
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

fn delivery_view(d: Delivery, attempts: Vec<Attempt>) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.subscription_id,
        event_id: d.event_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
        next_attempt_at: optional_instant(d.next_attempt_at),
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: instant(d.created_at),
        delivered_at: optional_instant(d.delivered_at),
        attempt_log: attempts.into_iter().map(AttemptView::from).collect(),
    }
}

/// A subscription's deliveries, oldest first, each with its attempts
/// (manager, admin; a partner client with `webhooks:manage`: its own).
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook subscription id"), PageQuery),
    responses(
        (status = 200, body = super::Page<DeliveryView>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    page: super::PageParams,
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
    body: super::input::Json<ReplayWebhook>,
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
