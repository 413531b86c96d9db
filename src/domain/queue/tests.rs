//! Unit and property tests of the queue's estimates, codes and ticket steps.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

#[test]
fn a_ticket_lives_to_its_local_day_end_and_fourteen_hours_more() {
    use chrono::TimeZone;
    // 20:00 in Tokyo (UTC+9) is 11:00 UTC; the local day ends at 15:00 UTC.
    let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
    let issued = Utc.with_ymd_and_hms(2026, 12, 3, 11, 0, 0).unwrap();
    assert_eq!(ticket_lifetime(issued, tokyo), Duration::hours(4 + 14));
    // 18:00 in New York (UTC-5) is 23:00 UTC; that day ends at 05:00 UTC.
    let new_york: Tz = "America/New_York".parse().unwrap();
    let issued = Utc.with_ymd_and_hms(2026, 12, 3, 23, 0, 0).unwrap();
    assert_eq!(ticket_lifetime(issued, new_york), Duration::hours(6 + 14));
    // The day clocks go back is 25 hours long in London.
    let london: Tz = "Europe/London".parse().unwrap();
    let issued = Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).unwrap(); // 01:00 BST
    assert_eq!(ticket_lifetime(issued, london), Duration::hours(24 + 14));
}

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 - 1_800_000_000 % 86_400, 0).unwrap()
        + Duration::minutes(minute)
}

fn lane(id: &str, open: (i64, i64), appointments: &[(i64, i64)]) -> Lane {
    Lane {
        resource_id: id.into(),
        open: vec![(at(open.0), at(open.1))],
        taken: appointments
            .iter()
            .map(|&(a, b)| Taken {
                start: at(a),
                end: at(b),
                late_end: at(b),
                running: false,
            })
            .collect(),
        delay: Duration::zero(),
    }
}

fn visit(ids: &[&str], typical: i64, long: i64) -> Visit {
    Visit {
        groups: vec![ids.iter().map(|s| s.to_string()).collect()],
        typical: Duration::minutes(typical),
        long: Duration::minutes(long),
        buffer_before: Duration::zero(),
        buffer_after: Duration::zero(),
    }
}

#[test]
fn ticket_steps_follow_the_desk() {
    use TicketStatus::*;
    assert_eq!(next_ticket_status(Waiting, TicketStep::Call), Some(Called));
    assert_eq!(next_ticket_status(Called, TicketStep::Seat), Some(Seated));
    assert_eq!(next_ticket_status(Waiting, TicketStep::Seat), None);
    assert_eq!(next_ticket_status(Waiting, TicketStep::NoShow), None);
    assert_eq!(next_ticket_status(Called, TicketStep::NoShow), Some(NoShow));
    assert_eq!(
        next_ticket_status(Called, TicketStep::Cancel),
        Some(Cancelled)
    );
    for done in [Seated, Cancelled, NoShow] {
        for step in [
            TicketStep::Call,
            TicketStep::Seat,
            TicketStep::Cancel,
            TicketStep::NoShow,
        ] {
            assert_eq!(next_ticket_status(done, step), None);
        }
    }
}

#[test]
fn codes_count_up_and_roll_over_to_the_next_letter() {
    assert_eq!(ticket_code(1), "A001");
    assert_eq!(ticket_code(14), "A014");
    assert_eq!(ticket_code(999), "A999");
    assert_eq!(ticket_code(1000), "B001");
}

#[test]
fn a_free_resource_takes_the_first_visit_now_and_the_next_after_it() {
    let lanes = [lane("res_a", (0, 600), &[])];
    let visits = [visit(&["res_a"], 30, 45), visit(&["res_a"], 30, 45)];
    let e = estimate(&lanes, &visits, at(60), at(600));
    assert_eq!(e[0].earliest, Some(at(60)));
    assert_eq!(e[0].latest, Some(at(60)));
    assert_eq!(e[1].earliest, Some(at(90)));
    assert_eq!(e[1].latest, Some(at(105)));
    assert_eq!(e[1].reason.ahead, 1);
}

#[test]
fn a_walk_in_waits_for_an_appointment_it_would_not_finish_before() {
    // 20 minutes free before a 10:00 appointment is too short for 30.
    let lanes = [lane("res_a", (0, 600), &[(80, 120)])];
    let e = estimate(&lanes, &[visit(&["res_a"], 30, 30)], at(60), at(600));
    assert_eq!(e[0].earliest, Some(at(120)));
    assert_eq!(e[0].reason.appointments_due, 1);
    assert_eq!(e[0].reason.free_now, 1);
}

