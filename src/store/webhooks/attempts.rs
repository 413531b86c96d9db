//! The delivery worker's side: claiming due deliveries, and recording each
//! attempt with what follows from it (a retry, a failure, a disabled
//! subscription).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::{Attempt, Delivery, Subscription};
use crate::db::{self, write_transaction, DbConnection};
use crate::domain::webhooks as rules;
use crate::error::AppError;
use crate::ids::new_id;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::store::events;

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
