//! How honest the walk-in estimates are: a simulated day at a salon with 14
//! stylists and 200 visits — booked appointments and walk-ins — that run shorter
//! or longer than the service's 30 minutes. Each walk-in is promised the
//! range `domain::queue::estimate` gives on arrival (typical and long
//! durations from the visits completed so far, as the server does); the
//! simulated desk then serves the queue in order, each appointment keeping
//! its stylist at its time. Prints the share of actual starts inside the
//! promised range, how far outside the misses were, and the mean width.
//!
//! `cargo bench --bench queue_accuracy` (add `-- <seed> <stylists>` to vary the day)

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slotwise::domain::queue::{estimate, typical_and_long, Lane, Taken, Visit};

/// Stylists by default; a second argument sets another number (fewer: a busier day).
const DEFAULT_STYLISTS: usize = 14;
/// Visits in the day, appointments and walk-ins together.
const VISITS: usize = 200;
const PLANNED: i64 = 30;
/// The day runs 09:00–19:00 (minutes from 09:00).
const CLOSE: i64 = 600;

struct Running {
    started: i64,
    ends: i64,
}

struct Appointment {
    stylist: usize,
    at: i64,
    length: i64,
    started: bool,
}

struct Waiting {
    id: usize,
    length: i64,
}

fn at(open: DateTime<Utc>, minute: i64) -> DateTime<Utc> {
    open + Duration::minutes(minute)
}

