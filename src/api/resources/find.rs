//! Reading resources: the list (of one location, archived or not) and one by id.

use actix_web::{web, HttpRequest, HttpResponse};

use super::views::ResourceView;
use super::LocationFilter;
use crate::api::auth::Principal;
use crate::api::catalog::ArchivedFilter;
use crate::api::{blocking, page_response, versioned, PageQuery};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store::{self};

/// List resources, optionally of one location.
#[utoipa::path(
    get, path = "/v1/resources", tag = "catalog",
    params(PageQuery, ArchivedFilter, LocationFilter),
    responses(
        (status = 200, body = crate::api::Page<ResourceView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_resources(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: crate::api::PageParams,
    archived: crate::api::input::Query<ArchivedFilter>,
    location: crate::api::input::Query<LocationFilter>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let page = page.validate()?;
    let request = page.clone();
    let include_archived = archived.include_archived;
    let location_id = location.into_inner().location_id;
    let rows = blocking(&pool, move |conn| {
        store::resources::list(
            conn,
            &principal.business_id,
            &request,
            include_archived,
            location_id.as_deref(),
        )
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |r| &r.id,
        ResourceView::from,
    ))
}

/// Get one resource.
#[utoipa::path(
    get, path = "/v1/resources/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    responses(
        (status = 200, body = ResourceView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_resource(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let resource = blocking(&pool, move |conn| {
        store::resources::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(resource.version, &ResourceView::from(resource)))
}
