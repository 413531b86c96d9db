//! `GET /v1/availability`: the bookable slots of a service, the same for every
//! channel, computed by the pure engine in `domain::availability`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::MaybePrincipal;
use super::blocking;
use super::caller::{caller, Caller};
use crate::db::DbPool;
use crate::domain::availability::{self, Slot};
use crate::domain::catalog::parse_time_zone;
use crate::error::AppError;
use crate::store::calendar::{self, Except};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/availability", web::get().to(get_availability))
        .route(
            "/v1/availability/days",
            web::get().to(get_availability_days),
        );
}

/// The longest range one request may ask for.
pub use crate::domain::availability::MAX_RANGE_DAYS;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// The service to book.
    pub service_id: String,
    /// First day (`2026-03-08`, in the location's zone) or instant (RFC 3339).
    /// Default: now.
    pub from: Option<String>,
    /// Last day (inclusive) or instant (exclusive). Default: 7 days after `from`.
    /// At most 31 days after `from`.
    pub to: Option<String>,
    /// Only if the service is offered at this location.
    pub location_id: Option<String>,
    /// Only slots this resource can take.
    pub resource_id: Option<String>,
    /// Render `local_*` times and group days in this IANA zone (default: the location's).
    pub tz: Option<String>,
    /// `full` (default): every slot with its instants and resource ids.
    /// `compact`: each day's slots as local start times, resources named once
    /// and referred to by index (see `CompactAvailabilityView`). Only
    /// `GET /v1/availability` takes it; `/days` refuses it (400).
    pub form: Option<String>,
}

/// One bookable start.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    #[schema(format = DateTime, example = "2026-03-08T14:00:00Z")]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    /// `start` in the rendering zone, with its offset.
    #[schema(example = "2026-03-08T14:00:00+00:00")]
    pub local_start: String,
    pub local_end: String,
    /// A valid combination: one resource per requirement group.
    pub resource_ids: Vec<String>,
    /// Per requirement group, every resource free for this slot.
    pub choices: Vec<Vec<String>>,
    /// Seats still free (group sessions); 1 for an ordinary appointment.
    pub seats_left: u32,
}

/// The slots of one local day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    #[schema(example = "2026-03-08")]
    pub date: String,
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityView {
    pub service_id: String,
    pub location_id: String,
    /// The zone days and `local_*` times are rendered in.
    pub timezone: String,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// Every day of the range, in order, with its slots (possibly none).
    pub days: Vec<DayView>,
}

pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn local_text(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The first instant of a local day (the first instant after a gap when
/// midnight does not exist there).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..=24 * 60 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Reads a `from`/`to` parameter: an RFC 3339 instant, or a local date (for
/// `to`, the whole day is included).
pub fn parse_bound(
    field: &str,
    text: &str,
    tz: Tz,
    end_of_range: bool,
) -> Result<DateTime<Utc>, AppError> {
    let bound =
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            t.with_timezone(&Utc)
        } else {
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(day) if end_of_range => start_of_day(day + Duration::days(1), tz),
                Ok(day) => start_of_day(day, tz),
                Err(_) => return Err(AppError::bad_parameter(
                    field,
                    "expected a date (2026-03-08) or an RFC 3339 instant (2026-03-08T14:00:00Z)",
                )),
            }
        };
    in_years(field, bound)
}

/// 400 for an instant outside the years 0001–9999 (`-0001-01-01`, or a
/// range end that would be written `+10000-…`).
pub fn in_years(field: &str, instant: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    if super::input::in_calendar(instant) {
        Ok(instant)
    } else {
        Err(AppError::bad_parameter(
            field,
            "must lie in the years 0001 to 9999",
        ))
    }
}

/// Renders a slot, taking its resource lists rather than copying them (an
/// answer of seven days holds hundreds of slots).
pub fn slot_view(slot: Slot, tz: Tz) -> SlotView {
    SlotView {
        start: utc_text(slot.start),
        end: utc_text(slot.end),
        local_start: local_text(slot.start, tz),
        local_end: local_text(slot.end, tz),
        resource_ids: slot.resource_ids,
        choices: slot.choices,
        seats_left: slot.seats_left,
    }
}

/// Bookable slots of a service between two days or instants.
///
/// Open to anonymous callers (the online widget) for services that allow the
/// `online` channel. The list applies minimum notice and maximum advance for
/// everyone; staff who need a slot outside them book it with an override.
#[utoipa::path(
    get, path = "/v1/availability", tag = "bookings",
    params(AvailabilityQuery),
    responses(
        (status = 200, body = AvailabilityAnswer),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security((), ("bearer" = []))
)]
pub async fn get_availability(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    query: super::input::Query<AvailabilityQuery>,
) -> Result<HttpResponse, AppError> {
    let caller: Caller = caller(maybe);
    caller.require_partner_scope("availability:read")?;
    let query = query.into_inner();
    let render_tz = render_zone(&query)?;
    let compact = match query.form.as_deref() {
        None | Some("full") => false,
        Some("compact") => true,
        Some(_) => return Err(AppError::bad_parameter("form", "expected full or compact")),
    };
    let found = blocking(&pool, move |conn| {
        find_slots(conn, &caller, &query, Utc::now())
    })
    .await?;
    let tz = render_tz.unwrap_or(found.location_tz);
    if compact {
        return Ok(HttpResponse::Ok().json(compact_view(found, tz)));
    }
    Ok(HttpResponse::Ok().json(AvailabilityView {
        days: group_by_day(found.slots, found.from, found.to, tz),
        service_id: found.service_id,
        location_id: found.location_id,
        timezone: tz.name().to_owned(),
        from: utc_text(found.from),
        to: utc_text(found.to),
    }))
}

