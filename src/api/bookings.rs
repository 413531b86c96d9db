//! `/v1/bookings`: one booking flow for every channel — create (from a hold or
//! a slot), find (by id, by reference, by filters), the lifecycle steps,
//! history and an iCalendar file.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{MaybePrincipal, Principal, Role, TokenKeys};
use super::availability::{local_text, parse_bound, utc_text};
use super::caller::{caller, optional_body, Caller};
use super::idempotency::KeyInHand;
use super::{blocking, if_match, page_response, versioned, PageQuery};
use crate::config::NotifySettings;
use crate::db::{DbConnection, DbPool};
use crate::domain::catalog::{parse_time_zone, Channel};
use crate::domain::ics::{self, CalendarEntry, Organizer};
use crate::domain::lifecycle::{too_early_for_no_show, BookingStatus, Step};
use crate::domain::policy::Override;
use crate::domain::reference::normalise_reference;
use crate::error::{AppError, FieldErrors};
use crate::store::bookings::{
    Arrival, Booking, BookingFilter, CustomerRef, HistoryEntry, NewBooking, RescheduleRequest,
    SlotSource, StepRequest, Waiver,
};
use crate::store::idempotency::StoredResponse;
use crate::store::{self, calendar};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/bookings", web::post().to(create_booking))
        .route("/v1/bookings", web::get().to(list_bookings))
        .route(
            "/v1/bookings/by-reference/{code}",
            web::get().to(get_booking_by_reference),
        )
        .route("/v1/bookings/{id}", web::get().to(get_booking))
        .route("/v1/bookings/{id}", web::patch().to(update_booking))
        .route("/v1/bookings/{id}/ics", web::get().to(get_booking_ics))
        .route(
            "/v1/bookings/{id}/history",
            web::get().to(get_booking_history),
        )
        .route(
            "/v1/bookings/{id}/reschedule",
            web::post().to(reschedule_booking),
        )
        .route("/v1/bookings/{id}/cancel", web::post().to(cancel_booking))
        .route(
            "/v1/bookings/{id}/check-in",
            web::post().to(check_in_booking),
        )
        .route("/v1/bookings/{id}/start", web::post().to(start_booking))
        .route(
            "/v1/bookings/{id}/complete",
            web::post().to(complete_booking),
        )
        .route("/v1/bookings/{id}/no-show", web::post().to(no_show_booking));
}

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

/// A booking as every channel sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    #[schema(example = "bkg_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub id: String,
    /// Human reference for phone and desk.
    #[schema(example = "K7M-4QX")]
    pub reference: String,
    pub status: BookingStatus,
    pub service_id: String,
    pub location_id: String,
    pub customer_id: String,
    pub resource_ids: Vec<String>,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    /// `start` in the location's zone, with its offset.
    pub local_start: String,
    pub local_end: String,
    pub timezone: String,
    /// The door it came through: online, phone, walk_in or partner.
    pub channel: Channel,
    /// The subject of the token that booked it (`anonymous` for the widget).
    pub created_by: String,
    /// The partner client that booked it, for bookings made through partner apps.
    #[schema(example = "cli_01JD3V6Q8M2X4Z7C9B1N5R3T6W")]
    pub client_id: Option<String>,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    /// When a running-late notice expects it to start (absent: on time).
    #[schema(format = DateTime)]
    pub expected_start: Option<String>,
    pub version: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Anonymous bookings only: a customer token limited to this customer's
    /// bookings, to view, cancel or reschedule without an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_token: Option<String>,
}

pub(crate) fn booking_view(b: Booking, tz: Tz) -> BookingView {
    let start = b.starts_at.and_utc();
    let end = b.ends_at.and_utc();
    BookingView {
        resource_ids: b.resources(),
        status: b.status(),
        channel: store::stored_or(
            Channel::parse(&b.channel),
            "channel",
            &b.channel,
            Channel::Online,
        ),
        id: b.id,
        reference: b.reference,
        service_id: b.service_id,
        location_id: b.location_id,
        customer_id: b.customer_id,
        start: utc_text(start),
        end: utc_text(end),
        local_start: local_text(start, tz),
        local_end: local_text(end, tz),
        timezone: tz.name().to_owned(),
        created_by: b.created_by,
        client_id: b.client_id,
        notes: b.notes,
        cancel_reason: b.cancel_reason,
        expected_start: b.expected_start.map(|t| utc_text(t.and_utc())),
        version: b.version,
        created_at: utc_text(b.created_at.and_utc()),
        updated_at: utc_text(b.updated_at.and_utc()),
        manage_token: None,
    }
}

