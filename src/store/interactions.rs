//! Interactions: every assisted contact, with its channel, intent, outcome and
//! duration, so the business learns what drives contact and what it costs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::stored::Stored;
use super::PageRequest;
use crate::db::DbConnection;
use crate::domain::interactions::{ContactChannel, ContactRecord, Outcome};
use crate::error::AppError;
use crate::schema::interactions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = interactions)]
#[diesel(treat_none_as_default_value = false)]
pub struct Interaction {
    pub id: String,
    pub business_id: String,
    pub channel: Stored<ContactChannel>,
    pub intent_id: String,
    pub intent_code: String,
    pub outcome: Stored<Outcome>,
    pub duration_seconds: i32,
    pub customer_id: Option<String>,
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    pub agent: String,
    pub agent_role: String,
    pub note: Option<String>,
    pub occurred_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl Interaction {
    pub fn record(&self) -> ContactRecord {
        ContactRecord {
            customer_id: self.customer_id.clone(),
            intent_code: self.intent_code.clone(),
            outcome: self.outcome.or(Outcome::Resolved),
            at: self.occurred_at,
        }
    }
}

/// A contact being logged, with references still to check against the business.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub channel: ContactChannel,
    pub intent_code: String,
    pub outcome: Outcome,
    pub duration_seconds: i32,
    pub customer_id: Option<String>,
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    pub note: Option<String>,
    pub occurred_at: NaiveDateTime,
}

/// Logs a contact. The intent must be a live one of the business (422
/// otherwise); customer, booking and location must be the business's (404);
/// a booking supplies the customer and location when they are not given, and
/// must agree with them when they are (422).
pub fn insert(
    conn: &mut DbConnection,
    business: &str,
    new: &NewInteraction,
    agent: &super::bookings::Actor,
    at: NaiveDateTime,
) -> Result<Interaction, AppError> {
    super::with_retries(conn, |conn| {
        let intent = super::intents::find_by_code(conn, business, &new.intent_code)?
            .filter(|i| i.archived_at.is_none())
            .ok_or_else(|| {
                AppError::invalid_field("intent", "is not a live intent code of this business")
            })?;
        let mut customer_id = new.customer_id.clone();
        let mut location_id = new.location_id.clone();
        if let Some(id) = &customer_id {
            super::customers::find(conn, business, id)?;
        }
        if let Some(id) = &location_id {
            super::locations::find(conn, business, id)?;
        }
        if let Some(id) = &new.booking_id {
            let booking = super::bookings::find(conn, business, &id.as_str().into(), None)?;
            match &customer_id {
                Some(c) if c != &booking.customer_id => {
                    return Err(AppError::invalid_field(
                        "customer_id",
                        "is not the customer of that booking",
                    )
                    .into())
                }
                _ => customer_id = Some(booking.customer_id.to_string()),
            }
            match &location_id {
                Some(l) if l != &booking.location_id => {
                    return Err(AppError::invalid_field(
                        "location_id",
                        "is not the location of that booking",
                    )
                    .into())
                }
                _ => location_id = Some(booking.location_id.to_string()),
            }
        }
        let interaction = Interaction {
            id: crate::ids::new_id("int"),
            business_id: business.to_owned(),
            channel: new.channel.into(),
            intent_id: intent.id.clone(),
            intent_code: intent.code.clone(),
            outcome: new.outcome.into(),
            duration_seconds: new.duration_seconds,
            customer_id,
            booking_id: new.booking_id.clone(),
            location_id,
            agent: agent.subject.clone(),
            agent_role: agent.role.clone(),
            note: new.note.clone(),
            occurred_at: new.occurred_at,
            created_at: at,
        };
        diesel::insert_into(interactions::table)
            .values(&interaction)
            .execute(conn)?;
        Ok(interaction)
    })
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Interaction, AppError> {
    interactions::table
        .filter(interactions::business_id.eq(business))
        .filter(interactions::id.eq(id))
        .select(Interaction::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("interaction"))
}

/// Filters of `GET /v1/interactions`; every one optional.
#[derive(Debug, Clone, Default)]
pub struct InteractionFilter {
    pub customer_id: Option<String>,
    pub booking_id: Option<String>,
    pub location_id: Option<String>,
    pub intent_code: Option<String>,
    pub channel: Option<ContactChannel>,
    pub outcome: Option<Outcome>,
    pub agent: Option<String>,
    /// Occurred at or after.
    pub from: Option<NaiveDateTime>,
    /// Occurred before.
    pub to: Option<NaiveDateTime>,
}

/// Newest logged first (by id).
pub fn list(
    conn: &mut DbConnection,
    business: &str,
    filter: &InteractionFilter,
    page: &PageRequest,
) -> Result<Vec<Interaction>, AppError> {
    let mut query = interactions::table
        .filter(interactions::business_id.eq(business))
        .select(Interaction::as_select())
        .order(interactions::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(interactions::id.lt(after.clone()));
    }
    if let Some(v) = &filter.customer_id {
        query = query.filter(interactions::customer_id.eq(v.clone()));
    }
    if let Some(v) = &filter.booking_id {
        query = query.filter(interactions::booking_id.eq(v.clone()));
    }
    if let Some(v) = &filter.location_id {
        query = query.filter(interactions::location_id.eq(v.clone()));
    }
    if let Some(v) = &filter.intent_code {
        query = query.filter(interactions::intent_code.eq(v.clone()));
    }
    if let Some(v) = filter.channel {
        query = query.filter(interactions::channel.eq(Stored::from(v)));
    }
    if let Some(v) = filter.outcome {
        query = query.filter(interactions::outcome.eq(Stored::from(v)));
    }
    if let Some(v) = &filter.agent {
        query = query.filter(interactions::agent.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        query = query.filter(interactions::occurred_at.ge(v));
    }
    if let Some(v) = filter.to {
        query = query.filter(interactions::occurred_at.lt(v));
    }
    Ok(query.load(conn)?)
}

/// Every contact of the business that occurred in `[from, to)`, oldest first.
pub fn occurred_between(
    conn: &mut DbConnection,
    business: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Interaction>, AppError> {
    Ok(interactions::table
        .filter(interactions::business_id.eq(business))
        .filter(interactions::occurred_at.ge(from))
        .filter(interactions::occurred_at.lt(to))
        .select(Interaction::as_select())
        .order((interactions::occurred_at.asc(), interactions::id.asc()))
        .load(conn)?)
}

/// Every contact of one customer, oldest first (open follow-ups).
pub fn of_customer(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
) -> Result<Vec<Interaction>, AppError> {
    Ok(interactions::table
        .filter(interactions::business_id.eq(business))
        .filter(interactions::customer_id.eq(customer_id))
        .select(Interaction::as_select())
        .order((interactions::occurred_at.asc(), interactions::id.asc()))
        .load(conn)?)
}
