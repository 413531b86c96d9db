//! The booking state machine: which step is legal from which status.
//!
//! ```text
//! confirmed ─check-in─▶ checked_in ─start─▶ in_service ─complete─▶ completed
//!     │  ▲                  │
//!     │  └─reschedule       └─no-show─▶ no_show   (also from confirmed)
//!     └─cancel─▶ cancelled
//! ```

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    CheckedIn,
    InService,
    Completed,
    Cancelled,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 6] = [
        BookingStatus::Confirmed,
        BookingStatus::CheckedIn,
        BookingStatus::InService,
        BookingStatus::Completed,
        BookingStatus::Cancelled,
        BookingStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::CheckedIn => "checked_in",
            BookingStatus::InService => "in_service",
            BookingStatus::Completed => "completed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::NoShow => "no_show",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the booking still holds its resources' time.
    pub fn occupies_time(self) -> bool {
        !matches!(self, BookingStatus::Cancelled)
    }
}

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Reschedule,
    Cancel,
    CheckIn,
    Start,
    Complete,
    NoShow,
}

impl Step {
    /// The verb as used in paths and history (`check-in` → `check_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Reschedule => "reschedule",
            Step::Cancel => "cancel",
            Step::CheckIn => "check_in",
            Step::Start => "start",
            Step::Complete => "complete",
            Step::NoShow => "no_show",
        }
    }

    /// The event type written when the step succeeds.
    pub fn event_type(self) -> &'static str {
        match self {
            Step::Reschedule => "booking.rescheduled",
            Step::Cancel => "booking.cancelled",
            Step::CheckIn => "booking.checked_in",
            Step::Start => "booking.started",
            Step::Complete => "booking.completed",
            Step::NoShow => "booking.no_show",
        }
    }
}

/// The status after `step`, or `None` when the step is illegal from `from`.
/// A no-show may be recorded from this long after the start, not before:
/// a customer a few minutes late is late, not absent.
pub const NO_SHOW_GRACE_MINUTES: i64 = 15;

/// Why a no-show cannot be recorded yet for a visit starting at `start`, or
/// `None` once the grace has passed.
pub fn too_early_for_no_show(
    start: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    (now < start + chrono::Duration::minutes(NO_SHOW_GRACE_MINUTES)).then(|| {
        format!("A no-show can be recorded from {NO_SHOW_GRACE_MINUTES} minutes after the start.")
    })
}

pub fn next_status(from: BookingStatus, step: Step) -> Option<BookingStatus> {
    use BookingStatus::*;
    match (from, step) {
        (Confirmed, Step::Reschedule) => Some(Confirmed),
        (Confirmed, Step::Cancel) => Some(Cancelled),
        (Confirmed, Step::CheckIn) => Some(CheckedIn),
        (CheckedIn, Step::Start) => Some(InService),
        (InService, Step::Complete) => Some(Completed),
        (Confirmed | CheckedIn, Step::NoShow) => Some(NoShow),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_no_show_waits_out_the_grace() {
        use chrono::TimeZone;
        let start = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
        let grace = chrono::Duration::minutes(NO_SHOW_GRACE_MINUTES);
        assert!(too_early_for_no_show(start, start).is_some());
        assert!(
            too_early_for_no_show(start, start + grace - chrono::Duration::seconds(1)).is_some()
        );
        assert_eq!(too_early_for_no_show(start, start + grace), None);
    }

    #[test]
    fn the_happy_path_runs_from_confirmed_to_completed() {
        let mut status = BookingStatus::Confirmed;
        for step in [Step::CheckIn, Step::Start, Step::Complete] {
            status = next_status(status, step).unwrap();
        }
        assert_eq!(status, BookingStatus::Completed);
    }

    #[test]
    fn finished_bookings_take_no_further_step() {
        let steps = [
            Step::Reschedule,
            Step::Cancel,
            Step::CheckIn,
            Step::Start,
            Step::Complete,
            Step::NoShow,
        ];
        for done in [
            BookingStatus::Completed,
            BookingStatus::Cancelled,
            BookingStatus::NoShow,
        ] {
            for step in steps {
                assert_eq!(next_status(done, step), None, "{done:?} {step:?}");
            }
        }
    }

    #[test]
    fn skipping_a_step_is_refused() {
        assert_eq!(next_status(BookingStatus::Confirmed, Step::Start), None);
        assert_eq!(next_status(BookingStatus::Confirmed, Step::Complete), None);
        assert_eq!(next_status(BookingStatus::CheckedIn, Step::Cancel), None);
        assert_eq!(next_status(BookingStatus::InService, Step::NoShow), None);
        assert_eq!(
            next_status(BookingStatus::CheckedIn, Step::NoShow),
            Some(BookingStatus::NoShow)
        );
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(BookingStatus::parse("pending"), None);
    }
}
