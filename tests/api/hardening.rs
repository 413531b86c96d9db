//! Issue 9's hardening, on both databases: tokens for businesses that do not
//! exist, strict JWT and `Authorization` handling, and the contract's edges.

use crate::on_both_databases;
use crate::shop::{book, booking, london, open};
use serde_json::json;
use slotwise::api::auth::Role;

on_both_databases! {
    fn a_bad_body_is_named_whatever_if_match_says(app: &TestApp) {
        let shop = open(app);
        let manager = app.token(Role::Manager);
        let path = format!("/v1/locations/{}", shop.location);
        let patch = |body: &serde_json::Value, tag: &str| {
            app.request("PATCH", &path, Some(&manager), &[("If-Match", tag)], Some(&body.to_string()))
        };
        let bad = json!({"email": format!("{}@example.com", "a".repeat(300))});
        let good = json!({"name": "Northside Salon"});
        // A tag that names no version of ours: the body is judged first (fuzzer found 412 here).
        for tag in ["null", "\"v0\"", "garbage"] {
            let reply = patch(&bad, tag);
            assert_eq!(reply.status, 422, "{tag}: {}", reply.text);
            assert!(reply.json()["errors"]["email"].is_string(), "{}", reply.text);
            patch(&good, tag).problem(412, "version_mismatch");
        }
        // The current tag still writes.
        let current = app.get(&path, &manager).header("etag").unwrap().to_owned();
        assert_eq!(patch(&good, &current).status, 200);
    }

    fn a_signed_token_for_a_business_that_does_not_exist_is_401_everywhere(app: &TestApp) {
        let ghost = slotwise::ids::new_id("biz");
        let admin = app.token_for(&ghost, Role::Admin);
        let location = json!({"name": "Soho", "timezone": "Europe/London"});
        // Before: 500 (foreign key) on these two writes, 404 on the reads.
        app.post("/v1/locations", &admin, &location).problem(401, "unauthenticated");
        app.post("/v1/intents", &admin, &json!({"code": "billing.refund", "name": "Refund"}))
            .problem(401, "unauthenticated");
        app.get("/v1/locations", &admin).problem(401, "unauthenticated");
        app.get("/v1/bookings/bkg_nope", &admin).problem(401, "unauthenticated");
        app.get("/v1/availability?service_id=svc_nope", &admin).problem(401, "unauthenticated");
        app.post("/v1/holds", &admin, &json!({"service_id": "svc_nope", "start": "2030-01-01T10:00:00Z"}))
            .problem(401, "unauthenticated");
        // Nothing was written for the ghost.
        use diesel::prelude::*;
        let written: i64 = slotwise::schema::locations::table
            .count()
            .get_result(&mut app.pool.get().unwrap())
            .unwrap();
        assert_eq!(written, 0);

        // A refusal is not remembered: once the business exists, its tokens work.
        let business = slotwise::store::businesses::Business {
            id: ghost.clone(),
            name: "Late arrival".into(),
            timezone: "Europe/London".into(),
            created_at: slotwise::store::now(),
            slug: None,
        };
        slotwise::store::businesses::insert(&mut app.pool.get().unwrap(), &business).unwrap();
        assert_eq!(app.post("/v1/locations", &admin, &location).status, 201);
        assert_eq!(app.get("/v1/locations", &admin).status, 200);
        // And the app's own business is untouched by all this.
        assert_eq!(app.get("/v1/locations", &app.token(Role::Admin)).status, 200);
    }

    fn query_parameter_errors_name_the_parameter_and_whole_floats_are_integers(app: &TestApp) {
        let admin = app.token(Role::Admin);
        // Before: `errors.body` for every query parameter.
        let bad = app.get("/v1/customers?limit=abc", &admin).problem(400, "validation_failed");
        assert!(bad["errors"]["limit"].is_string(), "{bad}");
        assert!(bad["errors"].get("body").is_none(), "{bad}");
        let bad = app.get("/v1/locations?include_archived=maybe", &admin).problem(400, "validation_failed");
        assert!(bad["errors"]["include_archived"].is_string(), "{bad}");
        // `30.0` is an integer (JSON Schema 2020-12), in a query and in a body.
        for name in ["Soho", "Camden"] {
            let location = json!({"name": name, "timezone": "Europe/London"});
            assert_eq!(app.post("/v1/locations", &admin, &location).status, 201);
        }
        let page = app.get("/v1/locations?limit=1.0", &admin);
        assert_eq!(page.status, 200, "{}", page.text);
        assert_eq!(page.json()["data"].as_array().unwrap().len(), 1);
        app.get("/v1/locations?limit=1.5", &admin).problem(400, "validation_failed");
        let location = page.json()["data"][0]["id"].as_str().unwrap().to_owned();
        let room = json!({"name": "Room 1", "kind": "room", "location_id": location, "capacity": 3.0});
        let created = app.post("/v1/resources", &admin, &room);
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json()["capacity"], 3);
        let half = json!({"name": "Room 2", "kind": "room", "location_id": location, "capacity": 2.5});
        let refused = app.post("/v1/resources", &admin, &half).problem(422, "validation_failed");
        assert!(refused["errors"]["capacity"].is_string(), "{refused}");
    }

    fn json_arrays_do_not_stand_in_for_objects_in_any_body(app: &TestApp) {
        let admin = app.token(Role::Admin);
        // Before: each of these was read as a positional struct, one
        // element per field (201).
        for (path, body) in [
            ("/v1/customers", json!(["Name", "a@b.c", null, null, null])),
            ("/v1/intents", json!(["billing.refund", "Refund", null])),
            ("/v1/locations", json!(["Soho", null, null, null, "Europe/London"])),
        ] {
            let refused = app.post(path, &admin, &body).problem(422, "validation_failed");
            assert!(refused["errors"]["body"].is_string(), "{path}: {refused}");
        }
        // Nested objects too, named by their path.
        let shop = open(app);
        let mut nested = booking(&shop.haircut, london(2, 11, 0), "bo@example.com");
        nested["customer"] = json!(["Bo", "bo@example.com", null]);
        let refused = app.post("/v1/bookings", &admin, &nested).problem(422, "validation_failed");
        assert!(refused["errors"]["customer"].is_string(), "{refused}");
        // And the optional body of a lifecycle step.
        let booked = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(2, 10, 0), "ann@example.com"));
        let id = booked["id"].as_str().unwrap();
        let cancel = format!("/v1/bookings/{id}/cancel");
        app.post(&cancel, &admin, &json!(["changed my mind", null])).problem(422, "validation_failed");
        assert_eq!(app.get(&format!("/v1/bookings/{id}"), &admin).json()["status"], "confirmed");
        assert_eq!(app.post(&cancel, &admin, &json!({"reason": "changed my mind"})).status, 200);
    }

    fn years_outside_0001_to_9999_are_refused_in_bodies_and_queries(app: &TestApp) {
        let agent = app.token(Role::Agent);
        let manager = app.token(Role::Manager);
        assert_eq!(app.post("/v1/intents", &manager, &json!({"code": "billing", "name": "Billing"})).status, 201);
        let contact = |at: &str| json!({"channel": "phone", "intent": "billing", "outcome": "resolved", "duration_seconds": 5, "occurred_at": at});
        // Before: 201, and the year echoed back as `-0001`.
        for at in ["-0001-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"] {
            let refused = app.post("/v1/interactions", &agent, &contact(at)).problem(422, "validation_failed");
            assert!(refused["errors"]["occurred_at"].is_string(), "{at}: {refused}");
        }
        assert_eq!(app.post("/v1/interactions", &agent, &contact("2026-01-05T10:00:00Z")).status, 201);
        let shop = open(app);
        let closure = json!({"starts_on": "10000-01-01", "ends_on": "2026-01-02"});
        let refused = app.post(&format!("/v1/locations/{}/closures", shop.location), &manager, &closure).problem(422, "validation_failed");
        assert!(refused["errors"]["starts_on"].is_string(), "{refused}");
        // Query parameters: 400 naming the parameter.
        let refused = app.get("/v1/interactions?from=%2B10000-01-01T00:00:00Z", &agent).problem(400, "validation_failed");
        assert!(refused["errors"]["from"].is_string(), "{refused}");
        let availability = |query: &str| app.get(&format!("/v1/availability?service_id={}&{query}", shop.haircut), &agent);
        // Before: 200 with `"to": "+10000-01-06T00:00:00Z"`.
        let refused = availability("from=9999-12-30").problem(400, "validation_failed");
        assert!(refused["errors"]["from"].is_string(), "{refused}");
        let refused = availability("from=-0001-01-01&to=0001-01-02").problem(400, "validation_failed");
        assert!(refused["errors"]["from"].is_string(), "{refused}");
        let refused = app.get("/v1/bookings?from=-0001-01-01", &agent).problem(400, "validation_failed");
        assert!(refused["errors"]["from"].is_string(), "{refused}");
    }

    fn tokens_need_a_jwt_typ_a_subject_and_a_past_iat_and_the_bearer_scheme_is_any_case(app: &TestApp) {
        let now = chrono::Utc::now().timestamp();
        let claims = |sub: &str, iat: i64| json!({
            "sub": sub, "role": "agent", "business": app.business, "iss": "slotwise",
            "aud": "slotwise-api", "iat": iat, "nbf": now, "exp": now + 600,
        });
        let signed = |typ: Option<&str>, claims: serde_json::Value| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.typ = typ.map(str::to_owned);
            let key = jsonwebtoken::EncodingKey::from_secret(crate::harness::SECRET);
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };
        let get = |token: &str| app.get("/v1/customers", token);
        assert_eq!(get(&signed(Some("JWT"), claims("sam", now))).status, 200);
        assert_eq!(get(&signed(Some("application/jwt"), claims("sam", now))).status, 200);
        // Before: each of these was accepted.
        get(&signed(None, claims("sam", now))).problem(401, "unauthenticated");
        get(&signed(Some("JOSE"), claims("sam", now))).problem(401, "unauthenticated");
        // `at+jwt` belongs to a partner client's access token only.
        get(&signed(Some("at+jwt"), claims("sam", now))).problem(401, "unauthenticated");
        get(&signed(Some("JWT"), claims("", now))).problem(401, "unauthenticated");
        get(&signed(Some("JWT"), claims("  ", now))).problem(401, "unauthenticated");
        get(&signed(Some("JWT"), claims("sam", now + 3600))).problem(401, "unauthenticated");
        // Within the 30 s leeway a clock a little ahead is fine.
        assert_eq!(get(&signed(Some("JWT"), claims("sam", now + 5))).status, 200);

        let token = app.token(Role::Agent);
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let header = format!("{scheme} {token}");
            let reply = app.request("GET", "/v1/customers", None, &[("Authorization", &header)], None);
            assert_eq!(reply.status, 200, "{scheme}: {}", reply.text);
        }
        let basic = app.request("GET", "/v1/customers", None, &[("Authorization", "Basic dXNlcjpwYXNz")], None);
        basic.problem(401, "unauthenticated");
        // Two Authorization headers: neither is taken, even when both are good.
        let header = format!("Bearer {token}");
        let twice = app.request("GET", "/v1/customers", None, &[("Authorization", &header), ("Authorization", &header)], None);
        twice.problem(401, "unauthenticated");
        let twice = app.request("GET", "/v1/availability?service_id=svc_nope", None, &[("Authorization", &header), ("Authorization", &header)], None);
        twice.problem(401, "unauthenticated");
    }

    fn cursors_are_signed_and_good_only_on_the_list_that_issued_them(app: &TestApp) {
        use base64::Engine;
        let agent = app.token(Role::Agent);
        let mut ids = Vec::new();
        for name in ["Ann", "Bo", "Cy"] {
            let created = app.post("/v1/customers", &agent, &json!({"name": name, "email": format!("{name}@example.com")}));
            assert_eq!(created.status, 201, "{}", created.text);
            ids.push(created.json()["id"].as_str().unwrap().to_owned());
        }
        let first = app.get("/v1/customers?limit=1", &agent).json();
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let next = app.get(&format!("/v1/customers?limit=1&cursor={cursor}"), &agent);
        assert_eq!(next.status, 200, "{}", next.text);
        assert_ne!(next.json()["data"][0]["id"], first["data"][0]["id"]);
        // Before: a customers cursor paged bookings, and a hand-made one paged anything.
        let refused = app.get(&format!("/v1/bookings?cursor={cursor}"), &agent).problem(400, "validation_failed");
        assert!(refused["errors"]["cursor"].is_string(), "{refused}");
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{}", ids[0]));
        app.get(&format!("/v1/customers?cursor={forged}"), &agent).problem(400, "validation_failed");
        let mut tampered = cursor.clone();
        let last = if tampered.ends_with('A') { 'B' } else { 'A' };
        tampered.pop();
        tampered.push(last);
        app.get(&format!("/v1/customers?cursor={tampered}"), &agent).problem(400, "validation_failed");
        // The Link header carries the same signed cursor.
        let link = app.get("/v1/customers?limit=1", &agent);
        assert!(link.header("link").unwrap().contains(&cursor), "{:?}", link.header("link"));
    }
}
