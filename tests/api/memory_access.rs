//! Who may see which customer data: another business's ids are 404, another
//! customer's data is 404 to a customer, and staff-only routes are 403 to
//! customer and partner tokens (401 without a token). On both databases.

use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::memory::{
    complete, count, created, feedback_token, hours_ago, id, log_contact, new_customer, new_intent,
    past_booking,
};
use crate::on_both_databases;
use crate::shop::open;

/// Business A's objects, one of each kind.
struct Ours {
    customer: String,
    other_customer: String,
    booking: String,
    note: String,
    interaction: String,
    intent: String,
    feedback: String,
}

fn furnish(app: &TestApp) -> Ours {
    let shop = open(app);
    let agent = app.token(Role::Agent);
    let visit = past_booking(
        app,
        &shop.haircut,
        hours_ago(3),
        json!({"name": "Kim", "email": "kim@example.com", "phone": "020 7946 0018"}),
    );
    let customer = visit["customer_id"].as_str().unwrap().to_owned();
    complete(app, &id(&visit));
    let token = feedback_token(app, &id(&visit));
    let feedback = created(app.request(
        "POST",
        "/v1/feedback",
        None,
        &[],
        Some(&json!({"token": token, "nps": 9, "effort": 2}).to_string()),
    ));
    let note = created(app.post(
        &format!("/v1/customers/{customer}/notes"),
        &agent,
        &json!({"text": "Prefers Ana"}),
    ));
    let intent = new_intent(app, "reschedule", "Ops");
    let interaction = log_contact(
        app,
        json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 60, "booking_id": visit["id"]}),
    );
    let other = new_customer(
        app,
        &agent,
        json!({"name": "Jo", "email": "jo@example.com"}),
    );
    Ours {
        customer,
        other_customer: id(&other),
        booking: id(&visit),
        note: id(&note),
        interaction: id(&interaction),
        intent: id(&intent),
        feedback: id(&feedback),
    }
}

fn snapshot(app: &TestApp) -> Vec<i64> {
    [
        "customers",
        "customer_notes",
        "interactions",
        "intents",
        "feedback",
        "bookings",
        "audit_entries",
    ]
    .iter()
    .map(|t| count(app, t))
    .collect()
}

