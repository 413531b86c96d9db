//! `/v1/resources`: the staff, rooms and equipment that get booked, with their
//! weekly hours and time off.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::catalog::{
    check_name, check_optional_text, instant, optional_instant, pause_view, ArchivedFilter,
    PauseView,
};
use super::{blocking, created, if_match, page_response, versioned, PageQuery};
use crate::db::DbPool;
use crate::domain::catalog::ResourceKind;
use crate::domain::hours::{format_clock, overlapping, parse_clock, Weekday, WeeklyInterval};
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{
    self, resources::HoursRow, resources::Resource, resources::ResourceChanges, resources::TimeOff,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/resources", web::get().to(list_resources))
        .route("/v1/resources", web::post().to(create_resource))
        .route("/v1/resources/{id}", web::get().to(get_resource))
        .route("/v1/resources/{id}", web::patch().to(update_resource))
        .route("/v1/resources/{id}", web::delete().to(delete_resource))
        .route("/v1/resources/{id}/hours", web::get().to(get_hours))
        .route("/v1/resources/{id}/hours", web::put().to(replace_hours))
        .route("/v1/resources/{id}/time-off", web::get().to(list_time_off))
        .route(
            "/v1/resources/{id}/time-off",
            web::post().to(create_time_off),
        )
        .route(
            "/v1/resources/{id}/time-off/{time_off_id}",
            web::delete().to(delete_time_off),
        );
}

/// Something that gets booked: a person, a room or a piece of equipment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    #[schema(example = "res_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub kind: ResourceKind,
    /// How many bookings it can take at once (1 for a person).
    pub capacity: i32,
    pub paused: Option<PauseView>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id,
            location_id: r.location_id,
            name: r.name,
            kind: store::stored_or(
                ResourceKind::parse(&r.kind),
                "kind",
                &r.kind,
                ResourceKind::Staff,
            ),
            capacity: r.capacity,
            paused: pause_view(r.paused_at, r.pause_reason, r.paused_until),
            archived_at: optional_instant(r.archived_at),
            version: r.version,
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
        }
    }
}

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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub kind: Option<String>,
    /// Simultaneous bookings, 1 to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i64>,
}

fn check_kind(errors: &mut FieldErrors, kind: &str) -> String {
    if ResourceKind::parse(kind).is_none() {
        errors.add("kind", "must be staff, room or equipment");
    }
    kind.to_owned()
}

fn check_capacity(errors: &mut FieldErrors, capacity: i64) -> i32 {
    if !(1..=10_000).contains(&capacity) {
        errors.add("capacity", "must be between 1 and 10000");
    }
    capacity.clamp(1, 10_000) as i32
}

