//! iCalendar (RFC 5545) rendering of a booking: one VEVENT a customer can add
//! to any calendar.

use chrono::{DateTime, Utc};

/// What goes into the calendar entry.
#[derive(Debug, Clone)]
pub struct CalendarEntry<'a> {
    pub uid: &'a str,
    pub sequence: i32,
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
        format!(
            "METHOD:{}",
            if entry.cancelled { "CANCEL" } else { "PUBLISH" }
        ),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(entry.uid)),
        format!("SEQUENCE:{}", entry.sequence),
        format!("DTSTAMP:{}", utc(entry.stamp)),
        format!("DTSTART:{}", utc(entry.start)),
        format!("DTEND:{}", utc(entry.end)),
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
