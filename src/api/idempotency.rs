//! `Idempotency-Key` on every POST under `/v1`: a client that retries a POST
//! (a dropped connection, a timeout, a double tap on "Book") with the same key
//! gets the first answer again instead of a second booking.
//!
//! - same key, same request (method, path with query, body) → the stored
//!   response: same status, body, `Content-Type`, `Location`, `ETag` and
//!   `Link`, plus `Idempotent-Replayed: true`;
//! - same key, different request → 422 `idempotency_key_reused`;
//! - same key while the first request still runs → 409 `idempotency_in_progress`
//!   (with `Retry-After: 1`);
//! - keys belong to one caller: the token's business plus its role and subject;
//!   anonymous callers (the widget) share one scope, so their keys must be
//!   unguessable (a UUID v4) — a replay needs both the key and the exact body;
//! - records are kept [`RETENTION`] (24 h); an older one is ignored, replaced
//!   and eventually pruned;
//! - answers worth replaying are stored: 2xx and 4xx. Server errors (5xx), 429
//!   and 401 are not: the client should retry those, and the retry runs again;
//! - the key is 1 to 255 printable ASCII characters, else 400 `validation_failed`.
//!
//! This is a middleware rather than handler code so every POST, present and
//! future, gets it without a line in its handler. The one gap a middleware
//! leaves — a crash after the change commits and before its answer is
//! stored — is closed where it matters (booking): that handler takes the
//! [`HeldKey`] and stores its answer in the same transaction as the booking,
//! so a retry after any crash replays the booking instead of making another.

use std::future::{ready, Future, Ready};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required};
use utoipa::Modify;

use super::auth::{principal_from, Principal};
use super::blocking;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::store::idempotency::{self as records, Claim, KeyScope, StoredResponse};

pub use crate::store::idempotency::{ABANDONED_AFTER, RETENTION};

/// The request header clients send.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The response header that marks a replayed answer.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Response headers a replay carries: what the client reads to follow up
/// (where the object lives, its version, the body's type, the next page,
/// the methods a 405's path takes). Per-request headers such as
/// `x-request-id` are the replay's own.
const REPLAYED_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::LINK,
    header::ALLOW,
];

/// The POSTs a caller without a token may make: the widget's holds and
/// bookings, and feedback answered with its own token in the body.
const ANONYMOUS_POSTS: [&str; 3] = ["/v1/holds", "/v1/bookings", "/v1/feedback"];

/// The principal recorded for callers without a token.
const ANONYMOUS: &str = "anonymous";

/// The middleware: wraps the whole app, acts only on POSTs under `/v1/` that
/// carry the header.
pub async fn honour_idempotency_keys(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Recorded { key, scope, pool } = match recorded_key(&req) {
        None => return pass(req, &next).await,
        Some(Err(error)) => return Ok(req.error_response(error).map_into_boxed_body()),
        Some(Ok(found)) => found,
    };
    let (mut req, body) = match buffer_body(req).await {
        Ok(buffered) => buffered,
        Err((req, error)) => return Ok(req.error_response(error).map_into_boxed_body()),
    };
    let fingerprint = fingerprint_of(&req, &body);
    req.set_payload(Payload::from(body));
    let started = match claim(&pool, &scope, &key, fingerprint).await {
        Ok(started) => started,
        Err(answer) => return Ok(req.into_response(answer)),
    };
    let held = HeldKey {
        scope: scope.clone(),
        key: key.clone(),
        started,
        stored: Arc::default(),
    };
    req.extensions_mut().insert(held.clone());
    let claim = HeldClaim {
        pool,
        scope,
        key,
        started,
        settled: false,
    };
    run_and_keep(req, &next, &held, claim).await
}

/// A request's key, the caller's scope it lives in, and where it is kept.
struct Recorded {
    key: String,
    scope: KeyScope,
    pool: web::Data<DbPool>,
}

/// The key and its scope when this request is one to record; `None` when
/// it runs unrecorded, and the 400 when the key itself is bad.
///
/// An invalid token is the handler's to refuse (401); such a request has no
/// caller to scope a key to, so it simply runs unrecorded. So does an
/// anonymous request to a route that needs a token: the handler answers 401
/// before any key of the shared anonymous scope is looked at, so a prober
/// learns nothing about keys others used.
fn recorded_key(req: &ServiceRequest) -> Option<Result<Recorded, AppError>> {
    if req.method() != Method::POST
        || !req.path().starts_with("/v1/")
        || !req.headers().contains_key(IDEMPOTENCY_KEY)
    {
        return None;
    }
    let key = match idempotency_key(req.headers()) {
        Ok(key) => key,
        Err(error) => return Some(Err(error)),
    };
    let principal = principal_from(req.request()).ok()?;
    if principal.is_none() && !ANONYMOUS_POSTS.contains(&req.path()) {
        return None;
    }
    let pool = req.app_data::<web::Data<DbPool>>().cloned()?;
    Some(Ok(Recorded {
        key,
        scope: scope_of(principal.as_ref()),
        pool,
    }))
}

