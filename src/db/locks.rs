//! The locks writers take on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
//! already serialises writers) and the workers' claim on due rows. Row locks
//! are built with the query builder, which keeps them prepared; `sql_query`
//! (the advisory lock, the claims' per-table SQL) is parsed on every run.

use diesel::prelude::*;

use super::DbConnection;

/// Takes row locks on the given resources, in id order so two writers never
/// wait on each other in opposite orders. PostgreSQL only: SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
///
/// Exclusive, not shared: PostgreSQL's exclusion constraint alone would keep
/// overlapping allocations apart, but two writers inserting overlapping rows
/// at once can each wait for the other's row and deadlock (seen: one booking
/// in a pause race deadlocked twelve times running). Bookings of one resource
/// take turns instead.
pub fn lock_resources(conn: &mut DbConnection, ids: &[String]) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        use crate::schema::resources;
        let mut sorted = ids.to_vec();
        sorted.sort();
        sorted.dedup();
        resources::table
            .filter(resources::id.eq_any(&sorted))
            .order(resources::id)
            .select(resources::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// Takes the row lock on a queue ticket, so two desks stepping one ticket
/// take turns and the second sees what the first did. PostgreSQL only, as
/// for [`lock_resources`].
pub fn lock_ticket(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        use crate::schema::queue_tickets;
        queue_tickets::table
            .filter(queue_tickets::id.eq(id))
            .select(queue_tickets::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// Serialises transactions about one key (e.g. one address's holds in one
/// business) until commit. PostgreSQL: a transaction-scoped advisory lock on
/// the key's hash; SQLite: nothing to do, `BEGIN IMMEDIATE` serialises writers.
pub fn lock_key(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// Takes row locks on customers (a merge's survivor and duplicate), in id
/// order, so a booking that refers to one of them waits for the merge, or
/// the merge waits for it. PostgreSQL only, as for [`lock_resources`].
pub fn lock_customers(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let mut sorted: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
        sorted.sort();
        sorted.dedup();
        use crate::schema::customers;
        customers::table
            .filter(customers::id.eq_any(&sorted))
            .order(customers::id)
            .select(customers::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// Rows a background worker may take: ready, due by `now`, and not claimed
/// by a live claim. Claims up to `limit` of them until `until`, oldest due
/// first, and returns their ids. Run it inside a write transaction. On
/// PostgreSQL `FOR UPDATE SKIP LOCKED` lets several API processes claim side
/// by side without waiting or taking the same row; SQLite's `BEGIN IMMEDIATE`
/// already lets one claimer in at a time. `table`, `due` and `ready` are
/// the callers' own constant SQL, never input.
pub fn claim_due(
    conn: &mut DbConnection,
    table: &'static str,
    due: &'static str,
    ready: &'static str,
    now: chrono::NaiveDateTime,
    until: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let ids: Vec<String> = match conn {
        DbConnection::Postgresql(pg) => {
            let sql = format!(
                "SELECT id FROM {table} WHERE {ready} AND {due} <= $1 \
                 AND (claimed_until IS NULL OR claimed_until < $1) \
                 ORDER BY {due}, id LIMIT $2 FOR UPDATE SKIP LOCKED"
            );
            let rows: Vec<Claimed> = diesel::sql_query(sql)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(pg)?;
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            diesel::sql_query(format!(
                "UPDATE {table} SET claimed_until = $1 WHERE id = ANY($2)"
            ))
            .bind::<Timestamp, _>(until)
            .bind::<Array<Text>, _>(&ids)
            .execute(pg)?;
            ids
        }
        DbConnection::Sqlite(lite) => {
            let sql = format!(
                "SELECT id FROM {table} WHERE {ready} AND {due} <= ? \
                 AND (claimed_until IS NULL OR claimed_until < ?) \
                 ORDER BY {due}, id LIMIT ?"
            );
            let rows: Vec<Claimed> = diesel::sql_query(sql)
                .bind::<Timestamp, _>(now)
                .bind::<Timestamp, _>(now)
                .bind::<BigInt, _>(limit)
                .load(lite)?;
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            for id in &ids {
                diesel::sql_query(format!("UPDATE {table} SET claimed_until = ? WHERE id = ?"))
                    .bind::<Timestamp, _>(until)
                    .bind::<Text, _>(id)
                    .execute(lite)?;
            }
            ids
        }
    };
    Ok(ids)
}

/// Takes the row lock of one booking until commit, so a notification's
/// last look at the booking and its send cannot interleave with a cancel or
/// a move. PostgreSQL only, as for [`lock_resources`].
pub fn lock_booking(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        use crate::schema::bookings;
        bookings::table
            .filter(bookings::id.eq(id))
            .select(bookings::id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}
