//! The durability audit: a few thousand bookings, holds and cancellations
//! from concurrent clients — some hanging up mid-request, some retrying with
//! `Idempotency-Key` — against the real `slotwise` binary, which is killed
//! with SIGKILL under load and later stopped with SIGTERM. After each restart
//! every answer a client was given must still be true: each booking answered
//! 201 exists with the state it was last answered with, no key booked twice,
//! and no slot is double-booked.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::schema::{bookings, customers, queue_tickets};

use crate::harness::{assert_no_overlap, fresh_connection, postgres_server, test_keys, SECRET};
use crate::shop::{london, rfc3339};

const CLIENTS: usize = 8;
const STAFF: usize = 4;

/// The `slotwise serve` process under audit.
struct Server {
    child: Option<Child>,
    base: String,
}

fn slotwise(database_url: &str, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slotwise"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SLOTWISE_DATA_DIR", data_dir)
        .env("SLOTWISE_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("SLOTWISE_DEMO", "false")
        .env("SLOTWISE_LOG", "warn")
        .env("SLOTWISE_WORKERS", "2")
        .env("SLOTWISE_DB_POOL_SIZE", "8")
        // Eight clients share one address here; the limits have tests of their own.
        .env("SLOTWISE_ANON_REQUESTS_PER_MINUTE", "0")
        .env("SLOTWISE_HOLDS_PER_ADDRESS", "0");
    command
}

impl Server {
    fn start(database_url: &str, data_dir: &Path) -> Server {
        Server::start_with_fault(database_url, data_dir, None)
    }

    /// A server that dies at the point `fault` names (see `slotwise::faults`).
    fn start_with_fault(database_url: &str, data_dir: &Path, fault: Option<&str>) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.join("server.log"))
            .unwrap();
        let mut command = slotwise(database_url, data_dir);
        if let Some(fault) = fault {
            command.env("SLOTWISE_FAULT", fault);
        }
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(rest) = line.strip_prefix("slotwise listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child: Some(child),
            base,
        }
    }

    /// Waits for a server that crashed itself to be gone.
    fn wait_for_crash(mut self) {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the injected fault did not end serve"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut off.
    fn kill_9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM: actix finishes the requests in flight, then exits.
    fn terminate(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The last answer a client got about a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    Confirmed,
    Cancelled,
    /// A cancel was sent and never answered: either state is honest.
    ConfirmedOrCancelled,
}

#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    created: AtomicUsize,
    cancelled: AtomicUsize,
    replayed: AtomicUsize,
    refused: AtomicUsize,
    hung_up: AtomicUsize,
    unanswered: AtomicUsize,
    server_errors: Mutex<Vec<String>>,
}

/// What every client learnt, for checking after the restarts.
#[derive(Default)]
struct Ledger {
    bookings: Mutex<HashMap<String, Answered>>,
    /// Email of the customer each keyed booking was for: one booking each.
    keyed_emails: Mutex<Vec<String>>,
    tally: Tally,
}

struct Target<'a> {
    base: &'a str,
    service: &'a str,
    /// Slot starts: the first few are contested on purpose.
    starts: &'a [DateTime<Utc>],
    agent: &'a str,
    stop: &'a AtomicBool,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status, JSON body and headers of one answer.
type Answer = (u16, Value, Vec<(String, String)>);

/// One request; `None` when no answer came (the server is gone or hung up).
fn call(
    http: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: Option<&Value>,
) -> Option<Answer> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(key) = key {
        builder = builder.header("Idempotency-Key", key);
    }
    builder = builder.header("Content-Type", "application/json");
    let text = body.map(Value::to_string).unwrap_or_default();
    let mut response = http.run(builder.body(text).unwrap()).ok()?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let text = response.body_mut().read_to_string().ok()?;
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    ))
}

fn pick_start(rng: &mut StdRng, starts: &[DateTime<Utc>]) -> DateTime<Utc> {
    // A third of the attempts fight over the first ten starts.
    if rng.random_bool(0.33) {
        starts[rng.random_range(0..10)]
    } else {
        starts[rng.random_range(0..starts.len())]
    }
}