/// Claims the key for this request: when it starts, or the answer to send
/// instead (the replay, 409 while the first still runs, 422 for another
/// request under the same key).
async fn claim(
    pool: &web::Data<DbPool>,
    scope: &KeyScope,
    key: &str,
    fingerprint: String,
) -> Result<NaiveDateTime, HttpResponse> {
    let (scope, key) = (scope.clone(), key.to_owned());
    let claimed = blocking(pool, move |conn| {
        records::claim(conn, &scope, &key, &fingerprint, crate::store::now())
    })
    .await;
    match claimed {
        Ok(Claim::Granted { started }) => Ok(started),
        Ok(Claim::Replay(stored)) => Err(replay(stored)),
        Ok(Claim::InFlight) => {
            let mut response = HttpResponse::from_error(AppError::idempotency_in_progress());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(response)
        }
        Ok(Claim::Reused) => Err(HttpResponse::from_error(AppError::idempotency_key_reused())),
        Err(error) => Err(HttpResponse::from_error(error)),
    }
}

/// Runs the handler and keeps its answer under the key, unless the handler
/// stored it with its own change or it is not worth replaying.
async fn run_and_keep(
    req: ServiceRequest,
    next: &Next<impl MessageBody + 'static>,
    held: &HeldKey,
    mut claim: HeldClaim,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(error) => {
            // An error that never became a response is not worth replaying.
            claim.settle(None).await;
            return Err(error);
        }
    };
    if held.stored.load(Ordering::SeqCst) {
        // The handler stored this answer with its change; nothing is left to do.
        claim.settled = true;
        return Ok(response);
    }
    if !worth_keeping(response.status()) {
        claim.settle(None).await;
        return Ok(response);
    }
    Ok(keep(response, claim).await)
}

/// Stores a finished response under the key and sends it on unchanged.
async fn keep(
    response: ServiceResponse<BoxBody>,
    mut claim: HeldClaim,
) -> ServiceResponse<BoxBody> {
    let (request, response) = response.into_parts();
    let (head, response_body) = response.into_parts();
    let bytes = match body::to_bytes(response_body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            claim.settle(None).await;
            let error = AppError::internal(format!("reading a response body: {error}"));
            return ServiceResponse::new(request, error.error_response());
        }
    };
    let stored = match std::str::from_utf8(&bytes) {
        Ok(text) => Some(StoredResponse {
            status: head.status().as_u16(),
            headers: replayed_headers(head.headers()),
            body: text.to_owned(),
        }),
        Err(_) => {
            // Every POST answers JSON; anything else is not stored rather than mangled.
            tracing::warn!("not storing a non-UTF-8 response for an idempotency key");
            None
        }
    };
    claim.settle(stored).await;
    ServiceResponse::new(request, head.set_body(BoxBody::new(bytes)))
}

fn pass(
    req: ServiceRequest,
    next: &Next<impl MessageBody + 'static>,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, Error>> {
    let call = next.call(req);
    async move { call.await.map(ServiceResponse::map_into_boxed_body) }
}

/// The key, checked: present once, 1 to 255 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, AppError> {
    let bad = |why: &str| AppError::bad_parameter(IDEMPOTENCY_KEY, why);
    let mut values = headers.get_all(IDEMPOTENCY_KEY);
    let value = values.next().ok_or_else(|| bad("send one key"))?.as_bytes();
    if values.next().is_some() {
        return Err(bad("send the header once"));
    }
    if value.is_empty() || value.len() > 255 {
        return Err(bad("must be 1 to 255 characters long"));
    }
    if !value.iter().all(|b| (b' '..=b'~').contains(b)) {
        return Err(bad("must be printable ASCII characters"));
    }
    Ok(String::from_utf8(value.to_vec()).expect("checked ASCII"))
}

/// Staff, customers and partners each have their own keys within their
/// business; the role is part of the principal so one subject holding tokens
/// of two roles never sees one role's answer under the other.
fn scope_of(principal: Option<&Principal>) -> KeyScope {
    match principal {
        Some(p) => KeyScope {
            business_id: p.business_id.clone(),
            principal: format!("{}:{}", p.role.as_str(), p.subject),
        },
        None => KeyScope {
            business_id: ANONYMOUS.to_owned(),
            principal: ANONYMOUS.to_owned(),
        },
    }
}

