//! `GET /v1/events`: the outbox as a cursor feed — every state change of the
//! business, in order, for integrations that poll instead of taking webhooks.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Principal, Role};
use super::availability::utc_text;
use super::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::error::AppError;
use crate::store::{self, events::Event};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/events", web::get().to(list_events));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only events of this type, e.g. `booking.created`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only events about this object (a booking, hold or customer id).
    pub subject_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "booking.created")]
    pub event_type: String,
    pub subject_id: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn event_view(e: Event, for_partner: bool) -> EventView {
    let mut data = serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null);
    if for_partner {
        crate::store::events::without_customer_capabilities(&mut data);
    }
    EventView {
        id: e.id,
        event_type: e.event_type,
        subject_id: e.subject_id,
        data,
        created_at: utc_text(e.created_at.and_utc()),
    }
}

/// List events oldest first; follow `next_cursor` to keep up.
#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(PageQuery, EventFilter),
    responses(
        (status = 200, body = super::Page<EventView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: super::PageParams,
    filter: super::input::Query<EventFilter>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("events:read")?;
    let for_partner = principal.role == Role::Partner;
    // A registered partner follows its own bookings' events (and the
    // catalog's), as it sees only its own bookings, unless granted all.
    let only_client = principal
        .client_id
        .clone()
        .filter(|_| principal.partner_limited_to_own());
    let page = page.validate()?;
    let request = page.clone();
    let filter = filter.into_inner();
    let rows = blocking(&pool, move |conn| {
        store::events::list(
            conn,
            &principal.business_id,
            &request,
            filter.event_type.as_deref(),
            filter.subject_id.as_deref(),
            only_client.as_deref(),
        )
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |e| &e.id,
        |e| event_view(e, for_partner),
    ))
}
