//! Gathers the rows the reports are computed from (the arithmetic itself is
//! in `domain::reports`).

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::interactions::{is_first_contact_resolution, ContactChannel};
use crate::domain::reports::{
    self, BookingLine, BookingReport, ContactLine, ContactReport, FeedbackLine, FeedbackReport,
    IntentLabel,
};
use crate::error::AppError;
use crate::schema::{bookings, feedback, feedback_requests, resources, services};

/// Per intent × channel over contacts that occurred in `[from, to)`, at one
/// location when named. First-contact resolution looks back `window` before
/// each contact, across every location: a repeat is a repeat wherever it lands.
pub fn contacts(
    conn: &mut DbConnection,
    business: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
    location_id: Option<&str>,
    window: Duration,
) -> Result<ContactReport, AppError> {
    if let Some(location) = location_id {
        super::locations::find(conn, business, location)?;
    }
    let seen = super::interactions::occurred_between(conn, business, from - window, to)?;
    let history: Vec<_> = seen.iter().map(|i| i.record()).collect();
    let lines: Vec<ContactLine> = seen
        .iter()
        .zip(&history)
        .filter(|(i, _)| i.occurred_at >= from)
        .filter(|(i, _)| location_id.is_none() || i.location_id.as_deref() == location_id)
        .map(|(i, record)| ContactLine {
            intent_code: i.intent_code.clone(),
            channel: i.channel.or(ContactChannel::Phone),
            seconds: i64::from(i.duration_seconds),
            first_contact_resolution: is_first_contact_resolution(record, &history, window),
        })
        .collect();
    let intents: HashMap<String, IntentLabel> = super::intents::all(conn, business)?
        .into_iter()
        .map(|i| {
            (
                i.code,
                IntentLabel {
                    name: i.name,
                    owner: i.owner,
                },
            )
        })
        .collect();
    let costs: HashMap<ContactChannel, i64> = super::businesses::contact_settings(conn, business)?
        .contact_costs
        .into_iter()
        .filter_map(|(channel, cents)| {
            ContactChannel::parse(&channel).map(|c| (c, i64::from(cents)))
        })
        .collect();
    let mut booked = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::created_at.ge(from))
        .filter(bookings::created_at.lt(to))
        .count()
        .into_boxed();
    if let Some(location) = location_id {
        booked = booked.filter(bookings::location_id.eq(location.to_owned()));
    }
    let booked: i64 = booked.get_result(conn)?;
    Ok(reports::contact_report(&lines, &intents, &costs, booked))
}

/// A completed visit's service, resources and channel, and its (nps, effort) answer.
type VisitAnswer = (String, String, String, Option<i32>, Option<i32>);

/// Satisfaction of the visits completed in `[from, to)` (their feedback
/// requests were created then), whenever the customer answered.
pub fn feedback(
    conn: &mut DbConnection,
    business: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<FeedbackReport, AppError> {
    // One row per request (visit completed in the period), with its answer if any.
    let rows: Vec<VisitAnswer> = feedback_requests::table
        .inner_join(bookings::table)
        .left_join(feedback::table)
        .filter(feedback_requests::business_id.eq(business))
        .filter(feedback_requests::created_at.ge(from))
        .filter(feedback_requests::created_at.lt(to))
        .select((
            bookings::service_id,
            bookings::resource_ids,
            bookings::channel,
            feedback::nps.nullable(),
            feedback::effort.nullable(),
        ))
        .load(conn)?;
    let lines: Vec<FeedbackLine> = rows
        .into_iter()
        .map(
            |(service_id, resource_ids, channel, nps, effort)| FeedbackLine {
                service_id,
                resource_ids: super::holds::split_ids(&resource_ids),
                channel,
                response: nps.zip(effort),
            },
        )
        .collect();
    let mut names: HashMap<String, String> = services::table
        .filter(services::business_id.eq(business))
        .select((services::id, services::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    names.extend(
        resources::table
            .filter(resources::business_id.eq(business))
            .select((resources::id, resources::name))
            .load::<(String, String)>(conn)?,
    );
    Ok(reports::feedback_report(&lines, &names))
}

/// Bookings scheduled to start in `[from, to)`.
pub fn bookings(
    conn: &mut DbConnection,
    business: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<BookingReport, AppError> {
    type Row = (String, String, NaiveDateTime, NaiveDateTime, Option<String>);
    let rows: Vec<Row> = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::starts_at.ge(from))
        .filter(bookings::starts_at.lt(to))
        .select((
            bookings::channel,
            bookings::status,
            bookings::created_at,
            bookings::starts_at,
            bookings::client_id,
        ))
        .load(conn)?;
    let lines: Vec<BookingLine> = rows
        .into_iter()
        .map(
            |(channel, status, created_at, starts_at, client_id)| BookingLine {
                channel,
                status,
                created_at,
                starts_at,
                client_id,
            },
        )
        .collect();
    Ok(reports::booking_report(&lines))
}
