//! Webhook subscriptions and their delivery, on both databases: the API,
//! the address rules, Standard Webhooks signatures, the retry schedule
//! driven with the worker's own clock, `Retry-After`, 410, five days of
//! failures, rotation, replays, and workers racing for the same rows.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::db::{self, DatabaseUrl};
use slotwise::domain::webhooks::sign;
use slotwise::workers::webhooks::{run_once, Outbound};

use crate::harness::{race, serve_notify, serve_with_workers, TestApp};
use crate::memory::{created, data, id, step};
use crate::on_both_databases;
use crate::receiver::{Answer, Received, Receiver};
use crate::shop::{book, booking, london, open, rfc3339};

fn subscribe(app: &TestApp, url: &str, types: Value) -> Value {
    created(app.post(
        "/v1/webhooks",
        &app.token(Role::Manager),
        &json!({"url": url, "event_types": types}),
    ))
}

/// One pass of the delivery worker at `at`, as `serve` runs it.
pub fn deliver(app: &TestApp, at: DateTime<Utc>) -> usize {
    run_once(&mut app.pool.get().unwrap(), at, &Outbound::new(true)).unwrap()
}

fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    data(&app.get(
        &format!("/v1/webhooks/{hook}/deliveries?limit=200"),
        &app.token(Role::Manager),
    ))
}

