//! Partner apps: clients registered by an admin, the client credentials grant
//! as RFC 6749 §4.4 and §5.2 say, secret rotation with an overlap, disabled
//! clients, bookings attributed to and isolated by client, a scope matrix
//! over every route a partner can reach, and the per-client rate limit. On
//! both databases.

use base64::Engine;
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::config::OnlineSettings;

use crate::harness::{serve_online, serve_with_keys, test_keys, Reply, TestApp};
use crate::memory::{created, exec, id, sql_time};
use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// Registers a client with `scopes`; returns its id and secret.
fn register(app: &TestApp, scopes: &[&str]) -> (String, String) {
    let reply = created(app.post(
        "/v1/clients",
        &app.token(Role::Admin),
        &json!({"name": "BookNow", "scopes": scopes}),
    ));
    (
        reply["client_id"].as_str().unwrap().to_owned(),
        reply["client_secret"].as_str().unwrap().to_owned(),
    )
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A token request at `base` with HTTP Basic credentials (when given) and this form.
fn token_request_at(
    app: &TestApp,
    base: &str,
    credentials: Option<(&str, &str)>,
    form: &str,
) -> Reply {
    let authorization = credentials.map(|(id, secret)| basic(id, secret));
    let mut headers = vec![FORM];
    if let Some(value) = &authorization {
        headers.push(("Authorization", value.as_str()));
    }
    app.request_at(base, "POST", "/v1/oauth/token", None, &headers, Some(form))
}

fn token_request(app: &TestApp, credentials: Option<(&str, &str)>, form: &str) -> Reply {
    token_request_at(app, &app.base, credentials, form)
}

/// An access token for the client, asserting 200.
fn access_token(app: &TestApp, id: &str, secret: &str, scope: Option<&str>) -> String {
    let form = match scope {
        Some(scope) => format!(
            "grant_type=client_credentials&scope={}",
            scope.replace(' ', "+")
        ),
        None => "grant_type=client_credentials".to_owned(),
    };
    let reply = token_request(app, Some((id, secret)), &form);
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// Asserts an RFC 6749 §5.2 error: JSON (not problem+json) with `error`.
fn oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{}",
        reply.text
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["error"], error, "{}", reply.text);
    assert!(body["error_description"].is_string());
    if status == 401 {
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"slotwise\"")
        );
    }
}

fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

const PARTNER_SCOPES: [&str; 4] = [
    "catalog:read",
    "availability:read",
    "bookings:read",
    "bookings:write",
];

