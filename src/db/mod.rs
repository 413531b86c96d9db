//! Database access: one diesel connection over PostgreSQL or SQLite, its pool,
//! the embedded migrations, and the few statements that differ per backend.
//! The pool, transactions, locks and failures each have a room of their own;
//! their items are re-exported here, so callers name them `crate::db::X`.

mod failures;
mod locks;
mod pool;
mod transactions;

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use failures::{classify, connection_lost, probe_writes, storage_refused, Failure, WriteProbe};
pub use locks::{claim_due, lock_booking, lock_customers, lock_key, lock_resources, lock_ticket};
pub use pool::{
    blocking, checkout, connect, connect_with_ceiling, ConnectionManager, DbPool, StorageCeiling,
};
pub use transactions::{
    outbox_commits, outbox_written, savepoint, transaction_depth, write_transaction,
};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The one connection type the store works with; the backend is chosen by the URL.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

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

/// True when this connection talks to PostgreSQL.
pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgresql(_))
}
