//! `/v1/customers`: profiles found whatever format the agent typed, the caller
//! context in one request, staff notes, the timeline, and merging duplicates.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::availability::utc_text;
use super::caller::Caller;
use super::catalog::{check_name, check_optional_text, instant, optional_instant};
use super::interactions::InteractionView;
use super::{blocking, created, if_match, page_response, patch_field, versioned, PageQuery};
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::{looks_like_email, Channel};
use crate::domain::contact::{normalise_email, normalise_phone};
use crate::domain::customer::{normalise_language, normalise_tags, ContactPreference};
use crate::error::{AppError, FieldErrors};
use crate::store::bookings::Booking;
use crate::store::customers::{Customer, CustomerChanges, CustomerSearch, Moved};
use crate::store::feedback::Feedback;
use crate::store::notes::Note;
use crate::store::timeline::{self, CallerContext, TimelineEntry};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
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

/// A customer's profile. Staff see `tags`; a customer reading their own
/// profile does not (tags are the business's own labels).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(example = "cus_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub name: String,
    /// Trimmed and lower-cased.
    pub email: Option<String>,
    /// E.164, read in the business's country when typed without a country code.
    #[schema(example = "+442079460018")]
    pub phone: Option<String>,
    /// BCP 47 language tag.
    #[schema(example = "en-GB")]
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<ContactPreference>,
    pub marketing_consent: bool,
    /// When consent was given; absent without consent.
    #[schema(format = DateTime)]
    pub marketing_consent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn customer_view(c: Customer, staff: bool) -> CustomerView {
    CustomerView {
        tags: staff.then(|| c.tags()),
        preferred_channel: c
            .preferred_channel
            .as_deref()
            .and_then(ContactPreference::parse),
        id: c.id,
        name: c.name,
        email: c.email,
        phone: c.phone,
        preferred_language: c.preferred_language,
        marketing_consent: c.marketing_consent,
        marketing_consent_at: optional_instant(c.marketing_consent_at),
        version: c.version,
        created_at: instant(c.created_at),
        updated_at: instant(c.updated_at),
    }
}

fn staff_view(c: Customer) -> CustomerView {
    customer_view(c, true)
}

/// A booking as the caller context and visits show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingSummary {
    pub id: String,
    #[schema(example = "K7M-4QX")]
    pub reference: String,
    pub status: String,
    pub service_id: String,
    pub location_id: String,
    pub resource_ids: Vec<String>,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub channel: Channel,
}

pub fn booking_summary(b: &Booking) -> BookingSummary {
    BookingSummary {
        id: b.id.to_string(),
        reference: b.reference.clone(),
        status: b.status.as_str().to_owned(),
        service_id: b.service_id.to_string(),
        location_id: b.location_id.to_string(),
        resource_ids: b.resources(),
        start: utc_text(b.starts_at.and_utc()),
        end: utc_text(b.ends_at.and_utc()),
        channel: b.channel.or(Channel::Online),
    }
}

/// A customer's answer to a feedback request.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackView {
    #[schema(example = "fbk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub booking_id: String,
    pub customer_id: String,
    /// How likely to recommend, 0–10.
    pub nps: i32,
    /// Customer effort, 1 (very easy) to 7 (very hard).
    pub effort: i32,
    pub comment: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

pub fn feedback_view(f: Feedback) -> FeedbackView {
    FeedbackView {
        id: f.id,
        booking_id: f.booking_id,
        customer_id: f.customer_id,
        nps: f.nps,
        effort: f.effort,
        comment: f.comment,
        created_at: instant(f.created_at),
    }
}

/// A past visit and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    #[serde(flatten)]
    pub booking: BookingSummary,
    /// `completed`, `no_show`, or the status it was left in (`confirmed` when
    /// nobody recorded what happened).
    pub outcome: String,
    pub feedback: Option<FeedbackView>,
}