/// A visit's real length: mostly near the plan, sometimes well over.
fn actual_length(dice: &mut StdRng) -> i64 {
    let u: f64 = dice.random();
    (PLANNED as f64 * (0.75 + 0.8 * u * u)).round() as i64
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seed = args.first().and_then(|s| s.parse().ok()).unwrap_or(7u64);
    let stylists = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_STYLISTS);
    let mut dice = StdRng::seed_from_u64(seed);
    let open = Utc.with_ymd_and_hms(2026, 3, 4, 9, 0, 0).unwrap();

    // Some of each stylist's day is booked ahead, on a 15-minute grid.
    let mut appointments = Vec::new();
    for stylist in 0..stylists {
        let mut t = 0;
        while t + PLANNED <= CLOSE {
            if dice.random_bool(0.12) {
                appointments.push(Appointment {
                    stylist,
                    at: t,
                    length: actual_length(&mut dice),
                    started: false,
                });
                t += PLANNED + 15;
            } else {
                t += 15;
            }
        }
    }
    let walk_ins = VISITS.saturating_sub(appointments.len());
    let mut arrivals: Vec<i64> = (0..walk_ins)
        .map(|_| dice.random_range(0..CLOSE - 60))
        .collect();
    arrivals.sort_unstable();
    let lengths: Vec<i64> = (0..walk_ins).map(|_| actual_length(&mut dice)).collect();

    let mut running: Vec<Option<Running>> = (0..stylists).map(|_| None).collect();
    let mut queue: Vec<Waiting> = Vec::new();
    let mut completed: Vec<Duration> = Vec::new();
    let mut promised: Vec<Option<(i64, i64)>> = vec![None; walk_ins];
    let mut started: Vec<Option<i64>> = vec![None; walk_ins];
    let mut next_arrival = 0;

    for minute in 0..CLOSE + 240 {
        // Visits that end now free their stylist.
        for slot in running.iter_mut() {
            if slot.as_ref().is_some_and(|r| r.ends <= minute) {
                let r = slot.take().unwrap();
                completed.push(Duration::minutes(r.ends - r.started));
            }
        }
        // Appointments due keep their stylist: they start as soon as it is free.
        for a in appointments
            .iter_mut()
            .filter(|a| !a.started && a.at <= minute)
        {
            if running[a.stylist].is_none() {
                running[a.stylist] = Some(Running {
                    started: minute,
                    ends: minute + a.length,
                });
                a.started = true;
            }
        }
        // Walk-ins arriving now join the queue and are promised a range.
        while next_arrival < walk_ins && arrivals[next_arrival] == minute {
            let id = next_arrival;
            queue.push(Waiting {
                id,
                length: lengths[id],
            });
            let (typical, long) = typical_and_long(completed.clone())
                .unwrap_or((Duration::minutes(PLANNED), Duration::minutes(PLANNED)));
            let lanes: Vec<Lane> = (0..stylists)
                .map(|s| {
                    let mut taken: Vec<Taken> = appointments
                        .iter()
                        .filter(|a| a.stylist == s && !a.started)
                        .map(|a| Taken {
                            start: at(open, a.at),
                            end: at(open, a.at + PLANNED),
                            late_end: at(open, a.at + PLANNED),
                            running: false,
                        })
                        .collect();
                    if let Some(r) = &running[s] {
                        taken.push(Taken {
                            start: at(open, r.started),
                            end: at(open, r.started) + typical,
                            late_end: at(open, r.started) + long,
                            running: true,
                        });
                    }
                    Lane {
                        resource_id: format!("res_{s}"),
                        open: vec![(open, at(open, CLOSE))],
                        taken,
                        delay: Duration::zero(),
                    }
                })
                .collect();
            let visits: Vec<Visit> = queue
                .iter()
                .map(|_| Visit {
                    groups: vec![(0..stylists).map(|s| format!("res_{s}")).collect()],
                    typical,
                    long,
                    buffer_before: Duration::zero(),
                    buffer_after: Duration::zero(),
                })
                .collect();
            let now = at(open, minute);
            let e = estimate(&lanes, &visits, now, now + Duration::days(1));
            promised[id] = e
                .last()
                .and_then(|e| e.range())
                .map(|(a, b)| ((a - open).num_minutes(), (b - open).num_minutes()));
            next_arrival += 1;
        }
        // The desk seats the next in line on a free stylist who can finish
        // (by the plan) before that stylist's next appointment.
        for (s, chair) in running.iter_mut().enumerate() {
            if chair.is_some() || queue.is_empty() {
                continue;
            }
            let next_appointment = appointments
                .iter()
                .filter(|a| a.stylist == s && !a.started)
                .map(|a| a.at)
                .min()
                .unwrap_or(i64::MAX);
            if minute + PLANNED <= next_appointment && minute + PLANNED <= CLOSE {
                let w = queue.remove(0);
                started[w.id] = Some(minute);
                *chair = Some(Running {
                    started: minute,
                    ends: minute + w.length,
                });
            }
        }
    }

    let served: Vec<(i64, (i64, i64), i64)> = (0..walk_ins)
        .filter_map(|i| Some((started[i]?, promised[i]?, arrivals[i])))
        .collect();
    let n = served.len().max(1) as f64;
    let inside = served
        .iter()
        .filter(|(s, (a, b), _)| a <= s && s <= b)
        .count();
    let within_5 = served
        .iter()
        .filter(|(s, (a, b), _)| a - 5 <= *s && *s <= b + 5)
        .count();
    let width: f64 = served
        .iter()
        .map(|(_, (a, b), _)| (b - a) as f64)
        .sum::<f64>()
        / n;
    let wait: f64 = served
        .iter()
        .map(|(s, _, arrived)| (s - arrived) as f64)
        .sum::<f64>()
        / n;
    let unserved = (0..walk_ins).filter(|i| started[*i].is_none()).count();
    let misses: Vec<i64> = served
        .iter()
        .filter_map(|(s, (a, b), _)| {
            if s < a {
                Some(a - s)
            } else if s > b {
                Some(s - b)
            } else {
                None
            }
        })
        .collect();
    println!(
        "queue_accuracy: seed {seed}, {stylists} stylists, {} appointments, {walk_ins} walk-ins",
        appointments.len()
    );
    println!("  served with a promise: {}", served.len());
    println!(
        "  actual start inside the promised range: {:.1} %",
        100.0 * inside as f64 / n
    );
    println!(
        "  inside the range ± 5 min: {:.1} %",
        100.0 * within_5 as f64 / n
    );
    println!("  mean width of the range: {width:.1} min");
    println!("  mean wait: {wait:.1} min; not served by closing: {unserved}");
    if !misses.is_empty() {
        println!(
            "  misses: mean {:.1} min outside, worst {} min",
            misses.iter().sum::<i64>() as f64 / misses.len() as f64,
            misses.iter().max().unwrap()
        );
    }
}
