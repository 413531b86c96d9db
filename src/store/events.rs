//! The event outbox: one row per state change, written in the transaction of
//! the change, read by `GET /v1/events`; appending one queues its webhook deliveries
//! and plans its customer notifications.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::PageRequest;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::new_id;
use crate::schema::events;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_default_value = false)]
pub struct Event {
    pub id: String,
    pub business_id: String,
    pub event_type: String,
    pub subject_id: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    /// The partner client whose request caused it, if any.
    pub client_id: Option<String>,
}

/// Appends an event; call it inside the transaction that makes the change.
pub fn append(
    conn: &mut DbConnection,
    business: &str,
    event_type: &str,
    subject_id: &str,
    payload: &Value,
    at: NaiveDateTime,
) -> QueryResult<()> {
    append_by(conn, business, None, event_type, subject_id, payload, at)
}

/// As [`append`], for a change a partner client made.
pub fn append_by(
    conn: &mut DbConnection,
    business: &str,
    client_id: Option<&str>,
    event_type: &str,
    subject_id: &str,
    payload: &Value,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let event = Event {
        id: new_id("evt"),
        business_id: business.to_owned(),
        event_type: event_type.to_owned(),
        subject_id: subject_id.to_owned(),
        payload: payload.to_string(),
        created_at: at,
        client_id: client_id.map(str::to_owned),
    };
    diesel::insert_into(events::table)
        .values(&event)
        .execute(conn)?;
    // The outbox's consumers are fed in the same transaction, so nothing
    // committed goes untold and nothing rolled back is told.
    super::webhooks::enqueue(conn, &event, payload)?;
    super::notifications::plan(conn, &event, payload)?;
    crate::db::outbox_written();
    Ok(())
}

/// Payload fields that are capabilities for the customer (answering a survey
/// or managing a booking without an account): the business's own staff relay
/// them; partner apps and webhook endpoints never see them.
const CUSTOMER_CAPABILITIES: [&str; 2] = ["token", "manage_token"];

/// Removes the customer's capabilities from an event's payload.
pub fn without_customer_capabilities(payload: &mut serde_json::Value) {
    if let Some(fields) = payload.as_object_mut() {
        for capability in CUSTOMER_CAPABILITIES {
            fields.remove(capability);
        }
    }
}

/// Events about the business's offer rather than anyone's booking: every
/// partner may follow them.
pub const CATALOG_EVENTS: [&str; 6] = [
    "service.paused",
    "service.resumed",
    "resource.paused",
    "resource.resumed",
    "location.paused",
    "location.resumed",
];

/// Events of the business in id (time) order, optionally of one type or
/// subject; `only_client` narrows them to what that partner client caused,
/// plus the catalog's.
pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
    event_type: Option<&str>,
    subject_id: Option<&str>,
    only_client: Option<&str>,
) -> Result<Vec<Event>, AppError> {
    let mut query = events::table
        .filter(events::business_id.eq(business))
        .select(Event::as_select())
        .order(events::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(events::id.gt(after.clone()));
    }
    if let Some(event_type) = event_type {
        query = query.filter(events::event_type.eq(event_type.to_owned()));
    }
    if let Some(subject_id) = subject_id {
        query = query.filter(events::subject_id.eq(subject_id.to_owned()));
    }
    if let Some(client) = only_client {
        query = query.filter(
            events::client_id
                .eq(client.to_owned())
                .or(events::event_type.eq_any(CATALOG_EVENTS)),
        );
    }
    Ok(query.load(conn)?)
}
