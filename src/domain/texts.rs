//! Free text written on a booking, with its limits: the customer's notes and
//! the reason given for a change. Each is read once, at the edge; blank text
//! is as good as none, and the limit counts the text as sent, as the
//! schema's `maxLength` does.

/// Trimmed text of at most `max` characters as sent; `None` when blank.
fn bounded(text: &str, max: usize) -> Result<Option<String>, String> {
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let trimmed = text.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// Notes the customer leaves with a booking (at most 2,000 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes(String);

impl Notes {
    pub const MAX: usize = 2000;

    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        Ok(bounded(text, Self::MAX)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Why a booking was cancelled or changed (at most 500 characters), kept
/// with the booking and in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX: usize = 500;

    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        Ok(bounded(text, Self::MAX)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_none_and_the_rest_is_trimmed() {
        assert_eq!(Notes::parse("  \n ").unwrap(), None);
        assert_eq!(
            Notes::parse("  window seat ").unwrap().unwrap().as_str(),
            "window seat"
        );
        assert_eq!(
            Reason::parse(" ill ").unwrap().map(Reason::into_string),
            Some("ill".to_owned())
        );
    }

    #[test]
    fn the_limit_counts_characters_as_sent() {
        assert!(Reason::parse(&"é".repeat(500)).unwrap().is_some());
        assert_eq!(
            Reason::parse(&"é".repeat(501)).unwrap_err(),
            "must be at most 500 characters"
        );
        // Padding counts too: the schema's maxLength sees it.
        assert!(Notes::parse(&format!("{} ", "a".repeat(2000))).is_err());
        assert!(Notes::parse(&"a".repeat(2000)).unwrap().is_some());
    }
}
