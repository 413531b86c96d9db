//! Webhook subscriptions, their deliveries (one per event and subscription,
//! queued in the transaction that writes the event) and every attempt.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::events::{self, Event};
use super::PageRequest;
use super::{check_version, expect_one_row};
use crate::db::{self, write_transaction, DbConnection};
use crate::domain::webhooks::{self as rules, parse_event_types, wants};
use crate::error::AppError;
use crate::ids::new_id;
use crate::schema::{
    events as events_table, partner_clients, webhook_attempts, webhook_deliveries,
    webhook_subscriptions,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct Subscription {
    pub id: String,
    pub business_id: String,
    pub url: String,
    /// Comma-separated names, or `*`.
    pub event_types: String,
    pub location_id: Option<String>,
    pub description: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The first failure since the last success: five days of it disables.
    pub failing_since: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The partner client that made it (and manages it); `None`: the business's own.
    pub client_id: Option<String>,
}

impl Subscription {
    /// The secrets that sign at `now`: the current one, and the previous one
    /// while a rotation's overlap lasts.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > now {
                secrets.push(previous);
            }
        }
        secrets
    }

    /// Whether the event's type and location are what it asked for (on or
    /// off: a replay queues for a subscription that is off).
    fn receives(&self, event_type: &str, location: Option<&str>) -> bool {
        wants(&parse_event_types(&self.event_types), event_type)
            && match &self.location_id {
                None => true,
                Some(only) => location == Some(only.as_str()),
            }
    }
}

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

/// Records a new subscription; a location it is limited to must be one of
/// the business's.
pub fn subscribe(conn: &mut DbConnection, sub: &Subscription) -> Result<(), AppError> {
    if let Some(location) = &sub.location_id {
        check_location(conn, &sub.business_id, location)?;
    }
    insert(conn, sub)
}

/// 422 naming `location_id` when it is not a location of the business.
fn check_location(conn: &mut DbConnection, business: &str, id: &str) -> Result<(), AppError> {
    match super::locations::find(conn, business, id) {
        Err(e) if e.code() == "not_found" => Err(AppError::invalid_field(
            "location_id",
            "no such location in this business",
        )),
        other => other.map(|_| ()),
    }
}

pub fn insert(conn: &mut DbConnection, sub: &Subscription) -> Result<(), AppError> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(sub)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Subscription, AppError> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::business_id.eq(business))
        .filter(webhook_subscriptions::id.eq(id))
        .select(Subscription::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("webhook"))
}

/// One subscription as `owner` may see it: a partner client only its own
/// (others are "not found"); `None` (staff) any of the business.
pub fn find_owned(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    owner: Option<&str>,
) -> Result<Subscription, AppError> {
    let sub = find(conn, business, id)?;
    match owner {
        Some(client) if sub.client_id.as_deref() != Some(client) => {
            Err(AppError::not_found("webhook"))
        }
        _ => Ok(sub),
    }
}

/// The subscriptions `owner` may see (see [`find_owned`]).
pub fn list(
    conn: &mut DbConnection,
    business: &str,
    owner: Option<&str>,
    page: &PageRequest,
) -> Result<Vec<Subscription>, AppError> {
    let mut query = webhook_subscriptions::table
        .filter(webhook_subscriptions::business_id.eq(business))
        .select(Subscription::as_select())
        .order(webhook_subscriptions::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(webhook_subscriptions::id.gt(after.clone()));
    }
    if let Some(client) = owner {
        query = query.filter(webhook_subscriptions::client_id.eq(client.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// A subscription's changeable fields; `None` keeps the current value.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionChanges {
    pub url: Option<String>,
    pub event_types: Option<String>,
    pub location_id: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
}

/// Applies `changes` under `If-Match`. Turning a subscription back on
/// forgets why it was off and its failing streak.
pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    mut changes: SubscriptionChanges,
    expected_version: Option<i32>,
    at: NaiveDateTime,
) -> Result<Subscription, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        check_version(current.version, expected_version)?;
        if changes.enabled == Some(true) {
            changes.disabled_reason = Some(None);
            changes.failing_since = Some(None);
        } else if changes.enabled == Some(false) && current.enabled {
            changes.disabled_reason = Some(Some("turned off by staff".into()));
        }
        let updated = diesel::update(
            webhook_subscriptions::table
                .filter(webhook_subscriptions::id.eq(id))
                .filter(webhook_subscriptions::version.eq(current.version)),
        )
        .set((
            &changes,
            webhook_subscriptions::version.eq(current.version + 1),
            webhook_subscriptions::updated_at.eq(at),
        ))
        .execute(conn)?;
        expect_one_row(updated, current.version)?;
        find(conn, business, id)
    })
}

