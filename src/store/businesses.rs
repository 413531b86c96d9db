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
}

pub fn insert(conn: &mut DbConnection, business: &Business) -> Result<(), AppError> {
    diesel::insert_into(businesses::table)
        .values(business)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Business>, AppError> {
    Ok(businesses::table
        .find(id)
        .select(Business::as_select())
        .first(conn)
        .optional()?)
}