on_both_databases! {
    fn the_token_endpoint_follows_rfc_6749(app: &TestApp) {
        let (client, secret) = register(app, &PARTNER_SCOPES);
        assert!(client.starts_with("cli_") && secret.starts_with("cs_"));

        // HTTP Basic: a Bearer token with the client's scopes, never cached.
        let reply = token_request(app, Some((&client, &secret)), "grant_type=client_credentials");
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("pragma"), Some("no-cache"));
        let body = reply.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["scope"], PARTNER_SCOPES.join(" "));
        assert!(body.get("refresh_token").is_none());
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(token, 0)["typ"], "at+jwt");
        let claims = jwt_part(token, 1);
        assert_eq!((claims["client_id"].as_str(), claims["sub"].as_str()), (Some(client.as_str()), Some(client.as_str())));
        assert_eq!((claims["role"].as_str(), claims["business"].as_str()), (Some("partner"), Some(app.business.as_str())));
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
        assert!(claims["jti"].is_string());
        assert_eq!(app.get("/v1/services", token).status, 200);

        // Credentials in the form (RFC 6749 §2.3.1) work too.
        let in_form = token_request(app, None, &format!("grant_type=client_credentials&client_id={client}&client_secret={secret}"));
        assert_eq!(in_form.status, 200, "{}", in_form.text);

        // A subset of the scopes narrows the token; a scope beyond them is refused.
        let narrow = token_request(app, Some((&client, &secret)), "grant_type=client_credentials&scope=catalog:read");
        assert_eq!(narrow.json()["scope"], "catalog:read", "{}", narrow.text);
        let narrow = narrow.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get("/v1/locations", &narrow).status, 200);
        app.get("/v1/bookings", &narrow).problem(403, "forbidden");
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=client_credentials&scope=catalog:read+bookings:read:all"), 400, "invalid_scope");
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=client_credentials&scope=everything"), 400, "invalid_scope");

        // Bad secret, unknown client, no credentials, another scheme: invalid_client, 401.
        oauth_error(&token_request(app, Some((&client, "cs_wrong")), "grant_type=client_credentials"), 401, "invalid_client");
        oauth_error(&token_request(app, Some(("cli_01JD3V6Q8M2X4Z7C9B1N5R3T6W", &secret)), "grant_type=client_credentials"), 401, "invalid_client");
        oauth_error(&token_request(app, None, "grant_type=client_credentials"), 401, "invalid_client");
        oauth_error(&token_request(app, None, &format!("grant_type=client_credentials&client_id={client}&client_secret=nope")), 401, "invalid_client");
        let bearer = app.request("POST", "/v1/oauth/token", Some(token), &[FORM], Some("grant_type=client_credentials"));
        oauth_error(&bearer, 401, "invalid_client");

        // Grant types: only client_credentials, and one must be named.
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=password&username=a&password=b"), 400, "unsupported_grant_type");
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=authorization_code&code=x"), 400, "unsupported_grant_type");
        oauth_error(&token_request(app, Some((&client, &secret)), "scope=catalog:read"), 400, "invalid_request");
        oauth_error(&token_request(app, Some((&client, &secret)), ""), 400, "invalid_request");

        // Malformed requests: not a form, a repeated parameter, two ways of authenticating.
        let as_json = app.request("POST", "/v1/oauth/token", None, &[("Authorization", &basic(&client, &secret))], Some(r#"{"grant_type":"client_credentials"}"#));
        oauth_error(&as_json, 400, "invalid_request");
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=client_credentials&grant_type=client_credentials"), 400, "invalid_request");
        oauth_error(&token_request(app, Some((&client, &secret)), &format!("grant_type=client_credentials&client_id={client}&client_secret={secret}")), 400, "invalid_request");
    }

    fn admins_register_list_change_and_never_see_a_secret_again(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let reply = app.post("/v1/clients", &admin, &json!({"name": "  BookNow  ", "scopes": ["bookings:write", "catalog:read", "catalog:read"]}));
        let client = created(reply_clone(&reply));
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        assert_eq!(reply.header("location"), Some(format!("/v1/clients/{client_id}").as_str()));
        assert_eq!((client["name"].as_str(), client["disabled"].as_bool()), (Some("BookNow"), Some(false)));
        assert_eq!(client["scopes"], json!(["catalog:read", "bookings:write"]));
        // Only the Argon2id hash is stored.
        let secret = client["client_secret"].as_str().unwrap();
        let stored = stored_hash(app, &client_id);
        assert!(stored.starts_with("$argon2id$") && !stored.contains(&secret[3..]), "{stored}");

        let got = app.get(&format!("/v1/clients/{client_id}"), &admin);
        assert_eq!((got.status, got.header("etag")), (200, Some("\"v1\"")), "{}", got.text);
        assert!(got.json().get("client_secret").is_none());
        let listed = app.get("/v1/clients", &admin).json();
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        assert!(listed["data"][0].get("client_secret").is_none());
        assert!(!listed.to_string().contains(secret));

        // PATCH under If-Match: name and scopes.
        let path = format!("/v1/clients/{client_id}");
        let changed = app.request("PATCH", &path, Some(&admin), &[("If-Match", "\"v1\"")], Some(&json!({"name": "BookNow EU", "scopes": ["events:read", "bookings:read:all"]}).to_string()));
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(changed.json()["scopes"], json!(["bookings:read:all", "events:read"]));
        assert_eq!(changed.json()["name"], "BookNow EU");
        app.request("PATCH", &path, Some(&admin), &[("If-Match", "\"v1\"")], Some(&json!({"name": "Late"}).to_string())).problem(412, "version_mismatch");

        // Validation: unknown scope, no scope, no name, unknown field.
        for body in [
            json!({"name": "X", "scopes": ["bookings:delete"]}),
            json!({"name": "X", "scopes": []}),
            json!({"name": " ", "scopes": ["catalog:read"]}),
        ] {
            app.post("/v1/clients", &admin, &body).problem(422, "validation_failed");
        }
        let unknown = app.post("/v1/clients", &admin, &json!({"name": "X", "scopes": ["catalog:read"], "business_id": "biz_x"}));
        assert!(unknown.problem(422, "validation_failed")["errors"]["business_id"].is_string());
        app.patch(&path, &admin, &json!({"scopes": ["root"]})).problem(422, "validation_failed");

        // Admin only; another business's client does not exist.
        for role in [Role::Manager, Role::Agent, Role::Desk, Role::Customer, Role::Partner] {
            app.get("/v1/clients", &app.token(role)).problem(403, "forbidden");
            app.post("/v1/clients", &app.token(role), &json!({"name": "X", "scopes": ["catalog:read"]})).problem(403, "forbidden");
            app.post(&format!("{path}/rotate-secret"), &app.token(role), &json!({})).problem(403, "forbidden");
        }
        app.request("GET", "/v1/clients", None, &[], None).problem(401, "unauthenticated");
        let elsewhere = app.token_for(&app.other_business(), Role::Admin);
        app.get(&path, &elsewhere).problem(404, "not_found");
        app.patch(&path, &elsewhere, &json!({"disabled": true})).problem(404, "not_found");
        app.post(&format!("{path}/rotate-secret"), &elsewhere, &json!({})).problem(404, "not_found");
        assert!(app.get("/v1/clients", &elsewhere).json()["data"].as_array().unwrap().is_empty());
        assert_eq!(stored_hash(app, &client_id), stored, "refusals changed nothing");
    }

    fn a_rotated_secret_keeps_working_for_the_overlap_only(app: &TestApp) {
        let (client, old) = register(app, &["catalog:read"]);
        let admin = app.token(Role::Admin);
        let rotated = app.post(&format!("/v1/clients/{client}/rotate-secret"), &admin, &json!({}));
        assert_eq!(rotated.status, 200, "{}", rotated.text);
        let new = rotated.json()["client_secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let until = rotated.json()["previous_secret_until"].as_str().unwrap().to_owned();
        let hours = (chrono::DateTime::parse_from_rfc3339(&until).unwrap().with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((23 * 60..=24 * 60).contains(&hours), "{until}");
        // During the overlap both secrets get tokens.
        access_token(app, &client, &old, None);
        access_token(app, &client, &new, None);
        // Once it is over, only the new one.
        exec(app, &format!("UPDATE partner_clients SET previous_secret_until = {} WHERE id = '{client}'", sql_time(chrono::Utc::now() - chrono::Duration::minutes(1))));
        oauth_error(&token_request(app, Some((&client, &old)), "grant_type=client_credentials"), 401, "invalid_client");
        access_token(app, &client, &new, None);
        // A rotation without overlap retires the secret at once; bad overlaps are refused.
        let newest = app.post(&format!("/v1/clients/{client}/rotate-secret"), &admin, &json!({"overlap_minutes": 0})).json()["client_secret"].as_str().unwrap().to_owned();
        oauth_error(&token_request(app, Some((&client, &new)), "grant_type=client_credentials"), 401, "invalid_client");
        access_token(app, &client, &newest, None);
        app.post(&format!("/v1/clients/{client}/rotate-secret"), &admin, &json!({"overlap_minutes": -1})).problem(422, "validation_failed");
        app.post(&format!("/v1/clients/{client}/rotate-secret"), &admin, &json!({"overlap_minutes": 20000})).problem(422, "validation_failed");
        access_token(app, &client, &newest, None);
    }

    fn a_disabled_client_is_refused_at_once_even_with_a_live_token(app: &TestApp) {
        let shop = open(app);
        let (client, secret) = register(app, &PARTNER_SCOPES);
        let token = access_token(app, &client, &secret, None);
        assert_eq!(app.get("/v1/bookings", &token).status, 200);
        let admin = app.token(Role::Admin);
        let path = format!("/v1/clients/{client}");
        assert_eq!(app.patch(&path, &admin, &json!({"disabled": true})).json()["disabled"], true);
        // The very next request with the live token is 401, on every route.
        app.get("/v1/bookings", &token).problem(401, "unauthenticated");
        app.get("/v1/services", &token).problem(401, "unauthenticated");
        let attempt = app.post("/v1/bookings", &token, &booking(&shop.haircut, london(2, 9, 0), "d@example.com"));
        attempt.problem(401, "unauthenticated");
        assert_eq!(crate::memory::count(app, "bookings"), 0);
        oauth_error(&token_request(app, Some((&client, &secret)), "grant_type=client_credentials"), 401, "invalid_client");
        // Enabled again, the token works again; scopes taken away leave it at once.
        app.patch(&path, &admin, &json!({"disabled": false}));
        assert_eq!(app.get("/v1/bookings", &token).status, 200);
        app.patch(&path, &admin, &json!({"scopes": ["catalog:read"]}));
        app.get("/v1/bookings", &token).problem(403, "forbidden");
        assert_eq!(app.get("/v1/services", &token).status, 200);
        // A deleted client's token is refused too.
        exec(app, &format!("DELETE FROM partner_clients WHERE id = '{client}'"));
        app.get("/v1/services", &token).problem(401, "unauthenticated");
        // A signed token naming a client that was never registered is refused as well.
        let forged = crate::harness::test_keys().mint_access_token(&app.business, "cli_forged", "catalog:read", 300).unwrap();
        app.get("/v1/services", &forged).problem(401, "unauthenticated");
        // So is one whose client belongs to another business.
        let (ours, _) = register(app, &["catalog:read"]);
        let crossed = crate::harness::test_keys().mint_access_token(&app.other_business(), &ours, "catalog:read", 300).unwrap();
        app.get("/v1/services", &crossed).problem(401, "unauthenticated");
    }

    fn partners_see_and_change_only_their_own_bookings(app: &TestApp) {
        let shop = open(app);
        let (a, a_secret) = register(app, &PARTNER_SCOPES);
        let (b, b_secret) = register(app, &PARTNER_SCOPES);
        let (all, all_secret) = register(app, &["bookings:read:all"]);
        let a_token = access_token(app, &a, &a_secret, None);
        let b_token = access_token(app, &b, &b_secret, None);
        let all_token = access_token(app, &all, &all_secret, None);
        let mine = book(app, Some(&a_token), &booking(&shop.haircut, london(2, 9, 0), "a@example.com"));
        // A hold is an action too: attributed like a booking.
        let held = app.post("/v1/holds", &a_token, &json!({"service_id": shop.haircut, "start": rfc3339(london(2, 13, 0))}));
        assert_eq!(held.status, 201, "{}", held.text);
        assert_eq!(held.json()["client_id"], a.as_str());
        assert_eq!(crate::memory::count(app, &format!("holds WHERE client_id = '{a}'")), 1);
        let theirs = book(app, Some(&b_token), &booking(&shop.haircut, london(2, 10, 0), "b@example.com"));
        let staff = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(2, 11, 0), "s@example.com"));
        // Attribution: the booking, its history and its event carry the client.
        assert_eq!((mine["channel"].as_str(), mine["client_id"].as_str(), mine["created_by"].as_str()), (Some("partner"), Some(a.as_str()), Some(a.as_str())));
        assert!(staff["client_id"].is_null());
        let history = app.get(&format!("/v1/bookings/{}/history", id(&mine)), &a_token);
        assert_eq!(history.json()["data"][0]["client_id"], a.as_str(), "{}", history.text);
        let events = app.get(&format!("/v1/events?subject_id={}", id(&mine)), &app.token(Role::Manager)).json();
        assert_eq!(events["data"][0]["data"]["client_id"], a.as_str());
        // booking.created, and customer.created for the customer it brought.
        assert_eq!(crate::memory::count(app, &format!("events WHERE client_id = '{a}'")), 2);
        assert_eq!(crate::memory::count(app, &format!("events WHERE client_id = '{a}' AND event_type = 'customer.created' AND subject_id = '{}'", mine["customer_id"].as_str().unwrap())), 1);
        assert_eq!(crate::memory::count(app, "events WHERE client_id IS NOT NULL AND event_type = 'customer.created'"), 2);

        let listed = |token: &str| -> Vec<String> {
            app.get("/v1/bookings", token).json()["data"].as_array().unwrap().iter().map(id).collect()
        };
        assert_eq!(listed(&a_token), vec![id(&mine)]);
        assert_eq!(listed(&b_token), vec![id(&theirs)]);
        assert_eq!(listed(&all_token), vec![id(&mine), id(&theirs), id(&staff)]);
        let filtered = app.get(&format!("/v1/bookings?customer_id={}", theirs["customer_id"].as_str().unwrap()), &a_token);
        assert!(filtered.json()["data"].as_array().unwrap().is_empty());
        // Another partner's booking, or the business's own, does not exist for A.
        for other in [&theirs, &staff] {
            let other = id(other);
            for path in [format!("/v1/bookings/{other}"), format!("/v1/bookings/{other}/ics"), format!("/v1/bookings/{other}/history")] {
                app.get(&path, &a_token).problem(404, "not_found");
            }
            app.post(&format!("/v1/bookings/{other}/cancel"), &a_token, &json!({"reason": "mine now"})).problem(404, "not_found");
            app.post(&format!("/v1/bookings/{other}/reschedule"), &a_token, &json!({"start": rfc3339(london(3, 9, 0))})).problem(404, "not_found");
            assert_eq!(app.get(&format!("/v1/bookings/{other}"), &all_token).status, 200);
        }
        assert_eq!(app.get(&format!("/v1/bookings/{}", id(&theirs)), &app.token(Role::Agent)).json()["status"], "confirmed");
        // Its own it may move and cancel.
        let moved = app.post(&format!("/v1/bookings/{}/reschedule", id(&mine)), &a_token, &json!({"start": rfc3339(london(3, 9, 0))}));
        assert_eq!(moved.status, 200, "{}", moved.text);
        let cancelled = app.post(&format!("/v1/bookings/{}/cancel", id(&mine)), &a_token, &json!({"reason": "customer asked"}));
        assert_eq!(cancelled.json()["status"], "cancelled", "{}", cancelled.text);
        let history = app.get(&format!("/v1/bookings/{}/history", id(&mine)), &app.token(Role::Agent)).json();
        let clients: Vec<&str> = history["data"].as_array().unwrap().iter().map(|h| h["client_id"].as_str().unwrap()).collect();
        assert_eq!(clients, vec![a.as_str(); 3]);
        // The bookings report groups them by partner.
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive();
        let report = app.get(&format!("/v1/reports/bookings?from={today}&to={}", today + chrono::Duration::days(7)), &app.token(Role::Manager));
        assert_eq!(report.status, 200, "{}", report.text);
        let mut expected = vec![(a.clone(), 1, "cancelled"), (b.clone(), 1, "confirmed")];
        expected.sort();
        let partners: Vec<(String, i64, &str)> = report.json()["by_partner"].as_array().unwrap().iter().map(|p| {
            let status = if p["by_status"]["cancelled"] == 1 { "cancelled" } else { "confirmed" };
            (p["client_id"].as_str().unwrap().to_owned(), p["bookings"].as_i64().unwrap(), status)
        }).collect();
        assert_eq!(partners, expected);
        assert_eq!(report.json()["bookings"], 3);
        // The event feed follows the same line: a partner hears of its own
        // bookings (and the catalog's pauses), not of anyone else's.
        let (watcher, watcher_secret) = register(app, &["bookings:write", "events:read"]);
        let watcher_token = access_token(app, &watcher, &watcher_secret, None);
        let own = book(app, Some(&watcher_token), &booking(&shop.haircut, london(2, 12, 0), "w@example.com"));
        let paused = app.post(&format!("/v1/resources/{}/pause", shop.room), &app.token(Role::Manager), &json!({"reason": "Repainting"}));
        assert_eq!(paused.status, 200, "{}", paused.text);
        let feed = app.get("/v1/events?limit=200", &watcher_token).json();
        let feed = feed["data"].as_array().unwrap();
        let mut types: Vec<&str> = feed.iter().map(|e| e["type"].as_str().unwrap()).collect();
        types.sort();
        assert_eq!(types, vec!["booking.created", "customer.created", "resource.paused"], "{feed:?}");
        let own_event = feed.iter().find(|e| e["type"] == "booking.created").unwrap();
        assert_eq!(own_event["data"]["booking_id"], own["id"]);
        let (reader, reader_secret) = register(app, &["events:read", "bookings:read:all"]);
        let everything = app.get("/v1/events?limit=200", &access_token(app, &reader, &reader_secret, None)).json();
        assert!(everything["data"].as_array().unwrap().len() > feed.len());
        // A client of another business, even with every booking in its scope, finds none of ours.
        let elsewhere = app.other_business();
        let foreign = created(app.post("/v1/clients", &app.token_for(&elsewhere, Role::Admin), &json!({"name": "Other", "scopes": ["bookings:read:all"]})));
        let foreign = access_token(app, foreign["client_id"].as_str().unwrap(), foreign["client_secret"].as_str().unwrap(), None);
        app.get(&format!("/v1/bookings/{}", id(&theirs)), &foreign).problem(404, "not_found");
        assert!(listed(&foreign).is_empty());
        assert_ne!(b, all);
    }

    fn a_partner_manages_its_own_webhooks_and_hears_only_what_it_may_see(app: &TestApp) {
        let shop = open(app);
        let (a, a_secret) = register(app, &["bookings:write", "webhooks:manage"]);
        let (b, b_secret) = register(app, &["webhooks:manage", "bookings:read:all"]);
        let (plain_id, plain_secret) = register(app, &["bookings:write"]);
        let a_token = access_token(app, &a, &a_secret, None);
        let b_token = access_token(app, &b, &b_secret, None);
        let plain = access_token(app, &plain_id, &plain_secret, None);
        let a_hooks = crate::receiver::Receiver::start();
        let b_hooks = crate::receiver::Receiver::start();
        let a_hook = created(app.post("/v1/webhooks", &a_token, &json!({"url": a_hooks.url, "event_types": ["*"]})));
        let b_hook = created(app.post("/v1/webhooks", &b_token, &json!({"url": b_hooks.url, "event_types": ["*"]})));
        app.post("/v1/webhooks", &plain, &json!({"url": a_hooks.url, "event_types": ["*"]})).problem(403, "forbidden");
        // Each sees and changes its own only; the business sees both.
        let listed = |token: &str| -> Vec<String> { crate::memory::data(&app.get("/v1/webhooks", token)).iter().map(id).collect() };
        assert_eq!(listed(&a_token), vec![id(&a_hook)]);
        assert_eq!(listed(&b_token), vec![id(&b_hook)]);
        assert_eq!(listed(&app.token(Role::Manager)).len(), 2);
        for path in [format!("/v1/webhooks/{}", id(&b_hook)), format!("/v1/webhooks/{}/deliveries", id(&b_hook))] {
            app.get(&path, &a_token).problem(404, "not_found");
        }
        app.post(&format!("/v1/webhooks/{}/rotate-secret", id(&b_hook)), &a_token, &json!({})).problem(404, "not_found");
        app.delete(&format!("/v1/webhooks/{}", id(&b_hook)), &a_token).problem(404, "not_found");
        // A's booking, a staff booking and a pause: A hears of its own and
        // the pause; B, with every booking in its scope, hears of all.
        let mine = book(app, Some(&a_token), &booking(&shop.haircut, london(2, 9, 0), "a@example.com"));
        book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(2, 10, 0), "s@example.com"));
        let paused = app.post(&format!("/v1/resources/{}/pause", shop.room), &app.token(Role::Manager), &json!({"reason": "Repainting"}));
        assert_eq!(paused.status, 200, "{}", paused.text);
        crate::webhooks::deliver(app, chrono::Utc::now());
        let mut heard: Vec<String> = a_hooks.accepted().iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
        heard.sort();
        assert_eq!(heard, vec!["booking.created", "customer.created", "resource.paused"]);
        let booked: Vec<Value> = a_hooks.accepted().iter().map(|r| r.json()).filter(|b| b["type"] == "booking.created").collect();
        assert_eq!(booked[0]["data"]["booking_id"], mine["id"]);
        assert_eq!(b_hooks.accepted().len(), 5);
        // Its own deliveries it may read, test and retry.
        let log = crate::memory::data(&app.get(&format!("/v1/webhooks/{}/deliveries", id(&a_hook)), &a_token));
        assert_eq!(log.len(), 3);
        let retry = app.post(&format!("/v1/webhooks/deliveries/{}/retry", log[0]["id"].as_str().unwrap()), &a_token, &json!({}));
        assert_eq!(retry.status, 202, "{}", retry.text);
        let b_log = crate::memory::data(&app.get(&format!("/v1/webhooks/{}/deliveries", id(&b_hook)), &b_token));
        app.post(&format!("/v1/webhooks/deliveries/{}/retry", b_log[0]["id"].as_str().unwrap()), &a_token, &json!({}))
            .problem(404, "not_found");
    }

    fn the_scope_matrix_over_every_partner_route(app: &TestApp) {
        let shop = open(app);
        let (owner, owner_secret) = register(app, &PARTNER_SCOPES);
        let owner_token = access_token(app, &owner, &owner_secret, None);
        let day = (chrono::Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
        // Each scope alone, on a client of its own.
        let scopes = ["catalog:read", "availability:read", "bookings:read", "bookings:read:all", "bookings:write", "customers:read", "events:read", "webhooks:manage"];
        let tokens: Vec<(&str, String)> = scopes.iter().map(|s| {
            let (client, secret) = register(app, &[s]);
            (*s, access_token(app, &client, &secret, None))
        }).collect();
        // Haircuts take 30 minutes and 10 of buffer: one every 45 minutes never collides.
        let mut slot = 0;
        let mut next_slot = || { slot += 1; rfc3339(london(4, 0, 0) + chrono::Duration::minutes(45 * slot)) };
        // (method, path, body, the scopes that let it through)
        type Route = (&'static str, String, Option<Value>, &'static [&'static str]);
        let fresh = |app: &TestApp, slot: String| id(&book(app, Some(&owner_token), &json!({"service_id": shop.haircut, "start": slot, "customer": {"name": "M", "email": "m@example.com"}})));
        for (scope, token) in &tokens {
            // A booking by another client of the business.
            let owners = fresh(app, next_slot());
            let routes: Vec<Route> = vec![
                ("GET", "/v1/locations".into(), None, &["catalog:read"]),
                ("GET", format!("/v1/locations/{}", shop.location), None, &["catalog:read"]),
                ("GET", "/v1/resources".into(), None, &["catalog:read"]),
                ("GET", format!("/v1/resources/{}", shop.ana), None, &["catalog:read"]),
                ("GET", "/v1/services".into(), None, &["catalog:read"]),
                ("GET", format!("/v1/services/{}", shop.haircut), None, &["catalog:read"]),
                ("GET", format!("/v1/availability?service_id={}&from={day}&to={day}", shop.haircut), None, &["availability:read"]),
                ("GET", "/v1/bookings".into(), None, &["bookings:read", "bookings:read:all"]),
                ("GET", format!("/v1/bookings/{owners}"), None, &["bookings:read:all"]),
                ("GET", format!("/v1/bookings/{owners}/history"), None, &["bookings:read:all"]),
                ("GET", format!("/v1/bookings/{owners}/ics"), None, &["bookings:read:all"]),
                ("POST", "/v1/holds".into(), Some(json!({"service_id": shop.haircut, "start": next_slot()})), &["bookings:write"]),
                ("POST", "/v1/bookings".into(), Some(json!({"service_id": shop.haircut, "start": next_slot(), "customer": {"name": "N", "email": "n@example.com"}})), &["bookings:write"]),
                ("POST", format!("/v1/bookings/{owners}/cancel"), Some(json!({})), &[]),
                ("GET", "/v1/events".into(), None, &["events:read"]),
                ("GET", "/v1/customers".into(), None, &[]),
                ("GET", "/v1/webhooks".into(), None, &["webhooks:manage"]),
                ("GET", "/v1/clients".into(), None, &[]),
                ("GET", "/v1/reports/bookings?from=2026-01-01&to=2026-01-31".into(), None, &[]),
                ("POST", "/v1/services".into(), Some(json!({"location_id": shop.location, "name": "X", "duration_minutes": 30, "requirements": [{"resource_ids": [shop.ana]}]})), &[]),
                ("PATCH", format!("/v1/bookings/{owners}"), Some(json!({"notes": "x"})), &[]),
                ("POST", format!("/v1/bookings/{owners}/check-in"), None, &[]),
            ];
            for (method, path, body, allowed) in routes {
                let reply = app.request(method, &path, Some(token), &[], body.map(|b| b.to_string()).as_deref());
                if allowed.contains(scope) {
                    assert!((200..300).contains(&reply.status), "{scope} {method} {path}: {}", reply.text);
                } else if *scope == "bookings:read" && path.starts_with(&format!("/v1/bookings/{owners}")) && method == "GET" {
                    // Readable scope, but another client's booking: it does not exist.
                    reply.problem(404, "not_found");
                } else if *scope == "bookings:write" && path == format!("/v1/bookings/{owners}/cancel") {
                    reply.problem(404, "not_found");
                } else {
                    assert_eq!(reply.status, 403, "{scope} {method} {path}: {}", reply.text);
                    reply.problem(403, "forbidden");
                }
            }
        }
        // With both, a partner's own booking can be read and cancelled.
        let own = fresh(app, next_slot());
        assert_eq!(app.get(&format!("/v1/bookings/{own}"), &owner_token).status, 200);
        let cancelled = app.post(&format!("/v1/bookings/{own}/cancel"), &owner_token, &json!({}));
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    }

    fn each_partner_client_has_its_own_rate_limit(app: &TestApp) {
        let pool = slotwise::db::connect(&slotwise::db::DatabaseUrl::parse(&app.database_url), 4).unwrap();
        let server = serve_online(pool, OnlineSettings {
            anonymous_per_minute: 0,
            holds_per_address: 0,
            partner_per_minute: 6,
            partner_burst: 3,
            ..Default::default()
        });
        let (a, a_secret) = register(app, &["catalog:read"]);
        let (b, b_secret) = register(app, &["catalog:read"]);
        let token_at = |id: &str, secret: &str| {
            let reply = token_request_at(app, &server.base, Some((id, secret)), "grant_type=client_credentials");
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.json()["access_token"].as_str().unwrap().to_owned()
        };
        let a_token = token_at(&a, &a_secret);
        let b_token = token_at(&b, &b_secret);
        let get = |token: &str| app.request_at(&server.base, "GET", "/v1/services", Some(token), &[], None);
        for _ in 0..3 {
            assert_eq!(get(&a_token).status, 200);
        }
        let limited = get(&a_token);
        let problem = limited.problem(429, "rate_limited");
        let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=10).contains(&retry_after), "{retry_after}");
        assert_eq!(problem["retry_after"], retry_after);
        // Another client is untouched, and so is staff.
        assert_eq!(get(&b_token).status, 200);
        assert_eq!(get(&app.token(Role::Admin)).status, 200);
        // A second token of the same client spends from the same bucket.
        let again = token_at(&a, &a_secret);
        get(&again).problem(429, "rate_limited");

        // A daily quota, on a server that has one: spent, then 429 until midnight UTC.
        let pool = slotwise::db::connect(&slotwise::db::DatabaseUrl::parse(&app.database_url), 4).unwrap();
        let daily = serve_online(pool, OnlineSettings {
            anonymous_per_minute: 0,
            holds_per_address: 0,
            partner_per_minute: 0,
            partner_per_day: 2,
            ..Default::default()
        });
        let get_daily = |token: &str| app.request_at(&daily.base, "GET", "/v1/services", Some(token), &[], None);
        assert_eq!(get_daily(&a_token).status, 200);
        assert_eq!(get_daily(&a_token).status, 200);
        let spent = get_daily(&a_token);
        let problem = spent.problem(429, "rate_limited");
        assert_eq!(problem["limit"], "daily_quota");
        let retry_after: i64 = spent.header("retry-after").unwrap().parse().unwrap();
        let now = chrono::Utc::now();
        let midnight = (now.date_naive() + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert!((retry_after - (midnight - now).num_seconds()).abs() <= 5, "{retry_after}");
        assert_eq!(get_daily(&b_token).status, 200);
    }
}

on_both_databases! {
    fn with_an_es256_key_tokens_verify_against_the_published_jwks(app: &TestApp) {
        // Only the shared secret: nothing to publish.
        app.request("GET", "/.well-known/jwks.json", None, &[], None).problem(404, "not_found");
        let keys = test_keys().with_es256_pem(include_bytes!("../fixtures/es256-test-key.pem")).unwrap();
        let pool = slotwise::db::connect(&slotwise::db::DatabaseUrl::parse(&app.database_url), 4).unwrap();
        let server = serve_with_keys(pool, keys);
        let published = app.request_at(&server.base, "GET", "/.well-known/jwks.json", None, &[], None);
        assert_eq!(published.status, 200, "{}", published.text);
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&published.text).unwrap();
        assert_eq!(jwks.keys.len(), 1);
        let raw = published.json();
        assert_eq!((raw["keys"][0]["kty"].as_str(), raw["keys"][0]["alg"].as_str(), raw["keys"][0]["use"].as_str()), (Some("EC"), Some("ES256"), Some("sig")));
        assert!(raw["keys"][0].get("d").is_none(), "never the private key");

        let (client, secret) = register(app, &["catalog:read"]);
        let reply = token_request_at(app, &server.base, Some((&client, &secret)), "grant_type=client_credentials");
        assert_eq!(reply.status, 200, "{}", reply.text);
        let token = reply.json()["access_token"].as_str().unwrap().to_owned();
        // A gateway with nothing but the JWKS verifies it.
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.typ.as_deref()), (jsonwebtoken::Algorithm::ES256, Some("at+jwt")));
        let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the kid is published");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["slotwise-api"]);
        validation.set_issuer(&["slotwise"]);
        let verified = jsonwebtoken::decode::<Value>(&token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap();
        assert_eq!(verified.claims["client_id"], client.as_str());
        // The API takes it, and still takes the HS256 tokens signed before the key was configured.
        assert_eq!(app.request_at(&server.base, "GET", "/v1/services", Some(&token), &[], None).status, 200);
        assert_eq!(app.request_at(&server.base, "GET", "/v1/services", Some(&app.token(Role::Agent)), &[], None).status, 200);
        // The secret-only server cannot check an ES256 token.
        app.get("/v1/services", &token).problem(401, "unauthenticated");
    }
}

