//! The HTTP surface: handlers, request/response types and their OpenAPI
//! description. Handlers parse and authorise, then call the store inside
//! `web::block`; they hold no SQL and no business rules.

pub mod auth;
pub mod availability;
pub mod bookings;
pub mod broadcasts;
pub mod business;
pub mod caller;
pub mod catalog;
pub mod clients;
pub mod customers;
pub mod events;
pub mod feedback;
pub mod health;
pub mod holds;
pub mod idempotency;
pub mod input;
pub mod intents;
pub mod interactions;
pub mod locations;
pub mod methods;
pub mod notifications;
pub mod oauth;
pub mod openapi;
pub mod pauses;
pub mod public;
pub mod reports;
pub mod resources;
pub mod services;
pub mod slow_clients;
pub mod strangers;
pub mod text_input;
pub mod walk_ins;
pub mod webhooks;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use crate::db::blocking;
use crate::error::AppError;

pub use caller::BookingSettings;
pub use reports::ContactRules;

/// Registers every route of the service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .configure(health::routes)
        .configure(locations::routes)
        .configure(resources::routes)
        .configure(services::routes)
        .configure(availability::routes)
        .configure(holds::routes)
        .configure(bookings::routes)
        .configure(events::routes)
        .configure(customers::routes)
        .configure(intents::routes)
        .configure(interactions::routes)
        .configure(feedback::routes)
        .configure(reports::routes)
        .configure(business::routes)
        .configure(public::routes)
        .configure(webhooks::routes)
        .configure(notifications::routes)
        .configure(clients::routes)
        .configure(oauth::routes)
        .configure(pauses::routes)
        .configure(walk_ins::routes)
        .configure(broadcasts::routes)
        // Last: every path and method no route above took (404, or 405 with `Allow`).
        .configure(methods::routes);
}

/// JSON bodies: syntax errors are 400 `malformed_json`; well-formed bodies of
/// the wrong shape (unknown field, wrong type, missing field) are 422 naming
/// the field; a wrong content type is 415.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError;
            let problem = match &err {
                JsonPayloadError::ContentType => AppError::unsupported_media_type(),
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::payload_too_large(),
                JsonPayloadError::Deserialize(e) if e.is_data() => {
                    AppError::validation(std::collections::BTreeMap::from([(
                        field_of_serde_error(&e.to_string()),
                        strip_position(&e.to_string()),
                    )]))
                }
                JsonPayloadError::Deserialize(e) => {
                    AppError::malformed_json(format!("The body is not valid JSON: {}", e))
                }
                other => AppError::malformed_json(other.to_string()),
            };
            problem.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = err.to_string();
        let message = message.trim_start_matches("Query deserialize error: ");
        AppError::bad_parameter(&field_of_serde_error(message), message.to_owned()).into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _req| AppError::bad_parameter("path", err.to_string()).into())
}

/// Best effort at naming the field a serde error is about (`unknown field `x``,
/// `missing field `x``); falls back to `body`.
fn field_of_serde_error(message: &str) -> String {
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            if let Some(name) = rest.split('`').next() {
                return name.to_owned();
            }
        }
    }
    "body".to_owned()
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// `limit` and `cursor` of every list endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    #[param(min_length = 1, max_length = 512)]
    pub cursor: Option<String>,
}

/// Lists are read in pages by the store; the API reads and signs the cursors.
pub use crate::store::PageRequest;

/// The page parameters of a list request, with the list they were sent to
/// (its path) and the key that signs its cursors, so that a cursor is good
/// only on the list that issued it. Handlers take this in place of
/// `Query<PageQuery>` (which still describes the parameters in OpenAPI).
pub struct PageParams {
    query: PageQuery,
    list: String,
    key: [u8; 32],
}

impl actix_web::FromRequest for PageParams {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            input::query_from_str(req.query_string()).map(|query| PageParams {
                query,
                list: req.path().to_owned(),
                key: cursor_key(req),
            }),
        )
    }
}

