//! Partner apps' rules: the scopes a client may hold, how a requested scope
//! narrows them (RFC 6749 §3.3), and client secrets (random, shown once,
//! kept only as an Argon2id hash).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;

/// Every scope a partner client can be granted (DESIGN.md, "Partner apps").
pub const SCOPES: [&str; 8] = [
    "catalog:read",
    "availability:read",
    "bookings:read",
    "bookings:read:all",
    "bookings:write",
    "customers:read",
    "events:read",
    "webhooks:manage",
];

/// Checks a list of scopes against [`SCOPES`]: duplicates dropped, order
/// kept as [`SCOPES`] has it, so the stored text is canonical.
pub fn check_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Vec<String>, String> {
    if let Some(unknown) = scopes
        .iter()
        .map(AsRef::as_ref)
        .find(|s| !SCOPES.contains(s))
    {
        return Err(format!(
            "unknown scope {unknown:?}; expected some of {}",
            SCOPES.join(", ")
        ));
    }
    Ok(SCOPES
        .iter()
        .filter(|known| scopes.iter().any(|s| s.as_ref() == **known))
        .map(|s| (*s).to_owned())
        .collect())
}

/// Space-separated, as OAuth writes scopes (and as the table stores them).
pub fn scope_text(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub fn parse_scope_text(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The scopes a token request gets: all of the client's when it names none,
/// else exactly those it names, each of which the client must hold
/// (`Err` names the first one it does not: `invalid_scope`).
pub fn grant(client_scopes: &[String], requested: Option<&str>) -> Result<Vec<String>, String> {
    let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(client_scopes.to_vec());
    };
    let asked = parse_scope_text(requested);
    if let Some(extra) = asked.iter().find(|s| !client_scopes.contains(s)) {
        return Err(format!("This client may not ask for the scope {extra:?}."));
    }
    Ok(client_scopes
        .iter()
        .filter(|s| asked.contains(s))
        .cloned()
        .collect())
}

/// A new client secret: `cs_` and 32 random bytes, base64url.
pub fn new_client_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "cs_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The Argon2id hash (PHC string, with its own random salt) kept for a secret.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `secret` is the one `hash` was made from (constant time in the
/// secret; a malformed hash matches nothing).
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_are_checked_deduplicated_and_put_in_order() {
        assert_eq!(
            check_scopes(&["bookings:write", "catalog:read", "bookings:write"]).unwrap(),
            owned(&["catalog:read", "bookings:write"])
        );
        assert!(check_scopes(&["bookings:delete"])
            .unwrap_err()
            .contains("bookings:delete"));
        assert!(check_scopes::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_requested_scope_must_be_a_subset_of_the_clients() {
        let client = owned(&["catalog:read", "availability:read", "bookings:write"]);
        assert_eq!(grant(&client, None).unwrap(), client);
        assert_eq!(grant(&client, Some("  ")).unwrap(), client);
        assert_eq!(
            grant(&client, Some("bookings:write catalog:read")).unwrap(),
            owned(&["catalog:read", "bookings:write"])
        );
        assert!(grant(&client, Some("catalog:read bookings:read:all"))
            .unwrap_err()
            .contains("bookings:read:all"));
    }

    #[test]
    fn a_secret_matches_its_hash_and_nothing_else() {
        let secret = new_client_secret();
        assert!(secret.starts_with("cs_") && secret.len() == 46);
        let hash = hash_secret(&secret).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(&secret[3..]));
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches(&new_client_secret(), &hash));
        assert!(!secret_matches(&secret, "not a hash"));
        // Each hash has its own salt.
        assert_ne!(hash_secret(&secret).unwrap(), hash);
    }
}
