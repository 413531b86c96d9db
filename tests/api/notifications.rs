//! Customer notifications on both databases, the worker driven step by step
//! with its own clock: confirmations, reminders that move with a reschedule,
//! a cancel just before the send, a cancel racing the send, the follow-up
//! survey, senders missing, and the HTTP text adapter against a receiver.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use slotwise::api::auth::Role;
use slotwise::domain::notifications::{Channel, Message, Sender};
use slotwise::workers::notifications::{run_once, Pass};
use slotwise::workers::senders::Senders;

use crate::harness::{race, TestApp};
use crate::memory::{complete, created, data, feedback_token, hours_ago, id, past_booking, step};
use crate::on_both_databases;
use crate::receiver::{Answer, Receiver};
use crate::shop::{book, booking, london, open, rfc3339};

/// What a sender was asked to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub channel: Channel,
    pub to: String,
    pub message: Message,
    /// The booking's status read on another connection at the moment of
    /// sending (only where the test asks for it).
    pub status_seen: Option<String>,
}

/// Called as a message is sent, with its recipient: what the test saw then.
type Look<'a> = Box<dyn Fn(&str, &Message) -> Option<String> + Sync + 'a>;

/// A sender that keeps what it is given.
pub struct Outbox<'a> {
    email: bool,
    text: bool,
    pub sent: Mutex<Vec<Outgoing>>,
    /// Reads the booking of a recipient as others see it.
    look: Option<Look<'a>>,
}

impl<'a> Outbox<'a> {
    pub fn email() -> Self {
        Self::new(true, false)
    }

    fn new(email: bool, text: bool) -> Self {
        Self {
            email,
            text,
            sent: Mutex::new(Vec::new()),
            look: None,
        }
    }

    pub fn sent(&self) -> Vec<Outgoing> {
        self.sent.lock().unwrap().clone()
    }
}

impl Sender for Outbox<'_> {
    fn sends_email(&self) -> bool {
        self.email
    }

    fn sends_text(&self) -> bool {
        self.text
    }

    fn feedback_link(&self, token: &str) -> String {
        format!("https://slotwise.test/feedback#token={token}")
    }

    fn send(&self, channel: Channel, to: &str, message: &Message) -> Result<(), String> {
        let status_seen = self.look.as_ref().and_then(|look| look(to, message));
        self.sent.lock().unwrap().push(Outgoing {
            channel,
            to: to.to_owned(),
            message: message.clone(),
            status_seen,
        });
        Ok(())
    }
}

/// One pass of the notification worker at `at`.
pub fn notify(app: &TestApp, at: DateTime<Utc>, sender: &dyn Sender) -> Pass {
    run_once(&mut app.pool.get().unwrap(), at, sender).unwrap()
}

pub fn notifications(app: &TestApp, customer: &str) -> Vec<Value> {
    data(&app.get(
        &format!("/v1/customers/{customer}/notifications?limit=200"),
        &app.token(Role::Agent),
    ))
}

/// The rows of `kind` (and rule), in the order they were planned.
fn of<'a>(rows: &'a [Value], kind: &str, before: Option<i64>) -> Vec<&'a Value> {
    rows.iter()
        .filter(|n| n["kind"] == kind && n["before_minutes"].as_i64() == before)
        .collect()
}

