//! GET /v1/customers/{id}/timeline: everything that happened with a
//! customer, newest first, in one paged list.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::views::{feedback_view, FeedbackView, NoteView};
use crate::api::auth::Principal;
use crate::api::availability::utc_text;
use crate::api::interactions::InteractionView;
use crate::api::{blocking, page_response, PageQuery};
use crate::db::DbPool;
use crate::domain::catalog::Channel;
use crate::error::AppError;
use crate::store;
use crate::store::timeline::{self, TimelineEntry};

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
        (status = 200, body = crate::api::Page<TimelineItem>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    page: crate::api::PageParams,
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
