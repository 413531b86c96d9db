//! `/v1/interactions`: logging every assisted contact (who, why, how it ended,
//! how long it took) so the business learns what drives contact.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::caller::Caller;
use super::catalog::{check_optional_text, instant};
use super::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::domain::interactions::{ContactChannel, Outcome};
use crate::error::{AppError, FieldErrors};
use crate::store::interactions::{Interaction, InteractionFilter, NewInteraction};
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/interactions", web::get().to(list_interactions))
        .route("/v1/interactions", web::post().to(create_interaction))
        .route("/v1/interactions/{id}", web::get().to(get_interaction));
}

/// Longest contact that can be logged: a day.
pub const MAX_DURATION_SECONDS: i64 = 24 * 60 * 60;

/// One assisted contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionView {
    #[schema(example = "int_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub channel: ContactChannel,
    /// The intent's code.
    pub intent: String,
    pub outcome: Outcome,
    pub duration_seconds: i32,
    pub customer_id: Option<String>,
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    /// Subject of the token that logged it.
    pub agent: String,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Interaction> for InteractionView {
    fn from(i: Interaction) -> Self {
        Self {
            channel: i.channel.or(ContactChannel::Phone),
            outcome: i.outcome.or(Outcome::Resolved),
            id: i.id,
            intent: i.intent_code,
            duration_seconds: i.duration_seconds,
            customer_id: i.customer_id,
            booking_id: i.booking_id,
            location_id: i.location_id,
            agent: i.agent,
            note: i.note,
            occurred_at: instant(i.occurred_at),
            created_at: instant(i.created_at),
        }
    }
}

/// A contact to log. The agent is the token's subject and cannot be set here.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInteraction {
    pub channel: ContactChannel,
    /// Code of a live intent of the business.
    #[schema(example = "reschedule")]
    pub intent: String,
    pub outcome: Outcome,
    /// 0 to 86400.
    #[schema(minimum = 0, maximum = 86400)]
    pub duration_seconds: i64,
    pub customer_id: Option<String>,
    /// Supplies the customer and location when they are not given.
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// When the contact happened (default: now); logging after the fact is
    /// fine, the future is not.
    #[schema(format = DateTime)]
    pub occurred_at: Option<DateTime<Utc>>,
}

impl CreateInteraction {
    fn validate(self, now: DateTime<Utc>) -> Result<NewInteraction, AppError> {
        let mut errors = FieldErrors::default();
        errors.check(
            (0..=MAX_DURATION_SECONDS).contains(&self.duration_seconds),
            "duration_seconds",
            "must be between 0 and 86400",
        );
        let intent = self.intent.trim().to_owned();
        errors.check(!intent.is_empty(), "intent", "must not be empty");
        let note = check_optional_text(&mut errors, "note", self.note, 2000);
        let occurred_at = self.occurred_at.unwrap_or(now);
        // A little leeway for clocks that run ahead.
        errors.check(
            occurred_at <= now + chrono::Duration::minutes(5),
            "occurred_at",
            "must not be in the future",
        );
        let id = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        errors.finish()?;
        Ok(NewInteraction {
            channel: self.channel,
            intent_code: intent,
            outcome: self.outcome,
            duration_seconds: self.duration_seconds as i32,
            customer_id: id(self.customer_id),
            booking_id: id(self.booking_id),
            location_id: id(self.location_id),
            note,
            occurred_at: occurred_at.naive_utc(),
        })
    }
}

/// Log an assisted contact (staff).
#[utoipa::path(
    post, path = "/v1/interactions", tag = "contacts",
    request_body = CreateInteraction,
    responses(
        (status = 201, body = InteractionView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_interaction(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<CreateInteraction>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let now = Utc::now();
    let new = body.into_inner().validate(now)?;
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let interaction = blocking(&pool, move |conn| {
        store::interactions::insert(conn, &business, &new, &caller.actor(), now.naive_utc())
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/interactions/{}", interaction.id),
        ))
        .json(InteractionView::from(interaction)))
}

/// Get one contact (staff).
#[utoipa::path(
    get, path = "/v1/interactions/{id}", tag = "contacts",
    params(("id" = String, Path, description = "Interaction id")),
    responses(
        (status = 200, body = InteractionView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_interaction(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let interaction = blocking(&pool, move |conn| {
        store::interactions::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(InteractionView::from(interaction)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionQuery {
    pub customer_id: Option<String>,
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    /// An intent code.
    pub intent: Option<String>,
    #[param(value_type = Option<ContactChannel>)]
    pub channel: Option<ContactChannel>,
    #[param(value_type = Option<Outcome>)]
    pub outcome: Option<Outcome>,
    /// Subject of the agent who logged it.
    pub agent: Option<String>,
    /// Occurred at or after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Occurred before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// Logged contacts, newest logged first, with filters (staff).
#[utoipa::path(
    get, path = "/v1/interactions", tag = "contacts",
    params(InteractionQuery, PageQuery),
    responses(
        (status = 200, body = super::Page<InteractionView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_interactions(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    query: super::input::Query<InteractionQuery>,
    page: super::PageParams,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let page = page.validate()?;
    let q = query.into_inner();
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if to <= from {
            return Err(AppError::bad_parameter("to", "must be after from"));
        }
    }
    let filter = InteractionFilter {
        customer_id: q.customer_id,
        booking_id: q.booking_id,
        location_id: q.location_id,
        intent_code: q.intent,
        channel: q.channel,
        outcome: q.outcome,
        agent: q.agent,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
    };
    let request = page.clone();
    let rows = blocking(&pool, move |conn| {
        store::interactions::list(conn, &principal.business_id, &filter, &request)
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |i| &i.id,
        InteractionView::from,
    ))
}
