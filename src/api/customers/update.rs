//! PATCH /v1/customers/{id}: a change of profile under `If-Match`, by staff
//! or by the customer themselves.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{customer_view, CustomerView};
use super::{
    check_customer_email, check_customer_phone, check_language, check_tags, may_see_customer,
};
use crate::api::auth::Principal;
use crate::api::catalog::check_name;
use crate::api::{blocking, if_match, patch_field, versioned};
use crate::db::DbPool;
use crate::domain::customer::ContactPreference;
use crate::error::{AppError, FieldErrors};
use crate::store;
use crate::store::customers::CustomerChanges;

/// PATCH body: send only what changes; `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 40)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 35)]
    pub preferred_language: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    pub preferred_channel: Option<Option<ContactPreference>>,
    pub marketing_consent: Option<bool>,
    /// Replaces every tag (staff only).
    pub tags: Option<Vec<String>>,
}

impl UpdateCustomer {
    fn into_changes(self, country: Option<&str>) -> Result<CustomerChanges, AppError> {
        let mut errors = FieldErrors::default();
        let changes = CustomerChanges {
            name: self.name.map(|n| check_name(&mut errors, "name", &n)),
            email: self.email.map(|e| check_customer_email(&mut errors, e)),
            phone: self
                .phone
                .map(|p| check_customer_phone(&mut errors, p, country)),
            preferred_language: self
                .preferred_language
                .map(|l| check_language(&mut errors, l)),
            preferred_channel: self
                .preferred_channel
                .map(|c| c.map(|c| c.as_str().to_owned())),
            marketing_consent: self.marketing_consent,
            tags: self.tags.map(|t| check_tags(&mut errors, &t)),
        };
        errors.finish()?;
        Ok(changes)
    }
}

/// Change a profile under `If-Match`. A customer token may change its own
/// profile, but not its tags (403). Taking another customer's email or phone
/// is 409 `duplicate_customer`.
#[utoipa::path(
    patch, path = "/v1/customers/{id}", tag = "customers",
    params(
        ("id" = String, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateCustomer,
    responses(
        (status = 200, body = CustomerView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_customer(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<UpdateCustomer>,
) -> Result<HttpResponse, AppError> {
    let staff = may_see_customer(&principal, &id)?;
    let body = body.into_inner();
    if !staff && body.tags.is_some() {
        return Err(AppError::forbidden("Only staff may tag customers."));
    }
    let expected = if_match(req.headers())?;
    let customer = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let country = store::businesses::phone_country(conn, business)?;
        let changes = body.into_changes(country.as_deref())?;
        store::customers::update(conn, business, &id, expected, &changes, store::now())
    })
    .await?;
    Ok(versioned(customer.version, &customer_view(customer, staff)))
}
