//! `/v1/customers`: profiles found whatever format the agent typed, the caller
//! context in one request, staff notes, the timeline, and merging duplicates.
//! This file holds the routes, who may see which profile and the checks
//! creating and changing one share; each action has its own file.

pub mod create;
pub mod find;
pub mod merge;
pub mod notes;
pub mod timeline;
pub mod update;
pub mod views;

pub(crate) use views::context_view;
pub use views::{feedback_view, CallerContextView, FeedbackView};

use actix_web::web;

use super::auth::{Principal, Role};
use super::catalog::check_optional_text;
use crate::domain::catalog::looks_like_email;
use crate::domain::contact::{normalise_email, normalise_phone};
use crate::domain::customer::{normalise_language, normalise_tags};
use crate::error::{AppError, FieldErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, find::*, merge::*, notes::*, timeline::*, update::*};
    cfg.route("/v1/customers", web::get().to(list_customers))
        .route("/v1/customers", web::post().to(create_customer))
        .route("/v1/customers/{id}", web::get().to(get_customer))
        .route("/v1/customers/{id}", web::patch().to(update_customer))
        .route(
            "/v1/customers/{id}/context",
            web::get().to(get_caller_context),
        )
        .route("/v1/customers/{id}/notes", web::get().to(list_notes))
        .route("/v1/customers/{id}/notes", web::post().to(create_note))
        .route(
            "/v1/customers/{id}/notes/{note_id}",
            web::patch().to(update_note),
        )
        .route("/v1/customers/{id}/timeline", web::get().to(get_timeline))
        .route("/v1/customers/{id}/merge", web::post().to(merge_customer));
}

pub(super) fn check_customer_email(
    errors: &mut FieldErrors,
    email: Option<String>,
) -> Option<String> {
    let email = check_optional_text(errors, "email", email, 254)?;
    if !looks_like_email(&email) {
        errors.add("email", "is not an email address");
    }
    Some(normalise_email(&email))
}

pub(super) fn check_customer_phone(
    errors: &mut FieldErrors,
    phone: Option<String>,
    country: Option<&str>,
) -> Option<String> {
    let phone = check_optional_text(errors, "phone", phone, 40)?;
    match normalise_phone(&phone, country) {
        Ok(e164) => Some(e164),
        Err(problem) => {
            errors.add("phone", problem.to_string());
            None
        }
    }
}

pub(super) fn check_language(errors: &mut FieldErrors, language: Option<String>) -> Option<String> {
    let language = check_optional_text(errors, "preferred_language", language, 35)?;
    match normalise_language(&language) {
        Ok(tag) => Some(tag),
        Err(message) => {
            errors.add("preferred_language", message);
            None
        }
    }
}

pub(super) fn check_tags(errors: &mut FieldErrors, tags: &[String]) -> Vec<String> {
    normalise_tags(tags).unwrap_or_else(|message| {
        errors.add("tags", message);
        Vec::new()
    })
}

/// Staff may see every customer of their business; a customer token only its
/// own profile (any other id is "not found"); partners none.
pub(super) fn may_see_customer(principal: &Principal, id: &str) -> Result<bool, AppError> {
    match principal.role {
        Role::Customer if principal.subject == id => Ok(false),
        Role::Customer => Err(AppError::not_found("customer")),
        _ => principal.require(Principal::STAFF).map(|_| true),
    }
}
