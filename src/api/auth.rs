//! Bearer-token authentication: the JWT claims, minting dev tokens, strict
//! validation (RFC 8725: algorithm pinned, `exp`/`iss`/`aud`/`sub` required,
//! `nbf` checked, `typ` a JWT, `iat` not in the future, `sub` not empty),
//! the middleware that verifies each request's token once, and the
//! `Principal` extractor handlers ask for.

use std::future::{ready, Ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::error::AppError;

pub use crate::domain::roles::Role;

/// The claims slotwise issues and accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub business: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    pub iss: String,
    pub aud: String,
    // Ours always carry both (and `nbf` is required when ours are checked);
    // an identity provider's may leave them out.
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub nbf: i64,
    pub exp: i64,
    /// Access tokens from `POST /v1/oauth/token`: the partner client they were
    /// issued to (RFC 9068), checked on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// Signing and verification keys plus the expected issuer and audience:
/// HS256 with the configured secret, and optionally an ES256 key pair that
/// then signs every token and is published at `/.well-known/jwks.json`.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    es256: Option<Es256Key>,
    issuer: String,
    audience: String,
    staff_idp: Option<StaffIdentityProvider>,
    /// Signs list cursors (`super::PageParams`): derived from the secret
    /// with its own label, so a cursor's MAC can never pass for a token's.
    cursor_key: [u8; 32],
}

/// An external identity provider whose tokens log staff in: its keys (from
/// its JWKS), and its issuer and audience, both pinned.
#[derive(Clone)]
struct StaffIdentityProvider {
    issuer: String,
    audience: String,
    /// By key id, each with the one algorithm it verifies.
    keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
}

/// An ES256 signing key, its public half as a JWK, and its key id (the
/// JWK's RFC 7638 thumbprint, so the id changes exactly when the key does).
#[derive(Clone)]
struct Es256Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: jsonwebtoken::jwk::Jwk,
}

impl Es256Key {
    fn kid(&self) -> Option<String> {
        self.jwk.common.key_id.clone()
    }
}

