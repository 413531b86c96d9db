//! What a stranger may see of a business, found by its slug: the business's
//! name, its live locations with their opening hours and pause state, and the
//! services open to online booking. Nothing about staff or customers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::catalog::{channels_from_text, Channel};
use crate::domain::hours::union;
use crate::error::AppError;
use crate::schema::{locations, resource_hours, resources, services};

use super::businesses::{self, Business};

pub struct PublicLocation {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: String,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
    /// Per weekday (ISO number), the minutes some resource of it works.
    pub hours: Vec<(i32, Vec<(i32, i32)>)>,
}

pub struct PublicService {
    pub id: String,
    pub location_id: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub paused_at: Option<NaiveDateTime>,
    pub pause_reason: Option<String>,
}

pub struct PublicProfile {
    pub business: Business,
    pub locations: Vec<PublicLocation>,
    pub services: Vec<PublicService>,
}

type LocationRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<NaiveDateTime>,
    Option<String>,
);

/// The profile of the business with this slug; 404 when none has it.
pub fn profile(conn: &mut DbConnection, slug: &str) -> Result<PublicProfile, AppError> {
    let business =
        businesses::find_by_slug(conn, slug)?.ok_or_else(|| AppError::not_found("business"))?;
    let locations = open_locations(conn, &business.id)?;
    let services = online_services(conn, &business.id)?;
    Ok(PublicProfile {
        business,
        locations,
        services,
    })
}

/// A weekly interval some resource works: (location, weekday, start, end).
type WorkedHours = (String, i32, i32, i32);

/// The business's live locations, each with the hours its live resources work.
fn open_locations(conn: &mut DbConnection, business: &str) -> QueryResult<Vec<PublicLocation>> {
    let rows: Vec<LocationRow> = locations::table
        .filter(locations::business_id.eq(business))
        .filter(locations::archived_at.is_null())
        .order(locations::id.asc())
        .select((
            locations::id,
            locations::name,
            locations::address,
            locations::phone,
            locations::email,
            locations::timezone,
            locations::paused_at,
            locations::pause_reason,
        ))
        .load(conn)?;
    let hours: Vec<WorkedHours> = resource_hours::table
        .inner_join(resources::table.on(resources::id.eq(resource_hours::resource_id)))
        .filter(resources::business_id.eq(business))
        .filter(resources::archived_at.is_null())
        .select((
            resources::location_id,
            resource_hours::weekday,
            resource_hours::start_minute,
            resource_hours::end_minute,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, address, phone, email, timezone, paused_at, pause_reason)| {
                let hours = week_of(&id, &hours);
                PublicLocation {
                    id,
                    name,
                    address,
                    phone,
                    email,
                    timezone,
                    paused_at,
                    pause_reason,
                    hours,
                }
            },
        )
        .collect())
}

/// Per weekday (ISO number), the minutes some resource of the location
/// works, overlapping and touching intervals joined.
fn week_of(location_id: &str, hours: &[WorkedHours]) -> Vec<(i32, Vec<(i32, i32)>)> {
    (1..=7)
        .map(|weekday| {
            let worked = hours
                .iter()
                .filter(|h| h.0 == location_id && h.1 == weekday)
                .map(|h| (h.2, h.3))
                .collect();
            (weekday, union(worked))
        })
        .collect()
}

type ServiceRow = (
    String,
    String,
    String,
    Option<String>,
    i32,
    Option<i64>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
    String,
);

/// The business's live services open to the `online` channel.
fn online_services(conn: &mut DbConnection, business: &str) -> QueryResult<Vec<PublicService>> {
    let services: Vec<ServiceRow> = services::table
        .filter(services::business_id.eq(business))
        .filter(services::archived_at.is_null())
        .order(services::id.asc())
        .select((
            services::id,
            services::location_id,
            services::name,
            services::description,
            services::duration_minutes,
            services::price_cents,
            services::currency,
            services::paused_at,
            services::pause_reason,
            services::channels,
        ))
        .load(conn)?;
    Ok(services
        .into_iter()
        .filter(|s| channels_from_text(&s.9).contains(&Channel::Online))
        .map(|s| PublicService {
            id: s.0,
            location_id: s.1,
            name: s.2,
            description: s.3,
            duration_minutes: s.4,
            price_cents: s.5,
            currency: s.6,
            paused_at: s.7,
            pause_reason: s.8,
        })
        .collect())
}
