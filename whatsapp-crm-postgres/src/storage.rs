//! `PostgresStorage`: the pool, its settings, and migrations.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use whatsapp_crm_core::StorageError;

use crate::error::{Ctx, map};

/// Pool settings. Defaults suit one reference-server process; several processes
/// sharing a database each bring their own pool.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    url: String,
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    statement_timeout: Option<Duration>,
    search_path: Option<String>,
}

impl PostgresConfig {
    /// Settings for the database at `url` (`postgres://user:pass@host:5432/db`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            statement_timeout: Some(Duration::from_secs(30)),
            search_path: None,
        }
    }

    /// Most connections the pool opens (default 10).
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Connections kept open when idle (default 0).
    pub fn with_min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long a call waits for a free connection before failing retryably (default 5 s).
    pub fn with_acquire_timeout(mut self, t: Duration) -> Self {
        self.acquire_timeout = t;
        self
    }

    /// Closes connections idle this long (default 10 min).
    pub fn with_idle_timeout(mut self, t: Option<Duration>) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Server-side limit on one statement (default 30 s).
    pub fn with_statement_timeout(mut self, t: Option<Duration>) -> Self {
        self.statement_timeout = t;
        self
    }

    /// Keeps every table in this schema instead of `public` (created by `migrate`).
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.search_path = Some(schema.into());
        self
    }
}

/// A [`Storage`](whatsapp_crm_core::ports::Storage) backend on PostgreSQL.
/// Holds no state besides its pool, so any number of processes can share one
/// database.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pub(crate) pool: PgPool,
    schema: Option<String>,
}

impl PostgresStorage {
    /// Connects with default settings.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        Self::connect_with(PostgresConfig::new(url)).await
    }

    /// Connects with the given settings; fails (retryably) if the server is not reachable.
    pub async fn connect_with(config: PostgresConfig) -> Result<Self, StorageError> {
        let storage = Self::connect_lazy_with(config)?;
        let conn = storage.pool.acquire().await.map_err(|e| map(CONNECT, e))?;
        drop(conn);
        Ok(storage)
    }

    /// Builds the pool without connecting; the first call connects.
    pub fn connect_lazy_with(config: PostgresConfig) -> Result<Self, StorageError> {
        let mut options: PgConnectOptions = config
            .url
            .parse()
            .map_err(|e| StorageError::backend(format!("invalid PostgreSQL URL: {e}"), false))?;
        let mut settings = Vec::new();
        if let Some(t) = config.statement_timeout {
            settings.push(("statement_timeout".to_owned(), t.as_millis().to_string()));
        }
        if let Some(schema) = &config.search_path {
            settings.push(("search_path".to_owned(), schema.clone()));
        }
        if !settings.is_empty() {
            options = options.options(settings);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .idle_timeout(config.idle_timeout)
            .connect_lazy_with(options);
        Ok(Self { pool, schema: config.search_path })
    }

    /// Uses an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool, schema: None }
    }

    /// The pool, for embedders who run their own queries beside the SDK's.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations (embedded in the crate). Safe to run from
    /// several processes at once: the migrator holds an advisory lock.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        if let Some(schema) = &self.schema {
            let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(schema));
            // The schema name is quoted as an identifier.
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.pool)
                .await
                .map_err(|e| map(CONNECT, e))?;
        }
        sqlx::migrate!("./migrations").run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => map(CONNECT, e),
            other => StorageError::backend(format!("migration failed: {other}"), false),
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

const CONNECT: Ctx = Ctx::new("database", "database");

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
