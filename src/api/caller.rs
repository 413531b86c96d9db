//! Who is calling the booking endpoints and through which door: the channel
//! is derived from the caller, never taken from a body.

use actix_web::web;

use super::auth::{Principal, Role};
use crate::domain::catalog::Channel;
use crate::domain::policy::{apply_override, Override, Violation};
use crate::error::AppError;
use crate::store::bookings::{Actor, MadeBy, Waiver};

/// A caller of the booking flow: anonymous (the online widget) or a token holder.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// anonymous and customer → online; agent → phone; desk → walk_in;
    /// partner → partner. Managers and admins booking for someone act as the
    /// phone line does: an assisted booking.
    pub fn channel(&self) -> Channel {
        match self.0.as_ref().map(|p| p.role) {
            None | Some(Role::Customer) => Channel::Online,
            Some(Role::Agent | Role::Manager | Role::Admin) => Channel::Phone,
            Some(Role::Desk) => Channel::WalkIn,
            Some(Role::Partner) => Channel::Partner,
        }
    }

    /// The business the caller acts in; `None` for anonymous callers, whose
    /// business follows from the service or hold they name.
    pub fn business(&self) -> Option<&str> {
        self.0.as_ref().map(|p| p.business_id.as_str())
    }

    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }

    pub fn is_staff(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|p| Principal::STAFF.contains(&p.role))
    }

    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|p| p.role)
    }

    /// For customer tokens, the customer they stand for: such callers see and
    /// change only that customer's bookings.
    pub fn own_customer(&self) -> Option<String> {
        self.0
            .as_ref()
            .filter(|p| p.role == Role::Customer)
            .map(|p| p.subject.clone())
    }

    /// For partner tokens without `bookings:read:all`, the partner whose
    /// bookings they are limited to: its client, or for a token minted by
    /// hand its subject.
    pub fn own_partner(&self) -> Option<MadeBy> {
        self.0
            .as_ref()
            .filter(|p| p.partner_limited_to_own())
            .map(|p| match &p.client_id {
                Some(client) => MadeBy::Client(client.clone()),
                None => MadeBy::Subject(p.subject.clone()),
            })
    }

    pub fn actor(&self) -> Actor {
        match &self.0 {
            None => Actor {
                subject: "anonymous".into(),
                role: "anonymous".into(),
                channel: self.channel().as_str().into(),
                client_id: None,
            },
            Some(p) => Actor {
                subject: p.subject.clone(),
                role: p.role.as_str().into(),
                channel: self.channel().as_str().into(),
                client_id: p.client_id.clone(),
            },
        }
    }

    /// 403 unless staff, or a partner holding `scope`.
    pub fn require_staff_or_partner(&self, scope: &str) -> Result<&Principal, AppError> {
        let principal = self.require_token()?;
        principal.require_staff_or_partner_scope(scope)?;
        Ok(principal)
    }

    pub fn require_token(&self) -> Result<&Principal, AppError> {
        self.0
            .as_ref()
            .ok_or_else(|| AppError::unauthenticated("This endpoint needs a bearer token."))
    }

    /// Partners need `scope`; everyone else passes (their own rules apply).
    pub fn require_partner_scope(&self, scope: &str) -> Result<(), AppError> {
        match &self.0 {
            Some(p) if p.role == Role::Partner => p.require_staff_or_partner_scope(scope),
            _ => Ok(()),
        }
    }

    /// Partners may create and change bookings only with `bookings:write`.
    pub fn require_may_book(&self) -> Result<(), AppError> {
        match &self.0 {
            Some(p) if p.role == Role::Partner => {
                p.require_staff_or_partner_scope("bookings:write")
            }
            _ => Ok(()),
        }
    }

    /// Weighs policy violations against an override: only staff may override
    /// (403 for anyone else who tries), the reason must be written, and any
    /// rule not named stays a 422 `policy_violation`.
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
}

/// The caller of a request that may be anonymous.
pub fn caller(maybe: super::auth::MaybePrincipal) -> Caller {
    Caller(maybe.0)
}

/// Settings the booking endpoints read.
#[derive(Debug, Clone)]
pub struct BookingSettings {
    pub hold_ttl: chrono::Duration,
}

/// Parses a body that may be empty (lifecycle POSTs) with the same error
/// rules as JSON bodies elsewhere: syntax → 400, shape → 422.
pub fn optional_body<T: serde::de::DeserializeOwned + Default>(
    body: &web::Bytes,
) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::malformed_json(format!("The body is not valid JSON: {e}")))?;
    // `null` is as good as no body, as the OpenAPI document says.
    if value.is_null() {
        return Ok(T::default());
    }
    super::input::body_from_value(value)
}
