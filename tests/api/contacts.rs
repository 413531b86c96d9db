//! Contact tracking through HTTP, on both databases: intents, interactions,
//! first-contact resolution, the contacts report, and the business settings
//! it reads (country, cost per minute).

use chrono::{Duration, DurationRound, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::memory::{count, created, data, id, log_contact, new_customer, new_intent};
use crate::on_both_databases;
use crate::shop::{book, booking, in_query, london, open, rfc3339};

fn report(app: &TestApp, query: &str) -> Value {
    let reply = app.get(
        &format!("/v1/reports/contacts?{query}"),
        &app.token(Role::Manager),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

on_both_databases! {
    fn intents_are_created_renamed_and_archived_not_deleted(app: &TestApp) {
        let manager = app.token(Role::Manager);
        let agent = app.token(Role::Agent);
        let refund = new_intent(app, "billing.refund", "Finance team");
        assert_eq!((refund["code"].as_str(), refund["owner"].as_str()), (Some("billing.refund"), Some("Finance team")));
        let path = format!("/v1/intents/{}", id(&refund));
        let read = app.get(&path, &agent);
        assert_eq!((read.status, read.header("etag")), (200, Some("\"v1\"")));
        let dup = app.post("/v1/intents", &manager, &json!({"code": "billing.refund", "name": "Again"})).problem(409, "duplicate_intent");
        assert_eq!(dup["existing_intent_id"], refund["id"]);
        let problem = app.post("/v1/intents", &manager, &json!({"code": "Bad Code", "name": ""})).problem(422, "validation_failed");
        assert!(problem["errors"]["code"].is_string() && problem["errors"]["name"].is_string());
        app.post("/v1/intents", &agent, &json!({"code": "x", "name": "X"})).problem(403, "forbidden");
        app.request("PATCH", &path, Some(&manager), &[("If-Match", "\"v5\"")], Some(r#"{"owner":"Ops"}"#)).problem(412, "version_mismatch");
        let renamed = app.request("PATCH", &path, Some(&manager), &[("If-Match", "\"v1\"")], Some(r#"{"name":"Refunds","owner":null}"#));
        assert_eq!(renamed.status, 200, "{}", renamed.text);
        assert_eq!((renamed.json()["name"].as_str(), renamed.json()["owner"].is_null()), (Some("Refunds"), true));
        app.patch(&path, &manager, &json!({"code": "other"})).problem(422, "validation_failed");
        log_contact(app, json!({"channel": "phone", "intent": "billing.refund", "outcome": "resolved", "duration_seconds": 60}));
        // Archive: gone from the list, still readable, refused for new contacts.
        assert_eq!(app.delete(&path, &manager).status, 204);
        assert_eq!(app.delete(&path, &manager).status, 204, "archiving twice is harmless");
        assert!(data(&app.get("/v1/intents", &agent)).is_empty());
        assert_eq!(data(&app.get("/v1/intents?include_archived=true", &agent)).len(), 1);
        assert!(app.get(&path, &agent).json()["archived_at"].is_string());
        let refused = app.post("/v1/interactions", &agent, &json!({"channel": "phone", "intent": "billing.refund", "outcome": "resolved", "duration_seconds": 5}));
        assert!(refused.problem(422, "validation_failed")["errors"]["intent"].is_string());
        // Its code stays taken.
        app.post("/v1/intents", &manager, &json!({"code": "billing.refund", "name": "New"})).problem(409, "duplicate_intent");
        assert_eq!(count(app, "intents"), 1);
        assert_eq!(count(app, "interactions"), 1);
        app.get("/v1/intents/itn_nope", &agent).problem(404, "not_found");
        app.delete("/v1/intents/itn_nope", &manager).problem(404, "not_found");
    }

    fn interactions_are_logged_with_the_agent_from_the_token_and_filtered(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        new_intent(app, "reschedule", "Ops");
        new_intent(app, "billing", "Finance");
        let visit = book(app, Some(&agent), &booking(&shop.haircut, london(2, 9, 0), "kim@example.com"));
        let kim = visit["customer_id"].as_str().unwrap().to_owned();
        let with_booking = log_contact(app, json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 95, "booking_id": visit["id"], "note": "moved to Friday"}));
        assert_eq!(with_booking["customer_id"], kim.as_str(), "the booking names the customer");
        // Ids order by the millisecond they were made in.
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert_eq!(with_booking["location_id"], shop.location.as_str());
        assert_eq!((with_booking["agent"].as_str(), with_booking["duration_seconds"].as_i64()), (Some("test-agent"), Some(95)));
        let desk = created(app.post("/v1/interactions", &app.token(Role::Desk), &json!({"channel": "walk_in", "intent": "billing", "outcome": "follow_up", "duration_seconds": 300, "customer_id": kim})));
        assert_eq!(desk["agent"], "test-desk");
        std::thread::sleep(std::time::Duration::from_millis(3));
        let anonymous = log_contact(app, json!({"channel": "chat", "intent": "billing", "outcome": "escalated", "duration_seconds": 0, "occurred_at": rfc3339(Utc::now() - Duration::days(2))}));
        assert!(anonymous["customer_id"].is_null());
        let got = app.get(&format!("/v1/interactions/{}", id(&desk)), &agent);
        assert_eq!((got.status, got.json()["outcome"].as_str()), (200, Some("follow_up")));
        // Filters and pagination, newest logged first.
        let ids = |query: &str| -> Vec<Value> { data(&app.get(&format!("/v1/interactions?{query}"), &agent)).iter().map(|i| i["id"].clone()).collect() };
        assert_eq!(ids(""), vec![anonymous["id"].clone(), desk["id"].clone(), with_booking["id"].clone()]);
        assert_eq!(ids("channel=walk_in"), vec![desk["id"].clone()]);
        assert_eq!(ids("outcome=escalated"), vec![anonymous["id"].clone()]);
        assert_eq!(ids("intent=billing").len(), 2);
        assert_eq!(ids(&format!("customer_id={kim}")).len(), 2);
        assert_eq!(ids(&format!("booking_id={}", id(&visit))), vec![with_booking["id"].clone()]);
        assert_eq!(ids("agent=test-desk"), vec![desk["id"].clone()]);
        assert_eq!(ids(&format!("from={}", in_query(Utc::now() - Duration::days(1)))).len(), 2);
        assert_eq!(ids(&format!("to={}", in_query(Utc::now() - Duration::days(1)))), vec![anonymous["id"].clone()]);
        let page = app.get("/v1/interactions?limit=2", &agent);
        assert_eq!(data(&page).len(), 2);
        let cursor = page.json()["next_cursor"].as_str().unwrap().to_owned();
        assert_eq!(data(&app.get(&format!("/v1/interactions?limit=2&cursor={cursor}"), &agent))[0]["id"], with_booking["id"]);
        app.get("/v1/interactions?channel=pigeon", &agent).problem(400, "validation_failed");
        app.get("/v1/interactions?from=yesterday", &agent).problem(400, "validation_failed");
        app.get(&format!("/v1/interactions?from={0}&to={0}", in_query(Utc::now())), &agent).problem(400, "validation_failed");
        // Every bad field is a 422, nothing is written.
        let bad = |body: Value, field: &str| {
            let problem = app.post("/v1/interactions", &agent, &body).problem(422, "validation_failed");
            assert!(problem["errors"][field].is_string(), "{field}: {problem}");
        };
        let base = json!({"channel": "phone", "intent": "billing", "outcome": "resolved", "duration_seconds": 60});
        let with = |field: &str, value: Value| { let mut b = base.clone(); b[field] = value; b };
        bad(with("duration_seconds", json!(-1)), "duration_seconds");
        bad(with("duration_seconds", json!(86_401)), "duration_seconds");
        app.post("/v1/interactions", &agent, &with("channel", json!("pigeon"))).problem(422, "validation_failed");
        app.post("/v1/interactions", &agent, &with("outcome", json!("fixed"))).problem(422, "validation_failed");
        bad(with("intent", json!("unknown")), "intent");
        bad(with("agent", json!("someone-else")), "agent");
        bad(with("occurred_at", json!(rfc3339(Utc::now() + Duration::hours(1)))), "occurred_at");
        bad(with("note", json!("x".repeat(2001))), "note");
        let other = new_customer(app, &agent, json!({"name": "Jo", "email": "jo@example.com"}));
        let mut mismatch = with("booking_id", visit["id"].clone());
        mismatch["customer_id"] = other["id"].clone();
        bad(mismatch, "customer_id");
        app.post("/v1/interactions", &agent, &with("customer_id", json!("cus_nope"))).problem(404, "not_found");
        app.post("/v1/interactions", &agent, &with("booking_id", json!("bkg_nope"))).problem(404, "not_found");
        app.post("/v1/interactions", &agent, &with("location_id", json!("loc_nope"))).problem(404, "not_found");
        app.get("/v1/interactions/int_nope", &agent).problem(404, "not_found");
        assert_eq!(count(app, "interactions"), 3);
    }

    fn first_contact_resolution_and_costs_add_up_on_a_known_fixture(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let manager = app.token(Role::Manager);
        let costs = app.patch("/v1/business", &manager, &json!({"contact_costs": {"phone": 60, "chat": 25}}));
        assert_eq!(costs.status, 200, "{}", costs.text);
        new_intent(app, "reschedule", "Ops");
        new_intent(app, "billing", "Finance");
        let customers: Vec<String> = (1..=4)
            .map(|i| id(&new_customer(app, &agent, json!({"name": format!("C{i}"), "email": format!("c{i}@example.com")}))))
            .collect();
        let base = (Utc::now() - Duration::days(30)).duration_trunc(Duration::hours(1)).unwrap();
        let contact = |customer: Option<&str>, intent: &str, outcome: &str, channel: &str, seconds: i64, at: chrono::DateTime<Utc>| {
            log_contact(app, json!({"channel": channel, "intent": intent, "outcome": outcome, "duration_seconds": seconds,
                                    "customer_id": customer, "occurred_at": rfc3339(at)}))
        };
        let week = Duration::days(7);
        // A: a repeat — the same customer and intent exactly seven days earlier.
        contact(Some(&customers[0]), "reschedule", "follow_up", "phone", 120, base + Duration::hours(1) - week);
        contact(Some(&customers[0]), "reschedule", "resolved", "phone", 300, base + Duration::hours(1));
        // B: the earlier contact is one second outside the window: FCR.
        contact(Some(&customers[1]), "reschedule", "resolved", "phone", 40, base + Duration::hours(2) - week - Duration::seconds(1));
        contact(Some(&customers[1]), "reschedule", "resolved", "phone", 90, base + Duration::hours(2));
        // C: an earlier contact about another intent does not count: FCR.
        contact(Some(&customers[2]), "reschedule", "resolved", "chat", 10, base - Duration::hours(1));
        contact(Some(&customers[2]), "billing", "resolved", "chat", 45, base + Duration::hours(3));
        // D: not resolved, never FCR.
        contact(Some(&customers[3]), "billing", "follow_up", "phone", 600, base + Duration::hours(4));
        // E: no known customer, resolved: FCR.
        contact(None, "billing", "resolved", "phone", 100, base + Duration::hours(5));
        // After the period: not counted.
        contact(Some(&customers[0]), "billing", "resolved", "phone", 999, base + Duration::hours(25));

        let body = report(app, &format!("from={}&to={}", in_query(base), in_query(base + Duration::days(1))));
        assert_eq!(body["fcr_window_days"], 7);
        assert_eq!(body["period"]["from"], rfc3339(base).as_str());
        let rows: Vec<(&str, &str, i64, f64, i64, i64, f64)> = body["rows"].as_array().unwrap().iter().map(|r| (
            r["intent"].as_str().unwrap(), r["channel"].as_str().unwrap(), r["contacts"].as_i64().unwrap(),
            r["total_minutes"].as_f64().unwrap(), r["estimated_cost_cents"].as_i64().unwrap(),
            r["first_contact_resolutions"].as_i64().unwrap(), r["fcr_rate"].as_f64().unwrap(),
        )).collect();
        assert_eq!(rows, vec![
            // 700 s × 60 c/min = 700 c; E is FCR, D is not
            ("billing", "phone", 2, 11.67, 700, 1, 0.5),
            // 45 s × 25 c/min = 18.75 c → 19
            ("billing", "chat", 1, 0.75, 19, 1, 1.0),
            // 390 s × 60 c/min = 390 c; B is FCR, A is a repeat
            ("reschedule", "phone", 2, 6.5, 390, 1, 0.5),
        ]);
        assert_eq!(body["rows"][1]["owner"], "Finance");
        assert_eq!(body["rows"][1]["cost_per_minute_cents"], 25);
        assert_eq!(body["totals"], json!({"contacts": 5, "total_minutes": 18.92, "estimated_cost_cents": 1109, "first_contact_resolutions": 3, "fcr_rate": 0.6}));
        assert_eq!(body["bookings"], 0);
        assert!(body["contacts_per_booking"].is_null());
        let top: Vec<(&str, i64)> = body["top_intents_by_cost"].as_array().unwrap().iter()
            .map(|i| (i["intent"].as_str().unwrap(), i["estimated_cost_cents"].as_i64().unwrap())).collect();
        assert_eq!(top, vec![("billing", 719), ("reschedule", 390)]);
    }

    fn contacts_per_booking_follow_the_location_filter(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        new_intent(app, "reschedule", "Ops");
        let first = book(app, Some(&agent), &booking(&shop.haircut, london(2, 9, 0), "a@example.com"));
        book(app, None, &booking(&shop.haircut, london(2, 10, 0), "b@example.com"));
        log_contact(app, json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60, "booking_id": first["id"]}));
        log_contact(app, json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60, "location_id": shop.location}));
        log_contact(app, json!({"channel": "email", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60}));
        let period = format!("from={}&to={}", in_query(Utc::now() - Duration::hours(1)), in_query(Utc::now() + Duration::hours(1)));
        let all = report(app, &period);
        assert_eq!((all["totals"]["contacts"].as_i64(), all["bookings"].as_i64()), (Some(3), Some(2)));
        assert_eq!(all["contacts_per_booking"], 1.5);
        assert!(all["rows"][0]["cost_per_minute_cents"].is_null(), "no costs configured: cost 0");
        assert_eq!(all["totals"]["estimated_cost_cents"], 0);
        let here = report(app, &format!("{period}&location_id={}", shop.location));
        assert_eq!((here["totals"]["contacts"].as_i64(), here["bookings"].as_i64()), (Some(2), Some(2)));
        assert_eq!(here["contacts_per_booking"], 1.0);
        let manager = app.token(Role::Manager);
        let elsewhere = created(app.post("/v1/locations", &app.token(Role::Admin), &json!({"name": "Leeds", "timezone": "Europe/London"})));
        let there = report(app, &format!("{period}&location_id={}", id(&elsewhere)));
        assert_eq!((there["totals"]["contacts"].as_i64(), there["contacts_per_booking"].is_null()), (Some(0), true));
        app.get(&format!("/v1/reports/contacts?{period}&location_id=loc_nope"), &manager).problem(404, "not_found");
        // Period errors are 400s naming the parameter; only managers read reports.
        for query in ["to=2026-01-01", "from=2026-01-01", "from=2026-01-02&to=2026-01-01", "from=2025-01-01&to=2026-06-01", "from=soon&to=later"] {
            app.get(&format!("/v1/reports/contacts?{query}"), &manager).problem(400, "validation_failed");
        }
        app.get(&format!("/v1/reports/contacts?{period}"), &agent).problem(403, "forbidden");
        // Whole local days are accepted too.
        let today = Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() - Duration::days(400);
        let old = report(app, &format!("from={today}&to={today}"));
        assert_eq!(old["totals"]["contacts"], 0);
    }

    fn the_business_sets_its_country_and_contact_costs(app: &TestApp) {
        let manager = app.token(Role::Manager);
        let agent = app.token(Role::Agent);
        let current = app.get("/v1/business", &agent);
        assert_eq!(current.status, 200, "{}", current.text);
        let body = current.json();
        assert_eq!((body["country"].is_null(), body["phone_country"].as_str()), (true, Some("GB")), "{body}");
        // A national number is read in the business's country: British by the time zone...
        let as_british = new_customer(app, &agent, json!({"name": "Lee", "phone": "(650) 253-0000"}));
        assert_eq!(as_british["phone"], "+446502530000");
        let set = app.patch("/v1/business", &manager, &json!({"country": "us", "contact_costs": {"phone": 85, "walk_in": 40}}));
        assert_eq!(set.status, 200, "{}", set.text);
        assert_eq!(set.json()["phone_country"], "US");
        assert_eq!(set.json()["contact_costs"], json!({"phone": 85, "walk_in": 40}));
        // ...and American once the business says it is in the US.
        let lee = new_customer(app, &agent, json!({"name": "Lee Two", "phone": "(650) 253-0000"}));
        assert_eq!(lee["phone"], "+16502530000");
        // Costs are replaced whole; the country goes back to the time zone's.
        let reset = app.patch("/v1/business", &manager, &json!({"country": null, "contact_costs": {"chat": 0}}));
        assert_eq!((reset.json()["phone_country"].as_str(), reset.json()["contact_costs"].clone()), (Some("GB"), json!({"chat": 0})));
        let problem = app.patch("/v1/business", &manager, &json!({"country": "XX", "contact_costs": {"phone": -1}})).problem(422, "validation_failed");
        assert!(problem["errors"]["country"].is_string() && problem["errors"]["contact_costs.phone"].is_string(), "{problem}");
        app.patch("/v1/business", &manager, &json!({"contact_costs": {"pigeon": 5}})).problem(422, "validation_failed");
        app.patch("/v1/business", &manager, &json!({"currency": "EUR"})).problem(422, "validation_failed");
        app.patch("/v1/business", &agent, &json!({"country": "US"})).problem(403, "forbidden");
        assert_eq!(app.get("/v1/business", &agent).json()["contact_costs"], json!({"chat": 0}));
    }
}
