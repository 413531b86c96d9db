//! Our deliveries checked by other people's code, on both databases: email
//! through a real SMTP server (Nodemailer's `smtp-server`, read back as it
//! arrived) and webhook signatures through the Standard Webhooks reference
//! library (`standardwebhooks` from npm). Both live in `tests/receivers`;
//! skipped with a message where Node or those packages are missing, unless
//! `SLOTWISE_TEST_REQUIRE_NODE=1` (as CI sets).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver as Lines};
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::workers::senders::Senders;

use crate::memory::{complete, created, hours_ago, id, past_booking};
use crate::notifications::{notify, remind};
use crate::on_both_databases;
use crate::receiver::{Received, Receiver};
use crate::shop::{book, booking, london, open};
use crate::webhooks::deliver;

fn receivers() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers");
    let mut missing = Vec::new();
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node");
    }
    for package in ["smtp-server", "mailparser", "standardwebhooks"] {
        if !dir.join("node_modules").join(package).exists() {
            missing.push("tests/receivers/node_modules (npm ci --prefix tests/receivers)");
            break;
        }
    }
    if missing.is_empty() {
        return Some(dir);
    }
    let required =
        std::env::var("SLOTWISE_TEST_REQUIRE_NODE").is_ok_and(|v| v == "1" || v == "true");
    assert!(
        !required,
        "node receivers required but missing: {missing:?}"
    );
    eprintln!("node receiver test skipped, missing: {missing:?}");
    None
}

