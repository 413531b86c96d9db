//! Who is calling the booking endpoints and through which door: the channel
//! is derived from the caller, never taken from a body.

use actix_web::web;

use super::auth::{Principal, Role};
use crate::booking::Requester;
use crate::error::AppError;
use crate::store::bookings::{Actor, MadeBy};

/// A caller of the booking flow: anonymous (the online widget) or a token holder.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The booking path's view of the caller: role, person, business,
    /// partner client and door, with the token left behind.
    pub fn requester(&self) -> Requester {
        match &self.0 {
            None => Requester::anonymous(),
            Some(p) => {
                let limited_to = p.partner_limited_to_own().then(|| match &p.client_id {
                    Some(client) => MadeBy::Client(client.clone()),
                    None => MadeBy::Subject(p.subject.clone()),
                });
                Requester::known(
                    p.role,
                    &p.subject,
                    &p.business_id,
                    p.client_id.as_deref(),
                    limited_to,
                )
            }
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

    /// How a change by this caller is recorded.
    pub fn actor(&self) -> Actor {
        self.requester().actor()
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
