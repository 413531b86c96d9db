//! Customer memory through HTTP, on both databases: profiles, phone
//! normalisation, duplicates, lookups, notes, caller context, timeline, merge.

use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::memory::{
    complete, count, created, data, feedback_token, hours_ago, id, log_contact, new_customer,
    new_intent, past_booking, step,
};
use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339};

fn lookup(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    data(&app.get(&format!("/v1/customers?{query}"), token))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

on_both_databases! {
    fn customers_are_created_read_and_changed_under_if_match(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let reply = app.post("/v1/customers", &agent, &json!({
            "name": " Ana Silva ", "email": " Ana.Silva@Example.COM", "phone": "020 7946 0018",
            "preferred_language": "pt_br", "preferred_channel": "sms", "marketing_consent": true,
            "tags": ["VIP", " vip ", "allergy: latex"]
        }));
        let ana = created(reply);
        assert_eq!(ana["name"], "Ana Silva");
        assert_eq!(ana["email"], "ana.silva@example.com");
        assert_eq!(ana["phone"], "+442079460018");
        assert_eq!(ana["preferred_language"], "pt-BR");
        assert_eq!(ana["preferred_channel"], "sms");
        assert_eq!(ana["marketing_consent"], true);
        assert!(ana["marketing_consent_at"].is_string());
        assert_eq!(ana["tags"], json!(["VIP", "allergy: latex"]));
        let path = format!("/v1/customers/{}", id(&ana));
        let read = app.get(&path, &agent);
        assert_eq!((read.status, read.header("etag")), (200, Some("\"v1\"")));
        // A stale If-Match changes nothing.
        app.request("PATCH", &path, Some(&agent), &[("If-Match", "\"v7\"")], Some(r#"{"name":"X"}"#))
            .problem(412, "version_mismatch");
        let patched = app.request("PATCH", &path, Some(&agent), &[("If-Match", "\"v1\"")],
            Some(r#"{"marketing_consent": false, "preferred_language": null, "phone": "+44 (0)20 7946 0019"}"#));
        assert_eq!((patched.status, patched.header("etag")), (200, Some("\"v2\"")), "{}", patched.text);
        let body = patched.json();
        assert_eq!((body["marketing_consent"].as_bool(), body["marketing_consent_at"].is_null()), (Some(false), true));
        assert!(body["preferred_language"].is_null());
        assert_eq!(body["phone"], "+442079460019");
        assert_eq!(body["name"], "Ana Silva");
        // A preference needs the detail to act on it.
        app.patch(&path, &agent, &json!({"phone": null})).problem(422, "validation_failed");
        // Every bad field is named at once.
        let problem = app.post("/v1/customers", &agent, &json!({
            "name": "", "email": "nope", "phone": "call me", "preferred_language": "klingon!", "tags": [" "]
        })).problem(422, "validation_failed");
        for field in ["name", "email", "phone", "preferred_language", "tags"] {
            assert!(problem["errors"][field].is_string(), "{field}: {problem}");
        }
        app.post("/v1/customers", &agent, &json!({"name": "X", "preferred_channel": "pigeon"})).problem(422, "validation_failed");
        app.post("/v1/customers", &agent, &json!({"name": "X", "loyalty": 3})).problem(422, "validation_failed");
        app.post("/v1/customers", &agent, &json!({"name": "X", "preferred_channel": "email"})).problem(422, "validation_failed");
        app.request("POST", "/v1/customers", Some(&agent), &[], Some("{")).problem(400, "malformed_json");
        app.get("/v1/customers/cus_nope", &agent).problem(404, "not_found");
        app.request("GET", "/v1/customers", None, &[], None).problem(401, "unauthenticated");
        assert_eq!(count(app, "customers"), 1);
    }

    fn phones_in_any_format_find_the_same_customer_in_two_countries(app: &TestApp) {
        // The test business runs in Europe/London: national numbers are British.
        let agent = app.token(Role::Agent);
        let kim = new_customer(app, &agent, json!({"name": "Kim", "phone": "020 7946 0018"}));
        assert_eq!(kim["phone"], "+442079460018");
        for typed in ["020 7946 0018", "+44 20 7946 0018", "0044 20 7946 0018", "(020) 7946-0018", "02079460018", "+44 (0)20 7946 0018"] {
            let found = lookup(app, &agent, &format!("phone={}", encode(typed)));
            assert_eq!(found.len(), 1, "{typed}");
            assert_eq!(found[0]["id"], kim["id"], "{typed}");
        }
        // A business in New York reads national numbers as American.
        let other = app.other_business();
        let us_agent = app.token_for(&other, Role::Agent);
        let lee = new_customer(app, &us_agent, json!({"name": "Lee", "phone": "(650) 253-0000"}));
        assert_eq!(lee["phone"], "+16502530000");
        for typed in ["(650) 253-0000", "650-253-0000", "650.253.0000", "+1 650 253 0000", "1 650 253 0000", "011 1 650 253 0000"] {
            let found = lookup(app, &us_agent, &format!("phone={}", encode(typed)));
            assert_eq!(found.len(), 1, "{typed}");
            assert_eq!(found[0]["id"], lee["id"], "{typed}");
        }
        // Each business sees only its own customers, even by the same number.
        assert!(lookup(app, &us_agent, &format!("phone={}", encode("+44 20 7946 0018"))).is_empty());
        assert!(lookup(app, &agent, &format!("phone={}", encode("+1 650 253 0000"))).is_empty());
        // A number that is no number is a 400 naming the parameter.
        let problem = app.get("/v1/customers?phone=020%207946", &agent).problem(400, "validation_failed");
        assert!(problem["errors"]["phone"].is_string());
    }

    fn duplicates_are_refused_naming_the_existing_customer(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let sam = new_customer(app, &agent, json!({"name": "Sam", "email": "sam@example.com", "phone": "020 7946 0018"}));
        let by_email = app.post("/v1/customers", &agent, &json!({"name": "Samuel", "email": "SAM@example.com "}))
            .problem(409, "duplicate_customer");
        assert_eq!((&by_email["existing_customer_id"], by_email["field"].as_str()), (&sam["id"], Some("email")));
        let by_phone = app.post("/v1/customers", &agent, &json!({"name": "Samuel", "phone": "+44 20 7946 0018"}))
            .problem(409, "duplicate_customer");
        assert_eq!((&by_phone["existing_customer_id"], by_phone["field"].as_str()), (&sam["id"], Some("phone")));
        // Taking someone else's detail by PATCH is refused the same way, and changes nothing.
        let jo = new_customer(app, &agent, json!({"name": "Jo", "email": "jo@example.com"}));
        let path = format!("/v1/customers/{}", id(&jo));
        let problem = app.patch(&path, &agent, &json!({"phone": "0044 20 7946 0018"})).problem(409, "duplicate_customer");
        assert_eq!(problem["existing_customer_id"], sam["id"]);
        let unchanged = app.get(&path, &agent).json();
        assert_eq!((unchanged["version"].as_i64(), unchanged["phone"].is_null()), (Some(1), true));
        // Keeping one's own detail is no conflict.
        let same = app.patch(&format!("/v1/customers/{}", id(&sam)), &agent, &json!({"email": "Sam@Example.com"}));
        assert_eq!(same.status, 200, "{}", same.text);
        assert_eq!(count(app, "customers"), 2);
    }

    fn lookups_by_email_and_fragment_are_paginated(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let taylor = new_customer(app, &agent, json!({"name": "Sam Taylor", "email": "sam@example.com", "phone": "020 7946 0018"}));
        let tayo = new_customer(app, &agent, json!({"name": "Tayo Ade", "email": "tayo@example.org"}));
        new_customer(app, &agent, json!({"name": "Kim Lee", "email": "kim@example.net", "phone": "020 7946 0999"}));
        let by_email = lookup(app, &agent, "email=SAM%40Example.com");
        assert_eq!(by_email.len(), 1);
        assert_eq!(by_email[0]["id"], taylor["id"]);
        assert!(by_email[0]["context"].is_object(), "an email lookup brings the caller context");
        let names: Vec<Value> = lookup(app, &agent, "q=TAY").iter().map(|c| c["id"].clone()).collect();
        assert_eq!(names, vec![taylor["id"].clone(), tayo["id"].clone()]);
        assert!(lookup(app, &agent, "q=tay")[0]["context"].is_null(), "a fragment search lists profiles only");
        let by_digits = lookup(app, &agent, "q=7946%200018");
        assert_eq!(by_digits.len(), 1);
        assert_eq!(by_digits[0]["id"], taylor["id"]);
        assert_eq!(lookup(app, &agent, "q=example.org").len(), 1);
        assert!(lookup(app, &agent, "q=100%25").is_empty(), "LIKE wildcards are taken literally");
        // Pages of one, following next_cursor and the Link header.
        let first = app.get("/v1/customers?q=example&limit=1", &agent);
        assert!(first.header("link").unwrap().contains("rel=\"next\""));
        let cursor = first.json()["next_cursor"].as_str().unwrap().to_owned();
        let second = app.get(&format!("/v1/customers?q=example&limit=1&cursor={cursor}"), &agent);
        assert_ne!(data(&first)[0]["id"], data(&second)[0]["id"]);
        let all = lookup(app, &agent, "limit=200");
        assert_eq!(all.len(), 3);
        app.get("/v1/customers?limit=0", &agent).problem(400, "validation_failed");
        app.get("/v1/customers?cursor=bogus", &agent).problem(400, "validation_failed");
        app.get(&format!("/v1/customers?q={}", "x".repeat(201)), &agent).problem(400, "validation_failed");
    }

    fn notes_are_written_listed_newest_first_and_pinned(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let kim = new_customer(app, &agent, json!({"name": "Kim", "email": "kim@example.com"}));
        let path = format!("/v1/customers/{}/notes", id(&kim));
        let first = created(app.post(&path, &agent, &json!({"text": "Prefers mornings"})));
        assert_eq!((first["author"].as_str(), first["author_role"].as_str(), first["pinned"].as_bool()), (Some("test-agent"), Some("agent"), Some(false)));
        // Ids order by the millisecond they were made in.
        std::thread::sleep(std::time::Duration::from_millis(3));
        let second = created(app.post(&path, &app.token(Role::Desk), &json!({"text": "Allergic to latex", "pinned": true})));
        assert_eq!(second["author"], "test-desk");
        std::thread::sleep(std::time::Duration::from_millis(3));
        let third = created(app.post(&path, &agent, &json!({"text": "Asked about gift cards"})));
        let listed: Vec<Value> = data(&app.get(&path, &agent)).iter().map(|n| n["id"].clone()).collect();
        assert_eq!(listed, vec![third["id"].clone(), second["id"].clone(), first["id"].clone()]);
        let pinned = data(&app.get(&format!("{path}?pinned=true"), &agent));
        assert_eq!(pinned.len(), 1);
        assert_eq!(pinned[0]["text"], "Allergic to latex");
        let page = app.get(&format!("{path}?limit=2"), &agent);
        assert_eq!(data(&page).len(), 2);
        let cursor = page.json()["next_cursor"].as_str().unwrap().to_owned();
        assert_eq!(data(&app.get(&format!("{path}?limit=2&cursor={cursor}"), &agent))[0]["id"], first["id"]);
        // Pin an older note; correct its text.
        let pinned_now = app.patch(&format!("{path}/{}", id(&first)), &agent, &json!({"pinned": true, "text": "Prefers early mornings"}));
        assert_eq!(pinned_now.status, 200, "{}", pinned_now.text);
        assert_eq!((pinned_now.json()["pinned"].as_bool(), pinned_now.json()["text"].as_str()), (Some(true), Some("Prefers early mornings")));
        app.post(&path, &agent, &json!({"text": "   "})).problem(422, "validation_failed");
        app.post(&path, &agent, &json!({"text": "x".repeat(5001)})).problem(422, "validation_failed");
        app.patch(&format!("{path}/{}", id(&first)), &agent, &json!({"text": ""})).problem(422, "validation_failed");
        app.post("/v1/customers/cus_nope/notes", &agent, &json!({"text": "hello"})).problem(404, "not_found");
        app.get("/v1/customers/cus_nope/notes", &agent).problem(404, "not_found");
        app.patch(&format!("{path}/nte_nope"), &agent, &json!({"pinned": true})).problem(404, "not_found");
        assert_eq!(count(app, "customer_notes"), 3);
    }

    fn bookings_from_every_channel_attach_to_one_customer_by_e164_phone(app: &TestApp) {
        let shop = open(app);
        let customer = |phone: &str| json!({"name": "Kim", "phone": phone});
        let online = book(app, None, &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 9, 0)), "customer": customer("020 7946 0018")}));
        let phone = book(app, Some(&app.token(Role::Agent)), &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 10, 0)), "customer": customer("+44 20 7946 0018")}));
        let desk = book(app, Some(&app.token(Role::Desk)), &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 11, 0)), "customer": customer("(020) 7946-0018")}));
        let partner = book(app, Some(&app.token_with(Role::Partner, "partner-app", "bookings:write", 30)),
            &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 12, 0)), "customer": customer("0044 20 7946 0018")}));
        for other in [&phone, &desk, &partner] {
            assert_eq!(other["customer_id"], online["customer_id"]);
        }
        assert_eq!(count(app, "customers"), 1);
        let found = lookup(app, &app.token(Role::Agent), "phone=02079460018");
        assert_eq!(found[0]["phone"], "+442079460018");
        assert_eq!(found[0]["context"]["upcoming_bookings"].as_array().unwrap().len(), 4);
        // A booking with a number that cannot be read is a 422, and writes nothing.
        let bad = app.post("/v1/bookings", &app.token(Role::Agent), &json!({"service_id": shop.haircut, "start": rfc3339(london(3, 13, 0)), "customer": customer("020 7946")}));
        assert!(bad.problem(422, "validation_failed")["errors"]["customer.phone"].is_string());
        assert_eq!(count(app, "bookings"), 4);
    }

    fn the_caller_context_shows_what_an_agent_needs_in_one_request(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let who = json!({"name": "Kim", "email": "kim@example.com", "phone": "020 7946 0018"});
        // Five past bookings: completed, completed, no-show, cancelled, and one nobody closed.
        let oldest = past_booking(app, &shop.haircut, hours_ago(30), who.clone());
        complete(app, &id(&oldest));
        let no_show = past_booking(app, &shop.haircut, hours_ago(20), who.clone());
        step(app, &id(&no_show), "no-show");
        let cancelled = past_booking(app, &shop.haircut, hours_ago(10), who.clone());
        step(app, &id(&cancelled), "cancel");
        let recent = past_booking(app, &shop.haircut, hours_ago(5), who.clone());
        complete(app, &id(&recent));
        let unclosed = past_booking(app, &shop.haircut, hours_ago(3), who.clone());
        let upcoming_later = book(app, Some(&agent), &booking(&shop.haircut, london(3, 15, 0), "kim@example.com"));
        let upcoming_sooner = book(app, Some(&agent), &booking(&shop.haircut, london(2, 9, 0), "kim@example.com"));
        let customer_id = oldest["customer_id"].as_str().unwrap().to_owned();
        // Feedback on the most recent completed visit.
        let token = feedback_token(app, &id(&recent));
        created(app.request("POST", "/v1/feedback", None, &[], Some(&json!({"token": token, "nps": 9, "effort": 2}).to_string())));
        // Contacts: a refund follow-up still open, a billing one resolved later, a question resolved.
        new_intent(app, "refund", "Finance");
        new_intent(app, "billing", "Finance");
        new_intent(app, "hours", "Front desk");
        let open_refund = log_contact(app, json!({"channel": "phone", "intent": "refund", "outcome": "follow_up", "duration_seconds": 120, "customer_id": customer_id}));
        log_contact(app, json!({"channel": "phone", "intent": "billing", "outcome": "escalated", "duration_seconds": 60, "customer_id": customer_id, "occurred_at": rfc3339(hours_ago(2))}));
        log_contact(app, json!({"channel": "chat", "intent": "billing", "outcome": "resolved", "duration_seconds": 60, "customer_id": customer_id}));
        log_contact(app, json!({"channel": "chat", "intent": "hours", "outcome": "resolved", "duration_seconds": 30, "customer_id": customer_id}));
        // Notes: the pinned one first though older.
        let notes = format!("/v1/customers/{customer_id}/notes");
        let pinned = created(app.post(&notes, &agent, &json!({"text": "Allergic to latex", "pinned": true})));
        for i in 0..5 {
            created(app.post(&notes, &agent, &json!({"text": format!("note {i}")})));
        }

        let found = lookup(app, &agent, "phone=%2B44%2020%207946%200018");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], customer_id.as_str());
        let ctx = &found[0]["context"];
        let upcoming: Vec<&Value> = ctx["upcoming_bookings"].as_array().unwrap().iter().map(|b| &b["id"]).collect();
        assert_eq!(upcoming, vec![&upcoming_sooner["id"], &upcoming_later["id"]]);
        let visits = ctx["last_visits"].as_array().unwrap();
        let visited: Vec<(&Value, &str)> = visits.iter().map(|v| (&v["id"], v["outcome"].as_str().unwrap())).collect();
        assert_eq!(visited, vec![(&unclosed["id"], "confirmed"), (&recent["id"], "completed"), (&no_show["id"], "no_show")]);
        assert_eq!(visits[1]["feedback"]["nps"], 9);
        assert!(visits[0]["feedback"].is_null());
        assert!(visits[0]["reference"].is_string());
        let follow_ups = ctx["open_follow_ups"].as_array().unwrap();
        assert_eq!(follow_ups.len(), 1, "{follow_ups:?}");
        assert_eq!(follow_ups[0]["id"], open_refund["id"]);
        let latest = ctx["latest_notes"].as_array().unwrap();
        assert_eq!(latest.len(), 5);
        assert_eq!(latest[0]["id"], pinned["id"]);
        assert_eq!(latest[1]["text"], "note 4");
        assert_eq!((ctx["no_show_count"].as_i64(), ctx["cancellation_count"].as_i64()), (Some(1), Some(1)));
        // The same context by id.
        let by_id = app.get(&format!("/v1/customers/{customer_id}/context"), &agent);
        assert_eq!(by_id.status, 200, "{}", by_id.text);
        assert_eq!(by_id.json()["context"]["no_show_count"], 1);
        // A customer sees only their own profile: no context, no tags, no notes.
        let own = app.token_with(Role::Customer, &customer_id, "", 30);
        let profile = app.get(&format!("/v1/customers/{customer_id}"), &own);
        assert_eq!(profile.status, 200, "{}", profile.text);
        assert!(profile.json().get("tags").is_none() && profile.json().get("context").is_none());
        app.get(&format!("/v1/customers/{customer_id}/context"), &own).problem(403, "forbidden");
        app.get("/v1/customers?phone=02079460018", &own).problem(403, "forbidden");
    }

    fn the_timeline_is_newest_first_and_paginated(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let visit = past_booking(app, &shop.haircut, hours_ago(6), json!({"name": "Kim", "email": "kim@example.com"}));
        let customer_id = visit["customer_id"].as_str().unwrap().to_owned();
        complete(app, &id(&visit));
        new_intent(app, "reschedule", "Ops");
        let contact = log_contact(app, json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60, "customer_id": customer_id}));
        let note = created(app.post(&format!("/v1/customers/{customer_id}/notes"), &agent, &json!({"text": "Lovely"})));
        let token = feedback_token(app, &id(&visit));
        let answer = created(app.request("POST", "/v1/feedback", None, &[], Some(&json!({"token": token, "nps": 10, "effort": 1}).to_string())));
        // A contact logged now about a call three days ago sits in its place in time.
        let earlier_call = log_contact(app, json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 30, "customer_id": customer_id, "occurred_at": rfc3339(hours_ago(72))}));
        let path = format!("/v1/customers/{customer_id}/timeline");
        let all = data(&app.get(&path, &agent));
        let kinds: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["feedback", "note", "interaction", "booking_change", "booking_change", "booking_change", "booking_change", "interaction"]);
        assert_eq!(all[0]["feedback"]["id"], answer["id"]);
        assert_eq!(all[1]["note"]["id"], note["id"]);
        assert_eq!(all[2]["interaction"]["id"], contact["id"]);
        let actions: Vec<&str> = all[3..7].iter().map(|e| e["booking_change"]["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["complete", "start", "check_in", "created"]);
        assert_eq!(all[6]["booking_change"]["reference"], visit["reference"]);
        assert_eq!(all[7]["interaction"]["id"], earlier_call["id"]);
        let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        // Pages of three walk the same entries in the same order, each once.
        let mut walked = Vec::new();
        let mut next = Some(format!("{path}?limit=3"));
        while let Some(url) = next {
            let page = app.get(&url, &agent);
            walked.extend(data(&page).iter().map(|e| e["id"].clone()));
            next = page.json()["next_cursor"].as_str().map(|c| format!("{path}?limit=3&cursor={c}"));
        }
        let expected: Vec<Value> = all.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(walked, expected);
        app.get(&format!("{path}?cursor=bogus"), &agent).problem(400, "validation_failed");
        app.get("/v1/customers/cus_nope/timeline", &agent).problem(404, "not_found");
    }

    fn merging_moves_everything_to_the_survivor_and_loses_nothing(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        // The same person twice: once online by email, once at the desk by phone.
        let online = book(app, None, &booking(&shop.haircut, london(2, 9, 0), "kim@example.com"));
        let survivor = online["customer_id"].as_str().unwrap().to_owned();
        let walk_in = past_booking(app, &shop.haircut, hours_ago(4), json!({"name": "Kim W", "phone": "020 7946 0018"}));
        let duplicate = walk_in["customer_id"].as_str().unwrap().to_owned();
        assert_ne!(survivor, duplicate);
        book(app, Some(&agent), &json!({"service_id": shop.haircut, "start": rfc3339(london(2, 11, 0)), "customer_id": duplicate}));
        complete(app, &id(&walk_in));
        let token = feedback_token(app, &id(&walk_in));
        created(app.request("POST", "/v1/feedback", None, &[], Some(&json!({"token": token, "nps": 8, "effort": 3}).to_string())));
        for text in ["Came in without booking", "Prefers Ben"] {
            created(app.post(&format!("/v1/customers/{duplicate}/notes"), &agent, &json!({"text": text})));
        }
        created(app.post(&format!("/v1/customers/{survivor}/notes"), &agent, &json!({"text": "Booked online"})));
        new_intent(app, "reschedule", "Ops");
        log_contact(app, json!({"channel": "walk_in", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60, "customer_id": duplicate}));
        app.patch(&format!("/v1/customers/{duplicate}"), &agent, &json!({"tags": ["regular"], "marketing_consent": true}));
        let of = |table: &str, customer: &str| count(app, &format!("{table} WHERE customer_id = '{customer}'"));
        let tables = ["bookings", "customer_notes", "interactions", "feedback_requests", "feedback"];
        let before: Vec<(i64, i64, i64)> = tables.iter().map(|t| (count(app, t), of(t, &survivor), of(t, &duplicate))).collect();
        assert_eq!(before.iter().map(|b| b.2).collect::<Vec<_>>(), vec![2, 2, 1, 1, 1]);

        // Failures first: they change nothing.
        let merge = format!("/v1/customers/{survivor}/merge");
        app.post(&merge, &agent, &json!({"duplicate_id": survivor})).problem(422, "validation_failed");
        app.post(&merge, &agent, &json!({"duplicate_id": "cus_nope"})).problem(404, "not_found");
        app.post(&merge, &agent, &json!({})).problem(422, "validation_failed");
        app.request("POST", &merge, Some(&agent), &[("If-Match", "\"v9\"")], Some(&json!({"duplicate_id": duplicate}).to_string()))
            .problem(412, "version_mismatch");
        assert_eq!(count(app, "customers"), 2);

        let merged = app.post(&merge, &agent, &json!({"duplicate_id": duplicate}));
        assert_eq!(merged.status, 200, "{}", merged.text);
        let body = merged.json();
        assert_eq!(body["moved"], json!({"bookings": 2, "notes": 2, "interactions": 1, "feedback_requests": 1, "feedback": 1}));
        assert_eq!(body["customer"]["phone"], "+442079460018", "the survivor learns the missing phone");
        assert_eq!(body["customer"]["email"], "kim@example.com");
        assert_eq!(body["customer"]["tags"], json!(["regular"]));
        assert_eq!(body["customer"]["marketing_consent"], true);
        for (table, (total, mine, theirs)) in tables.iter().zip(&before) {
            assert_eq!(count(app, table), *total, "{table}: rows are moved, never lost");
            assert_eq!(of(table, &survivor), mine + theirs, "{table}");
            assert_eq!(of(table, &duplicate), 0, "{table}");
        }
        assert_eq!(count(app, "customers"), 1);
        app.get(&format!("/v1/customers/{duplicate}"), &agent).problem(404, "not_found");
        let audit = count(app, &format!("audit_entries WHERE action = 'customer.merge' AND subject_id = '{survivor}' AND actor = 'test-agent'"));
        assert_eq!(audit, 1);
        let events = data(&app.get(&format!("/v1/events?type=customer.merged&subject_id={survivor}"), &agent));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["data"]["duplicate_id"], duplicate.as_str());
        // The survivor's record now tells the whole story.
        let timeline = data(&app.get(&format!("/v1/customers/{survivor}/timeline?limit=200"), &agent));
        assert!(timeline.iter().any(|e| e["type"] == "feedback"));
        assert_eq!(timeline.iter().filter(|e| e["type"] == "note").count(), 3);
        let bookings = data(&app.get(&format!("/v1/bookings?customer_id={survivor}"), &agent));
        assert_eq!(bookings.len(), 3);
        // Once merged, the duplicate is gone: a second merge is a 404.
        app.post(&merge, &agent, &json!({"duplicate_id": duplicate})).problem(404, "not_found");
    }
}
