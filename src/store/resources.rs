//! Resources (staff, rooms, equipment), their weekly hours and time off.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use super::{check_version, expect_one_row, now};
use crate::db::{write_transaction, DbConnection};
use crate::domain::catalog::ResourceKind;
use crate::error::AppError;
use crate::schema::{resource_hours, resource_time_off, resources, service_requirements};
use crate::store::stored::Stored;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = resources)]
pub struct Resource {
    pub id: String,
    pub business_id: String,
    pub location_id: String,
    pub name: String,
    pub kind: Stored<ResourceKind>,
    pub capacity: i32,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    /// When the pause ends by itself; `None`: when someone resumes it.
    pub paused_until: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = resources)]
pub struct ResourceChanges {
    pub name: Option<String>,
    pub kind: Option<Stored<ResourceKind>>,
    pub capacity: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = resource_hours)]
pub struct HoursRow {
    pub id: String,
    pub business_id: String,
    pub resource_id: String,
    pub weekday: i32,
    pub start_minute: i32,
    pub end_minute: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = resource_time_off)]
pub struct TimeOff {
    pub id: String,
    pub business_id: String,
    pub resource_id: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Records a new resource at its location, which must be an open location
/// of the business (422 naming `location_id` otherwise).
pub fn create(conn: &mut DbConnection, resource: &Resource) -> Result<(), AppError> {
    let location = match super::locations::find(conn, &resource.business_id, &resource.location_id)
    {
        Err(e) if e.code() == "not_found" => {
            return Err(AppError::invalid_field("location_id", "no such location"))
        }
        found => found?,
    };
    if location.archived_at.is_some() {
        return Err(AppError::invalid_field(
            "location_id",
            "the location is archived",
        ));
    }
    insert(conn, resource)
}

pub fn insert(conn: &mut DbConnection, resource: &Resource) -> Result<(), AppError> {
    diesel::insert_into(resources::table)
        .values(resource)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Resource, AppError> {
    resources::table
        .filter(resources::business_id.eq(business))
        .filter(resources::id.eq(id))
        .select(Resource::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("resource"))
}

/// The resources among `ids` that exist in this business.
pub fn find_many(
    conn: &mut DbConnection,
    business: &str,
    ids: &[String],
) -> Result<Vec<Resource>, AppError> {
    Ok(resources::table
        .filter(resources::business_id.eq(business))
        .filter(resources::id.eq_any(ids))
        .select(Resource::as_select())
        .load(conn)?)
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
    include_archived: bool,
    location_id: Option<&str>,
) -> Result<Vec<Resource>, AppError> {
    let mut query = resources::table
        .filter(resources::business_id.eq(business))
        .select(Resource::as_select())
        .order(resources::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(resources::id.gt(after.clone()));
    }
    if !include_archived {
        query = query.filter(resources::archived_at.is_null());
    }
    if let Some(location_id) = location_id {
        query = query.filter(resources::location_id.eq(location_id.to_owned()));
    }
    Ok(query.load(conn)?)
}

pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected_version: Option<i32>,
    changes: ResourceChanges,
) -> Result<Resource, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        check_version(current.version, expected_version)?;
        let updated = diesel::update(
            resources::table
                .filter(resources::id.eq(id))
                .filter(resources::version.eq(current.version)),
        )
        .set((
            changes,
            resources::version.eq(current.version + 1),
            resources::updated_at.eq(now()),
        ))
        .execute(conn)?;
        expect_one_row(updated, current.version)?;
        find(conn, business, id)
    })
}

/// Archives the resource when a service requires it, else deletes it with its hours and time off.
pub fn archive_or_delete(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        let referenced = diesel::select(diesel::dsl::exists(
            service_requirements::table.filter(service_requirements::resource_id.eq(id)),
        ))
        .get_result::<bool>(conn)?;
        if referenced {
            if current.archived_at.is_none() {
                diesel::update(resources::table.filter(resources::id.eq(id)))
                    .set((
                        resources::archived_at.eq(Some(now())),
                        resources::version.eq(current.version + 1),
                        resources::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
            }
        } else {
            diesel::delete(resource_hours::table.filter(resource_hours::resource_id.eq(id)))
                .execute(conn)?;
            diesel::delete(resource_time_off::table.filter(resource_time_off::resource_id.eq(id)))
                .execute(conn)?;
            diesel::delete(resources::table.filter(resources::id.eq(id))).execute(conn)?;
        }
        Ok(())
    })
}

/// Weekly hours of one resource, by weekday then start.
pub fn hours(
    conn: &mut DbConnection,
    business: &str,
    resource_id: &str,
) -> Result<Vec<HoursRow>, AppError> {
    Ok(resource_hours::table
        .filter(resource_hours::business_id.eq(business))
        .filter(resource_hours::resource_id.eq(resource_id))
        .select(HoursRow::as_select())
        .order((
            resource_hours::weekday.asc(),
            resource_hours::start_minute.asc(),
        ))
        .load(conn)?)
}

/// Replaces the resource's whole week in one transaction.
pub fn replace_hours(
    conn: &mut DbConnection,
    business: &str,
    resource_id: &str,
    rows: &[HoursRow],
) -> Result<Vec<HoursRow>, AppError> {
    write_transaction(conn, |conn| {
        replace_hours_within(conn, business, resource_id, rows)
    })
}

/// As [`replace_hours`], inside a transaction the caller holds (the demo loader).
pub fn replace_hours_within(
    conn: &mut DbConnection,
    business: &str,
    resource_id: &str,
    rows: &[HoursRow],
) -> Result<Vec<HoursRow>, AppError> {
    find(conn, business, resource_id)?;
    diesel::delete(resource_hours::table.filter(resource_hours::resource_id.eq(resource_id)))
        .execute(conn)?;
    // Row by row: batch inserts are not available through the two-backend connection.
    for row in rows {
        diesel::insert_into(resource_hours::table)
            .values(row)
            .execute(conn)?;
    }
    hours(conn, business, resource_id)
}

pub fn insert_time_off(conn: &mut DbConnection, time_off: &TimeOff) -> Result<(), AppError> {
    diesel::insert_into(resource_time_off::table)
        .values(time_off)
        .execute(conn)?;
    Ok(())
}

/// Time off of a resource, optionally only what overlaps `[from, to)`.
pub fn list_time_off(
    conn: &mut DbConnection,
    business: &str,
    resource_id: &str,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<TimeOff>, AppError> {
    let mut query = resource_time_off::table
        .filter(resource_time_off::business_id.eq(business))
        .filter(resource_time_off::resource_id.eq(resource_id))
        .select(TimeOff::as_select())
        .order((
            resource_time_off::starts_at.asc(),
            resource_time_off::id.asc(),
        ))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(resource_time_off::ends_at.gt(from));
    }
    if let Some(to) = to {
        query = query.filter(resource_time_off::starts_at.lt(to));
    }
    Ok(query.load(conn)?)
}

pub fn delete_time_off(
    conn: &mut DbConnection,
    business: &str,
    resource_id: &str,
    id: &str,
) -> Result<(), AppError> {
    let deleted = diesel::delete(
        resource_time_off::table
            .filter(resource_time_off::business_id.eq(business))
            .filter(resource_time_off::resource_id.eq(resource_id))
            .filter(resource_time_off::id.eq(id)),
    )
    .execute(conn)?;
    if deleted == 0 {
        return Err(AppError::not_found("time off"));
    }
    Ok(())
}
