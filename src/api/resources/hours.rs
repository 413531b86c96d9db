//! A resource's weekly hours: read, and replaced as a whole week in the
//! location's wall-clock time.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::Principal;
use crate::api::blocking;
use crate::db::DbPool;
use crate::domain::hours::{format_clock, overlapping, parse_clock, Weekday, WeeklyInterval};
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, resources::HoursRow};

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
    body: crate::api::input::Json<ReplaceHours>,
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
