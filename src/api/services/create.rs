//! `POST /v1/services`: a new service, every limit checked and every default
//! filled in.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::ServiceView;
use super::{
    check_channels, check_groups, check_price, check_reminder_rules, check_resources_at_location,
    minutes, PolicyInput, ReminderRule, RequirementGroup, DAY,
};
use crate::api::auth::Principal;
use crate::api::catalog::{check_name, check_optional_text};
use crate::api::{blocking, created};
use crate::db::DbPool;
use crate::domain::catalog::Channel;
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, services::Service, services::ServiceRow};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    pub location_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// 1 to 1440 (a day).
    #[schema(example = 30, minimum = 1, maximum = 1440)]
    pub duration_minutes: i64,
    /// 0 to 720; default 0.
    #[schema(minimum = 0, maximum = 720)]
    pub buffer_before_minutes: Option<i64>,
    /// 0 to 720; default 0.
    #[schema(minimum = 0, maximum = 720)]
    pub buffer_after_minutes: Option<i64>,
    /// 1 to 1440; default 15.
    #[schema(minimum = 1, maximum = 1440)]
    pub slot_step_minutes: Option<i64>,
    /// Seats per session, 1 to 1000; default 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub capacity: Option<i64>,
    /// Informational price in the currency's minor unit, not negative.
    #[schema(minimum = 0)]
    pub price_cents: Option<i64>,
    /// ISO 4217 code, required with a price.
    #[schema(example = "GBP")]
    pub currency: Option<String>,
    /// At least one group; each group names at least one resource of the service's location.
    pub requirements: Vec<RequirementGroup>,
    /// Defaults: no minimum notice, 90 days ahead, no cutoffs, every channel.
    pub policy: Option<PolicyInput>,
    /// Up to 5 reminders; default none.
    pub reminders: Option<Vec<ReminderRule>>,
}

/// How a new service's visits run: their length, the gaps around them, the
/// step between slots and the seats in one.
struct Timing {
    duration: i32,
    buffer_before: i32,
    buffer_after: i32,
    step: i32,
    capacity: i32,
}

/// A new service's booking policy, each limit checked or defaulted.
struct NewPolicy {
    channels: String,
    min_notice: i32,
    max_advance: i32,
    cancel_cutoff: i32,
    reschedule_cutoff: i32,
}

impl CreateService {
    fn into_service(self, business_id: &str) -> Result<Service, AppError> {
        let mut errors = FieldErrors::default();
        let name = check_name(&mut errors, "name", &self.name);
        let description = check_optional_text(&mut errors, "description", self.description, 2000);
        let timing = new_timing(
            &mut errors,
            self.duration_minutes,
            self.buffer_before_minutes,
            self.buffer_after_minutes,
            self.slot_step_minutes,
            self.capacity,
        );
        let (price_cents, currency) = check_price(&mut errors, self.price_cents, self.currency);
        let policy = self.policy.unwrap_or_default().into_new(&mut errors);
        let requirements = check_groups(&mut errors, self.requirements);
        let reminders = check_reminder_rules(&mut errors, self.reminders.as_deref().unwrap_or(&[]));
        errors.finish()?;
        let now = store::now();
        Ok(Service {
            row: ServiceRow {
                id: new_id("svc"),
                business_id: business_id.to_owned(),
                location_id: self.location_id,
                name,
                description,
                duration_minutes: timing.duration,
                buffer_before_minutes: timing.buffer_before,
                buffer_after_minutes: timing.buffer_after,
                slot_step_minutes: timing.step,
                capacity: timing.capacity,
                price_cents,
                currency,
                min_notice_minutes: policy.min_notice,
                max_advance_minutes: policy.max_advance,
                cancel_cutoff_minutes: policy.cancel_cutoff,
                reschedule_cutoff_minutes: policy.reschedule_cutoff,
                channels: policy.channels,
                paused_at: None,
                pause_reason: None,
                paused_until: None,
                archived_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
                reminders,
            },
            requirements,
        })
    }
}

/// A new service's timing: no buffers, a slot every 15 minutes and one
/// seat unless asked otherwise.
fn new_timing(
    errors: &mut FieldErrors,
    duration: i64,
    buffer_before: Option<i64>,
    buffer_after: Option<i64>,
    step: Option<i64>,
    capacity: Option<i64>,
) -> Timing {
    Timing {
        duration: minutes(errors, "duration_minutes", duration, 1..=DAY),
        buffer_before: minutes(
            errors,
            "buffer_before_minutes",
            buffer_before.unwrap_or(0),
            0..=DAY / 2,
        ),
        buffer_after: minutes(
            errors,
            "buffer_after_minutes",
            buffer_after.unwrap_or(0),
            0..=DAY / 2,
        ),
        step: minutes(errors, "slot_step_minutes", step.unwrap_or(15), 1..=DAY),
        capacity: minutes(errors, "capacity", capacity.unwrap_or(1), 1..=1000),
    }
}

impl PolicyInput {
    /// A new service's policy: every channel, no notice, 90 days ahead and
    /// no cutoffs unless asked otherwise.
    fn into_new(self, errors: &mut FieldErrors) -> NewPolicy {
        let all_channels: Vec<String> =
            Channel::ALL.iter().map(|c| c.as_str().to_owned()).collect();
        let channels = check_channels(errors, self.channels.as_deref().unwrap_or(&all_channels));
        NewPolicy {
            channels,
            min_notice: minutes(
                errors,
                "policy.min_notice_minutes",
                self.min_notice_minutes.unwrap_or(0),
                0..=365 * DAY,
            ),
            max_advance: minutes(
                errors,
                "policy.max_advance_minutes",
                self.max_advance_minutes.unwrap_or(90 * DAY),
                1..=2 * 365 * DAY,
            ),
            cancel_cutoff: minutes(
                errors,
                "policy.cancel_cutoff_minutes",
                self.cancel_cutoff_minutes.unwrap_or(0),
                0..=365 * DAY,
            ),
            reschedule_cutoff: minutes(
                errors,
                "policy.reschedule_cutoff_minutes",
                self.reschedule_cutoff_minutes.unwrap_or(0),
                0..=365 * DAY,
            ),
        }
    }
}

/// Create a service at a location.
#[utoipa::path(
    post, path = "/v1/services", tag = "catalog",
    request_body = CreateService,
    responses(
        (status = 201, body = ServiceView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn create_service(
    principal: Principal,
    pool: web::Data<DbPool>,
    body: crate::api::input::Json<CreateService>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let service = body.into_inner().into_service(&principal.business_id)?;
    let service = blocking(&pool, move |conn| {
        check_resources_at_location(
            conn,
            &service.row.business_id,
            &service.row.location_id,
            &service.requirements,
        )?;
        store::services::insert(conn, &service)?;
        Ok(service)
    })
    .await?;
    Ok(created(
        format!("/v1/services/{}", service.row.id),
        service.row.version,
        &ServiceView::from(service),
    ))
}
