//! Unit tests of token minting and strict validation.

use jsonwebtoken::Algorithm;

use super::*;
use crate::config::Secret;

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

const TEST_EC_KEY: &[u8] = include_bytes!("../../../tests/fixtures/es256-test-key.pem");

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
