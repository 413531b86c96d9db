//! Drives the real `slotwise serve` binary with concurrent clients and prints
//! each figure next to its ceiling, measured in the same run on the same
//! machine: `/healthz` is the ceiling of every read, a plain single-insert
//! loop on the same database the ceiling of booking creation (pgbench on
//! PostgreSQL, a one-row-per-transaction loop on a SQLite file in the same
//! folder). Runs: `/healthz`; availability for one day (one provider, and one
//! service over five staff), 7 and 31 days, and the compact form for 1 and 7
//! days; booking creation on distinct slots; availability again after the
//! business's history grew from 1,000 to 1,000,000 past bookings; bytes per
//! answer in both forms and the server's peak RSS.
//!
//! `cargo bench --bench http_load` runs on a fresh SQLite file;
//! `SLOTWISE_BENCH_DATABASE_URL=postgres://…/db cargo bench --bench http_load`
//! on an empty PostgreSQL database. `benches/http.sh` runs both, starting a
//! throwaway PostgreSQL cluster. Knobs: `BENCH_CLIENTS` (8), `BENCH_SECONDS` (10),
//! `BENCH_HISTORY` (1000000), `BENCH_PGBENCH` (path of pgbench), `BENCH_SERVER`
//! (another `slotwise` binary to drive, e.g. an earlier commit's), `BENCH_RUNS`
//! (`reads,bookings,history` by default: the parts to run).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};
use slotwise::api::auth::{Role, TokenKeys};
use slotwise::config::Secret;
use slotwise::db::{self, DatabaseUrl, DbPool};

const SECRET: &str = "bench-secret-of-at-least-32-bytes-long!";

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
    /// Status and body text.
    fn send_text(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
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
        (status, text)
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, text) = self.send_text(method, path, body);
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

/// The server as operators run it: its own process, its own logging (to a
/// file, at the default level), its background workers.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str, dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        // `BENCH_SERVER` runs another build (an earlier commit's, to compare).
        let binary =
            std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_slotwise").into());
        let mut child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("SLOTWISE_BIND", format!("127.0.0.1:{port}"))
            .env("SLOTWISE_JWT_SECRET", SECRET)
            .env("SLOTWISE_DEMO", "false")
            .env("SLOTWISE_DATA_DIR", dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("slotwise serve starts");
        let base = format!("http://127.0.0.1:{port}");
        let probe = agent();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = probe.get(format!("{base}/healthz")).call() {
                if r.status() == 200 {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("slotwise serve exited: {status}");
            }
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, base }
    }

    /// Peak resident set size so far, in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    /// A run left out by `BENCH_RUNS`.
    fn skipped() -> Self {
        Measurement {
            requests: 0,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latencies: Vec::new(),
        }
    }

    fn is_skipped(&self) -> bool {
        self.latencies.is_empty()
    }

    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }

    fn ms(&self, p: f64) -> f64 {
        self.percentile(p).as_secs_f64() * 1000.0
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

/// A ceiling: what the same machine does without slotwise in the way.
struct Ceiling {
    per_second: f64,
    command: String,
}

/// pgbench's rate of single-row INSERT transactions on the same cluster,
/// with as many clients as the bench uses.
fn pgbench_ceiling(url: &str, clients: usize, seconds: u64) -> Option<Ceiling> {
    let pgbench = std::env::var("BENCH_PGBENCH").unwrap_or_else(|_| "pgbench".into());
    let mut conn = diesel::PgConnection::establish(url).ok()?;
    conn.batch_execute(
        "DROP TABLE IF EXISTS bench_insert; \
         CREATE TABLE bench_insert (id bigserial PRIMARY KEY, at timestamp NOT NULL, note text NOT NULL)",
    )
    .ok()?;
    let script = std::env::temp_dir().join(format!("slotwise-pgbench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        "INSERT INTO bench_insert (at, note) VALUES (now(), 'a booking-sized row of text');\n",
    )
    .ok()?;
    let args = [
        "-n".to_owned(),
        "-c".to_owned(),
        clients.to_string(),
        "-j".to_owned(),
        "2".to_owned(),
        "-T".to_owned(),
        seconds.to_string(),
        "-f".to_owned(),
        script.display().to_string(),
        url.to_owned(),
    ];
    let command = format!("{pgbench} {}", args.join(" "));
    let output = Command::new(&pgbench).args(&args).output().ok()?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))?
        .trim_start_matches("tps = ")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let _ = conn.batch_execute("DROP TABLE bench_insert");
    Some(Ceiling {
        per_second: tps,
        command,
    })
}

