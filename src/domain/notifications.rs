//! What customers are told and when, without I/O: the kinds of notification,
//! the decision at send time (still true? which channel?), reminder rules,
//! and the text of each message.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::customer::ContactPreference;

/// Why a customer hears from the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Confirmation,
    Change,
    Cancellation,
    Reminder,
    FollowUp,
    /// A broadcast: running late, a disruption, a closure.
    Notice,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Confirmation,
        Kind::Change,
        Kind::Cancellation,
        Kind::Reminder,
        Kind::FollowUp,
        Kind::Notice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Confirmation => "confirmation",
            Kind::Change => "change",
            Kind::Cancellation => "cancellation",
            Kind::Reminder => "reminder",
            Kind::FollowUp => "follow_up",
            Kind::Notice => "notice",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a message can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

/// The most reminder rules a service may have, and the furthest ahead one may be.
pub const MAX_REMINDERS: usize = 5;
pub const MAX_REMINDER_MINUTES: i64 = 30 * 24 * 60;

/// Checks reminder rules (minutes before the start) and stores them as text.
pub fn check_reminders(minutes: &[i64]) -> Result<String, String> {
    if minutes.len() > MAX_REMINDERS {
        return Err(format!("at most {MAX_REMINDERS} reminders"));
    }
    let mut sorted = minutes.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    if sorted.len() != minutes.len() {
        return Err("names the same reminder twice".into());
    }
    if let Some(bad) = sorted
        .iter()
        .find(|m| !(1..=MAX_REMINDER_MINUTES).contains(*m))
    {
        return Err(format!(
            "before_minutes must be 1 to {MAX_REMINDER_MINUTES}, got {bad}"
        ));
    }
    Ok(sorted
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

/// Reminder rules as stored, furthest ahead first.
pub fn parse_reminders(stored: &str) -> Vec<i64> {
    stored
        .split(',')
        .filter_map(|m| m.trim().parse().ok())
        .collect()
}

/// When a reminder `before_minutes` ahead of `start` is due.
pub fn reminder_due(start: DateTime<Utc>, before_minutes: i64) -> DateTime<Utc> {
    start - Duration::minutes(before_minutes)
}

/// The booking as it is at send time.
#[derive(Debug, Clone)]
pub struct BookingNow<'a> {
    pub status: &'a str,
    pub version: i32,
    pub starts_at: DateTime<Utc>,
}

/// Whether a scheduled message still tells the truth when it is sent; the
/// reason it is skipped when not. Planned for `planned_version` of the booking.
pub fn still_true(
    kind: Kind,
    planned_version: Option<i32>,
    booking: &BookingNow<'_>,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    let moved = planned_version.is_some_and(|v| v != booking.version);
    match kind {
        Kind::Confirmation | Kind::Change if booking.status == "cancelled" => Err("cancelled"),
        // A later change supersedes this one (and has its own message).
        Kind::Change if moved => Err("superseded"),
        // Nothing to confirm once the time has come: a visit entered after
        // the fact, or a walk-in served on the spot.
        Kind::Confirmation | Kind::Change if booking.starts_at <= now => Err("too_late"),
        Kind::Confirmation | Kind::Change => Ok(()),
        Kind::Cancellation if booking.status == "cancelled" => Ok(()),
        Kind::Cancellation => Err("no_longer_cancelled"),
        Kind::Reminder if booking.status == "cancelled" => Err("cancelled"),
        Kind::Reminder if moved => Err("moved"),
        Kind::Reminder if booking.status != "confirmed" => Err("already_arrived"),
        Kind::Reminder if booking.starts_at <= now => Err("too_late"),
        Kind::Reminder => Ok(()),
        Kind::FollowUp if booking.status == "completed" => Ok(()),
        Kind::FollowUp => Err("not_completed"),
        Kind::Notice if booking.status == "cancelled" => Err("cancelled"),
        // Served or gone meanwhile: the notice is news no longer.
        Kind::Notice if matches!(booking.status, "in_service" | "completed" | "no_show") => {
            Err("too_late")
        }
        Kind::Notice => Ok(()),
    }
}

/// What can reach the customer: their details, and which senders exist.
#[derive(Debug, Clone, Default)]
pub struct Reach<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub preferred: Option<ContactPreference>,
    pub email_sender: bool,
    pub text_sender: bool,
}

