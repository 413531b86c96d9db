//! Intents: why people contact the business, each with an owner accountable
//! for removing the cause. Archived, never deleted, so old contacts keep theirs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::intents;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = intents)]
#[diesel(treat_none_as_default_value = false)]
pub struct Intent {
    pub id: String,
    pub business_id: String,
    pub code: String,
    pub name: String,
    pub owner: Option<String>,
    pub archived_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn duplicate(existing: &Intent) -> AppError {
    AppError::conflict(
        "duplicate_intent",
        "Duplicate intent",
        format!(
            "Intent {} already has the code {:?}.",
            existing.id, existing.code
        ),
    )
    .with("existing_intent_id", existing.id.clone())
}

/// Creates an intent whose code is new to the business (else 409 `duplicate_intent`).
pub fn insert(conn: &mut DbConnection, intent: &Intent) -> Result<(), AppError> {
    super::with_retries(conn, |conn| {
        if let Some(existing) = find_by_code(conn, &intent.business_id, &intent.code)? {
            return Err(duplicate(&existing).into());
        }
        diesel::insert_into(intents::table)
            .values(intent)
            .execute(conn)?;
        Ok(())
    })
}

pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<Intent, AppError> {
    intents::table
        .filter(intents::business_id.eq(business))
        .filter(intents::id.eq(id))
        .select(Intent::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("intent"))
}

pub fn find_by_code(
    conn: &mut DbConnection,
    business: &str,
    code: &str,
) -> QueryResult<Option<Intent>> {
    intents::table
        .filter(intents::business_id.eq(business))
        .filter(intents::code.eq(code))
        .select(Intent::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
    include_archived: bool,
) -> Result<Vec<Intent>, AppError> {
    let mut query = intents::table
        .filter(intents::business_id.eq(business))
        .select(Intent::as_select())
        .order(intents::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(intents::id.gt(after.clone()));
    }
    if !include_archived {
        query = query.filter(intents::archived_at.is_null());
    }
    Ok(query.load(conn)?)
}

/// Every intent of the business, archived ones included (report labels).
pub fn all(conn: &mut DbConnection, business: &str) -> Result<Vec<Intent>, AppError> {
    Ok(intents::table
        .filter(intents::business_id.eq(business))
        .select(Intent::as_select())
        .load(conn)?)
}

/// A PATCH: `owner: Some(None)` clears the owner.
#[derive(Debug, Clone, Default)]
pub struct IntentChanges {
    pub name: Option<String>,
    pub owner: Option<Option<String>>,
}

pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    expected: Option<i32>,
    changes: &IntentChanges,
    at: NaiveDateTime,
) -> Result<Intent, AppError> {
    super::with_retries(conn, |conn| {
        let mut intent = find(conn, business, id)?;
        super::check_version(intent.version, expected)?;
        let stored = intent.version;
        if let Some(name) = &changes.name {
            intent.name = name.clone();
        }
        if let Some(owner) = &changes.owner {
            intent.owner = owner.clone();
        }
        intent.version += 1;
        intent.updated_at = at;
        let updated = diesel::update(
            intents::table
                .filter(intents::id.eq(&intent.id))
                .filter(intents::version.eq(stored)),
        )
        .set((
            intents::name.eq(&intent.name),
            intents::owner.eq(&intent.owner),
            intents::version.eq(intent.version),
            intents::updated_at.eq(at),
        ))
        .execute(conn)?;
        super::expect_one_row(updated, stored)?;
        Ok(intent)
    })
}

/// Archives an intent: it stays on past contacts and reports, and takes no new ones.
pub fn archive(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    super::with_retries(conn, |conn| {
        let intent = find(conn, business, id)?;
        if intent.archived_at.is_none() {
            diesel::update(intents::table.filter(intents::id.eq(&intent.id)))
                .set((
                    intents::archived_at.eq(Some(at)),
                    intents::version.eq(intent.version + 1),
                    intents::updated_at.eq(at),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}
