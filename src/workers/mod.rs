//! Background work started by `serve`: delivering webhooks, sending customer
//! notifications, settling lapsed holds so their `hold.expired` events are
//! written even when nobody books near them, and pruning idempotency records
//! past their day. Each job with real work has a `run_once` that tests drive
//! with their own clock.

pub mod idempotency;
pub mod lapses;
pub mod notifications;
pub mod senders;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::db::DbPool;

/// Every `every`, one pass of the lapse worker: lapsed holds marked expired
/// and pauses whose `until` has passed ended, with their events.
pub async fn sweep_lapsed_holds(pool: web::Data<DbPool>, every: Duration) {
    loop {
        actix_web::rt::time::sleep(every).await;
        let result =
            crate::db::blocking(&pool, |conn| lapses::run_once(conn, chrono::Utc::now())).await;
        match result {
            Ok(pass) => {
                if pass.holds_expired > 0 {
                    tracing::info!(expired = pass.holds_expired, "settled lapsed holds");
                }
                if pass.pauses_ended > 0 {
                    tracing::info!(ended = pass.pauses_ended, "ended pauses whose time ran out");
                }
            }
            Err(error) => tracing::warn!(%error, "lapse sweep failed; will retry"),
        }
    }
}

/// Every `every`, one pass of the idempotency worker.
pub async fn prune_idempotency_records(pool: web::Data<DbPool>, every: Duration) {
    loop {
        actix_web::rt::time::sleep(every).await;
        let result = crate::db::blocking(&pool, |conn| {
            idempotency::run_once(conn, chrono::Utc::now())
        })
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "pruned idempotency records"),
            Err(error) => tracing::warn!(%error, "idempotency prune failed; will retry"),
        }
    }
}

/// Delivers due webhooks: a pass every `every`, at once after a full one, and
/// as soon as this process commits events.
pub async fn deliver_webhooks(
    pool: web::Data<DbPool>,
    outbound: Arc<webhooks::Outbound>,
    every: Duration,
) {
    let mut commits = crate::db::outbox_commits();
    loop {
        commits.borrow_and_update();
        let outbound = outbound.clone();
        let result = crate::db::blocking(&pool, move |conn| {
            webhooks::run_once(conn, chrono::Utc::now(), &outbound)
        })
        .await;
        match result {
            Ok(n) if n as i64 >= webhooks::BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "webhook pass failed; will retry"),
        }
        wait_for_work(&mut commits, every).await;
    }
}

/// Sends due notifications: a pass every `every`, at once after a full one,
/// and as soon as this process commits events.
pub async fn send_notifications(
    pool: web::Data<DbPool>,
    senders: Arc<senders::Senders>,
    every: Duration,
) {
    let mut commits = crate::db::outbox_commits();
    loop {
        commits.borrow_and_update();
        let senders = senders.clone();
        let result = crate::db::blocking(&pool, move |conn| {
            notifications::run_once(conn, chrono::Utc::now(), senders.as_ref())
        })
        .await;
        match result {
            Ok(pass) if pass.total() as i64 >= notifications::BATCH => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "notification pass failed; will retry"),
        }
        wait_for_work(&mut commits, every).await;
    }
}

/// Until the next poll, or sooner when this process commits new events (the
/// work they queued is due at once). Retries and reminders fall due with
/// time alone, and other processes' events are seen by polling.
async fn wait_for_work(commits: &mut tokio::sync::watch::Receiver<u64>, every: Duration) {
    let _ = actix_web::rt::time::timeout(every, commits.changed()).await;
}
