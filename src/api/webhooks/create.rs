//! `POST /v1/webhooks`: a new subscription, answered once with its secret.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::WebhookWithSecret;
use super::{check_types, check_url, webhook_owner};
use crate::api::auth::Principal;
use crate::api::catalog::check_optional_text;
use crate::api::{blocking, created};
use crate::config::NotifySettings;
use crate::db::DbPool;
use crate::domain::webhooks::{new_secret, parse_destination};
use crate::error::{AppError, FieldErrors};
use crate::store;
use crate::store::webhooks::Subscription;

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
    body: crate::api::input::Json<CreateWebhook>,
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
