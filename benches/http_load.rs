//! Drives the HTTP API with concurrent clients and reports throughput and
//! latency percentiles: availability for one service with 5 resources over 7
//! days, booking creation on distinct slots, and availability again after the
//! business's history grows from 1,000 to 1,000,000 past bookings.
//!
//! `cargo bench --bench http_load` runs on a fresh SQLite file;
//! `SLOTWISE_BENCH_DATABASE_URL=postgres://…/db cargo bench --bench http_load`
//! on an empty PostgreSQL database. `benches/http.sh` runs both, starting a
//! throwaway PostgreSQL cluster. Knobs: `BENCH_CLIENTS` (8), `BENCH_SECONDS` (10),
//! `BENCH_HISTORY` (1000000).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use slotwise::api::auth::{Role, TokenKeys};
use slotwise::app::Application;
use slotwise::config::{Secret, Settings};
use slotwise::db::{self, DatabaseUrl, DbPool};

const SECRET: &[u8] = b"bench-secret-of-at-least-32-bytes-long!";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("Authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(body.map(Value::to_string).unwrap_or_default())
            .unwrap();
        let mut response = self.agent.run(request).expect("request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(64)
        .build()
        .into()
}

fn start_server(database_url: &str, pool: DbPool, keys: TokenKeys) -> String {
    let settings = Settings {
        database_url: database_url.to_owned(),
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
        // The load comes from one address; strangers' limits would measure themselves.
        notify: slotwise::config::NotifySettings {
            webhook_allow_private: true,
            ..Default::default()
        },
        online: slotwise::config::OnlineSettings {
            anonymous_per_minute: 0,
            holds_per_address: 0,
            ..Default::default()
        },
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&settings, pool, keys).expect("app");
            tx.send(app.port()).unwrap();
            let _ = app.into_server().await;
        })
    });
    format!("http://127.0.0.1:{}", rx.recv().unwrap())
}

struct Shop {
    business: String,
    location: String,
    service: String,
    resources: Vec<String>,
    customer: String,
}

