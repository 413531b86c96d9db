//! What a failed statement means: lost connection, refused storage, a
//! conflict to retry or report, and the probe that asks whether writes
//! would be taken.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;

use super::transactions::transaction_depth;
use super::DbConnection;

/// What a failed statement means for the write path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Deadlock, serialization failure or a busy SQLite file: run the transaction again.
    Retry,
    /// The PostgreSQL exclusion constraint on allocations fired: the slot is taken.
    Overlap,
    /// A unique index refused a row (which one, when the database says).
    Duplicate(Option<String>),
    /// The link to the database is gone (a restart, a kill, a dropped
    /// socket), or it refuses to store anything (full, read-only): not the
    /// caller's fault and not a bug; try again shortly.
    Lost,
    Other,
}

/// Whether `error` says the database connection is gone rather than that a
/// statement was wrong: PostgreSQL restarted or killed, the socket dropped,
/// or the transaction manager given up after such a failure.
pub fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "connection to server",
                "no connection to the server",
                "the database system is shutting down",
                "the database system is starting up",
                "the database system is in recovery mode",
                "SSL SYSCALL error",
                "could not receive data from server",
                "could not send data to server",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => connection_lost(commit_error),
        _ => false,
    }
}

/// Whether `error` says the database will not store anything right now,
/// though it answers: SQLite's file or disk is full, the file (or its
/// folder, for the journal) is read-only, the disk fails; PostgreSQL is
/// read-only (a standby, `default_transaction_read_only`) or out of disk.
/// Not the request's fault and not a bug: 503, and `/readyz` says so.
pub fn storage_refused(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            [
                "database or disk is full",
                "attempt to write a readonly database",
                "disk I/O error",
                "unable to open database file",
                "in a read-only transaction",
                "No space left on device",
                "could not extend file",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => storage_refused(commit_error),
        _ => false,
    }
}

/// What a write probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteProbe {
    Accepted,
    /// Why the database would refuse a write (its own message).
    Refused(String),
}

/// Asks the database whether it would take a write, without keeping one.
/// SQLite: a write transaction that creates a table and fills a few pages
/// (so a file that cannot grow, or cannot be written, says so), rolled
/// back; busy writers are not a refusal. PostgreSQL: whether transactions
/// are read-only; a disk full there ends connections, which `SELECT 1` sees.
pub fn probe_writes(conn: &mut DbConnection) -> QueryResult<WriteProbe> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Postgresql(pg) => {
            let read_only: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "current_setting('transaction_read_only')",
            ))
            .get_result(pg)?;
            Ok(if read_only == "on" {
                WriteProbe::Refused("transactions are read-only".into())
            } else {
                WriteProbe::Accepted
            })
        }
        DbConnection::Sqlite(_) => {
            if transaction_depth(conn)?.is_some() {
                return Err(diesel::result::Error::AlreadyInTransaction);
            }
            let DbConnection::Sqlite(lite) = conn else {
                unreachable!()
            };
            let probe = AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")
                .and_then(|()| {
                    lite.batch_execute(
                        "CREATE TABLE slotwise_write_probe (filler BLOB); \
                         INSERT INTO slotwise_write_probe VALUES (zeroblob(65536));",
                    )
                });
            // A failed write may have ended the transaction already (SQLite
            // rolls back on SQLITE_FULL); a rollback that fails marks the
            // connection broken, and the pool closes it.
            if transaction_depth(conn).ok().flatten().is_some() {
                let _ = Manager::rollback_transaction(conn);
            }
            match probe {
                Ok(()) => Ok(WriteProbe::Accepted),
                Err(error) if storage_refused(&error) => Ok(WriteProbe::Refused(error.to_string())),
                // Busy with other writers, or any other answer: it takes writes.
                Err(_) => Ok(WriteProbe::Accepted),
            }
        }
    }
}

/// Sorts a diesel error into what the caller should do about it. diesel maps
/// PostgreSQL's 23P01 (exclusion) and 40P01 (deadlock) to `Unknown`, so those
/// are recognised by constraint name and message.
pub fn classify(error: &diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind, Error};
    if connection_lost(error) || storage_refused(error) {
        return Failure::Lost;
    }
    let Error::DatabaseError(kind, info) = error else {
        return Failure::Other;
    };
    let message = info.message();
    match kind {
        DatabaseErrorKind::SerializationFailure => Failure::Retry,
        DatabaseErrorKind::UniqueViolation => {
            Failure::Duplicate(info.constraint_name().map(str::to_owned))
        }
        // A row referred to vanished meanwhile (a customer merged away while
        // a booking for them was being written): run again, and the
        // transaction's own lookups answer 404 instead of a 500.
        DatabaseErrorKind::ForeignKeyViolation => Failure::Retry,
        _ if info.constraint_name() == Some("allocations_no_overlap") => Failure::Overlap,
        _ if message.contains("deadlock detected")
            || message.contains("database is locked")
            || message.contains("could not serialize") =>
        {
            Failure::Retry
        }
        _ => Failure::Other,
    }
}
