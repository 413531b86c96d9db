//! `/v1/services`: what customers book, how long it takes, who can deliver it,
//! and the service standards (policy) every channel obeys.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Principal;
use super::catalog::{
    check_name, check_optional_text, instant, optional_instant, pause_view, ArchivedFilter,
    PauseView,
};
use super::resources::LocationFilter;
use super::{blocking, created, if_match, page_response, patch_field, versioned, PageQuery};
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::{channels_from_text, channels_to_text, is_currency_code, Channel};
use crate::domain::notifications::{check_reminders, parse_reminders};
use crate::error::{AppError, FieldErrors};
use crate::ids::new_id;
use crate::store::{self, services::Service, services::ServiceChanges, services::ServiceRow};

pub fn routes(cfg: &mut web::ServiceConfig) {
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

fn reminder_rules(stored: &str) -> Vec<ReminderRule> {
    parse_reminders(stored)
        .into_iter()
        .map(|before_minutes| ReminderRule { before_minutes })
        .collect()
}

fn check_reminder_rules(errors: &mut FieldErrors, rules: &[ReminderRule]) -> String {
    let minutes: Vec<i64> = rules.iter().map(|r| r.before_minutes).collect();
    check_reminders(&minutes).unwrap_or_else(|message| {
        errors.add("reminders", message);
        String::new()
    })
}

/// The service standards enforced identically for every channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// Bookings must start at least this long after now.
    pub min_notice_minutes: i32,
    /// Bookings may start at most this far ahead.
    pub max_advance_minutes: i32,
    /// Customers may cancel up to this long before the start.
    pub cancel_cutoff_minutes: i32,
    /// Customers may reschedule up to this long before the start.
    pub reschedule_cutoff_minutes: i32,
    /// Channels through which the service may be booked.
    pub channels: Vec<Channel>,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    #[schema(example = "svc_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    /// Distance between offered start times.
    pub slot_step_minutes: i32,
    /// Seats per session (1 for an ordinary appointment).
    pub capacity: i32,
    /// Informational price in the currency's minor unit.
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub requirements: Vec<RequirementGroup>,
    pub policy: PolicyView,
    /// When customers are reminded, furthest ahead first.
    pub reminders: Vec<ReminderRule>,
    pub paused: Option<PauseView>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Service> for ServiceView {
    fn from(s: Service) -> Self {
        let r = s.row;
        Self {
            id: r.id,
            location_id: r.location_id,
            name: r.name,
            description: r.description,
            duration_minutes: r.duration_minutes,
            buffer_before_minutes: r.buffer_before_minutes,
            buffer_after_minutes: r.buffer_after_minutes,
            slot_step_minutes: r.slot_step_minutes,
            capacity: r.capacity,
            price_cents: r.price_cents,
            currency: r.currency,
            requirements: s
                .requirements
                .into_iter()
                .map(|resource_ids| RequirementGroup { resource_ids })
                .collect(),
            policy: PolicyView {
                min_notice_minutes: r.min_notice_minutes,
                max_advance_minutes: r.max_advance_minutes,
                cancel_cutoff_minutes: r.cancel_cutoff_minutes,
                reschedule_cutoff_minutes: r.reschedule_cutoff_minutes,
                channels: channels_from_text(&r.channels),
            },
            reminders: reminder_rules(&r.reminders),
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

/// List services, optionally of one location.
#[utoipa::path(
    get, path = "/v1/services", tag = "catalog",
    params(PageQuery, ArchivedFilter, LocationFilter),
    responses(
        (status = 200, body = super::Page<ServiceView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_services(
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
        store::services::list(
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
        |s| &s.row.id,
        ServiceView::from,
    ))
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
    body: super::input::Json<CreateService>,
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

/// Get one service.
#[utoipa::path(
    get, path = "/v1/services/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Service id")),
    responses(
        (status = 200, body = ServiceView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_service(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require_staff_or_partner_scope("catalog:read")?;
    let service = blocking(&pool, move |conn| {
        store::services::find(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(versioned(service.row.version, &ServiceView::from(service)))
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
    body: super::input::Json<UpdateService>,
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

/// Archive a service: it stops being bookable but stays readable for history.
#[utoipa::path(
    delete, path = "/v1/services/{id}", tag = "catalog",
    params(("id" = String, Path, description = "Service id")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn delete_service(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::MANAGERS)?;
    blocking(&pool, move |conn| {
        store::services::archive(conn, &principal.business_id, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
