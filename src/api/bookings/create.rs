//! POST /v1/bookings: book a slot, from a hold or directly.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{booking_view, BookingView};
use crate::api::auth::{MaybePrincipal, Role, TokenKeys};
use crate::api::blocking;
use crate::api::caller::caller;
use crate::api::idempotency::KeyInHand;
use crate::booking::{self, BookRequest, Booked, Requester, Slot};
use crate::db::DbPool;
use crate::domain::policy::Override;
use crate::domain::texts::Notes;
use crate::error::{AppError, FieldErrors};
use crate::ids::{CustomerId, HoldId, ServiceId};
use crate::store::bookings::CustomerRef;
use crate::store::idempotency::StoredResponse;

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
    /// Reads the body into a booking request, reporting every bad field at
    /// once, including what this requester may not ask for.
    fn read(self, who: &Requester) -> Result<BookRequest, AppError> {
        let mut errors = FieldErrors::default();
        let slot = match (self.hold_id, self.service_id, self.start) {
            (Some(hold_id), None, None) => {
                errors.check(
                    self.resource_ids.is_empty(),
                    "resource_ids",
                    "the hold already chose the resources",
                );
                Some(Slot::Hold(HoldId::from(hold_id)))
            }
            (Some(_), _, _) => {
                errors.add("hold_id", "give either hold_id, or service_id and start");
                None
            }
            (None, Some(service_id), Some(start)) => Some(Slot::At {
                service_id: ServiceId::from(service_id),
                start,
                resources: self.resource_ids,
            }),
            (None, None, _) => {
                errors.add("service_id", "give service_id and start, or hold_id");
                None
            }
            (None, Some(_), None) => {
                errors.add("start", "give the slot start");
                None
            }
        };
        let notes = match self.notes.as_deref().map(Notes::parse).transpose() {
            Ok(notes) => notes.flatten(),
            Err(why) => {
                errors.add("notes", &why);
                None
            }
        };
        let customer_id = self.customer_id.map(CustomerId::from);
        let customer = customer_of(who, customer_id, self.customer, &mut errors);
        errors.finish()?;
        match (slot, customer) {
            (Some(slot), Some(customer)) => Ok(BookRequest {
                slot,
                customer,
                notes,
                override_rules: self.override_rules,
            }),
            // `finish` has refused every body that named no slot or customer.
            _ => Err(AppError::invalid_field(
                "customer",
                "say who the booking is for",
            )),
        }
    }
}

/// Who the booking is for. A customer token books for its own customer,
/// whatever the body says; strangers give their details, not an id.
fn customer_of(
    who: &Requester,
    customer_id: Option<CustomerId>,
    details: Option<CustomerDetails>,
    errors: &mut FieldErrors,
) -> Option<CustomerRef> {
    if let Some(own) = who.own_customer() {
        if customer_id.as_ref().is_some_and(|id| own != id) {
            errors.add(
                "customer_id",
                "a customer token books for its own customer only",
            );
        }
        return Some(CustomerRef::Existing(own.clone()));
    }
    match (customer_id, details) {
        (Some(_), _) if who.is_anonymous() => {
            errors.add("customer_id", "give your name and email or phone instead");
            None
        }
        (Some(id), None) => Some(CustomerRef::Existing(id)),
        (Some(_), Some(_)) => {
            errors.add("customer", "give customer_id or customer, not both");
            None
        }
        (None, Some(details)) => {
            let details = details.read(errors);
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
    let who = caller.requester();
    let request = body.into_inner().read(&who)?;
    let key = held.clone();
    let answer = blocking(&pool, move |conn| {
        let now = Utc::now();
        let mint = who.is_anonymous().then_some(&**keys);
        booking::book(conn, &who, &request, now, |conn, booked| {
            let answer = booking_created(booked, mint, now)?;
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
    booked: &Booked,
    mint_for_anonymous: Option<&TokenKeys>,
    now: DateTime<Utc>,
) -> Result<StoredResponse, AppError> {
    let business = &booked.booking.business_id;
    let mut view = booking_view(booked.booking.clone(), booked.tz);
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
                business,
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
