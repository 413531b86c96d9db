//! `PATCH /v1/webhooks/{id}` and a new signing secret.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{WebhookView, WebhookWithSecret};
use super::{check_types, check_url, webhook_owner};
use crate::api::auth::Principal;
use crate::api::catalog::check_optional_text;
use crate::api::{blocking, if_match, patch_field, versioned};
use crate::config::NotifySettings;
use crate::db::DbPool;
use crate::domain::webhooks::{new_secret, parse_destination};
use crate::error::{AppError, FieldErrors};
use crate::store;
use crate::store::webhooks::SubscriptionChanges;

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
    body: crate::api::input::Json<UpdateWebhook>,
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
