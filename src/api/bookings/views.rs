//! What a booking and its history look like to every channel.

use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::availability::{local_text, utc_text};
use crate::domain::catalog::Channel;
use crate::domain::lifecycle::BookingStatus;
use crate::store::bookings::{Booking, HistoryEntry};

/// A booking as every channel sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    #[schema(example = "bkg_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    /// Human reference for phone and desk.
    #[schema(example = "K7M-4QX")]
    pub reference: String,
    pub status: BookingStatus,
    pub service_id: String,
    pub location_id: String,
    pub customer_id: String,
    pub resource_ids: Vec<String>,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    /// `start` in the location's zone, with its offset.
    pub local_start: String,
    pub local_end: String,
    pub timezone: String,
    /// The door it came through: online, phone, walk_in or partner.
    pub channel: Channel,
    /// The subject of the token that booked it (`anonymous` for the widget).
    pub created_by: String,
    /// The partner client that booked it, for bookings made through partner apps.
    #[schema(example = "cli_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub client_id: Option<String>,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    /// When a running-late notice expects it to start (absent: on time).
    #[schema(format = DateTime)]
    pub expected_start: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Anonymous bookings only: a customer token limited to this customer's
    /// bookings, to view, cancel or reschedule without an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_token: Option<String>,
}

pub(crate) fn booking_view(b: Booking, tz: Tz) -> BookingView {
    let start = b.starts_at.and_utc();
    let end = b.ends_at.and_utc();
    BookingView {
        resource_ids: b.resources(),
        // A word this build cannot read was logged when the row was read;
        // the view's schema names only known words, so it shows one.
        status: b.status.or(BookingStatus::Confirmed),
        channel: b.channel.or(Channel::Online),
        id: b.id.into(),
        reference: b.reference,
        service_id: b.service_id.into(),
        location_id: b.location_id.into(),
        customer_id: b.customer_id.into(),
        start: utc_text(start),
        end: utc_text(end),
        local_start: local_text(start, tz),
        local_end: local_text(end, tz),
        timezone: tz.name().to_owned(),
        created_by: b.created_by,
        client_id: b.client_id,
        notes: b.notes,
        cancel_reason: b.cancel_reason,
        expected_start: b.expected_start.map(|t| utc_text(t.and_utc())),
        version: b.version,
        created_at: utc_text(b.created_at.and_utc()),
        updated_at: utc_text(b.updated_at.and_utc()),
        manage_token: None,
    }
}

/// A staff override recorded with a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub rules: Vec<String>,
    pub reason: String,
}

/// One change of a booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    pub id: String,
    /// created, reschedule, cancel, check_in, start, complete, no_show or update.
    pub action: String,
    /// Subject of the token that made the change (`anonymous` for the widget).
    pub actor: String,
    pub actor_role: String,
    pub channel: Channel,
    /// The partner client that made the change, if one did.
    pub client_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(rename = "override")]
    pub override_rules: Option<OverrideView>,
    #[schema(format = DateTime)]
    pub at: String,
}

pub(super) fn history_view(h: HistoryEntry) -> HistoryView {
    HistoryView {
        id: h.id,
        action: h.action,
        actor: h.actor,
        actor_role: h.actor_role,
        channel: h.channel.or(Channel::Online),
        client_id: h.client_id,
        details: serde_json::from_str(&h.details).unwrap_or(serde_json::Value::Null),
        override_rules: h.override_rules.map(|rules| OverrideView {
            rules: rules.split(',').map(str::to_owned).collect(),
            reason: h.override_reason.unwrap_or_default(),
        }),
        at: utc_text(h.created_at.and_utc()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryList {
    pub data: Vec<HistoryView>,
}
