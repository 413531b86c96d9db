//! Who asks for a booking or a change, in the booking path's own terms: the
//! role, the person, the business, the partner client and the door. The
//! HTTP layer builds one from a token; nothing here knows about tokens.

use crate::domain::catalog::Channel;
use crate::domain::policy::{apply_override, Override, Policy, Violation};
use crate::domain::roles::{door_of, Role};
use crate::error::AppError;
use crate::ids::CustomerId;
use crate::store::bookings::{Actor, Booking, MadeBy, Waiver};

/// The one asking: anonymous (the online widget) or a known person.
#[derive(Debug, Clone)]
pub struct Requester {
    known: Option<Known>,
    door: Channel,
}

#[derive(Debug, Clone)]
struct Known {
    role: Role,
    subject: String,
    business: String,
    client_id: Option<String>,
    /// For a customer token: the customer it stands for (its subject).
    customer: Option<CustomerId>,
    /// For partners not allowed to see every booking: whose bookings they
    /// are limited to.
    limited_to: Option<MadeBy>,
}

impl Requester {
    /// Someone on the public booking page, with no token.
    pub fn anonymous() -> Self {
        Self {
            known: None,
            door: door_of(None),
        }
    }

    /// A token holder, coming through the door their role books by.
    pub fn known(
        role: Role,
        subject: &str,
        business: &str,
        client_id: Option<&str>,
        limited_to: Option<MadeBy>,
    ) -> Self {
        Self {
            known: Some(Known {
                role,
                subject: subject.to_owned(),
                business: business.to_owned(),
                client_id: client_id.map(str::to_owned),
                customer: (role == Role::Customer).then(|| CustomerId::from(subject)),
                limited_to,
            }),
            door: door_of(Some(role)),
        }
    }

    /// The same person at another door: staff at the walk-in desk take
    /// walk-ins whatever their role.
    pub fn through(mut self, door: Channel) -> Self {
        self.door = door;
        self
    }

    pub fn channel(&self) -> Channel {
        self.door
    }

    /// The business they act in; `None` when anonymous, whose business
    /// follows from the service or hold they name.
    pub fn business(&self) -> Option<&str> {
        self.known.as_ref().map(|k| k.business.as_str())
    }

    pub fn role(&self) -> Option<Role> {
        self.known.as_ref().map(|k| k.role)
    }

    pub fn is_anonymous(&self) -> bool {
        self.known.is_none()
    }

    pub fn is_staff(&self) -> bool {
        self.role().is_some_and(Role::is_staff)
    }

    /// For customers, the customer they stand for: they see and change only
    /// that customer's bookings, and book only for them.
    pub fn own_customer(&self) -> Option<&CustomerId> {
        self.known.as_ref().and_then(|k| k.customer.as_ref())
    }

    /// For partners limited to their own bookings, whose those are.
    pub fn own_partner(&self) -> Option<&MadeBy> {
        self.known.as_ref().and_then(|k| k.limited_to.as_ref())
    }

    /// Whether the booking is theirs to act on: staff every booking of the
    /// business, customers their own, limited partners those they made.
    /// Anything else does not exist for them (404).
    pub fn may_touch(&self, booking: &Booking) -> Result<(), AppError> {
        let theirs = match self.role() {
            None => false,
            Some(Role::Customer) => self.own_customer() == Some(&booking.customer_id),
            Some(Role::Partner) => self.own_partner().is_none_or(|own| booking.made_by(own)),
            Some(_) => true,
        };
        if theirs {
            Ok(())
        } else {
            Err(AppError::not_found("booking"))
        }
    }

    /// A service not offered online does not exist for the public page
    /// (404): strangers learn nothing of what staff book by phone.
    pub fn ensure_offered(&self, policy: &Policy) -> Result<(), AppError> {
        if self.is_anonymous() && !policy.allows(Channel::Online) {
            return Err(AppError::not_found("service"));
        }
        Ok(())
    }

    /// Weighs policy violations against an override: only staff may
    /// override (403 for anyone else who tries), the reason must be
    /// written, and any rule not named stays a 422 `policy_violation`.
    pub fn weigh(
        &self,
        violations: Vec<Violation>,
        requested: Option<&Override>,
    ) -> Result<Waiver, AppError> {
        if let Some(o) = requested {
            if !self.is_staff() {
                return Err(AppError::forbidden(
                    "Only staff may override a service rule.",
                ));
            }
            if o.reason.trim().is_empty() {
                return Err(AppError::invalid_field(
                    "override.reason",
                    "say why the rule is set aside",
                ));
            }
            if o.rules.is_empty() {
                return Err(AppError::invalid_field(
                    "override.rules",
                    "name at least one rule",
                ));
            }
        }
        match apply_override(violations, requested) {
            Ok(waived) => Ok(Waiver {
                rules: waived.iter().map(|r| r.as_str().to_owned()).collect(),
                reason: requested.map(|o| o.reason.trim().to_owned()),
            }),
            Err(v) => Err(AppError::policy_violation(v.rule.as_str(), v.detail)),
        }
    }

    /// How the change is recorded in the history and `created_by`.
    pub fn actor(&self) -> Actor {
        let channel = self.door;
        match &self.known {
            None => Actor {
                subject: "anonymous".into(),
                role: "anonymous".into(),
                channel,
                client_id: None,
            },
            Some(k) => Actor {
                subject: k.subject.clone(),
                role: k.role.as_str().into(),
                channel,
                client_id: k.client_id.clone(),
            },
        }
    }
}
