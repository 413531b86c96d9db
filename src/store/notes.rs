//! Staff notes on a customer: what colleagues should know next time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::customer_notes;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_notes)]
#[diesel(treat_none_as_default_value = false)]
pub struct Note {
    pub id: String,
    pub business_id: String,
    pub customer_id: String,
    pub author: String,
    pub author_role: String,
    pub body: String,
    pub pinned: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Adds a note to a customer of the business (404 for anyone else's customer).
pub fn insert(conn: &mut DbConnection, note: &Note) -> Result<(), AppError> {
    super::with_retries(conn, |conn| {
        super::customers::find(conn, &note.business_id, &note.customer_id)?;
        diesel::insert_into(customer_notes::table)
            .values(note)
            .execute(conn)?;
        Ok(())
    })
}

pub fn find(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    id: &str,
) -> Result<Note, AppError> {
    customer_notes::table
        .filter(customer_notes::business_id.eq(business))
        .filter(customer_notes::customer_id.eq(customer_id))
        .filter(customer_notes::id.eq(id))
        .select(Note::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("note"))
}

/// A customer's notes, newest first; `pinned` narrows to pinned (or unpinned) ones.
pub fn list(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    pinned: Option<bool>,
    page: &PageRequest,
) -> Result<Vec<Note>, AppError> {
    let mut query = customer_notes::table
        .filter(customer_notes::business_id.eq(business))
        .filter(customer_notes::customer_id.eq(customer_id.to_owned()))
        .select(Note::as_select())
        .order(customer_notes::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(customer_notes::id.lt(after.clone()));
    }
    if let Some(pinned) = pinned {
        query = query.filter(customer_notes::pinned.eq(pinned));
    }
    Ok(query.load(conn)?)
}

/// The notes a caller-context shows: pinned ones first, then the newest.
pub fn latest(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    limit: i64,
) -> Result<Vec<Note>, AppError> {
    Ok(customer_notes::table
        .filter(customer_notes::business_id.eq(business))
        .filter(customer_notes::customer_id.eq(customer_id))
        .select(Note::as_select())
        .order((
            customer_notes::pinned.desc(),
            customer_notes::created_at.desc(),
            customer_notes::id.desc(),
        ))
        .limit(limit)
        .load(conn)?)
}

/// Pins, unpins or rewrites a note.
pub fn update(
    conn: &mut DbConnection,
    business: &str,
    customer_id: &str,
    id: &str,
    body: Option<String>,
    pinned: Option<bool>,
    at: NaiveDateTime,
) -> Result<Note, AppError> {
    super::with_retries(conn, |conn| {
        let mut note = find(conn, business, customer_id, id)?;
        if let Some(body) = &body {
            note.body = body.clone();
        }
        if let Some(pinned) = pinned {
            note.pinned = pinned;
        }
        note.updated_at = at;
        diesel::update(customer_notes::table.filter(customer_notes::id.eq(&note.id)))
            .set((
                customer_notes::body.eq(&note.body),
                customer_notes::pinned.eq(note.pinned),
                customer_notes::updated_at.eq(at),
            ))
            .execute(conn)?;
        Ok(note)
    })
}
