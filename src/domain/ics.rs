//! iCalendar (RFC 5545) rendering of a booking: one VEVENT a customer can add
//! to any calendar, published (or cancelled) by the business as its organizer
//! (iTIP, RFC 5546), so calendar apps apply a later cancellation to the entry
//! they already hold.

use chrono::{DateTime, Utc};

/// The booking-history actions that change what a calendar shows (the time,
/// or `STATUS` turning `CANCELLED`); each one raises the entry's `SEQUENCE`.
/// Other changes (notes, check-in, a merge of customers) leave the calendar's
/// copy right, so they keep the sequence and calendar apps keep the entry.
pub const CALENDAR_CHANGES: [&str; 2] = ["reschedule", "cancel"];

/// Who publishes the entry: RFC 5546 requires an `ORGANIZER` for `PUBLISH`
/// and `CANCEL`, and calendar apps ignore a cancellation without one.
#[derive(Debug, Clone)]
pub struct Organizer<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// What goes into the calendar entry.
#[derive(Debug, Clone)]
pub struct CalendarEntry<'a> {
    pub uid: &'a str,
    /// How many of `CALENDAR_CHANGES` the booking has been through.
    pub sequence: i32,
    pub organizer: Organizer<'a>,
    pub stamp: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub location: Option<&'a str>,
    pub description: &'a str,
    pub cancelled: bool,
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

/// A parameter value, always quoted: it may hold `;`, `:` or `,`, and a
/// quoted value cannot hold a double quote or a control character (RFC 5545 §3.2).
fn quoted_parameter(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// The iTIP method of the document: a live booking is published, a cancelled one cancelled.
pub fn method(entry: &CalendarEntry<'_>) -> &'static str {
    if entry.cancelled {
        "CANCEL"
    } else {
        "PUBLISH"
    }
}

/// The media type with the `method` parameter, which RFC 5545 §3.7.2 requires
/// whenever the body carries `METHOD`.
pub fn content_type(entry: &CalendarEntry<'_>) -> String {
    format!("text/calendar; charset=utf-8; method={}", method(entry))
}

/// Lines longer than 75 octets are folded with CRLF + space, never inside a
/// UTF-8 character (RFC 5545 §3.1).
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// The whole `text/calendar` document.
pub fn render(entry: &CalendarEntry<'_>) -> String {
    let mut out = String::new();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//slotwise//bookings//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("METHOD:{}", method(entry)),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(entry.uid)),
        format!("SEQUENCE:{}", entry.sequence),
        format!("DTSTAMP:{}", utc(entry.stamp)),
        format!("DTSTART:{}", utc(entry.start)),
        format!("DTEND:{}", utc(entry.end)),
        format!(
            "ORGANIZER;CN={}:mailto:{}",
            quoted_parameter(entry.organizer.name),
            entry.organizer.email
        ),
        format!("SUMMARY:{}", escape(entry.summary)),
        format!("DESCRIPTION:{}", escape(entry.description)),
    ];
    if let Some(location) = entry.location {
        lines.push(format!("LOCATION:{}", escape(location)));
    }
    lines.push(format!(
        "STATUS:{}",
        if entry.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        }
    ));
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    for line in lines {
        push_line(&mut out, &line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(summary: &'a str, cancelled: bool) -> CalendarEntry<'a> {
        let start = DateTime::parse_from_rfc3339("2026-03-08T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        CalendarEntry {
            uid: "bkg_1@slotwise",
            sequence: 2,
            organizer: Organizer {
                name: "Northside; Hair, \"Beauty\"",
                email: "hello@northside.example",
            },
            stamp: start,
            start,
            end: start + chrono::Duration::minutes(30),
            summary,
            location: Some("London, 1 High St"),
            description: "Reference K7M-4QX",
            cancelled,
        }
    }

    #[test]
    fn an_event_has_utc_times_crlf_lines_and_escaped_text() {
        let text = render(&entry("Cut; wash, dry", false));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.contains("\r\nDTSTART:20260308T140000Z\r\nDTEND:20260308T143000Z\r\n"));
        assert!(text.contains("\r\nSUMMARY:Cut\\; wash\\, dry\r\n"));
        assert!(text.contains("\r\nLOCATION:London\\, 1 High St\r\n"));
        assert!(text.contains("\r\nSTATUS:CONFIRMED\r\n"));
        assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn publish_and_cancel_name_their_method_in_body_and_media_type_with_an_organizer() {
        let live = entry("Cut", false);
        let text = render(&live);
        assert!(text.contains("\r\nMETHOD:PUBLISH\r\n"));
        assert_eq!(
            content_type(&live),
            "text/calendar; charset=utf-8; method=PUBLISH"
        );
        assert!(text.contains(
            "\r\nORGANIZER;CN=\"Northside; Hair, Beauty\":mailto:hello@northside.example\r\n"
        ));
        let cancelled = entry("Cut", true);
        let text = render(&cancelled);
        assert!(text.contains("\r\nMETHOD:CANCEL\r\n"));
        assert!(text.contains("\r\nORGANIZER;"));
        assert_eq!(
            content_type(&cancelled),
            "text/calendar; charset=utf-8; method=CANCEL"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let long = "é".repeat(60);
        let text = render(&entry(&long, true));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{long}")));
        assert!(text.contains("STATUS:CANCELLED"));
    }
}
