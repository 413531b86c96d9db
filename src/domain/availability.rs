//! Availability: the pure function from schedules, busy time and policy to the
//! slots a service can be booked at. No I/O; the store gathers the inputs.
//!
//! Rules (the contract the booking write path and the API rely on):
//! - Weekly hours are wall-clock intervals in the location's zone. A wall-clock
//!   time that does not exist (spring forward) moves to the first instant after
//!   the gap; an ambiguous one (fall back) takes the earlier instant for an
//!   opening and the later instant for a closing.
//! - A resource is open over its weekly hours, minus its time off, minus whole
//!   local days the location is closed. Intervals that touch join (also
//!   across midnight, or where a DST gap closes the space between them). The
//!   *service time* `[start, start + duration)` must lie inside one stretch of
//!   open time of every chosen resource; buffers may reach past opening hours
//!   but never into another occupant.
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

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::hours::{Weekday, WeeklyInterval};

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

/// Which end of an opening interval a wall-clock time is; it decides which
/// instant an ambiguous (fall-back) time means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Opening,
    Closing,
}

/// The instant a wall-clock time on a local date means in `tz`: a time in a
/// spring-forward gap moves to the first instant after the gap; an ambiguous
/// time is the earlier instant for an opening and the later for a closing.
/// `minute` may be 1440 (`24:00`, the next midnight).
pub fn resolve_wall_clock(tz: Tz, date: NaiveDate, minute: i32, edge: Edge) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN) + Duration::minutes(minute.into());
    let instant = match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(earlier, later) => match edge {
            Edge::Opening => earlier,
            Edge::Closing => later,
        },
        // Gaps are whole minutes long and never a day: the first wall-clock
        // minute that exists again is where the gap ends, and its instant is
        // the transition itself.
        LocalResult::None => match (1..=24 * 60).find_map(|k| {
            tz.from_local_datetime(&(local + Duration::minutes(k)))
                .earliest()
        }) {
            Some(t) => t,
            None => return Utc.from_utc_datetime(&local),
        },
    };
    instant.with_timezone(&Utc)
}

/// Instants inside the engine are whole seconds since the Unix epoch: the
/// planner does thousands of comparisons and additions per request, and plain
/// integers keep that cheap (see `benches/availability.rs`).
type Secs = i64;
type Span = (Secs, Secs);

fn secs(t: DateTime<Utc>) -> Secs {
    t.timestamp()
}

fn instant(s: Secs) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Sorts spans and joins the ones that overlap or touch.
fn merge<T: Ord + Copy>(mut spans: Vec<(T, T)>) -> Vec<(T, T)> {
    spans.retain(|(a, b)| a < b);
    spans.sort();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `open` (sorted, disjoint) without any of `cuts`.
fn subtract(open: Vec<Span>, cuts: Vec<Span>) -> Vec<Span> {
    let cuts = merge(cuts);
    let mut rest = Vec::with_capacity(open.len());
    for (mut start, end) in open {
        for &(cut_start, cut_end) in &cuts {
            if cut_end <= start || cut_start >= end {
                continue;
            }
            if cut_start > start {
                rest.push((start, cut_start));
            }
            start = start.max(cut_end);
        }
        if start < end {
            rest.push((start, end));
        }
    }
    rest
}

/// How one resource stands for one candidate start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Its hours (minus time off and closures) do not cover the service time.
    Closed,
    /// Working then, but paused or at capacity.
    Taken,
    /// Can take it; `hosts_session` when it already runs this session.
    Free {
        seats_left: u32,
        hosts_session: bool,
    },
}

/// An occupied window, in engine seconds.
struct Occupied<'a> {
    start: Secs,
    end: Secs,
    /// `None` for an exclusive occupant; the session's service and start for a seat.
    session: Option<(&'a str, Secs)>,
}

/// The service's times in engine seconds.
#[derive(Clone, Copy)]
struct Timing {
    duration: Secs,
    before: Secs,
    after: Secs,
    step: Secs,
    seats: u32,
}

/// One resource's calendar turned into instants over the planning range.
struct Prepared<'a> {
    id: &'a str,
    capacity: u32,
    paused: bool,
    /// Each weekly interval as instants; each anchors a grid of slot starts.
    shifts: Vec<Span>,
    /// Working time: shifts joined, minus time off and closures.
    open: Vec<Span>,
    /// Occupied windows sorted by start.
    busy: Vec<Occupied<'a>>,
    /// The longest occupied window, to bound the scan for overlaps.
    longest_busy: Secs,
}

