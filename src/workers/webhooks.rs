//! The webhook worker: claims due deliveries, sends each with its Standard
//! Webhooks headers, and records the attempt. `run_once` is one pass, for
//! `serve`'s loop and for tests with their own clock.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::db::DbConnection;
use crate::domain::webhooks::{is_public, parse_destination, signature_header};
use crate::error::AppError;
use crate::store::webhooks::{self, AttemptResult, Delivery, Subscription};

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Deliveries one pass claims; a full pass is followed by another at once.
pub const BATCH: i64 = 200;

/// How long one subscription's turn in a pass may go on: well inside the
/// claim (`store::webhooks::CLAIM_FOR`), so no other worker can take a
/// delivery this one is still sending.
const LANE_BUDGET: Duration = Duration::from_secs(30);

/// The characters of an endpoint's answer kept with the attempt.
const SNIPPET: u64 = 512;

/// Sends deliveries over HTTP(S).
pub struct Outbound {
    agent: ureq::Agent,
    allow_private: bool,
}

impl Outbound {
    /// `allow_private` lets deliveries reach loopback and private addresses
    /// (development and tests); production leaves it off.
    pub fn new(allow_private: bool) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            // A redirect could point us anywhere, past the address check.
            .max_redirects(0)
            .user_agent("slotwise-webhooks/1")
            .build()
            .into();
        Self {
            agent,
            allow_private,
        }
    }

    /// One attempt: sign with every secret live at `at`, post, and read what
    /// came back.
    pub fn attempt(
        &self,
        delivery: &Delivery,
        sub: &Subscription,
        at: DateTime<Utc>,
    ) -> AttemptResult {
        let started = Instant::now();
        let elapsed = |started: Instant| started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        if let Err(error) = check_address(&sub.url, self.allow_private) {
            return AttemptResult {
                status: None,
                error: Some(error),
                duration_ms: 0,
                snippet: None,
                retry_after: None,
            };
        }
        // The signed timestamp is the real clock's (receivers refuse old
        // ones); which secrets sign is the worker's clock's, as every other
        // decision of the pass.
        let now = Utc::now();
        let signature = signature_header(
            &sub.signing_secrets(at.naive_utc()),
            &delivery.event_id,
            now.timestamp(),
            &delivery.body,
        );
        let sent = self
            .agent
            .post(&sub.url)
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", now.timestamp().to_string())
            .header("webhook-signature", signature)
            .content_type("application/json")
            .send(delivery.body.as_str());
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok());
                let mut bytes = Vec::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(SNIPPET)
                    .read_to_end(&mut bytes);
                let snippet = String::from_utf8_lossy(&bytes).into_owned();
                AttemptResult {
                    status: Some(status),
                    error: None,
                    duration_ms: elapsed(started),
                    snippet: (!snippet.is_empty()).then_some(snippet),
                    retry_after,
                }
            }
            Err(error) => AttemptResult {
                status: None,
                error: Some(error.to_string()),
                duration_ms: elapsed(started),
                snippet: None,
                retry_after: None,
            },
        }
    }
}

/// Refuses a URL whose host resolves to an address we must not reach
/// (loopback, private, link-local…) unless `allow_private`. Checked when a
/// subscription is saved and again before every attempt, since what a name
/// resolves to can change.
pub fn check_address(url: &str, allow_private: bool) -> Result<(), String> {
    let destination = parse_destination(url)?;
    if allow_private {
        return Ok(());
    }
    let addresses = (destination.host.as_str(), destination.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", destination.host))?;
    for address in addresses {
        if !is_public(address.ip()) {
            return Err(format!(
                "{} resolves to the private address {}; webhooks go to public addresses only",
                destination.host,
                address.ip()
            ));
        }
    }
    Ok(())
}

/// One pass: claim what is due at `now`, attempt each, record each. Returns
/// how many attempts were made.
///
/// Each subscription's deliveries go one after another, in order, and
/// different subscriptions' go side by side, so one slow or dead endpoint
/// (15 s a try) holds up nobody else. A subscription's first failure in a
/// pass ends its turn: the deliveries behind it wait until the failed one is
/// due again, so a dead endpoint is probed once per retry step rather than
/// hit with its whole backlog, and no claim outlives its minute.
pub fn run_once(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    outbound: &Outbound,
) -> Result<usize, AppError> {
    let claimed = webhooks::claim_due(conn, now, BATCH)?;
    let mut by_subscription: BTreeMap<&str, Vec<&(Delivery, Subscription)>> = BTreeMap::new();
    for row in &claimed {
        by_subscription.entry(&row.1.id).or_default().push(row);
    }
    // The delivery that failed before goes first, so one delivery probes a
    // failing endpoint and its retry schedule keeps growing; the rest keep
    // the order of their events.
    for rows in by_subscription.values_mut() {
        rows.sort_by_key(|(delivery, _)| std::cmp::Reverse(delivery.attempts));
    }
    let lanes: Vec<Lane> = std::thread::scope(|scope| {
        let running: Vec<_> = by_subscription
            .into_values()
            .map(|rows| scope.spawn(move || run_lane(rows, now, outbound)))
            .collect();
        running
            .into_iter()
            .map(|lane| lane.join().expect("a delivery lane does not panic"))
            .collect()
    });
    let mut attempts = Vec::new();
    let mut held_back = Vec::new();
    let mut unfinished = Vec::new();
    for lane in lanes {
        unfinished.extend(lane.unfinished);
        if let (Some((failed, _)), false) = (lane.attempts.last(), lane.held_back.is_empty()) {
            held_back.push((failed.id.clone(), lane.held_back));
        }
        attempts.extend(lane.attempts);
    }
    // One transaction for the pass: on SQLite every commit waits its turn
    // with the bookings being made.
    webhooks::record_attempts(conn, &attempts, &held_back, &unfinished, now)?;
    let attempted = attempts.len();
    Ok(attempted)
}

/// One subscription's turn in a pass.
struct Lane<'a> {
    attempts: Vec<(&'a Delivery, AttemptResult)>,
    /// Not tried, because an earlier delivery to the same endpoint failed.
    held_back: Vec<String>,
    /// Not tried, because the turn ran out of time (a slow endpoint).
    unfinished: Vec<String>,
}

fn run_lane<'a>(
    rows: Vec<&'a (Delivery, Subscription)>,
    now: DateTime<Utc>,
    outbound: &Outbound,
) -> Lane<'a> {
    let started = Instant::now();
    let mut lane = Lane {
        attempts: Vec::new(),
        held_back: Vec::new(),
        unfinished: Vec::new(),
    };
    for (delivery, sub) in rows {
        if lane.attempts.last().is_some_and(|(_, r)| !r.delivered()) {
            lane.held_back.push(delivery.id.clone());
            continue;
        }
        if started.elapsed() > LANE_BUDGET {
            lane.unfinished.push(delivery.id.clone());
            continue;
        }
        lane.attempts
            .push((delivery, outbound.attempt(delivery, sub, now)));
    }
    lane
}
