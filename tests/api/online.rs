//! The online door: what a stranger with only a slug can see and do, CORS for
//! the widget on another origin, and the limits put on strangers.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::config::OnlineSettings;
use slotwise::schema::services;

use crate::harness::{race, serve_online, Reply, RunningServer, TestApp};
use crate::on_both_databases;
use crate::shop::{london, open, rfc3339};

fn slug_of(app: &TestApp) -> String {
    let reply = app.get("/v1/business", &app.token(Role::Admin));
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["slug"].as_str().unwrap().to_owned()
}

fn anonymous(app: &TestApp, base: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let text = body.map(Value::to_string);
    app.request_at(base, method, path, None, &[], text.as_deref())
}

fn hold_body(service: &str, days: i64, hour: u32) -> Value {
    json!({"service_id": service, "start": rfc3339(london(days, hour, 0))})
}

/// A second server on the app's database with these limits.
fn limited(app: &TestApp, online: OnlineSettings) -> RunningServer {
    let pool =
        slotwise::db::connect(&slotwise::db::DatabaseUrl::parse(&app.database_url), 4).unwrap();
    serve_online(pool, online)
}

on_both_databases! {
    fn a_stranger_with_the_slug_sees_the_business_its_hours_and_online_services_only(app: &TestApp) {
        let shop = open(app);
        let slug = slug_of(app);
        let reply = app.request("GET", &format!("/v1/public/businesses/{slug}"), None, &[], None);
        assert_eq!(reply.status, 200, "{}", reply.text);
        let profile = reply.json();
        assert_eq!(profile["slug"], slug.as_str());
        assert_eq!(profile["name"], "Test business");
        assert_eq!(profile["booking_url"], format!("/book/{slug}"));
        let location = &profile["locations"][0];
        assert_eq!(location["id"], shop.location.as_str());
        assert_eq!(location["address"], "1 Dean St");
        assert_eq!(location["paused"], false);
        // The shop's staff work around the clock: one interval a day, every day.
        let hours = location["hours"].as_array().unwrap();
        assert_eq!(hours.len(), 7, "{hours:?}");
        assert_eq!(hours[0], json!({"weekday": "monday", "start": "00:00", "end": "24:00"}));
        let listed: Vec<&str> = profile["services"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert!(listed.contains(&shop.haircut.as_str()));
        // The consultation is phone and walk-in only.
        assert!(!listed.contains(&shop.consult.as_str()), "{listed:?}");
        // Nothing about staff.
        assert!(!reply.text.contains("Ana") && !reply.text.contains(&shop.ana), "{}", reply.text);

        diesel::update(services::table.find(&shop.haircut))
            .set((services::paused_at.eq(Some(Utc::now().naive_utc())), services::pause_reason.eq(Some("stylist training"))))
            .execute(&mut app.pool.get().unwrap())
            .unwrap();
        let profile = app.request("GET", &format!("/v1/public/businesses/{slug}"), None, &[], None).json();
        let haircut = profile["services"].as_array().unwrap().iter().find(|s| s["id"] == shop.haircut.as_str()).unwrap().clone();
        assert_eq!((haircut["paused"].clone(), haircut["pause_reason"].clone()), (json!(true), json!("stylist training")));

        app.request("GET", "/v1/public/businesses/nobody-here", None, &[], None).problem(404, "not_found");
    }

    fn an_admin_changes_the_slug_and_the_old_one_stops_answering(app: &TestApp) {
        let old = slug_of(app);
        let admin = app.token(Role::Admin);
        let changed = app.patch("/v1/business", &admin, &json!({"slug": "soho-salon"}));
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(changed.json()["slug"], "soho-salon");
        assert_eq!(app.request("GET", "/v1/public/businesses/soho-salon", None, &[], None).status, 200);
        app.request("GET", &format!("/v1/public/businesses/{old}"), None, &[], None).problem(404, "not_found");

        let manager = app.token(Role::Manager);
        app.patch("/v1/business", &manager, &json!({"slug": "elsewhere"})).problem(403, "forbidden");
        let bad = app.patch("/v1/business", &admin, &json!({"slug": "Not A Slug"})).problem(422, "validation_failed");
        assert!(bad["errors"]["slug"].is_string());

        let other = app.other_business();
        let other_admin = app.token_for(&other, Role::Admin);
        app.patch("/v1/business", &other_admin, &json!({"slug": "soho-salon"})).problem(409, "slug_taken");
        // Keeping one's own slug is no conflict.
        assert_eq!(app.patch("/v1/business", &admin, &json!({"slug": "soho-salon"})).status, 200);
    }

    fn the_month_view_counts_exactly_the_slots_each_day_has(app: &TestApp) {
        let shop = open(app);
        let day = |d: i64| (Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
        let (from, to) = (day(1), day(5));
        let range = format!("service_id={}&from={from}&to={to}", shop.haircut);
        let full = app.request("GET", &format!("/v1/availability?{range}"), None, &[], None);
        assert_eq!(full.status, 200, "{}", full.text);
        let counts = app.request("GET", &format!("/v1/availability/days?{range}"), None, &[], None);
        assert_eq!(counts.status, 200, "{}", counts.text);
        let full_days = full.json()["days"].as_array().unwrap().clone();
        let count_days = counts.json()["days"].as_array().unwrap().clone();
        assert_eq!(full_days.len(), 5);
        for (a, b) in full_days.iter().zip(&count_days) {
            assert_eq!(a["date"], b["date"]);
            assert_eq!(a["slots"].as_array().unwrap().len() as u64, b["free_slots"].as_u64().unwrap());
        }
        assert!(count_days.iter().all(|d| d["free_slots"].as_u64().unwrap() > 0));
        assert!(counts.text.len() * 20 < full.text.len(), "the month view should be small: {} vs {} bytes", counts.text.len(), full.text.len());

        let consult = format!("/v1/availability/days?service_id={}&from={from}&to={to}", shop.consult);
        app.request("GET", &consult, None, &[], None).problem(404, "not_found");
        let too_long = format!("/v1/availability/days?service_id={}&from={from}&to={}", shop.haircut, day(40));
        app.request("GET", &too_long, None, &[], None).problem(400, "validation_failed");
    }

    fn one_address_keeps_at_most_its_allowance_of_live_holds(app: &TestApp) {
        let shop = open(app);
        let server = limited(app, OnlineSettings { anonymous_per_minute: 0, holds_per_address: 2, ..Default::default() });
        let first = anonymous(app, &server.base, "POST", "/v1/holds", Some(&hold_body(&shop.haircut, 3, 9)));
        assert_eq!(first.status, 201, "{}", first.text);
        assert_eq!(anonymous(app, &server.base, "POST", "/v1/holds", Some(&hold_body(&shop.haircut, 3, 10))).status, 201);
        let third = anonymous(app, &server.base, "POST", "/v1/holds", Some(&hold_body(&shop.haircut, 3, 11)));
        let problem = third.problem(429, "rate_limited");
        let wait: u64 = third.header("retry-after").unwrap().parse().unwrap();
        assert!((500..=600).contains(&wait), "the first hold lapses in about 10 minutes: {wait}");
        assert_eq!(problem["retry_after"], wait);
        // Staff are not strangers.
        let agent = app.token(Role::Agent);
        let staff = app.request_at(&server.base, "POST", "/v1/holds", Some(&agent), &[], Some(&hold_body(&shop.haircut, 3, 12).to_string()));
        assert_eq!(staff.status, 201, "{}", staff.text);
        // Releasing one frees a place.
        let id = first.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(anonymous(app, &server.base, "DELETE", &format!("/v1/holds/{id}"), None).status, 204);
        assert_eq!(anonymous(app, &server.base, "POST", "/v1/holds", Some(&hold_body(&shop.haircut, 3, 13))).status, 201);
    }

    fn racing_holds_from_one_address_never_pass_the_cap(app: &TestApp) {
        let shop = open(app);
        let server = limited(app, OnlineSettings { anonymous_per_minute: 0, holds_per_address: 3, ..Default::default() });
        let replies = race(12, |i| anonymous(app, &server.base, "POST", "/v1/holds", Some(&hold_body(&shop.haircut, 4, i as u32))));
        let created = replies.iter().filter(|r| r.status == 201).count();
        let limited = replies.iter().filter(|r| r.status == 429).count();
        let other: Vec<String> = replies.iter().filter(|r| r.status != 201 && r.status != 429).map(|r| r.text.clone()).collect();
        assert_eq!((created, limited), (3, 9), "{other:?}");
    }

    fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(app: &TestApp) {
        let shop = open(app);
        let server = limited(app, OnlineSettings {
            anonymous_per_minute: 0,
            holds_per_address: 1,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        });
        let hold_from = |client: &str, hour: u32| {
            app.request_at(&server.base, "POST", "/v1/holds", None, &[("X-Forwarded-For", client)], Some(&hold_body(&shop.haircut, 5, hour).to_string()))
        };
        assert_eq!(hold_from("198.51.100.1", 9).status, 201);
        assert_eq!(hold_from("198.51.100.2", 10).status, 201);
        hold_from("198.51.100.1", 11).problem(429, "rate_limited");
        // A forged entry to the left of the real one changes nothing.
        hold_from("6.6.6.6, 198.51.100.1", 12).problem(429, "rate_limited");
    }
}

#[test]
fn strangers_spend_a_bucket_per_address_and_staff_never_do() {
    let app = TestApp::start(crate::harness::Backend::Sqlite).unwrap();
    let slug = slug_of(&app);
    let server = limited(
        &app,
        OnlineSettings {
            anonymous_per_minute: 60,
            anonymous_burst: 5,
            ..Default::default()
        },
    );
    let path = format!("/v1/public/businesses/{slug}");
    for _ in 0..5 {
        assert_eq!(
            anonymous(&app, &server.base, "GET", &path, None).status,
            200
        );
    }
    let refused = anonymous(&app, &server.base, "GET", &path, None);
    refused.problem(429, "rate_limited");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // Giving a hold back is never refused for want of tokens in the bucket.
    let release = anonymous(&app, &server.base, "DELETE", "/v1/holds/hld_unknown", None);
    assert_eq!(release.status, 404, "{}", release.text);
    // A token that does not verify makes no one staff.
    let forged = app.request_at(&server.base, "GET", &path, Some("not.a.token"), &[], None);
    assert_eq!(forged.status, 429, "{}", forged.text);
    let agent = app.token(Role::Agent);
    for _ in 0..20 {
        let reply = app.request_at(&server.base, "GET", "/v1/business", Some(&agent), &[], None);
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Operational routes are not the API's door.
    assert_eq!(
        app.request_at(&server.base, "GET", "/healthz", None, &[], None)
            .status,
        200
    );
}

#[test]
fn browsers_on_other_origins_may_call_the_api_and_read_its_headers() {
    let app = TestApp::start(crate::harness::Backend::Sqlite).unwrap();
    let slug = slug_of(&app);
    let preflight = app.request(
        "OPTIONS",
        "/v1/holds",
        None,
        &[
            ("Origin", "https://salon.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type, idempotency-key",
            ),
        ],
        None,
    );
    assert_eq!(preflight.status, 200, "{}", preflight.text);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(preflight
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("idempotency-key")));
    assert!(preflight
        .header("access-control-allow-credentials")
        .is_none());

    let get = app.request(
        "GET",
        &format!("/v1/public/businesses/{slug}"),
        None,
        &[("Origin", "https://salon.example")],
        None,
    );
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let exposed = get
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for header in [
        "date",
        "etag",
        "location",
        "link",
        "retry-after",
        "idempotent-replayed",
    ] {
        assert!(exposed.contains(header), "{exposed}");
    }

    // A configured list lets only its origins in.
    let server = limited(
        &app,
        OnlineSettings {
            cors_origins: Some(vec!["https://salon.example".into()]),
            anonymous_per_minute: 0,
            ..Default::default()
        },
    );
    let allowed = app.request_at(
        &server.base,
        "GET",
        &format!("/v1/public/businesses/{slug}"),
        None,
        &[("Origin", "https://salon.example")],
        None,
    );
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://salon.example")
    );
    let stranger = app.request_at(
        &server.base,
        "OPTIONS",
        "/v1/holds",
        None,
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert!(stranger.header("access-control-allow-origin").is_none());
}

#[test]
fn the_binary_serves_the_booking_page_widget_manage_page_and_offline_docs() {
    let app = TestApp::start(crate::harness::Backend::Sqlite).unwrap();
    let page = app.request("GET", "/book/north%3Cside%3E", None, &[], None);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text.contains("north&lt;side&gt;") && !page.text.contains("north<side>"));
    assert!(page.text.contains("/widget.js"));
    let widget = app.request("GET", "/widget.js", None, &[], None);
    assert_eq!(widget.status, 200);
    assert!(widget
        .header("content-type")
        .unwrap()
        .starts_with("application/javascript"));
    assert!(widget.text.contains("/v1/public/businesses/"));
    let manage = app.request("GET", "/manage", None, &[], None);
    assert_eq!(manage.status, 200);
    assert!(manage.text.contains("widget.js"));

    let docs = app.request("GET", "/docs/", None, &[], None);
    assert_eq!(docs.status, 200);
    // Everything the reference needs comes from this server.
    assert!(!docs.text.contains("http://") && !docs.text.contains("https://"));
    let initializer = app.request("GET", "/docs/swagger-initializer.js", None, &[], None);
    assert!(
        initializer.text.contains("/openapi.json"),
        "{}",
        initializer.text
    );
    let bundle = app.request("GET", "/docs/swagger-ui-bundle.js", None, &[], None);
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
}
