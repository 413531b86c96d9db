//! Token keys: minting and verifying slotwise's own tokens (HS256 or ES256),
//! an identity provider's staff tokens, and the keys derived from the secret.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Principal;
use crate::config::Secret;
use crate::domain::roles::Role;
use crate::error::AppError;

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
    /// Signs list cursors (`crate::api::PageParams`): derived from the secret
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
