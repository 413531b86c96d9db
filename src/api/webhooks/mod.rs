//! `/v1/webhooks`: subscriptions to the event outbox (managers; a partner
//! client with `webhooks:manage`, its own), their deliveries with every
//! attempt, test deliveries, replays and retries.
//! Delivery itself is the webhook worker's (`workers::webhooks`).
//! This file holds the routes, whose subscriptions a caller manages and the
//! checks a create and an update share; each action has its own file.

pub mod create;
pub mod delete;
pub mod deliveries;
pub mod find;
pub mod update;
pub mod views;

use actix_web::web;

use super::auth::{Principal, Role};
use crate::domain::webhooks::check_event_types;
use crate::error::{AppError, FieldErrors};
use crate::workers::webhooks::check_address;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, delete::*, deliveries::*, find::*, update::*};
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