fn hook_now(app: &TestApp, hook: &str) -> Value {
    let reply = app.get(&format!("/v1/webhooks/{hook}"), &app.token(Role::Manager));
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

fn events(app: &TestApp) -> Vec<Value> {
    data(&app.get("/v1/events?limit=200", &app.token(Role::Agent)))
}

/// Whether one of the request's signatures is `secret`'s over its id,
/// timestamp and exact body.
pub fn signed_by(secret: &str, r: &Received) -> bool {
    let timestamp: i64 = r.header("webhook-timestamp").parse().unwrap();
    let expected = sign(secret, r.header("webhook-id"), timestamp, &r.body).unwrap();
    r.header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

fn secret_of(hook: &Value) -> String {
    hook["secret"].as_str().expect("the secret").to_owned()
}

fn book_haircut(app: &TestApp, haircut: &str, hour: u32) -> Value {
    book(
        app,
        Some(&app.token(Role::Agent)),
        &booking(haircut, london(3, hour, 0), "sam@example.com"),
    )
}

fn seconds(n: i64) -> Duration {
    Duration::seconds(n)
}

on_both_databases! {
    fn managers_keep_subscriptions_and_see_the_secret_once(app: &TestApp) {
        let manager = app.token(Role::Manager);
        let reply = app.post("/v1/webhooks", &manager, &json!({
            "url": "https://hooks.example.com/in",
            "event_types": ["booking.created", "booking.cancelled"],
            "description": "The CRM"
        }));
        assert_eq!(reply.status, 201, "{}", reply.text);
        let hook = reply.json();
        let hook_id = id(&hook);
        assert_eq!(reply.header("location"), Some(format!("/v1/webhooks/{hook_id}").as_str()));
        assert_eq!(reply.header("etag"), Some("\"v1\""));
        let secret = secret_of(&hook);
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .unwrap();
        assert!(key.len() >= 24);
        assert_eq!(hook["event_types"], json!(["booking.created", "booking.cancelled"]));
        assert_eq!(hook["enabled"], true);
        // Never again: not on a read, not in a list.
        let read = hook_now(app, &hook_id);
        assert!(read.get("secret").is_none());
        assert_eq!(read["description"], "The CRM");
        let listed = data(&app.get("/v1/webhooks", &manager));
        assert_eq!(listed.len(), 1);
        assert!(listed[0].get("secret").is_none());
        assert!(!app.get("/v1/webhooks", &manager).text.contains(&secret));

        // Who may.
        let agent = app.token(Role::Agent);
        app.get("/v1/webhooks", &agent).problem(403, "forbidden");
        app.post("/v1/webhooks", &agent, &json!({"url": "https://a.example.com", "event_types": ["*"]}))
            .problem(403, "forbidden");
        app.request("GET", "/v1/webhooks", None, &[], None).problem(401, "unauthenticated");
        let stranger = app.token_for(&app.other_business(), Role::Admin);
        app.get(&format!("/v1/webhooks/{hook_id}"), &stranger).problem(404, "not_found");

        // Changes under If-Match; turning off says why, turning on forgets it.
        let path = format!("/v1/webhooks/{hook_id}");
        app.request("PATCH", &path, Some(&manager), &[("If-Match", "\"v9\"")], Some(r#"{"enabled": false}"#))
            .problem(412, "version_mismatch");
        let off = app.request("PATCH", &path, Some(&manager), &[("If-Match", "\"v1\"")],
            Some(r#"{"enabled": false, "event_types": ["*"]}"#));
        assert_eq!(off.status, 200, "{}", off.text);
        let off = off.json();
        assert_eq!((off["enabled"].clone(), off["version"].clone()), (json!(false), json!(2)));
        assert_eq!(off["disabled_reason"], "turned off by staff");
        assert_eq!(off["event_types"], json!(["*"]));
        let on = app.patch(&path, &manager, &json!({"enabled": true}));
        assert_eq!(on.status, 200, "{}", on.text);
        assert_eq!(on.json()["disabled_reason"], Value::Null);

        // Bad input, each with the field named; nothing is written.
        let refused = [
            (json!({"url": "https://a.example.com", "event_types": []}), "event_types"),
            (json!({"url": "https://a.example.com", "event_types": ["booking.exploded"]}), "event_types"),
            (json!({"url": "https://a.example.com", "event_types": ["*", "*"]}), "event_types"),
            (json!({"url": "ftp://a.example.com", "event_types": ["*"]}), "url"),
            (json!({"url": "https://me:pw@a.example.com", "event_types": ["*"]}), "url"),
            (json!({"url": "https://a.example.com:99999", "event_types": ["*"]}), "url"),
            (json!({"url": "https://a.example.com", "event_types": ["*"], "colour": "red"}), "colour"),
        ];
        for (body, field) in refused {
            let problem = app.post("/v1/webhooks", &manager, &body).problem(422, "validation_failed");
            assert!(problem["errors"][field].is_string(), "{body}: {problem}");
        }
        let problem = app.post("/v1/webhooks", &manager,
            &json!({"url": "https://a.example.com", "event_types": ["*"], "location_id": "loc_nope"}))
            .problem(422, "validation_failed");
        assert!(problem["errors"]["location_id"].is_string());
        app.patch(&path, &manager, &json!({"url": "gopher://x"})).problem(422, "validation_failed");
        assert_eq!(data(&app.get("/v1/webhooks", &manager)).len(), 1);

        // Rotation shows the new secret, once.
        let rotated = app.post(&format!("{path}/rotate-secret"), &manager, &json!({}));
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        let rotated = rotated.json();
        assert_ne!(secret_of(&rotated), secret);
        assert!(rotated["previous_secret_until"].is_string());

        // Unknown objects.
        for (method, missing) in [
            ("GET", "/v1/webhooks/whk_nope/deliveries"),
            ("POST", "/v1/webhooks/whk_nope/test"),
            ("POST", "/v1/webhooks/whk_nope/rotate-secret"),
            ("POST", "/v1/webhooks/deliveries/dlv_nope/retry"),
        ] {
            app.request(method, missing, Some(&manager), &[], Some("{}")).problem(404, "not_found");
        }
        app.post("/v1/webhooks/whk_nope/replay", &manager,
            &json!({"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})).problem(404, "not_found");

        assert_eq!(app.delete(&path, &manager).status, 204);
        app.get(&path, &manager).problem(404, "not_found");
        app.delete(&path, &manager).problem(404, "not_found");
    }

    fn private_destinations_are_refused_unless_the_server_allows_them(app: &TestApp) {
        let strict = serve_notify(app.pool.clone(), slotwise::config::NotifySettings::default());
        let manager = app.token(Role::Manager);
        let create = |url: &str| {
            let body = json!({"url": url, "event_types": ["*"]}).to_string();
            app.request_at(&strict.base, "POST", "/v1/webhooks", Some(&manager), &[], Some(&body))
        };
        for url in [
            "http://127.0.0.1:8080/in",
            "http://localhost/in",
            "http://10.1.2.3/in",
            "http://192.168.0.10/in",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/in",
            "http://[fd00::1]/in",
            "http://100.64.0.1/in",
        ] {
            let problem = create(url).problem(422, "destination_refused");
            assert!(problem["errors"]["url"].is_string(), "{url}: {problem}");
        }
        // A public address needs no name lookup to be accepted.
        let reply = create("http://93.184.216.34/in");
        assert_eq!(reply.status, 201, "{}", reply.text);
        let hook = reply.json();
        let body = json!({"url": "http://127.0.0.1/in"}).to_string();
        app.request_at(&strict.base, "PATCH", &format!("/v1/webhooks/{}", id(&hook)), Some(&manager), &[], Some(&body))
            .problem(422, "destination_refused");
        assert_eq!(hook_now(app, &id(&hook))["url"], "http://93.184.216.34/in");

        // (Gone again, so the worker below does not call the internet.)
        assert_eq!(app.delete(&format!("/v1/webhooks/{}", id(&hook)), &manager).status, 204);

        // The worker checks again before every attempt: an endpoint saved
        // while private addresses were allowed is not called once they are not.
        let receiver = Receiver::start();
        let local = subscribe(app, &receiver.url, json!(["booking.created"]));
        let shop = open(app);
        book_haircut(app, &shop.haircut, 10);
        let attempted = run_once(&mut app.pool.get().unwrap(), Utc::now(), &Outbound::new(false)).unwrap();
        assert!(attempted >= 1);
        assert!(receiver.received().is_empty());
        let log = deliveries(app, &id(&local));
        assert_eq!(log.len(), 1);
        let error = log[0]["attempt_log"][0]["error"].as_str().unwrap();
        assert!(error.contains("private address"), "{error}");
        assert_eq!(log[0]["state"], "pending");
    }

    fn every_event_reaches_its_subscribers_signed_and_only_theirs(app: &TestApp) {
        let receiver = Receiver::start();
        let everything = subscribe(app, &receiver.url, json!(["*"]));
        let secret = secret_of(&everything);
        let cancels = Receiver::start();
        let only_cancels = subscribe(app, &cancels.url, json!(["booking.cancelled"]));
        let shop = open(app);
        let admin = app.token(Role::Admin);
        let elsewhere = created(app.post("/v1/locations", &admin,
            &json!({"name": "Leeds", "timezone": "Europe/London"})));
        let other_shop = Receiver::start();
        let leeds_only = created(app.post("/v1/webhooks", &app.token(Role::Manager),
            &json!({"url": other_shop.url, "event_types": ["*"], "location_id": id(&elsewhere)})));

        let b = book_haircut(app, &shop.haircut, 10);
        step(app, &id(&b), "cancel");
        let written = events(app);
        let attempted = deliver(app, Utc::now());
        assert_eq!(attempted, written.len() + 1, "every event once to `*`, the cancel once more");

        let got: BTreeMap<String, Received> = receiver
            .accepted()
            .into_iter()
            .map(|r| (r.header("webhook-id").to_owned(), r))
            .collect();
        assert_eq!(got.len(), written.len());
        for event in &written {
            let r = &got[event["id"].as_str().unwrap()];
            assert!(signed_by(&secret, r), "{} is signed", event["type"]);
            assert!(r.header("webhook-signature").starts_with("v1,"));
            let sent_at: i64 = r.header("webhook-timestamp").parse().unwrap();
            assert!((Utc::now().timestamp() - sent_at).abs() < 120);
            assert!(r.header("content-type").starts_with("application/json"));
            let body = r.json();
            assert_eq!(body["type"], event["type"]);
            assert!(body["timestamp"].is_string());
            // The customer's own capabilities never leave slotwise.
            assert!(body["data"].get("manage_token").is_none() && body["data"].get("token").is_none());
            if event["type"] == "booking.created" {
                assert_eq!(body["data"]["booking_id"], b["id"]);
                assert_eq!(body["data"]["reference"], b["reference"]);
            }
        }
        // A signature of another secret, or of a changed body, does not verify.
        let any = got.values().next().unwrap();
        let tampered = Received { body: any.body.replace('}', " }"), ..any.clone() };
        assert!(!signed_by(&secret, &tampered));
        assert!(!signed_by(&secret_of(&only_cancels), any));

        let cancelled = cancels.accepted();
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0].json()["type"], "booking.cancelled");
        assert!(other_shop.received().is_empty());
        assert!(deliveries(app, &id(&leeds_only)).is_empty());

        // Each attempt is on the record.
        let log = deliveries(app, &id(&everything));
        assert_eq!(log.len(), written.len());
        for d in &log {
            assert_eq!(d["state"], "delivered");
            assert_eq!(d["attempts"], 1);
            assert!(d["delivered_at"].is_string());
            assert_eq!(d["attempt_log"][0]["status_code"], 200);
            assert_eq!(d["attempt_log"][0]["response_snippet"], "answered 200");
            assert!(d["attempt_log"][0]["duration_ms"].as_i64().unwrap() >= 0);
        }
        // Nothing is sent twice.
        assert_eq!(deliver(app, Utc::now() + Duration::days(2)), 0);
    }

    fn an_endpoint_down_for_ten_minutes_gets_every_event_once(app: &TestApp) {
        let receiver = Receiver::start();
        receiver.answer_always(Answer::status(503));
        let hook = subscribe(app, &receiver.url, json!(["*"]));
        let shop = open(app);
        for hour in [9, 10, 11] {
            book_haircut(app, &shop.haircut, hour);
        }
        let written = events(app);
        let t0 = Utc::now();
        // Down: the worker passes every 10 s for ten simulated minutes.
        for tick in 0..60 {
            deliver(app, t0 + seconds(10 * tick));
        }
        assert!(receiver.accepted().is_empty());
        // Probed at once, after 5 s and after 5 min, one delivery at a time:
        // the backlog waits behind the probe instead of hammering the endpoint.
        let probes = receiver.received().len();
        assert_eq!(probes, 3, "{probes} tries while down");
        // Back up; the schedule goes on (30 min, 2 h, …) and nothing more is sent.
        receiver.answer_always(Answer::status(204));
        for minutes in [11, 20, 40, 60, 180, 600, 1440, 2880] {
            deliver(app, t0 + Duration::minutes(minutes));
        }
        let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
        for r in receiver.accepted() {
            *per_event.entry(r.header("webhook-id").to_owned()).or_default() += 1;
        }
        let expected: BTreeSet<String> = written.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(per_event.keys().cloned().collect::<BTreeSet<_>>(), expected);
        assert!(per_event.values().all(|&n| n == 1), "{per_event:?}");
        for d in deliveries(app, &id(&hook)) {
            assert_eq!(d["state"], "delivered");
            let log = d["attempt_log"].as_array().unwrap();
            assert_eq!(log.len() as i64, d["attempts"].as_i64().unwrap());
            assert_eq!(log.last().unwrap()["status_code"], 204);
            assert!(log[..log.len() - 1].iter().all(|a| a["status_code"] == 503));
        }
        // The endpoint was failing and is not any more.
        assert_eq!(hook_now(app, &id(&hook))["failing_since"], Value::Null);
    }

    fn a_dead_endpoint_holds_up_nobody_else(app: &TestApp) {
        let dead = Receiver::start();
        dead.answer_always(Answer::status(500));
        let alive = Receiver::start();
        let dead_hook = subscribe(app, &dead.url, json!(["*"]));
        subscribe(app, &alive.url, json!(["*"]));
        let shop = open(app);
        let agent = app.token(Role::Agent);
        for (hour, email) in [(10, "a@example.com"), (11, "b@example.com")] {
            book(app, Some(&agent), &booking(&shop.haircut, london(3, hour, 0), email));
        }
        let written = events(app).len();
        assert_eq!(written, 4);
        let t0 = Utc::now();
        assert_eq!(deliver(app, t0), written + 1, "all to the live endpoint, one probe to the dead one");
        assert_eq!(alive.accepted().len(), written);
        assert_eq!(dead.received().len(), 1);
        let log = deliveries(app, &id(&dead_hook));
        let probe = log.iter().find(|d| d["attempts"] == 1).unwrap();
        for waiting in log.iter().filter(|d| d["attempts"] == 0) {
            assert_eq!(waiting["state"], "pending");
            assert_eq!(waiting["next_attempt_at"], probe["next_attempt_at"], "the backlog waits for the probe");
        }
        assert_eq!(deliver(app, t0 + seconds(1)), 0);
        // Back: the next probe succeeds and the backlog follows in the same pass.
        dead.answer_always(Answer::status(200));
        assert_eq!(deliver(app, t0 + seconds(10)), written);
        assert_eq!(dead.accepted().len(), written);
        assert!(deliveries(app, &id(&dead_hook)).iter().all(|d| d["state"] == "delivered"));
    }

    fn retry_after_is_honoured_and_410_turns_the_subscription_off(app: &TestApp) {
        let receiver = Receiver::start();
        receiver.answer_next(Answer::status(429).with_header("Retry-After", "3600"));
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let hook_id = id(&hook);
        let shop = open(app);
        book_haircut(app, &shop.haircut, 10);
        let t0 = Utc::now();
        assert_eq!(deliver(app, t0), 1);
        let pending = &deliveries(app, &hook_id)[0];
        assert_eq!(pending["last_status"], 429);
        let next = DateTime::parse_from_rfc3339(pending["next_attempt_at"].as_str().unwrap()).unwrap();
        assert!(next >= t0 + seconds(3599), "{next} waits the hour asked for");
        assert_eq!(deliver(app, t0 + seconds(1800)), 0, "not before the endpoint asked");
        assert_eq!(deliver(app, t0 + seconds(3601)), 1);
        assert_eq!(receiver.accepted().len(), 1);
        assert_eq!(deliveries(app, &hook_id)[0]["state"], "delivered");

        // Gone: off at once, with an event saying so, and nothing new queued.
        receiver.answer_always(Answer::status(410));
        book_haircut(app, &shop.haircut, 11);
        assert_eq!(deliver(app, Utc::now()), 1);
        let off = hook_now(app, &hook_id);
        assert_eq!(off["enabled"], false);
        assert!(off["disabled_reason"].as_str().unwrap().contains("410"));
        let log = deliveries(app, &hook_id);
        assert_eq!(log[1]["state"], "failed");
        let disabled: Vec<Value> = events(app).into_iter().filter(|e| e["type"] == "webhook.disabled").collect();
        assert_eq!(disabled.len(), 1);
        assert_eq!(disabled[0]["data"]["webhook_id"], hook_id.as_str());
        book_haircut(app, &shop.haircut, 12);
        assert_eq!(deliveries(app, &hook_id).len(), 2);
        assert_eq!(deliver(app, Utc::now() + Duration::days(1)), 0);
    }

    fn five_days_of_failures_turn_the_subscription_off_with_an_event(app: &TestApp) {
        let receiver = Receiver::start();
        receiver.answer_always(Answer::status(500));
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let hook_id = id(&hook);
        let watcher = Receiver::start();
        subscribe(app, &watcher.url, json!(["webhook.disabled"]));
        let shop = open(app);
        book_haircut(app, &shop.haircut, 10);
        let manager = app.token(Role::Manager);
        let t0 = Utc::now();
        assert_eq!(deliver(app, t0), 1);
        assert!(hook_now(app, &hook_id)["failing_since"].is_string());
        // Four days on, still failing, still on.
        assert_eq!(app.post(&format!("/v1/webhooks/{hook_id}/test"), &manager, &json!({})).status, 202);
        assert!(deliver(app, t0 + Duration::days(4)) >= 1);
        assert_eq!(hook_now(app, &hook_id)["enabled"], true);
        // Five days of nothing but failures: off, and the watcher is told.
        assert_eq!(app.post(&format!("/v1/webhooks/{hook_id}/test"), &manager, &json!({})).status, 202);
        deliver(app, t0 + Duration::days(5) + Duration::minutes(1));
        let off = hook_now(app, &hook_id);
        assert_eq!(off["enabled"], false, "{off}");
        assert_eq!(off["disabled_reason"], "every attempt failed for 5 days");
        // The event is written at the worker's time, and delivered from then.
        deliver(app, t0 + Duration::days(5) + Duration::minutes(2));
        let told = watcher.accepted();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].json()["data"]["webhook_id"], hook_id.as_str());
    }

    fn rotation_signs_with_both_secrets_until_the_overlap_ends(app: &TestApp) {
        let receiver = Receiver::start();
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let hook_id = id(&hook);
        let old = secret_of(&hook);
        let manager = app.token(Role::Manager);
        let rotated = app.post(&format!("/v1/webhooks/{hook_id}/rotate-secret"), &manager, &json!({}));
        let new = secret_of(&rotated.json());
        let test = app.post(&format!("/v1/webhooks/{hook_id}/test"), &manager, &json!({}));
        assert_eq!(test.status, 202, "{}", test.text);
        assert_eq!(test.json()["event_type"], "webhook.test");
        deliver(app, Utc::now());
        let during = receiver.accepted().pop().unwrap();
        assert_eq!(during.header("webhook-signature").split(' ').count(), 2);
        assert!(signed_by(&new, &during) && signed_by(&old, &during));
        assert_eq!(during.json()["type"], "webhook.test");
        assert_eq!(during.json()["data"]["webhook_id"], hook_id.as_str());
        // A day later only the new secret signs.
        app.post(&format!("/v1/webhooks/{hook_id}/test"), &manager, &json!({}));
        deliver(app, Utc::now() + Duration::hours(25));
        let after = receiver.accepted().pop().unwrap();
        assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
        assert!(signed_by(&new, &after) && !signed_by(&old, &after));
    }

    fn replays_and_retries_send_the_same_event_again(app: &TestApp) {
        let receiver = Receiver::start();
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let hook_id = id(&hook);
        let manager = app.token(Role::Manager);
        let before = Utc::now() - seconds(5);
        let shop = open(app);
        book_haircut(app, &shop.haircut, 10);
        deliver(app, Utc::now());
        let first = receiver.accepted();
        assert_eq!(first.len(), 1);
        let event_id = first[0].header("webhook-id").to_owned();

        let path = format!("/v1/webhooks/{hook_id}/replay");
        let replay = app.post(&path, &manager, &json!({"from": rfc3339(before), "to": rfc3339(Utc::now() + seconds(5))}));
        assert_eq!(replay.status, 202, "{}", replay.text);
        // Only the kinds the subscription wants (not customer.created).
        assert_eq!(replay.json()["queued"], 1);
        let delivery_id = deliveries(app, &hook_id)[0]["id"].as_str().unwrap().to_owned();
        let retry = app.post(&format!("/v1/webhooks/deliveries/{delivery_id}/retry"), &manager, &json!({}));
        assert_eq!(retry.status, 202, "{}", retry.text);
        assert_eq!(retry.json()["event_id"], event_id.as_str());
        assert_eq!(deliver(app, Utc::now() + seconds(1)), 2);
        let all = receiver.accepted();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|r| r.header("webhook-id") == event_id && r.body == first[0].body));

        // An empty or backwards range is a mistake; so is a range that is not one.
        app.post(&path, &manager, &json!({"from": rfc3339(before), "to": rfc3339(before)}))
            .problem(422, "validation_failed");
        app.post(&path, &manager, &json!({"from": "yesterday", "to": rfc3339(before)}))
            .problem(422, "validation_failed");
        let empty = app.post(&path, &manager, &json!({"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}));
        assert_eq!(empty.json()["queued"], 0);
        app.post(&path, &app.token(Role::Agent), &json!({"from": rfc3339(before), "to": rfc3339(Utc::now())}))
            .problem(403, "forbidden");
    }

    fn serve_delivers_and_notifies_as_soon_as_a_change_commits(app: &TestApp) {
        let receiver = Receiver::start();
        subscribe(app, &receiver.url, json!(["booking.created"]));
        let adapter = Receiver::start();
        // Polling once a minute: anything sooner is the commit waking the workers.
        let server = serve_with_workers(app.pool.clone(), slotwise::config::NotifySettings {
            webhook_allow_private: true,
            poll_interval_ms: 60_000,
            text_url: Some(adapter.url.clone()),
            ..Default::default()
        });
        let shop = open(app);
        let body = json!({"service_id": shop.haircut, "start": rfc3339(london(3, 10, 0)),
            "customer": {"name": "Ria", "phone": "+44 7700 900456"}});
        let booked = app.request_at(&server.base, "POST", "/v1/bookings", Some(&app.token(Role::Agent)), &[], Some(&body.to_string()));
        assert_eq!(booked.status, 201, "{}", booked.text);
        let waited = std::time::Instant::now();
        while (receiver.accepted().is_empty() || adapter.accepted().is_empty())
            && waited.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(receiver.accepted().len(), 1, "the webhook went out before the next poll");
        assert_eq!(receiver.accepted()[0].json()["data"]["booking_id"], booked.json()["id"]);
        assert_eq!(adapter.accepted().len(), 1, "the confirmation went out before the next poll");
    }

    fn two_workers_never_send_the_same_attempt(app: &TestApp) {
        let receiver = Receiver::start();
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let queued = 500;
        {
            let mut conn = app.pool.get().unwrap();
            for _ in 0..queued {
                slotwise::store::webhooks::queue_test(&mut conn, &app.business, &id(&hook), slotwise::store::now()).unwrap();
            }
        }
        let now = Utc::now() + seconds(1);
        let attempted: usize = race(2, |_| {
            let mut conn = app.pool.get().unwrap();
            let outbound = Outbound::new(true);
            let mut mine = 0;
            loop {
                let n = run_once(&mut conn, now, &outbound).unwrap();
                if n == 0 {
                    break mine;
                }
                mine += n;
            }
        })
        .into_iter()
        .sum();
        assert_eq!(attempted, queued);
        let ids: BTreeSet<String> = receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect();
        assert_eq!(receiver.received().len(), queued);
        assert_eq!(ids.len(), queued);
    }

    fn a_restart_mid_schedule_loses_nothing(app: &TestApp) {
        let receiver = Receiver::start();
        receiver.answer_always(Answer::status(502));
        let hook = subscribe(app, &receiver.url, json!(["booking.created"]));
        let shop = open(app);
        book_haircut(app, &shop.haircut, 10);
        let t0 = Utc::now();
        assert_eq!(deliver(app, t0), 1);
        // A worker claims the retry and dies before it records anything.
        {
            let pool = db::connect(&DatabaseUrl::parse(&app.database_url), 1).unwrap();
            let claimed = slotwise::store::webhooks::claim_due(&mut pool.get().unwrap(), t0 + seconds(10), 50).unwrap();
            assert_eq!(claimed.len(), 1);
        }
        assert_eq!(deliver(app, t0 + seconds(20)), 0, "still claimed by the dead worker");
        // A new process, after the claim has lapsed and the endpoint is back.
        receiver.answer_always(Answer::status(200));
        let pool = db::connect(&DatabaseUrl::parse(&app.database_url), 1).unwrap();
        let sent = run_once(&mut pool.get().unwrap(), t0 + Duration::minutes(2), &Outbound::new(true)).unwrap();
        assert_eq!(sent, 1);
        assert_eq!(receiver.accepted().len(), 1);
        assert_eq!(deliveries(app, &id(&hook))[0]["state"], "delivered");
    }
}
