//! Operational endpoints, the problem+json error model and authentication.

use crate::on_both_databases;
use serde_json::json;
use slotwise::api::auth::Role;

on_both_databases! {
    fn health_ready_metrics_and_docs_answer(app: &TestApp) {
        let health = app.request("GET", "/healthz", None, &[], None);
        assert_eq!((health.status, health.json()["status"].as_str()), (200, Some("ok")));
        let ready = app.request("GET", "/readyz", None, &[], None);
        assert_eq!(ready.status, 200);
        let docs = app.request("GET", "/docs", None, &[], None);
        let docs = if docs.status == 308 {
            assert_eq!(docs.header("location"), Some("/docs/"));
            app.request("GET", "/docs/", None, &[], None)
        } else {
            docs
        };
        assert_eq!(docs.status, 200);
        let setup = app.request("GET", "/docs/swagger-initializer.js", None, &[], None);
        assert!(setup.text.contains("/openapi.json"));
        let spec = app.request("GET", "/openapi.json", None, &[], None).json();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(spec["paths"]["/v1/locations"].is_object());
        app.get("/v1/locations", &app.token(Role::Admin));
        let metrics = app.request("GET", "/metrics", None, &[], None);
        assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
        assert!(metrics.text.contains(r#"slotwise_http_requests_total{method="GET",route="/v1/locations",status="200"} 1"#), "{}", metrics.text);
        assert!(metrics.text.contains("slotwise_http_request_duration_seconds_bucket"));
    }

    fn control_characters_in_text_are_refused_before_anything_is_written(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let body = r#"{"name": "Sam\u0000Taylor", "email": "sam@example.com"}"#;
        let refused = app.request("POST", "/v1/customers", Some(&admin), &[], Some(body));
        let problem = refused.problem(422, "validation_failed");
        assert!(problem["errors"]["name"].is_string(), "{problem}");
        let nested = r#"{"name": "Soho", "timezone": "Europe/London", "address": "1 Dean St\u001b"}"#;
        app.request("POST", "/v1/locations", Some(&admin), &[], Some(nested)).problem(422, "validation_failed");
        // Tabs and newlines are a person's text; an escaped backslash is not a control character.
        let fine = r#"{"name": "Line one\nline\ttwo \\u0000", "email": "ok@example.com"}"#;
        assert_eq!(app.request("POST", "/v1/customers", Some(&admin), &[], Some(fine)).status, 201);
        let problem = app.get("/v1/customers?q=a%00b", &admin).problem(400, "validation_failed");
        assert!(problem["errors"]["q"].is_string(), "{problem}");
        app.get("/v1/bookings/bkg_%00", &admin).problem(400, "validation_failed");
        let listed = app.get("/v1/customers", &admin).json();
        assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    }

    fn made_up_methods_are_counted_as_other_so_metrics_stay_bounded(app: &TestApp) {
        use std::io::{Read, Write};
        let address = app.base.trim_start_matches("http://").to_owned();
        for i in 0..5 {
            // HTTP clients refuse made-up methods; the server does not have to.
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            write!(stream, "M{i}X /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            // The path exists, so the method is not allowed there (405 with `Allow`).
            assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        }
        let metrics = app.request("GET", "/metrics", None, &[], None).text;
        assert!(!metrics.contains("M0X") && !metrics.contains("M4X"), "{metrics}");
        assert!(metrics.contains(r#"slotwise_http_requests_total{method="other",route="unmatched",status="405"} 5"#), "{metrics}");
    }

    fn every_response_carries_a_request_id_and_echoes_the_callers(app: &TestApp) {
        let generated = app.request("GET", "/healthz", None, &[], None);
        assert!(generated.header("x-request-id").unwrap().starts_with("req_"));
        let echoed = app.request("GET", "/healthz", None, &[("x-request-id", "call-42")], None);
        assert_eq!(echoed.header("x-request-id"), Some("call-42"));
    }

    fn unknown_routes_are_404_problems_and_unknown_methods_405(app: &TestApp) {
        app.request("GET", "/v1/nothing-here", None, &[], None).problem(404, "not_found");
        let reply = app.request("DELETE", "/healthz", None, &[], None);
        reply.problem(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        let metrics = app.request("GET", "/metrics", None, &[], None).text;
        assert!(metrics.contains(r#"route="unmatched",status="404""#), "{metrics}");
    }

    fn missing_malformed_expired_and_foreign_tokens_are_401(app: &TestApp) {
        app.request("GET", "/v1/locations", None, &[], None).problem(401, "unauthenticated");
        let reply = app.request("GET", "/v1/locations", None, &[("Authorization", "Basic abc")], None);
        reply.problem(401, "unauthenticated");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        app.get("/v1/locations", "not.a.jwt").problem(401, "unauthenticated");
        let expired = app.token_with(Role::Admin, "old", "", -10);
        app.get("/v1/locations", &expired).problem(401, "unauthenticated");
        let forged = slotwise::api::auth::TokenKeys::hs256(
            &slotwise::config::Secret::new(vec![1; 32]), "slotwise", "slotwise-api",
        )
        .mint(&app.business, Role::Admin, "eve", "", 5)
        .unwrap();
        app.get("/v1/locations", &forged).problem(401, "unauthenticated");
    }

    fn roles_that_may_not_are_403(app: &TestApp) {
        let body = json!({"name": "Annex", "timezone": "Europe/London"});
        for role in [Role::Agent, Role::Desk, Role::Customer, Role::Partner] {
            app.post("/v1/locations", &app.token(role), &body).problem(403, "forbidden");
        }
        app.get("/v1/locations", &app.token(Role::Customer)).problem(403, "forbidden");
        app.get("/v1/locations", &app.token(Role::Partner)).problem(403, "forbidden");
        let reader = app.token_with(Role::Partner, "partner-app", "catalog:read", 5);
        assert_eq!(app.get("/v1/locations", &reader).status, 200);
        for role in [Role::Agent, Role::Desk, Role::Manager, Role::Admin] {
            assert_eq!(app.get("/v1/locations", &app.token(role)).status, 200, "{role:?}");
        }
    }

    fn malformed_json_wrong_types_and_wrong_media_type_are_problems(app: &TestApp) {
        let admin = app.token(Role::Admin);
        app.request("POST", "/v1/locations", Some(&admin), &[], Some("{\"name\": ")).problem(400, "malformed_json");
        let wrong_type = app.post("/v1/locations", &admin, &json!({"name": 7, "timezone": "Europe/London"}));
        wrong_type.problem(422, "validation_failed");
        let missing = app.post("/v1/locations", &admin, &json!({"name": "Annex"}));
        assert!(missing.problem(422, "validation_failed")["errors"]["timezone"].is_string());
        let unknown = app.post("/v1/locations", &admin, &json!({"name": "Annex", "timezone": "Europe/London", "colour": "red"}));
        assert!(unknown.problem(422, "validation_failed")["errors"]["colour"].is_string());
        app.request("POST", "/v1/locations", Some(&admin), &[("content-type", "text/plain")], Some("hello"))
            .problem(415, "unsupported_media_type");
        let huge = format!(r#"{{"name": "{}", "timezone": "Europe/London"}}"#, "x".repeat(300 * 1024));
        app.request("POST", "/v1/locations", Some(&admin), &[], Some(&huge))
            .problem(413, "payload_too_large");
        // Nothing of the rejected writes was stored.
        assert_eq!(app.get("/v1/locations", &admin).json()["data"].as_array().unwrap().len(), 0);
    }
}

#[test]
fn readiness_is_503_while_liveness_stays_200_when_the_database_is_unreachable() {
    // Nothing listens on port 1, so every connection attempt fails at once.
    let manager = slotwise::db::ConnectionManager::new(slotwise::db::DatabaseUrl::Postgres(
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=1".into(),
    ));
    let pool = diesel::r2d2::Pool::builder()
        .max_size(1)
        .connection_timeout(std::time::Duration::from_secs(1))
        .build_unchecked(manager);
    let server = crate::harness::serve(pool);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let ready = agent.get(format!("{}/readyz", server.base)).call().unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let live = agent
        .get(format!("{}/healthz", server.base))
        .call()
        .unwrap();
    assert_eq!(live.status().as_u16(), 200);
}
