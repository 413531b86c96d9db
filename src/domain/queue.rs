//! The walk-in queue without I/O: ticket codes and states, and honest start
//! estimates given as a range with the reasons for it.
//!
//! An estimate plans everyone in the queue, in serve order, onto the
//! resources that can take them: each visit goes to the earliest moment every
//! requirement group has a distinct resource that is working for the whole
//! visit and free of every appointment, hold and earlier placement (buffers
//! included). Appointments keep their time; a visit is never planned over one.
//! The plan is made twice: with typical durations (the earliest start) and
//! with long ones (the latest), so the range is as wide as the uncertainty.

use chrono::{DateTime, Duration, Utc};

use super::availability::{resolve_wall_clock, Edge};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a queue ticket stands.
///
/// ```text
/// waiting ─call─▶ called ─seat─▶ seated (a booking, in service)
///    │              ├─no-show─▶ no_show
///    └─cancel─▶ cancelled ◀─cancel─┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Seated,
    Cancelled,
    NoShow,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 5] = [
        TicketStatus::Waiting,
        TicketStatus::Called,
        TicketStatus::Seated,
        TicketStatus::Cancelled,
        TicketStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Waiting => "waiting",
            TicketStatus::Called => "called",
            TicketStatus::Seated => "seated",
            TicketStatus::Cancelled => "cancelled",
            TicketStatus::NoShow => "no_show",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still in the queue: waiting or called.
    pub fn is_live(self) -> bool {
        matches!(self, TicketStatus::Waiting | TicketStatus::Called)
    }
}

/// A step the desk takes on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketStep {
    Call,
    Seat,
    Cancel,
    NoShow,
}

impl TicketStep {
    /// The verb as used in paths and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStep::Call => "call",
            TicketStep::Seat => "seat",
            TicketStep::Cancel => "cancel",
            TicketStep::NoShow => "no_show",
        }
    }

    pub fn event_type(self) -> &'static str {
        match self {
            TicketStep::Call => "queue.ticket_called",
            TicketStep::Seat => "queue.ticket_seated",
            TicketStep::Cancel => "queue.ticket_cancelled",
            TicketStep::NoShow => "queue.ticket_no_show",
        }
    }
}

/// The status after `step`, or `None` when the step is not allowed from `from`.
pub fn next_ticket_status(from: TicketStatus, step: TicketStep) -> Option<TicketStatus> {
    use TicketStatus::*;
    match (from, step) {
        (Waiting, TicketStep::Call) => Some(Called),
        (Called, TicketStep::Seat) => Some(Seated),
        (Waiting | Called, TicketStep::Cancel) => Some(Cancelled),
        (Called, TicketStep::NoShow) => Some(NoShow),
        _ => None,
    }
}

/// The display code of the `n`-th ticket of a location's day (from 1):
/// `A001` … `A999`, then `B001`, so a desk can call it out.
pub fn ticket_code(n: u32) -> String {
    let n = n.max(1) - 1;
    let letter = (b'A' + ((n / 999) % 26) as u8) as char;
    format!("{letter}{:03}", n % 999 + 1)
}

/// How far an estimate may move before the customer is told (an event).
pub const ESTIMATE_THRESHOLD: Duration = Duration::minutes(5);

/// Whether a new range differs enough from the one last promised to say so.
pub fn moved_enough(
    old: Option<(DateTime<Utc>, DateTime<Utc>)>,
    new: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> bool {
    match (old, new) {
        (Some((a, b)), Some((c, d))) => {
            (a - c).abs() > ESTIMATE_THRESHOLD || (b - d).abs() > ESTIMATE_THRESHOLD
        }
        (None, None) => false,
        _ => true,
    }
}

/// Time already taken on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The blocked window, buffers included, as booked.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// When it ends if the visit runs long (a visit in service at its
    /// service's long duration); `end` for anything else.
    pub late_end: DateTime<Utc>,
    /// A visit in service now: it ends no earlier than now, however long it runs.
    pub running: bool,
}

/// One resource as the queue sees it.
#[derive(Debug, Clone)]
pub struct Lane {
    pub resource_id: String,
    /// Working time (hours minus time off and closures), sorted, disjoint.
    pub open: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub taken: Vec<Taken>,
    /// A running-late notice: what has not finished on this resource starts
    /// and ends this much later, and nothing new starts before now + delay.
    pub delay: Duration,
}

/// Someone waiting, in serve order.
#[derive(Debug, Clone)]
pub struct Visit {
    /// Per requirement group, the resources that may take them (narrowed to
    /// the one asked for, if any).
    pub groups: Vec<Vec<String>>,
    /// The service's duration, or the observed median of completed visits.
    pub typical: Duration,
    /// The observed 90th percentile, or the service's duration (never shorter than `typical`).
    pub long: Duration,
    pub buffer_before: Duration,
    pub buffer_after: Duration,
}

