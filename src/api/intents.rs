//! `/v1/intents`: the reasons people contact the business, each with an owner
//! accountable for removing the cause. Archived, never deleted.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Principal;
use super::catalog::{check_name, check_optional_text, instant, optional_instant, ArchivedFilter};
use super::{blocking, created, if_match, page_response, patch_field, versioned, PageQuery};
use crate::db::DbPool;
use crate::domain::interactions::check_intent_code;
use crate::error::{AppError, FieldErrors};
use crate::store::intents::{Intent, IntentChanges};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/intents", web::get().to(list_intents))
        .route("/v1/intents", web::post().to(create_intent))
        .route("/v1/intents/{id}", web::get().to(get_intent))
        .route("/v1/intents/{id}", web::patch().to(update_intent))
        .route("/v1/intents/{id}", web::delete().to(archive_intent));
}

/// Why people contact the business.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntentView {
    #[schema(example = "itn_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    /// Stable code used when logging contacts; never changes.
    #[schema(example = "reschedule")]
    pub code: String,
    pub name: String,
    /// The person or team accountable for removing the cause.
    pub owner: Option<String>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Intent> for IntentView {
    fn from(i: Intent) -> Self {
        Self {
            id: i.id,
            code: i.code,
            name: i.name,
            owner: i.owner,
            archived_at: optional_instant(i.archived_at),
            version: i.version,
            created_at: instant(i.created_at),
            updated_at: instant(i.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntent {
    /// 1 to 64 of a-z, 0-9, `_ . -`, starting with a letter; unique in the business.
    #[schema(example = "reschedule")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 200)]
    pub owner: Option<String>,
}

/// List intents (staff); archived ones with `include_archived=true`.
#[utoipa::path(
    get, path = "/v1/intents", tag = "contacts",
    params(PageQuery, ArchivedFilter),
    responses(
        (status = 200, body = super::Page<IntentView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_intents(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: super::PageParams,
    filter: super::input::Query<ArchivedFilter>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let request = page.clone();
    let include_archived = filter.include_archived;
    let rows = blocking(&pool, move |conn| {
        store::intents::list(conn, &principal.business_id, &request, include_archived)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |i| &i.id,
        IntentView::from,
    ))
}

/// Create an intent (manager, admin). A code already used in the business,
/// archived or not, is 409 `duplicate_intent` with `existing_intent_id`.
#[utoipa::path(
    post, path = "/v1/intents", tag = "contacts",
    request_body = CreateIntent,
    responses(
        (status = 201, body = IntentView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_intent(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<CreateIntent>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let code = check_intent_code(&body.code).unwrap_or_else(|message| {
        errors.add("code", message);
        String::new()
    });
    let name = check_name(&mut errors, "name", &body.name);
    let owner = check_optional_text(&mut errors, "owner", body.owner, 200);
    errors.finish()?;
    let now = store::now();
    let intent = Intent {
        id: crate::ids::new_id("itn"),
        business_id: principal.business_id.clone(),
        code,
        name,
        owner,
        archived_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let intent = blocking(&pool, move |conn| {
        store::intents::insert(conn, &intent)?;
        Ok(intent)
    })
    .await?;
    Ok(created(
        format!("/v1/intents/{}", intent.id),
        intent.version,
        &IntentView::from(intent),
    ))
}

/// Get one intent (staff).
#[utoipa::path(
    get, path = "/v1/intents/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Intent id")),
    responses(
        (status = 200, body = IntentView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_intent(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let intent = blocking(&pool, move |conn| {
        store::intents::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(intent.version, &IntentView::from(intent)))
}

/// PATCH body; the code cannot change (contacts and reports keep it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntent {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 200)]
    pub owner: Option<Option<String>>,
}

/// Rename an intent or change its owner (manager, admin) under `If-Match`.
#[utoipa::path(
    patch, path = "/v1/intents/{id}", tag = "contacts",
    params(
        ("id" = String, Path, description = "Intent id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateIntent,
    responses(
        (status = 200, body = IntentView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_intent(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<UpdateIntent>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let changes = IntentChanges {
        name: body.name.map(|n| check_name(&mut errors, "name", &n)),
        owner: body
            .owner
            .map(|o| check_optional_text(&mut errors, "owner", o, 200)),
    };
    errors.finish()?;
    let intent = blocking(&pool, move |conn| {
        store::intents::update(
            conn,
            &principal.business_id,
            &id,
            expected,
            &changes,
            store::now(),
        )
    })
    .await?;
    Ok(versioned(intent.version, &IntentView::from(intent)))
}

/// Archive an intent (manager, admin): past contacts keep it, new ones cannot use it.
#[utoipa::path(
    delete, path = "/v1/intents/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Intent id")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn archive_intent(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::intents::archive(conn, &principal.business_id, &id, store::now())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
