//! What a customer looks like to staff and to themselves: the profile, the
//! bookings and visits of the caller context, notes and feedback.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::availability::utc_text;
use crate::api::catalog::{instant, optional_instant};
use crate::api::interactions::InteractionView;
use crate::domain::catalog::Channel;
use crate::domain::customer::ContactPreference;
use crate::store::bookings::Booking;
use crate::store::customers::Customer;
use crate::store::feedback::Feedback;
use crate::store::notes::Note;
use crate::store::timeline::CallerContext;

/// A customer's profile. Staff see `tags`; a customer reading their own
/// profile does not (tags are the business's own labels).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[schema(example = "cus_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub name: String,
    /// Trimmed and lower-cased.
    pub email: Option<String>,
    /// E.164, read in the business's country when typed without a country code.
    #[schema(example = "+442079460018")]
    pub phone: Option<String>,
    /// BCP 47 language tag.
    #[schema(example = "en-GB")]
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<ContactPreference>,
    pub marketing_consent: bool,
    /// When consent was given; absent without consent.
    #[schema(format = DateTime)]
    pub marketing_consent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

pub(super) fn customer_view(c: Customer, staff: bool) -> CustomerView {
    CustomerView {
        tags: staff.then(|| c.tags()),
        preferred_channel: c
            .preferred_channel
            .as_deref()
            .and_then(ContactPreference::parse),
        id: c.id,
        name: c.name,
        email: c.email,
        phone: c.phone,
        preferred_language: c.preferred_language,
        marketing_consent: c.marketing_consent,
        marketing_consent_at: optional_instant(c.marketing_consent_at),
        version: c.version,
        created_at: instant(c.created_at),
        updated_at: instant(c.updated_at),
    }
}

pub(super) fn staff_view(c: Customer) -> CustomerView {
    customer_view(c, true)
}

/// A booking as the caller context and visits show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingSummary {
    pub id: String,
    #[schema(example = "K7M-4QX")]
    pub reference: String,
    pub status: String,
    pub service_id: String,
    pub location_id: String,
    pub resource_ids: Vec<String>,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub channel: Channel,
}

pub fn booking_summary(b: &Booking) -> BookingSummary {
    BookingSummary {
        id: b.id.to_string(),
        reference: b.reference.clone(),
        status: b.status.as_str().to_owned(),
        service_id: b.service_id.to_string(),
        location_id: b.location_id.to_string(),
        resource_ids: b.resources(),
        start: utc_text(b.starts_at.and_utc()),
        end: utc_text(b.ends_at.and_utc()),
        channel: b.channel.or(Channel::Online),
    }
}

/// A customer's answer to a feedback request.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackView {
    #[schema(example = "fbk_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    pub booking_id: String,
    pub customer_id: String,
    /// How likely to recommend, 0–10.
    pub nps: i32,
    /// Customer effort, 1 (very easy) to 7 (very hard).
    pub effort: i32,
    pub comment: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

pub fn feedback_view(f: Feedback) -> FeedbackView {
    FeedbackView {
        id: f.id,
        booking_id: f.booking_id,
        customer_id: f.customer_id,
        nps: f.nps,
        effort: f.effort,
        comment: f.comment,
        created_at: instant(f.created_at),
    }
}

/// A past visit and how it went.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    #[serde(flatten)]
    pub booking: BookingSummary,
    /// `completed`, `no_show`, or the status it was left in (`confirmed` when
    /// nobody recorded what happened).
    pub outcome: String,
    pub feedback: Option<FeedbackView>,
}

/// What an agent sees on picking up.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerContextView {
    /// Not yet over, soonest first (up to 10).
    pub upcoming_bookings: Vec<BookingSummary>,
    /// The last three visits (cancelled bookings are not visits), latest first.
    pub last_visits: Vec<VisitView>,
    /// Follow-ups and escalations not yet resolved by a later contact about
    /// the same intent, newest first.
    pub open_follow_ups: Vec<InteractionView>,
    /// Pinned notes first, then the newest (up to 5).
    pub latest_notes: Vec<NoteView>,
    pub no_show_count: i64,
    pub cancellation_count: i64,
}

pub(crate) fn context_view(ctx: CallerContext) -> CallerContextView {
    CallerContextView {
        upcoming_bookings: ctx.upcoming.iter().map(booking_summary).collect(),
        last_visits: ctx
            .last_visits
            .into_iter()
            .map(|(b, f)| VisitView {
                booking: booking_summary(&b),
                outcome: b.status.as_str().to_owned(),
                feedback: f.map(feedback_view),
            })
            .collect(),
        open_follow_ups: ctx
            .open_follow_ups
            .into_iter()
            .map(InteractionView::from)
            .collect(),
        latest_notes: ctx.latest_notes.into_iter().map(NoteView::from).collect(),
        no_show_count: ctx.no_shows,
        cancellation_count: ctx.cancellations,
    }
}

/// A profile in a list; with its caller context when looked up by phone or email.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerListItem {
    #[serde(flatten)]
    pub customer: CustomerView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<CallerContextView>,
}

/// A staff note on a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: String,
    pub customer_id: String,
    /// Subject of the token that wrote it.
    pub author: String,
    pub author_role: String,
    pub text: String,
    pub pinned: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<Note> for NoteView {
    fn from(n: Note) -> Self {
        Self {
            id: n.id,
            customer_id: n.customer_id,
            author: n.author,
            author_role: n.author_role,
            text: n.body,
            pinned: n.pinned,
            created_at: instant(n.created_at),
            updated_at: instant(n.updated_at),
        }
    }
}
