//! Connecting, migrating, and opening write transactions on SQLite or PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use guanxi_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// Which database engine is behind the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections plus what Guanxi needs to know about it.
#[derive(Clone)]
pub struct Database {
    connection: DatabaseConnection,
    backend: Backend,
}

/// One statement the driver ran: its text with the values bound, how long it took, and
/// whether it failed.
pub use sea_orm::metric::Info as StatementInfo;

/// Called once for every SQL statement sent (statement counters, timings, slow-query log).
pub type StatementHook = Arc<dyn Fn(&StatementInfo<'_>) + Send + Sync>;

impl Database {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). SQLite files are created
    /// when missing and run in WAL mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str, hook: Option<StatementHook>) -> Result<Self, DbErr> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(DbErr::Custom(format!(
                "unsupported database URL scheme (expected sqlite:// or postgres://): {}",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).connect_timeout(Duration::from_secs(10)).acquire_timeout(Duration::from_secs(30));
        match backend {
            Backend::Sqlite => {
                options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(30))
                        // Keeps the planner's statistics current, as SQLite recommends
                        // (`PRAGMA optimize`, bounded work) when a connection closes.
                        .optimize_on_close(true, 400)
                });
            }
            Backend::Postgres => {
                options.max_connections(16).min_connections(1);
            }
        }
        let mut connection = sea_orm::Database::connect(options).await?;
        if let Some(hook) = hook {
            connection.set_metric_callback(move |info| hook(info));
        }
        Ok(Self { connection, backend })
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        self.migrate_reporting(&|_, _, _| {}).await
    }

    /// Applies the pending migrations one at a time, telling `applied` each one's name,
    /// its place (from 1) and how many were pending — and, before the first, `("", 0, n)`.
    pub async fn migrate_reporting(&self, applied: &(dyn Fn(&str, usize, usize) + Sync)) -> Result<(), DbErr> {
        let pending = Migrator::get_pending_migrations(&self.connection).await?;
        if !pending.is_empty() {
            applied("", 0, pending.len());
        }
        for (i, migration) in pending.iter().enumerate() {
            Migrator::up(&self.connection, Some(1)).await?;
            applied(migration.name(), i + 1, pending.len());
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn db_backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// For reads outside a transaction.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// For one read whose statements PostgreSQL should plan for their own values: a read
    /// transaction with `plan_cache_mode = force_custom_plan` when `custom` (a search),
    /// else the pool. A search's best plan depends on its text: a pair of characters held
    /// by 12 % of the tenant's names wants the owner's customers probed, a rare one wants
    /// its tokens read first. PostgreSQL moves a prepared statement to one generic plan
    /// after five executions (the rep's Chinese search: 47 ms instead of 15.5). Planning
    /// costs a fraction of a millisecond and the transaction two short statements; it ends
    /// when the executor is dropped.
    pub async fn planned_read(&self, custom: bool) -> Result<DatabaseExecutor<'_>, DbErr> {
        if !custom || self.backend != Backend::Postgres {
            return Ok(DatabaseExecutor::Connection(&self.connection));
        }
        let tx = self.connection.begin().await?;
        sea_orm::ConnectionTrait::execute_unprepared(&tx, "SET LOCAL plan_cache_mode = force_custom_plan").await?;
        Ok(DatabaseExecutor::OwnedTransaction(tx))
    }

    /// Opens the transaction of one write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of
    /// failing with "database is locked" when a read lock cannot be upgraded.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.backend {
            Backend::Sqlite => {
                self.connection
                    .begin_with_options(TransactionOptions {
                        isolation_level: None,
                        access_mode: None,
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    })
                    .await
            }
            Backend::Postgres => self.connection.begin().await,
        }
    }

    /// Opens the write transaction of one tenant's business operation. On PostgreSQL it
    /// first locks the tenant's row, so a tenant's writes run one at a time: the checks a
    /// write makes (no cycle in a tree, no duplicate customer, an empty department before
    /// deleting it) cannot be raced by another write of the same tenant. Every write takes
    /// this row lock anyway to number its change events; taking it first only moves the
    /// wait to the start. SQLite's `BEGIN IMMEDIATE` already serialises all writers.
    pub async fn begin_tenant_write(&self, tenant: guanxi_domain::ids::TenantId) -> Result<DatabaseTransaction, DbErr> {
        let tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            let lock = crate::dialect::raw_statement(
                DbBackend::Postgres,
                "SELECT id FROM tenants WHERE id = ? FOR UPDATE",
                [tenant.uuid().into()],
            );
            sea_orm::ConnectionTrait::query_one_raw(&tx, lock).await?;
        }
        Ok(tx)
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.connection.ping().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.connection.close().await
    }
}
