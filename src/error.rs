//! The one error type of the API and its RFC 9457 `application/problem+json` rendering.
//!
//! Use `AppError` everywhere past the HTTP edge: rules return it, the store
//! returns it, handlers bubble it with `?`. Expected failures get a stable
//! `code` clients can branch on; anything unexpected becomes a 500 whose cause
//! is logged, never sent.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{ToResponse, ToSchema};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object as sent to clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI identifying the problem type; stable per `code`.
    #[schema(example = "urn:slotwise:problem:validation_failed")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short human summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    pub detail: String,
    /// Stable, snake_case machine code (`validation_failed`, `not_found`, ...).
    pub code: String,
    /// Field path → message, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    /// Extra members some codes carry: `rule` for `policy_violation`, `reason` for `paused`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: Map<String, Value>,
}

// The unit-like wrappers below exist only to describe problem responses in the
// OpenAPI document; nothing reads their field.

/// The request is malformed (bad JSON, bad query parameter, invalid cursor).
#[derive(ToResponse)]
#[response(description = "Bad request", content_type = "application/problem+json")]
pub struct BadRequest(#[allow(dead_code)] Problem);

/// Missing, expired or invalid bearer token.
#[derive(ToResponse)]
#[response(
    description = "Unauthenticated",
    content_type = "application/problem+json"
)]
pub struct Unauthenticated(#[allow(dead_code)] Problem);

/// The caller's role may not do this.
#[derive(ToResponse)]
#[response(description = "Forbidden", content_type = "application/problem+json")]
pub struct Forbidden(#[allow(dead_code)] Problem);

/// No such object in the caller's business.
#[derive(ToResponse)]
#[response(description = "Not found", content_type = "application/problem+json")]
pub struct NotFound(#[allow(dead_code)] Problem);

/// The body is well-formed JSON but fails validation.
#[derive(ToResponse)]
#[response(
    description = "Validation failed",
    content_type = "application/problem+json"
)]
pub struct ValidationFailed(#[allow(dead_code)] Problem);

/// `If-Match` does not match the current version.
#[derive(ToResponse)]
#[response(
    description = "Version mismatch",
    content_type = "application/problem+json"
)]
pub struct VersionMismatch(#[allow(dead_code)] Problem);

/// The request conflicts with the current state (`slot_unavailable`,
/// `invalid_transition`, `paused`, `idempotency_in_progress`, ...).
#[derive(ToResponse)]
#[response(description = "Conflict", content_type = "application/problem+json")]
pub struct Conflict(#[allow(dead_code)] Problem);

/// The hold behind the request has expired.
#[derive(ToResponse)]
#[response(description = "Gone", content_type = "application/problem+json")]
pub struct Gone(#[allow(dead_code)] Problem);

/// A stranger's or a partner client's request budget is spent.
#[derive(ToResponse)]
#[response(
    description = "Too many requests (`rate_limited`, with `Retry-After`)",
    content_type = "application/problem+json"
)]
pub struct TooManyRequests(#[allow(dead_code)] Problem);

/// The body is larger than the 256 KiB a request may carry.
#[derive(ToResponse)]
#[response(
    description = "Payload too large (`payload_too_large`: the body is over 256 KiB)",
    content_type = "application/problem+json"
)]
pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

/// The body is not in the media type the operation reads.
#[derive(ToResponse)]
#[response(
    description = "Unsupported media type (`unsupported_media_type`: send the body as the operation's request content type)",
    content_type = "application/problem+json"
)]
pub struct UnsupportedMediaType(#[allow(dead_code)] Problem);

/// Something unexpected failed; the cause is logged, never sent, and nothing was written.
#[derive(ToResponse)]
#[response(
    description = "Internal error (`internal_error`: the cause is logged, not sent; nothing was written)",
    content_type = "application/problem+json"
)]
pub struct InternalError(#[allow(dead_code)] Problem);

/// The database cannot be reached right now; nothing was done.
#[derive(ToResponse)]
#[response(
    description = "Unavailable (`unavailable`, with `Retry-After: 1`: the database did not answer and nothing was done; send the request again)",
    content_type = "application/problem+json"
)]
pub struct Unavailable(#[allow(dead_code)] Problem);

#[derive(Debug, Clone)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Option<BTreeMap<String, String>>,
    extensions: Map<String, Value>,
}

