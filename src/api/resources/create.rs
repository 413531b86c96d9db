//! `POST /v1/resources`: a new resource at a location of the business.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::ResourceView;
use super::{check_capacity, check_kind};
use crate::api::auth::Principal;
use crate::api::catalog::check_name;
use crate::api::{blocking, created};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, resources::Resource};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    pub location_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `staff`, `room` or `equipment`.
    #[schema(example = "staff")]
    pub kind: String,
    /// Simultaneous bookings, 1 to 10000 (default 1).
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i64>,
}

impl CreateResource {
    /// The resource asked for, every bad field reported at once; whether its
    /// location takes it is the store's to say.
    fn read(self, business: &str) -> Result<Resource, AppError> {
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &self.name);
        let kind = check_kind(&mut errors, &self.kind);
        let capacity = check_capacity(&mut errors, self.capacity.unwrap_or(1));
        errors.finish()?;
        let now = store::now();
        Ok(Resource {
            id: new_id("res"),
            business_id: business.to_owned(),
            location_id: self.location_id,
            name,
            kind,
            capacity,
            paused_at: None,
            pause_reason: None,
            paused_until: None,
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Create a resource at a location.
#[utoipa::path(
    post, path = "/v1/resources", tag = "catalog",
    request_body = CreateResource,
    responses(
        (status = 201, body = ResourceView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_resource(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: crate::api::input::Json<CreateResource>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let resource = body.into_inner().read(&principal.business_id)?;
    let resource = blocking(&pool, move |conn| {
        store::resources::create(conn, &resource)?;
        Ok(resource)
    })
    .await?;
    Ok(created(
        format!("/v1/resources/{}", resource.id),
        resource.version,
        &ResourceView::from(resource),
    ))
}