#[test]
fn a_visit_running_long_pushes_the_latest_estimate() {
    let mut a = lane("res_a", (0, 600), &[]);
    a.taken.push(Taken {
        start: at(30),
        end: at(60),
        late_end: at(80),
        running: true,
    });
    // Already past its planned end: it ends no earlier than now.
    let e = estimate(&[a], &[visit(&["res_a"], 30, 30)], at(70), at(600));
    assert_eq!(e[0].earliest, Some(at(70)));
    assert_eq!(e[0].latest, Some(at(80)));
    assert_eq!(e[0].reason.free_now, 0);
}

#[test]
fn running_late_shifts_appointments_and_the_queue() {
    let mut a = lane("res_a", (0, 600), &[(80, 120)]);
    a.delay = Duration::minutes(15);
    let e = estimate(&[a.clone()], &[visit(&["res_a"], 30, 30)], at(60), at(600));
    // Nothing new before 60 + 15; the appointment moved to 95–135, so
    // 75–105 would overlap it.
    assert_eq!(e[0].earliest, Some(at(135)));
    assert_eq!(e[0].reason.running_late_minutes, Some(15));
    let (early, _) = appointment_estimate(&[a], &["res_a".into()], at(80), at(60));
    assert_eq!(early, at(95));
}

#[test]
fn nothing_left_today_is_said_rather_than_guessed() {
    let lanes = [lane("res_a", (0, 70), &[])];
    let e = estimate(&lanes, &[visit(&["res_a"], 30, 30)], at(60), at(600));
    assert_eq!(e[0].earliest, None);
    assert!(describe(&e[0], chrono_tz::UTC).contains("no opening within a day"));
}

#[test]
fn percentiles_need_enough_history() {
    let d = |m: i64| Duration::minutes(m);
    assert_eq!(typical_and_long(vec![d(30); 4]), None);
    let observed = (1..=10).map(d).collect();
    assert_eq!(typical_and_long(observed), Some((d(5), d(9))));
}

#[test]
fn estimates_move_only_past_the_threshold() {
    let r = |a: i64, b: i64| Some((at(a), at(b)));
    assert!(!moved_enough(r(10, 20), r(14, 24)));
    assert!(moved_enough(r(10, 20), r(16, 20)));
    assert!(moved_enough(r(10, 20), None));
}

/// Random days: staff with random hours and appointments, a queue of
/// random services; the properties the desk and customers rely on.
#[test]
fn random_queues_keep_their_promises() {
    let mut dice = StdRng::seed_from_u64(11);
    for _ in 0..400 {
        let staff: Vec<String> = (0..dice.random_range(1..4))
            .map(|i| format!("res_{i}"))
            .collect();
        let lanes: Vec<Lane> = staff
            .iter()
            .map(|id| {
                let opens = dice.random_range(0..120);
                let closes = opens + dice.random_range(120..600);
                let mut appointments = Vec::new();
                let mut t = opens;
                while t < closes {
                    t += dice.random_range(0..90);
                    let length = dice.random_range(15..60);
                    if dice.random_bool(0.5) && t + length <= closes {
                        appointments.push((t, t + length));
                    }
                    t += length;
                }
                let mut l = lane(id, (opens, closes), &appointments);
                if dice.random_bool(0.2) {
                    l.delay = Duration::minutes(dice.random_range(5..30));
                }
                l
            })
            .collect();
        let same_service = dice.random_bool(0.5);
        let visits: Vec<Visit> = (0..dice.random_range(1..8))
            .map(|_| {
                let typical = if same_service {
                    30
                } else {
                    dice.random_range(10..60)
                };
                let ids: Vec<&str> = staff.iter().map(String::as_str).collect();
                visit(&ids, typical, typical + if same_service { 15 } else { 10 })
            })
            .collect();
        let now = at(dice.random_range(0..300));
        let horizon = at(24 * 60);
        let estimates = estimate(&lanes, &visits, now, horizon);
        for (i, e) in estimates.iter().enumerate() {
            let Some((earliest, latest)) = e.range() else {
                continue;
            };
            assert!(earliest >= now, "never before now");
            assert!(latest >= earliest, "a range, not a point out of order");
            // Never on a resource during one of its appointments.
            let service = visits[i].typical;
            for id in &e.resource_ids {
                let l = lanes.iter().find(|l| &l.resource_id == id).unwrap();
                let delay = l.delay;
                for t in &l.taken {
                    let (a, b) = (t.start + delay, t.end + delay);
                    assert!(
                        earliest + service <= a || earliest >= b,
                        "planned over an appointment"
                    );
                }
                assert!(l
                    .open
                    .iter()
                    .any(|&(a, b)| a <= earliest && earliest + service <= b));
            }
            // With more people ahead for the same service, never earlier.
            if same_service && i > 0 {
                if let Some((before_earliest, before_latest)) = estimates[i - 1].range() {
                    assert!(earliest >= before_earliest, "jumped ahead (earliest)");
                    assert!(latest >= before_latest, "jumped ahead (latest)");
                }
            }
        }
    }
}
