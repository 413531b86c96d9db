//! The background workers driven one pass at a time with their own clock, on
//! both databases: the lapse worker releases a lapsed hold and ends a pause
//! whose time ran out, the idempotency worker prunes a record past its day
//! and keeps a fresh one. No sleeps: each pass is told what time it is.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::workers::{idempotency, lapses};

use crate::harness::{count, TestApp};
use crate::memory::{events_of, exec, id, sql_time};
use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339};

fn lapse_pass(app: &TestApp, minutes_from_now: i64) -> lapses::Pass {
    lapses::run_once(
        &mut app.pool.get().unwrap(),
        Utc::now() + Duration::minutes(minutes_from_now),
    )
    .unwrap()
}

on_both_databases! {
    fn the_lapse_worker_releases_a_lapsed_hold_and_its_slot(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        // The consultation is Ana's alone, so her hold takes the whole slot.
        let start = rfc3339(london(5, 16, 0));
        let held = app.post("/v1/holds", &agent, &json!({"service_id": shop.consult, "start": start}));
        assert_eq!(held.status, 201, "{}", held.text);
        let hold = id(&held.json());
        let wanted = booking(&shop.consult, london(5, 16, 0), "next@example.com");
        app.post("/v1/bookings", &agent, &wanted).problem(409, "slot_unavailable");
        // A pass while the hold is live settles nothing.
        assert_eq!(lapse_pass(app, 0), lapses::Pass::default());
        app.post("/v1/bookings", &agent, &wanted).problem(409, "slot_unavailable");
        // Eleven minutes on, the pass releases it once, with its event.
        assert_eq!(lapse_pass(app, 11).holds_expired, 1);
        assert_eq!(lapse_pass(app, 11).holds_expired, 0);
        assert_eq!(count(app, &format!("holds WHERE id = '{hold}' AND status = 'expired'")), 1);
        let expired = events_of(app, "hold.expired");
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0]["subject_id"], hold.as_str());
        // The slot is free again, even though the wall clock has not reached the expiry.
        let taken = book(app, Some(&agent), &wanted);
        assert_eq!(taken["resource_ids"], json!([shop.ana]));
        app.post("/v1/bookings", &agent, &json!({"hold_id": hold, "customer": {"name": "Kim", "phone": "07700 900123"}}))
            .problem(410, "hold_expired");
    }

    fn the_lapse_worker_ends_a_pause_whose_time_ran_out(app: &TestApp) {
        let shop = open(app);
        let manager = app.token(Role::Manager);
        let path = format!("/v1/services/{}", shop.haircut);
        let until = rfc3339(Utc::now() + Duration::hours(1));
        let paused = app.post(&format!("{path}/pause"), &manager, &json!({"reason": "Back soon", "until": until}));
        assert_eq!(paused.status, 200, "{}", paused.text);
        assert_eq!(lapse_pass(app, 30).pauses_ended, 0);
        assert!(app.get(&path, &manager).json()["paused"].is_object());
        assert_eq!(lapse_pass(app, 61), lapses::Pass { holds_expired: 0, pauses_ended: 1 });
        assert_eq!(app.get(&path, &manager).json()["paused"], Value::Null);
        let resumed = events_of(app, "service.resumed");
        assert_eq!(resumed.len(), 1);
        assert_eq!(resumed[0]["data"]["how"], "its time ran out");
        assert_eq!(lapse_pass(app, 61).pauses_ended, 0);
    }

    fn the_idempotency_worker_prunes_a_record_past_its_day_and_keeps_a_fresh_one(app: &TestApp) {
        let admin = app.token(Role::Admin);
        for key in ["yesterday", "today"] {
            let body = json!({"name": format!("Branch {key}"), "timezone": "Europe/London"});
            let reply = app.request("POST", "/v1/locations", Some(&admin), &[("Idempotency-Key", key)], Some(&body.to_string()));
            assert_eq!(reply.status, 201, "{}", reply.text);
        }
        exec(app, &format!("UPDATE idempotency_records SET created_at = {} WHERE idempotency_key = 'yesterday'",
            sql_time(Utc::now() - Duration::hours(25))));
        let mut conn = app.pool.get().unwrap();
        assert_eq!(idempotency::run_once(&mut conn, Utc::now()).unwrap(), 1);
        assert_eq!(count(app, "idempotency_records WHERE idempotency_key = 'yesterday'"), 0);
        assert_eq!(count(app, "idempotency_records WHERE idempotency_key = 'today'"), 1);
        assert_eq!(idempotency::run_once(&mut conn, Utc::now()).unwrap(), 0);
        // A day on, the fresh one has had its day too.
        assert_eq!(idempotency::run_once(&mut conn, Utc::now() + Duration::hours(24) + Duration::minutes(1)).unwrap(), 1);
        assert_eq!(count(app, "idempotency_records"), 0);
    }
}
