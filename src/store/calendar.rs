//! Gathers what the availability engine needs for one service — its spec,
//! location, resources, hours, time off, closures and occupied time — and
//! checks a slot inside the booking write path.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::locations::{self, Location};
use super::resources::{HoursRow, Resource, TimeOff};
use super::services::{self, Service};
use crate::db::DbConnection;
use crate::domain::availability::{self, Busy, Occupant, ResourceCalendar, ServiceSpec, Window};
use crate::domain::catalog::{channels_from_text, parse_time_zone};
use crate::domain::hours::{Weekday, WeeklyInterval};
use crate::domain::pauses::in_force;
use crate::domain::policy::Policy;
use crate::error::AppError;
use crate::schema::{allocations, location_closures, resource_hours, resource_time_off, resources};

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
        let row = &self.service.row;
        Policy {
            channels: channels_from_text(&row.channels),
            min_notice: Duration::minutes(row.min_notice_minutes.into()),
            max_advance: Duration::minutes(row.max_advance_minutes.into()),
            cancel_cutoff: Duration::minutes(row.cancel_cutoff_minutes.into()),
            reschedule_cutoff: Duration::minutes(row.reschedule_cutoff_minutes.into()),
        }
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

/// When a pause began, why, and when it ends.
type PauseColumns = (Option<NaiveDateTime>, Option<String>, Option<NaiveDateTime>);

/// The pause rules of [`ServiceContext::ensure_not_paused`] on what the
/// database says now, not when `ctx` was loaded: called by writers once they
/// hold their resources' locks, which a pause takes too, so a pause that
/// committed while a booking was on its way is seen, and one that comes
/// after waits for the booking (and counts it as affected).
pub fn ensure_not_paused_now(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    wanted: &[String],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::schema::{locations as location_rows, services as service_rows};
    let mut fresh = ctx.clone();
    let (paused_at, reason, until) = service_rows::table
        .filter(service_rows::id.eq(&ctx.service.row.id))
        .select((
            service_rows::paused_at,
            service_rows::pause_reason,
            service_rows::paused_until,
        ))
        .first::<PauseColumns>(conn)?;
    (
        fresh.service.row.paused_at,
        fresh.service.row.pause_reason,
        fresh.service.row.paused_until,
    ) = (paused_at, reason, until);
    let (paused_at, reason, until) = location_rows::table
        .filter(location_rows::id.eq(&ctx.location.id))
        .select((
            location_rows::paused_at,
            location_rows::pause_reason,
            location_rows::paused_until,
        ))
        .first::<PauseColumns>(conn)?;
    (
        fresh.location.paused_at,
        fresh.location.pause_reason,
        fresh.location.paused_until,
    ) = (paused_at, reason, until);
    let ids = ctx.resource_ids();
    let paused: Vec<(String, PauseColumns)> = resources::table
        .filter(resources::id.eq_any(&ids))
        .select((
            resources::id,
            (
                resources::paused_at,
                resources::pause_reason,
                resources::paused_until,
            ),
        ))
        .load(conn)?;
    for (id, (paused_at, reason, until)) in paused {
        if let Some(r) = fresh.resources.iter_mut().find(|r| r.id == id) {
            (r.paused_at, r.pause_reason, r.paused_until) = (paused_at, reason, until);
        }
    }
    fresh.forget_lapsed_pauses(now);
    fresh.ensure_not_paused(wanted)
}

/// Loads a service and what delivers it. `business` scopes the lookup; `None`
/// (an anonymous widget visitor) finds the service by its id alone.
pub fn service_context(
    conn: &mut DbConnection,
    business: Option<&str>,
    service_id: &str,
) -> Result<ServiceContext, AppError> {
    let service = match business {
        Some(business) => services::find(conn, business, service_id)?,
        None => services::find_anywhere(conn, service_id)?,
    };
    if service.row.archived_at.is_some() {
        return Err(AppError::not_found("service"));
    }
    let business = service.row.business_id.clone();
    let location = locations::find(conn, &business, &service.row.location_id)?;
    let tz = parse_time_zone(&location.timezone).map_err(AppError::internal)?;
    let ids: Vec<String> = service.requirements.iter().flatten().cloned().collect();
    let resources = resources::table
        .filter(resources::business_id.eq(&business))
        .filter(resources::id.eq_any(&ids))
        .filter(resources::archived_at.is_null())
        .select(Resource::as_select())
        .order(resources::id.asc())
        .load(conn)?;
    let mut ctx = ServiceContext {
        service,
        location,
        tz,
        resources,
    };
    ctx.forget_lapsed_pauses(Utc::now());
    Ok(ctx)
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
pub fn calendars(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    except: Except<'_>,
) -> Result<Vec<ResourceCalendar>, AppError> {
    calendars_of(conn, &ctx.resources, from, to, now, except)
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
    // A day either side covers slots whose local day straddles the window.
    let lo = (from - Duration::days(1)).naive_utc();
    let hi = (to + Duration::days(1)).naive_utc();
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
    let mut occupied = allocations::table
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
        .select((
            allocations::resource_id,
            allocations::service_id,
            allocations::session_start,
            allocations::starts_at,
            allocations::ends_at,
            allocations::seat,
        ))
        .into_boxed();
    if let Some(booking_id) = except.booking_id {
        occupied = occupied.filter(
            allocations::booking_id
                .ne(booking_id.to_owned())
                .or(allocations::booking_id.is_null()),
        );
    }
    if let Some(hold_id) = except.hold_id {
        occupied = occupied.filter(
            allocations::hold_id
                .ne(hold_id.to_owned())
                .or(allocations::hold_id.is_null()),
        );
    }
    let occupied: Vec<Occupancy> = occupied.load(conn)?;
    Ok(resources
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
        .collect())
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
