//! Holding a slot for a few minutes while the customer fills in the form.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::Requester;
use crate::db::DbConnection;
use crate::domain::policy::Override;
use crate::error::AppError;
use crate::ids::ServiceId;
use crate::store::calendar;
use crate::store::holds::{self, Hold, HoldRequest, StrangerCap};

/// A slot to hold, already read at the edge.
#[derive(Debug, Clone)]
pub struct HoldSlot {
    pub service_id: ServiceId,
    pub start: DateTime<Utc>,
    pub resources: Vec<String>,
    pub override_rules: Option<Override>,
    /// How long the hold keeps the slot.
    pub ttl: Duration,
    /// For a stranger on the public page: their address and allowance.
    pub stranger: Option<StrangerCap>,
}

/// Holds the slot under the same rules a booking through the requester's
/// door would meet, so a hold never promises what booking would refuse.
pub fn hold(
    conn: &mut DbConnection,
    who: &Requester,
    request: HoldSlot,
    now: DateTime<Utc>,
) -> Result<(Hold, Tz), AppError> {
    let ctx = calendar::service_context(conn, who.business(), &request.service_id)?;
    let policy = ctx.policy();
    who.ensure_offered(&policy)?;
    who.weigh(
        policy.check_new_slot(who.channel(), request.start, now),
        request.override_rules.as_ref(),
    )?;
    ctx.ensure_not_paused(&request.resources)?;
    let actor = who.actor();
    let hold = holds::create(
        conn,
        &ctx,
        &HoldRequest {
            start: request.start,
            wanted: request.resources,
            ttl: request.ttl,
            channel: actor.channel,
            created_by: actor.subject,
            client_id: actor.client_id,
            stranger: request.stranger,
        },
        now,
    )?;
    Ok((hold, ctx.tz))
}
