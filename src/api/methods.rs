//! The request line's rules for every route, answered as problems: `HEAD` is
//! served as `GET` without a body (RFC 9110 §9.3.2), a path that exists but
//! does not take the method is 405 with `Allow` (§15.5.6), a path that does not
//! exist is 404, and a URI or a header section beyond our limits is 414 / 431.
//!
//! The `Allow` list comes from the route table itself: actix-web's method
//! guards note every method they were asked about while the router tried the
//! routes whose path matched, and a resource's built-in fallback answers 405
//! with exactly those methods. A last resource that matches any path, and no
//! method anyone sends, is that fallback for the whole app; its marker method
//! tells its answer apart, and [`answer_methods`] turns it into a problem.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};

use crate::error::AppError;

/// The pattern of the resource that catches every path no route took.
pub const ANY_PATH: &str = "/{any_path:.*}";

/// The method only the catch-all route takes: it is in every `Allow` list
/// the catch-all produces, and in none that a real route does.
const NO_ROUTE: &str = "SLOTWISE-NO-ROUTE";

/// The longest request target (path and query) read: 8 KiB, as most servers
/// and proxies allow; nothing slotwise answers needs more.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header fields a request may carry (actix-web itself stops at 96
/// and answers that with a bare 431 before slotwise sees the request).
pub const MAX_HEADER_FIELDS: usize = 64;

/// Registers the catch-all resource; call it after every other route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let marker = Method::from_bytes(NO_ROUTE.as_bytes()).expect("a valid method token");
    cfg.service(
        web::resource(ANY_PATH).route(
            web::method(marker).to(|| async { AppError::route_not_found().error_response() }),
        ),
    );
}

/// The middleware (innermost, so idempotency replays and logs see the problem).
pub async fn answer_methods(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(error) = oversized_head(&req) {
        return Ok(req.error_response(error).map_into_boxed_body());
    }
    // The codec remembers the request was HEAD and sends the GET answer's
    // headers, its `Content-Length` included, without its body.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?.map_into_boxed_body();
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return Ok(response);
    }
    let Some(allowed) = allowed_methods(response.headers()) else {
        // A 405 of some route's own making: left as it is.
        return Ok(response);
    };
    let (request, _) = response.into_parts();
    let answer = if allowed.is_empty() {
        AppError::route_not_found().error_response()
    } else {
        let mut answer = AppError::method_not_allowed().error_response();
        answer.headers_mut().insert(
            header::ALLOW,
            header::HeaderValue::from_str(&allowed.join(", ")).expect("method tokens"),
        );
        answer
    };
    Ok(ServiceResponse::new(request, answer))
}

/// The methods of the routes whose path matched, when `headers` are the
/// catch-all's 405 (`None` otherwise): each once, in registration order,
/// with `HEAD` beside `GET`.
fn allowed_methods(headers: &header::HeaderMap) -> Option<Vec<String>> {
    let listed: Vec<String> = headers
        .get_all(header::ALLOW)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    if !listed.iter().any(|m| m == NO_ROUTE) {
        return None;
    }
    let mut allowed: Vec<String> = Vec::new();
    for method in listed.into_iter().filter(|m| m != NO_ROUTE) {
        if !allowed.contains(&method) {
            allowed.push(method.clone());
        }
        if method == "GET" && !allowed.iter().any(|m| m == "HEAD") {
            allowed.push("HEAD".to_owned());
        }
    }
    Some(allowed)
}

/// 414 for a request target over [`MAX_URI_BYTES`], 431 for more than
/// [`MAX_HEADER_FIELDS`] header fields.
fn oversized_head(req: &ServiceRequest) -> Option<AppError> {
    let target = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(AppError::uri_too_long(MAX_URI_BYTES));
    }
    if req.headers().len() > MAX_HEADER_FIELDS {
        return Some(AppError::too_many_headers(MAX_HEADER_FIELDS));
    }
    None
}

/// An empty 405 for tests of the rewriting alone.
#[cfg(test)]
fn catch_all_answer(allow: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_dropped_and_head_joins_get() {
        let answer = catch_all_answer("GET, POST, SLOTWISE-NO-ROUTE, GET");
        assert_eq!(
            allowed_methods(answer.headers()).unwrap(),
            ["GET", "HEAD", "POST"]
        );
        let nothing_matched = catch_all_answer(NO_ROUTE);
        assert!(allowed_methods(nothing_matched.headers())
            .unwrap()
            .is_empty());
        // A 405 without the marker is some route's own.
        assert!(allowed_methods(catch_all_answer("GET").headers()).is_none());
    }
}