fn booking_body(service: &str, start: DateTime<Utc>, email: &str) -> Value {
    json!({"service_id": service, "start": rfc3339(start), "customer": {"name": "Audit Client", "email": email}})
}

/// Sends a whole booking request (or half of its body) and hangs up
/// without reading the answer.
fn hang_up(base: &str, token: &str, key: Option<&str>, body: &Value, half: bool, rng: &mut StdRng) {
    let address = base.trim_start_matches("http://");
    let Ok(mut stream) = TcpStream::connect(address) else {
        return;
    };
    let body = body.to_string();
    let key_line = key.map_or(String::new(), |k| format!("Idempotency-Key: {k}\r\n"));
    let head = format!(
        "POST /v1/bookings HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n{key_line}Content-Length: {}\r\n\r\n",
        body.len()
    );
    let sent = if half { body.len() / 2 } else { body.len() };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body.as_bytes()[..sent]);
    std::thread::sleep(Duration::from_millis(rng.random_range(0..4)));
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Runs one client for at most `operations` steps, until `stop` is set and
/// the server stops answering.
fn client(id: usize, phase: u64, operations: usize, target: &Target, ledger: &Ledger) {
    let mut rng = StdRng::seed_from_u64(phase * 1000 + id as u64);
    let http = agent();
    let bookings_url = format!("{}/v1/bookings", target.base);
    let tally = &ledger.tally;
    let mut mine: Vec<String> = Vec::new();
    let counted =
        |method: &str, url: &str, token: Option<&str>, key: Option<&str>, body: Option<&Value>| {
            tally.requests.fetch_add(1, Ordering::Relaxed);
            call(&http, method, url, token, key, body)
        };
    let record = |id: &str, answered: Answered| {
        ledger
            .bookings
            .lock()
            .unwrap()
            .insert(id.to_owned(), answered);
    };
    let server_error = |what: &str, status: u16, body: &Value| {
        tally
            .server_errors
            .lock()
            .unwrap()
            .push(format!("{what}: {status} {body}"));
    };
    for op in 0..operations {
        let email = format!("c{id}-p{phase}-{op}@audit.example");
        let roll: f64 = rng.random();
        let answer = if roll < 0.30 {
            // Staff booking on the phone.
            let body = booking_body(target.service, pick_start(&mut rng, target.starts), &email);
            counted("POST", &bookings_url, Some(target.agent), None, Some(&body)).map(
                |(status, reply, _)| match status {
                    201 => {
                        let booking = reply["id"].as_str().unwrap().to_owned();
                        record(&booking, Answered::Confirmed);
                        mine.push(booking);
                        tally.created.fetch_add(1, Ordering::Relaxed);
                    }
                    409 => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => server_error("book", status, &reply),
                },
            )
        } else if roll < 0.50 {
            // A stranger on the web: hold, then book from the hold.
            let start = pick_start(&mut rng, target.starts);
            let hold = json!({"service_id": target.service, "start": rfc3339(start)});
            let holds_url = format!("{}/v1/holds", target.base);
            counted("POST", &holds_url, None, None, Some(&hold)).and_then(
                |(status, reply, _)| match status {
                    201 => {
                        let body = json!({"hold_id": reply["id"], "customer": {"name": "Web Visitor", "email": email}});
                        counted("POST", &bookings_url, None, None, Some(&body)).map(
                            |(status, reply, _)| match status {
                                201 => {
                                    let booking = reply["id"].as_str().unwrap().to_owned();
                                    assert!(reply["manage_token"].is_string());
                                    record(&booking, Answered::Confirmed);
                                    tally.created.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => server_error("book from hold", status, &reply),
                            },
                        )
                    }
                    409 => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        Some(())
                    }
                    _ => {
                        server_error("hold", status, &reply);
                        Some(())
                    }
                },
            )
        } else if roll < 0.65 {
            // A booking with a key, sent twice: the second must be the first's answer.
            let key = format!("audit-{phase}-{id}-{op}");
            let body = booking_body(target.service, pick_start(&mut rng, target.starts), &email);
            ledger.keyed_emails.lock().unwrap().push(email.clone());
            let first = counted(
                "POST",
                &bookings_url,
                Some(target.agent),
                Some(&key),
                Some(&body),
            );
            first.and_then(|(status, reply, _)| {
                match status {
                    201 => {
                        let booking = reply["id"].as_str().unwrap().to_owned();
                        record(&booking, Answered::Confirmed);
                        mine.push(booking.clone());
                        tally.created.fetch_add(1, Ordering::Relaxed);
                        let (status, again, headers) = counted(
                            "POST",
                            &bookings_url,
                            Some(target.agent),
                            Some(&key),
                            Some(&body),
                        )?;
                        assert_eq!(status, 201, "{again}");
                        assert_eq!(again["id"], booking.as_str(), "a replay booked again");
                        assert!(headers
                            .iter()
                            .any(|(k, v)| k == "idempotent-replayed" && v == "true"));
                        tally.replayed.fetch_add(1, Ordering::Relaxed);
                    }
                    409 => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => server_error("keyed book", status, &reply),
                }
                Some(())
            })
        } else if roll < 0.80 {
            // A change of plan: cancel one of this client's bookings.
            if mine.is_empty() {
                continue;
            }
            let booking = mine.swap_remove(rng.random_range(0..mine.len()));
            let url = format!("{bookings_url}/{booking}/cancel");
            let body = json!({"reason": "audit"});
            match counted("POST", &url, Some(target.agent), None, Some(&body)) {
                Some((200, _, _)) => {
                    record(&booking, Answered::Cancelled);
                    tally.cancelled.fetch_add(1, Ordering::Relaxed);
                    Some(())
                }
                Some((status, reply, _)) => {
                    server_error("cancel", status, &reply);
                    Some(())
                }
                None => {
                    record(&booking, Answered::ConfirmedOrCancelled);
                    None
                }
            }
        } else {
            // The caller hangs up mid-request; half of them retry with their key.
            let keyed = rng.random_bool(0.5);
            let key = format!("hangup-{phase}-{id}-{op}");
            let body = booking_body(target.service, pick_start(&mut rng, target.starts), &email);
            let half = rng.random_bool(0.3);
            hang_up(
                target.base,
                target.agent,
                keyed.then_some(key.as_str()),
                &body,
                half,
                &mut rng,
            );
            tally.hung_up.fetch_add(1, Ordering::Relaxed);
            tally.requests.fetch_add(1, Ordering::Relaxed);
            if !keyed {
                continue;
            }
            ledger.keyed_emails.lock().unwrap().push(email.clone());
            let mut outcome = None;
            for _ in 0..50 {
                match counted(
                    "POST",
                    &bookings_url,
                    Some(target.agent),
                    Some(&key),
                    Some(&body),
                ) {
                    Some((409, reply, _)) if reply["code"] == "idempotency_in_progress" => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Some((201, reply, _)) => {
                        let booking = reply["id"].as_str().unwrap().to_owned();
                        record(&booking, Answered::Confirmed);
                        mine.push(booking);
                        tally.created.fetch_add(1, Ordering::Relaxed);
                        outcome = Some(());
                        break;
                    }
                    Some((409, _, _)) => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        outcome = Some(());
                        break;
                    }
                    Some((status, reply, _)) => {
                        server_error("retry after hang-up", status, &reply);
                        outcome = Some(());
                        break;
                    }
                    None => break,
                }
            }
            outcome
        };
        if answer.is_none() {
            tally.unanswered.fetch_add(1, Ordering::Relaxed);
            if target.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

fn run_clients(phase: u64, operations: usize, target: &Target, ledger: &Ledger) {
    std::thread::scope(|scope| {
        for id in 0..CLIENTS {
            scope.spawn(move || client(id, phase, operations, target, ledger));
        }
    });
}

/// Every answer still holds, read from the database on a connection of its
/// own and through the restarted API; returns how many bookings were lost.
fn verify(database_url: &str, base: &str, agent_token: &str, ledger: &Ledger) -> usize {
    let answered = ledger.bookings.lock().unwrap().clone();
    let mut conn = fresh_connection(database_url);
    let stored: HashMap<String, String> = bookings::table
        .select((bookings::id, bookings::status))
        .load::<(String, String)>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let mut lost = Vec::new();
    let http = agent();
    for (id, state) in &answered {
        let Some(status) = stored.get(id) else {
            lost.push(id.clone());
            continue;
        };
        let honest = match state {
            Answered::Confirmed => status == "confirmed",
            Answered::Cancelled => status == "cancelled",
            Answered::ConfirmedOrCancelled => status == "confirmed" || status == "cancelled",
        };
        assert!(honest, "{id} was answered {state:?} and is stored {status}");
        let (code, reply, _) = call(
            &http,
            "GET",
            &format!("{base}/v1/bookings/{id}"),
            Some(agent_token),
            None,
            None,
        )
        .expect("the restarted API answers");
        assert_eq!(code, 200, "{reply}");
        assert_eq!(reply["status"].as_str(), Some(status.as_str()));
    }
    // A key books at most once, even when its first request was cut off.
    let keyed = ledger.keyed_emails.lock().unwrap().clone();
    for email in keyed {
        let count: i64 = bookings::table
            .inner_join(customers::table.on(customers::id.eq(bookings::customer_id)))
            .filter(customers::email.eq(&email))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert!(
            count <= 1,
            "one Idempotency-Key made {count} bookings for {email}"
        );
    }
    assert_no_overlap(&mut conn);
    lost.len()
}

/// The business under audit: four staff open around the clock, one service
/// of 30 minutes that any of them delivers, open to every channel.
fn set_up(base: &str, business: &str) -> String {
    let keys = test_keys();
    let admin = keys
        .mint(business, Role::Admin, "audit-admin", "", 120)
        .unwrap();
    let http = agent();
    let post = |path: &str, body: Value| {
        let (status, reply, _) = call(
            &http,
            "POST",
            &format!("{base}{path}"),
            Some(&admin),
            None,
            Some(&body),
        )
        .unwrap();
        assert_eq!(status, 201, "{path}: {reply}");
        reply["id"].as_str().unwrap().to_owned()
    };
    let location = post(
        "/v1/locations",
        json!({"name": "Audit", "timezone": "Europe/London"}),
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
    let staff: Vec<String> = (0..STAFF)
        .map(|i| {
            let id = post(
                "/v1/resources",
                json!({"location_id": location, "name": format!("Stylist {i}"), "kind": "staff"}),
            );
            let (status, reply, _) = call(
                &http,
                "PUT",
                &format!("{base}/v1/resources/{id}/hours"),
                Some(&admin),
                None,
                Some(&json!({"intervals": intervals})),
            )
            .unwrap();
            assert_eq!(status, 200, "{reply}");
            id
        })
        .collect();
    post(
        "/v1/services",
        json!({"location_id": location, "name": "Cut", "duration_minutes": 30, "slot_step_minutes": 30,
               "requirements": [{"resource_ids": staff}]}),
    )
}

/// A business of its own, made by `slotwise business create`, and its data directory.
fn new_business(database_url: &str) -> (PathBuf, String) {
    let data_dir: PathBuf = std::env::temp_dir().join(slotwise::ids::new_id("audit"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let created = slotwise(database_url, &data_dir)
        .args([
            "business",
            "create",
            "--name",
            "Audit",
            "--timezone",
            "Europe/London",
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let business = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    (data_dir, business)
}

fn audit(database_url: &str, label: &str) {
    let (data_dir, business) = new_business(database_url);
    let agent_token = test_keys()
        .mint(&business, Role::Agent, "audit-agent", "", 120)
        .unwrap();

    let server = Server::start(database_url, &data_dir);
    let service = set_up(&server.base, &business);
    // Two days out and beyond, every half hour for ten days.
    let starts: Vec<DateTime<Utc>> = (0..480)
        .map(|i| london(2, 0, 0) + chrono::Duration::minutes(30 * i))
        .collect();
    let ledger = Ledger::default();
    let stop = AtomicBool::new(false);
    let started = Instant::now();

    // Phase 1: load, and SIGKILL in the middle of it.
    let base = server.base.clone();
    let target = Target {
        base: &base,
        service: &service,
        starts: &starts,
        agent: &agent_token,
        stop: &stop,
    };
    std::thread::scope(|scope| {
        let (target, ledger_ref) = (&target, &ledger);
        let load = scope.spawn(move || run_clients(1, 250, target, ledger_ref));
        let deadline = Instant::now() + Duration::from_secs(60);
        while ledger.tally.created.load(Ordering::Relaxed) < 250 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        server.kill_9();
        load.join().unwrap();
    });
    let server = Server::start(database_url, &data_dir);
    let lost_after_kill = verify(database_url, &server.base, &agent_token, &ledger);

    // Phase 2: load to the end, then a graceful stop.
    stop.store(false, Ordering::Relaxed);
    let target = Target {
        base: &server.base,
        service: &service,
        starts: &starts,
        agent: &agent_token,
        stop: &stop,
    };
    run_clients(2, 150, &target, &ledger);
    server.terminate();
    let server = Server::start(database_url, &data_dir);
    let lost_after_stop = verify(database_url, &server.base, &agent_token, &ledger);
    drop(server);

    let t = &ledger.tally;
    eprintln!(
        "durability audit on {label}: {} requests in {:.1} s, {} bookings answered 201 ({} replayed by key), \
         {} cancelled, {} refused 409, {} hung up, {} unanswered (server killed), lost after SIGKILL {}, \
         lost after SIGTERM {}",
        t.requests.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        t.created.load(Ordering::Relaxed),
        t.replayed.load(Ordering::Relaxed),
        t.cancelled.load(Ordering::Relaxed),
        t.refused.load(Ordering::Relaxed),
        t.hung_up.load(Ordering::Relaxed),
        t.unanswered.load(Ordering::Relaxed),
        lost_after_kill,
        lost_after_stop,
    );
    let errors = t.server_errors.lock().unwrap();
    assert!(
        errors.is_empty(),
        "unexpected answers: {:?}",
        &errors[..errors.len().min(10)]
    );
    assert_eq!(
        (lost_after_kill, lost_after_stop),
        (0, 0),
        "acknowledged bookings were lost"
    );
    assert!(
        t.created.load(Ordering::Relaxed) >= 250,
        "the audit booked too little to mean much"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn every_acknowledged_booking_survives_sigkill_and_restart_on_sqlite() {
    let dir = std::env::temp_dir().join(slotwise::ids::new_id("auditdb"));
    std::fs::create_dir_all(&dir).unwrap();
    audit(
        &format!("sqlite://{}", dir.join("audit.db").display()),
        "SQLite",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_acknowledged_booking_survives_sigkill_and_restart_on_postgres() {
    let Some(server) = postgres_server() else {
        return;
    };
    let name = format!("audit_{}", slotwise::ids::new_id("db").to_lowercase());
    server.create_empty_database(&name);
    audit(&server.url(&name), "PostgreSQL");
    server.drop_database(&name);
}

/// The process dies after a booking commits and before its answer leaves
/// (a real abort, injected at that exact point). The client saw no answer
/// and retries with the same `Idempotency-Key` on the restarted server: it
/// must get that booking back, not a 409 and then a second booking. Once
/// for a phone agent, once for the widget (anonymous, with its manage
/// token in the answer), and once for the walk-in desk.
fn a_retry_after_a_crash_between_commit_and_answer_replays_the_booking(database_url: &str) {
    let (data_dir, business) = new_business(database_url);
    let agent_token = test_keys()
        .mint(&business, Role::Agent, "crash-agent", "", 120)
        .unwrap();
    let http = agent();
    let mut service = None;
    for (round, token) in [Some(agent_token.as_str()), None].into_iter().enumerate() {
        let server = Server::start_with_fault(
            database_url,
            &data_dir,
            Some(slotwise::faults::CRASH_AFTER_COMMIT),
        );
        let service = service
            .get_or_insert_with(|| set_up(&server.base, &business))
            .clone();
        let body = booking_body(
            &service,
            london(3, 9 + round as u32, 0),
            &format!("crash{round}@example.com"),
        );
        let key = uuid_like(round);
        let url = format!("{}/v1/bookings", server.base);
        let cut_off = call(&http, "POST", &url, token, Some(&key), Some(&body));
        assert!(
            cut_off.is_none(),
            "the fault let an answer out: {cut_off:?}"
        );
        server.wait_for_crash();

        let server = Server::start(database_url, &data_dir);
        let url = format!("{}/v1/bookings", server.base);
        let (status, reply, headers) =
            call(&http, "POST", &url, token, Some(&key), Some(&body)).expect("an answer");
        assert_eq!(status, 201, "round {round}: {reply}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "idempotent-replayed" && v == "true"),
            "round {round}: not a replay: {headers:?}"
        );
        let channel = if token.is_some() { "phone" } else { "online" };
        assert_eq!(reply["channel"], channel, "round {round}: {reply}");
        assert_eq!(
            reply["manage_token"].is_string(),
            token.is_none(),
            "round {round}: {reply}"
        );
        let id = reply["id"].as_str().unwrap();
        let stored: Vec<String> = bookings::table
            .select(bookings::id)
            .load(&mut fresh_connection(database_url))
            .unwrap();
        assert_eq!(stored.len(), round + 1, "a retry booked again: {stored:?}");
        assert!(stored.iter().any(|s| s == id));
        // Still a replay, and still one booking, when asked once more.
        let (again, reply_again, _) =
            call(&http, "POST", &url, token, Some(&key), Some(&body)).expect("an answer");
        assert_eq!((again, &reply_again["id"]), (201, &reply["id"]));
    }

    // The walk-in desk: the same promise for a walk-in booked (or queued) at once.
    let desk = test_keys()
        .mint(&business, Role::Desk, "crash-desk", "", 120)
        .unwrap();
    let visits = || {
        let conn = &mut fresh_connection(database_url);
        let booked: i64 = bookings::table.count().get_result(conn).unwrap();
        let queued: i64 = queue_tickets::table.count().get_result(conn).unwrap();
        booked + queued
    };
    let before = visits();
    let server = Server::start_with_fault(
        database_url,
        &data_dir,
        Some(slotwise::faults::CRASH_AFTER_COMMIT),
    );
    let body = json!({"service_id": service.unwrap(), "customer": {"name": "Crash Walker"}});
    let key = uuid_like(9);
    let url = format!("{}/v1/walk-ins", server.base);
    let cut_off = call(&http, "POST", &url, Some(&desk), Some(&key), Some(&body));
    assert!(
        cut_off.is_none(),
        "the fault let an answer out: {cut_off:?}"
    );
    server.wait_for_crash();
    assert_eq!(
        visits(),
        before + 1,
        "the walk-in did not commit before the crash"
    );
    let server = Server::start(database_url, &data_dir);
    let url = format!("{}/v1/walk-ins", server.base);
    let (status, reply, headers) =
        call(&http, "POST", &url, Some(&desk), Some(&key), Some(&body)).expect("an answer");
    assert_eq!(status, 201, "walk-in: {reply}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "idempotent-replayed" && v == "true"),
        "walk-in: not a replay: {headers:?}"
    );
    assert!(
        reply["booking"].is_object() || reply["ticket"].is_object(),
        "{reply}"
    );
    assert_eq!(visits(), before + 1, "the desk's retry made a second visit");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// A fresh UUID-shaped key per round, as the widget would send.
fn uuid_like(round: usize) -> String {
    let id = slotwise::ids::new_id("k").to_lowercase();
    format!("{round:08}-0000-4000-8000-{}", &id[id.len() - 12..])
}

#[test]
fn a_retry_after_a_crash_between_commit_and_answer_replays_the_booking_on_sqlite() {
    let dir = std::env::temp_dir().join(slotwise::ids::new_id("crashdb"));
    std::fs::create_dir_all(&dir).unwrap();
    a_retry_after_a_crash_between_commit_and_answer_replays_the_booking(&format!(
        "sqlite://{}",
        dir.join("crash.db").display()
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_retry_after_a_crash_between_commit_and_answer_replays_the_booking_on_postgres() {
    let Some(server) = postgres_server() else {
        return;
    };
    let name = format!("crash_{}", slotwise::ids::new_id("db").to_lowercase());
    server.create_empty_database(&name);
    a_retry_after_a_crash_between_commit_and_answer_replays_the_booking(&server.url(&name));
    server.drop_database(&name);
}
