//! Customers: one record per person per business, found again by normalised
//! email or E.164 phone whichever channel they come through; created, changed
//! and merged here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::bookings::Actor;
use super::timeline::CallerContext;
use super::PageRequest;
use super::{events, with_retries, TxError};
use crate::db::DbConnection;
use crate::domain::contact::{normalise_email, normalise_phone};
use crate::domain::customer::{merged_tags, ContactPreference};
use crate::error::AppError;
use crate::schema::{
    bookings, customer_notes, customers, feedback, feedback_requests, interactions,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customers)]
#[diesel(treat_none_as_default_value = false)]
pub struct Customer {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub preferred_language: Option<String>,
    pub preferred_channel: Option<String>,
    pub marketing_consent: bool,
    pub marketing_consent_at: Option<NaiveDateTime>,
    /// JSON array of strings; see [`Customer::tags`].
    pub tags: String,
}

impl Customer {
    /// A new customer with only a name and (already normalised) contact details.
    pub fn new(
        business: &str,
        name: &str,
        email: Option<String>,
        phone: Option<String>,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id: crate::ids::new_id("cus"),
            business_id: business.to_owned(),
            name: name.to_owned(),
            email,
            phone,
            version: 1,
            created_at: at,
            updated_at: at,
            preferred_language: None,
            preferred_channel: None,
            marketing_consent: false,
            marketing_consent_at: None,
            tags: "[]".into(),
        }
    }

    pub fn tags(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }

    pub fn set_tags(&mut self, tags: &[String]) {
        self.tags = serde_json::to_string(tags).unwrap_or_else(|_| "[]".into());
    }
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Customer, AppError> {
    customers::table
        .filter(customers::business_id.eq(business))
        .filter(customers::id.eq(id))
        .select(Customer::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("customer"))
}