/// `smtp.mjs` running on a free port; stops when dropped (its stdin closes).
struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    lines: Lines<String>,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let mut child = Command::new("node")
            .arg(dir.join("smtp.mjs"))
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node smtp.mjs");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready: Value = serde_json::from_str(
            &lines
                .recv_timeout(Duration::from_secs(30))
                .expect("smtp.mjs listens"),
        )
        .unwrap();
        SmtpServer {
            child,
            _stdin: stdin,
            port: ready["port"].as_u64().unwrap() as u16,
            lines,
        }
    }

    /// The messages that arrived, waiting (up to 10 s) until `expected` have
    /// been read: each is printed before the server accepts it, but our
    /// reader thread may not have taken the line off the pipe yet. Then
    /// anything more that is already there, so extra mail is seen too.
    fn arrived(&self, expected: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut lines: Vec<String> = Vec::new();
        while lines.len() < expected {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        lines.extend(self.lines.try_iter());
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the reference verifier over `deliveries` with `secret`: one result each.
fn verify(dir: &Path, secret: &str, deliveries: &[Received]) -> Vec<Value> {
    let input = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|r| json!({
            "headers": {
                "webhook-id": r.header("webhook-id"),
                "webhook-timestamp": r.header("webhook-timestamp"),
                "webhook-signature": r.header("webhook-signature"),
            },
            "body": r.body,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new("node")
        .arg(dir.join("verify.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node verify.mjs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "verify.mjs failed");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["results"].as_array().unwrap().clone()
}

on_both_databases! {
    fn the_reference_verifier_accepts_every_delivery(app: &TestApp) {
        let Some(dir) = receivers() else { return };
        let receiver = Receiver::start();
        let manager = app.token(Role::Manager);
        let hook = created(app.post("/v1/webhooks", &manager, &json!({"url": receiver.url, "event_types": ["*"]})));
        let secret = hook["secret"].as_str().unwrap().to_owned();
        let shop = open(app);
        let b = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(3, 10, 0), "sam@example.com"));
        let agent = app.token(Role::Agent);
        let moved = app.post(&format!("/v1/bookings/{}/reschedule", id(&b)), &agent,
            &json!({"start": crate::shop::rfc3339(london(3, 11, 0))}));
        assert_eq!(moved.status, 200, "{}", moved.text);
        crate::memory::step(app, &id(&b), "cancel");
        let visit = past_booking(app, &shop.haircut, hours_ago(3), json!({"name": "Jo", "email": "jo@example.com"}));
        complete(app, &id(&visit));
        let answer = json!({"token": crate::memory::feedback_token(app, &id(&visit)), "nps": 9, "effort": 2});
        assert_eq!(app.request("POST", "/v1/feedback", None, &[], Some(&answer.to_string())).status, 201);
        app.post(&format!("/v1/webhooks/{}/test", id(&hook)), &manager, &json!({}));
        deliver(app, Utc::now());
        let got = receiver.accepted();
        let types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
        for expected in [
            "customer.created", "booking.created", "booking.rescheduled", "booking.cancelled",
            "booking.checked_in", "booking.started", "booking.completed", "feedback.requested",
            "feedback.received", "webhook.test",
        ] {
            assert!(types.iter().any(|t| t == expected), "{expected} in {types:?}");
        }
        let results = verify(&dir, &secret, &got);
        assert_eq!(results.len(), got.len());
        assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");

        // It is a real check: another secret or a changed body fails.
        let other = slotwise::domain::webhooks::new_secret();
        assert!(verify(&dir, &other, &got).iter().all(|r| r["ok"] == false));
        let tampered = Received { body: got[0].body.replace("\"data\"", "\"data\" "), ..got[0].clone() };
        assert_eq!(verify(&dir, &secret, &[tampered])[0]["ok"], false);

        // During a rotation either secret verifies the same delivery.
        let rotated = app.post(&format!("/v1/webhooks/{}/rotate-secret", id(&hook)), &manager, &json!({})).json();
        app.post(&format!("/v1/webhooks/{}/test", id(&hook)), &manager, &json!({}));
        deliver(app, Utc::now());
        let last = receiver.accepted().pop().unwrap();
        assert_eq!(verify(&dir, &secret, std::slice::from_ref(&last))[0]["ok"], true);
        assert_eq!(verify(&dir, rotated["secret"].as_str().unwrap(), &[last])[0]["ok"], true);
    }

    fn confirmation_reminder_and_follow_up_arrive_by_real_smtp(app: &TestApp) {
        let Some(dir) = receivers() else { return };
        let smtp = SmtpServer::start(&dir);
        let senders = Senders::from_settings(&slotwise::config::NotifySettings {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            email_from: "Soho Salon <bookings@salon.example>".into(),
            public_url: "https://book.salon.example/".into(),
            ..Default::default()
        }).unwrap();
        let shop = open(app);
        remind(app, &shop.haircut, &[120]);
        let start = london(3, 10, 0);
        let b = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, start, "sam@example.com"));
        assert_eq!(notify(app, Utc::now(), &senders).sent, 1);
        assert_eq!(notify(app, start - chrono::Duration::minutes(119), &senders).sent, 1);
        let visit = past_booking(app, &shop.haircut, hours_ago(4), json!({"name": "Jo", "email": "jo@example.com"}));
        complete(app, &id(&visit));
        let token = crate::memory::feedback_token(app, &id(&visit));
        let pass = notify(app, Utc::now(), &senders);
        // A visit entered after the fact gets no confirmation, only the survey.
        assert_eq!((pass.sent, pass.skipped), (1, 1), "{pass:?}");

        let mail = smtp.arrived(3);
        assert_eq!(mail.len(), 3, "{mail:?}");
        let to = |m: &Value| m["to"][0].as_str().unwrap().to_owned();
        let subject = |m: &Value| m["subject"].as_str().unwrap().to_owned();
        let text = |m: &Value| m["text"].as_str().unwrap().to_owned();
        assert_eq!(to(&mail[0]), "sam@example.com");
        assert_eq!(mail[0]["from"], "bookings@salon.example");
        assert!(subject(&mail[0]).starts_with("Booked: Haircut"));
        assert!(text(&mail[0]).contains(b["reference"].as_str().unwrap()));
        assert_eq!(to(&mail[1]), "sam@example.com");
        assert!(subject(&mail[1]).starts_with("Reminder: Haircut"), "{}", subject(&mail[1]));
        let survey = mail.iter().find(|m| subject(m).starts_with("How was your")).expect("the survey mail");
        assert_eq!(to(survey), "jo@example.com");
        assert!(text(survey).contains(&format!("https://book.salon.example/feedback#token={token}")), "{}", text(survey));
    }
}
