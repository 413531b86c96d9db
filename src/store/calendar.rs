//! Gathers what the availability engine needs for one service — its spec,
//! location, resources, hours, time off, closures and occupied time — and
//! checks a slot inside the booking write path.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::locations::Location;
use super::resources::{HoursRow, Resource, TimeOff};
use super::services::{self, RequirementRow, Service, ServiceRow};
use crate::db::DbConnection;
use crate::domain::availability::{self, Busy, Occupant, ResourceCalendar, ServiceSpec, Window};
use crate::domain::catalog::parse_time_zone;
use crate::domain::hours::{Weekday, WeeklyInterval};
use crate::domain::pauses::in_force;
use crate::domain::policy::Policy;
use crate::error::AppError;
use crate::schema::{
    allocations, location_closures, locations, resource_hours, resource_time_off, resources,
    service_requirements, services as service_rows,
};

/// Occupied windows are at most a day of service plus half a day of buffer on
/// each side (the catalog's limits), so an occupant overlapping `[from, to)`
/// starts no earlier than `from - LONGEST_OCCUPANCY`. Bounding the scan this way
/// keeps availability independent of how much history the business has.
pub const LONGEST_OCCUPANCY: Duration = Duration::days(2);

/// A service with everything it is delivered by.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    pub service: Service,
    pub location: Location,
    pub tz: chrono_tz::Tz,
    /// The resources its requirement groups name, in id order.
    pub resources: Vec<Resource>,
}

impl ServiceContext {
    pub fn business_id(&self) -> &str {
        &self.service.row.business_id
    }

    pub fn resource_ids(&self) -> Vec<String> {
        self.resources.iter().map(|r| r.id.clone()).collect()
    }

    pub fn spec(&self) -> ServiceSpec {
        let row = &self.service.row;
        ServiceSpec {
            service_id: row.id.clone(),
            duration: Duration::minutes(row.duration_minutes.into()),
            buffer_before: Duration::minutes(row.buffer_before_minutes.into()),
            buffer_after: Duration::minutes(row.buffer_after_minutes.into()),
            step: Duration::minutes(row.slot_step_minutes.into()),
            capacity: row.capacity.max(1) as u32,
            groups: self.service.requirements.clone(),
        }
    }

    pub fn policy(&self) -> Policy {
        self.service.row.policy()
    }

    /// The resources a write for `wanted` may touch, and so must lock: the
    /// pinned ones, and every resource of each group left to choose. Locking
    /// no more than that lets bookings for different staff of one service
    /// proceed side by side on PostgreSQL.
    pub fn involved_resources(&self, wanted: &[String]) -> Vec<String> {
        match availability::pin(&self.service.requirements, wanted) {
            Ok(groups) => {
                let mut ids: Vec<String> = groups
                    .into_iter()
                    .flatten()
                    .filter(|id| self.resources.iter().any(|r| &r.id == id))
                    .collect();
                ids.sort();
                ids.dedup();
                ids
            }
            // The check refuses such a request; lock everything meanwhile.
            Err(_) => self.resource_ids(),
        }
    }

    /// The blocked window of a slot starting at `start`.
    pub fn blocked_window(&self, start: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let spec = self.spec();
        (
            start - spec.buffer_before,
            start + spec.duration + spec.buffer_after,
        )
    }

    /// Pauses whose `until` has passed are over, whether or not the sweeper
    /// has cleared them yet: to every rule below they never were.
    fn forget_lapsed_pauses(&mut self, now: DateTime<Utc>) {
        let service = &mut self.service.row;
        if !in_force(service.paused_at, service.paused_until, now) {
            service.paused_at = None;
        }
        if !in_force(self.location.paused_at, self.location.paused_until, now) {
            self.location.paused_at = None;
        }
        for r in &mut self.resources {
            if !in_force(r.paused_at, r.paused_until, now) {
                r.paused_at = None;
            }
        }
    }