fn open_shop(admin: &Client, business: String) -> Shop {
    let created = |path: &str, body: Value| {
        let (status, reply) = admin.send("POST", path, Some(&body));
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
    let resources: Vec<String> = (0..5)
        .map(|i| {
            let id = created(
                "/v1/resources",
                json!({"location_id": location, "name": format!("Staff {i}"), "kind": "staff"}),
            );
            let intervals: Vec<Value> = days
                .iter()
                .flat_map(|d| {
                    [
                        json!({"weekday": d, "start": "00:00", "end": "12:00"}),
                        json!({"weekday": d, "start": "12:30", "end": "24:00"}),
                    ]
                })
                .collect();
            let (status, reply) = admin.send(
                "PUT",
                &format!("/v1/resources/{id}/hours"),
                Some(&json!({ "intervals": intervals })),
            );
            assert_eq!(status, 200, "{reply}");
            id
        })
        .collect();
    let service = created(
        "/v1/services",
        json!({
            "location_id": location, "name": "Appointment", "duration_minutes": 30,
            "slot_step_minutes": 15, "requirements": [{"resource_ids": resources}],
            "policy": {"max_advance_minutes": 2 * 365 * 24 * 60}
        }),
    );
    // One customer owns the synthetic history.
    let (status, first) = admin.send(
        "POST",
        "/v1/bookings",
        Some(&json!({
            "service_id": service,
            "start": (Utc::now() + chrono::Duration::days(700)).date_naive().and_hms_opt(9, 0, 0).unwrap().and_utc().to_rfc3339(),
            "customer": {"name": "History", "email": "history@example.com"}
        })),
    );
    assert_eq!(status, 201, "{first}");
    Shop {
        business,
        location,
        service,
        resources,
        customer: first["customer_id"].as_str().unwrap().to_owned(),
    }
}

/// Adds past bookings (and their allocations) until the business has `total`
/// in its history, long before the benchmarked window.
fn grow_history(pool: &DbPool, shop: &Shop, from: usize, total: usize) {
    if total <= from {
        return;
    }
    let started = Instant::now();
    let mut conn = pool.get().unwrap();
    let r = &shop.resources;
    let (biz, loc, svc, cus) = (
        &shop.business,
        &shop.location,
        &shop.service,
        &shop.customer,
    );
    let postgres = db::is_postgres(&conn);
    let sql = if postgres {
        format!(
            "INSERT INTO bookings (id, business_id, service_id, location_id, customer_id, reference, starts_at, ends_at, resource_ids, status, channel, created_by, version, created_at, updated_at)
             SELECT 'bkg_h' || g, '{biz}', '{svc}', '{loc}', '{cus}', 'H' || g, t, t + interval '30 minutes',
                    (ARRAY['{r0}','{r1}','{r2}','{r3}','{r4}'])[g % 5 + 1], 'completed', 'phone', 'bench', 1, now(), now()
             FROM generate_series({a}, {b}) g, LATERAL (SELECT timestamp '2010-01-01' + (g / 5) * interval '30 minutes' AS t) s;
             INSERT INTO allocations (id, business_id, resource_id, service_id, booking_id, session_start, starts_at, ends_at, seat, exclusive, active)
             SELECT 'alc_h' || g, '{biz}', (ARRAY['{r0}','{r1}','{r2}','{r3}','{r4}'])[g % 5 + 1], '{svc}', 'bkg_h' || g, t, t, t + interval '30 minutes', false, true, true
             FROM generate_series({a}, {b}) g, LATERAL (SELECT timestamp '2010-01-01' + (g / 5) * interval '30 minutes' AS t) s;
             ANALYZE;",
            r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], a = from + 1, b = total
        )
    } else {
        let pick = format!(
            "CASE g % 5 WHEN 0 THEN '{}' WHEN 1 THEN '{}' WHEN 2 THEN '{}' WHEN 3 THEN '{}' ELSE '{}' END",
            r[0], r[1], r[2], r[3], r[4]
        );
        let when = "datetime('2010-01-01', '+' || ((g / 5) * 30) || ' minutes')";
        let until = "datetime('2010-01-01', '+' || ((g / 5) * 30 + 30) || ' minutes')";
        format!(
            "BEGIN;
             WITH RECURSIVE seq(g) AS (SELECT {a} UNION ALL SELECT g + 1 FROM seq WHERE g < {b})
             INSERT INTO bookings (id, business_id, service_id, location_id, customer_id, reference, starts_at, ends_at, resource_ids, status, channel, created_by, version, created_at, updated_at)
             SELECT 'bkg_h' || g, '{biz}', '{svc}', '{loc}', '{cus}', 'H' || g, {when}, {until}, {pick}, 'completed', 'phone', 'bench', 1, datetime('now'), datetime('now') FROM seq;
             WITH RECURSIVE seq(g) AS (SELECT {a} UNION ALL SELECT g + 1 FROM seq WHERE g < {b})
             INSERT INTO allocations (id, business_id, resource_id, service_id, booking_id, session_start, starts_at, ends_at, seat, exclusive, active)
             SELECT 'alc_h' || g, '{biz}', {pick}, '{svc}', 'bkg_h' || g, {when}, {when}, {until}, 0, 1, 1 FROM seq;
             COMMIT; ANALYZE;",
            a = from + 1, b = total
        )
    };
    conn.batch_execute(&sql).expect("history inserted");
    eprintln!(
        "  history grown to {total} bookings in {:.1?}",
        started.elapsed()
    );
}

struct Measurement {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measurement {
    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }

    fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {:.0} | {:.2} | {:.2} | {} | {} |",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.requests,
            self.errors
        )
    }
}

