//! How a service reads in answers: its timing, seats, price, policy and
//! reminders.

use serde::Serialize;
use utoipa::ToSchema;

use super::{ReminderRule, RequirementGroup};
use crate::api::catalog::{instant, optional_instant, pause_view, PauseView};
use crate::domain::catalog::{channels_from_text, Channel};
use crate::domain::notifications::parse_reminders;
use crate::store::services::Service;

fn reminder_rules(stored: &str) -> Vec<ReminderRule> {
    parse_reminders(stored)
        .into_iter()
        .map(|before_minutes| ReminderRule { before_minutes })
        .collect()
}

/// The service standards enforced identically for every channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// Bookings must start at least this long after now.
    pub min_notice_minutes: i32,
    /// Bookings may start at most this far ahead.
    pub max_advance_minutes: i32,
    /// Customers may cancel up to this long before the start.
    pub cancel_cutoff_minutes: i32,
    /// Customers may reschedule up to this long before the start.
    pub reschedule_cutoff_minutes: i32,
    /// Channels through which the service may be booked.
    pub channels: Vec<Channel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    #[schema(example = "svc_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    /// Distance between offered start times.
    pub slot_step_minutes: i32,
    /// Seats per session (1 for an ordinary appointment).
    pub capacity: i32,
    /// Informational price in the currency's minor unit.
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub requirements: Vec<RequirementGroup>,
    pub policy: PolicyView,
    /// When customers are reminded, furthest ahead first.
    pub reminders: Vec<ReminderRule>,
    pub paused: Option<PauseView>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Service> for ServiceView {
    fn from(s: Service) -> Self {
        let r = s.row;
        Self {
            id: r.id,
            location_id: r.location_id,
            name: r.name,
            description: r.description,
            duration_minutes: r.duration_minutes,
            buffer_before_minutes: r.buffer_before_minutes,
            buffer_after_minutes: r.buffer_after_minutes,
            slot_step_minutes: r.slot_step_minutes,
            capacity: r.capacity,
            price_cents: r.price_cents,
            currency: r.currency,
            requirements: s
                .requirements
                .into_iter()
                .map(|resource_ids| RequirementGroup { resource_ids })
                .collect(),
            policy: PolicyView {
                min_notice_minutes: r.min_notice_minutes,
                max_advance_minutes: r.max_advance_minutes,
                cancel_cutoff_minutes: r.cancel_cutoff_minutes,
                reschedule_cutoff_minutes: r.reschedule_cutoff_minutes,
                channels: channels_from_text(&r.channels),
            },
            reminders: reminder_rules(&r.reminders),
            paused: pause_view(r.paused_at, r.pause_reason, r.paused_until),
            archived_at: optional_instant(r.archived_at),
            version: r.version,
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
        }
    }
}