impl PageParams {
    pub fn validate(&self) -> Result<PageRequest, AppError> {
        let limit = self.query.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::bad_parameter(
                "limit",
                "must be between 1 and 200",
            ));
        }
        let after = match &self.query.cursor {
            None => None,
            Some(cursor) => Some(decode_cursor(&self.key, &self.list, cursor)?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// The cursor key of the running app (its token keys are always there; a
/// bare request in a unit test signs with an all-zero key).
fn cursor_key(req: &HttpRequest) -> [u8; 32] {
    req.app_data::<web::Data<auth::TokenKeys>>()
        .map(|keys| *keys.cursor_key())
        .unwrap_or_default()
}

/// Bytes of a cursor's MAC: 128 bits, plenty against guessing.
const CURSOR_TAG_LEN: usize = 16;

fn cursor_mac(key: &[u8; 32], list: &str, last_id: &str) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    // The list's path and the position, separated by a byte neither holds.
    mac.update(list.as_bytes());
    mac.update(b"\0");
    mac.update(last_id.as_bytes());
    mac
}

/// An opaque cursor: base64url of a MAC over the list and the position,
/// then the position (the last id of the page).
fn encode_cursor(key: &[u8; 32], list: &str, last_id: &str) -> String {
    use hmac::Mac;
    let tag = cursor_mac(key, list, last_id).finalize().into_bytes();
    let mut bytes = tag[..CURSOR_TAG_LEN].to_vec();
    bytes.extend_from_slice(last_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The position in a cursor this list issued; 400 for any other text,
/// a cursor changed by hand, or one of another list.
fn decode_cursor(key: &[u8; 32], list: &str, cursor: &str) -> Result<String, AppError> {
    use hmac::Mac;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .filter(|bytes| bytes.len() > CURSOR_TAG_LEN)
        .and_then(|bytes| {
            let (tag, id) = bytes.split_at(CURSOR_TAG_LEN);
            let id = String::from_utf8(id.to_vec()).ok()?;
            cursor_mac(key, list, &id)
                .verify_truncated_left(tag)
                .ok()
                .map(|_| id)
        })
        .ok_or_else(|| AppError::bad_parameter("cursor", "is not a cursor this list issued"))
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Turns `limit + 1` fetched rows into a page response with `next_cursor` and a
/// `Link: rel="next"` header.
pub fn page_response<Row, Out>(
    req: &HttpRequest,
    mut rows: Vec<Row>,
    page: &PageRequest,
    id_of: impl Fn(&Row) -> &str,
    render: impl Fn(Row) -> Out,
) -> HttpResponse
where
    Out: Serialize,
{
    let has_more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if has_more {
        let key = cursor_key(req);
        rows.last()
            .map(|r| encode_cursor(&key, req.path(), id_of(r)))
    } else {
        None
    };
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        let mut query: Vec<(String, String)> =
            web::Query::<Vec<(String, String)>>::from_query(req.query_string())
                .map(|q| q.into_inner())
                .unwrap_or_default();
        query.retain(|(k, _)| k != "cursor" && k != "limit");
        query.push(("limit".into(), page.limit.to_string()));
        query.push(("cursor".into(), cursor.clone()));
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
            .collect();
        response.insert_header((
            header::LINK,
            format!("<{}?{}>; rel=\"next\"", req.path(), qs.join("&")),
        ));
    }
    response.json(Page {
        data: rows.into_iter().map(render).collect(),
        next_cursor,
    })
}

fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// 400 when a list's `from` comes after its `to`: such a range can only be
/// a mistake, and answering it would return nothing (or overlapping rows).
pub fn check_range<T: PartialOrd>(from: Option<&T>, to: Option<&T>) -> Result<(), AppError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => {
            Err(AppError::bad_parameter("to", "must not be before `from`"))
        }
        _ => Ok(()),
    }
}

/// The ETag of a versioned object.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// Reads `If-Match` as the version it names: `None` when absent or `*`.
/// A value that names no version of ours can never match: it reads as
/// version 0 (versions start at 1), so the write answers 412 when it
/// compares versions — after the body was checked, so a bad body is still
/// 400/422 whatever tag came with it.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i32>, AppError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let named = text
        .trim_start_matches("W/")
        .trim_matches('"')
        .strip_prefix('v')
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v >= 1);
    Ok(Some(named.unwrap_or(0)))
}

