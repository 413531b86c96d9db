//! `/v1/business`: the settings of the caller's own business that customer
//! memory and the contact reports read — its country (national phone numbers
//! are read in it) and what a minute of each contact channel costs.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Principal, Role};
use super::{blocking, patch_field};
use crate::db::DbPool;
use crate::domain::catalog::parse_slug;
use crate::domain::contact::parse_country;
use crate::domain::interactions::ContactChannel;
use crate::error::{AppError, FieldErrors};
use crate::store::businesses::{ContactSettings, SettingsChanges};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/business", web::get().to(get_business))
        .route("/v1/business", web::patch().to(update_business));
}

/// Most a minute of contact may be said to cost, in cents.
pub const MAX_CENTS_PER_MINUTE: i64 = 100_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessView {
    pub id: String,
    /// The public name of the business in URLs (`/book/{slug}`,
    /// `GET /v1/public/businesses/{slug}`).
    #[schema(example = "northside")]
    pub slug: Option<String>,
    pub timezone: String,
    /// As set (ISO 3166-1 alpha-2); `null` when taken from the time zone.
    pub country: Option<String>,
    /// The country national phone numbers are read in: `country`, else the
    /// country of the time zone; `null` when neither says (then phone numbers
    /// need their +country code).
    #[schema(example = "GB")]
    pub phone_country: Option<String>,
    /// Channel → cents per minute of an assisted contact; channels not listed cost 0.
    #[schema(value_type = Object, example = json!({"phone": 85, "chat": 30}))]
    pub contact_costs: BTreeMap<String, i32>,
}

fn business_view(id: String, settings: ContactSettings) -> BusinessView {
    BusinessView {
        id,
        slug: settings.slug.clone(),
        phone_country: settings.phone_country(),
        timezone: settings.timezone,
        country: settings.country,
        contact_costs: settings.contact_costs.into_iter().collect(),
    }
}

/// The caller's business settings (staff).
#[utoipa::path(
    get, path = "/v1/business", tag = "contacts",
    responses(
        (status = 200, body = BusinessView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_business(
    principal: Principal,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let id = principal.business_id.clone();
    let settings = blocking(&pool, move |conn| {
        store::businesses::contact_settings(conn, &principal.business_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(business_view(id, settings)))
}

/// PATCH body: send only what changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBusiness {
    /// New public slug (admin only): 3–63 lower-case letters, digits and
    /// inner hyphens; a slug another business has is 409 `slug_taken`. The
    /// old booking page URL stops working at once.
    #[schema(
        example = "northside",
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$",
        min_length = 3,
        max_length = 63
    )]
    pub slug: Option<String>,
    /// ISO 3166-1 alpha-2; `null` goes back to the time zone's country.
    /// Numbers already stored stay as they are (E.164 is absolute).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, example = "GB", pattern = "^\\s*[A-Za-z]{2}\\s*$")]
    pub country: Option<Option<String>>,
    /// Replaces every cost: channel (phone, walk_in, chat, email, social,
    /// online) → whole cents per minute, 0 to 100000.
    #[schema(value_type = Option<Object>, example = json!({"phone": 85, "chat": 30}))]
    pub contact_costs: Option<BTreeMap<ContactChannel, i64>>,
}

impl UpdateBusiness {
    /// The changes, every bad field reported at once.
    fn read(self) -> Result<SettingsChanges, AppError> {
        let mut errors = FieldErrors::default();
        let slug = self.slug.and_then(|slug| match parse_slug(&slug) {
            Ok(slug) => Some(slug),
            Err(message) => {
                errors.add("slug", message);
                None
            }
        });
        let country = self.country.map(|c| {
            c.and_then(|code| match parse_country(&code) {
                Ok(code) => Some(code),
                Err(message) => {
                    errors.add("country", message);
                    None
                }
            })
        });
        let contact_costs = self
            .contact_costs
            .map(|costs| check_costs(&mut errors, costs));
        errors.finish()?;
        Ok(SettingsChanges {
            slug,
            country,
            contact_costs,
        })
    }
}

/// The costs as stored, each channel's cents per minute within bounds.
fn check_costs(
    errors: &mut FieldErrors,
    costs: BTreeMap<ContactChannel, i64>,
) -> Vec<(String, i32)> {
    costs
        .into_iter()
        .filter_map(|(channel, cents)| {
            if (0..=MAX_CENTS_PER_MINUTE).contains(&cents) {
                Some((channel.as_str().to_owned(), cents as i32))
            } else {
                errors.add(
                    format!("contact_costs.{}", channel.as_str()),
                    "must be between 0 and 100000 cents per minute",
                );
                None
            }
        })
        .collect()
}

/// Set the business's country and contact costs (manager, admin) and its slug (admin).
#[utoipa::path(
    patch, path = "/v1/business", tag = "contacts",
    request_body = UpdateBusiness,
    responses(
        (status = 200, body = BusinessView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_business(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<UpdateBusiness>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    if body.slug.is_some() && principal.role != Role::Admin {
        return Err(AppError::forbidden(
            "Only an admin may change the business's slug.",
        ));
    }
    let changes = body.read()?;
    let id = principal.business_id.clone();
    let settings = blocking(&pool, move |conn| {
        store::businesses::update_contact_settings(conn, &principal.business_id, &changes)
    })
    .await?;
    Ok(HttpResponse::Ok().json(business_view(id, settings)))
}
