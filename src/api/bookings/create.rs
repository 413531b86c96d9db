//! POST /v1/bookings: book a slot, from a hold or directly.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{booking_view, BookingView};
use crate::api::auth::{MaybePrincipal, Role, TokenKeys};
use crate::api::blocking;
use crate::api::caller::{caller, Caller};
use crate::api::idempotency::KeyInHand;
use crate::db::DbPool;
use crate::domain::catalog::Channel;
use crate::domain::policy::Override;
use crate::error::{AppError, FieldErrors};
use crate::store::bookings::{Arrival, Booking, CustomerRef, NewBooking, SlotSource};
use crate::store::idempotency::StoredResponse;
use crate::store::{self, calendar};

/// A customer for a new booking: matched by normalised email, then phone,
/// to an existing customer of the business before a new one is created.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerDetails {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl CustomerDetails {
    /// The details trimmed and checked, every problem reported under
    /// `customer.*`; a blank email or phone is as good as none. Whether one
    /// of them is required is the caller's rule (a walk-in may give a name
    /// only: they are standing at the desk).
    pub fn read(&self, errors: &mut FieldErrors) -> CustomerRef {
        let name = self.name.trim();
        errors.check(!name.is_empty(), "customer.name", "must not be empty");
        // The limit counts the text as sent, as the schema's `maxLength` does.
        errors.check(
            self.name.chars().count() <= 200,
            "customer.name",
            "must be at most 200 characters",
        );
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (email, phone) = (present(&self.email), present(&self.phone));
        if let Some(email) = &email {
            errors.check(
                crate::domain::catalog::looks_like_email(email),
                "customer.email",
                "is not an email address",
            );
        }
        if let Some(phone) = &phone {
            errors.check(
                crate::domain::contact::looks_like_phone(phone),
                "customer.phone",
                "is not a phone number",
            );
        }
        CustomerRef::Details {
            name: name.to_owned(),
            email,
            phone,
        }
    }
}

/// A new booking: either `hold_id`, or `service_id` + `start`. The channel and
/// creator come from the caller's token and cannot be set here.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBooking {
    /// Book the slot of a live hold.
    pub hold_id: Option<String>,
    pub service_id: Option<String>,
    #[schema(format = DateTime, example = "2026-03-08T14:00:00Z")]
    pub start: Option<DateTime<Utc>>,
    /// Pin resources (e.g. a chosen stylist); other groups are picked for you.
    #[serde(default)]
    pub resource_ids: Vec<String>,
    /// An existing customer of the business (staff and partners).
    pub customer_id: Option<String>,
    pub customer: Option<CustomerDetails>,
    pub notes: Option<String>,
    /// Staff only: set named service rules aside, with a reason.
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

impl CreateBooking {
    /// Checks the body's shape and what this caller may ask for.
    fn validate(&self, caller: &Caller) -> Result<CustomerRef, AppError> {
        let mut errors = FieldErrors::default();
        match (&self.hold_id, &self.service_id, &self.start) {
            (Some(_), None, None) => {
                errors.check(
                    self.resource_ids.is_empty(),
                    "resource_ids",
                    "the hold already chose the resources",
                );
            }
            (Some(_), _, _) => {
                errors.add("hold_id", "give either hold_id, or service_id and start")
            }
            (None, Some(_), Some(_)) => {}
            (None, None, _) => errors.add("service_id", "give service_id and start, or hold_id"),
            (None, Some(_), None) => errors.add("start", "give the slot start"),
        }
        if let Some(notes) = &self.notes {
            errors.check(
                notes.chars().count() <= 2000,
                "notes",
                "must be at most 2000 characters",
            );
        }
        let customer = if let Some(own) = caller.own_customer() {
            // A customer token books for that customer, whatever the body says.
            if self.customer_id.as_ref().is_some_and(|id| id != &own) {
                errors.add(
                    "customer_id",
                    "a customer token books for its own customer only",
                );
            }
            Some(CustomerRef::Existing(own))
        } else {
            match (&self.customer_id, &self.customer) {
                (Some(_), _) if caller.is_anonymous() => {
                    errors.add("customer_id", "give your name and email or phone instead");
                    None
                }
                (Some(id), None) => Some(CustomerRef::Existing(id.clone())),
                (Some(_), Some(_)) => {
                    errors.add("customer", "give customer_id or customer, not both");
                    None
                }
                (None, Some(details)) => {
                    let details = details.read(&mut errors);
                    if let CustomerRef::Details { email, phone, .. } = &details {
                        errors.check(
                            email.is_some() || phone.is_some(),
                            "customer",
                            "give an email or a phone so we can reach the customer",
                        );
                    }
                    Some(details)
                }
                (None, None) => {
                    errors.add("customer", "say who the booking is for");
                    None
                }
            }
        };
        errors.finish()?;
        Ok(customer.expect("validated"))
    }
}

