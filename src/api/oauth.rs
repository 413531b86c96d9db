//! `POST /v1/oauth/token`: the client credentials grant (RFC 6749 §4.4) for
//! partner apps, answered with short-lived RFC 9068 access tokens; its
//! errors are RFC 6749 §5.2 JSON (`{error, error_description}`), not problem
//! details, because that is what OAuth client libraries read. Also the
//! per-client rate limit every partner token spends from.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{principal_from, Role, TokenKeys};
use super::blocking;
use crate::config::OnlineSettings;
use crate::db::DbPool;
use crate::domain::partners::{grant, scope_text};
use crate::error::AppError;
use crate::store;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/oauth/token", web::post().to(issue_token))
        .route("/.well-known/jwks.json", web::get().to(jwks));
}

/// How long an access token lives: short, so a token that leaks is worth
/// little, and a client's changes reach every token within this time even
/// where nothing checks (they are checked on every request here anyway).
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;

/// The fields of a token request (`application/x-www-form-urlencoded`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// `client_credentials`, the only grant offered.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Space-separated scopes, a subset of the client's; all of them when absent.
    #[schema(example = "availability:read bookings:write")]
    scope: Option<String>,
    /// Only when the client does not use HTTP Basic authentication.
    client_id: Option<String>,
    /// Only when the client does not use HTTP Basic authentication.
    client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1); no refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT with header `typ: at+jwt`; send it as `Authorization: Bearer …`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until it expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    #[schema(example = "availability:read bookings:write")]
    pub scope: String,
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_scope` or `unsupported_grant_type`.
    #[schema(example = "invalid_client")]
    pub error: &'static str,
    pub error_description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    fn invalid_client() -> Self {
        Self::new(
            "invalid_client",
            "Client authentication failed: unknown client, wrong secret, or a disabled client.",
        )
    }

    fn into_response(self) -> HttpResponse {
        let status = if self.error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = HttpResponse::build(status);
        no_store(&mut response);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"slotwise\""));
        }
        response.json(self)
    }
}

fn no_store(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
}

/// Percent-decodes one `application/x-www-form-urlencoded` value (`+` is a space).
fn form_decoded(text: &str) -> Option<String> {
    web::Query::<Vec<(String, String)>>::from_query(&format!("v={}", text.replace('&', "%26")))
        .ok()
        .and_then(|q| q.into_inner().into_iter().next().map(|(_, v)| v))
}

/// The client's credentials from `Authorization: Basic` (RFC 6749 §2.3.1:
/// id and secret form-encoded, then joined by `:` and base64-encoded).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::invalid_client())?;
    let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(OAuthError::invalid_client)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    match (form_decoded(id), form_decoded(secret)) {
        (Some(id), Some(secret)) => Ok(Some((id, secret))),
        _ => Err(OAuthError::invalid_client()),
    }
}

/// The form's parameters; each may appear once (RFC 6749 §3.2).
fn form_fields(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if form_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "Send the request as application/x-www-form-urlencoded.",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("The body is not UTF-8."))?;
    let fields = web::Query::<Vec<(String, String)>>::from_query(text)
        .map_err(|_| OAuthError::invalid_request("The body is not a form."))?
        .into_inner();
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(OAuthError::invalid_request(format!(
                "The parameter {name} is given more than once."
            )));
        }
    }
    Ok(fields)
}

/// What a token request asks for, read from the form and the
/// `Authorization` header: a client's credentials and, maybe, fewer scopes.
struct ClientGrant {
    client_id: String,
    secret: String,
    scope: Option<String>,
}

impl ClientGrant {
    /// Reads the request, refusing it as RFC 6749 §5.2 says: a form that is
    /// not one, a grant we do not offer, credentials missing or sent twice.
    fn read(req: &HttpRequest, body: &[u8]) -> Result<ClientGrant, OAuthError> {
        let fields = form_fields(req, body)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match field("grant_type").as_deref() {
            None | Some("") => {
                return Err(OAuthError::invalid_request(
                    "grant_type is required: use client_credentials.",
                ))
            }
            Some("client_credentials") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    "unsupported_grant_type",
                    format!("The grant type {other:?} is not offered; use client_credentials."),
                ))
            }
        }
        let in_form = (field("client_id"), field("client_secret"));
        let (client_id, secret) = match (basic_credentials(req)?, in_form) {
            (Some(_), (Some(_), _) | (_, Some(_))) => {
                return Err(OAuthError::invalid_request(
                    "Authenticate the client one way only: HTTP Basic or the form.",
                ))
            }
            (Some(credentials), _) => credentials,
            (None, (Some(id), Some(secret))) => (id, secret),
            (None, _) => return Err(OAuthError::invalid_client()),
        };
        Ok(ClientGrant {
            client_id,
            secret,
            scope: field("scope"),
        })
    }
}

/// Get an access token for a partner client (client credentials grant).
///
/// Authenticate with HTTP Basic (`client_id:client_secret`), or put
/// `client_id` and `client_secret` in the form. The token lasts 15 minutes;
/// ask for a new one when it runs out (there are no refresh tokens).
#[utoipa::path(
    post, path = "/v1/oauth/token", tag = "partners",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse, headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 400, body = OAuthError, description = "`invalid_request`, `invalid_scope` or `unsupported_grant_type`"),
        (status = 401, body = OAuthError, description = "`invalid_client`", headers(("WWW-Authenticate" = String, description = "Basic realm=\"slotwise\""))),
        (status = 429, response = crate::error::TooManyRequests),
    ),
    security(("client_basic" = []), ())
)]
pub async fn issue_token(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    keys: web::Data<TokenKeys>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    match token_for(&req, &pool, &keys, &body).await {
        Ok(Ok(token)) => {
            let mut response = HttpResponse::Ok();
            no_store(&mut response);
            Ok(response.json(token))
        }
        Ok(Err(refusal)) => Ok(refusal.into_response()),
        Err(failure) => Err(failure),
    }
}

/// The grant itself: `Err` for what went wrong on our side (a problem
/// response), `Ok(Err)` for what the client did wrong (an OAuth error).
async fn token_for(
    req: &HttpRequest,
    pool: &web::Data<DbPool>,
    keys: &TokenKeys,
    body: &[u8],
) -> Result<Result<TokenResponse, OAuthError>, AppError> {
    let asked = match ClientGrant::read(req, body) {
        Ok(asked) => asked,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let requested = asked.scope.clone();
    let now = store::now();
    let client = blocking(pool, move |conn| {
        store::clients::authenticate(conn, &asked.client_id, &asked.secret, now)
    })
    .await?;
    let Some(client) = client else {
        return Ok(Err(OAuthError::invalid_client()));
    };
    let scopes = match grant(&client.scope_list(), requested.as_deref()) {
        Ok(scopes) => scopes,
        Err(why) => return Ok(Err(OAuthError::new("invalid_scope", why))),
    };
    let scope = scope_text(&scopes);
    let access_token = keys
        .mint_access_token(
            &client.business_id,
            &client.id,
            &scope,
            ACCESS_TOKEN_SECONDS,
        )
        .map_err(AppError::internal)?;
    Ok(Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        scope,
    }))
}

/// The public keys that verify slotwise's tokens (RFC 7517), so a gateway or
/// a partner can check them without the secret. Only when an ES256 key is
/// configured (`SLOTWISE_JWT_ES256_KEY_FILE`); 404 otherwise, as the HS256
/// secret is never published.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "partners",
    responses(
        (status = 200, content_type = "application/json", body = Object, description = "`{keys: [JWK]}`: each key with `kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`", headers(("Cache-Control" = String))),
        (status = 404, response = crate::error::NotFound),
    ),
    security(())
)]
pub async fn jwks(keys: web::Data<TokenKeys>) -> Result<HttpResponse, AppError> {
    let set = keys
        .jwks()
        .ok_or_else(|| AppError::not_found("signing key set"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(set))
}

/// The per-client request budget of one process: a rate (GCRA, like the
/// strangers') and a quota per UTC day.
pub struct PartnerLimits {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
    per_day: u32,
    /// Requests counted today, per client: (the UTC day, how many).
    used_today: std::sync::Mutex<std::collections::HashMap<String, (chrono::NaiveDate, u32)>>,
}

impl PartnerLimits {
    pub fn new(settings: &OnlineSettings) -> Self {
        let limiter = NonZeroU32::new(settings.partner_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.partner_burst).unwrap_or(per_minute);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self {
            limiter,
            checks: AtomicU64::new(0),
            per_day: settings.partner_per_day,
            used_today: Default::default(),
        }
    }

    /// Counts one request against `client`'s quota for today, or says how
    /// many seconds until the quota renews (the next UTC midnight).
    fn spend_daily(&self, client: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), u64> {
        if self.per_day == 0 {
            return Ok(());
        }
        let today = now.date_naive();
        let mut used = self.used_today.lock().unwrap_or_else(|e| e.into_inner());
        // Yesterday's counts are of no use: drop them when a new day begins.
        if used.values().any(|(day, _)| *day != today) {
            used.retain(|_, (day, _)| *day == today);
        }
        let (_, count) = used.entry(client.to_owned()).or_insert((today, 0));
        if *count >= self.per_day {
            let midnight = (today + chrono::Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc();
            return Err((midnight - now).num_seconds().max(1) as u64);
        }
        *count += 1;
        Ok(())
    }

    /// Takes one request from `client`'s bucket, or says how many seconds
    /// until the next one would be let through.
    fn admit(&self, client: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter.check_key(&client.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The middleware: every request with a valid partner token spends from its
/// client's bucket (a hand-minted partner token: its subject's); over it,
/// 429 `rate_limited` with `Retry-After`.
pub async fn limit_partners(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let partner = match principal_from(req.request()) {
        Ok(Some(p)) if p.role == Role::Partner => Some(p.client_id.unwrap_or(p.subject)),
        _ => None,
    };
    if let (Some(partner), Some(limits)) = (partner, req.app_data::<web::Data<PartnerLimits>>()) {
        if let Err(retry_after) = limits.admit(&partner) {
            let error = AppError::rate_limited(
                retry_after,
                format!(
                    "This partner client sent too many requests; try again in {retry_after} s."
                ),
            );
            return Ok(req.error_response(error).map_into_boxed_body());
        }
        if let Err(retry_after) = limits.spend_daily(&partner, chrono::Utc::now()) {
            let error = AppError::rate_limited(
                retry_after,
                "This partner client has used its requests for today (UTC); the quota renews at midnight UTC.",
            )
            .with("limit", "daily_quota");
            return Ok(req.error_response(error).map_into_boxed_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_quota_renews_at_utc_midnight() {
        use chrono::TimeZone;
        let limits = PartnerLimits::new(&OnlineSettings {
            partner_per_minute: 0,
            partner_per_day: 2,
            ..Default::default()
        });
        let evening = chrono::Utc
            .with_ymd_and_hms(2026, 12, 9, 23, 59, 0)
            .unwrap();
        assert_eq!(limits.spend_daily("cli_a", evening), Ok(()));
        assert_eq!(limits.spend_daily("cli_a", evening), Ok(()));
        assert_eq!(limits.spend_daily("cli_a", evening), Err(60));
        assert_eq!(limits.spend_daily("cli_b", evening), Ok(()));
        let next_day = evening + chrono::Duration::minutes(1);
        assert_eq!(limits.spend_daily("cli_a", next_day), Ok(()));
    }

    #[test]
    fn form_values_decode_plus_and_percent() {
        assert_eq!(form_decoded("a+b%3Ac%26").as_deref(), Some("a b:c&"));
        assert_eq!(form_decoded("cli_01ABC").as_deref(), Some("cli_01ABC"));
    }

    #[test]
    fn each_client_has_its_own_bucket() {
        let limits = PartnerLimits::new(&OnlineSettings {
            partner_per_minute: 60,
            partner_burst: 2,
            ..OnlineSettings::default()
        });
        assert!(limits.admit("cli_a").is_ok());
        assert!(limits.admit("cli_a").is_ok());
        assert_eq!(limits.admit("cli_a").unwrap_err(), 1);
        assert!(limits.admit("cli_b").is_ok());
    }
}
