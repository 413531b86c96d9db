//! POST /v1/customers: a new profile, its contact details read in the
//! business's country and new to the business.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{staff_view, CustomerView};
use super::{check_customer_email, check_customer_phone, check_language, check_tags};
use crate::api::auth::Principal;
use crate::api::catalog::check_name;
use crate::api::{blocking, created};
use crate::db::DbPool;
use crate::domain::customer::ContactPreference;
use crate::error::{AppError, FieldErrors};
use crate::store;
use crate::store::customers::Customer;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Any common format; stored as E.164.
    #[schema(example = "020 7946 0018", max_length = 40)]
    pub phone: Option<String>,
    #[schema(example = "en-GB", max_length = 35)]
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<ContactPreference>,
    #[serde(default)]
    pub marketing_consent: bool,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl CreateCustomer {
    fn into_customer(self, business: &str, country: Option<&str>) -> Result<Customer, AppError> {
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &self.name);
        let email = check_customer_email(&mut errors, self.email);
        let phone = check_customer_phone(&mut errors, self.phone, country);
        let language = check_language(&mut errors, self.preferred_language);
        let tags = check_tags(&mut errors, &self.tags);
        errors.finish()?;
        let now = store::now();
        let mut customer = Customer::new(business, &name, email, phone, now);
        customer.preferred_language = language;
        customer.preferred_channel = self.preferred_channel.map(|c| c.as_str().to_owned());
        customer.marketing_consent = self.marketing_consent;
        customer.marketing_consent_at = self.marketing_consent.then_some(now);
        customer.set_tags(&tags);
        Ok(customer)
    }
}

/// Create a customer. Email and phone must be new to the business: a
/// duplicate is 409 `duplicate_customer` with `existing_customer_id`.
#[utoipa::path(
    post, path = "/v1/customers", tag = "customers",
    request_body = CreateCustomer,
    responses(
        (status = 201, body = CustomerView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_customer(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: crate::api::input::Json<CreateCustomer>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let body = body.into_inner();
    let customer = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let country = store::businesses::phone_country(conn, business)?;
        let customer = body.into_customer(business, country.as_deref())?;
        store::customers::create(conn, &customer)
    })
    .await?;
    Ok(created(
        format!("/v1/customers/{}", customer.id),
        customer.version,
        &staff_view(customer),
    ))
}
