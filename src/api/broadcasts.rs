//! `/v1/broadcasts`: a manager tells everyone a change touches — running
//! late, a disruption, a closure — and sees how many it reached.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Principal;
use super::availability::utc_text;
use super::blocking;
use crate::db::DbPool;
use crate::domain::broadcasts::check_span;
use crate::error::{AppError, FieldErrors};
use crate::store::broadcasts::{Audience, Broadcast, NewBroadcast};
use crate::store::{self, queue};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/broadcasts", web::post().to(create_broadcast))
        .route("/v1/broadcasts/{id}", web::get().to(get_broadcast));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastKind {
    /// Shifts the queue's estimates and affected bookings' expected start by `minutes`.
    RunningLate,
    Disruption,
    Closure,
}

impl BroadcastKind {
    const ALL: [BroadcastKind; 3] = [
        BroadcastKind::RunningLate,
        BroadcastKind::Disruption,
        BroadcastKind::Closure,
    ];

    /// The stored text back as a kind: the one mapping is [`Self::as_str`].
    fn parse(text: &str) -> Option<BroadcastKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    fn as_str(self) -> &'static str {
        match self {
            BroadcastKind::RunningLate => "running_late",
            BroadcastKind::Disruption => "disruption",
            BroadcastKind::Closure => "closure",
        }
    }
}

/// A broadcast about exactly one of a resource, a location or a service.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBroadcast {
    pub kind: BroadcastKind,
    pub resource_id: Option<String>,
    pub location_id: Option<String>,
    pub service_id: Option<String>,
    /// Bookings starting from here are affected (default: now).
    #[schema(format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// …and before here (default: the end of the location's day; at most 7 days after `from`).
    #[schema(format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Running late: by how much (1–480 minutes).
    #[schema(minimum = 1, maximum = 480)]
    pub minutes: Option<i32>,
    /// What customers are told (1–500 characters).
    #[schema(max_length = 500)]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastView {
    #[schema(example = "brd_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub kind: BroadcastKind,
    pub location_id: String,
    pub resource_id: Option<String>,
    pub service_id: Option<String>,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    pub minutes: Option<i32>,
    pub message: String,
    /// Live bookings starting in the span for the audience.
    pub bookings_affected: i32,
    /// Live queue tickets that could be served there.
    pub tickets_affected: i32,
    /// Customer notices planned (one per booking; see `GET /v1/customers/{id}/notifications`).
    pub notifications_planned: i32,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn view(b: Broadcast) -> Result<BroadcastView, AppError> {
    let kind = BroadcastKind::parse(&b.kind).ok_or_else(|| {
        AppError::internal(format!("broadcast {} has unknown kind {:?}", b.id, b.kind))
    })?;
    Ok(BroadcastView {
        id: b.id,
        kind,
        location_id: b.location_id,
        resource_id: b.resource_id,
        service_id: b.service_id,
        from: utc_text(b.starts_at.and_utc()),
        to: utc_text(b.ends_at.and_utc()),
        minutes: b.minutes,
        message: b.message,
        bookings_affected: b.bookings_affected,
        tickets_affected: b.tickets_affected,
        notifications_planned: b.notifications_planned,
        created_by: b.created_by,
        created_at: utc_text(b.created_at.and_utc()),
    })
}

/// A broadcast as asked for, checked; its span waits for the zone of the
/// location it is about.
struct BroadcastDraft {
    kind: BroadcastKind,
    audience: Audience,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    minutes: Option<i32>,
    message: String,
}

impl BroadcastDraft {
    /// The broadcast over its span: from `from` (now when absent) to `to`
    /// (the end of the location's day when absent).
    fn over_span(self, now: DateTime<Utc>, tz: Tz) -> Result<NewBroadcast, AppError> {
        let from = self.from.unwrap_or(now);
        let to = self.to.unwrap_or_else(|| queue::end_of_day(from, tz));
        check_span(from, to).map_err(|why| AppError::invalid_field("to", why))?;
        Ok(NewBroadcast {
            kind: self.kind.as_str().to_owned(),
            audience: self.audience,
            from,
            to,
            minutes: self.minutes,
            message: self.message,
        })
    }
}

