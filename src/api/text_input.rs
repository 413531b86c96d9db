//! Text that can reach the database or a calendar file is refused when it
//! holds control characters other than tab and newline: PostgreSQL rejects
//! NUL outright, SQLite would store it, and an ICS file would carry it raw.
//! Checked once, for every route: 400 for a path or query value, 422 naming
//! the field for a JSON body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::Error;
use serde_json::Value;

use crate::error::AppError;

/// Control characters a person's text may hold: tab, newline and (with it) carriage return.
fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Percent-decodes `text` as bytes (invalid escapes are kept as they are).
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    out
}

fn has_forbidden(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).chars().any(is_forbidden)
}

/// The first query parameter (by name) or the path holding a control character.
fn bad_uri_part(path: &str, query: &str) -> Option<String> {
    if has_forbidden(&percent_decoded(path)) {
        return Some("path".to_owned());
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = String::from_utf8_lossy(&percent_decoded(name)).into_owned();
            (has_forbidden(&percent_decoded(value)) || name.chars().any(is_forbidden))
                .then_some(name)
        })
}

/// The path (`customer.name`, `intervals.2.start`) of the first string or
/// key holding a control character.
fn bad_field(value: &Value, at: &str) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        Value::String(text) if text.chars().any(is_forbidden) => Some(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| bad_field(item, &join(&i.to_string()))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.chars().any(is_forbidden) {
                Some(join(
                    &key.chars()
                        .filter(|c| !is_forbidden(*c))
                        .collect::<String>(),
                ))
            } else {
                bad_field(item, &join(key))
            }
        }),
        _ => None,
    }
}

/// The middleware; a body that is not JSON is left for the handler to refuse.
pub async fn refuse_control_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(part) = bad_uri_part(req.path(), req.query_string()) {
        let error = AppError::bad_parameter(&part, "must not contain control characters");
        return Ok(req.error_response(error).map_into_boxed_body());
    }
    let writes = [Method::POST, Method::PUT, Method::PATCH].contains(req.method());
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(writes && json) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let (mut req, body) = match super::idempotency::buffer_body(req).await {
        Ok(buffered) => buffered,
        Err((req, error)) => return Ok(req.error_response(error).map_into_boxed_body()),
    };
    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
        if let Some(field) = bad_field(&value, "") {
            let error = AppError::invalid_field(&field, "must not contain control characters");
            return Ok(req.error_response(error).map_into_boxed_body());
        }
    }
    req.set_payload(Payload::from(body));
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tab_and_newline_pass_other_control_characters_do_not() {
        assert!(!"a\tb\nc\r\n".chars().any(is_forbidden));
        for text in ["a\u{0}b", "\u{7}", "x\u{1b}[31m", "\u{7f}"] {
            assert!(text.chars().any(is_forbidden), "{text:?}");
        }
    }

    #[test]
    fn the_offending_field_or_parameter_is_named() {
        let body = json!({"customer": {"name": "Sam\u{0}"}, "notes": "ok"});
        assert_eq!(bad_field(&body, "").as_deref(), Some("customer.name"));
        let body = json!({"intervals": [{"start": "09:00"}, {"start": "1\u{0}"}]});
        assert_eq!(bad_field(&body, "").as_deref(), Some("intervals.1.start"));
        assert_eq!(bad_field(&json!("x\u{1}"), "").as_deref(), Some("body"));
        assert_eq!(bad_field(&json!({"fine": ["a\tb"]}), ""), None);
        assert_eq!(
            bad_uri_part("/v1/bookings/bkg_%00", "").as_deref(),
            Some("path")
        );
        assert_eq!(
            bad_uri_part("/v1/customers", "q=a%00b&limit=5").as_deref(),
            Some("q")
        );
        assert_eq!(bad_uri_part("/v1/customers", "q=caf%C3%A9+ok&x=%"), None);
        assert_eq!(percent_decoded("a%2"), b"a%2".to_vec());
    }
}
