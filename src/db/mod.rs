//! Database access: one diesel connection over PostgreSQL or SQLite, its pool,
//! the embedded migrations, and the few statements that differ per backend.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The one connection type the store works with; the backend is chosen by the URL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = r2d2::Pool<ConnectionManager>;

/// Which database a `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A path to the SQLite file (or `:memory:`).
    Sqlite(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://…`, `postgresql://…`, `sqlite://PATH`, `sqlite:PATH` or a bare path.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Self::Sqlite(path.to_owned())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// r2d2 manager that opens the right backend and sets SQLite's pragmas on
/// every new connection (they are per connection, not per file).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    ceiling: Option<StorageCeiling>,
}

/// For fault tests: a switch that makes the database itself refuse to store
/// more, as a full disk or a read-only file does, on every connection of one
/// pool. SQLite: `PRAGMA max_page_count` at the file's current size, so the
/// next write that needs a page fails with SQLITE_FULL ("database or disk is
/// full"); PostgreSQL: `default_transaction_read_only`, as on a standby, so a
/// write fails with 25006. Applied at each checkout; never set by `serve`.
#[derive(Debug, Clone, Default)]
pub struct StorageCeiling(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl StorageCeiling {
    /// `true`: the database stops growing (SQLite) or turns read-only (PostgreSQL).
    pub fn set(&self, reached: bool) {
        self.0.store(reached, std::sync::atomic::Ordering::SeqCst);
    }

    fn apply(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let reached = self.0.load(std::sync::atomic::Ordering::SeqCst);
        match conn {
            DbConnection::Sqlite(lite) => {
                #[derive(QueryableByName)]
                struct Pages {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    page_count: i64,
                }
                let pages = if reached {
                    diesel::sql_query("PRAGMA page_count")
                        .get_result::<Pages>(lite)?
                        .page_count
                } else {
                    // SQLite's own largest page count.
                    4_294_967_294
                };
                lite.batch_execute(&format!("PRAGMA max_page_count = {pages}"))
            }
            DbConnection::Postgresql(pg) => pg.batch_execute(if reached {
                "SET default_transaction_read_only = on"
            } else {
                "SET default_transaction_read_only = off"
            }),
        }
    }
}

/// One writer at a time per SQLite file in this process.
type WriterLock = std::sync::Arc<std::sync::Mutex<()>>;

/// The writer lock of the SQLite file `lite` has open, the same for every
/// connection and pool on that file in this process (tests open several).
/// `None` for a private database (`:memory:`), which has no other writers.
fn writer_lock(lite: &mut diesel::SqliteConnection) -> QueryResult<Option<WriterLock>> {
    #[derive(QueryableByName)]
    struct MainFile {
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, WriterLock>>,
    > = std::sync::OnceLock::new();
    // SQLite names the file by its full path, whatever the URL said.
    let main: MainFile =
        diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result(lite)?;
    if main.file.is_empty() {
        return Ok(None);
    }
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Some(locks.entry(main.file).or_default().clone()))
}

thread_local! {
    /// Set when a request found its connection dead; read by `has_broken`.
    static FOUND_DEAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Turns off SQLite's memory statistics before the first connection opens:
/// with them on, every allocation takes one process-wide mutex, which was a
/// fifth of the CPU under load; nothing here reads them. A no-op (SQLite
/// refuses) when SQLite was already initialised in this process.
fn sqlite_without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` is called before any connection of this
        // process is opened through this module; if SQLite is already
        // initialised it returns SQLITE_MISUSE and changes nothing.
        let code = unsafe {
            libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0i32)
        };
        if code != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(
                code,
                "SQLite memory statistics stay on (already initialised)"
            );
        }
    });
}

/// When the pool holds no connection at all (each was found broken and none
/// could be opened since: the database is down), a request waits only this
/// long for one, so it answers 503 at once rather than after the full timeout.
const DOWN_CHECKOUT_TIMEOUT: Duration = Duration::from_millis(500);

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        if !url.is_postgres() {
            sqlite_without_memory_statistics();
        }
        Self { url, ceiling: None }
    }
}

/// A pooled connection, waiting briefly while the database looks down (see
/// [`DOWN_CHECKOUT_TIMEOUT`]) and the pool's full timeout otherwise.
pub fn checkout(
    pool: &DbPool,
) -> Result<r2d2::PooledConnection<ConnectionManager>, r2d2::PoolError> {
    if pool.state().connections == 0 {
        pool.get_timeout(DOWN_CHECKOUT_TIMEOUT)
    } else {
        pool.get()
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgresql(
                diesel::PgConnection::establish(url)?,
            )),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // WAL lets readers proceed during a write; the busy timeout makes
                // concurrent writers queue instead of failing with SQLITE_BUSY.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// Run on every checkout. A connection still inside a transaction (or
    /// whose transaction manager gave up) must never serve a request: its
    /// writes would become savepoints of a transaction nobody commits. r2d2
    /// drops a connection that fails here and hands out another.
    ///
    /// No statement is sent: a `SELECT 1` on every checkout was a round trip
    /// (PostgreSQL) or a prepare (SQLite) per request. A connection that died
    /// meanwhile is found by the request that uses it, which answers 503, and
    /// is closed on its way back (see [`blocking`]).
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        if conn.is_broken() {
            tracing::error!("a pooled connection was found inside a transaction; discarding it");
            return Err(diesel::ConnectionError::BadConnection(
                "connection left inside a transaction".into(),
            ));
        }
        // Only fault tests set a ceiling; `serve` sends nothing here.
        if let Some(ceiling) = &self.ceiling {
            ceiling
                .apply(conn)
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        }
        Ok(())
    }

    /// Run when a connection goes back to the pool: one returned while its
    /// thread unwinds from a panic, one found dead by the request that used
    /// it, or one still inside a transaction (a failed rollback, a panic
    /// caught further up), is closed instead, which also rolls back whatever
    /// it held.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        if std::thread::panicking() || FOUND_DEAD.with(|dead| dead.replace(false)) {
            return true;
        }
        let broken = conn.is_broken();
        if broken {
            tracing::error!("a connection came back inside a transaction; closing it");
        }
        broken
    }
}

/// Runs blocking database work on actix's thread pool, inside the caller's
/// tracing span, with one pooled connection. A panic in `work` becomes a 500
/// instead of unwinding through the pool: the connection is closed if the
/// panic left it inside a transaction (see [`ConnectionManager::has_broken`]).
pub async fn blocking<T, F>(pool: &DbPool, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        span.in_scope(|| {
            let mut conn = checkout(&pool)?;
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut conn))) {
                Ok(result) => result,
                Err(panic) => Err(AppError::internal(format!(
                    "database work panicked: {}",
                    panic_message(panic.as_ref())
                ))),
            };
            // A 503 may mean this connection is dead (the database restarted):
            // then it must not go back to the pool, or every request that
            // draws it fails too. Only failures pay for the probe.
            if matches!(&result, Err(error) if error.code() == "unavailable")
                && conn.batch_execute("SELECT 1").is_err()
            {
                FOUND_DEAD.with(|dead| dead.set(true));
            }
            drop(conn);
            result
        })
    })
    .await?
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Opens a pool; for SQLite the parent directory of the file is created first.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, String> {
    open_pool(ConnectionManager::new(url.clone()), max_size)
}

/// As [`connect`], with the fault tests' [`StorageCeiling`] on every connection.
pub fn connect_with_ceiling(
    url: &DatabaseUrl,
    max_size: u32,
    ceiling: StorageCeiling,
) -> Result<DbPool, String> {
    let mut manager = ConnectionManager::new(url.clone());
    manager.ceiling = Some(ceiling);
    open_pool(manager, max_size)
}

fn open_pool(manager: ConnectionManager, max_size: u32) -> Result<DbPool, String> {
    let url = &manager.url;
    if let DatabaseUrl::Sqlite(path) = url {
        if path != ":memory:" {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
            }
        }
    }
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| format!("cannot open database: {e}"))
}

/// Applies every pending migration of the backend in use. On PostgreSQL an
/// advisory lock keeps two starting instances from migrating at once.
pub fn migrate(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Postgresql(pg) => {
            pg.batch_execute("SELECT pg_advisory_lock(7242019)")
                .map_err(|e| e.to_string())?;
            let applied = pg
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| e.to_string());
            pg.batch_execute("SELECT pg_advisory_unlock(7242019)")
                .map_err(|e| e.to_string())?;
            applied
        }
        DbConnection::Sqlite(lite) => lite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    result.map_err(|e| format!("migration failed: {e}"))
}

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

/// True when this connection talks to PostgreSQL.
pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgresql(_))
}

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
        // Through diesel's query builder rather than raw SQL: it keeps these
        // statements prepared, where `sql_query` is parsed on every run.
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
        diesel::sql_query("SELECT id FROM queue_tickets WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(pg)?;
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
        diesel::sql_query("SELECT id FROM customers WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(sorted)
            .execute(pg)?;
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
        diesel::sql_query("SELECT id FROM bookings WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

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