pub fn remind(app: &TestApp, service: &str, minutes: &[i64]) {
    let rules: Vec<Value> = minutes
        .iter()
        .map(|m| json!({"before_minutes": m}))
        .collect();
    let reply = app.patch(
        &format!("/v1/services/{service}"),
        &app.token(Role::Admin),
        &json!({ "reminders": rules }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
}

fn at(text: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

on_both_databases! {
    fn an_event_planned_again_plans_no_message_twice(app: &TestApp) {
        use diesel::prelude::*;
        use slotwise::schema::events;
        use slotwise::store::events::Event;
        let shop = open(app);
        remind(app, &shop.haircut, &[1440]);
        let b = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, london(3, 10, 0), "twice@example.com"));
        let customer = b["customer_id"].as_str().unwrap().to_owned();
        assert_eq!(notifications(app, &customer).len(), 2);
        let mut conn = app.pool.get().unwrap();
        let created: Event = events::table
            .filter(events::event_type.eq("booking.created"))
            .filter(events::subject_id.eq(b["id"].as_str().unwrap()))
            .select(Event::as_select())
            .first(&mut conn)
            .unwrap();
        let payload: Value = serde_json::from_str(&created.payload).unwrap();
        // A replay, inside a transaction as the outbox runs it: the dedupe
        // key answers, on both databases, without an error.
        slotwise::db::write_transaction(&mut conn, |conn| {
            slotwise::store::notifications::plan(conn, &created, &payload)
        })
        .unwrap();
        let rows = notifications(app, &customer);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(of(&rows, "confirmation", None).len(), 1);
        assert_eq!(of(&rows, "reminder", Some(1440)).len(), 1);
    }

    fn a_booking_is_confirmed_and_reminded_and_a_reschedule_moves_the_reminders(app: &TestApp) {
        let shop = open(app);
        remind(app, &shop.haircut, &[1440, 120]);
        let start = london(3, 10, 0);
        let b = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, start, "sam@example.com"));
        let customer = b["customer_id"].as_str().unwrap().to_owned();
        let rows = notifications(app, &customer);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(of(&rows, "confirmation", None)[0]["state"], "scheduled");
        let day_before = of(&rows, "reminder", Some(1440))[0];
        assert_eq!(at(&day_before["due_at"]), start - minutes(1440));
        assert_eq!(at(&of(&rows, "reminder", Some(120))[0]["due_at"]), start - minutes(120));
        assert_eq!(day_before["booking_version"], 1);

        let outbox = Outbox::email();
        assert_eq!(notify(app, Utc::now(), &outbox).sent, 1);
        let confirmation = &outbox.sent()[0];
        assert_eq!((confirmation.channel, confirmation.to.as_str()), (Channel::Email, "sam@example.com"));
        assert!(confirmation.message.body.contains(b["reference"].as_str().unwrap()));
        assert!(confirmation.message.body.contains("Haircut"));

        // Moved a day later: the old reminders are off, new ones follow the new time.
        let moved_to = london(4, 11, 0);
        let reply = app.post(&format!("/v1/bookings/{}/reschedule", id(&b)), &app.token(Role::Agent),
            &json!({"start": rfc3339(moved_to)}));
        assert_eq!(reply.status, 200, "{}", reply.text);
        let rows = notifications(app, &customer);
        let old: Vec<&Value> = rows.iter().filter(|n| n["kind"] == "reminder" && n["booking_version"] == 1).collect();
        assert_eq!(old.len(), 2);
        assert!(old.iter().all(|n| n["state"] == "skipped" && n["reason"] == "moved"));
        let new: Vec<&Value> = rows.iter().filter(|n| n["kind"] == "reminder" && n["booking_version"] == 2).collect();
        let mut dues: Vec<DateTime<Utc>> = new.iter().map(|n| at(&n["due_at"])).collect();
        dues.sort();
        assert_eq!(dues, vec![moved_to - minutes(1440), moved_to - minutes(120)]);
        assert_eq!(notify(app, Utc::now(), &outbox).sent, 1, "the change notice");

        // At the old times nothing goes out; at the new ones each reminder once.
        assert_eq!(notify(app, start - minutes(1439), &outbox).total(), 0);
        assert_eq!(notify(app, moved_to - minutes(1439), &outbox).sent, 1);
        assert_eq!(notify(app, moved_to - minutes(119), &outbox).sent, 1);
        assert_eq!(notify(app, moved_to - minutes(60), &outbox).total(), 0);
        let sent = outbox.sent();
        assert_eq!(sent.len(), 4);
        let local_time = "11:00";
        assert!(sent[2].message.body.contains(local_time) && sent[3].message.body.contains(local_time),
            "reminders give the new time: {}", sent[2].message.body);
        let states: BTreeMap<String, usize> = notifications(app, &customer).iter().fold(BTreeMap::new(), |mut m, n| {
            *m.entry(format!("{}:{}", n["kind"].as_str().unwrap(), n["state"].as_str().unwrap())).or_default() += 1;
            m
        });
        assert_eq!(states, BTreeMap::from([
            ("change:sent".to_owned(), 1), ("confirmation:sent".to_owned(), 1),
            ("reminder:sent".to_owned(), 2), ("reminder:skipped".to_owned(), 2),
        ]));
    }

    fn a_cancel_a_second_before_the_send_stops_the_reminder(app: &TestApp) {
        let shop = open(app);
        remind(app, &shop.haircut, &[1440]);
        let start = london(3, 10, 0);
        let b = book(app, Some(&app.token(Role::Agent)), &booking(&shop.haircut, start, "kim@example.com"));
        let due = start - minutes(1440);
        let outbox = Outbox::email();
        assert_eq!(notify(app, due - Duration::seconds(1), &outbox).sent, 1, "only the confirmation");
        step(app, &id(&b), "cancel");
        let pass = notify(app, due, &outbox);
        assert_eq!(pass.sent, 1, "the cancellation, not the reminder: {pass:?}");
        let sent = outbox.sent();
        assert_eq!(sent.len(), 2);
        assert!(sent[1].message.subject.to_lowercase().contains("cancel"), "{:?}", sent[1].message);
        let rows = notifications(app, b["customer_id"].as_str().unwrap());
        let reminder = of(&rows, "reminder", Some(1440))[0];
        assert_eq!((reminder["state"].clone(), reminder["reason"].clone()), (json!("skipped"), json!("cancelled")));
        assert_eq!(reminder["sent_at"], Value::Null);
        assert_eq!(notify(app, due + Duration::hours(2), &outbox).total(), 0);
    }

    fn a_cancel_racing_the_send_never_lets_a_reminder_out_after_it(app: &TestApp) {
        let shop = open(app);
        remind(app, &shop.haircut, &[1440]);
        let agent = app.token(Role::Agent);
        let mut bookings = Vec::new();
        for (i, hour) in (8..20).enumerate() {
            for (j, stylist) in [&shop.ana, &shop.ben].into_iter().enumerate() {
                let email = format!("guest{i}-{j}@example.com");
                let mut body = booking(&shop.haircut, london(3, hour, 0), &email);
                body["resource_ids"] = json!([stylist]);
                bookings.push((id(&book(app, Some(&agent), &body)), email));
            }
        }
        let mut outbox = Outbox::email();
        assert_eq!(notify(app, Utc::now(), &outbox).sent, bookings.len(), "confirmations first");
        outbox.sent.lock().unwrap().clear();
        // Every other booking is cancelled before its reminder is due…
        let (early, late): (Vec<_>, Vec<_>) = bookings.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        for (_, (booking_id, _)) in &early {
            step(app, booking_id, "cancel");
        }
        // …and the others at the worst moment: after the worker decided the
        // reminder is still true, while it is sending. The sender tells the
        // canceller, waits as SMTP would, and reads the booking as everyone
        // else sees it; a cancel that got in between would show.
        let by_email: BTreeMap<String, String> = bookings.iter().map(|(b, e)| (e.clone(), b.clone())).collect();
        let (sending, started) = std::sync::mpsc::channel::<String>();
        let look_pool = app.pool.clone();
        outbox.look = Some(Box::new(move |to: &str, message: &Message| {
            use diesel::prelude::*;
            use slotwise::schema::bookings;
            if !message.subject.starts_with("Reminder") {
                return None;
            }
            sending.send(by_email[to].clone()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(40));
            let status = bookings::table
                .filter(bookings::id.eq(&by_email[to]))
                .select(bookings::status)
                .first::<String>(&mut look_pool.get().unwrap())
                .unwrap();
            Some(status)
        }));
        let last_due = london(3, 19, 0) - minutes(1440) + minutes(1);
        let started = Mutex::new(started);
        race(2, |side| {
            if side == 0 {
                let started = started.lock().unwrap();
                while let Ok(booking_id) = started.recv_timeout(std::time::Duration::from_secs(10)) {
                    step(app, &booking_id, "cancel");
                }
            } else {
                while notify(app, last_due, &outbox).total() > 0 {}
            }
        });
        // The sender's end of the channel goes, so nothing waits on it.
        drop(outbox.look.take());
        let reminders: Vec<Outgoing> = outbox.sent().into_iter()
            .filter(|o| o.message.subject.starts_with("Reminder")).collect();
        assert_eq!(reminders.len(), late.len(), "exactly the reminders of bookings still confirmed");
        for r in &reminders {
            assert_eq!(r.status_seen.as_deref(), Some("confirmed"), "a cancel got in before the send: {r:?}");
        }
        for (i, (booking_id, email)) in bookings.iter().enumerate() {
            let reply = app.get(&format!("/v1/bookings/{booking_id}"), &agent);
            assert_eq!(reply.json()["status"], "cancelled");
            let customer = reply.json()["customer_id"].as_str().unwrap().to_owned();
            let rows = notifications(app, &customer);
            let reminder = of(&rows, "reminder", Some(1440))[0];
            if i % 2 == 0 {
                assert_eq!((reminder["state"].clone(), reminder["reason"].clone()), (json!("skipped"), json!("cancelled")), "{email}");
            } else {
                assert_eq!(reminder["state"], "sent", "{email}");
            }
            assert_eq!(of(&rows, "cancellation", None).len(), 1);
        }
        // Every cancellation goes out, once.
        notify(app, Utc::now() + minutes(1), &outbox);
        let cancellations = outbox.sent().iter().filter(|o| o.message.subject.starts_with("Cancelled")).count();
        assert_eq!(cancellations, bookings.len());
    }

    fn a_completed_visit_sends_the_survey_link(app: &TestApp) {
        let shop = open(app);
        let visit = past_booking(app, &shop.haircut, hours_ago(3), json!({"name": "Jo", "email": "jo@example.com"}));
        complete(app, &id(&visit));
        let token = feedback_token(app, &id(&visit));
        let outbox = Outbox::email();
        notify(app, Utc::now(), &outbox);
        let survey = outbox.sent().into_iter()
            .find(|o| o.message.body.contains("/feedback#token="))
            .expect("a follow-up with the survey link");
        assert!(survey.message.body.contains(&format!("https://slotwise.test/feedback#token={token}")));
        let rows = notifications(app, visit["customer_id"].as_str().unwrap());
        let follow_up = of(&rows, "follow_up", None)[0];
        assert_eq!(follow_up["state"], "sent");
        // Staff see that it went, never the customer's token.
        let listed = app.get(&format!("/v1/customers/{}/notifications", visit["customer_id"].as_str().unwrap()), &app.token(Role::Agent));
        assert!(!listed.text.contains(&token));
    }

    fn without_a_sender_or_an_address_nothing_is_lost_silently(app: &TestApp) {
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let b = book(app, Some(&agent), &booking(&shop.haircut, london(3, 10, 0), "lee@example.com"));
        let nobody = Outbox::new(false, false);
        assert_eq!(notify(app, Utc::now(), &nobody).skipped, 1);
        let rows = notifications(app, b["customer_id"].as_str().unwrap());
        assert_eq!((rows[0]["state"].clone(), rows[0]["reason"].clone()), (json!("skipped"), json!("no_sender")));
        // Email is configured but the customer left only a phone number.
        let phone_only = book(app, Some(&agent), &json!({
            "service_id": shop.haircut, "start": rfc3339(london(3, 11, 0)),
            "customer": {"name": "Pat", "phone": "+44 7700 900123"}
        }));
        assert_eq!(notify(app, Utc::now(), &Outbox::email()).skipped, 1);
        let rows = notifications(app, phone_only["customer_id"].as_str().unwrap());
        assert_eq!(rows[0]["reason"], "no_address");

        // Who may read them.
        let path = format!("/v1/customers/{}/notifications", b["customer_id"].as_str().unwrap());
        app.request("GET", &path, None, &[], None).problem(401, "unauthenticated");
        app.get(&path, &app.token_with(Role::Partner, "partner-app", "customers:read", 30)).problem(403, "forbidden");
        app.get(&path, &app.token_for(&app.other_business(), Role::Agent)).problem(404, "not_found");
        app.get("/v1/customers/cus_nope/notifications", &agent).problem(404, "not_found");
        app.get(&format!("{path}?limit=0"), &agent).problem(400, "validation_failed");
    }

    fn texts_go_through_the_http_adapter_and_failures_are_retried_then_failed(app: &TestApp) {
        let adapter = Receiver::start();
        let senders = Senders::from_settings(&slotwise::config::NotifySettings {
            text_url: Some(adapter.url.clone()),
            text_token: Some("adapter-token".into()),
            ..Default::default()
        }).unwrap();
        let shop = open(app);
        let agent = app.token(Role::Agent);
        let customer = created(app.post("/v1/customers", &agent, &json!({
            "name": "Ria", "phone": "+44 7700 900456", "email": "ria@example.com", "preferred_channel": "whatsapp"
        })));
        let b = book(app, Some(&agent), &json!({
            "service_id": shop.haircut, "start": rfc3339(london(3, 10, 0)), "customer_id": id(&customer)
        }));
        assert_eq!(notify(app, Utc::now(), &senders).sent, 1);
        let got = adapter.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].header("authorization"), "Bearer adapter-token");
        let sent = got[0].json();
        assert_eq!(sent["channel"], "whatsapp");
        assert_eq!(sent["to"], customer["phone"]);
        assert!(sent["body"].as_str().unwrap().contains(b["reference"].as_str().unwrap()));

        // The adapter fails: tried three times in all, a minute then four apart, then failed.
        adapter.answer_always(Answer::status(500));
        step(app, &id(&b), "cancel");
        let t0 = Utc::now();
        assert_eq!(notify(app, t0, &senders).retried, 1);
        assert_eq!(notify(app, t0 + Duration::seconds(30), &senders).total(), 0);
        assert_eq!(notify(app, t0 + minutes(2), &senders).retried, 1);
        assert_eq!(notify(app, t0 + minutes(7), &senders).failed, 1);
        assert_eq!(notify(app, t0 + minutes(60), &senders).total(), 0);
        let rows = notifications(app, &id(&customer));
        let cancellation = of(&rows, "cancellation", None)[0];
        assert_eq!(cancellation["state"], "failed");
        assert_eq!(cancellation["attempts"], 3);
        assert!(cancellation["reason"].as_str().unwrap().contains("500"));
        assert_eq!(adapter.received().len(), 4);
    }
}
