//! Keep promises: real concurrent HTTP requests against a real database never
//! double-book, on SQLite and on PostgreSQL, with one API process or two.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use slotwise::api::auth::Role;
use slotwise::db::{self, DatabaseUrl};
use slotwise::schema::{allocations, bookings};

use crate::harness::{race, serve, Reply, TestApp};
use crate::on_both_databases;
use crate::shop::{booking, london, open};

fn tally(replies: &[Reply]) -> (usize, usize, Vec<String>) {
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.json()["code"] == "slot_unavailable")
        .count();
    let other = replies
        .iter()
        .filter(|r| r.status != 201 && !(r.status == 409 && r.json()["code"] == "slot_unavailable"))
        .map(|r| format!("{} {}", r.status, r.text))
        .collect();
    (created, refused, other)
}

fn active_bookings(app: &TestApp) -> i64 {
    bookings::table
        .filter(bookings::status.ne("cancelled"))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap()
}

fn assert_no_overlap(app: &TestApp) {
    crate::harness::assert_no_overlap(&mut app.pool.get().unwrap());
}

fn consult_start() -> DateTime<Utc> {
    london(3, 10, 0)
}

on_both_databases! {
    fn two_hundred_callers_racing_for_one_slot_get_exactly_one_booking(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let replies = race(200, |i| {
            let body = booking(&shop.consult, consult_start(), &format!("racer{i}@example.com"));
            app.request("POST", "/v1/bookings", Some(&agent), &[], Some(&body.to_string()))
        });
        let (created, refused, other) = tally(&replies);
        assert_eq!((created, refused), (1, 199), "unexpected replies: {other:?}");
        assert_eq!(active_bookings(app), 1);
        let live: i64 = allocations::table.filter(allocations::active.eq(true)).count().get_result(&mut app.pool.get().unwrap()).unwrap();
        assert_eq!(live, 1);
        // Only the winner's customer was created: the losers rolled back whole.
        let customers: i64 = slotwise::schema::customers::table.count().get_result(&mut app.pool.get().unwrap()).unwrap();
        assert_eq!(customers, 1);
    }

    fn a_class_of_ten_takes_exactly_ten_of_fifty_racing_callers(app: &TestApp) {
        let shop = open(app);
        let admin = app.token(Role::Admin);
        let class = app.post("/v1/services", &admin, &json!({
            "location_id": shop.location, "name": "Spin", "duration_minutes": 45, "slot_step_minutes": 60,
            "capacity": 10, "requirements": [{"resource_ids": [shop.room]}]
        }));
        assert_eq!(class.status, 201, "{}", class.text);
        let class = class.json()["id"].as_str().unwrap().to_owned();
        let start = london(3, 18, 0);
        let replies = race(50, |i| {
            let body = booking(&class, start, &format!("rider{i}@example.com"));
            app.request("POST", "/v1/bookings", None, &[], Some(&body.to_string()))
        });
        let (created, refused, other) = tally(&replies);
        assert_eq!((created, refused), (10, 40), "unexpected replies: {other:?}");
        assert_eq!(active_bookings(app), 10);
        assert_no_overlap(app);
    }

    fn staff_and_room_bookings_from_many_threads_never_overlap(app: &TestApp) {
        let shop = open(app);
        let desk = app.token(Role::Desk);
        let services = [shop.facial.clone(), shop.haircut.clone(), shop.class.clone()];
        // A seeded shuffle of (service, start) pairs over one busy morning.
        let mut seed: u64 = 0x5107_5157;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let picks: Vec<(String, DateTime<Utc>)> = (0..120)
            .map(|_| {
                let service = services[(next() % 3) as usize].clone();
                let start = london(4, 8, 0) + chrono::Duration::minutes(60 * (next() % 4) as i64);
                (service, start)
            })
            .collect();
        let replies = race(picks.len(), |i| {
            let (service, start) = &picks[i];
            let body = booking(service, *start, &format!("mix{i}@example.com"));
            app.request("POST", "/v1/bookings", Some(&desk), &[], Some(&body.to_string()))
        });
        let (created, _, other) = tally(&replies);
        let server_errors: Vec<_> = replies.iter().filter(|r| r.status >= 500).map(|r| r.text.clone()).collect();
        assert!(server_errors.is_empty(), "{server_errors:?}");
        assert!(other.is_empty(), "{other:?}");
        assert!(created > 0);
        assert_eq!(active_bookings(app), created as i64);
        assert_no_overlap(app);
    }

    fn pinned_and_unpinned_callers_racing_for_two_stylists_get_exactly_two(app: &TestApp) {
        // Pinned bookings lock only their stylist; unpinned ones lock both.
        // Either way each stylist is taken once.
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let start = london(3, 14, 0);
        let replies = race(60, |i| {
            let mut body = booking(&shop.haircut, start, &format!("pin{i}@example.com"));
            match i % 3 {
                0 => body["resource_ids"] = json!([shop.ana]),
                1 => body["resource_ids"] = json!([shop.ben]),
                _ => {}
            }
            app.request("POST", "/v1/bookings", Some(&agent), &[], Some(&body.to_string()))
        });
        let (created, refused, other) = tally(&replies);
        assert_eq!((created, refused), (2, 58), "unexpected replies: {other:?}");
        assert_eq!(active_bookings(app), 2);
        assert_no_overlap(app);
    }

    fn two_api_processes_on_one_database_still_book_once(app: &TestApp) {
        let shop = open(app);
        let second_pool = db::connect(&DatabaseUrl::parse(&app.database_url), 20).unwrap();
        let second = serve(second_pool);
        let agent = app.token(Role::Agent);
        let replies = race(100, |i| {
            let base = if i % 2 == 0 { app.base.as_str() } else { second.base.as_str() };
            let body = booking(&shop.consult, consult_start(), &format!("twin{i}@example.com"));
            app.request_at(base, "POST", "/v1/bookings", Some(&agent), &[], Some(&body.to_string()))
        });
        let (created, refused, other) = tally(&replies);
        assert_eq!((created, refused), (1, 99), "unexpected replies: {other:?}");
        assert_eq!(active_bookings(app), 1);
    }

    fn a_slot_freed_by_cancellation_is_won_by_exactly_one_racer(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let first = app.post("/v1/bookings", &agent, &booking(&shop.consult, consult_start(), "first@example.com"));
        let id = first.json()["id"].as_str().unwrap().to_owned();
        let cancel = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({"reason": "x", "override": {"rules": ["cancel_cutoff"], "reason": "test"}}));
        assert_eq!(cancel.status, 200, "{}", cancel.text);
        let replies = race(40, |i| {
            let body = booking(&shop.consult, consult_start(), &format!("again{i}@example.com"));
            app.request("POST", "/v1/bookings", Some(&agent), &[], Some(&body.to_string()))
        });
        let (created, refused, other) = tally(&replies);
        assert_eq!((created, refused), (1, 39), "{other:?}");
    }
}