    /// 409 `paused` when the service or its location is paused, or when every
    /// resource of some requirement group is: every channel hears why.
    pub fn ensure_not_paused(&self, wanted: &[String]) -> Result<(), AppError> {
        if self.service.row.paused_at.is_some() {
            return Err(
                AppError::paused("service", self.service.row.pause_reason.as_deref())
                    .until(self.service.row.paused_until),
            );
        }
        if self.location.paused_at.is_some() {
            return Err(
                AppError::paused("location", self.location.pause_reason.as_deref())
                    .until(self.location.paused_until),
            );
        }
        let paused = |id: &String| {
            self.resources
                .iter()
                .find(|r| &r.id == id && r.paused_at.is_some())
        };
        if let Some(resource) = wanted.iter().find_map(paused) {
            return Err(
                AppError::paused("resource", resource.pause_reason.as_deref())
                    .until(resource.paused_until),
            );
        }
        for group in &self.service.requirements {
            let all_paused: Vec<&Resource> = group.iter().filter_map(paused).collect();
            if !group.is_empty() && all_paused.len() == group.len() {
                return Err(
                    AppError::paused("resource", all_paused[0].pause_reason.as_deref())
                        .until(all_paused[0].paused_until),
                );
            }
        }
        Ok(())
    }
}

/// The rules of [`ServiceContext::ensure_not_paused`] on what the database
/// says now, not when `ctx` was loaded: called by writers once they hold
/// their resources' locks, which a pause takes too, so a pause that committed
/// while a booking was on its way is seen, and one that comes after waits for
/// the booking (and counts it as affected). One statement: the same one that
/// loads the context.
pub fn ensure_not_paused_now(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    wanted: &[String],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let now_loaded = load_context(conn, &ctx.service.row.id)?;
    let mut fresh = ctx.clone();
    let service = &mut fresh.service.row;
    let current = &now_loaded.service.row;
    (
        service.paused_at,
        service.pause_reason,
        service.paused_until,
    ) = (
        current.paused_at,
        current.pause_reason.clone(),
        current.paused_until,
    );
    let location = &mut fresh.location;
    (
        location.paused_at,
        location.pause_reason,
        location.paused_until,
    ) = (
        now_loaded.location.paused_at,
        now_loaded.location.pause_reason.clone(),
        now_loaded.location.paused_until,
    );
    for r in &mut fresh.resources {
        if let Some(current) = now_loaded.resources.iter().find(|c| c.id == r.id) {
            (r.paused_at, r.pause_reason, r.paused_until) = (
                current.paused_at,
                current.pause_reason.clone(),
                current.paused_until,
            );
        }
    }
    fresh.forget_lapsed_pauses(now);
    fresh.ensure_not_paused(wanted)
}

/// One row of the context query: the service and its location on every row,
/// then one requirement and the resource it names (none for a service
/// without requirements).
type ContextRow = (
    ServiceRow,
    Location,
    Option<RequirementRow>,
    Option<Resource>,
);

/// Loads a service and what delivers it. `business` scopes the lookup; `None`
/// (an anonymous widget visitor) finds the service by its id alone.
///
/// Availability asks this on every request, so it is one statement whose SQL
/// never changes (no bound `LIMIT`, no `IN` list): both databases keep it
/// prepared, and there is no cache to go stale when the catalog changes in
/// this process or another one.
pub fn service_context(
    conn: &mut DbConnection,
    business: Option<&str>,
    service_id: &str,
) -> Result<ServiceContext, AppError> {
    let ctx = load_context(conn, service_id)?;
    if business.is_some_and(|b| b != ctx.business_id()) || ctx.service.row.archived_at.is_some() {
        return Err(AppError::not_found("service"));
    }
    let mut ctx = ctx;
    ctx.forget_lapsed_pauses(Utc::now());
    Ok(ctx)
}

/// [`service_context`] as stored, pauses and archive marks untouched.
fn load_context(conn: &mut DbConnection, service_id: &str) -> Result<ServiceContext, AppError> {
    let rows: Vec<ContextRow> = service_rows::table
        .inner_join(locations::table)
        .left_join(service_requirements::table.left_join(resources::table))
        .filter(service_rows::id.eq(service_id))
        .select((
            ServiceRow::as_select(),
            Location::as_select(),
            Option::<RequirementRow>::as_select(),
            Option::<Resource>::as_select(),
        ))
        .order((
            service_requirements::group_no.asc(),
            service_requirements::resource_id.asc(),
        ))
        .load(conn)?;
    let Some((service, location, _, _)) = rows.first().cloned() else {
        return Err(AppError::not_found("service"));
    };
    if location.business_id != service.business_id {
        return Err(AppError::not_found("location"));
    }
    let tz = parse_time_zone(&location.timezone).map_err(AppError::internal)?;
    let mut requirements = Vec::new();
    let mut delivering: Vec<Resource> = Vec::new();
    for (_, _, requirement, resource) in rows {
        if let Some(requirement) = requirement {
            requirements.push(requirement);
        }
        if let Some(resource) = resource {
            if resource.archived_at.is_none() && resource.business_id == service.business_id {
                delivering.push(resource);
            }
        }
    }
    delivering.sort_by(|a, b| a.id.cmp(&b.id));
    delivering.dedup_by(|a, b| a.id == b.id);
    Ok(ServiceContext {
        service: Service {
            row: service,
            requirements: services::group_requirements(requirements),
        },
        location,
        tz,
        resources: delivering,
    })
}

