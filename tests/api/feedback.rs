//! Feedback after a completed visit, and the feedback and booking reports,
//! through HTTP on both databases.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::memory::{
    complete, count, created, data, exec, feedback_token, hours_ago, id, past_booking, sql_time,
    step,
};
use crate::on_both_databases;
use crate::shop::{book, booking, in_query, london, open, rfc3339};

fn answer(app: &TestApp, token: Option<&str>, body: Value) -> crate::harness::Reply {
    app.request("POST", "/v1/feedback", token, &[], Some(&body.to_string()))
}

/// A past visit pinned to resources, booked by `role` (its channel).
fn visit(
    app: &TestApp,
    role: Role,
    service: &str,
    resources: &[&str],
    start: DateTime<Utc>,
    email: &str,
) -> Value {
    book(
        app,
        Some(&app.token(role)),
        &json!({
            "service_id": service, "start": rfc3339(start), "resource_ids": resources,
            "customer": {"name": "Guest", "email": email},
            "override": {"rules": ["min_notice"], "reason": "entered after the visit"}
        }),
    )
}

on_both_databases! {
    fn a_completed_visit_asks_for_feedback_once_and_takes_one_answer(app: &TestApp) {
        let shop = open(app);
        let kim_visit = past_booking(app, &shop.haircut, hours_ago(3), json!({"name": "Kim", "email": "kim@example.com"}));
        let kim = app.token_with(Role::Customer, kim_visit["customer_id"].as_str().unwrap(), "", 30);
        let jo_visit = past_booking(app, &shop.haircut, hours_ago(5), json!({"name": "Jo", "email": "jo@example.com"}));
        let jo = app.token_with(Role::Customer, jo_visit["customer_id"].as_str().unwrap(), "", 30);
        let scores = |extra: Value| { let mut b = json!({"nps": 9, "effort": 2}); for (k, v) in extra.as_object().unwrap() { b[k] = v.clone(); } b };
        // Not completed yet: nothing to answer.
        answer(app, Some(&kim), scores(json!({"booking_id": kim_visit["id"]}))).problem(404, "not_found");
        assert_eq!(count(app, "feedback_requests"), 0);
        complete(app, &id(&kim_visit));
        assert_eq!(count(app, "feedback_requests"), 1);
        let token = feedback_token(app, &id(&kim_visit));
        assert!(token.starts_with("fbt_"));
        // A partner app following the events never receives the customer's token.
        let partner = app.token_with(Role::Partner, "partner-app", "events:read", 30);
        let seen = app.get("/v1/events?type=feedback.requested", &partner);
        assert_eq!(seen.status, 200, "{}", seen.text);
        let event = &seen.json()["data"][0];
        assert_eq!(event["data"]["booking_id"], kim_visit["id"]);
        assert!(event["data"].get("token").is_none(), "{event}");
        // Every documented refusal, none of which writes anything.
        let problem = answer(app, None, json!({"token": token, "nps": 11, "effort": 0, "comment": "x".repeat(2001)})).problem(422, "validation_failed");
        for field in ["nps", "effort", "comment"] {
            assert!(problem["errors"][field].is_string(), "{field}: {problem}");
        }
        answer(app, None, scores(json!({"token": token, "effort": 8}))).problem(422, "validation_failed");
        answer(app, None, json!({"token": token, "nps": "ten", "effort": 2})).problem(422, "validation_failed");
        answer(app, None, scores(json!({"token": token, "rating": 5}))).problem(422, "validation_failed");
        answer(app, Some(&kim), scores(json!({}))).problem(422, "validation_failed");
        answer(app, None, scores(json!({}))).problem(401, "unauthenticated");
        answer(app, None, scores(json!({"booking_id": kim_visit["id"]}))).problem(401, "unauthenticated");
        answer(app, Some(&app.token(Role::Agent)), scores(json!({"token": token}))).problem(403, "forbidden");
        answer(app, Some(&app.token_with(Role::Partner, "partner-app", "bookings:write", 30)), scores(json!({"token": token}))).problem(403, "forbidden");
        answer(app, None, scores(json!({"token": "fbt_forged"}))).problem(404, "not_found");
        answer(app, Some(&jo), scores(json!({"booking_id": kim_visit["id"]}))).problem(404, "not_found");
        answer(app, Some(&jo), scores(json!({"token": token}))).problem(404, "not_found");
        app.request("POST", "/v1/feedback", None, &[], Some("{")).problem(400, "malformed_json");
        assert_eq!(count(app, "feedback"), 0);
        // The answer, with the token alone.
        let given = answer(app, None, json!({"token": token, "nps": 9, "effort": 2, "comment": "  Lovely, thank you "}));
        assert_eq!(given.status, 201, "{}", given.text);
        let body = given.json();
        assert_eq!(given.header("location").map(str::to_owned), Some(format!("/v1/feedback/{}", id(&body))));
        assert_eq!((body["nps"].as_i64(), body["effort"].as_i64(), body["comment"].as_str()), (Some(9), Some(2), Some("Lovely, thank you")));
        assert_eq!(body["booking_id"], kim_visit["id"]);
        let received = data(&app.get(&format!("/v1/events?type=feedback.received&subject_id={}", id(&body)), &app.token(Role::Agent)));
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["data"]["nps"], 9);
        // Once per booking, by whichever door.
        let again = answer(app, None, scores(json!({"token": token}))).problem(409, "feedback_already_given");
        assert_eq!(again["feedback_id"], body["id"]);
        answer(app, Some(&kim), scores(json!({"booking_id": kim_visit["id"]}))).problem(409, "feedback_already_given");
        assert_eq!(count(app, "feedback"), 1);
        // A customer token with the booking works as well as the token.
        complete(app, &id(&jo_visit));
        let by_login = answer(app, Some(&jo), json!({"booking_id": jo_visit["id"], "nps": 4, "effort": 5}));
        assert_eq!(by_login.status, 201, "{}", by_login.text);
        // Completing does not ask twice; reading: staff, and the customer its own.
        assert_eq!(count(app, "feedback_requests"), 2);
        let path = format!("/v1/feedback/{}", id(&body));
        assert_eq!(app.get(&path, &app.token(Role::Manager)).status, 200);
        assert_eq!(app.get(&path, &kim).status, 200);
        app.get(&path, &jo).problem(404, "not_found");
        app.get(&path, &app.token_with(Role::Partner, "partner-app", "bookings:read", 30)).problem(403, "forbidden");
        app.get("/v1/feedback/fbk_nope", &app.token(Role::Agent)).problem(404, "not_found");
    }

    fn the_feedback_report_computes_nps_effort_and_response_rate(app: &TestApp) {
        let shop = open(app);
        let (ana, ben, room) = (shop.ana.as_str(), shop.ben.as_str(), shop.room.as_str());
        let visits = [
            (Role::Agent, &shop.haircut, vec![ana], 2, Some((10, 2))),
            (Role::Agent, &shop.haircut, vec![ben], 3, Some((9, 1))),
            (Role::Desk, &shop.haircut, vec![ana], 4, Some((7, 3))),
            (Role::Desk, &shop.facial, vec![ben, room], 6, Some((3, 6))),
            (Role::Agent, &shop.haircut, vec![ben], 8, None),
        ];
        for (i, (role, service, resources, hours, scores)) in visits.iter().enumerate() {
            let booked = visit(app, *role, service, resources, hours_ago(*hours), &format!("v{i}@example.com"));
            complete(app, &id(&booked));
            if let Some((nps, effort)) = scores {
                let token = feedback_token(app, &id(&booked));
                created(answer(app, None, json!({"token": token, "nps": nps, "effort": effort})));
            }
        }
        let manager = app.token(Role::Manager);
        let period = format!("from={}&to={}", in_query(Utc::now() - Duration::hours(1)), in_query(Utc::now() + Duration::hours(1)));
        let reply = app.get(&format!("/v1/reports/feedback?{period}"), &manager);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["overall"], json!({"requests": 5, "responses": 4, "response_rate": 0.8, "promoters": 2, "passives": 1,
                                           "detractors": 1, "nps": 25.0, "mean_effort": 3.0}));
        let group = |list: &str, key: &str| -> Value {
            body[list].as_array().unwrap().iter().find(|g| g["key"] == key).cloned().unwrap_or_else(|| panic!("{list} {key}: {body}"))
        };
        let haircut = group("by_service", &shop.haircut);
        assert_eq!((haircut["name"].as_str(), haircut["requests"].as_i64(), haircut["nps"].as_f64(), haircut["mean_effort"].as_f64(), haircut["response_rate"].as_f64()),
                   (Some("Haircut"), Some(4), Some(66.7), Some(2.0), Some(0.75)));
        let facial = group("by_service", &shop.facial);
        assert_eq!((facial["nps"].as_f64(), facial["mean_effort"].as_f64()), (Some(-100.0), Some(6.0)));
        let by_ana = group("by_resource", ana);
        assert_eq!((by_ana["name"].as_str(), by_ana["requests"].as_i64(), by_ana["nps"].as_f64(), by_ana["mean_effort"].as_f64()), (Some("Ana"), Some(2), Some(50.0), Some(2.5)));
        let by_ben = group("by_resource", ben);
        assert_eq!((by_ben["requests"].as_i64(), by_ben["nps"].as_f64(), by_ben["mean_effort"].as_f64(), by_ben["response_rate"].as_f64()), (Some(3), Some(0.0), Some(3.5), Some(0.6667)));
        assert_eq!(group("by_resource", room)["nps"], -100.0);
        let phone = group("by_channel", "phone");
        assert_eq!((phone["requests"].as_i64(), phone["nps"].as_f64(), phone["mean_effort"].as_f64()), (Some(3), Some(100.0), Some(1.5)));
        let walk_in = group("by_channel", "walk_in");
        assert_eq!((walk_in["nps"].as_f64(), walk_in["mean_effort"].as_f64()), (Some(-50.0), Some(4.5)));
        // A period without visits has no scores.
        let empty = app.get(&format!("/v1/reports/feedback?from={}&to={}", in_query(Utc::now() - Duration::days(9)), in_query(Utc::now() - Duration::days(8))), &manager).json();
        assert_eq!((empty["overall"]["requests"].as_i64(), empty["overall"]["nps"].is_null()), (Some(0), true));
        app.get(&format!("/v1/reports/feedback?{period}"), &app.token(Role::Agent)).problem(403, "forbidden");
        app.get("/v1/reports/feedback?from=2026-01-01", &manager).problem(400, "validation_failed");
    }

    fn the_bookings_report_counts_channels_statuses_rates_and_lead_time(app: &TestApp) {
        let shop = open(app);
        let no_show = past_booking(app, &shop.haircut, hours_ago(6), json!({"name": "A", "email": "a@example.com"}));
        step(app, &id(&no_show), "no-show");
        let walked_in = visit(app, Role::Desk, &shop.haircut, &[], hours_ago(5), "b@example.com");
        complete(app, &id(&walked_in));
        let cancelled = book(app, None, &booking(&shop.haircut, london(5, 9, 0), "c@example.com"));
        step(app, &id(&cancelled), "cancel");
        let waiting = book(app, None, &booking(&shop.haircut, london(5, 10, 0), "d@example.com"));
        let done = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(5, 11, 0), "e@example.com"));
        complete(app, &id(&done));
        // Outside the period: not counted.
        book(app, None, &booking(&shop.haircut, london(7, 9, 0), "f@example.com"));
        // Known lead times (minutes from booking to start).
        for (booked, minutes) in [(&no_show, 60), (&walked_in, 30), (&cancelled, 1440), (&waiting, 120), (&done, 10)] {
            let start = DateTime::parse_from_rfc3339(booked["start"].as_str().unwrap()).unwrap().with_timezone(&Utc);
            exec(app, &format!("UPDATE bookings SET created_at = {} WHERE id = '{}'", sql_time(start - Duration::minutes(minutes)), id(booked)));
        }
        let manager = app.token(Role::Manager);
        let period = format!("from={}&to={}", in_query(hours_ago(48)), in_query(london(6, 0, 0)));
        let reply = app.get(&format!("/v1/reports/bookings?{period}"), &manager);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["bookings"], 5);
        assert_eq!(body["by_status"], json!({"cancelled": 1, "completed": 2, "confirmed": 1, "no_show": 1}));
        // One no-show of three visits that were due (two completed, one missed).
        assert_eq!(body["no_show_rate"], 0.3333);
        assert_eq!(body["cancellation_rate"], 0.2);
        assert_eq!(body["lead_time"], json!({"mean_minutes": 332.0, "median_minutes": 60.0}));
        let channel = |name: &str| body["by_channel"].as_array().unwrap().iter().find(|c| c["channel"] == name).cloned().unwrap();
        let online = channel("online");
        assert_eq!((online["bookings"].as_i64(), online["cancellation_rate"].as_f64(), online["no_show_rate"].is_null()), (Some(2), Some(0.5), true));
        assert_eq!(online["lead_time"], json!({"mean_minutes": 780.0, "median_minutes": 780.0}));
        let phone = channel("phone");
        assert_eq!(phone["by_status"], json!({"completed": 1, "no_show": 1}));
        assert_eq!((phone["no_show_rate"].as_f64(), phone["lead_time"]["mean_minutes"].as_f64()), (Some(0.5), Some(35.0)));
        assert_eq!(channel("walk_in")["by_status"], json!({"completed": 1}));
        app.get(&format!("/v1/reports/bookings?{period}"), &app.token(Role::Desk)).problem(403, "forbidden");
        app.get("/v1/reports/bookings?from=2026-02-01&to=2026-01-01", &manager).problem(400, "validation_failed");
    }
}