impl AppError {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            errors: None,
            extensions: Map::new(),
        }
    }

    /// 422: the body failed validation; `errors` names each bad field.
    pub fn validation(errors: BTreeMap<String, String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
            "One or more fields are invalid.",
        );
        e.errors = Some(errors);
        e
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(BTreeMap::from([(field.to_owned(), message.into())]))
    }

    /// 400 `validation_failed` for a bad query parameter or path segment.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::invalid_field(field, message);
        e.status = StatusCode::BAD_REQUEST;
        e
    }

    /// 400 `malformed_json`: the body is not JSON at all.
    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Malformed JSON",
            detail,
        )
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Unauthenticated",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404 for an object that does not exist in the caller's business.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("No such {what}."),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "No route matches this method and path.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            "This path does not accept that method.",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body as application/json.",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            "The body exceeds the size limit.",
        )
    }

    /// 414 `uri_too_long`: the path and query together exceed `limit` bytes.
    pub fn uri_too_long(limit: usize) -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "URI too long",
            format!("The path and query may be at most {limit} bytes."),
        )
        .with("limit", limit)
    }

    /// 431 `headers_too_large`: more header fields than `limit`.
    pub fn too_many_headers(limit: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "Request header fields too large",
            format!("A request may carry at most {limit} header fields."),
        )
        .with("limit", limit)
    }

    /// 408 `request_timeout`: the body did not arrive within `seconds` of
    /// the request's head; nothing was done, and the connection is closed.
    pub fn request_timeout(seconds: u64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Request timeout",
            format!("The request body must arrive within {seconds} s of its headers."),
        )
        .with("timeout_seconds", seconds)
    }

    /// 412: `If-Match` named a version that is no longer current.
    pub fn version_mismatch(current: Option<i32>) -> Self {
        let mut e = Self::new(
            StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            "Version mismatch",
            "The object changed since you read it; fetch it again and retry.",
        );
        if let Some(current) = current {
            e.extensions
                .insert("current_version".into(), Value::from(current));
        }
        e
    }

    /// 422 `destination_refused`: a webhook URL leads to an address slotwise
    /// must not call (loopback, private networks), or cannot be resolved.
    pub fn destination_refused(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "destination_refused",
            "Destination refused",
            detail.clone(),
        );
        e.errors = Some(BTreeMap::from([("url".to_owned(), detail)]));
        e
    }

    /// 409 with a caller-chosen stable code.
    pub fn conflict(code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, title, detail)
    }

    /// 409 `slot_unavailable`: the slot is taken (capacity, seats or a hold).
    pub fn slot_unavailable(detail: impl Into<String>) -> Self {
        Self::conflict("slot_unavailable", "Slot unavailable", detail)
    }

    /// 422 `outside_hours`: the start is not a slot of the service at all.
    pub fn outside_hours(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_hours",
            "Outside opening hours",
            detail,
        )
    }

    /// 422 `policy_violation` naming the service rule that refuses the request.
    pub fn policy_violation(rule: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_violation",
            "Policy violation",
            detail,
        )
        .with("rule", rule)
    }

    /// 409 `paused`: a service, resource or location is paused; says why.
    pub fn paused(what: &str, reason: Option<&str>) -> Self {
        let reason = reason.unwrap_or("paused");
        Self::conflict(
            "paused",
            "Paused",
            format!("The {what} is paused and takes no bookings: {reason}"),
        )
        .with("reason", reason)
        .with("paused", what)
    }

    /// Adds when a pause ends by itself (`until`), to a `paused` problem.
    pub fn until(self, until: Option<chrono::NaiveDateTime>) -> Self {
        match until {
            Some(until) => self.with(
                "until",
                until
                    .and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            None => self,
        }
    }

    /// 409 `hold_booked`: the hold already became a booking (its id in
    /// `booking_id`); retrying the booking or releasing the hold is moot.
    pub fn hold_booked(booking_id: Option<&str>) -> Self {
        let error = Self::conflict(
            "hold_booked",
            "Hold already booked",
            "This hold already became a booking; look it up, or cancel it instead.",
        );
        match booking_id {
            Some(id) => error.with("booking_id", id),
            None => error,
        }
    }

    /// 410 `hold_expired`: the hold ran out (or was released) before it was booked.
    pub fn hold_expired() -> Self {
        Self::new(
            StatusCode::GONE,
            "hold_expired",
            "Hold expired",
            "The hold has expired or was released; pick the slot again.",
        )
    }

    /// 409 `invalid_transition`: the booking's status does not allow this step.
    pub fn invalid_transition(from: &str, action: &str) -> Self {
        Self::conflict(
            "invalid_transition",
            "Invalid transition",
            format!("A {from} booking cannot {action}."),
        )
        .with("booking_status", from)
    }

    /// 422 `idempotency_key_reused`: the key was used with a different request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request; use a new key.",
        )
    }

    /// 409 `idempotency_in_progress`: the first request with this key is still running.
    pub fn idempotency_in_progress() -> Self {
        Self::conflict(
            "idempotency_in_progress",
            "Request in progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )
    }

    /// 503: the database cannot be reached or the pool is exhausted.
    /// 429: a stranger asked for more than the limits allow; `retry_after`
    /// seconds is sent as `Retry-After` and in the body.
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            detail,
        )
        .with("retry_after", retry_after.max(1))
    }

    /// 503 `unavailable` with `Retry-After: 1`: the database cannot be
    /// reached right now; the request did nothing and may be sent again.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
        .with("retry_after", 1)
    }

    /// 500: logs the cause and tells the client nothing about it.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "Something went wrong on our side; it has been logged.",
        )
    }

    /// Adds an extension member such as `rule` or `reason`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        // An extension must never shadow a member RFC 9457 or our clients rely on.
        debug_assert!(
            !["type", "title", "status", "detail", "code", "errors", "instance"].contains(&key),
            "problem extension `{key}` would shadow a standard member"
        );
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:slotwise:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.detail
        )
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        // A request that timed out left the rest of itself unread on the
        // connection: nothing more can be read from it.
        if self.status == StatusCode::REQUEST_TIMEOUT {
            response.force_close();
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.extensions.get("retry_after").and_then(Value::as_u64) {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&self.to_problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::not_found("object"),
            other if crate::db::connection_lost(&other) => {
                tracing::warn!(error = %other, "lost the database connection");
                AppError::unavailable("The database connection was lost; retry shortly.")
            }
            other if crate::db::storage_refused(&other) => {
                tracing::error!(error = %other, "the database refuses to store anything");
                AppError::unavailable(
                    "The database cannot store anything right now (full or read-only); \
                     nothing was saved, retry later.",
                )
            }
            other => AppError::internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(%error, "database pool exhausted or unreachable");
        AppError::unavailable("The database is not reachable right now; retry shortly.")
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::internal(format!("blocking task: {error}"))
    }
}

/// Collects field errors so a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Records `message` for `field` unless `ok` holds.
    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else a 422 naming every field.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.0))
        }
    }
}