/// Occupants to leave out of the calendar: the booking being moved, or the
/// hold being turned into a booking.
#[derive(Debug, Clone, Copy, Default)]
pub struct Except<'a> {
    pub booking_id: Option<&'a str>,
    pub hold_id: Option<&'a str>,
}

#[derive(Debug, Queryable)]
struct Occupancy {
    resource_id: String,
    service_id: String,
    session_start: NaiveDateTime,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    seat: bool,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The calendars of `ctx`'s resources for slots starting in `[from, to)`:
/// weekly hours, time off, and what live bookings and unexpired holds occupy.
///
/// The resources are named by a subquery on the service's requirements
/// rather than an `IN` list, and the exceptions are always bound (`''`
/// stands for none), so the three statements keep the same SQL on every
/// request and stay prepared.
pub fn calendars(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    except: Except<'_>,
) -> Result<Vec<ResourceCalendar>, AppError> {
    let delivering = || {
        service_requirements::table
            .filter(service_requirements::service_id.eq(&ctx.service.row.id))
            .select(service_requirements::resource_id)
    };
    let (lo, hi) = scan_bounds(from, to);
    let hours: Vec<HoursRow> = resource_hours::table
        .filter(resource_hours::resource_id.eq_any(delivering()))
        .select(HoursRow::as_select())
        .load(conn)?;
    let time_off: Vec<TimeOff> = resource_time_off::table
        .filter(resource_time_off::resource_id.eq_any(delivering()))
        .filter(resource_time_off::ends_at.gt(lo))
        .filter(resource_time_off::starts_at.lt(hi))
        .select(TimeOff::as_select())
        .load(conn)?;
    let occupied: Vec<Occupancy> = allocations::table
        .filter(allocations::resource_id.eq_any(delivering()))
        .filter(allocations::active.eq(true))
        .filter(allocations::starts_at.ge(lo - LONGEST_OCCUPANCY))
        .filter(allocations::starts_at.lt(hi))
        .filter(allocations::ends_at.gt(lo))
        .filter(
            allocations::expires_at
                .is_null()
                .or(allocations::expires_at.gt(now.naive_utc())),
        )
        .filter(
            allocations::booking_id
                .is_null()
                .or(allocations::booking_id.ne(except.booking_id.unwrap_or(""))),
        )
        .filter(
            allocations::hold_id
                .is_null()
                .or(allocations::hold_id.ne(except.hold_id.unwrap_or(""))),
        )
        .select(OCCUPANCY)
        .load(conn)?;
    Ok(assemble(&ctx.resources, &hours, &time_off, &occupied))
}

/// What an occupant's row says about the time it takes.
const OCCUPANCY: (
    allocations::resource_id,
    allocations::service_id,
    allocations::session_start,
    allocations::starts_at,
    allocations::ends_at,
    allocations::seat,
) = (
    allocations::resource_id,
    allocations::service_id,
    allocations::session_start,
    allocations::starts_at,
    allocations::ends_at,
    allocations::seat,
);

/// A day either side covers slots whose local day straddles the window.
fn scan_bounds(from: DateTime<Utc>, to: DateTime<Utc>) -> (NaiveDateTime, NaiveDateTime) {
    (
        (from - Duration::days(1)).naive_utc(),
        (to + Duration::days(1)).naive_utc(),
    )
}

/// [`calendars`] of any resources (the walk-in board plans a whole location).
pub fn calendars_of(
    conn: &mut DbConnection,
    resources: &[Resource],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    except: Except<'_>,
) -> Result<Vec<ResourceCalendar>, AppError> {
    let ids: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
    let (lo, hi) = scan_bounds(from, to);
    let hours: Vec<HoursRow> = resource_hours::table
        .filter(resource_hours::resource_id.eq_any(&ids))
        .select(HoursRow::as_select())
        .load(conn)?;
    let time_off: Vec<TimeOff> = resource_time_off::table
        .filter(resource_time_off::resource_id.eq_any(&ids))
        .filter(resource_time_off::ends_at.gt(lo))
        .filter(resource_time_off::starts_at.lt(hi))
        .select(TimeOff::as_select())
        .load(conn)?;
    let occupied: Vec<Occupancy> = allocations::table
        .filter(allocations::resource_id.eq_any(&ids))
        .filter(allocations::active.eq(true))
        .filter(allocations::starts_at.ge(lo - LONGEST_OCCUPANCY))
        .filter(allocations::starts_at.lt(hi))
        .filter(allocations::ends_at.gt(lo))
        .filter(
            allocations::expires_at
                .is_null()
                .or(allocations::expires_at.gt(now.naive_utc())),
        )
        .filter(
            allocations::booking_id
                .is_null()
                .or(allocations::booking_id.ne(except.booking_id.unwrap_or(""))),
        )
        .filter(
            allocations::hold_id
                .is_null()
                .or(allocations::hold_id.ne(except.hold_id.unwrap_or(""))),
        )
        .select(OCCUPANCY)
        .load(conn)?;
    Ok(assemble(resources, &hours, &time_off, &occupied))
}

/// Each resource's calendar from the rows loaded for all of them.
fn assemble(
    resources: &[Resource],
    hours: &[HoursRow],
    time_off: &[TimeOff],
    occupied: &[Occupancy],
) -> Vec<ResourceCalendar> {
    resources
        .iter()
        .map(|resource| ResourceCalendar {
            id: resource.id.clone(),
            capacity: resource.capacity.max(1) as u32,
            paused: resource.paused_at.is_some(),
            weekly: hours
                .iter()
                .filter(|h| h.resource_id == resource.id)
                .filter_map(|h| {
                    Some(WeeklyInterval {
                        weekday: Weekday::from_number(h.weekday)?,
                        start_minute: h.start_minute,
                        end_minute: h.end_minute,
                    })
                })
                .collect(),
            time_off: time_off
                .iter()
                .filter(|t| t.resource_id == resource.id)
                .map(|t| (utc(t.starts_at), utc(t.ends_at)))
                .collect(),
            busy: occupied
                .iter()
                .filter(|o| o.resource_id == resource.id)
                .map(|o| Busy {
                    start: utc(o.starts_at),
                    end: utc(o.ends_at),
                    occupant: if o.seat {
                        Occupant::Seat {
                            service_id: o.service_id.clone(),
                            session_start: utc(o.session_start),
                        }
                    } else {
                        Occupant::Exclusive
                    },
                })
                .collect(),
        })
        .collect()
}

/// The engine's window for `ctx` over `[from, to)`, with the location's closures.
pub fn window(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    earliest: Option<DateTime<Utc>>,
    latest: Option<DateTime<Utc>>,
) -> Result<Window, AppError> {
    window_of(conn, &ctx.location.id, ctx.tz, from, to, earliest, latest)
}

/// [`window`] of a location by id and zone.
pub fn window_of(
    conn: &mut DbConnection,
    location_id: &str,
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    earliest: Option<DateTime<Utc>>,
    latest: Option<DateTime<Utc>>,
) -> Result<Window, AppError> {
    let first_day = (from - Duration::days(1)).with_timezone(&tz).date_naive();
    let last_day = (to + Duration::days(1)).with_timezone(&tz).date_naive();
    let closures: Vec<(chrono::NaiveDate, chrono::NaiveDate)> = location_closures::table
        .filter(location_closures::location_id.eq(location_id))
        .filter(location_closures::ends_on.ge(first_day))
        .filter(location_closures::starts_on.le(last_day))
        .select((location_closures::starts_on, location_closures::ends_on))
        .load(conn)?;
    Ok(Window {
        tz,
        closures,
        from,
        to,
        earliest,
        latest,
    })
}

/// Whether `start` can be taken right now (inside the caller's transaction,
/// after the resources are locked), and on which resources.
pub fn check_slot(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    start: DateTime<Utc>,
    wanted: &[String],
    now: DateTime<Utc>,
    except: Except<'_>,
) -> Result<availability::Slot, AppError> {
    let to = start + Duration::minutes(1);
    let window = window(conn, ctx, start, to, None, None)?;
    let calendars = calendars(conn, ctx, start, to, now, except)?;
    availability::check(&ctx.spec(), &calendars, &window, start, wanted).map_err(|refusal| {
        match refusal {
            availability::Refusal::OutsideHours => AppError::outside_hours(
                "No resource that delivers this service works then, or the start is not on the service's slot grid.",
            ),
            availability::Refusal::Unavailable => {
                AppError::slot_unavailable("That slot has just been taken; pick another.")
            }
            availability::Refusal::NotEligible(id) => AppError::invalid_field(
                "resource_ids",
                format!("{id} does not deliver this service (or two chosen resources fill one requirement)"),
            ),
        }
    })
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = allocations)]
#[diesel(treat_none_as_default_value = false)]
struct NewAllocation {
    id: String,
    business_id: String,
    resource_id: String,
    service_id: String,
    booking_id: Option<String>,
    hold_id: Option<String>,
    session_start: NaiveDateTime,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    seat: bool,
    exclusive: bool,
    active: bool,
}

