//! A small business to book against: one London location, staff open around
//! the clock so tests work at any hour, a room, and services of each shape.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;

pub struct Shop {
    pub location: String,
    pub ana: String,
    pub ben: String,
    pub room: String,
    /// 30 min with Ana or Ben, 10 min buffer after; online, phone, walk-in, partner.
    pub haircut: String,
    /// 60 min with Ana or Ben AND the room.
    pub facial: String,
    /// A class of 3 seats in the room.
    pub class: String,
    /// Phone and walk-in only; 24 h notice; 24 h cancel cutoff.
    pub consult: String,
}

fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let reply = app.post(path, token, &body);
    assert_eq!(reply.status, 201, "{path}: {}", reply.text);
    reply.json()
}

fn around_the_clock(app: &TestApp, token: &str, resource: &str) {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let intervals: Vec<Value> = days
        .iter()
        .map(|d| json!({"weekday": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let reply = app.put(
        &format!("/v1/resources/{resource}/hours"),
        token,
        &json!({ "intervals": intervals }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
}

pub fn open(app: &TestApp) -> Shop {
    let admin = app.token(Role::Admin);
    let location = post(
        app,
        &admin,
        "/v1/locations",
        json!({"name": "Soho", "timezone": "Europe/London", "address": "1 Dean St"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resource = |name: &str, kind: &str| {
        let id = post(
            app,
            &admin,
            "/v1/resources",
            json!({"location_id": location, "name": name, "kind": kind}),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        around_the_clock(app, &admin, &id);
        id
    };
    let ana = resource("Ana", "staff");
    let ben = resource("Ben", "staff");
    let room = resource("Room 1", "room");
    let service = |body: Value| {
        post(app, &admin, "/v1/services", body)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let haircut = service(json!({
        "location_id": location, "name": "Haircut", "duration_minutes": 30, "buffer_after_minutes": 10,
        "slot_step_minutes": 15, "requirements": [{"resource_ids": [ana, ben]}]
    }));
    let facial = service(json!({
        "location_id": location, "name": "Facial", "duration_minutes": 60, "slot_step_minutes": 30,
        "requirements": [{"resource_ids": [ana, ben]}, {"resource_ids": [room]}]
    }));
    let class = service(json!({
        "location_id": location, "name": "Yoga class", "duration_minutes": 60, "slot_step_minutes": 60,
        "capacity": 3, "requirements": [{"resource_ids": [room]}]
    }));
    let consult = service(json!({
        "location_id": location, "name": "Consultation", "duration_minutes": 30, "slot_step_minutes": 30,
        "requirements": [{"resource_ids": [ana]}],
        "policy": {"min_notice_minutes": 1440, "cancel_cutoff_minutes": 1440, "reschedule_cutoff_minutes": 1440,
                   "channels": ["phone", "walk_in"]}
    }));
    Shop {
        location,
        ana,
        ben,
        room,
        haircut,
        facial,
        class,
        consult,
    }
}

/// `days` from today at `hh:mm` London time, as a UTC instant.
pub fn london(days: i64, hh: u32, mm: u32) -> DateTime<Utc> {
    let tz = chrono_tz::Europe::London;
    let day = Utc::now().with_timezone(&tz).date_naive() + Duration::days(days);
    tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap()))
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// [`rfc3339`] ready for a query string (its colons escaped).
pub fn in_query(t: DateTime<Utc>) -> String {
    rfc3339(t).replace(':', "%3A")
}

/// A booking body for `service` at `start` for a customer with this email.
pub fn booking(service: &str, start: DateTime<Utc>, email: &str) -> Value {
    json!({
        "service_id": service,
        "start": rfc3339(start),
        "customer": {"name": "Sam Taylor", "email": email}
    })
}

/// Books and returns the booking, asserting 201.
pub fn book(app: &TestApp, token: Option<&str>, body: &Value) -> Value {
    let reply = app.request("POST", "/v1/bookings", token, &[], Some(&body.to_string()));
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

/// Every slot start of `service` on the London day `days` from today.
pub fn slot_starts(app: &TestApp, token: Option<&str>, service: &str, days: i64) -> Vec<String> {
    let day = (Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
        + Duration::days(days))
    .format("%Y-%m-%d")
    .to_string();
    let reply = app.request(
        "GET",
        &format!("/v1/availability?service_id={service}&from={day}&to={day}"),
        token,
        &[],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["days"][0]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}
