//! `Idempotency-Key`: a retried POST is answered from the record of the
//! first one, on SQLite and on PostgreSQL.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::schema::idempotency_records;

use crate::harness::count;
use crate::harness::{race, Reply, TestApp};
use crate::on_both_databases;
use crate::shop::{booking, london, open};

fn post_with_key(app: &TestApp, path: &str, token: Option<&str>, key: &str, body: &Value) -> Reply {
    app.request(
        "POST",
        path,
        token,
        &[("Idempotency-Key", key)],
        Some(&body.to_string()),
    )
}

fn records_for(app: &TestApp, key: &str) -> i64 {
    idempotency_records::table
        .filter(idempotency_records::idempotency_key.eq(key))
        .count()
        .get_result(&mut app.pool.get().unwrap())
        .unwrap()
}

/// Moves the record of `key` back in time by `age`, as if it had been made then.
fn age_record(app: &TestApp, key: &str, age: Duration) {
    let changed = diesel::update(
        idempotency_records::table.filter(idempotency_records::idempotency_key.eq(key)),
    )
    .set(idempotency_records::created_at.eq(slotwise::store::now() - age))
    .execute(&mut app.pool.get().unwrap())
    .unwrap();
    assert_eq!(changed, 1);
}

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

fn northside() -> Value {
    json!({"name": "Northside", "timezone": "Europe/London"})
}

