//! Read models over a customer's whole record: the caller context an agent
//! sees on picking up, and the timeline of everything that happened, newest
//! first. Reads only; each source aggregate keeps its own writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::bookings::{Booking, HistoryEntry};
use super::feedback::Feedback;
use super::interactions::Interaction;
use super::notes::Note;
use crate::db::DbConnection;
use crate::domain::interactions::open_follow_ups;
use crate::domain::lifecycle::BookingStatus;
use crate::error::AppError;
use crate::schema::{booking_history, bookings, customer_notes, feedback, interactions};

/// How many of each the caller context shows.
pub const UPCOMING: i64 = 10;
pub const LAST_VISITS: i64 = 3;
pub const LATEST_NOTES: i64 = 5;

/// Everything an agent needs before the caller finishes saying their name.
#[derive(Debug, Clone)]
pub struct CallerContext {
    /// Bookings still ahead (confirmed, checked in or in service, not yet
    /// ended), soonest first.
    pub upcoming: Vec<Booking>,
    /// The last visits that have started (cancelled bookings are not visits),
    /// latest first, with the feedback given on each.
    pub last_visits: Vec<(Booking, Option<Feedback>)>,
    pub open_follow_ups: Vec<Interaction>,
    /// Pinned first, then newest.
    pub latest_notes: Vec<Note>,
    pub no_shows: i64,
    pub cancellations: i64,
}

fn count_status(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    status: BookingStatus,
) -> QueryResult<i64> {
    bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::customer_id.eq(customer_id))
        .filter(bookings::status.eq(status.as_str()))
        .count()
        .get_result(conn)
}

pub fn caller_context(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<CallerContext, AppError> {
    let active = [
        BookingStatus::Confirmed.as_str(),
        BookingStatus::CheckedIn.as_str(),
        BookingStatus::InService.as_str(),
    ];
    let upcoming = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::customer_id.eq(customer_id))
        .filter(bookings::status.eq_any(active))
        .filter(bookings::ends_at.gt(now))
        .select(Booking::as_select())
        .order((bookings::starts_at.asc(), bookings::id.asc()))
        .limit(UPCOMING)
        .load(conn)?;
    let visits: Vec<Booking> = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::customer_id.eq(customer_id))
        .filter(bookings::status.ne(BookingStatus::Cancelled.as_str()))
        .filter(bookings::starts_at.le(now))
        .select(Booking::as_select())
        .order((bookings::starts_at.desc(), bookings::id.desc()))
        .limit(LAST_VISITS)
        .load(conn)?;
    let visit_ids: Vec<&str> = visits.iter().map(|b| b.id.as_str()).collect();
    let answers: Vec<Feedback> = feedback::table
        .filter(feedback::booking_id.eq_any(visit_ids))
        .select(Feedback::as_select())
        .load(conn)?;
    let last_visits = visits
        .into_iter()
        .map(|b| {
            let answer = answers.iter().find(|f| f.booking_id == b.id).cloned();
            (b, answer)
        })
        .collect();
    let contacts = super::interactions::of_customer(conn, business, customer_id)?;
    let records: Vec<_> = contacts.iter().map(Interaction::record).collect();
    let mut open: Vec<Interaction> = open_follow_ups(&records)
        .into_iter()
        .map(|i| contacts[i].clone())
        .collect();
    open.reverse();
    Ok(CallerContext {
        upcoming,
        last_visits,
        open_follow_ups: open,
        latest_notes: super::notes::latest(conn, business, customer_id, LATEST_NOTES)?,
        no_shows: count_status(conn, business, customer_id, BookingStatus::NoShow)?,
        cancellations: count_status(conn, business, customer_id, BookingStatus::Cancelled)?,
    })
}

/// One entry of a customer's timeline.
#[derive(Debug, Clone)]
pub enum TimelineEntry {
    /// A booking was created or changed; with the booking's reference.
    Booking(HistoryEntry, String),
    Interaction(Interaction),
    Note(Note),
    Feedback(Feedback),
}

impl TimelineEntry {
    pub fn at(&self) -> NaiveDateTime {
        match self {
            TimelineEntry::Booking(h, _) => h.created_at,
            TimelineEntry::Interaction(i) => i.occurred_at,
            TimelineEntry::Note(n) => n.created_at,
            TimelineEntry::Feedback(f) => f.created_at,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            TimelineEntry::Booking(h, _) => &h.id,
            TimelineEntry::Interaction(i) => &i.id,
            TimelineEntry::Note(n) => &n.id,
            TimelineEntry::Feedback(f) => &f.id,
        }
    }

    /// The position of the entry in the timeline, as text that sorts like it:
    /// the instant (nanoseconds, fixed width) then the id for ties.
    pub fn position(&self) -> String {
        position_key(self.at(), self.id())
    }
}

pub fn position_key(at: NaiveDateTime, id: &str) -> String {
    format!("{}|{id}", at.format("%Y-%m-%dT%H:%M:%S%.9f"))
}