/// What identifies a request for a key: method, path with query, and body,
/// as a SHA-256 hex digest. Headers are left out: a retry may well carry a
/// fresh token or request id and is still the same request.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(path_and_query.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// [`fingerprint`] of a request whose body has been read.
fn fingerprint_of(req: &ServiceRequest, body: &[u8]) -> String {
    let path = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |p| p.as_str());
    fingerprint(req.method().as_str(), path, body)
}

/// Reads the whole body (within the app's payload limit: 413 beyond it), so
/// it can be fingerprinted and handed on to the handler unchanged.
pub(crate) async fn buffer_body(
    mut req: ServiceRequest,
) -> Result<(ServiceRequest, web::Bytes), (ServiceRequest, AppError)> {
    let (http_request, payload) = req.parts_mut();
    match web::Bytes::from_request(http_request, payload).await {
        Ok(bytes) => Ok((req, bytes)),
        Err(error) => {
            let problem =
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::payload_too_large()
                } else {
                    AppError::malformed_json(format!("The body could not be read: {error}"))
                };
            Err((req, problem))
        }
    }
}

/// 2xx and 4xx answers are final for that request and are replayed. 5xx and
/// 429 say "try again later", and 401 means the request had no caller: the
/// retry must run for real, so those free the key.
fn worth_keeping(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED)
}

fn replayed_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    REPLAYED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect()
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let mut response = respond(stored);
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// The response a stored answer stands for: what a handler that renders its
/// answer before committing sends, and what a replay sends again.
pub fn respond(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    for (name, value) in &stored.headers {
        response.insert_header((name.as_str(), value.as_str()));
    }
    response.body(stored.body)
}

/// A 201 answer: the JSON `body` of what was created at `location`, with
/// its version as the `ETag`. Rendered before the change commits, so it can
/// be stored with it (see [`HeldKey`]).
pub fn created(
    location: String,
    version: i32,
    body: &impl serde::Serialize,
) -> Result<StoredResponse, AppError> {
    let body = serde_json::to_string(body)
        .map_err(|e| AppError::internal(format!("rendering {location}: {e}")))?;
    Ok(StoredResponse {
        status: 201,
        headers: vec![
            (
                header::CONTENT_TYPE.as_str().to_owned(),
                "application/json".to_owned(),
            ),
            (header::LOCATION.as_str().to_owned(), location),
            (header::ETAG.as_str().to_owned(), super::etag(version)),
        ],
        body,
    })
}

/// The key a request holds while its handler runs. A handler whose change
/// must never be made twice stores its answer with [`HeldKey::store_in`]
/// inside the transaction that makes the change, then says so with
/// [`HeldKey::committed`]: the answer then exists exactly when the change
/// does, whatever happens to the process between commit and reply.
#[derive(Debug, Clone)]
pub struct HeldKey {
    scope: KeyScope,
    key: String,
    started: NaiveDateTime,
    stored: Arc<AtomicBool>,
}

impl HeldKey {
    /// Stores `answer` on `conn`, in the caller's open transaction.
    /// `false` when the claim was taken over meanwhile (only after
    /// [`ABANDONED_AFTER`]): the newer request's answer counts then.
    pub fn store_in(
        &self,
        conn: &mut DbConnection,
        answer: &StoredResponse,
    ) -> Result<bool, AppError> {
        records::complete(conn, &self.scope, &self.key, self.started, answer)
    }

    /// The transaction that stored the answer has committed.
    pub fn committed(&self) {
        self.stored.store(true, Ordering::SeqCst);
    }
}

/// Extractor: the key this request holds, if it was sent with one.
#[derive(Debug, Clone)]
pub struct KeyInHand(pub Option<HeldKey>);

impl KeyInHand {
    /// Stores `answer` under the key, when one is held, in the caller's open
    /// transaction (see [`HeldKey::store_in`]).
    pub fn store_in(
        &self,
        conn: &mut DbConnection,
        answer: &StoredResponse,
    ) -> Result<(), AppError> {
        if let Some(key) = &self.0 {
            key.store_in(conn, answer)?;
        }
        Ok(())
    }

    /// The transaction that stored `answer` committed: the key is settled,
    /// and the answer goes out. (The durability tests crash the process here,
    /// between commit and reply: `crate::faults`.)
    pub fn committed(&self, answer: StoredResponse) -> HttpResponse {
        if let Some(key) = &self.0 {
            key.committed();
        }
        crate::faults::crash_if(crate::faults::CRASH_AFTER_COMMIT);
        respond(answer)
    }
}

impl FromRequest for KeyInHand {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(KeyInHand(req.extensions().get::<HeldKey>().cloned())))
    }
}

/// The in-flight record this request owns. Settled with the answer (or
/// released) when the handler returns; if the request is dropped first (the
/// client went away, the handler panicked) the record is released on drop,
/// so the key is free again at once rather than after [`ABANDONED_AFTER`].
struct HeldClaim {
    pool: web::Data<DbPool>,
    scope: KeyScope,
    key: String,
    started: NaiveDateTime,
    settled: bool,
}