fn reply_clone(reply: &Reply) -> Reply {
    Reply {
        status: reply.status,
        headers: reply.headers.clone(),
        text: reply.text.clone(),
    }
}

fn stored_hash(app: &TestApp, client: &str) -> String {
    use diesel::prelude::*;
    use slotwise::schema::partner_clients;
    partner_clients::table
        .filter(partner_clients::id.eq(client))
        .select(partner_clients::secret_hash)
        .first(&mut app.pool.get().unwrap())
        .unwrap()
}

on_both_databases! {
    fn staff_may_log_in_with_an_external_identity_providers_tokens(app: &TestApp) {
        let pem = include_bytes!("../fixtures/es256-test-key.pem");
        let idp_issuer = "https://login.example.com/";
        // The provider: its own key, issuer and audience.
        let provider = slotwise::api::auth::TokenKeys::hs256(
            &slotwise::config::Secret::new(b"the-provider-never-shares-this-secret!!".to_vec()),
            idp_issuer,
            "slotwise-staff",
        )
        .with_es256_pem(pem)
        .unwrap();
        let jwks = serde_json::to_string(&provider.jwks().unwrap()).unwrap();
        let keys = test_keys().with_staff_idp(&jwks, idp_issuer, "slotwise-staff").unwrap();
        let server = serve_with_keys(app.pool.clone(), keys);
        let get = |token: &str| app.request_at(&server.base, "GET", "/v1/customers", Some(token), &[], None);
        let agent = provider.mint(&app.business, Role::Agent, "alex@login.example.com", "", 10).unwrap();
        assert_eq!(get(&agent).status, 200);
        // Only staff: partners and customers get their tokens from slotwise.
        let partner = provider.mint(&app.business, Role::Partner, "someone", "bookings:read", 10).unwrap();
        get(&partner).problem(401, "unauthenticated");
        // Its audience is pinned, and so is its key: the same issuer signed
        // with anything else is refused.
        let elsewhere = slotwise::api::auth::TokenKeys::hs256(
            &slotwise::config::Secret::new(b"the-provider-never-shares-this-secret!!".to_vec()),
            idp_issuer,
            "another-app",
        )
        .with_es256_pem(pem)
        .unwrap();
        get(&elsewhere.mint(&app.business, Role::Agent, "alex", "", 10).unwrap()).problem(401, "unauthenticated");
        let forged = slotwise::api::auth::TokenKeys::hs256(
            &slotwise::config::Secret::new(crate::harness::SECRET.to_vec()),
            idp_issuer,
            "slotwise-staff",
        );
        get(&forged.mint(&app.business, Role::Admin, "mallory", "", 10).unwrap()).problem(401, "unauthenticated");
        // Our own tokens work as before.
        assert_eq!(get(&app.token(Role::Agent)).status, 200);
        // A key set with no usable key, or an issuer that is ours, is refused at start.
        assert!(test_keys().with_staff_idp(r#"{"keys": []}"#, idp_issuer, "slotwise-staff").is_err());
        assert!(test_keys().with_staff_idp(&jwks, "slotwise", "slotwise-staff").is_err());
    }
}
