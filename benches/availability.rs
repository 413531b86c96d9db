//! The pure availability function on its own: one service that five staff
//! deliver, over 7 days, with a busy calendar (every other half hour booked),
//! and the single-slot check the booking write path runs.
//!
//! `cargo bench --bench availability`

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use slotwise::domain::availability::{
    check, slots, Busy, Occupant, ResourceCalendar, ServiceSpec, Window,
};
use slotwise::domain::hours::{Weekday, WeeklyInterval};

fn week_of_work() -> Vec<WeeklyInterval> {
    Weekday::ALL
        .iter()
        .flat_map(|&weekday| {
            [(8 * 60, 12 * 60), (12 * 60 + 30, 20 * 60)].map(|(start, end)| WeeklyInterval {
                weekday,
                start_minute: start,
                end_minute: end,
            })
        })
        .collect()
}

fn fixture() -> (ServiceSpec, Vec<ResourceCalendar>, Window) {
    let monday: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let ids: Vec<String> = (0..5).map(|i| format!("res_staff{i}")).collect();
    let calendars = ids
        .iter()
        .enumerate()
        .map(|(i, id)| ResourceCalendar {
            id: id.clone(),
            capacity: 1,
            paused: false,
            weekly: week_of_work(),
            time_off: Vec::new(),
            // Staggered per resource so every start has some free staff.
            busy: (0..7 * 24)
                .filter(|hour| (hour + i) % 2 == 0)
                .map(|hour| {
                    let start = monday + Duration::hours(hour as i64);
                    Busy {
                        start,
                        end: start + Duration::minutes(30),
                        occupant: Occupant::Exclusive,
                    }
                })
                .collect(),
        })
        .collect();
    let spec = ServiceSpec {
        service_id: "svc_bench".into(),
        duration: Duration::minutes(30),
        buffer_before: Duration::zero(),
        buffer_after: Duration::minutes(10),
        step: Duration::minutes(15),
        capacity: 1,
        groups: vec![ids],
    };
    let window = Window {
        tz: chrono_tz::Europe::London,
        closures: Vec::new(),
        from: monday,
        to: monday + Duration::days(7),
        earliest: None,
        latest: None,
    };
    (spec, calendars, window)
}

fn availability(c: &mut Criterion) {
    let (spec, calendars, window) = fixture();
    assert!(!slots(&spec, &calendars, &window).is_empty());
    c.bench_function("slots: 1 service, 5 staff, 7 days", |b| {
        b.iter(|| slots(black_box(&spec), black_box(&calendars), black_box(&window)))
    });
    let start = window.from + Duration::hours(9);
    c.bench_function("check: one start on 5 staff", |b| {
        b.iter(|| {
            check(
                black_box(&spec),
                black_box(&calendars),
                black_box(&window),
                black_box(start),
                &[],
            )
        })
    });
}

criterion_group!(benches, availability);
criterion_main!(benches);
