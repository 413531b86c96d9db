//! Issue 9's edges, on both databases: `HEAD`, 405 with `Allow` and the
//! request line's limits as problems (item 17); slow bodies and connections
//! per address (item 8); a database that refuses writes (item 4).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::on_both_databases;
use serde_json::{json, Value};
use slotwise::api::auth::Role;

/// A response read off a raw socket, body bytes exactly as sent.
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// `host:port` of a test server's base URL.
pub fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Parses one response from `bytes` (the connection was closed after it).
pub fn parse_reply(bytes: &[u8]) -> RawReply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    RawReply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

/// Sends `request` as it is on a new connection and reads until the server closes it.
pub fn raw(base: &str, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(address(base)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    parse_reply(&bytes)
}

/// `method path` with these headers, `Connection: close`, no body.
fn bare(base: &str, method: &str, path: &str, token: Option<&str>) -> RawReply {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    raw(
        base,
        format!("{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
}

fn allow_set(allow: Option<&str>) -> Vec<String> {
    let mut methods: Vec<String> = allow
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    methods.sort();
    methods
}

fn assert_problem(reply: &RawReply, status: u16, code: &str) -> Value {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}

on_both_databases! {
    fn head_answers_every_get_route_with_its_headers_and_no_body(app: &TestApp) {
        let admin = app.token(Role::Admin);
        let location = app.post("/v1/locations", &admin, &json!({"name": "Soho", "timezone": "Europe/London"}));
        assert_eq!(location.status, 201, "{}", location.text);
        let id = location.json()["id"].as_str().unwrap().to_owned();
        // Before: 404 `not_found` ("no route") for each of these.
        for (path, token) in [
            ("/healthz", None),
            ("/readyz", None),
            ("/openapi.json", None),
            ("/widget.js", None),
            ("/v1/locations", Some(admin.as_str())),
            (&format!("/v1/locations/{id}") as &str, Some(admin.as_str())),
        ] {
            let get = bare(&app.base, "GET", path, token);
            let head = bare(&app.base, "HEAD", path, token);
            assert_eq!(get.status, 200, "GET {path}");
            assert_eq!(head.status, 200, "HEAD {path}");
            assert!(head.body.is_empty(), "HEAD {path} sent a body");
            assert_eq!(
                head.header("content-length"),
                Some(get.body.len().to_string().as_str()),
                "HEAD {path}: Content-Length is the GET body's"
            );
            assert_eq!(head.header("content-type"), get.header("content-type"), "{path}");
            assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        }
        // HEAD of what GET refuses is the same refusal, without its body.
        let refused = bare(&app.base, "HEAD", "/v1/locations", None);
        assert_eq!(refused.status, 401);
        assert!(refused.body.is_empty());
        assert_eq!(refused.header("content-type"), Some("application/problem+json"));
    }

    fn a_known_path_with_another_method_is_405_with_allow_and_an_unknown_path_404(app: &TestApp) {
        let admin = app.token(Role::Admin);
        // Before: 404 `not_found` for every one of these.
        for (method, path, allow) in [
            ("DELETE", "/v1/bookings", vec!["GET", "HEAD", "POST"]),
            ("PUT", "/healthz", vec!["GET", "HEAD"]),
            ("GET", "/v1/holds", vec!["POST"]),
            ("HEAD", "/v1/holds", vec!["POST"]),
            ("POST", "/v1/bookings/bkg_x/ics", vec!["GET", "HEAD"]),
            ("PUT", "/v1/locations/loc_x", vec!["DELETE", "GET", "HEAD", "PATCH"]),
            ("PATCH", "/v1/resources/res_x/hours", vec!["GET", "HEAD", "PUT"]),
            ("OPTIONS", "/v1/walk-ins", vec!["POST"]),
        ] {
            let reply = bare(&app.base, method, path, Some(&admin));
            if method == "HEAD" {
                assert_eq!(reply.status, 405, "{method} {path}");
                assert!(reply.body.is_empty());
            } else {
                let problem = assert_problem(&reply, 405, "method_not_allowed");
                assert!(problem["detail"].is_string());
            }
            assert_eq!(allow_set(reply.header("allow")), allow, "{method} {path}");
        }
        for path in ["/v1/nothing-here", "/v1/bookings/bkg_x/teleport", "/"] {
            let reply = bare(&app.base, "GET", path, Some(&admin));
            assert_problem(&reply, 404, "not_found");
            assert!(reply.header("allow").is_none(), "{path}");
        }
        // A POST with an Idempotency-Key to a GET-only path is refused the same
        // way, and its replay is the same problem.
        for _ in 0..2 {
            let reply = app.request("POST", "/v1/events", Some(&admin), &[("Idempotency-Key", "k-405")], Some("{}"));
            reply.problem(405, "method_not_allowed");
            assert_eq!(allow_set(reply.header("allow")), ["GET", "HEAD"]);
        }
    }

    fn every_documented_operation_is_routed_and_every_other_method_is_405_naming_them(app: &TestApp) {
        let doc: Value = serde_json::from_str(&slotwise::api::openapi::ApiDoc::json()).unwrap();
        let all = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let mut checked = 0;
        for (template, operations) in doc["paths"].as_object().unwrap() {
            let path: String = template
                .split('/')
                .map(|segment| if segment.starts_with('{') { "x1" } else { segment })
                .collect::<Vec<_>>()
                .join("/");
            let documented: Vec<String> = operations
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| all.contains(&m.as_str()))
                .collect();
            let mut expected = documented.clone();
            if expected.iter().any(|m| m == "GET") {
                expected.push("HEAD".into());
            }
            expected.sort();
            for method in all {
                let reply = bare(&app.base, method, &path, None);
                if documented.iter().any(|m| m == method) {
                    assert_ne!(reply.status, 405, "{method} {template} is documented");
                    if reply.status == 404 {
                        assert_ne!(
                            reply.json()["detail"], "No route matches this method and path.",
                            "{method} {template} is documented but not routed"
                        );
                    }
                } else {
                    assert_problem(&reply, 405, "method_not_allowed");
                    assert_eq!(allow_set(reply.header("allow")), expected, "{method} {template}");
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} checks");
    }

    fn a_uri_or_a_header_section_beyond_the_limits_is_a_problem(app: &TestApp) {
        let admin = app.token(Role::Admin);
        // Before: served (the URI) and served (the headers).
        let long = format!("/v1/customers?q={}", "a".repeat(slotwise::api::methods::MAX_URI_BYTES));
        let reply = bare(&app.base, "GET", &long, Some(&admin));
        let problem = assert_problem(&reply, 414, "uri_too_long");
        assert_eq!(problem["limit"], slotwise::api::methods::MAX_URI_BYTES);
        let fits = format!("/v1/customers?q={}", "a".repeat(200));
        assert_eq!(bare(&app.base, "GET", &fits, Some(&admin)).status, 200);

        let many: String = (0..70).map(|i| format!("X-Extra-{i}: {i}\r\n")).collect();
        let request = format!(
            "GET /v1/locations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {admin}\r\n{many}Connection: close\r\n\r\n"
        );
        let reply = raw(&app.base, request.as_bytes());
        assert_problem(&reply, 431, "headers_too_large");
        let some: String = (0..20).map(|i| format!("X-Extra-{i}: {i}\r\n")).collect();
        let request = format!(
            "GET /v1/locations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {admin}\r\n{some}Connection: close\r\n\r\n"
        );
        assert_eq!(raw(&app.base, request.as_bytes()).status, 200);
    }
}

/// Reads one response off a kept-alive connection (its body by `Content-Length`).
fn read_one(stream: &mut TcpStream) -> RawReply {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let reply = parse_reply(&bytes);
            let length: usize = reply
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return parse_reply(&bytes[..end + 4 + length]);
            }
        }
        let n = stream.read(&mut buf).expect("a response");
        assert!(
            n > 0,
            "closed before a whole response: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&buf[..n]);
    }
}

/// A kept-alive connection that has been answered once (so the server has
/// counted it), with that answer.
fn connection(base: &str) -> (TcpStream, RawReply) {
    let mut stream = TcpStream::connect(address(base)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let reply = read_one(&mut stream);
    (stream, reply)
}

on_both_databases! {
    fn a_body_trickled_past_the_deadline_is_408_and_writes_nothing(app: &TestApp) {
        let server = crate::harness::serve_clients(
            app.pool.clone(),
            slotwise::config::ClientLimits { body_timeout_secs: 2, connections_per_address: 0 },
        );
        let admin = app.token(Role::Admin);
        let body = br#"{"name":"Sohos","timezone":"Etc/UTC"}"#;
        assert_eq!(body.len(), 37);
        let mut stream = TcpStream::connect(address(&server.base)).unwrap();
        // The bound on the wait is what the test is about, not speed: without the
        // deadline the whole body arrives after about 11 s and is answered 201.
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
            .write_all(
                format!(
                    "POST /v1/locations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {admin}\r\n\
                     Content-Type: application/json\r\nContent-Length: 37\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let trickle = std::thread::spawn(move || {
            for byte in body.iter() {
                std::thread::sleep(Duration::from_millis(300));
                if writer.write_all(&[*byte]).is_err() {
                    return;
                }
            }
        });
        let started = std::time::Instant::now();
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let waited = started.elapsed();
        let reply = parse_reply(&bytes);
        let problem = assert_problem(&reply, 408, "request_timeout");
        assert_eq!(problem["timeout_seconds"], 2);
        assert_eq!(reply.header("connection"), Some("close"));
        assert!(waited < Duration::from_secs(10), "answered after {waited:?}");
        trickle.join().unwrap();
        assert_eq!(crate::harness::count(app, "locations"), 0, "a timed-out body wrote nothing");

        // A body that comes in parts within the deadline is read as usual.
        let mut stream = TcpStream::connect(address(&server.base)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
            .write_all(
                format!(
                    "POST /v1/locations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {admin}\r\n\
                     Content-Type: application/json\r\nContent-Length: 37\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        stream.write_all(&body[..10]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        stream.write_all(&body[10..]).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let reply = parse_reply(&bytes);
        assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(crate::harness::count(app, "locations"), 1);
    }

    fn connections_over_the_cap_of_one_address_are_refused_until_one_closes(app: &TestApp) {
        let server = crate::harness::serve_clients(
            app.pool.clone(),
            slotwise::config::ClientLimits { body_timeout_secs: 10, connections_per_address: 3 },
        );
        let mut open: Vec<TcpStream> = (0..3)
            .map(|_| {
                let (stream, reply) = connection(&server.base);
                assert_eq!(reply.status, 200);
                stream
            })
            .collect();
        // Before: a fourth (and a thousandth) connection was served like the rest.
        let (mut fourth, refused) = connection(&server.base);
        let problem = assert_problem(&refused, 429, "rate_limited");
        assert_eq!(problem["limit"], "connections");
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(refused.header("connection"), Some("close"));
        let mut rest = Vec::new();
        assert_eq!(fourth.read_to_end(&mut rest).unwrap(), 0, "the refused connection is closed");
        // The three keep working.
        for stream in &mut open {
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
            assert_eq!(read_one(stream).status, 200);
        }
        // Closing one gives its place back (the server notices the close a
        // moment later, so a few tries, within a bound).
        drop(open.pop());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (stream, reply) = connection(&server.base);
            if reply.status == 200 {
                open.push(stream);
                break;
            }
            assert_eq!(reply.status, 429);
            assert!(std::time::Instant::now() < deadline, "the closed connection's place never came back");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(open.len(), 3);
    }
}

on_both_databases! {
    fn a_database_that_refuses_writes_answers_503_and_is_not_ready_until_it_takes_them_again(app: &TestApp) {
        // The fault is the database's own: SQLite stops the file growing where
        // it is (`max_page_count`, answered SQLITE_FULL as on a full disk),
        // PostgreSQL turns read-only (25006, as a standby).
        let ceiling = slotwise::db::StorageCeiling::default();
        let pool = slotwise::db::connect_with_ceiling(
            &slotwise::db::DatabaseUrl::parse(&app.database_url),
            4,
            ceiling.clone(),
        )
        .unwrap();
        let server = crate::harness::serve(pool);
        let admin = app.token(Role::Admin);
        let at = |method: &str, path: &str, body: Option<&str>| {
            app.request_at(&server.base, method, path, Some(&admin), &[], body)
        };
        let customer = |i: usize| {
            json!({"name": format!("Customer {i}"), "email": format!("customer-{i}-{}@example.com", "x".repeat(40))})
                .to_string()
        };
        assert_eq!(at("POST", "/v1/customers", Some(&customer(0))).status, 201);
        assert_eq!(at("GET", "/readyz", None).status, 200);

        ceiling.set(true);
        // Before: 500 `internal_error` for every refused write, while /readyz said 200.
        let mut created = 1;
        let mut refusal = None;
        for i in 1..=500 {
            let reply = at("POST", "/v1/customers", Some(&customer(i)));
            if reply.status == 201 {
                created += 1;
            } else {
                refusal = Some(reply);
                break;
            }
        }
        let refusal = refusal.expect("the database never refused a write");
        refusal.problem(503, "unavailable");
        assert_eq!(refusal.header("retry-after"), Some("1"));
        assert_eq!(crate::harness::count(app, "customers"), created, "the refused write left nothing behind");
        let ready = at("GET", "/readyz", None);
        assert_eq!(ready.status, 503, "{}", ready.text);
        assert_eq!(ready.json(), json!({"status": "unavailable", "reason": "writes_refused"}));
        // Alive, and reads still work. Later writes are refused the same way,
        // never a 500 (a full SQLite file still takes a row that fits in a
        // page it has, so a write may also go through).
        assert_eq!(at("GET", "/healthz", None).status, 200);
        assert_eq!(at("GET", "/v1/customers", None).status, 200);
        for i in 1000..1010 {
            let reply = at("POST", "/v1/customers", Some(&customer(i)));
            match reply.status {
                201 => created += 1,
                _ => {
                    reply.problem(503, "unavailable");
                }
            }
        }
        assert_eq!(crate::harness::count(app, "customers"), created);
        assert_eq!(at("GET", "/readyz", None).status, 503);

        // Room again: ready, and writes go through.
        ceiling.set(false);
        let ready = at("GET", "/readyz", None);
        assert_eq!(ready.status, 200, "{}", ready.text);
        assert_eq!(at("POST", "/v1/customers", Some(&customer(1001))).status, 201);
        assert_eq!(crate::harness::count(app, "customers"), created + 1);
    }
}

on_both_databases! {
    fn a_write_still_contended_after_every_retry_answers_503_and_saves_nothing(app: &TestApp) {
        use actix_web::ResponseError;
        use diesel::result::{DatabaseErrorKind, Error};
        use slotwise::store::{self, TxError};
        let mut attempts = 0;
        let outcome = store::with_retries(&mut app.pool.get().unwrap(), |conn| {
            attempts += 1;
            store::events::append(conn, &app.business, "test.contended", "x", &json!({}), store::now())?;
            // What PostgreSQL says when it picks this transaction as a deadlock's victim.
            let contended = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new("deadlock detected".to_owned()));
            Err::<(), _>(TxError::Db(contended))
        });
        let error = outcome.unwrap_err();
        assert_eq!((error.status_code().as_u16(), error.code()), (503, "unavailable"));
        assert_eq!(attempts, 12);
        assert!(crate::memory::events_of(app, "test.contended").is_empty());
    }
}