impl CreateBroadcast {
    /// Reads the body, every bad field reported at once.
    fn read(self) -> Result<BroadcastDraft, AppError> {
        let mut errors = FieldErrors::default();
        let audience = self.audience(&mut errors);
        let message = self.message.trim().to_owned();
        errors.check(
            !message.is_empty(),
            "message",
            "say what customers should know",
        );
        errors.check(
            message.chars().count() <= 500,
            "message",
            "must be at most 500 characters",
        );
        match (self.kind, self.minutes) {
            (BroadcastKind::RunningLate, Some(m)) => errors.check(
                (1..=480).contains(&m),
                "minutes",
                "must be between 1 and 480",
            ),
            (BroadcastKind::RunningLate, None) => errors.add("minutes", "say how late"),
            (_, Some(_)) => errors.add("minutes", "only a running-late notice has minutes"),
            (_, None) => {}
        }
        errors.finish()?;
        let audience = audience.expect("no errors, so an audience");
        Ok(BroadcastDraft {
            kind: self.kind,
            audience,
            from: self.from,
            to: self.to,
            minutes: self.minutes,
            message,
        })
    }

    fn audience(&self, errors: &mut FieldErrors) -> Option<Audience> {
        let named = [&self.resource_id, &self.location_id, &self.service_id]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if named != 1 {
            errors.add(
                "resource_id",
                "name exactly one of resource_id, location_id or service_id",
            );
            return None;
        }
        if self.kind == BroadcastKind::RunningLate && self.service_id.is_some() {
            errors.add(
                "service_id",
                "running late is about a resource or a location (who is late), not a service",
            );
        }
        self.resource_id
            .clone()
            .map(Audience::Resource)
            .or(self.location_id.clone().map(Audience::Location))
            .or(self.service_id.clone().map(Audience::Service))
    }
}

/// Send a broadcast: every live booking starting in the span for the
/// audience gets one notice (`notice` in its customer's notifications);
/// running late also marks their `expected_start` and shifts the queue's
/// estimates on those resources while the span lasts. Records a
/// `broadcast.sent` event with the counts (manager, admin).
#[utoipa::path(
    post, path = "/v1/broadcasts", tag = "walk-ins",
    request_body = CreateBroadcast,
    responses(
        (status = 201, body = BroadcastView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_broadcast(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: super::input::Json<CreateBroadcast>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let draft = body.into_inner().read()?;
    let business = principal.business_id.clone();
    let subject = principal.subject.clone();
    let broadcast = blocking(&pool, move |conn| {
        let now = Utc::now();
        let tz = store::broadcasts::audience_zone(conn, &business, &draft.audience)?;
        let request = draft.over_span(now, tz)?;
        store::broadcasts::send(conn, &business, &request, &subject, now)
    })
    .await?;
    let view = view(broadcast)?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/broadcasts/{}", view.id),
        ))
        .json(view))
}

/// A broadcast and whom it reached (staff).
#[utoipa::path(
    get, path = "/v1/broadcasts/{id}", tag = "walk-ins",
    params(("id" = String, Path, description = "Broadcast id")),
    responses(
        (status = 200, body = BroadcastView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_broadcast(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let id = id.into_inner();
    let broadcast = blocking(&pool, move |conn| {
        store::broadcasts::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(broadcast)?))
}

#[cfg(test)]
mod tests {
    use super::BroadcastKind;

    #[test]
    fn a_kind_is_stored_as_the_name_clients_send() {
        for kind in BroadcastKind::ALL {
            let sent = serde_json::to_value(kind).unwrap();
            assert_eq!(sent, kind.as_str());
            assert_eq!(BroadcastKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(BroadcastKind::parse("Closure"), None);
    }
}
