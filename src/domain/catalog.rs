//! Catalog vocabulary and its validation: channels, resource kinds, time zones.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The door a booking came through; derived from the caller, never trusted from a body.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Phone,
    WalkIn,
    Partner,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Online,
        Channel::Phone,
        Channel::WalkIn,
        Channel::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Phone => "phone",
            Channel::WalkIn => "walk_in",
            Channel::Partner => "partner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Stores a channel set as a sorted comma list (portable TEXT column).
pub fn channels_to_text(channels: &[Channel]) -> String {
    let mut sorted = channels.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn channels_from_text(text: &str) -> Vec<Channel> {
    text.split(',').filter_map(Channel::parse).collect()
}

/// What gets booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Staff,
    Room,
    Equipment,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Staff => "staff",
            ResourceKind::Room => "room",
            ResourceKind::Equipment => "equipment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ResourceKind::Staff,
            ResourceKind::Room,
            ResourceKind::Equipment,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// An IANA zone name, or a message saying why it is not one.
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. Europe/London)"))
}

/// A loose but useful email check: one `@`, something on each side, a dot in the domain.
pub fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// A business's public slug, as it appears in `/book/{slug}`: 3 to 63
/// characters of lower-case letters, digits and inner hyphens.
pub fn parse_slug(text: &str) -> Result<String, String> {
    let ok_chars = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !(3..=63).contains(&text.len())
        || !ok_chars
        || text.starts_with('-')
        || text.ends_with('-')
        || text.contains("--")
    {
        return Err("must be 3 to 63 lower-case letters, digits and single inner hyphens".into());
    }
    Ok(text.to_owned())
}

/// A slug made from a business's name (`"Northside Clinic & Salon"` →
/// `northside-clinic-salon`), for when none is given; `biz` pads a short one.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(50).collect();
    slug = slug.trim_end_matches('-').to_owned();
    while slug.len() < 3 {
        slug = if slug.is_empty() {
            "biz".into()
        } else {
            format!("{slug}-biz")
        };
    }
    slug
}

/// An ISO 4217-shaped currency code (three upper-case letters).
pub fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lower_case_and_hyphenated() {
        for good in ["northside", "soho-2", "a1b"] {
            assert_eq!(parse_slug(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "ab",
            "North",
            "-a-b",
            "a-b-",
            "a--b",
            "a b c",
            "café",
            &"x".repeat(64),
        ] {
            assert!(parse_slug(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            slugify("Northside Clinic & Salon (demo)"),
            "northside-clinic-salon-demo"
        );
        assert_eq!(slugify("Ösel"), "sel");
        assert_eq!(slugify("!!"), "biz");
        assert_eq!(slugify("Al"), "al-biz");
        for name in [
            "Northside",
            "  A  ",
            "Übermäßig Gut GmbH",
            &"long ".repeat(30),
        ] {
            assert!(parse_slug(&slugify(name)).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn time_zones_are_checked_against_the_iana_database() {
        assert!(parse_time_zone("Europe/London").is_ok());
        assert!(parse_time_zone("Australia/Lord_Howe").is_ok());
        assert!(parse_time_zone("Mars/Olympus_Mons").is_err());
        assert!(parse_time_zone("").is_err());
    }

    #[test]
    fn channels_round_trip_through_text_sorted_and_deduplicated() {
        let text = channels_to_text(&[Channel::Phone, Channel::Online, Channel::Phone]);
        assert_eq!(text, "online,phone");
        assert_eq!(
            channels_from_text(&text),
            vec![Channel::Online, Channel::Phone]
        );
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(looks_like_email("ana@example.com"));
        for bad in [
            "ana",
            "@example.com",
            "ana@example",
            "ana@.com",
            "a na@example.com",
            "a@b@c.com",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
