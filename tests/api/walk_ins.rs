//! The walk-in desk through the API, on both databases: a booking at once
//! when someone is free, else a ticket with an honest estimate; the board;
//! the desk's steps and their rules; the customer's own view; running late;
//! and the races a busy desk runs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::{assert_no_overlap, race, TestApp};
use crate::memory::{data, events_of};
use crate::on_both_databases;
use crate::shop::{open, rfc3339, Shop};

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// A 20-minute trim on a 5-minute grid, so a free stylist always has a slot
/// within the 10-minute walk-in window whatever the hour the test runs.
fn trim(app: &TestApp, shop: &Shop, stylists: &[&str]) -> String {
    let reply = app.post(
        "/v1/services",
        &app.token(Role::Admin),
        &json!({
            "location_id": shop.location, "name": format!("Trim {}", stylists.len()),
            "duration_minutes": 20, "slot_step_minutes": 5,
            "requirements": [{"resource_ids": stylists}],
        }),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn walk_in(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app.post("/v1/walk-ins", token, &body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn step(app: &TestApp, ticket: &Value, action: &str) -> crate::harness::Reply {
    app.post(
        &format!(
            "/v1/queue-tickets/{}/{action}",
            ticket["id"].as_str().unwrap()
        ),
        &app.token(Role::Desk),
        &json!({}),
    )
}

fn board(app: &TestApp, shop: &Shop) -> Value {
    let reply = app.get(
        &format!("/v1/locations/{}/queue", shop.location),
        &app.token(Role::Desk),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

on_both_databases! {
    fn a_morning_at_the_desk(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana, &shop.ben]);
        let desk = app.token(Role::Desk);
        let before = Utc::now();

        // Two people walk in: each stylist is free, so each gets a booking now.
        let first = walk_in(app, &desk, json!({"service_id": service, "customer": {"name": "Kim"}}));
        assert_eq!(first["outcome"], "booked");
        let booking = &first["booking"];
        assert_eq!((booking["status"].clone(), booking["channel"].clone()), (json!("checked_in"), json!("walk_in")));
        let start = instant(&booking["start"]);
        assert!(start >= before - Duration::seconds(1) && start <= Utc::now() + Duration::minutes(10), "{start}");
        let second = walk_in(app, &desk, json!({
            "service_id": service, "customer": {"name": "Lee", "phone": "+44 7700 900123"}
        }));
        assert_eq!(second["outcome"], "booked");
        assert_ne!(booking["resource_ids"], second["booking"]["resource_ids"]);

        // The third waits, with a code, a place and an honest range.
        let third = walk_in(app, &desk, json!({"service_id": service, "customer": {"name": "Max"}, "party_size": 2}));
        assert_eq!(third["outcome"], "queued");
        let ticket = third["ticket"].clone();
        assert_eq!((ticket["code"].clone(), ticket["status"].clone(), ticket["position"].clone()),
            (json!("A001"), json!("waiting"), json!(1)));
        assert_eq!(ticket["party_size"], 2);
        let earliest = instant(&ticket["estimated_start_earliest"]);
        let latest = instant(&ticket["estimated_start_latest"]);
        // Nobody is free until the first visit (20 minutes) is over.
        assert!(earliest >= start + Duration::minutes(20) - Duration::seconds(1), "{earliest} vs {start}");
        assert!(earliest <= Utc::now() + Duration::minutes(31) && latest >= earliest);
        // Both stylists have a visit due within minutes: that is the reason.
        assert!(ticket["estimate_reason"].as_str().unwrap().contains("2 appointments due"), "{ticket}");
        assert_eq!(ticket["estimate"]["ahead"], 0);
        assert!(ticket["ticket_token"].as_str().is_some());
        assert_eq!(events_of(app, "queue.ticket_created").len(), 1);

        // A fourth, behind them, is never promised earlier.
        let fourth = walk_in(app, &desk, json!({"service_id": service}))["ticket"].clone();
        assert_eq!((fourth["code"].clone(), fourth["position"].clone()), (json!("A002"), json!(2)));
        assert_eq!(fourth["customer_name"], "Walk-in");
        assert!(instant(&fourth["estimated_start_earliest"]) >= earliest);

        // The board: two arrived, then the tickets, in serve order.
        let b = board(app, &shop);
        let kinds: Vec<&str> = b["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["arrived", "arrived", "waiting", "waiting"], "{b}");
        assert_eq!(b["entries"][2]["code"], "A001");
        assert_eq!(b["waiting_count"], 2);

        // Steps follow the desk's rules.
        step(app, &ticket, "seat").problem(409, "invalid_transition");
        step(app, &ticket, "no-show").problem(409, "invalid_transition");
        let called = step(app, &ticket, "call");
        assert_eq!(called.status, 200, "{}", called.text);
        assert_eq!(called.json()["ticket"]["status"], "called");
        assert_eq!(called.header("etag"), Some("\"v2\""));
        step(app, &ticket, "call").problem(409, "invalid_transition");
        // Both stylists have someone due now: nobody can take them yet.
        step(app, &ticket, "seat").problem(409, "slot_unavailable");

        // Kim's visit runs and ends early; that frees Kim's stylist at once.
        let kim = booking["id"].as_str().unwrap();
        let admin = app.token(Role::Admin);
        for action in ["start", "complete"] {
            let r = app.post(&format!("/v1/bookings/{kim}/{action}"), &admin, &json!({}));
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let stale = app.request("POST", &format!("/v1/queue-tickets/{}/seat", ticket["id"].as_str().unwrap()),
            Some(&desk), &[("If-Match", "\"v1\"")], Some("{}"));
        stale.problem(412, "version_mismatch");
        let seated = step(app, &ticket, "seat");
        assert_eq!(seated.status, 200, "{}", seated.text);
        let seated = seated.json();
        assert_eq!(seated["ticket"]["status"], "seated");
        assert_eq!(seated["booking"]["status"], "in_service");
        assert_eq!(seated["booking"]["channel"], "walk_in");
        assert_eq!(seated["booking"]["resource_ids"], booking["resource_ids"]);
        assert_eq!(seated["ticket"]["booking_id"], seated["booking"]["id"]);
        let max = app.get(&format!("/v1/customers/{}", seated["booking"]["customer_id"].as_str().unwrap()), &admin).json();
        assert_eq!(max["name"], "Max");

        // The one behind moves up; a no-show needs a call first.
        let b = board(app, &shop);
        let kinds: Vec<&str> = b["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["in_service", "arrived", "waiting"], "{b}");
        assert_eq!(b["entries"][2]["position"], 1);
        assert_eq!(step(app, &fourth, "call").status, 200);
        let gone = step(app, &fourth, "no-show");
        assert_eq!(gone.status, 200, "{}", gone.text);
        assert_eq!(gone.json()["ticket"]["status"], "no_show");
        step(app, &fourth, "cancel").problem(409, "invalid_transition");
        assert_eq!(board(app, &shop)["waiting_count"], 0);

        for kind in ["queue.ticket_called", "queue.ticket_seated", "queue.ticket_no_show"] {
            assert!(!events_of(app, kind).is_empty(), "{kind}");
        }
        let seated_events = events_of(app, "queue.ticket_seated");
        assert_eq!(seated_events[0]["data"]["booking_id"], seated["booking"]["id"]);
        assert_no_overlap(&mut app.pool.get().unwrap());
    }

    fn a_known_caller_is_recognised_and_a_ticket_can_be_followed_by_its_holder(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana]);
        let desk = app.token(Role::Desk);
        let agent = app.token(Role::Agent);
        // Ana is busy now; the regular customer queues.
        walk_in(app, &desk, json!({"service_id": service}));
        let known = app.post("/v1/customers", &agent, &json!({"name": "Robin Hood", "email": "robin@example.com"}));
        assert_eq!(known.status, 201, "{}", known.text);
        let queued = walk_in(app, &desk, json!({
            "service_id": service, "customer": {"name": "R. Hood", "email": "ROBIN@example.com"}
        }));
        let ticket = &queued["ticket"];
        assert_eq!(ticket["customer_id"], known.json()["id"]);
        assert_eq!(ticket["customer_name"], "Robin Hood");
        assert!(queued["context"]["upcoming_bookings"].is_array(), "{queued}");

        let id = ticket["id"].as_str().unwrap();
        let token = ticket["ticket_token"].as_str().unwrap();
        let own = app.get(&format!("/v1/queue-tickets/{id}"), token);
        assert_eq!(own.status, 200, "{}", own.text);
        assert_eq!((own.json()["code"].clone(), own.json()["position"].clone()), (json!("A001"), json!(1)));
        assert!(own.json().get("ticket_token").is_none());
        assert_eq!(ticket["page_url"], format!("/queue/{id}#token={token}"));
        // Another ticket's token, a customer's booking token and nobody at all.
        let other = walk_in(app, &desk, json!({"service_id": service}))["ticket"].clone();
        app.get(&format!("/v1/queue-tickets/{id}"), other["ticket_token"].as_str().unwrap()).problem(404, "not_found");
        app.get(&format!("/v1/queue-tickets/{id}"), &app.token_with(Role::Customer, id, "bookings:manage", 5)).problem(404, "not_found");
        app.request("GET", &format!("/v1/queue-tickets/{id}"), None, &[], None).problem(401, "unauthenticated");
        // Staff of another business do not see it either.
        let elsewhere = app.token_for(&app.other_business(), Role::Desk);
        app.get(&format!("/v1/queue-tickets/{id}"), &elsewhere).problem(404, "not_found");

        let page = app.request("GET", &format!("/queue/{id}"), None, &[], None);
        assert_eq!(page.status, 200);
        assert!(page.header("content-type").unwrap().starts_with("text/html"));
        assert!(page.text.contains(&format!("data-ticket=\"{id}\"")));
        let hostile = app.request("GET", "/queue/%22%3E%3Cscript%3E", None, &[], None);
        assert!(!hostile.text.contains("\"><script>"), "the id is not echoed raw");
    }

    fn the_desk_is_refused_what_it_may_not_do(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana]);
        let desk = app.token(Role::Desk);
        let body = json!({"service_id": service});
        app.post("/v1/walk-ins", &app.token(Role::Customer), &body).problem(403, "forbidden");
        app.post("/v1/walk-ins", &app.token(Role::Partner), &body).problem(403, "forbidden");
        app.request("POST", "/v1/walk-ins", None, &[], Some(&body.to_string())).problem(401, "unauthenticated");
        let wrong = app.post("/v1/walk-ins", &desk, &json!({"service_id": service, "party_size": 0,
            "customer": {"name": " ", "email": "nope"}})).problem(422, "validation_failed");
        for field in ["party_size", "customer.name", "customer.email"] {
            assert!(wrong["errors"].get(field).is_some(), "{field}: {wrong}");
        }
        app.post("/v1/walk-ins", &desk, &json!({"service_id": service, "customer_id": "cus_x", "customer": {"name": "A"}}))
            .problem(422, "validation_failed");
        app.post("/v1/walk-ins", &desk, &json!({"service_id": "svc_nope"})).problem(404, "not_found");
        let unknown = app.post("/v1/walk-ins", &desk, &json!({"service_id": service, "table": 4})).problem(422, "validation_failed");
        assert!(unknown["errors"]["table"].is_string(), "{unknown}");
        // A service closed to walk-ins says which rule.
        let online_only = app.post("/v1/services", &app.token(Role::Admin), &json!({
            "location_id": shop.location, "name": "Online only", "duration_minutes": 20, "slot_step_minutes": 5,
            "requirements": [{"resource_ids": [shop.ana]}], "policy": {"channels": ["online"]}
        })).json()["id"].as_str().unwrap().to_owned();
        let refused = app.post("/v1/walk-ins", &desk, &json!({"service_id": online_only})).problem(422, "policy_violation");
        assert_eq!(refused["rule"], "channels");
        // Paused: every door says why, the desk too.
        let paused = app.post(&format!("/v1/resources/{}/pause", shop.ana), &app.token(Role::Manager), &json!({"reason": "Off sick"}));
        assert_eq!(paused.status, 200, "{}", paused.text);
        let problem = app.post("/v1/walk-ins", &desk, &body).problem(409, "paused");
        assert_eq!(problem["reason"], "Off sick");

        // Agents take walk-ins and read the board but do not run the queue.
        app.post(&format!("/v1/resources/{}/resume", shop.ana), &app.token(Role::Manager), &json!({}));
        let agent = app.token(Role::Agent);
        walk_in(app, &agent, body.clone());
        let ticket = walk_in(app, &agent, body.clone())["ticket"].clone();
        let id = ticket["id"].as_str().unwrap();
        app.post(&format!("/v1/queue-tickets/{id}/call"), &agent, &json!({})).problem(403, "forbidden");
        assert_eq!(app.get(&format!("/v1/locations/{}/queue", shop.location), &agent).status, 200);
        app.get(&format!("/v1/locations/{}/queue", shop.location), &app.token(Role::Customer)).problem(403, "forbidden");
        app.get("/v1/locations/loc_nope/queue", &agent).problem(404, "not_found");
        app.post("/v1/queue-tickets/qtk_nope/call", &desk, &json!({})).problem(404, "not_found");
        let long = "x".repeat(501);
        app.post(&format!("/v1/queue-tickets/{id}/cancel"), &desk, &json!({"reason": long})).problem(422, "validation_failed");
        let cancelled = app.post(&format!("/v1/queue-tickets/{id}/cancel"), &desk, &json!({"reason": "Had to go"}));
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!(cancelled.json()["ticket"]["cancel_reason"], "Had to go");
        assert_eq!(cancelled.json()["ticket"]["position"], Value::Null);
    }

    fn running_late_moves_estimates_and_tells_the_booked(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana]);
        let desk = app.token(Role::Desk);
        let manager = app.token(Role::Manager);
        let booked = walk_in(app, &desk, json!({"service_id": service, "customer": {"name": "Kim", "email": "kim@example.com"}}));
        let ticket = walk_in(app, &desk, json!({"service_id": service}))["ticket"].clone();
        let before = instant(&ticket["estimated_start_earliest"]);

        let sent = app.post("/v1/broadcasts", &manager, &json!({
            "kind": "running_late", "resource_id": shop.ana, "minutes": 30, "message": "Sorry, a long colour job."
        }));
        assert_eq!(sent.status, 201, "{}", sent.text);
        let sent = sent.json();
        assert_eq!((sent["bookings_affected"].clone(), sent["tickets_affected"].clone(), sent["notifications_planned"].clone()),
            (json!(1), json!(1), json!(1)));
        let id = sent["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/v1/broadcasts/{id}"), &app.token(Role::Agent)).json()["minutes"], 30);

        let after = app.get(&format!("/v1/queue-tickets/{}", ticket["id"].as_str().unwrap()), &desk).json();
        assert!(instant(&after["estimated_start_earliest"]) >= before + Duration::minutes(29), "{after}");
        assert!(after["estimate_reason"].as_str().unwrap().contains("running 30 min late"));
        let kim = app.get(&format!("/v1/bookings/{}", booked["booking"]["id"].as_str().unwrap()), &desk).json();
        assert_eq!(instant(&kim["expected_start"]), instant(&kim["start"]) + Duration::minutes(30));
        let notices = data(&app.get(&format!("/v1/customers/{}/notifications", kim["customer_id"].as_str().unwrap()), &manager));
        assert!(notices.iter().any(|n| n["kind"] == "notice"), "{notices:?}");
        let event = &events_of(app, "broadcast.sent")[0];
        assert_eq!((event["data"]["bookings_affected"].clone(), event["data"]["minutes"].clone()), (json!(1), json!(30)));
        assert_eq!(events_of(app, "queue.estimate_changed").len(), 1);

        // What a broadcast must say, and who may send one.
        for (body, field) in [
            (json!({"kind": "running_late", "resource_id": shop.ana, "message": "late"}), "minutes"),
            (json!({"kind": "running_late", "resource_id": shop.ana, "minutes": 0, "message": "late"}), "minutes"),
            (json!({"kind": "disruption", "resource_id": shop.ana, "location_id": shop.location, "message": "x"}), "resource_id"),
            (json!({"kind": "closure", "location_id": shop.location, "message": "  "}), "message"),
            (json!({"kind": "running_late", "service_id": service, "minutes": 5, "message": "x"}), "service_id"),
        ] {
            let p = app.post("/v1/broadcasts", &manager, &body).problem(422, "validation_failed");
            assert!(p["errors"].get(field).is_some(), "{field}: {p}");
        }
        let backwards = json!({"kind": "closure", "location_id": shop.location, "message": "Closed",
            "from": rfc3339(Utc::now() + Duration::hours(2)), "to": rfc3339(Utc::now() + Duration::hours(1))});
        app.post("/v1/broadcasts", &manager, &backwards).problem(422, "validation_failed");
        app.post("/v1/broadcasts", &desk, &json!({"kind": "closure", "location_id": shop.location, "message": "x"}))
            .problem(403, "forbidden");
        app.post("/v1/broadcasts", &manager, &json!({"kind": "closure", "location_id": "loc_nope", "message": "x"}))
            .problem(404, "not_found");
        app.get("/v1/broadcasts/brd_nope", &manager).problem(404, "not_found");
    }

    fn two_desks_seating_one_ticket_seat_it_once(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana, &shop.ben]);
        let desk = app.token(Role::Desk);
        // Ana takes a walk-in at once, Ben is booked through the phone, and
        // one more waits: when Ana's visit ends, two desks seat them at once.
        let kim = walk_in(app, &desk, json!({"service_id": service, "resource_id": shop.ana}))["booking"].clone();
        let lee = walk_in(app, &desk, json!({"service_id": service, "resource_id": shop.ben}));
        assert_eq!(lee["outcome"], "booked");
        let ticket = walk_in(app, &desk, json!({"service_id": service}))["ticket"].clone();
        assert_eq!(step(app, &ticket, "call").status, 200);
        for action in ["start", "complete"] {
            let r = app.post(&format!("/v1/bookings/{}/{action}", kim["id"].as_str().unwrap()), &desk, &json!({}));
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let replies = race(4, |_| step(app, &ticket, "seat"));
        let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        for r in replies.iter().filter(|r| r.status != 200) {
            r.problem(409, "invalid_transition");
        }
        let seated: Vec<Value> = data(&app.get(&format!("/v1/bookings?service_id={service}&status=in_service"), &desk));
        assert_eq!(seated.len(), 1, "one booking for one ticket");
        assert_no_overlap(&mut app.pool.get().unwrap());
    }

    fn a_walk_in_and_an_online_booking_never_share_a_slot(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana]);
        let desk = app.token(Role::Desk);
        for round in 0..3 {
            // The first free start of the day's grid within the window.
            let now = Utc::now();
            let from = rfc3339(now).replace(':', "%3A").replace('+', "%2B");
            let to = rfc3339(now + Duration::minutes(10)).replace(':', "%3A");
            let slots = app.request("GET", &format!("/v1/availability?service_id={service}&from={from}&to={to}"), None, &[], None);
            assert_eq!(slots.status, 200, "{}", slots.text);
            let Some(start) = slots.json()["days"].as_array().unwrap().iter()
                .flat_map(|d| d["slots"].as_array().unwrap().clone()).map(|s| s["start"].clone()).next() else {
                // A previous round's booking holds Ana until after the window.
                break;
            };
            let online = json!({"service_id": service, "start": start,
                "customer": {"name": "Web", "email": format!("web{round}@example.com")}});
            let replies = race(2, |i| {
                if i == 0 {
                    app.request("POST", "/v1/bookings", None, &[], Some(&online.to_string()))
                } else {
                    app.post("/v1/walk-ins", &desk, &json!({"service_id": service}))
                }
            });
            let (web, walk) = (&replies[0], &replies[1]);
            assert!(web.status == 201 || web.status == 409, "{}", web.text);
            assert_eq!(walk.status, 201, "{}", walk.text);
            let walked = walk.json();
            let walk_start = walked["booking"]["start"].clone();
            if web.status == 201 {
                assert_ne!(walk_start, start, "both took {start}");
            } else {
                web.problem(409, "slot_unavailable");
                assert_eq!(walk_start, start, "the walk-in won the slot");
            }
        }
        assert_no_overlap(&mut app.pool.get().unwrap());
    }

    fn concurrent_walk_ins_get_distinct_codes_and_places(app: &TestApp) {
        let shop = open(app);
        let service = trim(app, &shop, &[&shop.ana]);
        let desk = app.token(Role::Desk);
        walk_in(app, &desk, json!({"service_id": service}));
        let replies = race(6, |_| app.post("/v1/walk-ins", &desk, &json!({"service_id": service})));
        let mut codes: Vec<String> = replies.iter().map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.json()["ticket"]["code"].as_str().unwrap().to_owned()
        }).collect();
        codes.sort();
        assert_eq!(codes, ["A001", "A002", "A003", "A004", "A005", "A006"]);
        let b = board(app, &shop);
        let positions: Vec<i64> = b["entries"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "waiting").map(|e| e["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, [1, 2, 3, 4, 5, 6]);
        // Same service, more ahead: never an earlier estimate.
        let starts: Vec<DateTime<Utc>> = b["entries"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "waiting").map(|e| instant(&e["estimated_start_earliest"])).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    }
}
