//! Locations and their closures.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::PageRequest;
use super::{check_version, expect_one_row, now};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::schema::{location_closures, locations, resources, services};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = locations)]
pub struct Location {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: String,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    /// When the pause ends by itself; `None`: when someone resumes it.
    pub paused_until: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// PATCH of a location: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = locations)]
pub struct LocationChanges {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = location_closures)]
pub struct Closure {
    pub id: String,
    pub business_id: String,
    pub location_id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, location: &Location) -> Result<(), AppError> {
    diesel::insert_into(locations::table)
        .values(location)
        .execute(conn)?;
    Ok(())
}

/// The location with this id in this business, archived or not.
pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Location, AppError> {
    locations::table
        .filter(locations::business_id.eq(business))
        .filter(locations::id.eq(id))
        .select(Location::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("location"))
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
    include_archived: bool,
) -> Result<Vec<Location>, AppError> {
    let mut query = locations::table
        .filter(locations::business_id.eq(business))
        .select(Location::as_select())
        .order(locations::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(locations::id.gt(after.clone()));
    }
    if !include_archived {
        query = query.filter(locations::archived_at.is_null());
    }
    Ok(query.load(conn)?)
}

pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected_version: Option<i32>,
    changes: LocationChanges,
) -> Result<Location, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        check_version(current.version, expected_version)?;
        let updated = diesel::update(
            locations::table
                .filter(locations::id.eq(id))
                .filter(locations::version.eq(current.version)),
        )
        .set((
            changes,
            locations::version.eq(current.version + 1),
            locations::updated_at.eq(now()),
        ))
        .execute(conn)?;
        expect_one_row(updated, current.version)?;
        find(conn, business, id)
    })
}

/// Archives the location when resources or services refer to it, else deletes it.
pub fn archive_or_delete(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        let referenced = diesel::select(diesel::dsl::exists(
            resources::table.filter(resources::location_id.eq(id)),
        ))
        .get_result::<bool>(conn)?
            || diesel::select(diesel::dsl::exists(
                services::table.filter(services::location_id.eq(id)),
            ))
            .get_result::<bool>(conn)?;
        if referenced {
            if current.archived_at.is_none() {
                diesel::update(locations::table.filter(locations::id.eq(id)))
                    .set((
                        locations::archived_at.eq(Some(now())),
                        locations::version.eq(current.version + 1),
                        locations::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
        } else {
            diesel::delete(location_closures::table.filter(location_closures::location_id.eq(id)))
                .execute(conn)?;
            diesel::delete(locations::table.filter(locations::id.eq(id))).execute(conn)?;
        }
        Ok(())
    })
}

pub fn insert_closure(conn: &mut DbConnection, closure: &Closure) -> Result<(), AppError> {
    diesel::insert_into(location_closures::table)
        .values(closure)
        .execute(conn)?;
    Ok(())
}

/// Closures of a location, in date order, optionally only those touching `from..=to`.
pub fn list_closures(
    conn: &mut DbConnection,
    business: &str,
    location_id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<Closure>, AppError> {
    let mut query = location_closures::table
        .filter(location_closures::business_id.eq(business))
        .filter(location_closures::location_id.eq(location_id))
        .select(Closure::as_select())
        .order((
            location_closures::starts_on.asc(),
            location_closures::id.asc(),
        ))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(location_closures::ends_on.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(location_closures::starts_on.le(to));
    }
    Ok(query.load(conn)?)
}

pub fn delete_closure(
    conn: &mut DbConnection,
    business: &str,
    location_id: &str,
    id: &str,
) -> Result<(), AppError> {
    let deleted = diesel::delete(
        location_closures::table
            .filter(location_closures::business_id.eq(business))
            .filter(location_closures::location_id.eq(location_id))
            .filter(location_closures::id.eq(id)),
    )
    .execute(conn)?;
    if deleted == 0 {
        return Err(AppError::not_found("closure"));
    }
    Ok(())
}