/// The channel and address to use: the customer's preference where it can be
/// honoured, else email, else SMS. Errs with `no_sender` when nothing is
/// configured to send, `no_address` when the customer gave no way to reach them
/// by what is configured.
pub fn choose_channel<'a>(reach: &Reach<'a>) -> Result<(Channel, &'a str), &'static str> {
    if !reach.email_sender && !reach.text_sender {
        return Err("no_sender");
    }
    let email = reach.email.filter(|_| reach.email_sender);
    let phone = reach.phone.filter(|_| reach.text_sender);
    let preferred = match reach.preferred {
        Some(ContactPreference::Email) => email.map(|a| (Channel::Email, a)),
        Some(ContactPreference::Sms) | Some(ContactPreference::Phone) => {
            phone.map(|a| (Channel::Sms, a))
        }
        Some(ContactPreference::Whatsapp) => phone.map(|a| (Channel::Whatsapp, a)),
        None => None,
    };
    preferred
        .or(email.map(|a| (Channel::Email, a)))
        .or(phone.map(|a| (Channel::Sms, a)))
        .ok_or("no_address")
}

/// The facts a message is written from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub business: &'a str,
    pub customer: &'a str,
    pub service: &'a str,
    pub location: &'a str,
    pub reference: &'a str,
    pub starts_at: DateTime<Utc>,
    pub zone: Tz,
    /// The survey's address, for a follow-up.
    pub feedback_link: Option<&'a str>,
    /// What a broadcast says (see [`notice_line`]).
    pub notice: Option<&'a str>,
}

/// The line a broadcast sends: the delay in words when running late, then the
/// business's own message.
pub fn notice_line(running_late_minutes: Option<i64>, message: &str) -> String {
    match running_late_minutes {
        Some(m) => format!("We are running about {m} minutes late. {message}"),
        None => message.to_owned(),
    }
}

/// A message ready for any sender: a subject (email) and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

/// Whatever delivers messages: the worker's SMTP and HTTP senders, or a
/// test's own. Only the decision of what to send lives here.
pub trait Sender {
    fn sends_email(&self) -> bool;
    fn sends_text(&self) -> bool;
    /// The survey page's address for a feedback token.
    fn feedback_link(&self, token: &str) -> String;
    fn send(&self, channel: Channel, to: &str, message: &Message) -> Result<(), String>;
}

