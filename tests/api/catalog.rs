//! The catalog: locations, resources, services, weekly hours, time off, closures.

use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::harness::TestApp;
use crate::on_both_databases;

fn create_location(app: &TestApp, token: &str, name: &str) -> Value {
    let reply = app.post(
        "/v1/locations",
        token,
        &json!({"name": name, "timezone": "Europe/London"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn create_resource(app: &TestApp, token: &str, location_id: &str, kind: &str) -> Value {
    let body = json!({"location_id": location_id, "name": format!("{kind} one"), "kind": kind});
    let reply = app.post("/v1/resources", token, &body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn service_body(location_id: &str, staff: &str) -> Value {
    json!({
        "location_id": location_id,
        "name": "Haircut",
        "duration_minutes": 30,
        "buffer_after_minutes": 10,
        "price_cents": 2500,
        "currency": "gbp",
        "requirements": [{"resource_ids": [staff]}],
        "policy": {"min_notice_minutes": 60, "channels": ["online", "phone"]}
    })
}

on_both_databases! {
    fn a_list_range_that_ends_before_it_starts_is_400_everywhere(app: &TestApp) {
        let shop = crate::shop::open(app);
        let agent = app.token(Role::Agent);
        for path in [
            "/v1/bookings?from=2026-05-02&to=2026-05-01".to_owned(),
            format!("/v1/locations/{}/closures?from=2026-05-02&to=2026-05-01", shop.location),
            format!("/v1/resources/{}/time-off?from=2026-05-02T10:00:00Z&to=2026-05-02T09:00:00Z", shop.ana),
        ] {
            let problem = app.get(&path, &agent).problem(400, "validation_failed");
            assert!(problem["errors"]["to"].is_string(), "{path}: {problem}");
        }
        // A one-day range is fine.
        let one_day = format!("/v1/locations/{}/closures?from=2026-05-02&to=2026-05-02", shop.location);
        assert_eq!(app.get(&one_day, &agent).status, 200);
    }

    fn a_location_is_created_read_listed_and_changed_with_etags(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let reply = app.post("/v1/locations", &admin, &json!({
            "name": " Northside ", "timezone": "Europe/London", "email": "Desk@Northside.example", "phone": "+44 20 7946 0018"
        }));
        assert_eq!(reply.status, 201, "{}", reply.text);
        let created = reply.json();
        let id = created["id"].as_str().unwrap();
        assert!(id.starts_with("loc_"));
        assert_eq!(reply.header("location"), Some(format!("/v1/locations/{id}").as_str()));
        assert_eq!(reply.header("etag"), Some("\"v1\""));
        assert_eq!((created["name"].as_str(), created["email"].as_str()), (Some("Northside"), Some("desk@northside.example")));

        let read = app.get(&format!("/v1/locations/{id}"), &app.token(Role::Agent));
        assert_eq!((read.status, read.header("etag")), (200, Some("\"v1\"")));

        let path = format!("/v1/locations/{id}");
        let changed = app.request("PATCH", &path, Some(&admin), &[("If-Match", "\"v1\"")], Some(r#"{"name":"Northside N1","phone":null}"#));
        assert_eq!(changed.status, 200, "{}", changed.text);
        assert_eq!(changed.header("etag"), Some("\"v2\""));
        assert_eq!(changed.json()["phone"], Value::Null);
        assert_eq!(changed.json()["email"], "desk@northside.example");

        let stale = app.request("PATCH", &path, Some(&admin), &[("If-Match", "\"v1\"")], Some(r#"{"name":"Lost update"}"#));
        assert_eq!(stale.problem(412, "version_mismatch")["current_version"], 2);
        assert_eq!(app.get(&path, &admin).json()["name"], "Northside N1");
    }

    fn location_validation_names_each_bad_field(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let reply = app.post("/v1/locations", &admin, &json!({
            "name": "  ", "timezone": "Europe/Atlantis", "email": "nope", "phone": "call me"
        }));
        let errors = reply.problem(422, "validation_failed")["errors"].clone();
        for field in ["name", "timezone", "email", "phone"] {
            assert!(errors[field].is_string(), "{field} in {errors}");
        }
        let id = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let bad_zone = app.patch(&format!("/v1/locations/{id}"), &admin, &json!({"timezone": "UTC+2"}));
        assert!(bad_zone.problem(422, "validation_failed")["errors"]["timezone"].is_string());
    }

    fn lists_page_with_cursor_and_link_header(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let mut ids: Vec<String> = (0..5).map(|i| create_location(app, &admin, &format!("L{i}"))["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        let first = app.get("/v1/locations?limit=2", &admin);
        let body = first.json();
        let page: Vec<&str> = body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(page, ids[..2].iter().map(String::as_str).collect::<Vec<_>>());
        let cursor = body["next_cursor"].as_str().unwrap();
        let link = first.header("link").unwrap();
        assert!(link.contains("rel=\"next\"") && link.contains(cursor), "{link}");

        let mut seen: Vec<String> = page.iter().map(|s| s.to_string()).collect();
        let mut next = Some(cursor.to_owned());
        while let Some(cursor) = next {
            let body = app.get(&format!("/v1/locations?limit=2&cursor={cursor}"), &admin).json();
            seen.extend(body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()));
            next = body["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, ids);

        app.get("/v1/locations?limit=0", &admin).problem(400, "validation_failed");
        app.get("/v1/locations?limit=201", &admin).problem(400, "validation_failed");
        app.get("/v1/locations?limit=ten", &admin).problem(400, "validation_failed");
        app.get("/v1/locations?cursor=garbage", &admin).problem(400, "validation_failed");
    }

    fn objects_of_another_business_are_404(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let location = create_location(app, &admin, "Mine");
        let lid = location["id"].as_str().unwrap();
        let resource = create_resource(app, &admin, lid, "staff");
        let rid = resource["id"].as_str().unwrap();
        let service = app.post("/v1/services", &admin, &service_body(lid, rid)).json();
        let sid = service["id"].as_str().unwrap();
        let stranger = app.token_for(&app.other_business(), Role::Admin);
        for path in [format!("/v1/locations/{lid}"), format!("/v1/resources/{rid}"), format!("/v1/services/{sid}"),
                     format!("/v1/resources/{rid}/hours"), format!("/v1/resources/{rid}/time-off"), format!("/v1/locations/{lid}/closures")] {
            app.get(&path, &stranger).problem(404, "not_found");
        }
        app.patch(&format!("/v1/locations/{lid}"), &stranger, &json!({"name": "Mine now"})).problem(404, "not_found");
        app.delete(&format!("/v1/resources/{rid}"), &stranger).problem(404, "not_found");
        app.delete(&format!("/v1/services/{sid}"), &stranger).problem(404, "not_found");
        app.put(&format!("/v1/resources/{rid}/hours"), &stranger, &json!({"intervals": []})).problem(404, "not_found");
        assert_eq!(app.get("/v1/locations", &stranger).json()["data"].as_array().unwrap().len(), 0);
        // A foreign location cannot be used as a parent either.
        let foreign = app.post("/v1/resources", &stranger, &json!({"location_id": lid, "name": "Spy", "kind": "staff"}));
        assert!(foreign.problem(422, "validation_failed")["errors"]["location_id"].is_string());
    }

    fn resources_validate_kind_capacity_and_location(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let lid = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let zero = app.post("/v1/resources", &admin, &json!({"location_id": lid, "name": "Room", "kind": "room", "capacity": 0}));
        assert!(zero.problem(422, "validation_failed")["errors"]["capacity"].is_string());
        let kind = app.post("/v1/resources", &admin, &json!({"location_id": lid, "name": "Robot", "kind": "robot"}));
        assert!(kind.problem(422, "validation_failed")["errors"]["kind"].is_string());
        let nowhere = app.post("/v1/resources", &admin, &json!({"location_id": "loc_missing", "name": "X", "kind": "staff"}));
        assert!(nowhere.problem(422, "validation_failed")["errors"]["location_id"].is_string());
        let seats = app.post("/v1/resources", &admin, &json!({"location_id": lid, "name": "Studio", "kind": "room", "capacity": 12}));
        assert_eq!((seats.status, seats.json()["capacity"].as_i64()), (201, Some(12)));
        let rid = seats.json()["id"].as_str().unwrap().to_owned();
        let negative = app.patch(&format!("/v1/resources/{rid}"), &admin, &json!({"capacity": -1}));
        negative.problem(422, "validation_failed");
        let list = app.get(&format!("/v1/resources?location_id={lid}"), &app.token(Role::Desk)).json();
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
    }

    fn weekly_hours_are_replaced_whole_and_validated(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let lid = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let rid = create_resource(app, &admin, &lid, "staff")["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/resources/{rid}/hours");
        let week = json!({"intervals": [
            {"weekday": "monday", "start": "13:30", "end": "17:30"},
            {"weekday": "monday", "start": "09:00", "end": "12:30"},
            {"weekday": "saturday", "start": "10:00", "end": "24:00"}
        ]});
        let saved = app.put(&path, &admin, &week);
        assert_eq!(saved.status, 200, "{}", saved.text);
        let body = saved.json();
        assert_eq!(body["timezone"], "Europe/London");
        assert_eq!(body["intervals"], json!([
            {"weekday": "monday", "start": "09:00", "end": "12:30"},
            {"weekday": "monday", "start": "13:30", "end": "17:30"},
            {"weekday": "saturday", "start": "10:00", "end": "24:00"}
        ]));
        assert_eq!(app.get(&path, &app.token(Role::Agent)).json()["intervals"], body["intervals"]);

        let bad = app.put(&path, &admin, &json!({"intervals": [
            {"weekday": "tuesday", "start": "09:00", "end": "12:00"},
            {"weekday": "tuesday", "start": "11:00", "end": "13:00"},
            {"weekday": "funday", "start": "09:00", "end": "10:00"},
            {"weekday": "friday", "start": "17:00", "end": "09:00"},
            {"weekday": "friday", "start": "9am", "end": "25:00"}
        ]}));
        let errors = bad.problem(422, "validation_failed")["errors"].clone();
        for field in ["intervals[1]", "intervals[2].weekday", "intervals[3].end", "intervals[4].start", "intervals[4].end"] {
            assert!(errors[field].is_string(), "{field} in {errors}");
        }
        // The rejected week left the saved one untouched.
        assert_eq!(app.get(&path, &admin).json()["intervals"], body["intervals"]);
        app.put(&path, &app.token(Role::Agent), &week).problem(403, "forbidden");
    }

    fn time_off_and_closures_reject_ends_before_starts(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let lid = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let rid = create_resource(app, &admin, &lid, "staff")["id"].as_str().unwrap().to_owned();
        let off = format!("/v1/resources/{rid}/time-off");
        let backwards = app.post(&off, &admin, &json!({"starts_at": "2026-12-24T12:00:00Z", "ends_at": "2026-12-24T09:00:00Z"}));
        assert!(backwards.problem(422, "validation_failed")["errors"]["ends_at"].is_string());
        let created = app.post(&off, &admin, &json!({"starts_at": "2026-12-24T13:00:00+01:00", "ends_at": "2026-12-27T00:00:00Z", "reason": "Holiday"}));
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.json()["starts_at"], "2026-12-24T12:00:00Z");
        let listed = app.get(&format!("{off}?from=2026-12-25T00:00:00Z"), &admin).json();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(app.get(&format!("{off}?to=2026-12-01T00:00:00Z"), &admin).json().as_array().unwrap().len(), 0);
        let toid = created.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("{off}/{toid}"), &admin).status, 204);
        app.delete(&format!("{off}/{toid}"), &admin).problem(404, "not_found");

        let closures = format!("/v1/locations/{lid}/closures");
        let backwards = app.post(&closures, &admin, &json!({"starts_on": "2026-12-26", "ends_on": "2026-12-25"}));
        assert!(backwards.problem(422, "validation_failed")["errors"]["ends_on"].is_string());
        let not_a_date = app.post(&closures, &admin, &json!({"starts_on": "Christmas", "ends_on": "2026-12-25"}));
        not_a_date.problem(422, "validation_failed");
        let closed = app.post(&closures, &admin, &json!({"starts_on": "2026-12-25", "ends_on": "2026-12-26", "reason": "Christmas"}));
        assert_eq!(closed.status, 201, "{}", closed.text);
        let listed = app.get(&closures, &app.token(Role::Desk)).json();
        assert_eq!(listed[0]["starts_on"], "2026-12-25");
        assert_eq!(app.get(&format!("{closures}?from=2027-01-01"), &admin).json().as_array().unwrap().len(), 0);
        let cid = closed.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("{closures}/{cid}"), &admin).status, 204);
    }

    fn services_carry_requirements_and_policy(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let lid = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let staff = create_resource(app, &admin, &lid, "staff")["id"].as_str().unwrap().to_owned();
        let room = create_resource(app, &admin, &lid, "room")["id"].as_str().unwrap().to_owned();
        let reply = app.post("/v1/services", &admin, &service_body(&lid, &staff));
        assert_eq!(reply.status, 201, "{}", reply.text);
        let service = reply.json();
        assert_eq!(service["currency"], "GBP");
        assert_eq!(service["slot_step_minutes"], 15);
        assert_eq!(service["policy"]["channels"], json!(["online", "phone"]));
        assert_eq!(service["policy"]["max_advance_minutes"], 90 * 24 * 60);
        let sid = service["id"].as_str().unwrap();
        let path = format!("/v1/services/{sid}");
        let patched = app.request("PATCH", &path, Some(&admin), &[("If-Match", "\"v1\"")], Some(&json!({
            "requirements": [{"resource_ids": [staff]}, {"resource_ids": [room]}],
            "policy": {"cancel_cutoff_minutes": 1440},
            "description": "Wash and cut"
        }).to_string()));
        assert_eq!(patched.status, 200, "{}", patched.text);
        let body = patched.json();
        assert_eq!(body["requirements"], json!([{"resource_ids": [staff]}, {"resource_ids": [room]}]));
        assert_eq!((body["policy"]["cancel_cutoff_minutes"].as_i64(), body["policy"]["min_notice_minutes"].as_i64()), (Some(1440), Some(60)));
        assert_eq!(app.get(&path, &app.token(Role::Agent)).json()["description"], "Wash and cut");
        let listed = app.get("/v1/services", &admin).json();
        assert_eq!(listed["data"][0]["requirements"], body["requirements"]);
    }

    fn service_validation_rejects_bad_numbers_and_foreign_resources(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let main = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let annex = create_location(app, &admin, "Annex")["id"].as_str().unwrap().to_owned();
        let staff = create_resource(app, &admin, &main, "staff")["id"].as_str().unwrap().to_owned();
        let elsewhere = create_resource(app, &admin, &annex, "room")["id"].as_str().unwrap().to_owned();
        let reply = app.post("/v1/services", &admin, &json!({
            "location_id": main, "name": "Bad", "duration_minutes": -30, "buffer_before_minutes": -5,
            "slot_step_minutes": 0, "capacity": 0, "price_cents": -1,
            "requirements": [{"resource_ids": []}],
            "policy": {"channels": ["fax"], "max_advance_minutes": 0}
        }));
        let errors = reply.problem(422, "validation_failed")["errors"].clone();
        for field in ["duration_minutes", "buffer_before_minutes", "slot_step_minutes", "capacity", "price_cents", "currency",
                      "requirements[0].resource_ids", "policy.channels", "policy.max_advance_minutes"] {
            assert!(errors[field].is_string(), "{field} in {errors}");
        }
        let mixed = app.post("/v1/services", &admin, &json!({
            "location_id": main, "name": "Mixed", "duration_minutes": 30,
            "requirements": [{"resource_ids": [staff]}, {"resource_ids": [elsewhere, "res_missing"]}]
        }));
        let errors = mixed.problem(422, "validation_failed")["errors"].clone();
        assert_eq!(errors["requirements[1].resource_ids[0]"], "the resource belongs to another location");
        assert_eq!(errors["requirements[1].resource_ids[1]"], "no such resource");
        let none = app.post("/v1/services", &admin, &json!({"location_id": main, "name": "Nobody", "duration_minutes": 30, "requirements": []}));
        assert!(none.problem(422, "validation_failed")["errors"]["requirements"].is_string());
        assert_eq!(app.get("/v1/services", &admin).json()["data"].as_array().unwrap().len(), 0);
    }

    fn deleting_archives_what_is_referenced_and_deletes_the_rest(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let lid = create_location(app, &admin, "Main")["id"].as_str().unwrap().to_owned();
        let used = create_resource(app, &admin, &lid, "staff")["id"].as_str().unwrap().to_owned();
        let unused = create_resource(app, &admin, &lid, "room")["id"].as_str().unwrap().to_owned();
        let sid = app.post("/v1/services", &admin, &service_body(&lid, &used)).json()["id"].as_str().unwrap().to_owned();

        assert_eq!(app.delete(&format!("/v1/resources/{unused}"), &admin).status, 204);
        app.get(&format!("/v1/resources/{unused}"), &admin).problem(404, "not_found");

        assert_eq!(app.delete(&format!("/v1/resources/{used}"), &admin).status, 204);
        let archived = app.get(&format!("/v1/resources/{used}"), &admin).json();
        assert!(archived["archived_at"].is_string());
        assert_eq!(app.get("/v1/resources", &admin).json()["data"].as_array().unwrap().len(), 0);
        assert_eq!(app.get("/v1/resources?include_archived=true", &admin).json()["data"].as_array().unwrap().len(), 1);

        assert_eq!(app.delete(&format!("/v1/services/{sid}"), &admin).status, 204);
        assert!(app.get(&format!("/v1/services/{sid}"), &admin).json()["archived_at"].is_string());
        assert_eq!(app.delete(&format!("/v1/locations/{lid}"), &admin).status, 204);
        assert!(app.get(&format!("/v1/locations/{lid}"), &admin).json()["archived_at"].is_string());
        // An archived location takes no new resources.
        let late = app.post("/v1/resources", &admin, &json!({"location_id": lid, "name": "Late", "kind": "staff"}));
        assert!(late.problem(422, "validation_failed")["errors"]["location_id"].is_string());

        let empty = create_location(app, &admin, "Pop-up")["id"].as_str().unwrap().to_owned();
        assert_eq!(app.delete(&format!("/v1/locations/{empty}"), &admin).status, 204);
        app.get(&format!("/v1/locations/{empty}"), &admin).problem(404, "not_found");
    }
}
