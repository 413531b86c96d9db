//! What a customer profile may hold: a preferred language, how they like to be
//! contacted, and the labels staff give them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the customer prefers to hear from the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactPreference {
    Email,
    Sms,
    Phone,
    Whatsapp,
}

impl ContactPreference {
    pub const ALL: [ContactPreference; 4] = [
        ContactPreference::Email,
        ContactPreference::Sms,
        ContactPreference::Phone,
        ContactPreference::Whatsapp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactPreference::Email => "email",
            ContactPreference::Sms => "sms",
            ContactPreference::Phone => "phone",
            ContactPreference::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// A preference is only kept when the business can act on it: email needs
    /// an email address, the others a phone number.
    pub fn reachable(self, has_email: bool, has_phone: bool) -> bool {
        match self {
            ContactPreference::Email => has_email,
            _ => has_phone,
        }
    }
}

/// A BCP 47 language tag in its usual casing (`en`, `en-GB`, `zh-Hant-TW`).
/// Only the shape is checked: the business decides which languages it serves.
pub fn normalise_language(tag: &str) -> Result<String, String> {
    let tag = tag.trim();
    let bad = || format!("{tag:?} is not a language tag such as en or pt-BR");
    if tag.is_empty() || tag.len() > 35 {
        return Err(bad());
    }
    let mut out = Vec::new();
    for (i, part) in tag.split(['-', '_']).enumerate() {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let shaped = match (i, part.len()) {
            (0, 2..=3) if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_lowercase(),
            (0, _) => return Err(bad()),
            (_, 2) if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_uppercase(),
            (_, 4) if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                let lower = part.to_lowercase();
                let mut chars = lower.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                first.into_iter().chain(chars).collect()
            }
            _ => part.to_lowercase(),
        };
        out.push(shaped);
    }
    Ok(out.join("-"))
}

/// Most tags a customer may carry, and the longest tag.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_LENGTH: usize = 50;

/// Tags trimmed, empty ones refused, duplicates (ignoring case) dropped in
/// the order given.
pub fn normalise_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err("tags must not be empty".into());
        }
        if tag.chars().count() > MAX_TAG_LENGTH {
            return Err(format!("a tag is at most {MAX_TAG_LENGTH} characters"));
        }
        if !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            out.push(tag.to_owned());
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

/// The tags of two customer records being merged: the survivor's first.
pub fn merged_tags(survivor: &[String], duplicate: &[String]) -> Vec<String> {
    let mut all = survivor.to_vec();
    all.extend_from_slice(duplicate);
    let mut out: Vec<String> = Vec::new();
    for tag in all {
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            out.push(tag);
        }
    }
    out.truncate(MAX_TAGS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_get_their_usual_casing() {
        assert_eq!(normalise_language("EN").as_deref(), Ok("en"));
        assert_eq!(normalise_language("en_gb").as_deref(), Ok("en-GB"));
        assert_eq!(
            normalise_language("zh-hant-tw").as_deref(),
            Ok("zh-Hant-TW")
        );
        assert_eq!(normalise_language(" pt-BR ").as_deref(), Ok("pt-BR"));
        for bad in ["", "english", "e", "en--GB", "en GB", "12"] {
            assert!(normalise_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_bounded() {
        let tags = vec![" VIP ".to_owned(), "vip".to_owned(), "allergy".to_owned()];
        assert_eq!(normalise_tags(&tags).unwrap(), vec!["VIP", "allergy"]);
        assert!(normalise_tags(&["  ".to_owned()]).is_err());
        assert!(normalise_tags(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalise_tags(&many).is_err());
    }

    #[test]
    fn merged_tags_keep_the_survivors_first_and_drop_repeats() {
        let survivor = vec!["VIP".to_owned()];
        let duplicate = vec!["vip".to_owned(), "late".to_owned()];
        assert_eq!(merged_tags(&survivor, &duplicate), vec!["VIP", "late"]);
    }

    #[test]
    fn a_preference_needs_the_detail_to_act_on_it() {
        assert!(ContactPreference::Email.reachable(true, false));
        assert!(!ContactPreference::Email.reachable(false, true));
        assert!(ContactPreference::Sms.reachable(false, true));
        assert!(!ContactPreference::Whatsapp.reachable(true, false));
    }
}
