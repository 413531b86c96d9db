//! Finding customers: the lookup by phone, email or a fragment, one profile,
//! and one customer's caller context.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::may_see_customer;
use super::views::{context_view, customer_view, staff_view, CustomerListItem, CustomerView};
use crate::api::auth::Principal;
use crate::api::{blocking, page_response, versioned, PageQuery};
use crate::db::{DbConnection, DbPool};
use crate::domain::contact::{normalise_email, normalise_phone};
use crate::error::AppError;
use crate::store;
use crate::store::customers::CustomerSearch;
use crate::store::timeline;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Exact match in any format (`020 7946 0018`, `+44 20 7946 0018`,
    /// `0044…`); the result carries the caller context.
    pub phone: Option<String>,
    /// Exact match, any case; the result carries the caller context.
    pub email: Option<String>,
    /// A fragment of the name, email or phone number.
    pub q: Option<String>,
}

/// A lookup as the agent typed it, checked: the phone is still in their
/// format, as only the business's country says how to read it.
struct Lookup {
    email: Option<String>,
    phone: Option<String>,
    text: Option<String>,
}

impl CustomerQuery {
    fn read(self) -> Result<Lookup, AppError> {
        let present = |v: Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let text = present(self.q);
        if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(AppError::bad_parameter(
                "q",
                "must be at most 200 characters",
            ));
        }
        Ok(Lookup {
            email: present(self.email).map(|e| normalise_email(&e)),
            phone: self.phone.map(|p| p.trim().to_owned()),
            text,
        })
    }
}

impl Lookup {
    /// The search in the business's terms: the phone read in its country.
    fn search_in(
        self,
        conn: &mut DbConnection,
        business: &str,
    ) -> Result<CustomerSearch, AppError> {
        let phone = match self.phone {
            Some(typed) => {
                let country = store::businesses::phone_country(conn, business)?;
                Some(
                    normalise_phone(&typed, country.as_deref())
                        .map_err(|e| AppError::bad_parameter("phone", e.to_string()))?,
                )
            }
            None => None,
        };
        Ok(CustomerSearch {
            email: self.email,
            phone,
            text: self.text,
        })
    }
}

/// Find customers: by phone or email (each result with its caller context:
/// upcoming bookings, last visits with their outcome, open follow-ups, latest
/// notes, no-show and cancellation counts), or by a fragment with `q`.
#[utoipa::path(
    get, path = "/v1/customers", tag = "customers",
    params(CustomerQuery, PageQuery),
    responses(
        (status = 200, body = crate::api::Page<CustomerListItem>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_customers(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    query: crate::api::input::Query<CustomerQuery>,
    page: crate::api::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let lookup = query.into_inner().read()?;
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let search = lookup.search_in(conn, business)?;
        store::customers::list_with_context(conn, business, &search, &request, store::now())
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |(c, _)| &c.id,
        |(c, ctx)| CustomerListItem {
            customer: staff_view(c),
            context: ctx.map(context_view),
        },
    ))
}

/// Get a customer's profile (staff; a customer token: its own).
#[utoipa::path(
    get, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = CustomerView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_customer(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let staff = may_see_customer(&principal, &id)?;
    let customer = blocking(&pool, move |conn| {
        store::customers::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(customer.version, &customer_view(customer, staff)))
}

/// The caller context of one customer (as `GET /v1/customers?phone=` gives it).
#[utoipa::path(
    get, path = "/v1/customers/{id}/context", tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = CustomerListItem),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_caller_context(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let (customer, context) = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let customer = store::customers::find(conn, business, &id)?;
        let context = timeline::caller_context(conn, business, &id, store::now())?;
        Ok((customer, context))
    })
    .await?;
    Ok(HttpResponse::Ok().json(CustomerListItem {
        customer: staff_view(customer),
        context: Some(context_view(context)),
    }))
}