diesel::table! {
    bench_insert (id) {
        id -> BigInt,
        at -> Timestamp,
        note -> Text,
    }
}

/// One writer inserting one row per transaction, as fast as it can, into a
/// SQLite file next to the server's, with the server's own pragmas.
fn sqlite_ceiling(dir: &std::path::Path, seconds: u64) -> Ceiling {
    let path = dir.join("insert-loop.db");
    let mut conn = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
         CREATE TABLE bench_insert (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, note TEXT NOT NULL)",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut n: i64 = 0;
    while Instant::now() < deadline {
        n += 1;
        diesel::insert_into(bench_insert::table)
            .values((
                bench_insert::id.eq(n),
                bench_insert::at.eq(Utc::now().naive_utc()),
                bench_insert::note.eq("a booking-sized row of text"),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    Ceiling {
        per_second: n as f64 / started.elapsed().as_secs_f64(),
        command: format!(
            "one thread, one INSERT per transaction, WAL + synchronous=NORMAL, {}",
            path.display()
        ),
    }
}

fn row(label: &str, m: &Measurement, ceiling: Option<(&str, f64)>) {
    if m.is_skipped() {
        println!("| {label} | skipped (BENCH_RUNS) | | | | | | |");
        return;
    }
    let (name, ratio) = match ceiling {
        Some((name, per_second)) => (
            name.to_owned(),
            format!("{:.1} %", 100.0 * m.per_second() / per_second),
        ),
        None => ("".to_owned(), "".to_owned()),
    };
    println!(
        "| {label} | {:.0} | {:.2} | {:.2} | {} | {} | {name} | {ratio} |",
        m.per_second(),
        m.ms(0.5),
        m.ms(0.99),
        m.requests,
        m.errors,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let clients: usize = env_or("BENCH_CLIENTS", 8);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let history: usize = env_or("BENCH_HISTORY", 1_000_000);
    // `BENCH_RUNS=bookings` (or `reads`, `history`, comma-separated) runs
    // only those parts, for profiling one of them; /healthz always runs.
    let runs = std::env::var("BENCH_RUNS").unwrap_or_else(|_| "reads,bookings,history".into());
    let runs_part = |part: &str| runs.split(',').any(|r| r.trim() == part);
    let dir = std::env::temp_dir().join(format!("slotwise-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = std::env::var("SLOTWISE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let url = DatabaseUrl::parse(&database_url);
    let backend = if url.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let pool = db::connect(&url, 4).expect("database");
    db::migrate(&mut pool.get().unwrap()).expect("migrations");
    let business = slotwise::store::businesses::Business {
        id: slotwise::ids::new_id("biz"),
        name: "Bench".into(),
        timezone: "Europe/London".into(),
        created_at: slotwise::store::now(),
        slug: Some("bench".into()),
    };
    slotwise::store::businesses::insert(&mut pool.get().unwrap(), &business).unwrap();
    let keys = TokenKeys::hs256(
        &Secret::new(SECRET.as_bytes().to_vec()),
        "slotwise",
        "slotwise-api",
    );
    let server = Server::start(&database_url, &dir);
    let client = |role: Role| Client {
        agent: agent(),
        base: server.base.clone(),
        token: keys.mint(&business.id, role, "bench", "", 120).unwrap(),
    };
    let admin = client(Role::Admin);
    let shop = open_shop(&admin, business.id.clone());
    let caller = client(Role::Agent);

    eprintln!("{backend}: {clients} clients, {seconds} s per run");
    grow_history(&pool, &shop, 1, 1_000);
    let today = Utc::now().date_naive();
    let day = today + chrono::Duration::days(1);
    let path = |from: NaiveDate, days: i64, resource: Option<&str>| {
        let to = from + chrono::Duration::days(days - 1);
        let mut path = format!(
            "/v1/availability?service_id={}&from={from}&to={to}",
            shop.service
        );
        if let Some(resource) = resource {
            path.push_str(&format!("&resource_id={resource}"));
        }
        path
    };
    let one_provider = path(day, 1, Some(&shop.resources[0]));
    let one_day = path(day, 1, None);
    let seven_days = path(day, 7, None);
    let month = path(day, 31, None);
    let mut sizes = Vec::new();
    for (label, p) in [
        ("1 day, 1 provider", &one_provider),
        ("1 day, 5 staff", &one_day),
        ("7 days, 5 staff", &seven_days),
        ("31 days, 5 staff", &month),
    ] {
        let (status, text) = caller.send_text("GET", p, None);
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        let slots: usize = body["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["slots"].as_array().unwrap().len())
            .sum();
        let (status, compact) = caller.send_text("GET", &format!("{p}&form=compact"), None);
        assert_eq!(status, 200, "{compact}");
        sizes.push((label, slots, text.len(), compact.len()));
    }
    let caller = &caller;
    let measure_get = |p: &str| {
        let p = p.to_owned();
        measure(clients, seconds, usize::MAX, move |_| {
            caller.send_text("GET", &p, None).0 == 200
        })
    };
    let get = |p: &str| {
        if runs_part("reads") {
            measure_get(p)
        } else {
            Measurement::skipped()
        }
    };
    let healthz = measure_get("/healthz");
    let provider_day = get(&one_provider);
    let service_day = get(&one_day);
    let compact_day = get(&format!("{one_day}&form=compact"));
    let small_history = get(&seven_days);
    let compact_week = get(&format!("{seven_days}&form=compact"));
    let service_month = get(&month);

    // Distinct slots far beyond the availability window: resource n % 5, on
    // the half-hour grid, from 30 days out. (A start that does not exist on a
    // DST day is skipped.)
    let first_day = today + chrono::Duration::days(40);
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
    let bookings = if runs_part("bookings") {
        measure(clients, seconds, 5 * 47 * 600, booking)
    } else {
        Measurement::skipped()
    };
    let busy_rss = server.peak_rss_mb();

    let ceiling = if let DatabaseUrl::Postgres(url) = &url {
        pgbench_ceiling(url, clients, seconds)
    } else {
        Some(sqlite_ceiling(&dir, seconds))
    };

    let large_history = if runs_part("history") {
        grow_history(&pool, &shop, 1_000, history);
        measure_get(&seven_days)
    } else {
        Measurement::skipped()
    };
    let rss = server.peak_rss_mb();

    let health = Some(("/healthz", healthz.per_second()));
    println!("\n{backend}, {clients} clients, {seconds} s per run, one run (latencies in ms)\n");
    println!("| run | per second | p50 | p99 | requests | errors | ceiling | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    row("`/healthz`", &healthz, None);
    row("availability, 1 day, 1 provider", &provider_day, health);
    row("availability, 1 day, 5 staff", &service_day, health);
    row(
        "availability, 7 days, 5 staff, 1,000 past bookings",
        &small_history,
        health,
    );
    row("availability, 31 days, 5 staff", &service_month, health);
    row(
        "availability, 1 day, 5 staff, compact",
        &compact_day,
        health,
    );
    row(
        "availability, 7 days, 5 staff, compact",
        &compact_week,
        health,
    );
    let insert_name = if url.is_postgres() {
        "pgbench single INSERT"
    } else {
        "SQLite INSERT loop"
    };
    row(
        "booking creation, distinct slots",
        &bookings,
        ceiling.as_ref().map(|c| (insert_name, c.per_second)),
    );
    row(
        &format!("availability, 7 days, 5 staff, {history} past bookings"),
        &large_history,
        health,
    );
    println!();
    match &ceiling {
        Some(c) => println!(
            "{insert_name}: {:.0} per second ({})",
            c.per_second, c.command
        ),
        None => println!("{insert_name}: not measured (pgbench missing or failed)"),
    }
    let cost = |m: &Measurement| 1.0 / m.per_second();
    if !small_history.is_skipped() {
        println!(
            "7 days cost {:.2}× one day; 31 days {:.2}× (per request, same clients)",
            cost(&small_history) / cost(&service_day),
            cost(&service_month) / cost(&service_day)
        );
        println!(
            "compact form: 7 days cost {:.2}× one day",
            cost(&compact_week) / cost(&compact_day)
        );
    }
    if !small_history.is_skipped() && !large_history.is_skipped() {
        let change = large_history.percentile(0.5).as_secs_f64()
            / small_history.percentile(0.5).as_secs_f64()
            - 1.0;
        println!(
            "availability p50 change from 1,000 to {history} past bookings: {:+.1} %",
            change * 100.0
        );
    }
    println!("server peak RSS: {busy_rss:.0} MB after bookings, {rss:.0} MB at the end");
    println!("\n| answer | slots | bytes, full | bytes, compact |\n|---|---|---|---|");
    for (label, slots, full, compact) in &sizes {
        println!("| {label} | {slots} | {full} | {compact} |");
    }
    let log_lines = std::fs::File::open(dir.join("server.log"))
        .map(|f| BufReader::new(f).lines().count())
        .unwrap_or(0);
    println!("\nserver log: {log_lines} lines");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
