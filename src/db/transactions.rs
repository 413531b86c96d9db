//! Write transactions and savepoints, and the outbox signal a committed
//! transaction that wrote events sends to this process's workers.

use std::panic::AssertUnwindSafe;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use super::pool::writer_lock;
use super::DbConnection;

thread_local! {
    /// Set by [`outbox_written`] inside a write transaction on this thread.
    static OUTBOX_WRITTEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

static OUTBOX: std::sync::OnceLock<tokio::sync::watch::Sender<u64>> = std::sync::OnceLock::new();

fn outbox() -> &'static tokio::sync::watch::Sender<u64> {
    OUTBOX.get_or_init(|| tokio::sync::watch::channel(0).0)
}

/// Marks the write transaction running on this thread as one that wrote
/// events: once (and only if) it commits, the workers of this process are
/// woken instead of waiting for their next poll. Other processes on the same
/// database still find the work by polling.
pub fn outbox_written() {
    OUTBOX_WRITTEN.with(|written| written.set(true));
}

/// Changes each time a transaction that wrote events commits in this process.
pub fn outbox_commits() -> tokio::sync::watch::Receiver<u64> {
    outbox().subscribe()
}

/// Runs `work` in a top-level transaction that holds the write lock from its
/// first statement: `BEGIN IMMEDIATE` on SQLite (a deferred transaction could
/// fail to upgrade to a writer under contention), a plain `BEGIN` on
/// PostgreSQL where the write path takes row locks itself.
///
/// The caller expects no transaction to be open. Finding one is a bug: this
/// write would silently become a savepoint of a transaction that may never
/// commit, and its caller would acknowledge work that is then lost. So it is
/// logged and refused (the connection, still inside that transaction, is
/// closed when it goes back to the pool). Deliberate nesting says so with
/// [`savepoint`]. If `work` panics, the transaction is rolled back before the
/// panic goes on, so the connection holds no lock while it unwinds.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if transaction_depth(conn)?.is_some() {
        tracing::error!(
            "a top-level write found its connection inside a transaction; refusing to nest"
        );
        return Err(diesel::result::Error::AlreadyInTransaction.into());
    }
    // SQLite: this process's writers queue on a lock here, woken the moment
    // the one before them commits, rather than in `BEGIN IMMEDIATE`'s busy
    // handler, which sleeps in growing steps (up to 100 ms) while the CPU
    // idles. The busy timeout still covers writers in other processes.
    let writer = match conn {
        DbConnection::Sqlite(lite) => writer_lock(lite)?,
        DbConnection::Postgresql(_) => None,
    };
    let _turn = writer.as_ref().map(|lock| {
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    });
    match conn {
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(pg) => AnsiTransactionManager::begin_transaction(pg)?,
    }
    type Manager = <DbConnection as Connection>::TransactionManager;
    OUTBOX_WRITTEN.with(|written| written.set(false));
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| work(conn))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            if let Err(error) = Manager::rollback_transaction(conn) {
                tracing::error!(%error, "rolling back after a panic failed");
            }
            std::panic::resume_unwind(panic);
        }
    };
    let wrote_events = OUTBOX_WRITTEN.with(|written| written.replace(false));
    match outcome {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => {
                if wrote_events {
                    outbox().send_modify(|commits| *commits = commits.wrapping_add(1));
                }
                Ok(value)
            }
            Err(commit_error) => {
                // diesel rolls back a failed top-level COMMIT itself; this only
                // matters if it could not, and then the connection is broken.
                let _ = Manager::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            // SQLite ends the transaction itself on some failures (SQLITE_FULL,
            // SQLITE_IOERR), and the rollback then finds none: the caller must
            // hear the first error, not that one. A failed rollback leaves the
            // transaction manager broken, so the pool closes the connection.
            if let Err(rollback_error) = Manager::rollback_transaction(conn) {
                tracing::warn!(%rollback_error, "rolling back a failed write transaction failed");
            }
            Err(error)
        }
    }
}

/// Runs `work` as a savepoint inside the transaction the caller already has
/// open: the explicit way to compose writes. Without an open transaction it
/// refuses, rather than committing on its own.
pub fn savepoint<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if transaction_depth(conn)?.is_none() {
        return Err(diesel::result::Error::NotInTransaction.into());
    }
    conn.transaction(work)
}

/// How deep in transactions the connection is (`None`: not in one); an error
/// when its transaction manager is broken.
pub fn transaction_depth(conn: &mut DbConnection) -> QueryResult<Option<std::num::NonZeroU32>> {
    match conn {
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::transaction_manager_status_mut(lite).transaction_depth()
        }
        DbConnection::Postgresql(pg) => {
            AnsiTransactionManager::transaction_manager_status_mut(pg).transaction_depth()
        }
    }
}