impl TokenKeys {
    pub fn hs256(secret: &Secret, issuer: &str, audience: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            es256: None,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            staff_idp: None,
            cursor_key: derive_key(secret, b"slotwise list cursor v1"),
        }
    }

    /// The key that signs list cursors.
    pub fn cursor_key(&self) -> &[u8; 32] {
        &self.cursor_key
    }

    /// Also accepts staff tokens from an external identity provider: those
    /// whose `iss` is `issuer`, for `audience`, signed by a key of `jwks`
    /// (RS256 or ES256 keys; the JWKS document's JSON). Such tokens carry the
    /// same claims as ours (`role`, `business`); only staff roles are taken
    /// from them — partners and customers get their tokens from slotwise.
    pub fn with_staff_idp(
        mut self,
        jwks: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, String> {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(jwks).map_err(|e| format!("the staff JWKS: {e}"))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            use jsonwebtoken::jwk::AlgorithmParameters;
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                // Shared secrets have no place in a published key set.
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("the staff JWKS: {e}"))?;
            keys.push((jwk.common.key_id.clone(), algorithm, key));
        }
        if keys.is_empty() {
            return Err("the staff JWKS holds no RS256 or ES256 key".into());
        }
        if issuer.is_empty() || audience.is_empty() || issuer == self.issuer {
            return Err("the staff identity provider needs its own issuer and an audience".into());
        }
        self.staff_idp = Some(StaffIdentityProvider {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
        });
        Ok(self)
    }

    /// Verifies a token of the external identity provider, when `token`
    /// names its issuer; `None` when it is not one of its tokens.
    fn verify_staff_idp(&self, token: &str) -> Option<Result<Claims, AppError>> {
        let idp = self.staff_idp.as_ref()?;
        let header = jsonwebtoken::decode_header(token).ok()?;
        // The issuer is read unverified only to pick the keys; the
        // signature, issuer and audience are then checked strictly.
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let claimed: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        if claimed.get("iss").and_then(|i| i.as_str()) != Some(idp.issuer.as_str()) {
            return None;
        }
        let refused = |why: &str| Some(Err(AppError::unauthenticated(why.to_owned())));
        let Some((_, algorithm, key)) = idp.keys.iter().find(|(kid, alg, _)| {
            *alg == header.alg && (header.kid.is_none() || *kid == header.kid)
        }) else {
            return refused("The token is signed by no key of the identity provider.");
        };
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&idp.issuer]);
        validation.set_audience(&[&idp.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        match jsonwebtoken::decode::<Claims>(token, key, &validation) {
            Ok(data)
                if Principal::STAFF.contains(&data.claims.role)
                    && data.claims.client_id.is_none() =>
            {
                // Another issuer's tokens may carry no `typ` at all.
                Some(checked(data, validation.leeway, true))
            }
            Ok(_) => refused("The identity provider signs in staff only."),
            Err(_) => refused("The identity provider's token is invalid."),
        }
    }

    /// Signs with this P-256 private key (PKCS#8 PEM, `BEGIN PRIVATE KEY`, as
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
    /// writes it) from now on; HS256 tokens signed with the secret are still
    /// accepted.
    pub fn with_es256_pem(mut self, pem: &[u8]) -> Result<Self, String> {
        use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
        let encoding = EncodingKey::from_ec_der(&pkcs8_der(pem)?);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .map_err(|e| format!("the ES256 key's public half: {e}"))?;
        jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256));
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        self.es256 = Some(Es256Key {
            encoding,
            decoding,
            jwk,
        });
        Ok(self)
    }

    /// The public keys that verify our tokens, for `/.well-known/jwks.json`;
    /// `None` with only the shared secret (which must never be published).
    pub fn jwks(&self) -> Option<jsonwebtoken::jwk::JwkSet> {
        self.es256.as_ref().map(|key| jsonwebtoken::jwk::JwkSet {
            keys: vec![key.jwk.clone()],
        })
    }

    fn sign(&self, typ: Option<&str>, claims: &Claims) -> Result<String, String> {
        let (mut header, key) = match &self.es256 {
            Some(es256) => {
                let mut header = Header::new(Algorithm::ES256);
                header.kid = es256.kid();
                (header, &es256.encoding)
            }
            None => (Header::new(Algorithm::HS256), &self.encoding),
        };
        if let Some(typ) = typ {
            header.typ = Some(typ.to_owned());
        }
        jsonwebtoken::encode(&header, claims, key).map_err(|e| e.to_string())
    }

    /// Mints a token for `sub` acting as `role` in `business`, valid `ttl_minutes`.
    pub fn mint(
        &self,
        business: &str,
        role: Role,
        sub: &str,
        scope: &str,
        ttl_minutes: i64,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            role,
            business: business.to_owned(),
            scope: scope.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl_minutes * 60,
            client_id: None,
            jti: None,
        };
        self.sign(None, &claims)
    }

    /// An RFC 9068 access token for a partner client (`typ: at+jwt`): the
    /// client is its subject and its `client_id`, with the granted `scope`.
    pub fn mint_access_token(
        &self,
        business: &str,
        client_id: &str,
        scope: &str,
        ttl_seconds: i64,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: client_id.to_owned(),
            role: Role::Partner,
            business: business.to_owned(),
            scope: scope.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
            client_id: Some(client_id.to_owned()),
            jti: Some(crate::ids::new_id("atk")),
        };
        self.sign(Some("at+jwt"), &claims)
    }

    /// Verifies signature, algorithm, expiry, not-before, issuer and audience.
    /// Each key verifies only its own algorithm: ES256 tokens by the public
    /// key (when configured), everything else as HS256 by the secret.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        if let Some(verdict) = self.verify_staff_idp(token) {
            return verdict;
        }
        let es256 = self.es256.as_ref().filter(|_| {
            jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg == Algorithm::ES256)
        });
        let (algorithm, key) = match es256 {
            Some(es256) => (Algorithm::ES256, &es256.decoding),
            None => (Algorithm::HS256, &self.decoding),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let leeway = validation.leeway;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "The token has expired.",
                    ErrorKind::ImmatureSignature => "The token is not valid yet.",
                    ErrorKind::InvalidAudience => "The token is for another audience.",
                    ErrorKind::InvalidIssuer => "The token is from another issuer.",
                    ErrorKind::InvalidAlgorithm => {
                        "The token uses an algorithm this API does not accept."
                    }
                    _ => "The bearer token is invalid.",
                };
                AppError::unauthenticated(why)
            })
            .and_then(|data| checked(data, leeway, false))
    }
}

/// What `Validation` leaves to us (RFC 8725): the header's `typ` names a JWT
/// (`at+jwt` for, and only for, a partner client's access token; ours always
/// carry one, another issuer's may not), the subject is someone, and the
/// token was not issued in the future.
fn checked(
    data: jsonwebtoken::TokenData<Claims>,
    leeway: u64,
    typ_optional: bool,
) -> Result<Claims, AppError> {
    let refused = |why: &str| Err(AppError::unauthenticated(why.to_owned()));
    let claims = data.claims;
    // Media types are case-insensitive, and `application/` may be left out (RFC 7515 §4.1.9).
    let typ = data.header.typ.map(|t| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/").unwrap_or(&t).to_owned()
    });
    let access_token = claims.client_id.is_some();
    match typ.as_deref() {
        None if typ_optional => {}
        Some("jwt") if !access_token => {}
        Some("at+jwt") if access_token || typ_optional => {}
        _ => return refused("The token's `typ` header is not one this API issues."),
    }
    if claims.sub.trim().is_empty() {
        return refused("The token names no subject.");
    }
    if claims.iat > chrono::Utc::now().timestamp() + leeway as i64 {
        return refused("The token was issued in the future.");
    }
    Ok(claims)
}