/// What an agent sees on picking up.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerContextView {
    /// Not yet over, soonest first (up to 10).
    pub upcoming_bookings: Vec<BookingSummary>,
    /// The last three visits (cancelled bookings are not visits), latest first.
    pub last_visits: Vec<VisitView>,
    /// Follow-ups and escalations not yet resolved by a later contact about
    /// the same intent, newest first.
    pub open_follow_ups: Vec<InteractionView>,
    /// Pinned notes first, then the newest (up to 5).
    pub latest_notes: Vec<NoteView>,
    pub no_show_count: i64,
    pub cancellation_count: i64,
}

pub(crate) fn context_view(ctx: CallerContext) -> CallerContextView {
    CallerContextView {
        upcoming_bookings: ctx.upcoming.iter().map(booking_summary).collect(),
        last_visits: ctx
            .last_visits
            .into_iter()
            .map(|(b, f)| VisitView {
                booking: booking_summary(&b),
                outcome: b.status.as_str().to_owned(),
                feedback: f.map(feedback_view),
            })
            .collect(),
        open_follow_ups: ctx
            .open_follow_ups
            .into_iter()
            .map(InteractionView::from)
            .collect(),
        latest_notes: ctx.latest_notes.into_iter().map(NoteView::from).collect(),
        no_show_count: ctx.no_shows,
        cancellation_count: ctx.cancellations,
    }
}

/// A profile in a list; with its caller context when looked up by phone or email.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerListItem {
    #[serde(flatten)]
    pub customer: CustomerView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<CallerContextView>,
}

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

/// Find customers: by phone or email (each result with its caller context:
/// upcoming bookings, last visits with their outcome, open follow-ups, latest
/// notes, no-show and cancellation counts), or by a fragment with `q`.
#[utoipa::path(
    get, path = "/v1/customers", tag = "customers",
    params(CustomerQuery, PageQuery),
    responses(
        (status = 200, body = super::Page<CustomerListItem>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    query: super::input::Query<CustomerQuery>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let query = query.into_inner();
    let text = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::bad_parameter(
            "q",
            "must be at most 200 characters",
        ));
    }
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(normalise_email);
    let with_context = email.is_some() || query.phone.is_some();
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let phone = match query.phone.as_deref().map(str::trim) {
            Some(p) => {
                let country = store::businesses::phone_country(conn, business)?;
                Some(
                    normalise_phone(p, country.as_deref())
                        .map_err(|e| AppError::bad_parameter("phone", e.to_string()))?,
                )
            }
            None => None,
        };
        let search = CustomerSearch { email, phone, text };
        let found = store::customers::list(conn, business, &search, &request)?;
        let now = store::now();
        found
            .into_iter()
            .map(|c| {
                let context = if with_context {
                    Some(timeline::caller_context(conn, business, &c.id, now)?)
                } else {
                    None
                };
                Ok((c, context))
            })
            .collect::<Result<Vec<_>, AppError>>()
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

fn check_customer_email(errors: &mut FieldErrors, email: Option<String>) -> Option<String> {
    let email = check_optional_text(errors, "email", email, 254)?;
    if !looks_like_email(&email) {
        errors.add("email", "is not an email address");
    }
    Some(normalise_email(&email))
}