/// As [`update`], for a subscription `owner` may see (see [`find_owned`]);
/// a location it is newly limited to must be one of the business's.
pub fn update_owned(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    owner: Option<&str>,
    changes: SubscriptionChanges,
    expected_version: Option<i32>,
    at: NaiveDateTime,
) -> Result<Subscription, AppError> {
    if let Some(Some(location)) = &changes.location_id {
        check_location(conn, business, location)?;
    }
    find_owned(conn, business, id, owner)?;
    update(conn, business, id, changes, expected_version, at)
}

/// Replaces the secret; the previous one keeps signing for the overlap.
pub fn rotate_secret(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    secret: &str,
    at: NaiveDateTime,
) -> Result<Subscription, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        diesel::update(webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(id)))
            .set((
                webhook_subscriptions::secret.eq(secret),
                webhook_subscriptions::previous_secret.eq(Some(&current.secret)),
                webhook_subscriptions::previous_secret_until.eq(Some(at + rules::ROTATION_OVERLAP)),
                webhook_subscriptions::version.eq(current.version + 1),
                webhook_subscriptions::updated_at.eq(at),
            ))
            .execute(conn)?;
        find(conn, business, id)
    })
}

/// Deletes a subscription with its deliveries and attempts.
pub fn delete(conn: &mut DbConnection, business: &str, id: &str) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        find(conn, business, id)?;
        let deliveries = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(id))
            .select(webhook_deliveries::id);
        diesel::delete(
            webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
        )
        .execute(conn)?;
        diesel::delete(
            webhook_deliveries::table.filter(webhook_deliveries::subscription_id.eq(id)),
        )
        .execute(conn)?;
        diesel::delete(webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(id)))
            .execute(conn)?;
        Ok(())
    })
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

/// How long a worker may hold a claimed delivery before another may take it
/// (it died mid-send): longer than the 15 s timeout and the recording.
pub const CLAIM_FOR: Duration = Duration::seconds(60);

/// Claims up to `limit` due deliveries of enabled subscriptions, with what is
/// needed to send them.
pub fn claim_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Delivery, Subscription)>, AppError> {
    let at = now.naive_utc();
    write_transaction(conn, |conn| {
        let ids = db::claim_due(
            conn,
            "webhook_deliveries",
            "next_attempt_at",
            "state = 'pending' AND subscription_id IN \
             (SELECT id FROM webhook_subscriptions WHERE enabled = TRUE)",
            at,
            at + CLAIM_FOR,
            limit,
        )?;
        let claimed: Vec<(Delivery, Subscription)> = webhook_deliveries::table
            .inner_join(webhook_subscriptions::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order((
                webhook_deliveries::next_attempt_at.asc(),
                webhook_deliveries::id.asc(),
            ))
            .select((Delivery::as_select(), Subscription::as_select()))
            .load(conn)?;
        Ok(claimed)
    })
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub snippet: Option<String>,
    /// Seconds the endpoint asked us to wait (`Retry-After`).
    pub retry_after: Option<i64>,
}

impl AttemptResult {
    /// A 2xx answer.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Releases deliveries a pass did not try because an earlier one to the
/// same endpoint (`failed`) just failed: they become due when it is due
/// again, or at once when it will not be retried (failed for good, or its
/// subscription turned off, in which case they wait for it to be on again).
fn hold_back(conn: &mut DbConnection, failed: &str, ids: &[String]) -> Result<(), AppError> {
    let next: Option<NaiveDateTime> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(failed))
        .select(webhook_deliveries::next_attempt_at)
        .first(conn)?;
    let held = webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(ids));
    match next {
        Some(next) => diesel::update(held)
            .set((
                webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
                webhook_deliveries::next_attempt_at.eq(Some(next)),
            ))
            .execute(conn)?,
        None => diesel::update(held)
            .set(webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>))
            .execute(conn)?,
    };
    Ok(())
}