/// List resources, optionally of one location.
#[utoipa::path(
    get, path = "/v1/resources", tag = "catalog",
    params(PageQuery, ArchivedFilter, LocationFilter),
    responses(
        (status = 200, body = super::Page<ResourceView>, headers(("Link" = String, description = "rel=\"next\" page"))),
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
    page: super::PageParams,
    archived: super::input::Query<ArchivedFilter>,
    location: super::input::Query<LocationFilter>,
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationFilter {
    /// Only objects of this location.
    pub location_id: Option<String>,
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
    body: super::input::Json<CreateResource>,
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

/// Change a resource's name, kind or capacity (`If-Match` honoured).
#[utoipa::path(
    patch, path = "/v1/resources/{id}", tag = "catalog",
    params(
        ("id" = String, Path, description = "Resource id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateResource,
    responses(
        (status = 200, body = ResourceView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_resource(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<UpdateResource>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let changes = ResourceChanges {
        name: body.name.map(|n| check_name(&mut errors, "name", &n)),
        kind: body.kind.map(|k| check_kind(&mut errors, &k)),
        capacity: body.capacity.map(|c| check_capacity(&mut errors, c)),
    };
    errors.finish()?;
    let resource = blocking(&pool, move |conn| {
        store::resources::update(conn, &principal.business_id, &id, expected, changes)
    })
    .await?;
    Ok(versioned(resource.version, &ResourceView::from(resource)))
}

/// Remove a resource: archived when a service requires it, deleted otherwise.
#[utoipa::path(
    delete, path = "/v1/resources/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    responses(
        (status = 204, description = "Archived or deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_resource(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::resources::archive_or_delete(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One opening interval in the location's wall-clock time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursInterval {
    /// `monday` … `sunday`.
    #[schema(
        example = "monday",
        pattern = "^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$"
    )]
    pub weekday: String,
    /// Local opening time, `HH:MM`.
    #[schema(example = "09:00", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub start: String,
    /// Local closing time, `HH:MM` (`24:00` for midnight).
    #[schema(example = "17:30", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceHours {
    /// The whole week; several intervals a day are allowed, overlapping ones are not.
    pub intervals: Vec<HoursInterval>,
}

/// A resource's weekly hours, in the time zone of its location.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeeklyHoursView {
    pub resource_id: String,
    #[schema(example = "Europe/London")]
    pub timezone: String,
    pub intervals: Vec<HoursInterval>,
}

fn weekday_name(day: Weekday) -> String {
    serde_json::to_value(day)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn hours_view(resource_id: String, timezone: String, rows: Vec<HoursRow>) -> WeeklyHoursView {
    let intervals = rows
        .into_iter()
        .filter_map(|row| {
            Some(HoursInterval {
                weekday: weekday_name(Weekday::from_number(row.weekday)?),
                start: format_clock(row.start_minute),
                end: format_clock(row.end_minute),
            })
        })
        .collect();
    WeeklyHoursView {
        resource_id,
        timezone,
        intervals,
    }
}

/// Parses and checks a week of hours: known weekdays, `HH:MM` times, end after
/// start, no overlap within a day.
fn parse_week(intervals: &[HoursInterval]) -> Result<Vec<WeeklyInterval>, AppError> {
    let mut errors = FieldErrors::default();
    let mut parsed = Vec::with_capacity(intervals.len());
    for (i, interval) in intervals.iter().enumerate() {
        let weekday =
            serde_json::from_value::<Weekday>(serde_json::Value::String(interval.weekday.clone()))
                .ok();
        let start = parse_clock(&interval.start);
        let end = parse_clock(&interval.end);
        if weekday.is_none() {
            errors.add(format!("intervals[{i}].weekday"), "must be monday … sunday");
        }
        if start.is_none() || start == Some(1440) {
            errors.add(
                format!("intervals[{i}].start"),
                "must be a time HH:MM before 24:00",
            );
        }
        if end.is_none() {
            errors.add(
                format!("intervals[{i}].end"),
                "must be a time HH:MM up to 24:00",
            );
        }
        if let (Some(weekday), Some(start), Some(end)) = (weekday, start, end) {
            if end <= start {
                errors.add(format!("intervals[{i}].end"), "must be after start");
            } else {
                parsed.push((
                    i,
                    WeeklyInterval {
                        weekday,
                        start_minute: start,
                        end_minute: end,
                    },
                ));
            }
        }
    }
    let plain: Vec<WeeklyInterval> = parsed.iter().map(|(_, w)| *w).collect();
    for bad in overlapping(&plain) {
        errors.add(
            format!("intervals[{}]", parsed[bad].0),
            "overlaps another interval on the same day",
        );
    }
    errors.finish()?;
    Ok(plain)
}

/// Get a resource's weekly hours.
#[utoipa::path(
    get, path = "/v1/resources/{id}/hours", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    responses(
        (status = 200, body = WeeklyHoursView),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_hours(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let view = blocking(&pool, move |conn| {
        let resource = store::resources::find(conn, &principal.business_id, &id)?;
        let location = store::locations::find(conn, &principal.business_id, &resource.location_id)?;
        let rows = store::resources::hours(conn, &principal.business_id, &id)?;
        Ok(hours_view(resource.id, location.timezone, rows))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replace a resource's whole week of opening hours.
#[utoipa::path(
    put, path = "/v1/resources/{id}/hours", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    request_body = ReplaceHours,
    responses(
        (status = 200, body = WeeklyHoursView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn replace_hours(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<ReplaceHours>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let week = parse_week(&body.intervals)?;
    let resource_id = id.into_inner();
    let rows: Vec<HoursRow> = week
        .iter()
        .map(|w| HoursRow {
            id: new_id("hrs"),
            business_id: principal.business_id.clone(),
            resource_id: resource_id.clone(),
            weekday: w.weekday.number(),
            start_minute: w.start_minute,
            end_minute: w.end_minute,
        })
        .collect();
    let view = blocking(&pool, move |conn| {
        let saved =
            store::resources::replace_hours(conn, &principal.business_id, &resource_id, &rows)?;
        let resource = store::resources::find(conn, &principal.business_id, &resource_id)?;
        let location = store::locations::find(conn, &principal.business_id, &resource.location_id)?;
        Ok(hours_view(resource_id, location.timezone, saved))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A span when the resource cannot be booked (holiday, sick leave, maintenance).
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffView {
    pub id: String,
    pub resource_id: String,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<TimeOff> for TimeOffView {
    fn from(t: TimeOff) -> Self {
        Self {
            id: t.id,
            resource_id: t.resource_id,
            starts_at: instant(t.starts_at),
            ends_at: instant(t.ends_at),
            reason: t.reason,
            created_at: instant(t.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTimeOff {
    /// RFC 3339 instant (any offset; stored as UTC).
    #[schema(value_type = String, format = DateTime, example = "2026-12-24T12:00:00Z")]
    pub starts_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime, example = "2026-12-27T00:00:00Z")]
    pub ends_at: DateTime<Utc>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstantRange {
    /// Only time off ending after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Only time off starting before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
}

/// List a resource's time off.
#[utoipa::path(
    get, path = "/v1/resources/{id}/time-off", tag = "catalog",
    params(("id" = String, Path, description = "Resource id"), InstantRange),
    responses(
        (status = 200, body = Vec<TimeOffView>),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn list_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    range: super::input::Query<InstantRange>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let InstantRange { from, to } = range.into_inner();
    super::check_range(from.as_ref(), to.as_ref())?;
    let rows = blocking(&pool, move |conn| {
        store::resources::find(conn, &principal.business_id, &id)?;
        store::resources::list_time_off(
            conn,
            &principal.business_id,
            &id,
            from.map(|f| f.naive_utc()),
            to.map(|t| t.naive_utc()),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(TimeOffView::from).collect::<Vec<_>>()))
}

/// Block a span of a resource's time.
#[utoipa::path(
    post, path = "/v1/resources/{id}/time-off", tag = "catalog",
    params(("id" = String, Path, description = "Resource id")),
    request_body = CreateTimeOff,
    responses(
        (status = 201, body = TimeOffView, headers(("Location" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<CreateTimeOff>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    errors.check(
        body.ends_at > body.starts_at,
        "ends_at",
        "must be after starts_at",
    );
    let reason = check_optional_text(&mut errors, "reason", body.reason, 500);
    errors.finish()?;
    let time_off = TimeOff {
        id: new_id("off"),
        business_id: principal.business_id.clone(),
        resource_id: id.into_inner(),
        starts_at: body.starts_at.naive_utc(),
        ends_at: body.ends_at.naive_utc(),
        reason,
        created_at: store::now(),
    };
    let time_off = blocking(&pool, move |conn| {
        store::resources::find(conn, &time_off.business_id, &time_off.resource_id)?;
        store::resources::insert_time_off(conn, &time_off)?;
        Ok(time_off)
    })
    .await?;
    let location = format!(
        "/v1/resources/{}/time-off/{}",
        time_off.resource_id, time_off.id
    );
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(TimeOffView::from(time_off)))
}

/// Remove a time-off entry.
#[utoipa::path(
    delete, path = "/v1/resources/{id}/time-off/{time_off_id}", tag = "catalog",
    params(("id" = String, Path, description = "Resource id"), ("time_off_id" = String, Path, description = "Time-off id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_time_off(
    principal: Principal,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let (resource_id, time_off_id) = path.into_inner();
    blocking(&pool, move |conn| {
        store::resources::delete_time_off(conn, &principal.business_id, &resource_id, &time_off_id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