fn check_customer_phone(
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

fn check_language(errors: &mut FieldErrors, language: Option<String>) -> Option<String> {
    let language = check_optional_text(errors, "preferred_language", language, 35)?;
    match normalise_language(&language) {
        Ok(tag) => Some(tag),
        Err(message) => {
            errors.add("preferred_language", message);
            None
        }
    }
}

fn check_tags(errors: &mut FieldErrors, tags: &[String]) -> Vec<String> {
    normalise_tags(tags).unwrap_or_else(|message| {
        errors.add("tags", message);
        Vec::new()
    })
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
    body: super::input::Json<CreateCustomer>,
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

/// Staff may see every customer of their business; a customer token only its
/// own profile (any other id is "not found"); partners none.
fn may_see_customer(principal: &Principal, id: &str) -> Result<bool, AppError> {
    match principal.role {
        Role::Customer if principal.subject == id => Ok(false),
        Role::Customer => Err(AppError::not_found("customer")),
        _ => principal.require(Principal::STAFF).map(|_| true),
    }
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
    body: super::input::Json<UpdateCustomer>,
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

/// A staff note on a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: String,
    pub customer_id: String,
    /// Subject of the token that wrote it.
    pub author: String,
    pub author_role: String,
    pub text: String,
    pub pinned: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Note> for NoteView {
    fn from(n: Note) -> Self {
        Self {
            id: n.id,
            customer_id: n.customer_id,
            author: n.author,
            author_role: n.author_role,
            text: n.body,
            pinned: n.pinned,
            created_at: instant(n.created_at),
            updated_at: instant(n.updated_at),
        }
    }
}

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
    body: super::input::Json<CreateNote>,
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
        (status = 200, body = super::Page<NoteView>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    filter: super::input::Query<NoteFilter>,
    page: super::PageParams,
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
    body: super::input::Json<UpdateNote>,
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

/// A change of a booking, in the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingChangeView {
    pub booking_id: String,
    pub reference: String,
    /// created, reschedule, cancel, check_in, start, complete, no_show or update.
    pub action: String,
    pub actor: String,
    pub actor_role: String,
    pub channel: Channel,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One entry of a customer's timeline: exactly one of `booking_change`,
/// `interaction`, `note`, `feedback`, as `type` says.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineItem {
    /// booking_change, interaction, note or feedback.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_change: Option<BookingChangeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction: Option<InteractionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<FeedbackView>,
}

fn timeline_item(entry: TimelineEntry) -> TimelineItem {
    let mut item = TimelineItem {
        kind: String::new(),
        id: entry.id().to_owned(),
        at: utc_text(entry.at().and_utc()),
        booking_change: None,
        interaction: None,
        note: None,
        feedback: None,
    };
    match entry {
        TimelineEntry::Booking(h, reference) => {
            item.kind = "booking_change".into();
            item.booking_change = Some(BookingChangeView {
                booking_id: h.booking_id,
                reference,
                action: h.action,
                actor: h.actor,
                actor_role: h.actor_role,
                channel: h.channel.or(Channel::Online),
                details: serde_json::from_str(&h.details).unwrap_or(serde_json::Value::Null),
            });
        }
        TimelineEntry::Interaction(i) => {
            item.kind = "interaction".into();
            item.interaction = Some(InteractionView::from(i));
        }
        TimelineEntry::Note(n) => {
            item.kind = "note".into();
            item.note = Some(NoteView::from(n));
        }
        TimelineEntry::Feedback(f) => {
            item.kind = "feedback".into();
            item.feedback = Some(feedback_view(f));
        }
    }
    item
}

/// Everything that happened with a customer, newest first: booking changes,
/// contacts, notes and feedback (staff).
#[utoipa::path(
    get, path = "/v1/customers/{id}/timeline", tag = "customers",
    params(("id" = String, Path, description = "Customer id"), PageQuery),
    responses(
        (status = 200, body = super::Page<TimelineItem>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_timeline(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let before =
        match &page.after {
            Some(text) => Some(timeline::parse_position(text).ok_or_else(|| {
                AppError::bad_parameter("cursor", "is not a cursor this API issued")
            })?),
            None => None,
        };
    let limit = page.limit + 1;
    let rows = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        store::customers::find(conn, business, &id)?;
        timeline::timeline(conn, business, &id, before.as_ref(), limit)
    })
    .await?;
    let positions: Vec<(String, TimelineEntry)> =
        rows.into_iter().map(|e| (e.position(), e)).collect();
    Ok(page_response(
        &req,
        positions,
        &page,
        |(position, _)| position,
        |(_, entry)| timeline_item(entry),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomer {
    /// The duplicate record to fold into this one; it is removed.
    pub duplicate_id: String,
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
    body: super::input::Json<MergeCustomer>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let duplicate_id = body.into_inner().duplicate_id.trim().to_owned();
    if duplicate_id.is_empty() {
        return Err(AppError::invalid_field("duplicate_id", "must not be empty"));
    }
    if duplicate_id == *id {
        return Err(AppError::invalid_field(
            "duplicate_id",
            "a customer cannot be merged into itself",
        ));
    }
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
            moved: MovedView {
                bookings: moved.bookings,
                notes: moved.notes,
                interactions: moved.interactions,
                feedback_requests: moved.feedback_requests,
                feedback: moved.feedback,
            },
        },
    ))
}
