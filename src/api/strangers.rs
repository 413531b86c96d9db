//! Limits on strangers: callers without a valid token (the booking page, the
//! widget, anyone with curl). Each client address gets a token bucket of
//! requests (governor's GCRA), and a cap on the holds it keeps live per
//! business (see `store::holds::create`). Over either: 429 `rate_limited` with
//! `Retry-After`. Staff, customer and partner tokens are not limited here.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::auth::principal_from;
use crate::config::OnlineSettings;
use crate::error::AppError;

/// The per-address limits of one process.
pub struct StrangerLimits {
    pub settings: OnlineSettings,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

impl StrangerLimits {
    pub fn new(settings: OnlineSettings) -> Self {
        let limiter = NonZeroU32::new(settings.anonymous_per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(settings.anonymous_burst).unwrap_or(per_minute);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self {
            settings,
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from `address`'s bucket, or says how many seconds
    /// until the next one would be let through.
    fn admit(&self, address: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Forget quiet addresses now and then, so the table stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// The address the request comes from: the peer, unless the peer is a
    /// trusted proxy, in which case the right-most `X-Forwarded-For` entry
    /// that is not itself a trusted proxy (entries to its left are the
    /// client's own say and could be forged).
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let trusted = &self.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !trusted.contains(ip))
                .unwrap_or(peer),
        )
    }
}

/// The middleware: anonymous requests under `/v1/` spend from their address's
/// bucket; preflights, releasing a hold (it gives a slot back, and a widget
/// must be able to do it even when its address ran dry) and callers with a
/// valid token pass untouched.
pub async fn limit_strangers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limits = req.app_data::<web::Data<StrangerLimits>>().cloned();
    let limited = limits.filter(|_| {
        req.path().starts_with("/v1/")
            && req.method() != Method::OPTIONS
            && !(req.method() == Method::DELETE && req.path().starts_with("/v1/holds/"))
            && !matches!(principal_from(req.request()), Ok(Some(_)))
    });
    if let Some(limits) = limited {
        if let Some(address) = limits.client_address(req.request()) {
            if let Err(retry_after) = limits.admit(address) {
                let error = AppError::rate_limited(
                    retry_after,
                    format!("Too many requests from your address; try again in {retry_after} s."),
                );
                return Ok(req.error_response(error).map_into_boxed_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn limits(trusted: &[&str], per_minute: u32, burst: u32) -> StrangerLimits {
        StrangerLimits::new(OnlineSettings {
            trusted_proxies: trusted.iter().map(|p| p.parse().unwrap()).collect(),
            anonymous_per_minute: per_minute,
            anonymous_burst: burst,
            ..OnlineSettings::default()
        })
    }

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let direct = TestRequest::default()
            .peer_addr("203.0.113.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .to_http_request();
        assert_eq!(
            limits(&[], 1, 1).client_address(&direct),
            Some("203.0.113.7".parse().unwrap())
        );
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.3"))
            .to_http_request();
        // The right-most address that is not one of ours: the client the proxy saw.
        assert_eq!(
            limits(&["10.0.0.2", "10.0.0.3"], 1, 1).client_address(&proxied),
            Some("198.51.100.1".parse().unwrap())
        );
    }

    #[test]
    fn a_bucket_lets_its_burst_through_then_says_when_to_come_back() {
        let limits = limits(&[], 60, 3);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.admit(one).is_ok());
        }
        // One a second refills the bucket: the next is due within a second.
        assert_eq!(limits.admit(one).unwrap_err(), 1);
        assert!(
            limits.admit(other).is_ok(),
            "addresses have their own buckets"
        );
        assert!(StrangerLimits::new(OnlineSettings {
            anonymous_per_minute: 0,
            ..OnlineSettings::default()
        })
        .admit(one)
        .is_ok());
    }
}
