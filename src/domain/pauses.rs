//! Pausing a service, resource or location: what a pause may say, and
//! whether one is still in force.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// What can be paused, as the API and the events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    Service,
    Resource,
    Location,
}

impl Paused {
    pub fn as_str(self) -> &'static str {
        match self {
            Paused::Service => "service",
            Paused::Resource => "resource",
            Paused::Location => "location",
        }
    }
}

/// The longest a reason may be: it is shown on every channel.
pub const MAX_REASON_CHARS: usize = 500;

/// The furthest ahead a pause may name its end.
pub const MAX_UNTIL: Duration = Duration::days(366);

/// Checks a pause's reason (required: every channel says why) and its end
/// (after now, within a year). Returns the trimmed reason.
pub fn check_pause(
    reason: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String, (&'static str, String)> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(("reason", "say why: every channel shows it".into()));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err((
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    match until {
        Some(until) if until <= now => Err(("until", "must be in the future".into())),
        Some(until) if until - now > MAX_UNTIL => Err(("until", "must be within a year".into())),
        _ => Ok(reason.to_owned()),
    }
}

/// Whether a pause set at `paused_at` is in force at `now`: until its `until`
/// passes, or for good when it names none.
pub fn in_force(
    paused_at: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    now: DateTime<Utc>,
) -> bool {
    paused_at.is_some() && until.is_none_or(|until| until > now.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 9, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_pause_needs_a_reason_and_a_future_end() {
        assert_eq!(check_pause("  flooded ", None, now()).unwrap(), "flooded");
        assert_eq!(check_pause(" ", None, now()).unwrap_err().0, "reason");
        assert_eq!(
            check_pause(&"x".repeat(501), None, now()).unwrap_err().0,
            "reason"
        );
        assert_eq!(check_pause("x", Some(now()), now()).unwrap_err().0, "until");
        assert_eq!(
            check_pause("x", Some(now() + Duration::days(400)), now())
                .unwrap_err()
                .0,
            "until"
        );
        assert!(check_pause("x", Some(now() + Duration::hours(2)), now()).is_ok());
    }

    #[test]
    fn a_pause_with_an_end_lapses_by_itself() {
        let since = Some(now().naive_utc() - Duration::hours(1));
        assert!(!in_force(None, None, now()));
        assert!(in_force(since, None, now()));
        let end = now().naive_utc() + Duration::minutes(5);
        assert!(in_force(since, Some(end), now()));
        assert!(!in_force(since, Some(end), now() + Duration::minutes(5)));
    }
}