impl<'a> Prepared<'a> {
    fn new(
        calendar: &'a ResourceCalendar,
        window: &Window,
        closed: &[Span],
        horizon: Span,
    ) -> Self {
        let tz = window.tz;
        // A day either side of the horizon catches intervals whose local date
        // differs from their UTC date.
        let first = instant(horizon.0).with_timezone(&tz).date_naive() - Duration::days(1);
        let last = instant(horizon.1).with_timezone(&tz).date_naive() + Duration::days(1);
        let mut shifts = Vec::new();
        for date in first.iter_days().take_while(|d| *d <= last) {
            let weekday = Weekday::from_chrono(date.weekday());
            for interval in calendar.weekly.iter().filter(|i| i.weekday == weekday) {
                let opens = resolve_wall_clock(tz, date, interval.start_minute, Edge::Opening);
                let closes = resolve_wall_clock(tz, date, interval.end_minute, Edge::Closing);
                if opens < closes {
                    shifts.push((secs(opens), secs(closes)));
                }
            }
        }
        shifts.sort_unstable();
        let mut cuts: Vec<Span> = calendar
            .time_off
            .iter()
            .map(|&(a, b)| (secs(a), secs(b)))
            .collect();
        cuts.extend_from_slice(closed);
        let open = subtract(merge(shifts.clone()), cuts);
        let mut busy: Vec<Occupied> = calendar
            .busy
            .iter()
            .filter(|b| b.start < b.end)
            .map(|b| Occupied {
                start: secs(b.start),
                end: secs(b.end),
                session: match &b.occupant {
                    Occupant::Exclusive => None,
                    Occupant::Seat {
                        service_id,
                        session_start,
                    } => Some((service_id.as_str(), secs(*session_start))),
                },
            })
            .collect();
        busy.sort_unstable_by_key(|b| b.start);
        let longest_busy = busy.iter().map(|b| b.end - b.start).max().unwrap_or(0);
        Prepared {
            id: &calendar.id,
            capacity: calendar.capacity.max(1),
            paused: calendar.paused,
            shifts,
            open,
            busy,
            longest_busy,
        }
    }

    /// Whether `[start, end)` lies inside one stretch of working time.
    fn covers(&self, start: Secs, end: Secs) -> bool {
        let i = self.open.partition_point(|p| p.1 <= start);
        self.open
            .get(i)
            .is_some_and(|&(from, to)| from <= start && end <= to)
    }

    /// Occupants whose window overlaps `[from, to)`.
    fn overlapping(&self, from: Secs, to: Secs) -> impl Iterator<Item = &Occupied<'a>> {
        let reach = from - self.longest_busy;
        let first = self.busy.partition_point(|b| b.start < reach);
        self.busy[first..]
            .iter()
            .take_while(move |b| b.start < to)
            .filter(move |b| b.end > from)
    }

    /// The most capacity units in use at any moment of `[from, to)`. Every
    /// exclusive occupant takes a unit; the seats of one session share one.
    fn peak_units(&self, from: Secs, to: Secs) -> u32 {
        if self.capacity == 1 {
            // Only "any at all?" matters, and that needs no sweep.
            return u32::from(self.overlapping(from, to).next().is_some());
        }
        let mut units: Vec<Span> = Vec::new();
        let mut sessions: Vec<((&str, Secs), Span)> = Vec::new();
        for busy in self.overlapping(from, to) {
            let span = (busy.start.max(from), busy.end.min(to));
            match busy.session {
                None => units.push(span),
                Some(key) => match sessions.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, joined)) => *joined = (joined.0.min(span.0), joined.1.max(span.1)),
                    None => sessions.push((key, span)),
                },
            }
        }
        units.extend(sessions.into_iter().map(|(_, span)| span));
        // Sweep: ends sort before starts at the same instant (half-open spans).
        let mut edges: Vec<(Secs, i32)> =
            units.iter().flat_map(|&(a, b)| [(a, 1), (b, -1)]).collect();
        edges.sort_unstable();
        let (mut now, mut peak) = (0i32, 0i32);
        for (_, change) in edges {
            now += change;
            peak = peak.max(now);
        }
        peak as u32
    }

    /// Seats already taken in the session of `service` starting at `start`.
    fn seats_taken(&self, service: &str, start: Secs) -> u32 {
        self.overlapping(start, start + 1)
            .filter(|b| b.session == Some((service, start)))
            .count() as u32
    }

    fn standing(&self, service: &str, timing: Timing, start: Secs) -> Standing {
        if !self.covers(start, start + timing.duration) {
            return Standing::Closed;
        }
        if self.paused {
            return Standing::Taken;
        }
        if timing.seats > 1 {
            let taken = self.seats_taken(service, start);
            if taken > 0 {
                return if taken < timing.seats {
                    Standing::Free {
                        seats_left: timing.seats - taken,
                        hosts_session: true,
                    }
                } else {
                    Standing::Taken
                };
            }
        }
        let blocked_from = start - timing.before;
        let blocked_to = start + timing.duration + timing.after;
        if self.peak_units(blocked_from, blocked_to) < self.capacity {
            Standing::Free {
                seats_left: timing.seats,
                hosts_session: false,
            }
        } else {
            Standing::Taken
        }
    }
}

/// A resource the planner may pick: its index in the planner, or none when
/// the calendar was not given (an archived resource, say).
type Pick = Option<usize>;

/// The engine's view of one request: every resource prepared once.
struct Planner<'a> {
    spec: &'a ServiceSpec,
    timing: Timing,
    window: &'a Window,
    resources: Vec<Prepared<'a>>,
}

/// The location's closed days as instants.
fn closed_spans(window: &Window) -> Vec<Span> {
    let tz = window.tz;
    window
        .closures
        .iter()
        .map(|&(first, last)| {
            (
                secs(resolve_wall_clock(tz, first, 0, Edge::Opening)),
                secs(resolve_wall_clock(
                    tz,
                    last + Duration::days(1),
                    0,
                    Edge::Opening,
                )),
            )
        })
        .collect()
}

