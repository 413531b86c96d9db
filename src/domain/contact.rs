//! Normalising how customers are reached, so a returning caller is matched
//! whichever door they come through: emails trimmed and case-folded, phones
//! in E.164 read with the business's country as the default region.

use std::str::FromStr;

use phonenumber::country::Id;

/// Emails compare trimmed and case-folded.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A cheap first look at a phone number before the business (and so its
/// country) is known: digits with the usual separators, a plausible length.
pub fn looks_like_phone(phone: &str) -> bool {
    let trimmed = phone.trim();
    let digits = trimmed.chars().filter(char::is_ascii_digit).count();
    let allowed = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    allowed && (5..=20).contains(&digits)
}

/// Why a phone number could not be normalised, in words for a field error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneProblem(pub String);

impl std::fmt::Display for PhoneProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The phone number in E.164 (`+442079460018`). National formats are read as
/// numbers of `country` (the business's), so `020 7946 0018`, `(020)
/// 7946-0018`, `+44 20 7946 0018` and `0044 20 7946 0018` are one number for a
/// British business. A number must be valid for its country, or at least of
/// a length its country's numbers have: ranges reserved for fiction (Ofcom's
/// `07700 900…`) and ranges newer than the metadata still match a caller,
/// while a number missing digits is refused rather than stored half-understood.
pub fn normalise_phone(phone: &str, country: Option<&str>) -> Result<String, PhoneProblem> {
    if !looks_like_phone(phone) {
        return Err(PhoneProblem("is not a phone number".into()));
    }
    let region = country.and_then(|c| Id::from_str(c).ok());
    let parsed = phonenumber::parse(region, phone.trim()).map_err(|_| {
        PhoneProblem(match country {
            Some(c) => format!("is not a phone number of {c}; give it with its +country code"),
            None => "give the number with its +country code".into(),
        })
    })?;
    if !phonenumber::is_valid(&parsed) && !of_possible_length(&parsed) {
        return Err(PhoneProblem("is not a valid phone number".into()));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

fn of_possible_length(number: &phonenumber::PhoneNumber) -> bool {
    let length = number.national().value().to_string().len();
    let Ok(length) = u16::try_from(length) else {
        return false;
    };
    phonenumber::metadata::DATABASE
        .by_code(&number.code().value())
        .unwrap_or_default()
        .iter()
        .any(|meta| {
            let d = meta.descriptors();
            // The metadata keeps lengths per kind of number, not overall.
            [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .chain([d.general()])
            .any(|kind| kind.possible_length().contains(&length))
        })
}

/// An ISO 3166-1 alpha-2 country code the phone metadata knows, upper-cased.
pub fn parse_country(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    match Id::from_str(&upper) {
        Ok(_) if upper.len() == 2 => Ok(upper),
        _ => Err(format!(
            "{code:?} is not an ISO 3166-1 alpha-2 country code (such as GB, US, DE)"
        )),
    }
}

/// The country an IANA time zone belongs to (`Europe/London` → `GB`), for a
/// business that did not name its country. Zones shared by no single country
/// (`UTC`, `Etc/…`) have none.
pub fn country_for_time_zone(zone: &str) -> Option<&'static str> {
    let table = super::zones::ZONE_COUNTRIES;
    table
        .binary_search_by(|(z, _)| z.cmp(&zone))
        .ok()
        .map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_case_folded() {
        assert_eq!(normalise_email("  Ana@Example.COM "), "ana@example.com");
    }

    #[test]
    fn british_formats_all_become_one_e164_number() {
        for typed in [
            "020 7946 0018",
            "+44 20 7946 0018",
            "0044 20 7946 0018",
            "(020) 7946-0018",
            "02079460018",
            " +44 (0)20 7946 0018 ",
        ] {
            assert_eq!(
                normalise_phone(typed, Some("GB")).as_deref(),
                Ok("+442079460018"),
                "{typed}"
            );
        }
    }

    #[test]
    fn american_formats_all_become_one_e164_number() {
        for typed in [
            "(650) 253-0000",
            "650-253-0000",
            "650.253.0000",
            "+1 650 253 0000",
            "1 650 253 0000",
            "011 1 650 253 0000",
        ] {
            assert_eq!(
                normalise_phone(typed, Some("US")).as_deref(),
                Ok("+16502530000"),
                "{typed}"
            );
        }
    }

    #[test]
    fn international_numbers_do_not_depend_on_the_default_country() {
        assert_eq!(
            normalise_phone("+44 20 7946 0018", Some("US")).as_deref(),
            Ok("+442079460018")
        );
        assert_eq!(
            normalise_phone("+1 650 253 0000", None).as_deref(),
            Ok("+16502530000")
        );
    }

    #[test]
    fn national_numbers_need_a_country_and_garbage_is_refused() {
        assert!(normalise_phone("020 7946 0018", None).is_err());
        assert!(normalise_phone("call me", Some("GB")).is_err());
        assert!(normalise_phone("12", Some("GB")).is_err());
        // Right shape, but too short for any British number.
        assert!(normalise_phone("020 7946", Some("GB")).is_err());
        assert!(normalise_phone("+1 650 253", None).is_err());
    }

    #[test]
    fn numbers_reserved_for_fiction_still_normalise() {
        assert_eq!(
            normalise_phone("07700 900123", Some("GB")).as_deref(),
            Ok("+447700900123")
        );
    }

    #[test]
    fn countries_are_checked_and_upper_cased() {
        assert_eq!(parse_country("gb").as_deref(), Ok("GB"));
        assert!(parse_country("XX").is_err());
        assert!(parse_country("GBR").is_err());
        assert!(parse_country("").is_err());
    }

    #[test]
    fn time_zones_give_their_country() {
        assert_eq!(country_for_time_zone("Europe/London"), Some("GB"));
        assert_eq!(country_for_time_zone("America/New_York"), Some("US"));
        assert_eq!(country_for_time_zone("Europe/Berlin"), Some("DE"));
        assert_eq!(country_for_time_zone("UTC"), None);
        assert_eq!(country_for_time_zone("Mars/Base"), None);
    }

    #[test]
    fn the_zone_table_is_sorted_for_binary_search() {
        let table = super::super::zones::ZONE_COUNTRIES;
        assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
