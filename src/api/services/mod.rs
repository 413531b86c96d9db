//! `/v1/services`: what customers book, how long it takes, who can deliver it,
//! and the service standards (policy) every channel obeys. This file holds the
//! routes, the parts a create and an update share, and their checks; each
//! action has its own file.

pub mod create;
pub mod delete;
pub mod find;
pub mod update;
pub mod views;

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::domain::catalog::{channels_to_text, is_currency_code, Channel};
use crate::domain::notifications::check_reminders;
use crate::error::{AppError, FieldErrors};
use crate::store;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use self::{create::*, delete::*, find::*, update::*};
    cfg.route("/v1/services", web::get().to(list_services))
        .route("/v1/services", web::post().to(create_service))
        .route("/v1/services/{id}", web::get().to(get_service))
        .route("/v1/services/{id}", web::patch().to(update_service))
        .route("/v1/services/{id}", web::delete().to(delete_service));
}

/// "One of these resources": a booking takes one resource from each group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementGroup {
    pub resource_ids: Vec<String>,
}

/// "Remind the customer this long before the start."
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderRule {
    /// 1 to 43200 (30 days).
    #[schema(example = 1440, minimum = 1, maximum = 43200)]
    pub before_minutes: i64,
}

fn check_reminder_rules(errors: &mut FieldErrors, rules: &[ReminderRule]) -> String {
    let minutes: Vec<i64> = rules.iter().map(|r| r.before_minutes).collect();
    check_reminders(&minutes).unwrap_or_else(|message| {
        errors.add("reminders", message);
        String::new()
    })
}

/// Policy fields of a write; any left out keep their default (create) or current value (PATCH).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// 0 to 525600 (a year).
    #[schema(minimum = 0, maximum = 525600)]
    pub min_notice_minutes: Option<i64>,
    /// 1 to 1051200 (two years).
    #[schema(minimum = 1, maximum = 1051200)]
    pub max_advance_minutes: Option<i64>,
    /// 0 to 525600 (a year).
    #[schema(minimum = 0, maximum = 525600)]
    pub cancel_cutoff_minutes: Option<i64>,
    /// 0 to 525600 (a year).
    #[schema(minimum = 0, maximum = 525600)]
    pub reschedule_cutoff_minutes: Option<i64>,
    /// At least one of `online`, `phone`, `walk_in`, `partner`.
    #[schema(min_items = 1, value_type = Option<Vec<Channel>>)]
    pub channels: Option<Vec<String>>,
}

const DAY: i64 = 24 * 60;

/// Requirement groups as resource ids, one list per group.
type RequirementGroups = Vec<Vec<String>>;

/// Checks `value` lies in `range`, recording a field error otherwise.
fn minutes(
    errors: &mut FieldErrors,
    field: &str,
    value: i64,
    range: std::ops::RangeInclusive<i64>,
) -> i32 {
    if !range.contains(&value) {
        errors.add(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        );
    }
    value.clamp(*range.start(), *range.end()) as i32
}

fn check_channels(errors: &mut FieldErrors, channels: &[String]) -> String {
    let parsed: Vec<Channel> = channels.iter().filter_map(|c| Channel::parse(c)).collect();
    if channels.is_empty() {
        errors.add("policy.channels", "must name at least one channel");
    } else if parsed.len() != channels.len() {
        errors.add(
            "policy.channels",
            "each must be online, phone, walk_in or partner",
        );
    }
    channels_to_text(&parsed)
}

fn check_price(
    errors: &mut FieldErrors,
    price: Option<i64>,
    currency: Option<String>,
) -> (Option<i64>, Option<String>) {
    if price.is_some_and(|p| p < 0) {
        errors.add("price_cents", "must not be negative");
    }
    let currency = currency.map(|c| c.trim().to_uppercase());
    if let Some(code) = &currency {
        if !is_currency_code(code) {
            errors.add("currency", "must be a three-letter ISO 4217 code");
        }
    }
    if price.is_some() && currency.is_none() {
        errors.add("currency", "is required with a price");
    }
    (price, currency)
}

/// Shape checks on requirement groups; whether the resources exist is checked in the store step.
fn check_groups(errors: &mut FieldErrors, groups: Vec<RequirementGroup>) -> Vec<Vec<String>> {
    if groups.is_empty() {
        errors.add("requirements", "must have at least one group of resources");
    }
    let mut seen = std::collections::HashSet::new();
    groups
        .into_iter()
        .enumerate()
        .map(|(g, group)| {
            if group.resource_ids.is_empty() {
                errors.add(
                    format!("requirements[{g}].resource_ids"),
                    "must name at least one resource",
                );
            }
            for (i, id) in group.resource_ids.iter().enumerate() {
                if !seen.insert(id.clone()) {
                    errors.add(
                        format!("requirements[{g}].resource_ids[{i}]"),
                        "is listed twice",
                    );
                }
            }
            group.resource_ids
        })
        .collect()
}

/// Every required resource must exist in the business, be live, and belong to the service's location.
fn check_resources_at_location(
    conn: &mut DbConnection,
    business: &str,
    location_id: &str,
    groups: &[Vec<String>],
) -> Result<(), AppError> {
    let location = store::locations::find(conn, business, location_id)
        .map_err(super::missing_as_field("location_id", "no such location"))?;
    if location.archived_at.is_some() {
        return Err(AppError::invalid_field(
            "location_id",
            "the location is archived",
        ));
    }
    let ids: Vec<String> = groups.iter().flatten().cloned().collect();
    let found = store::resources::find_many(conn, business, &ids)?;
    let mut errors = FieldErrors::default();
    for (g, group) in groups.iter().enumerate() {
        for (i, id) in group.iter().enumerate() {
            let field = format!("requirements[{g}].resource_ids[{i}]");
            match found.iter().find(|r| &r.id == id) {
                None => errors.add(field, "no such resource"),
                Some(r) if r.archived_at.is_some() => errors.add(field, "the resource is archived"),
                Some(r) if r.location_id != location_id => {
                    errors.add(field, "the resource belongs to another location")
                }
                Some(_) => {}
            }
        }
    }
    errors.finish()
}