/// Who occupies the time: a booking, or a hold until it expires.
#[derive(Debug, Clone, Copy)]
pub enum Occupier<'a> {
    Booking(&'a str),
    Hold {
        id: &'a str,
        expires_at: DateTime<Utc>,
    },
}

/// Writes one allocation per chosen resource over the slot's blocked window.
/// Seats of a group session share their resources; anything else on a
/// capacity-1 resource is exclusive, which PostgreSQL's constraint guards.
pub fn occupy(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    start: DateTime<Utc>,
    resource_ids: &[String],
    occupier: Occupier<'_>,
) -> QueryResult<()> {
    let (blocked_from, blocked_to) = ctx.blocked_window(start);
    let seat = ctx.service.row.capacity > 1;
    for resource_id in resource_ids {
        let capacity = ctx
            .resources
            .iter()
            .find(|r| &r.id == resource_id)
            .map_or(1, |r| r.capacity);
        let (booking_id, hold_id, expires_at) = match occupier {
            Occupier::Booking(id) => (Some(id.to_owned()), None, None),
            Occupier::Hold { id, expires_at } => {
                (None, Some(id.to_owned()), Some(expires_at.naive_utc()))
            }
        };
        diesel::insert_into(allocations::table)
            .values(NewAllocation {
                id: crate::ids::new_id("alc"),
                business_id: ctx.business_id().to_owned(),
                resource_id: resource_id.clone(),
                service_id: ctx.service.row.id.clone(),
                booking_id,
                hold_id,
                session_start: start.naive_utc(),
                starts_at: blocked_from.naive_utc(),
                ends_at: blocked_to.naive_utc(),
                expires_at,
                seat,
                exclusive: !seat && capacity == 1,
                active: true,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Frees the time a booking or hold occupied (the rows stay, inactive, as a record).
pub fn vacate(conn: &mut DbConnection, occupier: Occupier<'_>) -> QueryResult<usize> {
    match occupier {
        Occupier::Booking(id) => diesel::update(
            allocations::table
                .filter(allocations::booking_id.eq(id))
                .filter(allocations::active.eq(true)),
        )
        .set(allocations::active.eq(false))
        .execute(conn),
        Occupier::Hold { id, .. } => diesel::update(
            allocations::table
                .filter(allocations::hold_id.eq(id))
                .filter(allocations::active.eq(true)),
        )
        .set(allocations::active.eq(false))
        .execute(conn),
    }
}

/// Ids of holds on these resources whose time ran out but whose rows still
/// count as active (what `holds::expire` must settle before anyone writes).
pub fn lapsed_holds(
    conn: &mut DbConnection,
    resource_ids: &[String],
    now: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = allocations::table
        .filter(allocations::resource_id.eq_any(resource_ids))
        .filter(allocations::active.eq(true))
        .filter(allocations::expires_at.le(now.naive_utc()))
        .select(allocations::hold_id.assume_not_null())
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}
