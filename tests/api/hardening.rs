//! Issue 9's hardening, on both databases: tokens for businesses that do not
//! exist, strict JWT and `Authorization` handling, and the contract's edges.

use crate::on_both_databases;
use serde_json::json;
use slotwise::api::auth::Role;

on_both_databases! {
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
}