/// One pass's attempts, in one transaction: each recorded with what follows
/// from it, and the deliveries held back behind a failure released to wait
/// for it (see [`hold_back`]); those a slow endpoint left no time for are
/// released as they were.
pub fn record_attempts(
    conn: &mut DbConnection,
    attempts: &[(&Delivery, AttemptResult)],
    held_back: &[(String, Vec<String>)],
    unfinished: &[String],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        // Not reached this pass: free for the next one, due as they were.
        if !unfinished.is_empty() {
            diesel::update(
                webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(unfinished)),
            )
            .set(webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        }
        for (delivery, result) in attempts {
            record_attempt(conn, delivery, result, now, rand::random::<f64>())?;
        }
        for (failed, ids) in held_back {
            hold_back(conn, failed, ids)?;
        }
        Ok(())
    })
}

/// Records an attempt and decides what follows: delivered; retried later by
/// the schedule (or `Retry-After`); failed when the schedule is spent; the
/// subscription disabled at once on 410 or after five days of failures,
/// with a `webhook.disabled` event.
fn record_attempt(
    conn: &mut DbConnection,
    delivery: &Delivery,
    result: &AttemptResult,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<(), AppError> {
    let at = now.naive_utc();
    diesel::insert_into(webhook_attempts::table)
        .values(Attempt {
            id: new_id("att"),
            delivery_id: delivery.id.clone(),
            business_id: delivery.business_id.clone(),
            attempted_at: at,
            status_code: result.status.map(i32::from),
            error: result.error.clone(),
            duration_ms: result.duration_ms,
            response_snippet: result.snippet.clone(),
        })
        .execute(conn)?;
    settle_delivery(conn, delivery, result, at, jitter)?;
    let sub: Subscription = webhook_subscriptions::table
        .filter(webhook_subscriptions::id.eq(&delivery.subscription_id))
        .select(Subscription::as_select())
        .first(conn)?;
    if result.delivered() {
        if sub.failing_since.is_some() {
            diesel::update(
                webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(&sub.id)),
            )
            .set(webhook_subscriptions::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        }
        return Ok(());
    }
    record_failure(conn, &sub, result.status == Some(410), at)
}

/// The delivery's state after an attempt: delivered, pending its next try
/// by the schedule (or `Retry-After`), or failed when the schedule is spent
/// or the endpoint is gone.
fn settle_delivery(
    conn: &mut DbConnection,
    delivery: &Delivery,
    result: &AttemptResult,
    at: NaiveDateTime,
    jitter: f64,
) -> QueryResult<()> {
    let attempts = delivery.attempts + 1;
    let (state, next) = if result.delivered() {
        ("delivered", None)
    } else if result.status == Some(410) {
        ("failed", None)
    } else {
        match rules::retry_delay(attempts as u32, jitter, result.retry_after) {
            Some(delay) => ("pending", Some(at + delay)),
            None => ("failed", None),
        }
    };
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(&delivery.id)))
        .set((
            webhook_deliveries::state.eq(state),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status.eq(result.status.map(i32::from)),
            webhook_deliveries::last_error.eq(&result.error),
            webhook_deliveries::updated_at.eq(at),
            webhook_deliveries::delivered_at.eq(result.delivered().then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt on the subscription: failing since its first failure,
/// and disabled, with a `webhook.disabled` event, once the endpoint is gone
/// or has failed for five days.
fn record_failure(
    conn: &mut DbConnection,
    sub: &Subscription,
    gone: bool,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let failing_since = sub.failing_since.unwrap_or(at);
    let disable = if gone {
        Some("the endpoint answered 410 Gone")
    } else if at - failing_since >= rules::DISABLE_AFTER {
        Some("every attempt failed for 5 days")
    } else {
        None
    };
    diesel::update(webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(&sub.id)))
        .set(webhook_subscriptions::failing_since.eq(Some(failing_since)))
        .execute(conn)?;
    if let (Some(reason), true) = (disable, sub.enabled) {
        diesel::update(webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(&sub.id)))
            .set((
                webhook_subscriptions::enabled.eq(false),
                webhook_subscriptions::disabled_reason.eq(Some(reason)),
                webhook_subscriptions::version.eq(sub.version + 1),
                webhook_subscriptions::updated_at.eq(at),
            ))
            .execute(conn)?;
        events::append(
            conn,
            &sub.business_id,
            "webhook.disabled",
            &sub.id,
            &json!({"webhook_id": sub.id, "url": sub.url, "reason": reason}),
            at,
        )?;
    }
    Ok(())
}