impl HeldClaim {
    /// Stores `answer` or, with `None`, releases the key.
    async fn settle(&mut self, answer: Option<StoredResponse>) {
        // Set before awaiting: the blocking task runs to its end even if
        // this future is dropped, so the drop guard must not undo it.
        self.settled = true;
        let (scope, key, started) = (self.scope.clone(), self.key.clone(), self.started);
        let result = blocking(&self.pool, move |conn| match answer {
            Some(stored) => records::complete(conn, &scope, &key, started, &stored).map(|kept| {
                if !kept {
                    tracing::warn!(
                        key,
                        "idempotency record was taken over before it was stored"
                    );
                }
            }),
            None => records::release(conn, &scope, &key, started),
        })
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not settle an idempotency record");
        }
    }
}

impl Drop for HeldClaim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // No runtime can be assumed while unwinding: a plain thread it is.
        let pool = self.pool.clone();
        let (scope, key, started) = (self.scope.clone(), self.key.clone(), self.started);
        std::thread::spawn(move || {
            let released = pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| records::release(&mut conn, &scope, &key, started));
            if let Err(error) = released {
                tracing::warn!(%error, "could not release an abandoned idempotency key");
            }
        });
    }
}

/// Documents the header on every POST under `/v1` in the OpenAPI document,
/// with the answers it adds (400, 409, 422) and the replay marker on
/// success responses, so no handler has to repeat it.
pub struct IdempotencyDocs;

impl Modify for IdempotencyDocs {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(operation) = item.post.as_mut().filter(|_| path.starts_with("/v1/")) else {
                continue;
            };
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(key_parameter());
            let responses = &mut operation.responses.responses;
            for (status, component) in [
                ("400", "BadRequest"),
                ("409", "Conflict"),
                ("422", "ValidationFailed"),
            ] {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
            }
            for (status, response) in responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response
                        .headers
                        .insert("Idempotent-Replayed".to_owned(), replayed_header());
                }
            }
        }
    }
}

fn key_parameter() -> Parameter {
    ParameterBuilder::new()
        .name(IDEMPOTENCY_KEY)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the POST safe to retry. The same key with the same request (method, path, body) \
             within 24 h replays the first response (marked `Idempotent-Replayed: true`); with a \
             different request it is 422 `idempotency_key_reused`; while the first request still \
             runs it is 409 `idempotency_in_progress`. Keys belong to the caller (business, role and \
             subject; anonymous callers share one scope, so use a random UUID). 2xx and 4xx answers \
             are stored; 5xx, 429 and 401 are not, so their retry runs again. 1 to 255 printable \
             ASCII characters, else 400 `validation_failed`.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[ -~]+$")),
        ))
        .build()
}

fn replayed_header() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["true"])),
        )
        .description(Some(
            "Present on a response replayed for an `Idempotency-Key` seen before.",
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static("idempotency-key"),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters_sent_once() {
        let long = "k".repeat(255);
        for good in ["a", "order 42/retry", long.as_str()] {
            assert_eq!(
                idempotency_key(&headers_with(&[good.as_bytes()])).unwrap(),
                good
            );
        }
        let too_long = "k".repeat(256);
        for bad in [
            &b""[..],
            too_long.as_bytes(),
            b"tab\there",
            "clé".as_bytes(),
        ] {
            let error = idempotency_key(&headers_with(&[bad])).unwrap_err();
            assert_eq!(error.code(), "validation_failed");
        }
        assert!(idempotency_key(&headers_with(&[b"a", b"b"])).is_err());
    }

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let base = fingerprint("POST", "/v1/locations", b"{}");
        assert_eq!(base, fingerprint("POST", "/v1/locations", b"{}"));
        assert_eq!(base.len(), 64);
        assert_ne!(base, fingerprint("POST", "/v1/resources", b"{}"));
        assert_ne!(base, fingerprint("PUT", "/v1/locations", b"{}"));
        assert_ne!(base, fingerprint("POST", "/v1/locations", b"{ }"));
        // The separator keeps path and body from running into each other.
        assert_ne!(
            fingerprint("POST", "/v1/a", b"b"),
            fingerprint("POST", "/v1/ab", b"")
        );
    }

    #[test]
    fn server_errors_rate_limits_and_unauthenticated_answers_are_not_kept() {
        for kept in [200, 201, 400, 403, 404, 409, 410, 412, 422] {
            assert!(worth_keeping(StatusCode::from_u16(kept).unwrap()), "{kept}");
        }
        for dropped in [401, 429, 500, 502, 503] {
            assert!(
                !worth_keeping(StatusCode::from_u16(dropped).unwrap()),
                "{dropped}"
            );
        }
    }
}
