//! The middleware that verifies each request's token once, checks its
//! business and partner client are known, and keeps the caller for the
//! extractors.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::header, web, HttpRequest};

use super::keys::TokenKeys;
use super::Principal;
use crate::domain::roles::Role;
use crate::error::AppError;

pub(crate) fn principal_from(req: &HttpRequest) -> Result<Option<Principal>, AppError> {
    // The limiter, the idempotency middleware and the handler all ask; the
    // token is verified once per request (by `verify_callers`) and the
    // answer kept with it.
    use actix_web::HttpMessage;
    if let Some(VerifiedCaller(known)) = req.extensions().get::<VerifiedCaller>() {
        return known.clone();
    }
    // Only outside the middleware (a unit test's bare request): no
    // database at hand to ask whether the business exists.
    verify_caller(req)
}

/// A request's caller once its token has been verified (`Ok(None)`: no
/// token; `Err`: the token is refused, and every extractor says so).
#[derive(Clone)]
struct VerifiedCaller(Result<Option<Principal>, AppError>);

/// Businesses this process has seen exist. Businesses are never deleted, so
/// a token's business costs one primary-key lookup per process, not one per
/// request; only businesses that exist are remembered, so forged-looking
/// ids cannot grow it.
#[derive(Default)]
pub struct KnownBusinesses(std::sync::RwLock<std::collections::HashSet<String>>);

impl KnownBusinesses {
    fn contains(&self, id: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    fn remember(&self, id: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
    }
}

/// The middleware that verifies a request's bearer token once, before
/// anything looks at the caller: signature and claims, then that the
/// business it names exists (a token for a business that does not exist
/// is 401 on every route, never a 404 on some and a foreign-key 500 on
/// others). Requests without a token cost nothing here.
pub async fn verify_callers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let mut outcome = verify_caller(req.request());
    if let Ok(Some(principal)) = &mut outcome {
        let checked = match principal.client_id.clone() {
            Some(client_id) => check_client(&req, principal, &client_id).await,
            None => check_business(&req, &principal.business_id).await,
        };
        if let Err(refusal) = checked {
            outcome = Err(refusal);
        }
    }
    req.extensions_mut().insert(VerifiedCaller(outcome));
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

async fn check_business(req: &ServiceRequest, business_id: &str) -> Result<(), AppError> {
    let (Some(known), Some(pool)) = (
        req.app_data::<web::Data<KnownBusinesses>>(),
        req.app_data::<web::Data<crate::db::DbPool>>(),
    ) else {
        return Err(AppError::internal("the caller check has no database"));
    };
    if known.contains(business_id) {
        return Ok(());
    }
    let id = business_id.to_owned();
    let exists = crate::db::blocking(pool, move |conn| {
        crate::store::businesses::exists(conn, &id)
    })
    .await?;
    if !exists {
        return Err(AppError::unauthenticated(
            "The token names a business that does not exist.",
        ));
    }
    known.remember(business_id);
    Ok(())
}

/// An access token's client must still exist, belong to the token's
/// business and be enabled: one primary-key lookup per request, so disabling
/// a client stops its live tokens at once, on every instance. Scopes taken
/// from the client since the token was issued are dropped from it too.
async fn check_client(
    req: &ServiceRequest,
    principal: &mut Principal,
    client_id: &str,
) -> Result<(), AppError> {
    let Some(pool) = req.app_data::<web::Data<crate::db::DbPool>>() else {
        return Err(AppError::internal("the caller check has no database"));
    };
    let id = client_id.to_owned();
    let client =
        crate::db::blocking(pool, move |conn| crate::store::clients::by_id(conn, &id)).await?;
    match client {
        Some(client) if client.business_id == principal.business_id && !client.disabled => {
            let allowed = client.scope_list();
            principal.scopes.retain(|s| allowed.contains(s));
            Ok(())
        }
        Some(client) if client.disabled => Err(AppError::unauthenticated(
            "The partner client of this token is disabled.",
        )),
        _ => Err(AppError::unauthenticated(
            "The token names a partner client that does not exist.",
        )),
    }
}

fn verify_caller(req: &HttpRequest) -> Result<Option<Principal>, AppError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    // Two sets of credentials leave it open which one acts: refuse both.
    if values.next().is_some() {
        return Err(AppError::unauthenticated(
            "Send one Authorization header, not several.",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AppError::unauthenticated("The Authorization header is not valid text."))?;
    // The scheme is case-insensitive (RFC 7235 §2.1): `bearer`, `BEARER`.
    let token = value
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        .ok_or_else(|| AppError::unauthenticated("Use `Authorization: Bearer <token>`."))?;
    let keys = req
        .app_data::<web::Data<TokenKeys>>()
        .ok_or_else(|| AppError::internal("token keys are not configured"))?;
    let claims = keys.verify(token)?;
    Ok(Some(Principal {
        subject: claims.sub,
        role: claims.role,
        business_id: claims.business,
        scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
        client_id: claims.client_id.filter(|_| claims.role == Role::Partner),
    }))
}