/// The zone `tz` asks days and times to be rendered in (`None`: the location's).
fn render_zone(query: &AvailabilityQuery) -> Result<Option<Tz>, AppError> {
    query
        .tz
        .as_deref()
        .map(|name| parse_time_zone(name).map_err(|m| AppError::bad_parameter("tz", m)))
        .transpose()
}

/// What [`find_slots`] found, before it is rendered.
struct FoundSlots {
    service_id: String,
    location_id: String,
    location_tz: Tz,
    /// Every slot's length (the service time, without buffers).
    duration: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    slots: Vec<Slot>,
}

/// The slots of the query's service and range for this caller, with the
/// same channel, pause and range rules for every rendering.
fn find_slots(
    conn: &mut crate::db::DbConnection,
    caller: &Caller,
    query: &AvailabilityQuery,
    now: DateTime<Utc>,
) -> Result<FoundSlots, AppError> {
    let who = caller.requester();
    let ctx = calendar::service_context(conn, who.business(), &query.service_id)?;
    let policy = ctx.policy();
    who.ensure_offered(&policy)?;
    if let Some(location_id) = &query.location_id {
        if location_id != &ctx.location.id {
            return Err(AppError::bad_parameter(
                "location_id",
                "the service is not offered at this location",
            ));
        }
    }
    let channel = who.channel();
    if !who.is_staff() && !policy.allows(channel) {
        return Err(AppError::policy_violation(
            "channels",
            format!(
                "This service cannot be booked through the {} channel.",
                channel.as_str()
            ),
        ));
    }
    ctx.ensure_not_paused(&[])?;
    let from = match &query.from {
        Some(text) => parse_bound("from", text, ctx.tz, false)?,
        None => now,
    };
    let to = match &query.to {
        Some(text) => parse_bound("to", text, ctx.tz, true)?,
        None => in_years("from", from + Duration::days(7))?,
    };
    if let Some((bound, why)) = availability::range_problem(from, to) {
        return Err(AppError::bad_parameter(bound, why));
    }
    let mut spec = ctx.spec();
    if let Some(resource_id) = &query.resource_id {
        spec.groups = availability::narrow_to(&spec.groups, resource_id).ok_or_else(|| {
            AppError::bad_parameter("resource_id", "this resource does not deliver the service")
        })?;
    }
    let window = calendar::window(
        conn,
        &ctx,
        from,
        to,
        Some(now + policy.min_notice),
        Some(now + policy.max_advance),
    )?;
    let calendars = calendar::calendars(conn, &ctx, from, to, now, Except::default())?;
    let slots = availability::slots(&spec, &calendars, &window);
    Ok(FoundSlots {
        service_id: ctx.service.row.id.clone(),
        location_id: ctx.location.id.clone(),
        location_tz: ctx.tz,
        duration: spec.duration,
        from,
        to,
        slots,
    })
}

/// How many slots each day has: the month view a booking page paints first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayCount {
    #[schema(example = "2026-03-08")]
    pub date: String,
    /// Bookable starts that day (0: nothing free, or closed).
    pub free_slots: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityDaysView {
    pub service_id: String,
    pub location_id: String,
    /// The zone the days are counted in.
    pub timezone: String,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    pub days: Vec<DayCount>,
}