/// Runs `clients` threads calling `call(n)` (n counts up across threads) for
/// `seconds`, or until `limit` calls were made.
fn measure(
    clients: usize,
    seconds: u64,
    limit: usize,
    call: impl Fn(usize) -> bool + Sync,
) -> Measurement {
    let counter = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let per_thread: Vec<(Vec<Duration>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut latencies = Vec::new();
                    let mut errors = 0;
                    while Instant::now() < deadline {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        if n >= limit {
                            break;
                        }
                        let t = Instant::now();
                        if !call(n) {
                            errors += 1;
                        }
                        latencies.push(t.elapsed());
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let errors = per_thread.iter().map(|(_, e)| e).sum();
    let mut latencies: Vec<Duration> = per_thread.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort();
    Measurement {
        requests: latencies.len(),
        errors,
        elapsed,
        latencies,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let clients: usize = env_or("BENCH_CLIENTS", 8);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let history: usize = env_or("BENCH_HISTORY", 1_000_000);
    let dir = std::env::temp_dir().join(format!("slotwise-bench-{}", std::process::id()));
    let database_url = std::env::var("SLOTWISE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let url = DatabaseUrl::parse(&database_url);
    let backend = if url.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let pool = db::connect(&url, 16).expect("database");
    db::migrate(&mut pool.get().unwrap()).expect("migrations");
    let business = slotwise::store::businesses::Business {
        id: slotwise::ids::new_id("biz"),
        name: "Bench".into(),
        timezone: "Europe/London".into(),
        created_at: slotwise::store::now(),
        slug: Some("bench".into()),
    };
    slotwise::store::businesses::insert(&mut pool.get().unwrap(), &business).unwrap();
    let keys = TokenKeys::hs256(&Secret::new(SECRET.to_vec()), "slotwise", "slotwise-api");
    let base = start_server(&database_url, pool.clone(), keys.clone());
    let client = |role: Role| Client {
        agent: agent(),
        base: base.clone(),
        token: keys.mint(&business.id, role, "bench", "", 120).unwrap(),
    };
    let admin = client(Role::Admin);
    let shop = open_shop(&admin, business.id.clone());
    let caller = client(Role::Agent);

    eprintln!("{backend}: {clients} clients, {seconds} s per run");
    grow_history(&pool, &shop, 1, 1_000);
    let today = Utc::now().date_naive();
    let from = today + chrono::Duration::days(1);
    let to = from + chrono::Duration::days(6);
    let availability_path = format!(
        "/v1/availability?service_id={}&from={from}&to={to}",
        shop.service
    );
    let (status, sample) = caller.send("GET", &availability_path, None);
    assert_eq!(status, 200, "{sample}");
    let slots: usize = sample["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["slots"].as_array().unwrap().len())
        .sum();
    eprintln!("  availability answers {slots} slots over 7 days");
    let availability = || {
        measure(clients, seconds, usize::MAX, |_| {
            caller.send("GET", &availability_path, None).0 == 200
        })
    };
    let small_history = availability();

    // Distinct slots far beyond the availability window: resource n % 5, on
    // the half-hour grid, from 30 days out. (A start that does not exist on a
    // DST day is skipped.)
    let first_day = today + chrono::Duration::days(30);
    let booking = |n: usize| {
        let resource = &shop.resources[n % 5];
        let slot = n / 5;
        // 24 half-hour starts before the lunch break, 23 after it.
        let (day, half_hour) = (slot / 47, slot % 47);
        let minutes = if half_hour < 24 {
            half_hour * 30
        } else {
            half_hour * 30 + 30
        };
        let start = (first_day + chrono::Duration::days(day as i64))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::minutes(minutes as i64);
        let tz = chrono_tz::Europe::London;
        let start = match start.and_local_timezone(tz).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => return true,
        };
        let body = json!({
            "service_id": shop.service, "start": start.to_rfc3339(), "resource_ids": [resource],
            "customer": {"name": "Bench", "email": format!("b{}@example.com", n % 1000)}
        });
        caller.send("POST", "/v1/bookings", Some(&body)).0 == 201
    };
    let bookings = measure(clients, seconds, 5 * 47 * 600, booking);

    grow_history(&pool, &shop, 1_000, history);
    let large_history = availability();

    println!("\n{backend}, {clients} clients, {seconds} s per run (latencies in ms)\n");
    println!("| run | per second | p50 | p99 | requests | errors |");
    println!("|---|---|---|---|---|---|");
    println!(
        "{}",
        small_history.row("availability, 7 days, 5 resources, 1,000 past bookings")
    );
    println!("{}", bookings.row("booking creation, distinct slots"));
    println!(
        "{}",
        large_history.row(&format!(
            "availability, 7 days, 5 resources, {history} past bookings"
        ))
    );
    let change = large_history.percentile(0.5).as_secs_f64()
        / small_history.percentile(0.5).as_secs_f64()
        - 1.0;
    println!(
        "\navailability p50 change from 1,000 to {history} past bookings: {:+.1} %",
        change * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
