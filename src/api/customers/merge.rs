//! POST /v1/customers/{id}/merge: two records of one person become one.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{staff_view, CustomerView};
use crate::api::auth::Principal;
use crate::api::caller::Caller;
use crate::api::{blocking, if_match, versioned};
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::store;
use crate::store::customers::{Customer, Moved};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomer {
    /// The duplicate record to fold into this one; it is removed.
    pub duplicate_id: String,
}

impl MergeCustomer {
    /// The duplicate's id, trimmed: another customer than the survivor.
    fn read(self, survivor_id: &str) -> Result<String, AppError> {
        let duplicate_id = self.duplicate_id.trim().to_owned();
        if duplicate_id.is_empty() {
            return Err(AppError::invalid_field("duplicate_id", "must not be empty"));
        }
        if duplicate_id == survivor_id {
            return Err(AppError::invalid_field(
                "duplicate_id",
                "a customer cannot be merged into itself",
            ));
        }
        Ok(duplicate_id)
    }
}

/// What a merge moved to the surviving record.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedView {
    pub bookings: usize,
    pub notes: usize,
    pub interactions: usize,
    pub feedback_requests: usize,
    pub feedback: usize,
}

impl From<Moved> for MovedView {
    fn from(moved: Moved) -> Self {
        Self {
            bookings: moved.bookings,
            notes: moved.notes,
            interactions: moved.interactions,
            feedback_requests: moved.feedback_requests,
            feedback: moved.feedback,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    pub customer: CustomerView,
    pub duplicate_id: String,
    pub moved: MovedView,
}

/// Fold a duplicate into this customer (staff), in one transaction: bookings,
/// notes, interactions and feedback move over, missing profile details are
/// taken from the duplicate, an audit entry and a `customer.merged` event are
/// written, and the duplicate is removed. `If-Match` applies to this customer.
#[utoipa::path(
    post, path = "/v1/customers/{id}/merge", tag = "customers",
    params(
        ("id" = String, Path, description = "The surviving customer's id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the surviving customer"),
    ),
    request_body = MergeCustomer,
    responses(
        (status = 200, body = MergeResult, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn merge_customer(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<MergeCustomer>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let duplicate_id = body.into_inner().read(&id)?;
    let expected = if_match(req.headers())?;
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let duplicate = duplicate_id.clone();
    let (customer, moved): (Customer, Moved) = blocking(&pool, move |conn: &mut DbConnection| {
        store::customers::merge(
            conn,
            &business,
            &id,
            &duplicate,
            expected,
            &caller.actor(),
            Utc::now().naive_utc(),
        )
    })
    .await?;
    let version = customer.version;
    Ok(versioned(
        version,
        &MergeResult {
            customer: staff_view(customer),
            duplicate_id,
            moved: MovedView::from(moved),
        },
    ))
}
