//! Both backends' migrations must produce the same tables and columns.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::harness::{Backend, TestApp};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(app: &TestApp) -> BTreeSet<(String, String)> {
    let mut conn = app.pool.get().unwrap();
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'"
        }
    };
    diesel::sql_query(sql)
        .load::<Column>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let lite = TestApp::start(Backend::Sqlite).unwrap();
    let Some(pg) = TestApp::start(Backend::Postgres) else {
        return;
    };
    let (lite_columns, pg_columns) = (columns(&lite), columns(&pg));
    assert!(
        lite_columns.len() > 50,
        "expected the full schema, got {lite_columns:?}"
    );
    let only_lite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_lite:?}; only in PostgreSQL: {only_pg:?}"
    );
}

#[test]
fn both_migration_folders_hold_the_same_migrations_by_name() {
    let names = |backend: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!(
            "{}/migrations/{backend}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

// The OpenAPI document as third-party clients and their generators read it.

mod contract {
    use serde_json::Value;
    use slotwise::api::auth::Role;
    use slotwise::api::openapi::ApiDoc;

    use crate::on_both_databases;

    fn document() -> Value {
        serde_json::from_str(&ApiDoc::json()).unwrap()
    }

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    /// What `ID_PATTERN` says, read by hand: lowercase prefix, `_`, then
    /// letters, digits and `_`; at most 64 characters.
    fn id_shaped(id: &str) -> bool {
        let Some((prefix, rest)) = id.split_once('_') else {
            return false;
        };
        id.len() <= 64
            && !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }

    #[test]
    fn every_path_id_has_the_shape_of_our_ids() {
        assert_eq!(slotwise::api::openapi::ID_PATTERN, "^[a-z]+_[A-Za-z0-9_]+$");
        let doc = document();
        let mut seen = 0;
        for (method, path, op) in operations(&doc) {
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                if parameter["in"] != "path" || !(name == "id" || name.ends_with("_id")) {
                    continue;
                }
                seen += 1;
                let schema = &parameter["schema"];
                assert_eq!(
                    schema["pattern"],
                    slotwise::api::openapi::ID_PATTERN,
                    "{method} {path} {name}"
                );
                assert_eq!(schema["maxLength"], 64, "{method} {path} {name}");
            }
        }
        assert!(seen > 50, "only {seen} path ids found");
        // The ids we make, and the demo's fixed ones, fit what the document promises.
        for prefix in [
            "bkg", "cus", "loc", "res", "svc", "qtk", "whk", "nte", "clo", "off", "dlv",
        ] {
            let id = slotwise::ids::new_id(prefix);
            assert!(id_shaped(&id), "{id}");
        }
        for id in [
            slotwise::demo::DEMO_BUSINESS_ID,
            "svc_demo_haircut",
            "res_demo_ana",
        ] {
            assert!(id_shaped(id), "{id}");
        }
        assert!(
            !id_shaped("bkg-01")
                && !id_shaped("_x")
                && !id_shaped(&format!("bkg_{}", "A".repeat(61)))
        );
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push((method.to_owned(), path.clone(), op.clone()));
                }
            }
        }
        out
    }

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => resolve(
                doc,
                &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
            ),
            None => schema,
        }
    }

    /// Calls `visit(where, schema)` on every schema reachable from `schema`, through `$ref`s once each.
    fn walk(
        doc: &Value,
        schema: &Value,
        at: &str,
        seen: &mut Vec<String>,
        visit: &mut dyn FnMut(&str, &Value),
    ) {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.rsplit('/').next().unwrap().to_owned();
            if !seen.contains(&name) {
                seen.push(name.clone());
                walk(
                    doc,
                    &doc["components"]["schemas"][&name],
                    &name,
                    seen,
                    visit,
                );
            }
            return;
        }
        visit(at, schema);
        if let Some(props) = schema["properties"].as_object() {
            for (name, prop) in props {
                walk(doc, prop, &format!("{at}.{name}"), seen, visit);
            }
        }
        for key in ["items", "additionalProperties"] {
            if schema[key].is_object() {
                walk(doc, &schema[key], &format!("{at}[]"), seen, visit);
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                walk(doc, part, at, seen, visit);
            }
        }
    }

    fn is_type(schema: &Value, name: &str) -> bool {
        match &schema["type"] {
            Value::String(t) => t == name,
            Value::Array(ts) => ts.iter().any(|t| t == name),
            _ => false,
        }
    }

    /// Every input a client sends: each parameter's schema and each request body.
    fn inputs(doc: &Value, visit: &mut dyn FnMut(&str, &Value)) {
        for (method, path, op) in operations(doc) {
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let at = format!("{method} {path} {}", parameter["name"].as_str().unwrap());
                walk(doc, &parameter["schema"], &at, &mut Vec::new(), visit);
            }
            for content in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                walk(
                    doc,
                    &content.1["schema"],
                    &format!("{method} {path} body"),
                    &mut Vec::new(),
                    visit,
                );
            }
        }
    }

    #[test]
    fn every_operation_declares_the_answers_the_edge_can_give() {
        let doc = document();
        let mut missing = Vec::new();
        for (method, path, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            let mut want = vec!["500"];
            if path.starts_with("/v1/") {
                want.extend(["429", "503"]);
            }
            if op.get("requestBody").is_some() {
                want.extend(["413", "415"]);
            }
            for status in want {
                if !responses.contains_key(status) {
                    missing.push(format!("{method} {path}: {status}"));
                }
            }
        }
        assert!(missing.is_empty(), "undeclared: {missing:#?}");
        for name in [
            "PayloadTooLarge",
            "UnsupportedMediaType",
            "TooManyRequests",
            "InternalError",
            "Unavailable",
        ] {
            let response = &doc["components"]["responses"][name];
            assert!(
                response["content"]["application/problem+json"]["schema"]["$ref"].is_string(),
                "{name}: {response}"
            );
        }
    }

    #[test]
    fn list_items_are_references_to_component_schemas() {
        let doc = document();
        let mut lists = 0;
        for (method, path, op) in operations(&doc) {
            let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
            let page = resolve(&doc, schema);
            if page["properties"]["next_cursor"].is_null() {
                continue;
            }
            lists += 1;
            let items = &page["properties"]["data"]["items"];
            assert!(
                items["$ref"].is_string(),
                "{method} {path}: data items are inlined: {items}"
            );
        }
        assert!(lists >= 14, "expected every list endpoint, found {lists}");
    }

    #[test]
    fn the_document_names_its_server_and_contact_and_describes_every_operation() {
        let doc = document();
        assert!(
            doc["servers"][0]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http")),
            "{}",
            doc["servers"]
        );
        assert!(
            doc["info"]["contact"]["name"].is_string(),
            "{}",
            doc["info"]
        );
        let undescribed: Vec<String> = operations(&doc)
            .into_iter()
            .filter(|(_, _, op)| {
                op["description"]
                    .as_str()
                    .is_none_or(|d| d.trim().is_empty())
            })
            .map(|(method, path, _)| format!("{method} {path}"))
            .collect();
        assert!(
            undescribed.is_empty(),
            "operations without a description: {undescribed:#?}"
        );
        // Summaries are titles: one sentence, no closing full stop.
        for (method, path, op) in operations(&doc) {
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.ends_with('.'),
                "{method} {path}: summary {summary:?}"
            );
        }
    }

    #[test]
    fn every_integer_a_client_sends_is_bounded() {
        let doc = document();
        // Prices are informational amounts in a currency's minor unit: no ceiling is enforced.
        let no_ceiling = ["price_cents"];
        let mut unbounded = Vec::new();
        inputs(&doc, &mut |at, schema| {
            if is_type(schema, "integer") && schema["enum"].is_null() {
                let ceiling_waived = no_ceiling.iter().any(|f| at.ends_with(&format!(".{f}")));
                if schema["minimum"].is_null() || (schema["maximum"].is_null() && !ceiling_waived) {
                    unbounded.push(at.to_owned());
                }
            }
        });
        assert!(
            unbounded.is_empty(),
            "integers without minimum/maximum: {unbounded:#?}"
        );
    }

    #[test]
    fn names_times_weekdays_and_the_idempotency_key_carry_their_limits() {
        let doc = document();
        let mut found = std::collections::BTreeMap::new();
        inputs(&doc, &mut |at, schema| {
            found.insert(at.to_owned(), schema.clone());
        });
        for (at, max) in [
            ("CreateLocation.name", 200),
            ("CreateResource.name", 200),
            ("CreateService.name", 200),
            ("CreateCustomer.name", 200),
            ("CreateCustomer.email", 254),
            ("CreateCustomer.preferred_language", 35),
            ("CreateService.description", 2000),
            ("UpdateBooking.notes", 2000),
        ] {
            assert_eq!(found[at]["maxLength"], max, "{at}: {}", found[at]);
        }
        assert_eq!(
            found["HoursInterval.start"]["pattern"],
            "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
        );
        assert!(found["HoursInterval.weekday"]["pattern"]
            .as_str()
            .unwrap()
            .contains("sunday"));
        let key = &found["post /v1/bookings Idempotency-Key"];
        assert_eq!(
            (key["minLength"].as_i64(), key["maxLength"].as_i64()),
            (Some(1), Some(255)),
            "{key}"
        );
        assert!(key["pattern"].is_string(), "{key}");
        // A shared example key made fuzzers send one key with different bodies (422 by design).
        let params = doc["paths"]["/v1/bookings"]["post"]["parameters"]
            .as_array()
            .unwrap();
        let key = params
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap();
        assert!(
            key.get("example").is_none() && key["schema"].get("example").is_none(),
            "{key}"
        );
        let limit = &found["get /v1/bookings limit"];
        assert_eq!(
            (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
            (Some(1), Some(200))
        );
    }

    /// Reads `minimum`/`maximum` of a request-body property from the document.
    fn bounds(doc: &Value, schema: &str, field: &str) -> (i64, i64) {
        let prop = &doc["components"]["schemas"][schema]["properties"][field];
        (
            prop["minimum"].as_i64().unwrap(),
            prop["maximum"].as_i64().unwrap(),
        )
    }

    on_both_databases! {
        fn the_documented_bounds_are_the_ones_the_server_enforces(app: &TestApp) {
            let doc = document();
            let admin = app.token(Role::Admin);
            let location = app.post("/v1/locations", &admin, &serde_json::json!({"name": "Soho", "timezone": "Europe/London"}));
            assert_eq!(location.status, 201, "{}", location.text);
            let location = location.json()["id"].as_str().unwrap().to_owned();
            let (low, high) = bounds(&doc, "CreateResource", "capacity");
            for (capacity, status) in [(low - 1, 422), (low, 201), (high, 201), (high + 1, 422)] {
                let reply = app.post("/v1/resources", &admin, &serde_json::json!({"name": "Ana", "kind": "staff", "location_id": location, "capacity": capacity}));
                assert_eq!(reply.status, status, "capacity {capacity}: {}", reply.text);
            }
            let resource = app.post("/v1/resources", &admin, &serde_json::json!({"name": "Ben", "kind": "staff", "location_id": location})).json()["id"].as_str().unwrap().to_owned();
            for field in ["duration_minutes", "buffer_before_minutes", "slot_step_minutes", "capacity"] {
                let (low, high) = bounds(&doc, "CreateService", field);
                for (value, status) in [(low - 1, 422), (high, 201), (high + 1, 422)] {
                    let mut body = serde_json::json!({"name": "Cut", "location_id": location, "duration_minutes": 30, "requirements": [{"resource_ids": [resource]}]});
                    body[field] = value.into();
                    let reply = app.post("/v1/services", &admin, &body);
                    assert_eq!(reply.status, status, "{field} {value}: {}", reply.text);
                    if status == 422 {
                        assert!(reply.json()["errors"][field].is_string(), "{field}: {}", reply.text);
                    }
                }
            }
            let name = "n".repeat(201);
            let reply = app.post("/v1/locations", &admin, &serde_json::json!({"name": format!(" {} ", &name[..200]), "timezone": "Europe/London"}));
            assert_eq!(reply.problem(422, "validation_failed")["errors"]["name"], "must be at most 200 characters");
        }
    }
}

#[derive(QueryableByName)]
struct CompileOption {
    #[diesel(sql_type = Text)]
    compile_options: String,
}

/// The bundled SQLite is built as `.cargo/config.toml` asks: without STAT4,
/// which after `ANALYZE` compiles a statement again on every run whose bound
/// parameter meets an indexed column, so nothing stays prepared.
#[test]
fn the_bundled_sqlite_is_built_without_stat4() {
    let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    let options: Vec<String> =
        diesel::sql_query("SELECT compile_options FROM pragma_compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
    assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
    assert!(
        !options.iter().any(|o| o.starts_with("ENABLE_STAT4")),
        "{options:?}"
    );
}