/// PostgreSQL's second guard: the exclusion constraint refuses overlapping
/// exclusive allocations even when the application's check is bypassed, and
/// the error is recognised as a taken slot.
#[test]
fn the_postgres_exclusion_constraint_refuses_overlaps_the_app_did_not_check() {
    let Some(app) = TestApp::start(crate::harness::Backend::Postgres) else {
        return;
    };
    let shop = open(&app);
    let agent = app.token(Role::Agent);
    let booked = app.post(
        "/v1/bookings",
        &agent,
        &booking(&shop.consult, consult_start(), "g@example.com"),
    );
    assert_eq!(booked.status, 201, "{}", booked.text);
    let booking_id = booked.json()["id"].as_str().unwrap().to_owned();
    let start = consult_start().naive_utc();
    let mut conn = app.pool.get().unwrap();
    let error = diesel::sql_query(format!(
        "INSERT INTO allocations (id, business_id, resource_id, service_id, booking_id, session_start, starts_at, ends_at, seat, exclusive, active) \
         VALUES ('alc_sneaky', '{}', '{}', '{}', '{}', '{start}', '{start}', '{}', false, true, true)",
        app.business, shop.ana, shop.consult, booking_id, start + chrono::Duration::minutes(10)
    ))
    .execute(&mut conn)
    .expect_err("overlap refused");
    assert_eq!(db::classify(&error), db::Failure::Overlap, "{error}");
}
