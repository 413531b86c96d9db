//! Webhook delivery under booking load: the server runs with its background
//! workers, concurrent clients book distinct slots, and a local receiver
//! notes when each delivery arrives. Reports bookings/s, deliveries/s and the
//! latency from the event's commit to its arrival (p50, p90, p99, max).
//!
//! `cargo bench --bench webhooks` runs on a fresh SQLite file;
//! `SLOTWISE_BENCH_DATABASE_URL=postgres://…/db cargo bench --bench webhooks`
//! on an empty PostgreSQL database (`benches/http.sh webhooks` starts one).
//! Knobs: `BENCH_CLIENTS` (8), `BENCH_SECONDS` (10), `BENCH_POLL_MS` (the
//! worker's polling interval, 250 as `serve`'s default).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::{Role, TokenKeys};
use slotwise::app::Application;
use slotwise::config::{NotifySettings, OnlineSettings, Secret, Settings};
use slotwise::db::{self, DatabaseUrl};

const SECRET: &[u8] = b"bench-secret-of-at-least-32-bytes-long!";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Arrival time and the event's own timestamp (set in its transaction), per delivery.
type Arrivals = Arc<Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>>;

fn start_receiver() -> (String, Arrivals) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let arrivals: Arrivals = Arc::default();
    let shared = arrivals.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let arrived = Utc::now();
                let event: Value = serde_json::from_slice(&body).unwrap();
                let written = DateTime::parse_from_rfc3339(event["timestamp"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc);
                shared.lock().unwrap().push((arrived, written));
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            });
        }
    });
    (url, arrivals)
}

fn send(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .unwrap();
    let mut response = agent.run(request).expect("request");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let clients: usize = env_or("BENCH_CLIENTS", 8);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let poll_ms: u64 = env_or("BENCH_POLL_MS", 250);
    let (database_url, cleanup) = match std::env::var("SLOTWISE_BENCH_DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let dir = std::env::temp_dir().join(slotwise::ids::new_id("bench"));
            std::fs::create_dir_all(&dir).unwrap();
            (
                format!("sqlite://{}", dir.join("bench.db").display()),
                Some(dir),
            )
        }
    };
    let pool = db::connect(&DatabaseUrl::parse(&database_url), 16).expect("database");
    db::migrate(&mut pool.get().unwrap()).expect("migrations");
    let business = slotwise::store::businesses::Business {
        id: slotwise::ids::new_id("biz"),
        name: "Bench".into(),
        timezone: "Europe/London".into(),
        created_at: slotwise::store::now(),
        slug: None,
    };
    slotwise::store::businesses::insert(&mut pool.get().unwrap(), &business).unwrap();
    let keys = TokenKeys::hs256(&Secret::new(SECRET.to_vec()), "slotwise", "slotwise-api");
    let settings = Settings {
        database_url: database_url.clone(),
        bind: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir(),
        jwt_secret: Some(Secret::new(SECRET.to_vec())),
        jwt_issuer: "slotwise".into(),
        jwt_audience: "slotwise-api".into(),
        jwt_es256_key_file: None,
        demo: false,
        pool_size: 16,
        workers: 2,
        log_format_json: false,
        hold_minutes: 10,
        fcr_window_days: 7,
        notify: NotifySettings {
            webhook_allow_private: true,
            poll_interval_ms: poll_ms,
            ..Default::default()
        },
        online: OnlineSettings {
            anonymous_per_minute: 0,
            holds_per_address: 0,
            ..Default::default()
        },
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let server_keys = keys.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, pool, server_keys).expect("app");
            tx.send(app.port()).unwrap();
            // `run`, not the bare server: the delivery workers run too.
            let _ = app.run().await;
        })
    });
    let base = format!("http://127.0.0.1:{}", rx.recv().unwrap());
    let admin = keys
        .mint(&business.id, Role::Admin, "bench", "", 60)
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(64)
        .build()
        .into();
    let created = |path: &str, body: Value| {
        let (status, reply) = send(&agent, &base, &admin, "POST", path, &body);
        assert_eq!(status, 201, "{path}: {reply}");
        reply["id"].as_str().unwrap().to_owned()
    };
    let location = created(
        "/v1/locations",
        json!({"name": "Bench", "timezone": "Europe/London"}),
    );
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let intervals: Vec<Value> = days
        .iter()
        .map(|d| json!({"weekday": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let resources: Vec<String> = (0..5)
        .map(|i| {
            let id = created(
                "/v1/resources",
                json!({"location_id": location, "name": format!("Staff {i}"), "kind": "staff"}),
            );
            let (status, _) = send(
                &agent,
                &base,
                &admin,
                "PUT",
                &format!("/v1/resources/{id}/hours"),
                &json!({"intervals": intervals}),
            );
            assert_eq!(status, 200);
            id
        })
        .collect();
    let service = created(
        "/v1/services",
        json!({
            "location_id": location, "name": "Appointment", "duration_minutes": 30, "slot_step_minutes": 30,
            "requirements": [{"resource_ids": resources}], "policy": {"max_advance_minutes": 2 * 365 * 24 * 60}
        }),
    );
    let (receiver_url, arrivals) = start_receiver();
    created(
        "/v1/webhooks",
        json!({"url": receiver_url, "event_types": ["*"]}),
    );

    // Slots from tomorrow 00:00 UTC (a whole hour, on the grid), five bookings each.
    let first_slot = (Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let next = AtomicUsize::new(0);
    let booked = AtomicUsize::new(0);
    let began = Instant::now();
    let until = began + Duration::from_secs(seconds);
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                while Instant::now() < until {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let start = first_slot + chrono::Duration::minutes(30 * (k / 5) as i64);
                    let (status, reply) = send(&agent, &base, &admin, "POST", "/v1/bookings", &json!({
                        "service_id": service,
                        "start": start.to_rfc3339(),
                        "customer": {"name": format!("Guest {k}"), "email": format!("guest{k}@example.com")}
                    }));
                    assert_eq!(status, 201, "{reply}");
                    booked.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let load_secs = began.elapsed().as_secs_f64();
    let booked = booked.into_inner();
    // Two events per booking: customer.created and booking.created.
    let expected = 2 * booked;
    let drain_until = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < expected && Instant::now() < drain_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), expected, "every event delivered once");
    let first_event = arrivals.iter().map(|(_, w)| *w).min().unwrap();
    let last_arrival = arrivals.iter().map(|(a, _)| *a).max().unwrap();
    let span = (last_arrival - first_event).num_milliseconds() as f64 / 1000.0;
    let mut latencies: Vec<f64> = arrivals
        .iter()
        .map(|(a, w)| (*a - *w).num_microseconds().unwrap() as f64 / 1000.0)
        .collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let backend = if database_url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "webhooks/{backend}: {clients} clients, {load_secs:.1} s: {booked} bookings ({:.0}/s), {} deliveries in {span:.1} s ({:.0}/s); commit→receiver ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1} (worker polls every {poll_ms} ms)",
        booked as f64 / load_secs,
        arrivals.len(),
        arrivals.len() as f64 / span,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
    if let Some(dir) = cleanup {
        let _ = std::fs::remove_dir_all(dir);
    }
}
