//! Businesses: the tenants every other row belongs to.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::businesses;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = businesses)]
pub struct Business {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub created_at: NaiveDateTime,
    /// Public, URL-safe name (`/book/{slug}`); unique.
    pub slug: Option<String>,
}

pub fn insert(conn: &mut DbConnection, business: &Business) -> Result<(), AppError> {
    diesel::insert_into(businesses::table)
        .values(business)
        .execute(conn)?;
    Ok(())
}

/// Creates a business with the country its national phone numbers are read
/// in (`None`: the time zone's), in one transaction. A slug already taken is
/// 409 `slug_taken`.
pub fn create(
    conn: &mut DbConnection,
    business: &Business,
    country: Option<String>,
) -> Result<(), AppError> {
    super::with_retries(conn, |conn| {
        if let Some(slug) = &business.slug {
            ensure_slug_free(conn, slug, &business.id)?;
        }
        insert(conn, business)?;
        if country.is_some() {
            diesel::update(businesses::table.find(&business.id))
                .set(businesses::country.eq(&country))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Whether a business with this id exists (a primary-key lookup).
pub fn exists(conn: &mut DbConnection, id: &str) -> Result<bool, AppError> {
    Ok(businesses::table
        .find(id)
        .select(businesses::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The business a public slug names.
pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> Result<Option<Business>, AppError> {
    Ok(businesses::table
        .filter(businesses::slug.eq(slug))
        .select(Business::as_select())
        .first(conn)
        .optional()?)
}

/// 409 `slug_taken` when another business has `slug`.
pub fn ensure_slug_free(conn: &mut DbConnection, slug: &str, own_id: &str) -> Result<(), AppError> {
    match find_by_slug(conn, slug)? {
        Some(other) if other.id != own_id => Err(AppError::conflict(
            "slug_taken",
            "Slug taken",
            format!("Another business already uses the slug {slug:?}."),
        )),
        _ => Ok(()),
    }
}

/// A slug free for a new business called `name`: its slugified name, with
/// `-2`, `-3`, … appended while taken.
pub fn free_slug_for(conn: &mut DbConnection, name: &str) -> Result<String, AppError> {
    let base = crate::domain::catalog::slugify(name);
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if find_by_slug(conn, &candidate)?.is_none() {
            return Ok(candidate);
        }
    }
    Ok(format!("{base}-{}", crate::ids::new_id("x").to_lowercase()))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Business>, AppError> {
    Ok(businesses::table
        .find(id)
        .select(Business::as_select())
        .first(conn)
        .optional()?)
}

/// The settings customer memory and contact reports read from a business.
#[derive(Debug, Clone)]
pub struct ContactSettings {
    pub slug: Option<String>,
    pub timezone: String,
    /// As set; `None` means "the country of the time zone".
    pub country: Option<String>,
    /// Channel → cents per minute of an assisted contact.
    pub contact_costs: Vec<(String, i32)>,
}

impl ContactSettings {
    /// The country national phone numbers are read in: as set, else the
    /// country of the business's time zone.
    pub fn phone_country(&self) -> Option<String> {
        self.country.clone().or_else(|| {
            crate::domain::contact::country_for_time_zone(&self.timezone).map(str::to_owned)
        })
    }
}

pub fn contact_settings(conn: &mut DbConnection, id: &str) -> Result<ContactSettings, AppError> {
    use crate::schema::business_contact_costs as costs;
    let (slug, timezone, country) = businesses::table
        .find(id)
        .select((businesses::slug, businesses::timezone, businesses::country))
        .first::<(Option<String>, String, Option<String>)>(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("business"))?;
    let contact_costs = costs::table
        .filter(costs::business_id.eq(id))
        .select((costs::channel, costs::cents_per_minute))
        .order(costs::channel.asc())
        .load(conn)?;
    Ok(ContactSettings {
        slug,
        timezone,
        country,
        contact_costs,
    })
}

/// The country national phone numbers of this business are read in.
pub fn phone_country(conn: &mut DbConnection, id: &str) -> Result<Option<String>, AppError> {
    Ok(contact_settings(conn, id)?.phone_country())
}

/// What a change of settings sets; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChanges {
    pub slug: Option<String>,
    /// `Some(None)` clears the country back to "from the time zone".
    pub country: Option<Option<String>>,
    /// Replaces every cost: channel → cents per minute.
    pub contact_costs: Option<Vec<(String, i32)>>,
}

/// Sets the slug, the country and/or replaces the contact costs, in one
/// transaction.
pub fn update_contact_settings(
    conn: &mut DbConnection,
    id: &str,
    changes: &SettingsChanges,
) -> Result<ContactSettings, AppError> {
    use crate::schema::business_contact_costs as costs;
    let SettingsChanges {
        slug,
        country,
        contact_costs,
    } = changes;
    super::with_retries(conn, |conn| {
        contact_settings(conn, id)?;
        if let Some(slug) = slug {
            ensure_slug_free(conn, slug, id)?;
            diesel::update(businesses::table.find(id))
                .set(businesses::slug.eq(slug))
                .execute(conn)?;
        }
        if let Some(country) = country {
            diesel::update(businesses::table.find(id))
                .set(businesses::country.eq(country))
                .execute(conn)?;
        }
        if let Some(lines) = contact_costs {
            diesel::delete(costs::table.filter(costs::business_id.eq(id))).execute(conn)?;
            for (channel, cents) in lines {
                diesel::insert_into(costs::table)
                    .values((
                        costs::business_id.eq(id),
                        costs::channel.eq(channel),
                        costs::cents_per_minute.eq(cents),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(contact_settings(conn, id)?)
    })
}
