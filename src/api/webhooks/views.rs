//! How subscriptions, deliveries and attempts read in answers; the secret
//! only on creation and rotation.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::catalog::{instant, optional_instant};
use crate::domain::webhooks::parse_event_types;
use crate::store::webhooks::{Attempt, Delivery, Subscription};

/// A subscription to the business's events. Its secret is shown only when
/// it is made and when it is rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    #[schema(example = "whk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    #[schema(example = "https://partner.example.com/hooks/slotwise")]
    pub url: String,
    /// Event type names, or `["*"]` for all.
    #[schema(example = json!(["booking.created", "booking.cancelled"]))]
    pub event_types: Vec<String>,
    /// Only events of this location, when set.
    pub location_id: Option<String>,
    pub description: Option<String>,
    /// Off subscriptions queue nothing new; their pending deliveries wait.
    pub enabled: bool,
    /// Why it is off: turned off by staff, a 410 answer, or five days of failures.
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last delivered one.
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    /// Until then the previous secret signs too (after a rotation).
    #[schema(format = DateTime)]
    pub previous_secret_until: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            url: s.url.clone(),
            event_types: parse_event_types(&s.event_types),
            location_id: s.location_id.clone(),
            description: s.description.clone(),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason.clone(),
            failing_since: optional_instant(s.failing_since),
            previous_secret_until: optional_instant(s.previous_secret_until),
            version: s.version,
            created_at: instant(s.created_at),
            updated_at: instant(s.updated_at),
        }
    }
}

/// A subscription with its signing secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and base64 key bytes, as Standard Webhooks libraries take it.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<&Subscription> for WebhookWithSecret {
    fn from(s: &Subscription) -> Self {
        Self {
            webhook: WebhookView::from(s),
            secret: s.secret.clone(),
        }
    }
}

/// One try at delivering.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    #[schema(format = DateTime)]
    pub attempted_at: String,
    /// The endpoint's HTTP status; absent when it never answered.
    pub status_code: Option<i32>,
    /// Why there was no answer (refused address, timeout, connection error).
    pub error: Option<String>,
    pub duration_ms: i32,
    /// The first 512 bytes of the endpoint's answer.
    pub response_snippet: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            attempted_at: instant(a.attempted_at),
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            response_snippet: a.response_snippet,
        }
    }
}

/// One event on its way to one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(example = "dlv_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub webhook_id: String,
    /// The `webhook-id` header: the event's id, the same on every retry and
    /// replay, so receivers can drop duplicates.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (the retry schedule is spent, or
    /// the endpoint answered 410).
    pub state: String,
    pub attempts: i32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

pub(super) fn delivery_view(d: Delivery, attempts: Vec<Attempt>) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.subscription_id,
        event_id: d.event_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
        next_attempt_at: optional_instant(d.next_attempt_at),
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: instant(d.created_at),
        delivered_at: optional_instant(d.delivered_at),
        attempt_log: attempts.into_iter().map(AttemptView::from).collect(),
    }
}
