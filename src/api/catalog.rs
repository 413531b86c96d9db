//! Pieces the catalog endpoints (locations, resources, services) share:
//! instant rendering, the pause view, common field checks, list filters.

use chrono::{NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::FieldErrors;

/// An instant as RFC 3339 UTC with second precision (`2026-03-08T14:00:00Z`).
pub fn instant(at: NaiveDateTime) -> String {
    Utc.from_utc_datetime(&at)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn optional_instant(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(instant)
}

/// Why and since when something is paused; absent when it is bookable.
#[derive(Debug, Serialize, ToSchema)]
pub struct PauseView {
    pub reason: String,
    #[schema(format = DateTime)]
    pub since: String,
    /// When it ends by itself; absent: when someone resumes it.
    #[schema(format = DateTime)]
    pub until: Option<String>,
}

pub fn pause_view(
    paused_at: Option<NaiveDateTime>,
    reason: Option<String>,
    until: Option<NaiveDateTime>,
) -> Option<PauseView> {
    paused_at.map(|since| PauseView {
        reason: reason.unwrap_or_default(),
        since: instant(since),
        until: optional_instant(until),
    })
}

/// `include_archived` on catalog lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArchivedFilter {
    /// Also list archived objects (default false).
    #[serde(default)]
    pub include_archived: bool,
}

/// A required display name: trimmed, 1 to 200 characters.
pub fn check_name(errors: &mut FieldErrors, field: &str, name: &str) -> String {
    let trimmed = name.trim();
    // Counted as sent, as the OpenAPI `maxLength` counts it.
    if trimmed.is_empty() {
        errors.add(field, "must not be empty");
    } else if name.chars().count() > 200 {
        errors.add(field, "must be at most 200 characters");
    }
    trimmed.to_owned()
}

/// An optional free-text field: trimmed, empty becomes absent, bounded length.
pub fn check_optional_text(
    errors: &mut FieldErrors,
    field: &str,
    text: Option<String>,
    max: usize,
) -> Option<String> {
    // Counted as sent, as the OpenAPI `maxLength` counts it.
    let too_long = text.as_ref().is_some_and(|t| t.chars().count() > max);
    let text = text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() || too_long)?;
    if too_long {
        errors.add(field, format!("must be at most {max} characters"));
    }
    Some(text)
}

/// An optional contact email.
pub fn check_email(errors: &mut FieldErrors, field: &str, email: Option<String>) -> Option<String> {
    let email = check_optional_text(errors, field, email, 254)?;
    if !crate::domain::catalog::looks_like_email(&email) {
        errors.add(field, "is not an email address");
    }
    Some(email.to_lowercase())
}

/// An optional contact phone number: digits with the usual separators.
pub fn check_phone(errors: &mut FieldErrors, field: &str, phone: Option<String>) -> Option<String> {
    let phone = check_optional_text(errors, field, phone, 40)?;
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || digits < 5 {
        errors.add(field, "is not a phone number");
    }
    Some(phone)
}

/// A required IANA time zone.
pub fn check_time_zone(errors: &mut FieldErrors, field: &str, zone: &str) -> String {
    let zone = zone.trim();
    if let Err(message) = crate::domain::catalog::parse_time_zone(zone) {
        errors.add(field, message);
    }
    zone.to_owned()
}
