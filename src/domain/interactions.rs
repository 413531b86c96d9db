//! Assisted contacts: their vocabulary (channel, outcome, intent code) and the
//! two rules read from their history — first-contact resolution and open
//! follow-ups.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the customer reached the business for an assisted contact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Phone,
    WalkIn,
    Chat,
    Email,
    Social,
    Online,
}

impl ContactChannel {
    pub const ALL: [ContactChannel; 6] = [
        ContactChannel::Phone,
        ContactChannel::WalkIn,
        ContactChannel::Chat,
        ContactChannel::Email,
        ContactChannel::Social,
        ContactChannel::Online,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Phone => "phone",
            ContactChannel::WalkIn => "walk_in",
            ContactChannel::Chat => "chat",
            ContactChannel::Email => "email",
            ContactChannel::Social => "social",
            ContactChannel::Online => "online",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// How a contact ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    FollowUp,
    Escalated,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Resolved, Outcome::FollowUp, Outcome::Escalated];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::FollowUp => "follow_up",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// An intent code: 1 to 64 of `a-z 0-9 _ . -`, starting with a letter, so it
/// reads well in reports and URLs (`reschedule`, `billing.refund`).
pub fn check_intent_code(code: &str) -> Result<String, String> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if ok {
        Ok(code.to_owned())
    } else {
        Err("must be 1 to 64 of a-z, 0-9, _ . - starting with a letter".into())
    }
}

/// Default look-back of first-contact resolution.
pub const DEFAULT_FCR_WINDOW_DAYS: i64 = 7;

/// What the contact rules need to know of one interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub customer_id: Option<String>,
    pub intent_code: String,
    pub outcome: Outcome,
    pub at: NaiveDateTime,
}

/// First-contact resolution: the contact was resolved, and the same customer
/// had no contact about the same intent in the `window` before it. The window
/// is closed at its start — a contact exactly `window` earlier still counts as
/// a previous contact — and open at its end, so a contact at the same instant
/// is not "previous". A contact without a known customer cannot be a repeat,
/// so it is FCR when resolved.
pub fn is_first_contact_resolution(
    contact: &ContactRecord,
    history: &[ContactRecord],
    window: Duration,
) -> bool {
    if contact.outcome != Outcome::Resolved {
        return false;
    }
    let Some(customer) = &contact.customer_id else {
        return true;
    };
    !history.iter().any(|earlier| {
        earlier.customer_id.as_ref() == Some(customer)
            && earlier.intent_code == contact.intent_code
            && earlier.at < contact.at
            && earlier.at >= contact.at - window
    })
}

/// Contacts left open: a `follow_up` or `escalated` contact stays open until a
/// later contact of the same customer about the same intent is `resolved`.
/// Returns the indexes of the open ones, in the order given.
pub fn open_follow_ups(records: &[ContactRecord]) -> Vec<usize> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.outcome != Outcome::Resolved)
        .filter(|(_, r)| {
            !records.iter().any(|later| {
                later.outcome == Outcome::Resolved
                    && later.customer_id == r.customer_id
                    && later.intent_code == r.intent_code
                    && later.at > r.at
            })
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    fn record(
        customer: Option<&str>,
        intent: &str,
        outcome: Outcome,
        when: NaiveDateTime,
    ) -> ContactRecord {
        ContactRecord {
            customer_id: customer.map(str::to_owned),
            intent_code: intent.into(),
            outcome,
            at: when,
        }
    }

    const WEEK: i64 = 7;

    #[test]
    fn a_resolved_first_contact_is_fcr() {
        let call = record(Some("c1"), "reschedule", Outcome::Resolved, at(10, 9));
        assert!(is_first_contact_resolution(
            &call,
            std::slice::from_ref(&call),
            Duration::days(WEEK)
        ));
    }

    #[test]
    fn an_unresolved_contact_is_never_fcr() {
        for outcome in [Outcome::FollowUp, Outcome::Escalated] {
            let call = record(Some("c1"), "reschedule", outcome, at(10, 9));
            assert!(!is_first_contact_resolution(
                &call,
                &[],
                Duration::days(WEEK)
            ));
        }
    }

    #[test]
    fn a_contact_within_the_window_makes_it_a_repeat() {
        let earlier = record(Some("c1"), "reschedule", Outcome::FollowUp, at(5, 9));
        let call = record(Some("c1"), "reschedule", Outcome::Resolved, at(10, 9));
        assert!(!is_first_contact_resolution(
            &call,
            &[earlier],
            Duration::days(WEEK)
        ));
    }

    #[test]
    fn exactly_the_window_earlier_still_counts_but_a_moment_more_does_not() {
        let call = record(Some("c1"), "reschedule", Outcome::Resolved, at(10, 9));
        let exactly = record(Some("c1"), "reschedule", Outcome::Resolved, at(3, 9));
        assert!(!is_first_contact_resolution(
            &call,
            &[exactly],
            Duration::days(WEEK)
        ));
        let older = record(
            Some("c1"),
            "reschedule",
            Outcome::Resolved,
            at(3, 9) - Duration::seconds(1),
        );
        assert!(is_first_contact_resolution(
            &call,
            &[older],
            Duration::days(WEEK)
        ));
    }

    #[test]
    fn another_intent_or_customer_is_not_a_repeat() {
        let call = record(Some("c1"), "reschedule", Outcome::Resolved, at(10, 9));
        let other_intent = record(Some("c1"), "billing", Outcome::Resolved, at(9, 9));
        let other_customer = record(Some("c2"), "reschedule", Outcome::Resolved, at(9, 9));
        let later = record(Some("c1"), "reschedule", Outcome::Resolved, at(11, 9));
        assert!(is_first_contact_resolution(
            &call,
            &[other_intent, other_customer, later],
            Duration::days(WEEK)
        ));
    }

    #[test]
    fn the_window_is_configurable() {
        let earlier = record(Some("c1"), "reschedule", Outcome::Resolved, at(5, 9));
        let call = record(Some("c1"), "reschedule", Outcome::Resolved, at(10, 9));
        assert!(is_first_contact_resolution(
            &call,
            std::slice::from_ref(&earlier),
            Duration::days(3)
        ));
        assert!(!is_first_contact_resolution(
            &call,
            &[earlier],
            Duration::days(30)
        ));
    }

    #[test]
    fn contacts_without_a_customer_are_fcr_when_resolved() {
        let earlier = record(None, "hours", Outcome::Resolved, at(9, 9));
        let call = record(None, "hours", Outcome::Resolved, at(10, 9));
        assert!(is_first_contact_resolution(
            &call,
            &[earlier],
            Duration::days(WEEK)
        ));
    }

    #[test]
    fn follow_ups_stay_open_until_a_later_resolution_of_the_same_intent() {
        let records = vec![
            record(Some("c1"), "refund", Outcome::FollowUp, at(1, 9)),
            record(Some("c1"), "refund", Outcome::Resolved, at(2, 9)),
            record(Some("c1"), "complaint", Outcome::Escalated, at(3, 9)),
            record(Some("c1"), "refund", Outcome::FollowUp, at(4, 9)),
            record(Some("c1"), "billing", Outcome::Resolved, at(5, 9)),
        ];
        assert_eq!(open_follow_ups(&records), vec![2, 3]);
    }

    #[test]
    fn intent_codes_are_checked() {
        assert_eq!(
            check_intent_code(" billing.refund ").as_deref(),
            Ok("billing.refund")
        );
        for bad in ["", "Billing", "9lives", "has space", &"x".repeat(65)] {
            assert!(check_intent_code(bad).is_err(), "{bad}");
        }
    }
}
