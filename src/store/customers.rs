//! Customers: one record per person per business, found again by normalised
//! email or phone whichever channel they come through.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::customers;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Customer, AppError> {
    customers::table
        .filter(customers::business_id.eq(business))
        .filter(customers::id.eq(id))
        .select(Customer::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("customer"))
}

/// The customer with this (already normalised) email, else this phone.
pub fn find_by_contact(
    conn: &mut DbConnection,
    business: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> QueryResult<Option<Customer>> {
    if let Some(email) = email {
        let found = customers::table
            .filter(customers::business_id.eq(business))
            .filter(customers::email.eq(email))
            .select(Customer::as_select())
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(phone) = phone {
        return customers::table
            .filter(customers::business_id.eq(business))
            .filter(customers::phone.eq(phone))
            .select(Customer::as_select())
            .first(conn)
            .optional();
    }
    Ok(None)
}

pub fn insert(conn: &mut DbConnection, customer: &Customer) -> QueryResult<()> {
    diesel::insert_into(customers::table)
        .values(customer)
        .execute(conn)?;
    Ok(())
}

/// Fills in a contact detail the record lacks (a phone caller who booked online
/// before), never overwriting one it has.
pub fn complete_contact(
    conn: &mut DbConnection,
    customer: &Customer,
    email: Option<&str>,
    phone: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<Customer> {
    let mut updated = customer.clone();
    if updated.email.is_none() {
        updated.email = email.map(str::to_owned);
    }
    if updated.phone.is_none() {
        updated.phone = phone.map(str::to_owned);
    }
    if updated.email != customer.email || updated.phone != customer.phone {
        updated.version += 1;
        updated.updated_at = at;
        diesel::update(customers::table.filter(customers::id.eq(&customer.id)))
            .set((
                customers::email.eq(&updated.email),
                customers::phone.eq(&updated.phone),
                customers::version.eq(updated.version),
                customers::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(updated)
}