on_both_databases! {
    fn a_retried_post_replays_the_first_response_and_runs_once(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let first = post_with_key(app, "/v1/locations", Some(&admin), "retry-1", &northside());
        assert_eq!(first.status, 201, "{}", first.text);
        assert!(!replayed(&first));
        let again = post_with_key(app, "/v1/locations", Some(&admin), "retry-1", &northside());
        assert_eq!(again.status, 201, "{}", again.text);
        assert!(replayed(&again));
        assert_eq!(again.text, first.text);
        for header in ["location", "etag", "content-type"] {
            assert!(first.header(header).is_some(), "{header}");
            assert_eq!(again.header(header), first.header(header), "{header}");
        }
        assert_eq!(count(app, "locations"), 1);
        assert_eq!(records_for(app, "retry-1"), 1);
        // The object itself is there once, as the first answer said.
        let id = first.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&format!("/v1/locations/{id}"), &admin).status, 200);
        // A POST without a key is not deduplicated.
        assert_eq!(app.post("/v1/locations", &admin, &northside()).status, 201);
        assert_eq!(count(app, "locations"), 2);
        // Other methods ignore the header.
        let read = app.request("GET", "/v1/locations", Some(&admin), &[("Idempotency-Key", "retry-1")], None);
        assert_eq!(read.status, 200);
        assert!(!replayed(&read));
    }

    fn a_key_reused_for_a_different_request_is_422(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let first = post_with_key(app, "/v1/locations", Some(&admin), "reuse-1", &northside());
        assert_eq!(first.status, 201, "{}", first.text);
        let other_body = json!({"name": "Southside", "timezone": "Europe/London"});
        post_with_key(app, "/v1/locations", Some(&admin), "reuse-1", &other_body)
            .problem(422, "idempotency_key_reused");
        let location_id = first.json()["id"].as_str().unwrap().to_owned();
        let other_path = json!({"location_id": location_id, "name": "Ana", "kind": "staff"});
        post_with_key(app, "/v1/resources", Some(&admin), "reuse-1", &other_path)
            .problem(422, "idempotency_key_reused");
        assert_eq!(count(app, "locations"), 1);
        assert_eq!(count(app, "resources"), 0);
        // The refusals did not disturb the stored answer.
        let again = post_with_key(app, "/v1/locations", Some(&admin), "reuse-1", &northside());
        assert!(replayed(&again));
        assert_eq!(again.text, first.text);
    }

    fn racing_retries_with_one_key_run_the_request_once(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let replies = race(16, |_| post_with_key(app, "/v1/locations", Some(&admin), "race-1", &northside()));
        assert_eq!(count(app, "locations"), 1);
        let executed: Vec<&Reply> = replies.iter().filter(|r| r.status == 201 && !replayed(r)).collect();
        assert_eq!(executed.len(), 1, "{:?}", replies.iter().map(|r| (r.status, &r.text)).collect::<Vec<_>>());
        for reply in &replies {
            match reply.status {
                201 => assert_eq!(reply.text, executed[0].text),
                409 => {
                    reply.problem(409, "idempotency_in_progress");
                }
                other => panic!("unexpected {other}: {}", reply.text),
            }
        }
    }

    fn a_key_whose_request_is_in_flight_is_409_until_abandoned(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let first = post_with_key(app, "/v1/locations", Some(&admin), "busy-1", &northside());
        assert_eq!(first.status, 201, "{}", first.text);
        // Turn the record back into one whose request is still running.
        diesel::update(idempotency_records::table.filter(idempotency_records::idempotency_key.eq("busy-1")))
            .set((
                idempotency_records::status_code.eq(None::<i32>),
                idempotency_records::response_body.eq(None::<String>),
                idempotency_records::response_headers.eq(None::<String>),
                idempotency_records::created_at.eq(slotwise::store::now()),
            ))
            .execute(&mut app.pool.get().unwrap())
            .unwrap();
        let busy = post_with_key(app, "/v1/locations", Some(&admin), "busy-1", &northside());
        busy.problem(409, "idempotency_in_progress");
        assert_eq!(busy.header("retry-after"), Some("1"));
        // A different request under the busy key is still a reused key.
        post_with_key(app, "/v1/locations", Some(&admin), "busy-1", &json!({"name": "Elsewhere", "timezone": "UTC"}))
            .problem(422, "idempotency_key_reused");
        assert_eq!(count(app, "locations"), 1);
        // A request in flight for over a minute died: its key is free again.
        age_record(app, "busy-1", Duration::minutes(2));
        let retried = post_with_key(app, "/v1/locations", Some(&admin), "busy-1", &northside());
        assert_eq!(retried.status, 201, "{}", retried.text);
        assert!(!replayed(&retried));
        assert_eq!(count(app, "locations"), 2);
        let replay = post_with_key(app, "/v1/locations", Some(&admin), "busy-1", &northside());
        assert!(replayed(&replay));
        assert_eq!(replay.text, retried.text);
    }

    fn a_stranger_on_a_route_that_needs_a_token_gets_401_whatever_keys_others_used(app: &TestApp) {
        // A widget books with its key: strangers share one scope, and the
        // answer is kept for replays.
        let shop = open(app);
        let body = booking(&shop.haircut, london(3, 10, 0), "stranger@example.com");
        let booked = post_with_key(app, "/v1/bookings", None, "widget-key", &body);
        assert_eq!(booked.status, 201, "{}", booked.text);
        let again = post_with_key(app, "/v1/bookings", None, "widget-key", &body);
        assert!(replayed(&again));
        assert_eq!(again.json()["id"], booked.json()["id"]);
        // A prober sending that key to a staff route is told to authenticate,
        // not that the key was used before.
        post_with_key(app, "/v1/locations", None, "widget-key", &northside()).problem(401, "unauthenticated");
        assert_eq!(records_for(app, "widget-key"), 1);
    }

    fn keys_are_scoped_per_business_role_and_subject(app: &TestApp) {
        let callers = [
            app.token(Role::Admin),
            app.token_for(&app.other_business(), Role::Admin),
            app.token_with(Role::Admin, "second-admin", "", 30),
            app.token_with(Role::Manager, "test-admin", "", 30),
        ];
        let mut ids = Vec::new();
        for token in &callers {
            let reply = post_with_key(app, "/v1/locations", Some(token), "shared-key", &northside());
            assert_eq!(reply.status, 201, "{}", reply.text);
            assert!(!replayed(&reply));
            ids.push(reply.json()["id"].as_str().unwrap().to_owned());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), callers.len());
        assert_eq!(count(app, "locations"), 4);
        assert_eq!(records_for(app, "shared-key"), 4);
        // And each caller still gets its own answer back.
        let again = post_with_key(app, "/v1/locations", Some(&callers[1]), "shared-key", &northside());
        assert!(replayed(&again));
        assert_eq!(count(app, "locations"), 4);
    }

    fn an_error_answer_is_replayed_identically(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let invalid = json!({"name": "", "timezone": "Mars/Olympus"});
        let first = post_with_key(app, "/v1/locations", Some(&admin), "invalid-1", &invalid);
        let problem = first.problem(422, "validation_failed");
        assert!(problem["errors"]["timezone"].is_string(), "{problem}");
        let again = post_with_key(app, "/v1/locations", Some(&admin), "invalid-1", &invalid);
        again.problem(422, "validation_failed");
        assert!(replayed(&again));
        assert_eq!(again.text, first.text);
        // A corrected body is a different request: it needs a new key.
        post_with_key(app, "/v1/locations", Some(&admin), "invalid-1", &northside())
            .problem(422, "idempotency_key_reused");
        assert_eq!(post_with_key(app, "/v1/locations", Some(&admin), "invalid-2", &northside()).status, 201);
        // Malformed JSON is an answer like any other.
        let broken = app.request("POST", "/v1/locations", Some(&admin), &[("Idempotency-Key", "broken-1")], Some("{"));
        broken.problem(400, "malformed_json");
        let broken_again = app.request("POST", "/v1/locations", Some(&admin), &[("Idempotency-Key", "broken-1")], Some("{"));
        assert!(replayed(&broken_again));
        assert_eq!(broken_again.text, broken.text);
        // Nothing is kept for a body over the limit (refused before it runs)
        // or for a call without a token (no caller yet; it retries with one).
        let huge = json!({"name": "x".repeat(300 * 1024), "timezone": "UTC"});
        post_with_key(app, "/v1/locations", Some(&admin), "huge-1", &huge).problem(413, "payload_too_large");
        post_with_key(app, "/v1/locations", None, "anonymous-1", &northside()).problem(401, "unauthenticated");
        assert_eq!((records_for(app, "huge-1"), records_for(app, "anonymous-1")), (0, 0));
    }

    fn a_server_error_is_not_stored_so_the_retry_runs(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query("ALTER TABLE locations RENAME TO locations_away").execute(&mut conn).unwrap();
        let failed = post_with_key(app, "/v1/locations", Some(&admin), "flaky-1", &northside());
        diesel::sql_query("ALTER TABLE locations_away RENAME TO locations").execute(&mut conn).unwrap();
        failed.problem(500, "internal_error");
        assert_eq!(records_for(app, "flaky-1"), 0);
        let retried = post_with_key(app, "/v1/locations", Some(&admin), "flaky-1", &northside());
        assert_eq!(retried.status, 201, "{}", retried.text);
        assert!(!replayed(&retried));
        assert_eq!(count(app, "locations"), 1);
    }

    fn a_record_older_than_a_day_is_not_replayed_and_is_pruned(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let first = post_with_key(app, "/v1/locations", Some(&admin), "old-1", &northside());
        assert_eq!(first.status, 201, "{}", first.text);
        age_record(app, "old-1", Duration::hours(25));
        let later = post_with_key(app, "/v1/locations", Some(&admin), "old-1", &northside());
        assert_eq!(later.status, 201, "{}", later.text);
        assert!(!replayed(&later));
        assert_ne!(later.json()["id"], first.json()["id"]);
        assert_eq!(count(app, "locations"), 2);
        // The new record replaced the old one and is replayed from now on.
        assert_eq!(records_for(app, "old-1"), 1);
        let replay = post_with_key(app, "/v1/locations", Some(&admin), "old-1", &northside());
        assert_eq!(replay.text, later.text);
        // Even for a different request, an expired record does not count.
        assert_eq!(post_with_key(app, "/v1/locations", Some(&admin), "old-2", &northside()).status, 201);
        age_record(app, "old-2", Duration::hours(25));
        let different = json!({"name": "Southside", "timezone": "Europe/London"});
        assert_eq!(post_with_key(app, "/v1/locations", Some(&admin), "old-2", &different).status, 201);
        // The sweep deletes what is past its day and keeps the rest.
        assert_eq!(post_with_key(app, "/v1/locations", Some(&admin), "old-3", &northside()).status, 201);
        age_record(app, "old-3", Duration::hours(25));
        let pruned = slotwise::store::idempotency::prune(&mut app.pool.get().unwrap(), slotwise::store::now()).unwrap();
        assert_eq!(pruned, 1);
        assert_eq!((records_for(app, "old-1"), records_for(app, "old-2"), records_for(app, "old-3")), (1, 1, 0));
    }

    fn a_bad_key_is_400_naming_the_header(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let too_long = "k".repeat(256);
        for bad in ["", too_long.as_str(), "tab\there"] {
            let reply = post_with_key(app, "/v1/locations", Some(&admin), bad, &northside());
            let problem = reply.problem(400, "validation_failed");
            assert!(problem["errors"]["Idempotency-Key"].is_string(), "{problem}");
        }
        assert_eq!(count(app, "locations"), 0);
        assert_eq!(count(app, "idempotency_records"), 0);
        let longest = "k".repeat(255);
        let fine = post_with_key(app, "/v1/locations", Some(&admin), &longest, &northside());
        assert_eq!(fine.status, 201, "{}", fine.text);
        let spaced = post_with_key(app, "/v1/locations", Some(&admin), "order 42 / try", &northside());
        assert_eq!(spaced.status, 201, "{}", spaced.text);
    }

    fn a_retried_booking_replays_the_same_booking(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let body = booking(&shop.haircut, london(2, 11, 0), "retry@example.com");
        let first = post_with_key(app, "/v1/bookings", Some(&agent), "book-1", &body);
        assert_eq!(first.status, 201, "{}", first.text);
        let again = post_with_key(app, "/v1/bookings", Some(&agent), "book-1", &body);
        assert_eq!(again.status, 201, "{}", again.text);
        assert!(replayed(&again));
        assert_eq!(again.json()["id"], first.json()["id"]);
        assert_eq!(again.json()["reference"], first.json()["reference"]);
        assert_eq!(again.header("location"), first.header("location"));
        assert_eq!(again.header("etag"), first.header("etag"));
        assert_eq!(count(app, "bookings"), 1);
        // An anonymous retry gets the same booking and the same manage token back.
        let widget = booking(&shop.haircut, london(2, 14, 0), "widget@example.com");
        let online = post_with_key(app, "/v1/bookings", None, "widget-1", &widget);
        assert_eq!(online.status, 201, "{}", online.text);
        let online_again = post_with_key(app, "/v1/bookings", None, "widget-1", &widget);
        assert!(replayed(&online_again));
        assert_eq!(online_again.text, online.text);
        assert!(online.json()["manage_token"].is_string());
        assert_eq!(count(app, "bookings"), 2);
    }
}