/// Why an estimate is what it is, for the sentence the desk and customer see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EstimateReason {
    /// People in the queue ahead.
    pub ahead: u32,
    /// Resources that can take this visit.
    pub resources: u32,
    /// Of those, free right now.
    pub free_now: u32,
    /// Appointments on those resources starting before the latest estimate.
    pub appointments_due: u32,
    /// Minutes a running-late notice adds on the resources, if any.
    pub running_late_minutes: Option<i64>,
}

/// An estimated start as a range; `None` when nothing can take the visit
/// before the horizon (the end of the planning window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub earliest: Option<DateTime<Utc>>,
    pub latest: Option<DateTime<Utc>>,
    /// The resources the earliest plan puts them on.
    pub resource_ids: Vec<String>,
    pub reason: EstimateReason,
}

impl Estimate {
    pub fn range(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((self.earliest?, self.latest?))
    }
}

type Span = (i64, i64);

/// One pass's view of a lane: open spans and taken spans from `now` on, in seconds.
struct Track {
    id: String,
    open: Vec<Span>,
    taken: Vec<Span>,
}

impl Track {
    fn new(lane: &Lane, now: i64, long: bool) -> Self {
        let delay = lane.delay.num_seconds().max(0);
        let mut taken: Vec<Span> = lane
            .taken
            .iter()
            .map(|t| {
                let (start, end) = (t.start.timestamp(), t.end.timestamp());
                let end = if long { t.late_end.timestamp() } else { end };
                let end = if t.running { end.max(now) } else { end };
                if t.running {
                    (start, end + delay)
                } else if start >= now {
                    (start + delay, end + delay)
                } else {
                    // Started and not marked in service (arrived, held): it
                    // ends when it ends, later by the delay.
                    (start, end + delay)
                }
            })
            .filter(|&(_, end)| end > now)
            .collect();
        if delay > 0 {
            taken.push((now, now + delay));
        }
        taken.sort_unstable();
        Track {
            id: lane.resource_id.clone(),
            open: lane
                .open
                .iter()
                .map(|(a, b)| (a.timestamp().max(now), b.timestamp()))
                .filter(|(a, b)| a < b)
                .collect(),
            taken,
        }
    }

    fn is_free(&self, start: i64, service: i64, before: i64, after: i64) -> bool {
        let covered = self
            .open
            .iter()
            .any(|&(a, b)| a <= start && start + service <= b);
        covered
            && !self
                .taken
                .iter()
                .any(|&(a, b)| a < start + service + after && b > start - before)
    }

    /// Moments a visit could start here: opening times, and when taken time ends.
    fn candidates(&self, before: i64, into: &mut Vec<i64>) {
        into.extend(self.open.iter().map(|o| o.0));
        into.extend(self.taken.iter().map(|t| t.1 + before));
    }
}

/// Picks one distinct free track per group at `start`, first fit with backtracking.
fn pick(
    groups: &[Vec<usize>],
    tracks: &[Track],
    free: &dyn Fn(&Track) -> bool,
    picked: &mut Vec<usize>,
) -> bool {
    let Some((group, rest)) = groups.split_first() else {
        return true;
    };
    for &i in group {
        if picked.contains(&i) || !free(&tracks[i]) {
            continue;
        }
        picked.push(i);
        if pick(rest, tracks, free, picked) {
            return true;
        }
        picked.pop();
    }
    false
}

fn schedule(
    lanes: &[Lane],
    visits: &[Visit],
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    long: bool,
) -> Vec<Option<(i64, Vec<usize>)>> {
    let now_s = now.timestamp();
    let horizon_s = horizon.timestamp();
    let mut tracks: Vec<Track> = lanes.iter().map(|l| Track::new(l, now_s, long)).collect();
    let mut plans = Vec::with_capacity(visits.len());
    for visit in visits {
        let service = if long { visit.long } else { visit.typical }.num_seconds();
        let before = visit.buffer_before.num_seconds();
        let after = visit.buffer_after.num_seconds();
        let groups: Vec<Vec<usize>> = visit
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .filter_map(|id| tracks.iter().position(|t| &t.id == id))
                    .collect()
            })
            .collect();
        let mut candidates = vec![now_s];
        for &i in groups.iter().flatten() {
            tracks[i].candidates(before, &mut candidates);
        }
        candidates.retain(|&t| t >= now_s && t < horizon_s);
        candidates.sort_unstable();
        candidates.dedup();
        let placed = candidates.into_iter().find_map(|t| {
            let mut picked = Vec::new();
            let free = |track: &Track| track.is_free(t, service, before, after);
            pick(&groups, &tracks, &free, &mut picked).then_some((t, picked))
        });
        if let Some((t, picked)) = &placed {
            for &i in picked {
                tracks[i].taken.push((t - before, t + service + after));
                tracks[i].taken.sort_unstable();
            }
        }
        plans.push(placed);
    }
    plans
}

