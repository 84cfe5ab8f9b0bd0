//! `SqliteStorage`: connections, pragmas, migrations, and running blocking
//! SQLite calls off the async executor.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use whatsapp_crm_core::StorageError;

use crate::error::OpenError;

/// How long a connection waits for another process's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept open for reuse.
pub const MAX_IDLE_READERS: usize = 4;
/// How long the checkpointer lets commits gather before copying them from the
/// write-ahead log into the database file.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(50);
/// WAL pages after which the writer copies them itself, should the
/// checkpointer fall behind (SQLite's default is 1,000).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// Embedded migrations, applied in order; the database records the last one
/// applied in `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_templates.sql"),
    include_str!("../migrations/0003_customer_stats.sql"),
    include_str!("../migrations/0004_orders.sql"),
    include_str!("../migrations/0005_segments.sql"),
    include_str!("../migrations/0006_outbox.sql"),
    include_str!("../migrations/0007_senders.sql"),
    include_str!("../migrations/0008_broadcasts.sql"),
    include_str!("../migrations/0009_inbound_index.sql"),
    include_str!("../migrations/0010_conversation_keys.sql"),
    include_str!("../migrations/0011_commerce.sql"),
    include_str!("../migrations/0012_payments.sql"),
    include_str!("../migrations/0013_assistant.sql"),
    include_str!("../migrations/0014_agents.sql"),
    include_str!("../migrations/0015_desk.sql"),
    include_str!("../migrations/0016_recommenders.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A [`Storage`](whatsapp_crm_core::ports::Storage) backend on one SQLite
/// database: a file in WAL mode (one writer, several concurrent readers), or
/// memory. Blocking calls run on tokio's blocking pool.
///
/// Call [`SqliteStorage::migrate`] once after opening.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for an in-memory database, which only its own connection can see.
    path: Option<PathBuf>,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Wakes the checkpointer after a commit; `None` in memory.
    checkpoints: Option<Checkpointer>,
}

