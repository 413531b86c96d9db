//! Customer notifications as rows with a state: planned from events in the
//! transaction that writes them, sent by a worker that looks at the booking
//! again, under its lock, at the moment of sending.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::bookings::Booking;
use super::customers::Customer;
use super::events::Event;
use super::PageRequest;
use crate::db::{self, write_transaction, DbConnection};
use crate::domain::catalog::parse_time_zone;
use crate::domain::customer::ContactPreference;
use crate::domain::notifications::{
    choose_channel, parse_reminders, reminder_due, render, still_true, BookingNow, Channel, Facts,
    Kind, Message, Reach, Sender,
};
use crate::error::AppError;
use crate::ids::new_id;
use crate::schema::{notifications, services};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
#[diesel(treat_none_as_default_value = false)]
pub struct Notification {
    pub id: String,
    pub business_id: String,
    pub customer_id: String,
    pub booking_id: Option<String>,
    pub kind: String,
    /// For a reminder: the rule's minutes before the start.
    pub rule_minutes: Option<i32>,
    /// The booking's version this was planned for.
    pub booking_version: Option<i32>,
    /// booking, kind, rule and version: one row per promise, however often planned.
    pub dedupe_key: String,
    /// JSON of what the message needs beyond the booking (a survey token).
    pub detail: Option<String>,
    /// `scheduled`, `sent`, `skipped` or `failed`.
    pub state: String,
    pub reason: Option<String>,
    pub channel: Option<String>,
    pub recipient: Option<String>,
    pub due_at: NaiveDateTime,
    pub attempts: i32,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A send that failed is tried again this many times in all, then `failed`.
pub const MAX_ATTEMPTS: i32 = 3;

struct Planned<'a> {
    kind: Kind,
    rule_minutes: Option<i32>,
    due_at: NaiveDateTime,
    detail: Option<String>,
    skipped: Option<&'a str>,
}

fn text(payload: &Value, field: &str) -> Option<String> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Planned<'static> {
    /// A message due at once.
    fn now(kind: Kind, at: NaiveDateTime) -> Self {
        Planned {
            kind,
            rule_minutes: None,
            due_at: at,
            detail: None,
            skipped: None,
        }
    }
}

/// Plans the notifications an event calls for; runs in the event's
/// transaction. A booking made or moved gets its confirmation (or change
/// notice) at once and its reminders by the service's rules; a cancellation
/// skips what was still scheduled for the booking; a completed visit's
/// survey request becomes the follow-up.
pub fn plan(conn: &mut DbConnection, event: &Event, payload: &Value) -> QueryResult<()> {
    let (Some(booking_id), Some(customer_id)) =
        (text(payload, "booking_id"), text(payload, "customer_id"))
    else {
        return Ok(());
    };
    let at = event.created_at;
    let version = payload
        .get("version")
        .and_then(Value::as_i64)
        .map(|v| v as i32);
    let mut planned = Vec::new();
    match event.event_type.as_str() {
        "booking.created" => {
            planned.push(Planned::now(Kind::Confirmation, at));
            planned.extend(reminders(conn, payload, at)?);
        }
        "booking.rescheduled" => {
            let moved = [Kind::Reminder, Kind::Change];
            skip_scheduled(conn, &booking_id, &moved, "moved", at)?;
            planned.push(Planned::now(Kind::Change, at));
            planned.extend(reminders(conn, payload, at)?);
        }
        "booking.cancelled" => {
            let gone = [Kind::Reminder, Kind::Confirmation, Kind::Change];
            skip_scheduled(conn, &booking_id, &gone, "cancelled", at)?;
            planned.push(Planned::now(Kind::Cancellation, at));
        }
        "feedback.requested" => {
            let detail = text(payload, "token")
                .map(|t| serde_json::json!({"feedback_token": t}).to_string());
            planned.push(Planned {
                detail,
                ..Planned::now(Kind::FollowUp, at)
            });
        }
        _ => {}
    }
    let booking = PlannedFor {
        event,
        booking_id: &booking_id,
        customer_id: &customer_id,
        version,
    };
    for p in planned {
        save_planned(conn, &booking, p)?;
    }
    Ok(())
}

