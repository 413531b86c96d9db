//! Partner clients: the OAuth clients a business registers for partner apps,
//! with their scopes and the hashes of their secrets (the current one, and
//! the previous one while a rotation's overlap lasts).

use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use super::{check_version, expect_one_row};
use crate::db::{write_transaction, DbConnection};
use crate::domain::partners::{hash_secret, parse_scope_text, secret_matches};
use crate::error::AppError;
use crate::schema::partner_clients;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = partner_clients)]
pub struct PartnerClient {
    pub id: String,
    pub business_id: String,
    pub name: String,
    /// Space-separated, in the canonical order of `domain::partners::SCOPES`.
    pub scopes: String,
    pub secret_hash: String,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub disabled: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PartnerClient {
    pub fn scope_list(&self) -> Vec<String> {
        parse_scope_text(&self.scopes)
    }

    /// Whether `secret` is the client's current secret, or its previous one
    /// while the rotation's overlap lasts at `now`.
    pub fn accepts_secret(&self, secret: &str, now: NaiveDateTime) -> bool {
        if secret_matches(secret, &self.secret_hash) {
            return true;
        }
        match (&self.previous_secret_hash, self.previous_secret_until) {
            (Some(previous), Some(until)) if until > now => secret_matches(secret, previous),
            _ => false,
        }
    }
}

/// A partner app a business lets in, as its admin named it; its scopes
/// already checked and in their canonical text.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub scopes: String,
}

/// Registers a client whose secret is `secret`; only the secret's hash is kept.
pub fn register(
    conn: &mut DbConnection,
    business: &str,
    new: NewClient,
    secret: &str,
    now: NaiveDateTime,
) -> Result<PartnerClient, AppError> {
    let client = PartnerClient {
        id: crate::ids::new_id("cli"),
        business_id: business.to_owned(),
        name: new.name,
        scopes: new.scopes,
        secret_hash: hash_secret(secret).map_err(AppError::internal)?,
        previous_secret_hash: None,
        previous_secret_until: None,
        disabled: false,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    insert(conn, &client)?;
    Ok(client)
}

/// A hash no secret matches, checked for unknown clients so that a wrong
/// client id takes as long to refuse as a wrong secret.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy").unwrap_or_default())
}

/// The client these credentials prove, if they prove one: `None` for an
/// unknown client, a wrong secret and a disabled client alike, so a caller
/// learns nothing about which it was.
pub fn authenticate(
    conn: &mut DbConnection,
    id: &str,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Option<PartnerClient>, AppError> {
    let Some(client) = by_id(conn, id)? else {
        secret_matches(secret, decoy_hash());
        return Ok(None);
    };
    if !client.accepts_secret(secret, now) || client.disabled {
        return Ok(None);
    }
    Ok(Some(client))
}

pub fn insert(conn: &mut DbConnection, client: &PartnerClient) -> Result<(), AppError> {
    diesel::insert_into(partner_clients::table)
        .values(client)
        .execute(conn)?;
    Ok(())
}

/// A client of the business, or 404.
pub fn find(conn: &mut DbConnection, business: &str, id: &str) -> Result<PartnerClient, AppError> {
    partner_clients::table
        .filter(partner_clients::business_id.eq(business))
        .filter(partner_clients::id.eq(id))
        .select(PartnerClient::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("client"))
}

/// A client by id alone: the token endpoint and the per-request check of
/// partner tokens, where the business follows from the client.
pub fn by_id(conn: &mut DbConnection, id: &str) -> Result<Option<PartnerClient>, AppError> {
    Ok(partner_clients::table
        .filter(partner_clients::id.eq(id))
        .select(PartnerClient::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    business: &str,
    page: &PageRequest,
) -> Result<Vec<PartnerClient>, AppError> {
    let mut query = partner_clients::table
        .filter(partner_clients::business_id.eq(business))
        .select(PartnerClient::as_select())
        .order(partner_clients::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(partner_clients::id.gt(after.clone()));
    }
    Ok(query.load(conn)?)
}

/// A client's changeable fields; `None` keeps the current value.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = partner_clients)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub scopes: Option<String>,
    pub disabled: Option<bool>,
}

/// Applies `changes` under `If-Match`.
pub fn update(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    changes: ClientChanges,
    expected_version: Option<i32>,
    at: NaiveDateTime,
) -> Result<PartnerClient, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        check_version(current.version, expected_version)?;
        let updated = diesel::update(
            partner_clients::table
                .filter(partner_clients::id.eq(id))
                .filter(partner_clients::version.eq(current.version)),
        )
        .set((
            &changes,
            partner_clients::version.eq(current.version + 1),
            partner_clients::updated_at.eq(at),
        ))
        .execute(conn)?;
        expect_one_row(updated, current.version)?;
        find(conn, business, id)
    })
}

/// Replaces the secret's hash; the previous secret keeps working until
/// `previous_until` (a second rotation within the overlap ends the first
/// one's: only the secret just replaced is kept).
pub fn rotate_secret(
    conn: &mut DbConnection,
    business: &str,
    id: &str,
    new_hash: &str,
    previous_until: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<PartnerClient, AppError> {
    write_transaction(conn, |conn| {
        let current = find(conn, business, id)?;
        diesel::update(partner_clients::table.filter(partner_clients::id.eq(id)))
            .set((
                partner_clients::secret_hash.eq(new_hash),
                partner_clients::previous_secret_hash.eq(Some(&current.secret_hash)),
                partner_clients::previous_secret_until.eq(Some(previous_until)),
                partner_clients::version.eq(current.version + 1),
                partner_clients::updated_at.eq(at),
            ))
            .execute(conn)?;
        find(conn, business, id)
    })
}
