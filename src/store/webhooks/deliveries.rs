//! Webhook deliveries: one per event and subscription, queued in the
//! transaction that writes the event, and the test, replay and retry that
//! queue more.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::{find, Subscription};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::ids::new_id;
use crate::schema::{
    events as events_table, partner_clients, webhook_attempts, webhook_deliveries,
    webhook_subscriptions,
};
use crate::store::events::{self, Event};
use crate::store::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
#[diesel(treat_none_as_default_value = false)]
pub struct Delivery {
    pub id: String,
    pub business_id: String,
    pub subscription_id: String,
    /// Also the `webhook-id` header: stable across retries and replays, so
    /// receivers can drop what they have already seen.
    pub event_id: String,
    pub event_type: String,
    /// The exact body sent (and signed).
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
#[diesel(treat_none_as_default_value = false)]
pub struct Attempt {
    pub id: String,
    pub delivery_id: String,
    pub business_id: String,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub response_snippet: Option<String>,
}

/// The Standard Webhooks body of an event: `{type, timestamp, data}`.
pub fn body_of(event_type: &str, at: NaiveDateTime, payload: &Value) -> String {
    let mut data = payload.clone();
    // Never sent to an endpoint outside slotwise.
    events::without_customer_capabilities(&mut data);
    json!({
        "type": event_type,
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

fn new_delivery(
    sub: &Subscription,
    event_id: &str,
    event_type: &str,
    body: String,
    at: NaiveDateTime,
) -> Delivery {
    Delivery {
        id: new_id("dlv"),
        business_id: sub.business_id.clone(),
        subscription_id: sub.id.clone(),
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        body,
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: Some(at),
        claimed_until: None,
        last_status: None,
        last_error: None,
        created_at: at,
        updated_at: at,
        delivered_at: None,
    }
}

/// Queues the event for every subscription that wants it; runs inside the
/// transaction that writes the event, so a change and its deliveries commit
/// (or vanish) together.
pub fn enqueue(conn: &mut DbConnection, event: &Event, payload: &Value) -> QueryResult<usize> {
    let subscriptions: Vec<Subscription> = webhook_subscriptions::table
        .filter(webhook_subscriptions::business_id.eq(&event.business_id))
        .filter(webhook_subscriptions::enabled.eq(true))
        .select(Subscription::as_select())
        .load(conn)?;
    let location = payload.get("location_id").and_then(Value::as_str);
    let mut queued = 0;
    for sub in subscriptions
        .iter()
        .filter(|s| s.receives(&event.event_type, location))
    {
        if !partner_may_receive(conn, sub, event)? {
            continue;
        }
        let body = body_of(&event.event_type, event.created_at, payload);
        diesel::insert_into(webhook_deliveries::table)
            .values(new_delivery(
                sub,
                &event.id,
                &event.event_type,
                body,
                event.created_at,
            ))
            .execute(conn)?;
        queued += 1;
    }
    Ok(queued)
}

/// A partner's subscription carries what that client may see now: its own
/// bookings' events and the catalog's, or everything with
/// `bookings:read:all`; nothing once the client is disabled. The business's
/// own subscriptions carry everything.
fn partner_may_receive(
    conn: &mut DbConnection,
    sub: &Subscription,
    event: &Event,
) -> QueryResult<bool> {
    let Some(client) = &sub.client_id else {
        return Ok(true);
    };
    if event.client_id.as_deref() == Some(client.as_str())
        || events::CATALOG_EVENTS.contains(&event.event_type.as_str())
    {
        return Ok(true);
    }
    let grant: Option<(String, bool)> = partner_clients::table
        .filter(partner_clients::id.eq(client))
        .select((partner_clients::scopes, partner_clients::disabled))
        .first(conn)
        .optional()?;
    Ok(grant.is_some_and(|(scopes, disabled)| {
        !disabled && scopes.split_whitespace().any(|s| s == "bookings:read:all")
    }))
}

/// Queues a `webhook.test` delivery for this subscription only.
pub fn queue_test(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    at: NaiveDateTime,
) -> Result<Delivery, AppError> {
    let sub = find(conn, business, id)?;
    let event_id = new_id("evt");
    let body = body_of(
        "webhook.test",
        at,
        &json!({"webhook_id": sub.id, "message": "A test delivery from slotwise."}),
    );
    let delivery = new_delivery(&sub, &event_id, "webhook.test", body, at);
    diesel::insert_into(webhook_deliveries::table)
        .values(&delivery)
        .execute(conn)?;
    Ok(delivery)
}

/// Queues again every event of the subscription's kinds written in
/// `[from, to)`, whether or not it was delivered before; the event ids stay,
/// so a receiver that deduplicates sees each once. Returns how many.
pub fn replay(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let sub = find(conn, business, id)?;
        let found: Vec<Event> = events_table::table
            .filter(events_table::business_id.eq(business))
            .filter(events_table::created_at.ge(from))
            .filter(events_table::created_at.lt(to))
            .order(events_table::id.asc())
            .limit(REPLAY_LIMIT + 1)
            .select(Event::as_select())
            .load(conn)?;
        if found.len() as i64 > REPLAY_LIMIT {
            return Err(AppError::invalid_field(
                "from",
                format!("the range holds more than {REPLAY_LIMIT} events; replay a shorter one"),
            ));
        }
        let mut queued = 0;
        for event in found {
            let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
            let location = payload.get("location_id").and_then(Value::as_str);
            // A replay goes out even while the subscription is off: it is
            // queued now and waits for it to be turned on.
            if !sub.receives(&event.event_type, location)
                || !partner_may_receive(conn, &sub, &event)?
            {
                continue;
            }
            let body = body_of(&event.event_type, event.created_at, &payload);
            diesel::insert_into(webhook_deliveries::table)
                .values(new_delivery(&sub, &event.id, &event.event_type, body, at))
                .execute(conn)?;
            queued += 1;
        }
        Ok(queued)
    })
}

/// The most events one replay may queue.
pub const REPLAY_LIMIT: i64 = 10_000;

/// Queues one delivery again, as a new delivery of the same event.
pub fn retry_delivery(
    conn: &mut DbConnection,
    business: &str,
    delivery_id: &str,
    at: NaiveDateTime,
) -> Result<Delivery, AppError> {
    let original = find_delivery(conn, business, delivery_id)?;
    let sub = find(conn, business, &original.subscription_id)?;
    let delivery = new_delivery(
        &sub,
        &original.event_id,
        &original.event_type,
        original.body,
        at,
    );
    diesel::insert_into(webhook_deliveries::table)
        .values(&delivery)
        .execute(conn)?;
    Ok(delivery)
}

pub fn find_delivery(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
) -> Result<Delivery, AppError> {
    webhook_deliveries::table
        .filter(webhook_deliveries::business_id.eq(business))
        .filter(webhook_deliveries::id.eq(id))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("delivery"))
}

/// A subscription's deliveries, oldest first, each with its attempts.
pub fn deliveries(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    page: &PageRequest,
) -> Result<Vec<(Delivery, Vec<Attempt>)>, AppError> {
    find(conn, business, id)?;
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(id))
        .select(Delivery::as_select())
        .order(webhook_deliveries::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(webhook_deliveries::id.gt(after.clone()));
    }
    let found: Vec<Delivery> = query.load(conn)?;
    let ids: Vec<&str> = found.iter().map(|d| d.id.as_str()).collect();
    let attempts: Vec<Attempt> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order(webhook_attempts::id.asc())
        .select(Attempt::as_select())
        .load(conn)?;
    Ok(found
        .into_iter()
        .map(|d| {
            let mine = attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .cloned()
                .collect();
            (d, mine)
        })
        .collect())
}
