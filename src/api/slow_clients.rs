//! Clients that hold on to the server: a request body must arrive within a
//! deadline counted from its head (408 `request_timeout`), and one peer address
//! may keep only so many connections open (429 `rate_limited`). actix-web times
//! out a slow head by itself (`client_request_timeout`), but nothing else: a
//! `Content-Length: 37` trickled a byte every few seconds stayed open for
//! ever, and enough of them took every file descriptor.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpResponse, ResponseError};

use crate::config::ClientLimits;
use crate::error::AppError;

/// The open connections of each peer address, in one process.
#[derive(Debug)]
pub struct ConnectionCounts {
    per_address: u32,
    trusted_proxies: Vec<IpAddr>,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// Kept in a connection's data while it is open: dropping it (the connection
/// closed) gives its place back.
#[derive(Debug)]
pub struct ConnectionSlot {
    counts: Arc<ConnectionCounts>,
    address: IpAddr,
    /// More connections from this address were open than the cap when this one came.
    over_cap: bool,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

impl ConnectionCounts {
    /// `None` when the cap is off.
    pub fn new(limits: &ClientLimits, trusted_proxies: Vec<IpAddr>) -> Option<Arc<Self>> {
        (limits.connections_per_address > 0).then(|| {
            Arc::new(Self {
                per_address: limits.connections_per_address,
                trusted_proxies,
                open: Mutex::new(HashMap::new()),
            })
        })
    }

    /// `HttpServer::on_connect`: counts the new connection against its peer
    /// address. A proxy we trust speaks for many clients and is not capped.
    pub fn on_connect(self: &Arc<Self>, connection: &dyn std::any::Any, data: &mut Extensions) {
        let Some(address) = connection
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|stream| stream.peer_addr().ok())
            .map(|peer| peer.ip())
        else {
            return;
        };
        if self.trusted_proxies.contains(&address) {
            return;
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_insert(0);
        *count += 1;
        let over_cap = *count > self.per_address;
        drop(open);
        data.insert(ConnectionSlot {
            counts: Arc::clone(self),
            address,
            over_cap,
        });
    }
}

/// The middleware: refuses every request of a connection over its address's
/// cap (and closes it), and puts a deadline on reading the body.
pub async fn hold_clients_to_limits(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(refusal) = over_cap(&req) {
        return Ok(req.into_response(refusal));
    }
    let timeout = req
        .app_data::<web::Data<ClientLimits>>()
        .map_or(0, |limits| limits.body_timeout_secs);
    if timeout == 0 || !has_body(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let timed_out = read_by_deadline(&mut req, timeout);
    let result = next.call(req).await;
    if !timed_out.get() {
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    // Whatever the reader made of the failed read (a 400, a 413, an error),
    // the answer is the timeout; the rest of the body is not waited for
    // (every 408 closes its connection, see `AppError::error_response`).
    let timed_out = AppError::request_timeout(timeout);
    match result {
        Ok(answered) => {
            let (request, _) = answered.into_parts();
            Ok(ServiceResponse::new(request, timed_out.error_response()))
        }
        Err(_) => Err(timed_out.into()),
    }
}

/// The 429 for a connection beyond its address's cap, which also closes it.
fn over_cap(req: &ServiceRequest) -> Option<HttpResponse> {
    let slot = req.conn_data::<ConnectionSlot>()?;
    if !slot.over_cap {
        return None;
    }
    let cap = slot.counts.per_address;
    let error = AppError::rate_limited(
        1,
        format!("At most {cap} connections may be open from one address; reuse one."),
    )
    .with("limit", "connections");
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    Some(response)
}

/// Hands the handler a body that fails once `timeout` seconds have passed;
/// the flag says whether it did.
fn read_by_deadline(req: &mut ServiceRequest, timeout: u64) -> Rc<Cell<bool>> {
    let timed_out = Rc::new(Cell::new(false));
    let body = BodyWithDeadline {
        body: req.parts_mut().1.take(),
        deadline: Box::pin(actix_web::rt::time::sleep(Duration::from_secs(timeout))),
        timed_out: Rc::clone(&timed_out),
        done: false,
    };
    let body: Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(body);
    req.set_payload(Payload::from(body));
    timed_out
}

/// Whether the request announces a body (a length above zero, or chunks).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|length| length > 0)
}

/// The request's body, failing once the deadline has passed.
struct BodyWithDeadline {
    body: Payload,
    deadline: Pin<Box<actix_web::rt::time::Sleep>>,
    timed_out: Rc<Cell<bool>>,
    done: bool,
}

impl futures_core::Stream for BodyWithDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // The deadline first: a client sending a byte whenever it is asked
        // would otherwise always have something ready.
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.done = true;
            this.timed_out.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}
