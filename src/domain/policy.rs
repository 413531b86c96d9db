//! Service standards: the per-service rules every channel obeys (channels
//! allowed, minimum notice, maximum advance, cancel and reschedule cutoffs),
//! and staff overrides of named rules with a written reason.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::Channel;

/// A named rule of a service's policy; the `rule` of a `policy_violation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Channels,
    MinNotice,
    MaxAdvance,
    CancelCutoff,
    RescheduleCutoff,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Channels => "channels",
            Rule::MinNotice => "min_notice",
            Rule::MaxAdvance => "max_advance",
            Rule::CancelCutoff => "cancel_cutoff",
            Rule::RescheduleCutoff => "reschedule_cutoff",
        }
    }
}

/// The policy of one service.
#[derive(Debug, Clone)]
pub struct Policy {
    pub channels: Vec<Channel>,
    pub min_notice: Duration,
    pub max_advance: Duration,
    pub cancel_cutoff: Duration,
    pub reschedule_cutoff: Duration,
}

/// A rule the request breaks, with words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub detail: String,
}

fn minutes(d: Duration) -> i64 {
    d.num_minutes()
}

impl Policy {
    /// Whether the service may be booked through `channel` at all.
    pub fn allows(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    /// The channels rule alone: for a walk-in, who is already here, notice
    /// and advance do not apply.
    pub fn check_channel(&self, channel: Channel) -> Option<Violation> {
        (!self.allows(channel)).then(|| Violation {
            rule: Rule::Channels,
            detail: format!(
                "This service cannot be booked through the {} channel.",
                channel.as_str()
            ),
        })
    }

    /// Rules broken by taking a slot starting at `start` through `channel` at `now`.
    pub fn check_new_slot(
        &self,
        channel: Channel,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Violation> {
        let mut broken: Vec<Violation> = self.check_channel(channel).into_iter().collect();
        if start < now + self.min_notice {
            broken.push(Violation {
                rule: Rule::MinNotice,
                detail: format!(
                    "This service needs at least {} minutes' notice.",
                    minutes(self.min_notice)
                ),
            });
        }
        if start > now + self.max_advance {
            broken.push(Violation {
                rule: Rule::MaxAdvance,
                detail: format!(
                    "This service can be booked at most {} minutes ahead.",
                    minutes(self.max_advance)
                ),
            });
        }
        broken
    }

    /// Rules broken by cancelling a booking that starts at `start`.
    pub fn check_cancel(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Violation> {
        if now > start - self.cancel_cutoff {
            vec![Violation {
                rule: Rule::CancelCutoff,
                detail: format!(
                    "Bookings of this service can be cancelled up to {} minutes before they start.",
                    minutes(self.cancel_cutoff)
                ),
            }]
        } else {
            Vec::new()
        }
    }

    /// Rules broken by moving a booking from `old_start` to `new_start`.
    pub fn check_reschedule(
        &self,
        channel: Channel,
        old_start: DateTime<Utc>,
        new_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Violation> {
        let mut broken = Vec::new();
        if now > old_start - self.reschedule_cutoff {
            broken.push(Violation {
                rule: Rule::RescheduleCutoff,
                detail: format!(
                    "Bookings of this service can be moved up to {} minutes before they start.",
                    minutes(self.reschedule_cutoff)
                ),
            });
        }
        broken.extend(self.check_new_slot(channel, new_start, now));
        broken
    }
}

/// A staff member's decision to set rules aside, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The rules to set aside.
    pub rules: Vec<Rule>,
    /// Why; stored in the booking's history.
    pub reason: String,
}

/// The outcome of weighing violations against an override: the first rule
/// still broken, or the rules the override actually set aside.
pub fn apply_override(
    violations: Vec<Violation>,
    granted: Option<&Override>,
) -> Result<Vec<Rule>, Violation> {
    let mut waived = Vec::new();
    for violation in violations {
        match granted {
            Some(o) if o.rules.contains(&violation.rule) => waived.push(violation.rule),
            _ => return Err(violation),
        }
    }
    Ok(waived)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            channels: vec![Channel::Online, Channel::Phone],
            min_notice: Duration::minutes(60),
            max_advance: Duration::days(30),
            cancel_cutoff: Duration::hours(24),
            reschedule_cutoff: Duration::hours(12),
        }
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(hours)
    }

    fn rules(v: &[Violation]) -> Vec<Rule> {
        v.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_new_slot_must_respect_channels_notice_and_window() {
        let p = policy();
        assert!(p.check_new_slot(Channel::Online, at(2), at(0)).is_empty());
        assert_eq!(
            rules(&p.check_new_slot(Channel::WalkIn, at(2), at(0))),
            [Rule::Channels]
        );
        assert_eq!(
            rules(&p.check_new_slot(Channel::Phone, at(0) + Duration::minutes(59), at(0))),
            [Rule::MinNotice]
        );
        assert!(p
            .check_new_slot(Channel::Phone, at(0) + Duration::minutes(60), at(0))
            .is_empty());
        assert_eq!(
            rules(&p.check_new_slot(Channel::Phone, at(31 * 24), at(0))),
            [Rule::MaxAdvance]
        );
    }

    #[test]
    fn cancel_and_reschedule_cutoffs_count_back_from_the_start() {
        let p = policy();
        assert!(p.check_cancel(at(24), at(0)).is_empty());
        assert_eq!(rules(&p.check_cancel(at(23), at(0))), [Rule::CancelCutoff]);
        assert!(p
            .check_reschedule(Channel::Online, at(12), at(48), at(0))
            .is_empty());
        assert_eq!(
            rules(&p.check_reschedule(Channel::Online, at(11), at(0), at(0))),
            [Rule::RescheduleCutoff, Rule::MinNotice]
        );
    }

    #[test]
    fn an_override_waives_only_the_rules_it_names() {
        let broken = policy().check_new_slot(Channel::WalkIn, at(0), at(0));
        let partial = Override {
            rules: vec![Rule::Channels],
            reason: "regular".into(),
        };
        assert_eq!(
            apply_override(broken.clone(), Some(&partial))
                .unwrap_err()
                .rule,
            Rule::MinNotice
        );
        let full = Override {
            rules: vec![Rule::MinNotice, Rule::Channels],
            reason: "regular".into(),
        };
        assert_eq!(
            apply_override(broken.clone(), Some(&full)).unwrap(),
            [Rule::Channels, Rule::MinNotice]
        );
        assert_eq!(
            apply_override(broken, None).unwrap_err().rule,
            Rule::Channels
        );
        assert!(apply_override(Vec::new(), None).unwrap().is_empty());
    }
}
