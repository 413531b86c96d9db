//! Broadcasts: how long a notice to everyone a change touches may cover.

use chrono::{DateTime, Duration, Utc};

/// The longest span one broadcast covers: a notice about more than a week
/// is a closure to announce another way, not a message per booking.
pub const MAX_SPAN: Duration = Duration::days(7);

/// Whether bookings starting in `[from, to)` make a span a broadcast may
/// cover; the reason when not (it is about `to`, the end the caller chose
/// or was given).
pub fn check_span(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), &'static str> {
    if to <= from {
        return Err("must be after from");
    }
    if to - from > MAX_SPAN {
        return Err("a broadcast spans at most 7 days");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_span_runs_forwards_for_at_most_a_week() {
        let from = Utc.with_ymd_and_hms(2026, 3, 8, 9, 0, 0).unwrap();
        assert_eq!(check_span(from, from), Err("must be after from"));
        assert_eq!(
            check_span(from, from - Duration::minutes(1)),
            Err("must be after from")
        );
        assert_eq!(check_span(from, from + MAX_SPAN), Ok(()));
        assert_eq!(
            check_span(from, from + MAX_SPAN + Duration::seconds(1)),
            Err("a broadcast spans at most 7 days")
        );
    }
}