/// The reminders of a booking starting at the payload's `start`, by its
/// service's rules.
fn reminders(
    conn: &mut DbConnection,
    payload: &Value,
    at: NaiveDateTime,
) -> QueryResult<Vec<Planned<'static>>> {
    let start = payload
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|s| s.with_timezone(&Utc));
    let rules: Option<String> = match text(payload, "service_id") {
        Some(service) => services::table
            .filter(services::id.eq(service))
            .select(services::reminders)
            .first(conn)
            .optional()?,
        None => None,
    };
    let (Some(start), Some(rules)) = (start, rules) else {
        return Ok(Vec::new());
    };
    Ok(parse_reminders(&rules)
        .into_iter()
        .map(|minutes| {
            let due = reminder_due(start, minutes).naive_utc();
            Planned {
                kind: Kind::Reminder,
                rule_minutes: Some(minutes as i32),
                due_at: due.max(at),
                detail: None,
                // Booked too close to the start for this rule: the
                // confirmation says it all; recorded, not dropped.
                skipped: (due <= at).then_some("too_late"),
            }
        })
        .collect())
}

/// Whose messages are being planned, and which version of their booking.
struct PlannedFor<'a> {
    event: &'a Event,
    booking_id: &'a str,
    customer_id: &'a str,
    version: Option<i32>,
}

/// Writes one planned message, once: a second plan of the same message for
/// the same booking version (an event replayed) finds its key taken.
fn save_planned(conn: &mut DbConnection, to: &PlannedFor, p: Planned) -> QueryResult<()> {
    let dedupe_key = format!(
        "{}:{}:{}:{}",
        to.booking_id,
        p.kind.as_str(),
        p.rule_minutes.unwrap_or(0),
        to.version.unwrap_or(0)
    );
    let at = to.event.created_at;
    let row = Notification {
        id: new_id("ntf"),
        business_id: to.event.business_id.clone(),
        customer_id: to.customer_id.to_owned(),
        booking_id: Some(to.booking_id.to_owned()),
        kind: p.kind.as_str().into(),
        rule_minutes: p.rule_minutes,
        booking_version: to.version,
        dedupe_key,
        detail: p.detail,
        state: if p.skipped.is_some() {
            "skipped"
        } else {
            "scheduled"
        }
        .into(),
        reason: p.skipped.map(str::to_owned),
        channel: None,
        recipient: None,
        due_at: p.due_at,
        attempts: 0,
        claimed_until: None,
        sent_at: None,
        created_at: at,
        updated_at: at,
    };
    insert_once(conn, &row)?;
    Ok(())
}