fn call(
    app: &TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> crate::harness::Reply {
    app.request(
        method,
        path,
        token,
        &[],
        body.map(|b| b.to_string()).as_deref(),
    )
}

/// Every id-taking and staff-only route, with a valid body.
fn routes(ours: &Ours, subject: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let c = subject;
    vec![
        ("GET", "/v1/customers".into(), None),
        ("GET", "/v1/customers?phone=02079460018".into(), None),
        ("POST", "/v1/customers".into(), Some(json!({"name": "New"}))),
        ("GET", format!("/v1/customers/{c}/context"), None),
        ("GET", format!("/v1/customers/{c}/notes"), None),
        (
            "POST",
            format!("/v1/customers/{c}/notes"),
            Some(json!({"text": "hello"})),
        ),
        (
            "PATCH",
            format!("/v1/customers/{c}/notes/{}", ours.note),
            Some(json!({"pinned": true})),
        ),
        ("GET", format!("/v1/customers/{c}/timeline"), None),
        (
            "POST",
            format!("/v1/customers/{c}/merge"),
            Some(json!({"duplicate_id": ours.other_customer})),
        ),
        ("GET", "/v1/intents".into(), None),
        (
            "POST",
            "/v1/intents".into(),
            Some(json!({"code": "new", "name": "New"})),
        ),
        ("GET", format!("/v1/intents/{}", ours.intent), None),
        (
            "PATCH",
            format!("/v1/intents/{}", ours.intent),
            Some(json!({"name": "Moves"})),
        ),
        ("DELETE", format!("/v1/intents/{}", ours.intent), None),
        ("GET", "/v1/interactions".into(), None),
        (
            "POST",
            "/v1/interactions".into(),
            Some(
                json!({"channel": "phone", "intent": "reschedule", "outcome": "resolved", "duration_seconds": 1}),
            ),
        ),
        (
            "GET",
            format!("/v1/interactions/{}", ours.interaction),
            None,
        ),
        ("GET", "/v1/business".into(), None),
        (
            "PATCH",
            "/v1/business".into(),
            Some(json!({"country": "US"})),
        ),
        (
            "GET",
            "/v1/reports/contacts?from=2026-01-01&to=2026-01-31".into(),
            None,
        ),
        (
            "GET",
            "/v1/reports/feedback?from=2026-01-01&to=2026-01-31".into(),
            None,
        ),
        (
            "GET",
            "/v1/reports/bookings?from=2026-01-01&to=2026-01-31".into(),
            None,
        ),
    ]
}

on_both_databases! {
    fn another_business_finds_none_of_our_ids(app: &TestApp) {
        let ours = furnish(app);
        let theirs = app.other_business();
        let agent = app.token_for(&theirs, Role::Agent);
        let manager = app.token_for(&theirs, Role::Manager);
        let their_customer = id(&new_customer(app, &agent, json!({"name": "Their own"})));
        new_intent_for(app, &theirs);
        let before = snapshot(app);
        let c = &ours.customer;
        let cases: Vec<(&str, &str, String, Option<Value>)> = vec![
            (&agent, "GET", format!("/v1/customers/{c}"), None),
            (&agent, "PATCH", format!("/v1/customers/{c}"), Some(json!({"name": "Taken"}))),
            (&agent, "GET", format!("/v1/customers/{c}/context"), None),
            (&agent, "GET", format!("/v1/customers/{c}/notes"), None),
            (&agent, "POST", format!("/v1/customers/{c}/notes"), Some(json!({"text": "hi"}))),
            (&agent, "PATCH", format!("/v1/customers/{c}/notes/{}", ours.note), Some(json!({"pinned": true}))),
            (&agent, "PATCH", format!("/v1/customers/{their_customer}/notes/{}", ours.note), Some(json!({"pinned": true}))),
            (&agent, "GET", format!("/v1/customers/{c}/timeline"), None),
            (&agent, "POST", format!("/v1/customers/{c}/merge"), Some(json!({"duplicate_id": ours.other_customer}))),
            (&agent, "POST", format!("/v1/customers/{their_customer}/merge"), Some(json!({"duplicate_id": c}))),
            (&agent, "GET", format!("/v1/bookings/{}", ours.booking), None),
            (&agent, "GET", format!("/v1/interactions/{}", ours.interaction), None),
            (&agent, "POST", "/v1/interactions".into(), Some(json!({"channel": "phone", "intent": "theirs", "outcome": "resolved", "duration_seconds": 1, "customer_id": c}))),
            (&agent, "POST", "/v1/interactions".into(), Some(json!({"channel": "phone", "intent": "theirs", "outcome": "resolved", "duration_seconds": 1, "booking_id": ours.booking}))),
            (&manager, "GET", format!("/v1/intents/{}", ours.intent), None),
            (&manager, "PATCH", format!("/v1/intents/{}", ours.intent), Some(json!({"name": "Taken"}))),
            (&manager, "DELETE", format!("/v1/intents/{}", ours.intent), None),
            (&manager, "GET", format!("/v1/feedback/{}", ours.feedback), None),
        ];
        for (token, method, path, body) in cases {
            let reply = call(app, Some(token), method, &path, body);
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
            reply.problem(404, "not_found");
        }
        // Searches and filters find nothing of ours either.
        let empty = |path: &str| {
            let reply = app.get(path, &agent);
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert!(reply.json()["data"].as_array().unwrap().is_empty(), "{path}: {}", reply.text);
        };
        empty("/v1/customers?phone=02079460018");
        empty("/v1/customers?email=kim%40example.com");
        empty(&format!("/v1/customers/{their_customer}/timeline"));
        empty(&format!("/v1/interactions?customer_id={c}"));
        let intents = app.get("/v1/intents?include_archived=true", &agent).json();
        let codes: Vec<&str> = intents["data"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert_eq!(codes, vec!["theirs"]);
        assert_eq!(snapshot(app), before, "nothing of ours changed");
        let ours_now = app.get(&format!("/v1/customers/{c}"), &app.token(Role::Agent)).json();
        assert_eq!((ours_now["version"].as_i64(), ours_now["name"].as_str()), (Some(1), Some("Kim")));
    }

    fn a_customer_token_reaches_only_its_own_profile(app: &TestApp) {
        let ours = furnish(app);
        let own = app.token_with(Role::Customer, &ours.customer, "", 30);
        let profile = app.get(&format!("/v1/customers/{}", ours.customer), &own);
        assert_eq!(profile.status, 200, "{}", profile.text);
        let consent = app.patch(&format!("/v1/customers/{}", ours.customer), &own, &json!({"marketing_consent": true, "preferred_language": "en-GB"}));
        assert_eq!((consent.status, consent.json()["marketing_consent"].as_bool()), (200, Some(true)), "{}", consent.text);
        assert!(consent.json().get("tags").is_none());
        app.patch(&format!("/v1/customers/{}", ours.customer), &own, &json!({"tags": ["vip"]})).problem(403, "forbidden");
        // Another customer's data does not exist for this token.
        app.get(&format!("/v1/customers/{}", ours.other_customer), &own).problem(404, "not_found");
        app.patch(&format!("/v1/customers/{}", ours.other_customer), &own, &json!({"name": "Mine now"})).problem(404, "not_found");
        let jo = app.token_with(Role::Customer, &ours.other_customer, "", 30);
        app.get(&format!("/v1/feedback/{}", ours.feedback), &jo).problem(404, "not_found");
        app.post("/v1/feedback", &jo, &json!({"booking_id": ours.booking, "nps": 1, "effort": 7})).problem(404, "not_found");
        // Each customer still reaches their own.
        assert_eq!(app.get(&format!("/v1/customers/{}", ours.other_customer), &jo).status, 200);
        // A customer token of another business finds nothing here.
        let elsewhere = app.token_for(&app.other_business(), Role::Customer);
        app.get(&format!("/v1/customers/{}", ours.customer), &elsewhere).problem(404, "not_found");
    }

    fn customer_and_partner_tokens_are_refused_on_staff_routes(app: &TestApp) {
        let ours = furnish(app);
        let before = snapshot(app);
        let customer = app.token_with(Role::Customer, &ours.customer, "", 30);
        let partner = app.token_with(Role::Partner, "partner-app", "bookings:read bookings:write catalog:read events:read", 30);
        for (method, path, body) in routes(&ours, &ours.customer) {
            for (who, token) in [("customer", &customer), ("partner", &partner)] {
                let reply = call(app, Some(token), method, &path, body.clone());
                assert_eq!(reply.status, 403, "{who} {method} {path}: {}", reply.text);
                reply.problem(403, "forbidden");
            }
            call(app, None, method, &path, body.clone()).problem(401, "unauthenticated");
        }
        // Profiles: partners may not read or change them at all.
        app.get(&format!("/v1/customers/{}", ours.customer), &partner).problem(403, "forbidden");
        app.patch(&format!("/v1/customers/{}", ours.customer), &partner, &json!({"name": "X"})).problem(403, "forbidden");
        // Managers only: reports, intents and business settings refuse agents and desks too.
        for role in [Role::Agent, Role::Desk] {
            let token = app.token(role);
            app.get("/v1/reports/contacts?from=2026-01-01&to=2026-01-31", &token).problem(403, "forbidden");
            app.post("/v1/intents", &token, &json!({"code": "x", "name": "X"})).problem(403, "forbidden");
            app.patch("/v1/business", &token, &json!({"country": "US"})).problem(403, "forbidden");
        }
        assert_eq!(snapshot(app), before, "refusals write nothing");
    }
}

fn new_intent_for(app: &TestApp, business: &str) {
    created(app.post(
        "/v1/intents",
        &app.token_for(business, Role::Manager),
        &json!({"code": "theirs", "name": "Theirs"}),
    ));
}
