//! Holds: a slot reserved for a few minutes while a customer fills in a form.
//! A hold blocks the slot for every channel until it is booked, released or
//! expires; expiry needs no job to run first (reads ignore lapsed holds), and
//! is settled — status, freed rows, `hold.expired` event — by the next writer
//! on the same resources or by the background sweep.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use super::calendar::{self, Except, Occupier, ServiceContext};
use super::stored::Stored;
use super::{events, with_retries, TxError};
use crate::db::{lock_resources, DbConnection};
use crate::domain::catalog::Channel;
use crate::domain::holds::HoldStatus;
use crate::error::AppError;
use crate::ids::{BookingId, BusinessId, HoldId, LocationId, ServiceId};
use crate::schema::holds;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
#[diesel(treat_none_as_default_value = false)]
pub struct Hold {
    pub id: HoldId,
    pub business_id: BusinessId,
    pub service_id: ServiceId,
    pub location_id: LocationId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub resource_ids: String,
    pub expires_at: NaiveDateTime,
    pub status: Stored<HoldStatus>,
    /// The door it was taken through.
    pub channel: Stored<Channel>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// The stranger's address, for anonymous holds (the per-address cap).
    pub client_address: Option<String>,
    /// The booking it became (status `booked`).
    pub booking_id: Option<BookingId>,
    /// The partner client whose request took it, if any.
    pub client_id: Option<String>,
}

impl Hold {
    pub fn resources(&self) -> Vec<String> {
        split_ids(&self.resource_ids)
    }

    /// Whether it still blocks its slot at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status.is(HoldStatus::Active) && self.expires_at > now.naive_utc()
    }
}

pub fn split_ids(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a new hold asks for, already checked against policy by the caller.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub start: DateTime<Utc>,
    pub wanted: Vec<String>,
    pub ttl: chrono::Duration,
    pub channel: Channel,
    pub created_by: String,
    /// The partner client asking, if any: the hold is attributed to it.
    pub client_id: Option<String>,
    /// For a stranger: their address and how many live holds it may keep
    /// in this business.
    pub stranger: Option<StrangerCap>,
}

#[derive(Debug, Clone)]
pub struct StrangerCap {
    pub address: String,
    pub live_holds: u32,
}

/// 429 when `cap.address` already keeps its allowance of live holds in the
/// business; `Retry-After` is when the first of them lapses. On PostgreSQL an
/// advisory lock on (business, address) makes concurrent holds from one
/// address count one after another; SQLite's write lock already does.
fn ensure_within_cap(
    conn: &mut DbConnection,
    business: &str,
    cap: &StrangerCap,
    now: DateTime<Utc>,
) -> Result<(), TxError> {
    crate::db::lock_key(conn, &format!("holds:{business}:{}", cap.address))?;
    let live: Vec<NaiveDateTime> = holds::table
        .filter(holds::business_id.eq(business))
        .filter(holds::client_address.eq(&cap.address))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.gt(now.naive_utc()))
        .select(holds::expires_at)
        .order(holds::expires_at.asc())
        .load(conn)?;
    if live.len() < cap.live_holds as usize {
        return Ok(());
    }
    let wait = (live[0] - now.naive_utc()).num_seconds().max(1) as u64;
    Err(AppError::rate_limited(
        wait,
        format!(
            "You are already holding {} slots; book or release one, or wait {wait} s for one to lapse.",
            live.len()
        ),
    )
    .with("live_holds", live.len())
    .into())
}

/// Settles holds on `resource_ids` that lapsed: marks them expired, frees
/// their time and writes `hold.expired`, once each even when several writers
/// race (the conditional update decides who writes the event).
pub fn expire_lapsed(
    conn: &mut DbConnection,
    resource_ids: &[String],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let lapsed: Vec<HoldId> = calendar::lapsed_holds(conn, resource_ids, now)?
        .into_iter()
        .map(HoldId::from)
        .collect();
    expire(conn, &lapsed, now)
}

fn expire(conn: &mut DbConnection, hold_ids: &[HoldId], now: DateTime<Utc>) -> QueryResult<usize> {
    let mut expired = 0;
    for id in hold_ids {
        let changed = diesel::update(
            holds::table
                .filter(holds::id.eq(id))
                .filter(holds::status.eq(HoldStatus::Active.as_str())),
        )
        .set(holds::status.eq(HoldStatus::Expired.as_str()))
        .execute(conn)?;
        calendar::vacate(
            conn,
            Occupier::Hold {
                id,
                expires_at: now,
            },
        )?;
        if changed == 1 {
            let hold: Hold = holds::table
                .find(id)
                .select(Hold::as_select())
                .first(conn)?;
            events::append(
                conn,
                &hold.business_id,
                "hold.expired",
                &hold.id,
                &json!({
                    "hold_id": hold.id,
                    "service_id": hold.service_id,
                    "start": hold.starts_at.and_utc(),
                    "expired_at": hold.expires_at.and_utc(),
                }),
                now.naive_utc(),
            )?;
            expired += 1;
        }
    }
    Ok(expired)
}