/// A resource's working time within `[window.from, window.to)`: weekly hours
/// resolved in the zone, joined, minus time off and closed days (what the
/// walk-in queue plans on).
pub fn working_time(
    calendar: &ResourceCalendar,
    window: &Window,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let (from, to) = (secs(window.from), secs(window.to));
    let prepared = Prepared::new(calendar, window, &closed_spans(window), (from, to));
    prepared
        .open
        .iter()
        .map(|&(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .map(|(a, b)| (instant(a), instant(b)))
        .collect()
}

impl<'a> Planner<'a> {
    fn new(spec: &'a ServiceSpec, calendars: &'a [ResourceCalendar], window: &'a Window) -> Self {
        let closed = closed_spans(window);
        let timing = Timing {
            duration: spec.duration.num_seconds(),
            before: spec.buffer_before.num_seconds(),
            after: spec.buffer_after.num_seconds(),
            step: spec.step.num_seconds().max(60),
            seats: spec.capacity.max(1),
        };
        // Services may run up to a day past the last start of the window.
        let horizon = (
            secs(window.from),
            secs(window.to) + timing.duration + timing.after,
        );
        let resources = calendars
            .iter()
            .filter(|c| spec.groups.iter().flatten().any(|id| *id == c.id))
            .map(|c| Prepared::new(c, window, &closed, horizon))
            .collect();
        Planner {
            spec,
            timing,
            window,
            resources,
        }
    }

    /// Requirement groups as indexes into the planner's resources.
    fn picks(&self, groups: &[Vec<String>]) -> Vec<Vec<Pick>> {
        groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|id| self.resources.iter().position(|r| r.id == id))
                    .collect()
            })
            .collect()
    }

    /// Every grid start in the window (and within the policy bounds) of any
    /// resource in `groups`, sorted, each once.
    fn candidates(&self, groups: &[Vec<Pick>], bounded_by_policy: bool) -> Vec<Secs> {
        let step = self.timing.step;
        let mut from = secs(self.window.from);
        let mut to = secs(self.window.to);
        if bounded_by_policy {
            if let Some(earliest) = self.window.earliest {
                from = from.max(secs(earliest));
            }
            if let Some(latest) = self.window.latest {
                // `latest` itself is still allowed.
                to = to.min(secs(latest) + 1);
            }
        }
        let mut starts = Vec::new();
        for &index in groups.iter().flatten().flatten() {
            for &(anchor, closes) in &self.resources[index].shifts {
                let skip = if from > anchor {
                    (from - anchor + step - 1) / step
                } else {
                    0
                };
                let mut start = anchor + skip * step;
                while start < closes && start < to {
                    starts.push(start);
                    start += step;
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        starts
    }

    /// The slot at `start` over `groups`, or why there is none.
    fn slot_at(&self, groups: &[Vec<Pick>], start: Secs) -> Result<Slot, Refusal> {
        let service = self.spec.service_id.as_str();
        let mut free: Vec<Vec<(usize, u32, bool)>> = Vec::with_capacity(groups.len());
        let mut working_everywhere = !groups.is_empty();
        for group in groups {
            let mut options = Vec::new();
            let mut working = false;
            for &index in group.iter().flatten() {
                match self.resources[index].standing(service, self.timing, start) {
                    Standing::Closed => {}
                    Standing::Taken => working = true,
                    Standing::Free {
                        seats_left,
                        hosts_session,
                    } => {
                        working = true;
                        options.push((index, seats_left, hosts_session));
                    }
                }
            }
            working_everywhere &= working;
            free.push(options);
        }
        if !working_everywhere {
            return Err(Refusal::OutsideHours);
        }
        if self.timing.seats > 1 {
            // Prefer a resource that already runs this session, so seats fill
            // one session before another opens.
            for options in &mut free {
                options.sort_by_key(|&(_, _, hosts)| !hosts);
            }
        }
        let mut picked = Vec::with_capacity(groups.len());
        if !pick_distinct(&free, &mut picked) {
            return Err(Refusal::Unavailable);
        }
        // Listed in group order, whatever order the preference sorted them into.
        let choices: Vec<Vec<String>> = groups
            .iter()
            .zip(&free)
            .map(|(group, options)| {
                group
                    .iter()
                    .flatten()
                    .filter(|&&i| options.iter().any(|o| o.0 == i))
                    .map(|&i| self.resources[i].id.to_owned())
                    .collect()
            })
            .collect();
        Ok(Slot {
            start: instant(start),
            end: instant(start + self.timing.duration),
            resource_ids: picked
                .iter()
                .map(|&(i, _, _)| self.resources[i].id.to_owned())
                .collect(),
            choices,
            seats_left: picked.iter().map(|&(_, seats, _)| seats).min().unwrap_or(0),
        })
    }
}

/// Picks one resource per group, none twice (depth-first; groups are short).
fn pick_distinct(groups: &[Vec<(usize, u32, bool)>], picked: &mut Vec<(usize, u32, bool)>) -> bool {
    let Some(group) = groups.get(picked.len()) else {
        return true;
    };
    for &option in group {
        if picked.iter().any(|p| p.0 == option.0) {
            continue;
        }
        picked.push(option);
        if pick_distinct(groups, picked) {
            return true;
        }
        picked.pop();
    }
    false
}

/// Every bookable slot in the window, ordered by start; each start once.
pub fn slots(service: &ServiceSpec, resources: &[ResourceCalendar], window: &Window) -> Vec<Slot> {
    let planner = Planner::new(service, resources, window);
    let groups = planner.picks(&service.groups);
    planner
        .candidates(&groups, true)
        .into_iter()
        .filter_map(|start| planner.slot_at(&groups, start).ok())
        .collect()
}

/// The requirement groups with `wanted` resources pinned: each wanted id
/// becomes the only member of the first not-yet-pinned group that lists it.
/// The booking write path locks exactly these resources, so it must agree
/// with [`check`] on them.
pub fn pin(groups: &[Vec<String>], wanted: &[String]) -> Result<Vec<Vec<String>>, Refusal> {
    let mut pinned_groups = groups.to_vec();
    let mut pinned = vec![false; groups.len()];
    for id in wanted {
        let free_group = (0..groups.len()).find(|&g| !pinned[g] && groups[g].contains(id));
        let Some(g) = free_group else {
            return Err(Refusal::NotEligible(id.clone()));
        };
        pinned_groups[g] = vec![id.clone()];
        pinned[g] = true;
    }
    Ok(pinned_groups)
}

/// The longest range one availability request may cover, in days.
pub const MAX_RANGE_DAYS: i64 = 31;

/// Why the range `from`..`to` cannot be asked for, naming the bound at
/// fault, or `None` when it is fine.
pub fn range_problem(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(&'static str, String)> {
    if to <= from {
        return Some(("to", "must be after `from`".to_owned()));
    }
    (to - from > Duration::days(MAX_RANGE_DAYS)).then(|| {
        (
            "to",
            format!("the range may span at most {MAX_RANGE_DAYS} days"),
        )
    })
}

/// The requirement groups when the customer asked for `resource`: every
/// group that lists it offers only it. `None` when no group lists it (the
/// resource does not deliver the service).
pub fn narrow_to(groups: &[Vec<String>], resource: &str) -> Option<Vec<Vec<String>>> {
    let mut found = false;
    let narrowed = groups
        .iter()
        .map(|group| {
            if group.iter().any(|r| r == resource) {
                found = true;
                vec![resource.to_owned()]
            } else {
                group.clone()
            }
        })
        .collect();
    found.then_some(narrowed)
}

/// Whether `start` can be booked now, and on which resources: `wanted` pins
/// resources for the groups that list them; the other groups get the first
/// free resource (preferring one that already hosts the session for group
/// services). Ignores `earliest`/`latest`: policy is checked by the caller so
/// staff can override it.
pub fn check(
    service: &ServiceSpec,
    resources: &[ResourceCalendar],
    window: &Window,
    start: DateTime<Utc>,
    wanted: &[String],
) -> Result<Slot, Refusal> {
    let groups = pin(&service.groups, wanted)?;
    let window = Window {
        from: start,
        to: start + Duration::seconds(1),
        ..window.clone()
    };
    let planner = Planner::new(service, resources, &window);
    let groups = planner.picks(&groups);
    let at = secs(start);
    if start.timestamp_subsec_nanos() != 0 || !planner.candidates(&groups, false).contains(&at) {
        return Err(Refusal::OutsideHours);
    }
    planner.slot_at(&groups, at)
}

#[cfg(test)]
mod tests {
    use chrono::{Offset, Timelike};

    use super::*;

    const DAY: i32 = 24 * 60;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn minutes(n: i64) -> Duration {
        Duration::minutes(n)
    }

    fn service(duration: i64, step: i64, groups: &[&[&str]]) -> ServiceSpec {
        ServiceSpec {
            service_id: "svc_cut".into(),
            duration: minutes(duration),
            buffer_before: Duration::zero(),
            buffer_after: Duration::zero(),
            step: minutes(step),
            capacity: 1,
            groups: groups
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
        }
    }

    fn every_day(start: i32, end: i32) -> Vec<WeeklyInterval> {
        Weekday::ALL
            .iter()
            .map(|&weekday| WeeklyInterval {
                weekday,
                start_minute: start,
                end_minute: end,
            })
            .collect()
    }

    fn resource(id: &str, weekly: Vec<WeeklyInterval>) -> ResourceCalendar {
        ResourceCalendar {
            id: id.into(),
            capacity: 1,
            paused: false,
            weekly,
            time_off: Vec::new(),
            busy: Vec::new(),
        }
    }

    fn booked(start: &str, end: &str) -> Busy {
        Busy {
            start: at(start),
            end: at(end),
            occupant: Occupant::Exclusive,
        }
    }

    fn seat(service_id: &str, start: &str, end: &str) -> Busy {
        Busy {
            start: at(start),
            end: at(end),
            occupant: Occupant::Seat {
                service_id: service_id.into(),
                session_start: at(start),
            },
        }
    }

    fn window(tz: Tz, from: &str, to: &str) -> Window {
        Window {
            tz,
            closures: Vec::new(),
            from: at(from),
            to: at(to),
            earliest: None,
            latest: None,
        }
    }

    fn utc_window(from: &str, to: &str) -> Window {
        window(chrono_tz::UTC, from, to)
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.start.format("%d %H:%M").to_string())
            .collect()
    }

    // 2026-03-02 is a Monday.
    const MONDAY: &str = "2026-03-02T00:00:00Z";
    const TUESDAY: &str = "2026-03-03T00:00:00Z";

    #[test]
    fn slots_step_through_the_hours_and_the_service_must_fit_before_closing() {
        let ana = resource("res_ana", every_day(9 * 60, 12 * 60));
        let slots = slots(
            &service(60, 30, &[&["res_ana"]]),
            &[ana],
            &utc_window(MONDAY, TUESDAY),
        );
        assert_eq!(
            starts(&slots),
            ["02 09:00", "02 09:30", "02 10:00", "02 10:30", "02 11:00"]
        );
        assert_eq!(slots[0].end, at("2026-03-02T10:00:00Z"));
        assert_eq!(slots[0].resource_ids, ["res_ana"]);
        assert_eq!(slots[0].seats_left, 1);
    }

    #[test]
    fn touching_intervals_join_so_a_service_may_run_across_the_seam() {
        let mut hours = every_day(9 * 60, 12 * 60);
        hours.extend(every_day(12 * 60, 13 * 60));
        let slots = slots(
            &service(60, 45, &[&["res_ana"]]),
            &[resource("res_ana", hours)],
            &utc_window(MONDAY, TUESDAY),
        );
        // The first grid (from 09:00) offers 11:15, which runs past 12:00.
        assert_eq!(
            starts(&slots),
            ["02 09:00", "02 09:45", "02 10:30", "02 11:15", "02 12:00"]
        );
    }

    #[test]
    fn bookings_with_buffers_block_the_slots_they_overlap() {
        let mut ana = resource("res_ana", every_day(9 * 60, 12 * 60));
        ana.busy
            .push(booked("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"));
        let mut spec = service(30, 30, &[&["res_ana"]]);
        spec.buffer_after = minutes(15);
        let slots = slots(&spec, &[ana], &utc_window(MONDAY, TUESDAY));
        // 09:30 would block 09:30–10:15; 11:00 starts as the booking ends.
        assert_eq!(starts(&slots), ["02 09:00", "02 11:00", "02 11:30"]);
    }

    #[test]
    fn a_resource_with_capacity_counts_what_overlaps_at_once() {
        let mut room = resource("res_room", every_day(9 * 60, 12 * 60));
        room.capacity = 2;
        // Back to back: never two at once.
        room.busy
            .push(booked("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"));
        room.busy
            .push(booked("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"));
        // Two at once from 11:00.
        room.busy
            .push(booked("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"));
        room.busy
            .push(booked("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"));
        let slots = slots(
            &service(60, 60, &[&["res_room"]]),
            &[room],
            &utc_window(MONDAY, TUESDAY),
        );
        assert_eq!(starts(&slots), ["02 09:00", "02 10:00"]);
    }

    #[test]
    fn a_group_session_fills_its_seats_and_takes_one_unit() {
        let mut room = resource("res_room", every_day(9 * 60, 12 * 60));
        room.busy.push(seat(
            "svc_cut",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        room.busy.push(seat(
            "svc_cut",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        let mut spec = service(60, 30, &[&["res_room"]]);
        spec.capacity = 3;
        let listed = slots(&spec, &[room.clone()], &utc_window(MONDAY, TUESDAY));
        // 09:00 has one seat left; 09:30 would overlap the session's unit.
        assert_eq!(
            starts(&listed),
            ["02 09:00", "02 10:00", "02 10:30", "02 11:00"]
        );
        assert_eq!(listed[0].seats_left, 1);
        assert_eq!(listed[1].seats_left, 3);
        room.busy.push(seat(
            "svc_cut",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        let full = slots(&spec, &[room], &utc_window(MONDAY, TUESDAY));
        assert_eq!(starts(&full)[0], "02 10:00");
    }

    #[test]
    fn another_services_session_is_one_unit_for_everyone_else() {
        let mut room = resource("res_room", every_day(9 * 60, 11 * 60));
        room.busy.push(seat(
            "svc_yoga",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        room.busy.push(seat(
            "svc_yoga",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        room.capacity = 2;
        let listed = slots(
            &service(60, 60, &[&["res_room"]]),
            &[room],
            &utc_window(MONDAY, TUESDAY),
        );
        assert_eq!(starts(&listed), ["02 09:00", "02 10:00"]);
    }

    #[test]
    fn staff_and_room_make_a_distinct_combination_and_list_every_choice() {
        let spec = service(60, 60, &[&["res_ana", "res_ben"], &["res_room"]]);
        let mut ana = resource("res_ana", every_day(9 * 60, 11 * 60));
        ana.busy
            .push(booked("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"));
        let ben = resource("res_ben", every_day(9 * 60, 11 * 60));
        let mut room = resource("res_room", every_day(9 * 60, 11 * 60));
        room.busy
            .push(booked("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"));
        let listed = slots(&spec, &[ana, ben, room], &utc_window(MONDAY, TUESDAY));
        assert_eq!(starts(&listed), ["02 09:00"]);
        assert_eq!(listed[0].resource_ids, ["res_ben", "res_room"]);
        assert_eq!(listed[0].choices, vec![vec!["res_ben"], vec!["res_room"]]);
    }

    #[test]
    fn one_resource_listed_in_two_groups_is_not_used_twice() {
        let spec = service(60, 60, &[&["res_ana"], &["res_ana", "res_ben"]]);
        let ana = resource("res_ana", every_day(9 * 60, 10 * 60));
        let ben = resource("res_ben", every_day(9 * 60, 10 * 60));
        let listed = slots(&spec, &[ana.clone(), ben], &utc_window(MONDAY, TUESDAY));
        assert_eq!(listed[0].resource_ids, ["res_ana", "res_ben"]);
        assert!(slots(&spec, &[ana], &utc_window(MONDAY, TUESDAY)).is_empty());
    }

    #[test]
    fn time_off_closures_and_pauses_remove_slots_without_moving_the_grid() {
        let spec = service(30, 30, &[&["res_ana"]]);
        let mut ana = resource("res_ana", every_day(9 * 60, 11 * 60));
        ana.time_off
            .push((at("2026-03-02T09:15:00Z"), at("2026-03-02T10:00:00Z")));
        let mut window = utc_window(MONDAY, "2026-03-04T00:00:00Z");
        let tuesday = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
        window.closures.push((tuesday, tuesday));
        let listed = slots(&spec, std::slice::from_ref(&ana), &window);
        assert_eq!(starts(&listed), ["02 10:00", "02 10:30"]);
        ana.paused = true;
        assert!(slots(&spec, &[ana], &window).is_empty());
    }

    #[test]
    fn a_range_is_forward_and_at_most_a_month() {
        let from = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(range_problem(from, from + Duration::days(31)), None);
        assert_eq!(
            range_problem(from, from + Duration::days(32)).unwrap().0,
            "to"
        );
        assert_eq!(range_problem(from, from).unwrap().0, "to");
    }

    #[test]
    fn asking_for_a_resource_narrows_every_group_that_lists_it() {
        let groups = vec![
            vec!["ana".to_owned(), "ben".to_owned()],
            vec!["room".to_owned()],
        ];
        assert_eq!(
            narrow_to(&groups, "ben").unwrap(),
            vec![vec!["ben".to_owned()], vec!["room".to_owned()]]
        );
        assert_eq!(narrow_to(&groups, "zoe"), None);
    }

    #[test]
    fn policy_bounds_trim_the_window_inclusively() {
        let spec = service(30, 30, &[&["res_ana"]]);
        let ana = resource("res_ana", every_day(9 * 60, 11 * 60));
        let mut window = utc_window(MONDAY, TUESDAY);
        window.earliest = Some(at("2026-03-02T09:10:00Z"));
        window.latest = Some(at("2026-03-02T10:00:00Z"));
        assert_eq!(
            starts(&slots(&spec, &[ana], &window)),
            ["02 09:30", "02 10:00"]
        );
    }

    #[test]
    fn the_window_holds_slots_that_start_in_it_and_grids_stay_anchored_at_opening() {
        let spec = service(60, 45, &[&["res_ana"]]);
        let ana = resource("res_ana", every_day(9 * 60, 13 * 60));
        let listed = slots(
            &spec,
            &[ana],
            &utc_window("2026-03-02T10:00:00Z", "2026-03-02T11:31:00Z"),
        );
        assert_eq!(starts(&listed), ["02 10:30", "02 11:15"]);
    }

    #[test]
    fn check_explains_why_a_start_cannot_be_booked() {
        let spec = service(60, 30, &[&["res_ana", "res_ben"], &["res_room"]]);
        let mut ana = resource("res_ana", every_day(9 * 60, 12 * 60));
        ana.busy
            .push(booked("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"));
        let ben = resource("res_ben", every_day(9 * 60, 12 * 60));
        let room = resource("res_room", every_day(9 * 60, 12 * 60));
        let all = [ana, ben, room];
        let w = utc_window(MONDAY, TUESDAY);
        let nine = at("2026-03-02T09:00:00Z");
        let picked = check(&spec, &all, &w, nine, &[]).unwrap();
        assert_eq!(picked.resource_ids, ["res_ben", "res_room"]);
        assert_eq!(
            check(&spec, &all, &w, nine, &["res_ana".into()]),
            Err(Refusal::Unavailable)
        );
        assert_eq!(
            check(&spec, &all, &w, at("2026-03-02T09:10:00Z"), &[]),
            Err(Refusal::OutsideHours),
            "off the grid"
        );
        assert_eq!(
            check(&spec, &all, &w, at("2026-03-02T11:30:00Z"), &[]),
            Err(Refusal::OutsideHours),
            "runs past closing"
        );
        assert_eq!(
            check(&spec, &all, &w, at("2026-03-02T07:00:00Z"), &[]),
            Err(Refusal::OutsideHours)
        );
        assert_eq!(
            check(&spec, &all, &w, nine, &["res_zed".into()]),
            Err(Refusal::NotEligible("res_zed".into()))
        );
        assert_eq!(
            check(&spec, &all, &w, nine, &["res_ana".into(), "res_ben".into()]),
            Err(Refusal::NotEligible("res_ben".into())),
            "two picks for one group"
        );
        // Policy bounds are the caller's business, not check's.
        let mut bounded = w.clone();
        bounded.earliest = Some(at("2026-03-02T11:00:00Z"));
        assert!(check(&spec, &all, &bounded, nine, &[]).is_ok());
    }

    #[test]
    fn check_joins_the_session_that_is_running_before_opening_another() {
        let mut spec = service(60, 60, &[&["res_a", "res_b"]]);
        spec.capacity = 4;
        let a = resource("res_a", every_day(9 * 60, 10 * 60));
        let mut b = resource("res_b", every_day(9 * 60, 10 * 60));
        b.busy.push(seat(
            "svc_cut",
            "2026-03-02T09:00:00Z",
            "2026-03-02T10:00:00Z",
        ));
        let slot = check(
            &spec,
            &[a, b],
            &utc_window(MONDAY, TUESDAY),
            at("2026-03-02T09:00:00Z"),
            &[],
        )
        .unwrap();
        assert_eq!(slot.resource_ids, ["res_b"]);
        assert_eq!(slot.seats_left, 3);
    }

    #[test]
    fn wall_clock_times_resolve_across_gaps_and_overlaps() {
        let london = chrono_tz::Europe::London;
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        // 01:30 does not exist on 29 March: it becomes 02:00 BST = 01:00 UTC.
        for edge in [Edge::Opening, Edge::Closing] {
            assert_eq!(
                resolve_wall_clock(london, spring, 90, edge),
                at("2026-03-29T01:00:00Z")
            );
        }
        // 01:30 happens twice on 25 October.
        assert_eq!(
            resolve_wall_clock(london, autumn, 90, Edge::Opening),
            at("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            resolve_wall_clock(london, autumn, 90, Edge::Closing),
            at("2026-10-25T01:30:00Z")
        );
        assert_eq!(
            resolve_wall_clock(london, autumn, DAY, Edge::Closing),
            at("2026-10-26T00:00:00Z")
        );
        // Lord Howe moves by half an hour: 02:00 → 02:30 on 4 October 2026.
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        let start = NaiveDate::from_ymd_opt(2026, 10, 4).unwrap();
        assert_eq!(
            resolve_wall_clock(lord_howe, start, 2 * 60 + 10, Edge::Opening),
            at("2026-10-03T15:30:00Z")
        );
    }

    #[test]
    fn spring_forward_shortens_the_day_and_fall_back_lengthens_it() {
        let london = chrono_tz::Europe::London;
        let spec = service(60, 60, &[&["res_ana"]]);
        let ana = resource("res_ana", every_day(0, 4 * 60));
        let spring = slots(
            &spec,
            std::slice::from_ref(&ana),
            &window(london, "2026-03-29T00:00:00Z", "2026-03-29T12:00:00Z"),
        );
        // 00:00–04:00 local is three real hours that day.
        assert_eq!(starts(&spring), ["29 00:00", "29 01:00", "29 02:00"]);
        let autumn = slots(
            &spec,
            &[ana],
            &window(london, "2026-10-24T23:00:00Z", "2026-10-25T12:00:00Z"),
        );
        // ... and five on the day the clocks go back.
        assert_eq!(
            starts(&autumn),
            ["24 23:00", "25 00:00", "25 01:00", "25 02:00", "25 03:00"]
        );
    }

    #[test]
    fn an_opening_inside_the_gap_starts_when_the_gap_ends() {
        let new_york = chrono_tz::America::New_York;
        let spec = service(30, 30, &[&["res_ana"]]);
        let ana = resource("res_ana", every_day(2 * 60 + 15, 4 * 60));
        let listed = slots(
            &spec,
            &[ana],
            &window(new_york, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"),
        );
        // 02:15 EST does not exist; the day opens at 03:00 EDT = 07:00 UTC.
        assert_eq!(starts(&listed), ["08 07:00", "08 07:30"]);
    }

    /// A small deterministic generator for the property tests.
    struct Dice(u64);

    impl Dice {
        fn roll(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    /// One to three separate intervals a day, on whole quarter hours, never
    /// touching each other or midnight, so each slot has one interval to lie in.
    fn random_week(dice: &mut Dice) -> Vec<WeeklyInterval> {
        let mut week = Vec::new();
        for weekday in Weekday::ALL {
            let mut minute = 15 * (1 + dice.roll(12)) as i32;
            for _ in 0..1 + dice.roll(3) {
                let start = minute;
                let end = start + 15 * (1 + dice.roll(24)) as i32;
                if end >= DAY {
                    break;
                }
                week.push(WeeklyInterval {
                    weekday,
                    start_minute: start,
                    end_minute: end,
                });
                minute = end + 15 * (1 + dice.roll(16)) as i32;
            }
        }
        week
    }

    fn minute_of_day(t: DateTime<Tz>) -> i32 {
        (t.hour() * 60 + t.minute()) as i32
    }

    /// Transition days of 2026 (and a plain day for Kathmandu, which has none).
    const ZONES_AND_DAYS: [(&str, &str); 7] = [
        ("Europe/London", "2026-03-29"),
        ("Europe/London", "2026-10-25"),
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
        ("Australia/Lord_Howe", "2026-04-05"),
        ("Australia/Lord_Howe", "2026-10-04"),
        ("Asia/Kathmandu", "2026-06-01"),
    ];

    #[test]
    fn around_transitions_every_slot_lies_in_local_hours_once_and_check_agrees() {
        let mut dice = Dice(0x5107_c0de);
        for (zone, day) in ZONES_AND_DAYS {
            let tz: Tz = zone.parse().unwrap();
            let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            for _ in 0..40 {
                let week = random_week(&mut dice);
                let spec = service(
                    15 * (1 + dice.roll(6)) as i64,
                    [5, 10, 15, 20, 30, 45, 60][dice.roll(7) as usize],
                    &[&["res_ana"]],
                );
                let ana = resource("res_ana", week.clone());
                let from = resolve_wall_clock(tz, day - Duration::days(2), 0, Edge::Opening);
                let to = resolve_wall_clock(tz, day + Duration::days(3), 0, Edge::Opening);
                let w = Window {
                    tz,
                    closures: Vec::new(),
                    from,
                    to,
                    earliest: None,
                    latest: None,
                };
                let listed = slots(&spec, std::slice::from_ref(&ana), &w);
                assert!(
                    listed.windows(2).all(|p| p[0].start < p[1].start),
                    "{zone}: a start listed twice or out of order"
                );
                for slot in &listed {
                    let local_start = slot.start.with_timezone(&tz);
                    let local_end = slot.end.with_timezone(&tz);
                    // The wall-clock start exists and means this instant.
                    let again = tz.from_local_datetime(&local_start.naive_local());
                    assert!(
                        again.earliest() == Some(local_start)
                            || again.latest() == Some(local_start),
                        "{zone}: {local_start} starts in a gap"
                    );
                    let date = local_start.date_naive();
                    let weekday = Weekday::from_chrono(local_start.weekday());
                    let todays = || week.iter().filter(|i| i.weekday == weekday);
                    // In real time, inside the day's hours as the DST rules read
                    // them (a gap can make two intervals touch: they then join).
                    let hours = merge(
                        todays()
                            .map(|i| {
                                (
                                    resolve_wall_clock(tz, date, i.start_minute, Edge::Opening),
                                    resolve_wall_clock(tz, date, i.end_minute, Edge::Closing),
                                )
                            })
                            .collect(),
                    );
                    let inside = hours
                        .iter()
                        .any(|&(opens, closes)| opens <= slot.start && slot.end <= closes);
                    assert!(
                        inside,
                        "{zone}: {local_start}–{local_end} is outside hours {week:?}"
                    );
                    // And plainly on the wall clock, on days the clocks do not change.
                    let offset_at = |d: NaiveDate| {
                        resolve_wall_clock(tz, d, 0, Edge::Opening)
                            .with_timezone(&tz)
                            .offset()
                            .fix()
                    };
                    if offset_at(date) == offset_at(date + Duration::days(1)) {
                        let on_the_clock = todays().any(|i| {
                            local_end.date_naive() == date
                                && i.start_minute <= minute_of_day(local_start)
                                && minute_of_day(local_end) <= i.end_minute
                        });
                        assert!(
                            on_the_clock,
                            "{zone}: {local_start}–{local_end} vs {week:?}"
                        );
                    }
                    let checked = check(&spec, std::slice::from_ref(&ana), &w, slot.start, &[]);
                    assert_eq!(checked.as_ref().map(|s| s.start), Ok(slot.start));
                    // A minute later is never on a grid of whole-minute steps ≥ 5.
                    assert_eq!(
                        check(
                            &spec,
                            std::slice::from_ref(&ana),
                            &w,
                            slot.start + minutes(1),
                            &[]
                        ),
                        Err(Refusal::OutsideHours)
                    );
                }
                // On days without a transition the count is plain arithmetic.
                for offset in [-2i64, 2] {
                    let plain = day + Duration::days(offset);
                    let weekday = Weekday::from_chrono(plain.weekday());
                    let expected: i64 = week
                        .iter()
                        .filter(|i| i.weekday == weekday)
                        .map(|i| {
                            let room = i64::from(i.end_minute - i.start_minute)
                                - spec.duration.num_minutes();
                            if room < 0 {
                                0
                            } else {
                                room / spec.step.num_minutes() + 1
                            }
                        })
                        .sum();
                    let found = listed
                        .iter()
                        .filter(|s| s.start.with_timezone(&tz).date_naive() == plain)
                        .count() as i64;
                    assert_eq!(found, expected, "{zone} {plain}: {week:?} {spec:?}");
                }
            }
        }
    }

    #[test]
    fn with_random_bookings_listed_slots_never_overlap_a_booking() {
        let mut dice = Dice(0xb00c_1e55);
        for _ in 0..200 {
            let mut spec = service(15 * (1 + dice.roll(4)) as i64, 15, &[&["res_a", "res_b"]]);
            spec.buffer_before = minutes(5 * dice.roll(4) as i64);
            spec.buffer_after = minutes(5 * dice.roll(4) as i64);
            let mut calendars = Vec::new();
            for id in ["res_a", "res_b"] {
                let mut r = resource(id, every_day(8 * 60, 18 * 60));
                for _ in 0..dice.roll(8) {
                    let start = at(MONDAY) + minutes(8 * 60 + 5 * dice.roll(110) as i64);
                    r.busy.push(Busy {
                        start,
                        end: start + minutes(10 + 5 * dice.roll(12) as i64),
                        occupant: Occupant::Exclusive,
                    });
                }
                calendars.push(r);
            }
            for slot in slots(&spec, &calendars, &utc_window(MONDAY, TUESDAY)) {
                let blocked = (
                    slot.start - spec.buffer_before,
                    slot.end + spec.buffer_after,
                );
                let chosen = calendars
                    .iter()
                    .find(|c| c.id == slot.resource_ids[0])
                    .unwrap();
                assert!(
                    chosen
                        .busy
                        .iter()
                        .all(|b| b.end <= blocked.0 || b.start >= blocked.1),
                    "{slot:?} overlaps a booking of {}",
                    chosen.id
                );
            }
        }
    }
}
