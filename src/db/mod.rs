//! Database access: one diesel connection over PostgreSQL or SQLite, its pool,
//! the embedded migrations, and the few statements that differ per backend.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
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

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Opens a pool; for SQLite the parent directory of the file is created first.
pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<DbPool, String> {
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
        .build(ConnectionManager::new(url.clone()))
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

/// Runs `work` in a transaction that holds the write lock from its first
/// statement: `BEGIN IMMEDIATE` on SQLite (a deferred transaction could fail to
/// upgrade to a writer under contention), a plain `BEGIN` on PostgreSQL where
/// the write path takes row locks itself.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let depth = match conn {
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::transaction_manager_status_mut(lite).transaction_depth()
        }
        DbConnection::Postgresql(pg) => {
            AnsiTransactionManager::transaction_manager_status_mut(pg).transaction_depth()
        }
    }?;
    if depth.is_some() {
        // Already inside a write transaction: nest as a savepoint.
        return conn.transaction(work);
    }
    match conn {
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(pg) => AnsiTransactionManager::begin_transaction(pg)?,
    }
    type Manager = <DbConnection as Connection>::TransactionManager;
    match work(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                let _ = Manager::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            Manager::rollback_transaction(conn)?;
            Err(error)
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
pub fn lock_resources(conn: &mut DbConnection, ids: &[String]) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        let mut sorted = ids.to_vec();
        sorted.sort();
        sorted.dedup();
        diesel::sql_query("SELECT id FROM resources WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(sorted)
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

/// What a failed statement means for the write path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Deadlock, serialization failure or a busy SQLite file: run the transaction again.
    Retry,
    /// The PostgreSQL exclusion constraint on allocations fired: the slot is taken.
    Overlap,
    /// A unique index refused a row (which one, when the database says).
    Duplicate(Option<String>),
    Other,
}

/// Sorts a diesel error into what the caller should do about it. diesel maps
/// PostgreSQL's 23P01 (exclusion) and 40P01 (deadlock) to `Unknown`, so those
/// are recognised by constraint name and message.
pub fn classify(error: &diesel::result::Error) -> Failure {
    use diesel::result::{DatabaseErrorKind, Error};
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