fn instant(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Estimates for everyone in the queue, in serve order. Never before `now`;
/// `latest` never before `earliest`; nobody planned over an appointment.
pub fn estimate(
    lanes: &[Lane],
    visits: &[Visit],
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
) -> Vec<Estimate> {
    let early = schedule(lanes, visits, now, horizon, false);
    let late = schedule(lanes, visits, now, horizon, true);
    let now_s = now.timestamp();
    visits
        .iter()
        .enumerate()
        .map(|(i, visit)| {
            let earliest = early[i].as_ref().map(|p| p.0);
            let latest = match (earliest, late[i].as_ref().map(|p| p.0)) {
                (Some(e), Some(l)) => Some(l.max(e)),
                // The long plan found no room before the horizon: the range
                // is open-ended, which we say rather than invent an end.
                _ => None,
            };
            let eligible: Vec<&Lane> = lanes
                .iter()
                .filter(|l| visit.groups.iter().flatten().any(|id| id == &l.resource_id))
                .collect();
            let until = latest.unwrap_or(now_s);
            let free_now = eligible
                .iter()
                .filter(|l| {
                    // A visit still in service holds its resource, even past its planned end.
                    let serving = l.taken.iter().any(|t| t.running);
                    !serving && Track::new(l, now_s, false).is_free(now_s, 60, 0, 0)
                })
                .count();
            let appointments_due = eligible
                .iter()
                .flat_map(|l| l.taken.iter())
                .filter(|t| !t.running && t.start >= now && t.start.timestamp() <= until)
                .count();
            let delay = eligible
                .iter()
                .map(|l| l.delay.num_minutes())
                .max()
                .filter(|m| *m > 0);
            Estimate {
                earliest: earliest.map(instant),
                latest: latest.map(instant),
                resource_ids: early[i]
                    .as_ref()
                    .map(|(_, picked)| {
                        picked
                            .iter()
                            .map(|&p| lanes[p].resource_id.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
                reason: EstimateReason {
                    ahead: i as u32,
                    resources: eligible.len() as u32,
                    free_now: free_now as u32,
                    appointments_due: appointments_due as u32,
                    running_late_minutes: delay,
                },
            }
        })
        .collect()
}

/// When an arrived appointment is likely to start: its own time, or later
/// when what runs before it on its resources overruns or a running-late
/// notice applies.
pub fn appointment_estimate(
    lanes: &[Lane],
    resource_ids: &[String],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let now_s = now.timestamp();
    let start_s = start.timestamp();
    let mut bounds = [start_s.max(now_s); 2];
    for (pass, bound) in bounds.iter_mut().enumerate() {
        for lane in lanes
            .iter()
            .filter(|l| resource_ids.contains(&l.resource_id))
        {
            let delay = lane.delay.num_seconds().max(0);
            let track = Track::new(lane, now_s, pass == 1);
            // What is running (or started before this appointment) and
            // still going when it is due pushes it back.
            for &(a, b) in &track.taken {
                if a < start_s && b > *bound {
                    *bound = b;
                }
            }
            if start_s >= now_s {
                *bound = (*bound).max(start_s + delay);
            }
        }
    }
    (instant(bounds[0]), instant(bounds[1].max(bounds[0])))
}

/// The reason in words, times in the location's zone:
/// "3 ahead · 2 of 3 free now · 1 appointment due · running 15 min late".
pub fn describe(estimate: &Estimate, tz: Tz) -> String {
    let r = &estimate.reason;
    let mut parts = vec![match r.ahead {
        0 => "next in line".to_owned(),
        n => format!("{n} ahead"),
    }];
    match (r.free_now, estimate.earliest) {
        (_, None) => parts.push("no opening within a day".to_owned()),
        (0, Some(at)) => parts.push(format!(
            "0 of {} free now; first from {}",
            r.resources,
            at.with_timezone(&tz).format("%H:%M")
        )),
        (n, _) => parts.push(format!("{n} of {} free now", r.resources)),
    }
    match r.appointments_due {
        0 => {}
        1 => parts.push("1 appointment due".to_owned()),
        n => parts.push(format!("{n} appointments due")),
    }
    if let Some(m) = r.running_late_minutes {
        parts.push(format!("running {m} min late"));
    }
    parts.join(" · ")
}

/// The median and 90th percentile of observed durations, once there are
/// enough of them to mean something (at least 5); nearest-rank percentiles.
pub fn typical_and_long(mut observed: Vec<Duration>) -> Option<(Duration, Duration)> {
    if observed.len() < 5 {
        return None;
    }
    observed.sort();
    let rank = |p: f64| {
        let i = ((p * observed.len() as f64).ceil() as usize).clamp(1, observed.len());
        observed[i - 1]
    };
    Some((rank(0.5), rank(0.9)))
}

/// How long a ticket's holder may follow it: to the end of the ticket's
/// local day (in the location's zone, DST-aware) and 14 hours beyond, so a
/// late visit or a look back the next morning still works.
pub fn ticket_lifetime(issued: DateTime<Utc>, tz: Tz) -> Duration {
    let today = issued.with_timezone(&tz).date_naive();
    let day_end = resolve_wall_clock(tz, today, 24 * 60, Edge::Closing);
    day_end - issued + Duration::hours(14)
}

#[cfg(test)]
mod tests;
