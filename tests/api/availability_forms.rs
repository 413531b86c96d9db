//! The compact form of `GET /v1/availability` names exactly the slots and
//! resources of the full form, in fewer bytes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;

use crate::on_both_databases;
use crate::shop::{book, booking, london, open, rfc3339};

/// The full form's days, rebuilt from a compact answer: (date, slots) with
/// each slot as the full form writes it, minus the `local_*` texts.
fn expand(compact: &Value) -> Vec<(String, Vec<Value>)> {
    let resources: Vec<&str> = compact["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let name = |i: &Value| json!(resources[i.as_u64().unwrap() as usize]);
    let minutes = compact["duration_minutes"].as_i64().unwrap();
    compact["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| {
            let date = day["date"].as_str().unwrap().to_owned();
            let slots = day["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|slot| {
                    let text = format!("{date}T{}", slot["start"].as_str().unwrap());
                    let start = DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M%:z")
                        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%:z"))
                        .unwrap_or_else(|e| panic!("{text}: {e}"))
                        .with_timezone(&Utc);
                    json!({
                        "start": rfc3339(start),
                        "end": rfc3339(start + Duration::minutes(minutes)),
                        "resource_ids": slot["resources"].as_array().unwrap().iter().map(name).collect::<Vec<_>>(),
                        "choices": slot["choices"].as_array().unwrap().iter()
                            .map(|g| g.as_array().unwrap().iter().map(name).collect::<Vec<_>>())
                            .collect::<Vec<_>>(),
                        "seats_left": slot["seats_left"],
                    })
                })
                .collect();
            (date, slots)
        })
        .collect()
}

/// The full form's days without the `local_*` texts the compact form folds
/// into its start times.
fn without_local(full: &Value) -> Vec<(String, Vec<Value>)> {
    full["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| {
            let slots = day["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|slot| {
                    let mut slot = slot.clone();
                    let fields = slot.as_object_mut().unwrap();
                    fields.remove("local_start");
                    fields.remove("local_end");
                    slot
                })
                .collect();
            (day["date"].as_str().unwrap().to_owned(), slots)
        })
        .collect()
}

on_both_databases! {
    fn compact_form_names_the_same_slots_and_resources(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        // Taken seats and a taken stylist, so slots differ in choices and seats.
        let mut with_ana = booking(&shop.haircut, london(1, 10, 0), "sam@example.com");
        with_ana["resource_ids"] = json!([shop.ana]);
        book(app, Some(&agent), &with_ana);
        book(app, Some(&agent), &booking(&shop.class, london(1, 12, 0), "kim@example.com"));
        let day = |n: i64| {
            (Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive() + Duration::days(n))
                .format("%Y-%m-%d")
                .to_string()
        };
        for service in [&shop.haircut, &shop.facial, &shop.class] {
            for tz in ["", "&tz=America/New_York"] {
                let query = format!("service_id={service}&from={}&to={}{tz}", day(1), day(2));
                let full = app.get(&format!("/v1/availability?{query}"), &agent);
                let compact = app.get(&format!("/v1/availability?{query}&form=compact"), &agent);
                assert_eq!(full.status, 200, "{}", full.text);
                assert_eq!(compact.status, 200, "{}", compact.text);
                let (full_json, compact_json) = (full.json(), compact.json());
                assert_eq!(compact_json["form"], "compact");
                for field in ["service_id", "location_id", "timezone", "from", "to"] {
                    assert_eq!(compact_json[field], full_json[field], "{field}");
                }
                let expected = without_local(&full_json);
                assert!(expected.iter().map(|(_, s)| s.len()).sum::<usize>() > 10, "{}", full.text);
                assert_eq!(expand(&compact_json), expected, "{service}{tz}");
                // Each resource is listed once, and every one is used.
                let mut listed: Vec<&Value> = compact_json["resources"].as_array().unwrap().iter().collect();
                let count = listed.len();
                listed.dedup();
                assert_eq!(listed.len(), count);
                assert!(compact.text.len() * 2 < full.text.len(), "{} vs {} bytes", compact.text.len(), full.text.len());
            }
        }
        // Ana's taken slot is offered with Ben only, in both forms.
        let query = format!("service_id={}&from={}&to={}&form=compact", shop.haircut, day(1), day(1));
        let compact = app.get(&format!("/v1/availability?{query}"), &agent).json();
        let ten = rfc3339(london(1, 10, 0));
        let taken = expand(&compact)[0].1.iter().find(|s| s["start"] == ten.as_str()).cloned().unwrap();
        assert_eq!(taken["choices"], json!([[shop.ben]]));
    }

    fn an_unknown_form_and_any_form_on_day_counts_are_refused(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let reply = app.get(&format!("/v1/availability?service_id={}&form=tiny", shop.haircut), &agent);
        let problem = reply.problem(400, "validation_failed");
        assert!(problem.to_string().contains("form"), "{problem}");
        let full = app.get(&format!("/v1/availability?service_id={}&form=full", shop.haircut), &agent);
        assert_eq!(full.status, 200, "{}", full.text);
        assert!(full.json()["days"][0]["slots"].is_array());
        // The day counts have one form: naming one there is a mistake the
        // client should hear about, not a parameter quietly dropped.
        let days = format!("/v1/availability/days?service_id={}", shop.haircut);
        for form in ["compact", "full"] {
            let reply = app.get(&format!("{days}&form={form}"), &agent);
            let problem = reply.problem(400, "validation_failed");
            assert!(problem.to_string().contains("form"), "{problem}");
        }
        assert_eq!(app.get(&days, &agent).status, 200);
    }
}
