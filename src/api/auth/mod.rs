//! Bearer-token authentication: the JWT claims, minting dev tokens, strict
//! validation (RFC 8725: algorithm pinned, `exp`/`iss`/`aud`/`sub` required,
//! `nbf` checked, `typ` a JWT, `iat` not in the future, `sub` not empty),
//! the middleware that verifies each request's token once, and the
//! `Principal` extractor handlers ask for. This file holds the principal and
//! its extractors; `keys` the tokens, `verify` the middleware.

mod keys;
#[cfg(test)]
mod tests;
mod verify;

pub use keys::{Claims, TokenKeys};
pub(crate) use verify::principal_from;
pub use verify::{verify_callers, KnownBusinesses};

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::error::AppError;

pub use crate::domain::roles::Role;

/// An authenticated caller: its role, its business, and who it is.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub business_id: String,
    pub scopes: Vec<String>,
    /// The partner client behind an access token from `POST /v1/oauth/token`;
    /// `None` for every other token (staff, customers, partner tokens minted
    /// with the server's own secret by `slotwise token`).
    pub client_id: Option<String>,
}

impl Principal {
    /// Staff who run the business day to day.
    pub const STAFF: &'static [Role] = Role::STAFF;
    /// Those who shape the catalog, hours and pauses.
    pub const MANAGERS: &'static [Role] = Role::MANAGERS;

    /// 403 unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "The {} role may not do this.",
                self.role.as_str()
            )))
        }
    }

    /// Staff roles, or a partner holding `scope`.
    pub fn require_staff_or_partner_scope(&self, scope: &str) -> Result<(), AppError> {
        if self.role == Role::Partner && self.has_scope(scope) {
            return Ok(());
        }
        self.require(Self::STAFF)
    }

    /// Whether the token carries `scope`; `bookings:read:all` includes
    /// `bookings:read`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s == scope || (scope == "bookings:read" && s == "bookings:read:all"))
    }

    /// Partners without `bookings:read:all` see and change only the
    /// bookings they made; everyone else is not narrowed this way.
    pub fn partner_limited_to_own(&self) -> bool {
        self.role == Role::Partner && !self.has_scope("bookings:read:all")
    }
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req).and_then(|p| {
            p.ok_or_else(|| AppError::unauthenticated("This endpoint needs a bearer token."))
        }))
    }
}

/// A caller who may be anonymous (the online widget); a token, if sent, must be valid.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequest for MaybePrincipal {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(principal_from(req).map(MaybePrincipal))
    }
}
