//! Helpers shared by the customer-memory, contact and feedback tests: counting
//! rows, creating customers, intents and contacts, and visits in the past.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::shop::{book, rfc3339};

pub use crate::harness::count;

pub fn created(reply: crate::harness::Reply) -> Value {
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

pub fn new_customer(app: &TestApp, token: &str, body: Value) -> Value {
    created(app.post("/v1/customers", token, &body))
}

pub fn new_intent(app: &TestApp, code: &str, owner: &str) -> Value {
    created(app.post(
        "/v1/intents",
        &app.token(Role::Manager),
        &json!({"code": code, "name": code.replace('_', " "), "owner": owner}),
    ))
}

pub fn log_contact(app: &TestApp, body: Value) -> Value {
    created(app.post("/v1/interactions", &app.token(Role::Agent), &body))
}

/// A quarter-hour on the shop's grid, `hours` before now.
pub fn hours_ago(hours: i64) -> DateTime<Utc> {
    // On the whole hour, which lies on every fixture service's grid (steps of
    // 15, 30 and 60 minutes from local midnight), whatever time the test runs.
    let now = Utc::now() - Duration::hours(hours);
    now - Duration::seconds(now.timestamp() % (60 * 60))
}

/// A booking at a past start, entered by staff after the fact.
pub fn past_booking(app: &TestApp, service: &str, start: DateTime<Utc>, customer: Value) -> Value {
    book(
        app,
        Some(&app.token(Role::Agent)),
        &json!({
            "service_id": service,
            "start": rfc3339(start),
            "customer": customer,
            "override": {"rules": ["min_notice"], "reason": "entered after the visit"}
        }),
    )
}

/// Walks a booking through check-in, start and complete.
pub fn complete(app: &TestApp, booking_id: &str) {
    let desk = app.token(Role::Desk);
    for step in ["check-in", "start", "complete"] {
        let reply = app.post(
            &format!("/v1/bookings/{booking_id}/{step}"),
            &desk,
            &json!({}),
        );
        assert_eq!(reply.status, 200, "{step}: {}", reply.text);
    }
}

/// One lifecycle step by an agent; a cancel sets the cutoff aside, as staff
/// may, so past bookings can be cancelled in fixtures.
pub fn step(app: &TestApp, booking_id: &str, step: &str) {
    let body = if step == "cancel" {
        json!({"override": {"rules": ["cancel_cutoff"], "reason": "fixture"}})
    } else {
        json!({})
    };
    let reply = app.post(
        &format!("/v1/bookings/{booking_id}/{step}"),
        &app.token(Role::Agent),
        &body,
    );
    assert_eq!(reply.status, 200, "{step}: {}", reply.text);
}

/// The token of the feedback request of a completed booking, as the
/// `feedback.requested` event carries it.
pub fn feedback_token(app: &TestApp, booking_id: &str) -> String {
    let events = app.get(
        "/v1/events?type=feedback.requested&limit=200",
        &app.token(Role::Agent),
    );
    assert_eq!(events.status, 200, "{}", events.text);
    events.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["booking_id"] == booking_id)
        .map(|e| e["data"]["token"].as_str().unwrap().to_owned())
        .expect("a feedback request for the booking")
}

pub fn data(reply: &crate::harness::Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"].as_array().unwrap().clone()
}

/// The business's events of one type (up to 200), oldest first, as staff read them.
pub fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    data(&app.get(
        &format!("/v1/events?type={kind}&limit=200"),
        &app.token(slotwise::api::auth::Role::Agent),
    ))
}

/// Runs a fixture statement the API has no way to express (backdating).
pub fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql)
        .execute(&mut app.pool.get().unwrap())
        .unwrap();
}

/// A timestamp literal both databases read.
pub fn sql_time(t: DateTime<Utc>) -> String {
    format!("'{}'", t.naive_utc().format("%Y-%m-%d %H:%M:%S"))
}