/// How many bookable slots each day of a range has (≤ 31 days).
///
/// The same rules and parameters as `GET /v1/availability`, answered as one
/// count per local day, so a booking page can paint a month in one small
/// request and ask for one day's slots when a day is chosen. A count has
/// one form: `form` is refused here (400) rather than silently ignored.
#[utoipa::path(
    get, path = "/v1/availability/days", tag = "bookings",
    params(AvailabilityQuery),
    responses(
        (status = 200, body = AvailabilityDaysView),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 422, response = crate::error::ValidationFailed),
        (status = 429, response = crate::error::TooManyRequests),
    ),
    security((), ("bearer" = []))
)]
pub async fn get_availability_days(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    query: super::input::Query<AvailabilityQuery>,
) -> Result<HttpResponse, AppError> {
    let caller: Caller = caller(maybe);
    caller.require_partner_scope("availability:read")?;
    let query = query.into_inner();
    if query.form.is_some() {
        return Err(AppError::bad_parameter(
            "form",
            "only GET /v1/availability takes a form; the day counts have one",
        ));
    }
    let render_tz = render_zone(&query)?;
    let found = blocking(&pool, move |conn| {
        find_slots(conn, &caller, &query, Utc::now())
    })
    .await?;
    let tz = render_tz.unwrap_or(found.location_tz);
    // Counted, not rendered: a month of slots never becomes text here.
    let days = local_days(&found.slots, found.from, found.to, tz, |_| ())
        .into_iter()
        .map(|(date, slots)| DayCount {
            date,
            free_slots: slots.len(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AvailabilityDaysView {
        service_id: found.service_id,
        location_id: found.location_id,
        timezone: tz.name().to_owned(),
        from: utc_text(found.from),
        to: utc_text(found.to),
        days,
    }))
}

/// Every local day touching `[from, to)` with its slots, in order.
fn group_by_day(slots: Vec<Slot>, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<DayView> {
    local_days(slots, from, to, tz, |slot| slot_view(slot, tz))
        .into_iter()
        .map(|(date, slots)| DayView { date, slots })
        .collect()
}

/// Every local day touching `[from, to)` as (`YYYY-MM-DD`, its slots rendered
/// by `render`), in order: the one grouping both answer forms share.
fn local_days<S: std::borrow::Borrow<Slot>, V>(
    slots: impl IntoIterator<Item = S>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
    mut render: impl FnMut(S) -> V,
) -> Vec<(String, Vec<V>)> {
    let first = from.with_timezone(&tz).date_naive();
    let last = (to - Duration::seconds(1)).with_timezone(&tz).date_naive();
    let mut days: Vec<(String, Vec<V>)> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d.format("%Y-%m-%d").to_string(), Vec::new()))
        .collect();
    for slot in slots {
        let day = slot.borrow().start.with_timezone(&tz).date_naive();
        let index = (day - first).num_days();
        if let Some(entry) = usize::try_from(index).ok().and_then(|i| days.get_mut(i)) {
            entry.1.push(render(slot));
        }
    }
    days
}

/// What `GET /v1/availability` answers: the full form, or the compact one
/// with `form=compact`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AvailabilityAnswer {
    Full(AvailabilityView),
    Compact(CompactAvailabilityView),
}

/// The same slots as `AvailabilityView` in a fraction of the bytes: each
/// resource is named once in `resources`, slots refer to it by index, and a
/// slot is its local start time (its end is `duration_minutes` later).
#[derive(Debug, Serialize, ToSchema)]
pub struct CompactAvailabilityView {
    /// Always `compact`.
    #[schema(example = "compact")]
    pub form: &'static str,
    pub service_id: String,
    pub location_id: String,
    /// The zone days and slot starts are rendered in.
    pub timezone: String,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// Every slot ends this many minutes after it starts.
    pub duration_minutes: i64,
    /// The resources the slots name, referred to by their index here.
    pub resources: Vec<String>,
    /// Every day of the range, in order, with its slots (possibly none).
    pub days: Vec<CompactDayView>,
}

/// The slots of one local day, in the compact form.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompactDayView {
    #[schema(example = "2026-03-08")]
    pub date: String,
    pub slots: Vec<CompactSlotView>,
}

/// One bookable start, in the compact form.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompactSlotView {
    /// Local start time with its offset, on the day's `date`: `HH:MM±HH:MM`
    /// (`HH:MM:SS±HH:MM` when it is not a whole minute). The offset tells
    /// apart the two 01:30s of a night the clocks go back.
    #[schema(example = "14:00+00:00")]
    pub start: String,
    /// A valid combination, as indexes into `resources`: one per requirement group.
    pub resources: Vec<u32>,
    /// Per requirement group, every free resource, as indexes into `resources`.
    pub choices: Vec<Vec<u32>>,
    /// Seats still free (group sessions); 1 for an ordinary appointment.
    pub seats_left: u32,
}

/// Renders found slots in the compact form, numbering resources in the order
/// they are first met.
fn compact_view(found: FoundSlots, tz: Tz) -> AvailabilityAnswer {
    let mut resources: Vec<String> = Vec::new();
    let mut index_of = std::collections::HashMap::<String, u32>::new();
    let mut index = |id: &String| -> u32 {
        if let Some(&i) = index_of.get(id) {
            return i;
        }
        let i = u32::try_from(resources.len()).expect("fewer than 2^32 resources");
        resources.push(id.clone());
        index_of.insert(id.clone(), i);
        i
    };
    let days = local_days(&found.slots, found.from, found.to, tz, |slot: &Slot| {
        let local = slot.start.with_timezone(&tz);
        let start = if local.second() == 0 {
            local.format("%H:%M%:z").to_string()
        } else {
            local.format("%H:%M:%S%:z").to_string()
        };
        CompactSlotView {
            start,
            resources: slot.resource_ids.iter().map(&mut index).collect(),
            choices: slot
                .choices
                .iter()
                .map(|group| group.iter().map(&mut index).collect())
                .collect(),
            seats_left: slot.seats_left,
        }
    })
    .into_iter()
    .map(|(date, slots)| CompactDayView { date, slots })
    .collect();
    AvailabilityAnswer::Compact(CompactAvailabilityView {
        form: "compact",
        service_id: found.service_id,
        location_id: found.location_id,
        timezone: tz.name().to_owned(),
        from: utc_text(found.from),
        to: utc_text(found.to),
        duration_minutes: found.duration.num_minutes(),
        resources,
        days,
    })
}
