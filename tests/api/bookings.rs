//! Availability, holds, bookings and their lifecycle, through HTTP, on both databases.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::json;
use slotwise::api::auth::Role;
use slotwise::ids::{BookingId, HoldId};
use slotwise::store::stored::Stored;

use crate::harness::count;
use crate::harness::TestApp;
use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339, slot_starts};

fn events_of(app: &TestApp, subject: &str) -> Vec<String> {
    let reply = app.get(
        &format!("/v1/events?subject_id={subject}"),
        &app.token(Role::Agent),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

on_both_databases! {
    fn a_stored_status_this_build_does_not_know_is_never_stepped_as_confirmed(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let made = book(app, Some(&agent), &booking(&shop.haircut, london(3, 11, 0), "odd@example.com"));
        let id = made["id"].as_str().unwrap();
        crate::memory::exec(app, &format!("UPDATE bookings SET status = 'mystery' WHERE id = '{id}'"));
        // Reads still render; the step refuses instead of cancelling a "confirmed" booking.
        assert_eq!(app.get(&format!("/v1/bookings/{id}"), &agent).status, 200);
        let reply = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({}));
        assert_eq!(reply.status, 500, "{}", reply.text);
        assert_eq!(count(app, &format!("bookings WHERE id = '{id}' AND status = 'mystery'")), 1);
    }

    fn a_resource_kind_is_stored_as_its_word_and_read_back_as_it(app: &TestApp) {
        use slotwise::domain::catalog::ResourceKind;
        let shop = open(app);
        let admin = app.token(Role::Admin);
        // The schema's CHECK keeps unknown kinds out; each known one goes in
        // as its word and comes back as the same kind.
        for kind in [ResourceKind::Staff, ResourceKind::Room, ResourceKind::Equipment] {
            let made = app.post("/v1/resources", &admin, &json!({"location_id": shop.location, "name": "Any", "kind": kind.as_str()}));
            assert_eq!(made.status, 201, "{}", made.text);
            let id = made.json()["id"].as_str().unwrap().to_owned();
            assert_eq!(count(app, &format!("resources WHERE id = '{id}' AND kind = '{}'", kind.as_str())), 1);
            let row = slotwise::store::resources::find(&mut app.pool.get().unwrap(), &app.business, &id).unwrap();
            assert_eq!(row.kind, Stored::Known(kind));
        }
    }

    fn a_stored_channel_this_build_does_not_know_is_kept_and_reported_as_written(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let made = book(app, Some(&agent), &booking(&shop.haircut, london(3, 12, 0), "fax@example.com"));
        let id = made["id"].as_str().unwrap();
        crate::memory::exec(app, &format!("UPDATE bookings SET channel = 'fax' WHERE id = '{id}'"));
        // Read back as the unknown word with its text, not as a default door.
        let row = slotwise::store::bookings::find(&mut app.pool.get().unwrap(), &app.business, &BookingId::from(id), None).unwrap();
        assert_eq!(row.channel, Stored::Unknown("fax".into()));
        assert_eq!(app.get(&format!("/v1/bookings/{id}"), &agent).status, 200);
        // The door does not decide a step: the cancellation goes through, the
        // row keeps its word and the event says what the row says.
        let reply = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({}));
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(count(app, &format!("bookings WHERE id = '{id}' AND channel = 'fax' AND status = 'cancelled'")), 1);
        let cancelled = crate::memory::events_of(app, "booking.cancelled");
        let event = cancelled.iter().find(|e| e["data"]["booking_id"] == id).expect("a booking.cancelled event");
        assert_eq!(event["data"]["channel"], "fax");
    }

    fn a_stored_hold_channel_this_build_does_not_know_is_kept_and_the_hold_still_books(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let hold = app.post("/v1/holds", &agent, &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 13, 0))}));
        assert_eq!(hold.status, 201, "{}", hold.text);
        let hold_id = hold.json()["id"].as_str().unwrap().to_owned();
        crate::memory::exec(app, &format!("UPDATE holds SET channel = 'fax' WHERE id = '{hold_id}'"));
        let row = slotwise::store::holds::find(&mut app.pool.get().unwrap(), Some(&app.business), &HoldId::from(hold_id.as_str())).unwrap();
        assert_eq!(row.channel, Stored::Unknown("fax".into()));
        let made = book(app, Some(&agent), &json!({"hold_id": hold_id, "customer": {"name": "Sam", "email": "hold-fax@example.com"}}));
        // The booking's door is the caller's, never the hold's stored word.
        assert_eq!(made["channel"], "phone");
        assert_eq!(count(app, &format!("holds WHERE id = '{hold_id}' AND channel = 'fax' AND status = 'booked'")), 1);
    }

    fn availability_lists_days_and_slots_and_drops_a_booked_slot(app: &TestApp) {
        let shop = open(app);
        let tomorrow = (Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + Duration::days(1)).format("%Y-%m-%d").to_string();
        let reply = app.request("GET", &format!("/v1/availability?service_id={}&from={tomorrow}&to={tomorrow}", shop.haircut), None, &[], None);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["timezone"], "Europe/London");
        assert_eq!(body["days"].as_array().unwrap().len(), 1);
        assert_eq!(body["days"][0]["date"], tomorrow.as_str());
        let slots = body["days"][0]["slots"].as_array().unwrap();
        // Open around the clock, 30 min service on a 15 min grid: every quarter
        // hour of the local day (92 or 100 when the clocks change), 23:45
        // included, since it runs on into the next day's hours.
        let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_local_timezone(chrono_tz::Europe::London).unwrap();
        let day = chrono::NaiveDate::parse_from_str(&tomorrow, "%Y-%m-%d").unwrap();
        let quarter_hours = (midnight(day + Duration::days(1)) - midnight(day)).num_minutes() / 15;
        assert_eq!(slots.len() as i64, quarter_hours, "{}", slots.len());
        let ten = slots.iter().find(|s| s["start"] == rfc3339(london(1, 10, 0)).as_str()).expect("10:00 is listed");
        assert_eq!(ten["end"], rfc3339(london(1, 10, 30)).as_str());
        assert!(ten["local_start"].as_str().unwrap().contains("T10:00:00"));
        assert_eq!(ten["choices"], json!([[shop.ana, shop.ben]]));
        assert_eq!(ten["seats_left"], 1);

        book(app, None, &booking(&shop.haircut, london(1, 10, 0), "a@example.com"));
        book(app, None, &booking(&shop.haircut, london(1, 10, 0), "b@example.com"));
        let after = slot_starts(app, None, &shop.haircut, 1);
        // Both staff are busy 10:00–10:40 (buffer included), and a new haircut
        // blocks 40 minutes from its start: 9:30 to 10:30 starts are gone.
        for gone in [london(1, 9, 30), london(1, 9, 45), london(1, 10, 0), london(1, 10, 15), london(1, 10, 30)] {
            assert!(!after.contains(&rfc3339(gone)), "{gone} still offered");
        }
        assert!(after.contains(&rfc3339(london(1, 10, 45))));
        assert!(after.contains(&rfc3339(london(1, 9, 15))));
    }

    fn availability_validates_its_query(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let path = |q: &str| format!("/v1/availability?service_id={}&{q}", shop.haircut);
        app.get(&path("from=2026-01-01&to=2026-02-01"), &agent).problem(400, "validation_failed");
        app.get(&path("from=2026-01-02&to=2026-01-01"), &agent).problem(400, "validation_failed");
        app.get(&path("from=tomorrow"), &agent).problem(400, "validation_failed");
        app.get(&path("tz=Mars/Base"), &agent).problem(400, "validation_failed");
        app.get(&path(&format!("resource_id={}", shop.room)), &agent).problem(400, "validation_failed");
        app.get("/v1/availability?service_id=svc_nope", &agent).problem(404, "not_found");
        // 31 days is fine; rendered in another zone on request.
        let ok = app.get(&path("from=2026-01-01&to=2026-01-31&tz=America/New_York"), &agent);
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.json()["timezone"], "America/New_York");
        // Anonymous callers do not see services closed to the online channel.
        app.request("GET", &format!("/v1/availability?service_id={}", shop.consult), None, &[], None).problem(404, "not_found");
        assert_eq!(app.get(&format!("/v1/availability?service_id={}", shop.consult), &agent).status, 200);
        // Another business's service does not exist for this caller.
        let stranger = app.token_for(&app.other_business(), Role::Agent);
        app.get(&path(""), &stranger).problem(404, "not_found");
    }

    fn each_caller_books_through_its_own_channel(app: &TestApp) {
        let shop = open(app);
        let cases = [
            (None, "online", "anonymous"),
            (Some(app.token(Role::Agent)), "phone", "test-agent"),
            (Some(app.token(Role::Desk)), "walk_in", "test-desk"),
            (Some(app.token_with(Role::Partner, "partner-app", "bookings:write bookings:read", 30)), "partner", "partner-app"),
        ];
        for (i, (token, channel, creator)) in cases.iter().enumerate() {
            let body = booking(&shop.haircut, london(2, 9 + i as u32, 0), &format!("c{i}@example.com"));
            let created = book(app, token.as_deref(), &body);
            assert_eq!((created["channel"].as_str(), created["created_by"].as_str()), (Some(*channel), Some(*creator)));
            assert_eq!(created["status"], "confirmed");
            let history = app.get(&format!("/v1/bookings/{}/history", created["id"].as_str().unwrap()), &app.token(Role::Agent)).json();
            assert_eq!(history["data"][0]["action"], "created");
            assert_eq!(history["data"][0]["channel"], *channel);
        }
        // The body cannot claim a channel or a creator.
        for field in ["channel", "created_by"] {
            let mut body = booking(&shop.haircut, london(2, 15, 0), "x@example.com");
            body[field] = json!("phone");
            let reply = app.post("/v1/bookings", &app.token(Role::Agent), &body);
            let problem = reply.problem(422, "validation_failed");
            assert!(problem["errors"][field].is_string(), "{problem}");
        }
        // A partner without the write scope may not book.
        let reader = app.token_with(Role::Partner, "partner-app", "bookings:read", 30);
        app.post("/v1/bookings", &reader, &booking(&shop.haircut, london(2, 16, 0), "y@example.com")).problem(403, "forbidden");
    }

    fn an_anonymous_booking_gets_a_reference_and_a_manage_token(app: &TestApp) {
        let shop = open(app);
        let created = book(app, None, &booking(&shop.haircut, london(3, 11, 0), "sam@example.com"));
        let id = created["id"].as_str().unwrap();
        let reference = created["reference"].as_str().unwrap();
        assert!(id.starts_with("bkg_"));
        assert_eq!(reference.len(), 7);
        let manage = created["manage_token"].as_str().expect("manage token");
        let mine = app.get(&format!("/v1/bookings/{id}"), manage);
        assert_eq!(mine.status, 200, "{}", mine.text);
        assert_eq!(mine.header("etag"), Some("\"v1\""));
        assert!(mine.json().get("manage_token").is_none());
        // The token is limited to that customer's bookings.
        let other = book(app, None, &booking(&shop.haircut, london(3, 12, 0), "other@example.com"));
        app.get(&format!("/v1/bookings/{}", other["id"].as_str().unwrap()), manage).problem(404, "not_found");
        let listed = app.get("/v1/bookings", manage).json();
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        // Customers may not run the desk's steps.
        app.post(&format!("/v1/bookings/{id}/check-in"), manage, &json!({})).problem(403, "forbidden");
        // Phone staff find it by the reference read out, in any case, with or without the dash.
        let agent = app.token(Role::Agent);
        let typed = reference.replace('-', " ").to_lowercase();
        let found = app.get(&format!("/v1/bookings/by-reference/{}", typed.replace(' ', "%20")), &agent);
        assert_eq!(found.status, 200, "{}", found.text);
        assert_eq!(found.json()["id"], id);
        app.get("/v1/bookings/by-reference/AAA-AAA", &agent).problem(404, "not_found");
        app.get(&format!("/v1/bookings/by-reference/{reference}"), manage).problem(403, "forbidden");
        // The customer cancels with their token; the slot is free again.
        let cancelled = app.post(&format!("/v1/bookings/{id}/cancel"), manage, &json!({"reason": "cannot make it"}));
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!((cancelled.json()["status"].as_str(), cancelled.json()["cancel_reason"].as_str()), (Some("cancelled"), Some("cannot make it")));
        assert_eq!(events_of(app, id), ["booking.created", "booking.cancelled"]);
    }

    fn returning_customers_are_matched_across_channels(app: &TestApp) {
        let shop = open(app);
        let online = book(app, None, &json!({
            "service_id": shop.haircut, "start": rfc3339(london(4, 9, 0)),
            "customer": {"name": "Sam", "email": "Sam.Taylor@Example.com"}
        }));
        let phone = book(app, Some(&app.token(Role::Agent)), &json!({
            "service_id": shop.haircut, "start": rfc3339(london(4, 10, 0)),
            "customer": {"name": "Sam Taylor", "email": "  sam.taylor@example.COM ", "phone": "+44 20 7946 0018"}
        }));
        let desk = book(app, Some(&app.token(Role::Desk)), &json!({
            "service_id": shop.haircut, "start": rfc3339(london(4, 11, 0)),
            "customer": {"name": "S. Taylor", "phone": "0044 20 7946-0018"}
        }));
        assert_eq!(online["customer_id"], phone["customer_id"]);
        assert_eq!(online["customer_id"], desk["customer_id"]);
        assert_eq!(count(app, "customers"), 1);
        let by_customer = app.get(&format!("/v1/bookings?customer_id={}", online["customer_id"].as_str().unwrap()), &app.token(Role::Agent));
        assert_eq!(by_customer.json()["data"].as_array().unwrap().len(), 3);
        // Missing contact details are a clear 422, never a partial write.
        let bad = app.post("/v1/bookings", &app.token(Role::Agent), &json!({
            "service_id": shop.haircut, "start": rfc3339(london(4, 12, 0)), "customer": {"name": "", "email": "nope"}
        }));
        let problem = bad.problem(422, "validation_failed");
        assert!(problem["errors"]["customer.name"].is_string() && problem["errors"]["customer.email"].is_string(), "{problem}");
        app.post("/v1/bookings", &app.token(Role::Agent), &json!({"service_id": shop.haircut, "start": rfc3339(london(4, 12, 0))}))
            .problem(422, "validation_failed");
        app.post("/v1/bookings", &app.token(Role::Agent), &json!({"service_id": shop.haircut, "start": rfc3339(london(4, 12, 0)), "customer_id": "cus_nope"}))
            .problem(404, "not_found");
        assert_eq!(count(app, "bookings"), 3);
    }

    fn a_hold_blocks_the_slot_for_every_channel_until_booked_released_or_expired(app: &TestApp) {
        let shop = open(app);
        let start = london(5, 14, 0);
        let hold_with = |token: Option<&str>| {
            app.request("POST", "/v1/holds", token, &[], Some(&json!({"service_id": shop.consult, "start": rfc3339(start)}).to_string()))
        };
        let agent = app.token(Role::Agent);
        let reply = hold_with(Some(&agent));
        assert_eq!(reply.status, 201, "{}", reply.text);
        let hold = reply.json();
        let hold_id = hold["id"].as_str().unwrap().to_owned();
        assert!(hold_id.starts_with("hld_"));
        let expires = chrono::DateTime::parse_from_rfc3339(hold["expires_at"].as_str().unwrap()).unwrap();
        assert!((expires.with_timezone(&Utc) - Utc::now() - Duration::minutes(10)).num_seconds().abs() < 30);
        assert!(!slot_starts(app, Some(&agent), &shop.consult, 5).contains(&rfc3339(start)));
        // Another desk cannot hold or book it meanwhile.
        hold_with(Some(&app.token(Role::Desk))).problem(409, "slot_unavailable");
        app.post("/v1/bookings", &app.token(Role::Desk), &json!({"service_id": shop.consult, "start": rfc3339(start), "customer": {"name": "Kim", "phone": "07700 900123"}}))
            .problem(409, "slot_unavailable");
        // Released: free at once.
        assert_eq!(app.delete(&format!("/v1/holds/{hold_id}"), &agent).status, 204);
        assert!(slot_starts(app, Some(&agent), &shop.consult, 5).contains(&rfc3339(start)));
        // Held again and booked from the hold; the hold cannot be used twice.
        let hold_id = hold_with(Some(&agent)).json()["id"].as_str().unwrap().to_owned();
        let from_hold = json!({"hold_id": hold_id, "customer": {"name": "Kim", "phone": "07700 900123"}});
        let booked = book(app, Some(&agent), &from_hold);
        assert_eq!(booked["start"], rfc3339(start).as_str());
        // Posting it again points at the booking it became, as does releasing it.
        let again = app.post("/v1/bookings", &agent, &from_hold).problem(409, "hold_booked");
        assert_eq!(again["booking_id"], booked["id"]);
        let released = app.delete(&format!("/v1/holds/{hold_id}"), &agent).problem(409, "hold_booked");
        assert_eq!(released["booking_id"], booked["id"]);
        app.delete("/v1/holds/hld_nope", &agent).problem(404, "not_found");
        // A hold with resources pinned must not also pin them at booking time.
        app.post("/v1/bookings", &agent, &json!({"hold_id": hold_id, "service_id": shop.consult, "customer_id": booked["customer_id"]}))
            .problem(422, "validation_failed");
    }

    fn an_expired_hold_stops_blocking_without_any_job(app: &TestApp) {
        let shop = open(app);
        let start = london(5, 15, 0);
        let agent = app.token(Role::Agent);
        let hold = app.post("/v1/holds", &agent, &json!({"service_id": shop.haircut, "start": rfc3339(start), "resource_ids": [shop.ana]})).json();
        let hold_id = hold["id"].as_str().unwrap().to_owned();
        assert_eq!(hold["resource_ids"], json!([shop.ana]));
        // Let it lapse (as if ten minutes had passed).
        {
            use slotwise::schema::{allocations, holds};
            let past = (Utc::now() - Duration::seconds(1)).naive_utc();
            let mut conn = app.pool.get().unwrap();
            diesel::update(holds::table.filter(holds::id.eq(&hold_id))).set(holds::expires_at.eq(past)).execute(&mut conn).unwrap();
            diesel::update(allocations::table.filter(allocations::hold_id.eq(&hold_id))).set(allocations::expires_at.eq(Some(past))).execute(&mut conn).unwrap();
        }
        // Nothing settled it yet, but reads already ignore it and a new booking takes Ana.
        assert_eq!(events_of(app, &hold_id), Vec::<String>::new());
        let mut body = booking(&shop.haircut, start, "late@example.com");
        body["resource_ids"] = json!([shop.ana]);
        let taken = book(app, Some(&agent), &body);
        assert_eq!(taken["resource_ids"], json!([shop.ana]));
        // The writer settled it: one hold.expired event, and the hold cannot be booked.
        assert_eq!(events_of(app, &hold_id), ["hold.expired"]);
        app.post("/v1/bookings", &agent, &json!({"hold_id": hold_id, "customer": {"name": "Kim", "phone": "07700 900123"}}))
            .problem(410, "hold_expired");
    }

    fn the_background_sweep_settles_lapsed_holds_once(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let hold = app.post("/v1/holds", &agent, &json!({"service_id": shop.haircut, "start": rfc3339(london(5, 16, 0))})).json();
        let hold_id = hold["id"].as_str().unwrap().to_owned();
        let mut conn = app.pool.get().unwrap();
        let now = Utc::now();
        assert_eq!(slotwise::store::holds::expire_all_lapsed(&mut conn, now).unwrap(), 0);
        let later = now + Duration::minutes(11);
        assert_eq!(slotwise::store::holds::expire_all_lapsed(&mut conn, later).unwrap(), 1);
        assert_eq!(slotwise::store::holds::expire_all_lapsed(&mut conn, later).unwrap(), 0);
        assert_eq!(events_of(app, &hold_id), ["hold.expired"]);
    }

    fn service_rules_bind_every_channel_and_staff_may_override_with_a_reason(app: &TestApp) {
        let shop = open(app);
        let soon = london(0, 0, 0) + Duration::days(1);
        let agent = app.token(Role::Agent);
        let body = booking(&shop.consult, soon, "rule@example.com");
        // Consultation needs 24 h notice, and is not offered online.
        let late = app.post("/v1/bookings", &agent, &body);
        if soon < Utc::now() + Duration::hours(24) {
            assert_eq!(late.problem(422, "policy_violation")["rule"], "min_notice");
        } else {
            assert_eq!(late.status, 201);
            return;
        }
        app.request("POST", "/v1/bookings", None, &[], Some(&body.to_string())).problem(404, "not_found");
        let customer = app.token_with(Role::Customer, "cus_someone", "", 30);
        app.post("/v1/bookings", &customer, &body).problem(422, "policy_violation");
        let mut overriding = body.clone();
        overriding["override"] = json!({"rules": ["min_notice"], "reason": "regular client, squeezed in"});
        app.post("/v1/bookings", &customer, &overriding).problem(403, "forbidden");
        let mut no_reason = body.clone();
        no_reason["override"] = json!({"rules": ["min_notice"], "reason": " "});
        app.post("/v1/bookings", &agent, &no_reason).problem(422, "validation_failed");
        let mut wrong_rule = body.clone();
        wrong_rule["override"] = json!({"rules": ["max_advance"], "reason": "wrong rule"});
        assert_eq!(app.post("/v1/bookings", &agent, &wrong_rule).problem(422, "policy_violation")["rule"], "min_notice");
        let created = book(app, Some(&agent), &overriding);
        let history = app.get(&format!("/v1/bookings/{}/history", created["id"].as_str().unwrap()), &agent).json();
        assert_eq!(history["data"][0]["override"], json!({"rules": ["min_notice"], "reason": "regular client, squeezed in"}));
        assert_eq!(history["data"][0]["actor"], "test-agent");
        // The desk's channel is allowed; the cancel cutoff (24 h) still binds a customer…
        let id = created["id"].as_str().unwrap();
        let cancel = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({"reason": "changed mind"}));
        assert_eq!(cancel.problem(422, "policy_violation")["rule"], "cancel_cutoff");
        // …and staff lift it with a reason.
        let lifted = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({"reason": "illness", "override": {"rules": ["cancel_cutoff"], "reason": "doctor's note"}}));
        assert_eq!(lifted.status, 200, "{}", lifted.text);
    }

    fn the_lifecycle_runs_in_order_with_etags_history_and_events(app: &TestApp) {
        let shop = open(app);
        let desk = app.token(Role::Desk);
        let created = book(app, Some(&desk), &booking(&shop.haircut, london(6, 9, 0), "life@example.com"));
        let id = created["id"].as_str().unwrap();
        let step = |name: &str, etag: Option<&str>| {
            let headers: Vec<(&str, &str)> = etag.map(|e| vec![("If-Match", e)]).unwrap_or_default();
            app.request("POST", &format!("/v1/bookings/{id}/{name}"), Some(&desk), &headers, None)
        };
        let refused = step("start", None).problem(409, "invalid_transition");
        assert_eq!(refused["booking_status"], "confirmed");
        step("check-in", Some("\"v9\"")).problem(412, "version_mismatch");
        // A `null` body is no body, as the OpenAPI document declares.
        let checked_in = app.request("POST", &format!("/v1/bookings/{id}/check-in"), Some(&desk), &[("If-Match", "\"v1\"")], Some("null"));
        assert_eq!((checked_in.status, checked_in.header("etag")), (200, Some("\"v2\"")), "{}", checked_in.text);
        assert_eq!(checked_in.json()["status"], "checked_in");
        assert_eq!(step("start", None).json()["status"], "in_service");
        assert_eq!(step("complete", Some("\"v3\"")).json()["status"], "completed");
        step("complete", None).problem(409, "invalid_transition");
        step("cancel", None).problem(409, "invalid_transition");
        app.post(&format!("/v1/bookings/{id}/reschedule"), &desk, &json!({"start": rfc3339(london(6, 11, 0))})).problem(409, "invalid_transition");
        let history = app.get(&format!("/v1/bookings/{id}/history"), &desk).json();
        let actions: Vec<&str> = history["data"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["created", "check_in", "start", "complete"]);
        assert_eq!(events_of(app, id), ["booking.created", "booking.checked_in", "booking.started", "booking.completed"]);
        // PATCH notes under If-Match.
        let path = format!("/v1/bookings/{id}");
        app.request("PATCH", &path, Some(&desk), &[("If-Match", "\"v1\"")], Some(r#"{"notes":"x"}"#)).problem(412, "version_mismatch");
        let patched = app.request("PATCH", &path, Some(&desk), &[("If-Match", "\"v4\"")], Some(r#"{"notes":"prefers Ana"}"#));
        assert_eq!((patched.status, patched.json()["notes"].as_str()), (200, Some("prefers Ana")));
        app.request("PATCH", &path, Some(&desk), &[], Some(r#"{"status":"confirmed"}"#)).problem(422, "validation_failed");
        // A malformed step body is a 400, an unknown field a 422.
        app.request("POST", &format!("/v1/bookings/{id}/no-show"), Some(&desk), &[], Some("{")).problem(400, "malformed_json");
        app.request("POST", &format!("/v1/bookings/{id}/no-show"), Some(&desk), &[], Some(r#"{"why":"x"}"#)).problem(422, "validation_failed");
    }

    fn a_no_show_is_recorded_only_after_the_start_and_grace(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let future = book(app, Some(&agent), &booking(&shop.haircut, london(6, 12, 0), "future@example.com"));
        let reply = app.post(&format!("/v1/bookings/{}/no-show", future["id"].as_str().unwrap()), &agent, &json!({}));
        reply.problem(409, "invalid_transition");
        // An hour ago, on the quarter-hour grid, booked by staff after the fact.
        let now = Utc::now();
        let past = now - Duration::minutes(60) - Duration::seconds(now.timestamp() % (15 * 60));
        let mut body = booking(&shop.haircut, past, "past@example.com");
        body["override"] = json!({"rules": ["min_notice"], "reason": "entered after the visit"});
        let booked = book(app, Some(&agent), &body);
        let marked = app.post(&format!("/v1/bookings/{}/no-show", booked["id"].as_str().unwrap()), &agent, &json!({}));
        assert_eq!((marked.status, marked.json()["status"].as_str()), (200, Some("no_show")), "{}", marked.text);
    }

    fn rescheduling_is_atomic_and_keeps_the_old_slot_when_the_new_one_is_taken(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let pin = |start, email: &str| {
            let mut body = booking(&shop.haircut, start, email);
            body["resource_ids"] = json!([shop.ana]);
            book(app, Some(&agent), &body)
        };
        let first = pin(london(7, 9, 0), "one@example.com");
        pin(london(7, 11, 0), "two@example.com");
        let id = first["id"].as_str().unwrap();
        let path = format!("/v1/bookings/{id}/reschedule");
        let clash = app.request("POST", &path, Some(&agent), &[("If-Match", "\"v1\"")],
            Some(&json!({"start": rfc3339(london(7, 11, 0)), "resource_ids": [shop.ana]}).to_string()));
        clash.problem(409, "slot_unavailable");
        let unchanged = app.get(&format!("/v1/bookings/{id}"), &agent).json();
        assert_eq!((unchanged["start"].as_str(), unchanged["version"].as_i64()), (Some(rfc3339(london(7, 9, 0)).as_str()), Some(1)));
        // Ana's 9:00 is still taken: the failed move did not free it.
        let mut again = booking(&shop.haircut, london(7, 9, 0), "three@example.com");
        again["resource_ids"] = json!([shop.ana]);
        app.post("/v1/bookings", &agent, &again).problem(409, "slot_unavailable");
        app.post(&path, &agent, &json!({"start": rfc3339(london(7, 9, 7))})).problem(422, "outside_hours");
        let moved = app.request("POST", &path, Some(&agent), &[("If-Match", "\"v1\"")],
            Some(&json!({"start": rfc3339(london(7, 14, 0)), "resource_ids": [shop.ana]}).to_string()));
        assert_eq!(moved.status, 200, "{}", moved.text);
        assert_eq!((moved.json()["start"].as_str(), moved.header("etag")), (Some(rfc3339(london(7, 14, 0)).as_str()), Some("\"v2\"")));
        // Now the old slot is free for someone else.
        book(app, Some(&agent), &again);
        assert_eq!(events_of(app, id), ["booking.created", "booking.rescheduled"]);
    }

    fn staff_and_room_bookings_need_both_and_group_sessions_count_seats(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let at = london(8, 10, 0);
        let facial = book(app, Some(&agent), &booking(&shop.facial, at, "f1@example.com"));
        assert_eq!(facial["resource_ids"].as_array().unwrap().len(), 2);
        assert_eq!(facial["resource_ids"][1], shop.room.as_str());
        // A staff member is still free, but the only room is not.
        app.post("/v1/bookings", &agent, &booking(&shop.facial, at, "f2@example.com")).problem(409, "slot_unavailable");
        // The class needs the room too: the facial blocks it.
        app.post("/v1/bookings", &agent, &booking(&shop.class, at, "c0@example.com")).problem(409, "slot_unavailable");
        let class_at = london(8, 14, 0);
        for i in 0..3 {
            book(app, Some(&agent), &booking(&shop.class, class_at, &format!("c{i}@example.com")));
            let day = (Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + Duration::days(8)).format("%Y-%m-%d").to_string();
            let slots = app.get(&format!("/v1/availability?service_id={}&from={day}&to={day}", shop.class), &agent).json();
            let slot = slots["days"][0]["slots"].as_array().unwrap().iter().find(|s| s["start"] == rfc3339(class_at).as_str()).cloned();
            match i {
                2 => assert!(slot.is_none(), "a full class is not offered"),
                _ => assert_eq!(slot.expect("class offered")["seats_left"], 2 - i),
            }
        }
        app.post("/v1/bookings", &agent, &booking(&shop.class, class_at, "c3@example.com")).problem(409, "slot_unavailable");
        // Pinning a resource that does not deliver the service is a validation error.
        let mut wrong = booking(&shop.haircut, london(8, 16, 0), "w@example.com");
        wrong["resource_ids"] = json!([shop.room]);
        assert!(app.post("/v1/bookings", &agent, &wrong).problem(422, "validation_failed")["errors"]["resource_ids"].is_string());
    }

    fn paused_services_and_locations_refuse_with_their_reason(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        {
            use slotwise::schema::services;
            let mut conn = app.pool.get().unwrap();
            diesel::update(services::table.filter(services::id.eq(&shop.haircut)))
                .set((services::paused_at.eq(Some(Utc::now().naive_utc())), services::pause_reason.eq(Some("stylist training"))))
                .execute(&mut conn).unwrap();
        }
        let refused = app.post("/v1/bookings", &agent, &booking(&shop.haircut, london(9, 10, 0), "p@example.com"));
        let problem = refused.problem(409, "paused");
        assert_eq!(problem["reason"], "stylist training");
        app.get(&format!("/v1/availability?service_id={}", shop.haircut), &agent).problem(409, "paused");
        app.post("/v1/holds", &agent, &json!({"service_id": shop.haircut, "start": rfc3339(london(9, 10, 0))})).problem(409, "paused");
        {
            use slotwise::schema::locations;
            let mut conn = app.pool.get().unwrap();
            diesel::update(locations::table.filter(locations::id.eq(&shop.location)))
                .set((locations::paused_at.eq(Some(Utc::now().naive_utc())), locations::pause_reason.eq(Some("flooded"))))
                .execute(&mut conn).unwrap();
        }
        assert_eq!(app.post("/v1/bookings", &agent, &booking(&shop.facial, london(9, 10, 0), "p@example.com")).problem(409, "paused")["reason"], "flooded");
        assert_eq!(count(app, "bookings"), 0);
    }

    fn bookings_are_listed_filtered_paginated_and_exported_as_icalendar(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        for i in 0..5 {
            book(app, Some(&agent), &booking(&shop.haircut, london(10, 9 + i, 0), &format!("l{i}@example.com")));
        }
        let desk_booking = book(app, Some(&app.token(Role::Desk)), &booking(&shop.facial, london(11, 9, 0), "d@example.com"));
        let page = app.get("/v1/bookings?limit=2", &agent);
        assert_eq!(page.json()["data"].as_array().unwrap().len(), 2);
        assert!(page.header("link").unwrap().contains("rel=\"next\""));
        let mut seen = 0;
        let mut cursor = page.json()["next_cursor"].as_str().map(str::to_owned);
        seen += 2;
        while let Some(c) = cursor {
            let next = app.get(&format!("/v1/bookings?limit=2&cursor={c}"), &agent).json();
            seen += next["data"].as_array().unwrap().len();
            cursor = next["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, 6);
        let filtered = |q: &str| app.get(&format!("/v1/bookings?{q}"), &agent).json()["data"].as_array().unwrap().len();
        assert_eq!(filtered("channel=walk_in"), 1);
        assert_eq!(filtered(&format!("service_id={}", shop.facial)), 1);
        assert_eq!(filtered(&format!("resource_id={}", shop.room)), 1);
        assert_eq!(filtered(&format!("location_id={}", shop.location)), 6);
        let day10 = (Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + Duration::days(10)).format("%Y-%m-%d").to_string();
        assert_eq!(filtered(&format!("from={day10}&to={day10}")), 5);
        assert_eq!(filtered("status=cancelled"), 0);
        app.get("/v1/bookings?status=lost", &agent).problem(400, "validation_failed");
        app.get("/v1/bookings?from=soon", &agent).problem(400, "validation_failed");
        // iCalendar export.
        let ics = app.get(&format!("/v1/bookings/{}/ics", desk_booking["id"].as_str().unwrap()), &agent);
        assert_eq!(ics.status, 200);
        assert!(ics.header("content-type").unwrap().starts_with("text/calendar"));
        let start = london(11, 9, 0).format("%Y%m%dT%H%M%SZ").to_string();
        assert!(ics.text.contains(&format!("DTSTART:{start}\r\n")), "{}", ics.text);
        assert!(ics.text.contains("SUMMARY:Facial\r\n"));
        assert!(ics.text.contains(&format!("Booking reference {}", desk_booking["reference"].as_str().unwrap())));
        // Other tenants see nothing; customers and partners no staff routes.
        let stranger = app.token_for(&app.other_business(), Role::Admin);
        let id = desk_booking["id"].as_str().unwrap();
        for path in [format!("/v1/bookings/{id}"), format!("/v1/bookings/{id}/ics"), format!("/v1/bookings/{id}/history")] {
            app.get(&path, &stranger).problem(404, "not_found");
        }
        app.post(&format!("/v1/bookings/{id}/cancel"), &stranger, &json!({})).problem(404, "not_found");
        assert_eq!(app.get("/v1/bookings", &stranger).json()["data"].as_array().unwrap().len(), 0);
        app.get("/v1/events", &app.token(Role::Customer)).problem(403, "forbidden");
        app.request("GET", "/v1/bookings", None, &[], None).problem(401, "unauthenticated");
        let partner = app.token_with(Role::Partner, "partner-app", "bookings:read", 30);
        assert_eq!(app.get("/v1/bookings", &partner).json()["data"].as_array().unwrap().len(), 0);
        app.get(&format!("/v1/bookings/{id}"), &partner).problem(404, "not_found");
        let events = app.get("/v1/events?type=booking.created", &app.token_with(Role::Partner, "p", "events:read", 30));
        assert_eq!(events.json()["data"].as_array().unwrap().len(), 6);
    }

    fn the_calendar_file_names_its_method_and_organizer_and_its_sequence_moves_only_with_time_or_status(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let made = book(app, Some(&agent), &booking(&shop.haircut, london(12, 10, 0), "ics@example.com"));
        let id = made["id"].as_str().unwrap().to_owned();
        let ics = |app: &TestApp| {
            let reply = app.get(&format!("/v1/bookings/{id}/ics"), &agent);
            assert_eq!(reply.status, 200, "{}", reply.text);
            (reply.header("content-type").unwrap().to_owned(), reply.text)
        };
        let (media, text) = ics(app);
        assert_eq!(media, "text/calendar; charset=utf-8; method=PUBLISH");
        assert!(text.contains("\r\nMETHOD:PUBLISH\r\n"), "{text}");
        // The business organises; the location has no email, so the sender of customer email stands in.
        assert!(text.replace("\r\n ", "").contains(":mailto:no-reply@localhost\r\n"), "{text}");
        assert!(text.contains("\r\nORGANIZER;CN=\""), "{text}");
        assert!(text.contains("\r\nSEQUENCE:0\r\n"), "{text}");
        // A notes edit changes the booking's version but not what a calendar shows.
        let edited = app.patch(&format!("/v1/bookings/{id}"), &agent, &json!({"notes": "prefers Ana"}));
        assert_eq!(edited.status, 200, "{}", edited.text);
        assert!(edited.json()["version"].as_i64().unwrap() > made["version"].as_i64().unwrap());
        assert!(ics(app).1.contains("\r\nSEQUENCE:0\r\n"));
        // A new time raises it.
        let moved = app.post(&format!("/v1/bookings/{id}/reschedule"), &agent, &json!({"start": rfc3339(london(12, 11, 0))}));
        assert_eq!(moved.status, 200, "{}", moved.text);
        let (_, text) = ics(app);
        assert!(text.contains("\r\nSEQUENCE:1\r\n"), "{text}");
        assert!(text.contains(&format!("DTSTART:{}\r\n", london(12, 11, 0).format("%Y%m%dT%H%M%SZ"))));
        // So does the cancellation, published as a CANCEL with the same organizer.
        let cancelled = app.post(&format!("/v1/bookings/{id}/cancel"), &agent, &json!({}));
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        let (media, text) = ics(app);
        assert_eq!(media, "text/calendar; charset=utf-8; method=CANCEL");
        assert!(text.contains("\r\nMETHOD:CANCEL\r\n") && text.contains("\r\nSTATUS:CANCELLED\r\n"), "{text}");
        assert!(text.contains("\r\nSEQUENCE:2\r\n") && text.contains("\r\nORGANIZER;CN="), "{text}");
    }
}