fn location_tz(conn: &mut DbConnection, business: &str, location_id: &str) -> Result<Tz, AppError> {
    let location = store::locations::find(conn, business, location_id)?;
    parse_time_zone(&location.timezone).map_err(AppError::internal)
}

fn with_tz(conn: &mut DbConnection, booking: Booking) -> Result<BookingView, AppError> {
    let tz = location_tz(conn, &booking.business_id, &booking.location_id)?;
    Ok(booking_view(booking, tz))
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
    body: super::input::Json<CreateBooking>,
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
    super::idempotency::created(format!("/v1/bookings/{}", view.id), view.version, &view)
}

/// Filters of the booking list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingQuery {
    /// Bookings starting at or after this date (business zone) or instant.
    pub from: Option<String>,
    /// Bookings starting before this instant, or on or before this date.
    pub to: Option<String>,
    pub location_id: Option<String>,
    pub resource_id: Option<String>,
    pub service_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<BookingStatus>,
    pub channel: Option<Channel>,
}

/// Whose bookings a caller may act on: staff every booking of the business;
/// customers their own; partners those they made, unless granted
/// `bookings:read:all`. Anything else does not exist for the caller (404).
fn may_touch(caller: &Caller, booking: &Booking) -> Result<(), AppError> {
    let principal = caller.require_token()?;
    let theirs = match principal.role {
        Role::Customer => booking.customer_id == principal.subject,
        Role::Partner => caller.own_partner().is_none_or(|own| booking.made_by(&own)),
        _ => true,
    };
    if theirs {
        Ok(())
    } else {
        Err(AppError::not_found("booking"))
    }
}

/// As [`may_touch`], and partners need `bookings:read` to read.
fn may_see(caller: &Caller, booking: &Booking) -> Result<(), AppError> {
    let principal = caller.require_token()?;
    if principal.role == Role::Partner {
        principal.require_staff_or_partner_scope("bookings:read")?;
    }
    may_touch(caller, booking)
}

/// List bookings, oldest created first.
#[utoipa::path(
    get, path = "/v1/bookings", tag = "bookings",
    params(PageQuery, BookingQuery),
    responses(
        (status = 200, body = super::Page<BookingView>, headers(("Link" = String, description = "rel=\"next\" page"))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
    ),
    security(("bearer" = []))
)]
pub async fn list_bookings(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    page: super::PageParams,
    query: super::input::Query<BookingQuery>,
) -> Result<HttpResponse, AppError> {
    if principal.role == Role::Partner {
        principal.require_staff_or_partner_scope("bookings:read")?;
    }
    let page = page.validate()?;
    let request = page.clone();
    let query = query.into_inner();
    let (rows, zones) = blocking(&pool, move |conn| {
        let business = store::businesses::find(conn, &principal.business_id)?
            .ok_or_else(|| AppError::not_found("business"))?;
        let tz = parse_time_zone(&business.timezone).map_err(AppError::internal)?;
        let mut filter = BookingFilter {
            from: query
                .from
                .as_deref()
                .map(|t| parse_bound("from", t, tz, false))
                .transpose()?,
            to: query
                .to
                .as_deref()
                .map(|t| parse_bound("to", t, tz, true))
                .transpose()?,
            location_id: query.location_id,
            resource_id: query.resource_id,
            service_id: query.service_id,
            customer_id: query.customer_id,
            status: query.status.map(|s| s.as_str().to_owned()),
            channel: query.channel.map(|c| c.as_str().to_owned()),
            made_by: None,
        };
        // `to` is exclusive here (a date means the end of that day), so an
        // equal bound is already an empty range.
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from >= to {
                return Err(AppError::bad_parameter("to", "must be after `from`"));
            }
        }
        match principal.role {
            Role::Customer => filter.customer_id = Some(principal.subject.clone()),
            Role::Partner => filter.made_by = Caller(Some(principal.clone())).own_partner(),
            _ => {}
        }
        let rows = store::bookings::list(conn, &principal.business_id, &filter, &request)?;
        let mut zones: HashMap<String, Tz> = HashMap::new();
        for row in &rows {
            if !zones.contains_key(&row.location_id) {
                let tz = location_tz(conn, &row.business_id, &row.location_id)?;
                zones.insert(row.location_id.clone(), tz);
            }
        }
        Ok((rows, zones))
    })
    .await?;
    Ok(page_response(
        &req,
        rows,
        &page,
        |b| &b.id,
        |b| {
            let tz = zones.get(&b.location_id).copied().unwrap_or(Tz::UTC);
            booking_view(b, tz)
        },
    ))
}

