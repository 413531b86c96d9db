//! Pausing services, resources and locations through the API, on both
//! databases: every channel refuses at once and says why, bookings already
//! made are counted and listed, a pause with an end lapses by itself, and
//! each change is an event.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::{race, TestApp};
use crate::memory::{data, events_of, exec, sql_time};
use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339};

fn pause(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post(&format!("{path}/pause"), &app.token(Role::Manager), &body);
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

on_both_databases! {
    fn a_paused_service_is_refused_on_every_channel_with_its_reason(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let kept = book(app, Some(&agent), &booking(&shop.haircut, london(3, 10, 0), "kept@example.com"));
        let path = format!("/v1/services/{}", shop.haircut);
        let until = Utc::now() + Duration::days(5);
        let paused = pause(app, &path, json!({"reason": "Stylist training", "until": rfc3339(until)}));
        assert_eq!(paused["paused"], true);
        assert_eq!(paused["paused_object"], "service");
        assert_eq!(paused["reason"], "Stylist training");
        assert_eq!(paused["until"], rfc3339(until));
        assert_eq!(paused["affected_bookings"], 1);

        // Every door says no, and why.
        let slot = rfc3339(london(4, 10, 0));
        for problem in [
            app.get(&format!("/v1/availability?service_id={}", shop.haircut), &agent).problem(409, "paused"),
            app.request("GET", &format!("/v1/availability?service_id={}", shop.haircut), None, &[], None).problem(409, "paused"),
            app.post("/v1/holds", &agent, &json!({"service_id": shop.haircut, "start": slot})).problem(409, "paused"),
            app.post("/v1/bookings", &agent, &booking(&shop.haircut, london(4, 10, 0), "n@example.com")).problem(409, "paused"),
        ] {
            assert_eq!(problem["reason"], "Stylist training");
            assert_eq!(problem["paused"], "service");
            assert_eq!(problem["until"], rfc3339(until));
        }
        let service = app.get(&path, &agent).json();
        assert_eq!(service["paused"]["reason"], "Stylist training");
        assert_eq!(service["paused"]["until"], rfc3339(until));

        // The booking already made is kept, and listed for whoever tells them.
        let affected = data(&app.get(&format!("{path}/affected-bookings"), &agent));
        assert_eq!(affected.len(), 1);
        assert_eq!(affected[0]["id"], kept["id"]);
        assert_eq!(affected[0]["status"], "confirmed");
        let event = &events_of(app, "service.paused")[0];
        assert_eq!(event["data"]["reason"], "Stylist training");
        assert_eq!(event["data"]["affected_bookings"], 1);

        // Pausing again changes what it says, not when it began.
        let again = pause(app, &path, json!({"reason": "Flooded floor"}));
        assert_eq!((again["since"].clone(), again["until"].clone()), (paused["since"].clone(), Value::Null));
        assert_eq!(again["reason"], "Flooded floor");

        let resumed = app.post(&format!("{path}/resume"), &app.token(Role::Admin), &json!({}));
        assert_eq!(resumed.status, 200, "{}", resumed.text);
        assert_eq!((resumed.json()["paused"].clone(), resumed.json()["affected_bookings"].clone()), (json!(false), json!(0)));
        assert_eq!(events_of(app, "service.resumed").len(), 1);
        book(app, Some(&agent), &booking(&shop.haircut, london(4, 10, 0), "n@example.com"));
        assert!(data(&app.get(&format!("{path}/affected-bookings"), &agent)).is_empty());
        app.post(&format!("{path}/resume"), &app.token(Role::Manager), &json!({})).problem(409, "not_paused");
    }

    fn pausing_a_stylist_leaves_the_others_and_a_location_stops_everything(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let with = |stylist: &str, hour: u32, email: &str| {
            let mut body = booking(&shop.haircut, london(3, hour, 0), email);
            body["resource_ids"] = json!([stylist]);
            body
        };
        book(app, Some(&agent), &with(&shop.ana, 10, "a@example.com"));
        book(app, Some(&agent), &with(&shop.ben, 11, "b@example.com"));
        let ana = format!("/v1/resources/{}", shop.ana);
        assert_eq!(pause(app, &ana, json!({"reason": "Off sick"}))["affected_bookings"], 1);
        // Ben still cuts; Ana does not.
        book(app, Some(&agent), &booking(&shop.haircut, london(4, 10, 0), "c@example.com"));
        let problem = app.post("/v1/bookings", &agent, &with(&shop.ana, 12, "d@example.com")).problem(409, "paused");
        assert_eq!((problem["paused"].clone(), problem["reason"].clone()), (json!("resource"), json!("Off sick")));
        let slots = app.get(&format!("/v1/availability?service_id={}&from={}&to={}", shop.haircut,
            rfc3339(london(5, 9, 0)).replace(':', "%3A"), rfc3339(london(5, 12, 0)).replace(':', "%3A")), &agent);
        assert_eq!(slots.status, 200, "{}", slots.text);
        assert!(!slots.text.contains(&shop.ana), "a paused stylist offers no slots");
        // With Ben paused too nobody can cut.
        pause(app, &format!("/v1/resources/{}", shop.ben), json!({"reason": "Training"}));
        app.get(&format!("/v1/availability?service_id={}", shop.haircut), &agent).problem(409, "paused");

        let location = format!("/v1/locations/{}", shop.location);
        let closed = pause(app, &location, json!({"reason": "Power cut"}));
        assert_eq!(closed["affected_bookings"], 3);
        let problem = app.post("/v1/bookings", &agent, &booking(&shop.class, london(4, 10, 0), "e@example.com")).problem(409, "paused");
        assert_eq!((problem["paused"].clone(), problem["reason"].clone()), (json!("location"), json!("Power cut")));
        assert_eq!(data(&app.get(&format!("{location}/affected-bookings?limit=2"), &agent)).len(), 2);
        let profile = app.request("GET", &format!("/v1/public/businesses/{}", slug(app)), None, &[], None).json();
        let soho = profile["locations"].as_array().unwrap().iter().find(|l| l["id"] == shop.location.as_str()).unwrap();
        assert_eq!((soho["paused"].clone(), soho["pause_reason"].clone()), (json!(true), json!("Power cut")));
    }

    fn a_pause_with_an_end_lapses_by_itself(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let path = format!("/v1/services/{}", shop.haircut);
        pause(app, &path, json!({"reason": "Back at noon", "until": rfc3339(Utc::now() + Duration::hours(1))}));
        app.post("/v1/bookings", &agent, &booking(&shop.haircut, london(3, 10, 0), "a@example.com")).problem(409, "paused");
        // The hour passes.
        exec(app, &format!("UPDATE services SET paused_until = {} WHERE id = '{}'",
            sql_time(Utc::now() - Duration::seconds(1)), shop.haircut));
        book(app, Some(&agent), &booking(&shop.haircut, london(3, 10, 0), "a@example.com"));
        // The sweeper puts it on the record.
        let ended = slotwise::store::pauses::end_lapsed(&mut app.pool.get().unwrap(), Utc::now()).unwrap();
        assert_eq!(ended, 1);
        assert_eq!(app.get(&path, &agent).json()["paused"], Value::Null);
        let resumed = events_of(app, "service.resumed");
        assert_eq!(resumed.len(), 1);
        assert_eq!(resumed[0]["data"]["how"], "its time ran out");
        assert_eq!(slotwise::store::pauses::end_lapsed(&mut app.pool.get().unwrap(), Utc::now()).unwrap(), 0);
    }

    fn no_booking_gets_in_after_a_pause_commits(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let manager = app.token(Role::Manager);
        let path = format!("/v1/services/{}/pause", shop.haircut);
        let answers = race(41, |i| {
            if i == 20 {
                let reply = app.post(&path, &manager, &json!({"reason": "Closing early"}));
                assert_eq!(reply.status, 200, "{}", reply.text);
                return (200, reply.json()["affected_bookings"].as_i64());
            }
            let start = london(5, 8, 0) + Duration::minutes(15 * i as i64);
            let reply = app.post("/v1/bookings", &agent, &booking(&shop.haircut, start, &format!("r{i}@example.com")));
            assert!(reply.status == 201 || reply.status == 409, "{}", reply.text);
            (reply.status, None)
        });
        let booked = answers.iter().filter(|(status, _)| *status == 201).count() as i64;
        let counted = answers.iter().find_map(|(_, affected)| *affected).unwrap();
        // Every booking that got in committed before the pause did: the pause
        // counted each of them, and no other exists.
        assert_eq!(counted, booked, "{answers:?}");
        assert_eq!(data(&app.get(&format!("/v1/bookings?service_id={}&limit=200", shop.haircut), &agent)).len() as i64, booked);
        eprintln!("{booked} of 40 bookings got in before the pause");
    }

    fn pauses_are_for_managers_and_need_a_reason(app: &TestApp) {
        let shop = open(app);
        let manager = app.token(Role::Manager);
        let path = format!("/v1/services/{}/pause", shop.haircut);
        let problem = app.post(&path, &manager, &json!({"reason": "  "})).problem(422, "validation_failed");
        assert!(problem["errors"]["reason"].is_string());
        let problem = app.post(&path, &manager, &json!({"reason": "x", "until": rfc3339(Utc::now() - Duration::hours(1))}))
            .problem(422, "validation_failed");
        assert!(problem["errors"]["until"].is_string());
        app.post(&path, &manager, &json!({"reason": "x", "colour": "red"})).problem(422, "validation_failed");
        app.post(&path, &manager, &json!({"reason": "x", "until": "tomorrow"})).problem(422, "validation_failed");
        app.post(&path, &app.token(Role::Agent), &json!({"reason": "x"})).problem(403, "forbidden");
        app.request("POST", &path, None, &[], Some(r#"{"reason": "x"}"#)).problem(401, "unauthenticated");
        app.post(&path, &app.token_for(&app.other_business(), Role::Admin), &json!({"reason": "x"})).problem(404, "not_found");
        app.post("/v1/services/svc_nope/pause", &manager, &json!({"reason": "x"})).problem(404, "not_found");
        app.post("/v1/bookings/bkg_nope/pause", &manager, &json!({"reason": "x"})).problem(404, "not_found");
        app.post(&format!("/v1/resources/{}/resume", shop.ana), &manager, &json!({})).problem(409, "not_paused");
        // Nothing was paused by any of that.
        assert!(events_of(app, "service.paused").is_empty());
        assert_eq!(app.get(&format!("/v1/services/{}", shop.haircut), &manager).json()["paused"], Value::Null);
    }
}

fn slug(app: &TestApp) -> String {
    let business = app.get("/v1/business", &app.token(Role::Admin)).json();
    business["slug"].as_str().unwrap().to_owned()
}
