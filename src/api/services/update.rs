//! `PATCH /v1/services/{id}`: the fields given change, checked as on create.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::ServiceView;
use super::{
    check_channels, check_groups, check_price, check_reminder_rules, check_resources_at_location,
    minutes, PolicyInput, ReminderRule, RequirementGroup, RequirementGroups, DAY,
};
use crate::api::auth::Principal;
use crate::api::catalog::{check_name, check_optional_text};
use crate::api::{blocking, if_match, patch_field, versioned};
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};
use crate::store::{self, services::ServiceChanges};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(max_length = 2000)]
    pub description: Option<Option<String>>,
    /// 1 to 1440 (a day).
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: Option<i64>,
    /// 0 to 720.
    #[schema(minimum = 0, maximum = 720)]
    pub buffer_before_minutes: Option<i64>,
    /// 0 to 720.
    #[schema(minimum = 0, maximum = 720)]
    pub buffer_after_minutes: Option<i64>,
    /// 1 to 1440.
    #[schema(minimum = 1, maximum = 1440)]
    pub slot_step_minutes: Option<i64>,
    /// Seats per session, 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub capacity: Option<i64>,
    /// Not negative; `null` clears the price.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(minimum = 0)]
    pub price_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch_field")]
    pub currency: Option<Option<String>>,
    /// Replaces every requirement group.
    pub requirements: Option<Vec<RequirementGroup>>,
    pub policy: Option<PolicyInput>,
    /// Replaces every reminder rule; bookings already made keep theirs.
    pub reminders: Option<Vec<ReminderRule>>,
}

impl UpdateService {
    fn into_changes(self) -> Result<(ServiceChanges, Option<RequirementGroups>), AppError> {
        let mut errors = FieldErrors::default();
        let policy = self.policy.unwrap_or_default();
        let (price_cents, currency) = match (self.price_cents, self.currency) {
            (None, None) => (None, None),
            (price, currency) => {
                let (p, c) = check_price(&mut errors, price.flatten(), currency.flatten());
                (Some(p), Some(c))
            }
        };
        let changes = ServiceChanges {
            name: self.name.map(|n| check_name(&mut errors, "name", &n)),
            description: self
                .description
                .map(|d| check_optional_text(&mut errors, "description", d, 2000)),
            duration_minutes: self
                .duration_minutes
                .map(|v| minutes(&mut errors, "duration_minutes", v, 1..=DAY)),
            buffer_before_minutes: self
                .buffer_before_minutes
                .map(|v| minutes(&mut errors, "buffer_before_minutes", v, 0..=DAY / 2)),
            buffer_after_minutes: self
                .buffer_after_minutes
                .map(|v| minutes(&mut errors, "buffer_after_minutes", v, 0..=DAY / 2)),
            slot_step_minutes: self
                .slot_step_minutes
                .map(|v| minutes(&mut errors, "slot_step_minutes", v, 1..=DAY)),
            capacity: self
                .capacity
                .map(|v| minutes(&mut errors, "capacity", v, 1..=1000)),
            price_cents,
            currency,
            min_notice_minutes: policy
                .min_notice_minutes
                .map(|v| minutes(&mut errors, "policy.min_notice_minutes", v, 0..=365 * DAY)),
            max_advance_minutes: policy.max_advance_minutes.map(|v| {
                minutes(
                    &mut errors,
                    "policy.max_advance_minutes",
                    v,
                    1..=2 * 365 * DAY,
                )
            }),
            cancel_cutoff_minutes: policy.cancel_cutoff_minutes.map(|v| {
                minutes(
                    &mut errors,
                    "policy.cancel_cutoff_minutes",
                    v,
                    0..=365 * DAY,
                )
            }),
            reschedule_cutoff_minutes: policy.reschedule_cutoff_minutes.map(|v| {
                minutes(
                    &mut errors,
                    "policy.reschedule_cutoff_minutes",
                    v,
                    0..=365 * DAY,
                )
            }),
            channels: policy.channels.map(|c| check_channels(&mut errors, &c)),
            reminders: self
                .reminders
                .map(|r| check_reminder_rules(&mut errors, &r)),
        };
        let requirements = self
            .requirements
            .map(|groups| check_groups(&mut errors, groups));
        errors.finish()?;
        Ok((changes, requirements))
    }
}

/// Change a service (`If-Match` honoured); `requirements`, when sent, replace all groups.
#[utoipa::path(
    patch, path = "/v1/services/{id}", tag = "catalog",
    params(
        ("id" = String, Path, description = "Service id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateService,
    responses(
        (status = 200, body = ServiceView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_service(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: crate::api::input::Json<UpdateService>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    let expected = if_match(req.headers())?;
    let (changes, requirements) = body.into_inner().into_changes()?;
    let service = blocking(&pool, move |conn| {
        if let Some(groups) = &requirements {
            let current = store::services::find(conn, &principal.business_id, &id)?;
            check_resources_at_location(
                conn,
                &principal.business_id,
                &current.row.location_id,
                groups,
            )?;
        }
        store::services::update(
            conn,
            &principal.business_id,
            &id,
            expected,
            changes,
            requirements,
        )
    })
    .await?;
    Ok(versioned(service.row.version, &ServiceView::from(service)))
}