/// Get one booking.
#[utoipa::path(
    get, path = "/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::find(conn, &business, &id, None)?;
        may_see(&caller, &booking)?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

/// Find a booking by the reference a caller reads out (`K7M-4QX`, any case,
/// with or without the dash). Staff only.
#[utoipa::path(
    get, path = "/v1/bookings/by-reference/{code}", tag = "bookings",
    params(("code" = String, Path, description = "Booking reference")),
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_by_reference(
    principal: Principal,
    pool: web::Data<DbPool>,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let reference = normalise_reference(&code);
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::find_by_reference(conn, &principal.business_id, &reference)?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBooking {
    /// Free-text notes; `null` clears them.
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// Change a booking's notes (staff). Send `If-Match`.
#[utoipa::path(
    patch, path = "/v1/bookings/{id}", tag = "bookings",
    params(
        ("id" = String, Path, description = "Booking id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = UpdateBooking,
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn update_booking(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<UpdateBooking>,
) -> Result<HttpResponse, AppError> {
    principal.require(Principal::STAFF)?;
    let expected = if_match(req.headers())?;
    let notes = body.into_inner().notes;
    // Counted as sent, as the OpenAPI `maxLength` counts it.
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::invalid_field(
            "notes",
            "must be at most 2000 characters",
        ));
    }
    let business = principal.business_id.clone();
    let notes = notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let caller = Caller(Some(principal));
    let view = blocking(&pool, move |conn| {
        let booking = store::bookings::update_notes(
            conn,
            &business,
            &id,
            notes,
            expected,
            &caller.actor(),
            Utc::now(),
        )?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

/// The booking as an iCalendar (RFC 5545) file.
///
/// One `VEVENT` with the business as `ORGANIZER`, `METHOD:PUBLISH` while the
/// booking stands and `METHOD:CANCEL` once it is cancelled, the method repeated
/// in the `Content-Type` (`text/calendar; charset=utf-8; method=…`). `SEQUENCE`
/// counts the reschedules and the cancellation, so a calendar app replaces its
/// copy only when the time or the status changed (a notes edit keeps it).
#[utoipa::path(
    get, path = "/v1/bookings/{id}/ics", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_ics(
    principal: Principal,
    pool: web::Data<DbPool>,
    notify: web::Data<NotifySettings>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let sender = sender_address(&notify.email_from);
    let (text, content_type, reference) = blocking(&pool, move |conn| {
        let booking = store::bookings::find(conn, &business, &id, None)?;
        may_see(&caller, &booking)?;
        let service = store::services::find(conn, &business, &booking.service_id)?;
        let location = store::locations::find(conn, &business, &booking.location_id)?;
        let organizer_name = store::businesses::find(conn, &business)?
            .map(|b| b.name)
            .unwrap_or_else(|| location.name.clone());
        let sequence = store::bookings::calendar_sequence(conn, &business, &booking.id)?;
        let place = match &location.address {
            Some(address) => format!("{}, {}", location.name, address),
            None => location.name.clone(),
        };
        let entry = CalendarEntry {
            uid: &format!("{}@slotwise", booking.id),
            sequence,
            // The business organises the visit; replies go where its location
            // takes email, else to the address customer email comes from.
            organizer: Organizer {
                name: &organizer_name,
                email: location.email.as_deref().unwrap_or(&sender),
            },
            stamp: booking.updated_at.and_utc(),
            start: booking.starts_at.and_utc(),
            end: booking.ends_at.and_utc(),
            summary: &service.row.name,
            location: Some(&place),
            description: &format!("Booking reference {}", booking.reference),
            cancelled: booking.status() == BookingStatus::Cancelled,
        };
        Ok((
            ics::render(&entry),
            ics::content_type(&entry),
            booking.reference,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"booking-{reference}.ics\""),
        ))
        .body(text))
}

/// The bare address of `SLOTWISE_EMAIL_FROM` (`name <address>` or just the address).
fn sender_address(from: &str) -> String {
    match (from.find('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim().to_owned(),
        _ => from.trim().to_owned(),
    }
}

/// A staff override recorded with a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub rules: Vec<String>,
    pub reason: String,
}

/// One change of a booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    pub id: String,
    /// created, reschedule, cancel, check_in, start, complete, no_show or update.
    pub action: String,
    /// Subject of the token that made the change (`anonymous` for the widget).
    pub actor: String,
    pub actor_role: String,
    pub channel: Channel,
    /// The partner client that made the change, if one did.
    pub client_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(rename = "override")]
    pub override_rules: Option<OverrideView>,
    #[schema(format = DateTime)]
    pub at: String,
}

fn history_view(h: HistoryEntry) -> HistoryView {
    HistoryView {
        id: h.id,
        action: h.action,
        actor: h.actor,
        actor_role: h.actor_role,
        channel: store::stored_or(
            Channel::parse(&h.channel),
            "channel",
            &h.channel,
            Channel::Online,
        ),
        client_id: h.client_id,
        details: serde_json::from_str(&h.details).unwrap_or(serde_json::Value::Null),
        override_rules: h.override_rules.map(|rules| OverrideView {
            rules: rules.split(',').map(str::to_owned).collect(),
            reason: h.override_reason.unwrap_or_default(),
        }),
        at: utc_text(h.created_at.and_utc()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryList {
    pub data: Vec<HistoryView>,
}

/// Every change of a booking, oldest first: who, when, through which channel, what.
#[utoipa::path(
    get, path = "/v1/bookings/{id}/history", tag = "bookings",
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, body = HistoryList),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
    ),
    security(("bearer" = []))
)]
pub async fn get_booking_history(
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    let entries = blocking(&pool, move |conn| {
        let booking = store::bookings::find(conn, &business, &id, None)?;
        may_see(&caller, &booking)?;
        store::bookings::history_of(conn, &business, &booking.id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(HistoryList {
        data: entries.into_iter().map(history_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBooking {
    #[schema(format = DateTime, example = "2026-03-09T10:00:00Z")]
    pub start: DateTime<Utc>,
    #[serde(default)]
    pub resource_ids: Vec<String>,
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

/// Who may change a booking through `step`, and on whose bookings.
fn may_change(caller: &Caller, step: Step) -> Result<(), AppError> {
    let principal = caller.require_token()?;
    match (principal.role, step) {
        (Role::Customer, Step::Cancel | Step::Reschedule) => Ok(()),
        (Role::Partner, Step::Cancel | Step::Reschedule) => {
            principal.require_staff_or_partner_scope("bookings:write")
        }
        _ => principal.require(Principal::STAFF),
    }
}

/// Move a booking to another slot, atomically: if the new slot is taken the
/// booking keeps its old one. Send `If-Match`.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/reschedule", tag = "bookings",
    params(
        ("id" = String, Path, description = "Booking id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
    ),
    request_body = RescheduleBooking,
    responses(
        (status = 200, body = BookingView, headers(("ETag" = String))),
        (status = 400, response = crate::error::BadRequest),
        (status = 401, response = crate::error::Unauthenticated),
        (status = 403, response = crate::error::Forbidden),
        (status = 404, response = crate::error::NotFound),
        (status = 409, response = crate::error::Conflict),
        (status = 412, response = crate::error::VersionMismatch),
        (status = 422, response = crate::error::ValidationFailed),
    ),
    security(("bearer" = []))
)]
pub async fn reschedule_booking(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: super::input::Json<RescheduleBooking>,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    may_change(&caller, Step::Reschedule)?;
    let expected = if_match(req.headers())?;
    let body = body.into_inner();
    let view = blocking(&pool, move |conn| {
        let now = Utc::now();
        let current = store::bookings::find(conn, &business, &id, None)?;
        may_touch(&caller, &current)?;
        let ctx = calendar::service_context(conn, Some(&business), &current.service_id)?;
        let policy = ctx.policy();
        let channel = caller.channel();
        let rules = |booking: &Booking| -> Result<Waiver, AppError> {
            caller.weigh(
                policy.check_reschedule(channel, booking.starts_at.and_utc(), body.start, now),
                body.override_rules.as_ref(),
            )
        };
        let booking = store::bookings::reschedule(
            conn,
            &ctx,
            &id,
            &RescheduleRequest {
                start: body.start,
                wanted: body.resource_ids.clone(),
                expected_version: expected,
                customer: caller.own_customer(),
            },
            &caller.actor(),
            now,
            &rules,
        )?;
        Ok(booking_view(booking, ctx.tz))
    })
    .await?;
    Ok(versioned(view.version, &view))
}

/// Body of the status steps; all optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why (kept with a cancellation and in the history).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    #[serde(rename = "override")]
    pub override_rules: Option<Override>,
}

async fn apply_step(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<DbPool>,
    id: String,
    body: web::Bytes,
    step: Step,
) -> Result<HttpResponse, AppError> {
    let business = principal.business_id.clone();
    let caller = Caller(Some(principal));
    may_change(&caller, step)?;
    // The body is read before `If-Match` is compared: a malformed request is
    // 400/422 whatever version it names.
    let body: StepBody = optional_body(&body)?;
    let expected = if_match(req.headers())?;
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(AppError::invalid_field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let view = blocking(&pool, move |conn| {
        let now = Utc::now();
        let current = store::bookings::find(conn, &business, &id, None)?;
        may_touch(&caller, &current)?;
        let service = store::services::find(conn, &business, &current.service_id)?;
        let policy = service.row.policy();
        let rules = |booking: &Booking| -> Result<Waiver, AppError> {
            let start = booking.starts_at.and_utc();
            match step {
                Step::Cancel => caller.weigh(
                    policy.check_cancel(start, now),
                    body.override_rules.as_ref(),
                ),
                Step::NoShow => match too_early_for_no_show(start, now) {
                    Some(why) => {
                        Err(
                            AppError::conflict("invalid_transition", "Invalid transition", why)
                                .with("booking_status", booking.status.clone()),
                        )
                    }
                    None => caller.weigh(Vec::new(), body.override_rules.as_ref()),
                },
                _ => caller.weigh(Vec::new(), body.override_rules.as_ref()),
            }
        };
        let booking = store::bookings::step(
            conn,
            &business,
            &id,
            &StepRequest {
                step,
                expected_version: expected,
                customer: caller.own_customer(),
                reason: reason.clone(),
                waiver: Waiver::default(),
            },
            &caller.actor(),
            now,
            &rules,
        )?;
        with_tz(conn, booking)
    })
    .await?;
    Ok(versioned(view.version, &view))
}

macro_rules! step_endpoint {
    ($name:ident, $path:literal, $step:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, path = $path, tag = "bookings",
            params(
                ("id" = String, Path, description = "Booking id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version being changed"),
            ),
            request_body(content = Option<StepBody>, description = "Optional reason and staff override"),
            responses(
                (status = 200, body = BookingView, headers(("ETag" = String))),
                (status = 400, response = crate::error::BadRequest),
                (status = 401, response = crate::error::Unauthenticated),
                (status = 403, response = crate::error::Forbidden),
                (status = 404, response = crate::error::NotFound),
                (status = 409, response = crate::error::Conflict),
                (status = 412, response = crate::error::VersionMismatch),
                (status = 422, response = crate::error::ValidationFailed),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            req: HttpRequest,
            principal: Principal,
            pool: web::Data<DbPool>,
            id: web::Path<String>,
            body: web::Bytes,
        ) -> Result<HttpResponse, AppError> {
            apply_step(req, principal, pool, id.into_inner(), body, $step).await
        }
    };
}

step_endpoint!(
    cancel_booking,
    "/v1/bookings/{id}/cancel",
    Step::Cancel,
    "Cancel a booking (with a reason), within the service's cancel cutoff unless staff override it."
);
step_endpoint!(
    check_in_booking,
    "/v1/bookings/{id}/check-in",
    Step::CheckIn,
    "Record that the customer has arrived (staff)."
);
step_endpoint!(
    start_booking,
    "/v1/bookings/{id}/start",
    Step::Start,
    "Record that the service has started (staff)."
);
step_endpoint!(
    complete_booking,
    "/v1/bookings/{id}/complete",
    Step::Complete,
    "Record that the service is complete (staff)."
);
step_endpoint!(
    no_show_booking,
    "/v1/bookings/{id}/no-show",
    Step::NoShow,
    "Record that the customer did not come, from 15 minutes after the start (staff)."
);
