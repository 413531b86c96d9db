//! `/v1/customers/{id}/notes`: what staff write down about a customer, so
//! the next person to help them need not ask again.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::NoteView;
use crate::api::auth::Principal;
use crate::api::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::store;
use crate::store::notes::Note;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    /// 1 to 5000 characters.
    pub text: String,
    /// Pinned notes come first in the caller context.
    #[serde(default)]
    pub pinned: bool,
}

fn check_note_text(errors: &mut FieldErrors, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        errors.add("text", "must not be empty");
    } else if text.chars().count() > 5000 {
        errors.add("text", "must be at most 5000 characters");
    }
    text.to_owned()
}

/// Add a note to a customer (staff). The author is the token's subject.
#[utoipa::path(
    post, path = "/v1/customers/{id}/notes", tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    request_body = CreateNote,
    responses(
        (status = 201, body = NoteView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_note(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<CreateNote>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let mut errors = FieldErrors::default();
    let text = check_note_text(&mut errors, &body.text);
    errors.finish()?;
    let now = store::now();
    let note = Note {
        id: crate::ids::new_id("nte"),
        business_id: principal.business_id.clone(),
        customer_id: id.into_inner(),
        author: principal.subject.clone(),
        author_role: principal.role.as_str().to_owned(),
        body: text,
        pinned: body.pinned,
        created_at: now,
        updated_at: now,
    };
    let note = blocking(&pool, move |conn| {
        store::notes::insert(conn, &note)?;
        Ok(note)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/customers/{}/notes/{}", note.customer_id, note.id),
        ))
        .json(NoteView::from(note)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoteFilter {
    /// Only pinned (`true`) or unpinned (`false`) notes.
    pub pinned: Option<bool>,
}

/// A customer's notes, newest first (staff).
#[utoipa::path(
    get, path = "/v1/customers/{id}/notes", tag = "customers",
    params(("id" = String, Path, description = "Customer id"), NoteFilter, PageQuery),
    responses(
        (status = 200, body = crate::api::Page<NoteView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_notes(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    filter: crate::api::input::Query<NoteFilter>,
    page: crate::api::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let request = page.clone();
    let pinned = filter.pinned;
    let rows = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        store::customers::find(conn, business, &id)?;
        store::notes::list(conn, business, &id, pinned, &request)
    })
    .await?;
    Ok(page_response(&req, rows, &page, |n| &n.id, NoteView::from))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    pub text: Option<String>,
    pub pinned: Option<bool>,
}

/// Pin, unpin or correct a note (staff).
#[utoipa::path(
    patch, path = "/v1/customers/{id}/notes/{note_id}", tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("note_id" = String, Path, description = "Note id")),
    request_body = UpdateNote,
    responses(
        (status = 200, body = NoteView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_note(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    body: crate::api::input::Json<UpdateNote>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let text = body.text.map(|t| check_note_text(&mut errors, &t));
    errors.finish()?;
    let (customer_id, note_id) = path.into_inner();
    let note = blocking(&pool, move |conn| {
        store::notes::update(
            conn,
            &principal.business_id,
            &customer_id,
            &note_id,
            text,
            body.pinned,
            store::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(NoteView::from(note)))
}