/// Inserts the message unless one with its dedupe key exists; true when a
/// row was written. One statement: the unique key, not a count before the
/// insert, decides. (Upserts are written per backend: diesel's multi-backend
/// connection does not build them.)
fn insert_once(conn: &mut DbConnection, row: &Notification) -> QueryResult<bool> {
    let insert = diesel::insert_into(notifications::table)
        .values(row)
        .on_conflict(notifications::dedupe_key)
        .do_nothing();
    let written = match conn {
        DbConnection::Postgresql(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(lite) => insert.execute(lite)?,
    };
    Ok(written == 1)
}

/// Plans one broadcast notice for a booking's customer (once per booking and
/// broadcast, however often asked); true when a row was written.
pub fn plan_notice(
    conn: &mut DbConnection,
    business: &str,
    booking_id: &str,
    customer_id: &str,
    broadcast_id: &str,
    notice: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let dedupe_key = format!("{booking_id}:{}:{broadcast_id}", Kind::Notice.as_str());
    let row = Notification {
        id: new_id("ntf"),
        business_id: business.to_owned(),
        customer_id: customer_id.to_owned(),
        booking_id: Some(booking_id.to_owned()),
        kind: Kind::Notice.as_str().into(),
        rule_minutes: None,
        booking_version: None,
        dedupe_key,
        detail: Some(
            serde_json::json!({"notice": notice, "broadcast_id": broadcast_id}).to_string(),
        ),
        state: "scheduled".into(),
        reason: None,
        channel: None,
        recipient: None,
        due_at: at,
        attempts: 0,
        claimed_until: None,
        sent_at: None,
        created_at: at,
        updated_at: at,
    };
    insert_once(conn, &row)
}

/// Marks what is still scheduled for a booking as skipped, so the list tells
/// the truth at once (the send-time check would skip them anyway).
fn skip_scheduled(
    conn: &mut DbConnection,
    booking_id: &str,
    kinds: &[Kind],
    reason: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    diesel::update(
        notifications::table
            .filter(notifications::booking_id.eq(booking_id))
            .filter(notifications::state.eq("scheduled"))
            .filter(notifications::kind.eq_any(kinds)),
    )
    .set((
        notifications::state.eq("skipped"),
        notifications::reason.eq(reason),
        notifications::updated_at.eq(at),
    ))
    .execute(conn)
}

/// A customer's notifications, oldest first.
pub fn list_for_customer(
    conn: &mut DbConnection,
    business: &str,
    customer: &str,
    page: &PageRequest,
) -> Result<Vec<Notification>, AppError> {
    super::customers::find(conn, business, customer)?;
    let mut query = notifications::table
        .filter(notifications::business_id.eq(business))
        .filter(notifications::customer_id.eq(customer))
        .select(Notification::as_select())
        .order(notifications::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(notifications::id.gt(after.clone()));
    }
    Ok(query.load(conn)?)
}

/// Moves a merged-away customer's notifications to the survivor.
pub fn move_customer(conn: &mut DbConnection, from: &str, to: &str) -> QueryResult<usize> {
    diesel::update(notifications::table.filter(notifications::customer_id.eq(from)))
        .set(notifications::customer_id.eq(to))
        .execute(conn)
}

/// How long a claim lasts: longer than a send's timeout.
pub const CLAIM_FOR: Duration = Duration::seconds(60);

/// Claims due notifications; ids, oldest due first.
pub fn claim_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, AppError> {
    let at = now.naive_utc();
    Ok(write_transaction(conn, |conn| {
        db::claim_due(
            conn,
            "notifications",
            "due_at",
            "state = 'scheduled'",
            at,
            at + CLAIM_FOR,
            limit,
        )
    })?)
}

/// What became of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Sent,
    Skipped(String),
    Retried,
    Failed,
    /// No longer scheduled when we came to it (cancelled meanwhile).
    Gone,
}