/// HMAC-SHA256 of `label` under the secret: a key for one purpose only.
fn derive_key(secret: &Secret, label: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose())
        .expect("HMAC takes a key of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// The DER inside a PKCS#8 PEM private key.
fn pkcs8_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "the ES256 key file is not PEM text")?;
    let body = text
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or("the ES256 key file holds no `BEGIN PRIVATE KEY` (PKCS#8) block")?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|_| "the ES256 key's PEM block is not base64".to_owned())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::hs256(&Secret::new(vec![7; 32]), "slotwise", "slotwise-api")
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let token = keys().mint("biz_1", Role::Agent, "alice", "", 5).unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role, claims.business.as_str()),
            ("alice", Role::Agent, "biz_1")
        );
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let token = keys().mint("biz_1", Role::Agent, "alice", "", -5).unwrap();
        assert_eq!(keys().verify(&token).unwrap_err().code(), "unauthenticated");
    }

    #[test]
    fn tokens_for_another_audience_or_issuer_are_rejected() {
        let secret = Secret::new(vec![7; 32]);
        let other_audience = TokenKeys::hs256(&secret, "slotwise", "elsewhere")
            .mint("b", Role::Admin, "s", "", 5)
            .unwrap();
        let other_issuer = TokenKeys::hs256(&secret, "mallory", "slotwise-api")
            .mint("b", Role::Admin, "s", "", 5)
            .unwrap();
        assert!(keys().verify(&other_audience).is_err());
        assert!(keys().verify(&other_issuer).is_err());
    }

    #[test]
    fn tokens_signed_with_another_secret_are_rejected() {
        let forged = TokenKeys::hs256(&Secret::new(vec![8; 32]), "slotwise", "slotwise-api")
            .mint("biz_1", Role::Admin, "eve", "", 5)
            .unwrap();
        assert!(keys().verify(&forged).is_err());
    }

    const TEST_EC_KEY: &[u8] = include_bytes!("../../tests/fixtures/es256-test-key.pem");

    #[test]
    fn with_an_es256_key_tokens_are_es256_with_its_kid_and_hs256_still_verifies() {
        let es = keys().with_es256_pem(TEST_EC_KEY).unwrap();
        let token = es
            .mint_access_token("biz_1", "cli_1", "catalog:read", 60)
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let jwks = es.jwks().unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid, jwks.keys[0].common.key_id);
        assert_eq!(
            es.verify(&token).unwrap().client_id.as_deref(),
            Some("cli_1")
        );
        // Old HS256 tokens keep working; the secret-only keys cannot check ES256.
        let old = keys().mint("biz_1", Role::Agent, "alice", "", 5).unwrap();
        assert_eq!(es.verify(&old).unwrap().sub, "alice");
        assert!(keys().verify(&token).is_err());
        assert!(keys().jwks().is_none());
        // The JWKS is public only: no private member `d`.
        let published = serde_json::to_value(&jwks).unwrap();
        assert_eq!(published["keys"][0]["kty"], "EC");
        assert_eq!(published["keys"][0]["crv"], "P-256");
        assert!(published["keys"][0].get("d").is_none());
        assert!(keys().with_es256_pem(b"not a key").is_err());
    }

    #[test]
    fn an_hs256_token_signed_with_the_public_key_is_refused() {
        // Algorithm confusion: HS256 keyed with the published key's bytes.
        let es = keys().with_es256_pem(TEST_EC_KEY).unwrap();
        let x = serde_json::to_value(es.jwks().unwrap()).unwrap()["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_owned();
        let forged = TokenKeys::hs256(&Secret::new(x.into_bytes()), "slotwise", "slotwise-api")
            .mint("biz_1", Role::Admin, "eve", "", 5)
            .unwrap();
        assert!(es.verify(&forged).is_err());
    }

    #[test]
    fn unsigned_tokens_are_rejected() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(format!(
            r#"{{"sub":"eve","role":"admin","business":"b","iss":"slotwise","aud":"slotwise-api","iat":{now},"nbf":{now},"exp":{}}}"#,
            now + 600
        ));
        assert!(keys().verify(&format!("{header}.{body}.")).is_err());
    }
}
