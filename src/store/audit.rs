//! The audit trail of changes that are not booking steps (those keep their
//! own history): who did what to which object, and the details.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::bookings::Actor;
use crate::db::DbConnection;
use crate::schema::audit_entries;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_entries)]
#[diesel(treat_none_as_default_value = false)]
pub struct AuditEntry {
    pub id: String,
    pub business_id: String,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub subject_id: String,
    pub details: String,
    pub created_at: NaiveDateTime,
}

/// Records an entry; call it inside the transaction that makes the change.
pub fn append(
    conn: &mut DbConnection,
    business: &str,
    actor: &Actor,
    action: &str,
    subject_id: &str,
    details: &Value,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(audit_entries::table)
        .values(AuditEntry {
            id: crate::ids::new_id("aud"),
            business_id: business.to_owned(),
            actor: actor.subject.clone(),
            actor_role: actor.role.clone(),
            action: action.to_owned(),
            subject_id: subject_id.to_owned(),
            details: details.to_string(),
            created_at: at,
        })
        .execute(conn)?;
    Ok(())
}