/// Reads a position written by [`position_key`].
pub fn parse_position(text: &str) -> Option<(NaiveDateTime, String)> {
    let (at, id) = text.split_once('|')?;
    let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.9f").ok()?;
    (!id.is_empty()).then(|| (at, id.to_owned()))
}

/// A position to read before, if any: `(at, id)` of the last entry seen.
type Before<'a> = Option<&'a (NaiveDateTime, String)>;

/// Narrows a query to entries before the position: `(at, id) < (t, i)`,
/// spelled for both backends.
macro_rules! older_than {
    ($query:expr, $before:expr, $at:expr, $id:expr) => {
        match $before {
            Some((t, i)) => $query.filter($at.lt(*t).or($at.eq(*t).and($id.lt(i.clone())))),
            None => $query,
        }
    };
}

/// Up to `limit` entries older than `before` (a position), newest first.
/// Each source is read already ordered and bounded, then merged.
pub fn timeline(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    before: Before<'_>,
    limit: i64,
) -> Result<Vec<TimelineEntry>, AppError> {
    let steps = booking_steps(conn, business, customer_id, before, limit)?;
    let contacts = contacts(conn, business, customer_id, before, limit)?;
    let notes = notes(conn, business, customer_id, before, limit)?;
    let answers = answers(conn, business, customer_id, before, limit)?;
    let mut entries: Vec<TimelineEntry> = steps
        .into_iter()
        .chain(contacts.into_iter().map(TimelineEntry::Interaction))
        .chain(notes.into_iter().map(TimelineEntry::Note))
        .chain(answers.into_iter().map(TimelineEntry::Feedback))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.position()));
    entries.truncate(limit as usize);
    Ok(entries)
}

/// The steps of the customer's bookings, each with its booking's reference.
fn booking_steps(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    before: Before<'_>,
    limit: i64,
) -> QueryResult<Vec<TimelineEntry>> {
    let references: Vec<(String, String)> = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::customer_id.eq(customer_id))
        .select((bookings::id, bookings::reference))
        .load(conn)?;
    let of_customer = bookings::table
        .filter(bookings::business_id.eq(business))
        .filter(bookings::customer_id.eq(customer_id))
        .select(bookings::id);
    let history = booking_history::table
        .filter(booking_history::business_id.eq(business))
        .filter(booking_history::booking_id.eq_any(of_customer))
        .select(HistoryEntry::as_select())
        .order((
            booking_history::created_at.desc(),
            booking_history::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    let history: Vec<HistoryEntry> = older_than!(
        history,
        before,
        booking_history::created_at,
        booking_history::id
    )
    .load(conn)?;
    let reference_of = |booking_id: &str| {
        references
            .iter()
            .find(|(id, _)| id == booking_id)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    Ok(history
        .into_iter()
        .map(|h| {
            let reference = reference_of(&h.booking_id);
            TimelineEntry::Booking(h, reference)
        })
        .collect())
}

/// Calls, visits and messages logged with the customer.
fn contacts(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    before: Before<'_>,
    limit: i64,
) -> QueryResult<Vec<Interaction>> {
    let contacts = interactions::table
        .filter(interactions::business_id.eq(business))
        .filter(interactions::customer_id.eq(customer_id))
        .select(Interaction::as_select())
        .order((interactions::occurred_at.desc(), interactions::id.desc()))
        .limit(limit)
        .into_boxed();
    older_than!(
        contacts,
        before,
        interactions::occurred_at,
        interactions::id
    )
    .load(conn)
}

/// The staff's notes on the customer.
fn notes(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    before: Before<'_>,
    limit: i64,
) -> QueryResult<Vec<Note>> {
    let notes = customer_notes::table
        .filter(customer_notes::business_id.eq(business))
        .filter(customer_notes::customer_id.eq(customer_id))
        .select(Note::as_select())
        .order((customer_notes::created_at.desc(), customer_notes::id.desc()))
        .limit(limit)
        .into_boxed();
    older_than!(
        notes,
        before,
        customer_notes::created_at,
        customer_notes::id
    )
    .load(conn)
}

/// The customer's answers to feedback surveys.
fn answers(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    before: Before<'_>,
    limit: i64,
) -> QueryResult<Vec<Feedback>> {
    let answers = feedback::table
        .filter(feedback::business_id.eq(business))
        .filter(feedback::customer_id.eq(customer_id))
        .select(Feedback::as_select())
        .order((feedback::created_at.desc(), feedback::id.desc()))
        .limit(limit)
        .into_boxed();
    older_than!(answers, before, feedback::created_at, feedback::id).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_sort_like_time() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_nano_opt(14, 0, 0, 123_456_789)
            .unwrap();
        let key = position_key(at, "int_01");
        assert_eq!(parse_position(&key), Some((at, "int_01".to_owned())));
        let later = position_key(at + chrono::Duration::nanoseconds(1), "aaa");
        assert!(later > key);
        assert!(parse_position("nonsense").is_none());
    }
}