/// Writes the message of `kind`, times in the location's own zone.
pub fn render(kind: Kind, facts: &Facts<'_>) -> Message {
    let when = facts
        .starts_at
        .with_timezone(&facts.zone)
        .format("%A %-d %B %Y at %H:%M")
        .to_string();
    let what = format!("{} at {}, {}", facts.service, facts.location, when);
    let (subject, line) = match kind {
        Kind::Confirmation => (
            format!("Booked: {} on {}", facts.service, when),
            format!("Your booking is confirmed: {what}."),
        ),
        Kind::Change => (
            format!("Moved: {} now on {}", facts.service, when),
            format!("Your booking has moved. It is now: {what}."),
        ),
        Kind::Cancellation => (
            format!("Cancelled: {} on {}", facts.service, when),
            format!("Your booking for {what} is cancelled."),
        ),
        Kind::Reminder => (
            format!("Reminder: {} on {}", facts.service, when),
            format!("A reminder of your booking: {what}."),
        ),
        Kind::Notice => (
            format!("Update: {} on {}", facts.service, when),
            format!(
                "About your booking for {what}: {}",
                facts.notice.unwrap_or("please contact us.")
            ),
        ),
        Kind::FollowUp => (
            format!("How was your {}?", facts.service),
            format!(
                "Thank you for visiting {}. Tell us how it went: {}",
                facts.location,
                facts.feedback_link.unwrap_or("reply to this message")
            ),
        ),
    };
    Message {
        subject: format!("{} – {}", subject, facts.business),
        body: format!(
            "Hello {},\n\n{}\nReference: {}\n\n{}\n",
            facts.customer, line, facts.reference, facts.business
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn booking(status: &str, version: i32) -> BookingNow<'_> {
        BookingNow {
            status,
            version,
            starts_at: Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 9, 10, 0, 0).unwrap()
    }

    #[test]
    fn reminders_only_for_the_booking_they_were_planned_for() {
        assert_eq!(
            still_true(Kind::Reminder, Some(1), &booking("confirmed", 1), now()),
            Ok(())
        );
        assert_eq!(
            still_true(Kind::Reminder, Some(1), &booking("cancelled", 2), now()),
            Err("cancelled")
        );
        assert_eq!(
            still_true(Kind::Reminder, Some(1), &booking("confirmed", 2), now()),
            Err("moved")
        );
        assert_eq!(
            still_true(Kind::Reminder, Some(1), &booking("checked_in", 1), now()),
            Err("already_arrived")
        );
        let late = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        assert_eq!(
            still_true(Kind::Reminder, Some(1), &booking("confirmed", 1), late),
            Err("too_late")
        );
    }

    #[test]
    fn other_kinds_check_what_they_announce() {
        let b = booking("cancelled", 3);
        assert_eq!(
            still_true(Kind::Confirmation, Some(1), &b, now()),
            Err("cancelled")
        );
        assert_eq!(still_true(Kind::Cancellation, Some(3), &b, now()), Ok(()));
        assert_eq!(
            still_true(Kind::Change, Some(2), &booking("confirmed", 3), now()),
            Err("superseded")
        );
        assert_eq!(
            still_true(Kind::Confirmation, Some(1), &booking("confirmed", 2), now()),
            Ok(())
        );
        assert_eq!(
            still_true(Kind::FollowUp, None, &booking("completed", 4), now()),
            Ok(())
        );
        let started = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        assert_eq!(
            still_true(
                Kind::Confirmation,
                Some(1),
                &booking("completed", 1),
                started
            ),
            Err("too_late")
        );
        assert_eq!(
            still_true(Kind::Change, Some(2), &booking("confirmed", 2), started),
            Err("too_late")
        );
    }

    #[test]
    fn the_channel_follows_preference_then_what_exists() {
        let mut reach = Reach {
            email: Some("a@b.test"),
            phone: Some("+447700900123"),
            preferred: Some(ContactPreference::Whatsapp),
            email_sender: true,
            text_sender: true,
        };
        assert_eq!(
            choose_channel(&reach),
            Ok((Channel::Whatsapp, "+447700900123"))
        );
        reach.text_sender = false;
        assert_eq!(choose_channel(&reach), Ok((Channel::Email, "a@b.test")));
        reach.email = None;
        assert_eq!(choose_channel(&reach), Err("no_address"));
        reach.email_sender = false;
        assert_eq!(choose_channel(&reach), Err("no_sender"));
    }

    #[test]
    fn reminder_rules_are_bounded_and_kept_furthest_first() {
        assert_eq!(check_reminders(&[120, 1440]).as_deref(), Ok("1440,120"));
        assert_eq!(check_reminders(&[]).as_deref(), Ok(""));
        assert!(check_reminders(&[0]).is_err());
        assert!(check_reminders(&[60, 60]).is_err());
        assert!(check_reminders(&[1, 2, 3, 4, 5, 6]).is_err());
        assert_eq!(parse_reminders("1440,120"), vec![1440, 120]);
        assert!(parse_reminders("").is_empty());
    }

    #[test]
    fn messages_give_the_local_time() {
        let facts = Facts {
            business: "Northside",
            customer: "Ada",
            service: "Haircut",
            location: "High Street",
            reference: "K7Q2MX",
            starts_at: Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).unwrap(),
            zone: chrono_tz::Europe::London,
            feedback_link: None,
            notice: None,
        };
        let m = render(Kind::Reminder, &facts);
        assert!(
            m.subject.contains("Wednesday 1 July 2026 at 10:30"),
            "{}",
            m.subject
        );
        assert!(m.body.contains("Hello Ada") && m.body.contains("K7Q2MX"));
    }
}
