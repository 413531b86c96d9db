//! Services: what customers book, with their requirement groups and policy.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use super::{check_version, expect_one_row, now};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;
use crate::schema::{service_requirements, services};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = services)]
pub struct ServiceRow {
    pub id: String,
    pub business_id: String,
    pub location_id: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub slot_step_minutes: i32,
    pub capacity: i32,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub min_notice_minutes: i32,
    pub max_advance_minutes: i32,
    pub cancel_cutoff_minutes: i32,
    pub reschedule_cutoff_minutes: i32,
    pub channels: String,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    /// When the pause ends by itself; `None`: when someone resumes it.
    pub paused_until: Option<NaiveDateTime>,
    pub archived_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Reminder rules, minutes before the start, comma-separated.
    pub reminders: String,
}

impl ServiceRow {
    /// The service's booking rules, read from its columns.
    pub fn policy(&self) -> crate::domain::policy::Policy {
        let minutes = |m: i32| chrono::Duration::minutes(m.into());
        crate::domain::policy::Policy {
            channels: crate::domain::catalog::channels_from_text(&self.channels),
            min_notice: minutes(self.min_notice_minutes),
            max_advance: minutes(self.max_advance_minutes),
            cancel_cutoff: minutes(self.cancel_cutoff_minutes),
            reschedule_cutoff: minutes(self.reschedule_cutoff_minutes),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_requirements)]
pub struct RequirementRow {
    pub service_id: String,
    pub group_no: i32,
    pub resource_id: String,
    pub business_id: String,
}

/// A service with its requirement groups, each a list of resource ids.
#[derive(Debug, Clone)]
pub struct Service {
    pub row: ServiceRow,
    pub requirements: Vec<Vec<String>>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = services)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub duration_minutes: Option<i32>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub slot_step_minutes: Option<i32>,
    pub capacity: Option<i32>,
    pub price_cents: Option<Option<i64>>,
    pub currency: Option<Option<String>>,
    pub min_notice_minutes: Option<i32>,
    pub max_advance_minutes: Option<i32>,
    pub cancel_cutoff_minutes: Option<i32>,
    pub reschedule_cutoff_minutes: Option<i32>,
    pub channels: Option<String>,
    pub reminders: Option<String>,
}

fn requirement_rows(
    service_id: &str,
    business: &str,
    groups: &[Vec<String>],
) -> Vec<RequirementRow> {
    groups
        .iter()
        .enumerate()
        .flat_map(|(group_no, ids)| {
            ids.iter().map(move |resource_id| RequirementRow {
                service_id: service_id.to_owned(),
                group_no: group_no as i32,
                resource_id: resource_id.clone(),
                business_id: business.to_owned(),
            })
        })
        .collect()
}

