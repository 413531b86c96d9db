//! The connection pool: opening either backend with its per-connection
//! settings, checking connections out and back in, and running blocking
//! database work off the async threads.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::{DatabaseUrl, DbConnection};
use crate::error::AppError;

pub type DbPool = r2d2::Pool<ConnectionManager>;

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
pub(super) type WriterLock = std::sync::Arc<std::sync::Mutex<()>>;

/// The writer lock of the SQLite file `lite` has open, the same for every
/// connection and pool on that file in this process (tests open several).
/// `None` for a private database (`:memory:`), which has no other writers.
pub(super) fn writer_lock(lite: &mut diesel::SqliteConnection) -> QueryResult<Option<WriterLock>> {
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