fn set_state(
    conn: &mut DbConnection,
    id: &str,
    state: &str,
    reason: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(notifications::table.filter(notifications::id.eq(id)))
        .set((
            notifications::state.eq(state),
            notifications::reason.eq(reason),
            notifications::claimed_until.eq(None::<NaiveDateTime>),
            notifications::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Sends one claimed notification if it is still true. The booking's row
/// stays locked from the last look until the state is written, so a cancel
/// or move that commits first is seen, and one that comes later waits for
/// the message that was true when it went. The send happens inside that
/// transaction: if the commit then fails the row stays scheduled and is sent
/// again (at least once, never for a booking that changed first).
pub fn send_one(
    conn: &mut DbConnection,
    id: &str,
    now: DateTime<Utc>,
    sender: &dyn Sender,
) -> Result<Sent, AppError> {
    let at = now.naive_utc();
    write_transaction(conn, |conn| {
        let Some(n) = still_scheduled(conn, id)? else {
            return Ok(Sent::Gone);
        };
        let Some(kind) = Kind::parse(&n.kind) else {
            tracing::error!(notification = %n.id, kind = %n.kind, "unknown stored notification kind");
            set_state(conn, id, "failed", Some("unknown_kind"), at)?;
            return Ok(Sent::Failed);
        };
        let Some(booking_id) = &n.booking_id else {
            set_state(conn, id, "skipped", Some("no_booking"), at)?;
            return Ok(Sent::Skipped("no_booking".into()));
        };
        let booking =
            super::bookings::find(conn, &n.business_id, &booking_id.as_str().into(), None)?;
        let booking_now = BookingNow {
            status: booking.status.as_str(),
            version: booking.version,
            starts_at: booking.starts_at.and_utc(),
        };
        if let Err(reason) = still_true(kind, n.booking_version, &booking_now, now) {
            set_state(conn, id, "skipped", Some(reason), at)?;
            return Ok(Sent::Skipped(reason.into()));
        }
        let customer = super::customers::find(conn, &n.business_id, &booking.customer_id)?;
        let (channel, recipient) = match choose_channel(&reach_of(&customer, sender)) {
            Ok(choice) => choice,
            Err(reason) => {
                set_state(conn, id, "skipped", Some(reason), at)?;
                return Ok(Sent::Skipped(reason.into()));
            }
        };
        let message = message_for(conn, &n, kind, &booking, &customer, sender)?;
        let recipient = recipient.to_owned();
        let outcome = sender.send(channel, &recipient, &message);
        Ok(record_send(conn, &n, channel, &recipient, outcome, at)?)
    })
}

/// The notification, if it is still scheduled once its booking's row is
/// locked: a cancel that committed meanwhile skipped it.
fn still_scheduled(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Notification>> {
    let Some(n) = notifications::table
        .filter(notifications::id.eq(id))
        .select(Notification::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if let Some(booking_id) = &n.booking_id {
        db::lock_booking(conn, booking_id)?;
    }
    // Re-read after the lock: a cancel that committed meanwhile skipped it.
    let state: String = notifications::table
        .filter(notifications::id.eq(id))
        .select(notifications::state)
        .first(conn)?;
    Ok((state == "scheduled").then_some(n))
}

/// How the customer can be reached by what is configured to send.
fn reach_of<'a>(customer: &'a Customer, sender: &dyn Sender) -> Reach<'a> {
    Reach {
        email: customer.email.as_deref(),
        phone: customer.phone.as_deref(),
        preferred: customer
            .preferred_channel
            .as_deref()
            .and_then(ContactPreference::parse),
        email_sender: sender.sends_email(),
        text_sender: sender.sends_text(),
    }
}

/// The message as it reads now: the booking's business, service and
/// location by their current names, with the survey link or broadcast
/// notice the notification was planned with.
fn message_for(
    conn: &mut DbConnection,
    n: &Notification,
    kind: Kind,
    booking: &Booking,
    customer: &Customer,
    sender: &dyn Sender,
) -> Result<Message, AppError> {
    let service = super::services::find(conn, &n.business_id, &booking.service_id)?;
    let location = super::locations::find(conn, &n.business_id, &booking.location_id)?;
    let business = super::businesses::find(conn, &n.business_id)?
        .ok_or_else(|| AppError::not_found("business"))?;
    let token = n
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|d| {
            d.get("feedback_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let link = token.map(|t| sender.feedback_link(&t));
    let notice = n
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|d| d.get("notice").and_then(Value::as_str).map(str::to_owned));
    Ok(render(
        kind,
        &Facts {
            business: &business.name,
            customer: &customer.name,
            service: &service.row.name,
            location: &location.name,
            reference: &booking.reference,
            starts_at: booking.starts_at.and_utc(),
            zone: parse_time_zone(&location.timezone).unwrap_or(chrono_tz::UTC),
            feedback_link: link.as_deref(),
            notice: notice.as_deref(),
        },
    ))
}

/// Writes what came of a send: sent, failed for good after the last
/// attempt, or scheduled again after a back-off.
fn record_send(
    conn: &mut DbConnection,
    n: &Notification,
    channel: Channel,
    recipient: &str,
    outcome: Result<(), String>,
    at: NaiveDateTime,
) -> QueryResult<Sent> {
    let attempts = n.attempts + 1;
    let sent = match &outcome {
        Ok(()) => Sent::Sent,
        Err(_) if attempts >= MAX_ATTEMPTS => Sent::Failed,
        Err(_) => Sent::Retried,
    };
    let state = match sent {
        Sent::Sent => "sent",
        Sent::Failed => "failed",
        _ => "scheduled",
    };
    // Back off a minute, then four, before the last try.
    let due_at = match sent {
        Sent::Retried => at + Duration::minutes(4_i64.pow(attempts as u32 - 1)),
        _ => n.due_at,
    };
    diesel::update(notifications::table.filter(notifications::id.eq(&n.id)))
        .set((
            notifications::state.eq(state),
            notifications::reason.eq(outcome.as_ref().err()),
            notifications::channel.eq(Some(channel.as_str())),
            notifications::recipient.eq(Some(recipient)),
            notifications::attempts.eq(attempts),
            notifications::due_at.eq(due_at),
            notifications::claimed_until.eq(None::<NaiveDateTime>),
            notifications::sent_at.eq((sent == Sent::Sent).then_some(at)),
            notifications::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(sent)
}
