//! Webhook subscriptions, their deliveries (one per event and subscription,
//! queued in the transaction that writes the event) and every attempt.
//! This file holds the subscriptions; `deliveries` what is queued for them
//! and `attempts` the worker's claims and what each attempt leads to.

mod attempts;
mod deliveries;

pub use attempts::{claim_due, record_attempts, AttemptResult, CLAIM_FOR};
pub use deliveries::{
    body_of, deliveries, enqueue, find_delivery, queue_test, replay, retry_delivery, Attempt,
    Delivery, REPLAY_LIMIT,
};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use super::{check_version, expect_one_row};
use crate::db::{write_transaction, DbConnection};
use crate::domain::webhooks::{self as rules, parse_event_types, wants};
use crate::error::AppError;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_subscriptions};

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