/// The background checkpointer: its wake-up channel and its thread.
struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    /// Stops the thread and waits for it, so that once the storage is dropped
    /// only the writer's connection remains, and closing it leaves the whole
    /// database in its file.
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`. Fails with a clear
    /// error if the file is not a SQLite database.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || {
            let writer = connect(&path, true).map_err(|e| OpenError::from_sqlite(&shown, e))?;
            let checkpoints = spawn_checkpointer(&path)
                .map_err(|e| OpenError::Sqlite(format!("cannot start the checkpointer: {e}")))?;
            Ok(Self {
                inner: Arc::new(Inner {
                    path: Some(path),
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                    checkpoints: Some(checkpoints),
                }),
            })
        })
        .await
        .map_err(|e| OpenError::Sqlite(e.to_string()))?
    }

    /// A private in-memory database, gone when the last clone is dropped.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        let conn = Connection::open_in_memory().map_err(|e| OpenError::Sqlite(e.to_string()))?;
        configure(&conn, false).map_err(|e| OpenError::Sqlite(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: None,
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                checkpoints: None,
            }),
        })
    }

    /// Applies any migrations the database lacks. Running it again is a no-op;
    /// a database written by a newer version is refused.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let shown = inner.path.as_ref().map_or(":memory:".into(), |p| p.display().to_string());
            let mut conn = lock(&inner.writer);
            migrate(&mut conn).map_err(|e| match e {
                MigrateError::Open(e) => e,
                MigrateError::Sqlite(e) => OpenError::from_sqlite(&shown, e),
            })
        })
        .await
        .map_err(|e| OpenError::Sqlite(e.to_string()))?
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<i64, StorageError> {
        self.read(|c| {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| StorageError::backend(e, false))
        })
        .await
    }

    /// Runs `f` with the single writer connection inside an IMMEDIATE
    /// transaction, committing when it returns `Ok`.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StorageError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            let tx =
                conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| {
                    crate::error::map(crate::error::Ctx::new("database", "database"), e)
                })?;
            let out = f(&tx)?;
            tx.commit().map_err(|e| {
                crate::error::map(crate::error::Ctx::new("database", "database"), e)
            })?;
            if let Some(wake) = inner.checkpoints.as_ref().and_then(|c| c.wake.as_ref()) {
                // Full means a wake-up is already pending.
                let _ = wake.try_send(());
            }
            Ok(out)
        })
        .await
        .map_err(|e| StorageError::backend(e, false))?
    }

    /// Like [`write`](Self::write), but `f` may also refuse with `Ok(Err(r))`:
    /// the transaction is then rolled back and `r` returned, so a refusal
    /// found partway leaves nothing behind.
    pub(crate) async fn write_or_rollback<T, R, F>(
        &self,
        f: F,
    ) -> Result<Result<T, R>, StorageError>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<Result<T, R>, StorageError>
            + Send
            + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let ctx = crate::error::Ctx::new("database", "database");
            let mut conn = lock(&inner.writer);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| crate::error::map(ctx, e))?;
            match f(&tx)? {
                Ok(v) => {
                    tx.commit().map_err(|e| crate::error::map(ctx, e))?;
                    if let Some(wake) = inner.checkpoints.as_ref().and_then(|c| c.wake.as_ref()) {
                        let _ = wake.try_send(());
                    }
                    Ok(Ok(v))
                }
                // Dropping the transaction rolls it back.
                Err(r) => Ok(Err(r)),
            }
        })
        .await
        .map_err(|e| StorageError::backend(e, false))?
    }

    /// Runs `f` with a read connection. File databases read through a pool of
    /// connections that WAL lets run beside the writer.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let Some(path) = &inner.path else {
                return f(&lock(&inner.writer));
            };
            let pooled = lock(&inner.readers).pop();
            let conn = match pooled {
                Some(c) => c,
                None => connect(path, false).map_err(|e| {
                    crate::error::map(crate::error::Ctx::new("database", "database"), e)
                })?,
            };
            let out = f(&conn);
            let mut idle = lock(&inner.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StorageError::backend(e, false))?
    }
}

/// A panic inside a blocking closure poisons the mutex but leaves the
/// connection usable: SQLite rolled back the unfinished transaction.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn connect(path: &Path, writer: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, writer)?;
    Ok(conn)
}

/// Starts the thread that copies committed pages from the write-ahead log into
/// the database file, so the writer does not pause for it every 1,000 pages.
/// Its checkpoints are passive: they never wait for, or block, readers or the
/// writer. The thread ends when the storage is dropped.
fn spawn_checkpointer(path: &Path) -> std::io::Result<Checkpointer> {
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    let path = path.to_path_buf();
    let thread = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        let conn = match connect(&path, false) {
            Ok(c) => c,
            Err(e) => {
                // The writer's own checkpoints still bound the log.
                tracing::warn!(error = %e, "sqlite checkpointer could not connect");
                return;
            }
        };
        while woken.recv().is_ok() {
            // Let commits gather, but leave at once when the storage is dropped.
            let until = std::time::Instant::now() + CHECKPOINT_DELAY;
            loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                match woken.recv_timeout(left) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "sqlite checkpoint failed");
            }
        }
    })?;
    Ok(Checkpointer { wake: Some(wake), thread: Some(thread) })
}

fn configure(conn: &Connection, writer: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if writer {
        // Larger pages make shallower trees for the many indexed inserts of a
        // broadcast; the size only takes on a new, empty database.
        conn.execute_batch("PRAGMA page_size = 16384;")?;
        // Reads the file header, so a file that is not a database fails here.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

enum MigrateError {
    Open(OpenError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    // A migration may rebuild a table; with foreign keys on, dropping the old
    // one would cascade into its children. SQLite only honours this outside a
    // transaction; the keys are checked before the migrations commit instead.
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply_migrations(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    applied
}

fn apply_migrations(conn: &mut Connection) -> Result<(), MigrateError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(MigrateError::Open(OpenError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tracing::info!(version = i + 1, "applied sqlite migration");
    }
    if found == SCHEMA_VERSION {
        // Nothing applied: no need to read every row for the check below.
        return Ok(());
    }
    let broken: i64 =
        tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    if broken > 0 {
        return Err(MigrateError::Open(OpenError::Sqlite(format!(
            "migration left {broken} rows with missing parents; nothing was changed"
        ))));
    }
    Ok(tx.commit()?)
}
