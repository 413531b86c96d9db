//! `/v1/reports`: what drives contact and what it costs, how satisfied
//! customers are, and how bookings turn out. The arithmetic is defined in
//! `domain::reports`; this module reads the period and renders.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::availability::{parse_bound, utc_text};
use super::blocking;
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::parse_time_zone;
use crate::domain::reports::{BookingReport, ContactReport, FeedbackReport};
use crate::error::AppError;
use crate::store::{self};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/reports/contacts", web::get().to(contacts_report))
        .route("/v1/reports/feedback", web::get().to(feedback_report))
        .route("/v1/reports/bookings", web::get().to(bookings_report));
}

/// Rules the contact endpoints read from configuration.
#[derive(Debug, Clone)]
pub struct ContactRules {
    /// How far back first-contact resolution looks for a repeat contact
    /// (`SLOTWISE_FCR_WINDOW_DAYS`, default 7).
    pub fcr_window: chrono::Duration,
}

/// Longest period a report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// Start: a local date of the business (`2026-03-01`) or an RFC 3339 instant.
    pub from: String,
    /// End (a date is included whole): a local date or an RFC 3339 instant.
    pub to: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationFilter {
    /// Only contacts and bookings at this location.
    pub location_id: Option<String>,
}

/// The period a report covered, as UTC instants `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
}

/// Reads the period in the business's time zone; 400 when it is backwards
/// or longer than a year.
fn period(
    conn: &mut DbConnection,
    business: &str,
    period: &Period,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let settings = store::businesses::contact_settings(conn, business)?;
    let tz = parse_time_zone(&settings.timezone).map_err(AppError::internal)?;
    let from = parse_bound("from", period.from.trim(), tz, false)?;
    let to = parse_bound("to", period.to.trim(), tz, true)?;
    if to <= from {
        return Err(AppError::bad_parameter("to", "must be after from"));
    }
    if to - from > chrono::Duration::days(MAX_PERIOD_DAYS) {
        return Err(AppError::bad_parameter(
            "to",
            format!("a report covers at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok((from, to))
}

fn period_view(from: DateTime<Utc>, to: DateTime<Utc>) -> PeriodView {
    PeriodView {
        from: utc_text(from),
        to: utc_text(to),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactReportView {
    pub period: PeriodView,
    pub location_id: Option<String>,
    /// The first-contact-resolution look-back in force.
    pub fcr_window_days: i64,
    #[serde(flatten)]
    pub report: ContactReport,
}

/// Contacts per intent × channel: count, minutes, estimated cost (minutes ×
/// the channel's cost per minute), first-contact-resolution rate and the
/// intent's owner; plus contacts per booking and the costliest intents
/// (manager, admin).
#[utoipa::path(
    get, path = "/v1/reports/contacts", tag = "reports",
    params(Period, LocationFilter),
    responses(
        (status = 200, body = ContactReportView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn contacts_report(
    principal: Principal,
    pool: web::Data<DbPool>,
    rules: web::Data<ContactRules>,
    query: super::input::Query<Period>,
    filter: super::input::Query<LocationFilter>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let window = rules.fcr_window;
    let location_id = filter.into_inner().location_id;
    let location = location_id.clone();
    let (from, to, report) = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let (from, to) = period(conn, business, &query)?;
        let report = store::reports::contacts(
            conn,
            business,
            from.naive_utc(),
            to.naive_utc(),
            location.as_deref(),
            window,
        )?;
        Ok((from, to, report))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ContactReportView {
        period: period_view(from, to),
        location_id,
        fcr_window_days: window.num_days(),
        report,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackReportView {
    pub period: PeriodView,
    #[serde(flatten)]
    pub report: FeedbackReport,
}

/// Satisfaction of visits completed in the period: NPS (promoters −
/// detractors, in %), mean effort score and response rate, overall and by
/// service, resource and booking channel (manager, admin).
#[utoipa::path(
    get, path = "/v1/reports/feedback", tag = "reports",
    params(Period),
    responses(
        (status = 200, body = FeedbackReportView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn feedback_report(
    principal: Principal,
    pool: web::Data<DbPool>,
    query: super::input::Query<Period>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let (from, to, report) = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let (from, to) = period(conn, business, &query)?;
        let report = store::reports::feedback(conn, business, from.naive_utc(), to.naive_utc())?;
        Ok((from, to, report))
    })
    .await?;
    Ok(HttpResponse::Ok().json(FeedbackReportView {
        period: period_view(from, to),
        report,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingReportView {
    pub period: PeriodView,
    #[serde(flatten)]
    pub report: BookingReport,
}

/// Bookings starting in the period by channel and status, no-show rate,
/// cancellation rate and lead time (manager, admin).
#[utoipa::path(
    get, path = "/v1/reports/bookings", tag = "reports",
    params(Period),
    responses(
        (status = 200, body = BookingReportView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn bookings_report(
    principal: Principal,
    pool: web::Data<DbPool>,
    query: super::input::Query<Period>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let (from, to, report) = blocking(&pool, move |conn| {
        let business = principal.business_id.as_str();
        let (from, to) = period(conn, business, &query)?;
        let report = store::reports::bookings(conn, business, from.naive_utc(), to.naive_utc())?;
        Ok((from, to, report))
    })
    .await?;
    Ok(HttpResponse::Ok().json(BookingReportView {
        period: period_view(from, to),
        report,
    }))
}
