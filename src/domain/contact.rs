//! Normalising how customers are reached, so a returning caller is matched
//! whichever door they come through.

/// Emails compare trimmed and case-folded.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Phones compare by their digits, with a leading `+` kept and a leading `00`
/// read as `+`. (Full E.164 with a default region arrives with customer memory.)
pub fn normalise_phone(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    let plus = trimmed.starts_with('+');
    let invalid = trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    if invalid || digits.len() < 6 || digits.len() > 15 {
        return None;
    }
    if plus {
        Some(format!("+{digits}"))
    } else if let Some(rest) = digits.strip_prefix("00") {
        Some(format!("+{rest}"))
    } else {
        Some(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_case_folded() {
        assert_eq!(normalise_email("  Ana@Example.COM "), "ana@example.com");
    }

    #[test]
    fn phones_keep_digits_and_the_international_prefix() {
        assert_eq!(
            normalise_phone("+44 20 7946 0018").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(
            normalise_phone("0044 (20) 7946-0018").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(
            normalise_phone("020 7946 0018").as_deref(),
            Some("02079460018")
        );
        assert_eq!(normalise_phone("call me"), None);
        assert_eq!(normalise_phone("12"), None);
    }
}