/// 200 with the object and its ETag.
pub fn versioned<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// 201 with `Location` and ETag.
pub fn created<T: Serialize>(location: String, version: i32, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// Deserializes a field that may be absent (leave unchanged), `null` (clear)
/// or a value (set): the PATCH semantics of nullable fields.
pub fn patch_field<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// For `map_err` on a lookup of something a body names: "no such thing" is
/// a problem with that field (422), anything else (a lost database: 503)
/// stays what it is rather than being blamed on the client.
pub fn missing_as_field(
    field: &'static str,
    message: &'static str,
) -> impl FnOnce(AppError) -> AppError {
    move |error| {
        if error.code() == "not_found" {
            AppError::invalid_field(field, message)
        } else {
            error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_thing_is_blamed_on_the_field() {
        let missing =
            missing_as_field("location_id", "no such location")(AppError::not_found("location"));
        assert_eq!(missing.code(), "validation_failed");
        let lost =
            missing_as_field("location_id", "no such location")(AppError::unavailable("gone"));
        assert_eq!(lost.code(), "unavailable");
    }

    #[test]
    fn cursors_round_trip_on_their_own_list_only() {
        let key = [7; 32];
        let cursor = encode_cursor(&key, "/v1/locations", "loc_01ABC");
        assert_eq!(
            decode_cursor(&key, "/v1/locations", &cursor).unwrap(),
            "loc_01ABC"
        );
        assert!(decode_cursor(&key, "/v1/resources", &cursor).is_err());
        assert!(decode_cursor(&[8; 32], "/v1/locations", &cursor).is_err());
        // The old, unsigned form and text that is no cursor at all.
        let unsigned = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("after:loc_01ABC");
        assert!(decode_cursor(&key, "/v1/locations", &unsigned).is_err());
        assert!(decode_cursor(&key, "/v1/locations", "bm90LWEtY3Vyc29y").is_err());
        assert!(decode_cursor(&key, "/v1/locations", "%%%").is_err());
        // Another position under the same MAC.
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&cursor)
            .unwrap();
        *bytes.last_mut().unwrap() = b'D';
        let moved = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        assert!(decode_cursor(&key, "/v1/locations", &moved).is_err());
    }

    #[test]
    fn if_match_accepts_strong_weak_and_star() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers).unwrap(), None);
        headers.insert(header::IF_MATCH, "\"v3\"".parse().unwrap());
        assert_eq!(if_match(&headers).unwrap(), Some(3));
        headers.insert(header::IF_MATCH, "W/\"v4\"".parse().unwrap());
        assert_eq!(if_match(&headers).unwrap(), Some(4));
        headers.insert(header::IF_MATCH, "*".parse().unwrap());
        assert_eq!(if_match(&headers).unwrap(), None);
        // A tag that names no version of ours reads as one that never matches.
        for foreign in ["\"abc\"", "\"v0\"", "\"v-2\"", "null"] {
            headers.insert(header::IF_MATCH, foreign.parse().unwrap());
            assert_eq!(if_match(&headers).unwrap(), Some(0), "{foreign}");
        }
    }

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_of_serde_error("unknown field `colour`, expected one of `name`"),
            "colour"
        );
        assert_eq!(
            field_of_serde_error("missing field `name` at line 1 column 2"),
            "name"
        );
        assert_eq!(field_of_serde_error("invalid type: string"), "body");
    }
}
