//! Background work started by `serve`: settling lapsed holds so their
//! `hold.expired` events are written even when nobody books near them, and
//! pruning idempotency records past their day.

use std::time::Duration;

use actix_web::web;

use crate::db::DbPool;

/// Every `every`, marks lapsed holds expired and writes their events. Reads
/// already ignore lapsed holds, so this only makes the record complete.
pub async fn sweep_lapsed_holds(pool: web::Data<DbPool>, every: Duration) {
    loop {
        actix_web::rt::time::sleep(every).await;
        let result = crate::db::blocking(&pool, |conn| {
            crate::store::holds::expire_all_lapsed(conn, chrono::Utc::now())
        })
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "settled lapsed holds"),
            Err(error) => tracing::warn!(%error, "hold sweep failed; will retry"),
        }
    }
}

/// Every `every`, deletes idempotency records older than their 24 h. Claims
/// already ignore such records; this only keeps the table small.
pub async fn prune_idempotency_records(pool: web::Data<DbPool>, every: Duration) {
    loop {
        actix_web::rt::time::sleep(every).await;
        let result = crate::db::blocking(&pool, |conn| {
            Ok(crate::store::idempotency::prune(conn, crate::store::now())?)
        })
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "pruned idempotency records"),
            Err(error) => tracing::warn!(%error, "idempotency prune failed; will retry"),
        }
    }
}
