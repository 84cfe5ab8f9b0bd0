//! Opening the configured storage backend from the `--database` setting.

use std::sync::Arc;

use whatsapp_crm_core::InMemoryStorage;
use whatsapp_crm_core::ports::Storage;
use whatsapp_crm_postgres::PostgresStorage;
use whatsapp_crm_sqlite::SqliteStorage;

/// The store used when none is configured: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "./whatsapp-crm.db";

/// An open, migrated store and the name `/health` reports for it.
pub struct OpenStore {
    /// The backend.
    pub storage: Arc<dyn Storage>,
    /// `memory`, `sqlite` or `postgres`.
    pub kind: &'static str,
}

/// Why the configured store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file could not be opened or migrated.
    #[error("cannot use SQLite database: {0}")]
    Sqlite(#[from] whatsapp_crm_sqlite::OpenError),
    /// The PostgreSQL server could not be reached or migrated.
    #[error("cannot use PostgreSQL database: {0}")]
    Postgres(#[from] whatsapp_crm_core::StorageError),
}

/// What a `--database` setting names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseSetting {
    /// Process memory; gone on exit.
    Memory,
    /// A SQLite file (`path`, `sqlite:path` or `sqlite://path`).
    Sqlite(String),
    /// A PostgreSQL URL (`postgres://user:pass@host:5432/db`; add
    /// `?options=-csearch_path%3Dmyschema` to keep the tables in another schema).
    Postgres(String),
}

impl DatabaseSetting {
    /// Reads a setting.
    pub fn parse(setting: &str) -> Self {
        let s = setting.trim();
        if s == "memory" || s == ":memory:" {
            Self::Memory
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Self::Postgres(s.to_owned())
        } else {
            let path =
                s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")).unwrap_or(s);
            Self::Sqlite(path.to_owned())
        }
    }
}

/// Opens and migrates the store a `--database` setting names.
pub async fn open(setting: &str) -> Result<OpenStore, OpenError> {
    match DatabaseSetting::parse(setting) {
        DatabaseSetting::Memory => {
            Ok(OpenStore { storage: Arc::new(InMemoryStorage::new()), kind: "memory" })
        }
        DatabaseSetting::Sqlite(path) => {
            let storage = SqliteStorage::open(&path).await?;
            storage.migrate().await?;
            Ok(OpenStore { storage: Arc::new(storage), kind: "sqlite" })
        }
        DatabaseSetting::Postgres(url) => {
            let storage = PostgresStorage::connect(&url).await?;
            storage.migrate().await?;
            Ok(OpenStore { storage: Arc::new(storage), kind: "postgres" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_their_backend() {
        assert_eq!(DatabaseSetting::parse("memory"), DatabaseSetting::Memory);
        assert_eq!(DatabaseSetting::parse("./x.db"), DatabaseSetting::Sqlite("./x.db".into()));
        assert_eq!(
            DatabaseSetting::parse("sqlite:///tmp/x.db"),
            DatabaseSetting::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(DatabaseSetting::parse("sqlite:x.db"), DatabaseSetting::Sqlite("x.db".into()));
        assert!(matches!(
            DatabaseSetting::parse("postgres://u@h/db"),
            DatabaseSetting::Postgres(_)
        ));
    }

    #[tokio::test]
    async fn a_non_database_file_fails_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readme.txt");
        std::fs::write(&path, "not a database at all, just text ".repeat(64)).unwrap();
        let Err(err) = open(path.to_str().unwrap()).await else { panic!("opened a text file") };
        assert!(err.to_string().contains("is not a SQLite database"), "{err}");
    }
}