/// Row by row: batch inserts are not available through the two-backend connection.
fn insert_requirements(
    conn: &mut DbConnection,
    service_id: &str,
    business: &str,
    groups: &[Vec<String>],
) -> Result<(), AppError> {
    for row in requirement_rows(service_id, business, groups) {
        diesel::insert_into(service_requirements::table)
            .values(&row)
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn group_requirements(rows: Vec<RequirementRow>) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let index = row.group_no as usize;
        if groups.len() <= index {
            groups.resize_with(index + 1, Vec::new);
        }
        groups[index].push(row.resource_id);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

fn load_requirements(
    conn: &mut DbConnection,
    service_ids: &[String],
) -> Result<Vec<RequirementRow>, AppError> {
    Ok(service_requirements::table
        .filter(service_requirements::service_id.eq_any(service_ids))
        .select(RequirementRow::as_select())
        .order((
            service_requirements::service_id.asc(),
            service_requirements::group_no.asc(),
            service_requirements::resource_id.asc(),
        ))
        .load(conn)?)
}

/// Creates a service with its requirement groups, in one transaction.
pub fn insert(conn: &mut DbConnection, service: &Service) -> Result<(), AppError> {
    write_transaction(conn, |conn| insert_within(conn, service))
}

/// As [`insert`], inside a transaction the caller holds (the demo loader).
pub fn insert_within(conn: &mut DbConnection, service: &Service) -> Result<(), AppError> {
    diesel::insert_into(services::table)
        .values(&service.row)
        .execute(conn)?;
    insert_requirements(
        conn,
        &service.row.id,
        &service.row.business_id,
        &service.requirements,
    )
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Service, AppError> {
    let row = services::table
        .filter(services::business_id.eq(business))
        .filter(services::id.eq(id))
        .select(ServiceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("service"))?;
    let requirements = group_requirements(load_requirements(conn, std::slice::from_ref(&row.id))?);
    Ok(Service { row, requirements })
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
    include_archived: bool,
    location_id: Option<&str>,
) -> Result<Vec<Service>, AppError> {
    let mut query = services::table
        .filter(services::business_id.eq(business))
        .select(ServiceRow::as_select())
        .order(services::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(services::id.gt(after.clone()));
    }
    if !include_archived {
        query = query.filter(services::archived_at.is_null());
    }
    if let Some(location_id) = location_id {
        query = query.filter(services::location_id.eq(location_id.to_owned()));
    }
    let rows: Vec<ServiceRow> = query.load(conn)?;
    with_requirements(conn, rows)
}

/// The business's services among `ids` (archived ones too: a queue or a
/// visit may still name one), in one query for the rows and one for their
/// requirements. Ids that name no service of the business are left out.
pub fn find_many(
    conn: &mut DbConnection,
    business: &str,
    ids: &[String],
) -> Result<Vec<Service>, AppError> {
    let rows: Vec<ServiceRow> = services::table
        .filter(services::business_id.eq(business))
        .filter(services::id.eq_any(ids))
        .select(ServiceRow::as_select())
        .order(services::id.asc())
        .load(conn)?;
    with_requirements(conn, rows)
}

/// Joins each row to its requirement groups, loaded in one query.
fn with_requirements(
    conn: &mut DbConnection,
    rows: Vec<ServiceRow>,
) -> Result<Vec<Service>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut requirements = load_requirements(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                requirements.drain(..).partition(|r| r.service_id == row.id);
            requirements = rest;
            Service {
                requirements: group_requirements(mine),
                row,
            }
        })
        .collect())
}

/// Applies `changes` (and, when given, new requirement groups) under `If-Match`.
pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected_version: Option<i32>,
    changes: ServiceChanges,
    requirements: Option<Vec<Vec<String>>>,
) -> Result<Service, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        check_version(current.row.version, expected_version)?;
        let updated = diesel::update(
            services::table
                .filter(services::id.eq(id))
                .filter(services::version.eq(current.row.version)),
        )
        .set((
            changes,
            services::version.eq(current.row.version + 1),
            services::updated_at.eq(now()),
        ))
        .execute(conn)?;
        expect_one_row(updated, current.row.version)?;
        if let Some(groups) = requirements {
            diesel::delete(
                service_requirements::table.filter(service_requirements::service_id.eq(id)),
            )
            .execute(conn)?;
            insert_requirements(conn, id, business, &groups)?;
        }
        find(conn, business, id)
    })
}

/// Services are archived, never deleted: bookings will keep referring to them.
pub fn archive(conn: &mut DbConnection, business: &str, id: &str) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        if current.row.archived_at.is_none() {
            diesel::update(services::table.filter(services::id.eq(id)))
                .set((
                    services::archived_at.eq(Some(now())),
                    services::version.eq(current.row.version + 1),
                    services::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// A service found by id alone, for anonymous widget callers: the id is the
/// only thing they know, and it names the business.
pub fn find_anywhere(conn: &mut DbConnection, id: &str) -> Result<Service, AppError> {
    let business = services::table
        .filter(services::id.eq(id))
        .select(services::business_id)
        .first::<String>(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("service"))?;
    find(conn, &business, id)
}