/// Book a slot, from a hold or directly.
///
/// The channel is derived from the caller (anonymous and customer → online,
/// agent/manager/admin → phone, desk → walk_in, partner → partner). Policy
/// applies to every channel; staff may override named rules with a reason.
#[utoipa::path(
    post, path = "/v1/bookings", tag = "bookings",
    request_body = CreateBooking,
    responses(
        (status = 201, body = BookingView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 410, response = crate::error::Gone),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security((), ("bearer" = []))
)]
pub async fn create_booking(
    maybe: MaybePrincipal,
    pool: web::Data<DbPool>,
    keys: web::Data<TokenKeys>,
    held: KeyInHand,
    body: crate::api::input::Json<CreateBooking>,
) -> Result<HttpResponse, AppError> {
    let caller = caller(maybe);
    caller.require_may_book()?;
    let body = body.into_inner();
    let customer = body.validate(&caller)?;
    let anonymous = caller.is_anonymous();
    let key = held.clone();
    let answer = blocking(&pool, move |conn| {
        let now = Utc::now();
        let (ctx, source) = match &body.hold_id {
            Some(hold_id) => {
                let hold = store::holds::find(conn, caller.business(), hold_id)?;
                if hold.status == "booked" {
                    return Err(AppError::hold_booked(hold.booking_id.as_deref()));
                }
                if !hold.is_live(now) {
                    return Err(AppError::hold_expired());
                }
                let ctx =
                    calendar::service_context(conn, Some(&hold.business_id), &hold.service_id)?;
                (ctx, SlotSource::Hold(Box::new(hold)))
            }
            None => {
                let service_id = body.service_id.as_deref().unwrap_or_default();
                let ctx = calendar::service_context(conn, caller.business(), service_id)?;
                let start = body.start.expect("validated");
                (
                    ctx,
                    SlotSource::Direct {
                        start,
                        wanted: body.resource_ids.clone(),
                    },
                )
            }
        };
        let policy = ctx.policy();
        if anonymous && !policy.allows(Channel::Online) {
            return Err(AppError::not_found("service"));
        }
        let start = match &source {
            SlotSource::Hold(hold) => hold.starts_at.and_utc(),
            SlotSource::Direct { start, .. } => *start,
        };
        let waiver = caller.weigh(
            policy.check_new_slot(caller.channel(), start, now),
            body.override_rules.as_ref(),
        )?;
        let request = NewBooking {
            source,
            customer,
            notes: body
                .notes
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            waiver,
            arrival: Arrival::Booked,
        };
        // The answer is rendered and, under an `Idempotency-Key`, stored in
        // the booking's own transaction: a retry after a crash between
        // commit and reply finds it and replays it instead of booking again.
        store::with_retries(conn, |conn| {
            let (booking, _customer) =
                store::bookings::create_in(conn, &ctx, &request, &caller.actor(), now)?;
            let answer = booking_created(booking, ctx.tz, anonymous.then_some(&*keys), now)?;
            key.store_in(conn, &answer)?;
            Ok(answer)
        })
    })
    .await?;
    Ok(held.committed(answer))
}

/// The 201 answer to a new booking: its view (with a manage token for a
/// customer who booked without one), `Location` and `ETag`.
fn booking_created(
    booking: Booking,
    tz: Tz,
    mint_for_anonymous: Option<&TokenKeys>,
    now: DateTime<Utc>,
) -> Result<StoredResponse, AppError> {
    let business = booking.business_id.clone();
    let mut view = booking_view(booking, tz);
    if let Some(keys) = mint_for_anonymous {
        // Valid until a week after the visit, so the customer can still see it.
        let ttl = (DateTime::parse_from_rfc3339(&view.end)
            .map(|e| e.with_timezone(&Utc))
            .unwrap_or(now)
            - now)
            .num_minutes()
            + 7 * 24 * 60;
        view.manage_token = Some(
            keys.mint(
                &business,
                Role::Customer,
                &view.customer_id,
                "bookings:manage",
                ttl.max(60),
            )
            .map_err(AppError::internal)?,
        );
    }
    crate::api::idempotency::created(format!("/v1/bookings/{}", view.id), view.version, &view)
}
