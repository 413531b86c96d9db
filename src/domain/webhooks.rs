//! The rules of webhook delivery, without I/O: Standard Webhooks signatures,
//! the retry schedule, which event types a subscription wants, and which
//! destination addresses are refused.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Every event type the outbox writes, which a subscription may name.
pub const EVENT_TYPES: &[&str] = &[
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.checked_in",
    "booking.started",
    "booking.completed",
    "booking.no_show",
    "hold.expired",
    "customer.created",
    "customer.merged",
    "feedback.requested",
    "feedback.received",
    "service.paused",
    "service.resumed",
    "resource.paused",
    "resource.resumed",
    "location.paused",
    "location.resumed",
    "queue.ticket_created",
    "queue.ticket_called",
    "queue.ticket_seated",
    "queue.ticket_cancelled",
    "queue.ticket_no_show",
    "queue.estimate_changed",
    "broadcast.sent",
    "webhook.disabled",
    "webhook.test",
];

/// Seconds to wait after each failed attempt (the first attempt is at once):
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. After the last one the
/// delivery has failed.
pub const RETRY_DELAYS: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// An endpoint that has failed every attempt for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// The longest `Retry-After` we honour: the schedule's longest step.
pub const MAX_RETRY_AFTER_SECONDS: i64 = 36_000;

/// When to try again after `attempts` failed attempts, or `None` when the
/// schedule is spent. `jitter` in [0, 1) spreads retries by up to ±10 % so a
/// recovering endpoint is not hit by every delivery at the same second; an
/// endpoint's `Retry-After` is honoured when it asks for longer.
pub fn retry_delay(attempts: u32, jitter: f64, retry_after: Option<i64>) -> Option<Duration> {
    let base = *RETRY_DELAYS.get(attempts.checked_sub(1)? as usize)?;
    let spread = (base as f64 * 0.2 * (jitter.clamp(0.0, 1.0) - 0.5)).round() as i64;
    let scheduled = base + spread;
    let asked = retry_after.unwrap_or(0).clamp(0, MAX_RETRY_AFTER_SECONDS);
    Some(Duration::seconds(scheduled.max(asked).max(1)))
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", B64.encode(bytes))
}

/// The key bytes inside a `whsec_` secret.
fn secret_key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for one secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per live secret, space-separated
/// (two during a rotation's overlap, so receivers can switch at their pace).
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| sign(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a subscription to `wanted` (names or `*`) receives `event_type`.
/// `webhook.test` goes only to the subscription it was sent for.
pub fn wants(wanted: &[String], event_type: &str) -> bool {
    event_type != "webhook.test" && wanted.iter().any(|w| w == "*" || w == event_type)
}

/// The event types of a subscription as stored (comma-separated).
pub fn parse_event_types(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks a subscription's event types: `*` or known names, no repeats.
pub fn check_event_types(types: &[String]) -> Result<String, String> {
    if types.is_empty() {
        return Err("name at least one event type, or \"*\"".into());
    }
    for t in types {
        if t != "*" && (t == "webhook.test" || !EVENT_TYPES.contains(&t.as_str())) {
            return Err(format!("unknown event type {t:?}"));
        }
    }
    let mut sorted = types.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != types.len() {
        return Err("names an event type twice".into());
    }
    Ok(types.join(","))
}

/// A destination, as far as delivery needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// Parses an `http(s)://host[:port]/…` URL: no credentials, at most 2,000 characters.
pub fn parse_destination(url: &str) -> Result<Destination, String> {
    if url.len() > 2000 {
        return Err("at most 2000 characters".into());
    }
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must be an http:// or https:// URL".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("must not carry credentials; the signature authenticates us".into());
    }
    if authority
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("has spaces in its host".into());
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("has an unclosed IPv6 bracket")?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p.parse::<u16>().map_err(|_| "has an invalid port")?,
    };
    Ok(Destination {
        https,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// True for addresses on the public internet; false for loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast and documentation
/// ranges, which a webhook must not reach unless the operator allows it
/// (otherwise a subscriber could make us probe the business's own network).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer vector published with the Standard Webhooks specification.
    #[test]
    fn signature_matches_the_specification_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let old = new_secret();
        let new = new_secret();
        let header = signature_header(&[&new, &old], "evt_1", 10, "{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(Some(parts[0].to_owned()), sign(&new, "evt_1", 10, "{}"));
        assert_eq!(Some(parts[1].to_owned()), sign(&old, "evt_1", 10, "{}"));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let delays: Vec<i64> = (1..=7)
            .map(|n| retry_delay(n, 0.5, None).unwrap().num_seconds())
            .collect();
        assert_eq!(delays, RETRY_DELAYS.to_vec());
        assert_eq!(retry_delay(8, 0.5, None), None);
        assert_eq!(retry_delay(0, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_a_tenth_and_retry_after_wins_when_longer() {
        for jitter in [0.0, 0.25, 0.999] {
            let d = retry_delay(3, jitter, None).unwrap().num_seconds();
            assert!((1620..=1980).contains(&d), "{d}");
        }
        assert_eq!(retry_delay(1, 0.5, Some(120)).unwrap().num_seconds(), 120);
        assert_eq!(retry_delay(2, 0.5, Some(60)).unwrap().num_seconds(), 300);
        assert_eq!(
            retry_delay(1, 0.5, Some(10_000_000)).unwrap().num_seconds(),
            MAX_RETRY_AFTER_SECONDS
        );
    }

    #[test]
    fn event_types_are_known_or_everything() {
        assert_eq!(check_event_types(&["*".into()]).as_deref(), Ok("*"));
        assert!(check_event_types(&[]).is_err());
        assert!(check_event_types(&["booking.made".into()]).is_err());
        assert!(check_event_types(&["webhook.test".into()]).is_err());
        assert!(check_event_types(&["booking.created".into(), "booking.created".into()]).is_err());
        let wanted = parse_event_types("booking.created,booking.cancelled");
        assert!(wants(&wanted, "booking.cancelled"));
        assert!(!wants(&wanted, "booking.started"));
        assert!(wants(&["*".into()], "customer.merged"));
        assert!(!wants(&["*".into()], "webhook.test"));
    }

    #[test]
    fn destinations_parse_and_refuse_what_they_must() {
        assert_eq!(
            parse_destination("https://hooks.example.com/in?x=1"),
            Ok(Destination {
                https: true,
                host: "hooks.example.com".into(),
                port: 443
            })
        );
        assert_eq!(
            parse_destination("http://[::1]:8080/x").unwrap().host,
            "::1"
        );
        assert_eq!(parse_destination("http://a.test:81").unwrap().port, 81);
        for bad in [
            "ftp://x",
            "https://",
            "https://user:pw@x.test/",
            "https://x.test:99999/",
            "x.test/hook",
        ] {
            assert!(parse_destination(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_and_loopback_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