/// The customer with this (already normalised) email, else this phone.
pub fn find_by_contact(
    conn: &mut DbConnection,
    business: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> QueryResult<Option<Customer>> {
    if let Some(email) = email {
        let found = customers::table
            .filter(customers::business_id.eq(business))
            .filter(customers::email.eq(email))
            .select(Customer::as_select())
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(phone) = phone {
        return customers::table
            .filter(customers::business_id.eq(business))
            .filter(customers::phone.eq(phone))
            .select(Customer::as_select())
            .first(conn)
            .optional();
    }
    Ok(None)
}

pub fn insert(conn: &mut DbConnection, customer: &Customer) -> QueryResult<()> {
    diesel::insert_into(customers::table)
        .values(customer)
        .execute(conn)?;
    Ok(())
}

/// Fills in a contact detail the record lacks (a phone caller who booked online
/// before), never overwriting one it has.
pub fn complete_contact(
    conn: &mut DbConnection,
    customer: &Customer,
    email: Option<&str>,
    phone: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<Customer> {
    let mut updated = customer.clone();
    if updated.email.is_none() {
        updated.email = email.map(str::to_owned);
    }
    if updated.phone.is_none() {
        updated.phone = phone.map(str::to_owned);
    }
    if updated.email != customer.email || updated.phone != customer.phone {
        updated.version += 1;
        updated.updated_at = at;
        diesel::update(customers::table.filter(customers::id.eq(&customer.id)))
            .set((
                customers::email.eq(&updated.email),
                customers::phone.eq(&updated.phone),
                customers::version.eq(updated.version),
                customers::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(updated)
}

/// The customer a booking is for, from the details the booker typed: matched by
/// normalised email, then by E.164 phone (read in the business's country), so
/// every channel lands on the same record; created when nobody matches (its
/// `customer.created` event carries `client_id` when a partner booked).
pub fn resolve_for_booking(
    conn: &mut DbConnection,
    business: &str,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    client_id: Option<&str>,
    at: NaiveDateTime,
) -> Result<Customer, TxError> {
    let email = email.map(normalise_email);
    let phone = match phone {
        Some(p) => {
            let country = super::businesses::phone_country(conn, business)?;
            Some(
                normalise_phone(p, country.as_deref())
                    .map_err(|e| AppError::invalid_field("customer.phone", e.to_string()))?,
            )
        }
        None => None,
    };
    if let Some(found) = find_by_contact(conn, business, email.as_deref(), phone.as_deref())? {
        // Learn a contact detail the customer lacks, unless it is someone
        // else's. One they already have is kept, so needs no lookup (the
        // usual case for a returning customer).
        let phone_free = match &phone {
            Some(p) if found.phone.is_none() => {
                find_by_contact(conn, business, None, Some(p))?.is_none()
            }
            _ => false,
        };
        let email_free = match &email {
            Some(e) if found.email.is_none() => {
                find_by_contact(conn, business, Some(e), None)?.is_none()
            }
            _ => false,
        };
        return Ok(complete_contact(
            conn,
            &found,
            email.as_deref().filter(|_| email_free),
            phone.as_deref().filter(|_| phone_free),
            at,
        )?);
    }
    let customer = Customer::new(business, name, email, phone, at);
    insert(conn, &customer)?;
    created_event(conn, &customer, client_id)?;
    Ok(customer)
}

fn created_event(
    conn: &mut DbConnection,
    customer: &Customer,
    client_id: Option<&str>,
) -> QueryResult<()> {
    events::append_by(
        conn,
        &customer.business_id,
        client_id,
        "customer.created",
        &customer.id,
        &json!({"customer_id": customer.id, "name": customer.name}),
        customer.created_at,
    )
}

/// 409 `duplicate_customer` naming the customer who already has this detail.
fn duplicate(existing: &Customer, field: &str) -> AppError {
    AppError::conflict(
        "duplicate_customer",
        "Duplicate customer",
        format!("Customer {} already has this {field}.", existing.id),
    )
    .with("existing_customer_id", existing.id.clone())
    .with("field", field)
}

/// Refuses an email or phone another customer of the business already has.
fn ensure_unique(conn: &mut DbConnection, customer: &Customer) -> Result<(), TxError> {
    let others = |conn: &mut DbConnection,
                  column_email: Option<&str>,
                  column_phone: Option<&str>|
     -> QueryResult<Option<Customer>> {
        Ok(
            find_by_contact(conn, &customer.business_id, column_email, column_phone)?
                .filter(|c| c.id != customer.id),
        )
    };
    if let Some(email) = customer.email.as_deref() {
        if let Some(existing) = others(conn, Some(email), None)? {
            return Err(duplicate(&existing, "email").into());
        }
    }
    if let Some(phone) = customer.phone.as_deref() {
        if let Some(existing) = others(conn, None, Some(phone))? {
            return Err(duplicate(&existing, "phone").into());
        }
    }
    Ok(())
}

fn ensure_reachable(customer: &Customer) -> Result<(), AppError> {
    if let Some(preference) = customer
        .preferred_channel
        .as_deref()
        .and_then(ContactPreference::parse)
    {
        if !preference.reachable(customer.email.is_some(), customer.phone.is_some()) {
            let needs = if preference == ContactPreference::Email {
                "an email address"
            } else {
                "a phone number"
            };
            return Err(AppError::invalid_field(
                "preferred_channel",
                format!("{} needs {needs} on the profile", preference.as_str()),
            ));
        }
    }
    Ok(())
}

/// Creates a customer whose email and phone are new to the business
/// (else 409 `duplicate_customer`), with its `customer.created` event.
pub fn create(conn: &mut DbConnection, customer: &Customer) -> Result<Customer, AppError> {
    ensure_reachable(customer)?;
    with_retries(conn, |conn| {
        ensure_unique(conn, customer)?;
        insert(conn, customer)?;
        created_event(conn, customer, None)?;
        Ok(customer.clone())
    })
}

/// A PATCH of a profile: `None` leaves a field, `Some(None)` clears it. Email
/// and phone arrive normalised.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub preferred_channel: Option<Option<String>>,
    pub marketing_consent: Option<bool>,
    pub tags: Option<Vec<String>>,
}

pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected: Option<i32>,
    changes: &CustomerChanges,
    at: NaiveDateTime,
) -> Result<Customer, AppError> {
    with_retries(conn, |conn| {
        let mut customer = find(conn, business, id)?;
        super::check_version(customer.version, expected)?;
        let stored = customer.version;
        let c = changes.clone();
        if let Some(name) = c.name {
            customer.name = name;
        }
        if let Some(email) = c.email {
            customer.email = email;
        }
        if let Some(phone) = c.phone {
            customer.phone = phone;
        }
        if let Some(language) = c.preferred_language {
            customer.preferred_language = language;
        }
        if let Some(channel) = c.preferred_channel {
            customer.preferred_channel = channel;
        }
        if let Some(consent) = c.marketing_consent {
            // Keep when consent was first given; a withdrawal clears it.
            if consent && !customer.marketing_consent {
                customer.marketing_consent_at = Some(at);
            } else if !consent {
                customer.marketing_consent_at = None;
            }
            customer.marketing_consent = consent;
        }
        if let Some(tags) = c.tags {
            customer.set_tags(&tags);
        }
        ensure_reachable(&customer)?;
        ensure_unique(conn, &customer)?;
        customer.version += 1;
        customer.updated_at = at;
        save(conn, &customer, stored)?;
        Ok(customer)
    })
}

fn save(conn: &mut DbConnection, customer: &Customer, stored: i32) -> Result<(), TxError> {
    let updated = diesel::update(
        customers::table
            .filter(customers::id.eq(&customer.id))
            .filter(customers::version.eq(stored)),
    )
    .set((
        customers::name.eq(&customer.name),
        customers::email.eq(&customer.email),
        customers::phone.eq(&customer.phone),
        customers::preferred_language.eq(&customer.preferred_language),
        customers::preferred_channel.eq(&customer.preferred_channel),
        customers::marketing_consent.eq(customer.marketing_consent),
        customers::marketing_consent_at.eq(customer.marketing_consent_at),
        customers::tags.eq(&customer.tags),
        customers::version.eq(customer.version),
        customers::updated_at.eq(customer.updated_at),
    ))
    .execute(conn)?;
    Ok(super::expect_one_row(updated, stored)?)
}

diesel::define_sql_function! {
    /// Lower-cases text, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What `GET /v1/customers` looks for; email and phone already normalised.
#[derive(Debug, Clone, Default)]
pub struct CustomerSearch {
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A fragment of the name, email or phone.
    pub text: Option<String>,
}

fn like_pattern(fragment: &str) -> String {
    let escaped: String = fragment
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    search: &CustomerSearch,
    page: &PageRequest,
) -> Result<Vec<Customer>, AppError> {
    let mut query = customers::table
        .filter(customers::business_id.eq(business))
        .select(Customer::as_select())
        .order(customers::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(customers::id.gt(after.clone()));
    }
    if let Some(email) = &search.email {
        query = query.filter(customers::email.eq(email.clone()));
    }
    if let Some(phone) = &search.phone {
        query = query.filter(customers::phone.eq(phone.clone()));
    }
    if let Some(text) = &search.text {
        let pattern = like_pattern(&text.to_lowercase());
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let name_or_email = lower(customers::name)
            .like(pattern.clone())
            .escape('\\')
            .or(customers::email.like(pattern).escape('\\'));
        // A fragment with three or more digits may be part of a phone number,
        // however the agent spaced it.
        query = if digits.len() >= 3 {
            query
                .filter(name_or_email.or(customers::phone.like(like_pattern(&digits)).escape('\\')))
        } else {
            query.filter(name_or_email)
        };
    }
    Ok(query.load(conn)?)
}

/// As [`list`], each customer with its caller context when the search names
/// a phone or an email: whoever looks a person up by their contact detail is
/// about to talk to them.
pub fn list_with_context(
    conn: &mut DbConnection,
    business: &str,
    search: &CustomerSearch,
    page: &PageRequest,
    now: NaiveDateTime,
) -> Result<Vec<(Customer, Option<CallerContext>)>, AppError> {
    let with_context = search.email.is_some() || search.phone.is_some();
    list(conn, business, search, page)?
        .into_iter()
        .map(|customer| {
            let context = if with_context {
                Some(super::timeline::caller_context(
                    conn,
                    business,
                    &customer.id,
                    now,
                )?)
            } else {
                None
            };
            Ok((customer, context))
        })
        .collect()
}

/// How many rows a merge moved from the duplicate to the survivor.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Moved {
    pub bookings: usize,
    pub notes: usize,
    pub interactions: usize,
    pub feedback_requests: usize,
    pub feedback: usize,
}

/// Folds `duplicate_id` into `survivor_id` in one transaction: its bookings,
/// notes, interactions and feedback move over, missing profile details are
/// learned, an audit entry and a `customer.merged` event are written, and the
/// duplicate is removed.
pub fn merge(
    conn: &mut DbConnection,
    business: &str,
    survivor_id: &str,
    duplicate_id: &str,
    expected: Option<i32>,
    actor: &Actor,
    at: NaiveDateTime,
) -> Result<(Customer, Moved), AppError> {
    with_retries(conn, |conn| {
        crate::db::lock_customers(conn, &[survivor_id, duplicate_id])?;
        let mut survivor = find(conn, business, survivor_id)?;
        super::check_version(survivor.version, expected)?;
        let duplicate = find(conn, business, duplicate_id)?;
        let moved = move_records(conn, business, duplicate_id, survivor_id, at)?;
        diesel::delete(customers::table.filter(customers::id.eq(duplicate_id))).execute(conn)?;
        // Only now may the survivor take the duplicate's email or phone.
        let stored = survivor.version;
        learn_from(&mut survivor, &duplicate);
        super::notifications::move_customer(conn, &duplicate.id, survivor_id)?;
        survivor.version += 1;
        survivor.updated_at = at;
        save(conn, &survivor, stored)?;
        record_merge(conn, actor, &survivor, &duplicate, &moved, at)?;
        Ok((survivor, moved))
    })
}

/// Moves everything of the duplicate's to the survivor: bookings (each with
/// a new version, as their customer changed), notes, interactions, feedback
/// requests and feedback.
fn move_records(
    conn: &mut DbConnection,
    business: &str,
    duplicate_id: &str,
    survivor_id: &str,
    at: NaiveDateTime,
) -> QueryResult<Moved> {
    Ok(Moved {
        bookings: diesel::update(
            bookings::table
                .filter(bookings::business_id.eq(business))
                .filter(bookings::customer_id.eq(duplicate_id)),
        )
        .set((
            bookings::customer_id.eq(survivor_id),
            bookings::version.eq(bookings::version + 1),
            bookings::updated_at.eq(at),
        ))
        .execute(conn)?,
        notes: diesel::update(
            customer_notes::table
                .filter(customer_notes::business_id.eq(business))
                .filter(customer_notes::customer_id.eq(duplicate_id)),
        )
        .set(customer_notes::customer_id.eq(survivor_id))
        .execute(conn)?,
        interactions: diesel::update(
            interactions::table
                .filter(interactions::business_id.eq(business))
                .filter(interactions::customer_id.eq(duplicate_id)),
        )
        .set(interactions::customer_id.eq(survivor_id))
        .execute(conn)?,
        feedback_requests: diesel::update(
            feedback_requests::table
                .filter(feedback_requests::business_id.eq(business))
                .filter(feedback_requests::customer_id.eq(duplicate_id)),
        )
        .set(feedback_requests::customer_id.eq(survivor_id))
        .execute(conn)?,
        feedback: diesel::update(
            feedback::table
                .filter(feedback::business_id.eq(business))
                .filter(feedback::customer_id.eq(duplicate_id)),
        )
        .set(feedback::customer_id.eq(survivor_id))
        .execute(conn)?,
    })
}

/// The survivor keeps its own details and fills its gaps from the
/// duplicate's: contact details, language, channel, consent with its date;
/// tags are united.
fn learn_from(survivor: &mut Customer, duplicate: &Customer) {
    if survivor.email.is_none() {
        survivor.email = duplicate.email.clone();
    }
    if survivor.phone.is_none() {
        survivor.phone = duplicate.phone.clone();
    }
    if survivor.preferred_language.is_none() {
        survivor.preferred_language = duplicate.preferred_language.clone();
    }
    if survivor.preferred_channel.is_none() {
        survivor.preferred_channel = duplicate.preferred_channel.clone();
    }
    if !survivor.marketing_consent && duplicate.marketing_consent {
        survivor.marketing_consent = true;
        survivor.marketing_consent_at = duplicate.marketing_consent_at;
    }
    let tags = merged_tags(&survivor.tags(), &duplicate.tags());
    survivor.set_tags(&tags);
}

/// The merge's audit entry (with what the duplicate was, as it is gone) and
/// its `customer.merged` event.
fn record_merge(
    conn: &mut DbConnection,
    actor: &Actor,
    survivor: &Customer,
    duplicate: &Customer,
    moved: &Moved,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let business = survivor.business_id.as_str();
    let details = json!({
        "duplicate_id": duplicate.id,
        "duplicate": {
            "name": duplicate.name,
            "email": duplicate.email,
            "phone": duplicate.phone,
            "created_at": duplicate.created_at.and_utc(),
        },
        "moved": moved,
    });
    super::audit::append(
        conn,
        business,
        actor,
        "customer.merge",
        &survivor.id,
        &details,
        at,
    )?;
    events::append(
        conn,
        business,
        "customer.merged",
        &survivor.id,
        &json!({"customer_id": survivor.id, "duplicate_id": duplicate.id, "moved": moved}),
        at,
    )
}
