//! Availability: the pure function from schedules, busy time and policy to the
//! slots a service can be booked at. No I/O; the store gathers the inputs.
//!
//! Rules (the contract the booking write path and the API rely on):
//! - Weekly hours are wall-clock intervals in the location's zone. A wall-clock
//!   time that does not exist (spring forward) moves to the first instant after
//!   the gap; an ambiguous one (fall back) takes the earlier instant for an
//!   opening and the later instant for a closing.
//! - A resource is open over its weekly hours, minus its time off, minus whole
//!   local days the location is closed. The *service time* `[start, start +
//!   duration)` must lie inside one open interval of every chosen resource;
//!   buffers may reach past opening hours but never into another occupant.
//! - Slot starts lie on a grid anchored at the start of each weekly-hours
//!   interval (after DST resolution), stepping by the service's slot step; time
//!   off does not shift the grid. Candidates are the union of the grids of every
//!   resource that can deliver the service.
//! - The *blocked window* `[start - buffer_before, start + duration +
//!   buffer_after)` of a candidate must not take more units of a resource than
//!   its capacity. Each exclusive occupant overlapping the window takes one unit;
//!   all seats of one group session (same service, same session start) together
//!   take one unit. A candidate joining an existing session of its own service
//!   and start needs no new unit, only a free seat (service capacity).
//! - A slot needs one distinct resource from every requirement group.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::hours::WeeklyInterval;

/// What the service needs, in the units the engine works in.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub service_id: String,
    pub duration: chrono::Duration,
    pub buffer_before: chrono::Duration,
    pub buffer_after: chrono::Duration,
    pub step: chrono::Duration,
    /// Seats per session; 1 for an ordinary appointment.
    pub capacity: u32,
    /// One resource from each group ("one of these staff", "one of these rooms").
    pub groups: Vec<Vec<String>>,
}

/// Who or what already occupies part of a resource's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupant {
    /// A booking or hold of an ordinary service: one capacity unit.
    Exclusive,
    /// One seat of a group session; all seats of one session share one unit.
    Seat {
        service_id: String,
        session_start: DateTime<Utc>,
    },
}

/// A blocked window of a resource (buffers included), from a booking or a live hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub occupant: Occupant,
}

/// One resource's calendar over the requested window.
#[derive(Debug, Clone)]
pub struct ResourceCalendar {
    pub id: String,
    /// Concurrent occupants it can take (1 for a person).
    pub capacity: u32,
    /// Paused resources take no new bookings.
    pub paused: bool,
    pub weekly: Vec<WeeklyInterval>,
    /// UTC intervals `[start, end)` when the resource is off.
    pub time_off: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub busy: Vec<Busy>,
}

/// Where and when to look.
#[derive(Debug, Clone)]
pub struct Window {
    /// The location's zone: weekly hours and closures are in it.
    pub tz: Tz,
    /// Inclusive ranges of local dates the location is closed.
    pub closures: Vec<(NaiveDate, NaiveDate)>,
    /// Slots starting in `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Policy for the caller's channel: no slot starting before `earliest`
    /// (now + min notice) or after `latest` (now + max advance). `None` = no bound.
    pub earliest: Option<DateTime<Utc>>,
    pub latest: Option<DateTime<Utc>>,
}

/// A bookable start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    /// `start + duration` (the service time, without buffers).
    pub end: DateTime<Utc>,
    /// One valid combination: one resource per group, in group order, distinct.
    pub resource_ids: Vec<String>,
    /// Per group, every resource free for this slot.
    pub choices: Vec<Vec<String>>,
    /// Seats still free in the chosen combination (service capacity minus seats
    /// already taken in a session there).
    pub seats_left: u32,
}

/// Why a specific start cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a slot start at all: outside hours, off the grid, closed, time off,
    /// or no resource of some group is working then.
    OutsideHours,
    /// A slot by the hours, but taken (capacity or seats).
    Unavailable,
    /// A requested resource cannot deliver the service (no group lists it, or
    /// two requested resources fill the same group).
    NotEligible(String),
}

/// Every bookable slot in the window, ordered by start; each start once.
pub fn slots(
    _service: &ServiceSpec,
    _resources: &[ResourceCalendar],
    _window: &Window,
) -> Vec<Slot> {
    unimplemented!("availability engine")
}

/// Whether `start` can be booked now, and on which resources: `wanted` pins
/// resources for the groups that list them; the other groups get the first
/// free resource (preferring one that already hosts the session for group
/// services). Ignores `earliest`/`latest`: policy is checked by the caller so
/// staff can override it.
pub fn check(
    _service: &ServiceSpec,
    _resources: &[ResourceCalendar],
    _window: &Window,
    _start: DateTime<Utc>,
    _wanted: &[String],
) -> Result<Slot, Refusal> {
    unimplemented!("availability engine")
}