/// The background sweep: settles every lapsed hold of every business.
pub fn expire_all_lapsed(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    with_retries(conn, |conn| {
        let lapsed: Vec<HoldId> = holds::table
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .filter(holds::expires_at.le(now.naive_utc()))
            .select(holds::id)
            .limit(500)
            .load(conn)?;
        Ok(expire(conn, &lapsed, now)?)
    })
}

/// Takes a hold on a slot: same locks and checks as a booking.
pub fn create(
    conn: &mut DbConnection,
    ctx: &ServiceContext,
    request: &HoldRequest,
    now: DateTime<Utc>,
) -> Result<Hold, AppError> {
    with_retries(conn, |conn| {
        if let Some(cap) = &request.stranger {
            ensure_within_cap(conn, ctx.business_id(), cap, now)?;
        }
        let involved = ctx.involved_resources(&request.wanted);
        lock_resources(conn, &involved)?;
        calendar::ensure_not_paused_now(conn, ctx, &request.wanted, now)?;
        expire_lapsed(conn, &involved, now)?;
        let slot = calendar::check_slot(
            conn,
            ctx,
            request.start,
            &request.wanted,
            now,
            Except::default(),
        )?;
        let expires_at = now + request.ttl;
        let hold = Hold {
            id: HoldId::new(),
            business_id: BusinessId::from(ctx.business_id()),
            service_id: ServiceId::from(ctx.service.row.id.as_str()),
            location_id: LocationId::from(ctx.location.id.as_str()),
            starts_at: slot.start.naive_utc(),
            ends_at: slot.end.naive_utc(),
            resource_ids: slot.resource_ids.join(","),
            expires_at: expires_at.naive_utc(),
            status: HoldStatus::Active.into(),
            channel: request.channel.into(),
            created_by: request.created_by.clone(),
            created_at: now.naive_utc(),
            client_address: request.stranger.as_ref().map(|s| s.address.clone()),
            booking_id: None,
            client_id: request.client_id.clone(),
        };
        diesel::insert_into(holds::table)
            .values(&hold)
            .execute(conn)?;
        calendar::occupy(
            conn,
            ctx,
            slot.start,
            &slot.resource_ids,
            Occupier::Hold {
                id: &hold.id,
                expires_at,
            },
        )?;
        Ok::<_, TxError>(hold)
    })
}

/// A hold by id: in the caller's business, or by id alone for anonymous callers
/// (the id is an unguessable capability handed to whoever took the hold).
pub fn find(
    conn: &mut DbConnection,
    business: Option<&str>,
    id: &HoldId,
) -> Result<Hold, AppError> {
    let mut query = holds::table
        .filter(holds::id.eq(id))
        .select(Hold::as_select())
        .into_boxed();
    if let Some(business) = business {
        query = query.filter(holds::business_id.eq(business.to_owned()));
    }
    query
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("hold"))
}

/// Releases a hold so its slot is free again at once. Releasing a hold that is
/// already gone is a no-op; one that became a booking cannot be released.
pub fn release(
    conn: &mut DbConnection,
    business: Option<&str>,
    id: &HoldId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    with_retries(conn, |conn| {
        let hold = find(conn, business, id)?;
        match hold.status.known() {
            Some(HoldStatus::Booked) => {
                Err(AppError::hold_booked(hold.booking_id.as_deref()).into())
            }
            Some(HoldStatus::Active) => {
                diesel::update(
                    holds::table
                        .filter(holds::id.eq(id))
                        .filter(holds::status.eq(HoldStatus::Active.as_str())),
                )
                .set(holds::status.eq(HoldStatus::Released.as_str()))
                .execute(conn)?;
                calendar::vacate(
                    conn,
                    Occupier::Hold {
                        id,
                        expires_at: now,
                    },
                )?;
                Ok(())
            }
            // Already given back or lapsed: nothing to free. A word this
            // build does not know frees nothing either; it was logged.
            Some(HoldStatus::Released | HoldStatus::Expired) | None => Ok(()),
        }
    })
}
